/*
 * The account id of each role, read with STS GetCallerIdentity and cached (providers/sts.h).
 *
 * The cache is a short list owned by this module: one entry per role trimtab acts under, which
 * is a handful, created on the loop's thread only, and kept until the process exits.
 */
#include "sts.h"

#include <stdlib.h>
#include <string.h>

#include "batch.h"

struct account {
    char *role; /* "" for the operator's own credentials */
    char *id;
    struct account *next;
};

static struct account *accounts; /* owned here, never freed: see the file comment */

const char *tt_sts_account(const char *role_arn)
{
    const char *role = role_arn != NULL ? role_arn : "";

    for (const struct account *a = accounts; a != NULL; a = a->next) {
        if (strcmp(a->role, role) == 0)
            return a->id;
    }
    return NULL;
}

/* Remembers `id` for `role_arn`: the cached copy (borrowed), or NULL when out of memory. */
static const char *remember(const char *role_arn, const char *id)
{
    const char *known = tt_sts_account(role_arn);
    struct account *a;

    if (known != NULL)
        return known;
    a = calloc(1, sizeof(*a));
    if (a == NULL || (a->role = strdup(role_arn != NULL ? role_arn : "")) == NULL ||
        (a->id = strdup(id)) == NULL) {
        if (a != NULL)
            free(a->role);
        free(a);
        return NULL;
    }
    a->next = accounts;
    accounts = a;
    return a->id;
}

static json_t *identity_input(tt_batch *b, const char *group, const tt_batch_key *keys, size_t n)
{
    (void)b, (void)group, (void)keys, (void)n;
    return json_object();
}

static tt_code identity_join(tt_batch *b, const json_t *output, const tt_batch_key *keys, size_t n)
{
    const char *id = json_string_value(json_object_get(output, "Account"));
    int failed = 0;

    if (id == NULL) {
        tt_error err = {.code = TT_OK};
        tt_error_set(&err, TT_EPARSE, "STS GetCallerIdentity answered without an Account");
        for (size_t k = 0; k < n; k++)
            tt_batch_fail(b, keys[k].item, &err);
        return TT_OK;
    }
    id = remember(tt_batch_item(b, 0)->r->spec.common->role_arn, id);
    for (size_t k = 0; k < n; k++)
        failed |= id == NULL ||
                  json_object_set_new(tt_batch_view(b, keys[k].item), "account", json_string(id));
    return failed ? TT_ENOMEM : TT_OK;
}

/* Every item of a batch shares one role: one call answers them all. */
static const tt_batch_op op_identity = {"sts", "GetCallerIdentity", (size_t)-1,    false,
                                        true,  identity_input,      identity_join, NULL};

void tt_sts_read_account(tt_batch *b, size_t i)
{
    const char *id = tt_sts_account(tt_batch_item(b, i)->r->spec.common->role_arn);

    if (id == NULL)
        tt_batch_add(b, &op_identity, "", "", i);
    else if (json_object_set_new(tt_batch_view(b, i), "account", json_string(id)) != 0)
        tt_batch_fail_nomem(b, i, "reading the account id");
}
