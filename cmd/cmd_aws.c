/*
 * trimtab aws SERVICE OPERATION [--input JSON] [--region R] — one call through the AWS layer,
 * with the same credential chain, endpoint overrides, retries and rate limits as the operator.
 * Prints the parsed output as JSON on stdout (exit 0) or the AWS error record on stderr
 * (exit 1). Usage errors exit 2.
 */
#include <ev.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "tt_aws.h"
#include "tt_json.h"
#include "tt_log.h"

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: trimtab aws SERVICE OPERATION [--input JSON|@FILE] [--region R]\n"
            "                   [--profile P] [--role-arn ARN] [--paginate] [--json-protocol]\n"
            "                   [--debug]\n\n"
            "Sends one signed request through trimtab's AWS layer and prints the response.\n"
            "SERVICE is the AWS CLI's name (application-autoscaling, cloudwatch, ecs, rds,\n"
            "elasticache, lambda, cloudfront, budgets, secretsmanager, sts); OPERATION the API's\n"
            "(DescribeScalableTargets). JSON is the input as boto3 takes it, e.g.\n"
            "  trimtab aws application-autoscaling DescribeScalableTargets \\\n"
            "      --input '{\"ServiceNamespace\": \"ecs\"}'\n"
            "Credentials, region and endpoints come from the usual AWS variables and files\n"
            "(AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL[_<SERVICE>], ...).\n"
            "--json-protocol speaks JSON to a service that offers it besides its default\n"
            "(CloudWatch: JSON 1.0 instead of Query). --debug logs each attempt on stderr.\n"
            "Exit status: 0 success (JSON on stdout), 1 AWS or local error (record on stderr),\n"
            "2 usage error.\n");
}

static void print_error(const tt_error *err)
{
    json_t *rec = json_pack("{s:{s:s, s:s, s:i, s:s, s:s}}", "Error", "Code",
                            err->service_code[0] ? err->service_code : tt_code_name(err->code),
                            "Message", err->message, "HTTPStatusCode", err->http_status,
                            "RequestId", err->request_id, "Kind", tt_code_name(err->code));
    char *text = rec != NULL ? tt_json_dumps(rec, JSON_INDENT(4)) : NULL;
    fprintf(stderr, "trimtab aws: %s\n%s\n", err->message, text != NULL ? text : "");
    free(text);
    json_decref(rec);
}

int tt_cmd_aws(int argc, char **argv)
{
    const char *service = NULL, *operation = NULL, *input_text = NULL;
    tt_aws_config cfg;
    tt_aws_req req;
    int paginate = 0, json_protocol = 0, rc = 1;
    const char *json_services[2] = {NULL, NULL};
    json_t *input = NULL, *out = NULL;
    tt_aws *aws = NULL;
    tt_error err;
    json_error_t jerr;

    memset(&cfg, 0, sizeof(cfg));
    memset(&req, 0, sizeof(req));
    tt_error_clear(&err);
    if (tt_cmd_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_value = i + 1 < argc;
        if (strcmp(a, "--input") == 0 && has_value) {
            input_text = argv[++i];
        } else if (strcmp(a, "--region") == 0 && has_value) {
            cfg.region = argv[++i];
        } else if (strcmp(a, "--profile") == 0 && has_value) {
            cfg.profile = argv[++i];
        } else if (strcmp(a, "--role-arn") == 0 && has_value) {
            req.role_arn = argv[++i];
        } else if (strcmp(a, "--paginate") == 0) {
            paginate = 1;
        } else if (strcmp(a, "--json-protocol") == 0) {
            json_protocol = 1;
        } else if (strcmp(a, "--debug") == 0) {
            tt_log_configure(TT_LOG_DEBUG, TT_LOG_TEXT, stderr);
        } else if (a[0] == '-' && a[1] == '-') {
            fprintf(stderr, "trimtab aws: unknown or incomplete option %s\n\n", a);
            usage(stderr);
            return 2;
        } else if (service == NULL) {
            service = a;
        } else if (operation == NULL) {
            operation = a;
        } else {
            fprintf(stderr, "trimtab aws: unexpected argument %s\n\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (service == NULL || operation == NULL) {
        usage(stderr);
        return 2;
    }
    if (json_protocol) {
        json_services[0] = service;
        cfg.json_services = json_services;
    }
    if (input_text != NULL) {
        input = input_text[0] == '@' ? json_load_file(input_text + 1, 0, &jerr)
                                     : json_loads(input_text, 0, &jerr);
        if (!json_is_object(input)) {
            fprintf(stderr, "trimtab aws: --input must be a JSON object: %s\n",
                    input == NULL ? jerr.text : "got another JSON type");
            json_decref(input);
            return 2;
        }
    }
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    if (loop == NULL) {
        fprintf(stderr, "trimtab aws: cannot create the event loop\n");
        json_decref(input);
        return 1;
    }
    aws = tt_aws_create(loop, &cfg, &err);
    if (aws == NULL)
        goto out;
    req.service = service;
    req.operation = operation;
    req.input = input;
    if (tt_aws_call_sync(aws, &req, paginate, &out, &err) != TT_OK)
        goto out;
    char *text = tt_json_dumps(out, JSON_INDENT(4));
    if (text != NULL) {
        printf("%s\n", text);
        free(text);
        rc = 0;
    }
out:
    if (rc != 0 && err.code != TT_OK)
        print_error(&err);
    json_decref(out);
    json_decref(input);
    tt_aws_destroy(aws);
    ev_loop_destroy(loop);
    return rc;
}
