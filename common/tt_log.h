/*
 * tt_log — one line per event, text or JSON, with the resource key when there is one.
 *
 * Callers must never pass credentials or secret values; the AWS layer and the model keep them
 * out of every message they build.
 */
#ifndef TT_LOG_H
#define TT_LOG_H

#include <stdio.h>

typedef enum tt_log_level { TT_LOG_DEBUG, TT_LOG_INFO, TT_LOG_WARN, TT_LOG_ERROR } tt_log_level;
typedef enum tt_log_format { TT_LOG_TEXT, TT_LOG_JSON } tt_log_format;

/* Sets the threshold, the format and the stream (NULL: stderr). Not thread-safe; call at start. */
void tt_log_configure(tt_log_level min, tt_log_format format, FILE *out);
/* Parses "debug|info|warn|error" and "text|json"; 0 on success, -1 on an unknown word. */
int tt_log_parse_level(const char *s, tt_log_level *out);
int tt_log_parse_format(const char *s, tt_log_format *out);
int tt_log_enabled(tt_log_level level);
/* Writes one line. `key` is "namespace/name" or NULL. */
void tt_log(tt_log_level level, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
