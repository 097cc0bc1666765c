/*
 * tt_kube_config — where the Kubernetes API server is and how to authenticate to it.
 *
 * The same lookup as controller-runtime: `--kubeconfig FILE`; else `KUBECONFIG` (several files
 * separated by ':', merged as kubectl merges them: the first file to name a cluster, context or
 * user wins, and the first current-context wins); else the in-cluster configuration (the
 * service-account token, CA and namespace under /var/run/secrets/kubernetes.io/serviceaccount
 * with KUBERNETES_SERVICE_HOST/PORT); else ~/.kube/config. A context is `--context` or the
 * current-context. Paths inside a kubeconfig file are relative to that file.
 *
 * The result holds everything a request needs: the server URL, the CA and client certificate
 * as PEM in memory (files are read here, once), a static token, a token file (read again
 * whenever it changes on disk, as projected service-account tokens rotate), or an exec
 * credential plugin (client.authentication.k8s.io/v1 ExecCredential, run by tt_kube). TLS is
 * always verified: insecure-skip-tls-verify is refused.
 *
 * Nothing here logs or returns a token in an error message.
 */
#ifndef TT_KUBE_CONFIG_H
#define TT_KUBE_CONFIG_H

#include <jansson.h>
#include <stddef.h>

#include "tt_error.h"

#define TT_KUBE_INCLUSTER_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

/* One argument or environment variable of an exec plugin. */
typedef struct tt_kube_exec {
    char *command;     /* resolved against the kubeconfig's directory when it holds a '/' */
    char **args;       /* NULL-terminated */
    char **env;        /* "NAME=value", NULL-terminated; added to trimtab's environment */
    char *api_version; /* client.authentication.k8s.io/v1 (v1beta1 is accepted too) */
} tt_kube_exec;

typedef struct tt_kube_config {
    char *server;     /* "https://host:port" without a trailing slash */
    char *context;    /* the context used, or "in-cluster" */
    char *namespace_; /* the context's namespace (or the service account's), or NULL */
    char *ca_pem;     /* trusted roots; NULL: the system's */
    size_t ca_pem_len;
    char *cert_pem; /* client certificate and key, or NULL */
    size_t cert_pem_len;
    char *key_pem;
    size_t key_pem_len;
    char *token;        /* a static bearer token, or NULL */
    char *token_file;   /* a bearer token read again whenever the file changes, or NULL */
    tt_kube_exec *exec; /* an exec credential plugin, or NULL */
} tt_kube_config;

typedef struct tt_kube_config_opts {
    const char *kubeconfig;    /* --kubeconfig; NULL: KUBECONFIG, in-cluster, ~/.kube/config */
    const char *context;       /* --context; NULL: the current-context */
    const char *incluster_dir; /* NULL: TT_KUBE_INCLUSTER_DIR (tests point elsewhere) */
} tt_kube_config_opts;

/* Finds and resolves the configuration as described above. On TT_OK the caller owns `*out`
 * (tt_kube_config_destroy). Errors name the file and the field at fault. */
tt_code tt_kube_config_load(const tt_kube_config_opts *opts, tt_kube_config **out, tt_error *err);

/* Accepts NULL. */
void tt_kube_config_destroy(tt_kube_config *c);

/* ---- the pieces, for tests and the fuzz target ------------------------------------------- */

/*
 * Parses one kubeconfig document (YAML or JSON) read from `file` and makes its relative paths
 * absolute against the file's directory. On TT_OK `*out` is a new reference to an object.
 */
tt_code tt_kube_config_parse(const char *data, size_t len, const char *file, json_t **out,
                             tt_error *err);

/* Merges `from` into `into` with kubectl's rules: named clusters, contexts and users are added
 * only when `into` has none of that name; current-context only when `into` has none. */
tt_code tt_kube_config_merge(json_t *into, const json_t *from, tt_error *err);

/* Builds the configuration of `context` (NULL: current-context) of a merged document; reads
 * the files it names. On TT_OK the caller owns `*out`. */
tt_code tt_kube_config_resolve(const json_t *doc, const char *context, tt_kube_config **out,
                               tt_error *err);

/* The in-cluster configuration from `dir` (token, ca.crt, namespace) and
 * KUBERNETES_SERVICE_HOST/PORT. TT_ENOTFOUND when not running in a cluster. */
tt_code tt_kube_config_incluster(const char *dir, tt_kube_config **out, tt_error *err);

/* Reads a small file whole (at most 1 MiB): `*out` malloc'd and NUL-terminated. The message
 * names the file, never its content. */
tt_code tt_kube_read_file(const char *path, char **out, size_t *len, tt_error *err);

/* Decodes standard base64 (as kubeconfig's *-data fields hold). On TT_OK `*out` is malloc'd,
 * NUL-terminated, `*len` bytes long. */
tt_code tt_kube_base64_decode(const char *in, size_t inlen, char **out, size_t *len);

#endif
