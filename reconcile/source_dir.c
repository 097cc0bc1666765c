/*
 * tt_source_dir — manifests under a directory, listed once and then watched (docs/sources.md).
 *
 * The source keeps a small index of what it has read, never the resources themselves (the
 * engine owns those once delivered):
 * - files: every manifest file read, by its path under the root, with the hash of the bytes last
 *   parsed (so a rewrite with the same content costs a read and no parse) and its entries;
 * - entries: one per declaration of a key in a file, with the declaration's line and the
 *   fingerprint of the resource it built (spec hash, validity, problem, annotations, metadata,
 *   origin);
 * - keys: every declared key with its entries and the fingerprint of what was last delivered;
 * - dirs: every directory watched, by path under the root and by inotify watch descriptor.
 * An event only marks a path dirty; after the quiet period the batch looks at the file system
 * (events are hints, the file system is the truth), re-reads the dirty files, and works out the
 * keys whose declarations changed ("touched"). Each touched key is then built once more in its
 * final form (duplicates and cross-resource references applied) and delivered only when its
 * fingerprint differs from the last delivery.
 */
#include "source_dir.h"

#include <errno.h>
#include <ev.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loader.h"
#include "tt_arena.h"
#include "tt_buf.h"
#include "tt_index.h"
#include "tt_log.h"
#include "tt_str.h"

#define DEFAULT_DEBOUNCE 0.01
/* A constant stream of events still gets through: a batch waits at most this many quiet periods
 * after its first event. */
#define DEBOUNCE_CAP 10.0
/* After a failed allocation the whole tree is compared again, this many seconds later. */
#define RETRY_DELAY 1.0
/*
 * Every directory gets the same mask, the parent of the root included, so that a directory
 * watched for two reasons (the same inode) never has its mask narrowed by the second add.
 * IN_MODIFY as well as IN_CLOSE_WRITE: a writer that keeps the file open (or mmaps it) never
 * closes; the debounce turns the stream of modifications into one read.
 */
#define WATCH_MASK                                                                      \
    (IN_CREATE | IN_CLOSE_WRITE | IN_MODIFY | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE | \
     IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_EXCL_UNLINK)

/* FNV-1a mixed: FNV's low bits are weak for similar paths. */
static uint64_t str_hash(const char *s)
{
    return tt_hash64_mix(tt_hash64_str(s));
}

/* ---- records ------------------------------------------------------------------------------- */

struct sd_file;

/*
 * The records below are held for every manifest as long as it exists, so their fields are
 * ordered widest first (no padding) and their strings are stored inline, in the record's own
 * allocation.
 */

/* A key ("Kind/namespace/name") declared somewhere, or delivered and not yet removed. */
struct sd_key {
    uint64_t hash;
    uint64_t delivered_fp;   /* fingerprint of the last upsert, when `delivered` */
    struct sd_entry *copies; /* its declarations, through next_copy */
    /* During a batch only: */
    tt_resource *obj; /* what it will be delivered as; owned by the batch (slot obj_slot) */
    unsigned obj_slot;
    unsigned ncopies;
    unsigned in_refs; /* batch number when it was put into the reference check */
    tt_kind kind;
    bool delivered;
    bool touched; /* in the batch's list: its declarations changed */
    bool skip;    /* no object could be built for it this time; a pending event will retry */
    char key[];   /* NUL-terminated */
};

/* One declaration of a key in a file. */
struct sd_entry {
    struct sd_key *key;
    struct sd_file *file;
    struct sd_entry *next_copy;
    uint64_t fp;         /* of the resource as the file alone builds it */
    char **sp_refs;      /* Alarm: the ScalingPolicy keys its actions name (owned) */
    tt_resource *fresh;  /* the resource just built from the file; valid when fresh_gen is the
                         * current batch; owned by the batch */
    unsigned fresh_slot; /* its slot in the batch (batch_own keeps slots below UINT_MAX) */
    unsigned fresh_gen;
    unsigned nsp_refs;
    unsigned mark; /* file_replace's matching mark */
    int line;
    bool kept; /* the file stopped parsing before this declaration: kept as last read */
};

struct sd_file {
    uint64_t content; /* hash of the bytes last parsed, when has_content */
    /* Its declarations, owned: `one` for a file of at most one (most manifests declare a
     * single resource, and an array of one would cost a malloc chunk), else an owned array. */
    struct sd_entry **entries;
    struct sd_entry *one;
    size_t nentries;
    unsigned seen;     /* walk pass that met it */
    unsigned mat_gen;  /* batch that re-read it for objects */
    unsigned read_gen; /* batch that read it for changes */
    bool has_content;
    char rel[]; /* path under the root, NUL-terminated */
};

struct sd_dir {
    char *rel; /* path under the root, "" for the root; owned */
    uint64_t hash;
    int wd; /* -1: not watched (the kernel dropped it, or adding failed) */
    dev_t dev;
    ino_t ino;
    unsigned seen; /* walk pass that met it */
};

struct tt_source_dir {
    struct ev_loop *loop; /* borrowed */
    tt_source_handler h;
    void *ud;     /* borrowed */
    char *path;   /* cfg.path without trailing slashes; files are named below it */
    char *prefix; /* `path`, or "" when it is "/" */
    char *parent; /* the directory that holds `path`'s last component, or NULL */
    char *base;   /* that component */
    char *phys;   /* what `path` resolved to at the last full listing; NULL when unreadable */
    double debounce;
    int fd;
    ev_io io;
    ev_timer timer;
    int parent_wd;
    tt_index keys;            /* struct sd_key, by key */
    tt_index files;           /* struct sd_file, by rel */
    tt_index dirs;            /* struct sd_dir, by rel */
    tt_index wds;             /* struct sd_dir, by wd */
    tt_index dirty;           /* char * (owned), by itself: paths under the root named by events */
    bool rescan;              /* the next batch lists the whole tree */
    bool force_full;          /* ... and builds every key again (after a failed allocation) */
    double pending_first;     /* ev_time() of the first event not yet handled; 0: none */
    double pending_first_now; /* ev_now() of the same, for the debounce cap */
    double last_change;
    unsigned gen;  /* batch number */
    unsigned pass; /* walk pass number */
    unsigned mark;
    size_t alarm_refs; /* entries with sp_refs, so batches without any skip the search */
    bool started;
    bool watch_warned;
    int depth;      /* > 0 while a callback runs */
    bool destroyed; /* tt_source_dir_destroy was called from a callback */
    tt_source_dir_stats stats;
};

/* What one batch collects. */
struct batch {
    tt_diags *diags; /* handed to h->problems */
    struct sd_key **touched;
    size_t ntouched;
    size_t touched_cap;
    tt_resource **objs; /* every object built in the batch; NULL once handed over */
    size_t nobjs;
    size_t objs_cap;
    bool initial; /* the listing of tt_source_dir_start: every diagnostic is forwarded */
};

static int key_eq(const void *item, const void *key)
{
    return strcmp(((const struct sd_key *)item)->key, key) == 0;
}

static int file_eq(const void *item, const void *key)
{
    return strcmp(((const struct sd_file *)item)->rel, key) == 0;
}

static int dir_eq(const void *item, const void *key)
{
    return strcmp(((const struct sd_dir *)item)->rel, key) == 0;
}

static int wd_eq(const void *item, const void *key)
{
    return ((const struct sd_dir *)item)->wd == *(const int *)key;
}

static int str_eq(const void *item, const void *key)
{
    return strcmp(item, key) == 0;
}

static uint64_t wd_hash(int wd)
{
    return tt_hash64_mix((uint64_t)(unsigned)wd + 1);
}

/* What each index hashes its records by (tt_index_hash_fn). */
static uint64_t key_hash_of(const void *item)
{
    return ((const struct sd_key *)item)->hash;
}

static uint64_t file_hash_of(const void *item)
{
    return str_hash(((const struct sd_file *)item)->rel);
}

static uint64_t dir_hash_of(const void *item)
{
    return ((const struct sd_dir *)item)->hash;
}

static uint64_t wd_hash_of(const void *item)
{
    return wd_hash(((const struct sd_dir *)item)->wd);
}

static uint64_t path_hash_of(const void *item)
{
    return str_hash(item);
}

static struct sd_key *key_find(const tt_source_dir *s, const char *key)
{
    return tt_index_find(&s->keys, str_hash(key), key_eq, key);
}

static struct sd_file *file_find(const tt_source_dir *s, const char *rel)
{
    return tt_index_find(&s->files, str_hash(rel), file_eq, rel);
}

static struct sd_dir *dir_find(const tt_source_dir *s, const char *rel)
{
    return tt_index_find(&s->dirs, str_hash(rel), dir_eq, rel);
}

static struct sd_dir *dir_by_wd(const tt_source_dir *s, int wd)
{
    return tt_index_find(&s->wds, wd_hash(wd), wd_eq, &wd);
}

/* True when `rel` is `prefix` or lies below it ("" is above everything). */
static bool under(const char *rel, const char *prefix)
{
    size_t n = strlen(prefix);

    return n == 0 || (strncmp(rel, prefix, n) == 0 && (rel[n] == '\0' || rel[n] == '/'));
}

static tt_code phys_of(const tt_source_dir *s, const char *rel, tt_buf *out)
{
    tt_buf_reset(out);
    return tt_buf_printf(out, "%s%s%s", s->phys, rel[0] ? "/" : "", rel);
}

static tt_code logical_of(const tt_source_dir *s, const char *rel, tt_buf *out)
{
    tt_buf_reset(out);
    return tt_buf_printf(out, "%s/%s", s->prefix, rel);
}

/* The bytes of a record whose string of `len` bytes is stored inline from `offset` on: the
 * string may start in the struct's tail padding, which saves a malloc size class for many. */
static size_t record_size(size_t size, size_t offset, size_t len)
{
    return offset + len + 1 > size ? offset + len + 1 : size;
}

/* Finds or creates the record of `key`. NULL on ENOMEM. */
static struct sd_key *key_get(tt_source_dir *s, const char *key, tt_kind kind)
{
    uint64_t h = str_hash(key);
    struct sd_key *k = tt_index_find(&s->keys, h, key_eq, key);
    size_t len = strlen(key);

    if (k != NULL)
        return k;
    k = calloc(1, record_size(sizeof(*k), offsetof(struct sd_key, key), len));
    if (k == NULL)
        return NULL;
    memcpy(k->key, key, len + 1);
    k->hash = h;
    k->kind = kind;
    if (tt_index_put(&s->keys, h, k) != TT_OK) {
        free(k);
        return NULL;
    }
    return k;
}

static void key_free(tt_source_dir *s, struct sd_key *k)
{
    tt_index_del(&s->keys, k->hash, k);
    free(k);
}

static void entry_clear_refs(tt_source_dir *s, struct sd_entry *e)
{
    if (e->sp_refs != NULL)
        s->alarm_refs--;
    for (size_t i = 0; i < e->nsp_refs; i++)
        free(e->sp_refs[i]);
    free(e->sp_refs);
    e->sp_refs = NULL;
    e->nsp_refs = 0;
}

/* Unlinks `e` from its key and frees it; the file's array is the caller's business. */
static void entry_free(tt_source_dir *s, struct sd_entry *e)
{
    struct sd_entry **p;

    for (p = &e->key->copies; *p != NULL && *p != e; p = &(*p)->next_copy)
        ;
    if (*p == e) {
        *p = e->next_copy;
        e->key->ncopies--;
    }
    entry_clear_refs(s, e);
    free(e);
}

struct refs_ud {
    struct sd_entry *e;
    const char *ns;
    size_t cap;
    tt_code rc;
};

static void collect_sp_ref(void *ud, tt_kind kind, const char *name, size_t len)
{
    struct refs_ud *c = ud;
    struct sd_entry *e = c->e;
    char key[600];

    if (kind != TT_KIND_SCALING_POLICY || c->rc != TT_OK)
        return;
    if (e->nsp_refs == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 4;
        char **p = realloc(e->sp_refs, cap * sizeof(*p));
        if (p == NULL) {
            c->rc = TT_ENOMEM;
            return;
        }
        e->sp_refs = p;
        c->cap = cap;
    }
    snprintf(key, sizeof(key), "%s/%s/%.*s", tt_kind_name(TT_KIND_SCALING_POLICY), c->ns, (int)len,
             name);
    if ((e->sp_refs[e->nsp_refs] = strdup(key)) == NULL)
        c->rc = TT_ENOMEM;
    else
        e->nsp_refs++;
}

/*
 * Remembers the ScalingPolicy keys an Alarm's actions name, so that a change to one of them
 * checks the Alarm again. Only valid Alarms: tt_model_check_refs skips invalid ones too.
 */
static tt_code entry_set_refs(tt_source_dir *s, struct sd_entry *e, const tt_resource *r)
{
    struct refs_ud c = {e, r->namespace_, 0, TT_OK};

    entry_clear_refs(s, e);
    if (r->kind != TT_KIND_ALARM || r->invalid)
        return TT_OK;
    tt_resource_refs(r, collect_sp_ref, &c);
    if (e->nsp_refs > 0 || e->sp_refs != NULL)
        s->alarm_refs++; /* entry_clear_refs takes it back */
    return c.rc;
}

static void entries_free(struct sd_file *f)
{
    if (f->entries != &f->one)
        free(f->entries);
}

/* Gives `f` the declarations `next` (an array of `n`, owned by `f` from now on). */
static void file_set_entries(struct sd_file *f, struct sd_entry **next, size_t n)
{
    entries_free(f);
    if (n <= 1) {
        f->one = n == 1 ? next[0] : NULL;
        free(next);
        next = &f->one;
    }
    f->entries = next;
    f->nentries = n;
}

static void file_free(tt_source_dir *s, struct sd_file *f)
{
    for (size_t i = 0; i < f->nentries; i++)
        entry_free(s, f->entries[i]);
    tt_index_del(&s->files, str_hash(f->rel), f);
    entries_free(f);
    free(f);
}

static struct sd_file *file_new(tt_source_dir *s, const char *rel)
{
    size_t len = strlen(rel);
    struct sd_file *f = calloc(1, record_size(sizeof(*f), offsetof(struct sd_file, rel), len));

    if (f == NULL)
        return NULL;
    memcpy(f->rel, rel, len + 1);
    f->entries = &f->one;
    if (tt_index_put(&s->files, str_hash(rel), f) != TT_OK) {
        free(f);
        return NULL;
    }
    return f;
}

/* Stops watching a directory and forgets it. */
static void dir_free(tt_source_dir *s, struct sd_dir *d)
{
    if (d->wd >= 0) {
        /* Fails harmlessly when the kernel already dropped the watch (directory deleted). */
        inotify_rm_watch(s->fd, d->wd);
        tt_index_del(&s->wds, wd_hash(d->wd), d);
    }
    tt_index_del(&s->dirs, d->hash, d);
    free(d->rel);
    free(d);
}

/*
 * A fingerprint of everything the engine sees of a resource: when two resources have the same
 * one, delivering the second would change nothing.
 */
static uint64_t fp_str(uint64_t h, const char *s)
{
    unsigned char tag = s != NULL;

    h = tt_hash64_more(h, &tag, 1);
    return s != NULL ? tt_hash64_more(h, s, strlen(s) + 1) : h;
}

static uint64_t fingerprint(const tt_resource *r)
{
    uint64_t h = tt_hash64_str(r->key);
    unsigned char flags[3] = {r->invalid, r->deleting, r->has_finalizer};
    int64_t nums[3] = {r->line, r->generation, (int64_t)r->kind};

    h = fp_str(h, r->file);
    h = fp_str(h, r->problem);
    h = fp_str(h, r->reconcile_requested_at);
    h = fp_str(h, r->rotate_requested_at);
    h = fp_str(h, r->uid);
    h = fp_str(h, r->resource_version);
    h = tt_hash64_more(h, flags, sizeof(flags));
    h = tt_hash64_more(h, nums, sizeof(nums));
    return tt_hash64_more(h, &r->spec_hash, sizeof(r->spec_hash));
}

/* ---- batches ----------------------------------------------------------------------------- */

static tt_code batch_init(struct batch *b, bool initial)
{
    memset(b, 0, sizeof(*b));
    b->initial = initial;
    b->diags = tt_diags_create();
    return b->diags != NULL ? TT_OK : TT_ENOMEM;
}

/* Adds `k` to the batch's list of keys whose declarations changed. */
static tt_code touch(struct batch *b, struct sd_key *k)
{
    if (k->touched)
        return TT_OK;
    if (b->ntouched == b->touched_cap) {
        size_t cap = b->touched_cap ? b->touched_cap * 2 : 64;
        struct sd_key **p = realloc(b->touched, cap * sizeof(*p));
        if (p == NULL)
            return TT_ENOMEM;
        b->touched = p;
        b->touched_cap = cap;
    }
    b->touched[b->ntouched++] = k;
    k->touched = true;
    return TT_OK;
}

/* Gives `r` to the batch; returns its slot (below UINT_MAX, so that records keep it in an
 * unsigned), or -1 (and destroys `r`) on ENOMEM. */
static long batch_own(struct batch *b, tt_resource *r)
{
    if (b->nobjs >= UINT_MAX) {
        tt_resource_destroy(r);
        return -1;
    }
    if (b->nobjs == b->objs_cap) {
        size_t cap = b->objs_cap ? b->objs_cap * 2 : 64;
        tt_resource **p = realloc(b->objs, cap * sizeof(*p));
        if (p == NULL) {
            tt_resource_destroy(r);
            return -1;
        }
        b->objs = p;
        b->objs_cap = cap;
    }
    b->objs[b->nobjs] = r;
    return (long)b->nobjs++;
}

/* Frees what the batch still owns and resets the per-batch state of its keys. */
static void batch_cleanup(tt_source_dir *s, struct batch *b)
{
    for (size_t i = 0; i < b->ntouched; i++) {
        struct sd_key *k = b->touched[i];
        k->touched = false;
        k->skip = false;
        k->obj = NULL;
        if (k->ncopies == 0 && !k->delivered && !s->destroyed)
            key_free(s, k);
    }
    for (size_t i = 0; i < b->nobjs; i++)
        tt_resource_destroy(b->objs[i]);
    free(b->objs);
    free(b->touched);
    tt_diags_destroy(b->diags);
    memset(b, 0, sizeof(*b));
}

static tt_resource *fresh_of(const tt_source_dir *s, const struct sd_entry *e)
{
    return e->fresh_gen == s->gen ? e->fresh : NULL;
}

/* ---- reading files ------------------------------------------------------------------------ */

/* Every declaration of `f` goes away: the file was deleted or is no manifest any more. */
static tt_code file_gone(tt_source_dir *s, struct batch *b, struct sd_file *f)
{
    for (size_t i = 0; i < f->nentries; i++) {
        if (touch(b, f->entries[i]->key) != TT_OK)
            return TT_ENOMEM;
    }
    file_free(s, f);
    return TT_OK;
}

/*
 * Replaces the declarations of `f` with the resources of `set` (a fresh parse of it), touching
 * every key whose declaration in this file appeared, went away or changed. When the file did not
 * parse cleanly, declarations that the parse no longer found are kept as they were: a syntax
 * error must not look like a deletion. The resources move to the batch.
 */
static tt_code file_replace(tt_source_dir *s, struct batch *b, struct sd_file *f,
                            tt_manifest_set *set, bool parsed, const char *logical)
{
    unsigned mark = ++s->mark;
    size_t n = 0, cap = set->len + f->nentries;
    struct sd_entry **next = calloc(cap ? cap : 1, sizeof(*next));
    tt_code rc = TT_OK;

    if (next == NULL)
        return TT_ENOMEM;
    for (size_t i = 0; i < set->len && rc == TT_OK; i++) {
        tt_resource *r = set->items[i];
        struct sd_key *k = key_get(s, r->key, r->kind);
        struct sd_entry *e = NULL, *c;
        uint64_t fp = fingerprint(r);
        long slot;

        if (k == NULL) {
            rc = TT_ENOMEM;
            break;
        }
        /* The same declaration as before: same key in this file, the same line if possible. */
        for (c = k->copies; c != NULL; c = c->next_copy) {
            if (c->file == f && c->mark != mark && (e == NULL || c->line == r->line))
                e = c;
        }
        if (e == NULL) {
            if ((e = calloc(1, sizeof(*e))) == NULL) {
                rc = TT_ENOMEM;
                break;
            }
            e->key = k;
            e->file = f;
            e->next_copy = k->copies;
            k->copies = e;
            k->ncopies++;
            rc = touch(b, k);
        } else if (e->line != r->line || e->fp != fp || e->kept) {
            rc = touch(b, k);
        }
        e->mark = mark;
        next[n++] = e;
        e->line = r->line;
        e->fp = fp;
        e->kept = false;
        if (rc == TT_OK)
            rc = entry_set_refs(s, e, r);
        set->items[i] = NULL;
        if ((slot = batch_own(b, r)) < 0) {
            rc = TT_ENOMEM;
            break;
        }
        e->fresh = r;
        e->fresh_gen = s->gen;
        e->fresh_slot = (unsigned)slot;
    }
    for (size_t i = 0; i < f->nentries; i++) {
        struct sd_entry *e = f->entries[i];
        if (e->mark == mark)
            continue;
        if (!parsed || rc != TT_OK) {
            if (rc == TT_OK && !e->kept)
                tt_log(TT_LOG_WARN, e->key->key,
                       "%s no longer parses; %s stays as it was last read (line %d) until the "
                       "file is fixed or deleted",
                       logical, e->key->key, e->line);
            e->kept = rc == TT_OK ? true : e->kept;
            next[n++] = e;
        } else if ((rc = touch(b, e->key)) == TT_OK) {
            entry_free(s, e);
        } else {
            next[n++] = e;
        }
    }
    file_set_entries(f, next, n);
    return rc;
}

/* Reads and parses one file; the resources go to `set`, the problems to `diags`. */
static tt_code parse_file(tt_source_dir *s, const char *logical, const char *data, size_t len,
                          tt_manifest_set *set, tt_diags *diags, bool *parsed)
{
    tt_code rc = tt_loader_add_bytes(set, data, len, logical, diags);

    s->stats.files_parsed++;
    *parsed = rc == TT_OK && set->nfiles > 0 && set->files[0].parsed;
    return rc;
}

/*
 * Brings the declarations of the file `rel` up to date: reads it, and parses it unless its bytes
 * are those parsed last time. A file that is gone takes its declarations with it; one that cannot
 * be read (too large, no permission) keeps them, like one that does not parse. `pass`, when not
 * zero, marks the file as met by a walk.
 */
static tt_code update_file(tt_source_dir *s, struct batch *b, const char *rel, unsigned pass)
{
    struct sd_file *f = file_find(s, rel);
    tt_buf phys, logical;
    struct stat st;
    char *data = NULL;
    size_t len = 0;
    uint64_t h;
    tt_manifest_set set;
    bool parsed = false;
    tt_code rc;

    tt_buf_init(&phys);
    tt_buf_init(&logical);
    tt_manifest_set_init(&set);
    if (f != NULL && f->read_gen == s->gen) {
        /* Already read in this batch (a file event and its directory's walk). */
        if (pass != 0)
            f->seen = pass;
        rc = TT_OK;
        goto out;
    }
    if (phys_of(s, rel, &phys) != TT_OK || logical_of(s, rel, &logical) != TT_OK) {
        rc = TT_ENOMEM;
        goto out;
    }
    if (stat(phys.data, &st) != 0 ? (errno == ENOENT || errno == ENOTDIR) : !S_ISREG(st.st_mode)) {
        rc = f != NULL ? file_gone(s, b, f) : TT_OK;
        goto out;
    }
    if (f == NULL && (f = file_new(s, rel)) == NULL) {
        rc = TT_ENOMEM;
        goto out;
    }
    if (pass != 0)
        f->seen = pass;
    f->read_gen = s->gen;
    s->stats.files_read++;
    rc = tt_loader_read_file(phys.data, &data, &len, b->diags);
    if (rc == TT_EIO) {
        /* Unreadable for now: what it declared stays; the next event on it reads it again. */
        for (size_t i = 0; i < f->nentries; i++) {
            if (!f->entries[i]->kept)
                tt_log(TT_LOG_WARN, f->entries[i]->key->key,
                       "%s cannot be read; %s stays as it was last read", logical.data,
                       f->entries[i]->key->key);
            f->entries[i]->kept = true;
        }
        f->has_content = false;
        rc = TT_OK;
        goto out;
    }
    if (rc != TT_OK)
        goto out;
    h = tt_hash64(data, len);
    if (f->has_content && f->content == h && !s->force_full)
        goto out; /* rewritten with the same bytes: nothing can have changed */
    f->has_content = false;
    rc = parse_file(s, logical.data, data, len, &set, b->diags, &parsed);
    if (rc == TT_OK || rc == TT_EPARSE)
        rc = file_replace(s, b, f, &set, parsed, logical.data);
    if (rc == TT_OK) {
        f->content = h;
        f->has_content = true;
    }
out:
    free(data);
    tt_manifest_set_cleanup(&set);
    tt_buf_cleanup(&phys);
    tt_buf_cleanup(&logical);
    return rc;
}

/*
 * Parses `f` again only to get resource objects for its declarations (a key whose duplicate went
 * away, an Alarm whose ScalingPolicy changed), attaching them to its entries. Its declarations
 * are not updated: if the bytes changed meanwhile, an event for them is on its way.
 */
static void materialize(tt_source_dir *s, struct batch *b, struct sd_file *f)
{
    tt_buf phys, logical;
    char *data = NULL;
    size_t len = 0;
    tt_manifest_set set;
    tt_diags *scratch = tt_diags_create();
    bool parsed;

    if (f->mat_gen == s->gen)
        return;
    f->mat_gen = s->gen;
    tt_buf_init(&phys);
    tt_buf_init(&logical);
    tt_manifest_set_init(&set);
    if (scratch == NULL || phys_of(s, f->rel, &phys) != TT_OK ||
        logical_of(s, f->rel, &logical) != TT_OK)
        goto out;
    s->stats.files_read++;
    /* Its problems were reported when it was last read; these copies are not shown again. */
    if (tt_loader_read_file(phys.data, &data, &len, scratch) != TT_OK)
        goto out;
    if (parse_file(s, logical.data, data, len, &set, scratch, &parsed) == TT_ENOMEM)
        goto out;
    for (size_t i = 0; i < set.len; i++) {
        tt_resource *r = set.items[i];
        struct sd_key *k = key_find(s, r->key);
        struct sd_entry *e = NULL;
        for (struct sd_entry *c = k != NULL ? k->copies : NULL; c != NULL; c = c->next_copy) {
            if (c->file == f && fresh_of(s, c) == NULL && !c->kept &&
                (e == NULL || c->line == r->line))
                e = c;
        }
        if (e == NULL)
            continue;
        long slot;
        set.items[i] = NULL;
        if ((slot = batch_own(b, r)) < 0)
            break;
        e->fresh = r;
        e->fresh_gen = s->gen;
        e->fresh_slot = (unsigned)slot;
    }
out:
    free(data);
    tt_manifest_set_cleanup(&set);
    tt_diags_destroy(scratch);
    tt_buf_cleanup(&phys);
    tt_buf_cleanup(&logical);
}

/* ---- walking and watching ------------------------------------------------------------------ */

struct walk_ud {
    tt_source_dir *s;
    struct batch *b;
    const char *prefix; /* the subtree walked ("" for all) */
    unsigned pass;
};

/* True when the directory recorded as `d` is still where it was recorded. */
static bool dir_still_there(const tt_source_dir *s, const struct sd_dir *d)
{
    tt_buf p;
    struct stat st;
    bool there;

    tt_buf_init(&p);
    there = phys_of(s, d->rel, &p) == TT_OK && stat(p.data, &st) == 0 && st.st_dev == d->dev &&
            st.st_ino == d->ino;
    tt_buf_cleanup(&p);
    return there;
}

/*
 * Watches a directory the walk reached, before the walk lists it, so nothing created meanwhile is
 * missed. The same inode met again under another name is left out (it is already read there),
 * unless that other name is stale (the directory was moved).
 */
static tt_code on_walk_dir(void *ud, const char *path, const char *rel, const struct stat *st,
                           bool *enter)
{
    struct walk_ud *w = ud;
    tt_source_dir *s = w->s;
    int wd = inotify_add_watch(s->fd, path, WATCH_MASK);
    struct sd_dir *d, *o = NULL;

    if (wd < 0) {
        if (!s->watch_warned)
            tt_log(TT_LOG_WARN, NULL,
                   "cannot watch %s: %s; changes below it are seen only at the next full "
                   "listing (raise fs.inotify.max_user_watches if this says 'No space left')",
                   path, strerror(errno));
        s->watch_warned = true;
    } else if ((o = dir_by_wd(s, wd)) != NULL && strcmp(o->rel, rel) != 0) {
        if (o->seen == w->pass || (!under(o->rel, w->prefix) && dir_still_there(s, o))) {
            *enter = false;
            return TT_OK;
        }
        /* Stale: the directory moved here. Its old record loses the watch. */
        tt_index_del(&s->wds, wd_hash(wd), o);
        o->wd = -1;
        o = NULL;
    }
    d = dir_find(s, rel);
    if (d == NULL) {
        d = calloc(1, sizeof(*d));
        if (d == NULL || (d->rel = strdup(rel)) == NULL) {
            free(d);
            return TT_ENOMEM;
        }
        d->hash = str_hash(rel);
        d->wd = -1;
        if (tt_index_put(&s->dirs, d->hash, d) != TT_OK) {
            free(d->rel);
            free(d);
            return TT_ENOMEM;
        }
    }
    if (d->wd >= 0 && d->wd != wd) {
        /* Another directory now has this name: the old one is no longer ours to watch. */
        inotify_rm_watch(s->fd, d->wd);
        tt_index_del(&s->wds, wd_hash(d->wd), d);
        d->wd = -1;
    }
    if (wd >= 0 && d->wd != wd) {
        d->wd = wd; /* first: the index hashes the records it holds by their wd */
        if (tt_index_put(&s->wds, wd_hash(wd), d) != TT_OK) {
            d->wd = -1;
            return TT_ENOMEM;
        }
    }
    d->dev = st->st_dev;
    d->ino = st->st_ino;
    d->seen = w->pass;
    return TT_OK;
}

static tt_code on_walk_file(void *ud, const char *path, const char *rel)
{
    struct walk_ud *w = ud;

    (void)path;
    return update_file(w->s, w->b, rel, w->pass);
}

/*
 * Forgets what a walk of `prefix` did not meet: files deleted and directories gone or moved
 * while nobody was looking (or while the queue overflowed).
 */
static tt_code sweep(tt_source_dir *s, struct batch *b, const char *prefix, unsigned pass)
{
    void **gone = NULL;
    size_t n = 0;
    tt_code rc = TT_OK;

    if (s->files.len + s->dirs.len > 0 &&
        (gone = malloc((s->files.len + s->dirs.len) * sizeof(*gone))) == NULL)
        return TT_ENOMEM;
    for (size_t i = 0; i < s->files.cap; i++) {
        struct sd_file *f = s->files.slots[i];
        if (f != NULL && f->seen != pass && under(f->rel, prefix))
            gone[n++] = f;
    }
    for (size_t i = 0; i < n && rc == TT_OK; i++)
        rc = file_gone(s, b, gone[i]);
    n = 0;
    for (size_t i = 0; i < s->dirs.cap; i++) {
        struct sd_dir *d = s->dirs.slots[i];
        if (d != NULL && d->seen != pass && under(d->rel, prefix))
            gone[n++] = d;
    }
    for (size_t i = 0; i < n; i++)
        dir_free(s, gone[i]);
    free(gone);
    return rc;
}

/* Walks `rel` (a directory under the root), reading every manifest in it, then sweeps. */
static tt_code walk_subtree(tt_source_dir *s, struct batch *b, const char *rel)
{
    struct walk_ud w = {s, b, rel, ++s->pass};
    tt_loader_walker walker = {on_walk_dir, on_walk_file, &w};
    tt_buf phys;
    tt_code rc;

    tt_buf_init(&phys);
    rc = phys_of(s, rel, &phys);
    if (rc == TT_OK)
        rc = tt_loader_walk(phys.data, rel, &walker, b->diags);
    if (rc == TT_OK)
        rc = sweep(s, b, rel, w.pass);
    tt_buf_cleanup(&phys);
    return rc;
}

/* Stops watching the tree (the root's parent stays watched). */
static void unwatch_all(tt_source_dir *s)
{
    for (size_t i = 0; i < s->dirs.cap; i++) {
        struct sd_dir *d = s->dirs.slots[i];
        if (d == NULL)
            continue;
        if (d->wd >= 0)
            inotify_rm_watch(s->fd, d->wd);
        free(d->rel);
        free(d);
    }
    tt_index_cleanup(&s->dirs);
    tt_index_cleanup(&s->wds);
}

/*
 * Lists the whole tree again: at start, after a symlink swap, a queue overflow, or the root
 * moving. Files whose bytes did not change are not parsed again, so a git-sync swap costs a
 * parse of the files that differ between the two revisions. A root that cannot be read keeps
 * everything as it was: a checkout being replaced must not look like every manifest deleted.
 */
static tt_code rescan(tt_source_dir *s, struct batch *b)
{
    char *phys = realpath(s->path, NULL);
    struct stat st;
    tt_code rc;

    if (phys == NULL || stat(phys, &st) != 0 || !S_ISDIR(st.st_mode)) {
        const char *why = phys == NULL ? strerror(errno) : "not a directory";
        tt_log(TT_LOG_WARN, NULL,
               "cannot read %s (%s); its %zu resources stay as they were until it is back", s->path,
               why, s->keys.len);
        tt_diags_add(b->diags, s->path, 0, NULL,
                     "cannot read the source directory (%s); its resources stay as they were", why);
        /* The old tree's events would be read against a path that no longer holds it. */
        unwatch_all(s);
        free(phys);
        free(s->phys);
        s->phys = NULL;
        return TT_OK;
    }
    if (s->phys != NULL && strcmp(s->phys, phys) != 0)
        tt_log(TT_LOG_INFO, NULL, "%s now points to %s; comparing it with %s", s->path, phys,
               s->phys);
    free(s->phys);
    s->phys = phys;
    rc = walk_subtree(s, b, "");
    if (rc == TT_OK && s->force_full) {
        /* Every key is compared with what was delivered, whatever the failure left behind. */
        for (size_t i = 0; i < s->keys.cap && rc == TT_OK; i++) {
            if (s->keys.slots[i] != NULL)
                rc = touch(b, s->keys.slots[i]);
        }
    }
    return rc;
}

/* Every file and directory at or below `rel` went away. */
static tt_code subtree_gone(tt_source_dir *s, struct batch *b, const char *rel)
{
    struct sd_file *f = file_find(s, rel);
    struct sd_dir *d = dir_find(s, rel);

    if (f != NULL && file_gone(s, b, f) != TT_OK)
        return TT_ENOMEM;
    /* A sweep with a pass no record carries forgets everything below. */
    return d != NULL ? sweep(s, b, rel, ++s->pass) : TT_OK;
}

static int path_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Handles the paths events named since the last batch. What is gone is handled first, so that a
 * directory moved within the tree is forgotten under its old name before it is read under its new
 * one.
 */
static tt_code process_dirty(tt_source_dir *s, struct batch *b)
{
    char **paths = NULL;
    size_t n = 0;
    tt_buf phys;
    tt_code rc = TT_OK;

    tt_buf_init(&phys);
    if (s->dirty.len > 0 && (paths = malloc(s->dirty.len * sizeof(*paths))) == NULL) {
        rc = TT_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < s->dirty.cap; i++) {
        if (s->dirty.slots[i] != NULL)
            paths[n++] = s->dirty.slots[i];
    }
    tt_index_clear(&s->dirty);
    if (s->phys == NULL)
        goto out; /* the root is unreadable; the parent's watch will see it come back */
    qsort(paths, n, sizeof(*paths), path_cmp);
    for (int present = 0; present < 2 && rc == TT_OK; present++) {
        for (size_t i = 0; i < n && rc == TT_OK; i++) {
            struct stat st;
            const char *name = strrchr(paths[i], '/');
            bool exists;
            name = name != NULL ? name + 1 : paths[i];
            if ((rc = phys_of(s, paths[i], &phys)) != TT_OK)
                break;
            exists = stat(phys.data, &st) == 0;
            if (exists != (present == 1))
                continue;
            if (!exists) {
                rc = subtree_gone(s, b, paths[i]);
            } else if (S_ISDIR(st.st_mode)) {
                struct sd_file *f = file_find(s, paths[i]);
                rc = f != NULL ? file_gone(s, b, f) : TT_OK;
                if (rc == TT_OK)
                    rc = walk_subtree(s, b, paths[i]);
            } else {
                struct sd_dir *d = dir_find(s, paths[i]);
                rc = d != NULL ? sweep(s, b, paths[i], ++s->pass) : TT_OK;
                if (rc == TT_OK && S_ISREG(st.st_mode) && tt_loader_is_manifest_name(name))
                    rc = update_file(s, b, paths[i], 0);
                else if (rc == TT_OK && file_find(s, paths[i]) != NULL)
                    rc = file_gone(s, b, file_find(s, paths[i]));
            }
        }
    }
out:
    for (size_t i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
    tt_buf_cleanup(&phys);
    return rc;
}

/* ---- resolving and delivering -------------------------------------------------------------- */

static int touched_cmp(const void *a, const void *b)
{
    return strcmp((*(struct sd_key *const *)a)->key, (*(struct sd_key *const *)b)->key);
}

static int entry_cmp(const void *a, const void *b)
{
    const struct sd_entry *x = *(struct sd_entry *const *)a, *y = *(struct sd_entry *const *)b;
    int c = strcmp(x->file->rel, y->file->rel);

    return c != 0 ? c : (x->line > y->line) - (x->line < y->line);
}

/*
 * An invalid resource with only its identity: what a duplicated key, or a key kept from a file
 * that no longer parses, is delivered as. `problem` becomes r->problem. NULL on ENOMEM.
 */
static tt_resource *identity_only(const tt_source_dir *s, const struct sd_key *k,
                                  const struct sd_entry *at, const char *problem)
{
    tt_arena *arena = tt_arena_create(512);
    tt_resource *r = arena != NULL ? tt_arena_alloc(arena, sizeof(*r)) : NULL;
    const char *ns = strchr(k->key, '/');
    const char *name = ns != NULL ? strchr(ns + 1, '/') : NULL;
    tt_buf file;

    tt_buf_init(&file);
    if (r == NULL || ns == NULL || name == NULL || logical_of(s, at->file->rel, &file) != TT_OK)
        goto fail;
    r->arena = arena;
    r->kind = k->kind;
    r->invalid = true;
    r->key = tt_arena_strdup(arena, k->key);
    r->namespace_ = tt_arena_strndup(arena, ns + 1, (size_t)(name - ns - 1));
    r->name = tt_arena_strdup(arena, name + 1);
    r->file = tt_arena_strdup(arena, file.data);
    r->line = at->line;
    r->problem = tt_arena_strdup(arena, problem);
    if (r->key == NULL || r->namespace_ == NULL || r->name == NULL || r->file == NULL ||
        r->problem == NULL)
        goto fail;
    tt_buf_cleanup(&file);
    return r;
fail:
    tt_buf_cleanup(&file);
    tt_arena_destroy(arena);
    return NULL;
}

/*
 * The same key declared more than once: one invalid resource (the caller owns it), at the first
 * declaration by file and line, whose problem names every place, and one diagnostic per place as
 * the loader gives them. NULL on ENOMEM.
 */
static tt_resource *duplicate(tt_source_dir *s, struct batch *b, struct sd_key *k)
{
    struct sd_entry **all = calloc(k->ncopies, sizeof(*all));
    tt_buf where, msg;
    tt_resource *r = NULL;
    size_t n = 0;

    tt_buf_init(&where);
    tt_buf_init(&msg);
    if (all == NULL)
        goto out;
    for (struct sd_entry *c = k->copies; c != NULL; c = c->next_copy)
        all[n++] = c;
    qsort(all, n, sizeof(*all), entry_cmp);
    for (size_t i = 0; i < n; i++) {
        tt_buf_reset(&where);
        for (size_t j = 0; j < n; j++) {
            if (j != i && tt_buf_printf(&where, "%s%s/%s:%d", where.len ? ", " : "", s->prefix,
                                        all[j]->file->rel, all[j]->line) != TT_OK)
                goto out;
        }
        tt_buf_reset(&msg);
        if (tt_buf_printf(&msg, "%s/%s", s->prefix, all[i]->file->rel) != TT_OK ||
            tt_diags_add(b->diags, msg.data, all[i]->line, NULL, "%s is also defined at %s", k->key,
                         where.data) != TT_OK)
            goto out;
        if (i == 0) {
            tt_buf_reset(&msg);
            if (tt_buf_printf(&msg, "%s/%s:%d: %s is also defined at %s", s->prefix,
                              all[0]->file->rel, all[0]->line, k->key, where.data) != TT_OK)
                goto out;
            r = identity_only(s, k, all[0], msg.data);
            if (r == NULL)
                goto out;
        }
    }
out:
    free(all);
    tt_buf_cleanup(&where);
    tt_buf_cleanup(&msg);
    return r;
}

/* A key left only in a file that no longer parses, and whose duplicate went away. */
static tt_resource *kept_only(const tt_source_dir *s, const struct sd_key *k)
{
    tt_buf msg;
    tt_resource *r = NULL;

    tt_buf_init(&msg);
    if (tt_buf_printf(&msg,
                      "%s/%s:%d: %s is declared here, but the file no longer parses; fix it to "
                      "apply this resource",
                      s->prefix, k->copies->file->rel, k->copies->line, k->key) == TT_OK)
        r = identity_only(s, k, k->copies, msg.data);
    tt_buf_cleanup(&msg);
    return r;
}

/* Appends `r` to the reference check unless it is there already. */
static tt_code refs_add(tt_source_dir *s, tt_resource ***arr, size_t *n, size_t *cap,
                        struct sd_key *k, tt_resource *r)
{
    if (k->in_refs == s->gen)
        return TT_OK;
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 64;
        tt_resource **p = realloc(*arr, c * sizeof(*p));
        if (p == NULL)
            return TT_ENOMEM;
        *arr = p;
        *cap = c;
    }
    (*arr)[(*n)++] = r;
    k->in_refs = s->gen;
    return TT_OK;
}

/*
 * References between resources, as tt_loader_finish checks them: the resources about to be
 * delivered, plus the ScalingPolicies their Alarms name (built again from their files when they
 * were not read in this batch). Only errors can come from a reference to a resource present
 * here, so the errors are exact; the warnings about names absent from this partial set are not,
 * and only the initial listing (which holds everything) forwards them.
 */
static tt_code check_refs(tt_source_dir *s, struct batch *b)
{
    tt_resource **arr = NULL;
    size_t n = 0, cap = 0;
    tt_diags *d = b->initial ? b->diags : tt_diags_create();
    tt_code rc = d != NULL ? TT_OK : TT_ENOMEM;

    for (size_t i = 0; i < b->ntouched && rc == TT_OK; i++) {
        struct sd_key *k = b->touched[i];
        if (k->obj != NULL)
            rc = refs_add(s, &arr, &n, &cap, k, k->obj);
    }
    for (size_t i = 0; i < b->ntouched && rc == TT_OK; i++) {
        struct sd_key *k = b->touched[i];
        if (k->obj == NULL || k->kind != TT_KIND_ALARM || k->ncopies != 1)
            continue;
        for (size_t j = 0; j < k->copies->nsp_refs && rc == TT_OK; j++) {
            struct sd_key *sp = key_find(s, k->copies->sp_refs[j]);
            tt_resource *r;
            if (sp == NULL || sp->touched || sp->ncopies != 1 || sp->copies->kept)
                continue;
            if ((r = fresh_of(s, sp->copies)) == NULL) {
                materialize(s, b, sp->copies->file);
                r = fresh_of(s, sp->copies);
            }
            if (r != NULL)
                rc = refs_add(s, &arr, &n, &cap, sp, r);
        }
    }
    if (rc == TT_OK && n > 0)
        tt_model_check_refs(arr, n, d);
    if (rc == TT_OK && !b->initial) {
        for (size_t i = 0; i < tt_diags_count(d) && rc == TT_OK; i++) {
            const tt_diag *g = tt_diags_get(d, i);
            if (g->severity == TT_DIAG_ERROR)
                rc = tt_diags_add(b->diags, g->file, g->line, g->path, "%s", g->message);
        }
    }
    if (!b->initial)
        tt_diags_destroy(d);
    free(arr);
    return rc;
}

/*
 * Builds what each touched key is delivered as: nothing (declared nowhere), a duplicate, or the
 * resource its one declaration builds, after the reference check.
 */
static tt_code build_touched(tt_source_dir *s, struct batch *b)
{
    if (b->ntouched > 1)
        qsort(b->touched, b->ntouched, sizeof(*b->touched), touched_cmp);
    for (size_t i = 0; i < b->ntouched; i++) {
        struct sd_key *k = b->touched[i];
        struct sd_entry *e = k->copies;
        tt_resource *r;
        long slot;
        if (k->ncopies == 0)
            continue;
        if (k->ncopies > 1 || e->kept) {
            r = k->ncopies > 1 ? duplicate(s, b, k) : kept_only(s, k);
            if (r == NULL || (slot = batch_own(b, r)) < 0)
                return TT_ENOMEM;
            k->obj = r;
            k->obj_slot = (unsigned)slot;
            continue;
        }
        if (fresh_of(s, e) == NULL)
            materialize(s, b, e->file);
        k->obj = fresh_of(s, e);
        k->obj_slot = e->fresh_slot;
        /* The file changed or vanished since its declarations were read: its event will come. */
        k->skip = k->obj == NULL;
    }
    return check_refs(s, b);
}

/*
 * Decides what each touched key is delivered as (build_touched), after touching the Alarms that
 * name a ScalingPolicy whose declarations changed.
 */
static tt_code resolve(tt_source_dir *s, struct batch *b)
{
    size_t first_pass = b->ntouched;
    tt_code rc = TT_OK;

    /* Alarms that name a ScalingPolicy whose declarations changed are checked again. */
    if (s->alarm_refs > 0) {
        bool any_sp = false;
        for (size_t i = 0; i < first_pass && !any_sp; i++)
            any_sp = b->touched[i]->kind == TT_KIND_SCALING_POLICY;
        for (size_t i = 0; any_sp && i < s->keys.cap && rc == TT_OK; i++) {
            struct sd_key *k = s->keys.slots[i];
            if (k == NULL || k->touched || k->kind != TT_KIND_ALARM || k->ncopies != 1)
                continue;
            for (size_t j = 0; j < k->copies->nsp_refs; j++) {
                const struct sd_key *sp = key_find(s, k->copies->sp_refs[j]);
                if (sp != NULL && sp->touched) {
                    rc = touch(b, k);
                    break;
                }
            }
        }
    }
    return rc == TT_OK ? build_touched(s, b) : rc;
}

/*
 * Hands the batch to the handler: problems first, then an upsert for every touched key whose
 * fingerprint differs from its last delivery and a remove for every key declared nowhere. Returns
 * true when a callback destroyed the source (the caller then frees it and touches nothing).
 */
static bool deliver(tt_source_dir *s, struct batch *b)
{
    if (tt_diags_count(b->diags) > 0 && s->h.problems != NULL) {
        tt_diags_sort(b->diags);
        s->depth++;
        s->h.problems(s->ud, b->diags);
        s->depth--;
        if (s->destroyed)
            return true;
    }
    for (size_t i = 0; i < b->ntouched; i++) {
        struct sd_key *k = b->touched[i];
        tt_resource *r = k->obj;
        uint64_t fp;
        if (k->skip)
            continue;
        if (k->ncopies == 0) {
            if (!k->delivered)
                continue;
            k->delivered = false;
            s->stats.removes++;
            s->depth++;
            s->h.remove(s->ud, k->key);
            s->depth--;
        } else {
            fp = fingerprint(r);
            if (k->delivered && k->delivered_fp == fp)
                continue; /* nothing the engine sees has changed */
            k->delivered = true;
            k->delivered_fp = fp;
            b->objs[k->obj_slot] = NULL; /* handed over */
            k->obj = NULL;
            s->stats.upserts++;
            s->depth++;
            s->h.upsert(s->ud, r);
            s->depth--;
        }
        if (s->destroyed)
            return true;
    }
    return false;
}

/* ---- the loop side -------------------------------------------------------------------------- */

static void source_free(tt_source_dir *s);

/*
 * Arms the batch timer `delay` from now (the debounce after an event), but never later than
 * DEBOUNCE_CAP debounces after the first event of the batch, so a constant stream of events
 * still gets through.
 */
static void schedule(tt_source_dir *s, double delay)
{
    double now = ev_now(s->loop), due, cap = s->debounce * DEBOUNCE_CAP;

    if (s->pending_first == 0) {
        s->pending_first = ev_time();
        s->pending_first_now = now;
    }
    due = now + delay;
    if (delay <= cap && due > s->pending_first_now + cap)
        due = s->pending_first_now + cap;
    ev_timer_stop(s->loop, &s->timer);
    ev_timer_set(&s->timer, due > now ? due - now : 0.0, 0.0);
    ev_timer_start(s->loop, &s->timer);
}

/* "dir/name", or either alone when the other is empty. */
static tt_code join_rel(tt_buf *out, const char *dir, const char *name)
{
    tt_buf_reset(out);
    return tt_buf_printf(out, "%s%s%s", dir, dir[0] && name[0] ? "/" : "", name);
}

/* Remembers a path under the root for the next batch; a failure turns into a full rescan. */
static void mark_dirty(tt_source_dir *s, const char *dir_rel, const char *name)
{
    tt_buf p;
    uint64_t h;

    tt_buf_init(&p);
    if (join_rel(&p, dir_rel, name) != TT_OK) {
        s->rescan = true;
        goto out;
    }
    if (p.len == 0) {
        s->rescan = true; /* the root itself */
        goto out;
    }
    h = str_hash(p.data);
    if (tt_index_find(&s->dirty, h, str_eq, p.data) == NULL) {
        char *copy = tt_buf_steal(&p);
        if (copy == NULL || tt_index_put(&s->dirty, h, copy) != TT_OK) {
            free(copy);
            s->rescan = true;
        }
    }
out:
    tt_buf_cleanup(&p);
}

/* Notes one inotify event; returns true when it calls for a batch. */
static bool note_event(tt_source_dir *s, const struct inotify_event *ev)
{
    const uint32_t naming = IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM;
    struct sd_dir *d;
    bool relevant = false;

    if (ev->mask & IN_Q_OVERFLOW) {
        tt_log(TT_LOG_WARN, NULL, "inotify queue overflowed; listing %s again", s->path);
        s->rescan = true;
        return true;
    }
    if (ev->wd == s->parent_wd && ev->len > 0 && (ev->mask & naming) &&
        strcmp(ev->name, s->base) == 0) {
        /* The root's name now points elsewhere: git-sync renamed a new link over it. */
        s->rescan = true;
        relevant = true;
    }
    if ((d = dir_by_wd(s, ev->wd)) == NULL)
        return relevant;
    if (ev->mask & IN_IGNORED) {
        /* The kernel dropped the watch; the record stays so its path is still known. */
        tt_index_del(&s->wds, wd_hash(d->wd), d);
        d->wd = -1;
        if (d->rel[0] == '\0')
            s->rescan = true;
        return d->rel[0] == '\0' || relevant;
    }
    if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT)) {
        /* A subdirectory's parent reports it too; only the root needs a rescan. */
        if (d->rel[0] == '\0')
            s->rescan = true;
        return d->rel[0] == '\0' || relevant;
    }
    if (ev->len == 0 || ev->name[0] == '\0')
        return relevant;
    if (ev->name[0] == '.') {
        /* Dot-entries are never read, with one exception: Kubernetes' atomic writer (ConfigMap
         * and Secret volumes) swaps a "..data" link, and the visible files point through it. */
        if (ev->name[1] == '.' && ev->name[2] != '\0' && (ev->mask & (IN_CREATE | IN_MOVED_TO))) {
            mark_dirty(s, d->rel, ""); /* the root itself means a rescan */
            return true;
        }
        return relevant;
    }
    if ((ev->mask & IN_ISDIR) || tt_loader_is_manifest_name(ev->name) ||
        (ev->mask & (IN_CREATE | IN_MOVED_TO))) {
        /* A created non-manifest name may be a symbolic link to a directory: the batch looks. */
        mark_dirty(s, d->rel, ev->name);
        return true;
    }
    if (ev->mask & (IN_DELETE | IN_MOVED_FROM)) {
        /* A name that is not a manifest matters only if it was a directory (a link to one). */
        tt_buf p;
        bool known;
        tt_buf_init(&p);
        known = join_rel(&p, d->rel, ev->name) == TT_OK && dir_find(s, p.data) != NULL;
        tt_buf_cleanup(&p);
        if (known)
            mark_dirty(s, d->rel, ev->name);
        return known || relevant;
    }
    return relevant;
}

static void on_inotify(struct ev_loop *loop, ev_io *w, int revents)
{
    tt_source_dir *s = w->data;
    union {
        struct inotify_event ev;
        char bytes[16384];
    } buf;
    bool any = false;

    (void)loop;
    (void)revents;
    for (;;) {
        ssize_t n = read(s->fd, buf.bytes, sizeof(buf.bytes));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        for (ssize_t off = 0; off + (ssize_t)sizeof(struct inotify_event) <= n;) {
            const struct inotify_event *ev = (const void *)(buf.bytes + off);
            any |= note_event(s, ev);
            off += (ssize_t)(sizeof(struct inotify_event) + ev->len);
        }
    }
    if (any) {
        /* The loop's cached time may be stale after a long callback; the debounce is real. */
        ev_now_update(s->loop);
        schedule(s, s->debounce);
    }
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    tt_source_dir *s = w->data;
    struct batch b;
    bool destroyed = false;
    tt_code rc;

    (void)loop;
    (void)revents;
    s->gen++;
    s->stats.batches++;
    s->last_change = s->pending_first;
    s->pending_first = 0;
    rc = batch_init(&b, false);
    if (rc == TT_OK && (s->rescan || s->force_full)) {
        /* A full listing covers whatever the individual events named. */
        for (size_t i = 0; i < s->dirty.cap; i++)
            free(s->dirty.slots[i]);
        tt_index_clear(&s->dirty);
        s->rescan = false;
        s->stats.rescans++;
        rc = rescan(s, &b);
    } else if (rc == TT_OK) {
        rc = process_dirty(s, &b);
    }
    if (rc == TT_OK)
        rc = resolve(s, &b);
    if (rc == TT_OK) {
        s->force_full = false;
        destroyed = deliver(s, &b);
    } else {
        tt_log(TT_LOG_ERROR, NULL, "reading %s failed (%s); comparing everything again in %g s",
               s->path, tt_code_name(rc), RETRY_DELAY);
        s->force_full = true;
        schedule(s, RETRY_DELAY);
    }
    batch_cleanup(s, &b);
    if (destroyed)
        source_free(s);
}

/* ---- the public interface ----------------------------------------------------------------- */

tt_source_dir *tt_source_dir_create(struct ev_loop *loop, const tt_source_dir_config *cfg,
                                    const tt_source_handler *h, void *ud, tt_error *err)
{
    tt_source_dir *s = NULL;
    size_t len;
    char *slash;

    if (loop == NULL || cfg == NULL || cfg->path == NULL || cfg->path[0] == '\0' || h == NULL ||
        h->upsert == NULL || h->remove == NULL || !(cfg->debounce >= 0) || cfg->debounce > 3600) {
        tt_error_set(err, TT_EINVAL,
                     "the directory source needs a loop, a path, upsert and remove callbacks, "
                     "and a debounce between 0 and 3600 seconds");
        return NULL;
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        goto nomem;
    tt_index_init(&s->keys, key_hash_of);
    tt_index_init(&s->files, file_hash_of);
    tt_index_init(&s->dirs, dir_hash_of);
    tt_index_init(&s->wds, wd_hash_of);
    tt_index_init(&s->dirty, path_hash_of);
    if ((s->path = strdup(cfg->path)) == NULL)
        goto nomem;
    s->fd = -1;
    s->parent_wd = -1;
    len = strlen(s->path);
    while (len > 1 && s->path[len - 1] == '/')
        s->path[--len] = '\0';
    s->prefix = strdup(strcmp(s->path, "/") == 0 ? "" : s->path);
    if (s->prefix == NULL)
        goto nomem;
    /* The name of the root in its parent, to notice the root being replaced (git-sync). */
    slash = strrchr(s->path, '/');
    s->base = strdup(slash != NULL ? slash + 1 : s->path);
    if (slash == NULL)
        s->parent = strdup(".");
    else
        s->parent = slash == s->path ? strdup("/") : strndup(s->path, (size_t)(slash - s->path));
    if (s->base == NULL || s->parent == NULL)
        goto nomem;
    s->loop = loop;
    s->h = *h;
    s->ud = ud;
    s->debounce = cfg->debounce > 0 ? cfg->debounce : DEFAULT_DEBOUNCE;
    s->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (s->fd < 0) {
        tt_error_set(err, TT_EIO, "cannot watch %s: inotify_init1: %s", s->path, strerror(errno));
        source_free(s);
        return NULL;
    }
    ev_io_init(&s->io, on_inotify, s->fd, EV_READ);
    s->io.data = s;
    ev_timer_init(&s->timer, on_timer, 0.0, 0.0);
    s->timer.data = s;
    return s;
nomem:
    tt_error_set(err, TT_ENOMEM, "out of memory creating the directory source");
    source_free(s);
    return NULL;
}

tt_code tt_source_dir_start(tt_source_dir *s, tt_error *err)
{
    struct batch b;
    char *phys;
    struct stat st;
    bool destroyed = false;
    tt_code rc;

    if (s == NULL || s->started)
        return tt_error_set(err, TT_EINVAL, "the directory source is already started");
    phys = realpath(s->path, NULL);
    if (phys == NULL)
        return tt_error_set(err, errno == ENOENT ? TT_ENOTFOUND : TT_EIO, "cannot read %s: %s",
                            s->path, strerror(errno));
    rc = stat(phys, &st) == 0 && S_ISDIR(st.st_mode) ? TT_OK : TT_EINVAL;
    free(phys);
    if (rc != TT_OK)
        return tt_error_set(err, rc, "%s is not a directory", s->path);
    s->started = true;
    if (s->base[0] != '\0' && strcmp(s->base, ".") != 0 && strcmp(s->base, "..") != 0) {
        s->parent_wd = inotify_add_watch(s->fd, s->parent, WATCH_MASK);
        if (s->parent_wd < 0)
            tt_log(TT_LOG_WARN, NULL,
                   "cannot watch %s (%s): a replaced %s (symlink swap) is noticed only at the "
                   "next full listing",
                   s->parent, strerror(errno), s->path);
    }
    s->gen++;
    s->last_change = ev_time();
    rc = batch_init(&b, true);
    if (rc == TT_OK)
        rc = rescan(s, &b);
    if (rc == TT_OK)
        rc = resolve(s, &b);
    if (rc != TT_OK) {
        batch_cleanup(s, &b);
        return tt_error_set(err, rc, "cannot list %s: out of memory", s->path);
    }
    destroyed = deliver(s, &b);
    batch_cleanup(s, &b);
    if (!destroyed && s->h.synced != NULL) {
        s->depth++;
        s->h.synced(s->ud);
        s->depth--;
        destroyed = s->destroyed;
    }
    if (destroyed) {
        source_free(s);
        return tt_error_set(err, TT_ECANCELLED, "the directory source was destroyed by a callback");
    }
    ev_io_start(s->loop, &s->io);
    return TT_OK;
}

static void source_free(tt_source_dir *s)
{
    if (s == NULL)
        return;
    if (s->loop != NULL) {
        ev_io_stop(s->loop, &s->io);
        ev_timer_stop(s->loop, &s->timer);
    }
    /* Files first: they free the entries, which the keys point to. */
    for (size_t i = 0; i < s->files.cap; i++) {
        struct sd_file *f = s->files.slots[i];
        if (f == NULL)
            continue;
        for (size_t j = 0; j < f->nentries; j++) {
            entry_clear_refs(s, f->entries[j]);
            free(f->entries[j]);
        }
        entries_free(f);
        free(f);
    }
    for (size_t i = 0; i < s->keys.cap; i++)
        free(s->keys.slots[i]);
    for (size_t i = 0; i < s->dirs.cap; i++) {
        struct sd_dir *d = s->dirs.slots[i];
        if (d != NULL) {
            free(d->rel);
            free(d);
        }
    }
    for (size_t i = 0; i < s->dirty.cap; i++)
        free(s->dirty.slots[i]);
    tt_index_cleanup(&s->files);
    tt_index_cleanup(&s->keys);
    tt_index_cleanup(&s->dirs);
    tt_index_cleanup(&s->wds);
    tt_index_cleanup(&s->dirty);
    if (s->fd >= 0)
        close(s->fd); /* drops every watch at once */
    free(s->path);
    free(s->prefix);
    free(s->parent);
    free(s->base);
    free(s->phys);
    free(s);
}

void tt_source_dir_destroy(tt_source_dir *s)
{
    if (s == NULL)
        return;
    if (s->depth > 0) {
        /* Inside a callback: stop now, free when the delivering frame unwinds. */
        s->destroyed = true;
        ev_io_stop(s->loop, &s->io);
        ev_timer_stop(s->loop, &s->timer);
        return;
    }
    source_free(s);
}

double tt_source_dir_last_change(const tt_source_dir *s)
{
    return s->last_change;
}

void tt_source_dir_rebuild(void *source, const char *const *keys, size_t n, tt_resource **out)
{
    tt_source_dir *s = source;
    struct batch b;

    for (size_t i = 0; i < n; i++)
        out[i] = NULL;
    /* Inside a delivery, the batch being delivered owns the per-batch fields. */
    if (n == 0 || s->depth > 0 || batch_init(&b, false) != TT_OK)
        return;
    s->gen++; /* a batch of its own: what it reads and builds is marked with its number */
    s->stats.rebuilds++;
    for (size_t i = 0; i < n; i++) {
        struct sd_key *k = key_find(s, keys[i]);
        if (k != NULL && k->delivered && k->ncopies > 0 && touch(&b, k) != TT_OK)
            goto out;
    }
    if (build_touched(s, &b) != TT_OK)
        goto out;
    for (size_t i = 0; i < n; i++) {
        struct sd_key *k = key_find(s, keys[i]);
        /* What the files build now differs from the delivery: the change is on its way in a
         * batch of its own, and the engine waits for it. */
        if (k == NULL || !k->touched || k->obj == NULL || fingerprint(k->obj) != k->delivered_fp)
            continue;
        out[i] = k->obj;
        b.objs[k->obj_slot] = NULL; /* handed over */
        k->obj = NULL;
    }
out:
    batch_cleanup(s, &b);
}

void tt_source_dir_get_stats(const tt_source_dir *s, tt_source_dir_stats *out)
{
    *out = s->stats;
    out->watches = s->wds.len;
}
