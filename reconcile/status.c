/* status.c — status conditions (Ready, Synced, Drifted) and the reasons and messages they carry. */
#include "engine_internal.h"

#include <stdio.h>
#include <string.h>

#include "tt_str.h"

/* ---- status conditions -------------------------------------------------------------------- */

/* Sets a condition, keeping lastTransitionTime when its status does not change. Returns 1
 * when status or reason changed. */
int status_set_condition(json_t *status, const char *type, const char *cstatus, const char *reason,
                         const char *message, json_int_t generation)
{
    json_t *conds = json_object_get(status, "conditions"), *c = NULL, *fresh;
    char now[32];
    size_t i;
    int changed = 1;

    if (!json_is_array(conds)) {
        conds = json_array();
        json_object_set_new(status, "conditions", conds);
    }
    json_array_foreach(conds, i, c)
    {
        if (tt_streq(json_string_value(json_object_get(c, "type")), type))
            break;
    }
    tt_format_now(now, sizeof(now), 0);
    fresh = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I}", "type", type, "status", cstatus, "reason",
                      reason, "message", message ? message : "", "lastTransitionTime", now,
                      "observedGeneration", generation);
    if (fresh == NULL)
        return 0;
    if (i < json_array_size(conds)) {
        if (tt_streq(json_string_value(json_object_get(c, "status")), cstatus)) {
            json_object_set(fresh, "lastTransitionTime", json_object_get(c, "lastTransitionTime"));
            changed = !tt_streq(json_string_value(json_object_get(c, "reason")), reason);
        }
        json_array_set_new(conds, i, fresh);
    } else {
        json_array_append_new(conds, fresh);
    }
    return changed;
}

const char *status_reason_of(const tt_error *err)
{
    switch (err->code) {
    case TT_ETHROTTLED:
        return "AwsThrottled";
    case TT_EUNAVAILABLE:
        return "AwsUnavailable";
    case TT_EACCESS:
        return "AccessDenied";
    case TT_ECREDENTIALS:
        return "NoCredentials";
    case TT_ECONFLICT:
        return "Conflict";
    case TT_ENOTFOUND:
        return "NotFound";
    case TT_ECANCELLED:
        return "Cancelled";
    default:
        return "AwsError";
    }
}

void status_error_text(const tt_error *err, char *out, size_t len)
{
    if (err->service_code[0] != '\0' && strstr(err->message, err->service_code) == NULL)
        snprintf(out, len, "%s: %s", err->service_code, err->message);
    else
        snprintf(out, len, "%s", err->message);
}

json_int_t status_generation_of(const json_t *record)
{
    return json_integer_value(json_object_get(json_object_get(record, "metadata"), "generation"));
}

/* What a resource manages, in short, for status and `trimtab status`'s TARGET column. */
void status_target(const tt_resource *r, char *out, size_t len)
{
    switch (r->kind) {
    case TT_KIND_SCALING_POLICY:
        tt_target_describe(r->spec.sp->target, out, len);
        break;
    case TT_KIND_ALARM:
        if (r->spec.alarm->target != NULL)
            tt_target_describe(r->spec.alarm->target, out, len);
        else if (r->spec.alarm->metric != NULL)
            snprintf(out, len, "metric %s %s", r->spec.alarm->metric->namespace_,
                     r->spec.alarm->metric->metric_name);
        else
            snprintf(out, len, "composite");
        break;
    case TT_KIND_BUDGET:
        snprintf(out, len, "budget %g %s %s", r->spec.budget->limit->amount.v,
                 r->spec.budget->limit->unit, r->spec.budget->time_unit);
        break;
    default:
        snprintf(out, len, "secret %s", r->spec.rotation->secret_id);
        break;
    }
}
