/*
 * tt_xml, the reader of AWS's XML answers: what it decodes (entities, character references,
 * CDATA, line ends, attribute values, namespace prefixes), what it refuses and how it says so
 * (the line and the fault), its bounds, and every allocation failing in turn. Its agreement
 * with expat over random documents is tests/aws/xml_vs_expat.py.
 *
 * The program is linked with --wrap for malloc and calloc so that allocations can fail.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tt_xml.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);

static long fail_at = -1; /* allocations left before one fails; -1: none fails */

static int should_fail(void)
{
    return fail_at >= 0 && fail_at-- == 0;
}

void *__wrap_malloc(size_t n)
{
    return should_fail() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
    return should_fail() ? NULL : __real_calloc(n, size);
}

static tt_xml_doc *parse(const char *s, tt_error *err)
{
    tt_error_clear(err);
    return tt_xml_parse(s, strlen(s), err);
}

/* The text of `node`, kept for the test's length (freed at the next call). */
static const char *text(const tt_xml_node *node)
{
    static char *last;
    free(last);
    last = tt_xml_text(node);
    return last;
}

static void refused(const char *doc, const char *message, int line)
{
    tt_error err;
    char want[96];
    tt_xml_doc *d = parse(doc, &err);
    if (d != NULL)
        fail_msg("accepted: %s", doc);
    if (strstr(err.message, message) == NULL)
        fail_msg("%s: got \"%s\", want \"%s\"", doc, err.message, message);
    snprintf(want, sizeof(want), "line %d:", line);
    if (strstr(err.message, want) == NULL)
        fail_msg("%s: got \"%s\", want %s", doc, err.message, want);
    assert_int_equal(err.code, TT_EPARSE);
}

static void references_and_text(void **state)
{
    tt_error err;
    (void)state;
    tt_xml_doc *d =
        parse("<a>&lt;&gt;&amp;&quot;&apos;&#233;&#x1F600;&#13;&#0000000065;|1\r\n2\r3</a>", &err);
    assert_non_null(d);
    assert_string_equal(text(tt_xml_root(d)), "<>&\"'\xc3\xa9\xf0\x9f\x98\x80\rA|1\n2\n3");
    tt_xml_free(d);
    /* CDATA as written (line ends aside), comments and processing instructions skipped, the
     * text of descendants gathered in document order. */
    d = parse("<a>x<![CDATA[<b>&amp;\r\n]]>y<!-- c -->z<?pi d?><b>1<c>2</c></b>3</a>", &err);
    assert_non_null(d);
    assert_string_equal(text(tt_xml_root(d)), "x<b>&amp;\nyz123");
    assert_string_equal(text(tt_xml_child(tt_xml_root(d), "b")), "12");
    assert_null(tt_xml_child(tt_xml_root(d), "c")); /* children only, not descendants */
    tt_xml_free(d);
}

static void attributes_and_names(void **state)
{
    tt_error err;
    (void)state;
    tt_xml_doc *d = parse("\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
                          "<p:R xmlns:p=\"urn:p\" xmlns=\"urn:d\" p:k = 'a&amp;b&#9;\t\n\r\n' "
                          "v=\"&apos;\">\n  <p:C>1</p:C><D/>\n</p:R>\n<!-- tail -->",
                          &err);
    assert_non_null(d);
    const tt_xml_node *r = tt_xml_root(d);
    assert_string_equal(r->name, "R");
    /* Literal white space in a value becomes spaces; a reference keeps its character. */
    assert_string_equal(tt_xml_attr_get(r, "k"), "a&b\t   ");
    assert_string_equal(tt_xml_attr_get(r, "v"), "'");
    assert_null(tt_xml_attr_get(r, "xmlns"));
    assert_null(tt_xml_attr_get(r, "p"));
    assert_string_equal(r->attrs->name, "k"); /* namespace declarations are not attributes */
    assert_string_equal(text(tt_xml_child(r, "C")), "1");
    assert_int_equal(tt_xml_child(r, "C")->line, 5); /* the value spans lines 2-4 */
    assert_non_null(tt_xml_child(r, "D"));
    assert_null(tt_xml_child(r, "D")->children);
    assert_string_equal(text(tt_xml_child(r, "D")), "");
    assert_null(tt_xml_text(NULL));
    tt_xml_free(d);
    d = parse("<a  x = \"1\" ></a >", &err);
    assert_non_null(d);
    assert_string_equal(tt_xml_attr_get(tt_xml_root(d), "x"), "1");
    tt_xml_free(d);
}

static void faults_are_named_with_their_line(void **state)
{
    (void)state;
    refused("", "no root element", 1);
    refused("  \n ", "no root element", 2);
    refused("<a>\n<b>", "the document ends inside an element", 2);
    refused("<a>\n\n<b></c></a>", "does not match", 3);
    refused("<a>\n&foo;</a>", "unknown entity", 2);
    refused("<a>&#0;</a>", "invalid character reference", 1);
    refused("<a>&#xD800;</a>", "invalid character reference", 1);
    refused("<a>&#X41;</a>", "invalid character reference", 1);
    refused("<a>a & b</a>", "does not start a reference", 1);
    refused("<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>", "DOCTYPE", 1);
    refused("<a x='1' x='2'/>", "repeated", 1);
    refused("<a x=1/>", "quoted", 1);
    refused("<a x='<'/>", "'<' in an attribute", 1);
    refused("<a x='1'y='2'/>", "expected an attribute", 1);
    refused("<a/><b/>", "a second root element", 1);
    refused("text<a/>", "text outside the root element", 1);
    refused("<a>\n\x01</a>", "a character XML does not allow", 2);
    refused("<a>\xC3\x28</a>", "invalid UTF-8", 1);
    refused("<a>\xED\xA0\x80</a>", "invalid UTF-8", 1); /* a surrogate */
    refused("<a>\xEF\xBF\xBF</a>", "a character XML does not allow", 1);
    refused("<?xml version='1.0' encoding='ISO-8859-1'?><a/>", "only UTF-8", 1);
    refused("<?xml encoding='UTF-8'?><a/>", "malformed XML declaration", 1);
    refused("<a><!-- x -- y --></a>", "'--' inside a comment", 1);
    refused("<a>]]></a>", "']]>' in character data", 1);
    refused("<a/>\n<?xml version='1.0'?>", "XML declaration that does not start", 2);
    refused("<a><![CDATA[x</a>", "unclosed CDATA", 1);
    refused("<a><? x?></a>", "without a target", 1);
    refused("<a", "unclosed tag", 1);
    refused("<1a/>", "expected an element name", 1);
    tt_error err;
    tt_error_clear(&err);
    assert_null(tt_xml_parse("<a>\0</a>", 8, &err));
    assert_non_null(strstr(err.message, "a NUL byte"));
}

static void bounds(void **state)
{
    char *deep = malloc(8 * (TT_XML_MAX_DEPTH + 1) + 1), *p = deep;
    tt_error err;
    (void)state;
    for (int i = 0; i < TT_XML_MAX_DEPTH; i++)
        p += sprintf(p, "<a>");
    for (int i = 0; i < TT_XML_MAX_DEPTH; i++)
        p += sprintf(p, "</a>");
    tt_xml_doc *d = parse(deep, &err);
    assert_non_null(d);
    tt_xml_free(d);
    p = deep;
    for (int i = 0; i <= TT_XML_MAX_DEPTH; i++)
        p += sprintf(p, "<a>");
    assert_null(parse(deep, &err));
    assert_int_equal(err.code, TT_ELIMIT);
    free(deep);
    /* The size is refused before a byte is read. */
    assert_null(tt_xml_parse("<a/>", (size_t)TT_XML_MAX_SIZE + 1, &err));
    assert_int_equal(err.code, TT_ELIMIT);
}

static void each_allocation_may_fail(void **state)
{
    static const char doc[] = "<R a='1' b='2'><A>x</A><B><C>&amp;</C></B>tail</R>";
    char big[4096], want_big[160];
    (void)state;
    /* A document larger than the arena's first block, so the arena grows too. */
    strcpy(big, "<R>");
    want_big[0] = '\0';
    for (int i = 0; i < 150; i++) {
        strcat(big, "<i>v</i>");
        strcat(want_big, "v");
    }
    strcat(big, "</R>");
    for (int which = 0; which < 2; which++) {
        const char *in = which == 0 ? doc : big;
        int ok = 0;
        for (long k = 0; k < 1000 && !ok; k++) {
            tt_error err;
            tt_error_clear(&err);
            fail_at = k;
            tt_xml_doc *d = tt_xml_parse(in, strlen(in), &err);
            char *t = d != NULL ? tt_xml_text(tt_xml_root(d)) : NULL;
            fail_at = -1;
            if (d == NULL) {
                assert_int_equal(err.code, TT_ENOMEM);
            } else if (t != NULL) {
                ok = 1;
                assert_string_equal(t, which == 0 ? "x&tail" : want_big);
            }
            free(t);
            tt_xml_free(d);
        }
        assert_true(ok);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(references_and_text),
        cmocka_unit_test(attributes_and_names),
        cmocka_unit_test(faults_are_named_with_their_line),
        cmocka_unit_test(bounds),
        cmocka_unit_test(each_allocation_may_fail),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    text(NULL);
    return rc;
}
