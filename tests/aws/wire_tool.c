/*
 * wire_tool — serialises operation inputs read as JSON lines on stdin
 * ({"service", "operation", "input", "json": true to choose JSON where offered}) with trimtab's protocol layer and prints one JSON line
 * per input: {"method", "path", "query": [[k, v]...], "headers": {name: value}, "body"} or
 * {"error": message}. Used by wire_vs_botocore.py, which compares with botocore's serializers.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "tt_aws_model.h"
#include "tt_aws_protocol.h"

int main(void)
{
    static const char *const json_services[] = {"cloudwatch", NULL};
    tt_aws_models *models = tt_aws_models_create(NULL);
    tt_aws_models *json_models = tt_aws_models_create(json_services);
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, stdin) > 0) {
        json_error_t jerr;
        tt_error err;
        tt_aws_wire w;
        json_t *req = json_loads(line, 0, &jerr), *res;
        tt_aws_models *reg = json_is_true(json_object_get(req, "json")) ? json_models : models;
        const tt_aws_service *svc =
            tt_aws_models_get(reg, json_string_value(json_object_get(req, "service")), &err);
        tt_aws_wire_init(&w);
        if (svc != NULL &&
            tt_aws_serialize(svc, json_string_value(json_object_get(req, "operation")),
                             json_object_get(req, "input"), &w, &err) == TT_OK) {
            json_t *q = json_array(), *h = json_object();
            for (size_t i = 0; i < w.nquery; i++)
                json_array_append_new(q, json_pack("[s, s]", w.query[i].name, w.query[i].value));
            for (size_t i = 0; i < w.nheaders; i++)
                json_object_set_new(h, w.headers[i].name, json_string(w.headers[i].value));
            res = json_pack("{s:s, s:s, s:o, s:o, s:s%}", "method", w.method, "path",
                            tt_buf_str(&w.path), "query", q, "headers", h, "body",
                            w.body.data != NULL ? w.body.data : "", w.body.len);
        } else {
            res = json_pack("{s:s}", "error", err.message);
        }
        char *text = json_dumps(res, JSON_COMPACT);
        printf("%s\n", text);
        free(text);
        json_decref(res);
        json_decref(req);
        tt_aws_wire_cleanup(&w);
    }
    free(line);
    tt_aws_models_destroy(models);
    tt_aws_models_destroy(json_models);
    return 0;
}
