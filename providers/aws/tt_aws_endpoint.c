#include "tt_aws_endpoint.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tt_str.h"

static int region_ok(const char *r)
{
    size_t n = strlen(r);
    if (n == 0 || n > 40)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!(islower((unsigned char)r[i]) || isdigit((unsigned char)r[i]) || r[i] == '-'))
            return 0;
    }
    return 1;
}

/* Splits an override URL into url (no trailing slash) and host[:port]. */
static tt_code from_url(const char *url, tt_aws_endpoint *out, tt_error *err)
{
    const char *p;
    if (tt_startswith(url, "https://"))
        p = url + 8;
    else if (tt_startswith(url, "http://"))
        p = url + 7;
    else
        return tt_error_set(err, TT_EINVAL,
                            "endpoint URL %.200s must start with http:// or "
                            "https://",
                            url);
    size_t hostlen = strcspn(p, "/?#");
    if (hostlen == 0 || hostlen >= sizeof(out->host) || strlen(url) >= sizeof(out->url))
        return tt_error_set(err, TT_EINVAL, "bad endpoint URL %.200s", url);
    memcpy(out->host, p, hostlen);
    out->host[hostlen] = '\0';
    snprintf(out->url, sizeof(out->url), "%s", url);
    size_t n = strlen(out->url);
    while (n > 0 && out->url[n - 1] == '/')
        out->url[--n] = '\0';
    return TT_OK;
}

static const char *configured_url(const tt_aws_service *svc, json_t *profile)
{
    const char *ignore = getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
    char name[128];
    size_t j = 0;

    if (ignore != NULL && strcasecmp(ignore, "true") == 0)
        return NULL;
    j = (size_t)snprintf(name, sizeof(name), "AWS_ENDPOINT_URL_");
    for (const char *s = svc->service_id; *s != '\0' && j + 1 < sizeof(name); s++)
        name[j++] = *s == ' ' || *s == '-' ? '_' : (char)toupper((unsigned char)*s);
    name[j] = '\0';
    const char *v = getenv(name);
    if (v != NULL && v[0] != '\0')
        return v;
    v = getenv("AWS_ENDPOINT_URL");
    if (v != NULL && v[0] != '\0')
        return v;
    v = json_string_value(json_object_get(profile, "endpoint_url"));
    return v != NULL && v[0] != '\0' ? v : NULL;
}

/* Partition-global services (botocore's endpoints.json marks them "partitionEndpoint"); STS
 * has a global endpoint too but the SDKs now default to its regional ones. */
static int is_global(const tt_aws_service *svc)
{
    static const char *const global[] = {"cloudfront", "budgets", "iam", "route53"};
    for (size_t i = 0; i < sizeof(global) / sizeof(global[0]); i++) {
        if (strcmp(svc->name, global[i]) == 0)
            return 1;
    }
    return 0;
}

tt_code tt_aws_endpoint_resolve(const tt_aws_service *svc, const char *region, json_t *profile,
                                tt_aws_endpoint *out, tt_error *err)
{
    int global = is_global(svc);
    int china = region != NULL && tt_startswith(region, "cn-");
    const char *suffix = china ? "amazonaws.com.cn" : "amazonaws.com";

    memset(out, 0, sizeof(*out));
    if (region != NULL && region[0] != '\0' && !region_ok(region))
        return tt_error_set(err, TT_EINVAL, "malformed region '%.60s'", region);
    if (global) {
        snprintf(out->signing_region, sizeof(out->signing_region), "%s",
                 china                                                ? "cn-northwest-1"
                 : region != NULL && tt_startswith(region, "us-gov-") ? "us-gov-west-1"
                                                                      : "us-east-1");
    } else if (region == NULL || region[0] == '\0') {
        return tt_error_set(err, TT_EINVAL,
                            "no region for %s: set --region, AWS_REGION or the profile's region",
                            svc->name);
    } else {
        snprintf(out->signing_region, sizeof(out->signing_region), "%s", region);
    }
    const char *override = configured_url(svc, profile);
    if (override != NULL)
        return from_url(override, out, err);
    if (global) {
        snprintf(out->host, sizeof(out->host), "%s.%s", svc->endpoint_prefix, suffix);
    } else {
        snprintf(out->host, sizeof(out->host), "%s.%s.%s", svc->endpoint_prefix, region, suffix);
    }
    snprintf(out->url, sizeof(out->url), "https://%s", out->host);
    return TT_OK;
}
