/*
 * Unit tests for reconcile/source_dir: a real libev loop watching real temporary directories.
 * Each test writes files the way editors, git and git-sync do, runs the loop, and checks the
 * exact deliveries (and, where it matters, how many files were read to produce them).
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "source_dir.h"
#include "tt_buf.h"

/* ---- recording what the source delivers ------------------------------------------------------ */

#define REC_MAX 64
/* Long enough for any follow-up batch to arrive: five debounce periods of 10 ms. */
#define QUIET 0.05

struct delivery {
    char type; /* 'u' upsert, 'r' remove */
    char key[128];
    bool invalid;
    char problem[1024];
    char file[512];
    int line;
    uint64_t spec_hash;
};

struct rec {
    tt_source_dir *s;
    int calls;   /* every callback, for destroy_at */
    int n;       /* deliveries (upserts and removes) */
    int upserts; /* counted beyond REC_MAX too */
    int removes;
    int synced;
    int problems;
    tt_buf problem_text;
    struct delivery d[REC_MAX];
    int destroy_at;         /* destroy the source inside this callback (1-based), 0: never */
    bool destroy_on_synced; /* ... or inside synced */
    bool destroyed;
    double last_upsert_at; /* ev_time() of the latest upsert */
};

static bool maybe_destroy(struct rec *r)
{
    r->calls++;
    assert_false(r->destroyed); /* no callback after destroy */
    if (r->destroy_at != 0 && r->calls == r->destroy_at) {
        tt_source_dir_destroy(r->s);
        r->destroyed = true;
        return true;
    }
    return false;
}

static void rec_upsert(void *ud, tt_resource *res)
{
    struct rec *r = ud;

    r->last_upsert_at = ev_time();
    if (r->n < REC_MAX) {
        struct delivery *d = &r->d[r->n];
        d->type = 'u';
        snprintf(d->key, sizeof(d->key), "%s", res->key);
        d->invalid = res->invalid;
        snprintf(d->problem, sizeof(d->problem), "%s", res->problem ? res->problem : "");
        snprintf(d->file, sizeof(d->file), "%s", res->file ? res->file : "");
        d->line = res->line;
        d->spec_hash = res->spec_hash;
    }
    r->n++;
    r->upserts++;
    tt_resource_destroy(res); /* ownership came with the call */
    maybe_destroy(r);
}

static void rec_remove(void *ud, const char *key)
{
    struct rec *r = ud;

    if (r->n < REC_MAX) {
        r->d[r->n].type = 'r';
        snprintf(r->d[r->n].key, sizeof(r->d[r->n].key), "%s", key);
    }
    r->n++;
    r->removes++;
    maybe_destroy(r);
}

static void rec_synced(void *ud)
{
    struct rec *r = ud;

    r->synced++;
    if (maybe_destroy(r))
        return;
    if (r->destroy_on_synced) {
        tt_source_dir_destroy(r->s);
        r->destroyed = true;
    }
}

static void rec_problems(void *ud, const tt_diags *diags)
{
    struct rec *r = ud;

    r->problems++;
    tt_diags_format(diags, &r->problem_text);
    maybe_destroy(r);
}

static const tt_source_handler handler = {rec_upsert, rec_remove, rec_synced, rec_problems};

/* Forgets what was recorded so far, so a test can look at one batch. */
static void rec_reset(struct rec *r)
{
    r->n = 0;
    r->upserts = 0;
    r->removes = 0;
    r->problems = 0;
    tt_buf_reset(&r->problem_text);
}

static const struct delivery *find_delivery(const struct rec *r, char type, const char *key)
{
    for (int i = 0; i < r->n && i < REC_MAX; i++) {
        if (r->d[i].type == type && strcmp(r->d[i].key, key) == 0)
            return &r->d[i];
    }
    fail_msg("no %s of %s among %d deliveries", type == 'u' ? "upsert" : "remove", key, r->n);
    /* fail_msg leaves the test by longjmp but is not declared noreturn; abort() says so to the
     * compiler, whose -Wnull-dereference (at -O3) would otherwise see a NULL return. */
    abort();
}

/* ---- fixture: a temporary directory, a loop, a source ------------------------------------- */

struct fx {
    char root[128];
    char src[128]; /* the path the source watches */
    struct ev_loop *loop;
    tt_source_dir *s;
    struct rec r;
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/*
 * Where the test trees go: $TMPDIR when set, else /dev/shm when it is a writable tmpfs (creating
 * 10,000 files there takes a fraction of a second, on some disks it takes many), else /tmp.
 */
static const char *temp_base(void)
{
    const char *t = getenv("TMPDIR");

    if (t != NULL && *t != '\0')
        return t;
    return access("/dev/shm", W_OK | X_OK) == 0 ? "/dev/shm" : "/tmp";
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    if (f == NULL)
        return -1;
    snprintf(f->root, sizeof(f->root), "%s/tt_source_dir.XXXXXX", temp_base());
    if (mkdtemp(f->root) == NULL)
        return -1;
    snprintf(f->src, sizeof(f->src), "%s", f->root);
    f->loop = ev_loop_new(EVFLAG_AUTO);
    if (f->loop == NULL)
        return -1;
    tt_buf_init(&f->r.problem_text);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    if (!f->r.destroyed)
        tt_source_dir_destroy(f->s);
    ev_loop_destroy(f->loop);
    nftw(f->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    tt_buf_cleanup(&f->r.problem_text);
    free(f);
    return 0;
}

/* Writes `text` to root/rel (truncating, as an editor saving in place does); makes parents. */
static void put(struct fx *f, const char *rel, const char *text)
{
    char path[512];
    int fd;

    snprintf(path, sizeof(path), "%s/%s", f->root, rel);
    for (char *p = path + strlen(f->root) + 1; (p = strchr(p, '/')) != NULL; p++) {
        *p = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST)
            fail_msg("mkdir %s: %s", path, strerror(errno));
        *p = '/';
    }
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static void rm(struct fx *f, const char *rel)
{
    char path[512];

    snprintf(path, sizeof(path), "%s/%s", f->root, rel);
    assert_int_equal(nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
}

/* A ScalingPolicy named `name` in namespace t, with maxCapacity `max`. */
static const char *sp(tt_buf *b, const char *name, int max)
{
    tt_buf_printf(b,
                  "%sapiVersion: trimtab.dev/v1alpha1\nkind: ScalingPolicy\nmetadata:\n"
                  "  name: %s\n  namespace: t\nspec:\n  target:\n    ecs: {cluster: c, service: "
                  "%s}\n  minCapacity: 1\n  maxCapacity: %d\n",
                  b->len ? "---\n" : "", name, name, max);
    return tt_buf_str(b);
}

static void put_sps(struct fx *f, const char *rel, const char *const *names, int max)
{
    tt_buf b;

    tt_buf_init(&b);
    for (; *names != NULL; names++)
        sp(&b, *names, max);
    put(f, rel, tt_buf_str(&b));
    tt_buf_cleanup(&b);
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void guard_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
}

/* Runs the loop until `r->n` reaches `n` or `timeout` seconds pass; a guard bounds each wait. */
static void run_until_n(struct fx *f, int n, double timeout)
{
    ev_timer guard;
    double end = now_s() + timeout;

    ev_timer_init(&guard, guard_cb, 0.01, 0.01);
    ev_timer_start(f->loop, &guard);
    while (f->r.n < n && now_s() < end)
        ev_run(f->loop, EVRUN_ONCE);
    ev_timer_stop(f->loop, &guard);
}

/* Runs the loop for `seconds`, to see that nothing (more) is delivered. */
static void settle(struct fx *f, double seconds)
{
    run_until_n(f, INT32_MAX, seconds);
}

static void start(struct fx *f, double debounce)
{
    tt_source_dir_config cfg = {f->src, debounce};
    tt_error err;

    f->r.s = f->s = tt_source_dir_create(f->loop, &cfg, &handler, &f->r, &err);
    assert_non_null(f->s);
    if (tt_source_dir_start(f->s, &err) != TT_OK)
        fail_msg("start: %s", err.message);
    assert_int_equal(f->r.synced, 1);
}

static void stats(struct fx *f, tt_source_dir_stats *st)
{
    tt_source_dir_get_stats(f->s, st);
}

/* Every path under the root with its size and modification and change times. */
static int snap_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw);
static tt_buf *snap_out;

static int snap_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)flag;
    (void)ftw;
    tt_buf_printf(snap_out, "%s %lld %lld.%09ld %lld.%09ld\n", path, (long long)st->st_size,
                  (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec, (long long)st->st_ctim.tv_sec,
                  st->st_ctim.tv_nsec);
    return 0;
}

static void snapshot(struct fx *f, tt_buf *out)
{
    snap_out = out;
    tt_buf_reset(out);
    assert_int_equal(nftw(f->root, snap_entry, 16, FTW_PHYS), 0);
}

/* ---- the tests ---------------------------------------------------------------------------- */

static void initial_listing_then_synced(void **state)
{
    struct fx *f = *state;
    const char *ab[] = {"a", "b", NULL}, *c[] = {"c", NULL}, *hidden[] = {"hidden", NULL};
    tt_buf before, after;

    put_sps(f, "a.yaml", ab, 3);
    put_sps(f, "sub/deeper/c.yml", c, 3);
    put_sps(f, ".git/hidden.yaml", hidden, 3); /* dot-entries are skipped */
    put_sps(f, "notes.txt", hidden, 3);        /* not a manifest name */
    put(f, "d.json",
        "{\"apiVersion\": \"trimtab.dev/v1alpha1\", \"kind\": \"ScalingPolicy\", \"metadata\": "
        "{\"name\": \"d\", \"namespace\": \"t\"}, \"spec\": {\"target\": {\"ecs\": {\"cluster\": "
        "\"c\", \"service\": \"d\"}}, \"minCapacity\": 1, \"maxCapacity\": 2}}\n");
    put(f, "bad.yaml",
        "apiVersion: trimtab.dev/v1alpha1\nkind: ScalingPolicy\nmetadata:\n  name: bad\n"
        "  namespace: t\nspec:\n  minCapacity: 5\n  maxCapacity: 2\n");
    put(f, "other.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n");
    tt_buf_init(&before);
    tt_buf_init(&after);
    snapshot(f, &before);

    start(f, 0);
    /* Problems first, then every resource in key order, valid or not, then synced. */
    assert_int_equal(f->r.upserts, 5);
    assert_int_equal(f->r.removes, 0);
    assert_int_equal(f->r.problems, 1);
    assert_string_equal(f->r.d[0].key, "ScalingPolicy/t/a");
    assert_string_equal(f->r.d[1].key, "ScalingPolicy/t/b");
    assert_string_equal(f->r.d[2].key, "ScalingPolicy/t/bad");
    assert_string_equal(f->r.d[3].key, "ScalingPolicy/t/c");
    assert_string_equal(f->r.d[4].key, "ScalingPolicy/t/d");
    assert_true(f->r.d[2].invalid);
    assert_non_null(strstr(f->r.d[2].problem, "bad.yaml:"));
    assert_non_null(strstr(tt_buf_str(&f->r.problem_text), "bad.yaml"));
    for (int i = 0; i < 5; i++)
        assert_true(i == 2 || !f->r.d[i].invalid);
    /* Files are named below the configured path, with their line. */
    {
        char want[256];
        snprintf(want, sizeof(want), "%s/sub/deeper/c.yml", f->root);
        assert_string_equal(f->r.d[3].file, want);
        assert_int_equal(f->r.d[1].line, 11);
    }
    /* The other watch events of the listing itself must produce nothing. */
    rec_reset(&f->r);
    settle(f, QUIET);
    assert_int_equal(f->r.n, 0);
    {
        tt_source_dir_stats st;
        stats(f, &st);
        assert_int_equal(st.files_read, 5); /* a, c, d, bad, other: not notes.txt nor .git */
        assert_int_equal(st.watches, 3);    /* root, sub, sub/deeper */
    }
    /* Nothing under the directory was written (the loader opens read-only). */
    snapshot(f, &after);
    assert_string_equal(tt_buf_str(&before), tt_buf_str(&after));
    tt_buf_cleanup(&before);
    tt_buf_cleanup(&after);
}

static void edit_delivers_one_upsert(void **state)
{
    struct fx *f = *state;
    const char *ab[] = {"a", "b", NULL};
    tt_source_dir_stats st0, st1;

    put_sps(f, "a.yaml", ab, 3);
    start(f, 0);
    rec_reset(&f->r);
    stats(f, &st0);
    {
        /* b's maxCapacity changes; a's bytes stay identical. */
        tt_buf b;
        tt_buf_init(&b);
        sp(&b, "a", 3);
        sp(&b, "b", 7);
        put(f, "a.yaml", tt_buf_str(&b));
        tt_buf_cleanup(&b);
    }
    run_until_n(f, 1, 2.0);
    settle(f, QUIET);
    assert_int_equal(f->r.n, 1);
    assert_int_equal(f->r.d[0].type, 'u');
    assert_string_equal(f->r.d[0].key, "ScalingPolicy/t/b");
    stats(f, &st1);
    assert_int_equal(st1.files_read - st0.files_read, 1);
    assert_int_equal(st1.batches - st0.batches, 1); /* MODIFY, MODIFY, CLOSE_WRITE: one batch */
}

static void same_content_rewrite_delivers_nothing(void **state)
{
    struct fx *f = *state;
    const char *ab[] = {"a", "b", NULL};
    tt_source_dir_stats st0, st1;
    char path[256];

    put_sps(f, "a.yaml", ab, 3);
    start(f, 0);
    rec_reset(&f->r);
    stats(f, &st0);
    put_sps(f, "a.yaml", ab, 3);
    snprintf(path, sizeof(path), "%s/a.yaml", f->root);
    assert_int_equal(utimensat(AT_FDCWD, path, NULL, 0), 0); /* touch */
    settle(f, QUIET);
    assert_int_equal(f->r.n, 0);
    stats(f, &st1);
    /* It was read (the event named it) but not parsed again: the bytes are the same. */
    assert_int_equal(st1.files_read - st0.files_read, 1);
    assert_int_equal(st1.files_parsed - st0.files_parsed, 0);
}

static void delete_removes(void **state)
{
    struct fx *f = *state;
    const char *ab[] = {"a", "b", NULL}, *c[] = {"c", NULL};

    put_sps(f, "a.yaml", ab, 3);
    put_sps(f, "c.yaml", c, 3);
    start(f, 0);
    rec_reset(&f->r);
    rm(f, "a.yaml");
    run_until_n(f, 2, 2.0);
    settle(f, QUIET);
    assert_int_equal(f->r.n, 2);
    assert_int_equal(f->r.removes, 2);
    find_delivery(&f->r, 'r', "ScalingPolicy/t/a");
    find_delivery(&f->r, 'r', "ScalingPolicy/t/b");
    /* Renaming a manifest to a name that is not one is a deletion too. */
    rec_reset(&f->r);
    {
        char from[256], to[256];
        snprintf(from, sizeof(from), "%s/c.yaml", f->root);
        snprintf(to, sizeof(to), "%s/c.yaml.bak", f->root);
        assert_int_equal(rename(from, to), 0);
        run_until_n(f, 1, 2.0);
        settle(f, QUIET);
        assert_int_equal(f->r.n, 1);
        find_delivery(&f->r, 'r', "ScalingPolicy/t/c");
        /* And back: an upsert at the same place. */
        rec_reset(&f->r);
        assert_int_equal(rename(to, from), 0);
        run_until_n(f, 1, 2.0);
        settle(f, QUIET);
        assert_int_equal(f->r.n, 1);
        find_delivery(&f->r, 'u', "ScalingPolicy/t/c");
    }
}

static void move_between_files_is_one_upsert(void **state)
{
    struct fx *f = *state;
    const char *xy[] = {"x", "y", NULL}, *z[] = {"z", NULL}, *x[] = {"x", NULL},
               *zy[] = {"z", "y", NULL};
    const struct delivery *d;
    char want[256];

    put_sps(f, "a.yaml", xy, 3);
    put_sps(f, "b.yaml", z, 3);
    start(f, 0);
    rec_reset(&f->r);
    /* y moves from a.yaml to b.yaml; both files are saved before the loop runs: one batch. */
    put_sps(f, "a.yaml", x, 3);
    put_sps(f, "b.yaml", zy, 3);
    run_until_n(f, 1, 2.0);
    settle(f, QUIET);
    assert_int_equal(f->r.n, 1);
    d = find_delivery(&f->r, 'u', "ScalingPolicy/t/y");
    assert_false(d->invalid);
    snprintf(want, sizeof(want), "%s/b.yaml", f->root);
    assert_string_equal(d->file, want);
    assert_int_equal(d->line, 11);
}

static void new_subdirectory_is_read_and_watched(void **state)
{
    struct fx *f = *state;
    const char *a[] = {"a", NULL}, *n1[] = {"n1", NULL}, *n2[] = {"n2", NULL};
    tt_source_dir_stats st;

    put_sps(f, "a.yaml", a, 3);
    start(f, 0);
    rec_reset(&f->r);
    /* mkdir -p new/deeper, and files in both at once: created before their watches exist. */
    put_sps(f, "new/n1.yaml", n1, 3);
    put_sps(f, "new/deeper/n2.yaml", n2, 3);
    run_until_n(f, 2, 2.0);
    settle(f, QUIET);
    assert_int_equal(f->r.n, 2);
    find_delivery(&f->r, 'u', "ScalingPolicy/t/n1");
    find_delivery(&f->r, 'u', "ScalingPolicy/t/n2");
    stats(f, &st);
    assert_int_equal(st.watches, 3);
    /* The new directories are watched now. */
    rec_reset(&f->r);
    put_sps(f, "new/deeper/n2.yaml", n2, 9);
    run_until_n(f, 1, 2.0);
    settle(f, QUIET);
    assert_int_equal(f->r.n, 1);
    find_delivery(&f->r, 'u', "ScalingPolicy/t/n2");
    /* A directory moved inside the tree: its files change origin, nothing is removed. */
    rec_reset(&f->r);
    {
        char from[256], to[256];
        snprintf(from, sizeof(from), "%s/new", f->root);
        snprintf(to, sizeof(to), "%s/moved", f->root);
        assert_int_equal(rename(from, to), 0);
    }
    run_until_n(f, 2, 2.0);
    settle(f, QUIET);
    assert_int_equal(f->r.n, 2);
    assert_int_equal(f->r.removes, 0);
    assert_non_null(
        strstr(find_delivery(&f->r, 'u', "ScalingPolicy/t/n2")->file, "/moved/deeper/n2.yaml"));
    rec_reset(&f->r);
    put_sps(f, "moved/deeper/n2.yaml", n2, 10); /* watched under its new name */
    run_until_n(f, 1, 2.0);
    assert_int_equal(f->r.n, 1);
    /* rm -rf of the directory removes what it declared. */
    rec_reset(&f->r);
    rm(f, "moved");
    run_until_n(f, 2, 2.0);
    settle(f, QUIET);
    assert_int_equal(f->r.n, 2);
    assert_int_equal(f->r.removes, 2);
    stats(f, &st);
    assert_int_equal(st.watches, 1);
}

static void duplicates_across_files(void **state)
{
    struct fx *f = *state;
    const char *k[] = {"k", NULL}, *other[] = {"other", NULL};
    const struct delivery *d;
    tt_source_dir_stats st0, st1;

    put_sps(f, "a.yaml", k, 3);
    put_sps(f, "b.yaml", other, 3);
    start(f, 0);
    rec_reset(&f->r);
    /* b.yaml now declares k too: one invalid k naming both places. */
    {
        const char *both[] = {"other", "k", NULL};
        put_sps(f, "b.yaml", both, 5);
    }
    run_until_n(f, 2, 2.0);
    settle(f, QUIET);
    d = find_delivery(&f->r, 'u', "ScalingPolicy/t/k");
    assert_true(d->invalid);
    assert_non_null(strstr(d->problem, "/a.yaml:1:"));
    assert_non_null(strstr(d->problem, "/b.yaml:11"));
    assert_non_null(strstr(tt_buf_str(&f->r.problem_text), "is also defined at"));
    find_delivery(&f->r, 'u', "ScalingPolicy/t/other"); /* maxCapacity 3 → 5 */
    assert_int_equal(f->r.n, 2);
    /* The copy in b.yaml goes away: a.yaml's k is valid again, read once more for it. */
    rec_reset(&f->r);
    stats(f, &st0);
    put_sps(f, "b.yaml", other, 5);
    run_until_n(f, 1, 2.0);
    settle(f, QUIET);
    assert_int_equal(f->r.n, 1);
    d = find_delivery(&f->r, 'u', "ScalingPolicy/t/k");
    assert_false(d->invalid);
    assert_non_null(strstr(d->file, "/a.yaml"));
    stats(f, &st1);
    assert_int_equal(st1.files_read - st0.files_read, 2); /* b.yaml, then a.yaml for k */
    /* Duplicated again, then the first copy deleted: k comes back valid from b.yaml. */
    {
        const char *both[] = {"other", "k", NULL};
        put_sps(f, "b.yaml", both, 5);
    }
    run_until_n(f, 2, 2.0);
    rec_reset(&f->r);
    rm(f, "a.yaml");
    run_until_n(f, 1, 2.0);
    settle(f, QUIET);
    assert_int_equal(f->r.n, 1);
    d = find_delivery(&f->r, 'u', "ScalingPolicy/t/k");
    assert_false(d->invalid);
    assert_non_null(strstr(d->file, "/b.yaml"));
    assert_int_equal(f->r.removes, 0);
}

static void broken_file_keeps_its_resources(void **state)
{
    struct fx *f = *state;
    const char *three[] = {"one", "two", "three", NULL}, *two[] = {"one", "two", NULL};
    const struct delivery *d;
    tt_buf b;

    put_sps(f, "a.yaml", three, 3);
    start(f, 0);
    assert_int_equal(f->r.upserts, 3);
    rec_reset(&f->r);
    /* A syntax error inside the second document: "one" is unchanged, "two" can still be named
     * (invalid, with the problem), "three" cannot be read at all and must not be removed. */
    tt_buf_init(&b);
    sp(&b, "one", 3);
    tt_buf_puts(&b, "---\napiVersion: trimtab.dev/v1alpha1\nkind: ScalingPolicy\nmetadata:\n"
                    "  name: two\n  namespace: t\nspec:\n  target: {ecs: {cluster: c}\n"
                    "  minCapacity: 1\n---\n");
    sp(&b, "three", 3);
    put(f, "a.yaml", tt_buf_str(&b));
    run_until_n(f, 1, 2.0);
    settle(f, QUIET);
    assert_int_equal(f->r.n, 1);
    d = find_delivery(&f->r, 'u', "ScalingPolicy/t/two");
    assert_true(d->invalid);
    assert_non_null(strstr(d->problem, "YAML syntax"));
    assert_int_equal(f->r.removes, 0);
    /* Fixed: "two" is valid again; "one" and "three" never changed, so nothing for them. */
    rec_reset(&f->r);
    put_sps(f, "a.yaml", three, 3);
    run_until_n(f, 1, 2.0);
    settle(f, QUIET);
    assert_int_equal(f->r.n, 1);
    assert_false(find_delivery(&f->r, 'u', "ScalingPolicy/t/two")->invalid);
    /* Broken at the very start: nothing can be named, everything is kept. */
    rec_reset(&f->r);
    put(f, "a.yaml", "apiVersion: [\n");
    settle(f, QUIET);
    assert_int_equal(f->r.n, 0);
    assert_non_null(strstr(tt_buf_str(&f->r.problem_text), "a.yaml"));
    /* Only a clean parse without a key removes it. */
    rec_reset(&f->r);
    put_sps(f, "a.yaml", two, 3);
    run_until_n(f, 1, 2.0);
    settle(f, QUIET);
    assert_int_equal(f->r.n, 1);
    find_delivery(&f->r, 'r', "ScalingPolicy/t/three");
    /* And deleting the file while broken removes what it declared. */
    put(f, "a.yaml", "kind: [\n");
    settle(f, QUIET);
    rec_reset(&f->r);
    rm(f, "a.yaml");
    run_until_n(f, 2, 2.0);
    settle(f, QUIET);
    assert_int_equal(f->r.removes, 2);
    tt_buf_cleanup(&b);
}

/* ScalingPolicy w with one step scaling policy named `step`. */
static void policy(char *out, size_t size, const char *step)
{
    snprintf(out, size,
             "apiVersion: trimtab.dev/v1alpha1\nkind: ScalingPolicy\nmetadata:\n  name: w\n"
             "  namespace: t\nspec:\n  target:\n    ecs: {cluster: c, service: w}\n"
             "  minCapacity: 1\n  maxCapacity: 5\n  stepScaling:\n    - name: %s\n"
             "      adjustmentType: ChangeInCapacity\n      steps:\n        - lower: 0\n"
             "          adjustment: 1\n",
             step);
}

/* Alarm t/hot, whose alarm action is step policy "up" of ScalingPolicy t/w. */
static void put_hot_alarm(struct fx *f)
{
    put(f, "alarm.yaml",
        "apiVersion: trimtab.dev/v1alpha1\nkind: Alarm\nmetadata:\n  name: hot\n  namespace: t\n"
        "spec:\n  target:\n    ecs: {cluster: c, service: w}\n  metricName: CPUUtilization\n"
        "  period: 60\n  evaluationPeriods: 1\n  threshold: 80\n"
        "  comparison: GreaterThanThreshold\n  actions:\n    alarm:\n"
        "      - scalingPolicy: {name: w, policy: up}\n");
}

static void references_follow_the_scaling_policy(void **state)
{
    struct fx *f = *state;
    char text[1024];
    const struct delivery *d;

    policy(text, sizeof(text), "up");
    put(f, "w.yaml", text);
    put_hot_alarm(f);
    start(f, 0);
    assert_false(find_delivery(&f->r, 'u', "Alarm/t/hot")->invalid);
    /* The step policy is renamed: the Alarm, whose file did not change, becomes invalid. */
    rec_reset(&f->r);
    policy(text, sizeof(text), "up2");
    put(f, "w.yaml", text);
    run_until_n(f, 2, 2.0);
    settle(f, QUIET);
    assert_int_equal(f->r.n, 2);
    d = find_delivery(&f->r, 'u', "Alarm/t/hot");
    assert_true(d->invalid);
    assert_non_null(strstr(d->problem, "no step scaling policy 'up'"));
    find_delivery(&f->r, 'u', "ScalingPolicy/t/w");
    /* And back. */
    rec_reset(&f->r);
    policy(text, sizeof(text), "up");
    put(f, "w.yaml", text);
    run_until_n(f, 2, 2.0);
    settle(f, QUIET);
    assert_int_equal(f->r.n, 2);
    assert_false(find_delivery(&f->r, 'u', "Alarm/t/hot")->invalid);
    /* A change to the policy that keeps its step names leaves the Alarm alone. */
    rec_reset(&f->r);
    {
        char *max = strstr(text, "maxCapacity: 5");
        max[13] = '6';
        put(f, "w.yaml", text);
    }
    run_until_n(f, 1, 2.0);
    settle(f, QUIET);
    assert_int_equal(f->r.n, 1);
    find_delivery(&f->r, 'u', "ScalingPolicy/t/w");
}

/* root/rev-a, root/rev-b, root/current → rev-a; then the link is swapped as git-sync does. */
static void git_sync_symlink_swap(void **state)
{
    struct fx *f = *state;
    const char *keep[] = {"same", NULL}, *xy[] = {"x", "y", NULL}, *xz[] = {"x", "z", NULL};
    char link[256], tmp[256];
    tt_source_dir_stats st0, st1;

    put_sps(f, "rev-a/same.yaml", keep, 3);
    put_sps(f, "rev-a/app/a.yaml", xy, 3);
    put_sps(f, "rev-b/same.yaml", keep, 3);
    put_sps(f, "rev-b/app/a.yaml", xz, 4);
    snprintf(link, sizeof(link), "%s/current", f->root);
    snprintf(tmp, sizeof(tmp), "%s/.current.tmp", f->root);
    assert_int_equal(symlink("rev-a", link), 0);
    snprintf(f->src, sizeof(f->src), "%s", link);
    start(f, 0);
    assert_int_equal(f->r.upserts, 3);
    /* Files are named through the link, so an unchanged file keeps its origin across a swap. */
    assert_non_null(
        strstr(find_delivery(&f->r, 'u', "ScalingPolicy/t/same")->file, "/current/same.yaml"));
    rec_reset(&f->r);
    stats(f, &st0);
    /* The swap: a new link renamed over the old one (atomic). */
    assert_int_equal(symlink("rev-b", tmp), 0);
    assert_int_equal(rename(tmp, link), 0);
    run_until_n(f, 3, 2.0);
    settle(f, QUIET);
    assert_int_equal(f->r.n, 3);
    assert_int_equal(find_delivery(&f->r, 'u', "ScalingPolicy/t/x")->line, 1);
    find_delivery(&f->r, 'u', "ScalingPolicy/t/z");
    find_delivery(&f->r, 'r', "ScalingPolicy/t/y");
    stats(f, &st1);
    assert_int_equal(st1.rescans - st0.rescans, 1);
    assert_int_equal(st1.files_parsed - st0.files_parsed, 1); /* same.yaml: read, not parsed */
    assert_int_equal(st1.watches, 2);                         /* rev-b and rev-b/app */
    /* The watches moved: an edit in rev-b is seen, one in rev-a is not. */
    rec_reset(&f->r);
    put_sps(f, "rev-a/app/a.yaml", xy, 8);
    settle(f, QUIET);
    assert_int_equal(f->r.n, 0);
    put_sps(f, "rev-b/app/a.yaml", xz, 9);
    run_until_n(f, 2, 2.0);
    settle(f, QUIET);
    assert_int_equal(f->r.n, 2);
    /* git-sync then deletes the old worktree: nothing happens. */
    rec_reset(&f->r);
    rm(f, "rev-a");
    settle(f, QUIET);
    assert_int_equal(f->r.n, 0);
}

/*
 * A ConfigMap volume: a.yaml → ..data/a.yaml, ..data → ..v1. Kubernetes' atomic writer updates it
 * by writing ..v2 and renaming a new ..data link over the old one; no event names a.yaml.
 */
static void configmap_data_link_swap(void **state)
{
    struct fx *f = *state;
    const char *a[] = {"a", NULL};
    char path[256], target[256];

    put_sps(f, "..v1/a.yaml", a, 3);
    put_sps(f, "..v2/a.yaml", a, 4);
    snprintf(path, sizeof(path), "%s/..data", f->root);
    assert_int_equal(symlink("..v1", path), 0);
    snprintf(path, sizeof(path), "%s/a.yaml", f->root);
    assert_int_equal(symlink("..data/a.yaml", path), 0);
    start(f, 0);
    assert_int_equal(f->r.upserts, 1);
    rec_reset(&f->r);
    snprintf(path, sizeof(path), "%s/..data_tmp", f->root);
    assert_int_equal(symlink("..v2", path), 0);
    snprintf(target, sizeof(target), "%s/..data", f->root);
    assert_int_equal(rename(path, target), 0);
    run_until_n(f, 1, 2.0);
    settle(f, QUIET);
    assert_int_equal(f->r.n, 1);
    find_delivery(&f->r, 'u', "ScalingPolicy/t/a");
}

/* The root moved away and back: while it is gone nothing is removed. */
static void root_moved_away_keeps_everything(void **state)
{
    struct fx *f = *state;
    const char *a[] = {"a", NULL}, *b[] = {"b", NULL};
    char dir[256], away[256];
    tt_source_dir_stats st;

    snprintf(dir, sizeof(dir), "%s/manifests", f->root);
    snprintf(away, sizeof(away), "%s/manifests.old", f->root);
    put_sps(f, "manifests/a.yaml", a, 3);
    snprintf(f->src, sizeof(f->src), "%s", dir);
    start(f, 0);
    rec_reset(&f->r);
    assert_int_equal(rename(dir, away), 0);
    settle(f, QUIET);
    assert_int_equal(f->r.n, 0);
    assert_non_null(strstr(tt_buf_str(&f->r.problem_text), "cannot read the source directory"));
    /* Changes in the old place are not read against the new one. */
    put_sps(f, "manifests.old/a.yaml", a, 4);
    settle(f, QUIET);
    assert_int_equal(f->r.n, 0);
    /* A new directory under the name: compared with what was delivered. */
    put_sps(f, "manifests.new/a.yaml", a, 4);
    put_sps(f, "manifests.new/b.yaml", b, 3);
    {
        char fresh[256];
        snprintf(fresh, sizeof(fresh), "%s/manifests.new", f->root);
        assert_int_equal(rename(fresh, dir), 0);
    }
    run_until_n(f, 2, 2.0);
    settle(f, QUIET);
    assert_int_equal(f->r.n, 2);
    find_delivery(&f->r, 'u', "ScalingPolicy/t/a");
    find_delivery(&f->r, 'u', "ScalingPolicy/t/b");
    stats(f, &st);
    assert_true(st.rescans >= 1);
    rec_reset(&f->r);
    put_sps(f, "manifests/b.yaml", b, 5); /* watched again */
    run_until_n(f, 1, 2.0);
    assert_int_equal(f->r.n, 1);
}

/* More events than the kernel queue holds: a full rescan still finds the change. */
static void queue_overflow_rescans(void **state)
{
    struct fx *f = *state;
    const char *a[] = {"a", NULL};
    long max = 16384;
    FILE *in = fopen("/proc/sys/fs/inotify/max_queued_events", "r");
    tt_source_dir_stats st0, st1;
    char path[256];

    if (in != NULL) {
        if (fscanf(in, "%ld", &max) != 1)
            max = 16384;
        fclose(in);
    }
    if (max > 200000)
        skip(); /* too many events to generate quickly */
    put_sps(f, "a.yaml", a, 3);
    start(f, 0);
    rec_reset(&f->r);
    stats(f, &st0);
    for (long i = 0; i < max / 2 + 10; i++) {
        snprintf(path, sizeof(path), "%s/junk", f->root);
        int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        close(fd);
        unlink(path);
    }
    put_sps(f, "a.yaml", a, 4); /* its events are lost in the overflow */
    run_until_n(f, 1, 5.0);
    settle(f, QUIET);
    assert_int_equal(f->r.n, 1);
    find_delivery(&f->r, 'u', "ScalingPolicy/t/a");
    stats(f, &st1);
    assert_true(st1.rescans - st0.rescans >= 1);
}

struct stream {
    struct fx *f;
    int writes;
    int upserts_during;
};

#define STREAM_WRITES 100

static void stream_write(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct stream *st = w->data;
    const char *a[] = {"a", NULL};

    (void)revents;
    put_sps(st->f, "a.yaml", a, 10 + st->writes++);
    if (st->writes == STREAM_WRITES) {
        st->upserts_during = st->f->r.upserts;
        ev_timer_stop(loop, w);
    }
}

/*
 * A write every 10 ms for a second never leaves the 40 ms of quiet the debounce waits for; the
 * cap (ten debounces, 0.4 s) still lets a batch out at least twice during the stream.
 */
static void constant_stream_still_gets_through(void **state)
{
    struct fx *f = *state;
    const char *a[] = {"a", NULL};
    struct stream st = {f, 0, 0};
    ev_timer t;

    put_sps(f, "a.yaml", a, 3);
    start(f, 0.04);
    rec_reset(&f->r);
    ev_timer_init(&t, stream_write, 0.01, 0.01);
    t.data = &st;
    ev_timer_start(f->loop, &t);
    while (st.writes < STREAM_WRITES)
        ev_run(f->loop, EVRUN_ONCE);
    print_message("    %d upserts during a 1 s stream of writes\n", st.upserts_during);
    assert_true(st.upserts_during >= 2);
    /* After the stream, the last content arrives. */
    settle(f, 0.15);
    assert_true(f->r.upserts >= st.upserts_during + 1);
}

static long env_long(const char *name, long def)
{
    const char *v = getenv(name);
    char *end;
    long n;

    if (v == NULL || *v == '\0')
        return def;
    n = strtol(v, &end, 10);
    return *end == '\0' && n > 0 ? n : def;
}

/* 10,000 files (100 directories of 100), one edited: one file read, one upsert, fast. */
static void ten_thousand_files_one_edit(void **state)
{
    struct fx *f = *state;
    long n = env_long("TT_SOURCE_DIR_FILES", 10000);
    char rel[64], name[32];
    double t0, t_list, t_write, latency, source_latency;
    tt_source_dir_stats st0, st1;

    for (long i = 0; i < n; i++) {
        const char *one[] = {name, NULL};
        snprintf(name, sizeof(name), "p%05ld", i);
        snprintf(rel, sizeof(rel), "d%03ld/p%05ld.yaml", i / 100, i);
        put_sps(f, rel, one, 3);
    }
    t0 = now_s();
    start(f, 0);
    t_list = now_s() - t0;
    assert_int_equal(f->r.upserts, n);
    rec_reset(&f->r);
    stats(f, &st0);
    assert_int_equal(st0.files_read, n);
    {
        const char *one[] = {"p00042", NULL};
        t_write = ev_time();
        put_sps(f, "d000/p00042.yaml", one, 4);
    }
    run_until_n(f, 1, 2.0);
    latency = f->r.last_upsert_at - t_write;
    source_latency = f->r.last_upsert_at - tt_source_dir_last_change(f->s);
    settle(f, QUIET);
    assert_int_equal(f->r.n, 1);
    find_delivery(&f->r, 'u', "ScalingPolicy/t/p00042");
    stats(f, &st1);
    print_message("    %ld files listed in %.3f s; one edit: %llu file read, %llu parsed, "
                  "change-to-delivery %.1f ms (first event to delivery %.1f ms, debounce 10 ms)\n",
                  n, t_list, (unsigned long long)(st1.files_read - st0.files_read),
                  (unsigned long long)(st1.files_parsed - st0.files_parsed), latency * 1e3,
                  source_latency * 1e3);
    assert_int_equal(st1.files_read - st0.files_read, 1);
    assert_int_equal(st1.files_parsed - st0.files_parsed, 1);
    /* The 50 ms target is a figure (SPEC §10: measured in bench/, printed above, not asserted):
     * on the shared 2-core machine, with other builds running, 40 ms once passed between the
     * write and the source handling its first inotify event. What is asserted is that an edit is
     * delivered on its own, not after a relisting or a resync (both take seconds here). */
    assert_true(latency < 1.0);
}

/* ---- destroying ------------------------------------------------------------------------------ */

static void destroy_in_first_upsert_of_the_listing(void **state)
{
    struct fx *f = *state;
    const char *ab[] = {"a", "b", NULL};
    tt_source_dir_config cfg = {f->src, 0};
    tt_error err;

    put_sps(f, "a.yaml", ab, 3);
    f->r.destroy_at = 1;
    f->r.s = f->s = tt_source_dir_create(f->loop, &cfg, &handler, &f->r, &err);
    assert_non_null(f->s);
    assert_int_equal(tt_source_dir_start(f->s, &err), TT_ECANCELLED);
    assert_int_equal(f->r.calls, 1);
    assert_int_equal(f->r.synced, 0);
    settle(f, 0.05);
    assert_int_equal(f->r.calls, 1);
}

static void destroy_in_synced(void **state)
{
    struct fx *f = *state;
    const char *ab[] = {"a", "b", NULL};
    tt_source_dir_config cfg = {f->src, 0};
    tt_error err;

    put_sps(f, "a.yaml", ab, 3);
    f->r.destroy_on_synced = true;
    f->r.s = f->s = tt_source_dir_create(f->loop, &cfg, &handler, &f->r, &err);
    assert_non_null(f->s);
    assert_int_equal(tt_source_dir_start(f->s, &err), TT_ECANCELLED);
    assert_int_equal(f->r.upserts, 2);
    put_sps(f, "a.yaml", ab, 4);
    settle(f, 0.05);
    assert_int_equal(f->r.upserts, 2);
}

static void destroy_inside_a_batch(void **state)
{
    struct fx *f = *state;
    const char *ab[] = {"a", "b", NULL};

    put_sps(f, "a.yaml", ab, 3);
    start(f, 0);
    /* Two upserts are due; the first one destroys the source. */
    f->r.destroy_at = f->r.calls + 1;
    put_sps(f, "a.yaml", ab, 4);
    run_until_n(f, 3, 2.0);
    settle(f, 0.05);
    assert_int_equal(f->r.upserts, 3);
    put_sps(f, "a.yaml", ab, 5);
    settle(f, 0.05);
    assert_int_equal(f->r.upserts, 3);
}

static void destroy_in_problems(void **state)
{
    struct fx *f = *state;
    const char *ab[] = {"a", "b", NULL};

    put_sps(f, "a.yaml", ab, 3);
    start(f, 0);
    f->r.destroy_at = f->r.calls + 1;
    put(f, "a.yaml", "kind: [\n"); /* a problem, and no upsert */
    put_sps(f, "b.yaml", ab, 3);   /* duplicates: upserts would follow the problems */
    settle(f, QUIET);
    assert_int_equal(f->r.problems, 1);
    assert_int_equal(f->r.upserts, 2);
}

static void destroy_outside_with_a_batch_pending(void **state)
{
    struct fx *f = *state;
    const char *ab[] = {"a", "b", NULL};

    put_sps(f, "a.yaml", ab, 3);
    start(f, 0);
    put_sps(f, "a.yaml", ab, 4);
    /* One iteration reads the events and arms the debounce timer; then the source goes. */
    ev_run(f->loop, EVRUN_NOWAIT);
    tt_source_dir_destroy(f->s);
    f->s = NULL;
    settle(f, 0.05);
    assert_int_equal(f->r.upserts, 2);
    tt_source_dir_destroy(NULL);
}

static void bad_configuration_and_missing_path(void **state)
{
    struct fx *f = *state;
    tt_source_dir_config cfg = {NULL, 0};
    char missing[256];
    tt_error err;
    tt_source_dir *s;

    assert_null(tt_source_dir_create(f->loop, &cfg, &handler, &f->r, &err));
    assert_int_equal(err.code, TT_EINVAL);
    cfg.path = f->root;
    cfg.debounce = -1;
    assert_null(tt_source_dir_create(f->loop, &cfg, &handler, &f->r, &err));
    snprintf(missing, sizeof(missing), "%s/missing", f->root);
    cfg.path = missing;
    cfg.debounce = 0;
    s = tt_source_dir_create(f->loop, &cfg, &handler, &f->r, &err);
    assert_non_null(s);
    assert_int_equal(tt_source_dir_start(s, &err), TT_ENOTFOUND);
    assert_int_equal(f->r.calls, 0);
    tt_source_dir_destroy(s);
}

/* ---- rebuilding for the engine ------------------------------------------------------------ */

/* tt_source_dir_rebuild for one key: the resource (caller frees) or NULL. */
static tt_resource *rebuild_one(struct fx *f, const char *key)
{
    tt_resource *r;

    tt_source_dir_rebuild(f->s, &key, 1, &r);
    return r;
}

static void rebuild_gives_what_was_delivered(void **state)
{
    struct fx *f = *state;
    const char *ab[] = {"a", "b", NULL}, *c[] = {"c", NULL}, *d[] = {"d", NULL};
    const char *keys[] = {"ScalingPolicy/t/a", "ScalingPolicy/t/b",       "ScalingPolicy/t/c",
                          "ScalingPolicy/t/d", "ScalingPolicy/t/missing", "ScalingPolicy/t/a"};
    tt_resource *out[6];
    tt_source_dir_stats st0, st1;

    put_sps(f, "ab.yaml", ab, 3);
    put_sps(f, "c.yaml", c, 4);
    put_sps(f, "d1.yaml", d, 3);
    put_sps(f, "d2.yaml", d, 3);
    start(f, 0);
    stats(f, &st0);
    tt_source_dir_rebuild(f->s, keys, 6, out);
    stats(f, &st1);
    /* Each file read once for all its keys; the duplicate is rebuilt without reading. */
    assert_int_equal(st1.files_read - st0.files_read, 2);
    assert_int_equal(st1.rebuilds - st0.rebuilds, 1);
    for (int i = 0; i < 3; i++) {
        const struct delivery *dl = find_delivery(&f->r, 'u', keys[i]);
        assert_non_null(out[i]);
        assert_string_equal(out[i]->key, keys[i]);
        assert_false(out[i]->invalid);
        assert_int_equal(out[i]->spec_hash, dl->spec_hash);
        assert_int_equal(out[i]->line, dl->line);
        assert_string_equal(out[i]->file, dl->file);
    }
    assert_non_null(out[3]);
    assert_true(out[3]->invalid);
    assert_string_equal(out[3]->problem, find_delivery(&f->r, 'u', keys[3])->problem);
    assert_null(out[4]); /* never declared */
    assert_null(out[5]); /* asked twice: given once */
    for (int i = 0; i < 6; i++)
        tt_resource_destroy(out[i]);
    /* Nothing was delivered again. */
    settle(f, QUIET);
    assert_int_equal(f->r.upserts, 4);
}

static void rebuild_refuses_what_changed_since(void **state)
{
    struct fx *f = *state;
    const char *ab[] = {"a", "b", NULL};
    tt_resource *r;
    uint64_t old_hash;
    tt_buf b;

    put_sps(f, "ab.yaml", ab, 3);
    start(f, 0);
    old_hash = find_delivery(&f->r, 'u', "ScalingPolicy/t/b")->spec_hash;
    /* b changes on disk; the source has not looked yet (the loop does not run). */
    tt_buf_init(&b);
    sp(&b, "a", 3);
    sp(&b, "b", 9);
    put(f, "ab.yaml", tt_buf_str(&b));
    tt_buf_cleanup(&b);
    r = rebuild_one(f, "ScalingPolicy/t/a");
    assert_non_null(r); /* a is what was delivered */
    tt_resource_destroy(r);
    assert_null(rebuild_one(f, "ScalingPolicy/t/b")); /* b is not: its upsert comes instead */
    rec_reset(&f->r);
    run_until_n(f, 1, 2.0);
    settle(f, QUIET);
    assert_int_equal(f->r.n, 1);
    assert_int_not_equal(find_delivery(&f->r, 'u', "ScalingPolicy/t/b")->spec_hash, old_hash);
    r = rebuild_one(f, "ScalingPolicy/t/b");
    assert_non_null(r);
    assert_int_equal(r->spec_hash, find_delivery(&f->r, 'u', "ScalingPolicy/t/b")->spec_hash);
    tt_resource_destroy(r);
    /* The file goes: nothing to rebuild, and the remove comes. */
    rm(f, "ab.yaml");
    assert_null(rebuild_one(f, "ScalingPolicy/t/a"));
    rec_reset(&f->r);
    run_until_n(f, 2, 2.0);
    assert_int_equal(f->r.removes, 2);
    assert_null(rebuild_one(f, "ScalingPolicy/t/a"));
}

/* An Alarm is rebuilt with the reference check it was delivered with: the ScalingPolicy it
 * names is read again too, and a rename of its step policy not yet delivered refuses the
 * Alarm (which that batch will deliver as invalid). */
static void rebuild_checks_references(void **state)
{
    struct fx *f = *state;
    char text[1024];
    tt_resource *r;

    policy(text, sizeof(text), "up");
    put(f, "w.yaml", text);
    put_hot_alarm(f);
    start(f, 0);
    r = rebuild_one(f, "Alarm/t/hot");
    assert_non_null(r);
    assert_false(r->invalid);
    tt_resource_destroy(r);
    policy(text, sizeof(text), "up2");
    put(f, "w.yaml", text);
    assert_null(rebuild_one(f, "Alarm/t/hot"));
    rec_reset(&f->r);
    run_until_n(f, 2, 2.0);
    settle(f, QUIET);
    assert_true(find_delivery(&f->r, 'u', "Alarm/t/hot")->invalid);
    r = rebuild_one(f, "Alarm/t/hot");
    assert_non_null(r);
    assert_true(r->invalid);
    assert_non_null(strstr(r->problem, "no step scaling policy 'up'"));
    tt_resource_destroy(r);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(initial_listing_then_synced),
        T(edit_delivers_one_upsert),
        T(same_content_rewrite_delivers_nothing),
        T(delete_removes),
        T(move_between_files_is_one_upsert),
        T(new_subdirectory_is_read_and_watched),
        T(duplicates_across_files),
        T(broken_file_keeps_its_resources),
        T(references_follow_the_scaling_policy),
        T(git_sync_symlink_swap),
        T(configmap_data_link_swap),
        T(root_moved_away_keeps_everything),
        T(queue_overflow_rescans),
        T(constant_stream_still_gets_through),
        T(ten_thousand_files_one_edit),
        T(destroy_in_first_upsert_of_the_listing),
        T(destroy_in_synced),
        T(destroy_inside_a_batch),
        T(destroy_in_problems),
        T(destroy_outside_with_a_batch_pending),
        T(bad_configuration_and_missing_path),
        T(rebuild_gives_what_was_delivered),
        T(rebuild_refuses_what_changed_since),
        T(rebuild_checks_references),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
