/*
 * XML by shape, for the Query and REST-XML protocols — botocore's BaseXMLResponseParser and
 * RestXMLSerializer in C, on libxml2. Element names are matched by local name, so namespace
 * prefixes never matter. Parsing never loads a DTD, never touches the network, never expands
 * entities and stays within libxml2's default depth and size limits.
 */
#include <math.h>
#include <string.h>

#include <libxml/parser.h>

#include "tt_aws_protocol.h"
#include "tt_str.h"

#define MAX_DEPTH 64

/* libxml2 reports some errors (encoding ones) through its generic handler even with
 * XML_PARSE_NOERROR; trimtab reports them itself. */
static void quiet(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

xmlDoc *tt_aws_xml_read(const char *data, size_t len)
{
    static int silenced;
    if (!silenced) {
        xmlSetGenericErrorFunc(NULL, quiet);
        silenced = 1;
    }
    if (data == NULL || len == 0 || len > 64u * 1024 * 1024)
        return NULL;
    return xmlReadMemory(data, (int)len, "response.xml", NULL,
                         XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
}

static int is_named(xmlNode *n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

xmlNode *tt_aws_xml_child(xmlNode *node, const char *name)
{
    for (xmlNode *c = node != NULL ? node->children : NULL; c != NULL; c = c->next) {
        if (is_named(c, name))
            return c;
    }
    return NULL;
}

char *tt_aws_xml_text(xmlNode *node)
{
    return node != NULL ? (char *)xmlNodeGetContent(node) : NULL;
}

static tt_code parse(const tt_aws_service *svc, json_t *shape, xmlNode *node, json_t **out,
                     int depth, tt_error *err);

static tt_code wrong(tt_error *err, xmlNode *node, const char *want)
{
    return tt_error_set(err, TT_EPARSE, "malformed response: <%.60s> (line %d) is not %s",
                        node != NULL ? (const char *)node->name : "?",
                        node != NULL ? node->line : 0, want);
}

/* A trimmed copy of the node's text ("" for an empty element). Free with free(). */
static char *trimmed_text(xmlNode *node)
{
    char *t = tt_aws_xml_text(node);
    const char *s = t != NULL ? t : "";
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
        n--;
    char *copy = strndup(s, n);
    xmlFree(t);
    return copy;
}

static tt_code parse_scalar(const char *type, xmlNode *node, json_t **out, tt_error *err)
{
    json_t *res = NULL;
    if (strcmp(type, "string") == 0 || strcmp(type, "blob") == 0) {
        /* Strings keep their whitespace. */
        char *t = tt_aws_xml_text(node);
        res = json_string(t != NULL ? t : "");
        xmlFree(t);
        if (res == NULL)
            return wrong(err, node, "UTF-8 text");
    } else {
        char *t = trimmed_text(node);
        if (t == NULL)
            return tt_error_set(err, TT_ENOMEM, "out of memory");
        if (strcmp(type, "integer") == 0 || strcmp(type, "long") == 0) {
            int64_t v;
            if (tt_parse_i64(t, &v) == 0)
                res = json_integer(v);
        } else if (strcmp(type, "double") == 0 || strcmp(type, "float") == 0) {
            double d;
            if (tt_parse_double(t, &d) == 0)
                res = json_real(d);
        } else if (strcmp(type, "boolean") == 0) {
            if (strcmp(t, "true") == 0)
                res = json_true();
            else if (strcmp(t, "false") == 0)
                res = json_false();
        } else if (strcmp(type, "timestamp") == 0) {
            double d;
            char buf[40];
            if (tt_aws_parse_time(t, &d) == 0) {
                tt_aws_format_iso8601(d, buf);
                res = json_string(buf);
            }
        } else {
            res = json_string(t);
        }
        free(t);
        if (res == NULL)
            return wrong(err, node, type[0] == 'i' ? "an integer" : type);
    }
    if (res == NULL)
        return tt_error_set(err, TT_ENOMEM, "out of memory");
    *out = res;
    return TT_OK;
}

/* Parses every child of `parent` named `name` as `item_shape` into a new array. */
static tt_code parse_items(const tt_aws_service *svc, json_t *item_shape, xmlNode *parent,
                           const char *name, int depth, json_t **out, tt_error *err)
{
    json_t *arr = json_array();
    if (arr == NULL)
        return tt_error_set(err, TT_ENOMEM, "out of memory");
    for (xmlNode *c = parent->children; c != NULL; c = c->next) {
        json_t *item = NULL;
        if (!is_named(c, name))
            continue;
        tt_code rc = parse(svc, item_shape, c, &item, depth + 1, err);
        if (rc != TT_OK) {
            json_decref(arr);
            return rc;
        }
        if (json_array_append_new(arr, item) != 0) {
            json_decref(arr);
            return tt_error_set(err, TT_ENOMEM, "out of memory");
        }
    }
    *out = arr;
    return TT_OK;
}

/* Parses map entries (children of `parent` named `entry_name`) into a new object. */
static tt_code parse_entries(const tt_aws_service *svc, json_t *shape, xmlNode *parent,
                             const char *entry_name, int depth, json_t **out, tt_error *err)
{
    json_t *kref = json_object_get(shape, "key"), *vref = json_object_get(shape, "value");
    const char *kname = tt_aws_jstr(kref, "locationName", "key");
    const char *vname = tt_aws_jstr(vref, "locationName", "value");
    json_t *vshape = tt_aws_service_ref(svc, vref);
    json_t *obj = json_object();
    if (obj == NULL)
        return tt_error_set(err, TT_ENOMEM, "out of memory");
    for (xmlNode *c = parent->children; c != NULL; c = c->next) {
        if (!is_named(c, entry_name))
            continue;
        xmlNode *kn = tt_aws_xml_child(c, kname), *vn = tt_aws_xml_child(c, vname);
        json_t *item = NULL;
        if (kn == NULL) {
            json_decref(obj);
            return wrong(err, c, "a map entry with a key");
        }
        char *key = trimmed_text(kn);
        tt_code rc = vn != NULL ? parse(svc, vshape, vn, &item, depth + 1, err) : TT_OK;
        if (rc == TT_OK && item == NULL)
            item = json_null();
        if (rc == TT_OK && (key == NULL || json_object_set_new(obj, key, item) != 0))
            rc = tt_error_set(err, TT_ENOMEM, "out of memory");
        free(key);
        if (rc != TT_OK) {
            json_decref(obj);
            return rc;
        }
    }
    *out = obj;
    return TT_OK;
}

static int ref_flattened(const tt_aws_service *svc, json_t *ref)
{
    json_t *target = tt_aws_service_ref(svc, ref);
    return json_is_true(json_object_get(ref, "flattened")) ||
           json_is_true(json_object_get(target, "flattened"));
}

static tt_code parse_struct(const tt_aws_service *svc, json_t *shape, xmlNode *node, int depth,
                            json_t **out, tt_error *err)
{
    json_t *res = json_object();
    const char *name;
    json_t *ref;
    if (res == NULL)
        return tt_error_set(err, TT_ENOMEM, "out of memory");
    json_object_foreach(json_object_get(shape, "members"), name, ref)
    {
        json_t *mshape = tt_aws_service_ref(svc, ref);
        const char *wire = tt_aws_member_wire_name(ref, name);
        const char *mtype = tt_aws_jstr(mshape, "type", "string");
        json_t *item = NULL;
        tt_code rc = TT_OK;

        if (json_object_get(ref, "location") != NULL)
            continue; /* headers and status codes are the REST layer's */
        if (json_is_true(json_object_get(ref, "xmlAttribute"))) {
            const char *local = strchr(wire, ':') != NULL ? strchr(wire, ':') + 1 : wire;
            xmlChar *v = xmlGetProp(node, (const xmlChar *)local);
            if (v != NULL) {
                item = json_string((const char *)v);
                xmlFree(v);
                if (item == NULL || json_object_set_new(res, name, item) != 0)
                    rc = tt_error_set(err, TT_ENOMEM, "out of memory");
            }
        } else if (ref_flattened(svc, ref) && strcmp(mtype, "list") == 0) {
            json_t *mref = json_object_get(mshape, "member");
            const char *item_name = tt_aws_jstr(mref, "locationName", wire);
            if (tt_aws_xml_child(node, item_name) != NULL) {
                rc = parse_items(svc, tt_aws_service_ref(svc, mref), node, item_name, depth, &item,
                                 err);
                if (rc == TT_OK && json_object_set_new(res, name, item) != 0)
                    rc = tt_error_set(err, TT_ENOMEM, "out of memory");
            }
        } else if (ref_flattened(svc, ref) && strcmp(mtype, "map") == 0) {
            if (tt_aws_xml_child(node, wire) != NULL) {
                rc = parse_entries(svc, mshape, node, wire, depth, &item, err);
                if (rc == TT_OK && json_object_set_new(res, name, item) != 0)
                    rc = tt_error_set(err, TT_ENOMEM, "out of memory");
            }
        } else {
            xmlNode *child = tt_aws_xml_child(node, wire);
            if (child != NULL) {
                rc = parse(svc, mshape, child, &item, depth + 1, err);
                if (rc == TT_OK && json_object_set_new(res, name, item) != 0)
                    rc = tt_error_set(err, TT_ENOMEM, "out of memory");
            }
        }
        if (rc != TT_OK) {
            json_decref(res);
            return rc;
        }
    }
    *out = res;
    return TT_OK;
}

static tt_code parse(const tt_aws_service *svc, json_t *shape, xmlNode *node, json_t **out,
                     int depth, tt_error *err)
{
    const char *type = tt_aws_jstr(shape, "type", "string");
    if (depth > MAX_DEPTH)
        return tt_error_set(err, TT_ELIMIT, "malformed response: nested too deeply");
    if (strcmp(type, "structure") == 0)
        return parse_struct(svc, shape, node, depth, out, err);
    if (strcmp(type, "list") == 0) {
        json_t *mref = json_object_get(shape, "member");
        return parse_items(svc, tt_aws_service_ref(svc, mref), node,
                           tt_aws_jstr(mref, "locationName", "member"), depth, out, err);
    }
    if (strcmp(type, "map") == 0)
        return parse_entries(svc, shape, node, "entry", depth, out, err);
    return parse_scalar(type, node, out, err);
}

tt_code tt_aws_xml_parse(const tt_aws_service *svc, json_t *shape, xmlNode *node, json_t **out,
                         tt_error *err)
{
    if (node == NULL)
        return tt_error_set(err, TT_EPARSE, "malformed response: no XML element");
    return parse(svc, shape, node, out, 0, err);
}

/* --- building (REST-XML inputs) --- */

static tt_code put_escaped(tt_buf *b, const char *s, size_t n)
{
    tt_code rc = TT_OK;
    for (size_t i = 0; i < n && rc == TT_OK; i++) {
        switch (s[i]) {
        case '&':
            rc = tt_buf_puts(b, "&amp;");
            break;
        case '<':
            rc = tt_buf_puts(b, "&lt;");
            break;
        case '>':
            rc = tt_buf_puts(b, "&gt;");
            break;
        case '"':
            rc = tt_buf_puts(b, "&quot;");
            break;
        case '\'':
            rc = tt_buf_puts(b, "&apos;");
            break;
        case '\r':
            rc = tt_buf_puts(b, "&#xD;");
            break;
        default:
            rc = tt_buf_putc(b, s[i]);
        }
    }
    return rc;
}

static tt_code build(const tt_aws_service *svc, json_t *shape, json_t *value, const char *name,
                     const char *xmlns, int depth, tt_buf *b, tt_error *err);

static tt_code build_struct(const tt_aws_service *svc, json_t *shape, json_t *value,
                            const char *name, const char *xmlns, int depth, tt_buf *b,
                            tt_error *err)
{
    json_t *members = json_object_get(shape, "members");
    const char *mname;
    json_t *ref;
    tt_code rc = tt_buf_printf(b, "<%s", name);
    json_t *shape_ns = json_object_get(shape, "xmlNamespace");
    if (xmlns == NULL && shape_ns != NULL)
        xmlns = tt_aws_jstr(shape_ns, "uri", NULL);
    if (rc == TT_OK && xmlns != NULL) {
        rc = tt_buf_puts(b, " xmlns=\"");
        if (rc == TT_OK)
            rc = put_escaped(b, xmlns, strlen(xmlns));
        if (rc == TT_OK)
            rc = tt_buf_putc(b, '"');
    }
    /* Attributes first, then child elements in the model's order. */
    json_object_foreach(members, mname, ref)
    {
        json_t *v = json_object_get(value, mname);
        if (rc != TT_OK || v == NULL || json_is_null(v) ||
            !json_is_true(json_object_get(ref, "xmlAttribute")))
            continue;
        rc = tt_buf_printf(b, " %s=\"", tt_aws_member_wire_name(ref, mname));
        tt_buf text;
        tt_buf_init(&text);
        if (rc == TT_OK)
            rc = tt_aws_scalar_text(tt_aws_service_ref(svc, ref), v, "iso8601", &text);
        if (rc == TT_OK)
            rc = put_escaped(b, text.data != NULL ? text.data : "", text.len);
        tt_buf_cleanup(&text);
        if (rc == TT_OK)
            rc = tt_buf_putc(b, '"');
    }
    if (rc == TT_OK)
        rc = tt_buf_putc(b, '>');
    json_object_foreach(members, mname, ref)
    {
        json_t *v = json_object_get(value, mname);
        if (rc != TT_OK)
            break;
        if (json_is_true(json_object_get(ref, "xmlAttribute")) ||
            json_object_get(ref, "location") != NULL)
            continue;
        if ((v == NULL || json_is_null(v)) &&
            json_is_true(json_object_get(ref, "idempotencyToken"))) {
            char uuid[37];
            tt_aws_uuid4(uuid);
            rc = tt_buf_printf(b, "<%s>%s</%s>", tt_aws_member_wire_name(ref, mname), uuid,
                               tt_aws_member_wire_name(ref, mname));
            continue;
        }
        if (v == NULL || json_is_null(v))
            continue;
        json_t *mshape = tt_aws_service_ref(svc, ref);
        const char *wire = tt_aws_member_wire_name(ref, mname);
        const char *mtype = tt_aws_jstr(mshape, "type", "string");
        if (strcmp(mtype, "list") == 0 && (json_is_true(json_object_get(ref, "flattened")) ||
                                           json_is_true(json_object_get(mshape, "flattened")))) {
            json_t *mref = json_object_get(mshape, "member");
            const char *item_name = tt_aws_jstr(mref, "locationName", wire);
            size_t i;
            json_t *item;
            json_array_foreach(v, i, item)
            {
                if (rc == TT_OK)
                    rc = build(svc, tt_aws_service_ref(svc, mref), item, item_name, NULL, depth + 1,
                               b, err);
            }
            continue;
        }
        const char *ns = NULL;
        if (json_object_get(ref, "xmlNamespace") != NULL)
            ns = tt_aws_jstr(json_object_get(ref, "xmlNamespace"), "uri", NULL);
        rc = build(svc, mshape, v, wire, ns, depth + 1, b, err);
    }
    if (rc == TT_OK)
        rc = tt_buf_printf(b, "</%s>", name);
    return rc;
}

static tt_code build(const tt_aws_service *svc, json_t *shape, json_t *value, const char *name,
                     const char *xmlns, int depth, tt_buf *b, tt_error *err)
{
    const char *type = tt_aws_jstr(shape, "type", "string");
    tt_code rc = TT_OK;

    if (depth > MAX_DEPTH)
        return tt_error_set(err, TT_ELIMIT, "input nested too deeply");
    if (strcmp(type, "structure") == 0)
        return build_struct(svc, shape, value, name, xmlns, depth, b, err);
    if (strcmp(type, "list") == 0) {
        json_t *mref = json_object_get(shape, "member");
        const char *item_name = tt_aws_jstr(mref, "locationName", "member");
        size_t i;
        json_t *item;
        rc = tt_buf_printf(b, "<%s>", name);
        json_array_foreach(value, i, item)
        {
            if (rc == TT_OK)
                rc = build(svc, tt_aws_service_ref(svc, mref), item, item_name, NULL, depth + 1, b,
                           err);
        }
        return rc == TT_OK ? tt_buf_printf(b, "</%s>", name) : rc;
    }
    if (strcmp(type, "map") == 0) {
        json_t *kref = json_object_get(shape, "key"), *vref = json_object_get(shape, "value");
        const char *kname = tt_aws_jstr(kref, "locationName", "key");
        const char *vname = tt_aws_jstr(vref, "locationName", "value");
        const char *key;
        json_t *item;
        rc = tt_buf_printf(b, "<%s>", name);
        json_object_foreach(value, key, item)
        {
            if (rc == TT_OK)
                rc = tt_buf_printf(b, "<entry><%s>", kname);
            if (rc == TT_OK)
                rc = put_escaped(b, key, strlen(key));
            if (rc == TT_OK)
                rc = tt_buf_printf(b, "</%s>", kname);
            if (rc == TT_OK)
                rc =
                    build(svc, tt_aws_service_ref(svc, vref), item, vname, NULL, depth + 1, b, err);
            if (rc == TT_OK)
                rc = tt_buf_puts(b, "</entry>");
        }
        return rc == TT_OK ? tt_buf_printf(b, "</%s>", name) : rc;
    }
    tt_buf text;
    tt_buf_init(&text);
    rc = tt_aws_scalar_text(shape, value, "iso8601", &text);
    if (rc == TT_EINVAL) {
        tt_buf_cleanup(&text);
        return tt_error_set(err, TT_EINVAL, "invalid value for <%s>", name);
    }
    if (rc == TT_OK)
        rc = tt_buf_printf(b, "<%s", name);
    if (rc == TT_OK && xmlns != NULL)
        rc = tt_buf_printf(b, " xmlns=\"%s\"", xmlns);
    if (rc == TT_OK)
        rc = tt_buf_putc(b, '>');
    if (rc == TT_OK)
        rc = put_escaped(b, text.data != NULL ? text.data : "", text.len);
    if (rc == TT_OK)
        rc = tt_buf_printf(b, "</%s>", name);
    tt_buf_cleanup(&text);
    return rc;
}

tt_code tt_aws_xml_build(const tt_aws_service *svc, json_t *shape, json_t *value,
                         const char *root_name, const char *xmlns, tt_buf *out, tt_error *err)
{
    tt_code rc = tt_buf_puts(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    if (rc == TT_OK)
        rc = build(svc, shape, value, root_name, xmlns, 0, out, err);
    if (rc == TT_ENOMEM)
        tt_error_set(err, TT_ENOMEM, "out of memory serialising the input");
    return rc;
}
