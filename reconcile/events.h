/*
 * tt_events — the events of directory mode: an append-only log of JSON lines, one per event,
 * for every change trimtab made in AWS and every failure.
 *
 * Repeats are counted, not repeated: an event equal to the previous one of the same resource
 * (same type, reason and message) only bumps a counter; the count is written as one line with
 * `count`, `firstTime` and `lastTime` when the resource's next different event arrives, on the
 * periodic flush, and on close — as Kubernetes aggregates events.
 */
#ifndef TT_EVENTS_H
#define TT_EVENTS_H

#include "tt_error.h"

struct ev_loop;
typedef struct tt_events tt_events;

/* A sink that may also mirror each event to the log. */
typedef void (*tt_events_sink)(void *ud, const char *key, const char *type, const char *reason,
                               const char *message, unsigned count);

/*
 * Opens (appending to) `path`; NULL path: events are only passed to `sink`. With a loop, repeats
 * are flushed every `flush_seconds` (0: 30). NULL with `err` set.
 */
tt_events *tt_events_open(struct ev_loop *loop, const char *path, double flush_seconds,
                          tt_events_sink sink, void *sink_ud, tt_error *err);
/* Flushes pending repeat counts and closes. Accepts NULL. */
void tt_events_close(tt_events *ev);
/* Records one event. `type` is "Normal" or "Warning"; `reason` CamelCase. */
void tt_events_record(tt_events *ev, const char *key, const char *type, const char *reason,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Writes the pending repeat counts now. */
void tt_events_flush(tt_events *ev);
/* Lines written since open (for tests). */
unsigned long tt_events_written(const tt_events *ev);

#endif
