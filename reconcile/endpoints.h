/*
 * tt_endpoints — the operator's HTTP endpoints: Prometheus /metrics on --metrics-addr, /healthz
 * and /readyz on --health-addr (one listener serves all three when the addresses are equal and
 * name a port other than 0).
 *
 * HTTP is libmicrohttpd's, driven from the libev loop through its external-event API: MHD runs
 * without threads, its epoll descriptor is one ev_io, and one ev_timer follows MHD_get_timeout.
 * So a scrape runs on the loop between reconciles, reads the engine's counters without locks,
 * and a stuck loop shows as a probe that times out. See docs/endpoints.md.
 *
 * /healthz: 200 while the loop's heartbeat (a timer the loop runs every second) is recent; 500
 * when it is older than `stall` — the loop is alive but an iteration blocked for that long.
 * /readyz: 200 when the `ready` callback says so (the source is synced), else 503 with why.
 */
#ifndef TT_ENDPOINTS_H
#define TT_ENDPOINTS_H

#include <stdbool.h>
#include <stddef.h>

#include "tt_error.h"

struct ev_loop;
struct tt_buf;

typedef struct tt_endpoints tt_endpoints;

typedef struct tt_endpoints_config {
    const char *metrics_addr; /* "host:port", ":port", "[v6]:port"; NULL or "": no /metrics */
    const char *health_addr;  /* same forms; NULL or "": no /healthz, /readyz */
    /* Appends the /metrics body to `out`; TT_OK or TT_ENOMEM. */
    tt_code (*metrics)(void *ud, struct tt_buf *out);
    /* True when ready; otherwise writes the reason (a sentence) into `why`. */
    bool (*ready)(void *ud, char *why, size_t len);
    void *ud;     /* borrowed; passed to both callbacks */
    double stall; /* /healthz fails when the heartbeat is older than this; 0: 30 s */
} tt_endpoints_config;

/*
 * Binds the listeners and starts serving on `loop` (borrowed: it must outlive the endpoints).
 * NULL with `err` set when an address is malformed or cannot be bound (in use, no permission)
 * or MHD cannot start; nothing is left listening then. Strings in `cfg` are copied.
 */
tt_endpoints *tt_endpoints_create(struct ev_loop *loop, const tt_endpoints_config *cfg,
                                  tt_error *err);

/* Stops every watcher, closes every connection and listener. Accepts NULL. */
void tt_endpoints_destroy(tt_endpoints *ep);

/* The port bound for metrics (which = 0) or health (which = 1); 0 when not listening. Useful
 * when the address asked for port 0 (any free port). */
int tt_endpoints_port(const tt_endpoints *ep, int which);

#endif
