/*
 * tt_kube — a generic Kubernetes API client on the libev loop.
 *
 * Requests go through the shared HTTP engine (common/tt_http.h: the same curl multi handle as
 * the AWS client, so connections, timers and TLS sessions are shared). Objects are plain JSON
 * (jansson): the client knows paths, verbs and the Status error document, not types.
 *
 * Authentication, per request: a client certificate (TLS), and a bearer token from, in order,
 * the exec credential plugin (run without blocking the loop, its ExecCredential cached until
 * its expirationTimestamp and run again after, or after a 401), the token file (read again when
 * its modification time or size changes, so rotated service-account tokens are picked up), or
 * the static token. Tokens never appear in logs or error messages.
 *
 * A request's callback is called exactly once, unless it is cancelled first; when a start
 * function fails the callback is never called (libuv's rule).
 *
 * A watch is a streaming transfer: the body is split into lines by a size-capped line buffer
 * and each line is decoded as a watch event ({"type": ..., "object": ...}) as it arrives.
 */
#ifndef TT_KUBE_H
#define TT_KUBE_H

#include <jansson.h>
#include <stdint.h>

#include "tt_error.h"

struct ev_loop;
struct tt_http;
struct tt_kube_config;
typedef struct tt_kube tt_kube;
typedef struct tt_kube_req tt_kube_req;

/*
 * The end of a request. `status` is the HTTP status (0 when none came back). `body` is the
 * decoded JSON response (borrowed: json_incref to keep it), or NULL when it was empty or not
 * JSON. On failure `err` carries the code (TT_ENOTFOUND 404, TT_ECONFLICT 409 and 410,
 * TT_EACCESS 401/403, TT_EINVAL 400/422, TT_ETHROTTLED 429, TT_EUNAVAILABLE 5xx and transport
 * failures), `http_status`, the Status reason as `service_code` and its message.
 */
typedef void (*tt_kube_cb)(void *ud, long status, json_t *body, const tt_error *err);

/* A watch's events. `type` is ADDED, MODIFIED, DELETED, BOOKMARK or ERROR; `object` is
 * borrowed for the call. Return 0 to continue, non-zero to stop the watch (its end callback
 * then runs with TT_ECANCELLED). */
typedef int (*tt_kube_event_fn)(void *ud, const char *type, json_t *object);

/*
 * Creates the client. `http` is borrowed and must outlive it; `cfg` is taken over (owned, and
 * destroyed by tt_kube_destroy, or here on failure). NULL with `err` set.
 */
tt_kube *tt_kube_create(struct ev_loop *loop, struct tt_http *http, struct tt_kube_config *cfg,
                        tt_error *err);
/* Cancels every request (their callbacks are not called) and frees. Accepts NULL. */
void tt_kube_destroy(tt_kube *k);

/*
 * Starts a request. `path` starts with '/' ("/apis/trimtab.dev/v1alpha1/scalingpolicies").
 * `body` is borrowed (serialised before return); `content_type` defaults to application/json.
 * `*out` (optional) identifies it for tt_kube_cancel.
 */
tt_code tt_kube_request(tt_kube *k, const char *method, const char *path, const json_t *body,
                        const char *content_type, tt_kube_cb cb, void *ud, tt_kube_req **out,
                        tt_error *err);

/*
 * Builds a deferred request's body: a new reference, or NULL when there is nothing left to
 * send (the request then ends with TT_ECANCELLED, unsent).
 */
typedef json_t *(*tt_kube_body_fn)(void *ud);

/*
 * Like tt_kube_request, but `body` builds the body when the request leaves the client's queue
 * (always from the loop, never inside this call). A request waiting behind the rate limit then
 * holds no body, and what goes out is what is current when it goes: a status written after a
 * long wait carries the latest status and resourceVersion, not those of when it was asked.
 */
tt_code tt_kube_request_deferred(tt_kube *k, const char *method, const char *path,
                                 tt_kube_body_fn body, const char *content_type, tt_kube_cb cb,
                                 void *ud, tt_kube_req **out, tt_error *err);

/*
 * Starts a watch on `path` (which carries ?watch=1 and the resourceVersion). Events go to
 * `on_event` as they arrive; `cb` runs once when the stream ends: with `err` NULL when the
 * server closed it normally, else with the failure (a non-2xx status decodes like a request's).
 */
tt_code tt_kube_watch(tt_kube *k, const char *path, tt_kube_event_fn on_event, tt_kube_cb cb,
                      void *ud, tt_kube_req **out, tt_error *err);

/* Stops a request or watch; its callbacks will not be called. Accepts NULL. */
void tt_kube_cancel(tt_kube_req *r);

/* Sets the User-Agent of every later request to "trimtab/VERSION (`comment`)", so the API
 * server's audit log tells replicas apart (with leader election: the replica's identity).
 * `comment` is copied, cut at 200 bytes; NULL or "" restores the plain product. */
void tt_kube_set_user_agent(tt_kube *k, const char *comment);

/* The configuration in use (borrowed). */
const struct tt_kube_config *tt_kube_config_of(const tt_kube *k);

/* Counters for tests and figures: requests started (watches included), exec plugin runs,
 * token file reads. */
typedef struct tt_kube_stats {
    uint64_t requests;
    uint64_t watches;
    uint64_t exec_runs;
    uint64_t token_reads;
    uint64_t max_running; /* the most requests on the wire at once, watches apart (<= 32) */
} tt_kube_stats;
void tt_kube_stats_get(const tt_kube *k, tt_kube_stats *st);

/* ---- exec credentials, for tests --------------------------------------------------------- */

typedef struct tt_kube_cred {
    char *token;    /* owned, or NULL */
    char *cert_pem; /* owned, or NULL */
    char *key_pem;  /* owned, or NULL */
    double expires; /* seconds since the epoch; 0: never */
} tt_kube_cred;

/* Parses a plugin's standard output (an ExecCredential of `api_version`). On TT_OK `cred` is
 * filled (the caller frees it with tt_kube_cred_cleanup). Messages never hold the token. */
tt_code tt_kube_cred_parse(const char *out, size_t len, const char *api_version, tt_kube_cred *cred,
                           tt_error *err);
void tt_kube_cred_cleanup(tt_kube_cred *cred);
/* True when the credential can be used at `now` (seconds since the epoch): it has something
 * and has not expired. */
int tt_kube_cred_usable(const tt_kube_cred *cred, double now);

#endif
