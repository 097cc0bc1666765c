/*
 * Unit tests for reconcile/endpoints: real listeners on loopback, driven by a real libev loop,
 * with each HTTP client in a child process (the loop under test must keep running while the
 * client waits, and may be blocked on purpose).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <ev.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "endpoints.h"
#include "tt_buf.h"

struct fixture {
    struct ev_loop *loop;
    tt_endpoints *ep;
    bool ready;
    int scrapes;
    /* the client's answer */
    char response[4096];
    size_t len;
    ev_io pipe_w;
    ev_timer block;
    int go[2]; /* the blocking callback writes here as it starts to block */
};

static tt_code fake_metrics(void *ud, tt_buf *out)
{
    struct fixture *f = ud;
    return tt_buf_printf(out, "# TYPE scrapes counter\nscrapes %d\n", ++f->scrapes);
}

static bool fake_ready(void *ud, char *why, size_t len)
{
    struct fixture *f = ud;
    if (!f->ready)
        snprintf(why, len, "the source has not synced");
    return f->ready;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    if (f == NULL || (f->loop = ev_loop_new(EVFLAG_AUTO)) == NULL || pipe(f->go) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    tt_endpoints_destroy(f->ep);
    ev_loop_destroy(f->loop);
    close(f->go[0]);
    close(f->go[1]);
    free(f);
    return 0;
}

/* The child: once a byte can be read from `go` (when it is not -1), sends `request` to the
 * port and copies the answer into the pipe. */
static void client(int port, const char *request, int go, int out)
{
    struct sockaddr_in sa = {0};
    char buf[4096];
    ssize_t n;
    int s = socket(AF_INET, SOCK_STREAM, 0);

    if (go >= 0 && read(go, buf, 1) != 1)
        _exit(1);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) != 0)
        _exit(1);
    if (write(s, request, strlen(request)) != (ssize_t)strlen(request))
        _exit(1);
    while ((n = read(s, buf, sizeof(buf))) > 0) {
        if (write(out, buf, (size_t)n) != n)
            _exit(1);
    }
    _exit(0);
}

static void on_pipe(struct ev_loop *loop, ev_io *w, int revents)
{
    struct fixture *f = w->data;
    ssize_t n;

    (void)revents;
    n = read(w->fd, f->response + f->len, sizeof(f->response) - 1 - f->len);
    if (n > 0) {
        f->len += (size_t)n;
        return;
    }
    ev_io_stop(loop, w);
    ev_break(loop, EVBREAK_ALL);
}

/* Runs the loop until a child has sent `request` (once `go` is readable, unless it is -1) and
 * read the whole answer. */
static const char *exchange(struct fixture *f, int port, const char *request, int go)
{
    int fds[2];
    pid_t pid;
    int status;

    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        client(port, request, go, fds[1]);
    }
    close(fds[1]);
    f->len = 0;
    ev_io_init(&f->pipe_w, on_pipe, fds[0], EV_READ);
    f->pipe_w.data = f;
    ev_io_start(f->loop, &f->pipe_w);
    ev_run(f->loop, 0);
    close(fds[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    f->response[f->len] = '\0';
    return f->response;
}

/* One GET on a new connection, as a probe or a scraper without keep-alive makes it. */
static const char *get(struct fixture *f, int port, const char *path)
{
    char request[256];

    snprintf(request, sizeof(request), "GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
             path);
    return exchange(f, port, request, -1);
}

static void start(struct fixture *f, const char *maddr, const char *haddr, double stall)
{
    tt_endpoints_config c = {maddr, haddr, fake_metrics, fake_ready, f, stall};
    tt_error err;

    f->ep = tt_endpoints_create(f->loop, &c, &err);
    if (f->ep == NULL)
        fail_msg("tt_endpoints_create: %s", err.message);
}

static void serves_each_path_on_its_listener(void **state)
{
    struct fixture *f = *state;
    int mp, hp;

    start(f, "127.0.0.1:0", "127.0.0.1:0", 0);
    mp = tt_endpoints_port(f->ep, 0);
    hp = tt_endpoints_port(f->ep, 1);
    assert_true(mp > 0 && hp > 0 && mp != hp);

    get(f, mp, "/metrics");
    assert_non_null(strstr(f->response, "HTTP/1.1 200"));
    assert_non_null(strstr(f->response, "text/plain; version=0.0.4"));
    assert_non_null(strstr(f->response, "\r\n\r\n# TYPE scrapes counter\nscrapes 1\n"));

    get(f, hp, "/readyz");
    assert_non_null(strstr(f->response, "HTTP/1.1 503"));
    assert_non_null(strstr(f->response, "not ready: the source has not synced\n"));
    f->ready = true;
    get(f, hp, "/readyz");
    assert_non_null(strstr(f->response, "HTTP/1.1 200"));
    get(f, hp, "/healthz");
    assert_non_null(strstr(f->response, "HTTP/1.1 200"));

    /* Each listener only has its own paths; only GET and HEAD. */
    get(f, hp, "/metrics");
    assert_non_null(strstr(f->response, "HTTP/1.1 404"));
    get(f, mp, "/readyz");
    assert_non_null(strstr(f->response, "HTTP/1.1 404"));
    exchange(f, mp, "DELETE /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", -1);
    assert_non_null(strstr(f->response, "HTTP/1.1 405"));
    /* A request that is not HTTP gets an error from MHD, and the server stays up. */
    exchange(f, mp, "\x01\x02 garbage\r\n\r\n", -1);
    assert_null(strstr(f->response, "HTTP/1.1 200"));
    get(f, mp, "/metrics");
    assert_non_null(strstr(f->response, "scrapes 2\n"));
}

/* A callback that blocks the loop, as a blocking call in a reconcile would, and lets the
 * client go as it starts. */
static void on_block(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct fixture *f = w->data;
    struct timespec ts = {1, 300000000};

    (void)loop;
    (void)revents;
    assert_int_equal(write(f->go[1], "g", 1), 1);
    nanosleep(&ts, NULL);
}

static void blocked_loop_fails_healthz(void **state)
{
    struct fixture *f = *state;
    int hp;

    start(f, NULL, "127.0.0.1:0", 0.5);
    hp = tt_endpoints_port(f->ep, 1);
    ev_timer_init(&f->block, on_block, 0.05, 0);
    f->block.data = f;
    ev_timer_start(f->loop, &f->block);
    /* The probe arrives while the loop is blocked and is answered once it runs again. */
    exchange(f, hp, "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", f->go[0]);
    assert_non_null(strstr(f->response, "HTTP/1.1 500"));
    assert_non_null(strstr(f->response, "heartbeat"));
    /* The heartbeat ran after that answer: the next probe is healthy. */
    get(f, hp, "/healthz");
    assert_non_null(strstr(f->response, "HTTP/1.1 200"));
}

static void bad_addresses_fail_with_the_flag(void **state)
{
    struct fixture *f = *state;
    struct sockaddr_in sa = {0};
    socklen_t len = sizeof(sa);
    char busy[32];
    int s = socket(AF_INET, SOCK_STREAM, 0);
    const struct {
        const char *m, *h, *expect;
    } cases[] = {
        {"8080", NULL, "--metrics-addr '8080': expected HOST:PORT"},
        {NULL, ":65536", "--health-addr ':65536'"},
        {NULL, "[::1:80", "--health-addr '[::1:80': cannot resolve"},
        {"127.0.0.1:x", NULL, "--metrics-addr"},
        {busy, NULL, "cannot listen"},
        /* The second listener failing closes the first. */
        {"127.0.0.1:0", busy, "--health-addr"},
    };

    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(s, 1), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&sa, &len), 0);
    snprintf(busy, sizeof(busy), "127.0.0.1:%d", ntohs(sa.sin_port));
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tt_endpoints_config c = {cases[i].m, cases[i].h, fake_metrics, fake_ready, f, 0};
        tt_error err;
        tt_endpoints *ep = tt_endpoints_create(f->loop, &c, &err);
        assert_null(ep);
        if (strstr(err.message, cases[i].expect) == NULL)
            fail_msg("case %zu: '%s' does not contain '%s'", i, err.message, cases[i].expect);
    }
    close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(serves_each_path_on_its_listener, setup, teardown),
        cmocka_unit_test_setup_teardown(blocked_loop_fails_healthz, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_addresses_fail_with_the_flag, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
