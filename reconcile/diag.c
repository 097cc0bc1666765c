#include "diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tt_diags {
    tt_diag *items;
    size_t len;
    size_t cap;
};

tt_diags *tt_diags_create(void)
{
    return calloc(1, sizeof(tt_diags));
}

void tt_diags_destroy(tt_diags *d)
{
    if (d == NULL)
        return;
    for (size_t i = 0; i < d->len; i++) {
        free(d->items[i].file);
        free(d->items[i].path);
        free(d->items[i].message);
    }
    free(d->items);
    free(d);
}

tt_code tt_diags_addv(tt_diags *d, tt_severity severity, const char *file, int line,
                      const char *path, const char *fmt, va_list ap)
{
    tt_diag g = {0};
    char msg[1024];

    if (d->len == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 16;
        tt_diag *p = realloc(d->items, cap * sizeof(*p));
        if (p == NULL)
            return TT_ENOMEM;
        d->items = p;
        d->cap = cap;
    }
    vsnprintf(msg, sizeof(msg), fmt, ap);
    g.severity = severity;
    g.file = strdup(file ? file : "");
    g.path = strdup(path ? path : "");
    g.message = strdup(msg);
    if (g.file == NULL || g.path == NULL || g.message == NULL) {
        free(g.file);
        free(g.path);
        free(g.message);
        return TT_ENOMEM;
    }
    g.line = line > 0 ? line : 0;
    g.seq = d->len;
    d->items[d->len++] = g;
    return TT_OK;
}

tt_code tt_diags_add(tt_diags *d, const char *file, int line, const char *path, const char *fmt,
                     ...)
{
    va_list ap;
    tt_code rc;

    va_start(ap, fmt);
    rc = tt_diags_addv(d, TT_DIAG_ERROR, file, line, path, fmt, ap);
    va_end(ap);
    return rc;
}

size_t tt_diags_errors(const tt_diags *d)
{
    size_t n = 0;

    for (size_t i = 0; d != NULL && i < d->len; i++)
        n += d->items[i].severity == TT_DIAG_ERROR;
    return n;
}

size_t tt_diags_count(const tt_diags *d)
{
    return d ? d->len : 0;
}

const tt_diag *tt_diags_get(const tt_diags *d, size_t i)
{
    return i < d->len ? &d->items[i] : NULL;
}

static int diag_cmp(const void *a, const void *b)
{
    const tt_diag *x = a, *y = b;
    int c = strcmp(x->file, y->file);

    if (c != 0)
        return c;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    return x->seq < y->seq ? -1 : (x->seq > y->seq);
}

void tt_diags_sort(tt_diags *d)
{
    if (d->len > 1)
        qsort(d->items, d->len, sizeof(d->items[0]), diag_cmp);
}

tt_code tt_diag_format(const tt_diag *g, tt_buf *out)
{
    tt_code rc = TT_OK;

    if (g->file[0] != '\0')
        rc = g->line > 0 ? tt_buf_printf(out, "%s:%d: ", g->file, g->line)
                         : tt_buf_printf(out, "%s: ", g->file);
    if (rc == TT_OK && g->path[0] != '\0')
        rc = tt_buf_printf(out, "%s: ", g->path);
    if (rc == TT_OK && g->severity == TT_DIAG_WARNING)
        rc = tt_buf_puts(out, "warning: ");
    if (rc == TT_OK)
        rc = tt_buf_puts(out, g->message);
    return rc;
}

tt_code tt_diags_format(const tt_diags *d, tt_buf *out)
{
    for (size_t i = 0; i < d->len; i++) {
        if (tt_diag_format(&d->items[i], out) != TT_OK || tt_buf_putc(out, '\n') != TT_OK)
            return TT_ENOMEM;
    }
    return TT_OK;
}
