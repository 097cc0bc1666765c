/*
 * Unit tests for kube/: kubeconfig parsing, merging and resolution (real files in a temporary
 * directory), the in-cluster configuration, exec credentials (parsing and the expiry rule the
 * client's cache follows), RFC 3339 times, and the watch line buffer (every way a stream can
 * cut a line, the cap).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tt_kube.h"
#include "tt_kube_config.h"
#include "tt_kube_lines.h"
#include "tt_str.h"

/* base64 of "CA PEM", "CERT PEM", "KEY PEM". */
#define CA_B64   "Q0EgUEVN"
#define CERT_B64 "Q0VSVCBQRU0="
#define KEY_B64  "S0VZIFBFTQ=="

static char tmpdir[256];

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/tt-test-kube-XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    unsetenv("KUBECONFIG");
    unsetenv("KUBERNETES_SERVICE_HOST");
    unsetenv("KUBERNETES_SERVICE_PORT");
    return 0;
}

static int teardown(void **state)
{
    char cmd[300];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static char *write_file(const char *name, const char *text)
{
    static char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static const char KUBECONFIG_A[] = "apiVersion: v1\n"
                                   "kind: Config\n"
                                   "current-context: a\n"
                                   "clusters:\n"
                                   "- name: ca\n"
                                   "  cluster:\n"
                                   "    server: https://a.example:6443/\n"
                                   "    certificate-authority-data: " CA_B64 "\n"
                                   "- name: shared\n"
                                   "  cluster: {server: https://from-a.example}\n"
                                   "users:\n"
                                   "- name: ua\n"
                                   "  user:\n"
                                   "    client-certificate-data: " CERT_B64 "\n"
                                   "    client-key-data: " KEY_B64 "\n"
                                   "    token: tok-a\n"
                                   "contexts:\n"
                                   "- name: a\n"
                                   "  context: {cluster: ca, user: ua, namespace: shop}\n"
                                   "- name: shared\n"
                                   "  context: {cluster: shared, user: ua}\n";

static const char KUBECONFIG_B[] = "current-context: b\n"
                                   "clusters:\n"
                                   "- name: cb\n"
                                   "  cluster:\n"
                                   "    server: https://b.example\n"
                                   "    certificate-authority: ca.pem\n"
                                   "- name: shared\n"
                                   "  cluster: {server: https://from-b.example}\n"
                                   "users:\n"
                                   "- name: ub\n"
                                   "  user:\n"
                                   "    tokenFile: token\n"
                                   "- name: ue\n"
                                   "  user:\n"
                                   "    exec:\n"
                                   "      apiVersion: client.authentication.k8s.io/v1\n"
                                   "      command: ./bin/plugin\n"
                                   "      args: [eks, get-token]\n"
                                   "      env: [{name: AWS_PROFILE, value: prod}]\n"
                                   "contexts:\n"
                                   "- name: b\n"
                                   "  context: {cluster: cb, user: ub}\n"
                                   "- name: e\n"
                                   "  context: {cluster: cb, user: ue}\n";

/* A single file: the current context, the CA and client certificate from base64 data, the
 * token, the namespace, and the server without its trailing slash. */
static void test_kubeconfig_single(void **state)
{
    tt_kube_config_opts o = {0};
    tt_kube_config *c = NULL;
    tt_error err;

    (void)state;
    o.kubeconfig = write_file("a.yaml", KUBECONFIG_A);
    assert_int_equal(tt_kube_config_load(&o, &c, &err), TT_OK);
    assert_string_equal(c->server, "https://a.example:6443");
    assert_string_equal(c->context, "a");
    assert_string_equal(c->namespace_, "shop");
    assert_int_equal(c->ca_pem_len, 6);
    assert_memory_equal(c->ca_pem, "CA PEM", 6);
    assert_string_equal(c->cert_pem, "CERT PEM");
    assert_string_equal(c->key_pem, "KEY PEM");
    assert_string_equal(c->token, "tok-a");
    assert_null(c->exec);
    tt_kube_config_destroy(c);

    o.context = "nope";
    assert_int_equal(tt_kube_config_load(&o, &c, &err), TT_ENOTFOUND);
    assert_non_null(strstr(err.message, "context nope"));
    assert_null(c);
}

/* KUBECONFIG with two files: the first to name a cluster, user or context wins, and so does the
 * first current-context; paths are relative to the file that holds them; a missing file in the
 * list is skipped as kubectl skips it. */
static void test_kubeconfig_merge(void **state)
{
    tt_kube_config_opts o = {0};
    tt_kube_config *c = NULL;
    tt_error err;
    char env[2048], a[512], b[512], dir[512];

    (void)state;
    snprintf(a, sizeof(a), "%s", write_file("a.yaml", KUBECONFIG_A));
    snprintf(dir, sizeof(dir), "%s/b", tmpdir);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(b, sizeof(b), "%s", write_file("b/config", KUBECONFIG_B));
    write_file("b/ca.pem", "FILE CA");
    write_file("b/token", "tok-file\n");
    snprintf(env, sizeof(env), "%s/missing:%s:%s", tmpdir, a, b);
    setenv("KUBECONFIG", env, 1);

    assert_int_equal(tt_kube_config_load(&o, &c, &err), TT_OK);
    assert_string_equal(c->context, "a"); /* a's current-context came first */
    tt_kube_config_destroy(c);

    o.context = "shared";
    assert_int_equal(tt_kube_config_load(&o, &c, &err), TT_OK);
    assert_string_equal(c->server, "https://from-a.example");
    tt_kube_config_destroy(c);

    o.context = "b";
    assert_int_equal(tt_kube_config_load(&o, &c, &err), TT_OK);
    assert_string_equal(c->ca_pem, "FILE CA");
    snprintf(env, sizeof(env), "%s/b/token", tmpdir);
    assert_string_equal(c->token_file, env);
    assert_null(c->token);
    tt_kube_config_destroy(c);

    o.context = "e";
    assert_int_equal(tt_kube_config_load(&o, &c, &err), TT_OK);
    assert_non_null(c->exec);
    snprintf(env, sizeof(env), "%s/b/./bin/plugin", tmpdir);
    assert_string_equal(c->exec->command, env);
    assert_string_equal(c->exec->args[0], "eks");
    assert_string_equal(c->exec->args[1], "get-token");
    assert_null(c->exec->args[2]);
    assert_string_equal(c->exec->env[0], "AWS_PROFILE=prod");
    assert_string_equal(c->exec->api_version, "client.authentication.k8s.io/v1");
    tt_kube_config_destroy(c);
    unsetenv("KUBECONFIG");
}

/* The merge itself, on documents: named entries and current-context. */
static void test_kubeconfig_merge_rules(void **state)
{
    json_t *into = json_pack("{s:[{s:s,s:{s:s}}]}", "clusters", "name", "x", "cluster", "server",
                             "https://first");
    json_t *from = json_pack("{s:s,s:[{s:s,s:{s:s}},{s:s,s:{s:s}}]}", "current-context", "y",
                             "clusters", "name", "x", "cluster", "server", "https://second", "name",
                             "y", "cluster", "server", "https://y");
    tt_error err;

    (void)state;
    assert_int_equal(tt_kube_config_merge(into, from, &err), TT_OK);
    assert_int_equal(json_array_size(json_object_get(into, "clusters")), 2);
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_array_get(json_object_get(into, "clusters"), 0), "cluster"),
            "server")),
        "https://first");
    assert_string_equal(json_string_value(json_object_get(into, "current-context")), "y");
    json_decref(into);
    json_decref(from);
}

/* What is refused, with messages that say what to do. */
static void test_kubeconfig_refusals(void **state)
{
    static const struct {
        const char *yaml;
        tt_code code;
        const char *msg;
    } cases[] = {
        {"current-context: c\nclusters: [{name: k, cluster: {server: 'http://plain'}}]\n"
         "contexts: [{name: c, context: {cluster: k}}]\n",
         TT_EINVAL, "https://"},
        {"current-context: c\nclusters: [{name: k, cluster: {server: 'https://h', "
         "insecure-skip-tls-verify: true}}]\ncontexts: [{name: c, context: {cluster: k}}]\n",
         TT_EUNSUPPORTED, "insecure-skip-tls-verify"},
        {"clusters: []\n", TT_EINVAL, "--context"},
        {"current-context: c\nclusters: [{name: k, cluster: {server: 'https://h', "
         "certificate-authority-data: '!!!'}}]\ncontexts: [{name: c, context: {cluster: k}}]\n",
         TT_EINVAL, "base64"},
        {"current-context: c\nclusters: [{name: k, cluster: {server: 'https://h'}}]\n"
         "users: [{name: u, user: {exec: {command: x, apiVersion: "
         "client.authentication.k8s.io/v1alpha1}}}]\n"
         "contexts: [{name: c, context: {cluster: k, user: u}}]\n",
         TT_EUNSUPPORTED, "v1alpha1"},
        {"current-context: c\nclusters: [{name: k, cluster: {server: 'https://h'}}]\n"
         "users: [{name: u, user: {client-certificate-data: " CERT_B64 "}}]\n"
         "contexts: [{name: c, context: {cluster: k, user: u}}]\n",
         TT_EINVAL, "key"},
        {"clusters: {a: 1}\n", TT_EPARSE, "must be a list"},
        {"clusters: [\n", TT_EPARSE, "k.yaml"},
    };
    tt_kube_config_opts o = {0};

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tt_kube_config *c = NULL;
        tt_error err;
        o.kubeconfig = write_file("k.yaml", cases[i].yaml);
        assert_int_equal(tt_kube_config_load(&o, &c, &err), cases[i].code);
        assert_null(c);
        if (strstr(err.message, cases[i].msg) == NULL)
            fail_msg("case %zu: '%s' lacks '%s'", i, err.message, cases[i].msg);
    }
    /* A missing --kubeconfig is an error, not a silent fallback. */
    {
        tt_kube_config *c = NULL;
        tt_error err;
        char path[300];
        snprintf(path, sizeof(path), "%s/none", tmpdir);
        o.kubeconfig = path;
        assert_int_equal(tt_kube_config_load(&o, &c, &err), TT_ENOTFOUND);
    }
}

/* In a cluster: the service-account files and the service's host and port. */
static void test_incluster(void **state)
{
    tt_kube_config_opts o = {0};
    tt_kube_config *c = NULL;
    tt_error err;
    char dir[300], home[300];

    (void)state;
    snprintf(dir, sizeof(dir), "%s/sa", tmpdir);
    assert_int_equal(mkdir(dir, 0700), 0);
    write_file("sa/token", "sa-token\n");
    write_file("sa/ca.crt", "CLUSTER CA");
    write_file("sa/namespace", "trimtab-system\n");
    o.incluster_dir = dir;
    /* Without KUBERNETES_SERVICE_HOST it is not in-cluster: ~/.kube/config is next. */
    snprintf(home, sizeof(home), "%s/home", tmpdir);
    setenv("HOME", home, 1);
    assert_int_equal(tt_kube_config_load(&o, &c, &err), TT_ENOTFOUND);
    assert_non_null(strstr(err.message, ".kube/config"));

    setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "443", 1);
    assert_int_equal(tt_kube_config_load(&o, &c, &err), TT_OK);
    assert_string_equal(c->server, "https://10.0.0.1:443");
    assert_string_equal(c->context, "in-cluster");
    assert_string_equal(c->namespace_, "trimtab-system");
    assert_string_equal(c->ca_pem, "CLUSTER CA");
    assert_non_null(strstr(c->token_file, "sa/token"));
    assert_null(c->token); /* read at each request, so a rotated token is seen */
    tt_kube_config_destroy(c);

    setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
    assert_int_equal(tt_kube_config_load(&o, &c, &err), TT_OK);
    assert_string_equal(c->server, "https://[fd00::1]:443");
    tt_kube_config_destroy(c);
    unsetenv("KUBERNETES_SERVICE_HOST");
    unsetenv("KUBERNETES_SERVICE_PORT");
}

static void test_base64(void **state)
{
    char *out;
    size_t len;

    (void)state;
    assert_int_equal(tt_kube_base64_decode("aGVs\nbG8=", 9, &out, &len), TT_OK);
    assert_int_equal(len, 5);
    assert_string_equal(out, "hello");
    free(out);
    assert_int_equal(tt_kube_base64_decode("abc", 3, &out, &len), TT_EINVAL);
    assert_int_equal(tt_kube_base64_decode("", 0, &out, &len), TT_OK);
    assert_int_equal(len, 0);
    free(out);
}

/* ExecCredential expiry times go through the shared ISO 8601 parser (common/tt_str.c). */
static void test_parse_time(void **state)
{
    double t;

    (void)state;
    assert_int_equal(tt_parse_iso8601("1970-01-01T00:01:00Z", &t), 0);
    assert_true(t == 60);
    assert_int_equal(tt_parse_iso8601("1970-01-01T01:00:00+01:00", &t), 0);
    assert_true(t == 0);
    assert_int_equal(tt_parse_iso8601("1970-01-01T00:00:01.5Z", &t), 0);
    assert_true(t == 1.5);
    assert_int_equal(tt_parse_iso8601("1970-13-01T00:00:00Z", &t), -1);
    assert_int_equal(tt_parse_iso8601("soon", &t), -1);
    assert_int_equal(tt_parse_iso8601("1970-01-01T00:00:00Zjunk", &t), -1);
}

/* An ExecCredential: what is taken, what is refused, and when it stops being used (10 s
 * before its expiry, so a request never carries a token about to lapse). The message of a
 * refusal never holds the token. */
static void test_exec_credential(void **state)
{
    static const char ok[] =
        "{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
        "\"status\":{\"token\":\"k8s-aws-v1.secret\",\"expirationTimestamp\":"
        "\"2030-01-01T00:00:00Z\"}}";
    tt_kube_cred cred;
    tt_error err;
    double exp;

    (void)state;
    assert_int_equal(
        tt_kube_cred_parse(ok, strlen(ok), "client.authentication.k8s.io/v1", &cred, &err), TT_OK);
    assert_string_equal(cred.token, "k8s-aws-v1.secret");
    assert_int_equal(tt_parse_iso8601("2030-01-01T00:00:00Z", &exp), 0);
    assert_true(cred.expires == exp);
    assert_true(tt_kube_cred_usable(&cred, exp - 60));
    assert_false(tt_kube_cred_usable(&cred, exp - 5));
    assert_false(tt_kube_cred_usable(&cred, exp + 1));
    tt_kube_cred_cleanup(&cred);
    assert_false(tt_kube_cred_usable(&cred, 0));

    /* No expiry: used until a 401 says otherwise. */
    {
        const char *noexp = "{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"kind\":"
                            "\"ExecCredential\",\"status\":{\"clientCertificateData\":\"C\","
                            "\"clientKeyData\":\"K\"}}";
        assert_int_equal(tt_kube_cred_parse(noexp, strlen(noexp), NULL, &cred, &err), TT_OK);
        assert_true(tt_kube_cred_usable(&cred, 4e9));
        assert_string_equal(cred.cert_pem, "C");
        tt_kube_cred_cleanup(&cred);
    }
    {
        static const char *bad[] = {
            "not json k8s-aws-v1.secret",
            "{\"kind\":\"Other\",\"status\":{\"token\":\"k8s-aws-v1.secret\"}}",
            "{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"kind\":"
            "\"ExecCredential\",\"status\":{\"token\":\"k8s-aws-v1.secret\"}}",
            "{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\"}",
            "{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
            "\"status\":{\"token\":\"k8s-aws-v1.secret\",\"expirationTimestamp\":\"later\"}}",
            "{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
            "\"status\":{\"clientCertificateData\":\"C\"}}",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            assert_int_equal(tt_kube_cred_parse(bad[i], strlen(bad[i]),
                                                "client.authentication.k8s.io/v1", &cred, &err),
                             TT_EPARSE);
            assert_null(strstr(err.message, "secret"));
            assert_null(cred.token);
        }
    }
}

/* ---- the watch line buffer ---------------------------------------------------------------- */

struct lines_seen {
    char all[4096];
    int n;
    int stop_at; /* return 1 on this line (1-based); 0: never */
};

static int on_line(void *ud, char *line, size_t len)
{
    struct lines_seen *s = ud;
    assert_int_equal(strlen(line), len);
    s->n++;
    strncat(s->all, line, sizeof(s->all) - strlen(s->all) - 2);
    strcat(s->all, "|");
    return s->stop_at == s->n;
}

/* Every split of one stream into two chunks gives the same lines. */
static void test_lines_every_split(void **state)
{
    static const char stream[] = "{\"a\":1}\n\n{\"b\":2}\r\n{\"c\":3}\npartial";
    size_t n = strlen(stream);

    (void)state;
    for (size_t cut = 0; cut <= n; cut++) {
        tt_kube_lines l;
        struct lines_seen s = {"", 0, 0};
        tt_code code;
        tt_kube_lines_init(&l, 0);
        assert_int_equal(tt_kube_lines_feed(&l, stream, cut, on_line, &s, &code), 0);
        assert_int_equal(tt_kube_lines_feed(&l, stream + cut, n - cut, on_line, &s, &code), 0);
        assert_string_equal(s.all, "{\"a\":1}|{\"b\":2}|{\"c\":3}|");
        assert_int_equal(l.partial.len, strlen("partial"));
        tt_kube_lines_cleanup(&l);
    }
    /* Byte by byte. */
    {
        tt_kube_lines l;
        struct lines_seen s = {"", 0, 0};
        tt_code code;
        tt_kube_lines_init(&l, 0);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(tt_kube_lines_feed(&l, stream + i, 1, on_line, &s, &code), 0);
        assert_string_equal(s.all, "{\"a\":1}|{\"b\":2}|{\"c\":3}|");
        tt_kube_lines_reset(&l);
        assert_int_equal(l.partial.len, 0);
        tt_kube_lines_cleanup(&l);
    }
}

/* A line longer than the cap stops the stream with TT_ELIMIT, whether it arrives whole or in
 * pieces; a line of exactly the cap is fine. */
static void test_lines_cap(void **state)
{
    tt_kube_lines l;
    struct lines_seen s = {"", 0, 0};
    tt_code code;

    (void)state;
    tt_kube_lines_init(&l, 8);
    assert_int_equal(tt_kube_lines_feed(&l, "12345678\n", 9, on_line, &s, &code), 0);
    assert_int_equal(s.n, 1);
    assert_int_equal(tt_kube_lines_feed(&l, "12345", 5, on_line, &s, &code), 0);
    assert_int_equal(tt_kube_lines_feed(&l, "6789", 4, on_line, &s, &code), -1);
    assert_int_equal(code, TT_ELIMIT);
    assert_int_equal(l.partial.len, 0);
    assert_int_equal(tt_kube_lines_feed(&l, "123456789\n", 10, on_line, &s, &code), -1);
    assert_int_equal(code, TT_ELIMIT);
    assert_int_equal(s.n, 1);
    tt_kube_lines_cleanup(&l);
}

/* The callback can stop the stream; what came after is not delivered. */
static void test_lines_stop(void **state)
{
    tt_kube_lines l;
    struct lines_seen s = {"", 0, 2};
    tt_code code;

    (void)state;
    tt_kube_lines_init(&l, 0);
    assert_int_equal(tt_kube_lines_feed(&l, "a\nb\nc\n", 6, on_line, &s, &code), 1);
    assert_string_equal(s.all, "a|b|");
    tt_kube_lines_cleanup(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_kubeconfig_single, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kubeconfig_merge, setup, teardown),
        cmocka_unit_test(test_kubeconfig_merge_rules),
        cmocka_unit_test_setup_teardown(test_kubeconfig_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_incluster, setup, teardown),
        cmocka_unit_test(test_base64),
        cmocka_unit_test(test_parse_time),
        cmocka_unit_test(test_exec_credential),
        cmocka_unit_test(test_lines_every_split),
        cmocka_unit_test(test_lines_cap),
        cmocka_unit_test(test_lines_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
