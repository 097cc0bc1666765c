/*
 * bench_sigv4 — SigV4 signatures per second for a typical JSON 1.1 request (Application Auto
 * Scaling DescribeScalableTargets with a session token). Prints one JSON line.
 *
 * Usage: bench_sigv4 [SECONDS]
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tt_sigv4.h"
#include "tt_str.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    double seconds = 2.0;
    if (argc > 1 && tt_parse_double(argv[1], &seconds) != 0)
        return 2;
    const char *body = "{\"ServiceNamespace\":\"ecs\",\"ResourceIds\":[\"service/prod/api\"]}";
    tt_sigv4_header headers[] = {
        {"Host", "application-autoscaling.eu-west-3.amazonaws.com"},
        {"Content-Type", "application/x-amz-json-1.1"},
        {"X-Amz-Target", "AnyScaleFrontendService.DescribeScalableTargets"},
    };
    tt_sigv4_request req = {
        .method = "POST",
        .path = "/",
        .headers = headers,
        .nheaders = 3,
        .body = body,
        .body_len = strlen(body),
        .region = "eu-west-3",
        .service = "application-autoscaling",
        .when = 1700000000,
        .normalize_path = 1,
    };
    tt_sigv4_creds creds = {"ASIAEXAMPLEEXAMPLE01", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                            "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKENEXAMPLESESSIONTOKEN"};
    tt_sigv4_result r;
    tt_error err;
    long n = 0;
    tt_sigv4_result_init(&r);
    double t0 = now(), t;
    do {
        for (int i = 0; i < 1000; i++) {
            if (tt_sigv4_sign(&req, &creds, &r, &err) != TT_OK) {
                fprintf(stderr, "bench_sigv4: %s\n", err.message);
                return 1;
            }
        }
        n += 1000;
        t = now() - t0;
    } while (t < seconds);
    printf("{\"signatures\": %ld, \"seconds\": %.3f, \"signatures_per_s\": %.0f, "
           "\"us_per_signature\": %.2f}\n",
           n, t, n / t, t / n * 1e6);
    tt_sigv4_result_cleanup(&r);
    return 0;
}
