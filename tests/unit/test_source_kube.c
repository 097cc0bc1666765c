/*
 * Integration tests of kube/ and reconcile/source_kube.c against a real local API server
 * (tests/kubesim, started here as a child process, over TLS with a bearer token):
 *  - the client: requests, Status errors mapped to codes, a watch streamed line by line;
 *  - authentication: a token file rotated on disk is read again before use (no 401), an exec
 *    plugin runs once for many requests, concurrent or not, and again after its expiry;
 *  - the source: list, finalizer added before delivery, status-only changes not delivered, and
 *    after 410 Gone a relist that delivers exactly the difference against the cache.
 * Skipped (77) when python3 cannot start kubesim.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ev.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "model.h"
#include "source_kube.h"
#include "tt_http.h"
#include "tt_kube.h"
#include "tt_kube_config.h"

#define NS_PATH "/apis/trimtab.dev/v1alpha1/namespaces/shop/scalingpolicies"

static struct {
    pid_t pid;
    char dir[256];
    char endpoint[256];
    char kubeconfig[512];
    char ca[512];
    char token[256];
} sim;

static struct ev_loop *loop;
static tt_http *http;

/* ---- kubesim ------------------------------------------------------------------------------ */

static int start_sim(void)
{
    const char *src = getenv("TT_SOURCE_DIR");
    char server[512], crds[512], line[1024];
    int fds[2];
    FILE *out;
    int got = 0;

    if (src == NULL)
        src = ".";
    snprintf(sim.dir, sizeof(sim.dir), "/tmp/tt-test-kubesim-XXXXXX");
    if (mkdtemp(sim.dir) == NULL || pipe(fds) != 0)
        return -1;
    snprintf(server, sizeof(server), "%s/tests/kubesim/server.py", src);
    snprintf(crds, sizeof(crds), "%s/crds", src);
    sim.pid = fork();
    if (sim.pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        execlp("python3", "python3", server, "--dir", sim.dir, "--crds", crds, "--namespace",
               "shop", "--bookmark-interval", "0.2", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    out = fdopen(fds[0], "r");
    while (got < 4 && out != NULL && fgets(line, sizeof(line), out) != NULL) {
        char *v = strchr(line, ' ');
        if (v == NULL)
            continue;
        *v++ = '\0';
        v[strcspn(v, "\n")] = '\0';
        if (strcmp(line, "endpoint") == 0)
            snprintf(sim.endpoint, sizeof(sim.endpoint), "%s", v);
        else if (strcmp(line, "kubeconfig") == 0)
            snprintf(sim.kubeconfig, sizeof(sim.kubeconfig), "%s", v);
        else if (strcmp(line, "ca") == 0)
            snprintf(sim.ca, sizeof(sim.ca), "%s", v);
        else if (strcmp(line, "token") == 0)
            snprintf(sim.token, sizeof(sim.token), "%s", v);
        else
            continue;
        got++;
    }
    if (out != NULL)
        fclose(out);
    return got == 4 ? 0 : -1;
}

static void stop_sim(void)
{
    char cmd[300];

    if (sim.pid > 0) {
        kill(sim.pid, SIGTERM);
        waitpid(sim.pid, NULL, 0);
        sim.pid = 0;
    }
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", sim.dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", sim.dir);
}

/* A kubeconfig for the simulator with `user` as the user's JSON body; returns its path. */
static const char *write_kubeconfig(const char *name, const char *user)
{
    static char path[600];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", sim.dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "{\"current-context\":\"t\",\"clusters\":[{\"name\":\"k\",\"cluster\":{\"server\":"
            "\"%s\",\"certificate-authority\":\"%s\"}}],\"users\":[{\"name\":\"u\",\"user\":%s}],"
            "\"contexts\":[{\"name\":\"t\",\"context\":{\"cluster\":\"k\",\"user\":\"u\"}}]}",
            sim.endpoint, sim.ca, user);
    fclose(f);
    return path;
}

static tt_kube *client_for(const char *kubeconfig)
{
    tt_kube_config_opts o = {kubeconfig, NULL, NULL};
    tt_kube_config *cfg = NULL;
    tt_error err;
    tt_kube *k;

    if (tt_kube_config_load(&o, &cfg, &err) != TT_OK)
        fail_msg("%s", err.message);
    k = tt_kube_create(loop, http, cfg, &err);
    assert_non_null(k);
    return k;
}

/* ---- synchronous requests for the test's own use ------------------------------------------ */

struct answer {
    int done;
    long status;
    json_t *body;
    tt_error err;
    int failed;
};

static void answer_cb(void *ud, long status, json_t *body, const tt_error *err)
{
    struct answer *a = ud;
    a->done = 1;
    a->status = status;
    a->body = json_incref(body);
    if (err != NULL) {
        a->err = *err;
        a->failed = 1;
    }
}

static void run_until(int *flag, double seconds)
{
    double end = ev_time() + seconds;
    while (!*flag && ev_time() < end)
        ev_run(loop, EVRUN_ONCE);
}

static struct answer call(tt_kube *k, const char *method, const char *path, const char *body_json,
                          const char *ctype)
{
    struct answer a = {0};
    json_t *body = body_json != NULL ? json_loads(body_json, 0, NULL) : NULL;
    tt_error err;

    if (body_json != NULL)
        assert_non_null(body);
    assert_int_equal(tt_kube_request(k, method, path, body, ctype, answer_cb, &a, NULL, &err),
                     TT_OK);
    json_decref(body);
    run_until(&a.done, 20);
    assert_true(a.done);
    return a;
}

static void sp_json(char *out, size_t len, const char *name, int max)
{
    snprintf(out, len,
             "{\"apiVersion\":\"trimtab.dev/v1alpha1\",\"kind\":\"ScalingPolicy\",\"metadata\":"
             "{\"name\":\"%s\",\"namespace\":\"shop\"},\"spec\":{\"target\":{\"ecs\":{\"cluster\":"
             "\"prod\",\"service\":\"%s\"}},\"minCapacity\":1,\"maxCapacity\":%d}}",
             name, name, max);
}

static void create_sp(tt_kube *k, const char *name, int max)
{
    char body[600];
    struct answer a;

    sp_json(body, sizeof(body), name, max);
    a = call(k, "POST", NS_PATH, body, NULL);
    if (a.status != 201)
        fail_msg("creating %s: %ld %s", name, a.status, a.err.message);
    json_decref(a.body);
}

static void control(tt_kube *k, const char *method, const char *what, const char *body)
{
    char path[300];
    struct answer a;

    snprintf(path, sizeof(path), "/_kubesim/%s", what);
    a = call(k, method, path, body, NULL);
    if (a.failed)
        fail_msg("control %s: %s", what, a.err.message);
    json_decref(a.body);
}

/* Calls with this HTTP status in kubesim's log. */
static size_t calls_with_status(tt_kube *k, long status)
{
    struct answer a = call(k, "GET", "/_kubesim/calls", NULL, NULL);
    size_t n = 0, i;
    json_t *c;

    json_array_foreach(json_object_get(a.body, "calls"), i, c)
    {
        n += json_integer_value(json_object_get(c, "status")) == status;
    }
    json_decref(a.body);
    return n;
}

/* ---- fixtures ------------------------------------------------------------------------------ */

static int group_setup(void **state)
{
    (void)state;
    loop = EV_DEFAULT;
    if (start_sim() != 0) {
        fprintf(stderr, "kubesim did not start (python3, PyYAML and openssl are needed)\n");
        stop_sim();
        exit(77);
    }
    http = tt_http_create(loop, 0, NULL);
    assert_non_null(http);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    tt_http_destroy(http);
    stop_sim();
    return 0;
}

/* ---- the client ---------------------------------------------------------------------------- */

struct watched {
    int events, bookmarks, ended;
    char last_type[16];
};

static int on_event(void *ud, const char *type, json_t *obj)
{
    struct watched *w = ud;
    (void)obj;
    if (strcmp(type, "BOOKMARK") == 0) {
        w->bookmarks++;
        return 0;
    }
    w->events++;
    snprintf(w->last_type, sizeof(w->last_type), "%s", type);
    return 0;
}

static void on_watch_end(void *ud, long status, json_t *body, const tt_error *err)
{
    struct watched *w = ud;
    (void)status;
    (void)body;
    (void)err;
    w->ended = 1;
}

static void test_client(void **state)
{
    tt_kube *k = client_for(sim.kubeconfig);
    struct answer a;
    struct watched w = {0};
    tt_kube_req *req = NULL;
    tt_error err;
    char path[300], rv[64];

    (void)state;
    create_sp(k, "client", 3);
    a = call(k, "GET", NS_PATH "/client", NULL, NULL);
    assert_int_equal(a.status, 200);
    snprintf(
        rv, sizeof(rv), "%s",
        json_string_value(json_object_get(json_object_get(a.body, "metadata"), "resourceVersion")));
    json_decref(a.body);

    a = call(k, "GET", NS_PATH "/none", NULL, NULL);
    assert_int_equal(a.status, 404);
    assert_int_equal(a.err.code, TT_ENOTFOUND);
    assert_string_equal(a.err.service_code, "NotFound");
    assert_int_equal(a.err.http_status, 404);
    json_decref(a.body);

    /* A stale resourceVersion: 409 Conflict. */
    a = call(k, "PATCH", NS_PATH "/client",
             "{\"metadata\":{\"resourceVersion\":\"1\"},\"spec\":{\"maxCapacity\":4}}",
             "application/merge-patch+json");
    assert_int_equal(a.status, 409);
    assert_int_equal(a.err.code, TT_ECONFLICT);
    json_decref(a.body);

    /* A watch streams events as they happen, bookmarks included. */
    snprintf(path, sizeof(path), NS_PATH "?watch=1&resourceVersion=%s&allowWatchBookmarks=true",
             rv);
    assert_int_equal(tt_kube_watch(k, path, on_event, on_watch_end, &w, &req, &err), TT_OK);
    a = call(k, "PATCH", NS_PATH "/client", "{\"spec\":{\"maxCapacity\":5}}",
             "application/merge-patch+json");
    assert_int_equal(a.status, 200);
    json_decref(a.body);
    run_until(&w.events, 10);
    assert_int_equal(w.events, 1);
    assert_string_equal(w.last_type, "MODIFIED");
    {
        int two = 0;
        double end = ev_time() + 5;
        while (w.bookmarks < 1 && ev_time() < end)
            run_until(&two, 0.1);
    }
    assert_true(w.bookmarks >= 1);
    assert_false(w.ended);
    tt_kube_cancel(req);

    /* Without a valid token: 401, as TT_EACCESS. */
    {
        tt_kube *bad = client_for(write_kubeconfig("bad.json", "{\"token\":\"wrong\"}"));
        a = call(bad, "GET", NS_PATH, NULL, NULL);
        assert_int_equal(a.status, 401);
        assert_int_equal(a.err.code, TT_EACCESS);
        json_decref(a.body);
        tt_kube_destroy(bad);
    }
    tt_kube_destroy(k);
}

/* A token file replaced on disk is read again before the next request: no 401 on the way. */
/* A burst of 100 requests (the bucket allows 100 at once) has at most 32 on the wire; the
 * others wait in the queue and are all answered. */
static void test_requests_on_the_wire_are_bounded(void **state)
{
    enum { N = 100 };
    static struct answer many[N];
    tt_kube_stats st;
    tt_error err;
    tt_kube *k;
    (void)state;
    k = client_for(sim.kubeconfig);
    memset(many, 0, sizeof(many));
    for (int i = 0; i < N; i++)
        assert_int_equal(
            tt_kube_request(k, "GET", NS_PATH, NULL, NULL, answer_cb, &many[i], NULL, &err), TT_OK);
    for (int i = 0; i < N; i++) {
        run_until(&many[i].done, 60);
        assert_int_equal(many[i].status, 200);
        json_decref(many[i].body);
    }
    tt_kube_stats_get(k, &st);
    assert_int_equal(st.requests, N);
    assert_int_equal(st.max_running, 32);
    tt_kube_destroy(k);
}

/* Deferred bodies: built when the request leaves the queue, so only those on the wire exist. */
struct deferred {
    struct answer a;
    int index;
    int built;
    int empty; /* the body function finds nothing left to send */
};
static int deferred_live, deferred_live_max;

static json_t *deferred_body(void *ud)
{
    struct deferred *d = ud;
    char name[32];

    d->built++;
    if (d->empty)
        return NULL;
    if (++deferred_live > deferred_live_max)
        deferred_live_max = deferred_live;
    snprintf(name, sizeof(name), "deferred-%d", d->index);
    return json_pack("{s:s,s:s,s:{s:s},s:{s:{s:{s:s,s:s}},s:i,s:i}}", "apiVersion",
                     "trimtab.dev/v1alpha1", "kind", "ScalingPolicy", "metadata", "name", name,
                     "spec", "target", "ecs", "cluster", "prod", "service", name, "minCapacity", 1,
                     "maxCapacity", 2);
}

static void deferred_cb(void *ud, long status, json_t *body, const tt_error *err)
{
    struct deferred *d = ud;

    if (!d->empty)
        deferred_live--;
    answer_cb(&d->a, status, body, err);
}

static void test_deferred_bodies_are_built_on_the_way_out(void **state)
{
    enum { N = 100 };
    static struct deferred many[N];
    tt_kube_stats st;
    tt_error err;
    tt_kube *k;
    (void)state;
    k = client_for(sim.kubeconfig);
    memset(many, 0, sizeof(many));
    deferred_live = deferred_live_max = 0;
    for (int i = 0; i < N; i++) {
        many[i].index = i;
        many[i].empty = i == N / 2;
        assert_int_equal(tt_kube_request_deferred(k, "POST", NS_PATH, deferred_body, NULL,
                                                  deferred_cb, &many[i], NULL, &err),
                         TT_OK);
    }
    /* Never inside the call: the loop builds them. */
    for (int i = 0; i < N; i++)
        assert_int_equal(many[i].built, 0);
    for (int i = 0; i < N; i++) {
        run_until(&many[i].a.done, 60);
        assert_int_equal(many[i].built, 1);
        if (many[i].empty) {
            assert_int_equal(many[i].a.failed, 1);
            assert_int_equal(many[i].a.err.code, TT_ECANCELLED);
            assert_int_equal(many[i].a.status, 0);
        } else {
            assert_int_equal(many[i].a.status, 201);
        }
        json_decref(many[i].a.body);
    }
    /* Bodies existed only for the requests on the wire, never for the ones in line. */
    assert_true(deferred_live_max <= 32);
    assert_int_equal(deferred_live, 0);
    tt_kube_stats_get(k, &st);
    assert_int_equal(st.requests, N - 1); /* the empty one was not sent */
    tt_kube_destroy(k);
    /* The server has what was sent, and nothing for the empty one. */
    {
        tt_kube *admin = client_for(sim.kubeconfig);
        struct answer a = call(admin, "GET", NS_PATH "/deferred-0", NULL, NULL);
        assert_int_equal(a.status, 200);
        json_decref(a.body);
        a = call(admin, "GET", NS_PATH "/deferred-50", NULL, NULL);
        assert_int_equal(a.status, 404);
        json_decref(a.body);
        for (int i = 0; i < N; i++) {
            char path[200];
            snprintf(path, sizeof(path), NS_PATH "/deferred-%d", i);
            a = call(admin, "DELETE", path, NULL, NULL);
            json_decref(a.body);
        }
        tt_kube_destroy(admin);
    }
}

static void test_token_file_rotation(void **state)
{
    char tokfile[600], user[800], body[400];
    tt_kube *admin = client_for(sim.kubeconfig), *k;
    tt_kube_stats st;
    struct answer a;
    FILE *f;

    (void)state;
    snprintf(tokfile, sizeof(tokfile), "%s/token", sim.dir);
    f = fopen(tokfile, "w");
    assert_non_null(f);
    fprintf(f, "%s\n", sim.token);
    fclose(f);
    snprintf(user, sizeof(user), "{\"tokenFile\":\"%s\"}", tokfile);
    k = client_for(write_kubeconfig("tokfile.json", user));
    a = call(k, "GET", NS_PATH, NULL, NULL);
    assert_int_equal(a.status, 200);
    json_decref(a.body);
    a = call(k, "GET", NS_PATH, NULL, NULL);
    json_decref(a.body);
    tt_kube_stats_get(k, &st);
    assert_int_equal(st.token_reads, 1); /* unchanged: read once */

    control(admin, "DELETE", "calls", NULL);
    snprintf(body, sizeof(body), "{\"tokens\":[\"rotated-1\",\"%s\"]}", sim.token);
    control(admin, "POST", "tokens", body);
    f = fopen(tokfile, "w");
    assert_non_null(f);
    fprintf(f, "rotated-1\n");
    fclose(f);
    control(admin, "POST", "tokens", "{\"tokens\":[\"rotated-1\"]}");
    a = call(k, "GET", NS_PATH, NULL, NULL);
    assert_int_equal(a.status, 200);
    json_decref(a.body);
    tt_kube_stats_get(k, &st);
    assert_int_equal(st.token_reads, 2);
    tt_kube_destroy(admin);
    admin = client_for(write_kubeconfig("admin2.json", "{\"token\":\"rotated-1\"}"));
    assert_int_equal(calls_with_status(admin, 401), 0);
    snprintf(body, sizeof(body), "{\"tokens\":[\"%s\"]}", sim.token);
    control(admin, "POST", "tokens", body);
    tt_kube_destroy(admin);
    tt_kube_destroy(k);
}

/* The exec plugin runs once for a burst of concurrent requests and for later ones while its
 * credential holds, and again once it expires (10 s before expirationTimestamp). */
static void test_exec_plugin_cache(void **state)
{
    char script[600], runs[600], user[900];
    struct answer many[5];
    tt_kube *k;
    tt_kube_stats st;
    tt_error err;
    FILE *f;

    (void)state;
    snprintf(script, sizeof(script), "%s/plugin.sh", sim.dir);
    snprintf(runs, sizeof(runs), "%s/runs", sim.dir);
    f = fopen(script, "w");
    assert_non_null(f);
    /* Valid for 13 s: usable for 2 to 3 s with the 10 s margin (date has whole seconds). */
    fprintf(f,
            "#!/bin/sh\necho run >> '%s'\n"
            "exp=$(date -u -d '+13 seconds' +%%Y-%%m-%%dT%%H:%%M:%%SZ)\n"
            "printf '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":"
            "\"ExecCredential\",\"status\":{\"token\":\"%s\",\"expirationTimestamp\":\"%%s\"}}' "
            "\"$exp\"\n",
            runs, sim.token);
    fclose(f);
    assert_int_equal(chmod(script, 0755), 0);
    snprintf(user, sizeof(user),
             "{\"exec\":{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"command\":\"%s\"}}",
             script);
    k = client_for(write_kubeconfig("exec.json", user));
    memset(many, 0, sizeof(many));
    for (int i = 0; i < 5; i++)
        assert_int_equal(
            tt_kube_request(k, "GET", NS_PATH, NULL, NULL, answer_cb, &many[i], NULL, &err), TT_OK);
    for (int i = 0; i < 5; i++) {
        run_until(&many[i].done, 20);
        assert_int_equal(many[i].status, 200);
        json_decref(many[i].body);
    }
    tt_kube_stats_get(k, &st);
    assert_int_equal(st.exec_runs, 1);
    {
        struct answer a = call(k, "GET", NS_PATH, NULL, NULL);
        assert_int_equal(a.status, 200);
        json_decref(a.body);
    }
    tt_kube_stats_get(k, &st);
    assert_int_equal(st.exec_runs, 1);
    sleep(4);
    {
        struct answer a = call(k, "GET", NS_PATH, NULL, NULL);
        assert_int_equal(a.status, 200);
        json_decref(a.body);
    }
    tt_kube_stats_get(k, &st);
    assert_int_equal(st.exec_runs, 2);
    tt_kube_destroy(k);

    /* A plugin that fails: every waiting request fails with a message naming it. */
    f = fopen(script, "w");
    assert_non_null(f);
    fprintf(f, "#!/bin/sh\nexit 3\n");
    fclose(f);
    k = client_for(write_kubeconfig("exec.json", user));
    {
        struct answer a = call(k, "GET", NS_PATH, NULL, NULL);
        assert_int_equal(a.err.code, TT_ECREDENTIALS);
        assert_non_null(strstr(a.err.message, "plugin.sh"));
        assert_non_null(strstr(a.err.message, "exit status 3"));
    }
    tt_kube_destroy(k);
}

/* ---- the source ---------------------------------------------------------------------------- */

struct recorder {
    char log[8192];
    int upserts, removes, synced;
};

static void rec_upsert(void *ud, tt_resource *r)
{
    struct recorder *x = ud;
    x->upserts++;
    snprintf(x->log + strlen(x->log), sizeof(x->log) - strlen(x->log), "+%s%s%s ", r->name,
             r->has_finalizer ? "" : "(no finalizer!)", r->invalid ? "(invalid)" : "");
    tt_resource_destroy(r);
}

static void rec_remove(void *ud, const char *key)
{
    struct recorder *x = ud;
    x->removes++;
    snprintf(x->log + strlen(x->log), sizeof(x->log) - strlen(x->log), "-%s ",
             strrchr(key, '/') + 1);
}

static void rec_synced(void *ud)
{
    struct recorder *x = ud;
    x->synced++;
    snprintf(x->log + strlen(x->log), sizeof(x->log) - strlen(x->log), "synced ");
}

static const tt_source_handler recorder_handler = {rec_upsert, rec_remove, rec_synced, NULL};

static void run_for(double seconds)
{
    int never = 0;
    run_until(&never, seconds);
}

static void test_source_relist_difference(void **state)
{
    tt_kube *admin = client_for(sim.kubeconfig), *k = client_for(sim.kubeconfig);
    const char *ns[] = {"shop"};
    tt_source_kube_config cfg = {ns, 1, 0.05, 0.2, 0, 0, "test", NULL};
    struct recorder x = {"", 0, 0, 0};
    tt_source_kube *s;
    tt_source_kube_stats st;
    struct answer a;
    tt_error err;

    (void)state;
    create_sp(admin, "ra", 3);
    create_sp(admin, "rb", 3);
    create_sp(admin, "rc", 3);
    s = tt_source_kube_create(loop, k, &cfg, &recorder_handler, &x, &err);
    assert_non_null(s);
    assert_int_equal(tt_source_kube_start(s, &err), TT_OK);
    /* Listed, given the finalizer, then delivered (objects of earlier tests too). */
    {
        double end = ev_time() + 10;
        while ((strstr(x.log, "+ra ") == NULL || strstr(x.log, "+rb ") == NULL ||
                strstr(x.log, "+rc ") == NULL) &&
               ev_time() < end)
            run_for(0.05);
    }
    assert_int_equal(x.synced, 1);
    assert_non_null(strstr(x.log, "+ra "));
    assert_null(strstr(x.log, "no finalizer"));
    a = call(admin, "GET", NS_PATH "/ra", NULL, NULL);
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(json_object_get(a.body, "metadata"), "finalizers"), 0)),
                        TT_KUBE_FINALIZER);
    json_decref(a.body);

    /* A status-only change is not delivered. */
    x.log[0] = '\0';
    {
        json_t *status = json_pack("{s:i}", "observedGeneration", 1);
        tt_source_kube_sink.status(s, "ScalingPolicy/shop/ra", status);
        json_decref(status);
    }
    run_for(0.5);
    a = call(admin, "GET", NS_PATH "/ra", NULL, NULL);
    assert_int_equal(json_integer_value(
                         json_object_get(json_object_get(a.body, "status"), "observedGeneration")),
                     1);
    json_decref(a.body);
    assert_string_equal(x.log, "");

    /* Watches fail while rb changes, rc is deleted and rd appears; then the history is
     * compacted: the watch gets 410 and the relist delivers exactly the difference. */
    control(admin, "POST", "faults", "{\"kind\":\"error\",\"status\":503,\"watch\":true}");
    control(admin, "POST", "watches/drop", NULL);
    run_for(0.2);
    a = call(admin, "PATCH", NS_PATH "/rb", "{\"spec\":{\"maxCapacity\":9}}",
             "application/merge-patch+json");
    assert_int_equal(a.status, 200);
    json_decref(a.body);
    a = call(admin, "DELETE", NS_PATH "/rc", NULL, NULL);
    assert_int_equal(a.status, 200); /* held by the finalizer: deletionTimestamp set */
    json_decref(a.body);
    create_sp(admin, "rd", 3);
    control(admin, "POST", "compact", NULL);
    control(admin, "DELETE", "faults", NULL);
    {
        double end = ev_time() + 10;
        while ((strstr(x.log, "+rd ") == NULL || strstr(x.log, "-rc ") == NULL ||
                strstr(x.log, "+rb ") == NULL) &&
               ev_time() < end)
            run_for(0.05);
    }
    run_for(0.5);
    tt_source_kube_stats_get(s, &st);
    assert_true(st.relists >= 1);
    /* rb changed, rc is being deleted, rd is new (finalizer first): nothing for ra. */
    assert_non_null(strstr(x.log, "+rb "));
    assert_null(strstr(x.log, "+rc ")); /* known: only its removal is news */
    assert_non_null(strstr(x.log, "-rc "));
    assert_non_null(strstr(x.log, "+rd "));
    assert_null(strstr(x.log, "+ra "));
    assert_int_equal(x.synced, 1); /* once, at the first listing only */

    /* What the engine lets go while it rests comes back from the cache as last delivered: ra
     * through its status-only change, rb as changed; nothing for rc (being deleted) nor for a
     * key never seen. */
    {
        const char *keys[] = {"ScalingPolicy/shop/ra", "ScalingPolicy/shop/rb",
                              "ScalingPolicy/shop/rc", "ScalingPolicy/shop/zz"};
        tt_resource *out[4];
        tt_source_kube_rebuild(s, keys, 4, out);
        assert_non_null(out[0]);
        assert_string_equal(out[0]->key, keys[0]);
        assert_int_equal(out[0]->spec.sp->max_capacity.v, 3);
        assert_non_null(out[1]);
        assert_int_equal(out[1]->spec.sp->max_capacity.v, 9);
        assert_null(out[2]);
        assert_null(out[3]);
        for (int i = 0; i < 4; i++)
            tt_resource_destroy(out[i]);
        tt_source_kube_stats_get(s, &st);
        assert_int_equal(st.rebuilds, 1);
    }

    /* The engine reports rc's removal done: the finalizer goes, and the object with it. */
    x.log[0] = '\0';
    tt_source_kube_sink.released(s, "ScalingPolicy/shop/rc");
    {
        double end = ev_time() + 10;
        while (strstr(x.log, "-rc") == NULL && ev_time() < end) {
            a = call(admin, "GET", NS_PATH "/rc", NULL, NULL);
            json_decref(a.body);
            if (a.status == 404)
                break;
            run_for(0.05);
        }
        assert_int_equal(a.status, 404);
    }
    tt_source_kube_destroy(s);
    tt_kube_destroy(k);
    tt_kube_destroy(admin);
}

/* A status write waiting for its turn sends the latest status once; events waiting for the API
 * server are bounded, the rest dropped and counted. */
static void test_source_writes_latest_and_bounds_events(void **state)
{
    tt_kube *admin = client_for(sim.kubeconfig), *k = client_for(sim.kubeconfig);
    const char *ns[] = {"shop"};
    tt_source_kube_config cfg = {ns, 1, 0.05, 0.2, 0, 0, "test", NULL};
    struct recorder x = {"", 0, 0, 0};
    tt_source_kube *s;
    tt_source_kube_stats st;
    struct answer a;
    tt_error err;
    json_t *status;

    (void)state;
    create_sp(admin, "latest", 3);
    s = tt_source_kube_create(loop, k, &cfg, &recorder_handler, &x, &err);
    assert_non_null(s);
    assert_int_equal(tt_source_kube_start(s, &err), TT_OK);
    {
        double end = ev_time() + 10;
        while (strstr(x.log, "+latest ") == NULL && ev_time() < end)
            run_for(0.05);
    }
    assert_non_null(strstr(x.log, "+latest "));
    run_for(0.3);

    /* Two statuses before the first write leaves: one write, carrying the second. */
    for (int gen = 1; gen <= 2; gen++) {
        status = json_pack("{s:i}", "observedGeneration", gen);
        tt_source_kube_sink.status(s, "ScalingPolicy/shop/latest", status);
        json_decref(status);
    }
    tt_source_kube_stats_get(s, &st);
    assert_int_equal(st.status_writes, 0); /* not built yet: it waits for the loop */
    {
        json_int_t seen = 0;
        double end = ev_time() + 10;
        while (seen != 2 && ev_time() < end) {
            run_for(0.05);
            a = call(admin, "GET", NS_PATH "/latest", NULL, NULL);
            seen = json_integer_value(
                json_object_get(json_object_get(a.body, "status"), "observedGeneration"));
            json_decref(a.body);
        }
        assert_int_equal(seen, 2);
    }
    run_for(0.3); /* room for a second write, which must not come */
    tt_source_kube_stats_get(s, &st);
    assert_int_equal(st.status_writes, 1);
    /* The cache keeps the status's hash, not its text: handling the cached objects again (as a
     * replica that starts leading does) still knows the server has that status. */
    tt_source_kube_lead(s);
    status = json_pack("{s:i}", "observedGeneration", 2);
    tt_source_kube_sink.status(s, "ScalingPolicy/shop/latest", status);
    json_decref(status);
    run_for(0.3);
    tt_source_kube_stats_get(s, &st);
    assert_int_equal(st.status_writes, 1);

    /* 1,100 distinct events at once: 1,000 wait for the server, 100 are dropped. */
    for (int i = 0; i < 1100; i++) {
        char note[40];
        snprintf(note, sizeof(note), "event %d", i);
        tt_source_kube_sink.event(s, "ScalingPolicy/shop/latest", "Normal", "Test", note);
    }
    tt_source_kube_stats_get(s, &st);
    assert_int_equal(st.events_created, 1000);
    assert_int_equal(st.events_dropped, 100);
    /* A repeat of one already sent only counts in its series: nothing is dropped. */
    tt_source_kube_sink.event(s, "ScalingPolicy/shop/latest", "Normal", "Test", "event 0");
    tt_source_kube_stats_get(s, &st);
    assert_int_equal(st.events_dropped, 100);
    /* Once the server has answered some, there is room again. */
    {
        double end = ev_time() + 20;
        unsigned long dropped = 100;
        do {
            run_for(0.1);
            tt_source_kube_sink.event(s, "ScalingPolicy/shop/latest", "Normal", "Test", "one more");
            tt_source_kube_stats_get(s, &st);
        } while (st.events_created == 1000 && ++dropped && ev_time() < end);
        assert_int_equal(st.events_created, 1001);
        assert_int_equal(st.events_dropped, dropped);
    }
    tt_source_kube_destroy(s);
    tt_kube_destroy(k);
    tt_kube_destroy(admin);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client),
        cmocka_unit_test(test_requests_on_the_wire_are_bounded),
        cmocka_unit_test(test_deferred_bodies_are_built_on_the_way_out),
        cmocka_unit_test(test_token_file_rotation),
        cmocka_unit_test(test_exec_plugin_cache),
        cmocka_unit_test(test_source_relist_difference),
        cmocka_unit_test(test_source_writes_latest_and_bounds_events),
    };
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
