/*
 * The registry of provider reconcilers: one const struct each, looked up by resource.
 * A resource no provider handles yet is reported by the engine as not implemented.
 */
#include <stddef.h>

#include "providers.h"

extern const tt_provider tt_provider_ecs;
extern const tt_provider tt_provider_rds;
extern const tt_provider tt_provider_cloudfront;
extern const tt_provider tt_provider_aurora;
extern const tt_provider tt_provider_elasticache;
extern const tt_provider tt_provider_lambda;
extern const tt_provider tt_provider_cloudwatch;
extern const tt_provider tt_provider_budgets;
extern const tt_provider tt_provider_secretsmanager;

const tt_provider *const tt_providers[] = {
    &tt_provider_ecs,
    &tt_provider_rds,
    &tt_provider_cloudfront,
    &tt_provider_aurora,
    &tt_provider_elasticache,
    &tt_provider_lambda,
    &tt_provider_cloudwatch,
    &tt_provider_budgets,
    &tt_provider_secretsmanager,
    NULL,
};

const tt_provider *tt_provider_for(const tt_resource *r)
{
    for (size_t i = 0; tt_providers[i] != NULL; i++) {
        if (tt_providers[i]->handles(r))
            return tt_providers[i];
    }
    return NULL;
}
