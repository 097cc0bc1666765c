/*
 * tt_leader — leader election with a coordination.k8s.io/v1 Lease, as client-go's
 * leaderelection package does it, on the libev loop and the existing Kubernetes client.
 *
 * Every replica runs a candidate. Each retry period a follower reads the Lease; it takes the
 * Lease (an update carrying the resourceVersion it read, so two candidates cannot both win:
 * one gets 409 Conflict) when it is free (no holder: released) or when its record has not
 * changed for leaseDurationSeconds as measured on the follower's own monotonic clock since it
 * first saw that record — never by comparing renewTime with its wall clock, so clock skew
 * between nodes does not matter. The leader renews every retry period.
 *
 * The safety argument, and why the leader checks its own clock before every write: a renewal
 * sent at local time T is applied by the API server after T, so a follower sees that record
 * at T or later and waits leaseDurationSeconds from then. The leader stops writing at
 * T + renew deadline (the last renewal that succeeded, timed from when it was sent), which is
 * before T + lease duration because the renew deadline is shorter. tt_leader_is_leader is that
 * check; the engine calls it before each AWS call and the Kubernetes source before each write.
 * The difference between the two durations is what a write already on the wire may take.
 *
 * Release (clean shutdown, client-go's ReleaseOnCancel): the leader stops writing, then writes
 * the Lease with no holder, so a follower takes it on its next try instead of waiting out the
 * lease duration.
 *
 * The pure part — what to do given a Lease record, an identity and the time — is separate from
 * the requests (tt_leader_state below) and unit-tested on its own.
 */
#ifndef TT_LEADER_H
#define TT_LEADER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "tt_error.h"

struct ev_loop;
struct tt_kube;
typedef struct tt_leader tt_leader;

typedef struct tt_leader_config {
    const char *name;       /* the Lease's name */
    const char *namespace_; /* the Lease's namespace */
    const char *identity;   /* holderIdentity written by this replica */
    double lease_duration;  /* seconds a follower waits before taking an unrenewed Lease */
    double renew_deadline;  /* seconds after its last renewal at which a leader stops writing */
    double retry_period;    /* seconds between tries */
} tt_leader_config;

/* Checks the durations as client-go does (lease duration > renew deadline > 1.2 × retry
 * period > 0; the lease duration in whole seconds, as leaseDurationSeconds holds it) and that
 * the names are set; TT_EINVAL with a message naming the flags otherwise. */
tt_code tt_leader_validate(const tt_leader_config *cfg, tt_error *err);

/* ---- the decision logic (pure: no I/O, the time is an argument) ------------------------ */

/* What a candidate does after reading the Lease. */
typedef enum tt_leader_action {
    TT_LEADER_WAIT,    /* someone else holds a live Lease: read again after the retry period */
    TT_LEADER_RENEW,   /* this replica holds it: write a new renewTime */
    TT_LEADER_ACQUIRE, /* it is free or expired: take it (acquireTime, leaseTransitions + 1) */
} tt_leader_action;

typedef struct tt_leader_state {
    bool leading;         /* this replica holds the Lease and renewed it in time */
    double renewed_at;    /* when the last successful acquire or renew was sent (monotonic) */
    uint64_t observed_fp; /* fingerprint of the Lease's spec as last read (0: never read) */
    double observed_at;   /* when that spec was first seen (monotonic) */
    char holder[256];     /* its holderIdentity ("" when free) */
    int duration;         /* its leaseDurationSeconds */
} tt_leader_state;

/* Notes a read of the Lease: `spec` is its spec (borrowed; NULL or {} for a Lease without
 * one). A spec that differs from the last one read restarts the expiry clock at `now`. */
void tt_leader_observe(tt_leader_state *st, const json_t *spec, double now);

/* What to do now, given the last observation. */
tt_leader_action tt_leader_decide(const tt_leader_state *st, const char *identity, double now);

/* An acquire or renew sent at `sent` succeeded, answered at `now`: leading again, unless the
 * answer came after the renew deadline counted from `sent` (then it is of no use: a follower
 * may already count from it). Returns whether leading. */
bool tt_leader_renewed(tt_leader_state *st, double sent, double now, double renew_deadline);

/* Whether this replica may write at `now`: leading, and within the renew deadline of the last
 * successful renewal. */
bool tt_leader_may_write(const tt_leader_state *st, double now, double renew_deadline);

/* ---- the candidate ------------------------------------------------------------------------ */

/* Leadership changed: `leading` true when this replica became the leader, false when it
 * stopped being it (deadline passed, Lease lost, or released). */
typedef void (*tt_leader_change_fn)(void *ud, bool leading);

/*
 * Creates a candidate. `kube` is borrowed and must outlive it (controller-runtime gives leader
 * election its own client so a burst of status writes cannot starve renewals behind the rate
 * limiter; pass a client of its own for the same reason). `cfg` strings are copied.
 * NULL with `err` set.
 */
tt_leader *tt_leader_create(struct ev_loop *loop, struct tt_kube *kube, const tt_leader_config *cfg,
                            tt_leader_change_fn on_change, void *ud, tt_error *err);
/* Starts trying (the first read is immediate). */
void tt_leader_start(tt_leader *l);
/* Whether this replica may write now (the check against the monotonic clock). NULL — no
 * leader election — is always the leader. */
bool tt_leader_is_leader(const tt_leader *l);
/*
 * Stops writing and trying, and releases the Lease if this replica holds it. `done` runs once
 * the release has been answered (or failed) and returns true; when there is nothing to
 * release it returns false and `done` is never called.
 */
bool tt_leader_release(tt_leader *l, void (*done)(void *ud), void *ud);
/* Cancels what is in flight (nothing is released) and frees. Accepts NULL. */
void tt_leader_destroy(tt_leader *l);

/* The Lease's namespace and name, and this replica's identity (borrowed). */
const tt_leader_config *tt_leader_config_of(const tt_leader *l);

#endif
