/* libFuzzer target: JSON responses (JSON 1.0/1.1 and REST-JSON protocols), errors included. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_aws_response.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct fuzz_op ops[] = {
    {"application-autoscaling", "DescribeScalableTargets"},
    {"application-autoscaling", "DescribeScalingPolicies"},
    {"ecs", "DescribeServices"},
    {"budgets", "DescribeBudgets"},
    {"secretsmanager", "DescribeSecret"},
    {"lambda", "GetFunction"},
    {"lambda", "GetProvisionedConcurrencyConfig"},
    {"lambda", "PutFunctionConcurrency"},
    {"cloudwatch", "DescribeAlarms"}, /* JSON 1.0, chosen below */
    {"application-autoscaling", "GetPredictiveScalingForecast"},
};

static const char *const json_services[] = {"cloudwatch", NULL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_aws_response(ops, sizeof(ops) / sizeof(ops[0]), json_services, data, size);
    return 0;
}
