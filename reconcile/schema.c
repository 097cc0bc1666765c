#include "schema.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schedule.h"
#include "tt_num.h"
#include "tt_str.h"

/* ---- reporting ---------------------------------------------------------------------- */

/* Where a field's value lives in the typed struct; void * so typed stores need no cast-align. */
static void *field_at(void *base, size_t off)
{
    return (char *)base + off;
}

static void vreport(tt_vctx *v, tt_severity sev, const char *field, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

static void vreport(tt_vctx *v, tt_severity sev, const char *field, const char *fmt, va_list ap)
{
    size_t old = v->path.len;

    if (field != NULL)
        tt_path_push_key(&v->path, field);
    if (tt_diags_addv(v->diags, sev, v->file, tt_linemap_lookup(v->lines, tt_buf_str(&v->path)),
                      tt_buf_str(&v->path), fmt, ap) != TT_OK)
        v->oom = 1;
    tt_path_pop(&v->path, old);
    if (sev == TT_DIAG_ERROR)
        v->nerrors++;
}

void tt_vctx_error(tt_vctx *v, const char *field, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vreport(v, TT_DIAG_ERROR, field, fmt, ap);
    va_end(ap);
}

void tt_vctx_warn(tt_vctx *v, const char *field, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vreport(v, TT_DIAG_WARNING, field, fmt, ap);
    va_end(ap);
}

void tt_vctx_error_item(tt_vctx *v, const char *list, size_t index, const char *field,
                        const char *fmt, ...)
{
    size_t old = tt_path_push_key(&v->path, list);
    va_list ap;

    tt_path_push_index(&v->path, index);
    va_start(ap, fmt);
    vreport(v, TT_DIAG_ERROR, field, fmt, ap);
    va_end(ap);
    tt_path_pop(&v->path, old);
}

static const char *json_type_word(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT:
        return "a mapping";
    case JSON_ARRAY:
        return "a list";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    default:
        return "null";
    }
}

/* The closest known name within edit distance 2, or NULL. */
static const char *closest(const char *word, const char *const *names, size_t n)
{
    const char *best = NULL;
    int best_d = 3;

    for (size_t i = 0; i < n; i++) {
        int d = tt_edit_distance(word, names[i], 2);
        if (d < best_d) {
            best_d = d;
            best = names[i];
        }
    }
    return best;
}

int tt_schema_unknown_fields(tt_vctx *v, const json_t *obj, const char *const *known, size_t n)
{
    const char *key;
    json_t *val;
    int errors = 0;

    json_object_foreach((json_t *)obj, key, val)
    {
        size_t i;
        for (i = 0; i < n && strcmp(key, known[i]) != 0; i++)
            ;
        if (i < n)
            continue;
        const char *hint = closest(key, known, n);
        if (hint != NULL)
            tt_vctx_error(v, key, "unknown field; did you mean '%s'?", hint);
        else
            tt_vctx_error(v, key, "unknown field");
        errors++;
    }
    return errors;
}

int tt_json_count_present(const json_t *obj, const char *const *names)
{
    int n = 0;

    for (; *names != NULL; names++) {
        const json_t *j = json_object_get(obj, *names);
        n += j != NULL && !json_is_null(j);
    }
    return n;
}

/* ---- scalar fields ------------------------------------------------------------------ */

static char *arena_str(tt_vctx *v, const char *s)
{
    char *p = tt_arena_strdup(v->arena, s);

    if (p == NULL)
        v->oom = 1;
    return p;
}

static void *arena_alloc(tt_vctx *v, size_t size)
{
    void *p = tt_arena_alloc(v->arena, size);

    if (p == NULL)
        v->oom = 1;
    return p;
}

/* Checks a string value against the field's bounds and rule; NULL field name: current path. */
static int check_string(tt_vctx *v, const tt_field *f, const char *where, const char *s)
{
    size_t len = strlen(s);
    const char *why;

    if ((f->bounds & TT_HAS_MIN) && len < (size_t)f->min) {
        if (f->min == 1)
            tt_vctx_error(v, where, "must not be empty");
        else
            tt_vctx_error(v, where, "must be at least %.0f characters long", f->min);
        return -1;
    }
    if ((f->bounds & TT_HAS_MAX) && len > (size_t)f->max) {
        tt_vctx_error(v, where, "must be at most %.0f characters long (is %zu)", f->max, len);
        return -1;
    }
    if (f->check != NULL && (why = f->check(s)) != NULL) {
        tt_vctx_error(v, where, "'%s' %s", s, why);
        return -1;
    }
    return 0;
}

static int check_number(tt_vctx *v, const tt_field *f, double d)
{
    if ((f->bounds & TT_HAS_MIN) && ((f->bounds & TT_EXCL_MIN) ? d <= f->min : d < f->min)) {
        tt_vctx_error(v, f->name, "must be %s %.15g (is %.15g)",
                      (f->bounds & TT_EXCL_MIN) ? "greater than" : "at least", f->min, d);
        return -1;
    }
    if ((f->bounds & TT_HAS_MAX) && d > f->max) {
        tt_vctx_error(v, f->name, "must be at most %.15g (is %.15g)", f->max, d);
        return -1;
    }
    return 0;
}

static int parse_enum(tt_vctx *v, const tt_field *f, const json_t *j, const char **out)
{
    const char *s = json_string_value(j);
    size_t n = 0;
    tt_buf words;
    const char *hint;

    if (s == NULL) {
        tt_vctx_error(v, f->name, "expected a string, got %s", json_type_word(j));
        return -1;
    }
    for (; f->enums[n] != NULL; n++) {
        if (strcmp(s, f->enums[n]) == 0) {
            *out = f->enums[n];
            return 0;
        }
    }
    tt_buf_init(&words);
    for (size_t i = 0; i < n; i++)
        tt_buf_printf(&words, "%s%s", i ? ", " : "", f->enums[i]);
    hint = closest(s, f->enums, n);
    if (hint != NULL)
        tt_vctx_error(v, f->name, "'%s' is not one of %s; did you mean '%s'?", s,
                      tt_buf_str(&words), hint);
    else
        tt_vctx_error(v, f->name, "'%s' is not one of %s", s, tt_buf_str(&words));
    tt_buf_cleanup(&words);
    return -1;
}

static int parse_scalar(tt_vctx *v, const tt_field *f, const json_t *j, char *base)
{
    void *dst = field_at(base, f->off);

    switch (f->type) {
    case TT_F_STRING: {
        const char *s = json_string_value(j);
        if (s == NULL) {
            tt_vctx_error(v, f->name, "expected a string, got %s", json_type_word(j));
            return -1;
        }
        if (check_string(v, f, f->name, s) != 0)
            return -1;
        *(const char **)dst = arena_str(v, s);
        return 0;
    }
    case TT_F_ENUM:
        return parse_enum(v, f, j, (const char **)dst);
    case TT_F_INT: {
        tt_opt_int *o = dst;
        if (json_is_real(j) && json_real_value(j) == tt_floor(json_real_value(j)) &&
            fabs(json_real_value(j)) < 9e15) {
            o->v = (int64_t)json_real_value(j);
        } else if (json_is_integer(j)) {
            o->v = json_integer_value(j);
        } else {
            tt_vctx_error(v, f->name, "expected an integer, got %s", json_type_word(j));
            return -1;
        }
        if (check_number(v, f, (double)o->v) != 0)
            return -1;
        o->set = true;
        return 0;
    }
    case TT_F_NUMBER: {
        tt_opt_num *o = dst;
        if (!json_is_number(j)) {
            tt_vctx_error(v, f->name, "expected a number, got %s", json_type_word(j));
            return -1;
        }
        o->v = json_number_value(j);
        if (check_number(v, f, o->v) != 0)
            return -1;
        o->set = true;
        return 0;
    }
    case TT_F_BOOL: {
        tt_opt_bool *o = dst;
        if (!json_is_boolean(j)) {
            const char *s = json_string_value(j);
            if (s != NULL && (strcasecmp(s, "yes") == 0 || strcasecmp(s, "no") == 0 ||
                              strcasecmp(s, "on") == 0 || strcasecmp(s, "off") == 0 ||
                              strcasecmp(s, "true") == 0 || strcasecmp(s, "false") == 0))
                tt_vctx_error(v, f->name, "expected true or false, got the string '%s'", s);
            else
                tt_vctx_error(v, f->name, "expected true or false, got %s", json_type_word(j));
            return -1;
        }
        o->v = json_is_true(j);
        o->set = true;
        return 0;
    }
    case TT_F_DURATION: {
        tt_opt_int *o = dst;
        tt_error err;
        if (json_is_integer(j)) {
            char num[32];
            snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(j));
            if (tt_duration_parse(num, &o->v, &err) != TT_OK) {
                tt_vctx_error(v, f->name, "%s", err.message);
                return -1;
            }
        } else if (json_is_string(j)) {
            if (tt_duration_parse(json_string_value(j), &o->v, &err) != TT_OK) {
                tt_vctx_error(v, f->name, "%s", err.message);
                return -1;
            }
        } else {
            tt_vctx_error(v, f->name, "expected a duration (300 or \"5m\"), got %s",
                          json_type_word(j));
            return -1;
        }
        if (check_number(v, f, (double)o->v) != 0)
            return -1;
        o->set = true;
        return 0;
    }
    default:
        return -1;
    }
}

static void apply_default(const tt_field *f, char *base)
{
    void *dst = field_at(base, f->off);

    switch (f->type) {
    case TT_F_STRING:
    case TT_F_ENUM:
        *(const char **)dst = f->def_str;
        break;
    case TT_F_INT:
    case TT_F_DURATION:
        ((tt_opt_int *)dst)->v = (int64_t)f->def_num;
        ((tt_opt_int *)dst)->set = true;
        break;
    case TT_F_NUMBER:
        ((tt_opt_num *)dst)->v = f->def_num;
        ((tt_opt_num *)dst)->set = true;
        break;
    case TT_F_BOOL:
        ((tt_opt_bool *)dst)->v = f->def_num != 0;
        ((tt_opt_bool *)dst)->set = true;
        break;
    default:
        break;
    }
}

/* ---- composite fields --------------------------------------------------------------- */

static int check_count(tt_vctx *v, const tt_field *f, size_t n, const char *what)
{
    if ((f->bounds & TT_HAS_MIN) && n < (size_t)f->min) {
        tt_vctx_error(v, f->name, "needs at least %.0f %s", f->min, what);
        return -1;
    }
    if ((f->bounds & TT_HAS_MAX) && n > (size_t)f->max) {
        tt_vctx_error(v, f->name, "takes at most %.0f %s (has %zu)", f->max, what, n);
        return -1;
    }
    return 0;
}

static int parse_list(tt_vctx *v, const tt_field *f, const json_t *j, char *base)
{
    size_t n = json_array_size(j), old;
    char *items;
    int errors = 0;

    if (!json_is_array(j)) {
        tt_vctx_error(v, f->name, "expected a list, got %s", json_type_word(j));
        return 1;
    }
    if (check_count(v, f, n, "items") != 0)
        return 1;
    items = n ? arena_alloc(v, n * f->sub->size) : NULL;
    if (n && items == NULL)
        return 1;
    old = tt_path_push_key(&v->path, f->name);
    for (size_t i = 0; i < n; i++) {
        size_t o2 = tt_path_push_index(&v->path, i);
        errors += tt_schema_parse(v, f->sub, json_array_get(j, i), items + i * f->sub->size);
        tt_path_pop(&v->path, o2);
    }
    if (f->flags & TT_KEYED) {
        for (size_t i = 0; i < n; i++) {
            const char *a = json_string_value(json_object_get(json_array_get(j, i), "name"));
            for (size_t k = 0; a != NULL && k < i; k++) {
                const char *b = json_string_value(json_object_get(json_array_get(j, k), "name"));
                if (b != NULL && strcmp(a, b) == 0) {
                    size_t o2 = tt_path_push_index(&v->path, i);
                    tt_vctx_error(v, "name", "'%s' is used twice in %s", a, f->name);
                    tt_path_pop(&v->path, o2);
                    errors++;
                    break;
                }
            }
        }
    }
    tt_path_pop(&v->path, old);
    *(void **)field_at(base, f->off) = items;
    *(size_t *)field_at(base, f->count_off) = n;
    return errors;
}

static int parse_strlist(tt_vctx *v, const tt_field *f, const json_t *j, char *base)
{
    size_t n = json_array_size(j), old;
    const char **items;
    int errors = 0;

    if (!json_is_array(j)) {
        tt_vctx_error(v, f->name, "expected a list of strings, got %s", json_type_word(j));
        return 1;
    }
    if (check_count(v, f, n, "items") != 0)
        return 1;
    items = n ? arena_alloc(v, n * sizeof(*items)) : NULL;
    if (n && items == NULL)
        return 1;
    old = tt_path_push_key(&v->path, f->name);
    for (size_t i = 0; i < n; i++) {
        const char *s = json_string_value(json_array_get(j, i));
        size_t o2 = tt_path_push_index(&v->path, i);
        if (s == NULL) {
            tt_vctx_error(v, NULL, "expected a string, got %s",
                          json_type_word(json_array_get(j, i)));
            errors++;
        } else if (f->items != NULL && check_string(v, f->items, NULL, s) != 0) {
            errors++;
        } else {
            for (size_t k = 0; (f->flags & TT_UNIQUE) && k < i; k++) {
                if (items[k] != NULL && strcmp(items[k], s) == 0) {
                    tt_vctx_error(v, NULL, "'%s' is listed twice", s);
                    errors++;
                    break;
                }
            }
            items[i] = arena_str(v, s);
        }
        tt_path_pop(&v->path, o2);
    }
    tt_path_pop(&v->path, old);
    *(const char ***)field_at(base, f->off) = items;
    *(size_t *)field_at(base, f->count_off) = n;
    return errors;
}

static int kv_cmp(const void *a, const void *b)
{
    return strcmp(((const tt_kv *)a)->key, ((const tt_kv *)b)->key);
}

static int parse_strmap(tt_vctx *v, const tt_field *f, const json_t *j, char *base)
{
    size_t n = json_object_size(j), i = 0, old;
    const char *key;
    json_t *val;
    tt_kv *items;
    int errors = 0;

    if (!json_is_object(j)) {
        tt_vctx_error(v, f->name, "expected a mapping of names to strings, got %s",
                      json_type_word(j));
        return 1;
    }
    if (check_count(v, f, n, "entries") != 0)
        return 1;
    items = n ? arena_alloc(v, n * sizeof(*items)) : NULL;
    if (n && items == NULL)
        return 1;
    old = tt_path_push_key(&v->path, f->name);
    json_object_foreach((json_t *)j, key, val)
    {
        const char *s = json_string_value(val);
        if (s == NULL) {
            tt_vctx_error(v, key, "expected a string, got %s (quote numbers and booleans)",
                          json_type_word(val));
            errors++;
            continue;
        }
        if (f->items != NULL) {
            size_t o2 = tt_path_push_key(&v->path, key);
            errors += check_string(v, f->items, NULL, s) != 0;
            tt_path_pop(&v->path, o2);
        }
        items[i].key = arena_str(v, key);
        items[i].value = arena_str(v, s);
        i++;
    }
    tt_path_pop(&v->path, old);
    if (i > 1)
        qsort(items, i, sizeof(*items), kv_cmp);
    *(tt_kv **)field_at(base, f->off) = items;
    *(size_t *)field_at(base, f->count_off) = i;
    return errors;
}

static int parse_field(tt_vctx *v, const tt_field *f, const json_t *j, char *base)
{
    switch (f->type) {
    case TT_F_OBJECT: {
        void *sub = arena_alloc(v, f->sub->size);
        size_t old;
        int errors;
        if (sub == NULL)
            return 1;
        old = tt_path_push_key(&v->path, f->name);
        errors = tt_schema_parse(v, f->sub, j, sub);
        tt_path_pop(&v->path, old);
        *(void **)field_at(base, f->off) = sub;
        return errors;
    }
    case TT_F_LIST:
        return parse_list(v, f, j, base);
    case TT_F_STRLIST:
        return parse_strlist(v, f, j, base);
    case TT_F_STRMAP:
        return parse_strmap(v, f, j, base);
    case TT_F_ANY:
        return 0;
    default:
        return parse_scalar(v, f, j, base) != 0;
    }
}

int tt_vctx_ok(const tt_vctx *v, const char *field)
{
    for (size_t i = 0; v->cur != NULL && i < v->cur->nfields && i < 64; i++) {
        if (strcmp(v->cur->fields[i].name, field) == 0)
            return !(v->bad & (1ULL << i));
    }
    return 1;
}

int tt_schema_parse(tt_vctx *v, const tt_schema *s, const json_t *obj, void *out)
{
    const char *names[64];
    int errors_before = v->nerrors;
    uint64_t bad = 0;
    const tt_schema *saved_cur;
    uint64_t saved_bad;

    if (!json_is_object(obj)) {
        tt_vctx_error(v, NULL, "expected a mapping, got %s", json_type_word(obj));
        return 1;
    }
    for (size_t i = 0; i < s->nfields && i < 64; i++)
        names[i] = s->fields[i].name;
    tt_schema_unknown_fields(v, obj, names, s->nfields < 64 ? s->nfields : 64);

    for (size_t i = 0; i < s->nfields; i++) {
        const tt_field *f = &s->fields[i];
        const json_t *j = json_object_get(obj, f->name);
        int failed = 0;
        if (j == NULL || json_is_null(j)) {
            if (f->flags & TT_REQUIRED) {
                tt_vctx_error(v, f->name, "is required");
                failed = 1;
            } else if (f->has_default) {
                apply_default(f, out);
            }
        } else {
            failed = parse_field(v, f, j, out) != 0;
        }
        if (failed && i < 64)
            bad |= 1ULL << i;
    }

    if (s->exactly_one) {
        int present = 0;
        tt_buf words;
        for (size_t i = 0; i < s->nfields; i++) {
            const json_t *j = json_object_get(obj, s->fields[i].name);
            present += j != NULL && !json_is_null(j);
        }
        if (present != 1) {
            tt_buf_init(&words);
            for (size_t i = 0; i < s->nfields; i++)
                tt_buf_printf(&words, "%s%s", i ? (i + 1 == s->nfields ? " or " : ", ") : "",
                              s->fields[i].name);
            tt_vctx_error(v, NULL, "%s: set exactly one of %s",
                          present ? "more than one is set" : "nothing is set", tt_buf_str(&words));
            tt_buf_cleanup(&words);
            return v->nerrors - errors_before;
        }
    }
    if (s->check != NULL) {
        saved_cur = v->cur;
        saved_bad = v->bad;
        v->cur = s;
        v->bad = bad;
        s->check(v, obj, out);
        v->cur = saved_cur;
        v->bad = saved_bad;
    }
    return v->nerrors - errors_before;
}

/* ---- back to JSON ------------------------------------------------------------------------ */

static json_t *field_to_json(const tt_field *f, const void *base)
{
    const void *at = (const char *)base + f->off;
    json_t *j = NULL;

    switch (f->type) {
    case TT_F_STRING:
    case TT_F_ENUM: {
        const char *s = *(const char *const *)at;
        return s ? json_string(s) : NULL;
    }
    case TT_F_INT:
    case TT_F_DURATION: {
        const tt_opt_int *o = at;
        return o->set ? json_integer((json_int_t)o->v) : NULL;
    }
    case TT_F_NUMBER: {
        const tt_opt_num *o = at;
        return o->set ? json_real(o->v) : NULL;
    }
    case TT_F_BOOL: {
        const tt_opt_bool *o = at;
        return o->set ? json_boolean(o->v) : NULL;
    }
    case TT_F_OBJECT: {
        const void *sub = *(const void *const *)at;
        return sub ? tt_schema_to_json(f->sub, sub) : NULL;
    }
    case TT_F_LIST: {
        const char *items = *(const char *const *)at;
        size_t n = *(const size_t *)(const void *)((const char *)base + f->count_off);
        if (items == NULL)
            return NULL;
        j = json_array();
        for (size_t i = 0; j != NULL && i < n; i++)
            json_array_append_new(j, tt_schema_to_json(f->sub, items + i * f->sub->size));
        return j;
    }
    case TT_F_STRLIST: {
        const char *const *items = *(const char *const *const *)at;
        size_t n = *(const size_t *)(const void *)((const char *)base + f->count_off);
        if (items == NULL)
            return NULL;
        j = json_array();
        for (size_t i = 0; j != NULL && i < n; i++)
            json_array_append_new(j, json_string(items[i]));
        return j;
    }
    case TT_F_STRMAP: {
        const tt_kv *items = *(const tt_kv *const *)at;
        size_t n = *(const size_t *)(const void *)((const char *)base + f->count_off);
        if (items == NULL)
            return NULL;
        j = json_object();
        for (size_t i = 0; j != NULL && i < n; i++)
            json_object_set_new(j, items[i].key, json_string(items[i].value));
        return j;
    }
    case TT_F_ANY:
        return NULL;
    }
    return NULL;
}

json_t *tt_schema_to_json(const tt_schema *s, const void *obj)
{
    json_t *o = json_object();

    for (size_t i = 0; o != NULL && i < s->nfields; i++) {
        json_t *v = field_to_json(&s->fields[i], obj);
        if (v != NULL)
            json_object_set_new(o, s->fields[i].name, v);
    }
    return o;
}

/* ---- OpenAPI v3 for the CRDs --------------------------------------------------------- */

static json_t *field_openapi(const tt_field *f);

static void set_bounds(json_t *o, const tt_field *f, const char *min_key, const char *max_key)
{
    if (f->bounds & TT_HAS_MIN) {
        if (f->type == TT_F_INT || f->type == TT_F_DURATION || strcmp(min_key, "minimum") != 0)
            json_object_set_new(o, min_key, json_integer((json_int_t)f->min));
        else
            json_object_set_new(o, min_key, json_real(f->min));
        if ((f->bounds & TT_EXCL_MIN) && strcmp(min_key, "minimum") == 0)
            json_object_set_new(o, "exclusiveMinimum", json_true());
    }
    if (f->bounds & TT_HAS_MAX) {
        if (f->type == TT_F_INT || f->type == TT_F_DURATION || strcmp(max_key, "maximum") != 0)
            json_object_set_new(o, max_key, json_integer((json_int_t)f->max));
        else
            json_object_set_new(o, max_key, json_real(f->max));
    }
}

/* The schema of a string value with the rule of `f` (length, pattern). */
static json_t *string_openapi(const tt_field *f)
{
    json_t *o = json_pack("{s:s}", "type", "string");

    if (f == NULL)
        return o;
    set_bounds(o, f, "minLength", "maxLength");
    if (f->pattern != NULL)
        json_object_set_new(o, "pattern", json_string(f->pattern));
    return o;
}

static json_t *field_openapi(const tt_field *f)
{
    json_t *o = NULL;

    switch (f->type) {
    case TT_F_STRING:
        o = string_openapi(f);
        if (f->has_default)
            json_object_set_new(o, "default", json_string(f->def_str));
        break;
    case TT_F_ENUM: {
        json_t *e = json_array();
        for (size_t i = 0; f->enums[i] != NULL; i++)
            json_array_append_new(e, json_string(f->enums[i]));
        o = json_pack("{s:s,s:o}", "type", "string", "enum", e);
        if (f->has_default)
            json_object_set_new(o, "default", json_string(f->def_str));
        break;
    }
    case TT_F_INT:
        o = json_pack("{s:s,s:s}", "type", "integer", "format", "int64");
        set_bounds(o, f, "minimum", "maximum");
        if (f->has_default)
            json_object_set_new(o, "default", json_integer((json_int_t)f->def_num));
        break;
    case TT_F_NUMBER:
        o = json_pack("{s:s}", "type", "number");
        set_bounds(o, f, "minimum", "maximum");
        if (f->has_default)
            json_object_set_new(o, "default", json_real(f->def_num));
        break;
    case TT_F_BOOL:
        o = json_pack("{s:s}", "type", "boolean");
        if (f->has_default)
            json_object_set_new(o, "default", json_boolean(f->def_num != 0));
        break;
    case TT_F_DURATION: {
        /*
         * Seconds as an integer, or a duration string: Kubernetes' int-or-string. The integer
         * form carries the field's bounds; a string's value is only known to tt_duration_parse,
         * whose grammar the pattern spells out (its whole-seconds and bounds checks stay in C).
         */
        json_t *secs = json_pack("{s:s,s:I}", "type", "integer", "minimum",
                                 (json_int_t)((f->bounds & TT_HAS_MIN) ? f->min : 0));
        if (f->bounds & TT_HAS_MAX)
            json_object_set_new(secs, "maximum", json_integer((json_int_t)f->max));
        o = json_pack("{s:b,s:[o,{s:s,s:s}]}", "x-kubernetes-int-or-string", 1, "anyOf", secs,
                      "type", "string", "pattern",
                      "^(([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(ms|s|m|h|d))+$|^\\+?[0-9]+$");
        if (f->has_default)
            json_object_set_new(o, "default", json_integer((json_int_t)f->def_num));
        break;
    }
    case TT_F_OBJECT:
        o = tt_schema_openapi(f->sub);
        break;
    case TT_F_LIST:
        o = json_pack("{s:s,s:o}", "type", "array", "items", tt_schema_openapi(f->sub));
        set_bounds(o, f, "minItems", "maxItems");
        if (f->flags & TT_KEYED) {
            json_object_set_new(o, "x-kubernetes-list-type", json_string("map"));
            json_object_set_new(o, "x-kubernetes-list-map-keys", json_pack("[s]", "name"));
        }
        break;
    case TT_F_STRLIST:
        o = json_pack("{s:s,s:o}", "type", "array", "items", string_openapi(f->items));
        set_bounds(o, f, "minItems", "maxItems");
        if (f->flags & TT_UNIQUE)
            json_object_set_new(o, "x-kubernetes-list-type", json_string("set"));
        break;
    case TT_F_STRMAP:
        o = json_pack("{s:s,s:o}", "type", "object", "additionalProperties",
                      string_openapi(f->items));
        set_bounds(o, f, "minProperties", "maxProperties");
        break;
    case TT_F_ANY:
        o = json_pack("{s:b}", "x-kubernetes-preserve-unknown-fields", 1);
        break;
    }
    if (o != NULL && f->doc != NULL)
        json_object_set_new(o, "description", json_string(f->doc));
    return o;
}

json_t *tt_schema_openapi(const tt_schema *s)
{
    json_t *o = json_object(), *props = json_object(), *req = json_array();

    if (o == NULL || props == NULL || req == NULL) {
        json_decref(o);
        json_decref(props);
        json_decref(req);
        return NULL;
    }
    json_object_set_new(o, "type", json_string("object"));
    if (s->doc != NULL)
        json_object_set_new(o, "description", json_string(s->doc));
    for (size_t i = 0; i < s->nfields; i++) {
        json_object_set_new(props, s->fields[i].name, field_openapi(&s->fields[i]));
        if (s->fields[i].flags & TT_REQUIRED)
            json_array_append_new(req, json_string(s->fields[i].name));
    }
    json_object_set_new(o, "properties", props);
    if (json_array_size(req) > 0)
        json_object_set_new(o, "required", req);
    else
        json_decref(req);
    if (s->exactly_one) {
        json_object_set_new(o, "minProperties", json_integer(1));
        json_object_set_new(o, "maxProperties", json_integer(1));
    }
    if (s->rules != NULL && s->rules[0].rule != NULL) {
        json_t *rules = json_array();
        for (const tt_cel_rule *r = s->rules; r->rule != NULL; r++)
            json_array_append_new(rules,
                                  json_pack("{s:s,s:s}", "rule", r->rule, "message", r->message));
        json_object_set_new(o, "x-kubernetes-validations", rules);
    }
    return o;
}
