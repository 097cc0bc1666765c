/*
 * Unit tests for reconcile/events: the JSON-lines log in a real temporary file — one line per
 * new event, repeats counted and written once as a count line, as Kubernetes aggregates events.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "events.h"

struct sunk {
    int calls;
    unsigned last_count;
    char last_message[256];
};

static void sink(void *ud, const char *key, const char *type, const char *reason,
                 const char *message, unsigned count)
{
    struct sunk *s = ud;
    (void)key;
    (void)type;
    (void)reason;
    s->calls++;
    s->last_count = count;
    snprintf(s->last_message, sizeof(s->last_message), "%s", message);
}

/* The log's lines as JSON objects (at most 16). */
static size_t read_lines(const char *path, json_t **out)
{
    FILE *f = fopen(path, "r");
    char line[4096];
    size_t n = 0;

    assert_non_null(f);
    while (n < 16 && fgets(line, sizeof(line), f) != NULL) {
        out[n] = json_loads(line, 0, NULL);
        assert_non_null(out[n]);
        n++;
    }
    fclose(f);
    return n;
}

static void free_lines(json_t **lines, size_t n)
{
    for (size_t i = 0; i < n; i++)
        json_decref(lines[i]);
}

/* A fresh empty file for the log; `path` is a mkstemp template. */
static void temp_log(char *path)
{
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
}

static const char *str(const json_t *o, const char *field)
{
    return json_string_value(json_object_get(o, field));
}

static void repeats_are_counted_once(void **state)
{
    char path[] = "/tmp/tt-events-XXXXXX";
    tt_error err = {0};
    struct sunk s = {0};
    tt_events *ev;
    json_t *lines[16];
    size_t n;
    (void)state;

    temp_log(path);
    ev = tt_events_open(NULL, path, 0, sink, &s, &err);
    assert_non_null(ev);
    for (int i = 0; i < 3; i++)
        tt_events_record(ev, "ScalingPolicy/shop/web", "Warning", "ApplyFailed",
                         "PutScalingPolicy: %s", "Throttling");
    assert_int_equal(s.calls, 3);
    assert_int_equal(s.last_count, 3);
    tt_events_record(ev, "Alarm/ops/cpu", "Normal", "Created", "created alarm %s", "cpu");
    tt_events_record(ev, "ScalingPolicy/shop/web", "Normal", "Updated", "set maxCapacity 4 → 6");
    tt_events_record(ev, "Alarm/ops/cpu", "Normal", "Created", "created alarm %s", "cpu");
    tt_events_close(ev);

    n = read_lines(path, lines);
    /* web's first, web's count (3) when a different event replaces it, the alarm's first,
     * web's update, the alarm's count (2) at close. */
    assert_int_equal(n, 5);
    assert_string_equal(str(lines[0], "reason"), "ApplyFailed");
    assert_string_equal(str(lines[0], "message"), "PutScalingPolicy: Throttling");
    assert_null(json_object_get(lines[0], "count"));
    assert_string_equal(str(json_object_get(lines[0], "object"), "kind"), "ScalingPolicy");
    assert_string_equal(str(json_object_get(lines[0], "object"), "namespace"), "shop");
    assert_string_equal(str(json_object_get(lines[0], "object"), "name"), "web");
    assert_string_equal(str(lines[1], "reason"), "Created");
    assert_string_equal(str(lines[2], "reason"), "ApplyFailed");
    assert_int_equal(json_integer_value(json_object_get(lines[2], "count")), 3);
    assert_string_equal(str(lines[2], "type"), "Warning");
    assert_non_null(str(lines[2], "firstTime"));
    assert_string_equal(str(lines[3], "message"), "set maxCapacity 4 → 6");
    assert_string_equal(str(lines[4], "message"), "created alarm cpu");
    assert_int_equal(json_integer_value(json_object_get(lines[4], "count")), 2);
    free_lines(lines, n);
    unlink(path);
}

/* The periodic flush writes a pending count once; a later flush or close adds nothing. */
static void flush_writes_pending_counts_once(void **state)
{
    char path[] = "/tmp/tt-events-XXXXXX";
    tt_error err = {0};
    tt_events *ev;
    json_t *lines[16];
    size_t n;
    (void)state;

    temp_log(path);
    ev = tt_events_open(NULL, path, 0, NULL, NULL, &err);
    assert_non_null(ev);
    tt_events_record(ev, "Budget/fin/team", "Warning", "OverBudget", "92%% of 1000 USD");
    tt_events_record(ev, "Budget/fin/team", "Warning", "OverBudget", "92%% of 1000 USD");
    assert_int_equal(tt_events_written(ev), 1);
    tt_events_flush(ev);
    assert_int_equal(tt_events_written(ev), 2);
    tt_events_flush(ev);
    tt_events_close(ev);
    n = read_lines(path, lines);
    assert_int_equal(n, 2);
    assert_string_equal(str(lines[1], "message"), "92% of 1000 USD");
    assert_int_equal(json_integer_value(json_object_get(lines[1], "count")), 2);
    free_lines(lines, n);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(repeats_are_counted_once),
        cmocka_unit_test(flush_writes_pending_counts_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
