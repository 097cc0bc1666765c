/*
 * sigv4_tool — signs requests read as JSON lines on stdin and prints one line per request:
 * the signature, a space, the canonical request's SHA-256. Used by sigv4_vs_botocore.py, which
 * signs the same requests with botocore's SigV4Auth and compares.
 *
 * Input line: {"method","path","query":[[k,v]...],"headers":[[n,v]...],"body","region",
 *              "service","time","ak","sk","token"}
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tt_sigv4.h"

static int sign_line(const char *line)
{
    json_error_t jerr;
    json_t *j = json_loads(line, 0, &jerr);
    tt_sigv4_param query[256];
    tt_sigv4_header headers[64];
    size_t nq = 0, nh = 0;
    tt_sigv4_result r;
    tt_error err;
    int rc = 1;

    if (j == NULL) {
        fprintf(stderr, "sigv4_tool: bad JSON line: %s\n", jerr.text);
        return 1;
    }
    json_t *pair;
    size_t i;
    json_array_foreach(json_object_get(j, "query"), i, pair)
    {
        if (nq < 256) {
            query[nq].key = json_string_value(json_array_get(pair, 0));
            query[nq].value = json_string_value(json_array_get(pair, 1));
            nq++;
        }
    }
    json_array_foreach(json_object_get(j, "headers"), i, pair)
    {
        if (nh < 64) {
            headers[nh].name = json_string_value(json_array_get(pair, 0));
            headers[nh].value = json_string_value(json_array_get(pair, 1));
            nh++;
        }
    }
    json_t *body = json_object_get(j, "body");
    tt_sigv4_request req = {
        .method = json_string_value(json_object_get(j, "method")),
        .path = json_string_value(json_object_get(j, "path")),
        .query = query,
        .nquery = nq,
        .headers = headers,
        .nheaders = nh,
        .body = json_string_value(body),
        .body_len = json_string_length(body),
        .region = json_string_value(json_object_get(j, "region")),
        .service = json_string_value(json_object_get(j, "service")),
        .when = (time_t)json_integer_value(json_object_get(j, "time")),
        .normalize_path = 1,
    };
    tt_sigv4_creds creds = {
        json_string_value(json_object_get(j, "ak")),
        json_string_value(json_object_get(j, "sk")),
        json_string_value(json_object_get(j, "token")),
    };
    tt_sigv4_result_init(&r);
    if (tt_sigv4_sign(&req, &creds, &r, &err) == TT_OK) {
        char h[65];
        tt_sigv4_sha256_hex(r.canonical_request.data, r.canonical_request.len, h);
        printf("%s %s\n", r.signature, h);
        rc = 0;
    } else {
        printf("error %s\n", err.message);
    }
    tt_sigv4_result_cleanup(&r);
    json_decref(j);
    return rc;
}

int main(int argc, char **argv)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int failures = 0;
    (void)argc;
    (void)argv;
    while ((n = getline(&line, &cap, stdin)) > 0)
        failures += sign_line(line);
    free(line);
    return failures == 0 ? 0 : 1;
}
