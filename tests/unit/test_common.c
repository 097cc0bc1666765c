/* Unit tests for common/: buffers, arenas, integer parsing, hashing, edit distance. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "tt_arena.h"
#include "tt_num.h"
#include "tt_buf.h"
#include "tt_error.h"
#include "tt_index.h"
#include "tt_str.h"

static void buf_grows_and_stays_terminated(void **state)
{
    tt_buf b;
    (void)state;
    tt_buf_init(&b);
    assert_string_equal(tt_buf_str(&b), "");
    for (int i = 0; i < 1000; i++)
        assert_int_equal(tt_buf_printf(&b, "%d,", i % 10), TT_OK);
    assert_int_equal(b.len, 2000);
    assert_int_equal(b.data[b.len], '\0');
    assert_memory_equal(b.data, "0,1,2,", 6);
    tt_buf_reset(&b);
    assert_string_equal(tt_buf_str(&b), "");
    tt_buf_cleanup(&b);
}

static void arena_keeps_alignment_and_strings(void **state)
{
    tt_arena *a = tt_arena_create(64);
    (void)state;
    assert_non_null(a);
    char *s = tt_arena_strdup(a, "x");
    double *d = tt_arena_alloc(a, sizeof(double) * 3);
    assert_string_equal(s, "x");
    assert_int_equal((uintptr_t)d % _Alignof(double), 0);
    assert_true(d[0] == 0.0 && d[2] == 0.0);
    /* Each allocation is aligned as its size allows, up to max_align_t: a string before it
     * must not leave it misaligned. */
    for (size_t size = 1; size <= 64; size++) {
        size_t want = size & (~size + 1);
        uintptr_t p;
        want = want < _Alignof(max_align_t) ? want : _Alignof(max_align_t);
        assert_non_null(tt_arena_strdup(a, "y"));
        p = (uintptr_t)tt_arena_alloc(a, size);
        assert_int_equal(p % want, 0);
    }
    assert_int_equal((uintptr_t)tt_arena_alloc(a, sizeof(long double)) % _Alignof(long double), 0);
    for (int i = 0; i < 200; i++)
        assert_non_null(tt_arena_strdup(a, "a longer string that fills blocks"));
    assert_true(tt_arena_size(a) >= 200 * 34);
    assert_null(tt_arena_strdup(a, NULL));
    /* A block's sizes are 32 bits: larger requests fail like a failed allocation. */
    assert_null(tt_arena_alloc(a, (size_t)UINT32_MAX));
    assert_null(tt_arena_create((size_t)UINT32_MAX));
    tt_arena_destroy(a);
    tt_arena_destroy(NULL);
}

/* A fixed mix of aligned allocations and short strings. */
static void allocate_mix(tt_arena *a)
{
    static const size_t sizes[] = {24, 3, 17, 40, 1, 9, 64, 5, 33, 8, 2, 50, 7, 16, 30};
    static const char text[] = "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz";

    for (int round = 0; round < 4; round++)
        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
            assert_non_null(i % 2 ? tt_arena_strndup(a, text, sizes[i] - 1)
                                  : tt_arena_alloc(a, sizes[i]));
}

/* The same allocations replayed into an arena of tt_arena_used() bytes fit its one block. */
static void arena_used_sizes_a_replay(void **state)
{
    tt_arena *a = tt_arena_create(48), *b;
    size_t used;
    (void)state;
    assert_non_null(a);
    allocate_mix(a);
    used = tt_arena_used(a);
    assert_true(used < tt_arena_size(a)); /* several blocks, partly filled */
    b = tt_arena_create(used);
    assert_non_null(b);
    allocate_mix(b);
    assert_int_equal(tt_arena_size(b), used); /* one block, no second one needed */
    assert_true(tt_arena_used(b) <= used);
    assert_int_equal(tt_arena_used(NULL), 0);
    tt_arena_destroy(a);
    tt_arena_destroy(b);
}

static void parse_i64_is_strict(void **state)
{
    int64_t v;
    (void)state;
    assert_int_equal(tt_parse_i64("42", &v), 0);
    assert_int_equal(v, 42);
    assert_int_equal(tt_parse_i64("-7", &v), 0);
    assert_int_equal(v, -7);
    assert_int_equal(tt_parse_i64("", &v), -1);
    assert_int_equal(tt_parse_i64(" 1", &v), -1);
    assert_int_equal(tt_parse_i64("1x", &v), -1);
    assert_int_equal(tt_parse_i64("99999999999999999999", &v), -1);
}

static void edit_distance_bounds(void **state)
{
    (void)state;
    assert_int_equal(tt_edit_distance("minCapacity", "minCapacity", 2), 0);
    assert_int_equal(tt_edit_distance("mincapacity", "minCapacity", 2), 0);
    assert_int_equal(tt_edit_distance("minCapcity", "minCapacity", 2), 1);
    assert_int_equal(tt_edit_distance("targetValu", "targetValue", 2), 1);
    assert_int_equal(tt_edit_distance("abc", "xyzxyz", 2), 3);
}

static void error_set_and_prefix(void **state)
{
    tt_error e;
    (void)state;
    tt_error_clear(&e);
    assert_int_equal(tt_error_set(&e, TT_EINVAL, "bad %s", "thing"), TT_EINVAL);
    tt_error_prefix(&e, "file %d", 3);
    assert_string_equal(e.message, "file 3: bad thing");
    assert_string_equal(tt_code_name(TT_ETHROTTLED), "throttled");
    assert_true(tt_code_is_transient(TT_EUNAVAILABLE));
    assert_false(tt_code_is_transient(TT_EINVAL));
    assert_int_equal(tt_error_set(NULL, TT_EIO, "x"), TT_EIO);
}

static void hash_is_stable(void **state)
{
    (void)state;
    /* FNV-1a reference values: names derived from hashes must never change between builds. */
    assert_true(tt_hash64_str("") == 0xcbf29ce484222325ULL);
    assert_true(tt_hash64_str("a") == 0xaf63dc4c8601ec8cULL);
    /* murmur3's finaliser: the queue's resync order follows it. */
    assert_true(tt_hash64_mix(0xaf63dc4c8601ec8cULL) == 0x82a2a958a9bece5bULL);
    assert_true(tt_hash64_mix(1) == 0xb456bcfc34c2cb2cULL);
}

struct rec {
    int id;
    char name[16];
};

static int rec_eq(const void *item, const void *key)
{
    return strcmp(((const struct rec *)item)->name, key) == 0;
}

/* A fifth of the records share one hash: one long probe run. */
static uint64_t rec_hash(const void *item)
{
    const struct rec *r = item;
    return r->id % 5 == 0 ? 7 : tt_hash64_str(r->name);
}

/* Records found by their own keys through growth and backward-shift removals, and cleared for
 * reuse. */
static void index_finds_its_records(void **state)
{
    static struct rec recs[500];
    tt_index ix;
    (void)state;
    tt_index_init(&ix, rec_hash);
    assert_null(tt_index_find(&ix, 1, rec_eq, "none"));
    for (int i = 0; i < 500; i++) {
        recs[i].id = i;
        snprintf(recs[i].name, sizeof(recs[i].name), "r%d", i);
        assert_int_equal(tt_index_put(&ix, rec_hash(&recs[i]), &recs[i]), TT_OK);
    }
    assert_int_equal(ix.len, 500);
    for (int i = 0; i < 500; i += 2)
        tt_index_del(&ix, rec_hash(&recs[i]), &recs[i]);
    tt_index_del(&ix, rec_hash(&recs[0]), &recs[0]); /* absent: nothing happens */
    assert_int_equal(ix.len, 250);
    for (int i = 0; i < 500; i++) {
        const struct rec *r = tt_index_find(&ix, rec_hash(&recs[i]), rec_eq, recs[i].name);
        if (i % 2 == 0)
            assert_null(r);
        else
            assert_ptr_equal(r, &recs[i]);
    }
    tt_index_clear(&ix);
    assert_int_equal(ix.len, 0);
    assert_null(tt_index_find(&ix, rec_hash(&recs[1]), rec_eq, "r1"));
    assert_int_equal(tt_index_put(&ix, rec_hash(&recs[1]), &recs[1]), TT_OK);
    assert_ptr_equal(tt_index_find(&ix, rec_hash(&recs[1]), rec_eq, "r1"), &recs[1]);
    tt_index_cleanup(&ix);
    assert_int_equal(ix.cap, 0);
}

/* ---- tt_num against libm (this test links libm; trimtab does not) -------------------------- */

static uint64_t num_rng = 0x9E3779B97F4A7C15ULL;

static uint64_t num_next(void)
{
    num_rng ^= num_rng << 13;
    num_rng ^= num_rng >> 7;
    num_rng ^= num_rng << 17;
    return num_rng;
}

/* Doubles of every kind: specials, halves around integers, every exponent by random bits. */
static double num_sample(size_t i)
{
    static const double special[] = {0.0,
                                     -0.0,
                                     0.5,
                                     -0.5,
                                     1.5,
                                     -1.5,
                                     2.5,
                                     -2.5,
                                     0.49999999999999994,
                                     -0.49999999999999994,
                                     4503599627370495.5,
                                     -4503599627370495.5,
                                     4503599627370496.0,
                                     9007199254740993.0,
                                     1e300,
                                     -1e300,
                                     5e-324,
                                     2.2250738585072014e-308,
                                     INFINITY,
                                     -INFINITY,
                                     NAN};
    double d;
    if (i < sizeof(special) / sizeof(special[0]))
        return special[i];
    if (i % 3 == 0) {
        uint64_t bits = num_next();
        memcpy(&d, &bits, sizeof(d));
        return d;
    }
    /* Values a few units around small integers and halves, where rounding decides. */
    d = (double)(int64_t)(num_next() % 2000001) / 4.0 - 250000.0;
    return i % 3 == 1 ? d : d + (double)(int64_t)(num_next() % 7 - 3) * 1e-12;
}

static void same_double(double got, double want, const char *what, double x)
{
    if (isnan(want) ? !isnan(got) : memcmp(&got, &want, sizeof(got)) != 0)
        fail_msg("%s(%.17g) = %.17g, libm says %.17g", what, x, got, want);
}

static void num_matches_libm(void **state)
{
    (void)state;
    for (size_t i = 0; i < 300000; i++) {
        double x = num_sample(i);
        same_double(tt_floor(x), floor(x), "tt_floor", x);
        same_double(tt_round(x), round(x), "tt_round", x);
        double ax = fabs(x);
        if (ax > 0 && isfinite(ax)) {
            double got = tt_log2(ax), want = log2(ax);
            /* A few units in the last place of the result, or of 1 near log2 = 0. */
            if (fabs(got - want) > 4e-16 * (fabs(want) > 1 ? fabs(want) : 1))
                fail_msg("tt_log2(%.17g) = %.17g, libm says %.17g", ax, got, want);
        } else {
            assert_true(isnan(tt_log2(x)));
        }
    }
    for (int n = -1100; n <= 1100; n++)
        same_double(tt_pow2(n), ldexp(1.0, n < -1022 ? -1022 : n > 1023 ? 1023 : n), "tt_pow2", n);
    assert_true(tt_log2(12.0) > 3.58 && tt_log2(12.0) < 3.59); /* rds: a 12xlarge */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(buf_grows_and_stays_terminated),
        cmocka_unit_test(num_matches_libm),
        cmocka_unit_test(arena_keeps_alignment_and_strings),
        cmocka_unit_test(arena_used_sizes_a_replay),
        cmocka_unit_test(parse_i64_is_strict),
        cmocka_unit_test(edit_distance_bounds),
        cmocka_unit_test(error_set_and_prefix),
        cmocka_unit_test(hash_is_stable),
        cmocka_unit_test(index_finds_its_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
