/*
 * tt_queue — the reconcile work queue, with client-go workqueue semantics on a libev loop.
 *
 * Keys are strings ("Kind/namespace/name"). The queue keeps three sets, as client-go does:
 * - waiting: keys ready to be popped, in FIFO order, each at most once however often it is
 *   added (de-duplication);
 * - processing: keys handed out by tt_queue_pop and not yet given back with tt_queue_done. A
 *   key is never handed out twice at once; a key added while it is processing is remembered
 *   ("dirty") and becomes waiting again when tt_queue_done is called, once however many adds
 *   came in meanwhile;
 * - delayed: keys that join the waiting set at a later time (requeue-after, retry backoff,
 *   resync). One min-heap and one ev_timer serve all of them; re-adding a delayed key keeps the
 *   earliest time.
 * It also remembers a failure count per key for exponential backoff until tt_queue_forget.
 *
 * Single-threaded: every function must be called on the loop's thread. Every operation is O(1)
 * or O(log n) in the number of keys held (see docs/queue.md).
 */
#ifndef TT_QUEUE_H
#define TT_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "tt_error.h"

struct ev_loop;

typedef struct tt_queue tt_queue;

/* Called from the loop when keys may be popped; never from inside an add or done. */
typedef void (*tt_queue_ready_fn)(void *ud);

/* The longest key the queue accepts, in bytes (a Kubernetes name is at most 253). */
#define TT_QUEUE_KEY_MAX 1024

/* client-go's default per-item backoff: 5 ms doubling per failure, capped at 1000 s. */
#define TT_QUEUE_BACKOFF_BASE 0.005
#define TT_QUEUE_BACKOFF_MAX  1000.0

typedef struct tt_queue_stats {
    size_t waiting;    /* keys ready to be popped (tt_queue_len) */
    size_t delayed;    /* keys with a pending delayed add (tt_queue_delayed_len) */
    size_t processing; /* keys popped and not yet done (tt_queue_processing_len) */
    size_t keys;       /* key records held: any of the above, or a non-zero failure count */
    size_t bytes;      /* memory the queue holds, not counting the allocator's overhead */
    uint64_t adds;     /* times a key became dirty; adds of an already dirty key do not count */
    uint64_t retries;  /* tt_queue_add_rate_limited calls */
} tt_queue_stats;

/*
 * Creates an empty queue whose timer runs on `loop` (borrowed: it must outlive the queue).
 * NULL on ENOMEM.
 */
tt_queue *tt_queue_create(struct ev_loop *loop);

/* Stops the queue's watcher and frees every key. Accepts NULL. Must not be called from ready. */
void tt_queue_destroy(tt_queue *q);

/*
 * Sets the callback invoked from the loop when keys become waiting. Calls are coalesced (one
 * per loop iteration at most) and may be spurious, so the engine pops until tt_queue_pop
 * returns NULL or its in-flight count reaches its limit, and pops again after each done.
 * `ud` is borrowed. `ready` may be NULL (no notifications).
 */
void tt_queue_set_ready(tt_queue *q, tt_queue_ready_fn ready, void *ud);

/*
 * Marks `key` dirty: it becomes waiting unless it already is, or it runs again after its
 * tt_queue_done if it is processing. The queue copies `key`. TT_EINVAL for NULL or "",
 * TT_ELIMIT above TT_QUEUE_KEY_MAX, TT_ECANCELLED after shutdown, TT_ENOMEM.
 */
tt_code tt_queue_add(tt_queue *q, const char *key);

/*
 * Adds `key` after `seconds` (<= 0: now). If the key already has a delayed add, the earlier of
 * the two times is kept. A delayed add is independent of the key being waiting or processing,
 * as in client-go: when it fires it is an ordinary tt_queue_add. Errors as tt_queue_add, and
 * TT_EINVAL for a non-finite delay.
 */
tt_code tt_queue_add_after(tt_queue *q, const char *key, double seconds);

/*
 * Adds `key` after its backoff, tt_queue_backoff(failures), and counts one more failure.
 * Errors as tt_queue_add; on error the failure count is unchanged.
 */
tt_code tt_queue_add_rate_limited(tt_queue *q, const char *key);

/* Resets the failure count of `key` (after a successful reconcile). Unknown keys are fine. */
void tt_queue_forget(tt_queue *q, const char *key);

/* The failure count of `key`: rate-limited adds since the last forget. */
unsigned tt_queue_failures(const tt_queue *q, const char *key);

/* The delay the next rate-limited add uses after `failures` failures, in seconds. */
double tt_queue_backoff(unsigned failures);

/*
 * Hands out the oldest waiting key and marks it processing, or returns NULL when none is
 * waiting or the queue is shut down. The string is owned by the queue and stays valid until
 * tt_queue_done for that key. `waited`, when not NULL, receives the queue latency: the seconds
 * from the key becoming dirty to this pop.
 */
const char *tt_queue_pop(tt_queue *q, double *waited);

/*
 * Ends the processing of `key` (which may be the string tt_queue_pop returned; it is invalid
 * afterwards). If the key was added meanwhile it becomes waiting again. TT_EINVAL when the key
 * is not processing. Works after shutdown.
 */
tt_code tt_queue_done(tt_queue *q, const char *key);

/*
 * Enqueues each of the `n` keys with a delay spread across `period_seconds`, so a periodic
 * resync is a steady trickle rather than one burst. Keys are ordered by group — `groups[i]`,
 * or the key's kind (the text before the first '/') when `groups` is NULL — then by a stable
 * hash, and cut into consecutive waves of at most `wave` keys; wave w of W is due at
 * w * period / W. `wave` = 1 spaces every key evenly; a larger wave lets keys of one group
 * arrive together so the engine can batch their observe calls. A period of 0 adds every key
 * now, in that order (a first listing). For an unchanged key set each key keeps its slot, so
 * it is resynced every period exactly. Delays combine with existing ones as
 * tt_queue_add_after. `keys` and `groups` are borrowed. TT_EINVAL for a negative or
 * non-finite period, wave 0 or a NULL group; on TT_ENOMEM some keys may already be scheduled
 * and calling again is safe.
 */
tt_code tt_queue_resync_spread(tt_queue *q, const char *const *keys, const char *const *groups,
                               size_t n, double period_seconds, size_t wave);

/*
 * Seconds until the delayed add of `key` fires (0 if overdue), or -1 when it has none. For
 * status ("next reconcile in …") and tests.
 */
double tt_queue_due_in(const tt_queue *q, const char *key);

/*
 * Stops handing out keys: tt_queue_pop returns NULL, adds return TT_ECANCELLED, ready is no
 * longer called and the timer stops. Keys being processed can still be marked done. Idempotent.
 */
void tt_queue_shut_down(tt_queue *q);
int tt_queue_shutting_down(const tt_queue *q);

/* Waiting keys (ready to pop), keys with a delayed add, and keys being processed. */
size_t tt_queue_len(const tt_queue *q);
size_t tt_queue_delayed_len(const tt_queue *q);
size_t tt_queue_processing_len(const tt_queue *q);

/* Fills `out` with the counters above, for metrics. */
void tt_queue_get_stats(const tt_queue *q, tt_queue_stats *out);

#endif
