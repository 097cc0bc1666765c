#include "tt_log.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "tt_json.h"

static struct {
    tt_log_level min;
    tt_log_format format;
    FILE *out;
} log_cfg = {TT_LOG_INFO, TT_LOG_TEXT, NULL};

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void tt_log_configure(tt_log_level min, tt_log_format format, FILE *out)
{
    log_cfg.min = min;
    log_cfg.format = format;
    log_cfg.out = out;
}

int tt_log_parse_level(const char *s, tt_log_level *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (tt_log_level)i;
            return 0;
        }
    }
    return -1;
}

int tt_log_parse_format(const char *s, tt_log_format *out)
{
    if (strcmp(s, "text") == 0)
        *out = TT_LOG_TEXT;
    else if (strcmp(s, "json") == 0)
        *out = TT_LOG_JSON;
    else
        return -1;
    return 0;
}

int tt_log_enabled(tt_log_level level)
{
    return level >= log_cfg.min;
}

void tt_log(tt_log_level level, const char *key, const char *fmt, ...)
{
    FILE *out = log_cfg.out ? log_cfg.out : stderr;
    char msg[2048], ts[40];
    struct timeval tv;
    struct tm tm;
    va_list ap;

    if (!tt_log_enabled(level))
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(tv.tv_usec / 1000));

    if (log_cfg.format == TT_LOG_JSON) {
        json_t *o = json_object();
        char *line;
        if (o == NULL)
            return;
        json_object_set_new(o, "ts", json_string(ts));
        json_object_set_new(o, "level", json_string(level_names[level]));
        if (key != NULL)
            json_object_set_new(o, "key", json_string(key));
        json_object_set_new(o, "msg", json_string(msg));
        line = tt_json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (line != NULL) {
            fprintf(out, "%s\n", line);
            free(line);
        }
        json_decref(o);
    } else if (key != NULL) {
        fprintf(out, "%s %-5s %s: %s\n", ts, level_names[level], key, msg);
    } else {
        fprintf(out, "%s %-5s %s\n", ts, level_names[level], msg);
    }
    fflush(out);
}
