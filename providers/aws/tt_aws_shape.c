/*
 * Helpers shared by the protocol files: the wire request, input validation against a shape,
 * timestamps, scalar formatting, idempotency tokens.
 */
#include <math.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "tt_aws_protocol.h"
#include "tt_num.h"
#include "tt_str.h"

void tt_aws_wire_init(tt_aws_wire *w)
{
    memset(w, 0, sizeof(*w));
    tt_buf_init(&w->path);
    tt_buf_init(&w->body);
}

static void free_pairs(tt_aws_pair *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(p[i].name);
        free(p[i].value);
    }
    free(p);
}

void tt_aws_wire_cleanup(tt_aws_wire *w)
{
    if (w == NULL)
        return;
    tt_buf_cleanup(&w->path);
    tt_buf_cleanup(&w->body);
    free_pairs(w->query, w->nquery);
    free_pairs(w->headers, w->nheaders);
    memset(w, 0, sizeof(*w));
}

static tt_code add_pair(tt_aws_pair **arr, size_t *n, const char *name, const char *value)
{
    tt_aws_pair *grown = realloc(*arr, (*n + 1) * sizeof(**arr));
    if (grown == NULL)
        return TT_ENOMEM;
    *arr = grown;
    grown[*n].name = strdup(name);
    grown[*n].value = strdup(value != NULL ? value : "");
    if (grown[*n].name == NULL || grown[*n].value == NULL) {
        free(grown[*n].name);
        free(grown[*n].value);
        return TT_ENOMEM;
    }
    (*n)++;
    return TT_OK;
}

tt_code tt_aws_wire_add_query(tt_aws_wire *w, const char *name, const char *value)
{
    return add_pair(&w->query, &w->nquery, name, value);
}

tt_code tt_aws_wire_add_header(tt_aws_wire *w, const char *name, const char *value)
{
    return add_pair(&w->headers, &w->nheaders, name, value);
}

const char *tt_aws_member_wire_name(json_t *member_ref, const char *name)
{
    return tt_aws_jstr(member_ref, "locationName", name);
}

/* --- timestamps --- */

static int parse_http_date(const char *s, double *out)
{
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    char mon[4] = {0}, zone[8] = {0};
    int d, y, h, mi, sec;
    struct tm tm;
    const char *comma = strchr(s, ',');
    if (comma == NULL)
        return -1;
    if (sscanf(comma + 1, " %2d %3s %4d %2d:%2d:%2d %7s", &d, mon, &y, &h, &mi, &sec, zone) != 7)
        return -1;
    if (strcmp(zone, "GMT") != 0 && strcmp(zone, "UTC") != 0 && strcmp(zone, "+0000") != 0)
        return -1;
    memset(&tm, 0, sizeof(tm));
    tm.tm_mon = -1;
    for (int i = 0; i < 12; i++) {
        if (strcmp(mon, months[i]) == 0)
            tm.tm_mon = i;
    }
    if (tm.tm_mon < 0)
        return -1;
    tm.tm_year = y - 1900;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    *out = (double)timegm(&tm);
    return 0;
}

/* Years 0001 to 9999: anything else is garbage, and would overflow time_t conversions. */
#define TIME_MIN -62135596800.0
#define TIME_MAX 253402300799.0

static int time_ok(double t)
{
    return isfinite(t) && t >= TIME_MIN && t <= TIME_MAX;
}

int tt_aws_parse_time(const char *s, double *out)
{
    if (s == NULL || *s == '\0')
        return -1;
    if (tt_parse_double(s, out) == 0)
        return time_ok(*out) ? 0 : -1;
    if (tt_parse_iso8601(s, out) == 0)
        return 0;
    return parse_http_date(s, out);
}

void tt_aws_format_iso8601(double t, char buf[40])
{
    struct tm tm;
    if (!time_ok(t))
        t = 0;
    time_t whole = (time_t)tt_floor(t);
    long ms = (long)tt_round((t - tt_floor(t)) * 1000.0);
    if (ms >= 1000) {
        whole++;
        ms = 0;
    }
    gmtime_r(&whole, &tm);
    size_t n = strftime(buf, 40, "%Y-%m-%dT%H:%M:%S", &tm);
    if (ms > 0)
        snprintf(buf + n, 40 - n, ".%03ldZ", ms);
    else
        snprintf(buf + n, 40 - n, "Z");
}

void tt_aws_format_http_date(double t, char buf[40])
{
    struct tm tm;
    if (!time_ok(t))
        t = 0;
    time_t whole = (time_t)t;
    gmtime_r(&whole, &tm);
    strftime(buf, 40, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

int tt_aws_input_time(json_t *v, double *out)
{
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return time_ok(*out) ? 0 : -1;
    }
    if (json_is_string(v))
        return tt_aws_parse_time(json_string_value(v), out);
    return -1;
}

/* Shortest text that reads back as the same double, like Python's repr(). */
static void format_double(double d, char *buf, size_t cap)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            break;
    }
}

tt_code tt_aws_scalar_text(json_t *shape, json_t *v, const char *ts_format, tt_buf *out)
{
    const char *type = tt_aws_jstr(shape, "type", "string");
    char tmp[64];

    if (strcmp(type, "timestamp") == 0) {
        double t;
        if (tt_aws_input_time(v, &t) != 0)
            return TT_EINVAL;
        const char *fmt = tt_aws_jstr(shape, "timestampFormat", ts_format);
        if (strcmp(fmt, "unixTimestamp") == 0) {
            format_double(t, tmp, sizeof(tmp));
        } else if (strcmp(fmt, "rfc822") == 0) {
            tt_aws_format_http_date(t, tmp);
        } else {
            tt_aws_format_iso8601(t, tmp);
        }
        return tt_buf_puts(out, tmp);
    }
    switch (json_typeof(v)) {
    case JSON_STRING:
        return tt_buf_append(out, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        return tt_buf_printf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    case JSON_REAL:
        format_double(json_real_value(v), tmp, sizeof(tmp));
        return tt_buf_puts(out, tmp);
    case JSON_TRUE:
        return tt_buf_puts(out, "true");
    case JSON_FALSE:
        return tt_buf_puts(out, "false");
    default:
        return TT_EINVAL;
    }
}

void tt_aws_uuid4(char buf[37])
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof(b)) != 1) {
        /* RAND_bytes cannot fail once OpenSSL has seeded; fall back to the clock anyway. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t h = tt_hash64(&ts, sizeof(ts));
        memcpy(b, &h, 8);
        h = tt_hash64_more(h, &ts, sizeof(ts));
        memcpy(b + 8, &h, 8);
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(buf, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

/* --- validation --- */

#define MAX_DEPTH 64

static tt_code validate(const tt_aws_service *svc, json_t *shape, json_t *value, tt_buf *path,
                        int depth, tt_error *err);

static tt_code type_error(tt_error *err, tt_buf *path, const char *want, json_t *value)
{
    static const char *const names[] = {"an object", "an array", "a string", "an integer",
                                        "a number",  "true",     "false",    "null"};
    return tt_error_set(err, TT_EINVAL, "invalid type for parameter %s: expected %s, got %s",
                        tt_buf_str(path), want, names[json_typeof(value)]);
}

static tt_code validate_struct(const tt_aws_service *svc, json_t *shape, json_t *value,
                               tt_buf *path, int depth, tt_error *err)
{
    json_t *members = json_object_get(shape, "members");
    json_t *req;
    size_t i, mark = path->len;
    const char *key;
    json_t *v;
    int set = 0;

    if (!json_is_object(value))
        return type_error(err, path, "an object", value);
    json_array_foreach(json_object_get(shape, "required"), i, req)
    {
        json_t *have = json_object_get(value, json_string_value(req));
        if (have == NULL || json_is_null(have))
            return tt_error_set(err, TT_EINVAL, "missing required parameter %s%s%s",
                                tt_buf_str(path), path->len > 0 ? "." : "", json_string_value(req));
    }
    json_object_foreach(value, key, v)
    {
        json_t *ref = json_object_get(members, key);
        if (ref == NULL)
            return tt_error_set(err, TT_EINVAL, "unknown parameter %s%s%s", tt_buf_str(path),
                                path->len > 0 ? "." : "", key);
        if (json_is_null(v))
            continue;
        set++;
        if (tt_buf_printf(path, "%s%s", mark > 0 ? "." : "", key) != TT_OK)
            return tt_error_set(err, TT_ENOMEM, "out of memory");
        tt_code rc = validate(svc, tt_aws_service_ref(svc, ref), v, path, depth + 1, err);
        path->len = mark;
        path->data[mark] = '\0';
        if (rc != TT_OK)
            return rc;
    }
    if (json_is_true(json_object_get(shape, "union")) && set != 1)
        return tt_error_set(err, TT_EINVAL, "parameter %s must set exactly one member",
                            tt_buf_str(path));
    return TT_OK;
}

static tt_code validate(const tt_aws_service *svc, json_t *shape, json_t *value, tt_buf *path,
                        int depth, tt_error *err)
{
    const char *type = tt_aws_jstr(shape, "type", NULL);
    size_t mark = path->len;

    if (shape == NULL || type == NULL)
        return tt_error_set(err, TT_EINVAL, "parameter %s: the model has no shape for it",
                            tt_buf_str(path));
    if (depth > MAX_DEPTH)
        return tt_error_set(err, TT_ELIMIT, "parameter %s is nested too deeply", tt_buf_str(path));
    if (strcmp(type, "structure") == 0)
        return validate_struct(svc, shape, value, path, depth, err);
    if (strcmp(type, "list") == 0) {
        size_t i;
        json_t *item;
        json_t *member = tt_aws_service_ref(svc, json_object_get(shape, "member"));
        if (!json_is_array(value))
            return type_error(err, path, "a list", value);
        json_array_foreach(value, i, item)
        {
            if (tt_buf_printf(path, "[%zu]", i) != TT_OK)
                return tt_error_set(err, TT_ENOMEM, "out of memory");
            tt_code rc = validate(svc, member, item, path, depth + 1, err);
            path->len = mark;
            path->data[mark] = '\0';
            if (rc != TT_OK)
                return rc;
        }
        return TT_OK;
    }
    if (strcmp(type, "map") == 0) {
        const char *key;
        json_t *item;
        json_t *vshape = tt_aws_service_ref(svc, json_object_get(shape, "value"));
        if (!json_is_object(value))
            return type_error(err, path, "a map (object)", value);
        json_object_foreach(value, key, item)
        {
            if (tt_buf_printf(path, "[\"%s\"]", key) != TT_OK)
                return tt_error_set(err, TT_ENOMEM, "out of memory");
            tt_code rc = validate(svc, vshape, item, path, depth + 1, err);
            path->len = mark;
            path->data[mark] = '\0';
            if (rc != TT_OK)
                return rc;
        }
        return TT_OK;
    }
    if (strcmp(type, "string") == 0 || strcmp(type, "blob") == 0)
        return json_is_string(value) ? TT_OK : type_error(err, path, "a string", value);
    if (strcmp(type, "integer") == 0 || strcmp(type, "long") == 0)
        return json_is_integer(value) ? TT_OK : type_error(err, path, "an integer", value);
    if (strcmp(type, "boolean") == 0)
        return json_is_boolean(value) ? TT_OK : type_error(err, path, "a boolean", value);
    if (strcmp(type, "double") == 0 || strcmp(type, "float") == 0)
        return json_is_number(value) ? TT_OK : type_error(err, path, "a number", value);
    if (strcmp(type, "timestamp") == 0) {
        double t;
        if (tt_aws_input_time(value, &t) != 0)
            return tt_error_set(err, TT_EINVAL,
                                "invalid timestamp for parameter %s: use ISO 8601 or epoch "
                                "seconds",
                                tt_buf_str(path));
        return TT_OK;
    }
    /* "document" and anything newer: accept any JSON value. */
    return TT_OK;
}

tt_code tt_aws_validate(const tt_aws_service *svc, json_t *shape, json_t *value, const char *path,
                        tt_error *err)
{
    tt_buf p;
    tt_buf_init(&p);
    if (tt_buf_puts(&p, path) != TT_OK)
        return tt_error_set(err, TT_ENOMEM, "out of memory");
    tt_code rc = validate(svc, shape, value, &p, 0, err);
    tt_buf_cleanup(&p);
    return rc;
}
