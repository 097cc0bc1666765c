/*
 * tt_buf — a growable byte buffer, always NUL-terminated so it can be used as a C string.
 *
 * Embedded by value: tt_buf_init() / tt_buf_cleanup(). Appends return TT_ENOMEM on failure
 * and leave the buffer as it was, so a caller can bail out with its content intact.
 */
#ifndef TT_BUF_H
#define TT_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "tt_error.h"

typedef struct tt_buf {
    char *data; /* owned; NULL until the first append */
    size_t len;
    size_t cap;
} tt_buf;

void tt_buf_init(tt_buf *b);
void tt_buf_cleanup(tt_buf *b);
/* Empties the buffer but keeps its memory for reuse. */
void tt_buf_reset(tt_buf *b);
tt_code tt_buf_reserve(tt_buf *b, size_t extra);
tt_code tt_buf_append(tt_buf *b, const void *data, size_t len);
tt_code tt_buf_puts(tt_buf *b, const char *s);
tt_code tt_buf_putc(tt_buf *b, char c);
tt_code tt_buf_printf(tt_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
tt_code tt_buf_vprintf(tt_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Returns the content ("" when empty); the buffer keeps ownership. */
const char *tt_buf_str(const tt_buf *b);
/* Hands the content to the caller (free() it) and leaves the buffer empty. Never NULL unless
 * the allocation of an empty string fails. */
char *tt_buf_steal(tt_buf *b);

/* Appends the decoded bytes of standard base64 `in` (`len` a multiple of 4; no line breaks).
 * TT_EINVAL when it is not base64, TT_ENOMEM; the buffer is unchanged on failure. */
tt_code tt_buf_base64_decode(tt_buf *b, const char *in, size_t len);

#endif
