#include "doc.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "tt_str.h"

const tt_doc_limits tt_doc_default_limits = {
    .max_doc_bytes = 1024 * 1024,
    .max_depth = 64,
    .max_nodes = 100000,
};

/* ---- line map: path hash → line, open addressing ------------------------------------ */

struct lm_slot {
    uint64_t hash; /* 0 marks an empty slot */
    int line;
};

struct tt_linemap {
    struct lm_slot *slots;
    size_t cap; /* a power of two */
    size_t len;
};

static uint64_t path_hash(const char *path, size_t len)
{
    uint64_t h = tt_hash64(path, len);
    return h ? h : 1;
}

static tt_linemap *linemap_create(void)
{
    tt_linemap *m = calloc(1, sizeof(*m));

    if (m == NULL)
        return NULL;
    m->cap = 32;
    m->slots = calloc(m->cap, sizeof(*m->slots));
    if (m->slots == NULL) {
        free(m);
        return NULL;
    }
    return m;
}

static void linemap_destroy(tt_linemap *m)
{
    if (m == NULL)
        return;
    free(m->slots);
    free(m);
}

/* Keeps the first line seen for a path; returns TT_ENOMEM when growing fails. */
static tt_code linemap_put(tt_linemap *m, uint64_t h, int line)
{
    size_t i;

    if ((m->len + 1) * 10 > m->cap * 7) {
        size_t cap = m->cap * 2;
        struct lm_slot *slots = calloc(cap, sizeof(*slots));
        if (slots == NULL)
            return TT_ENOMEM;
        for (size_t j = 0; j < m->cap; j++) {
            if (m->slots[j].hash == 0)
                continue;
            for (i = m->slots[j].hash & (cap - 1); slots[i].hash != 0; i = (i + 1) & (cap - 1))
                ;
            slots[i] = m->slots[j];
        }
        free(m->slots);
        m->slots = slots;
        m->cap = cap;
    }
    for (i = h & (m->cap - 1); m->slots[i].hash != 0; i = (i + 1) & (m->cap - 1)) {
        if (m->slots[i].hash == h)
            return TT_OK;
    }
    m->slots[i].hash = h;
    m->slots[i].line = line;
    m->len++;
    return TT_OK;
}

static int linemap_get(const tt_linemap *m, uint64_t h)
{
    for (size_t i = h & (m->cap - 1); m->slots[i].hash != 0; i = (i + 1) & (m->cap - 1)) {
        if (m->slots[i].hash == h)
            return m->slots[i].line;
    }
    return -1;
}

/* Length of the parent path of path[0..len): strips the last `.key` or `[...]`. */
static size_t path_parent_len(const char *path, size_t len)
{
    if (len > 0 && path[len - 1] == ']') {
        while (len > 0 && path[len - 1] != '[')
            len--;
        return len > 0 ? len - 1 : 0;
    }
    while (len > 0 && path[len - 1] != '.' && path[len - 1] != ']')
        len--;
    if (len > 0 && path[len - 1] == '.')
        len--;
    return len;
}

int tt_linemap_lookup(const tt_linemap *m, const char *path)
{
    size_t len = strlen(path);

    if (m == NULL)
        return 0;
    for (;;) {
        int line = linemap_get(m, path_hash(path, len));
        if (line >= 0)
            return line;
        if (len == 0)
            return 0;
        len = path_parent_len(path, len);
    }
}

/* ---- paths ------------------------------------------------------------------------ */

static int is_ident(const char *s)
{
    if (!isalpha((unsigned char)*s) && *s != '_')
        return 0;
    for (s++; *s; s++) {
        if (!isalnum((unsigned char)*s) && *s != '_')
            return 0;
    }
    return 1;
}

size_t tt_path_push_key(tt_buf *path, const char *key)
{
    size_t old = path->len;

    /* Best effort: on ENOMEM the path stays shorter, which only blurs a message. */
    if (is_ident(key))
        tt_buf_printf(path, "%s%s", old ? "." : "", key);
    else
        tt_buf_printf(path, "[%s]", key);
    return old;
}

size_t tt_path_push_index(tt_buf *path, size_t index)
{
    size_t old = path->len;

    tt_buf_printf(path, "[%zu]", index);
    return old;
}

void tt_path_pop(tt_buf *path, size_t len)
{
    if (path->data != NULL && len <= path->len) {
        path->len = len;
        path->data[len] = '\0';
    }
}

/* ---- the parser ---------------------------------------------------------------------- */

struct frame {
    json_t *node; /* owned: the object or array being filled */
    int is_map;
    char *key;            /* mapping: the key waiting for its value (owned), or NULL */
    int key_line;         /* line of that key */
    int merge_key;        /* the pending key is the merge key `<<` */
    json_t *merges;       /* mapping: merge sources in order (owned array), or NULL */
    size_t index;         /* sequence: next item index */
    size_t path_len;      /* length of the parser's path at this node */
    char *anchor;         /* anchor to register when the node ends (owned), or NULL */
    size_t nodes_at_open; /* node count when the node opened, for the anchor's size */
};

struct parser {
    const char *file;
    const char *data;
    size_t data_len;
    const tt_doc_limits *lim;
    tt_diags *diags;
    tt_docs *docs;

    /* Per document. */
    struct frame *stack;
    int depth;
    int stack_cap;
    json_t *root;      /* owned: the finished root value */
    json_t *anchors;   /* owned: anchor name → [value, expanded node count] */
    tt_linemap *lines; /* owned until the document is handed over */
    tt_buf path;
    size_t nodes;
    size_t doc_start; /* byte offset where the document started */
    int doc_line;
    int nerrors;
    int truncated;
    int oom;
};

static void diag(struct parser *p, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void diag(struct parser *p, int line, const char *fmt, ...)
{
    char msg[600];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (tt_diags_add(p->diags, p->file, line, tt_buf_str(&p->path), "%s", msg) != TT_OK)
        p->oom = 1;
    p->nerrors++;
}

static void record_line(struct parser *p, int line)
{
    if (linemap_put(p->lines, path_hash(tt_buf_str(&p->path), p->path.len), line) != TT_OK)
        p->oom = 1;
}

static void frame_release(struct frame *f)
{
    json_decref(f->node);
    json_decref(f->merges);
    free(f->key);
    free(f->anchor);
    memset(f, 0, sizeof(*f));
}

static void doc_reset(struct parser *p)
{
    while (p->depth > 0)
        frame_release(&p->stack[--p->depth]);
    json_decref(p->root);
    json_decref(p->anchors);
    linemap_destroy(p->lines);
    p->root = NULL;
    p->anchors = NULL;
    p->lines = NULL;
    tt_buf_reset(&p->path);
    p->nodes = 0;
    p->nerrors = 0;
    p->truncated = 0;
}

static int doc_begin(struct parser *p, const yaml_event_t *ev)
{
    doc_reset(p);
    p->anchors = json_object();
    p->lines = linemap_create();
    if (p->anchors == NULL || p->lines == NULL) {
        p->oom = 1;
        return -1;
    }
    p->doc_start = ev->start_mark.index;
    p->doc_line = (int)ev->start_mark.line + 1;
    return 0;
}

/* Hands the finished document to the output list; documents with no content are dropped. */
static void doc_end(struct parser *p)
{
    tt_docs *docs = p->docs;

    if (p->root == NULL || json_is_null(p->root)) {
        doc_reset(p);
        return;
    }
    if (docs->len == docs->cap) {
        size_t cap = docs->cap ? docs->cap * 2 : 8;
        tt_doc *items = realloc(docs->items, cap * sizeof(*items));
        if (items == NULL) {
            p->oom = 1;
            doc_reset(p);
            return;
        }
        docs->items = items;
        docs->cap = cap;
    }
    docs->items[docs->len].root = p->root;
    docs->items[docs->len].line = p->doc_line;
    docs->items[docs->len].nerrors = p->nerrors;
    docs->items[docs->len].truncated = p->truncated;
    docs->items[docs->len].lines = p->lines;
    docs->len++;
    p->root = NULL;
    p->lines = NULL;
    doc_reset(p);
}

/* Merges the `<<` sources into a finished mapping: explicit keys win, earlier sources win. */
static void apply_merges(struct parser *p, struct frame *f)
{
    size_t i;
    json_t *src;

    json_array_foreach(f->merges, i, src)
    {
        const char *k;
        json_t *v;
        json_object_foreach(src, k, v)
        {
            if (json_object_get(f->node, k) == NULL && json_object_set(f->node, k, v) != 0)
                p->oom = 1;
        }
    }
}

/*
 * Attaches a finished value (reference stolen) to the enclosing container, or makes it the
 * root. `line` is where the value started.
 */
static void attach(struct parser *p, json_t *value, int line)
{
    struct frame *f;

    if (value == NULL) {
        p->oom = 1;
        return;
    }
    if (p->depth == 0) {
        json_decref(p->root);
        p->root = value;
        return;
    }
    f = &p->stack[p->depth - 1];
    if (!f->is_map) {
        if (json_array_append_new(f->node, value) != 0)
            p->oom = 1;
        f->index++;
        return;
    }
    if (f->merge_key) {
        /* `<<: *base` or `<<: [*a, *b]` */
        size_t i;
        json_t *item;
        int ok = json_is_object(value);
        if (json_is_array(value)) {
            ok = 1;
            json_array_foreach(value, i, item) ok = ok && json_is_object(item);
        }
        if (!ok) {
            diag(p, f->key_line, "%s", "the merge key '<<' takes a mapping or a list of mappings");
        } else if (json_is_object(value)) {
            json_array_append(f->merges, value);
        } else {
            json_array_foreach(value, i, item) json_array_append(f->merges, item);
        }
        json_decref(value);
    } else if (json_object_get(f->node, f->key) != NULL) {
        diag(p, f->key_line, "duplicate key '%s'", f->key);
        json_decref(value);
    } else if (json_object_set_new(f->node, f->key, value) != 0) {
        p->oom = 1;
    }
    (void)line;
    free(f->key);
    f->key = NULL;
    f->merge_key = 0;
}

/*
 * Prepares the path and line of the value about to start inside the current container.
 * Returns the path length to restore once the value is attached.
 */
static size_t enter_value(struct parser *p, int line)
{
    struct frame *f;
    size_t old = p->path.len;

    if (p->depth == 0)
        return old;
    f = &p->stack[p->depth - 1];
    if (f->is_map) {
        if (f->merge_key)
            return old;
        old = tt_path_push_key(&p->path, f->key);
        record_line(p, f->key_line);
    } else {
        old = tt_path_push_index(&p->path, f->index);
        record_line(p, line);
    }
    return old;
}

static int count_node(struct parser *p, size_t n, int line)
{
    p->nodes += n;
    if (p->nodes <= p->lim->max_nodes)
        return 0;
    diag(p, line, "document has more than %zu nodes once aliases are expanded; refusing it",
         p->lim->max_nodes);
    return -1;
}

static const char *tag_suffix(const char *tag)
{
    static const char prefix[] = "tag:yaml.org,2002:";

    if (tag != NULL && strncmp(tag, prefix, sizeof(prefix) - 1) == 0)
        return tag + sizeof(prefix) - 1;
    return NULL;
}

static int match_int(const char *s, json_int_t *out)
{
    const char *d = s;
    int base = 10;
    char *end;
    long long v;

    if (*d == '-' || *d == '+')
        d++;
    if (d[0] == '0' && d[1] == 'x' && d != s)
        return 0;
    if (d[0] == '0' && (d[1] == 'x' || d[1] == 'o')) {
        base = d[1] == 'x' ? 16 : 8;
        s = d + 2;
        d = s;
    }
    if (*d == '\0')
        return 0;
    for (; *d; d++) {
        int ok = base == 16  ? isxdigit((unsigned char)*d)
                 : base == 8 ? (*d >= '0' && *d <= '7')
                             : isdigit((unsigned char)*d);
        if (!ok)
            return 0;
    }
    errno = 0;
    v = strtoll(s, &end, base);
    if (errno != 0)
        return -1; /* an integer, but too large: the caller makes it a float */
    *out = v;
    return 1;
}

static int match_float(const char *s)
{
    const char *d = s;
    int digits = 0;

    if (*d == '-' || *d == '+')
        d++;
    while (isdigit((unsigned char)*d)) {
        d++;
        digits++;
    }
    if (*d == '.') {
        d++;
        while (isdigit((unsigned char)*d)) {
            d++;
            digits++;
        }
    }
    if (digits == 0)
        return 0;
    if (*d == 'e' || *d == 'E') {
        d++;
        if (*d == '-' || *d == '+')
            d++;
        if (!isdigit((unsigned char)*d))
            return 0;
        while (isdigit((unsigned char)*d))
            d++;
    }
    return *d == '\0';
}

static int is_one_of(const char *s, const char *const *words)
{
    for (; *words; words++) {
        if (strcmp(s, *words) == 0)
            return 1;
    }
    return 0;
}

static const char *const null_words[] = {"", "~", "null", "Null", "NULL", NULL};
static const char *const true_words[] = {"true", "True", "TRUE", NULL};
static const char *const false_words[] = {"false", "False", "FALSE", NULL};

/*
 * Resolves a scalar with YAML 1.2's core schema (so `yes`, `on` and `0755`-style octal stay
 * strings, as in Kubernetes' YAML decoding of JSON-compatible values). Tags from the YAML
 * namespace are honoured; other tags (`!Ref` in a CloudFormation template sharing the tree)
 * are ignored, because documents of other tools must not turn into errors.
 */
static json_t *scalar_value(struct parser *p, const yaml_event_t *ev, int line)
{
    const char *s = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    const char *tag = tag_suffix((const char *)ev->data.scalar.tag);
    int plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && ev->data.scalar.tag == NULL;
    json_int_t iv;
    int m;

    if (memchr(s, '\0', len) != NULL) {
        diag(p, line, "%s", "strings must not contain NUL characters");
        return json_string("");
    }
    if (tag != NULL && strcmp(tag, "str") != 0) {
        if (strcmp(tag, "null") == 0 && is_one_of(s, null_words))
            return json_null();
        if (strcmp(tag, "bool") == 0 && (is_one_of(s, true_words) || is_one_of(s, false_words)))
            return json_boolean(is_one_of(s, true_words));
        if (strcmp(tag, "int") == 0 && match_int(s, &iv) == 1)
            return json_integer(iv);
        if (strcmp(tag, "float") == 0 && match_float(s))
            return json_real(strtod(s, NULL));
        if (strcmp(tag, "null") == 0 || strcmp(tag, "bool") == 0 || strcmp(tag, "int") == 0 ||
            strcmp(tag, "float") == 0) {
            diag(p, line, "'%s' does not match its tag", s);
            return json_string(s);
        }
        return json_stringn(s, len);
    }
    if (!plain)
        return json_stringn(s, len);
    if (is_one_of(s, null_words))
        return json_null();
    if (is_one_of(s, true_words))
        return json_true();
    if (is_one_of(s, false_words))
        return json_false();
    m = match_int(s, &iv);
    if (m == 1)
        return json_integer(iv);
    if (m == -1 || match_float(s)) {
        double d = strtod(s, NULL);
        if (d == d && d - d == 0)
            return json_real(d);
    }
    /* .inf, .nan and everything else: a string, which number fields then reject. */
    return json_stringn(s, len);
}

static int push_frame(struct parser *p, json_t *node, int is_map, const char *anchor,
                      size_t path_len, int line)
{
    struct frame *f;

    if (node == NULL) {
        p->oom = 1;
        return -1;
    }
    if (p->depth >= p->lim->max_depth) {
        json_decref(node);
        /* The path would be as deep as the nesting; the line says enough. Parsing stops here. */
        tt_path_pop(&p->path, 0);
        diag(p, line, "nesting is deeper than %d levels; refusing the document", p->lim->max_depth);
        return -1;
    }
    if (p->depth == p->stack_cap) {
        int cap = p->stack_cap ? p->stack_cap * 2 : 16;
        struct frame *s = realloc(p->stack, (size_t)cap * sizeof(*s));
        if (s == NULL) {
            json_decref(node);
            p->oom = 1;
            return -1;
        }
        p->stack = s;
        p->stack_cap = cap;
    }
    f = &p->stack[p->depth++];
    memset(f, 0, sizeof(*f));
    f->node = node;
    f->is_map = is_map;
    f->path_len = path_len;
    f->nodes_at_open = p->nodes;
    if (anchor != NULL && (f->anchor = strdup(anchor)) == NULL)
        p->oom = 1;
    if (is_map && (f->merges = json_array()) == NULL)
        p->oom = 1;
    return 0;
}

static void register_anchor(struct parser *p, const char *anchor, json_t *value, size_t nodes)
{
    json_t *entry;

    if (anchor == NULL)
        return;
    entry = json_pack("[Oi]", value, (json_int_t)nodes);
    if (entry == NULL || json_object_set_new(p->anchors, anchor, entry) != 0)
        p->oom = 1;
}

/* Closes the innermost container and attaches it to its parent. */
static void pop_frame(struct parser *p, int line)
{
    struct frame f = p->stack[--p->depth];
    json_t *node = f.node;

    if (f.is_map && json_array_size(f.merges) > 0)
        apply_merges(p, &f);
    if (f.is_map && f.key != NULL)
        diag(p, f.key_line, "key '%s' has no value", f.key);
    register_anchor(p, f.anchor, node, p->nodes - f.nodes_at_open + 1);
    tt_path_pop(&p->path, f.path_len);
    f.node = NULL;
    frame_release(&f);
    attach(p, node, line);
}

static int handle_scalar(struct parser *p, const yaml_event_t *ev)
{
    int line = (int)ev->start_mark.line + 1;
    struct frame *f = p->depth > 0 ? &p->stack[p->depth - 1] : NULL;
    json_t *v;
    size_t old;

    if (count_node(p, 1, line) != 0)
        return -1;
    if (f != NULL && f->is_map && f->key == NULL && !f->merge_key) {
        const char *k = (const char *)ev->data.scalar.value;
        if (memchr(k, '\0', ev->data.scalar.length) != NULL) {
            diag(p, line, "%s", "keys must not contain NUL characters");
            k = "";
        }
        if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && ev->data.scalar.tag == NULL &&
            strcmp(k, "<<") == 0) {
            f->merge_key = 1;
            f->key_line = line;
            return 0;
        }
        f->key = strdup(k);
        f->key_line = line;
        if (f->key == NULL)
            p->oom = 1;
        return 0;
    }
    old = enter_value(p, line);
    v = scalar_value(p, ev, line);
    register_anchor(p, (const char *)ev->data.scalar.anchor, v, 1);
    tt_path_pop(&p->path, old);
    attach(p, v, line);
    return 0;
}

static int handle_alias(struct parser *p, const yaml_event_t *ev)
{
    int line = (int)ev->start_mark.line + 1;
    struct frame *f = p->depth > 0 ? &p->stack[p->depth - 1] : NULL;
    json_t *entry = json_object_get(p->anchors, (const char *)ev->data.alias.anchor);
    size_t old;

    if (entry == NULL) {
        diag(p, line, "unknown alias '*%s'", (const char *)ev->data.alias.anchor);
        return -1;
    }
    if (f != NULL && f->is_map && f->key == NULL && !f->merge_key) {
        diag(p, line, "%s", "an alias cannot be used as a mapping key");
        return -1;
    }
    if (count_node(p, (size_t)json_integer_value(json_array_get(entry, 1)), line) != 0)
        return -1;
    old = enter_value(p, line);
    tt_path_pop(&p->path, old);
    attach(p, json_incref(json_array_get(entry, 0)), line);
    return 0;
}

static int handle_start(struct parser *p, const yaml_event_t *ev, int is_map)
{
    int line = (int)ev->start_mark.line + 1;
    struct frame *f = p->depth > 0 ? &p->stack[p->depth - 1] : NULL;
    const char *anchor =
        (const char *)(is_map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor);
    size_t old;

    if (count_node(p, 1, line) != 0)
        return -1;
    if (f != NULL && f->is_map && f->key == NULL && !f->merge_key) {
        diag(p, line, "%s", "mapping keys must be plain strings, not mappings or lists");
        return -1;
    }
    old = enter_value(p, line);
    return push_frame(p, is_map ? json_object() : json_array(), is_map, anchor, old, line);
}

/* Counts the lines before byte `offset`, for reader errors that carry only an offset. */
static int line_of_offset(const struct parser *p, size_t offset)
{
    int line = 1;

    for (size_t i = 0; i < offset && i < p->data_len; i++)
        line += p->data[i] == '\n';
    return line;
}

static void report_yaml_error(struct parser *p, const yaml_parser_t *yp)
{
    char msg[400];
    int line;

    if (yp->error == YAML_READER_ERROR) {
        line = line_of_offset(p, yp->problem_offset);
        snprintf(msg, sizeof(msg), "not valid UTF-8 text (%s at byte %zu)",
                 yp->problem ? yp->problem : "unreadable", yp->problem_offset);
    } else if (yp->error == YAML_MEMORY_ERROR) {
        p->oom = 1;
        return;
    } else {
        line = (int)yp->problem_mark.line + 1;
        if (yp->context != NULL)
            snprintf(msg, sizeof(msg), "YAML syntax: %s %s (line %d)",
                     yp->problem ? yp->problem : "error", yp->context,
                     (int)yp->context_mark.line + 1);
        else
            snprintf(msg, sizeof(msg), "YAML syntax: %s", yp->problem ? yp->problem : "error");
    }
    tt_buf_reset(&p->path);
    diag(p, line, "%s", msg);
}

/* Closes every open container so the partial document can still be reported by name. */
static void salvage(struct parser *p, int line)
{
    p->truncated = 1;
    while (p->depth > 0) {
        struct frame *f = &p->stack[p->depth - 1];
        if (f->is_map && f->key != NULL) {
            free(f->key);
            f->key = NULL;
        }
        f->merge_key = 0;
        pop_frame(p, line);
    }
    if (p->root != NULL)
        doc_end(p);
}

tt_code tt_doc_parse(const char *data, size_t len, const char *file, const tt_doc_limits *limits,
                     tt_diags *diags, tt_docs *docs)
{
    struct parser p = {0};
    yaml_parser_t yp;
    yaml_event_t ev;
    size_t errors_before = tt_diags_count(diags);
    int in_doc = 0, done = 0;
    tt_code rc = TT_OK;

    p.file = file;
    p.data = data;
    p.data_len = len;
    p.lim = limits ? limits : &tt_doc_default_limits;
    p.diags = diags;
    p.docs = docs;
    tt_buf_init(&p.path);
    if (!yaml_parser_initialize(&yp))
        return TT_ENOMEM;
    yaml_parser_set_input_string(&yp, (const unsigned char *)data, len);
    yaml_parser_set_encoding(&yp, YAML_UTF8_ENCODING);

    while (!done && !p.oom) {
        int failed = 0;
        if (!yaml_parser_parse(&yp, &ev)) {
            report_yaml_error(&p, &yp);
            if (in_doc)
                salvage(&p, (int)yp.problem_mark.line + 1);
            break;
        }
        if (in_doc && ev.start_mark.index - p.doc_start > p.lim->max_doc_bytes) {
            tt_buf_reset(&p.path);
            diag(&p, p.doc_line, "document is larger than %zu KiB; refusing it",
                 p.lim->max_doc_bytes / 1024);
            yaml_event_delete(&ev);
            break;
        }
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        case YAML_DOCUMENT_START_EVENT:
            failed = doc_begin(&p, &ev);
            in_doc = 1;
            break;
        case YAML_DOCUMENT_END_EVENT:
            doc_end(&p);
            in_doc = 0;
            break;
        case YAML_SCALAR_EVENT:
            failed = handle_scalar(&p, &ev);
            break;
        case YAML_ALIAS_EVENT:
            failed = handle_alias(&p, &ev);
            break;
        case YAML_MAPPING_START_EVENT:
        case YAML_SEQUENCE_START_EVENT:
            failed = handle_start(&p, &ev, ev.type == YAML_MAPPING_START_EVENT);
            break;
        case YAML_MAPPING_END_EVENT:
        case YAML_SEQUENCE_END_EVENT:
            pop_frame(&p, (int)ev.start_mark.line + 1);
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
        if (failed) {
            /* Limits and unusable structure end the file: what follows cannot be trusted. */
            if (in_doc && !p.oom)
                salvage(&p, p.doc_line);
            break;
        }
    }

    if (p.oom)
        rc = TT_ENOMEM;
    else if (tt_diags_count(diags) > errors_before)
        rc = TT_EPARSE;
    doc_reset(&p);
    free(p.stack);
    tt_buf_cleanup(&p.path);
    yaml_parser_delete(&yp);
    return rc;
}

void tt_docs_init(tt_docs *docs)
{
    memset(docs, 0, sizeof(*docs));
}

void tt_docs_cleanup(tt_docs *docs)
{
    for (size_t i = 0; i < docs->len; i++) {
        json_decref(docs->items[i].root);
        linemap_destroy(docs->items[i].lines);
    }
    free(docs->items);
    tt_docs_init(docs);
}
