/*
 * tt_iam — the least-privilege IAM policy a set of manifests needs (`trimtab iam-policy`).
 *
 * The knowledge is the providers': each declares, in its const struct (tt_provider.iam), the
 * IAM actions it calls and the ARN forms they act on. This module only collects them for the
 * resources present, fills the ARNs from each resource, and lays the result out: statements
 * grouped by service, tag condition and resource set, everything sorted, so the same manifests
 * always give the same bytes. Pure: no I/O, no clock, no AWS call.
 */
#ifndef TT_IAM_H
#define TT_IAM_H

#include <jansson.h>

#include "model.h"
#include "tt_buf.h"
#include "tt_error.h"

/* What the ARNs are filled with besides each resource's own fields. */
typedef struct tt_iam_scope {
    const char *partition; /* "aws", "aws-cn", "aws-us-gov" */
    const char *region;    /* for resources without spec.region; "*" for any */
    const char *account;   /* the account id, or "*" */
    /*
     * NULL: the operator's own policy — every resource without spec.roleArn, plus
     * sts:AssumeRole on each role the others name. A role ARN: that role's policy — the
     * resources whose spec.roleArn it is, as trimtab calls AWS under the assumed role.
     */
    const char *role;
} tt_iam_scope;

/*
 * The policy document ({"Version", "Statement"}) for the valid resources among `rs` (invalid
 * ones and kinds no provider handles are skipped) that `scope->role` covers: a new reference in
 * `*policy`. TT_OK, or TT_ENOMEM.
 */
tt_code tt_iam_policy(tt_resource *const *rs, size_t n, const tt_iam_scope *scope, json_t **policy,
                      tt_error *err);

/*
 * Appends `policy` (from tt_iam_policy, borrowed) as a Terraform `data "aws_iam_policy_document"
 * "<name>"` block in HCL: one `statement` per statement, `condition` blocks for its conditions.
 */
tt_code tt_iam_terraform(const json_t *policy, const char *name, tt_buf *out);

#endif
