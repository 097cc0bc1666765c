/*
 * The Query protocol's request body — botocore's QuerySerializer in C: Action and Version,
 * then every input member flattened to "Prefix.Member", lists as "Name.member.N" (or
 * "Name.N" when flattened), maps as "Name.entry.N.key" / ".value", 1-based.
 */
#include <string.h>

#include "tt_aws_protocol.h"
#include "tt_sigv4.h"

#define MAX_DEPTH 64

/*
 * Form-encodes `s` exactly as botocore's request preparer does (Python's urlencode: the
 * unreserved characters stay, a space becomes '+', everything else %XX). Real AWS accepts %20
 * as well, but emulators that re-encode the body before checking the signature (moto with
 * authentication on) only accept the SDKs' bytes.
 */
static tt_code form_encode(tt_buf *body, const char *s, size_t len)
{
    tt_code rc = TT_OK;
    size_t run = 0;

    for (size_t i = 0; rc == TT_OK && i <= len; i++) {
        if (i < len && s[i] != ' ')
            continue;
        rc = tt_sigv4_uri_encode(body, s + run, i - run, 0);
        if (rc == TT_OK && i < len)
            rc = tt_buf_putc(body, '+');
        run = i + 1;
    }
    return rc;
}

static tt_code put_param(tt_buf *body, const char *key, const char *value, size_t vlen)
{
    tt_code rc = TT_OK;
    if (body->len > 0)
        rc = tt_buf_putc(body, '&');
    if (rc == TT_OK)
        rc = form_encode(body, key, strlen(key));
    if (rc == TT_OK)
        rc = tt_buf_putc(body, '=');
    if (rc == TT_OK)
        rc = form_encode(body, value, vlen);
    return rc;
}

static tt_code serialize(const tt_aws_service *svc, json_t *shape, json_t *value, tt_buf *prefix,
                         int depth, tt_buf *body, tt_error *err);

/* Appends ".part" (or "part" at the top) to the prefix; restore with prefix->len = mark. */
static tt_code push(tt_buf *prefix, const char *fmt_part, const char *part, size_t index)
{
    if (part != NULL)
        return tt_buf_printf(prefix, "%s%s", prefix->len > 0 ? "." : "", part);
    (void)fmt_part;
    return tt_buf_printf(prefix, ".%zu", index);
}

static void pop(tt_buf *prefix, size_t mark)
{
    prefix->len = mark;
    if (prefix->data != NULL)
        prefix->data[mark] = '\0';
}

static tt_code serialize(const tt_aws_service *svc, json_t *shape, json_t *value, tt_buf *prefix,
                         int depth, tt_buf *body, tt_error *err)
{
    const char *type = tt_aws_jstr(shape, "type", "string");
    size_t mark = prefix->len;
    tt_code rc = TT_OK;

    if (depth > MAX_DEPTH)
        return tt_error_set(err, TT_ELIMIT, "input nested too deeply");
    if (strcmp(type, "structure") == 0) {
        const char *name;
        json_t *ref;
        json_object_foreach(json_object_get(shape, "members"), name, ref)
        {
            json_t *v = json_object_get(value, name);
            if (rc != TT_OK)
                break;
            rc = push(prefix, NULL, tt_aws_member_wire_name(ref, name), 0);
            if (rc == TT_OK && (v == NULL || json_is_null(v)) &&
                json_is_true(json_object_get(ref, "idempotencyToken"))) {
                char uuid[37];
                tt_aws_uuid4(uuid);
                rc = put_param(body, tt_buf_str(prefix), uuid, strlen(uuid));
            } else if (rc == TT_OK && v != NULL && !json_is_null(v)) {
                json_t *mshape = tt_aws_service_ref(svc, ref);
                if (json_is_true(json_object_get(ref, "flattened")) && mshape != NULL) {
                    /* A member-level "flattened" acts like a flattened list shape. */
                    json_t *copy = json_copy(mshape);
                    if (copy == NULL || json_object_set_new(copy, "flattened", json_true()) != 0) {
                        json_decref(copy);
                        rc = TT_ENOMEM;
                    } else {
                        rc = serialize(svc, copy, v, prefix, depth + 1, body, err);
                        json_decref(copy);
                    }
                } else {
                    rc = serialize(svc, mshape, v, prefix, depth + 1, body, err);
                }
            }
            pop(prefix, mark);
        }
    } else if (strcmp(type, "list") == 0) {
        json_t *mref = json_object_get(shape, "member");
        json_t *mshape = tt_aws_service_ref(svc, mref);
        size_t i;
        json_t *item;
        if (json_array_size(value) == 0)
            return put_param(body, tt_buf_str(prefix), "", 0);
        if (json_is_true(json_object_get(shape, "flattened"))) {
            const char *name = tt_aws_jstr(mref, "locationName", NULL);
            if (name != NULL) {
                /* Replace the last component with the member's name. */
                char *dot = strrchr(prefix->data, '.');
                size_t keep = dot != NULL ? (size_t)(dot - prefix->data) : 0;
                pop(prefix, keep);
                rc = push(prefix, NULL, name, 0);
            }
        } else {
            rc = push(prefix, NULL, tt_aws_jstr(mref, "locationName", "member"), 0);
        }
        size_t list_mark = prefix->len;
        json_array_foreach(value, i, item)
        {
            if (rc != TT_OK)
                break;
            rc = push(prefix, "%zu", NULL, i + 1);
            if (rc == TT_OK)
                rc = serialize(svc, mshape, item, prefix, depth + 1, body, err);
            pop(prefix, list_mark);
        }
        pop(prefix, mark);
    } else if (strcmp(type, "map") == 0) {
        json_t *kref = json_object_get(shape, "key"), *vref = json_object_get(shape, "value");
        const char *kname = tt_aws_jstr(kref, "locationName", "key");
        const char *vname = tt_aws_jstr(vref, "locationName", "value");
        const char *key;
        json_t *item;
        size_t i = 0;
        if (!json_is_true(json_object_get(shape, "flattened")))
            rc = push(prefix, NULL, "entry", 0);
        size_t map_mark = prefix->len;
        json_object_foreach(value, key, item)
        {
            if (rc != TT_OK)
                break;
            i++;
            rc = tt_buf_printf(prefix, ".%zu.%s", i, kname);
            if (rc == TT_OK)
                rc = put_param(body, tt_buf_str(prefix), key, strlen(key));
            pop(prefix, map_mark);
            if (rc == TT_OK)
                rc = tt_buf_printf(prefix, ".%zu.%s", i, vname);
            if (rc == TT_OK)
                rc = serialize(svc, tt_aws_service_ref(svc, vref), item, prefix, depth + 1, body,
                               err);
            pop(prefix, map_mark);
        }
        pop(prefix, mark);
    } else {
        tt_buf text;
        tt_buf_init(&text);
        rc = tt_aws_scalar_text(shape, value, "iso8601", &text);
        if (rc == TT_OK)
            rc = put_param(body, tt_buf_str(prefix), text.data != NULL ? text.data : "", text.len);
        else if (rc == TT_EINVAL)
            rc = tt_error_set(err, TT_EINVAL, "invalid value for parameter %s", tt_buf_str(prefix));
        tt_buf_cleanup(&text);
    }
    if (rc == TT_ENOMEM)
        tt_error_set(err, TT_ENOMEM, "out of memory serialising the input");
    return rc;
}

tt_code tt_aws_query_build(const tt_aws_service *svc, const char *opname, json_t *shape,
                           json_t *value, tt_buf *body, tt_error *err)
{
    tt_buf prefix;
    tt_code rc = put_param(body, "Action", opname, strlen(opname));
    if (rc == TT_OK)
        rc = put_param(body, "Version", svc->api_version, strlen(svc->api_version));
    if (rc != TT_OK)
        return tt_error_set(err, TT_ENOMEM, "out of memory serialising the input");
    if (shape == NULL)
        return TT_OK;
    tt_buf_init(&prefix);
    if (tt_buf_puts(&prefix, "") != TT_OK)
        return tt_error_set(err, TT_ENOMEM, "out of memory");
    rc = serialize(svc, shape, value, &prefix, 0, body, err);
    tt_buf_cleanup(&prefix);
    return rc;
}
