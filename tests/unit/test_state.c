/*
 * Unit tests for reconcile/state: records in a real temporary directory — written once per
 * change, read back, removed, the temporary files of a killed writer swept at the next open, and
 * one writer at a time (the lock).
 */
#define _XOPEN_SOURCE 700 /* nftw, mkdtemp */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "state.h"

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup(void **ctx)
{
    char *dir = strdup("/tmp/tt-state-XXXXXX");
    if (dir == NULL || mkdtemp(dir) == NULL)
        return -1;
    *ctx = dir;
    return 0;
}

static int teardown(void **ctx)
{
    nftw(*ctx, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(*ctx);
    return 0;
}

static void touch(const char *dir, const char *rel)
{
    char path[512];
    FILE *f;
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"partial\":", f);
    fclose(f);
}

static int exists(const char *dir, const char *rel)
{
    char path[512];
    struct stat sb;
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    return stat(path, &sb) == 0;
}

/* A pid that is certainly not running: a child that has exited and been reaped. */
static pid_t dead_pid(void)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(0);
    assert_int_equal(waitpid(pid, NULL, 0), pid);
    return pid;
}

static void test_write_read_skip_remove(void **ctx)
{
    const char *dir = *ctx;
    tt_error err = {0};
    tt_state *st = tt_state_open(dir, true, &err);
    json_t *rec = json_pack("{s:s,s:{s:i}}", "kind", "ScalingPolicy", "spec", "min", 1);
    json_t *back;
    size_t written, skipped;

    assert_non_null(st);
    assert_int_equal(tt_state_write(st, "ScalingPolicy/shop/web", rec, &err), TT_OK);
    assert_int_equal(tt_state_write(st, "ScalingPolicy/shop/web", rec, &err), TT_OK);
    tt_state_stats(st, &written, &skipped);
    assert_int_equal(written, 1);
    assert_int_equal(skipped, 1);
    assert_true(exists(dir, "resources/ScalingPolicy/shop/web.json"));
    back = tt_state_read(st, "ScalingPolicy/shop/web");
    assert_non_null(back);
    assert_true(json_equal(back, rec));
    json_decref(back);
    assert_int_equal(tt_state_count(st), 1);
    assert_int_equal(tt_state_remove(st, "ScalingPolicy/shop/web", &err), TT_OK);
    assert_null(tt_state_read(st, "ScalingPolicy/shop/web"));
    assert_false(exists(dir, "resources/ScalingPolicy/shop/web.json"));
    json_decref(rec);
    tt_state_close(st);
}

/* Keys also come from what manifests refer to (a composite alarm's rule names any alarm): one
 * that is not "Kind/namespace/name" never reaches a path, inside the state directory or out. */
static void test_keys_that_are_not_resource_keys_reach_no_file(void **ctx)
{
    const char *dir = *ctx;
    static const char *const bad[] = {"Alarm/ns/../../outside",
                                      "Alarm/ns/..",
                                      "Alarm/../x",
                                      "Alarm/ns/.",
                                      "Alarm/ns",
                                      "Alarm/ns/a/b",
                                      "Alarm//x",
                                      ""};
    tt_error err = {0};
    tt_state *st = tt_state_open(dir, true, &err);
    json_t *rec = json_pack("{s:{s:b}}", "status", "ready", 1);
    char outside[600];
    FILE *f;

    assert_non_null(st);
    /* A file where "Alarm/ns/../../outside" would lead, and the folder it climbs from. */
    assert_int_equal(tt_state_write(st, "Alarm/ns/real", rec, &err), TT_OK);
    snprintf(outside, sizeof(outside), "%s/resources/outside.json", dir);
    f = fopen(outside, "w");
    if (f != NULL) {
        fputs("{\"status\": {\"pwned\": true}}\n", f);
        fclose(f);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_null(tt_state_read(st, bad[i]));
        assert_int_equal(tt_state_write(st, bad[i], rec, &err), TT_EINVAL);
        assert_int_equal(tt_state_remove(st, bad[i], &err), TT_OK);
    }
    f = fopen(outside, "r");
    assert_non_null(f); /* neither read, nor overwritten, nor removed */
    fclose(f);
    unlink(outside);
    json_decref(rec);
    rec = tt_state_read(st, "Alarm/ns/real");
    assert_non_null(rec);
    json_decref(rec);
    tt_state_close(st);
}

/* After a restart an unchanged record is not rewritten, once it has been read: a resync of
 * in-sync resources writes no file. A record never read is written (its content is unknown). */
static void test_unchanged_record_after_reopen_is_not_rewritten(void **ctx)
{
    const char *dir = *ctx;
    tt_error err = {0};
    tt_state *st = tt_state_open(dir, true, &err);
    json_t *rec = json_pack("{s:s,s:{s:f}}", "kind", "Budget", "status", "percentUsed", 42.5);
    json_t *back;
    size_t written, skipped;

    assert_non_null(st);
    assert_int_equal(tt_state_write(st, "Budget/fin/team", rec, &err), TT_OK);
    assert_int_equal(tt_state_write(st, "Budget/fin/other", rec, &err), TT_OK);
    tt_state_close(st);

    st = tt_state_open(dir, true, &err);
    assert_non_null(st);
    back = tt_state_read(st, "Budget/fin/team");
    assert_non_null(back);
    json_decref(back);
    assert_int_equal(tt_state_write(st, "Budget/fin/team", rec, &err), TT_OK);
    assert_int_equal(tt_state_write(st, "Budget/fin/other", rec, &err), TT_OK);
    tt_state_stats(st, &written, &skipped);
    assert_int_equal(written, 1); /* "other": never read in this process */
    assert_int_equal(skipped, 1); /* "team": read, and identical */
    json_object_set_new(json_object_get(rec, "status"), "percentUsed", json_real(43));
    assert_int_equal(tt_state_write(st, "Budget/fin/team", rec, &err), TT_OK);
    tt_state_stats(st, &written, &skipped);
    assert_int_equal(written, 2); /* a change is written */
    json_decref(rec);
    tt_state_close(st);
}

/* A kill -9 between writing the temporary file and renaming it leaves a dot file, which is
 * never taken for a record. The next writer to open removes it unless its writer is alive; a
 * file with the opener's own pid is stale too (pid 1 in a container, restart after restart).
 * A reader (status, plan) removes nothing. */
static void test_sweeps_dead_writers_temp_files(void **ctx)
{
    const char *dir = *ctx;
    tt_error err = {0};
    tt_state *st = tt_state_open(dir, true, &err);
    json_t *rec = json_pack("{s:s}", "kind", "Alarm");
    char dead[128], live[128], own[128];
    const char *other = "resources/Alarm/ops/.notes.tmp.1";

    assert_non_null(st);
    assert_int_equal(tt_state_write(st, "Alarm/ops/cpu", rec, &err), TT_OK);
    tt_state_close(st);
    snprintf(dead, sizeof(dead), "resources/Alarm/ops/.mem.json.tmp.%d", (int)dead_pid());
    snprintf(live, sizeof(live), "resources/Alarm/ops/.disk.json.tmp.%d", (int)getppid());
    snprintf(own, sizeof(own), "resources/Alarm/ops/.net.json.tmp.%d", (int)getpid());
    touch(dir, dead);
    touch(dir, live);
    touch(dir, own);
    touch(dir, other);

    st = tt_state_open(dir, false, &err);
    assert_non_null(st);
    assert_int_equal(tt_state_count(st), 1); /* the half-written records are not records */
    tt_state_close(st);
    assert_true(exists(dir, dead) && exists(dir, own) && exists(dir, live));

    st = tt_state_open(dir, true, &err);
    assert_non_null(st);
    assert_int_equal(tt_state_count(st), 1);
    assert_false(exists(dir, dead));
    assert_false(exists(dir, own));
    assert_true(exists(dir, live));
    assert_true(exists(dir, other)); /* not a name trimtab writes */
    assert_true(exists(dir, "resources/Alarm/ops/cpu.json"));
    json_decref(rec);
    tt_state_close(st);
}

/* A second writer is refused and told who holds the directory; readers still open it; the lock
 * goes with its holder, whether it closes or dies. */
static void test_one_writer_at_a_time(void **ctx)
{
    const char *dir = *ctx;
    tt_error err;
    tt_state *a, *b, *r;
    char want[64];
    pid_t child;
    int status;

    tt_error_clear(&err);
    a = tt_state_open(dir, true, &err);
    assert_non_null(a);
    b = tt_state_open(dir, true, &err);
    assert_null(b);
    assert_int_equal(err.code, TT_ECONFLICT);
    snprintf(want, sizeof(want), "pid %ld on ", (long)getpid());
    assert_non_null(strstr(err.message, want));
    assert_non_null(strstr(err.message, "--state-dir"));
    r = tt_state_open(dir, false, &err);
    assert_non_null(r); /* status and plan read while a run holds the lock */
    tt_state_close(r);
    tt_state_close(a);
    b = tt_state_open(dir, true, &err);
    assert_non_null(b);
    tt_state_close(b);

    /* A writer that dies holding the lock (kill -9 is the same to the kernel) does not block. */
    child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        tt_error cerr;
        _exit(tt_state_open(dir, true, &cerr) != NULL ? 0 : 1); /* dies holding it */
    }
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    b = tt_state_open(dir, true, &err);
    assert_non_null(b);
    tt_state_close(b);
}

static void collect_key(void *ud, const char *key)
{
    char **last = ud;
    assert_true(*last == NULL || strcmp(*last, key) < 0); /* sorted */
    free(*last);
    *last = strdup(key);
    assert_non_null(*last);
}

/* Only hashes are kept in memory, in a table that grows and drops removed keys: with hundreds
 * of records written, rewritten, removed and written again, exactly the unchanged ones are
 * skipped, a removed record is written again even with the text it had, and the keys are
 * listed from the disk. */
static void test_many_records_written_once_each(void **ctx)
{
    const char *dir = *ctx;
    tt_error err = {0};
    tt_state *st = tt_state_open(dir, true, &err);
    json_t *rec = json_pack("{s:s}", "kind", "Alarm");
    size_t written, skipped;
    char key[64], *last = NULL;

    assert_non_null(st);
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 300; i++) {
            snprintf(key, sizeof(key), "Alarm/ops/a%03d", i);
            json_object_set_new(rec, "name", json_string(key));
            assert_int_equal(tt_state_write(st, key, rec, &err), TT_OK);
        }
    }
    tt_state_stats(st, &written, &skipped);
    assert_int_equal(written, 300);
    assert_int_equal(skipped, 300);
    for (int i = 0; i < 300; i += 2) {
        snprintf(key, sizeof(key), "Alarm/ops/a%03d", i);
        assert_int_equal(tt_state_remove(st, key, &err), TT_OK);
    }
    assert_int_equal(tt_state_count(st), 150);
    for (int i = 0; i < 200; i++) { /* new keys: the table is rebuilt without the removed */
        snprintf(key, sizeof(key), "Alarm/ops/b%03d", i);
        json_object_set_new(rec, "name", json_string(key));
        assert_int_equal(tt_state_write(st, key, rec, &err), TT_OK);
    }
    for (int i = 0; i < 300; i++) {
        snprintf(key, sizeof(key), "Alarm/ops/a%03d", i);
        json_object_set_new(rec, "name", json_string(key));
        assert_int_equal(tt_state_write(st, key, rec, &err), TT_OK);
    }
    tt_state_stats(st, &written, &skipped);
    assert_int_equal(written, 650); /* the 150 removed, the same text notwithstanding */
    assert_int_equal(skipped, 450);
    assert_int_equal(tt_state_count(st), 500);
    tt_state_foreach(st, collect_key, &last);
    assert_string_equal(last, "Alarm/ops/b199");
    free(last);
    json_decref(rec);
    tt_state_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_write_read_skip_remove, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keys_that_are_not_resource_keys_reach_no_file, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unchanged_record_after_reopen_is_not_rewritten, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_sweeps_dead_writers_temp_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_writer_at_a_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_records_written_once_each, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
