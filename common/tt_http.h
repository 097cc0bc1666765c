/*
 * tt_http — HTTP transfers on the libev loop through one long-lived curl multi handle.
 *
 * curl's multi "socket" interface is driven by libev (CURLMOPT_SOCKETFUNCTION sets one ev_io
 * per socket, CURLMOPT_TIMERFUNCTION one ev_timer), so any number of transfers run at once on
 * the caller's loop with no thread and no blocking call. Connections, DNS answers and TLS
 * sessions are shared by every transfer and reused. TLS peer and host verification are always
 * on; only http and https are allowed.
 *
 * Life cycle of a transfer: tt_http_start() → exactly one callback, unless tt_http_cancel()
 * is called first (then none). When tt_http_start() fails the callback is never called.
 */
#ifndef TT_HTTP_H
#define TT_HTTP_H

#include <stddef.h>

#include "tt_buf.h"
#include "tt_error.h"

struct ev_loop;
typedef struct tt_http tt_http;
typedef struct tt_http_xfer tt_http_xfer;

typedef struct tt_http_request {
    const char *method; /* "GET", "POST", "PUT", "DELETE", "HEAD" */
    const char *url;
    const char *const *headers; /* "Name: value" lines, borrowed until the callback */
    size_t nheaders;
    const void *body; /* borrowed until the callback; NULL for none */
    size_t body_len;
    long connect_timeout_ms; /* 0: 5 s */
    long timeout_ms;         /* whole transfer; 0: 60 s */
    size_t max_response;     /* body bytes accepted; 0: 16 MiB (buffered bodies only) */
    /*
     * TLS material for this request only, PEM in memory (borrowed until tt_http_start returns;
     * curl copies it). `ca_pem` replaces the trusted roots (a cluster's own CA); a client
     * certificate and key authenticate the client. Verification of the peer stays on.
     */
    const char *ca_pem;
    size_t ca_pem_len;
    const char *cert_pem;
    size_t cert_pem_len;
    const char *key_pem;
    size_t key_pem_len;
    /*
     * Streaming (a Kubernetes watch): when set, the body of a 2xx response is handed to
     * `on_data` as it arrives instead of being buffered (other statuses are buffered as usual,
     * so their error document can be read). Return 0 to go on, anything else to abort the
     * transfer (the callback then gets TT_ECANCELLED). `timeout_ms` < 0 means no overall
     * timeout; a stream ends when the server closes it.
     */
    int (*on_data)(void *ud, const char *data, size_t len);
} tt_http_request;

typedef struct tt_http_response_header {
    char *name;  /* as received */
    char *value; /* trimmed */
} tt_http_response_header;

typedef struct tt_http_response {
    long status;
    tt_http_response_header *headers;
    size_t nheaders;
    tt_buf body;
} tt_http_response;

/*
 * Called once per transfer. On a transport failure `err` is set (TT_EUNAVAILABLE for
 * connection failures and resets, with `timed_out` set for timeouts; TT_ELIMIT for an
 * oversized response) and `resp` may be partial. Everything passed is borrowed for the
 * duration of the call.
 */
typedef void (*tt_http_cb)(void *ud, const tt_http_response *resp, const tt_error *err,
                           int timed_out);

/*
 * Creates the transfer engine on `loop`, with at most `max_host_connections` connections per
 * host (0: no limit; transfers beyond it wait for a free connection). NULL with `err` set.
 */
tt_http *tt_http_create(struct ev_loop *loop, long max_host_connections, tt_error *err);

/*
 * Trusts the CA certificates in `path` (PEM) instead of the system's, as the AWS SDKs do for
 * AWS_CA_BUNDLE / ca_bundle; NULL returns to the system store. Peers are always verified.
 */
tt_code tt_http_set_ca_bundle(tt_http *h, const char *path, tt_error *err);

/*
 * Cancels every transfer still running (their callbacks are not called) and frees the engine.
 * Accepts NULL. Must not be called from inside a transfer callback.
 */
void tt_http_destroy(tt_http *h);

/*
 * Starts a transfer. On TT_OK the callback will be called exactly once (unless the transfer is
 * cancelled) and, when `out` is not NULL, *out identifies it for tt_http_cancel().
 */
tt_code tt_http_start(tt_http *h, const tt_http_request *req, tt_http_cb cb, void *ud,
                      tt_http_xfer **out, tt_error *err);

/* Stops a transfer before its callback has run; the callback will not be called. */
void tt_http_cancel(tt_http_xfer *x);

/* The first header named `name` (case-insensitive), or NULL. */
const char *tt_http_header(const tt_http_response *resp, const char *name);

/* Transfers in flight, for tests and shutdown. */
size_t tt_http_active(const tt_http *h);

#endif
