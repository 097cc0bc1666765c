/*
 * xml_tool — parses documents with tt_xml and prints what it read, for xml_vs_expat.py. Reads
 * one JSON line per document ({"b64": base64 of the bytes}) and prints one JSON line:
 * {"tree": [name, [[attr, value]...], [child...]]} (a child is a string of character data or
 * such a list) or {"error": message}.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tt_buf.h"
#include "tt_xml.h"

static json_t *tree(const tt_xml_node *n)
{
    json_t *attrs = json_array(), *children = json_array();
    for (const tt_xml_attr *a = n->attrs; a != NULL; a = a->next)
        json_array_append_new(attrs, json_pack("[s, s]", a->name, a->value));
    for (const tt_xml_node *c = n->children; c != NULL; c = c->next)
        json_array_append_new(children, c->name != NULL ? tree(c) : json_stringn(c->text, c->len));
    return json_pack("[s, o, o]", n->name, attrs, children);
}

int main(void)
{
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, stdin) > 0) {
        json_t *req = json_loads(line, 0, NULL), *res;
        const char *b64 = json_string_value(json_object_get(req, "b64"));
        tt_buf data;
        tt_error err;
        tt_buf_init(&data);
        tt_error_clear(&err);
        if (b64 != NULL)
            tt_buf_base64_decode(&data, b64, strlen(b64));
        tt_xml_doc *doc = tt_xml_parse(data.data != NULL ? data.data : "", data.len, &err);
        if (doc != NULL)
            res = json_pack("{s:o}", "tree", tree(tt_xml_root(doc)));
        else
            res = json_pack("{s:s}", "error", err.message);
        char *text = json_dumps(res, JSON_COMPACT | JSON_ENSURE_ASCII);
        printf("%s\n", text);
        fflush(stdout);
        free(text);
        json_decref(res);
        json_decref(req);
        tt_xml_free(doc);
        tt_buf_cleanup(&data);
    }
    free(line);
    return 0;
}
