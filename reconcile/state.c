#include "state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tt_buf.h"
#include "tt_json.h"
#include "tt_str.h"

/*
 * What is kept in memory of the records: for each key whose record this process has read or
 * written, the hash of the record's text, so that writing the same text again is skipped. Keys
 * themselves are not kept (the file names on disk are the keys): a slot holds the key's 64-bit
 * hash. Two keys sharing a hash would share a slot, which can only cost a write (the texts of
 * two keys differ: a record names its resource), never skip a needed one.
 */
struct known {
    uint64_t key;  /* hash of the key (never 0); 0: an empty slot */
    uint64_t text; /* hash of the record's text; 0: forgotten (removed), reused at the rebuild */
};

struct tt_state {
    char *dir;
    struct known *known; /* open addressing, linear probing; owned */
    size_t cap;          /* a power of two */
    size_t used;         /* slots taken, forgotten ones included */
    size_t live;         /* slots with a text hash */
    size_t written;
    size_t skipped;
    int lock_fd; /* a writer's lock on DIR/lock, held until close; -1 for readers */
};

/* mkdir -p for `path` (which must be writable). */
static int mkdirs(const char *path)
{
    char buf[4096];
    size_t n = strlen(path);

    if (n == 0 || n >= sizeof(buf))
        return -1;
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(buf, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/*
 * True when `key` is "Kind/namespace/name" with three non-empty parts, none of them "." or "..":
 * keys also come from what manifests refer to (a composite alarm rule names any alarm), and
 * such a key must never make a path outside the state directory.
 */
static bool key_is_path_safe(const char *key)
{
    int parts = 0;
    for (const char *p = key;; p++) {
        const char *end = strchr(p, '/');
        size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.') ||
            ++parts > 3)
            return false;
        if (end == NULL)
            return parts == 3;
        p = end;
    }
}

/* The record's path; false (and `out` empty) for a key that is not a resource's. */
static bool path_of(const tt_state *st, const char *key, tt_buf *out)
{
    tt_buf_reset(out);
    if (!key_is_path_safe(key))
        return false;
    return tt_buf_printf(out, "%s/resources/%s.json", st->dir, key) == TT_OK;
}

/*
 * Removes `dir/name` when it is the temporary file ".<name>.json.tmp.<pid>" of a write whose
 * process is gone (a kill -9 between fopen and rename). Only a writer sweeps, at open, before
 * it has written anything: a file with its own pid is stale too (an operator in a container is
 * pid 1 on every restart). A live writer's file is left alone: two writers on one state
 * directory is a misuse, but it must not make the other one's rename fail. Read-only users
 * (`status`, `plan`) never sweep, since they may run in another pid namespace, where kill()
 * cannot see the writer.
 */
static void sweep_temp(const tt_buf *dir, const char *name)
{
    const char *mark = NULL;
    char *end;
    long pid;
    tt_buf path;

    for (const char *p = strstr(name, ".json.tmp."); p != NULL; p = strstr(p + 1, ".json.tmp."))
        mark = p + strlen(".json.tmp.");
    if (mark == NULL || *mark < '0' || *mark > '9')
        return;
    errno = 0;
    pid = strtol(mark, &end, 10);
    if (*end != '\0' || errno != 0 || pid <= 0 || pid > INT_MAX)
        return;
    if (pid != (long)getpid() && (kill((pid_t)pid, 0) == 0 || errno != ESRCH))
        return;
    tt_buf_init(&path);
    tt_buf_printf(&path, "%s/%s", dir->data, name);
    unlink(path.data);
    tt_buf_cleanup(&path);
}

/* Calls `fn` (when not NULL) with the key of every record, DIR/resources/<Kind>/<ns>/<name>.json,
 * in directory order; unreadable parts are skipped. With `sweep` (a writer at open) it also
 * removes stale temporary files. */
static void walk_records(const tt_state *st, bool sweep, void (*fn)(void *ud, const char *key),
                         void *ud)
{
    tt_buf path;
    DIR *kinds, *nss, *names;
    struct dirent *k, *n, *f;

    tt_buf_init(&path);
    tt_buf_printf(&path, "%s/resources", st->dir);
    kinds = opendir(path.data);
    while (kinds != NULL && (k = readdir(kinds)) != NULL) {
        if (k->d_name[0] == '.')
            continue;
        tt_buf_reset(&path);
        tt_buf_printf(&path, "%s/resources/%s", st->dir, k->d_name);
        nss = opendir(path.data);
        while (nss != NULL && (n = readdir(nss)) != NULL) {
            if (n->d_name[0] == '.')
                continue;
            tt_buf_reset(&path);
            tt_buf_printf(&path, "%s/resources/%s/%s", st->dir, k->d_name, n->d_name);
            names = opendir(path.data);
            while (names != NULL && (f = readdir(names)) != NULL) {
                size_t len = strlen(f->d_name);
                char key[768];
                if (f->d_name[0] == '.') {
                    if (sweep)
                        sweep_temp(&path, f->d_name);
                    continue;
                }
                if (len < 6 || strcmp(f->d_name + len - 5, ".json") != 0 || fn == NULL)
                    continue;
                snprintf(key, sizeof(key), "%s/%s/%.*s", k->d_name, n->d_name, (int)(len - 5),
                         f->d_name);
                fn(ud, key);
            }
            if (names != NULL)
                closedir(names);
        }
        if (nss != NULL)
            closedir(nss);
    }
    if (kinds != NULL)
        closedir(kinds);
    tt_buf_cleanup(&path);
}

/* ---- the known text hashes ---------------------------------------------------------------- */

/* At most 3/4 of the slots are taken (forgotten ones count): probes stay short. */
#define KNOWN_MIN 64

static uint64_t key_hash(const char *key)
{
    uint64_t h = tt_hash64_mix(tt_hash64_str(key));

    return h != 0 ? h : 1;
}

/* The slot of `key` (its hash), or the empty slot where it would go. */
static struct known *known_find(const tt_state *st, uint64_t key)
{
    size_t mask = st->cap - 1, i;

    for (i = key & mask; st->known[i].key != 0 && st->known[i].key != key; i = (i + 1) & mask)
        ;
    return &st->known[i];
}

/* Rebuilds the table with room to grow, leaving the forgotten ones out: a table that saw many
 * removals shrinks. Unchanged on ENOMEM. */
static int known_rebuild(tt_state *st)
{
    size_t cap = KNOWN_MIN;
    struct known *slots;

    /* At most 3/8 full after the rebuild: room for as many new keys again before the next. */
    while ((st->live + 1) * 8 > cap * 3)
        cap *= 2;
    slots = calloc(cap, sizeof(*slots));
    if (slots == NULL)
        return -1;
    for (size_t i = 0; i < st->cap; i++) {
        size_t j;
        if (st->known[i].key == 0 || st->known[i].text == 0)
            continue;
        for (j = st->known[i].key & (cap - 1); slots[j].key != 0; j = (j + 1) & (cap - 1))
            ;
        slots[j] = st->known[i];
    }
    free(st->known);
    st->known = slots;
    st->cap = cap;
    st->used = st->live;
    return 0;
}

/* Remembers the text hash of `key`'s record. Out of memory, it is simply not remembered: the
 * next write of that record is not skipped. */
static void known_set(tt_state *st, const char *key, uint64_t text)
{
    uint64_t h = key_hash(key);
    struct known *k = known_find(st, h);

    if (k->key == 0 && (st->used + 1) * 4 > st->cap * 3) {
        if (known_rebuild(st) != 0)
            return;
        k = known_find(st, h);
    }
    if (k->key == 0) {
        k->key = h;
        st->used++;
    }
    if (k->text == 0)
        st->live++;
    k->text = text;
}

/* The text hash remembered for `key`'s record, or 0. */
static uint64_t known_get(const tt_state *st, const char *key)
{
    const struct known *k = known_find(st, key_hash(key));

    return k->text;
}

/* `key`'s record is gone. Its slot stays taken until the next rebuild, so that no probe chain
 * is cut. */
static void known_forget(tt_state *st, const char *key)
{
    struct known *k = known_find(st, key_hash(key));

    if (k->text != 0) {
        k->text = 0;
        st->live--;
    }
}

/*
 * Takes the writer's lock: an advisory flock on DIR/lock, held for the process's life (the
 * kernel drops it when the process dies, so a killed writer never blocks the next one). The
 * file names the holder, for the error the second writer prints.
 */
static tt_code take_lock(tt_state *st, tt_error *err)
{
    char path[PATH_MAX], holder[256], me[256], host[128] = "";
    ssize_t n;

    snprintf(path, sizeof(path), "%s/lock", st->dir);
    st->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (st->lock_fd < 0)
        return tt_error_set(err, TT_EIO, "cannot open %s: %s", path, strerror(errno));
    if (flock(st->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        n = pread(st->lock_fd, holder, sizeof(holder) - 1, 0);
        holder[n > 0 ? n : 0] = '\0';
        holder[strcspn(holder, "\n")] = '\0';
        close(st->lock_fd);
        st->lock_fd = -1;
        if (e != EWOULDBLOCK)
            return tt_error_set(err, TT_EIO, "cannot lock %s: %s", path, strerror(e));
        return tt_error_set(err, TT_ECONFLICT,
                            "the state directory %s is in use by another trimtab run (%s); two "
                            "operators on one state directory would make every AWS change twice: "
                            "stop that one, or give this one another --state-dir",
                            st->dir, holder[0] ? holder : "holder unknown");
    }
    gethostname(host, sizeof(host) - 1);
    n = snprintf(me, sizeof(me), "pid %ld on %s\n", (long)getpid(), host[0] ? host : "?");
    if (ftruncate(st->lock_fd, 0) != 0 || pwrite(st->lock_fd, me, (size_t)n, 0) != n)
        return tt_error_set(err, TT_EIO, "cannot write %s: %s", path, strerror(errno));
    return TT_OK;
}

tt_state *tt_state_open(const char *dir, bool writer, tt_error *err)
{
    tt_state *st = calloc(1, sizeof(*st));
    tt_buf path;

    if (st != NULL)
        st->lock_fd = -1;
    if (st == NULL || (st->dir = strdup(dir)) == NULL || known_rebuild(st) != 0) {
        tt_state_close(st);
        tt_error_set(err, TT_ENOMEM, "out of memory");
        return NULL;
    }
    tt_buf_init(&path);
    tt_buf_printf(&path, "%s/resources", dir);
    if (mkdirs(path.data) != 0) {
        tt_error_set(err, TT_EIO, "cannot create the state directory %s: %s", dir, strerror(errno));
        tt_buf_cleanup(&path);
        tt_state_close(st);
        return NULL;
    }
    tt_buf_cleanup(&path);
    /* The lock comes before the sweep of temporary files: those of a live writer are not
     * stale, and only the lock holder may decide that. */
    if (writer && take_lock(st, err) != TT_OK) {
        tt_state_close(st);
        return NULL;
    }
    if (writer)
        walk_records(st, true, NULL, NULL);
    return st;
}

void tt_state_close(tt_state *st)
{
    if (st == NULL)
        return;
    if (st->lock_fd >= 0)
        close(st->lock_fd); /* releases the lock */
    free(st->known);
    free(st->dir);
    free(st);
}

/* The hash kept for a record's text (as written, without the final newline). */
static uint64_t text_hash(const char *text, size_t len)
{
    uint64_t h = tt_hash64(text, len) & 0x7fffffffffffffffULL;
    return h != 0 ? h : 1; /* 0 means "not known" */
}

json_t *tt_state_read(tt_state *st, const char *key)
{
    json_t *rec = NULL;
    tt_buf path, text;
    char chunk[8192];
    size_t n;
    FILE *f;

    tt_buf_init(&path);
    tt_buf_init(&text);
    f = path_of(st, key, &path) ? fopen(path.data, "r") : NULL;
    while (f != NULL && (n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (tt_buf_append(&text, chunk, n) != TT_OK)
            goto out;
    }
    if (f == NULL || ferror(f) || text.len == 0)
        goto out;
    rec = json_loadb(text.data, text.len, 0, NULL);
    if (rec != NULL && !json_is_object(rec)) {
        json_decref(rec);
        rec = NULL;
    }
    /* Knowing the text's hash lets the next write of an unchanged record (a resync after a
     * restart) skip the file instead of rewriting it. */
    if (rec != NULL)
        known_set(st, key, text_hash(text.data, text.len - (text.data[text.len - 1] == '\n')));
out:
    if (f != NULL)
        fclose(f);
    tt_buf_cleanup(&path);
    tt_buf_cleanup(&text);
    return rec;
}

tt_code tt_state_write(tt_state *st, const char *key, const json_t *record, tt_error *err)
{
    char *text = tt_json_dumps(record, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(15));
    uint64_t h;
    tt_buf path, tmp;
    FILE *f = NULL;
    tt_code rc = TT_OK;

    if (text == NULL)
        return tt_error_set(err, TT_ENOMEM, "out of memory");
    h = text_hash(text, strlen(text));
    if (known_get(st, key) == h) {
        st->skipped++;
        free(text);
        return TT_OK;
    }
    tt_buf_init(&path);
    tt_buf_init(&tmp);
    if (!path_of(st, key, &path)) {
        rc = tt_error_set(err, TT_EINVAL, "'%.200s' is not a resource key", key);
        goto out;
    }
    {
        /* The record's folders (Kind/namespace) may not exist yet. */
        char *slash = strrchr(path.data, '/');
        *slash = '\0';
        if (mkdirs(path.data) != 0) {
            rc = tt_error_set(err, TT_EIO, "cannot create %s: %s", path.data, strerror(errno));
            goto out;
        }
        *slash = '/';
    }
    {
        /* A dot name, never taken for a record: a kill -9 before the rename leaves no record. */
        char *slash = strrchr(path.data, '/');
        tt_buf_printf(&tmp, "%.*s/.%s.tmp.%d", (int)(slash - path.data), path.data, slash + 1,
                      (int)getpid());
    }
    f = fopen(tmp.data, "w");
    if (f == NULL || fputs(text, f) == EOF || fputc('\n', f) == EOF) {
        rc = tt_error_set(err, TT_EIO, "cannot write %s: %s", tmp.data, strerror(errno));
        goto out;
    }
    if (fclose(f) != 0) {
        f = NULL;
        rc = tt_error_set(err, TT_EIO, "cannot write %s: %s", tmp.data, strerror(errno));
        goto out;
    }
    f = NULL;
    /* rename() replaces the old record in one step: a reader sees the old or the new file. */
    if (rename(tmp.data, path.data) != 0) {
        rc = tt_error_set(err, TT_EIO, "cannot rename %s: %s", tmp.data, strerror(errno));
        goto out;
    }
    known_set(st, key, h);
    st->written++;
out:
    if (f != NULL)
        fclose(f);
    if (rc != TT_OK && tmp.len > 0)
        unlink(tmp.data);
    tt_buf_cleanup(&path);
    tt_buf_cleanup(&tmp);
    free(text);
    return rc;
}

tt_code tt_state_remove(tt_state *st, const char *key, tt_error *err)
{
    tt_buf path;
    tt_code rc = TT_OK;

    tt_buf_init(&path);
    if (!path_of(st, key, &path))
        known_forget(st, key); /* no such record can exist */
    else if (unlink(path.data) != 0 && errno != ENOENT)
        rc = tt_error_set(err, TT_EIO, "cannot remove %s: %s", path.data, strerror(errno));
    else
        known_forget(st, key);
    tt_buf_cleanup(&path);
    return rc;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys of a walk, copied. */
struct key_list {
    char **keys;
    size_t n;
    size_t cap;
    bool oom;
};

static void list_key(void *ud, const char *key)
{
    struct key_list *l = ud;

    if (l->oom)
        return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        char **k = realloc(l->keys, cap * sizeof(*k));
        if (k == NULL) {
            l->oom = true;
            return;
        }
        l->keys = k;
        l->cap = cap;
    }
    if ((l->keys[l->n] = strdup(key)) == NULL)
        l->oom = true;
    else
        l->n++;
}

void tt_state_foreach(tt_state *st, void (*fn)(void *ud, const char *key), void *ud)
{
    struct key_list l = {NULL, 0, 0, false};

    /* The callback may remove records: the keys are all listed first. */
    walk_records(st, false, list_key, &l);
    if (!l.oom) {
        if (l.n > 0) /* qsort must not be given NULL, even for no items */
            qsort(l.keys, l.n, sizeof(*l.keys), str_cmp);
        for (size_t i = 0; i < l.n; i++)
            fn(ud, l.keys[i]);
    }
    for (size_t i = 0; i < l.n; i++)
        free(l.keys[i]);
    free(l.keys);
}

static void count_key(void *ud, const char *key)
{
    (void)key;
    (*(size_t *)ud)++;
}

size_t tt_state_count(const tt_state *st)
{
    size_t n = 0;

    walk_records(st, false, count_key, &n);
    return n;
}

void tt_state_stats(const tt_state *st, size_t *written, size_t *skipped)
{
    *written = st->written;
    *skipped = st->skipped;
}
