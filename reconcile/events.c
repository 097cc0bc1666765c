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

#include "tt_json.h"
#include "tt_map.h"
#include "tt_str.h"

/*
 * The last event of one resource, kept until a different one replaces it or it expires. One
 * allocation holds it and its strings: every resource has one after its first reconcile, and
 * they are made while a converge churns the heap, so fewer, denser blocks pin fewer pages.
 */
struct last {
    const char *type; /* these three point into text */
    const char *reason;
    const char *message;
    unsigned count;   /* occurrences so far */
    unsigned written; /* the count the log already shows */
    double seen;      /* ev_time() of the last occurrence */
    char first[24];   /* "2026-11-24T05:32:37Z" */
    char last[24];
    char text[]; /* type, reason and message, each NUL-terminated */
};

struct tt_events {
    FILE *out;     /* NULL: no file */
    tt_map *lasts; /* key → struct last (owned) */
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

static struct last *last_new(const char *type, const char *reason, const char *msg)
{
    size_t nt = strlen(type) + 1, nr = strlen(reason) + 1, nm = strlen(msg) + 1;
    struct last *l = malloc(sizeof(*l) + nt + nr + nm);

    if (l == NULL)
        return NULL;
    memset(l, 0, sizeof(*l));
    memcpy(l->text, type, nt);
    memcpy(l->text + nt, reason, nr);
    memcpy(l->text + nt + nr, msg, nm);
    l->type = l->text;
    l->reason = l->text + nt;
    l->message = l->text + nt + nr;
    return l;
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
    line = tt_json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
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

struct flush_ctx {
    tt_events *ev;
    double now;
    const char **expired; /* keys to drop once the walk is over (tt_map forbids it during) */
    size_t nexpired;
};

static void flush_entry(void *ud, const char *key, void *value)
{
    struct flush_ctx *c = ud;
    struct last *l = value;

    flush_one(c->ev, key, l);
    /* An event not seen again for an hour starts a new count next time, as Kubernetes events
     * expire; dropping it keeps memory flat over long runs. */
    if (c->now - l->seen > 3600 && c->expired != NULL)
        c->expired[c->nexpired++] = key;
}

void tt_events_flush(tt_events *ev)
{
    struct flush_ctx c = {ev, ev->loop ? ev_now(ev->loop) : ev_time(), NULL, 0};

    c.expired = malloc((tt_map_len(ev->lasts) + 1) * sizeof(*c.expired));
    tt_map_foreach(ev->lasts, flush_entry, &c);
    for (size_t i = 0; i < c.nexpired; i++) {
        /* The key is the map's copy, freed by the delete: copy it first. */
        char key[512];
        snprintf(key, sizeof(key), "%s", c.expired[i]);
        free(tt_map_del(ev->lasts, key));
    }
    free(c.expired);
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

    if (ev == NULL || (ev->lasts = tt_map_create()) == NULL) {
        free(ev);
        tt_error_set(err, TT_ENOMEM, "out of memory");
        return NULL;
    }
    if (path != NULL && (ev->out = fopen(path, "a")) == NULL) {
        tt_error_set(err, TT_EIO, "cannot open the events log %s: %s", path, strerror(errno));
        tt_map_destroy(ev->lasts);
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

static void close_entry(void *ud, const char *key, void *value)
{
    flush_one(ud, key, value);
    free(value);
}

void tt_events_close(tt_events *ev)
{
    if (ev == NULL)
        return;
    if (ev->loop != NULL) {
        ev_ref(ev->loop);
        ev_timer_stop(ev->loop, &ev->flush_timer);
    }
    tt_map_foreach(ev->lasts, close_entry, ev);
    tt_map_destroy(ev->lasts);
    if (ev->out != NULL)
        fclose(ev->out);
    free(ev);
}

void tt_events_record(tt_events *ev, const char *key, const char *type, const char *reason,
                      const char *fmt, ...)
{
    struct last *l = tt_map_get(ev->lasts, key);
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
        free(tt_map_del(ev->lasts, key));
    }
    l = last_new(type, reason, msg);
    if (l == NULL)
        return;
    l->count = 1;
    l->written = 1;
    l->seen = ev->loop ? ev_now(ev->loop) : ev_time();
    now_iso(l->first, sizeof(l->first));
    memcpy(l->last, l->first, sizeof(l->last));
    write_line(ev, key, l, 0);
    if (ev->sink != NULL)
        ev->sink(ev->sink_ud, key, type, reason, msg, 1);
    if (tt_map_put(ev->lasts, key, l) == NULL)
        free(l);
}

unsigned long tt_events_written(const tt_events *ev)
{
    return ev->lines;
}
