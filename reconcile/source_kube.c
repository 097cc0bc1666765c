#include "source_kube.h"

#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diag.h"
#include "leader.h"
#include "model.h"
#include "tt_json.h"
#include "tt_kube.h"
#include "tt_log.h"
#include "tt_map.h"
#include "tt_str.h"

#define LIST_PAGE      500
#define STATUS_TRIES   5
#define MAX_SERIES     4096
#define EVENT_NOTE_MAX 1024
/* Events sent and not yet answered. Beyond that an API server that is behind (the start-up of
 * thousands of objects, at the client's rate limit) gets no more: new ones are dropped, as
 * client-go's broadcaster drops beyond its queue of 1,000. Events are a best-effort record;
 * the status and trimtab's log keep the facts. */
#define MAX_EVENTS_WAITING 1000
#define API_PREFIX         "/apis/" TT_API_VERSION

/* ---- types ------------------------------------------------------------------------------ */

enum inf_state { INF_IDLE, INF_LISTING, INF_WATCHING, INF_BACKOFF };

/* One list+watch: a kind in one namespace (or in all). */
struct informer {
    tt_source_kube *s;
    tt_kind kind;
    char *base; /* "/apis/trimtab.dev/v1alpha1[/namespaces/NS]/plural" */
    char rv[128];
    enum inf_state state;
    bool synced;       /* its first listing is complete */
    bool relist;       /* the next start lists (410 Gone, or never listed) */
    unsigned epoch;    /* bumped at each listing, to find what vanished */
    unsigned failures; /* consecutive, for the backoff */
    tt_kube_req *req;  /* the list page or watch in flight */
    ev_timer backoff;
};

/* The cache: the last object of a key, and what has been done with it. */
struct cobj {
    /* The object without its status as compact JSON text, parsed again on the rare occasions
     * it is needed (a status write, a finalizer patch, an event): a jansson tree costs ~25 KiB
     * a resource, the text about 1 KiB (owned). */
    char *text;
    bool deleting;         /* it has a deletionTimestamp */
    bool finalized;        /* it carries trimtab's finalizer */
    uint64_t status_fp;    /* hash of its status */
    uint64_t fp;           /* fingerprint of what was last delivered (0: nothing yet) */
    size_t informer;       /* index into s->informers */
    unsigned epoch;        /* of the listing (or watch) that last saw it */
    bool delivered;        /* the engine has it */
    bool removal_sent;     /* the engine was told it is gone */
    bool adding_finalizer; /* a patch is in flight */
    bool releasing;        /* a finalizer removal is in flight or due */
    char *want_status;     /* the status the engine wants written, compact text with sorted
                            * keys (owned), or NULL: text, as ~10,000 of them wait behind the
                            * rate limit at start-up and a tree costs several times more */
    uint64_t want_fp;      /* its hash, comparable with status_fp */
    bool writing_status;   /* a write is in flight */
    unsigned status_tries;
    uint64_t sending_fp;       /* hash of the status in flight */
    uint64_t sent_status_fp;   /* hash of the last status written successfully... */
    uint64_t server_status_fp; /* ...and of the status the server answered with */
};

/* A request in flight that is not an informer's; kept so destroy can cancel it. */
enum op_kind { OP_STATUS, OP_REREAD, OP_FINALIZER_ADD, OP_FINALIZER_REMOVE, OP_EVENT };
struct op {
    tt_source_kube *s;
    enum op_kind kind;
    char *key;
    tt_kube_req *req;
    struct op *prev, *next;
};

/* Repeats of one event (same object, type, reason and note) update one Event's series. */
struct series {
    char *name; /* the Event's name */
    char *ns;
    unsigned count;  /* occurrences so far */
    unsigned posted; /* count the server has */
    bool dead;       /* the server does not have it: the next occurrence starts anew */
    double last_patch;
};

struct tt_source_kube {
    struct ev_loop *loop;
    tt_kube *kube;
    tt_source_kube_config cfg;
    char **namespaces; /* owned copies */
    const tt_source_handler *h;
    void *ud;
    struct informer *informers;
    size_t ninformers;
    tt_map *cache;  /* key → struct cobj */
    tt_map *series; /* "key\ntype\nreason\nnote" → struct series */
    struct op *ops;
    size_t events_waiting; /* OP_EVENT requests not answered yet */
    bool dropping_events;  /* events_waiting reached MAX_EVENTS_WAITING: logged once */
    ev_timer series_timer;
    bool started, stopped, synced_sent;
    char instance[128];
    tt_source_kube_stats stats;
};

static void inf_start(struct informer *inf);
static void cobj_apply(tt_source_kube *s, size_t informer, json_t *obj, bool cached);
static void status_write(tt_source_kube *s, const char *key);
static void finalizer_patch(tt_source_kube *s, const char *key, bool add);

/* ---- helpers ------------------------------------------------------------------------------ */

static const char *or_empty(const char *s)
{
    return s != NULL ? s : "";
}

static const char *meta_str(const json_t *obj, const char *field)
{
    return json_string_value(json_object_get(json_object_get(obj, "metadata"), field));
}

static bool has_finalizer(const json_t *obj)
{
    size_t i;
    json_t *f;

    json_array_foreach(json_object_get(json_object_get(obj, "metadata"), "finalizers"), i, f)
    {
        if (tt_streq(json_string_value(f), TT_KUBE_FINALIZER))
            return true;
    }
    return false;
}

static bool is_deleting(const json_t *obj)
{
    return meta_str(obj, "deletionTimestamp") != NULL;
}

/* "Kind/namespace/name" of an object of `kind`; false when it has no name or namespace. */
static bool key_of(tt_kind kind, const json_t *obj, char *out, size_t len)
{
    const char *ns = meta_str(obj, "namespace"), *name = meta_str(obj, "name");

    if (ns == NULL || name == NULL)
        return false;
    snprintf(out, len, "%s/%s/%s", tt_kind_name(kind), ns, name);
    return true;
}

/* The path of the object of `key` ("Kind/namespace/name", as key_of makes it; neither part
 * can hold a "/"): base of its kind in its namespace, and its name. */
static void object_path(tt_kind kind, const char *key, const char *sub, char *out, size_t len)
{
    const char *ns = strchr(key, '/');
    const char *name = ns != NULL ? strchr(ns + 1, '/') : NULL;

    if (name == NULL) {
        snprintf(out, len, "%s", "");
        return;
    }
    snprintf(out, len, API_PREFIX "/namespaces/%.*s/%s/%s%s", (int)(name - ns - 1), ns + 1,
             tt_kind_plural(kind), name + 1, sub != NULL ? sub : "");
}

/*
 * Drops what trimtab never reads from an object before caching it: managedFields (often the
 * largest part) and kubectl's last-applied-configuration (a copy of the whole object). A status
 * update ignores everything but status, so sending the slimmed object there loses nothing.
 */
static void slim(json_t *obj)
{
    json_t *meta = json_object_get(obj, "metadata");

    json_object_del(meta, "managedFields");
    json_object_del(json_object_get(meta, "annotations"),
                    "kubectl.kubernetes.io/last-applied-configuration");
}

uint64_t tt_source_kube_fingerprint(const json_t *obj)
{
    json_t *copy = json_copy((json_t *)obj), *meta;
    char *text;
    uint64_t h;

    if (copy == NULL)
        return 0;
    json_object_del(copy, "status");
    meta = json_object_get(copy, "metadata");
    if (json_is_object(meta)) {
        /* metadata is shared with `obj` by the shallow copy: copy it before deleting from it. */
        meta = json_copy(meta);
        json_object_del(meta, "resourceVersion");
        json_object_del(meta, "managedFields");
        json_object_set_new(copy, "metadata", meta);
    }
    text = tt_json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS);
    h = text != NULL ? tt_hash64_str(text) : 0;
    /* 0 means "never delivered"; keep it for that. */
    if (h == 0)
        h = 1;
    free(text);
    json_decref(copy);
    return h;
}

static uint64_t json_hash(const json_t *v)
{
    char *text =
        v != NULL ? tt_json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
    uint64_t h = text != NULL ? tt_hash64_str(text) : 0;

    free(text);
    return h;
}

/* The cached object (a new reference), or NULL when out of memory. */
static json_t *cobj_object(const struct cobj *c)
{
    return c->text != NULL ? json_loads(c->text, 0, NULL) : NULL;
}

/*
 * Caches `obj` (borrowed, slimmed) without its status, of which only the hash is kept: the
 * engine has the status in its own records, and a status write needs the object's identity and
 * resourceVersion beside the status it sends. `cached`: `obj` is the cache's own text parsed
 * again, so it has no status to hash and the hash known stays. False when out of memory (the
 * cache keeps the old one).
 */
static bool cobj_store(struct cobj *c, const json_t *obj, bool cached)
{
    json_t *copy = json_copy((json_t *)obj); /* shallow: deleting a key leaves `obj` whole */
    char *text;

    if (copy == NULL)
        return false;
    json_object_del(copy, "status");
    text = tt_json_dumps(copy, JSON_COMPACT);
    json_decref(copy);
    if (text == NULL)
        return false;
    free(c->text);
    c->text = text;
    c->deleting = is_deleting(obj);
    c->finalized = has_finalizer(obj);
    if (!cached)
        c->status_fp = json_hash(json_object_get(obj, "status"));
    return true;
}

static void cobj_free(struct cobj *c)
{
    if (c == NULL)
        return;
    free(c->text);
    free(c->want_status);
    free(c);
}

static void want_clear(struct cobj *c)
{
    free(c->want_status);
    c->want_status = NULL;
    c->want_fp = 0;
}

/* Keeps `status` (borrowed) as the one to write; false when out of memory. */
static bool want_set(struct cobj *c, const json_t *status)
{
    char *text = tt_json_dumps(status, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);

    if (text == NULL)
        return false;
    free(c->want_status);
    c->want_status = text;
    c->want_fp = tt_hash64_str(text); /* as json_hash: the same text */
    return true;
}

/* ---- ops ---------------------------------------------------------------------------------- */

static struct op *op_new(tt_source_kube *s, enum op_kind kind, const char *key)
{
    struct op *o = calloc(1, sizeof(*o));

    if (o == NULL)
        return NULL;
    o->s = s;
    o->kind = kind;
    if (key != NULL && (o->key = strdup(key)) == NULL) {
        free(o);
        return NULL;
    }
    o->next = s->ops;
    if (s->ops != NULL)
        s->ops->prev = o;
    s->ops = o;
    return o;
}

static void op_free(struct op *o)
{
    tt_source_kube *s = o->s;

    if (o->prev != NULL)
        o->prev->next = o->next;
    else
        s->ops = o->next;
    if (o->next != NULL)
        o->next->prev = o->prev;
    free(o->key);
    free(o);
}

/* Starts `method path` for `o`; on failure `o` is freed and false returned. */
static bool op_start(struct op *o, const char *method, const char *path, const json_t *body,
                     const char *ctype, tt_kube_cb cb)
{
    tt_error err;

    if (strcmp(method, "GET") != 0 && !tt_leader_is_leader(o->s->cfg.leader)) {
        tt_log(TT_LOG_DEBUG, o->key, "kubernetes: not the leader; %s %s left to the leader", method,
               path);
        op_free(o);
        return false;
    }
    if (tt_kube_request(o->s->kube, method, path, body, ctype, cb, o, &o->req, &err) != TT_OK) {
        tt_log(TT_LOG_WARN, o->key, "kubernetes: cannot start %s %s: %s", method, path,
               err.message);
        op_free(o);
        return false;
    }
    return true;
}

/* ---- delivery ---------------------------------------------------------------------------- */

/* Builds the typed resource of `obj` (borrowed; valid or not) and hands it to the engine. */
static void deliver(tt_source_kube *s, const char *key, struct cobj *c, const json_t *obj)
{
    tt_doc_src src = {0};
    tt_diags *diags = tt_diags_create();
    tt_resource *r = NULL;
    tt_code rc;

    if (diags == NULL)
        return;
    src.file = "";
    rc = tt_model_from_json(obj, &src, diags, &r);
    if (r == NULL) {
        if (rc != TT_ENOTFOUND)
            tt_log(TT_LOG_WARN, key, "kubernetes: the object cannot be read as a resource");
        tt_diags_destroy(diags);
        return;
    }
    if (r->invalid && s->h->problems != NULL)
        s->h->problems(s->ud, diags);
    tt_diags_destroy(diags);
    c->delivered = true;
    s->stats.deliveries++;
    tt_log(TT_LOG_DEBUG, key, "kubernetes: delivered (resourceVersion %s)",
           or_empty(meta_str(obj, "resourceVersion")));
    s->h->upsert(s->ud, r);
}

static void deliver_removal(tt_source_kube *s, const char *key, struct cobj *c)
{
    if (c->removal_sent)
        return;
    c->removal_sent = true;
    s->stats.deliveries++;
    tt_log(TT_LOG_DEBUG, key, "kubernetes: delivered its removal");
    s->h->remove(s->ud, key);
}

/*
 * A new version of an object (from a list or a watch): cache it, then do what it asks. An
 * object without trimtab's finalizer gets it first, and reaches the engine only once the
 * finalizer is there, so no AWS write can happen for an object that could vanish unguarded.
 * `obj` is stolen; `cached`: it is the cache's own text (see cobj_store).
 */
static void cobj_apply(tt_source_kube *s, size_t informer, json_t *obj, bool cached)
{
    struct informer *inf = &s->informers[informer];
    struct cobj *c;
    char key[600];
    uint64_t fp;

    if (json_object_get(obj, "kind") == NULL) {
        /* Items of a list may come without their type. */
        json_object_set_new(obj, "kind", json_string(tt_kind_name(inf->kind)));
        json_object_set_new(obj, "apiVersion", json_string(TT_API_VERSION));
    }
    if (!key_of(inf->kind, obj, key, sizeof(key)))
        goto out;
    c = tt_map_get(s->cache, key);
    if (c == NULL) {
        c = calloc(1, sizeof(*c));
        if (c == NULL || tt_map_put(s->cache, key, c) == NULL) {
            free(c);
            goto out;
        }
    }
    slim(obj);
    if (!cobj_store(c, obj, cached)) {
        tt_log(TT_LOG_WARN, key, "kubernetes: out of memory caching the object");
        goto out;
    }
    c->informer = informer;
    c->epoch = inf->epoch;
    fp = tt_source_kube_fingerprint(obj);
    if (c->deleting) {
        if (!c->delivered && c->finalized) {
            /* Deleted while trimtab was away: the engine learns of it, then of its removal. */
            deliver(s, key, c, obj);
            c->fp = fp;
        }
        if (c->delivered)
            deliver_removal(s, key, c);
        else if (c->finalized && !c->releasing)
            finalizer_patch(s, key, false); /* not a resource trimtab can read: let it go */
        goto out;
    }
    if (!c->finalized) {
        if (!c->adding_finalizer)
            finalizer_patch(s, key, true);
        goto out;
    }
    if (c->delivered && c->fp == fp)
        goto out; /* a status-only change (ours, most often): nothing the engine reads */
    c->fp = fp;
    c->removal_sent = false;
    deliver(s, key, c, obj);
    /* Status the engine asked for before this version arrived may now be written. */
    if (c->want_status != NULL && !c->writing_status)
        status_write(s, key);
out:
    json_decref(obj);
}

/* The object of `key` is gone from the API server. */
static void cobj_gone(tt_source_kube *s, const char *key)
{
    struct cobj *c = tt_map_del(s->cache, key);

    if (c == NULL)
        return;
    if (c->delivered)
        deliver_removal(s, key, c);
    cobj_free(c);
}

/* ---- informers ------------------------------------------------------------------------------ */

static double backoff_delay(tt_source_kube *s, unsigned failures)
{
    double d = s->cfg.backoff_min;

    for (unsigned i = 1; i < failures && d < s->cfg.backoff_max; i++)
        d *= 2;
    if (d > s->cfg.backoff_max)
        d = s->cfg.backoff_max;
    /* Jitter: between half and all of it, so a restarted API server is not hit in step. */
    return d * (0.5 + 0.5 * ((double)rand() / RAND_MAX));
}

static void inf_backoff(struct informer *inf, const char *what, const tt_error *err)
{
    tt_source_kube *s = inf->s;
    double d;

    inf->failures++;
    d = backoff_delay(s, inf->failures);
    tt_log(TT_LOG_WARN, NULL, "kubernetes: %s %s failed (%s); again in %.1f s", what, inf->base,
           err != NULL ? err->message : "the stream ended unexpectedly", d);
    inf->state = INF_BACKOFF;
    ev_timer_set(&inf->backoff, d, 0);
    ev_timer_start(s->loop, &inf->backoff);
}

static void maybe_synced(tt_source_kube *s)
{
    if (s->synced_sent)
        return;
    for (size_t i = 0; i < s->ninformers; i++) {
        if (!s->informers[i].synced)
            return;
    }
    s->synced_sent = true;
    tt_log(TT_LOG_INFO, NULL, "kubernetes: listed %zu resources; watching", tt_map_len(s->cache));
    s->h->synced(s->ud);
}

struct sweep {
    tt_source_kube *s;
    size_t informer;
    unsigned epoch;
    char **keys;
    size_t n, cap;
};

/* Adds a copy of `key` to the sweep's list (out of memory: left out). */
static void sweep_add(struct sweep *w, const char *key)
{
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 16;
        char **v = realloc(w->keys, cap * sizeof(*v));
        if (v == NULL)
            return;
        w->keys = v;
        w->cap = cap;
    }
    if ((w->keys[w->n] = strdup(key)) != NULL)
        w->n++;
}

static void sweep_collect(void *ud, const char *key, void *value)
{
    struct sweep *w = ud;
    struct cobj *c = value;

    if (c->informer != w->informer || c->epoch == w->epoch)
        return;
    sweep_add(w, key);
}

static void list_page(struct informer *inf, const char *cont);

static void list_done(void *ud, long status, json_t *body, const tt_error *err)
{
    struct informer *inf = ud;
    tt_source_kube *s = inf->s;
    const char *cont, *rv;
    size_t i;
    json_t *item;

    (void)status;
    inf->req = NULL;
    if (err != NULL) {
        inf_backoff(inf, "listing", err);
        return;
    }
    json_array_foreach(json_object_get(body, "items"), i, item)
    {
        cobj_apply(s, (size_t)(inf - s->informers), json_incref(item), false);
    }
    cont = json_string_value(json_object_get(json_object_get(body, "metadata"), "continue"));
    if (cont != NULL && cont[0] != '\0') {
        list_page(inf, cont);
        return;
    }
    rv = json_string_value(json_object_get(json_object_get(body, "metadata"), "resourceVersion"));
    snprintf(inf->rv, sizeof(inf->rv), "%s", rv != NULL ? rv : "");
    {
        /* What this listing did not see is gone: a relist delivers only the difference. */
        struct sweep w = {s, (size_t)(inf - s->informers), inf->epoch, NULL, 0, 0};
        tt_map_foreach(s->cache, sweep_collect, &w);
        for (size_t k = 0; k < w.n; k++) {
            cobj_gone(s, w.keys[k]);
            free(w.keys[k]);
        }
        free(w.keys);
    }
    inf->relist = false;
    inf->failures = 0;
    inf->synced = true;
    maybe_synced(s);
    inf->state = INF_IDLE;
    inf_start(inf);
}

static void list_page(struct informer *inf, const char *cont)
{
    char path[1200];
    tt_error err;

    if (cont != NULL)
        snprintf(path, sizeof(path), "%s?limit=%d&continue=%s", inf->base, LIST_PAGE, cont);
    else
        snprintf(path, sizeof(path), "%s?limit=%d", inf->base, LIST_PAGE);
    inf->state = INF_LISTING;
    inf->s->stats.lists++;
    if (tt_kube_request(inf->s->kube, "GET", path, NULL, NULL, list_done, inf, &inf->req, &err) !=
        TT_OK)
        inf_backoff(inf, "listing", &err);
}

static int watch_event(void *ud, const char *type, json_t *obj)
{
    struct informer *inf = ud;
    tt_source_kube *s = inf->s;
    const char *rv = meta_str(obj, "resourceVersion");
    char key[600];

    if (strcmp(type, "ERROR") == 0) {
        /* A Status: 410 Gone means our resourceVersion was compacted away. */
        json_int_t code = json_integer_value(json_object_get(obj, "code"));
        tt_log(TT_LOG_INFO, NULL, "kubernetes: watch %s: %s (%d)", inf->base,
               or_empty(json_string_value(json_object_get(obj, "message"))), (int)code);
        if (code == 410)
            inf->relist = true;
        return 1;
    }
    if (rv != NULL)
        snprintf(inf->rv, sizeof(inf->rv), "%s", rv);
    if (strcmp(type, "BOOKMARK") == 0)
        return 0;
    s->stats.watch_events++;
    if (strcmp(type, "DELETED") == 0) {
        if (key_of(inf->kind, obj, key, sizeof(key)))
            cobj_gone(s, key);
        return 0;
    }
    if (strcmp(type, "ADDED") == 0 || strcmp(type, "MODIFIED") == 0)
        cobj_apply(s, (size_t)(inf - s->informers), json_incref(obj), false);
    return 0;
}

static void watch_done(void *ud, long status, json_t *body, const tt_error *err)
{
    struct informer *inf = ud;

    (void)body;
    inf->req = NULL;
    inf->state = INF_IDLE;
    if (status == 410)
        inf->relist = true;
    if (inf->relist) {
        inf->s->stats.relists++;
        tt_log(TT_LOG_INFO, NULL, "kubernetes: %s: resourceVersion %s is gone; listing again",
               inf->base, inf->rv);
        inf_start(inf);
        return;
    }
    if (err != NULL && err->code != TT_ECANCELLED) {
        inf_backoff(inf, "watching", err);
        return;
    }
    /* The server ended the watch (its timeout) or we stopped reading a bad line: resume. */
    if (err != NULL)
        inf->failures++;
    else
        inf->failures = 0;
    if (inf->failures > 0) {
        inf_backoff(inf, "watching", NULL);
        return;
    }
    inf_start(inf);
}

static void watch_start(struct informer *inf)
{
    tt_source_kube *s = inf->s;
    char path[1200];
    int timeout = s->cfg.watch_timeout > 0 ? s->cfg.watch_timeout : 300 + rand() % 300;
    tt_error err;

    snprintf(path, sizeof(path),
             "%s?watch=1&resourceVersion=%s&allowWatchBookmarks=true&timeoutSeconds=%d", inf->base,
             inf->rv, timeout);
    inf->state = INF_WATCHING;
    s->stats.watches++;
    if (tt_kube_watch(s->kube, path, watch_event, watch_done, inf, &inf->req, &err) != TT_OK)
        inf_backoff(inf, "watching", &err);
}

static void inf_start(struct informer *inf)
{
    if (inf->s->stopped)
        return;
    if (inf->relist || inf->rv[0] == '\0') {
        inf->epoch++;
        list_page(inf, NULL);
    } else {
        watch_start(inf);
    }
}

static void on_backoff(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct informer *inf = w->data;

    (void)loop;
    (void)revents;
    inf->state = INF_IDLE;
    inf_start(inf);
}

/* ---- status --------------------------------------------------------------------------------- */

static void status_done(void *ud, long status, json_t *body, const tt_error *err);

/* Reads the object again after a conflict, then retries the write. */
static void reread_done(void *ud, long status, json_t *body, const tt_error *err)
{
    struct op *o = ud;
    tt_source_kube *s = o->s;
    struct cobj *c = tt_map_get(s->cache, o->key);
    char *key = o->key;

    (void)status;
    o->key = NULL;
    op_free(o);
    if (c == NULL)
        goto out;
    c->writing_status = false;
    if (err != NULL) {
        if (err->code == TT_ENOTFOUND) {
            cobj_gone(s, key);
            goto out;
        }
        tt_log(TT_LOG_WARN, key, "kubernetes: cannot read the object again: %s", err->message);
        goto out; /* the next reconcile asks again */
    }
    cobj_apply(s, c->informer, json_incref(body), false);
    c = tt_map_get(s->cache, key);
    if (c != NULL && c->want_status != NULL && !c->writing_status)
        status_write(s, key);
out:
    free(key);
}

static void status_done(void *ud, long status, json_t *body, const tt_error *err)
{
    struct op *o = ud;
    tt_source_kube *s = o->s;
    struct cobj *c = tt_map_get(s->cache, o->key);
    char path[1200], key[600];

    (void)status;
    if (c == NULL) {
        op_free(o);
        return;
    }
    snprintf(key, sizeof(key), "%s", o->key);
    if (err != NULL && err->code == TT_ECANCELLED) {
        /* Nothing was left to send when its turn came. */
        c->writing_status = false;
        op_free(o);
        return;
    }
    if (err != NULL && err->code == TT_ECONFLICT && c->status_tries < STATUS_TRIES) {
        /* Someone changed the object since we read it: read it again, then try again. */
        s->stats.status_conflicts++;
        o->kind = OP_REREAD;
        object_path(s->informers[c->informer].kind, key, NULL, path, sizeof(path));
        o->req = NULL;
        if (tt_kube_request(s->kube, "GET", path, NULL, NULL, reread_done, o, &o->req, NULL) !=
            TT_OK) {
            c->writing_status = false;
            op_free(o);
        }
        return;
    }
    c->writing_status = false;
    if (err != NULL) {
        if (err->code == TT_ENOTFOUND) {
            op_free(o);
            return;
        }
        tt_log(TT_LOG_WARN, o->key, "kubernetes: cannot write status: %s", err->message);
        op_free(o);
        return; /* the next reconcile (the engine retries failures) asks again */
    }
    c->status_tries = 0;
    c->sent_status_fp = c->sending_fp;
    if (json_is_object(body)) {
        /* The answer is the newest version; the watch will bring it too, unchanged. */
        slim(body);
        cobj_store(c, body, false);
    }
    c->server_status_fp = c->status_fp;
    op_free(o);
    /* Done, unless the engine asked for another status meanwhile. */
    if (c->want_status != NULL && c->want_fp != c->sent_status_fp) {
        status_write(s, key);
        return;
    }
    want_clear(c);
}

/* The body of a status write, built when the request leaves the client's queue: the cached
 * object (its latest resourceVersion) with the status wanted at that moment. NULL when there is
 * nothing to write any more (the object is gone, the server has that status already, or this
 * replica stopped leading while the request waited). */
static json_t *status_body(void *ud)
{
    struct op *o = ud;
    tt_source_kube *s = o->s;
    struct cobj *c = tt_map_get(s->cache, o->key);
    json_t *body, *status;

    if (c == NULL || c->want_status == NULL || !tt_leader_is_leader(s->cfg.leader))
        return NULL;
    if (c->want_fp == c->status_fp) {
        want_clear(c);
        return NULL;
    }
    body = cobj_object(c);
    status = json_loads(c->want_status, 0, NULL);
    if (body == NULL || status == NULL || json_object_set_new(body, "status", status) != 0) {
        json_decref(body);
        return NULL;
    }
    c->sending_fp = c->want_fp;
    c->status_tries++;
    s->stats.status_writes++;
    return body;
}

/* Writes c->want_status through the status subresource with the cached resourceVersion. */
static void status_write(tt_source_kube *s, const char *key)
{
    struct cobj *c = tt_map_get(s->cache, key);
    struct op *o;
    char path[1200];
    tt_error err;

    if (c == NULL || c->want_status == NULL || c->writing_status)
        return;
    if (c->want_fp == c->status_fp) {
        want_clear(c);
        return;
    }
    if (!tt_leader_is_leader(s->cfg.leader))
        return; /* left to the leader, which writes what it finds */
    if ((o = op_new(s, OP_STATUS, key)) == NULL)
        return;
    object_path(s->informers[c->informer].kind, key, "/status", path, sizeof(path));
    c->writing_status = true;
    if (tt_kube_request_deferred(s->kube, "PUT", path, status_body, NULL, status_done, o, &o->req,
                                 &err) != TT_OK) {
        tt_log(TT_LOG_WARN, key, "kubernetes: cannot start a status write: %s", err.message);
        c->writing_status = false;
        op_free(o);
    }
}

static void sink_status(void *ud, const char *key, const json_t *status)
{
    tt_source_kube *s = ud;
    struct cobj *c = tt_map_get(s->cache, key);
    uint64_t want;

    if (c == NULL || status == NULL || (c->deleting && !c->finalized))
        return;
    want = json_hash(status);
    if (want == c->status_fp)
        return;
    /* Written already; the server kept only what its schema knows. Nothing new to say. */
    if (c->sent_status_fp != 0 && want == c->sent_status_fp && c->status_fp == c->server_status_fp)
        return;
    if (!want_set(c, status))
        return; /* out of memory: the next reconcile asks again */
    c->status_tries = 0;
    if (!c->writing_status)
        status_write(s, key);
}

/* ---- finalizers ---------------------------------------------------------------------------- */

static void finalizer_done(void *ud, long status, json_t *body, const tt_error *err)
{
    struct op *o = ud;
    tt_source_kube *s = o->s;
    struct cobj *c = tt_map_get(s->cache, o->key);
    bool add = o->kind == OP_FINALIZER_ADD;
    char *key = o->key;

    (void)status;
    o->key = NULL;
    op_free(o);
    if (c == NULL)
        goto out;
    if (add)
        c->adding_finalizer = false;
    else
        c->releasing = false;
    if (err != NULL) {
        if (err->code == TT_ENOTFOUND) {
            if (!add)
                cobj_gone(s, key);
            goto out;
        }
        /* A conflict or a failure: the watch brings the newest version, whose handling asks
         * again; a release is retried at once with what the cache holds then. */
        tt_log(err->code == TT_ECONFLICT ? TT_LOG_DEBUG : TT_LOG_WARN, key,
               "kubernetes: cannot %s the finalizer: %s", add ? "add" : "remove", err->message);
        if (!add && err->code == TT_ECONFLICT)
            finalizer_patch(s, key, false);
        goto out;
    }
    if (json_is_object(body))
        cobj_apply(s, c->informer, json_incref(body), false);
out:
    free(key);
}

/* Adds or removes trimtab's finalizer with a merge patch that carries the cached
 * resourceVersion, so a concurrent change makes it fail (409) rather than lose a finalizer. */
static void finalizer_patch(tt_source_kube *s, const char *key, bool add)
{
    struct cobj *c = tt_map_get(s->cache, key);
    json_t *fins, *patch, *cur, *obj;
    struct op *o;
    char path[1200];
    size_t i;

    if (c == NULL || (obj = cobj_object(c)) == NULL)
        return;
    fins = json_array();
    json_array_foreach(json_object_get(json_object_get(obj, "metadata"), "finalizers"), i, cur)
    {
        if (!tt_streq(json_string_value(cur), TT_KUBE_FINALIZER))
            json_array_append(fins, cur);
    }
    if (add)
        json_array_append_new(fins, json_string(TT_KUBE_FINALIZER));
    patch = json_pack("{s:{s:o,s:s}}", "metadata", "finalizers", fins, "resourceVersion",
                      or_empty(meta_str(obj, "resourceVersion")));
    json_decref(obj);
    o = op_new(s, add ? OP_FINALIZER_ADD : OP_FINALIZER_REMOVE, key);
    if (patch == NULL || o == NULL) {
        if (o != NULL)
            op_free(o);
        json_decref(patch);
        return;
    }
    object_path(s->informers[c->informer].kind, key, NULL, path, sizeof(path));
    if (add)
        c->adding_finalizer = true;
    else
        c->releasing = true;
    s->stats.finalizer_patches++;
    if (!op_start(o, "PATCH", path, patch, "application/merge-patch+json", finalizer_done)) {
        if (add)
            c->adding_finalizer = false;
        else
            c->releasing = false;
    }
    json_decref(patch);
}

static void sink_released(void *ud, const char *key)
{
    tt_source_kube *s = ud;
    struct cobj *c = tt_map_get(s->cache, key);

    if (c == NULL || !c->finalized || c->releasing)
        return;
    finalizer_patch(s, key, false);
}

/* ---- events ------------------------------------------------------------------------------- */

static void series_free(struct series *se)
{
    if (se == NULL)
        return;
    free(se->name);
    free(se->ns);
    free(se);
}

/* An Event created or its series updated. On failure the series is forgotten, so the next
 * occurrence creates a new Event instead of updating one the server does not have. */
static void event_done(void *ud, long status, json_t *body, const tt_error *err)
{
    struct op *o = ud;

    (void)status;
    (void)body;
    o->s->events_waiting--;
    if (err != NULL) {
        tt_log(TT_LOG_DEBUG, NULL, "kubernetes: cannot record an event: %s", err->message);
        struct series *se = o->key != NULL ? tt_map_get(o->s->series, o->key) : NULL;
        /* Marked, not removed: this may run inside the flush's walk over the map. */
        if (se != NULL)
            se->dead = true;
    }
    op_free(o);
}

/* Whether another event may go out now; counts (and logs once a spell) those dropped. */
static bool event_room(tt_source_kube *s)
{
    if (s->events_waiting < MAX_EVENTS_WAITING) {
        s->dropping_events = false;
        return true;
    }
    if (!s->dropping_events)
        tt_log(TT_LOG_WARN, NULL,
               "kubernetes: %d events wait for the API server; later ones are dropped until it "
               "catches up (the status and this log keep them)",
               MAX_EVENTS_WAITING);
    s->dropping_events = true;
    s->stats.events_dropped++;
    return false;
}

static void series_free_cb(void *ud, const char *key, void *value)
{
    (void)ud;
    (void)key;
    series_free(value);
}

/* Sends the series count of one Event when it has grown. */
static void series_patch(tt_source_kube *s, const char *skey, struct series *se)
{
    char path[700], now[40];
    json_t *patch;
    struct op *o;

    /* While the server is behind, the count waits: the timer sends it later. */
    if (se->count == se->posted || se->dead || s->events_waiting >= MAX_EVENTS_WAITING)
        return;
    tt_format_now(now, sizeof(now), 1);
    patch = json_pack("{s:{s:i,s:s}}", "series", "count", (int)se->count, "lastObservedTime", now);
    o = op_new(s, OP_EVENT, skey);
    if (patch == NULL || o == NULL) {
        if (o != NULL)
            op_free(o);
        json_decref(patch);
        return;
    }
    snprintf(path, sizeof(path), "/apis/events.k8s.io/v1/namespaces/%s/events/%s", se->ns,
             se->name);
    se->posted = se->count;
    se->last_patch = ev_now(s->loop);
    s->stats.events_updated++;
    if (op_start(o, "PATCH", path, patch, "application/merge-patch+json", event_done))
        s->events_waiting++;
    json_decref(patch);
}

static void series_flush_cb(void *ud, const char *key, void *value)
{
    series_patch(ud, key, value);
}

static void on_series_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    tt_source_kube *s = w->data;

    (void)loop;
    (void)revents;
    tt_map_foreach(s->series, series_flush_cb, s);
}

static void sink_event(void *ud, const char *key, const char *type, const char *reason,
                       const char *message)
{
    tt_source_kube *s = ud;
    struct cobj *c = tt_map_get(s->cache, key);
    char skey[2048], name[300], path[700], now[40], note[EVENT_NOTE_MAX + 1];
    struct series *se;
    json_t *ev = NULL, *obj = NULL;
    struct op *o;

    if (c == NULL)
        return;
    snprintf(note, sizeof(note), "%s", message);
    snprintf(skey, sizeof(skey), "%s\n%s\n%s\n%s", key, type, reason, note);
    se = tt_map_get(s->series, skey);
    if (se != NULL && se->dead) {
        series_free(tt_map_del(s->series, skey));
        se = NULL;
    }
    if (se != NULL) {
        /* A repeat: count it; the series goes out at most every event_interval. */
        se->count++;
        if (ev_now(s->loop) - se->last_patch >= s->cfg.event_interval)
            series_patch(s, skey, se);
        return;
    }
    if (!event_room(s))
        return; /* a new Event would be one more request */
    if (tt_map_len(s->series) >= MAX_SERIES) {
        tt_map_foreach(s->series, series_free_cb, NULL);
        tt_map_destroy(s->series);
        s->series = tt_map_create();
        if (s->series == NULL)
            return;
    }
    obj = cobj_object(c);
    if (obj == NULL)
        return;
    snprintf(name, sizeof(name), "%.200s.%016llx", meta_str(obj, "name"),
             (unsigned long long)(tt_hash64_str(skey) ^ (uint64_t)(ev_now(s->loop) * 1e6)));
    se = calloc(1, sizeof(*se));
    if (se == NULL || (se->name = strdup(name)) == NULL ||
        (se->ns = strdup(meta_str(obj, "namespace"))) == NULL ||
        tt_map_put(s->series, skey, se) == NULL) {
        series_free(se);
        goto out;
    }
    se->count = se->posted = 1;
    se->last_patch = ev_now(s->loop);
    tt_format_now(now, sizeof(now), 1);
    ev = json_pack("{s:s,s:s,s:{s:s,s:s},s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:{s:s,s:s,s:s,s:s,s:s,s:s}}",
                   "apiVersion", "events.k8s.io/v1", "kind", "Event", "metadata", "name", name,
                   "namespace", se->ns, "eventTime", now, "reportingController",
                   "trimtab.dev/trimtab", "reportingInstance", s->instance, "action", reason,
                   "reason", reason, "type", type, "note", note, "regarding", "apiVersion",
                   TT_API_VERSION, "kind",
                   or_empty(json_string_value(json_object_get(obj, "kind"))), "namespace", se->ns,
                   "name", meta_str(obj, "name"), "uid", or_empty(meta_str(obj, "uid")),
                   "resourceVersion", or_empty(meta_str(obj, "resourceVersion")));
    o = op_new(s, OP_EVENT, skey);
    if (ev == NULL || o == NULL) {
        if (o != NULL)
            op_free(o);
        goto out;
    }
    snprintf(path, sizeof(path), "/apis/events.k8s.io/v1/namespaces/%s/events", se->ns);
    s->stats.events_created++;
    if (op_start(o, "POST", path, ev, NULL, event_done))
        s->events_waiting++;
out:
    json_decref(ev);
    json_decref(obj);
}

void tt_source_kube_rebuild(void *source, const char *const *keys, size_t n, tt_resource **out)
{
    tt_source_kube *s = source;

    for (size_t i = 0; i < n; i++) {
        struct cobj *c = tt_map_get(s->cache, keys[i]);
        tt_doc_src src = {0};
        tt_diags *diags;
        json_t *obj;

        out[i] = NULL;
        /* Only what the engine has: delivered, and neither changed nor deleted since. */
        if (c == NULL || !c->delivered || c->removal_sent || c->text == NULL)
            continue;
        obj = json_loads(c->text, 0, NULL);
        diags = tt_diags_create();
        src.file = "";
        if (obj != NULL && diags != NULL && tt_source_kube_fingerprint(obj) == c->fp)
            tt_model_from_json(obj, &src, diags, &out[i]);
        tt_diags_destroy(diags);
        json_decref(obj);
    }
    s->stats.rebuilds++;
}

const tt_source_sink tt_source_kube_sink = {
    .status = sink_status,
    .event = sink_event,
    .released = sink_released,
};

/* ---- life cycle ------------------------------------------------------------------------- */

tt_source_kube *tt_source_kube_create(struct ev_loop *loop, struct tt_kube *kube,
                                      const tt_source_kube_config *cfg,
                                      const tt_source_handler *handler, void *ud, tt_error *err)
{
    tt_source_kube *s = calloc(1, sizeof(*s));
    size_t nns = cfg->nnamespaces;

    if (s == NULL) {
        tt_error_set(err, TT_ENOMEM, "out of memory");
        return NULL;
    }
    s->loop = loop;
    s->kube = kube;
    s->cfg = *cfg;
    s->h = handler;
    s->ud = ud;
    if (s->cfg.backoff_min <= 0)
        s->cfg.backoff_min = 0.5;
    if (s->cfg.backoff_max <= 0)
        s->cfg.backoff_max = 30;
    if (s->cfg.event_interval <= 0)
        s->cfg.event_interval = 10;
    if (cfg->instance != NULL)
        snprintf(s->instance, sizeof(s->instance), "%s", cfg->instance);
    else if (gethostname(s->instance, sizeof(s->instance) - 1) != 0)
        snprintf(s->instance, sizeof(s->instance), "trimtab");
    s->cache = tt_map_create();
    s->series = tt_map_create();
    s->ninformers = (size_t)TT_KIND_COUNT * (nns > 0 ? nns : 1);
    s->informers = calloc(s->ninformers, sizeof(*s->informers));
    s->namespaces = calloc(nns + 1, sizeof(char *));
    if (s->cache == NULL || s->series == NULL || s->informers == NULL || s->namespaces == NULL)
        goto nomem;
    for (size_t i = 0; i < nns; i++) {
        if ((s->namespaces[i] = strdup(cfg->namespaces[i])) == NULL)
            goto nomem;
    }
    s->cfg.namespaces = (const char *const *)s->namespaces;
    for (size_t i = 0; i < s->ninformers; i++) {
        struct informer *inf = &s->informers[i];
        size_t n;
        inf->s = s;
        inf->kind = (tt_kind)(i % TT_KIND_COUNT);
        n = strlen(API_PREFIX) + 300;
        if ((inf->base = malloc(n)) == NULL)
            goto nomem;
        if (nns > 0)
            snprintf(inf->base, n, API_PREFIX "/namespaces/%s/%s", s->namespaces[i / TT_KIND_COUNT],
                     tt_kind_plural(inf->kind));
        else
            snprintf(inf->base, n, API_PREFIX "/%s", tt_kind_plural(inf->kind));
        ev_timer_init(&inf->backoff, on_backoff, 0, 0);
        inf->backoff.data = inf;
    }
    ev_timer_init(&s->series_timer, on_series_timer, s->cfg.event_interval, s->cfg.event_interval);
    s->series_timer.data = s;
    return s;
nomem:
    tt_error_set(err, TT_ENOMEM, "out of memory");
    tt_source_kube_destroy(s);
    return NULL;
}

tt_code tt_source_kube_start(tt_source_kube *s, tt_error *err)
{
    (void)err;
    s->started = true;
    ev_timer_start(s->loop, &s->series_timer);
    for (size_t i = 0; i < s->ninformers; i++)
        inf_start(&s->informers[i]);
    return TT_OK;
}

void tt_source_kube_stop(tt_source_kube *s)
{
    if (s == NULL || s->stopped)
        return;
    s->stopped = true;
    for (size_t i = 0; i < s->ninformers; i++) {
        struct informer *inf = &s->informers[i];
        tt_kube_cancel(inf->req);
        inf->req = NULL;
        ev_timer_stop(s->loop, &inf->backoff);
    }
}

static void lead_collect(void *ud, const char *key, void *value)
{
    (void)value;
    sweep_add(ud, key);
}

void tt_source_kube_lead(tt_source_kube *s)
{
    struct sweep w = {s, 0, 0, NULL, 0, 0};

    /* Keys first: handling an object may change the cache. */
    tt_map_foreach(s->cache, lead_collect, &w);
    for (size_t i = 0; i < w.n; i++) {
        struct cobj *c = tt_map_get(s->cache, w.keys[i]);
        json_t *obj = c != NULL ? cobj_object(c) : NULL;
        if (obj != NULL) {
            /* A deletion the previous leader may not have finished: the engine sees it anew
             * and releases the finalizer once nothing is left in AWS. */
            if (c->deleting && c->finalized && !c->releasing) {
                c->delivered = false;
                c->removal_sent = false;
            }
            cobj_apply(s, c->informer, obj, true);
            c = tt_map_get(s->cache, w.keys[i]);
            if (c != NULL && c->want_status != NULL && !c->writing_status)
                status_write(s, w.keys[i]);
        }
        free(w.keys[i]);
    }
    free(w.keys);
}

static void cache_free_cb(void *ud, const char *key, void *value)
{
    (void)ud;
    (void)key;
    cobj_free(value);
}

void tt_source_kube_destroy(tt_source_kube *s)
{
    if (s == NULL)
        return;
    if (s->informers != NULL)
        tt_source_kube_stop(s);
    while (s->ops != NULL) {
        tt_kube_cancel(s->ops->req);
        op_free(s->ops);
    }
    ev_timer_stop(s->loop, &s->series_timer);
    for (size_t i = 0; s->informers != NULL && i < s->ninformers; i++)
        free(s->informers[i].base);
    free(s->informers);
    for (size_t i = 0; s->namespaces != NULL && s->namespaces[i] != NULL; i++)
        free(s->namespaces[i]);
    free(s->namespaces);
    if (s->cache != NULL)
        tt_map_foreach(s->cache, cache_free_cb, NULL);
    tt_map_destroy(s->cache);
    if (s->series != NULL)
        tt_map_foreach(s->series, series_free_cb, NULL);
    tt_map_destroy(s->series);
    free(s);
}

void tt_source_kube_stats_get(const tt_source_kube *s, tt_source_kube_stats *st)
{
    *st = s->stats;
}
