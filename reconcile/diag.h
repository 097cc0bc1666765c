/*
 * tt_diags — the list of problems found in manifests, each as `file:line: field.path: message`.
 *
 * Validation never stops at the first problem: every parser and checker appends here, and
 * cmd/ prints the list sorted by file and line. The list owns copies of every string.
 */
#ifndef TT_DIAG_H
#define TT_DIAG_H

#include <stdarg.h>
#include <stddef.h>

#include "tt_buf.h"
#include "tt_error.h"

typedef enum tt_severity { TT_DIAG_ERROR = 0, TT_DIAG_WARNING } tt_severity;

typedef struct tt_diag {
    tt_severity severity;
    char *file;    /* "" when the input had no file (Kubernetes objects) */
    int line;      /* 1-based; 0 when unknown */
    char *path;    /* "spec.targetTracking[0].targetValue", or "" for the whole document */
    char *message; /* a full sentence fragment, lower case, no trailing period */
    size_t seq;    /* insertion order, to keep the sort stable */
} tt_diag;

typedef struct tt_diags tt_diags;

/* NULL on ENOMEM. */
tt_diags *tt_diags_create(void);
/* Accepts NULL. */
void tt_diags_destroy(tt_diags *d);
/* Appends a problem; copies every string. Returns TT_ENOMEM when the copy fails. */
tt_code tt_diags_add(tt_diags *d, const char *file, int line, const char *path, const char *fmt,
                     ...) __attribute__((format(printf, 5, 6)));
/* The same with a severity and a va_list. */
tt_code tt_diags_addv(tt_diags *d, tt_severity severity, const char *file, int line,
                      const char *path, const char *fmt, va_list ap)
    __attribute__((format(printf, 6, 0)));
/* Every problem, warnings included. */
size_t tt_diags_count(const tt_diags *d);
/* Errors only: what decides validity and the exit code. */
size_t tt_diags_errors(const tt_diags *d);
/* Borrowed; valid until the list changes. */
const tt_diag *tt_diags_get(const tt_diags *d, size_t i);
/* Sorts by file, then line, then the order the problems were found. */
void tt_diags_sort(tt_diags *d);
/* Appends one "file:line: path: message" line per problem to `out` (warnings say so). */
tt_code tt_diags_format(const tt_diags *d, tt_buf *out);
/* Formats a single problem the same way (no newline). */
tt_code tt_diag_format(const tt_diag *g, tt_buf *out);

#endif
