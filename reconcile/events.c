#include "events.h"

#include <errno.h>
#include <ev.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "tt_str.h"

/* The last event of one resource, kept until a different one replaces it. */
struct last {
    char *type;
    char *reason;
    char *message;
    unsigned count;   /* occurrences so far */
    unsigned written; /* the count the log already shows */
    double seen;      /* ev_time() of the last occurrence */
    char first[32];
    char last[32];
};

struct tt_events {
    FILE *out;     /* NULL: no file */
    json_t *lasts; /* key → pointer to struct last, stored as an integer */
    struct ev_loop *loop;
    ev_timer flush_timer;
    tt_events_sink sink;
    void *sink_ud;
    unsigned long lines;
};

static void now_iso(char *buf, size_t len)
{
    struct timeval tv;
    struct tm tm;

    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static struct last *last_of(const tt_events *ev, const char *key)
{
    json_t *p = json_object_get(ev->lasts, key);

    return p ? (struct last *)(uintptr_t)json_integer_value(p) : NULL;
}

static void last_free(struct last *l)
{
    if (l == NULL)
        return;
    free(l->type);
    free(l->reason);
    free(l->message);
    free(l);
}

/* Splits "Kind/namespace/name" into the object reference of an event line. */
static json_t *object_ref(const char *key)
{
    const char *a = strchr(key, '/'), *b = a ? strchr(a + 1, '/') : NULL;

    if (b == NULL)
        return json_pack("{s:s}", "key", key);
    return json_pack("{s:s%,s:s%,s:s}", "kind", key, (size_t)(a - key), "namespace", a + 1,
                     (size_t)(b - a - 1), "name", b + 1);
}

static void write_line(tt_events *ev, const char *key, const struct last *l, int with_count)
{
    json_t *o;
    char *line;

    if (ev->out == NULL)
        return;
    o = json_pack("{s:s,s:s,s:s,s:o,s:s}", "time", l->last, "type", l->type, "reason", l->reason,
                  "object", object_ref(key), "message", l->message);
    if (o == NULL)
        return;
    if (with_count) {
        json_object_set_new(o, "count", json_integer(l->count));
        json_object_set_new(o, "firstTime", json_string(l->first));
        json_object_set_new(o, "lastTime", json_string(l->last));
    }
    line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (line != NULL) {
        fprintf(ev->out, "%s\n", line);
        fflush(ev->out);
        ev->lines++;
        free(line);
    }
    json_decref(o);
}

/* Writes the count of a repeated event if the log does not show it yet. */
static void flush_one(tt_events *ev, const char *key, struct last *l)
{
    if (l->count > l->written) {
        write_line(ev, key, l, 1);
        l->written = l->count;
    }
}

void tt_events_flush(tt_events *ev)
{
    const char *key;
    json_t *v;
    void *tmp;
    double now = ev->loop ? ev_now(ev->loop) : ev_time();

    json_object_foreach_safe(ev->lasts, tmp, key, v)
    {
        struct last *l = (struct last *)(uintptr_t)json_integer_value(v);
        flush_one(ev, key, l);
        /* An event not seen again for an hour starts a new count next time, as Kubernetes
         * events expire; dropping it keeps memory flat over long runs. */
        if (now - l->seen > 3600) {
            last_free(l);
            json_object_del(ev->lasts, key);
        }
    }
}

static void on_flush(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    tt_events_flush(w->data);
}

tt_events *tt_events_open(struct ev_loop *loop, const char *path, double flush_seconds,
                          tt_events_sink sink, void *sink_ud, tt_error *err)
{
    tt_events *ev = calloc(1, sizeof(*ev));

    if (ev == NULL || (ev->lasts = json_object()) == NULL) {
        free(ev);
        tt_error_set(err, TT_ENOMEM, "out of memory");
        return NULL;
    }
    if (path != NULL && (ev->out = fopen(path, "a")) == NULL) {
        tt_error_set(err, TT_EIO, "cannot open the events log %s: %s", path, strerror(errno));
        json_decref(ev->lasts);
        free(ev);
        return NULL;
    }
    ev->sink = sink;
    ev->sink_ud = sink_ud;
    ev->loop = loop;
    if (loop != NULL) {
        double every = flush_seconds > 0 ? flush_seconds : 30;
        ev_timer_init(&ev->flush_timer, on_flush, every, every);
        ev->flush_timer.data = ev;
        ev_timer_start(loop, &ev->flush_timer);
        /* The flush timer alone must not keep the loop running. */
        ev_unref(loop);
    }
    return ev;
}

void tt_events_close(tt_events *ev)
{
    const char *key;
    json_t *v;

    if (ev == NULL)
        return;
    if (ev->loop != NULL) {
        ev_ref(ev->loop);
        ev_timer_stop(ev->loop, &ev->flush_timer);
    }
    json_object_foreach(ev->lasts, key, v)
    {
        struct last *l = (struct last *)(uintptr_t)json_integer_value(v);
        flush_one(ev, key, l);
        last_free(l);
    }
    json_decref(ev->lasts);
    if (ev->out != NULL)
        fclose(ev->out);
    free(ev);
}

void tt_events_record(tt_events *ev, const char *key, const char *type, const char *reason,
                      const char *fmt, ...)
{
    struct last *l = last_of(ev, key);
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (l != NULL && strcmp(l->type, type) == 0 && strcmp(l->reason, reason) == 0 &&
        strcmp(l->message, msg) == 0) {
        l->count++;
        l->seen = ev->loop ? ev_now(ev->loop) : ev_time();
        now_iso(l->last, sizeof(l->last));
        if (ev->sink != NULL)
            ev->sink(ev->sink_ud, key, type, reason, msg, l->count);
        return;
    }
    if (l != NULL) {
        flush_one(ev, key, l);
        last_free(l);
        json_object_del(ev->lasts, key);
    }
    l = calloc(1, sizeof(*l));
    if (l == NULL)
        return;
    l->type = strdup(type);
    l->reason = strdup(reason);
    l->message = strdup(msg);
    if (l->type == NULL || l->reason == NULL || l->message == NULL) {
        last_free(l);
        return;
    }
    l->count = 1;
    l->written = 1;
    l->seen = ev->loop ? ev_now(ev->loop) : ev_time();
    now_iso(l->first, sizeof(l->first));
    memcpy(l->last, l->first, sizeof(l->last));
    write_line(ev, key, l, 0);
    if (ev->sink != NULL)
        ev->sink(ev->sink_ud, key, type, reason, msg, 1);
    if (json_object_set_new(ev->lasts, key, json_integer((json_int_t)(uintptr_t)l)) != 0)
        last_free(l);
}

unsigned long tt_events_written(const tt_events *ev)
{
    return ev->lines;
}
