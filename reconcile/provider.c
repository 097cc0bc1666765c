#include "provider.h"

void tt_provider_status_none(const tt_diff_input *in, json_t *status)
{
    (void)in;
    (void)status;
}

tt_code tt_provider_remove_none(const tt_diff_input *in, json_t *plan, tt_error *err)
{
    (void)in;
    (void)plan;
    (void)err;
    return TT_OK;
}

const char *tt_provider_affinity_none(const tt_resource *r)
{
    (void)r;
    return NULL;
}

int tt_provider_applied_none(const tt_resource *r, json_t *observed, const json_t *call,
                             const json_t *output)
{
    (void)r;
    (void)observed;
    (void)call;
    (void)output;
    return 0;
}
