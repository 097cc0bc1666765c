/*
 * JSON bodies by shape, for the JSON 1.0/1.1 and REST-JSON protocols — botocore's
 * JSONSerializer and BaseJSONParser in C. Inputs have been validated before they get here.
 */
#include <math.h>
#include <string.h>

#include "tt_aws_protocol.h"
#include "tt_num.h"

#define MAX_DEPTH 64

static json_t *time_number(double t)
{
    /* Whole seconds as an integer, like botocore's unix timestamps. */
    if (t == tt_floor(t) && fabs(t) < 1e15)
        return json_integer((json_int_t)t);
    return json_real(t);
}

static tt_code build(const tt_aws_service *svc, json_t *shape, json_t *value, int skip_located,
                     int depth, json_t **out, tt_error *err)
{
    const char *type = tt_aws_jstr(shape, "type", "string");
    json_t *res = NULL;

    if (depth > MAX_DEPTH)
        return tt_error_set(err, TT_ELIMIT, "input nested too deeply");
    if (strcmp(type, "structure") == 0) {
        json_t *members = json_object_get(shape, "members");
        const char *name;
        json_t *ref;
        res = json_object();
        if (res == NULL)
            goto nomem;
        json_object_foreach(members, name, ref)
        {
            json_t *v = json_object_get(value, name);
            json_t *item = NULL;
            if (skip_located && json_object_get(ref, "location") != NULL)
                continue;
            if ((v == NULL || json_is_null(v)) &&
                json_is_true(json_object_get(ref, "idempotencyToken"))) {
                char uuid[37];
                tt_aws_uuid4(uuid);
                item = json_string(uuid);
            } else if (v == NULL || json_is_null(v)) {
                continue;
            } else {
                tt_code rc = build(svc, tt_aws_service_ref(svc, ref), v, 0, depth + 1, &item, err);
                if (rc != TT_OK) {
                    json_decref(res);
                    return rc;
                }
            }
            if (item == NULL ||
                json_object_set_new(res, tt_aws_member_wire_name(ref, name), item) != 0)
                goto nomem;
        }
    } else if (strcmp(type, "list") == 0) {
        json_t *member = tt_aws_service_ref(svc, json_object_get(shape, "member"));
        size_t i;
        json_t *v;
        res = json_array();
        if (res == NULL)
            goto nomem;
        json_array_foreach(value, i, v)
        {
            json_t *item = NULL;
            tt_code rc = build(svc, member, v, 0, depth + 1, &item, err);
            if (rc != TT_OK) {
                json_decref(res);
                return rc;
            }
            if (json_array_append_new(res, item) != 0)
                goto nomem;
        }
    } else if (strcmp(type, "map") == 0) {
        json_t *vshape = tt_aws_service_ref(svc, json_object_get(shape, "value"));
        const char *key;
        json_t *v;
        res = json_object();
        if (res == NULL)
            goto nomem;
        json_object_foreach(value, key, v)
        {
            json_t *item = NULL;
            tt_code rc = build(svc, vshape, v, 0, depth + 1, &item, err);
            if (rc != TT_OK) {
                json_decref(res);
                return rc;
            }
            if (json_object_set_new(res, key, item) != 0)
                goto nomem;
        }
    } else if (strcmp(type, "timestamp") == 0) {
        double t;
        if (tt_aws_input_time(value, &t) != 0)
            return tt_error_set(err, TT_EINVAL, "invalid timestamp");
        const char *fmt = tt_aws_jstr(shape, "timestampFormat", "unixTimestamp");
        if (strcmp(fmt, "unixTimestamp") == 0) {
            res = time_number(t);
        } else {
            char buf[40];
            if (strcmp(fmt, "rfc822") == 0)
                tt_aws_format_http_date(t, buf);
            else
                tt_aws_format_iso8601(t, buf);
            res = json_string(buf);
        }
    } else {
        res = json_deep_copy(value);
    }
    if (res == NULL)
        goto nomem;
    *out = res;
    return TT_OK;
nomem:
    json_decref(res);
    return tt_error_set(err, TT_ENOMEM, "out of memory serialising the input");
}

tt_code tt_aws_json_build(const tt_aws_service *svc, json_t *shape, json_t *value, int rest,
                          json_t **out, tt_error *err)
{
    return build(svc, shape, value, rest, 0, out, err);
}

static tt_code wrong(tt_error *err, const char *path, const char *want)
{
    return tt_error_set(err, TT_EPARSE, "malformed response: %s is not %s", path, want);
}

static tt_code parse(const tt_aws_service *svc, json_t *shape, json_t *value, json_t **out,
                     tt_buf *path, int depth, tt_error *err)
{
    const char *type = tt_aws_jstr(shape, "type", "string");
    size_t mark = path->len;
    json_t *res = NULL;

    if (depth > MAX_DEPTH)
        return tt_error_set(err, TT_ELIMIT, "malformed response: nested too deeply");
    if (strcmp(type, "structure") == 0) {
        json_t *members = json_object_get(shape, "members");
        const char *name;
        json_t *ref;
        if (!json_is_object(value))
            return wrong(err, tt_buf_str(path), "an object");
        res = json_object();
        if (res == NULL)
            goto nomem;
        json_object_foreach(members, name, ref)
        {
            json_t *v = json_object_get(value, tt_aws_member_wire_name(ref, name));
            json_t *item = NULL;
            if (v == NULL || json_is_null(v) || json_object_get(ref, "location") != NULL)
                continue;
            if (tt_buf_printf(path, "%s%s", mark > 0 ? "." : "", name) != TT_OK)
                goto nomem;
            tt_code rc = parse(svc, tt_aws_service_ref(svc, ref), v, &item, path, depth + 1, err);
            path->len = mark;
            path->data[mark] = '\0';
            if (rc != TT_OK) {
                json_decref(res);
                return rc;
            }
            if (json_object_set_new(res, name, item) != 0)
                goto nomem;
        }
    } else if (strcmp(type, "list") == 0) {
        json_t *member = tt_aws_service_ref(svc, json_object_get(shape, "member"));
        size_t i;
        json_t *v;
        if (!json_is_array(value))
            return wrong(err, tt_buf_str(path), "a list");
        res = json_array();
        if (res == NULL)
            goto nomem;
        json_array_foreach(value, i, v)
        {
            json_t *item = NULL;
            if (tt_buf_printf(path, "[%zu]", i) != TT_OK)
                goto nomem;
            tt_code rc = parse(svc, member, v, &item, path, depth + 1, err);
            path->len = mark;
            path->data[mark] = '\0';
            if (rc != TT_OK) {
                json_decref(res);
                return rc;
            }
            if (json_array_append_new(res, item) != 0)
                goto nomem;
        }
    } else if (strcmp(type, "map") == 0) {
        json_t *vshape = tt_aws_service_ref(svc, json_object_get(shape, "value"));
        const char *key;
        json_t *v;
        if (!json_is_object(value))
            return wrong(err, tt_buf_str(path), "a map");
        res = json_object();
        if (res == NULL)
            goto nomem;
        json_object_foreach(value, key, v)
        {
            json_t *item = NULL;
            if (tt_buf_printf(path, "[\"%.40s\"]", key) != TT_OK)
                goto nomem;
            tt_code rc = parse(svc, vshape, v, &item, path, depth + 1, err);
            path->len = mark;
            path->data[mark] = '\0';
            if (rc != TT_OK) {
                json_decref(res);
                return rc;
            }
            if (json_object_set_new(res, key, item) != 0)
                goto nomem;
        }
    } else if (strcmp(type, "timestamp") == 0) {
        double t;
        char buf[40];
        if (tt_aws_input_time(value, &t) != 0)
            return wrong(err, tt_buf_str(path), "a timestamp");
        tt_aws_format_iso8601(t, buf);
        res = json_string(buf);
    } else if (strcmp(type, "string") == 0 || strcmp(type, "blob") == 0) {
        if (!json_is_string(value))
            return wrong(err, tt_buf_str(path), "a string");
        res = json_incref(value);
    } else if (strcmp(type, "integer") == 0 || strcmp(type, "long") == 0) {
        if (json_is_real(value) && json_real_value(value) == tt_floor(json_real_value(value)) &&
            fabs(json_real_value(value)) < 9e15)
            res = json_integer((json_int_t)json_real_value(value));
        else if (!json_is_integer(value))
            return wrong(err, tt_buf_str(path), "an integer");
        else
            res = json_incref(value);
    } else if (strcmp(type, "double") == 0 || strcmp(type, "float") == 0) {
        if (!json_is_number(value))
            return wrong(err, tt_buf_str(path), "a number");
        res = json_incref(value);
    } else if (strcmp(type, "boolean") == 0) {
        if (!json_is_boolean(value))
            return wrong(err, tt_buf_str(path), "a boolean");
        res = json_incref(value);
    } else {
        res = json_incref(value);
    }
    if (res == NULL)
        goto nomem;
    *out = res;
    return TT_OK;
nomem:
    json_decref(res);
    return tt_error_set(err, TT_ENOMEM, "out of memory parsing the response");
}

tt_code tt_aws_json_parse(const tt_aws_service *svc, json_t *shape, json_t *value, json_t **out,
                          const char *path, tt_error *err)
{
    tt_buf p;
    tt_buf_init(&p);
    if (tt_buf_puts(&p, path) != TT_OK)
        return tt_error_set(err, TT_ENOMEM, "out of memory");
    tt_code rc = parse(svc, shape, value, out, &p, 0, err);
    tt_buf_cleanup(&p);
    return rc;
}
