#include "endpoints.h"

#include <arpa/inet.h>
#include <ev.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "tt_buf.h"
#include "tt_log.h"
#include "tt_str.h"

#define SERVE_METRICS 1u
#define SERVE_HEALTH  2u

/* One MHD daemon on one address, driven by the loop. */
struct listener {
    tt_endpoints *ep;
    struct MHD_Daemon *d; /* owned */
    ev_io io;             /* MHD's epoll descriptor: readable when any socket of MHD is ready */
    ev_timer timer;       /* MHD_get_timeout: idle connections to close, work left over */
    unsigned serves;      /* SERVE_* */
    int port;
};

struct tt_endpoints {
    struct ev_loop *loop;
    tt_code (*metrics)(void *ud, tt_buf *out);
    bool (*ready)(void *ud, char *why, size_t len);
    void *ud;
    double stall;
    struct listener l[2];
    size_t n;
    ev_timer heartbeat;
    double beat; /* ev_now() when the heartbeat last ran */
};

/* ---- driving MHD from libev ------------------------------------------------------------ */

/*
 * Runs MHD until it has nothing ready (a new connection is accepted in one round and read in
 * the next), then re-arms the timer for what MHD wants to do later without I/O. So a request
 * is answered in the loop iteration that saw it arrive, before the heartbeat of that iteration
 * (see on_heartbeat). The rounds are bounded so a flood of connections cannot hold the loop.
 */
static void drive(struct listener *l)
{
    struct ev_loop *loop = l->ep->loop;
    MHD_UNSIGNED_LONG_LONG ms = 0;
    int have = MHD_NO;
    struct pollfd pfd = {l->io.fd, POLLIN, 0};

    for (int round = 0; round < 8; round++) {
        MHD_run(l->d);
        have = MHD_get_timeout(l->d, &ms);
        /* 0 means MHD still has ready connections (edge-triggered epoll will not tell again). */
        if (have == MHD_YES && ms == 0)
            continue;
        if (poll(&pfd, 1, 0) <= 0)
            break;
    }
    ev_timer_stop(loop, &l->timer);
    if (have == MHD_YES) {
        ev_timer_set(&l->timer, (double)ms / 1000.0, 0.0);
        ev_timer_start(loop, &l->timer);
    }
}

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    drive(w->data);
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    drive(w->data);
}

/* Runs at the lowest priority: after every I/O callback of the same loop iteration. */
static void on_heartbeat(struct ev_loop *loop, ev_timer *w, int revents)
{
    tt_endpoints *ep = w->data;

    (void)revents;
    ep->beat = ev_now(loop);
}

/* MHD's own messages (a client that misbehaves, a failed accept) go to the log. */
static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    size_t n;

    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    tt_log(TT_LOG_WARN, NULL, "http endpoints: %s", msg);
}

/* ---- requests ------------------------------------------------------------------------- */

/* Queues a response whose body is copied from `body`. */
static enum MHD_Result respond(struct MHD_Connection *c, unsigned status, const char *type,
                               const char *body, size_t len)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret;

    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result respond_text(struct MHD_Connection *c, unsigned status, const char *text)
{
    return respond(c, status, "text/plain; charset=utf-8", text, strlen(text));
}

static enum MHD_Result serve_metrics(tt_endpoints *ep, struct MHD_Connection *c)
{
    tt_buf body;
    struct MHD_Response *r;
    enum MHD_Result ret;
    size_t len;
    char *text;

    tt_buf_init(&body);
    if (ep->metrics(ep->ud, &body) != TT_OK) {
        tt_buf_cleanup(&body);
        return respond_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    }
    len = strlen(tt_buf_str(&body));
    /* The body moves to MHD, which frees it once sent: a large scrape is not copied again. */
    text = tt_buf_steal(&body);
    if (text == NULL)
        return respond_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            "text/plain; version=0.0.4; charset=utf-8");
    ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result serve_healthz(tt_endpoints *ep, struct MHD_Connection *c)
{
    double age = ev_time() - ep->beat;
    char msg[160];

    if (age > ep->stall) {
        snprintf(msg, sizeof(msg),
                 "unhealthy: the event loop's heartbeat is %.1f s old (limit %.1f s)\n", age,
                 ep->stall);
        return respond_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, msg);
    }
    return respond_text(c, MHD_HTTP_OK, "ok\n");
}

static enum MHD_Result serve_readyz(tt_endpoints *ep, struct MHD_Connection *c)
{
    char why[256] = "", msg[300];

    if (!ep->ready(ep->ud, why, sizeof(why))) {
        snprintf(msg, sizeof(msg), "not ready: %s\n", why);
        return respond_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, msg);
    }
    return respond_text(c, MHD_HTTP_OK, "ok\n");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **state)
{
    struct listener *l = cls;

    (void)version;
    (void)upload_data;
    (void)state;
    /* No endpoint takes a body; whatever a client sends is discarded unread. */
    *upload_data_size = 0;
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return respond_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
    if ((l->serves & SERVE_METRICS) && strcmp(url, "/metrics") == 0)
        return serve_metrics(l->ep, c);
    if ((l->serves & SERVE_HEALTH) && strcmp(url, "/healthz") == 0)
        return serve_healthz(l->ep, c);
    if ((l->serves & SERVE_HEALTH) && strcmp(url, "/readyz") == 0)
        return serve_readyz(l->ep, c);
    return respond_text(c, MHD_HTTP_NOT_FOUND, "not found\n");
}

/* ---- listeners ------------------------------------------------------------------------ */

/*
 * Splits "host:port", ":port" or "[v6]:port" into host ("" for every interface) and port.
 * TT_EINVAL with a message naming `what` (the flag) otherwise.
 */
static tt_code split_addr(const char *what, const char *addr, char *host, size_t hlen, int *port,
                          tt_error *err)
{
    const char *colon = strrchr(addr, ':');
    const char *h = addr;
    size_t n;
    int64_t p;

    if (colon == NULL || tt_parse_i64(colon + 1, &p) != 0 || p < 0 || p > 65535)
        return tt_error_set(err, TT_EINVAL,
                            "--%s '%s': expected HOST:PORT, :PORT or [IPv6]:PORT with a port "
                            "from 0 to 65535",
                            what, addr);
    n = (size_t)(colon - addr);
    if (n >= 2 && addr[0] == '[' && addr[n - 1] == ']') {
        h = addr + 1;
        n -= 2;
    }
    if (n >= hlen)
        return tt_error_set(err, TT_EINVAL, "--%s '%s': the host name is too long", what, addr);
    memcpy(host, h, n);
    host[n] = '\0';
    *port = (int)p;
    return TT_OK;
}

/* Starts MHD on one socket address; NULL when it cannot (the caller reports). */
static struct MHD_Daemon *start_daemon(struct listener *l, const struct sockaddr *sa,
                                       unsigned extra_flags)
{
    /* No threads: MHD_run on the loop does every accept, read and write (external mode). */
    unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG | extra_flags;

    /* The logger comes first so that MHD reports problems with later options through it. */
    return MHD_start_daemon(flags, 0, NULL, NULL, on_request, l, MHD_OPTION_EXTERNAL_LOGGER,
                            mhd_log, NULL, MHD_OPTION_SOCK_ADDR, sa,
                            /* A scraper or probe that stalls must not hold a slot for long. */
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned int)64, MHD_OPTION_END);
}

static tt_code listen_on(tt_endpoints *ep, struct listener *l, const char *what, const char *addr,
                         tt_error *err)
{
    struct addrinfo hints, *res = NULL;
    char host[256], port_s[8];
    const union MHD_DaemonInfo *info;
    int port = 0, gai;
    tt_code rc;

    if ((rc = split_addr(what, addr, host, sizeof(host), &port, err)) != TT_OK)
        return rc;
    snprintf(port_s, sizeof(port_s), "%d", port);
    l->ep = ep;
    if (host[0] == '\0') {
        /* Every interface: IPv6 and IPv4 on one socket where the kernel has IPv6, else IPv4
         * alone (a pod without IPv6 is common). */
        struct sockaddr_in6 any6 = {0};
        struct sockaddr_in any4 = {0};
        any6.sin6_family = AF_INET6;
        any6.sin6_addr = in6addr_any;
        any6.sin6_port = htons((uint16_t)port);
        l->d = start_daemon(l, (const struct sockaddr *)&any6, MHD_USE_DUAL_STACK);
        if (l->d == NULL) {
            any4.sin_family = AF_INET;
            any4.sin_addr.s_addr = htonl(INADDR_ANY);
            any4.sin_port = htons((uint16_t)port);
            l->d = start_daemon(l, (const struct sockaddr *)&any4, 0);
        }
    } else {
        memset(&hints, 0, sizeof(hints));
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
        gai = getaddrinfo(host, port_s, &hints, &res);
        if (gai != 0)
            return tt_error_set(err, TT_EINVAL, "--%s '%s': cannot resolve '%s': %s", what, addr,
                                host, gai_strerror(gai));
        l->d = start_daemon(l, res->ai_addr, res->ai_family == AF_INET6 ? MHD_USE_IPv6 : 0);
        freeaddrinfo(res);
    }
    if (l->d == NULL)
        return tt_error_set(err, TT_EIO,
                            "--%s '%s': cannot listen (is the port in use, or below 1024 "
                            "without the capability?)",
                            what, addr);
    info = MHD_get_daemon_info(l->d, MHD_DAEMON_INFO_EPOLL_FD);
    if (info == NULL)
        return tt_error_set(err, TT_EIO, "--%s '%s': libmicrohttpd has no epoll descriptor", what,
                            addr);
    ev_io_init(&l->io, on_io, info->epoll_fd, EV_READ);
    ev_timer_init(&l->timer, on_timer, 0.0, 0.0);
    l->io.data = l->timer.data = l;
    ev_io_start(ep->loop, &l->io);
    info = MHD_get_daemon_info(l->d, MHD_DAEMON_INFO_BIND_PORT);
    l->port = info != NULL ? info->port : port;
    return TT_OK;
}

static bool ends_with_port0(const char *addr)
{
    size_t n = strlen(addr);
    return n >= 2 && strcmp(addr + n - 2, ":0") == 0;
}

tt_endpoints *tt_endpoints_create(struct ev_loop *loop, const tt_endpoints_config *cfg,
                                  tt_error *err)
{
    const char *m = cfg->metrics_addr, *h = cfg->health_addr;
    bool want_m = m != NULL && m[0] != '\0', want_h = h != NULL && h[0] != '\0';
    tt_endpoints *ep = calloc(1, sizeof(*ep));

    if (ep == NULL) {
        tt_error_set(err, TT_ENOMEM, "out of memory starting the HTTP endpoints");
        return NULL;
    }
    ep->loop = loop;
    ep->metrics = cfg->metrics;
    ep->ready = cfg->ready;
    ep->ud = cfg->ud;
    ep->stall = cfg->stall > 0 ? cfg->stall : 30.0;
    ep->beat = ev_now(loop);
    if (want_m) {
        ep->l[ep->n].serves = SERVE_METRICS;
        /* One address for both: one listener answers every path. Port 0 asks for any free
         * port, so two such flags are two listeners. */
        if (want_h && strcmp(m, h) == 0 && !ends_with_port0(m)) {
            ep->l[ep->n].serves |= SERVE_HEALTH;
            want_h = false;
        }
        if (listen_on(ep, &ep->l[ep->n++], "metrics-addr", m, err) != TT_OK)
            goto fail;
    }
    if (want_h) {
        ep->l[ep->n].serves = SERVE_HEALTH;
        if (listen_on(ep, &ep->l[ep->n++], "health-addr", h, err) != TT_OK)
            goto fail;
    }
    /* The heartbeat runs after the loop's I/O in each iteration (lowest priority), so a
     * request that waited through a blocked iteration still sees the old beat. */
    ev_timer_init(&ep->heartbeat, on_heartbeat, 1.0, 1.0);
    ev_set_priority(&ep->heartbeat, EV_MINPRI);
    ep->heartbeat.data = ep;
    ev_timer_start(loop, &ep->heartbeat);
    for (size_t i = 0; i < ep->n; i++)
        tt_log(TT_LOG_INFO, NULL, "serving %s%s%s on port %d",
               ep->l[i].serves & SERVE_METRICS ? "/metrics" : "",
               ep->l[i].serves == (SERVE_METRICS | SERVE_HEALTH) ? ", " : "",
               ep->l[i].serves & SERVE_HEALTH ? "/healthz, /readyz" : "", ep->l[i].port);
    return ep;
fail:
    tt_endpoints_destroy(ep);
    return NULL;
}

void tt_endpoints_destroy(tt_endpoints *ep)
{
    if (ep == NULL)
        return;
    ev_timer_stop(ep->loop, &ep->heartbeat);
    for (size_t i = 0; i < ep->n; i++) {
        if (ep->l[i].d == NULL)
            continue;
        ev_io_stop(ep->loop, &ep->l[i].io);
        ev_timer_stop(ep->loop, &ep->l[i].timer);
        MHD_stop_daemon(ep->l[i].d);
    }
    free(ep);
}

int tt_endpoints_port(const tt_endpoints *ep, int which)
{
    unsigned want = which == 0 ? SERVE_METRICS : SERVE_HEALTH;

    for (size_t i = 0; ep != NULL && i < ep->n; i++) {
        if (ep->l[i].serves & want)
            return ep->l[i].port;
    }
    return 0;
}
