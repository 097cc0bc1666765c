#include "tt_kube_lines.h"

#include <string.h>

#define DEFAULT_MAX (8u * 1024 * 1024)

void tt_kube_lines_init(tt_kube_lines *l, size_t max)
{
    tt_buf_init(&l->partial);
    l->max = max > 0 ? max : DEFAULT_MAX;
}

void tt_kube_lines_cleanup(tt_kube_lines *l)
{
    tt_buf_cleanup(&l->partial);
}

void tt_kube_lines_reset(tt_kube_lines *l)
{
    tt_buf_reset(&l->partial);
}

/* Hands one line (without '\n', and without a trailing '\r') to `fn`. */
static int emit(char *line, size_t len, tt_kube_line_fn fn, void *ud)
{
    if (len > 0 && line[len - 1] == '\r')
        len--;
    if (len == 0)
        return 0;
    line[len] = '\0';
    return fn(ud, line, len);
}

int tt_kube_lines_feed(tt_kube_lines *l, const char *data, size_t len, tt_kube_line_fn fn, void *ud,
                       tt_code *code)
{
    *code = TT_OK;
    while (len > 0) {
        const char *nl = memchr(data, '\n', len);
        size_t take = nl != NULL ? (size_t)(nl - data) : len;
        int rc;

        if (l->partial.len + take > l->max) {
            *code = TT_ELIMIT;
            tt_buf_reset(&l->partial);
            return -1;
        }
        if (tt_buf_append(&l->partial, data, take) != TT_OK) {
            *code = TT_ENOMEM;
            return -1;
        }
        if (nl == NULL)
            return 0;
        data += take + 1;
        len -= take + 1;
        /* The callback gets the buffer's bytes; the buffer is emptied before it can return. */
        rc = emit(l->partial.data, l->partial.len, fn, ud);
        tt_buf_reset(&l->partial);
        if (rc != 0)
            return rc;
    }
    return 0;
}
