/* pipe2 and execvpe are GNU extensions. */
#define _GNU_SOURCE
#include "tt_kube.h"

#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tt_buf.h"
#include "tt_http.h"
#include "tt_json.h"
#include "tt_kube_config.h"
#include "tt_kube_lines.h"
#include "tt_log.h"
#include "tt_str.h"
#include "tt_version.h"

#define EXEC_TIMEOUT       60.0
#define EXEC_MAX_OUTPUT    (1024u * 1024)
#define EXPIRY_MARGIN      10.0 /* run the plugin again this long before the token expires */
#define REQUEST_TIMEOUT_MS 30000L
#define MAX_RESPONSE       (64u * 1024 * 1024) /* a list of 10,000 objects fits */
/* Client-side rate limit, as client-go's (controller-runtime raises its 5/10 to 20/30; a
 * reconciler of thousands of objects writing status wants more, an API server no burst of
 * hundreds of connections at once). */
#define DEFAULT_QPS   50.0
#define DEFAULT_BURST 100.0
/* Requests (watches apart) on the wire at once. A slow API server answering 50 a second late
 * would otherwise gather hundreds, each holding a connection (HTTP/1.1), TLS state and
 * buffers; the rest wait in the rate limiter's queue, which holds only their request. */
#define MAX_RUNNING 32

extern char **environ;

enum req_state { REQ_WAITING_AUTH, REQ_WAITING_RATE, REQ_RUNNING };

struct tt_kube_req {
    tt_kube *k;
    enum req_state state;
    char *method;
    char *url;
    char *body; /* serialised, owned; sent as is */
    size_t body_len;
    tt_kube_body_fn body_fn; /* builds `body` when the request leaves the queue, or NULL */
    char *content_type;
    tt_kube_cb cb;
    tt_kube_event_fn on_event; /* watches only */
    void *ud;
    tt_http_xfer *xfer;
    tt_kube_lines lines;
    int stop;    /* on_event asked to stop */
    int retried; /* a 401 was retried once with a fresh credential */
    int running; /* counted in k->running */
    tt_kube_req *prev, *next;
    tt_kube_req *qnext; /* the rate limiter's queue, in arrival order */
};

struct exec_run {
    pid_t pid;
    int fd;
    ev_io io;
    ev_child child;
    ev_timer timer;
    tt_buf out;
    int eof, exited, status;
};

struct tt_kube {
    struct ev_loop *loop;
    tt_http *http;
    tt_kube_config *cfg;
    tt_kube_req *reqs; /* every request, waiting or running */
    tt_kube_stats stats;
    /* the token file's content and what it was read from */
    char *file_token;
    struct timespec file_mtime;
    off_t file_size;
    ino_t file_ino;
    /* the exec plugin */
    tt_kube_cred cred;
    struct exec_run *run; /* the plugin running now, or NULL */
    /* the rate limiter: a token bucket, and the requests waiting for a token */
    double tokens, refilled_at;
    tt_kube_req *qhead, *qtail;
    ev_timer rate_timer;
    int running;          /* requests on the wire, watches apart (at most MAX_RUNNING) */
    char user_agent[300]; /* the whole header */
};

/* ---- time and credentials ----------------------------------------------------------------- */

void tt_kube_cred_cleanup(tt_kube_cred *cred)
{
    if (cred->token != NULL)
        OPENSSL_cleanse(cred->token, strlen(cred->token));
    free(cred->token);
    if (cred->key_pem != NULL)
        OPENSSL_cleanse(cred->key_pem, strlen(cred->key_pem));
    free(cred->key_pem);
    free(cred->cert_pem);
    memset(cred, 0, sizeof(*cred));
}

int tt_kube_cred_usable(const tt_kube_cred *cred, double now)
{
    if (cred->token == NULL && cred->cert_pem == NULL)
        return 0;
    return cred->expires == 0 || now + EXPIRY_MARGIN < cred->expires;
}

tt_code tt_kube_cred_parse(const char *out, size_t len, const char *api_version, tt_kube_cred *cred,
                           tt_error *err)
{
    json_error_t jerr;
    json_t *doc = json_loadb(out, len, 0, &jerr), *st;
    const char *tok, *cert, *key, *exp, *kind, *api;
    tt_code rc = TT_EPARSE;

    memset(cred, 0, sizeof(*cred));
    if (doc == NULL) {
        /* jerr.text may quote the input, which may hold a token: say only where it broke. */
        return tt_error_set(err, TT_EPARSE,
                            "the exec plugin's output is not JSON (line %d, column %d)", jerr.line,
                            jerr.column);
    }
    kind = json_string_value(json_object_get(doc, "kind"));
    api = json_string_value(json_object_get(doc, "apiVersion"));
    st = json_object_get(doc, "status");
    if (kind == NULL || strcmp(kind, "ExecCredential") != 0) {
        tt_error_set(err, rc, "the exec plugin's output is not an ExecCredential");
        goto out;
    }
    if (api_version != NULL && (api == NULL || strcmp(api, api_version) != 0)) {
        tt_error_set(err, rc, "the exec plugin answered with apiVersion %s, not %s",
                     api != NULL ? api : "(none)", api_version);
        goto out;
    }
    if (!json_is_object(st)) {
        tt_error_set(err, rc, "the exec plugin's ExecCredential has no status");
        goto out;
    }
    tok = json_string_value(json_object_get(st, "token"));
    cert = json_string_value(json_object_get(st, "clientCertificateData"));
    key = json_string_value(json_object_get(st, "clientKeyData"));
    exp = json_string_value(json_object_get(st, "expirationTimestamp"));
    if ((tok == NULL || tok[0] == '\0') && (cert == NULL || key == NULL)) {
        tt_error_set(err, rc,
                     "the exec plugin's ExecCredential holds neither a token nor a client "
                     "certificate and key");
        goto out;
    }
    if ((cert == NULL) != (key == NULL)) {
        tt_error_set(err, rc, "the exec plugin gave a client certificate without its key");
        goto out;
    }
    if (exp != NULL && tt_parse_iso8601(exp, &cred->expires) != 0) {
        cred->expires = 0;
        tt_error_set(err, rc, "the exec plugin's expirationTimestamp '%s' is not an RFC 3339 time",
                     exp);
        goto out;
    }
    rc = TT_ENOMEM;
    if (tok != NULL && tok[0] != '\0' && (cred->token = strdup(tok)) == NULL)
        goto nomem;
    if (cert != NULL &&
        ((cred->cert_pem = strdup(cert)) == NULL || (cred->key_pem = strdup(key)) == NULL))
        goto nomem;
    rc = TT_OK;
    goto out;
nomem:
    tt_error_set(err, rc, "out of memory");
out:
    if (rc != TT_OK)
        tt_kube_cred_cleanup(cred);
    json_decref(doc);
    return rc;
}

/* ---- the token file --------------------------------------------------------------------- */

/* The token of the token file, read again when the file changed (new inode, size or mtime),
 * as a projected service-account token is swapped in by the kubelet. NULL when unreadable. */
static const char *file_token(tt_kube *k)
{
    struct stat st;
    char *data = NULL;
    size_t len = 0;
    tt_error err;

    if (stat(k->cfg->token_file, &st) != 0) {
        if (k->file_token == NULL)
            tt_log(TT_LOG_WARN, NULL, "kubernetes: cannot read the token file %s: %s",
                   k->cfg->token_file, strerror(errno));
        return k->file_token;
    }
    if (k->file_token != NULL && st.st_ino == k->file_ino && st.st_size == k->file_size &&
        st.st_mtim.tv_sec == k->file_mtime.tv_sec && st.st_mtim.tv_nsec == k->file_mtime.tv_nsec)
        return k->file_token;
    if (tt_kube_read_file(k->cfg->token_file, &data, &len, &err) != TT_OK) {
        tt_log(TT_LOG_WARN, NULL, "kubernetes: %s", err.message);
        return k->file_token;
    }
    while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r' || data[len - 1] == ' '))
        data[--len] = '\0';
    if (k->file_token != NULL)
        OPENSSL_cleanse(k->file_token, strlen(k->file_token));
    free(k->file_token);
    k->file_token = data;
    k->file_ino = st.st_ino;
    k->file_size = st.st_size;
    k->file_mtime = st.st_mtim;
    k->stats.token_reads++;
    return k->file_token;
}

/* ---- requests ------------------------------------------------------------------------------ */

static void req_unlink(tt_kube_req *r)
{
    tt_kube *k = r->k;

    if (r->prev != NULL)
        r->prev->next = r->next;
    else if (k->reqs == r)
        k->reqs = r->next;
    if (r->next != NULL)
        r->next->prev = r->prev;
    r->prev = r->next = NULL;
}

static void rate_unqueue(tt_kube_req *r)
{
    tt_kube *k = r->k;
    tt_kube_req **pp = &k->qhead, *prev = NULL;

    while (*pp != NULL && *pp != r) {
        prev = *pp;
        pp = &(*pp)->qnext;
    }
    if (*pp == NULL)
        return;
    *pp = r->qnext;
    if (k->qtail == r)
        k->qtail = prev;
    r->qnext = NULL;
}

/* Gives r's place on the wire (MAX_RUNNING) to the first in the queue, from the loop. */
static void give_place(tt_kube_req *r)
{
    tt_kube *k = r->k;

    if (!r->running)
        return;
    r->running = 0;
    k->running--;
    if (k->qhead != NULL && !ev_is_active(&k->rate_timer)) {
        ev_timer_set(&k->rate_timer, 0, 0);
        ev_timer_start(k->loop, &k->rate_timer);
    }
}

static void req_free(tt_kube_req *r)
{
    if (r == NULL)
        return;
    if (r->state == REQ_WAITING_RATE)
        rate_unqueue(r);
    give_place(r);
    req_unlink(r);
    if (r->xfer != NULL)
        tt_http_cancel(r->xfer);
    tt_kube_lines_cleanup(&r->lines);
    free(r->method);
    free(r->url);
    free(r->body);
    free(r->content_type);
    free(r);
}

/* Fills `err` from a non-2xx response: the Status document's reason and message. */
static void status_error(long status, const json_t *body, tt_error *err)
{
    const char *reason = json_string_value(json_object_get(body, "reason"));
    const char *msg = json_string_value(json_object_get(body, "message"));
    tt_code code;

    switch (status) {
    case 401:
    case 403:
        code = TT_EACCESS;
        break;
    case 404:
        code = TT_ENOTFOUND;
        break;
    case 409:
    case 410:
        code = TT_ECONFLICT;
        break;
    case 400:
    case 422:
        code = TT_EINVAL;
        break;
    case 429:
        code = TT_ETHROTTLED;
        break;
    default:
        code = status >= 500 ? TT_EUNAVAILABLE : TT_EINVAL;
    }
    tt_error_set(err, code, "the Kubernetes API answered %ld%s%s%s%s", status,
                 reason != NULL ? " " : "", reason != NULL ? reason : "", msg != NULL ? ": " : "",
                 msg != NULL ? msg : "");
    err->http_status = (int)status;
    snprintf(err->service_code, sizeof(err->service_code), "%s", reason != NULL ? reason : "");
}

static void launch(tt_kube_req *r);
static void dispatch(tt_kube_req *r);
static tt_code exec_start(tt_kube *k, tt_error *err);

/* Sends every request that waited for a credential, or fails them all with `err`. Requests
 * are marked first, and the list is scanned again after every callback: a callback may start
 * new requests (which wait for their own turn) or cancel others. */
#define REQ_RELEASING ((enum req_state)(REQ_RUNNING + 1))
static void release_waiting(tt_kube *k, const tt_error *err)
{
    tt_kube_req *r;

    for (r = k->reqs; r != NULL; r = r->next) {
        if (r->state == REQ_WAITING_AUTH)
            r->state = REQ_RELEASING;
    }
    for (;;) {
        for (r = k->reqs; r != NULL && r->state != REQ_RELEASING; r = r->next)
            ;
        if (r == NULL)
            return;
        if (err != NULL) {
            tt_kube_cb cb = r->cb;
            void *ud = r->ud;
            req_free(r);
            cb(ud, 0, NULL, err);
        } else {
            dispatch(r);
        }
    }
}

/* Queues `r` until the exec plugin has produced a credential. */
static tt_code wait_for_credential(tt_kube_req *r, tt_error *err)
{
    r->state = REQ_WAITING_AUTH;
    if (r->k->run != NULL)
        return TT_OK;
    return exec_start(r->k, err);
}

static void http_done(void *ud, const tt_http_response *resp, const tt_error *herr, int timed_out)
{
    tt_kube_req *r = ud;
    tt_kube *k = r->k;
    tt_kube_cb cb = r->cb;
    void *cbud = r->ud;
    json_t *body = NULL;
    tt_error err;
    const tt_error *perr = NULL;
    long status = resp != NULL ? resp->status : 0;

    (void)timed_out;
    r->xfer = NULL; /* the transfer frees itself after this callback */
    tt_error_clear(&err);
    if (resp != NULL && resp->body.len > 0)
        body = json_loadb(resp->body.data, resp->body.len, 0, NULL);
    if (status == 401 && !r->retried && (k->cfg->exec != NULL || k->cfg->token_file != NULL)) {
        /* The credential went stale before we knew: get a fresh one and try once more. */
        r->retried = 1;
        json_decref(body);
        if (k->cfg->exec != NULL) {
            /* It waits for the plugin off the wire, so its place is not held meanwhile. */
            give_place(r);
            tt_kube_cred_cleanup(&k->cred);
            if (wait_for_credential(r, &err) == TT_OK)
                return;
            perr = &err;
            goto done;
        }
        k->file_mtime.tv_sec = 0; /* force a re-read */
        k->file_mtime.tv_nsec = -1;
        launch(r);
        return;
    }
    if (herr != NULL) {
        err = *herr;
        perr = &err;
    } else if (status != 0 && (status < 200 || status > 299)) {
        status_error(status, body, &err);
        perr = &err;
    }
done:
    req_free(r);
    cb(cbud, status, body, perr);
    json_decref(body);
}

/* A watch line: one event. */
static int watch_line(void *ud, char *line, size_t len)
{
    tt_kube_req *r = ud;
    json_t *ev = json_loadb(line, len, 0, NULL);
    const char *type = json_string_value(json_object_get(ev, "type"));
    json_t *obj = json_object_get(ev, "object");
    int rc = 0;

    if (type == NULL || !json_is_object(obj)) {
        tt_log(TT_LOG_WARN, NULL, "kubernetes: a watch line is not an event; restarting it");
        rc = 1;
    } else if (r->on_event(r->ud, type, obj) != 0) {
        rc = 1;
    }
    json_decref(ev);
    return rc;
}

static int watch_data(void *ud, const char *data, size_t len)
{
    tt_kube_req *r = ud;
    tt_code code;
    int rc = tt_kube_lines_feed(&r->lines, data, len, watch_line, r, &code);

    if (rc != 0) {
        r->stop = 1;
        if (rc < 0)
            tt_log(TT_LOG_WARN, NULL, "kubernetes: watch stream stopped: %s",
                   code == TT_ELIMIT ? "a line exceeds the cap" : "out of memory");
    }
    return rc;
}

/* Builds a deferred request's body; 0 when the request ended instead (freed, its callback
 * called: nothing left to send, or out of memory). */
static int build_body(tt_kube_req *r)
{
    json_t *body = r->body_fn(r->ud);
    tt_kube_cb cb = r->cb;
    void *ud = r->ud;
    tt_error err;

    r->body_fn = NULL; /* built once: a retry after a 401 sends the same body */
    if (body != NULL && (r->body = tt_json_dumps(body, JSON_COMPACT)) != NULL) {
        r->body_len = strlen(r->body);
        json_decref(body);
        return 1;
    }
    if (body != NULL)
        tt_error_set(&err, TT_ENOMEM, "out of memory");
    else
        tt_error_set(&err, TT_ECANCELLED, "nothing left to send");
    json_decref(body);
    r->k->tokens += 1; /* nothing went out: the rate limiter's token is not spent */
    req_free(r);
    cb(ud, 0, NULL, &err);
    return 0;
}

static void launch(tt_kube_req *r)
{
    tt_kube *k = r->k;
    char auth[8192 + 32], ctype[200];
    const char *headers[5];
    const char *token = NULL;
    size_t nh = 0;
    tt_http_request hr = {0};
    tt_error err;

    if (r->body_fn != NULL && !build_body(r))
        return;
    r->state = REQ_RUNNING;
    if (r->on_event == NULL && !r->running) {
        r->running = 1;
        k->running++;
        if ((uint64_t)k->running > k->stats.max_running)
            k->stats.max_running = (uint64_t)k->running;
    }
    if (k->cfg->exec != NULL)
        token = k->cred.token;
    if (token == NULL && k->cfg->token_file != NULL)
        token = file_token(k);
    if (token == NULL)
        token = k->cfg->token;
    headers[nh++] = "Accept: application/json";
    headers[nh++] = k->user_agent;
    if (token != NULL) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
        headers[nh++] = auth;
    }
    if (r->body != NULL) {
        snprintf(ctype, sizeof(ctype), "Content-Type: %s",
                 r->content_type != NULL ? r->content_type : "application/json");
        headers[nh++] = ctype;
    }
    hr.method = r->method;
    hr.url = r->url;
    hr.headers = headers;
    hr.nheaders = nh;
    hr.body = r->body;
    hr.body_len = r->body_len;
    hr.timeout_ms = r->on_event != NULL ? -1 : REQUEST_TIMEOUT_MS;
    hr.max_response = MAX_RESPONSE;
    hr.ca_pem = k->cfg->ca_pem;
    hr.ca_pem_len = k->cfg->ca_pem_len;
    if (k->cfg->cert_pem != NULL) {
        hr.cert_pem = k->cfg->cert_pem;
        hr.cert_pem_len = k->cfg->cert_pem_len;
        hr.key_pem = k->cfg->key_pem;
        hr.key_pem_len = k->cfg->key_pem_len;
    } else if (k->cred.cert_pem != NULL) {
        hr.cert_pem = k->cred.cert_pem;
        hr.cert_pem_len = strlen(k->cred.cert_pem);
        hr.key_pem = k->cred.key_pem;
        hr.key_pem_len = strlen(k->cred.key_pem);
    }
    if (r->on_event != NULL) {
        hr.on_data = watch_data;
        tt_kube_lines_reset(&r->lines);
    }
    k->stats.requests++;
    if (tt_http_start(k->http, &hr, http_done, r, &r->xfer, &err) != TT_OK) {
        tt_kube_cb cb = r->cb;
        void *ud = r->ud;
        r->xfer = NULL;
        req_free(r);
        cb(ud, 0, NULL, &err);
    }
    OPENSSL_cleanse(auth, sizeof(auth));
}

/* ---- the rate limiter ------------------------------------------------------------------- */

static void refill(tt_kube *k)
{
    double now = ev_now(k->loop);

    k->tokens += (now - k->refilled_at) * DEFAULT_QPS;
    if (k->tokens > DEFAULT_BURST)
        k->tokens = DEFAULT_BURST;
    k->refilled_at = now;
}

/* Whether `r` must wait for a place: a watch never does (it lasts as long as the stream). */
static int full(const tt_kube *k, const tt_kube_req *r)
{
    return r->on_event == NULL && k->running >= MAX_RUNNING;
}

/* Sends the queued requests the bucket allows, and sets the timer for the next one. */
static void rate_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    tt_kube *k = w->data;

    (void)loop;
    (void)revents;
    refill(k);
    while (k->qhead != NULL && k->tokens >= 1 && !full(k, k->qhead)) {
        tt_kube_req *r = k->qhead;
        k->qhead = r->qnext;
        if (k->qhead == NULL)
            k->qtail = NULL;
        r->qnext = NULL;
        k->tokens -= 1;
        launch(r);
    }
    /* Blocked by MAX_RUNNING rather than the bucket: the next request to end restarts it. */
    if (k->qhead != NULL && !full(k, k->qhead)) {
        ev_timer_set(&k->rate_timer, (1 - k->tokens) / DEFAULT_QPS, 0);
        ev_timer_start(k->loop, &k->rate_timer);
    }
}

/* Sends `r` now when the bucket has a token, else queues it behind the others. */
static void dispatch(tt_kube_req *r)
{
    tt_kube *k = r->k;

    refill(k);
    /* A deferred body is built from the loop: its callback may run, and must not run inside
     * the call that asked for it. */
    if (k->qhead == NULL && k->tokens >= 1 && !full(k, r) && r->body_fn == NULL) {
        k->tokens -= 1;
        launch(r);
        return;
    }
    r->state = REQ_WAITING_RATE;
    if (k->qtail != NULL)
        k->qtail->qnext = r;
    else
        k->qhead = r;
    k->qtail = r;
    if (!ev_is_active(&k->rate_timer)) {
        ev_timer_set(&k->rate_timer, k->tokens >= 1 ? 0 : (1 - k->tokens) / DEFAULT_QPS, 0);
        ev_timer_start(k->loop, &k->rate_timer);
    }
}

static tt_code req_new(tt_kube *k, const char *method, const char *path, const json_t *body,
                       tt_kube_body_fn body_fn, const char *content_type, tt_kube_cb cb,
                       tt_kube_event_fn on_event, void *ud, tt_kube_req **out, tt_error *err)
{
    tt_kube_req *r = calloc(1, sizeof(*r));
    size_t n;

    *out = NULL;
    if (r == NULL)
        return tt_error_set(err, TT_ENOMEM, "out of memory");
    r->k = k;
    r->cb = cb;
    r->body_fn = body_fn;
    r->on_event = on_event;
    r->ud = ud;
    tt_kube_lines_init(&r->lines, 0);
    n = strlen(k->cfg->server) + strlen(path) + 1;
    if ((r->method = strdup(method)) == NULL || (r->url = malloc(n)) == NULL ||
        (content_type != NULL && (r->content_type = strdup(content_type)) == NULL))
        goto nomem;
    snprintf(r->url, n, "%s%s", k->cfg->server, path);
    if (body != NULL) {
        if ((r->body = tt_json_dumps(body, JSON_COMPACT)) == NULL)
            goto nomem;
        r->body_len = strlen(r->body);
    }
    r->next = k->reqs;
    if (k->reqs != NULL)
        k->reqs->prev = r;
    k->reqs = r;
    *out = r;
    return TT_OK;
nomem:
    req_free(r);
    return tt_error_set(err, TT_ENOMEM, "out of memory");
}

/* Sends `r` now, or once the exec plugin has produced a credential. On failure `r` is freed
 * and its callback will not run. */
static tt_code submit(tt_kube_req *r, tt_error *err)
{
    tt_kube *k = r->k;

    /* Expiry is wall-clock time (an RFC 3339 timestamp), so it is compared with time(). */
    if (k->cfg->exec != NULL && !tt_kube_cred_usable(&k->cred, (double)time(NULL))) {
        tt_kube_cred_cleanup(&k->cred);
        if (wait_for_credential(r, err) != TT_OK) {
            tt_code rc = err != NULL ? err->code : TT_EIO;
            req_free(r);
            return rc;
        }
        return TT_OK;
    }
    dispatch(r);
    return TT_OK;
}

/* Submits a request req_new made (`rc` is its result), telling the caller its handle. */
static tt_code start(tt_code rc, tt_kube_req *r, tt_kube_req **out, tt_error *err)
{
    if (rc != TT_OK)
        return rc;
    if (out != NULL)
        *out = r;
    rc = submit(r, err);
    if (rc != TT_OK && out != NULL)
        *out = NULL;
    return rc;
}

tt_code tt_kube_request(tt_kube *k, const char *method, const char *path, const json_t *body,
                        const char *content_type, tt_kube_cb cb, void *ud, tt_kube_req **out,
                        tt_error *err)
{
    tt_kube_req *r = NULL;
    tt_code rc = req_new(k, method, path, body, NULL, content_type, cb, NULL, ud, &r, err);

    return start(rc, r, out, err);
}

tt_code tt_kube_request_deferred(tt_kube *k, const char *method, const char *path,
                                 tt_kube_body_fn body, const char *content_type, tt_kube_cb cb,
                                 void *ud, tt_kube_req **out, tt_error *err)
{
    tt_kube_req *r = NULL;
    tt_code rc = req_new(k, method, path, NULL, body, content_type, cb, NULL, ud, &r, err);

    return start(rc, r, out, err);
}

tt_code tt_kube_watch(tt_kube *k, const char *path, tt_kube_event_fn on_event, tt_kube_cb cb,
                      void *ud, tt_kube_req **out, tt_error *err)
{
    tt_kube_req *r = NULL;
    tt_code rc = req_new(k, "GET", path, NULL, NULL, NULL, cb, on_event, ud, &r, err);

    if (rc == TT_OK)
        k->stats.watches++;
    return start(rc, r, out, err);
}

void tt_kube_cancel(tt_kube_req *r)
{
    req_free(r);
}

/* ---- the exec plugin ------------------------------------------------------------------------ */

static void exec_free(tt_kube *k)
{
    struct exec_run *x = k->run;

    if (x == NULL)
        return;
    ev_io_stop(k->loop, &x->io);
    ev_child_stop(k->loop, &x->child);
    ev_timer_stop(k->loop, &x->timer);
    if (x->fd >= 0)
        close(x->fd);
    if (!x->exited && x->pid > 0) {
        kill(x->pid, SIGKILL);
        waitpid(x->pid, NULL, 0); /* immediate after SIGKILL; no zombie left behind */
    }
    OPENSSL_cleanse(x->out.data, x->out.len);
    tt_buf_cleanup(&x->out);
    free(x);
    k->run = NULL;
}

/* Both the output's end and the exit have been seen: parse, then release the waiting. */
static void exec_finish(tt_kube *k)
{
    struct exec_run *x = k->run;
    tt_error err;
    const tt_error *perr = NULL;
    tt_kube_cred cred;

    tt_error_clear(&err);
    if (!WIFEXITED(x->status) || WEXITSTATUS(x->status) != 0) {
        tt_error_set(&err, TT_ECREDENTIALS,
                     "the exec credential plugin %s failed (%s %d); run it by hand to see why",
                     k->cfg->exec->command, WIFEXITED(x->status) ? "exit status" : "signal",
                     WIFEXITED(x->status) ? WEXITSTATUS(x->status) : WTERMSIG(x->status));
        perr = &err;
    } else if (tt_kube_cred_parse(x->out.data != NULL ? x->out.data : "", x->out.len,
                                  k->cfg->exec->api_version, &cred, &err) != TT_OK) {
        err.code = TT_ECREDENTIALS;
        perr = &err;
    } else {
        tt_kube_cred_cleanup(&k->cred);
        k->cred = cred;
        tt_log(TT_LOG_DEBUG, NULL, "kubernetes: exec credential obtained%s",
               cred.expires > 0 ? " (it expires)" : "");
    }
    exec_free(k);
    release_waiting(k, perr);
}

static void exec_io(struct ev_loop *loop, ev_io *w, int revents)
{
    tt_kube *k = w->data;
    struct exec_run *x = k->run;
    char buf[4096];
    ssize_t n;

    (void)loop;
    (void)revents;
    for (;;) {
        n = read(x->fd, buf, sizeof(buf));
        if (n > 0) {
            if (x->out.len + (size_t)n > EXEC_MAX_OUTPUT ||
                tt_buf_append(&x->out, buf, (size_t)n) != TT_OK) {
                kill(x->pid, SIGKILL);
                n = 0;
            } else {
                continue;
            }
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        break;
    }
    ev_io_stop(k->loop, &x->io);
    close(x->fd);
    x->fd = -1;
    x->eof = 1;
    if (x->exited)
        exec_finish(k);
}

static void exec_child(struct ev_loop *loop, ev_child *w, int revents)
{
    tt_kube *k = w->data;
    struct exec_run *x = k->run;

    (void)loop;
    (void)revents;
    ev_child_stop(k->loop, &x->child);
    x->exited = 1;
    x->status = w->rstatus;
    if (x->eof)
        exec_finish(k);
}

static void exec_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
    tt_kube *k = w->data;

    (void)loop;
    (void)revents;
    tt_log(TT_LOG_WARN, NULL, "kubernetes: the exec credential plugin ran for %.0f s; killing it",
           EXEC_TIMEOUT);
    kill(k->run->pid, SIGKILL);
}

/* Starts the plugin. Its standard output comes back through a non-blocking pipe on the loop,
 * its exit through an ev_child: the loop never waits for it. */
static tt_code exec_start(tt_kube *k, tt_error *err)
{
    const tt_kube_exec *ex = k->cfg->exec;
    struct exec_run *x = calloc(1, sizeof(*x));
    int fds[2] = {-1, -1};
    size_t nargs = 0, nenv = 0, nown = 0;
    char **argv = NULL, **envp = NULL;
    char info[256];
    tt_code rc = TT_ENOMEM;

    if (x == NULL)
        return tt_error_set(err, TT_ENOMEM, "out of memory");
    x->fd = -1;
    tt_buf_init(&x->out);
    while (ex->args[nargs] != NULL)
        nargs++;
    while (environ[nenv] != NULL)
        nenv++;
    while (ex->env[nown] != NULL)
        nown++;
    argv = calloc(nargs + 2, sizeof(*argv));
    envp = calloc(nenv + nown + 2, sizeof(*envp));
    if (argv == NULL || envp == NULL)
        goto fail;
    argv[0] = ex->command;
    for (size_t i = 0; i < nargs; i++)
        argv[i + 1] = ex->args[i];
    /* The environment is built before fork: only async-signal-safe calls in the child. */
    snprintf(info, sizeof(info),
             "KUBERNETES_EXEC_INFO={\"apiVersion\":\"%s\",\"kind\":\"ExecCredential\","
             "\"spec\":{\"interactive\":false}}",
             ex->api_version);
    {
        size_t n = 0;
        for (size_t i = 0; i < nenv; i++)
            envp[n++] = environ[i];
        for (size_t i = 0; i < nown; i++)
            envp[n++] = ex->env[i];
        envp[n++] = info;
        envp[n] = NULL;
    }
    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
        rc =
            tt_error_set(err, TT_EIO, "cannot run the exec credential plugin: %s", strerror(errno));
        goto out;
    }
    x->pid = fork();
    if (x->pid < 0) {
        rc =
            tt_error_set(err, TT_EIO, "cannot run the exec credential plugin: %s", strerror(errno));
        goto out;
    }
    if (x->pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, 0);
        dup2(fds[1], 1);
        /* The pipe was opened non-blocking for the parent; the plugin writes normally. */
        fcntl(1, F_SETFL, 0);
        /* Nothing of trimtab's (API and AWS connections) leaks into the plugin. */
        for (int fd = 3; fd < 1024; fd++)
            close(fd);
        execvpe(argv[0], argv, envp);
        _exit(127);
    }
    close(fds[1]);
    fds[1] = -1;
    x->fd = fds[0];
    fds[0] = -1;
    k->run = x;
    ev_io_init(&x->io, exec_io, x->fd, EV_READ);
    x->io.data = k;
    ev_io_start(k->loop, &x->io);
    ev_child_init(&x->child, exec_child, x->pid, 0);
    x->child.data = k;
    ev_child_start(k->loop, &x->child);
    ev_timer_init(&x->timer, exec_timeout, EXEC_TIMEOUT, 0);
    x->timer.data = k;
    ev_timer_start(k->loop, &x->timer);
    k->stats.exec_runs++;
    x = NULL;
    rc = TT_OK;
    goto out;
fail:
    rc = tt_error_set(err, TT_ENOMEM, "out of memory");
out:
    if (fds[0] >= 0)
        close(fds[0]);
    if (fds[1] >= 0)
        close(fds[1]);
    if (x != NULL) {
        tt_buf_cleanup(&x->out);
        free(x);
    }
    free(argv);
    free(envp);
    return rc;
}

/* ---- life cycle ---------------------------------------------------------------------------- */

tt_kube *tt_kube_create(struct ev_loop *loop, struct tt_http *http, struct tt_kube_config *cfg,
                        tt_error *err)
{
    tt_kube *k = calloc(1, sizeof(*k));

    if (k == NULL) {
        tt_kube_config_destroy(cfg);
        tt_error_set(err, TT_ENOMEM, "out of memory");
        return NULL;
    }
    k->loop = loop;
    k->http = http;
    k->cfg = cfg;
    k->tokens = DEFAULT_BURST;
    tt_kube_set_user_agent(k, NULL);
    k->refilled_at = ev_now(loop);
    ev_timer_init(&k->rate_timer, rate_cb, 0, 0);
    k->rate_timer.data = k;
    return k;
}

void tt_kube_destroy(tt_kube *k)
{
    if (k == NULL)
        return;
    while (k->reqs != NULL)
        req_free(k->reqs);
    ev_timer_stop(k->loop, &k->rate_timer);
    exec_free(k);
    tt_kube_cred_cleanup(&k->cred);
    if (k->file_token != NULL)
        OPENSSL_cleanse(k->file_token, strlen(k->file_token));
    free(k->file_token);
    tt_kube_config_destroy(k->cfg);
    free(k);
}

void tt_kube_set_user_agent(tt_kube *k, const char *comment)
{
    if (comment == NULL || comment[0] == '\0')
        snprintf(k->user_agent, sizeof(k->user_agent), "User-Agent: trimtab/" TT_VERSION);
    else
        snprintf(k->user_agent, sizeof(k->user_agent),
                 "User-Agent: trimtab/" TT_VERSION " (%.200s)", comment);
}

const struct tt_kube_config *tt_kube_config_of(const tt_kube *k)
{
    return k->cfg;
}

void tt_kube_stats_get(const tt_kube *k, tt_kube_stats *st)
{
    *st = k->stats;
}
