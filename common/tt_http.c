#include "tt_http.h"

#include <curl/curl.h>
#include <ev.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_CONNECT_TIMEOUT_MS 5000L
#define DEFAULT_TIMEOUT_MS         60000L
#define DEFAULT_MAX_RESPONSE       (16u * 1024 * 1024)
#define MAX_RESPONSE_HEADERS       100
#define IDLE_EASY_HANDLES          64
/* Seconds without a transfer after which the idle easy handles are freed. Shorter than the
 * engine's second before it trims the heap (reconcile/engine.c, on_trim), so that the handles
 * of a burst are freed before the trim gives their pages back, not after it. */
#define IDLE_RELEASE_SECONDS 0.5

struct tt_http_xfer {
    tt_http *h;
    CURL *easy;
    struct curl_slist *slist;
    tt_http_cb cb;
    void *ud;
    tt_http_response resp;
    size_t max_response;
    int too_large;
    int aborted;  /* on_data asked to stop */
    int deferred; /* waiting in h->deferred to be added to the multi handle */
    int (*on_data)(void *ud, const char *data, size_t len);
    char errbuf[CURL_ERROR_SIZE];
    tt_http_xfer *prev, *next; /* the engine's list of transfers in flight */
};

/* One watched socket: curl says which events it wants, libev reports them. */
struct sock_watch {
    ev_io io;
    tt_http *h;
};

struct tt_http {
    struct ev_loop *loop;
    CURLM *multi;
    CURLSH *share; /* DNS cache and TLS sessions shared by every transfer */
    ev_timer timer;
    tt_http_xfer *active;
    size_t nactive;
    /* Transfers started from inside a curl callback (a watch's data handler starting a
     * request): curl refuses to add handles then, so they are added from this timer. */
    ev_timer deferred_timer;
    CURL *idle[IDLE_EASY_HANDLES]; /* easy handles kept for reuse */
    size_t nidle;
    /* Frees the idle handles once no transfer ran for IDLE_RELEASE_SECONDS: they serve bursts,
     * and between bursts 64 of them held ~340 KiB of an idle operator's heap. */
    ev_timer release_timer;
    char *ca_bundle; /* CA certificates to trust instead of the system's (owned), or NULL */
};

static void check_multi_info(tt_http *h);

/*
 * (Re)starts the countdown to freeing the idle handles. The timer holds no reference on the
 * loop (ev_unref), so it never keeps ev_run from returning when nothing else is left to do.
 */
static void release_arm(tt_http *h)
{
    bool was_active = ev_is_active(&h->release_timer);

    ev_timer_again(h->loop, &h->release_timer);
    if (!was_active)
        ev_unref(h->loop);
}

static void release_stop(tt_http *h)
{
    if (!ev_is_active(&h->release_timer))
        return;
    ev_ref(h->loop);
    ev_timer_stop(h->loop, &h->release_timer);
}

static void release_idle(tt_http *h)
{
    for (size_t i = 0; i < h->nidle; i++)
        curl_easy_cleanup(h->idle[i]);
    h->nidle = 0;
}

static void release_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    tt_http *h = w->data;
    (void)loop;
    (void)w;
    (void)revents;
    release_stop(h);
    if (h->nactive == 0)
        release_idle(h);
}

static void response_reset_headers(tt_http_response *r)
{
    for (size_t i = 0; i < r->nheaders; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    free(r->headers);
    r->headers = NULL;
    r->nheaders = 0;
}

static void xfer_free(tt_http_xfer *x)
{
    tt_http *h = x->h;
    if (x->easy != NULL) {
        curl_multi_remove_handle(h->multi, x->easy);
        if (h->nidle < IDLE_EASY_HANDLES) {
            curl_easy_reset(x->easy);
            h->idle[h->nidle++] = x->easy;
        } else {
            curl_easy_cleanup(x->easy);
        }
    }
    curl_slist_free_all(x->slist);
    response_reset_headers(&x->resp);
    tt_buf_cleanup(&x->resp.body);
    if (x->prev != NULL)
        x->prev->next = x->next;
    else
        h->active = x->next;
    if (x->next != NULL)
        x->next->prev = x->prev;
    h->nactive--;
    free(x);
    if (h->nactive == 0 && h->nidle > 0)
        release_arm(h);
}

/* Adds the transfers that were started inside a curl callback. */
static void deferred_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    tt_http *h = w->data;
    (void)loop;
    (void)revents;
    for (tt_http_xfer *x = h->active, *next; x != NULL; x = next) {
        next = x->next;
        if (!x->deferred)
            continue;
        x->deferred = 0;
        if (curl_multi_add_handle(h->multi, x->easy) != CURLM_OK) {
            tt_error err;
            tt_error_set(&err, TT_ENOMEM, "cannot start an HTTP request");
            x->cb(x->ud, &x->resp, &err, 0);
            xfer_free(x);
            /* The callback may have cancelled others: start over from the head. */
            next = h->active;
        }
    }
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    struct sock_watch *sw = (struct sock_watch *)w;
    tt_http *h = sw->h;
    int action =
        ((revents & EV_READ) ? CURL_CSELECT_IN : 0) | ((revents & EV_WRITE) ? CURL_CSELECT_OUT : 0);
    int running = 0;
    (void)loop;
    curl_multi_socket_action(h->multi, w->fd, action, &running);
    check_multi_info(h);
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    tt_http *h = w->data;
    int running = 0;
    (void)loop;
    (void)revents;
    curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_multi_info(h);
}

/* CURLMOPT_SOCKETFUNCTION: start, change or stop the ev_io of one socket. */
static int sock_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    tt_http *h = userp;
    struct sock_watch *sw = socketp;
    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        if (sw != NULL) {
            ev_io_stop(h->loop, &sw->io);
            free(sw);
            curl_multi_assign(h->multi, s, NULL);
        }
        return 0;
    }
    int events = ((what & CURL_POLL_IN) ? EV_READ : 0) | ((what & CURL_POLL_OUT) ? EV_WRITE : 0);
    if (sw == NULL) {
        sw = calloc(1, sizeof(*sw));
        if (sw == NULL)
            return -1;
        sw->h = h;
        curl_multi_assign(h->multi, s, sw);
    } else {
        ev_io_stop(h->loop, &sw->io);
    }
    ev_io_init(&sw->io, io_cb, s, events);
    ev_io_start(h->loop, &sw->io);
    return 0;
}

/* CURLMOPT_TIMERFUNCTION: one timer for the whole multi handle. */
static int multi_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    tt_http *h = userp;
    (void)multi;
    ev_timer_stop(h->loop, &h->timer);
    if (timeout_ms >= 0) {
        ev_timer_set(&h->timer, (double)timeout_ms / 1000.0, 0.0);
        ev_timer_start(h->loop, &h->timer);
    }
    return 0;
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    tt_http_xfer *x = userdata;
    size_t n = size * nmemb;
    if (x->on_data != NULL) {
        long status = 0;
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
        if (status >= 200 && status < 300) {
            if (x->on_data(x->ud, ptr, n) != 0) {
                x->aborted = 1;
                return 0;
            }
            return n;
        }
    }
    if (x->resp.body.len + n > x->max_response) {
        x->too_large = 1;
        return 0;
    }
    if (tt_buf_append(&x->resp.body, ptr, n) != TT_OK)
        return 0;
    return n;
}

static char *dup_trimmed(const char *s, size_t n)
{
    while (n > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        n--;
    char *d = malloc(n + 1);
    if (d != NULL) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static size_t header_cb(char *buf, size_t size, size_t nitems, void *userdata)
{
    tt_http_xfer *x = userdata;
    size_t n = size * nitems;
    if (n >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
        /* A new response (after a 100 Continue, say): forget the previous headers. */
        response_reset_headers(&x->resp);
        return n;
    }
    char *colon = memchr(buf, ':', n);
    if (colon == NULL || x->resp.nheaders >= MAX_RESPONSE_HEADERS)
        return n;
    tt_http_response_header *grown =
        realloc(x->resp.headers, (x->resp.nheaders + 1) * sizeof(*grown));
    if (grown == NULL)
        return 0;
    x->resp.headers = grown;
    char *name = dup_trimmed(buf, (size_t)(colon - buf));
    char *value = dup_trimmed(colon + 1, n - (size_t)(colon - buf) - 1);
    if (name == NULL || value == NULL) {
        free(name);
        free(value);
        return 0;
    }
    grown[x->resp.nheaders].name = name;
    grown[x->resp.nheaders].value = value;
    x->resp.nheaders++;
    return n;
}

static void finish(tt_http_xfer *x, CURLcode result)
{
    tt_error err;
    int timed_out = 0;
    const tt_error *perr = NULL;

    tt_error_clear(&err);
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->resp.status);
    if (result != CURLE_OK) {
        perr = &err;
        if (x->aborted) {
            tt_error_set(&err, TT_ECANCELLED, "the stream was stopped by its reader");
        } else if (x->too_large) {
            tt_error_set(&err, TT_ELIMIT, "response larger than %zu bytes", x->max_response);
        } else if (result == CURLE_OPERATION_TIMEDOUT) {
            timed_out = 1;
            tt_error_set(&err, TT_EUNAVAILABLE, "request timed out: %s",
                         x->errbuf[0] ? x->errbuf : curl_easy_strerror(result));
        } else if (result == CURLE_OUT_OF_MEMORY || result == CURLE_WRITE_ERROR) {
            tt_error_set(&err, TT_ENOMEM, "out of memory receiving the response");
        } else if (result == CURLE_PEER_FAILED_VERIFICATION || result == CURLE_SSL_CACERT_BADFILE ||
                   result == CURLE_SSL_CONNECT_ERROR || result == CURLE_SSL_CERTPROBLEM) {
            /* A TLS failure is not transient: retrying cannot make a bad certificate good. */
            tt_error_set(&err, TT_EIO, "TLS failure: %s",
                         x->errbuf[0] ? x->errbuf : curl_easy_strerror(result));
        } else if (result == CURLE_UNSUPPORTED_PROTOCOL || result == CURLE_URL_MALFORMAT) {
            tt_error_set(&err, TT_EINVAL, "bad endpoint URL: %s", curl_easy_strerror(result));
        } else {
            tt_error_set(&err, TT_EUNAVAILABLE, "connection failed: %s",
                         x->errbuf[0] ? x->errbuf : curl_easy_strerror(result));
        }
    }
    x->cb(x->ud, &x->resp, perr, timed_out);
    xfer_free(x);
}

static void check_multi_info(tt_http *h)
{
    CURLMsg *msg;
    int left = 0;
    while ((msg = curl_multi_info_read(h->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        tt_http_xfer *x = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        if (x != NULL)
            finish(x, msg->data.result);
    }
}

tt_http *tt_http_create(struct ev_loop *loop, long max_host_connections, tt_error *err)
{
    tt_http *h = calloc(1, sizeof(*h));
    if (h == NULL) {
        tt_error_set(err, TT_ENOMEM, "out of memory creating the HTTP engine");
        return NULL;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        goto fail;
    h->loop = loop;
    h->multi = curl_multi_init();
    h->share = curl_share_init();
    if (h->multi == NULL || h->share == NULL)
        goto fail;
    curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, multi_timer_cb);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
    /* Keep enough idle connections for a burst of calls to many endpoints. */
    curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, 256L);
    if (max_host_connections > 0)
        curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS, max_host_connections);
    ev_init(&h->timer, timer_cb);
    h->timer.data = h;
    ev_timer_init(&h->deferred_timer, deferred_cb, 0, 0);
    h->deferred_timer.data = h;
    ev_init(&h->release_timer, release_cb);
    h->release_timer.repeat = IDLE_RELEASE_SECONDS;
    h->release_timer.data = h;
    return h;
fail:
    tt_error_set(err, TT_ENOMEM, "cannot initialise libcurl");
    tt_http_destroy(h);
    return NULL;
}

void tt_http_destroy(tt_http *h)
{
    if (h == NULL)
        return;
    while (h->active != NULL)
        xfer_free(h->active);
    release_idle(h);
    if (h->loop != NULL) {
        ev_timer_stop(h->loop, &h->timer);
        ev_timer_stop(h->loop, &h->deferred_timer);
        release_stop(h);
    }
    /* Cleaning the multi handle closes the pooled connections, which removes their watchers. */
    if (h->multi != NULL)
        curl_multi_cleanup(h->multi);
    if (h->share != NULL)
        curl_share_cleanup(h->share);
    free(h->ca_bundle);
    free(h);
}

tt_code tt_http_set_ca_bundle(tt_http *h, const char *path, tt_error *err)
{
    char *copy = NULL;

    if (path != NULL && (copy = strdup(path)) == NULL)
        return tt_error_set(err, TT_ENOMEM, "out of memory");
    free(h->ca_bundle);
    h->ca_bundle = copy;
    return TT_OK;
}

tt_code tt_http_start(tt_http *h, const tt_http_request *req, tt_http_cb cb, void *ud,
                      tt_http_xfer **out, tt_error *err)
{
    tt_http_xfer *x = calloc(1, sizeof(*x));
    tt_code rc = TT_ENOMEM;

    if (x == NULL)
        return tt_error_set(err, TT_ENOMEM, "out of memory starting a request");
    x->h = h;
    x->cb = cb;
    x->ud = ud;
    x->max_response = req->max_response > 0 ? req->max_response : DEFAULT_MAX_RESPONSE;
    x->on_data = req->on_data;
    tt_buf_init(&x->resp.body);
    x->easy = h->nidle > 0 ? h->idle[--h->nidle] : curl_easy_init();
    /* Link first so that xfer_free() below can unlink. */
    x->next = h->active;
    if (h->active != NULL)
        h->active->prev = x;
    h->active = x;
    h->nactive++;
    if (x->easy == NULL)
        goto fail;
    for (size_t i = 0; i < req->nheaders; i++) {
        struct curl_slist *n = curl_slist_append(x->slist, req->headers[i]);
        if (n == NULL)
            goto fail;
        x->slist = n;
    }
    /* curl would otherwise send "Expect: 100-continue" for larger bodies and wait for it. */
    struct curl_slist *n = curl_slist_append(x->slist, "Expect:");
    if (n == NULL)
        goto fail;
    x->slist = n;

    CURL *e = x->easy;
    curl_easy_setopt(e, CURLOPT_URL, req->url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    /* A private CA (AWS_CA_BUNDLE) replaces the system's trust store; verification stays on. */
    if (h->ca_bundle != NULL)
        curl_easy_setopt(e, CURLOPT_CAINFO, h->ca_bundle);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_SHARE, h->share);
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->slist);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     req->connect_timeout_ms > 0 ? req->connect_timeout_ms
                                                 : DEFAULT_CONNECT_TIMEOUT_MS);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
                     req->timeout_ms > 0   ? req->timeout_ms
                     : req->timeout_ms < 0 ? 0L
                                           : DEFAULT_TIMEOUT_MS);
    if (req->ca_pem != NULL) {
        struct curl_blob b = {(void *)req->ca_pem, req->ca_pem_len, CURL_BLOB_COPY};
        if (curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &b) != CURLE_OK)
            goto fail;
    }
    if (req->cert_pem != NULL && req->key_pem != NULL) {
        struct curl_blob c = {(void *)req->cert_pem, req->cert_pem_len, CURL_BLOB_COPY};
        struct curl_blob k = {(void *)req->key_pem, req->key_pem_len, CURL_BLOB_COPY};
        curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
        curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
        if (curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &c) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &k) != CURLE_OK)
            goto fail;
    }
    if (strcmp(req->method, "GET") == 0) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(req->method, "HEAD") == 0) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else {
        /* A body (possibly empty) for POST, PUT, DELETE...: never chunked, never read twice. */
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body != NULL ? req->body : "");
        if (strcmp(req->method, "POST") != 0)
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
    }
    CURLMcode mc = curl_multi_add_handle(h->multi, e);
    if (mc == CURLM_RECURSIVE_API_CALL) {
        x->deferred = 1;
        ev_timer_start(h->loop, &h->deferred_timer);
    } else if (mc != CURLM_OK) {
        goto fail;
    }
    if (out != NULL)
        *out = x;
    return TT_OK;
fail:
    tt_error_set(err, rc, "cannot start an HTTP request: out of memory");
    if (x->easy != NULL) {
        curl_easy_cleanup(x->easy);
        x->easy = NULL;
    }
    xfer_free(x);
    return rc;
}

void tt_http_cancel(tt_http_xfer *x)
{
    if (x != NULL)
        xfer_free(x);
}

const char *tt_http_header(const tt_http_response *resp, const char *name)
{
    for (size_t i = 0; resp != NULL && i < resp->nheaders; i++) {
        if (strcasecmp(resp->headers[i].name, name) == 0)
            return resp->headers[i].value;
    }
    return NULL;
}

size_t tt_http_active(const tt_http *h)
{
    return h->nactive;
}
