/* leader.c — leader election with a coordination.k8s.io/v1 Lease (see leader.h). */
#include "leader.h"
#include "tt_num.h"

#include <ev.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tt_json.h"
#include "tt_kube.h"
#include "tt_log.h"
#include "tt_str.h"

#define LEASES_PATH "/apis/coordination.k8s.io/v1/namespaces/%s/leases"
/* client-go's JitterFactor between an acquire's tries is 1.2 (up to 2.2 retry periods); a
 * fifth of a period is enough to keep followers that started together from asking in step,
 * and keeps the handover after a release within about one retry period. */
#define FOLLOWER_JITTER 0.2

/* ---- validation ------------------------------------------------------------------------ */

tt_code tt_leader_validate(const tt_leader_config *c, tt_error *err)
{
    if (c->name == NULL || c->name[0] == '\0')
        return tt_error_set(err, TT_EINVAL, "--lease-name must not be empty");
    if (c->namespace_ == NULL || c->namespace_[0] == '\0')
        return tt_error_set(err, TT_EINVAL, "--lease-namespace must not be empty");
    if (c->identity == NULL || c->identity[0] == '\0' || strlen(c->identity) >= 256)
        return tt_error_set(err, TT_EINVAL, "--leader-id must be 1 to 255 characters");
    if (c->lease_duration < 1 || c->lease_duration != tt_floor(c->lease_duration))
        return tt_error_set(err, TT_EINVAL,
                            "--lease-duration must be a whole number of seconds, at least 1 (the "
                            "Lease holds it as leaseDurationSeconds)");
    if (c->renew_deadline >= c->lease_duration)
        return tt_error_set(err, TT_EINVAL,
                            "--renew-deadline (%gs) must be shorter than --lease-duration (%gs): a "
                            "leader must stop writing before another replica may take the Lease",
                            c->renew_deadline, c->lease_duration);
    if (c->retry_period <= 0 || c->renew_deadline <= 1.2 * c->retry_period)
        return tt_error_set(err, TT_EINVAL,
                            "--renew-deadline (%gs) must be longer than 1.2 × --retry-period "
                            "(%gs), which must be above 0: a leader needs more than one try to "
                            "renew before it gives up",
                            c->renew_deadline, c->retry_period);
    return TT_OK;
}

/* ---- the decision logic ------------------------------------------------------------------ */

void tt_leader_observe(tt_leader_state *st, const json_t *spec, double now)
{
    char *text = json_is_object(spec) ? tt_json_dumps(spec, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    /* 0 means "never read", so an unreadable or missing spec still counts as one state. */
    uint64_t fp = tt_hash64_str(text != NULL ? text : "{}") | 1;
    json_t *d = json_object_get(spec, "leaseDurationSeconds");

    free(text);
    if (fp != st->observed_fp) {
        st->observed_fp = fp;
        st->observed_at = now;
    }
    snprintf(st->holder, sizeof(st->holder), "%s",
             json_is_string(json_object_get(spec, "holderIdentity"))
                 ? json_string_value(json_object_get(spec, "holderIdentity"))
                 : "");
    st->duration = json_is_integer(d) ? (int)json_integer_value(d) : 0;
}

tt_leader_action tt_leader_decide(const tt_leader_state *st, const char *identity, double now)
{
    if (strcmp(st->holder, identity) == 0)
        return TT_LEADER_RENEW;
    if (st->holder[0] == '\0')
        return TT_LEADER_ACQUIRE;
    /* Expired by the follower's own clock: unchanged for the holder's lease duration since
     * this replica first saw it. */
    if (now >= st->observed_at + (st->duration > 0 ? st->duration : 0))
        return TT_LEADER_ACQUIRE;
    return TT_LEADER_WAIT;
}

bool tt_leader_renewed(tt_leader_state *st, double sent, double now, double renew_deadline)
{
    if (now >= sent + renew_deadline) {
        st->leading = false;
        return false;
    }
    st->leading = true;
    st->renewed_at = sent;
    return true;
}

bool tt_leader_may_write(const tt_leader_state *st, double now, double renew_deadline)
{
    return st->leading && now < st->renewed_at + renew_deadline;
}

/* ---- the candidate --------------------------------------------------------------------------- */

enum req_kind { REQ_GET, REQ_CREATE, REQ_UPDATE, REQ_RELEASE, REQ_EVENT };

struct tt_leader {
    struct ev_loop *loop;
    struct tt_kube *kube;
    tt_leader_config cfg; /* its strings point into the copies below */
    char *name, *namespace_, *identity;
    tt_leader_state st;
    tt_leader_change_fn on_change;
    void *ud;
    json_t *lease;        /* the Lease as last read or written (owned), or NULL */
    tt_kube_req *req;     /* the request in flight, or NULL */
    enum req_kind kind;   /* what it is */
    double sent;          /* when it was sent (monotonic) */
    tt_kube_req *event;   /* the leader-election Event being posted, or NULL */
    bool announced;       /* on_change(true) was called and not yet undone */
    bool stopped;         /* released or releasing: no more tries */
    bool release_reread;  /* the release met a conflict and read the Lease again */
    void (*done)(void *); /* the release's end */
    void *done_ud;
    ev_timer tick;     /* the next try */
    ev_timer deadline; /* the renew deadline of a leader */
};

static double mono_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void try_now(tt_leader *l);

static void schedule(tt_leader *l, double delay)
{
    if (l->stopped)
        return;
    ev_timer_stop(l->loop, &l->tick);
    ev_timer_set(&l->tick, delay, 0);
    ev_timer_start(l->loop, &l->tick);
}

/* The next try after a retry period; a follower's is jittered. */
static void schedule_retry(tt_leader *l)
{
    double d = l->cfg.retry_period;

    if (!l->st.leading)
        d *= 1 + FOLLOWER_JITTER * ((double)rand() / RAND_MAX);
    schedule(l, d);
}

static void step_down(tt_leader *l, const char *why)
{
    l->st.leading = false;
    ev_timer_stop(l->loop, &l->deadline);
    if (!l->announced)
        return;
    l->announced = false;
    /* Losing the Lease is worth a warning; giving it up at shutdown is not. */
    tt_log(l->stopped ? TT_LOG_INFO : TT_LOG_WARN, NULL,
           "leader: %s stopped leading (lease %s/%s): %s", l->identity, l->namespace_, l->name,
           why);
    l->on_change(l->ud, false);
}

/* Arms the deadline timer for what is left of the renew deadline. */
static void arm_deadline(tt_leader *l)
{
    double left = l->st.renewed_at + l->cfg.renew_deadline - mono_now();

    ev_timer_stop(l->loop, &l->deadline);
    /* libev counts from the loop's cached time, which lags the clock after a long iteration:
     * the timer may fire a little early, and is then armed again for the rest. */
    ev_timer_set(&l->deadline, left > 0 ? left + 0.001 : 0, 0);
    ev_timer_start(l->loop, &l->deadline);
}

static void on_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
    tt_leader *l = w->data;

    (void)loop;
    (void)revents;
    if (tt_leader_may_write(&l->st, mono_now(), l->cfg.renew_deadline))
        arm_deadline(l);
    else
        step_down(l, "no renewal succeeded within the renew deadline");
}

static void on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    try_now(w->data);
}

static void event_done(void *ud, long status, json_t *body, const tt_error *err)
{
    tt_leader *l = ud;

    (void)status;
    (void)body;
    l->event = NULL;
    if (err != NULL)
        tt_log(TT_LOG_DEBUG, NULL, "leader: cannot record the LeaderElection event: %s",
               err->message);
}

/* The Event client-go records on the Lease when a replica becomes the leader. */
static void post_event(tt_leader *l)
{
    char now[40], name[300], path[400], note[400];
    const char *uid =
        json_string_value(json_object_get(json_object_get(l->lease, "metadata"), "uid"));
    json_t *ev;

    if (l->event != NULL)
        return;
    tt_format_now(now, sizeof(now), 1);
    snprintf(name, sizeof(name), "%.200s.%016llx", l->name,
             (unsigned long long)(tt_hash64_str(l->identity) ^ (uint64_t)(mono_now() * 1e6)));
    snprintf(note, sizeof(note), "%s became leader", l->identity);
    ev = json_pack("{s:s,s:s,s:{s:s,s:s},s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:{s:s,s:s,s:s,s:s,s:s}}",
                   "apiVersion", "events.k8s.io/v1", "kind", "Event", "metadata", "name", name,
                   "namespace", l->namespace_, "eventTime", now, "reportingController",
                   "trimtab.dev/trimtab", "reportingInstance", l->identity, "action", "Acquire",
                   "reason", "LeaderElection", "type", "Normal", "note", note, "regarding",
                   "apiVersion", "coordination.k8s.io/v1", "kind", "Lease", "namespace",
                   l->namespace_, "name", l->name, "uid", uid != NULL ? uid : "");
    snprintf(path, sizeof(path), "/apis/events.k8s.io/v1/namespaces/%s/events", l->namespace_);
    if (ev != NULL &&
        tt_kube_request(l->kube, "POST", path, ev, NULL, event_done, l, &l->event, NULL) != TT_OK)
        l->event = NULL;
    json_decref(ev);
}

/* Keeps the Lease of an answer (borrowed `body`) as the one to write next. */
static void keep_lease(tt_leader *l, json_t *body)
{
    json_decref(l->lease);
    l->lease = json_is_object(body) ? json_incref(body) : NULL;
}

static void request_done(void *ud, long status, json_t *body, const tt_error *err);

static bool send(tt_leader *l, enum req_kind kind, const char *method, const json_t *body)
{
    char path[700];
    tt_error e;

    snprintf(path, sizeof(path), LEASES_PATH, l->namespace_);
    if (kind != REQ_CREATE) {
        size_t n = strlen(path);
        snprintf(path + n, sizeof(path) - n, "/%s", l->name);
    }
    l->kind = kind;
    l->sent = mono_now();
    if (tt_kube_request(l->kube, method, path, body, NULL, request_done, l, &l->req, &e) != TT_OK) {
        l->req = NULL;
        tt_log(TT_LOG_WARN, NULL, "leader: cannot send %s %s: %s", method, path, e.message);
        return false;
    }
    return true;
}

/*
 * Writes the Lease: `action` renews or acquires it for this replica; `release` empties the
 * holder (client-go's release: holder "", lease duration 1 s, transitions unchanged). Creates
 * it when none was read.
 */
static bool write_lease(tt_leader *l, tt_leader_action action, bool release)
{
    char now[40];
    json_t *obj, *spec;
    bool ok;
    json_int_t transitions;

    tt_format_now(now, sizeof(now), 1);
    obj = l->lease != NULL
              ? json_deep_copy(l->lease)
              : json_pack("{s:s,s:s,s:{s:s,s:s}}", "apiVersion", "coordination.k8s.io/v1", "kind",
                          "Lease", "metadata", "name", l->name, "namespace", l->namespace_);
    if (obj == NULL)
        return false;
    spec = json_object_get(obj, "spec");
    if (!json_is_object(spec)) {
        spec = json_object();
        json_object_set_new(obj, "spec", spec);
    }
    transitions = json_integer_value(json_object_get(spec, "leaseTransitions"));
    if (release) {
        json_object_set_new(spec, "holderIdentity", json_string(""));
        json_object_set_new(spec, "leaseDurationSeconds", json_integer(1));
        json_object_set_new(spec, "acquireTime", json_string(now));
    } else {
        json_object_set_new(spec, "holderIdentity", json_string(l->identity));
        json_object_set_new(spec, "leaseDurationSeconds",
                            json_integer((json_int_t)l->cfg.lease_duration));
        if (action == TT_LEADER_ACQUIRE || l->lease == NULL) {
            json_object_set_new(spec, "acquireTime", json_string(now));
            /* A new holder is a transition; the first holder of a new Lease is not. */
            if (l->lease != NULL && strcmp(l->st.holder, l->identity) != 0)
                transitions++;
        }
    }
    json_object_set_new(spec, "leaseTransitions", json_integer(transitions));
    json_object_set_new(spec, "renewTime", json_string(now));
    json_object_del(json_object_get(obj, "metadata"), "managedFields");
    ok = l->lease != NULL ? send(l, release ? REQ_RELEASE : REQ_UPDATE, "PUT", obj)
                          : send(l, REQ_CREATE, "POST", obj);
    json_decref(obj);
    return ok;
}

static void finish_release(tt_leader *l)
{
    void (*done)(void *) = l->done;

    l->done = NULL;
    if (done != NULL)
        done(l->done_ud);
}

static void became_leader(tt_leader *l)
{
    arm_deadline(l);
    if (l->announced)
        return;
    l->announced = true;
    tt_log(TT_LOG_INFO, NULL, "leader: %s became the leader (lease %s/%s, transitions %lld)",
           l->identity, l->namespace_, l->name,
           (long long)json_integer_value(
               json_object_get(json_object_get(l->lease, "spec"), "leaseTransitions")));
    post_event(l);
    l->on_change(l->ud, true);
}

/* The answer to a read: decide, then write or wait. */
static void on_read(tt_leader *l, long status, json_t *body, const tt_error *err)
{
    double now = mono_now();
    tt_leader_action action;

    if (err != NULL && err->code == TT_ENOTFOUND) {
        keep_lease(l, NULL);
        if (!write_lease(l, TT_LEADER_ACQUIRE, false))
            schedule_retry(l);
        return;
    }
    if (err != NULL || status != 200) {
        tt_log(TT_LOG_WARN, NULL, "leader: cannot read lease %s/%s: %s", l->namespace_, l->name,
               err != NULL ? err->message : "unexpected answer");
        schedule_retry(l);
        return;
    }
    keep_lease(l, body);
    tt_leader_observe(&l->st, json_object_get(body, "spec"), now);
    action = tt_leader_decide(&l->st, l->identity, now);
    if (action == TT_LEADER_WAIT) {
        if (l->st.leading)
            step_down(l, "another replica holds the lease");
        tt_log(TT_LOG_DEBUG, NULL, "leader: lease %s/%s is held by %s", l->namespace_, l->name,
               l->st.holder);
        schedule_retry(l);
        return;
    }
    if (!write_lease(l, action, false))
        schedule_retry(l);
}

/* The answer to an acquire or renew. */
static void on_write(tt_leader *l, json_t *body, const tt_error *err)
{
    double now = mono_now();

    if (err != NULL) {
        keep_lease(l, NULL);
        if (err->code == TT_ECONFLICT) {
            /* Someone else wrote it (or created it) first: read it again now. */
            tt_log(TT_LOG_DEBUG, NULL, "leader: lease %s/%s changed under us; reading it again",
                   l->namespace_, l->name);
            send(l, REQ_GET, "GET", NULL);
            if (l->req != NULL)
                return;
        } else {
            tt_log(TT_LOG_WARN, NULL, "leader: cannot %s lease %s/%s: %s",
                   l->st.leading ? "renew" : "acquire", l->namespace_, l->name, err->message);
        }
        schedule_retry(l);
        return;
    }
    keep_lease(l, body);
    tt_leader_observe(&l->st, json_object_get(body, "spec"), now);
    if (tt_leader_renewed(&l->st, l->sent, now, l->cfg.renew_deadline))
        became_leader(l);
    else
        step_down(l, "the renewal was answered after the renew deadline");
    schedule_retry(l);
}

static void request_done(void *ud, long status, json_t *body, const tt_error *err)
{
    tt_leader *l = ud;
    enum req_kind kind = l->kind;

    l->req = NULL;
    if (kind == REQ_RELEASE || (l->stopped && kind == REQ_GET)) {
        /* A conflict on release: read once more, and release what is still ours. */
        if (kind == REQ_RELEASE && err != NULL && err->code == TT_ECONFLICT && !l->release_reread) {
            l->release_reread = true;
            keep_lease(l, NULL);
            if (send(l, REQ_GET, "GET", NULL))
                return;
        }
        if (kind == REQ_GET && err == NULL && status == 200) {
            keep_lease(l, body);
            tt_leader_observe(&l->st, json_object_get(body, "spec"), mono_now());
            if (strcmp(l->st.holder, l->identity) == 0 && write_lease(l, TT_LEADER_RENEW, true))
                return;
        }
        if (kind == REQ_RELEASE)
            tt_log(err == NULL ? TT_LOG_INFO : TT_LOG_WARN, NULL, "leader: %s lease %s/%s%s%s",
                   err == NULL ? "released" : "could not release", l->namespace_, l->name,
                   err == NULL ? "" : ": ", err == NULL ? "" : err->message);
        finish_release(l);
        return;
    }
    if (kind == REQ_GET)
        on_read(l, status, body, err);
    else
        on_write(l, body, err);
}

/* One try: a leader that knows the Lease renews it straight away (client-go's fast path);
 * everyone else reads it first. */
static void try_now(tt_leader *l)
{
    if (l->stopped || l->req != NULL)
        return;
    if (l->st.leading && l->lease != NULL) {
        if (!write_lease(l, TT_LEADER_RENEW, false))
            schedule_retry(l);
        return;
    }
    if (!send(l, REQ_GET, "GET", NULL))
        schedule_retry(l);
}

tt_leader *tt_leader_create(struct ev_loop *loop, struct tt_kube *kube, const tt_leader_config *cfg,
                            tt_leader_change_fn on_change, void *ud, tt_error *err)
{
    tt_leader *l;

    if (tt_leader_validate(cfg, err) != TT_OK)
        return NULL;
    l = calloc(1, sizeof(*l));
    if (l == NULL || (l->name = strdup(cfg->name)) == NULL ||
        (l->namespace_ = strdup(cfg->namespace_)) == NULL ||
        (l->identity = strdup(cfg->identity)) == NULL) {
        tt_error_set(err, TT_ENOMEM, "out of memory");
        tt_leader_destroy(l);
        return NULL;
    }
    l->loop = loop;
    l->kube = kube;
    l->cfg = *cfg;
    l->cfg.name = l->name;
    l->cfg.namespace_ = l->namespace_;
    l->cfg.identity = l->identity;
    l->on_change = on_change;
    l->ud = ud;
    ev_timer_init(&l->tick, on_tick, 0, 0);
    l->tick.data = l;
    ev_timer_init(&l->deadline, on_deadline, 0, 0);
    l->deadline.data = l;
    return l;
}

void tt_leader_start(tt_leader *l)
{
    tt_log(TT_LOG_INFO, NULL,
           "leader: %s is a candidate for lease %s/%s (duration %gs, renew deadline %gs, retry "
           "%gs)",
           l->identity, l->namespace_, l->name, l->cfg.lease_duration, l->cfg.renew_deadline,
           l->cfg.retry_period);
    try_now(l);
}

bool tt_leader_is_leader(const tt_leader *l)
{
    return l == NULL || tt_leader_may_write(&l->st, mono_now(), l->cfg.renew_deadline);
}

bool tt_leader_release(tt_leader *l, void (*done)(void *ud), void *ud)
{
    bool writing, ours;

    if (l == NULL || l->stopped)
        return false;
    l->stopped = true;
    ev_timer_stop(l->loop, &l->tick);
    /* Writing stops before the release is sent: a successor may start at once. */
    step_down(l, "shutting down");
    /* An acquire or renew in flight may have changed the Lease: read it before releasing. */
    writing = l->req != NULL && (l->kind == REQ_UPDATE || l->kind == REQ_CREATE);
    ours = l->lease != NULL && strcmp(l->st.holder, l->identity) == 0;
    if (!writing && !ours)
        return false;
    tt_kube_cancel(l->req);
    l->req = NULL;
    l->done = done;
    l->done_ud = ud;
    l->release_reread = true;
    if (!writing) {
        l->release_reread = false;
        if (write_lease(l, TT_LEADER_RENEW, true))
            return true;
    } else if (send(l, REQ_GET, "GET", NULL)) {
        return true;
    }
    l->done = NULL;
    return false;
}

void tt_leader_destroy(tt_leader *l)
{
    if (l == NULL)
        return;
    tt_kube_cancel(l->req);
    tt_kube_cancel(l->event);
    ev_timer_stop(l->loop, &l->tick);
    ev_timer_stop(l->loop, &l->deadline);
    json_decref(l->lease);
    free(l->name);
    free(l->namespace_);
    free(l->identity);
    free(l);
}

const tt_leader_config *tt_leader_config_of(const tt_leader *l)
{
    return &l->cfg;
}
