/* libFuzzer target: XML responses (Query and REST-XML protocols), errors included. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_aws_response.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct fuzz_op ops[] = {
    {"sts", "GetCallerIdentity"},
    {"sts", "AssumeRole"},
    {"rds", "DescribeDBInstances"},
    {"rds", "DescribeDBClusters"},
    {"cloudwatch", "DescribeAlarms"},
    {"elasticache", "DescribeReplicationGroups"},
    {"cloudfront", "GetDistributionConfig"},
    {"cloudfront", "ListTagsForResource"},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_aws_response(ops, sizeof(ops) / sizeof(ops[0]), NULL, data, size);
    return 0;
}
