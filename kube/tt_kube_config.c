#include "tt_kube_config.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "diag.h"
#include "doc.h"
#include "tt_buf.h"

#define MAX_FILE_BYTES       (1024u * 1024)
#define MAX_KUBECONFIG_FILES 16

/* ---- small helpers ------------------------------------------------------------------------ */

tt_code tt_kube_read_file(const char *path, char **out, size_t *len, tt_error *err)
{
    tt_buf b;
    char chunk[8192];
    tt_code rc = TT_OK;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    *out = NULL;
    *len = 0;
    tt_buf_init(&b);
    if (fd < 0)
        return tt_error_set(err, errno == ENOENT ? TT_ENOTFOUND : TT_EIO, "cannot read %s: %s",
                            path, strerror(errno));
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = tt_error_set(err, TT_EIO, "cannot read %s: %s", path, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        if (b.len + (size_t)n > MAX_FILE_BYTES) {
            rc = tt_error_set(err, TT_ELIMIT, "%s is larger than 1 MiB", path);
            goto out;
        }
        if (tt_buf_append(&b, chunk, (size_t)n) != TT_OK) {
            rc = tt_error_set(err, TT_ENOMEM, "out of memory reading %s", path);
            goto out;
        }
    }
    *len = b.len;
    *out = tt_buf_steal(&b);
    if (*out == NULL)
        rc = tt_error_set(err, TT_ENOMEM, "out of memory reading %s", path);
out:
    close(fd);
    tt_buf_cleanup(&b);
    return rc;
}

tt_code tt_kube_base64_decode(const char *in, size_t inlen, char **out, size_t *len)
{
    tt_buf b;
    char *clean = malloc(inlen + 1);
    size_t n = 0;
    tt_code rc;

    *out = NULL;
    *len = 0;
    if (clean == NULL)
        return TT_ENOMEM;
    /* Line breaks and spaces are allowed inside, as `base64` writes them. */
    for (size_t i = 0; i < inlen; i++) {
        if (in[i] != '\n' && in[i] != '\r' && in[i] != ' ' && in[i] != '\t')
            clean[n++] = in[i];
    }
    tt_buf_init(&b);
    rc = n % 4 != 0 ? TT_EINVAL : tt_buf_base64_decode(&b, clean, n);
    if (rc == TT_OK && tt_buf_reserve(&b, 1) != TT_OK) /* an empty result still gets a buffer */
        rc = TT_ENOMEM;
    if (rc == TT_OK) {
        *len = b.len;
        *out = tt_buf_steal(&b);
    }
    tt_buf_cleanup(&b);
    free(clean);
    return rc;
}

static const char *jstr(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s != NULL && s[0] != '\0' ? s : NULL;
}

/* ---- parse and merge ---------------------------------------------------------------------- */

/* Makes obj[key] absolute against `dir` when it is a relative path. */
static tt_code absolutize(json_t *obj, const char *key, const char *dir, tt_error *err)
{
    const char *v = jstr(obj, key);
    char *joined;

    if (v == NULL || v[0] == '/' || dir == NULL)
        return TT_OK;
    if (strcmp(key, "command") == 0 && strchr(v, '/') == NULL)
        return TT_OK; /* a bare command name is looked up in PATH, as kubectl does */
    size_t n = strlen(dir) + strlen(v) + 2;
    joined = malloc(n);
    if (joined == NULL)
        return tt_error_set(err, TT_ENOMEM, "out of memory");
    snprintf(joined, n, "%s/%s", dir, v);
    json_object_set_new(obj, key, json_string(joined));
    free(joined);
    return TT_OK;
}

static tt_code absolutize_all(json_t *doc, const char *dir, tt_error *err)
{
    static const char *const cluster_keys[] = {"certificate-authority", NULL};
    static const char *const user_keys[] = {"client-certificate", "client-key", "tokenFile", NULL};
    struct {
        const char *list, *inner;
        const char *const *keys;
    } lists[] = {{"clusters", "cluster", cluster_keys}, {"users", "user", user_keys}};
    tt_code rc = TT_OK;

    for (size_t l = 0; l < 2 && rc == TT_OK; l++) {
        size_t i;
        json_t *item;
        json_array_foreach(json_object_get(doc, lists[l].list), i, item)
        {
            json_t *inner = json_object_get(item, lists[l].inner);
            if (!json_is_object(inner))
                continue;
            for (size_t k = 0; lists[l].keys[k] != NULL && rc == TT_OK; k++)
                rc = absolutize(inner, lists[l].keys[k], dir, err);
            if (rc == TT_OK && json_is_object(json_object_get(inner, "exec")))
                rc = absolutize(json_object_get(inner, "exec"), "command", dir, err);
        }
    }
    return rc;
}

tt_code tt_kube_config_parse(const char *data, size_t len, const char *file, json_t **out,
                             tt_error *err)
{
    tt_docs docs;
    tt_diags *diags = tt_diags_create();
    tt_code rc;
    char *dir = NULL;

    *out = NULL;
    if (diags == NULL)
        return tt_error_set(err, TT_ENOMEM, "out of memory");
    tt_docs_init(&docs);
    rc = tt_doc_parse(data, len, file, NULL, diags, &docs);
    if (rc == TT_ENOMEM) {
        tt_error_set(err, rc, "out of memory parsing %s", file);
        goto out;
    }
    if (rc != TT_OK || tt_diags_errors(diags) > 0) {
        const tt_diag *g = tt_diags_get(diags, 0);
        rc = tt_error_set(err, TT_EPARSE, "%s:%d: %s", file, g != NULL ? g->line : 0,
                          g != NULL ? g->message : "cannot be parsed");
        goto out;
    }
    if (docs.len == 0) {
        /* An empty kubeconfig is valid (kubectl creates them); it names nothing. */
        *out = json_object();
        rc = *out != NULL ? TT_OK : tt_error_set(err, TT_ENOMEM, "out of memory");
        goto out;
    }
    if (docs.len > 1 || !json_is_object(docs.items[0].root)) {
        rc = tt_error_set(err, TT_EPARSE, "%s: a kubeconfig is one mapping", file);
        goto out;
    }
    for (size_t l = 0; l < 3; l++) {
        static const char *const names[] = {"clusters", "contexts", "users"};
        const json_t *v = json_object_get(docs.items[0].root, names[l]);
        if (v != NULL && !json_is_array(v) && !json_is_null(v)) {
            rc = tt_error_set(err, TT_EPARSE, "%s: %s: must be a list", file, names[l]);
            goto out;
        }
    }
    if (file != NULL && strrchr(file, '/') != NULL) {
        dir = strndup(file, (size_t)(strrchr(file, '/') - file));
        if (dir == NULL) {
            rc = tt_error_set(err, TT_ENOMEM, "out of memory");
            goto out;
        }
    } else if (file != NULL) {
        dir = strdup(".");
    }
    rc = absolutize_all(docs.items[0].root, dir, err);
    if (rc != TT_OK)
        goto out;
    *out = json_incref(docs.items[0].root);
out:
    free(dir);
    tt_docs_cleanup(&docs);
    tt_diags_destroy(diags);
    return rc;
}

/* The entry named `name` of the list `list` of `doc`, or NULL. */
static json_t *named(const json_t *doc, const char *list, const char *name)
{
    size_t i;
    json_t *item;

    json_array_foreach(json_object_get(doc, list), i, item)
    {
        const char *n = json_string_value(json_object_get(item, "name"));
        if (n != NULL && name != NULL && strcmp(n, name) == 0)
            return item;
    }
    return NULL;
}

tt_code tt_kube_config_merge(json_t *into, const json_t *from, tt_error *err)
{
    static const char *const lists[] = {"clusters", "contexts", "users"};

    for (size_t l = 0; l < 3; l++) {
        json_t *dst = json_object_get(into, lists[l]);
        size_t i;
        json_t *item;
        if (!json_is_array(dst)) {
            dst = json_array();
            if (dst == NULL || json_object_set_new(into, lists[l], dst) != 0)
                return tt_error_set(err, TT_ENOMEM, "out of memory");
        }
        json_array_foreach(json_object_get(from, lists[l]), i, item)
        {
            const char *n = json_string_value(json_object_get(item, "name"));
            if (n == NULL || named(into, lists[l], n) != NULL)
                continue; /* the first file to name it wins */
            if (json_array_append(dst, item) != 0)
                return tt_error_set(err, TT_ENOMEM, "out of memory");
        }
    }
    if (jstr(into, "current-context") == NULL && jstr(from, "current-context") != NULL)
        json_object_set(into, "current-context", json_object_get(from, "current-context"));
    return TT_OK;
}

/* ---- resolve ------------------------------------------------------------------------------ */

void tt_kube_config_destroy(tt_kube_config *c)
{
    if (c == NULL)
        return;
    free(c->server);
    free(c->context);
    free(c->namespace_);
    free(c->ca_pem);
    free(c->cert_pem);
    free(c->key_pem);
    if (c->token != NULL)
        OPENSSL_cleanse(c->token, strlen(c->token));
    free(c->token);
    free(c->token_file);
    if (c->exec != NULL) {
        free(c->exec->command);
        for (size_t i = 0; c->exec->args != NULL && c->exec->args[i] != NULL; i++)
            free(c->exec->args[i]);
        free(c->exec->args);
        for (size_t i = 0; c->exec->env != NULL && c->exec->env[i] != NULL; i++)
            free(c->exec->env[i]);
        free(c->exec->env);
        free(c->exec->api_version);
        free(c->exec);
    }
    free(c);
}

/* PEM from `<field>-data` (base64) or the file `<field>`; NULL when neither is set. */
static tt_code pem_of(const json_t *obj, const char *field, const char *what, char **pem,
                      size_t *len, tt_error *err)
{
    char data_key[64];
    const char *data, *path;
    tt_code rc;

    snprintf(data_key, sizeof(data_key), "%s-data", field);
    data = jstr(obj, data_key);
    path = jstr(obj, field);
    if (data != NULL) {
        rc = tt_kube_base64_decode(data, strlen(data), pem, len);
        if (rc == TT_EINVAL)
            return tt_error_set(err, rc, "%s: %s is not valid base64", what, data_key);
        if (rc != TT_OK)
            return tt_error_set(err, rc, "out of memory");
        return TT_OK;
    }
    if (path != NULL) {
        rc = tt_kube_read_file(path, pem, len, err);
        if (rc != TT_OK)
            tt_error_prefix(err, "%s: %s", what, field);
        return rc;
    }
    return TT_OK;
}

static char **strv_new(size_t n)
{
    return calloc(n + 1, sizeof(char *));
}

static tt_code resolve_exec(const json_t *ex, const char *user, tt_kube_config *c, tt_error *err)
{
    const json_t *args = json_object_get(ex, "args"), *env = json_object_get(ex, "env");
    const char *cmd = jstr(ex, "command"), *api = jstr(ex, "apiVersion");
    size_t i;
    json_t *v;

    if (cmd == NULL)
        return tt_error_set(err, TT_EINVAL, "user %s: exec.command is required", user);
    if (api == NULL || (strcmp(api, "client.authentication.k8s.io/v1") != 0 &&
                        strcmp(api, "client.authentication.k8s.io/v1beta1") != 0))
        return tt_error_set(err, TT_EUNSUPPORTED,
                            "user %s: exec.apiVersion must be client.authentication.k8s.io/v1 "
                            "(or v1beta1), not %s",
                            user, api != NULL ? api : "(none)");
    c->exec = calloc(1, sizeof(*c->exec));
    if (c->exec == NULL || (c->exec->command = strdup(cmd)) == NULL ||
        (c->exec->api_version = strdup(api)) == NULL ||
        (c->exec->args = strv_new(json_array_size(args))) == NULL ||
        (c->exec->env = strv_new(json_array_size(env))) == NULL)
        return tt_error_set(err, TT_ENOMEM, "out of memory");
    json_array_foreach(args, i, v)
    {
        if (!json_is_string(v))
            return tt_error_set(err, TT_EINVAL, "user %s: exec.args[%zu] must be a string", user,
                                i);
        if ((c->exec->args[i] = strdup(json_string_value(v))) == NULL)
            return tt_error_set(err, TT_ENOMEM, "out of memory");
    }
    json_array_foreach(env, i, v)
    {
        const char *n = jstr(v, "name"), *val = json_string_value(json_object_get(v, "value"));
        if (n == NULL || val == NULL)
            return tt_error_set(err, TT_EINVAL, "user %s: exec.env[%zu] needs a name and a value",
                                user, i);
        size_t len = strlen(n) + strlen(val) + 2;
        if ((c->exec->env[i] = malloc(len)) == NULL)
            return tt_error_set(err, TT_ENOMEM, "out of memory");
        snprintf(c->exec->env[i], len, "%s=%s", n, val);
    }
    return TT_OK;
}

tt_code tt_kube_config_resolve(const json_t *doc, const char *context, tt_kube_config **out,
                               tt_error *err)
{
    tt_kube_config *c = calloc(1, sizeof(*c));
    const json_t *ctx, *cluster, *user = NULL, *entry;
    const char *server, *user_name, *cluster_name, *tok;
    size_t n;
    tt_code rc = TT_ENOMEM;

    *out = NULL;
    if (c == NULL)
        return tt_error_set(err, TT_ENOMEM, "out of memory");
    if (context == NULL)
        context = jstr(doc, "current-context");
    if (context == NULL) {
        rc = tt_error_set(err, TT_EINVAL,
                          "the kubeconfig has no current-context; pass --context NAME");
        goto out;
    }
    entry = named(doc, "contexts", context);
    ctx = json_object_get(entry, "context");
    if (!json_is_object(ctx)) {
        rc = tt_error_set(err, TT_ENOTFOUND, "context %s is not in the kubeconfig", context);
        goto out;
    }
    cluster_name = jstr(ctx, "cluster");
    cluster = json_object_get(named(doc, "clusters", cluster_name), "cluster");
    if (!json_is_object(cluster)) {
        rc = tt_error_set(err, TT_ENOTFOUND, "context %s: cluster %s is not in the kubeconfig",
                          context, cluster_name != NULL ? cluster_name : "(none)");
        goto out;
    }
    user_name = jstr(ctx, "user");
    if (user_name != NULL) {
        user = json_object_get(named(doc, "users", user_name), "user");
        if (!json_is_object(user)) {
            rc = tt_error_set(err, TT_ENOTFOUND, "context %s: user %s is not in the kubeconfig",
                              context, user_name);
            goto out;
        }
    }
    server = jstr(cluster, "server");
    if (server == NULL || strncmp(server, "https://", 8) != 0) {
        rc = tt_error_set(err, TT_EINVAL,
                          "cluster %s: server must be an https:// URL (TLS is always verified)",
                          cluster_name);
        goto out;
    }
    if (json_is_true(json_object_get(cluster, "insecure-skip-tls-verify"))) {
        rc = tt_error_set(err, TT_EUNSUPPORTED,
                          "cluster %s: insecure-skip-tls-verify is refused; give the cluster's "
                          "CA (certificate-authority-data)",
                          cluster_name);
        goto out;
    }
    if ((c->server = strdup(server)) == NULL || (c->context = strdup(context)) == NULL)
        goto nomem;
    n = strlen(c->server);
    while (n > 8 && c->server[n - 1] == '/')
        c->server[--n] = '\0';
    if (jstr(ctx, "namespace") != NULL && (c->namespace_ = strdup(jstr(ctx, "namespace"))) == NULL)
        goto nomem;
    rc = pem_of(cluster, "certificate-authority", cluster_name, &c->ca_pem, &c->ca_pem_len, err);
    if (rc != TT_OK)
        goto out;
    if (user != NULL) {
        rc = pem_of(user, "client-certificate", user_name, &c->cert_pem, &c->cert_pem_len, err);
        if (rc == TT_OK)
            rc = pem_of(user, "client-key", user_name, &c->key_pem, &c->key_pem_len, err);
        if (rc != TT_OK)
            goto out;
        if ((c->cert_pem == NULL) != (c->key_pem == NULL)) {
            rc = tt_error_set(err, TT_EINVAL,
                              "user %s: a client certificate needs its key, and a key its "
                              "certificate",
                              user_name);
            goto out;
        }
        if ((tok = jstr(user, "token")) != NULL && (c->token = strdup(tok)) == NULL)
            goto nomem;
        if ((tok = jstr(user, "tokenFile")) != NULL && (c->token_file = strdup(tok)) == NULL)
            goto nomem;
        if (json_is_object(json_object_get(user, "exec"))) {
            rc = resolve_exec(json_object_get(user, "exec"), user_name, c, err);
            if (rc != TT_OK)
                goto out;
        }
        if (json_object_get(user, "auth-provider") != NULL) {
            rc = tt_error_set(err, TT_EUNSUPPORTED,
                              "user %s: auth-provider plugins were removed from Kubernetes; use "
                              "an exec plugin",
                              user_name);
            goto out;
        }
    }
    *out = c;
    c = NULL;
    rc = TT_OK;
    goto out;
nomem:
    rc = tt_error_set(err, TT_ENOMEM, "out of memory");
out:
    tt_kube_config_destroy(c);
    return rc;
}

tt_code tt_kube_config_incluster(const char *dir, tt_kube_config **out, tt_error *err)
{
    const char *host = getenv("KUBERNETES_SERVICE_HOST"), *port = getenv("KUBERNETES_SERVICE_PORT");
    tt_kube_config *c = NULL;
    char path[4096];
    struct stat st;
    size_t n;
    tt_code rc;

    *out = NULL;
    if (dir == NULL)
        dir = TT_KUBE_INCLUSTER_DIR;
    snprintf(path, sizeof(path), "%s/token", dir);
    if (host == NULL || host[0] == '\0' || stat(path, &st) != 0)
        return tt_error_set(err, TT_ENOTFOUND, "not running in a cluster");
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return tt_error_set(err, TT_ENOMEM, "out of memory");
    n = strlen(host) + 32;
    if ((c->server = malloc(n)) == NULL || (c->context = strdup("in-cluster")) == NULL ||
        (c->token_file = strdup(path)) == NULL) {
        rc = tt_error_set(err, TT_ENOMEM, "out of memory");
        goto out;
    }
    /* An IPv6 service address needs brackets in a URL. */
    snprintf(c->server, n, strchr(host, ':') != NULL ? "https://[%s]:%s" : "https://%s:%s", host,
             port != NULL && port[0] != '\0' ? port : "443");
    snprintf(path, sizeof(path), "%s/ca.crt", dir);
    rc = tt_kube_read_file(path, &c->ca_pem, &c->ca_pem_len, err);
    if (rc != TT_OK)
        goto out;
    snprintf(path, sizeof(path), "%s/namespace", dir);
    {
        char *ns = NULL;
        size_t len = 0;
        tt_error ignored;
        if (tt_kube_read_file(path, &ns, &len, &ignored) == TT_OK) {
            while (len > 0 && (ns[len - 1] == '\n' || ns[len - 1] == ' '))
                ns[--len] = '\0';
            c->namespace_ = ns;
        }
    }
    *out = c;
    c = NULL;
out:
    tt_kube_config_destroy(c);
    return rc;
}

/* Reads, parses and merges one file into `merged`. A missing file in KUBECONFIG is skipped,
 * as kubectl does; a missing --kubeconfig is an error. */
static tt_code merge_file(json_t *merged, const char *path, int must_exist, tt_error *err)
{
    char *data = NULL;
    size_t len = 0;
    json_t *doc = NULL;
    tt_code rc = tt_kube_read_file(path, &data, &len, err);

    if (rc == TT_ENOTFOUND && !must_exist)
        return TT_OK;
    if (rc == TT_OK)
        rc = tt_kube_config_parse(data, len, path, &doc, err);
    if (rc == TT_OK)
        rc = tt_kube_config_merge(merged, doc, err);
    json_decref(doc);
    free(data);
    return rc;
}

tt_code tt_kube_config_load(const tt_kube_config_opts *opts, tt_kube_config **out, tt_error *err)
{
    const char *env = getenv("KUBECONFIG"), *home = getenv("HOME");
    json_t *merged = json_object();
    char path[4096];
    tt_code rc = TT_OK;
    int nfiles = 0;

    *out = NULL;
    if (merged == NULL)
        return tt_error_set(err, TT_ENOMEM, "out of memory");
    if (opts->kubeconfig != NULL) {
        rc = merge_file(merged, opts->kubeconfig, 1, err);
        nfiles = 1;
    } else if (env != NULL && env[0] != '\0') {
        const char *p = env;
        while (rc == TT_OK && *p != '\0') {
            size_t n = strcspn(p, ":");
            if (n > 0 && n < sizeof(path)) {
                if (++nfiles > MAX_KUBECONFIG_FILES) {
                    rc = tt_error_set(err, TT_ELIMIT, "KUBECONFIG names more than %d files",
                                      MAX_KUBECONFIG_FILES);
                    break;
                }
                memcpy(path, p, n);
                path[n] = '\0';
                rc = merge_file(merged, path, 0, err);
            }
            p += n;
            if (*p == ':')
                p++;
        }
    } else {
        rc = tt_kube_config_incluster(opts->incluster_dir, out, err);
        if (rc != TT_ENOTFOUND)
            goto out;
        tt_error_clear(err);
        rc = TT_OK;
        if (home == NULL || home[0] == '\0') {
            rc = tt_error_set(err, TT_ENOTFOUND,
                              "no Kubernetes configuration: not in a cluster, no KUBECONFIG, no "
                              "HOME; pass --kubeconfig FILE");
            goto out;
        }
        snprintf(path, sizeof(path), "%s/.kube/config", home);
        rc = merge_file(merged, path, 1, err);
        nfiles = 1;
        if (rc == TT_ENOTFOUND) {
            tt_error_set(err, TT_ENOTFOUND,
                         "no Kubernetes configuration: not in a cluster, no KUBECONFIG and no "
                         "%s; pass --kubeconfig FILE",
                         path);
            goto out;
        }
    }
    if (rc == TT_OK)
        rc = tt_kube_config_resolve(merged, opts->context, out, err);
    if (rc != TT_OK && nfiles > 1)
        tt_error_prefix(err, "KUBECONFIG");
out:
    json_decref(merged);
    return rc;
}
