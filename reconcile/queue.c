/*
 * tt_queue — see queue.h for the contract and docs/queue.md for the reasoning.
 *
 * Layout: every key the queue knows has one `struct item` (key bytes inline), found through an
 * open-addressing hash table. The waiting keys form an intrusive FIFO list through the items;
 * the delayed keys form a binary min-heap of item pointers ordered by due time, each item
 * remembering its heap index so an earlier re-add is a decrease-key. An item is freed as soon
 * as it is in no set and has no failure count, so the table holds only live keys.
 *
 * Times are CLOCK_MONOTONIC seconds rather than ev_now(): ev_now() is wall-clock time, and a
 * stored due time on that scale would stall or fire early when the wall clock is stepped.
 */
#include "queue.h"
#include "tt_num.h"

#include <ev.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tt_str.h"

/* heap_pos of an item without a delayed add. */
#define NO_POS UINT32_MAX

/* Smallest table; it doubles when more than 3/4 full (linear probing stays short below that). */
#define TABLE_MIN 64
#define HEAP_MIN  64

enum {
    F_DIRTY = 1,     /* added since it was last popped: must run (again) */
    F_PROCESSING = 2 /* handed out by pop, done not yet called */
};

struct item {
    uint64_t hash;      /* mixed hash of key: table slot and resync order */
    double dirty_since; /* when the key last became dirty, for the queue latency */
    double due;         /* when the delayed add fires; meaningful while heap_pos != NO_POS */
    struct item *next;  /* the next waiting key; only while waiting */
    uint32_t heap_pos;  /* index in q->heap, or NO_POS */
    uint32_t failures;  /* rate-limited adds since the last forget; saturates */
    unsigned char flags;
    char key[]; /* NUL-terminated copy, owned */
};

struct tt_queue {
    struct ev_loop *loop; /* borrowed */
    /*
     * The queue's only watcher. It is due at the earliest delayed key, or at once when a ready
     * notification is owed, so notifications come from the loop and never from inside an add.
     */
    ev_timer timer;
    double armed_for; /* the monotonic time the timer is set for, while it is active */
    tt_queue_ready_fn ready;
    void *ready_ud; /* borrowed */

    struct item **slots; /* owned, with the items: `cap` entries, NULL when empty */
    size_t cap;          /* a power of two, or 0 before the first key */
    size_t count;

    struct item **heap; /* owned array; the items belong to the table */
    size_t heap_len;
    size_t heap_cap;

    struct item *head; /* waiting FIFO: pop takes head, new keys go after tail */
    struct item *tail;
    size_t waiting;
    size_t processing;

    size_t item_bytes; /* memory held by items, for tt_queue_get_stats */
    uint64_t adds;
    uint64_t retries;
    int notify; /* a key became waiting since ready was last called */
    int shut;
};

static double mono_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* FNV-1a mixed: the table uses the low bits. */
static uint64_t key_hash(const char *key)
{
    return tt_hash64_mix(tt_hash64_str(key));
}

static size_t item_size(size_t key_len)
{
    return sizeof(struct item) + key_len + 1;
}

/* Checks what every add checks; returns TT_OK when `key` may be enqueued. */
static tt_code check_add(const tt_queue *q, const char *key)
{
    if (q->shut)
        return TT_ECANCELLED;
    if (key == NULL || key[0] == '\0')
        return TT_EINVAL;
    if (strnlen(key, TT_QUEUE_KEY_MAX + 1) > TT_QUEUE_KEY_MAX)
        return TT_ELIMIT;
    return TT_OK;
}

/* ---- hash table: open addressing, linear probing, backward-shift deletion ---- */

static struct item *table_find(const tt_queue *q, const char *key, uint64_t h)
{
    size_t mask, i;

    if (q->cap == 0 || key == NULL)
        return NULL;
    mask = q->cap - 1;
    for (i = h & mask; q->slots[i] != NULL; i = (i + 1) & mask) {
        if (q->slots[i]->hash == h && strcmp(q->slots[i]->key, key) == 0)
            return q->slots[i];
    }
    return NULL;
}

static void table_place(struct item **slots, size_t cap, struct item *it)
{
    size_t mask = cap - 1, i;

    for (i = it->hash & mask; slots[i] != NULL; i = (i + 1) & mask)
        ;
    slots[i] = it;
}

/* Moves the items to a table of `cap` slots. On TT_ENOMEM nothing changed. */
static tt_code table_resize(tt_queue *q, size_t cap)
{
    struct item **slots = calloc(cap, sizeof(*slots));

    if (slots == NULL)
        return TT_ENOMEM;
    for (size_t i = 0; i < q->cap; i++) {
        if (q->slots[i] != NULL)
            table_place(slots, cap, q->slots[i]);
    }
    free(q->slots);
    q->slots = slots;
    q->cap = cap;
    return TT_OK;
}

/* Makes room for `extra` more keys without exceeding 3/4 load. On TT_ENOMEM nothing changed. */
static tt_code table_reserve(tt_queue *q, size_t extra)
{
    size_t need = q->count + extra, cap = q->cap ? q->cap : TABLE_MIN;

    if (need < q->count)
        return TT_ENOMEM;
    while (need > cap / 4 * 3) {
        if (cap > SIZE_MAX / 2 / sizeof(*q->slots))
            return TT_ENOMEM;
        cap *= 2;
    }
    return cap == q->cap ? TT_OK : table_resize(q, cap);
}

/* True when `k` lies in the cyclic range (i, j]. */
static int cyclic_between(size_t i, size_t k, size_t j)
{
    return i <= j ? (i < k && k <= j) : (i < k || k <= j);
}

/*
 * Removes `it` and shifts later members of its probe run back into the hole, so lookups never
 * meet a tombstone and the table needs no periodic cleaning however keys come and go.
 */
static void table_remove(tt_queue *q, const struct item *it)
{
    size_t mask = q->cap - 1, hole, j;

    for (hole = it->hash & mask; q->slots[hole] != it; hole = (hole + 1) & mask)
        ;
    q->slots[hole] = NULL;
    q->count--;
    for (j = (hole + 1) & mask; q->slots[j] != NULL; j = (j + 1) & mask) {
        size_t home = q->slots[j]->hash & mask;

        /* An entry whose home lies after the hole (up to j) must stay where lookups find it. */
        if (cyclic_between(hole, home, j))
            continue;
        q->slots[hole] = q->slots[j];
        q->slots[j] = NULL;
        hole = j;
    }
}

/* ---- min-heap of delayed items by due time ---- */

static void heap_set(tt_queue *q, size_t pos, struct item *it)
{
    q->heap[pos] = it;
    it->heap_pos = (uint32_t)pos;
}

static void heap_up(tt_queue *q, size_t pos)
{
    struct item *it = q->heap[pos];

    while (pos > 0) {
        size_t parent = (pos - 1) / 2;

        if (!(it->due < q->heap[parent]->due))
            break;
        heap_set(q, pos, q->heap[parent]);
        pos = parent;
    }
    heap_set(q, pos, it);
}

static void heap_down(tt_queue *q, size_t pos)
{
    struct item *it = q->heap[pos];

    for (;;) {
        size_t child = 2 * pos + 1;

        if (child >= q->heap_len)
            break;
        if (child + 1 < q->heap_len && q->heap[child + 1]->due < q->heap[child]->due)
            child++;
        if (!(q->heap[child]->due < it->due))
            break;
        heap_set(q, pos, q->heap[child]);
        pos = child;
    }
    heap_set(q, pos, it);
}

/* Makes room for `extra` more delayed keys. On TT_ENOMEM nothing changed. */
static tt_code heap_reserve(tt_queue *q, size_t extra)
{
    size_t need = q->heap_len + extra, cap = q->heap_cap ? q->heap_cap : HEAP_MIN;
    struct item **heap;

    /* heap_pos is 32 bits wide; four billion delayed keys is far beyond any real cluster. */
    if (need < q->heap_len || need >= NO_POS)
        return TT_ENOMEM;
    while (cap < need)
        cap *= 2;
    if (cap == q->heap_cap)
        return TT_OK;
    heap = realloc(q->heap, cap * sizeof(*heap));
    if (heap == NULL)
        return TT_ENOMEM;
    q->heap = heap;
    q->heap_cap = cap;
    return TT_OK;
}

static struct item *heap_pop(tt_queue *q)
{
    struct item *top = q->heap[0];

    q->heap_len--;
    if (q->heap_len > 0) {
        heap_set(q, 0, q->heap[q->heap_len]);
        heap_down(q, 0);
    }
    top->heap_pos = NO_POS;
    /* Room beyond what the delayed keys need goes back (see item_release_if_idle). */
    if (q->heap_cap > HEAP_MIN && q->heap_len < q->heap_cap / 8) {
        struct item **heap = realloc(q->heap, q->heap_cap / 2 * sizeof(*heap));
        if (heap != NULL) {
            q->heap = heap;
            q->heap_cap /= 2;
        }
    }
    return top;
}

/* Gives `it` a delayed add at `due`, keeping an earlier one. Heap room must be reserved. */
static void schedule(tt_queue *q, struct item *it, double due)
{
    if (it->heap_pos != NO_POS) {
        if (due < it->due) {
            it->due = due;
            heap_up(q, it->heap_pos);
        }
        return;
    }
    it->due = due;
    heap_set(q, q->heap_len, it);
    q->heap_len++;
    heap_up(q, it->heap_pos);
}

/* ---- items and their states ---- */

/*
 * Finds the item of `key` or creates an idle one (the table then owns it). The caller must put
 * a new item in some state before returning, or release it. On error *out is untouched.
 */
static tt_code item_get(tt_queue *q, const char *key, struct item **out)
{
    uint64_t h = key_hash(key);
    struct item *it = table_find(q, key, h);
    size_t len;
    tt_code rc = TT_OK;

    if (it != NULL)
        goto out;
    rc = table_reserve(q, 1);
    if (rc != TT_OK)
        goto out;
    len = strlen(key);
    it = malloc(item_size(len));
    if (it == NULL) {
        rc = TT_ENOMEM;
        goto out;
    }
    memset(it, 0, sizeof(*it));
    it->hash = h;
    it->heap_pos = NO_POS;
    memcpy(it->key, key, len + 1);
    table_place(q->slots, q->cap, it);
    q->count++;
    q->item_bytes += item_size(len);
out:
    if (rc == TT_OK)
        *out = it;
    return rc;
}

/* Frees `it` once nothing refers to it: not dirty, processing or delayed, and no failures. */
static void item_release_if_idle(tt_queue *q, struct item *it)
{
    if (it->flags != 0 || it->heap_pos != NO_POS || it->failures != 0)
        return;
    table_remove(q, it);
    q->item_bytes -= item_size(strlen(it->key));
    free(it);
    /*
     * Once the keys held use an eighth of the table, half of it goes back: after a burst (the
     * first listing, a resync wave) an idle operator does not keep a slot for every key it once
     * queued. Halving at 1/8 while doubling at 3/4 leaves the next burst room to grow without
     * resizing back and forth. Out of memory, the table simply stays as large.
     */
    if (q->cap > TABLE_MIN && q->count < q->cap / 8)
        table_resize(q, q->cap / 2);
}

static void push_waiting(tt_queue *q, struct item *it)
{
    it->next = NULL;
    if (q->tail != NULL)
        q->tail->next = it;
    else
        q->head = it;
    q->tail = it;
    q->waiting++;
    q->notify = 1;
}

/* The heart of de-duplication: a dirty key is waiting or processing, never both, never twice. */
static void make_dirty(tt_queue *q, struct item *it, double now)
{
    if (it->flags & F_DIRTY)
        return;
    it->flags |= F_DIRTY;
    it->dirty_since = now;
    q->adds++;
    if (!(it->flags & F_PROCESSING))
        push_waiting(q, it);
}

/*
 * Sets the timer for the next thing the loop must do for the queue: a ready notification (at
 * once) or the earliest delayed key. It only restarts the timer when that moment moved earlier;
 * a timer that fires early finds nothing due and re-arms itself, which is cheaper than
 * restarting libev's timer on every add.
 */
static void arm(tt_queue *q)
{
    double now, target;
    int have = 0;

    if (q->shut) {
        ev_timer_stop(q->loop, &q->timer);
        return;
    }
    now = mono_now();
    target = now;
    if (q->notify && q->ready != NULL && q->head != NULL) {
        have = 1;
    } else if (q->heap_len > 0) {
        target = q->heap[0]->due;
        have = 1;
    }
    if (!have) {
        ev_timer_stop(q->loop, &q->timer);
        return;
    }
    if (ev_is_active(&q->timer) && q->armed_for <= target)
        return;
    ev_timer_stop(q->loop, &q->timer);
    ev_timer_set(&q->timer, target > now ? target - now : 0.0, 0.0);
    ev_timer_start(q->loop, &q->timer);
    q->armed_for = target;
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    tt_queue *q = w->data;
    double now = mono_now();

    (void)loop;
    (void)revents;
    while (q->heap_len > 0 && q->heap[0]->due <= now)
        make_dirty(q, heap_pop(q), now);
    if (q->notify && q->ready != NULL && !q->shut) {
        /* Cleared first: keys added from inside ready owe a fresh notification. */
        q->notify = 0;
        if (q->head != NULL)
            q->ready(q->ready_ud);
    }
    arm(q);
}

/* ---- public API ---- */

tt_queue *tt_queue_create(struct ev_loop *loop)
{
    tt_queue *q = calloc(1, sizeof(*q));

    if (q == NULL)
        return NULL;
    q->loop = loop;
    ev_timer_init(&q->timer, on_timer, 0.0, 0.0);
    q->timer.data = q;
    return q;
}

void tt_queue_destroy(tt_queue *q)
{
    if (q == NULL)
        return;
    ev_timer_stop(q->loop, &q->timer);
    for (size_t i = 0; i < q->cap; i++)
        free(q->slots[i]);
    free(q->slots);
    free(q->heap);
    free(q);
}

void tt_queue_set_ready(tt_queue *q, tt_queue_ready_fn ready, void *ud)
{
    q->ready = ready;
    q->ready_ud = ud;
    /* Keys that arrived before the engine was wired must still be announced. */
    if (q->head != NULL)
        q->notify = 1;
    arm(q);
}

tt_code tt_queue_add(tt_queue *q, const char *key)
{
    struct item *it;
    tt_code rc = check_add(q, key);

    if (rc != TT_OK)
        goto out;
    rc = item_get(q, key, &it);
    if (rc != TT_OK)
        goto out;
    make_dirty(q, it, mono_now());
    arm(q);
out:
    return rc;
}

tt_code tt_queue_add_after(tt_queue *q, const char *key, double seconds)
{
    struct item *it;
    tt_code rc;

    if (!isfinite(seconds))
        return TT_EINVAL;
    if (seconds <= 0)
        return tt_queue_add(q, key);
    rc = check_add(q, key);
    if (rc != TT_OK)
        goto out;
    /* Reserved before the item exists so that no failure can leave an idle item behind. */
    rc = heap_reserve(q, 1);
    if (rc != TT_OK)
        goto out;
    rc = item_get(q, key, &it);
    if (rc != TT_OK)
        goto out;
    schedule(q, it, mono_now() + seconds);
    arm(q);
out:
    return rc;
}

double tt_queue_backoff(unsigned failures)
{
    /* 2^64 · 5 ms is far past the cap already; clamping the exponent keeps the power finite. */
    double d = TT_QUEUE_BACKOFF_BASE * tt_pow2(failures > 64 ? 64 : (int)failures);

    return d < TT_QUEUE_BACKOFF_MAX ? d : TT_QUEUE_BACKOFF_MAX;
}

tt_code tt_queue_add_rate_limited(tt_queue *q, const char *key)
{
    struct item *it;
    tt_code rc = check_add(q, key);

    if (rc != TT_OK)
        goto out;
    rc = heap_reserve(q, 1);
    if (rc != TT_OK)
        goto out;
    rc = item_get(q, key, &it);
    if (rc != TT_OK)
        goto out;
    schedule(q, it, mono_now() + tt_queue_backoff(it->failures));
    if (it->failures < UINT32_MAX)
        it->failures++;
    q->retries++;
    arm(q);
out:
    return rc;
}

void tt_queue_forget(tt_queue *q, const char *key)
{
    struct item *it = key != NULL ? table_find(q, key, key_hash(key)) : NULL;

    if (it == NULL)
        return;
    it->failures = 0;
    item_release_if_idle(q, it);
}

unsigned tt_queue_failures(const tt_queue *q, const char *key)
{
    const struct item *it = key != NULL ? table_find(q, key, key_hash(key)) : NULL;

    return it != NULL ? it->failures : 0;
}

const char *tt_queue_pop(tt_queue *q, double *waited)
{
    struct item *it = q->head;

    if (q->shut || it == NULL)
        return NULL;
    q->head = it->next;
    if (q->head == NULL)
        q->tail = NULL;
    it->next = NULL;
    q->waiting--;
    it->flags = (unsigned char)((it->flags & ~F_DIRTY) | F_PROCESSING);
    q->processing++;
    if (waited != NULL) {
        double w = mono_now() - it->dirty_since;
        *waited = w > 0 ? w : 0;
    }
    return it->key;
}

tt_code tt_queue_done(tt_queue *q, const char *key)
{
    struct item *it = key != NULL ? table_find(q, key, key_hash(key)) : NULL;

    if (it == NULL || !(it->flags & F_PROCESSING))
        return TT_EINVAL;
    it->flags &= (unsigned char)~F_PROCESSING;
    q->processing--;
    if (it->flags & F_DIRTY) {
        /* Added while it ran: it runs once more, however many adds there were. */
        push_waiting(q, it);
        arm(q);
    } else {
        item_release_if_idle(q, it);
    }
    return TT_OK;
}

struct resync_slot {
    uint64_t hash;
    const char *key;
    const char *group; /* the caller's group, or the key itself (its kind is the group) */
    size_t group_len;
};

/* Group first (so a wave holds one group where it can), then hash, then the key for ties. */
static int resync_cmp(const void *pa, const void *pb)
{
    const struct resync_slot *a = pa, *b = pb;
    size_t n = a->group_len < b->group_len ? a->group_len : b->group_len;
    int c = memcmp(a->group, b->group, n);

    if (c != 0)
        return c;
    if (a->group_len != b->group_len)
        return a->group_len < b->group_len ? -1 : 1;
    if (a->hash != b->hash)
        return a->hash < b->hash ? -1 : 1;
    return strcmp(a->key, b->key);
}

tt_code tt_queue_resync_spread(tt_queue *q, const char *const *keys, const char *const *groups,
                               size_t n, double period_seconds, size_t wave)
{
    struct resync_slot *order = NULL;
    size_t waves;
    double now;
    tt_code rc = TT_OK;

    if (!isfinite(period_seconds) || period_seconds < 0 || wave == 0) {
        rc = TT_EINVAL;
        goto out;
    }
    if (q->shut) {
        rc = TT_ECANCELLED;
        goto out;
    }
    if (n == 0)
        goto out;
    /* Every key is checked before any is scheduled, so a bad key changes nothing. */
    for (size_t i = 0; i < n; i++) {
        rc = check_add(q, keys[i]);
        if (rc == TT_OK && groups != NULL && groups[i] == NULL)
            rc = TT_EINVAL;
        if (rc != TT_OK)
            goto out;
    }
    if (n > SIZE_MAX / sizeof(*order)) {
        rc = TT_ENOMEM;
        goto out;
    }
    order = malloc(n * sizeof(*order));
    if (order == NULL) {
        rc = TT_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        order[i].hash = key_hash(keys[i]);
        order[i].key = keys[i];
        order[i].group = groups != NULL ? groups[i] : keys[i];
        order[i].group_len = groups != NULL ? strlen(groups[i]) : strcspn(keys[i], "/");
    }
    qsort(order, n, sizeof(*order), resync_cmp);
    rc = heap_reserve(q, n);
    if (rc == TT_OK)
        rc = table_reserve(q, n);
    if (rc != TT_OK)
        goto out;
    waves = (n + wave - 1) / wave;
    now = mono_now();
    for (size_t i = 0; i < n; i++) {
        struct item *it;
        double delay = period_seconds * (double)(i / wave) / (double)waves;

        rc = item_get(q, order[i].key, &it);
        if (rc != TT_OK)
            goto out;
        /* The first wave is due now: an ordinary add, as tt_queue_add_after(key, 0) would be. */
        if (delay > 0)
            schedule(q, it, now + delay);
        else
            make_dirty(q, it, now);
    }
out:
    if (order != NULL)
        arm(q);
    free(order);
    return rc;
}

double tt_queue_due_in(const tt_queue *q, const char *key)
{
    const struct item *it = key != NULL ? table_find(q, key, key_hash(key)) : NULL;
    double d;

    if (it == NULL || it->heap_pos == NO_POS)
        return -1.0;
    d = it->due - mono_now();
    return d > 0 ? d : 0.0;
}

void tt_queue_shut_down(tt_queue *q)
{
    q->shut = 1;
    arm(q);
}

int tt_queue_shutting_down(const tt_queue *q)
{
    return q->shut;
}

size_t tt_queue_len(const tt_queue *q)
{
    return q->waiting;
}

size_t tt_queue_delayed_len(const tt_queue *q)
{
    return q->heap_len;
}

size_t tt_queue_processing_len(const tt_queue *q)
{
    return q->processing;
}

void tt_queue_get_stats(const tt_queue *q, tt_queue_stats *out)
{
    out->waiting = q->waiting;
    out->delayed = q->heap_len;
    out->processing = q->processing;
    out->keys = q->count;
    out->bytes =
        sizeof(*q) + q->cap * sizeof(*q->slots) + q->heap_cap * sizeof(*q->heap) + q->item_bytes;
    out->adds = q->adds;
    out->retries = q->retries;
}
