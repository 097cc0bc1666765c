/*
 * The AWS client: the life of a call.
 *
 *   tt_aws_call → serialise (once) → [rate-limit wait] → credentials (maybe async) → sign →
 *   HTTP on curl multi → parse → done | retry: backoff timer → [rate-limit wait] → ...
 *
 * A call is owned by the client's list from tt_aws_call() until its callback has returned.
 * Synchronous failures inside tt_aws_call() are returned and never reach the callback; later
 * failures end the call through finish(), which unlinks it before calling back, so a callback
 * may start new calls or cancel everything.
 */
#include "tt_aws.h"

#include <ev.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tt_aws_config_file.h"
#include "tt_aws_creds.h"
#include "tt_aws_endpoint.h"
#include "tt_http.h"
#include "tt_aws_internal.h"
#include "tt_aws_metrics.h"
#include "tt_aws_model.h"
#include "tt_aws_protocol.h"
#include "tt_aws_retry.h"
#include "tt_log.h"
#include "tt_sigv4.h"
#include "tt_str.h"
#include "tt_version.h"

#define DEFAULT_RATE        20.0
#define DEFAULT_ATTEMPTS    3
#define DEFAULT_CONNECT_MS  3000L
#define DEFAULT_TIMEOUT_MS  30000L
#define DEFAULT_MAX_BACKOFF 20.0

struct role_entry {
    char *arn;
    tt_creds_provider *provider;
    struct role_entry *next;
};

struct bucket_entry {
    char key[128]; /* "service/region" */
    tt_aws_bucket bucket;
    struct bucket_entry *next;
};

typedef struct call call;

struct tt_aws {
    struct ev_loop *loop;
    tt_aws_config cfg;
    char region[64];
    json_t *files;   /* the shared config files, {profile: {key: value}} */
    json_t *profile; /* borrowed from files: the active profile, or NULL */
    tt_aws_models *models;
    tt_http *http;
    tt_creds_ctx cctx;
    tt_creds_provider *creds; /* the default chain; NULL when it could not be resolved */
    tt_error creds_err;       /* why not */
    struct role_entry *roles;
    struct bucket_entry *buckets;
    tt_aws_quota quota;
    tt_aws_metrics *metrics;
    call *calls;
    size_t ncalls;
    int admitted;                /* calls past the line */
    call *line_head, *line_tail; /* calls waiting for one of max_in_flight places, in order */
    ev_timer pump;               /* lets the first in line in, outside any callback */
    int closing;
};

enum call_state { WAIT_SLOT, WAIT_RATE, WAIT_CREDS, SENDING, BACKOFF };

struct call {
    tt_aws *aws;
    call *prev, *next;
    const tt_aws_service *svc;
    char op[72];
    char region[64];
    int readonly;
    int is_unsigned;
    tt_aws_endpoint ep;
    const char *base_path; /* inside ep.url: a path prefix of an endpoint override, or "" */
    tt_creds_provider *creds;
    tt_aws_bucket *bucket;
    tt_aws_wire wire;
    enum call_state state;
    int admitted;                /* holds one of max_in_flight places */
    call *line_prev, *line_next; /* in the line while state == WAIT_SLOT */
    int attempt;
    int retry_cost;
    int http_status;
    double started;
    ev_timer timer;
    tt_creds_waiter cw;
    tt_http_xfer *xfer;
    char *url;
    char **lines; /* this attempt's header lines */
    size_t nlines;
    char ak[32];  /* for scrubbing error messages */
    char tok[24]; /* the session token's first bytes, likewise */
    tt_aws_cb cb;
    void *ud;
};

static tt_code start_attempt(call *c, tt_error *err);
static tt_code acquire_creds(call *c, tt_error *err);
static void fail(call *c, const tt_error *err);

static double rand01(void)
{
    uint32_t r;
    if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
        r = (uint32_t)(tt_hash64_str("jitter") ^ (uint64_t)(ev_time() * 1e6));
    return (double)r / 4294967296.0;
}

static void free_attempt(call *c)
{
    for (size_t i = 0; i < c->nlines; i++) {
        if (c->lines[i] != NULL) {
            memset(c->lines[i], 0, strlen(c->lines[i]));
            free(c->lines[i]);
        }
    }
    free(c->lines);
    c->lines = NULL;
    c->nlines = 0;
    free(c->url);
    c->url = NULL;
}

static void call_free(call *c)
{
    free_attempt(c);
    tt_aws_wire_cleanup(&c->wire);
    free(c);
}

static void unlink_call(call *c)
{
    tt_aws *aws = c->aws;
    if (c->prev != NULL)
        c->prev->next = c->next;
    else if (aws->calls == c)
        aws->calls = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    aws->ncalls--;
}

/*
 * The line. A burst of reconciles asks for hundreds of calls at once; each one on the wire holds
 * a curl easy handle with its buffers, and curl would only queue those beyond the connection
 * limit anyway. So at most max_in_flight calls are let past (rate wait, credentials, transfer)
 * and the others wait here in order, costing only their call record.
 */
static void line_remove(call *c)
{
    tt_aws *aws = c->aws;

    if (c->line_prev != NULL)
        c->line_prev->line_next = c->line_next;
    else
        aws->line_head = c->line_next;
    if (c->line_next != NULL)
        c->line_next->line_prev = c->line_prev;
    else
        aws->line_tail = c->line_prev;
    c->line_prev = c->line_next = NULL;
}

/* Gives the call's place back; the first in line goes next, from the loop. */
static void release_place(call *c)
{
    tt_aws *aws = c->aws;

    if (!c->admitted)
        return;
    c->admitted = 0;
    aws->admitted--;
    if (aws->line_head != NULL && !aws->closing)
        ev_timer_start(aws->loop, &aws->pump);
}

static void pump_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    tt_aws *aws = w->data;
    tt_error e;

    (void)loop;
    (void)revents;
    while (aws->line_head != NULL && aws->admitted < aws->cfg.max_in_flight) {
        call *c = aws->line_head;
        line_remove(c);
        c->state = WAIT_RATE; /* out of the line; start_attempt says what it waits for */
        c->admitted = 1;
        aws->admitted++;
        tt_error_clear(&e);
        if (start_attempt(c, &e) != TT_OK)
            fail(c, &e);
    }
}

/* Stops whatever the call waits for, without calling back. */
static void halt(call *c)
{
    if (c->state == WAIT_SLOT)
        line_remove(c);
    release_place(c);
    ev_timer_stop(c->aws->loop, &c->timer);
    tt_creds_waiter_cancel(&c->cw);
    if (c->xfer != NULL) {
        tt_http_cancel(c->xfer);
        c->xfer = NULL;
    }
}

/*
 * Fires the call's timer `delay` seconds of real time from now. libev counts a timer from the
 * loop's cached time, which lags behind after a long iteration (a busy or starved process): a
 * rate-limit or backoff delay counted from it would end early by that lag, and calls would
 * leave closer together than --aws-rate or Retry-After allow.
 */
static void wait_real(call *c, double delay)
{
    struct ev_loop *loop = c->aws->loop;

    ev_timer_set(&c->timer, delay + (ev_time() - ev_now(loop)), 0.0);
    ev_timer_start(loop, &c->timer);
}

static tt_aws_outcome outcome_of(const tt_error *err)
{
    if (err == NULL)
        return TT_AWS_OK;
    switch (err->code) {
    case TT_ETHROTTLED:
        return TT_AWS_THROTTLED;
    case TT_EUNAVAILABLE:
        return TT_AWS_UNAVAILABLE;
    case TT_ECANCELLED:
        return TT_AWS_CANCELLED;
    default:
        return TT_AWS_ERROR;
    }
}

/* Ends a call: counts it, calls back, frees it. `out` is borrowed. */
static void finish(call *c, json_t *out, const tt_error *err)
{
    tt_aws *aws = c->aws;
    tt_aws_outcome o = outcome_of(err);
    tt_aws_call_info info = {
        c->svc->name,          c->op, c->region, c->readonly, o, c->attempt, c->http_status,
        ev_time() - c->started};

    halt(c);
    unlink_call(c);
    tt_aws_metrics_add(aws->metrics, c->svc->name, c->op, o, 1);
    if (aws->cfg.hook != NULL)
        aws->cfg.hook(aws->cfg.hook_ud, &info);
    if (err != NULL)
        tt_log(TT_LOG_DEBUG, NULL, "aws %s %s in %s: %s after %d attempt(s)", c->svc->name, c->op,
               c->region, err->message, c->attempt);
    c->cb(c->ud, out, err);
    call_free(c);
}

static void fail(call *c, const tt_error *err)
{
    tt_error e = *err;
    if (e.code == TT_OK)
        e.code = TT_EAWS;
    tt_error_prefix(&e, "%s %s", c->svc->name, c->op);
    finish(c, NULL, &e);
}

/* Removes anything credential-like AWS may echo back (SignatureDoesNotMatch quotes the
 * canonical request, which holds the session token). */
static void scrub(call *c, tt_error *e)
{
    static const char *const cuts[] = {"The Canonical String", "The String-to-Sign"};
    for (size_t i = 0; i < 2; i++) {
        char *p = strstr(e->message, cuts[i]);
        if (p != NULL)
            snprintf(p, sizeof(e->message) - (size_t)(p - e->message), "[details redacted]");
    }
    for (int pass = 0; pass < 2; pass++) {
        const char *secret = pass == 0 ? c->ak : c->tok;
        char *p;
        if (secret[0] == '\0')
            continue;
        while ((p = strstr(e->message, secret)) != NULL)
            snprintf(p, sizeof(e->message) - (size_t)(p - e->message), "[redacted]");
    }
}

static void http_done(void *ud, const tt_http_response *resp, const tt_error *herr, int timed_out)
{
    call *c = ud;
    tt_aws *aws = c->aws;
    json_t *out = NULL;
    tt_error e;

    tt_error_clear(&e);
    c->xfer = NULL;
    release_place(c); /* a retry waits in line again */
    free_attempt(c);
    c->http_status = (int)resp->status;
    if (herr != NULL)
        e = *herr;
    else
        tt_aws_parse(c->svc, c->op, resp, &out, &e);
    if (out == NULL)
        scrub(c, &e);
    tt_log(TT_LOG_DEBUG, NULL, "aws %s %s %s attempt %d: HTTP %ld%s%s", c->svc->name, c->op,
           c->region, c->attempt, resp->status, out != NULL ? "" : " ",
           out != NULL ? "" : e.message);
    if (out != NULL) {
        tt_aws_quota_release(&aws->quota, c->retry_cost);
        finish(c, out, NULL);
        json_decref(out);
        return;
    }
    if (e.code == TT_ETHROTTLED)
        tt_aws_metrics_add(aws->metrics, c->svc->name, c->op, TT_AWS_THROTTLE, 1);
    int retryable = e.code == TT_ETHROTTLED || e.code == TT_EUNAVAILABLE;
    int cost = 0;
    if (retryable && c->attempt < aws->cfg.max_attempts)
        cost = tt_aws_quota_acquire(&aws->quota, timed_out);
    if (cost == 0) {
        fail(c, &e);
        return;
    }
    c->retry_cost = cost;
    double delay = tt_aws_backoff(c->attempt, aws->cfg.max_backoff, rand01());
    double after = tt_aws_retry_after(tt_http_header(resp, "Retry-After"), ev_time());
    if (after > delay)
        delay = after < aws->cfg.max_backoff ? after : aws->cfg.max_backoff;
    tt_aws_metrics_add(aws->metrics, c->svc->name, c->op, TT_AWS_RETRIED, 1);
    tt_log(TT_LOG_DEBUG, NULL, "aws %s %s: retrying in %.3f s (%s)", c->svc->name, c->op, delay,
           tt_code_name(e.code));
    c->state = BACKOFF;
    wait_real(c, delay);
}

/* Adds the header line "name: value" to this attempt. */
static tt_code add_line(call *c, const char *name, const char *value)
{
    tt_buf line;
    tt_buf_init(&line);
    /* "Name:" with nothing after it tells curl to drop a header it would add itself. */
    if (tt_buf_printf(&line, value[0] != '\0' ? "%s: %s" : "%s:%s", name, value) != TT_OK)
        return TT_ENOMEM;
    c->lines[c->nlines++] = tt_buf_steal(&line);
    return c->lines[c->nlines - 1] != NULL ? TT_OK : TT_ENOMEM;
}

/* Signs (unless the operation is unsigned) and starts the HTTP transfer. */
static tt_code send_request(call *c, const tt_creds *creds, tt_error *err)
{
    tt_aws *aws = c->aws;
    tt_sigv4_header *sh = NULL;
    tt_sigv4_param *sq = NULL;
    tt_sigv4_result sig;
    tt_buf path, url;
    tt_code rc = TT_ENOMEM;
    size_t nh = c->wire.nheaders + 1;

    tt_sigv4_result_init(&sig);
    tt_buf_init(&path);
    tt_buf_init(&url);
    free_attempt(c);
    c->lines = calloc(nh + 4, sizeof(*c->lines));
    sh = calloc(nh, sizeof(*sh));
    sq = calloc(c->wire.nquery + 1, sizeof(*sq));
    if (c->lines == NULL || sh == NULL || sq == NULL)
        goto out;
    if (tt_buf_printf(&path, "%s%s", c->base_path, tt_buf_str(&c->wire.path)) != TT_OK)
        goto out;
    sh[0].name = "Host";
    sh[0].value = c->ep.host;
    for (size_t i = 0; i < c->wire.nheaders; i++) {
        sh[i + 1].name = c->wire.headers[i].name;
        sh[i + 1].value = c->wire.headers[i].value;
    }
    for (size_t i = 0; i < c->wire.nquery; i++) {
        sq[i].key = c->wire.query[i].name;
        sq[i].value = c->wire.query[i].value;
    }
    tt_sigv4_request req = {
        .method = c->wire.method,
        .path = tt_buf_str(&path),
        .query = sq,
        .nquery = c->wire.nquery,
        .headers = sh,
        .nheaders = nh,
        .body = c->wire.body.data,
        .body_len = c->wire.body.len,
        .region = c->ep.signing_region,
        .service = c->svc->signing_name,
        .when = (time_t)ev_time(),
        .normalize_path = 1,
    };
    tt_sigv4_creds sc = {"anonymous", "anonymous", NULL};
    if (creds != NULL) {
        sc.access_key_id = creds->access_key_id;
        sc.secret_access_key = creds->secret_access_key;
        sc.session_token = creds->session_token;
        snprintf(c->ak, sizeof(c->ak), "%s", creds->access_key_id);
        snprintf(c->tok, sizeof(c->tok), "%s",
                 creds->session_token != NULL && strlen(creds->session_token) >= 16
                     ? creds->session_token
                     : "");
    }
    /* The signer also builds the encoded, sorted query string, signed or not. */
    rc = tt_sigv4_sign(&req, &sc, &sig, err);
    if (rc != TT_OK)
        goto out;
    rc = TT_ENOMEM;
    if (tt_buf_printf(&url, "%s%s%s%s", c->ep.url, tt_buf_str(&c->wire.path),
                      sig.query.len > 0 ? "?" : "", tt_buf_str(&sig.query)) != TT_OK)
        goto out;
    for (size_t i = 0; i < c->wire.nheaders; i++) {
        if (add_line(c, c->wire.headers[i].name, c->wire.headers[i].value) != TT_OK)
            goto out;
    }
    if (add_line(c, "User-Agent", "trimtab/" TT_VERSION) != TT_OK)
        goto out;
    /* curl labels every POST body form-encoded unless told otherwise; a body without a
     * Content-Type of its own (REST-XML) must be sent without one, as botocore does. */
    int has_type = 0;
    for (size_t i = 0; i < c->wire.nheaders; i++)
        has_type |= strcasecmp(c->wire.headers[i].name, "Content-Type") == 0;
    if (!has_type && add_line(c, "Content-Type", "") != TT_OK)
        goto out;
    if (creds != NULL) {
        if (add_line(c, "X-Amz-Date", sig.amz_date) != TT_OK ||
            add_line(c, "Authorization", tt_buf_str(&sig.authorization)) != TT_OK)
            goto out;
        if (creds->session_token != NULL &&
            add_line(c, "X-Amz-Security-Token", creds->session_token) != TT_OK)
            goto out;
    }
    c->url = tt_buf_steal(&url);
    if (c->url == NULL)
        goto out;
    tt_http_request hreq = {
        .method = c->wire.method,
        .url = c->url,
        .headers = (const char *const *)c->lines,
        .nheaders = c->nlines,
        .body = c->wire.body.data,
        .body_len = c->wire.body.len,
        .connect_timeout_ms = aws->cfg.connect_timeout_ms,
        .timeout_ms = aws->cfg.timeout_ms,
    };
    c->state = SENDING;
    rc = tt_http_start(aws->http, &hreq, http_done, c, &c->xfer, err);
out:
    if (rc == TT_ENOMEM)
        tt_error_set(err, TT_ENOMEM, "out of memory building the request");
    tt_sigv4_result_cleanup(&sig);
    tt_buf_cleanup(&path);
    tt_buf_cleanup(&url);
    free(sh);
    free(sq);
    return rc;
}

static void creds_ready(void *ud, const tt_creds *creds, const tt_error *err)
{
    call *c = ud;
    tt_error e;
    tt_error_clear(&e);
    if (creds == NULL) {
        fail(c, err);
        return;
    }
    if (send_request(c, creds, &e) != TT_OK)
        fail(c, &e);
}

static tt_code acquire_creds(call *c, tt_error *err)
{
    const tt_creds *creds = NULL;
    if (c->is_unsigned)
        return send_request(c, NULL, err);
    c->state = WAIT_CREDS;
    tt_code rc = tt_creds_get(c->creds, &c->cw, creds_ready, c, &creds, err);
    if (rc == TT_AGAIN)
        return TT_OK;
    if (rc != TT_OK)
        return rc;
    return send_request(c, creds, err);
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    call *c = w->data;
    tt_error e;
    tt_code rc;
    (void)loop;
    (void)revents;
    tt_error_clear(&e);
    rc = c->state == BACKOFF ? start_attempt(c, &e) : acquire_creds(c, &e);
    if (rc != TT_OK)
        fail(c, &e);
}

static tt_code start_attempt(call *c, tt_error *err)
{
    tt_aws *aws = c->aws;

    if (!c->admitted) {
        /* First come, first served: a newcomer does not pass those already waiting. */
        if (aws->admitted >= aws->cfg.max_in_flight || aws->line_head != NULL) {
            c->state = WAIT_SLOT;
            c->line_prev = aws->line_tail;
            if (aws->line_tail != NULL)
                aws->line_tail->line_next = c;
            else
                aws->line_head = c;
            aws->line_tail = c;
            if (aws->admitted < aws->cfg.max_in_flight)
                ev_timer_start(aws->loop, &aws->pump);
            return TT_OK;
        }
        c->admitted = 1;
        aws->admitted++;
    }
    c->attempt++;
    double delay = c->bucket != NULL ? tt_aws_bucket_take(c->bucket, ev_time()) : 0;
    if (delay > 0) {
        c->state = WAIT_RATE;
        wait_real(c, delay);
        return TT_OK;
    }
    return acquire_creds(c, err);
}

static tt_aws_bucket *bucket_for(tt_aws *aws, const char *service, const char *region)
{
    char key[128];
    if (aws->cfg.rate < 0)
        return NULL;
    snprintf(key, sizeof(key), "%s/%s", service, region);
    for (struct bucket_entry *b = aws->buckets; b != NULL; b = b->next) {
        if (strcmp(b->key, key) == 0)
            return &b->bucket;
    }
    struct bucket_entry *b = calloc(1, sizeof(*b));
    if (b == NULL)
        return NULL; /* unlimited rather than failing the call */
    snprintf(b->key, sizeof(b->key), "%s", key);
    tt_aws_bucket_init(&b->bucket, aws->cfg.rate, aws->cfg.burst, ev_time());
    b->next = aws->buckets;
    aws->buckets = b;
    return &b->bucket;
}

static tt_creds_provider *role_provider(tt_aws *aws, const char *arn, tt_error *err)
{
    for (struct role_entry *r = aws->roles; r != NULL; r = r->next) {
        if (strcmp(r->arn, arn) == 0)
            return r->provider;
    }
    struct role_entry *r = calloc(1, sizeof(*r));
    if (r == NULL || (r->arn = strdup(arn)) == NULL) {
        free(r);
        tt_error_set(err, TT_ENOMEM, "out of memory");
        return NULL;
    }
    r->provider = tt_creds_assume_role(&aws->cctx, aws->creds, 0, arn, "trimtab", NULL, 3600, err);
    if (r->provider == NULL) {
        free(r->arn);
        free(r);
        return NULL;
    }
    r->next = aws->roles;
    aws->roles = r;
    return r->provider;
}

/* Starts a call; `creds_override` (internal STS calls) replaces the role / default chain. */
static int call_start(tt_aws *aws, const tt_aws_req *req, tt_creds_provider *creds_override,
                      int use_override, tt_aws_cb cb, void *ud, tt_error *err)
{
    const tt_aws_service *svc;
    call *c = NULL;
    tt_code rc;
    tt_error local;

    if (err == NULL)
        err = &local;
    tt_error_clear(err);
    if (aws->closing)
        return tt_error_set(err, TT_ECANCELLED, "the AWS client is shutting down");
    if (req == NULL || req->service == NULL || req->operation == NULL || cb == NULL)
        return tt_error_set(err, TT_EINVAL,
                            "an AWS call needs a service, an operation and a "
                            "callback");
    svc = tt_aws_models_get(aws->models, req->service, err);
    if (svc == NULL)
        return err != NULL ? err->code : TT_EUNSUPPORTED;
    json_t *op = tt_aws_service_op(svc, req->operation);
    if (op == NULL)
        return tt_error_set(err, TT_EUNSUPPORTED, "%s has no operation '%s' in trimtab's model",
                            svc->name, req->operation);
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return tt_error_set(err, TT_ENOMEM, "out of memory");
    c->aws = aws;
    c->svc = svc;
    c->cb = cb;
    c->ud = ud;
    c->started = ev_time();
    snprintf(c->op, sizeof(c->op), "%s", req->operation);
    snprintf(c->region, sizeof(c->region), "%s", req->region != NULL ? req->region : aws->region);
    c->readonly = json_is_true(json_object_get(op, "readonly"));
    c->is_unsigned = json_is_true(json_object_get(op, "unsigned"));
    tt_aws_wire_init(&c->wire);
    ev_init(&c->timer, timer_cb);
    c->timer.data = c;

    rc = tt_aws_endpoint_resolve(svc, c->region, aws->profile, &c->ep, err);
    if (rc != TT_OK)
        goto fail;
    /* An override like http://host:port/base keeps "/base" before every request path. */
    const char *after_scheme = strstr(c->ep.url, "://");
    c->base_path = after_scheme != NULL ? after_scheme + 3 + strlen(c->ep.host) : "";
    rc = tt_aws_serialize(svc, req->operation, req->input, &c->wire, err);
    if (rc != TT_OK)
        goto fail;
    if (use_override) {
        c->creds = creds_override;
    } else if (req->role_arn != NULL && req->role_arn[0] != '\0') {
        if (aws->creds == NULL) {
            rc = tt_error_set(err, aws->creds_err.code, "%s", aws->creds_err.message);
            goto fail;
        }
        c->creds = role_provider(aws, req->role_arn, err);
        rc = c->creds != NULL ? TT_OK : err->code;
        if (rc != TT_OK)
            goto fail;
    } else {
        c->creds = aws->creds;
    }
    if (c->creds == NULL && !c->is_unsigned) {
        rc =
            tt_error_set(err, aws->creds_err.code ? aws->creds_err.code : TT_ECREDENTIALS, "%s",
                         aws->creds_err.message[0] ? aws->creds_err.message : "no AWS credentials");
        goto fail;
    }
    c->bucket = bucket_for(aws, svc->name, c->region);
    c->next = aws->calls;
    if (aws->calls != NULL)
        aws->calls->prev = c;
    aws->calls = c;
    aws->ncalls++;
    rc = start_attempt(c, err);
    if (rc != TT_OK) {
        halt(c);
        unlink_call(c);
        goto fail;
    }
    return TT_OK;
fail:
    if (err != NULL && err->code != TT_OK && !tt_startswith(err->message, svc->name))
        tt_error_prefix(err, "%s %s", svc->name, req->operation);
    call_free(c);
    return rc;
}

int tt_aws_call(tt_aws *aws, const tt_aws_req *req, tt_aws_cb cb, void *ud, tt_error *err)
{
    return call_start(aws, req, NULL, 0, cb, ud, err);
}

/* The credential providers' way to STS (tt_creds_sts_fn). */
static int sts_call(void *sts_ud, const char *operation, json_t *input, tt_creds_provider *source,
                    const char *region, tt_aws_cb cb, void *ud, tt_error *err)
{
    tt_aws *aws = sts_ud;
    tt_aws_req req = {"sts", operation, region != NULL && region[0] ? region : "us-east-1", NULL,
                      input};
    return call_start(aws, &req, source, 1, cb, ud, err);
}

void tt_aws_cancel_all(tt_aws *aws)
{
    call *list = aws->calls;
    tt_error e;

    /* First stop everything, then call back: a callback may touch any other call. */
    aws->calls = NULL;
    aws->ncalls = 0;
    for (call *c = list; c != NULL; c = c->next)
        halt(c);
    tt_error_set(&e, TT_ECANCELLED, "cancelled: trimtab is shutting down");
    while (list != NULL) {
        call *c = list;
        list = c->next;
        tt_aws_metrics_add(aws->metrics, c->svc->name, c->op, TT_AWS_CANCELLED, 1);
        if (aws->cfg.hook != NULL) {
            tt_aws_call_info info = {
                c->svc->name,     c->op,      c->region,      c->readonly,
                TT_AWS_CANCELLED, c->attempt, c->http_status, ev_time() - c->started};
            aws->cfg.hook(aws->cfg.hook_ud, &info);
        }
        c->cb(c->ud, NULL, &e);
        call_free(c);
    }
}

size_t tt_aws_inflight(const tt_aws *aws)
{
    return aws->ncalls;
}

static const char *env_nonempty(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

tt_aws *tt_aws_create(struct ev_loop *loop, const tt_aws_config *cfg, tt_error *err)
{
    tt_aws *aws = calloc(1, sizeof(*aws));
    const char *region;
    tt_aws_config dflt;

    if (aws == NULL) {
        tt_error_set(err, TT_ENOMEM, "out of memory");
        return NULL;
    }
    memset(&dflt, 0, sizeof(dflt));
    aws->loop = loop;
    ev_timer_init(&aws->pump, pump_cb, 0, 0);
    aws->pump.data = aws;
    aws->cfg = cfg != NULL ? *cfg : dflt;
    if (aws->cfg.max_attempts <= 0) {
        int64_t n = 0;
        const char *env_attempts = env_nonempty("AWS_MAX_ATTEMPTS");
        aws->cfg.max_attempts =
            env_attempts != NULL && tt_parse_i64(env_attempts, &n) == 0 && n > 0 && n < 100
                ? (int)n
                : DEFAULT_ATTEMPTS;
    }
    if (aws->cfg.rate == 0)
        aws->cfg.rate = DEFAULT_RATE;
    if (aws->cfg.burst <= 0)
        aws->cfg.burst = (aws->cfg.rate > 1 ? aws->cfg.rate : 1) * 2;
    if (aws->cfg.connect_timeout_ms <= 0)
        aws->cfg.connect_timeout_ms = DEFAULT_CONNECT_MS;
    if (aws->cfg.timeout_ms <= 0)
        aws->cfg.timeout_ms = DEFAULT_TIMEOUT_MS;
    if (aws->cfg.max_host_connections <= 0)
        aws->cfg.max_host_connections = 64;
    if (aws->cfg.max_in_flight <= 0)
        aws->cfg.max_in_flight = 64;
    if (aws->cfg.max_backoff <= 0)
        aws->cfg.max_backoff = DEFAULT_MAX_BACKOFF;
    tt_aws_quota_init(&aws->quota);
    aws->models = tt_aws_models_create(aws->cfg.json_services);
    aws->metrics = tt_aws_metrics_create();
    if (aws->models == NULL || aws->metrics == NULL) {
        tt_error_set(err, TT_ENOMEM, "out of memory");
        goto fail;
    }
    aws->files = tt_aws_config_files_load(err);
    if (aws->files == NULL)
        goto fail;
    const char *profile =
        cfg != NULL && cfg->profile != NULL ? cfg->profile : env_nonempty("AWS_PROFILE");
    aws->profile = json_object_get(aws->files, profile != NULL ? profile : "default");
    region = cfg != NULL && cfg->region != NULL ? cfg->region : env_nonempty("AWS_REGION");
    if (region == NULL)
        region = env_nonempty("AWS_DEFAULT_REGION");
    if (region == NULL)
        region = tt_aws_jstr(aws->profile, "region", "");
    snprintf(aws->region, sizeof(aws->region), "%s", region);
    aws->http = tt_http_create(loop, aws->cfg.max_host_connections, err);
    if (aws->http == NULL)
        goto fail;
    {
        /* The SDKs' private-CA setting: the environment first, then the profile. */
        const char *ca = env_nonempty("AWS_CA_BUNDLE");
        if (ca == NULL)
            ca = tt_aws_jstr(aws->profile, "ca_bundle", NULL);
        if (ca != NULL && tt_http_set_ca_bundle(aws->http, ca, err) != TT_OK)
            goto fail;
    }
    aws->cctx.loop = loop;
    aws->cctx.http = aws->http;
    aws->cctx.sts = sts_call;
    aws->cctx.sts_ud = aws;
    aws->cctx.region = aws->region;
    /* A chain that cannot be resolved is not fatal: unsigned calls still work and signed
     * ones fail with this message. */
    tt_error_clear(&aws->creds_err);
    aws->creds = tt_creds_default_chain(&aws->cctx, cfg != NULL ? cfg->profile : NULL, aws->files,
                                        &aws->creds_err);
    if (aws->creds != NULL)
        tt_log(TT_LOG_DEBUG, NULL, "aws credentials: %s", tt_creds_provider_describe(aws->creds));
    return aws;
fail:
    tt_aws_destroy(aws);
    return NULL;
}

void tt_aws_destroy(tt_aws *aws)
{
    if (aws == NULL)
        return;
    if (aws->http != NULL)
        tt_aws_cancel_all(aws);
    aws->closing = 1;
    while (aws->roles != NULL) {
        struct role_entry *r = aws->roles;
        aws->roles = r->next;
        tt_creds_provider_destroy(r->provider);
        free(r->arn);
        free(r);
    }
    tt_creds_provider_destroy(aws->creds);
    /* Destroying providers may end internal STS calls (cancelled above) once more. */
    if (aws->http != NULL)
        tt_aws_cancel_all(aws);
    ev_timer_stop(aws->loop, &aws->pump);
    tt_http_destroy(aws->http);
    while (aws->buckets != NULL) {
        struct bucket_entry *b = aws->buckets;
        aws->buckets = b->next;
        free(b);
    }
    tt_aws_metrics_destroy(aws->metrics);
    tt_aws_models_destroy(aws->models);
    json_decref(aws->files);
    free(aws);
}

struct tt_http *tt_aws_http(tt_aws *aws)
{
    return aws->http;
}

void tt_aws_prepare(tt_aws *aws, const char *service)
{
    tt_error err;

    (void)tt_aws_models_get(aws->models, service, &err);
}

const char *tt_aws_region(const tt_aws *aws)
{
    return aws->region;
}

const char *tt_aws_credentials_source(tt_aws *aws)
{
    return aws->creds != NULL ? tt_creds_provider_describe(aws->creds) : "none";
}

void tt_aws_metrics_foreach(const tt_aws *aws, tt_aws_metric_fn fn, void *ud)
{
    tt_aws_metrics_visit(aws->metrics, fn, ud);
}

uint64_t tt_aws_metric(const tt_aws *aws, const char *service, const char *operation,
                       tt_aws_outcome outcome)
{
    return tt_aws_metrics_get(aws->metrics, service, operation, outcome);
}

/* The three counter families come from one table of counts; each visit prints one. */
enum prom_family { PROM_CALLS, PROM_RETRIES, PROM_THROTTLES };

struct prom {
    tt_buf *out;
    tt_code rc;
    enum prom_family family;
};

static void prom_line(void *ud, const char *service, const char *operation, tt_aws_outcome outcome,
                      uint64_t count)
{
    struct prom *p = ud;
    int retry = outcome == TT_AWS_RETRIED, throttle = outcome == TT_AWS_THROTTLE;

    if (p->rc != TT_OK)
        return;
    /* Service and operation names are [A-Za-z0-9-]: nothing to escape in a label value. */
    if (p->family == PROM_CALLS && !retry && !throttle)
        p->rc = tt_buf_printf(p->out,
                              "trimtab_aws_calls_total{service=\"%s\",operation=\"%s\","
                              "outcome=\"%s\"} %llu\n",
                              service, operation, tt_aws_outcome_name(outcome),
                              (unsigned long long)count);
    else if ((p->family == PROM_RETRIES && retry) || (p->family == PROM_THROTTLES && throttle))
        p->rc = tt_buf_printf(
            p->out, "trimtab_aws_%s_total{service=\"%s\",operation=\"%s\"} %llu\n",
            retry ? "retries" : "throttles", service, operation, (unsigned long long)count);
}

tt_code tt_aws_metrics_prometheus(const tt_aws *aws, tt_buf *out)
{
    static const char *const headers[] = {
        "# HELP trimtab_aws_calls_total AWS API calls by service, operation and how they ended "
        "(after retries).\n# TYPE trimtab_aws_calls_total counter\n",
        "# HELP trimtab_aws_retries_total Retry attempts by service and operation.\n"
        "# TYPE trimtab_aws_retries_total counter\n",
        "# HELP trimtab_aws_throttles_total Throttled AWS responses by service and operation, "
        "retried or not.\n# TYPE trimtab_aws_throttles_total counter\n",
    };
    struct prom p = {out, TT_OK, PROM_CALLS};

    for (int f = PROM_CALLS; f <= PROM_THROTTLES && p.rc == TT_OK; f++) {
        p.family = (enum prom_family)f;
        p.rc = tt_buf_puts(out, headers[f]);
        if (p.rc == TT_OK)
            tt_aws_metrics_visit(aws->metrics, prom_line, &p);
    }
    if (p.rc == TT_OK)
        p.rc = tt_buf_printf(out,
                             "# HELP trimtab_aws_retry_quota Retry tokens left (of 500).\n"
                             "# TYPE trimtab_aws_retry_quota gauge\n"
                             "trimtab_aws_retry_quota %d\n",
                             aws->quota.tokens);
    return p.rc;
}

int tt_aws_retry_quota(const tt_aws *aws)
{
    return aws->quota.tokens;
}

json_t *tt_aws_paginator(tt_aws *aws, const char *service, const char *operation, tt_error *err)
{
    const tt_aws_service *svc = tt_aws_models_get(aws->models, service, err);
    return svc != NULL ? json_object_get(tt_aws_service_op(svc, operation), "paginator") : NULL;
}

struct sync_state {
    int done;
    json_t *out;
    tt_error err;
};

static void sync_cb(void *ud, json_t *output, const tt_error *err)
{
    struct sync_state *s = ud;
    s->done = 1;
    if (err != NULL)
        s->err = *err;
    else
        s->out = json_incref(output);
}

int tt_aws_call_sync(tt_aws *aws, const tt_aws_req *req, int paginate, json_t **out, tt_error *err)
{
    struct sync_state s;
    memset(&s, 0, sizeof(s));
    int rc = paginate ? tt_aws_paginate(aws, req, sync_cb, &s, err)
                      : tt_aws_call(aws, req, sync_cb, &s, err);
    if (rc != TT_OK)
        return rc;
    while (!s.done)
        ev_run(aws->loop, EVRUN_ONCE);
    if (s.out == NULL) {
        if (err != NULL)
            *err = s.err;
        return s.err.code != TT_OK ? s.err.code : TT_EAWS;
    }
    *out = s.out;
    return TT_OK;
}
