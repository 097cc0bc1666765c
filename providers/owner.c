#include "owner.h"

#include <stdio.h>
#include <string.h>

#include "plan.h"
#include "tt_str.h"

/* The name `trimtab import` recorded for the object, if any: it is used as is, since the object
 * exists under that name and AWS accepted it. */
static const char *external_name(const tt_resource *r, const char *part)
{
    char key[300];

    if (r->nannotations == 0)
        return NULL;
    if (part == NULL)
        return tt_resource_annotation(r, TT_ANN_EXTERNAL_NAME);
    if ((size_t)snprintf(key, sizeof(key), "%s.%s", TT_ANN_EXTERNAL_NAME, part) >= sizeof(key))
        return NULL;
    return tt_resource_annotation(r, key);
}

void tt_owner_name(const tt_resource *r, const char *part, size_t maxlen, char *out, size_t outlen)
{
    const char *ext = external_name(r, part);
    char full[1024];
    size_t n;

    if (ext != NULL) {
        snprintf(out, outlen, "%s", ext);
        return;
    }
    if (part != NULL)
        n = (size_t)snprintf(full, sizeof(full), "trimtab-%s-%s-%s", r->namespace_, r->name, part);
    else
        n = (size_t)snprintf(full, sizeof(full), "trimtab-%s-%s", r->namespace_, r->name);
    if (n >= sizeof(full))
        n = sizeof(full) - 1;
    if (maxlen > outlen - 1)
        maxlen = outlen - 1;
    if (n <= maxlen) {
        memcpy(out, full, n + 1);
        return;
    }
    /* Keep a readable prefix and make it unique with a hash of the whole name. */
    snprintf(out, outlen, "%.*s-%08x", (int)(maxlen - 9), full,
             (unsigned)(tt_hash64(full, n) & 0xffffffffu));
}

void tt_owner_value(const tt_resource *r, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/%s", r->namespace_, r->name);
}

const char *tt_owner_tag_in(const json_t *tags)
{
    return json_string_value(json_object_get(tags, TT_OWNER_TAG));
}

tt_owner_verdict tt_owner_check(const tt_resource *r, bool memo_owned, const char *tag,
                                const char *what, tt_diff_output *out)
{
    char owner[600];

    if (memo_owned)
        return TT_OWNER_OURS;
    tt_owner_value(r, owner, sizeof(owner));
    if (tag != NULL && strcmp(tag, owner) == 0)
        return TT_OWNER_OURS;
    if (tag != NULL) {
        out->blocked = "ConflictingOwner";
        snprintf(out->message, sizeof(out->message), "%s is managed by trimtab resource %s", what,
                 tag);
        return TT_OWNER_CONFLICT;
    }
    /* An imported resource declares these objects its own; tagging them would show up as drift
     * in the CDK or Terraform stack that made them, and `plan` right after an import must be
     * empty. */
    if (r->imported && r->spec.common->adopt.v)
        return TT_OWNER_OURS;
    if (!r->spec.common->adopt.v) {
        out->blocked = "AdoptionRefused";
        snprintf(out->message, sizeof(out->message),
                 "%s already exists and is not managed by trimtab; set spec.adopt: true to take "
                 "it over",
                 what);
        return TT_OWNER_REFUSED;
    }
    return TT_OWNER_ADOPT;
}

bool tt_owner_claims(const tt_resource *r)
{
    return !r->imported;
}

bool tt_owner_may_delete(const tt_resource *r, bool memo_owned, const char *tag)
{
    char owner[600];

    if (memo_owned)
        return true;
    tt_owner_value(r, owner, sizeof(owner));
    return tag != NULL && strcmp(tag, owner) == 0;
}

json_t *tt_owner_tag_action(json_t *plan, const tt_resource *r, const char *object,
                            const char *service, const char *operation, const char *region,
                            json_t *input)
{
    char owner[600];
    json_t *a = tt_plan_add(plan, "tag", object, service, operation, region, input);

    tt_owner_value(r, owner, sizeof(owner));
    if (a != NULL)
        tt_action_change(a, TT_OWNER_TAG, NULL, json_string(owner));
    return a;
}

int tt_owner_gate(const tt_resource *r, bool memo_owned, const char *tag, const char *what,
                  tt_diff_output *out, const char *service, const char *operation,
                  const char *region, json_t *tag_input)
{
    char object[700];

    switch (tt_owner_check(r, memo_owned, tag, what, out)) {
    case TT_OWNER_OURS:
        json_decref(tag_input);
        return 0;
    case TT_OWNER_REFUSED:
    case TT_OWNER_CONFLICT:
        json_decref(tag_input);
        return -1;
    case TT_OWNER_ADOPT:
        break;
    }
    snprintf(object, sizeof(object), "%s (adopt)", what);
    tt_owner_tag_action(out->plan, r, object, service, operation, region, tag_input);
    return 0;
}
