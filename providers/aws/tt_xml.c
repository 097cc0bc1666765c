#define _GNU_SOURCE /* memmem, memrchr */
#include "tt_xml.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tt_arena.h"

/* Attributes an element may carry: finding duplicates is quadratic, so bound it. */
#define MAX_ATTRS 256

struct tt_xml_doc {
    char *buf;       /* the input's copy, decoded in place; owned */
    tt_arena *arena; /* nodes and attributes; owned */
    const tt_xml_node *root;
};

enum text_mode { TEXT, ATTR, CDATA };

struct open_element {
    tt_xml_node *node;
    const char *qname; /* the name as written, prefix included: end tags must repeat it */
    size_t qlen;
    tt_xml_node *last; /* its last child so far */
};

struct parser {
    char *p;   /* the cursor */
    char *end; /* the copy's end, where a NUL stands */
    /* Lines are counted over the bytes as written, so counting runs ahead of every in-place
     * write: `counted` is how far it got, `line` the line there. */
    char *counted;
    int line;
    tt_arena *arena;
    tt_error *err;
    tt_xml_node *root;
    int depth;
    struct open_element open[TT_XML_MAX_DEPTH];
    /* A tag's names and values are ended with NULs once the whole tag is read, because each
     * ends on a delimiter the parser still has to look at. */
    char *nul_at[1 + 2 * MAX_ATTRS];
    size_t nnul;
};

static int line_at(struct parser *ps, const char *pos)
{
    for (; ps->counted < pos; ps->counted++) {
        if (*ps->counted == '\n')
            ps->line++;
    }
    return ps->line;
}

static bool fail(struct parser *ps, const char *pos, const char *what)
{
    tt_error_set(ps->err, TT_EPARSE, "malformed XML: line %d: %s", line_at(ps, pos), what);
    return false;
}

static bool out_of_memory(struct parser *ps)
{
    tt_error_set(ps->err, TT_ENOMEM, "out of memory reading an XML response");
    return false;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Names as XML 1.0 has them for ASCII; every non-ASCII character is taken as a name character
 * (AWS's names are ASCII; the input is known to be valid UTF-8). */
static bool is_name_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
           (unsigned char)c >= 0x80;
}

static bool is_name_char(char c)
{
    return is_name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

static char *skip_space(char *p)
{
    while (is_space(*p))
        p++;
    return p;
}

static const char *local_name(const char *qname, size_t qlen)
{
    const char *colon = memrchr(qname, ':', qlen);
    return colon != NULL ? colon + 1 : qname;
}

/*
 * Every byte is part of valid UTF-8 and a character XML 1.0 allows (no C0 controls other than
 * tab, newline and carriage return, no surrogates, no U+FFFE or U+FFFF). Returns the first
 * offending byte, or NULL.
 */
static const char *bad_char(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *e = p + len;
    while (p < e) {
        unsigned c = *p;
        if (c < 0x80) {
            if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
                return (const char *)p;
            p++;
            continue;
        }
        size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
        uint32_t cp = c & (n == 4 ? 0x07 : n == 3 ? 0x0F : 0x1F);
        if (c < 0xC2 || c > 0xF4 || (size_t)(e - p) < n)
            return (const char *)p;
        for (size_t i = 1; i < n; i++) {
            if ((p[i] & 0xC0) != 0x80)
                return (const char *)p;
            cp = (cp << 6) | (p[i] & 0x3F);
        }
        if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFFFE || cp == 0xFFFF)
            return (const char *)p;
        p += n;
    }
    return NULL;
}

static size_t put_utf8(char *w, uint32_t cp)
{
    if (cp < 0x80) {
        w[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        w[0] = (char)(0xC0 | (cp >> 6));
        w[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        w[0] = (char)(0xE0 | (cp >> 12));
        w[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        w[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    w[0] = (char)(0xF0 | (cp >> 18));
    w[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    w[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    w[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* A character reference's code point ("#65", "#x41" between '&' and ';'), or 0 when it is not
 * one or names a character XML does not allow. */
static uint32_t char_ref(const char *s, size_t n)
{
    uint32_t cp = 0;
    int base = 10;
    size_t i = 1;
    if (n >= 2 && s[1] == 'x') {
        base = 16;
        i = 2;
    }
    if (i >= n)
        return 0;
    for (; i < n; i++) {
        char c = s[i];
        uint32_t d;
        if (c >= '0' && c <= '9')
            d = (uint32_t)(c - '0');
        else if (base == 16 && c >= 'a' && c <= 'f')
            d = (uint32_t)(c - 'a' + 10);
        else if (base == 16 && c >= 'A' && c <= 'F')
            d = (uint32_t)(c - 'A' + 10);
        else
            return 0;
        cp = cp * (uint32_t)base + d;
        if (cp > 0x10FFFF)
            return 0;
    }
    if (cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) ||
        (cp >= 0xE000 && cp <= 0xFFFD) || cp >= 0x10000)
        return cp;
    return 0;
}

/*
 * Decodes [s, e) in place and returns the decoded end (never past e: every reference is longer
 * than the UTF-8 it stands for, and a CR LF pair becomes one byte). Line ends become '\n'; in an
 * attribute value every literal white space character becomes a space, as XML normalises them;
 * CDATA keeps everything else as written. NULL after reporting a fault.
 */
static char *decode(struct parser *ps, char *s, char *e, enum text_mode mode)
{
    static const struct {
        const char *name;
        char c;
    } predefined[] = {{"lt", '<'}, {"gt", '>'}, {"amp", '&'}, {"quot", '"'}, {"apos", '\''}};
    char *w = s;
    line_at(ps, e);
    for (char *r = s; r < e;) {
        char c = *r;
        if (c == '\r') {
            r += r + 1 < e && r[1] == '\n' ? 2 : 1;
            *w++ = mode == ATTR ? ' ' : '\n';
        } else if (mode == ATTR && (c == '\n' || c == '\t')) {
            r++;
            *w++ = ' ';
        } else if (c == '&' && mode != CDATA) {
            /* Unbounded, yet linear overall: a reference that fails ends the parse. */
            char *semi = memchr(r, ';', (size_t)(e - r));
            size_t n = semi != NULL ? (size_t)(semi - r - 1) : 0;
            size_t i;
            for (i = 0; semi != NULL && i < sizeof(predefined) / sizeof(predefined[0]); i++) {
                if (strlen(predefined[i].name) == n && memcmp(r + 1, predefined[i].name, n) == 0)
                    break;
            }
            if (semi != NULL && i < sizeof(predefined) / sizeof(predefined[0])) {
                *w++ = predefined[i].c;
            } else if (semi != NULL && n > 1 && r[1] == '#' && char_ref(r + 1, n) != 0) {
                w += put_utf8(w, char_ref(r + 1, n));
            } else {
                fail(ps, r,
                     semi == NULL ? "'&' does not start a reference ('&amp;' for a '&')"
                                  : "unknown entity or invalid character reference");
                return NULL;
            }
            r = semi + 1;
        } else if (c == ']' && mode == TEXT && e - r >= 3 && r[1] == ']' && r[2] == '>') {
            fail(ps, r, "']]>' in character data");
            return NULL;
        } else {
            *w++ = *r++;
        }
    }
    return w;
}

static tt_xml_node *new_node(struct parser *ps)
{
    tt_xml_node *n = tt_arena_alloc(ps->arena, sizeof(*n));
    if (n == NULL)
        out_of_memory(ps);
    return n;
}

/* Appends `n` to the innermost open element. */
static void attach(struct parser *ps, tt_xml_node *n)
{
    struct open_element *parent = &ps->open[ps->depth - 1];
    if (parent->last == NULL)
        parent->node->children = n;
    else
        parent->last->next = n;
    parent->last = n;
}

/* Character data [s, e) inside an element, decoded as `mode` says. */
static bool text_node(struct parser *ps, char *s, char *e, enum text_mode mode)
{
    int line = line_at(ps, s);
    char *end = decode(ps, s, e, mode);
    if (end == NULL)
        return false;
    tt_xml_node *n = new_node(ps);
    if (n == NULL)
        return false;
    *end = '\0';
    n->text = s;
    n->len = (size_t)(end - s);
    n->line = line;
    attach(ps, n);
    return true;
}

/* The attributes of the tag being read, until '>' or "/>"; sets *empty for "/>". */
static bool attributes(struct parser *ps, tt_xml_node *el, bool *empty)
{
    const char *qnames[MAX_ATTRS];
    size_t qlens[MAX_ATTRS], nattrs = 0;
    tt_xml_attr *last = NULL;
    for (;;) {
        char *before = ps->p;
        ps->p = skip_space(ps->p);
        if (*ps->p == '>' || (ps->p[0] == '/' && ps->p[1] == '>')) {
            *empty = *ps->p == '/';
            ps->p += *empty ? 2 : 1;
            return true;
        }
        if (ps->p == before || !is_name_start(*ps->p))
            return fail(ps, ps->p,
                        ps->p == ps->end ? "unclosed tag" : "expected an attribute, '>' or '/>'");
        char *qname = ps->p;
        while (is_name_char(*ps->p))
            ps->p++;
        size_t qlen = (size_t)(ps->p - qname);
        char *name_end = ps->p;
        ps->p = skip_space(ps->p);
        if (*ps->p != '=')
            return fail(ps, ps->p, "expected '=' after an attribute name");
        ps->p = skip_space(ps->p + 1);
        char quote = *ps->p;
        char *vs = ps->p + 1, *ve = NULL;
        if (quote == '"' || quote == '\'')
            ve = memchr(vs, quote, (size_t)(ps->end - vs));
        if (ve == NULL)
            return fail(ps, ps->p, "an attribute value must be quoted");
        if (memchr(vs, '<', (size_t)(ve - vs)) != NULL)
            return fail(ps, vs, "'<' in an attribute value");
        for (size_t i = 0; i < nattrs; i++) {
            if (qlens[i] == qlen && memcmp(qnames[i], qname, qlen) == 0)
                return fail(ps, qname, "an attribute is repeated");
        }
        if (nattrs == MAX_ATTRS)
            return fail(ps, qname, "too many attributes");
        qnames[nattrs] = qname;
        qlens[nattrs++] = qlen;
        char *vend = decode(ps, vs, ve, ATTR);
        if (vend == NULL)
            return false;
        ps->p = ve + 1;
        ps->nul_at[ps->nnul++] = name_end;
        ps->nul_at[ps->nnul++] = vend;
        /* Namespace declarations are not attributes. */
        if (qlen >= 5 && memcmp(qname, "xmlns", 5) == 0 && (qlen == 5 || qname[5] == ':'))
            continue;
        tt_xml_attr *a = tt_arena_alloc(ps->arena, sizeof(*a));
        if (a == NULL)
            return out_of_memory(ps);
        a->name = local_name(qname, qlen);
        a->value = vs;
        if (last == NULL)
            el->attrs = a;
        else
            last->next = a;
        last = a;
    }
}

/* A start tag, the cursor after its '<'. */
static bool start_tag(struct parser *ps)
{
    char *qname = ps->p;
    bool empty = false;
    if (!is_name_start(*qname))
        return fail(ps, qname, "expected an element name after '<'");
    while (is_name_char(*ps->p))
        ps->p++;
    size_t qlen = (size_t)(ps->p - qname);
    tt_xml_node *el = new_node(ps);
    if (el == NULL)
        return false;
    el->line = line_at(ps, qname);
    el->name = local_name(qname, qlen);
    ps->nnul = 0;
    ps->nul_at[ps->nnul++] = ps->p;
    if (!attributes(ps, el, &empty))
        return false;
    line_at(ps, ps->p);
    for (size_t i = 0; i < ps->nnul; i++)
        *ps->nul_at[i] = '\0';
    if (ps->depth > 0)
        attach(ps, el);
    else
        ps->root = el;
    if (empty)
        return true;
    if (ps->depth == TT_XML_MAX_DEPTH) {
        tt_error_set(ps->err, TT_ELIMIT, "malformed XML: line %d: nested deeper than %d", el->line,
                     TT_XML_MAX_DEPTH);
        return false;
    }
    ps->open[ps->depth++] = (struct open_element){el, qname, qlen, NULL};
    return true;
}

/* An end tag, the cursor after its "</". */
static bool end_tag(struct parser *ps)
{
    struct open_element *o = &ps->open[ps->depth - 1];
    if ((size_t)(ps->end - ps->p) < o->qlen || memcmp(ps->p, o->qname, o->qlen) != 0 ||
        is_name_char(ps->p[o->qlen]))
        return fail(ps, ps->p, "an end tag does not match its start tag");
    ps->p = skip_space(ps->p + o->qlen);
    if (*ps->p != '>')
        return fail(ps, ps->p, "expected '>' to end an end tag");
    ps->p++;
    ps->depth--;
    return true;
}

/* Comments and processing instructions, the cursor after their '<'. */
static bool misc(struct parser *ps)
{
    if (strncmp(ps->p, "!--", 3) == 0) {
        char *dash = memmem(ps->p + 3, (size_t)(ps->end - ps->p - 3), "--", 2);
        if (dash == NULL || dash[2] != '>')
            return fail(ps, ps->p, dash == NULL ? "unclosed comment" : "'--' inside a comment"),
                   false;
        ps->p = dash + 3;
        return true;
    }
    if (*ps->p == '?') {
        char *target = ps->p + 1, *t = target;
        char *close = memmem(ps->p, (size_t)(ps->end - ps->p), "?>", 2);
        if (close == NULL)
            return fail(ps, ps->p, "unclosed processing instruction");
        if (!is_name_start(*t))
            return fail(ps, t, "a processing instruction without a target");
        while (is_name_char(*t))
            t++;
        if (t - target == 3 && strncasecmp(target, "xml", 3) == 0)
            return fail(ps, ps->p, "an XML declaration that does not start the document");
        if (t != close && !is_space(*t))
            return fail(ps, t, "a processing instruction without a target");
        ps->p = close + 2;
        return true;
    }
    if (strncmp(ps->p, "!DOCTYPE", 8) == 0)
        return fail(ps, ps->p, "a DOCTYPE is not accepted");
    return fail(ps, ps->p, "unexpected markup");
}

/* The XML declaration, if the document starts with one: version (any VersionNum characters,
 * as expat takes), then optionally encoding (only UTF-8 is read) and standalone, in order. */
static bool declaration(struct parser *ps)
{
    static const char *const names[] = {"version", "encoding", "standalone"};
    char *p = ps->p + 5;
    size_t next = 0;
    if (strncmp(ps->p, "<?xml", 5) != 0 || !is_space(*p))
        return true;
    for (;;) {
        char *before = p;
        size_t i, n = 0;
        p = skip_space(p);
        if (p[0] == '?' && p[1] == '>')
            break;
        for (i = next; p != before && i < 3; i++) {
            n = strlen(names[i]);
            if (strncmp(p, names[i], n) == 0 && !is_name_char(p[n]))
                break;
        }
        if (p == before || i == 3 || (next == 0 && i != 0))
            return fail(ps, p, "malformed XML declaration");
        p = skip_space(p + n);
        if (*p != '=')
            return fail(ps, p, "malformed XML declaration");
        p = skip_space(p + 1);
        char quote = *p, *v = p + 1, *ve = NULL;
        if (quote == '"' || quote == '\'')
            ve = strchr(v, quote);
        if (ve == NULL)
            return fail(ps, p, "malformed XML declaration");
        size_t vlen = (size_t)(ve - v);
        if (i == 1 && !(vlen == 5 && strncasecmp(v, "UTF-8", 5) == 0))
            return fail(ps, v, "only UTF-8 documents are read");
        if (i == 0 &&
            strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") < vlen)
            return fail(ps, v, "malformed XML declaration");
        if (i == 2 &&
            !((vlen == 3 && memcmp(v, "yes", 3) == 0) || (vlen == 2 && memcmp(v, "no", 2) == 0)))
            return fail(ps, v, "malformed XML declaration");
        p = ve + 1;
        next = i + 1;
    }
    if (next == 0)
        return fail(ps, p, "malformed XML declaration");
    ps->p = p + 2;
    return true;
}

/* Between the markup before and after the root element: white space, comments and processing
 * instructions. Stops at the root's '<' or the end. */
static bool outside_root(struct parser *ps)
{
    for (;;) {
        ps->p = skip_space(ps->p);
        if (ps->p == ps->end)
            return true;
        if (*ps->p != '<')
            return fail(ps, ps->p, "text outside the root element");
        if (ps->p[1] != '!' && ps->p[1] != '?')
            return true;
        ps->p++;
        if (!misc(ps))
            return false;
    }
}

/* The root element and everything in it, the cursor at its '<'. */
static bool content(struct parser *ps)
{
    ps->p++;
    if (!start_tag(ps))
        return false;
    while (ps->depth > 0) {
        char *lt = memchr(ps->p, '<', (size_t)(ps->end - ps->p));
        if (lt == NULL)
            return fail(ps, ps->end, "the document ends inside an element");
        /* The text's NUL may land on this '<': the markup is read from the byte after it. */
        char *text = ps->p;
        ps->p = lt + 1;
        if (lt > text && !text_node(ps, text, lt, TEXT))
            return false;
        if (*ps->p == '/') {
            ps->p++;
            if (!end_tag(ps))
                return false;
        } else if (strncmp(ps->p, "![CDATA[", 8) == 0) {
            char *s = ps->p + 8;
            char *e = memmem(s, (size_t)(ps->end - s), "]]>", 3);
            if (e == NULL)
                return fail(ps, ps->p, "unclosed CDATA section");
            ps->p = e + 3;
            if (e > s && !text_node(ps, s, e, CDATA))
                return false;
        } else if (*ps->p == '!' || *ps->p == '?') {
            if (!misc(ps))
                return false;
        } else if (!start_tag(ps)) {
            return false;
        }
    }
    return true;
}

tt_xml_doc *tt_xml_parse(const char *data, size_t len, tt_error *err)
{
    tt_xml_doc *doc = NULL;
    struct parser *ps = NULL;
    const char *bad;
    bool ok = false;

    if (len > TT_XML_MAX_SIZE) {
        tt_error_set(err, TT_ELIMIT, "an XML response of %zu bytes is over the limit (%u)", len,
                     TT_XML_MAX_SIZE);
        return NULL;
    }
    doc = calloc(1, sizeof(*doc));
    ps = calloc(1, sizeof(*ps));
    if (doc == NULL || ps == NULL || (doc->buf = malloc(len + 1)) == NULL ||
        (doc->arena = tt_arena_create(len < 2048    ? 2048
                                      : len > 65536 ? 65536
                                                    : len)) == NULL) {
        tt_error_set(err, TT_ENOMEM, "out of memory reading an XML response");
        goto out;
    }
    if (len > 0)
        memcpy(doc->buf, data, len);
    doc->buf[len] = '\0';
    ps->p = ps->counted = doc->buf;
    ps->end = doc->buf + len;
    ps->line = 1;
    ps->arena = doc->arena;
    ps->err = err;
    if ((bad = bad_char(doc->buf, len)) != NULL) {
        fail(ps, bad,
             *bad == '\0' ? "a NUL byte" : "invalid UTF-8 or a character XML does not allow");
        goto out;
    }
    if (len >= 3 && memcmp(ps->p, "\xEF\xBB\xBF", 3) == 0)
        ps->p += 3;
    if (!declaration(ps) || !outside_root(ps))
        goto out;
    if (ps->p == ps->end) {
        fail(ps, ps->p, "no root element");
        goto out;
    }
    if (!content(ps) || !outside_root(ps))
        goto out;
    if (ps->p != ps->end) {
        fail(ps, ps->p, "a second root element");
        goto out;
    }
    doc->root = ps->root;
    ok = true;
out:
    free(ps);
    if (!ok) {
        tt_xml_free(doc);
        doc = NULL;
    }
    return doc;
}

void tt_xml_free(tt_xml_doc *doc)
{
    if (doc == NULL)
        return;
    tt_arena_destroy(doc->arena);
    free(doc->buf);
    free(doc);
}

const tt_xml_node *tt_xml_root(const tt_xml_doc *doc)
{
    return doc->root;
}

const tt_xml_node *tt_xml_child(const tt_xml_node *node, const char *name)
{
    for (const tt_xml_node *c = node != NULL ? node->children : NULL; c != NULL; c = c->next) {
        if (c->name != NULL && strcmp(c->name, name) == 0)
            return c;
    }
    return NULL;
}

const char *tt_xml_attr_get(const tt_xml_node *node, const char *name)
{
    for (const tt_xml_attr *a = node->attrs; a != NULL; a = a->next) {
        if (strcmp(a->name, name) == 0)
            return a->value;
    }
    return NULL;
}

/* Measures (out == NULL) or copies the character data under `node`; depth is bounded by the
 * parser's. */
static size_t gather(const tt_xml_node *node, char *out)
{
    size_t n = 0;
    for (const tt_xml_node *c = node->children; c != NULL; c = c->next) {
        if (c->name != NULL) {
            n += gather(c, out != NULL ? out + n : NULL);
        } else {
            if (out != NULL)
                memcpy(out + n, c->text, c->len);
            n += c->len;
        }
    }
    return n;
}

char *tt_xml_text(const tt_xml_node *node)
{
    if (node == NULL)
        return NULL;
    if (node->name == NULL)
        return strndup(node->text, node->len);
    size_t n = gather(node, NULL);
    char *s = malloc(n + 1);
    if (s != NULL) {
        gather(node, s);
        s[n] = '\0';
    }
    return s;
}
