#include "tt_buf.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tt_buf_init(tt_buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void tt_buf_cleanup(tt_buf *b)
{
    if (b == NULL)
        return;
    free(b->data);
    tt_buf_init(b);
}

void tt_buf_reset(tt_buf *b)
{
    b->len = 0;
    if (b->data != NULL)
        b->data[0] = '\0';
}

tt_code tt_buf_reserve(tt_buf *b, size_t extra)
{
    size_t need, cap;
    char *p;

    if (extra > ((size_t)-1) / 2 - b->len)
        return TT_ENOMEM;
    need = b->len + extra + 1;
    if (need <= b->cap)
        return TT_OK;
    cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    p = realloc(b->data, cap);
    if (p == NULL)
        return TT_ENOMEM;
    b->data = p;
    b->cap = cap;
    return TT_OK;
}

tt_code tt_buf_append(tt_buf *b, const void *data, size_t len)
{
    if (tt_buf_reserve(b, len) != TT_OK)
        return TT_ENOMEM;
    if (len > 0)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return TT_OK;
}

tt_code tt_buf_puts(tt_buf *b, const char *s)
{
    return tt_buf_append(b, s, strlen(s));
}

tt_code tt_buf_putc(tt_buf *b, char c)
{
    return tt_buf_append(b, &c, 1);
}

tt_code tt_buf_vprintf(tt_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    int n;

    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return TT_EINVAL;
    if (tt_buf_reserve(b, (size_t)n) != TT_OK)
        return TT_ENOMEM;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return TT_OK;
}

tt_code tt_buf_printf(tt_buf *b, const char *fmt, ...)
{
    va_list ap;
    tt_code rc;

    va_start(ap, fmt);
    rc = tt_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

const char *tt_buf_str(const tt_buf *b)
{
    return b->data ? b->data : "";
}

char *tt_buf_steal(tt_buf *b)
{
    char *p = b->data;

    if (p == NULL)
        p = calloc(1, 1);
    tt_buf_init(b);
    return p;
}

tt_code tt_buf_base64_decode(tt_buf *out, const char *in, size_t len)
{
    if (tt_buf_reserve(out, len) != TT_OK)
        return TT_ENOMEM;
    int n =
        EVP_DecodeBlock((unsigned char *)out->data + out->len, (const unsigned char *)in, (int)len);
    if (n < 0)
        return TT_EINVAL;
    /* EVP_DecodeBlock counts padding as zero bytes: drop them. */
    if (len >= 1 && in[len - 1] == '=')
        n--;
    if (len >= 2 && in[len - 2] == '=')
        n--;
    out->len += (size_t)n;
    out->data[out->len] = '\0';
    return TT_OK;
}
