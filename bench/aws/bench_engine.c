/*
 * bench_engine — N requests through trimtab's AWS engine with K in flight, against whatever
 * AWS_ENDPOINT_URL points at (awssim in bench/aws/run.sh). The requests cycle through one
 * read per protocol: application-autoscaling DescribeScalableTargets (JSON 1.1), sts
 * GetCallerIdentity (Query/XML), lambda GetFunction of "bench" (REST-JSON), cloudfront
 * GetDistribution of $BENCH_DISTRIBUTION_ID (REST-XML); run.sh creates both first. Prints one JSON line: wall and CPU seconds, peak RSS, calls,
 * failures.
 *
 * Usage: bench_engine [N] [IN_FLIGHT]
 */
#include <ev.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "tt_aws.h"
#include "tt_str.h"

struct bench {
    tt_aws *aws;
    json_t *inputs[4];
    long total, started, done, failed;
    tt_error last_err;
};

static const char *const services[4] = {"application-autoscaling", "sts", "lambda", "cloudfront"};
static const char *const operations[4] = {"DescribeScalableTargets", "GetCallerIdentity",
                                          "GetFunction", "GetDistribution"};

static void start_one(struct bench *b);

static void on_done(void *ud, json_t *output, const tt_error *err)
{
    struct bench *b = ud;
    (void)output;
    b->done++;
    if (err != NULL) {
        b->failed++;
        b->last_err = *err;
    }
    if (b->started < b->total)
        start_one(b);
}

static void start_one(struct bench *b)
{
    int k = (int)(b->started % 4);
    tt_aws_req req = {services[k], operations[k], NULL, NULL, b->inputs[k]};
    tt_error err;
    b->started++;
    if (tt_aws_call(b->aws, &req, on_done, b, &err) != TT_OK) {
        b->done++;
        b->failed++;
        b->last_err = err;
    }
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
    int64_t n = 10000, inflight = 64;
    struct bench b = {0};
    tt_error err;

    if ((argc > 1 && tt_parse_i64(argv[1], &n) != 0) ||
        (argc > 2 && tt_parse_i64(argv[2], &inflight) != 0) || n < 1 || inflight < 1) {
        fprintf(stderr, "usage: bench_engine [N] [IN_FLIGHT]\n");
        return 2;
    }
    struct ev_loop *loop = ev_default_loop(0);
    /* Unlimited client-side rate: the bench measures the engine, not the token bucket. */
    tt_aws_config cfg = {.rate = -1, .max_host_connections = inflight};
    b.aws = tt_aws_create(loop, &cfg, &err);
    if (b.aws == NULL) {
        fprintf(stderr, "bench_engine: %s\n", err.message);
        return 1;
    }
    const char *dist = getenv("BENCH_DISTRIBUTION_ID");
    b.inputs[0] = json_pack("{s:s}", "ServiceNamespace", "ecs");
    b.inputs[2] = json_pack("{s:s}", "FunctionName", "bench");
    b.inputs[3] = json_pack("{s:s}", "Id", dist != NULL ? dist : "EDFDVBD6EXAMPLE");
    b.total = (long)n;
    double cpu0 = cpu_seconds(), t0 = ev_time();
    for (int64_t i = 0; i < inflight && b.started < b.total; i++)
        start_one(&b);
    while (b.done < b.total)
        ev_run(loop, EVRUN_ONCE);
    double wall = ev_time() - t0, cpu = cpu_seconds() - cpu0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("{\"client\": \"trimtab\", \"requests\": %ld, \"in_flight\": %lld, \"failed\": %ld, "
           "\"wall_s\": %.3f, \"cpu_s\": %.3f, \"peak_rss_kib\": %ld, \"req_per_s\": %.0f}\n",
           b.total, (long long)inflight, b.failed, wall, cpu, ru.ru_maxrss, b.total / wall);
    if (b.failed > 0)
        fprintf(stderr, "bench_engine: %ld failed; last: %s\n", b.failed, b.last_err.message);
    for (int i = 0; i < 4; i++)
        json_decref(b.inputs[i]);
    tt_aws_destroy(b.aws);
    return b.failed == 0 ? 0 : 1;
}
