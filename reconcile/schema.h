/*
 * tt_schema — object schemas as data, in the way nginx describes its directives.
 *
 * Each object of a manifest (a spec, a target, a step) is one table of fields: name, type,
 * where its value goes in the typed struct (offsetof), bounds, enum values, default and a
 * description. One generic walker turns a jansson object into the typed struct, applying
 * defaults and reporting every problem at `file:line: field.path`; the same tables generate
 * the OpenAPI v3 schemas of crds/, so the validator and the CRDs share one definition.
 * Rules that span fields live in a per-object check function (C) and, for the CRDs, in CEL
 * rules (`x-kubernetes-validations`) written next to it.
 */
#ifndef TT_SCHEMA_H
#define TT_SCHEMA_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "doc.h"
#include "tt_arena.h"
#include "tt_buf.h"

/* Optional scalars: `set` is true when the manifest gave a value or a default applied. */
typedef struct tt_opt_int {
    int64_t v;
    bool set;
} tt_opt_int;

typedef struct tt_opt_num {
    double v;
    bool set;
} tt_opt_num;

typedef struct tt_opt_bool {
    bool v;
    bool set;
} tt_opt_bool;

typedef struct tt_kv {
    const char *key;
    const char *value;
} tt_kv;

typedef enum tt_ftype {
    TT_F_STRING,   /* const char * */
    TT_F_ENUM,     /* const char *, pointing at the static enum word */
    TT_F_INT,      /* tt_opt_int */
    TT_F_NUMBER,   /* tt_opt_num */
    TT_F_BOOL,     /* tt_opt_bool */
    TT_F_DURATION, /* tt_opt_int, seconds; an integer or "5m" */
    TT_F_OBJECT,   /* pointer to a struct of sub->size bytes, NULL when absent */
    TT_F_LIST,     /* pointer to sub->size-byte structs + size_t count at count_off */
    TT_F_STRLIST,  /* const char ** + size_t count at count_off */
    TT_F_STRMAP,   /* tt_kv * + size_t count at count_off; keys sorted */
    TT_F_ANY,      /* accepted as is and not stored (managedFields, ownerReferences) */
} tt_ftype;

/* tt_field.flags */
enum {
    TT_REQUIRED = 1 << 0, /* must be present */
    TT_KEYED = 1 << 1,    /* a list of objects keyed by their unique `name` */
    TT_UNIQUE = 1 << 2,   /* a list of strings without repeats */
};

/* tt_field.bounds */
enum {
    TT_HAS_MIN = 1 << 0, /* `min` bounds the value, the length or the item count */
    TT_HAS_MAX = 1 << 1, /* `max` likewise */
    TT_EXCL_MIN = 1 << 2 /* the value must be strictly above `min` */
};

struct tt_vctx;
struct tt_schema;

/* Checks a string's form; returns NULL when fine, else what is wrong ("must start with…"). */
typedef const char *(*tt_str_check)(const char *s);

typedef struct tt_field {
    const char *name; /* camelCase, as written in the manifest */
    tt_ftype type;
    unsigned flags;
    size_t off;       /* where the value goes */
    size_t count_off; /* lists, string lists and maps: where the count goes */
    unsigned bounds;  /* TT_HAS_MIN, TT_HAS_MAX, TT_EXCL_MIN */
    double min, max;
    const char *const *enums;     /* TT_F_ENUM: NULL-terminated words */
    const struct tt_schema *sub;  /* TT_F_OBJECT, TT_F_LIST */
    const char *pattern;          /* the CRD's pattern for strings (same rule as `check`) */
    tt_str_check check;           /* the C form of `pattern`, or another string rule */
    const struct tt_field *items; /* TT_F_STRLIST / TT_F_STRMAP: the rule for each value */
    bool has_default;             /* def_num / def_str applies when the field is absent */
    double def_num;               /* default for INT, NUMBER, BOOL, DURATION */
    const char *def_str;          /* default for STRING, ENUM */
    const char *doc;              /* the description in the CRD */
} tt_field;

/* A rule spanning fields, as the CRD states it in CEL. */
typedef struct tt_cel_rule {
    const char *rule;
    const char *message;
} tt_cel_rule;

typedef struct tt_schema {
    const char *name; /* for messages and generated docs */
    size_t size;      /* the typed struct's size */
    const tt_field *fields;
    size_t nfields;
    int exactly_one; /* exactly one of the fields must be present */
    /* Cross-field rules in C; each rule checks tt_vctx_ok() for the fields it reads. */
    void (*check)(struct tt_vctx *v, const json_t *obj, void *out);
    const tt_cel_rule *rules; /* terminated by {NULL, NULL}; may be NULL */
    const char *doc;
} tt_schema;

/* Validation context: where problems go and where we are in the document. */
typedef struct tt_vctx {
    tt_diags *diags;
    const char *file;
    const tt_linemap *lines;
    tt_arena *arena; /* owns every string and array of the typed result */
    tt_buf path;     /* the current field path */
    int nerrors;
    int oom;
    /* While an object's check function runs: the object's schema and which of its fields
     * failed, so the check only judges fields that parsed (tt_vctx_ok). */
    const struct tt_schema *cur;
    uint64_t bad;
} tt_vctx;

/* Reports at `list[index].field` below the current path (`field` may be NULL). */
void tt_vctx_error_item(tt_vctx *v, const char *list, size_t index, const char *field,
                        const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/*
 * In a check function: true when `field` of the object being checked parsed without a problem
 * (or was absent and not required). Rules that read a failed field must be skipped, so that
 * one mistake is reported once and not again as a confusing consequence.
 */
int tt_vctx_ok(const tt_vctx *v, const char *field);

/*
 * Reports a problem at the current path extended by `field` (NULL: the path itself).
 * The line comes from the document's line map.
 */
void tt_vctx_error(tt_vctx *v, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void tt_vctx_warn(tt_vctx *v, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Parses `obj` with schema `s` into the struct at `out` (s->size bytes, zeroed by the caller).
 * Every problem is reported; returns the number of errors found in this object.
 */
int tt_schema_parse(tt_vctx *v, const tt_schema *s, const json_t *obj, void *out);

/* Reports unknown keys of `obj` with a "did you mean" hint, given the known names. */
int tt_schema_unknown_fields(tt_vctx *v, const json_t *obj, const char *const *known, size_t n);

/*
 * The typed struct `obj` back as JSON, defaults included (durations as seconds): the
 * effective spec, which tt_schema_parse accepts again. New reference, NULL on ENOMEM.
 */
json_t *tt_schema_to_json(const tt_schema *s, const void *obj);

/* The OpenAPI v3 schema (structural, as CRDs need) of `s`. New reference, NULL on ENOMEM. */
json_t *tt_schema_openapi(const tt_schema *s);

/* Counts present (non-null) members of `obj` among `names`. */
int tt_json_count_present(const json_t *obj, const char *const *names);

#endif
