/* Unit tests for tt_slab (jansson's allocator) and tt_json_dumps. Every test frees what it
 * allocated and trims, so each starts with no chunk. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "tt_arena.h"
#include "tt_json.h"
#include "tt_slab.h"

/* The sizes on either side of each change of size class step, and the ends. */
static const size_t boundary_sizes[] = {0,   1,   15,  16,  17,  31,  32,  33,  255,  256,
                                        257, 320, 321, 511, 512, 513, 640, 641, 1023, 1024};

static void done(void)
{
    tt_slab_trim();
    assert_int_equal(tt_slab_chunks(), 0);
}

static void class_boundaries_are_aligned_and_disjoint(void **state)
{
    enum { N = sizeof(boundary_sizes) / sizeof(boundary_sizes[0]), EACH = 40 };
    unsigned char *p[N][EACH];
    (void)state;
    assert_int_equal(tt_slab_chunks(), 0);
    for (size_t i = 0; i < N; i++) {
        for (size_t k = 0; k < EACH; k++) {
            p[i][k] = tt_slab_malloc(boundary_sizes[i]);
            assert_non_null(p[i][k]);
            assert_int_equal((uintptr_t)p[i][k] % 16, 0);
            memset(p[i][k], (int)(i * EACH + k), boundary_sizes[i]);
        }
    }
    assert_true(tt_slab_chunks() > 0);
    /* Each one still holds its own pattern: no two overlap. */
    for (size_t i = 0; i < N; i++) {
        for (size_t k = 0; k < EACH; k++) {
            for (size_t b = 0; b < boundary_sizes[i]; b++)
                assert_int_equal(p[i][k][b], (unsigned char)(i * EACH + k));
        }
    }
    for (size_t i = 0; i < N; i++) {
        for (size_t k = 0; k < EACH; k++)
            tt_slab_free(p[i][k]);
    }
    done();
}

static void big_sizes_go_to_malloc(void **state)
{
    static const size_t sizes[] = {TT_SLAB_MAX + 1, TT_SLAB_CHUNK, 3 * TT_SLAB_CHUNK, 1 << 20};
    (void)state;
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        unsigned char *p = tt_slab_malloc(sizes[i]);
        assert_non_null(p);
        memset(p, 0xab, sizes[i]);
        assert_int_equal(tt_slab_chunks(), 0);
        tt_slab_free(p);
    }
    /* NULL is ignored, as free() ignores it. */
    tt_slab_free(NULL);
    done();
}

static void a_freed_slot_is_reused(void **state)
{
    (void)state;
    void *a = tt_slab_malloc(100), *b = tt_slab_malloc(100);
    tt_slab_free(a);
    assert_ptr_equal(tt_slab_malloc(97), a);
    /* Another class does not take it. */
    void *c = tt_slab_malloc(300);
    assert_ptr_not_equal(c, a);
    tt_slab_free(a);
    tt_slab_free(b);
    tt_slab_free(c);
    done();
}

/* Fills a chunk of the 1024-byte class exactly; one more allocation takes a second chunk, and
 * a slot freed in the full chunk is used before that second chunk is. */
static void a_full_chunk_takes_back_freed_slots(void **state)
{
    enum { MAX = TT_SLAB_CHUNK / TT_SLAB_MAX + 1 };
    void *p[MAX];
    size_t n = 0;
    (void)state;
    p[n++] = tt_slab_malloc(TT_SLAB_MAX);
    assert_int_equal(tt_slab_chunks(), 1);
    while ((p[n] = tt_slab_malloc(TT_SLAB_MAX)) != NULL && tt_slab_chunks() == 1) {
        n++;
        assert_true(n < MAX);
    }
    assert_int_equal(tt_slab_chunks(), 2);
    void *second = p[n];
    tt_slab_free(p[3]);
    assert_ptr_equal(tt_slab_malloc(TT_SLAB_MAX), p[3]);
    /* The second chunk's one object freed: empty, kept, still counted until the trim. */
    tt_slab_free(second);
    assert_int_equal(tt_slab_chunks(), 2);
    tt_slab_trim();
    assert_int_equal(tt_slab_chunks(), 1);
    for (size_t i = 0; i < n; i++)
        tt_slab_free(p[i]);
    done();
}

/* Many objects of every size, freed in an order unrelated to the allocation's: every chunk
 * comes back, all but a few at once, the kept ones at the trim; the chunks are used again. */
static void freeing_everything_returns_the_chunks(void **state)
{
    enum { N = 60000 };
    void **p = malloc(N * sizeof(*p));
    (void)state;
    assert_non_null(p);
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < N; i++) {
            p[i] = tt_slab_malloc(1 + (i * 7919) % TT_SLAB_MAX);
            assert_non_null(p[i]);
        }
        assert_true(tt_slab_chunks() > 100);
        for (size_t i = 0; i < N; i++)
            tt_slab_free(p[(i * 40507) % N]); /* 40507 is coprime with N: a permutation */
        assert_true(tt_slab_chunks() <= TT_SLAB_KEEP_EMPTY);
        done();
    }
    free(p);
}

static void json_values_live_in_slabs_and_dumps_in_malloc(void **state)
{
    (void)state;
    if (!tt_slab_use())
        skip(); /* a sanitizer build or valgrind: jansson stays on malloc */
    json_error_t jerr;
    json_t *doc = json_loads("{\"a\": [1, 2, {\"b\": \"c\"}]}", 0, &jerr);
    char big[TT_SLAB_MAX + 100];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    /* A string longer than TT_SLAB_MAX: its copy is malloc's, freed through tt_slab_free. */
    assert_int_equal(json_object_set_new(doc, "long", json_string(big)), 0);
    assert_non_null(doc);
    assert_true(tt_slab_chunks() > 0);
    /* The text is malloc's: free() takes it. */
    char *text = tt_json_dumps(json_object_get(doc, "a"), JSON_COMPACT);
    assert_string_equal(text, "[1,2,{\"b\":\"c\"}]");
    free(text);
    /* A scalar needs JSON_ENCODE_ANY, as with json_dumps. */
    assert_null(
        tt_json_dumps(json_object_get(json_array_get(json_object_get(doc, "a"), 2), "b"), 0));
    assert_null(tt_json_dumps(NULL, JSON_ENCODE_ANY));
    json_decref(doc);
    done();
}

/* Once slabs are used, resource arenas live in them: arenas freed after a burst (resting
 * resources) give their chunks back instead of leaving holes on glibc's heap. */
static void arenas_live_in_slabs_once_used(void **state)
{
    enum { N = 2000 };
    tt_arena **a = calloc(N, sizeof(*a));
    size_t before;

    (void)state;
    assert_non_null(a);
    if (!tt_slab_use()) {
        free(a);
        skip(); /* a sanitizer build or valgrind: arenas stay on malloc */
    }
    before = tt_slab_chunks();
    for (size_t i = 0; i < N; i++) {
        /* The size of a typical resource's arena, and one that outgrows its first block. */
        a[i] = tt_arena_create(i % 10 ? 600 : 64);
        assert_non_null(a[i]);
        assert_non_null(tt_arena_strdup(a[i], "ScalingPolicy/shop/web"));
        assert_non_null(tt_arena_alloc(a[i], 400));
    }
    assert_true(tt_slab_chunks() >= before + N * 600 / TT_SLAB_CHUNK);
    for (size_t i = 0; i < N; i++)
        tt_arena_destroy(a[(i * 1031) % N]); /* 1031 is coprime with N: a permutation */
    assert_true(tt_slab_chunks() <= before + TT_SLAB_KEEP_EMPTY);
    free(a);
    done();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(class_boundaries_are_aligned_and_disjoint),
        cmocka_unit_test(big_sizes_go_to_malloc),
        cmocka_unit_test(a_freed_slot_is_reused),
        cmocka_unit_test(a_full_chunk_takes_back_freed_slots),
        cmocka_unit_test(freeing_everything_returns_the_chunks),
        cmocka_unit_test(json_values_live_in_slabs_and_dumps_in_malloc),
        cmocka_unit_test(arenas_live_in_slabs_once_used),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
