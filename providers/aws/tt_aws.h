/*
 * tt_aws — trimtab's AWS client: one per process, on the caller's libev loop.
 *
 * A call names a service (as the AWS CLI does: "application-autoscaling", "cloudwatch"), an
 * operation ("DescribeScalableTargets") and takes its input as a jansson object in botocore's
 * input shape — exactly what boto3 takes as keyword arguments. The output arrives as a jansson
 * object in botocore's output shape (what boto3 returns, minus ResponseMetadata), for all four
 * protocols. Timestamps are ISO 8601 UTC strings in outputs, blobs base64 strings.
 *
 * Behind a call: input validation against the embedded model, the credential chain (or an
 * assumed role, cached per role), endpoint resolution with AWS_ENDPOINT_URL(_<SERVICE>)
 * overrides, a token bucket per service and region, SigV4, curl multi on the loop, the SDKs'
 * "standard" retry mode (3 attempts, full-jitter backoff capped at 20 s, a 500-token retry
 * quota, Retry-After honoured), and counters per service, operation and outcome.
 *
 * Callback rule (libuv's): when tt_aws_call() or tt_aws_paginate() returns an error, the
 * callback is never called; otherwise it is called exactly once, from the loop, never from
 * inside the function that started the call.
 *
 * Credentials and signatures never appear in any log line or error message.
 */
#ifndef TT_AWS_H
#define TT_AWS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "tt_error.h"

struct ev_loop;
typedef struct tt_aws tt_aws;

/* What happened to one call (the last attempt's result decides). */
typedef enum tt_aws_outcome {
    TT_AWS_OK,          /* a 2xx response, parsed */
    TT_AWS_ERROR,       /* an AWS error or a local failure that retrying cannot cure */
    TT_AWS_THROTTLED,   /* still throttled after every attempt */
    TT_AWS_UNAVAILABLE, /* 5xx, reset or timeout after every attempt */
    TT_AWS_CANCELLED,   /* cancelled by tt_aws_cancel_all() or tt_aws_destroy() */
    TT_AWS_RETRIED,     /* not an end: counts every retry attempt */
    TT_AWS_THROTTLE,    /* not an end: counts every throttled response, retried or not */
    TT_AWS_OUTCOME_COUNT
} tt_aws_outcome;

/* "ok", "error", "throttled", "unavailable", "cancelled", "retried", "throttle". */
const char *tt_aws_outcome_name(tt_aws_outcome o);

/* Passed to the per-call hook when a call ends. Everything is borrowed for the call. */
typedef struct tt_aws_call_info {
    const char *service;
    const char *operation;
    const char *region;
    int readonly; /* Describe*, List*, Get*: a read; everything else a write */
    tt_aws_outcome outcome;
    int attempts;
    int http_status; /* of the last attempt; 0 when none */
    double seconds;  /* from tt_aws_call() to the callback */
} tt_aws_call_info;

typedef void (*tt_aws_hook)(void *ud, const tt_aws_call_info *info);

/* Client settings. Zero means "the default" everywhere, so `tt_aws_config cfg = {0}` works.
 * Strings and lists are read by tt_aws_create() only; hook_ud is kept (borrowed). */
typedef struct tt_aws_config {
    const char *region;               /* NULL: AWS_REGION, AWS_DEFAULT_REGION, then the profile's */
    const char *profile;              /* NULL: AWS_PROFILE, then "default" */
    int max_attempts;                 /* 0: 3, or AWS_MAX_ATTEMPTS */
    double rate;                      /* requests/s per service and region; 0: 20; < 0: unlimited */
    double burst;                     /* bucket size; 0: max(rate, 1) * 2 */
    long connect_timeout_ms;          /* 0: 3000 */
    long timeout_ms;                  /* per attempt; 0: 30000 */
    double max_backoff;               /* seconds; 0: 20 (tests lower it) */
    long max_host_connections;        /* connections per endpoint; 0: 64 (more calls queue) */
    int max_in_flight;                /* calls past the line (rate wait, credentials, on the
                                       * wire); 0: 64. The rest wait in order holding no easy
                                       * handle, connection or buffer. */
    const char *const *json_services; /* NULL-terminated: speak JSON where the model offers
                                       * it, e.g. {"cloudwatch", NULL}; NULL: the defaults */
    tt_aws_hook hook;                 /* optional: called as every call ends */
    void *hook_ud;
} tt_aws_config;

/* One call. Every pointer is borrowed for the duration of tt_aws_call(). */
typedef struct tt_aws_req {
    const char *service;   /* AWS CLI name: "application-autoscaling", "cloudwatch", "lambda" */
    const char *operation; /* API name: "DescribeScalableTargets" */
    const char *region;    /* NULL: the client's region */
    const char *role_arn;  /* NULL, or a role to assume through STS (cached per role) */
    json_t *input;         /* botocore's input shape; NULL means {} */
} tt_aws_req;

/* `output` is borrowed: json_incref() it to keep it. `err` is NULL on success. */
typedef void (*tt_aws_cb)(void *ud, json_t *output, const tt_error *err);

/*
 * Creates the client: loads the shared config files, resolves the region and the credential
 * chain (nothing is fetched yet), creates the HTTP engine on `loop`. NULL with `err` set.
 */
tt_aws *tt_aws_create(struct ev_loop *loop, const tt_aws_config *cfg, tt_error *err);

/* Cancels every call in flight (callbacks get TT_ECANCELLED), then frees. Accepts NULL. */
void tt_aws_destroy(tt_aws *aws);

/* Starts one call. See the callback rule above. */
int tt_aws_call(tt_aws *aws, const tt_aws_req *req, tt_aws_cb cb, void *ud, tt_error *err);

/*
 * Starts a paginated call: follows the service's tokens (botocore's paginator for the
 * operation) and delivers one output with every page's result keys concatenated and the
 * output token removed. Operations without a paginator behave as tt_aws_call(). At most 1,000
 * pages; a token repeated by the service is an error.
 */
int tt_aws_paginate(tt_aws *aws, const tt_aws_req *req, tt_aws_cb cb, void *ud, tt_error *err);

/* Cancels every call and pagination in flight; each callback gets TT_ECANCELLED. */
void tt_aws_cancel_all(tt_aws *aws);

/* Calls in flight (paginations count once). */
size_t tt_aws_inflight(const tt_aws *aws);

/*
 * For the CLI and tests: runs the loop until this one call (paginated when `paginate`) ends.
 * On success *out receives a new reference. Returns the call's code.
 */
int tt_aws_call_sync(tt_aws *aws, const tt_aws_req *req, int paginate, json_t **out, tt_error *err);

/* The HTTP engine (one curl multi handle on the loop), borrowed, so other clients on the same
 * loop (the Kubernetes client) share its connections and timers instead of running their own. */
struct tt_http;
struct tt_http *tt_aws_http(tt_aws *aws);

/*
 * Loads the model of `service` ("ecs", "cloudwatch"...) now instead of at its first call;
 * unknown names are ignored. A model is thousands of small allocations that live as long as
 * the process: made before the first reconcile, they sit together, not scattered among the
 * reconcile's short-lived ones where each would keep a page of freed memory resident.
 */
void tt_aws_prepare(tt_aws *aws, const char *service);

/* The region calls use by default ("" when none is configured). */
const char *tt_aws_region(const tt_aws *aws);

/* Where the default credentials come from ("environment", "profile dev", ...). */
const char *tt_aws_credentials_source(tt_aws *aws);

/* Visits every non-zero counter: service, operation, outcome, count. */
typedef void (*tt_aws_metric_fn)(void *ud, const char *service, const char *operation,
                                 tt_aws_outcome outcome, uint64_t count);
void tt_aws_metrics_foreach(const tt_aws *aws, tt_aws_metric_fn fn, void *ud);
/* One counter (0 when never counted). */
uint64_t tt_aws_metric(const tt_aws *aws, const char *service, const char *operation,
                       tt_aws_outcome outcome);

/*
 * Appends the counters in Prometheus' text exposition format to `out`:
 *   # TYPE trimtab_aws_calls_total counter
 *   trimtab_aws_calls_total{service="ecs",operation="DescribeServices",outcome="ok"} 12
 * (calls by how they ended), trimtab_aws_retries_total{service,operation} (retry attempts),
 * trimtab_aws_throttles_total{service,operation} (throttled responses, retried or not) and
 * trimtab_aws_retry_quota (a gauge). TT_ENOMEM on failure.
 */
struct tt_buf;
tt_code tt_aws_metrics_prometheus(const tt_aws *aws, struct tt_buf *out);

/* The retry quota left (500 when nothing failed lately), for tests and metrics. */
int tt_aws_retry_quota(const tt_aws *aws);

#endif
