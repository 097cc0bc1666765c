/*
 * The four protocols: request layout (RPC or REST bindings), response bodies, error records.
 * The body formats themselves live in tt_aws_json.c, tt_aws_xml.c and tt_aws_query.c.
 */
#include "tt_aws_protocol.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tt_json.h"
#include "tt_sigv4.h"
#include "tt_str.h"

static const char *const throttling_codes[] = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
};

static const char *const transient_codes[] = {
    "RequestTimeout",
    "RequestTimeoutException",
    "InternalError",
    "InternalFailure",
    "InternalServerError",
    "InternalServiceError",
    "InternalServiceException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "ServiceException",
    "Unavailable",
    "IDPCommunicationError",
};

static const char *const access_codes[] = {
    "AccessDenied",          "AccessDeniedException",
    "UnauthorizedOperation", "UnrecognizedClientException",
    "InvalidClientTokenId",  "SignatureDoesNotMatch",
    "IncompleteSignature",   "MissingAuthenticationToken",
    "ExpiredToken",          "ExpiredTokenException",
    "AuthFailure",           "InvalidSignatureException",
    "NotAuthorized",         "AuthorizationError",
    "InvalidAccessKeyId",
};

static const char *const conflict_codes[] = {
    "PreconditionFailed",         "InvalidIfMatchVersion",
    "ConcurrentModification",     "ConcurrentModificationException",
    "ResourceConflictException",  "ConflictException",
    "ConcurrentUpdateException",  "InvalidDBInstanceState",
    "InvalidDBClusterStateFault",
};

static int in_list(const char *code, const char *const *list, size_t n)
{
    for (size_t i = 0; code != NULL && i < n; i++) {
        if (strcmp(code, list[i]) == 0)
            return 1;
    }
    return 0;
}

#define IN(code, list) in_list(code, list, sizeof(list) / sizeof(list[0]))

int tt_aws_is_throttling_code(const char *code)
{
    return IN(code, throttling_codes);
}

tt_code tt_aws_classify_error(const char *code, long status)
{
    if (IN(code, throttling_codes) || status == 429)
        return TT_ETHROTTLED;
    if (IN(code, access_codes))
        return TT_EACCESS;
    if (IN(code, conflict_codes))
        return TT_ECONFLICT;
    if (code != NULL && code[0] != '\0' &&
        (strstr(code, "NotFound") != NULL || strncmp(code, "NoSuch", 6) == 0))
        return TT_ENOTFOUND;
    if (IN(code, transient_codes) || status == 500 || status == 502 || status == 503 ||
        status == 504)
        return TT_EUNAVAILABLE;
    if (status == 401 || status == 403)
        return TT_EACCESS;
    if (status == 404)
        return TT_ENOTFOUND;
    if (status == 409 || status == 412)
        return TT_ECONFLICT;
    return TT_EAWS;
}

/* --- requests --- */

static json_t *input_shape(const tt_aws_service *svc, json_t *op)
{
    return tt_aws_service_shape(svc, tt_aws_jstr(op, "input", NULL));
}

/* The member of `shape` bound to `location` with wire name `wire`, or NULL. */
static const char *located_member(json_t *shape, const char *location, const char *wire,
                                  json_t **ref_out)
{
    const char *name;
    json_t *ref;
    json_object_foreach(json_object_get(shape, "members"), name, ref)
    {
        if (strcmp(tt_aws_jstr(ref, "location", ""), location) == 0 &&
            strcmp(tt_aws_member_wire_name(ref, name), wire) == 0) {
            *ref_out = ref;
            return name;
        }
    }
    return NULL;
}

/* Expands "{Label}" and "{Label+}" in the path part of requestUri; adds its static query. */
static tt_code render_uri(const tt_aws_service *svc, json_t *shape, json_t *input, const char *uri,
                          tt_aws_wire *w, tt_error *err)
{
    const char *q = strchr(uri, '?');
    size_t path_len = q != NULL ? (size_t)(q - uri) : strlen(uri);
    tt_buf text;
    tt_code rc = TT_OK;

    tt_buf_init(&text);
    for (size_t i = 0; i < path_len && rc == TT_OK;) {
        if (uri[i] != '{') {
            rc = tt_buf_putc(&w->path, uri[i++]);
            continue;
        }
        const char *close = memchr(uri + i, '}', path_len - i);
        if (close == NULL) {
            rc = tt_error_set(err, TT_EINVAL, "model: bad URI template %s", uri);
            break;
        }
        char label[128];
        size_t llen = (size_t)(close - (uri + i + 1));
        int greedy = llen > 0 && uri[i + llen] == '+';
        if (greedy)
            llen--;
        snprintf(label, sizeof(label), "%.*s", (int)llen, uri + i + 1);
        json_t *ref = NULL;
        const char *member = located_member(shape, "uri", label, &ref);
        json_t *v = member != NULL ? json_object_get(input, member) : NULL;
        if (v == NULL || json_is_null(v)) {
            rc = tt_error_set(err, TT_EINVAL, "missing required parameter %s",
                              member != NULL ? member : label);
            break;
        }
        tt_buf_reset(&text);
        rc = tt_aws_scalar_text(tt_aws_service_ref(svc, ref), v, "iso8601", &text);
        if (rc == TT_OK && text.len == 0)
            rc = tt_error_set(err, TT_EINVAL, "parameter %s must not be empty", member);
        if (rc == TT_OK)
            rc = tt_sigv4_uri_encode(&w->path, text.data, text.len, greedy);
        i = (size_t)(close - uri) + 1;
    }
    /* A static query such as "?Operation=Tag" or "?versions". */
    if (rc == TT_OK && q != NULL) {
        char *copy = strdup(q + 1), *save = NULL;
        if (copy == NULL)
            rc = TT_ENOMEM;
        for (char *kv = copy != NULL ? strtok_r(copy, "&", &save) : NULL; kv != NULL && rc == TT_OK;
             kv = strtok_r(NULL, "&", &save)) {
            char *eq = strchr(kv, '=');
            if (eq != NULL)
                *eq = '\0';
            rc = tt_aws_wire_add_query(w, kv, eq != NULL ? eq + 1 : "");
        }
        free(copy);
    }
    tt_buf_cleanup(&text);
    return rc;
}

static tt_code add_query_value(const tt_aws_service *svc, tt_aws_wire *w, const char *key,
                               json_t *shape, json_t *v)
{
    const char *type = tt_aws_jstr(shape, "type", "string");
    tt_code rc = TT_OK;
    if (strcmp(type, "list") == 0) {
        json_t *ms = tt_aws_service_ref(svc, json_object_get(shape, "member"));
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item)
        {
            if (rc == TT_OK)
                rc = add_query_value(svc, w, key, ms, item);
        }
        return rc;
    }
    if (strcmp(type, "map") == 0) {
        json_t *vs = tt_aws_service_ref(svc, json_object_get(shape, "value"));
        const char *k;
        json_t *item;
        json_object_foreach(v, k, item)
        {
            if (rc == TT_OK)
                rc = add_query_value(svc, w, k, vs, item);
        }
        return rc;
    }
    tt_buf text;
    tt_buf_init(&text);
    rc = tt_aws_scalar_text(shape, v, "iso8601", &text);
    if (rc == TT_OK)
        rc = tt_aws_wire_add_query(w, key, tt_buf_str(&text));
    tt_buf_cleanup(&text);
    return rc;
}

static tt_code serialize_rest(const tt_aws_service *svc, json_t *op, json_t *shape, json_t *input,
                              tt_aws_wire *w, tt_error *err)
{
    json_t *http = json_object_get(op, "http");
    int xml = svc->protocol == TT_AWS_PROTO_REST_XML;
    const char *name;
    json_t *ref;
    tt_code rc;

    w->method = strcmp(tt_aws_jstr(http, "method", "GET"), "GET") == 0   ? "GET"
                : strcmp(tt_aws_jstr(http, "method", ""), "PUT") == 0    ? "PUT"
                : strcmp(tt_aws_jstr(http, "method", ""), "DELETE") == 0 ? "DELETE"
                : strcmp(tt_aws_jstr(http, "method", ""), "HEAD") == 0   ? "HEAD"
                : strcmp(tt_aws_jstr(http, "method", ""), "PATCH") == 0  ? "PATCH"
                                                                         : "POST";
    rc = render_uri(svc, shape, input, tt_aws_jstr(http, "requestUri", "/"), w, err);
    if (rc != TT_OK)
        return rc;
    int body_members = 0, body_set = 0;
    json_object_foreach(json_object_get(shape, "members"), name, ref)
    {
        json_t *v = json_object_get(input, name);
        const char *loc = tt_aws_jstr(ref, "location", NULL);
        json_t *ms = tt_aws_service_ref(svc, ref);
        if (loc == NULL) {
            body_members++;
            body_set += v != NULL && !json_is_null(v);
            continue;
        }
        if (v == NULL || json_is_null(v)) {
            if (!json_is_true(json_object_get(ref, "idempotencyToken")))
                continue;
            char uuid[37];
            tt_aws_uuid4(uuid);
            if (strcmp(loc, "querystring") == 0)
                rc = tt_aws_wire_add_query(w, tt_aws_member_wire_name(ref, name), uuid);
            else if (strcmp(loc, "header") == 0)
                rc = tt_aws_wire_add_header(w, tt_aws_member_wire_name(ref, name), uuid);
        } else if (strcmp(loc, "querystring") == 0) {
            rc = add_query_value(svc, w, tt_aws_member_wire_name(ref, name), ms, v);
        } else if (strcmp(loc, "header") == 0) {
            tt_buf text;
            tt_buf_init(&text);
            rc = tt_aws_scalar_text(ms, v, "rfc822", &text);
            if (rc == TT_OK)
                rc = tt_aws_wire_add_header(w, tt_aws_member_wire_name(ref, name),
                                            tt_buf_str(&text));
            tt_buf_cleanup(&text);
        } else if (strcmp(loc, "headers") == 0) {
            const char *k;
            json_t *item;
            json_object_foreach(v, k, item)
            {
                char hname[256];
                snprintf(hname, sizeof(hname), "%s%s", tt_aws_member_wire_name(ref, name), k);
                if (rc == TT_OK)
                    rc = tt_aws_wire_add_header(w, hname, json_string_value(item));
            }
        }
        if (rc != TT_OK)
            return rc == TT_ENOMEM ? tt_error_set(err, rc, "out of memory")
                                   : tt_error_set(err, rc, "invalid value for %s", name);
    }

    const char *payload = tt_aws_jstr(shape, "payload", NULL);
    if (payload != NULL) {
        json_t *pref = json_object_get(json_object_get(shape, "members"), payload);
        json_t *ps = tt_aws_service_ref(svc, pref);
        json_t *v = json_object_get(input, payload);
        const char *ptype = tt_aws_jstr(ps, "type", "structure");
        if (v == NULL || json_is_null(v))
            return TT_OK;
        if (strcmp(ptype, "blob") == 0) {
            rc = tt_buf_base64_decode(&w->body, json_string_value(v), json_string_length(v));
            if (rc == TT_EINVAL)
                return tt_error_set(err, TT_EINVAL, "parameter %s must be base64", payload);
        } else if (strcmp(ptype, "string") == 0) {
            rc = tt_buf_append(&w->body, json_string_value(v), json_string_length(v));
        } else if (xml) {
            const char *ns = tt_aws_jstr(json_object_get(pref, "xmlNamespace"), "uri", NULL);
            return tt_aws_xml_build(svc, ps, v, tt_aws_member_wire_name(pref, payload), ns,
                                    &w->body, err);
        } else {
            json_t *doc = NULL;
            rc = tt_aws_json_build(svc, ps, v, 0, &doc, err);
            if (rc != TT_OK)
                return rc;
            char *text = tt_json_dumps(doc, JSON_COMPACT);
            json_decref(doc);
            rc = text != NULL ? tt_buf_puts(&w->body, text) : TT_ENOMEM;
            free(text);
            if (rc == TT_OK)
                rc = tt_aws_wire_add_header(w, "Content-Type", "application/json");
        }
    } else if (body_members > 0) {
        if (xml) {
            if (body_set == 0)
                return TT_OK;
            return tt_aws_xml_build(svc, shape, input,
                                    tt_aws_jstr(shape, "locationName", "Request"), NULL, &w->body,
                                    err);
        }
        json_t *doc = NULL;
        rc = tt_aws_json_build(svc, shape, input, 1, &doc, err);
        if (rc != TT_OK)
            return rc;
        char *text = tt_json_dumps(doc, JSON_COMPACT);
        json_decref(doc);
        rc = text != NULL ? tt_buf_puts(&w->body, text) : TT_ENOMEM;
        free(text);
        if (rc == TT_OK)
            rc = tt_aws_wire_add_header(w, "Content-Type", "application/json");
    }
    if (rc == TT_ENOMEM)
        return tt_error_set(err, rc, "out of memory serialising the input");
    return rc;
}

tt_code tt_aws_serialize(const tt_aws_service *svc, const char *opname, json_t *input,
                         tt_aws_wire *w, tt_error *err)
{
    json_t *op = tt_aws_service_op(svc, opname);
    json_t *empty = NULL;
    tt_code rc = TT_OK;

    if (op == NULL)
        return tt_error_set(err, TT_EUNSUPPORTED,
                            "service %s has no operation '%s' in trimtab's "
                            "model",
                            svc->name, opname);
    json_t *shape = input_shape(svc, op);
    if (input == NULL || json_is_null(input)) {
        empty = json_object();
        input = empty;
        if (empty == NULL)
            return tt_error_set(err, TT_ENOMEM, "out of memory");
    }
    if (shape != NULL) {
        rc = tt_aws_validate(svc, shape, input, "", err);
    } else if (json_object_size(input) > 0) {
        rc = tt_error_set(err, TT_EINVAL, "%s takes no parameters", opname);
    }
    if (rc != TT_OK)
        goto out;
    switch (svc->protocol) {
    case TT_AWS_PROTO_JSON: {
        char ctype[64], target[160];
        json_t *doc = NULL;
        w->method = "POST";
        rc = tt_buf_putc(&w->path, '/');
        snprintf(ctype, sizeof(ctype), "application/x-amz-json-%s", svc->json_version);
        snprintf(target, sizeof(target), "%s.%s", svc->target_prefix ? svc->target_prefix : "",
                 opname);
        if (rc == TT_OK)
            rc = tt_aws_wire_add_header(w, "Content-Type", ctype);
        if (rc == TT_OK)
            rc = tt_aws_wire_add_header(w, "X-Amz-Target", target);
        /* Services that moved from Query to JSON say so, and answer Query's error codes in
         * x-amzn-query-error (parse_json_error reads it). */
        if (rc == TT_OK && svc->query_compatible)
            rc = tt_aws_wire_add_header(w, "x-amzn-query-mode", "true");
        if (rc != TT_OK)
            break;
        if (shape != NULL) {
            rc = tt_aws_json_build(svc, shape, input, 0, &doc, err);
            if (rc != TT_OK)
                goto out;
        }
        char *text = doc != NULL ? tt_json_dumps(doc, JSON_COMPACT) : strdup("{}");
        json_decref(doc);
        rc = text != NULL ? tt_buf_puts(&w->body, text) : TT_ENOMEM;
        free(text);
        break;
    }
    case TT_AWS_PROTO_QUERY:
        w->method = "POST";
        rc = tt_buf_putc(&w->path, '/');
        if (rc == TT_OK)
            rc = tt_aws_wire_add_header(w, "Content-Type",
                                        "application/x-www-form-urlencoded; charset=utf-8");
        if (rc == TT_OK)
            rc = tt_aws_query_build(svc, opname, shape, input, &w->body, err);
        break;
    case TT_AWS_PROTO_REST_JSON:
    case TT_AWS_PROTO_REST_XML:
        rc = serialize_rest(svc, op, shape, input, w, err);
        break;
    }
    if (rc == TT_ENOMEM)
        tt_error_set(err, rc, "out of memory serialising the input");
out:
    json_decref(empty);
    return rc;
}

/* --- responses --- */

static void set_field(char *dst, size_t cap, const char *src, size_t n)
{
    if (src == NULL)
        return;
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* "Prefix#Code", "Code:http://...", " Code " all become "Code". */
static void set_code(tt_error *err, const char *raw)
{
    if (raw == NULL || raw[0] == '\0')
        return;
    const char *hash = strrchr(raw, '#');
    if (hash != NULL)
        raw = hash + 1;
    size_t n = strcspn(raw, ":;");
    while (n > 0 && (raw[n - 1] == ' ' || raw[n - 1] == '\n'))
        n--;
    while (n > 0 && (*raw == ' ' || *raw == '\n')) {
        raw++;
        n--;
    }
    set_field(err->service_code, sizeof(err->service_code), raw, n);
}

static void parse_json_error(const tt_http_response *resp, tt_error *err, const char **msg,
                             json_t **doc)
{
    json_error_t jerr;
    *doc = resp->body.len > 0 ? json_loadb(resp->body.data, resp->body.len, 0, &jerr) : NULL;
    const char *qerr = tt_http_header(resp, "x-amzn-query-error");
    const char *etype = tt_http_header(resp, "x-amzn-ErrorType");
    json_t *d = json_is_object(*doc) ? *doc : NULL;
    if (qerr != NULL) {
        set_code(err, qerr);
    } else if (etype != NULL) {
        set_code(err, etype);
    } else {
        const char *c = tt_aws_jstr(d, "__type", NULL);
        if (c == NULL)
            c = tt_aws_jstr(d, "code", tt_aws_jstr(d, "Code", NULL));
        set_code(err, c);
    }
    *msg =
        tt_aws_jstr(d, "message", tt_aws_jstr(d, "Message", tt_aws_jstr(d, "errorMessage", NULL)));
}

static xmlNode *find_error_node(xmlNode *root)
{
    if (root == NULL)
        return NULL;
    if (strcmp((const char *)root->name, "Error") == 0)
        return root;
    xmlNode *e = tt_aws_xml_child(root, "Error");
    if (e != NULL)
        return e;
    return tt_aws_xml_child(tt_aws_xml_child(root, "Errors"), "Error");
}

static void parse_xml_error(const tt_http_response *resp, tt_error *err, char **msg, char **reqid)
{
    xmlDoc *doc = tt_aws_xml_read(resp->body.data, resp->body.len);
    xmlNode *root = doc != NULL ? xmlDocGetRootElement(doc) : NULL;
    xmlNode *e = find_error_node(root);
    if (e != NULL) {
        char *code = tt_aws_xml_text(tt_aws_xml_child(e, "Code"));
        set_code(err, code);
        xmlFree(code);
        *msg = tt_aws_xml_text(tt_aws_xml_child(e, "Message"));
        *reqid = tt_aws_xml_text(tt_aws_xml_child(root, "RequestId"));
        if (*reqid == NULL)
            *reqid = tt_aws_xml_text(tt_aws_xml_child(root, "RequestID"));
        if (*reqid == NULL)
            *reqid = tt_aws_xml_text(tt_aws_xml_child(e, "RequestId"));
    }
    xmlFreeDoc(doc);
}

static tt_code parse_error(const tt_aws_service *svc, const tt_http_response *resp, tt_error *err)
{
    const char *rid = tt_http_header(resp, "x-amzn-RequestId");
    char *xml_msg = NULL, *xml_rid = NULL;
    const char *msg = NULL;
    json_t *doc = NULL;

    tt_error_clear(err);
    err->http_status = (int)resp->status;
    if (rid == NULL)
        rid = tt_http_header(resp, "x-amz-request-id");
    if (svc->protocol == TT_AWS_PROTO_JSON || svc->protocol == TT_AWS_PROTO_REST_JSON) {
        parse_json_error(resp, err, &msg, &doc);
    } else {
        parse_xml_error(resp, err, &xml_msg, &xml_rid);
        msg = xml_msg;
        if (rid == NULL)
            rid = xml_rid;
    }
    if (rid != NULL)
        set_field(err->request_id, sizeof(err->request_id), rid, strlen(rid));
    if (err->service_code[0] == '\0')
        snprintf(err->service_code, sizeof(err->service_code), "%ld", resp->status);
    err->code = tt_aws_classify_error(err->service_code, resp->status);
    if (msg != NULL && msg[0] != '\0')
        snprintf(err->message, sizeof(err->message), "%s (HTTP %ld): %s", err->service_code,
                 resp->status, msg);
    else
        snprintf(err->message, sizeof(err->message), "%s (HTTP %ld)", err->service_code,
                 resp->status);
    xmlFree(xml_msg);
    xmlFree(xml_rid);
    json_decref(doc);
    return err->code;
}

static tt_code header_value(const tt_aws_service *svc, json_t *ref, const char *text, json_t **out)
{
    json_t *shape = tt_aws_service_ref(svc, ref);
    const char *type = tt_aws_jstr(shape, "type", "string");
    if (strcmp(type, "integer") == 0 || strcmp(type, "long") == 0) {
        int64_t v;
        if (tt_parse_i64(text, &v) != 0)
            return TT_EPARSE;
        *out = json_integer(v);
    } else if (strcmp(type, "boolean") == 0) {
        *out = json_boolean(strcasecmp(text, "true") == 0);
    } else if (strcmp(type, "double") == 0 || strcmp(type, "float") == 0) {
        double d;
        if (tt_parse_double(text, &d) != 0)
            return TT_EPARSE;
        *out = json_real(d);
    } else if (strcmp(type, "timestamp") == 0) {
        double d;
        char buf[40];
        if (tt_aws_parse_time(text, &d) != 0)
            return TT_EPARSE;
        tt_aws_format_iso8601(d, buf);
        *out = json_string(buf);
    } else {
        *out = json_string(text);
    }
    return *out != NULL ? TT_OK : TT_EPARSE;
}

/* Parses `body` as `shape` for the service's body format; *out gets a new reference. */
static tt_code parse_body(const tt_aws_service *svc, json_t *shape, const tt_http_response *resp,
                          json_t **out, tt_error *err)
{
    if (svc->protocol == TT_AWS_PROTO_JSON || svc->protocol == TT_AWS_PROTO_REST_JSON) {
        json_error_t jerr;
        json_t *doc;
        if (resp->body.len == 0)
            doc = json_object();
        else
            doc = json_loadb(resp->body.data, resp->body.len, JSON_REJECT_DUPLICATES, &jerr);
        if (doc == NULL)
            return tt_error_set(err, TT_EPARSE, "malformed JSON response: %s (at byte %d)",
                                jerr.text, jerr.position);
        tt_code rc = tt_aws_json_parse(svc, shape, doc, out, "", err);
        json_decref(doc);
        return rc;
    }
    if (resp->body.len == 0 || strspn(resp->body.data, " \t\r\n") == resp->body.len) {
        *out = json_object();
        return *out != NULL ? TT_OK : tt_error_set(err, TT_ENOMEM, "out of memory");
    }
    xmlDoc *doc = tt_aws_xml_read(resp->body.data, resp->body.len);
    if (doc == NULL)
        return tt_error_set(err, TT_EPARSE, "malformed XML response (%zu bytes)", resp->body.len);
    tt_code rc = tt_aws_xml_parse(svc, shape, xmlDocGetRootElement(doc), out, err);
    xmlFreeDoc(doc);
    return rc;
}

static tt_code parse_query_output(const tt_aws_service *svc, json_t *op, json_t *shape,
                                  const tt_http_response *resp, json_t **out, tt_error *err)
{
    xmlDoc *doc = tt_aws_xml_read(resp->body.data, resp->body.len);
    if (doc == NULL)
        return tt_error_set(err, TT_EPARSE, "malformed XML response (%zu bytes)", resp->body.len);
    xmlNode *root = xmlDocGetRootElement(doc);
    const char *wrapper = tt_aws_jstr(op, "resultWrapper", NULL);
    xmlNode *node = wrapper != NULL ? tt_aws_xml_child(root, wrapper) : root;
    tt_code rc;
    if (node == NULL) {
        *out = json_object();
        rc = *out != NULL ? TT_OK : tt_error_set(err, TT_ENOMEM, "out of memory");
    } else {
        rc = tt_aws_xml_parse(svc, shape, node, out, err);
    }
    xmlFreeDoc(doc);
    return rc;
}

static tt_code parse_rest_output(const tt_aws_service *svc, json_t *shape,
                                 const tt_http_response *resp, json_t **out, tt_error *err)
{
    json_t *res = json_object();
    const char *payload = tt_aws_jstr(shape, "payload", NULL);
    const char *name;
    json_t *ref;
    tt_code rc = TT_OK;

    if (res == NULL)
        return tt_error_set(err, TT_ENOMEM, "out of memory");
    json_object_foreach(json_object_get(shape, "members"), name, ref)
    {
        const char *loc = tt_aws_jstr(ref, "location", NULL);
        json_t *v = NULL;
        if (loc == NULL)
            continue;
        if (strcmp(loc, "statusCode") == 0) {
            v = json_integer(resp->status);
        } else if (strcmp(loc, "header") == 0) {
            const char *text = tt_http_header(resp, tt_aws_member_wire_name(ref, name));
            if (text == NULL)
                continue;
            if (header_value(svc, ref, text, &v) != TT_OK) {
                rc = tt_error_set(err, TT_EPARSE, "malformed response header %s",
                                  tt_aws_member_wire_name(ref, name));
                break;
            }
        } else if (strcmp(loc, "headers") == 0) {
            const char *prefix = tt_aws_member_wire_name(ref, name);
            size_t plen = strlen(prefix);
            v = json_object();
            for (size_t i = 0; v != NULL && i < resp->nheaders; i++) {
                if (strncasecmp(resp->headers[i].name, prefix, plen) == 0)
                    json_object_set_new(v, resp->headers[i].name + plen,
                                        json_string(resp->headers[i].value));
            }
        } else {
            continue;
        }
        if (v == NULL || json_object_set_new(res, name, v) != 0) {
            rc = tt_error_set(err, TT_ENOMEM, "out of memory");
            break;
        }
    }
    if (rc == TT_OK && payload != NULL) {
        json_t *pref = json_object_get(json_object_get(shape, "members"), payload);
        json_t *ps = tt_aws_service_ref(svc, pref);
        const char *ptype = tt_aws_jstr(ps, "type", "structure");
        json_t *v = NULL;
        if (strcmp(ptype, "blob") == 0) {
            size_t cap = 4 * ((resp->body.len + 2) / 3) + 1;
            char *b64 = malloc(cap);
            if (b64 != NULL) {
                EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)resp->body.data,
                                (int)resp->body.len);
                v = json_string(b64);
                free(b64);
            }
            if (v == NULL)
                rc = tt_error_set(err, TT_ENOMEM, "out of memory");
        } else if (strcmp(ptype, "string") == 0) {
            v = json_stringn(resp->body.data ? resp->body.data : "", resp->body.len);
            if (v == NULL)
                rc = tt_error_set(err, TT_EPARSE, "response body is not UTF-8 text");
        } else if (resp->body.len > 0) {
            rc = parse_body(svc, ps, resp, &v, err);
        }
        if (rc == TT_OK && v != NULL && json_object_set_new(res, payload, v) != 0)
            rc = tt_error_set(err, TT_ENOMEM, "out of memory");
    } else if (rc == TT_OK) {
        json_t *body = NULL;
        rc = parse_body(svc, shape, resp, &body, err);
        if (rc == TT_OK && json_object_update(res, body) != 0)
            rc = tt_error_set(err, TT_ENOMEM, "out of memory");
        json_decref(body);
    }
    if (rc != TT_OK) {
        json_decref(res);
        return rc;
    }
    *out = res;
    return TT_OK;
}

tt_code tt_aws_parse(const tt_aws_service *svc, const char *opname, const tt_http_response *resp,
                     json_t **out, tt_error *err)
{
    json_t *op = tt_aws_service_op(svc, opname);
    *out = NULL;
    if (op == NULL)
        return tt_error_set(err, TT_EUNSUPPORTED, "unknown operation %s", opname);
    if (resp->status < 200 || resp->status > 299)
        return parse_error(svc, resp, err);
    json_t *shape = tt_aws_service_shape(svc, tt_aws_jstr(op, "output", NULL));
    if (shape == NULL) {
        *out = json_object();
        return *out != NULL ? TT_OK : tt_error_set(err, TT_ENOMEM, "out of memory");
    }
    tt_code rc;
    switch (svc->protocol) {
    case TT_AWS_PROTO_QUERY:
        rc = parse_query_output(svc, op, shape, resp, out, err);
        break;
    case TT_AWS_PROTO_REST_JSON:
    case TT_AWS_PROTO_REST_XML:
        rc = parse_rest_output(svc, shape, resp, out, err);
        break;
    default:
        rc = parse_body(svc, shape, resp, out, err);
        break;
    }
    if (rc != TT_OK) {
        err->http_status = (int)resp->status;
        const char *rid = tt_http_header(resp, "x-amzn-RequestId");
        if (rid != NULL)
            set_field(err->request_id, sizeof(err->request_id), rid, strlen(rid));
    }
    return rc;
}
