/* Unit tests for reconcile/doc.c: YAML/JSON to jansson with lines, limits, hostile input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "doc.h"

struct parsed {
    tt_docs docs;
    tt_diags *diags;
    tt_code rc;
};

static void parse(struct parsed *p, const char *text, size_t len, const tt_doc_limits *lim)
{
    p->diags = tt_diags_create();
    assert_non_null(p->diags);
    tt_docs_init(&p->docs);
    p->rc = tt_doc_parse(text, len, "m.yaml", lim, p->diags, &p->docs);
}

static void parse_str(struct parsed *p, const char *text)
{
    parse(p, text, strlen(text), NULL);
}

static void release(struct parsed *p)
{
    tt_docs_cleanup(&p->docs);
    tt_diags_destroy(p->diags);
}

/* The first diagnostic formatted as "file:line: path: message". */
static char *first_diag(const struct parsed *p)
{
    tt_buf b;
    tt_buf_init(&b);
    assert_true(tt_diags_count(p->diags) > 0);
    tt_diag_format(tt_diags_get(p->diags, 0), &b);
    return tt_buf_steal(&b);
}

static void lines_follow_paths(void **state)
{
    struct parsed p;
    const tt_linemap *lm;
    (void)state;
    parse_str(&p, "apiVersion: v1\n"            /* 1 */
                  "metadata:\n"                 /* 2 */
                  "  name: web\n"               /* 3 */
                  "  annotations:\n"            /* 4 */
                  "    trimtab.dev/x: \"1\"\n"  /* 5 */
                  "spec:\n"                     /* 6 */
                  "  items:\n"                  /* 7 */
                  "    - name: a\n"             /* 8 */
                  "      value: 1\n"            /* 9 */
                  "    - {name: b, value: 2}\n" /* 10 */
                  "    -\n"                     /* 11 */
                  "      name: c\n"             /* 12 */
                  "  flow: [1, 2,\n"            /* 13 */
                  "     3]\n");                 /* 14 */
    assert_int_equal(p.rc, TT_OK);
    assert_int_equal(p.docs.len, 1);
    lm = p.docs.items[0].lines;
    assert_int_equal(tt_linemap_lookup(lm, "apiVersion"), 1);
    assert_int_equal(tt_linemap_lookup(lm, "metadata.name"), 3);
    assert_int_equal(tt_linemap_lookup(lm, "metadata.annotations[trimtab.dev/x]"), 5);
    assert_int_equal(tt_linemap_lookup(lm, "spec.items[0].value"), 9);
    assert_int_equal(tt_linemap_lookup(lm, "spec.items[1].value"), 10);
    assert_int_equal(tt_linemap_lookup(lm, "spec.items[2].name"), 12);
    assert_int_equal(tt_linemap_lookup(lm, "spec.flow[2]"), 14);
    /* Absent paths fall back to their nearest ancestor. */
    assert_int_equal(tt_linemap_lookup(lm, "spec.items[0].missing"), 8);
    assert_int_equal(tt_linemap_lookup(lm, "spec.items[7].x"), 7);
    assert_int_equal(tt_linemap_lookup(NULL, "spec"), 0);
    release(&p);
}

static void scalars_follow_the_core_schema(void **state)
{
    struct parsed p;
    json_t *r;
    (void)state;
    parse_str(&p, "a: yes\nb: 0x1F\nc: 1.5e3\nd: \"123\"\ne: ~\nf: true\ng: 0o17\nh: .inf\n"
                  "i: !!str 42\nj: !!int \"7\"\nk: 99999999999999999999\nl: !Ref other\n"
                  "m: -12\nn: 012\n");
    assert_int_equal(p.rc, TT_OK);
    r = p.docs.items[0].root;
    assert_string_equal(json_string_value(json_object_get(r, "a")), "yes");
    assert_int_equal(json_integer_value(json_object_get(r, "b")), 31);
    assert_true(json_real_value(json_object_get(r, "c")) == 1500.0);
    assert_string_equal(json_string_value(json_object_get(r, "d")), "123");
    assert_true(json_is_null(json_object_get(r, "e")));
    assert_true(json_is_true(json_object_get(r, "f")));
    assert_int_equal(json_integer_value(json_object_get(r, "g")), 15);
    assert_string_equal(json_string_value(json_object_get(r, "h")), ".inf");
    assert_string_equal(json_string_value(json_object_get(r, "i")), "42");
    assert_int_equal(json_integer_value(json_object_get(r, "j")), 7);
    assert_true(json_is_real(json_object_get(r, "k")));
    assert_string_equal(json_string_value(json_object_get(r, "l")), "other");
    assert_int_equal(json_integer_value(json_object_get(r, "m")), -12);
    assert_int_equal(json_integer_value(json_object_get(r, "n")), 12);
    release(&p);
}

static void multi_document_and_json(void **state)
{
    struct parsed p;
    (void)state;
    parse_str(&p, "---\n# only a comment\n---\na: 1\n---\n\n---\n"
                  "{\"kind\":\"X\",\"n\":[1,2]}\n...\n");
    assert_int_equal(p.rc, TT_OK);
    assert_int_equal(p.docs.len, 2);
    assert_int_equal(p.docs.items[0].line, 3);
    assert_string_equal(json_string_value(json_object_get(p.docs.items[1].root, "kind")), "X");
    assert_int_equal(tt_linemap_lookup(p.docs.items[1].lines, "n[1]"), 8);
    release(&p);
}

static void merge_keys_and_aliases(void **state)
{
    struct parsed p;
    json_t *spec;
    (void)state;
    parse_str(&p, "base: &b {x: 1, y: 2}\n"
                  "spec:\n"
                  "  <<: *b\n"
                  "  y: 3\n"
                  "  list: &l [a, b]\n"
                  "  again: *l\n");
    assert_int_equal(p.rc, TT_OK);
    spec = json_object_get(p.docs.items[0].root, "spec");
    assert_int_equal(json_integer_value(json_object_get(spec, "x")), 1);
    assert_int_equal(json_integer_value(json_object_get(spec, "y")), 3);
    assert_int_equal(json_array_size(json_object_get(spec, "again")), 2);
    release(&p);
}

static void duplicate_key_is_reported_with_its_line(void **state)
{
    struct parsed p;
    char *d;
    (void)state;
    parse_str(&p, "spec:\n  a: 1\n  b: 2\n  a: 3\n");
    assert_int_equal(p.rc, TT_EPARSE);
    assert_int_equal(p.docs.len, 1);
    assert_int_equal(p.docs.items[0].nerrors, 1);
    d = first_diag(&p);
    assert_string_equal(d, "m.yaml:4: spec: duplicate key 'a'");
    free(d);
    release(&p);
}

static void syntax_error_keeps_earlier_documents(void **state)
{
    struct parsed p;
    char *d;
    (void)state;
    parse_str(&p, "a: 1\n---\nkind: X\nmetadata:\n  name: web\nspec: [1, 2\n");
    assert_int_equal(p.rc, TT_EPARSE);
    assert_int_equal(p.docs.len, 2);
    assert_int_equal(json_integer_value(json_object_get(p.docs.items[0].root, "a")), 1);
    /* The broken document is salvaged so its name can be reported, marked as erroneous. */
    assert_true(p.docs.items[1].nerrors > 0);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(p.docs.items[1].root, "metadata"), "name")),
                        "web");
    d = first_diag(&p);
    assert_non_null(strstr(d, "m.yaml:"));
    assert_non_null(strstr(d, "YAML syntax"));
    free(d);
    release(&p);
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void alias_bomb_is_bounded(void **state)
{
    struct parsed p;
    tt_buf b;
    struct timespec t0;
    char *d;
    (void)state;
    tt_buf_init(&b);
    tt_buf_puts(&b, "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for (int i = 1; i < 12; i++) {
        tt_buf_printf(&b, "a%d: &a%d [", i, i);
        for (int k = 0; k < 10; k++)
            tt_buf_printf(&b, "%s*a%d", k ? ", " : "", i - 1);
        tt_buf_puts(&b, "]\n");
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    parse(&p, b.data, b.len, NULL);
    assert_true(seconds_since(&t0) < 2.0);
    assert_int_equal(p.rc, TT_EPARSE);
    d = first_diag(&p);
    assert_non_null(strstr(d, "nodes once aliases are expanded"));
    free(d);
    release(&p);
    tt_buf_cleanup(&b);
}

static void deep_nesting_is_bounded(void **state)
{
    struct parsed p;
    tt_buf b;
    char *d;
    (void)state;
    tt_buf_init(&b);
    tt_buf_puts(&b, "a: ");
    for (int i = 0; i < 20000; i++)
        tt_buf_putc(&b, '[');
    for (int i = 0; i < 20000; i++)
        tt_buf_putc(&b, ']');
    tt_buf_putc(&b, '\n');
    parse(&p, b.data, b.len, NULL);
    assert_int_equal(p.rc, TT_EPARSE);
    d = first_diag(&p);
    assert_non_null(strstr(d, "m.yaml:1: nesting is deeper than 64 levels"));
    free(d);
    release(&p);
    tt_buf_cleanup(&b);
}

static void huge_document_is_refused(void **state)
{
    struct parsed p;
    tt_buf b;
    char *d;
    (void)state;
    tt_buf_init(&b);
    tt_buf_puts(&b, "kind: ConfigMap\ndata:\n");
    for (int i = 0; i < 40000; i++)
        tt_buf_printf(&b, "  k%d: \"%064d\"\n", i, i);
    parse(&p, b.data, b.len, NULL);
    assert_int_equal(p.rc, TT_EPARSE);
    d = first_diag(&p);
    assert_string_equal(d, "m.yaml:1: document is larger than 1024 KiB; refusing it");
    free(d);
    release(&p);
    tt_buf_cleanup(&b);
}

static void invalid_utf8_and_binary(void **state)
{
    static const char bad[] = "a: 1\nb: \"\xff\xfe\"\n";
    unsigned char bin[512];
    struct parsed p;
    char *d;
    (void)state;
    parse(&p, bad, sizeof(bad) - 1, NULL);
    assert_int_equal(p.rc, TT_EPARSE);
    d = first_diag(&p);
    assert_non_null(strstr(d, "m.yaml:2: not valid UTF-8"));
    free(d);
    release(&p);

    srand(7);
    for (size_t i = 0; i < sizeof(bin); i++)
        bin[i] = (unsigned char)(rand() & 0xff);
    bin[0] = 0x00;
    parse(&p, (const char *)bin, sizeof(bin), NULL);
    assert_int_equal(p.rc, TT_EPARSE);
    assert_int_equal(p.docs.len, 0);
    release(&p);
}

static void nul_in_strings_is_refused(void **state)
{
    struct parsed p;
    char *d;
    (void)state;
    parse_str(&p, "a: \"x\\0y\"\n");
    assert_int_equal(p.rc, TT_EPARSE);
    d = first_diag(&p);
    assert_string_equal(d, "m.yaml:1: a: strings must not contain NUL characters");
    free(d);
    release(&p);
}

static void limits_are_configurable(void **state)
{
    tt_doc_limits lim = {.max_doc_bytes = 1 << 20, .max_depth = 3, .max_nodes = 1000};
    struct parsed p;
    (void)state;
    parse(&p, "a: {b: {c: 1}}\n", 15, &lim);
    assert_int_equal(p.rc, TT_OK);
    release(&p);
    parse(&p, "a: {b: {c: {d: 1}}}\n", 20, &lim);
    assert_int_equal(p.rc, TT_EPARSE);
    release(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lines_follow_paths),
        cmocka_unit_test(scalars_follow_the_core_schema),
        cmocka_unit_test(multi_document_and_json),
        cmocka_unit_test(merge_keys_and_aliases),
        cmocka_unit_test(duplicate_key_is_reported_with_its_line),
        cmocka_unit_test(syntax_error_keeps_earlier_documents),
        cmocka_unit_test(alias_bomb_is_bounded),
        cmocka_unit_test(deep_nesting_is_bounded),
        cmocka_unit_test(huge_document_is_refused),
        cmocka_unit_test(invalid_utf8_and_binary),
        cmocka_unit_test(nul_in_strings_is_refused),
        cmocka_unit_test(limits_are_configurable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
