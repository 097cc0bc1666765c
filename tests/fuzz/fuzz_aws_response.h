/*
 * Shared by the AWS response fuzzers: input byte 0 picks an operation from the target's table,
 * byte 1 an HTTP status (2xx, 4xx or 5xx) and the rest is the response body, parsed by the
 * very code that parses real AWS responses. Anything but a clean TT_OK or error is a bug.
 */
#ifndef FUZZ_AWS_RESPONSE_H
#define FUZZ_AWS_RESPONSE_H

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tt_aws_model.h"
#include "tt_aws_protocol.h"

struct fuzz_op {
    const char *service;
    const char *operation;
};

static inline void fuzz_aws_response(const struct fuzz_op *ops, size_t nops,
                                     const char *const *json_services, const uint8_t *data,
                                     size_t size)
{
    static tt_aws_models *models;
    static const long statuses[] = {200, 201, 400, 403, 404, 409, 412, 429, 500, 503};
    tt_http_response resp;
    tt_http_response_header headers[2] = {{(char *)"ETag", (char *)"E1"},
                                          {(char *)"x-amzn-RequestId", (char *)"r-1"}};
    tt_error err;
    json_t *out = NULL;

    if (size < 2)
        return;
    if (models == NULL)
        models = tt_aws_models_create(json_services);
    const struct fuzz_op *op = &ops[data[0] % nops];
    const tt_aws_service *svc = tt_aws_models_get(models, op->service, &err);
    if (svc == NULL)
        abort();
    memset(&resp, 0, sizeof(resp));
    resp.status = statuses[data[1] % (sizeof(statuses) / sizeof(statuses[0]))];
    resp.headers = headers;
    resp.nheaders = 2;
    tt_buf_init(&resp.body);
    if (tt_buf_append(&resp.body, data + 2, size - 2) != TT_OK)
        return;
    tt_error_clear(&err);
    tt_code rc = tt_aws_parse(svc, op->operation, &resp, &out, &err);
    if (rc == TT_OK) {
        if (out == NULL)
            abort();
        char *text = json_dumps(out, JSON_COMPACT);
        free(text);
        json_decref(out);
    } else if (out != NULL || err.message[0] == '\0') {
        abort(); /* an error always comes with a message and no output */
    }
    tt_buf_cleanup(&resp.body);
}

#endif
