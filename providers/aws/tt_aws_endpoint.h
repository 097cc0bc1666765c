/*
 * tt_aws_endpoint — where a service's requests go and which region signs them.
 *
 * Defaults are the real AWS endpoints: https://{endpointPrefix}.{region}.amazonaws.com (".cn"
 * in China); the partition-global services (CloudFront, Budgets) use their global host signed
 * for us-east-1 (cn-northwest-1 in China); STS is regional, as the SDKs now default to.
 * AWS_ENDPOINT_URL_<SERVICE_ID> (the service id upper-cased, spaces as underscores, e.g.
 * AWS_ENDPOINT_URL_APPLICATION_AUTO_SCALING), then AWS_ENDPOINT_URL, then the profile's
 * endpoint_url override them unless AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true.
 */
#ifndef TT_AWS_ENDPOINT_H
#define TT_AWS_ENDPOINT_H

#include <jansson.h>

#include "tt_aws_model.h"
#include "tt_error.h"

typedef struct tt_aws_endpoint {
    char url[512];  /* scheme://host[:port][/base], no trailing slash */
    char host[300]; /* the Host header: host[:port] */
    char signing_region[64];
} tt_aws_endpoint;

/*
 * Resolves the endpoint of `svc` in `region` (may be NULL or "" for global services).
 * `profile` is the shared-config profile object or NULL. TT_EINVAL when a regional service has
 * no region or the region or override is malformed.
 */
tt_code tt_aws_endpoint_resolve(const tt_aws_service *svc, const char *region, json_t *profile,
                                tt_aws_endpoint *out, tt_error *err);

#endif
