/*
 * tt_import — `trimtab import`: what already exists in an AWS account (scalable targets with
 * their policies and scheduled actions, alarms, budgets, secret rotation, RDS storage
 * autoscaling) written as trimtab manifests, so a team moves from CDK, Terraform or the console
 * to trimtab without recreating anything (docs/import.md).
 *
 * Three steps, so the middle one is pure and tested on its own:
 *   1. tt_import_read: the AWS reads (paged and batched), gathered into one "account" document;
 *   2. tt_import_map: account document → resources (manifests) and the list of what cannot be
 *      expressed in a trimtab spec, each with its reason — nothing is dropped silently;
 *   3. tt_import_write: one YAML file per resource and IMPORT-SKIPPED.md.
 *
 * The account document, as the reads leave it (AWS shapes, as boto3 returns them):
 *   {"region": R, "account": "123456789012",
 *    "aas": {"targets": [ScalableTarget…], "policies": [ScalingPolicy…],
 *            "scheduled": [ScheduledAction…]},
 *    "alarms": {"MetricAlarms": […], "CompositeAlarms": […]},
 *    "budgets": [Budget… + "Notifications": [{"Notification": {…}, "Subscribers": […]}]],
 *    "secrets": [SecretListEntry… + "ReplicationStatus" from DescribeSecret],
 *    "instances": [DBInstance…],
 *    "unread": [{"what": "elasticache", "reason": "…"}]}  (service namespaces the endpoint
 *    refused to list — an emulator that lacks one; reported as skipped, never silent)
 * Any member may be absent (a kind filtered out).
 */
#ifndef TT_IMPORT_H
#define TT_IMPORT_H

#include <jansson.h>
#include <stddef.h>

#include "tt_error.h"

struct tt_aws;
struct ev_loop;

typedef struct tt_import_opts {
    const char *region;     /* written as spec.region; also where the reads go */
    const char *namespace_; /* metadata.namespace of every resource */
    unsigned kinds;         /* bit (1u << tt_kind) per kind to import */
} tt_import_opts;

/* Every kind. */
#define TT_IMPORT_ALL_KINDS 0xfu

/*
 * Reads the account (see above) for the kinds of `o` through `aws`, running `loop` (the one
 * `aws` was created on) until every call has answered. On TT_OK *account is a new reference the
 * caller owns. Any failed call fails the import: a partial listing would write a partial,
 * misleading directory.
 */
tt_code tt_import_read(struct tt_aws *aws, struct ev_loop *loop, const tt_import_opts *o,
                       json_t **account, tt_error *err);

/*
 * Maps an account document to manifests. Pure. On TT_OK *out (new reference, caller owns) is
 *   {"resources": [{"kind", "name", "dir", "manifest": {apiVersion, kind, metadata, spec}}…],
 *    "skipped": [{"kind", "object", "reason"}…]}
 * both sorted (by dir then name; by kind then object), so the output is deterministic.
 */
tt_code tt_import_map(const json_t *account, const tt_import_opts *o, json_t **out, tt_error *err);

/*
 * `aws_name` as a Kubernetes name (DNS-1123 label: lower case letters, digits and '-', at most
 * 63, starting and ending alphanumeric) into `out` (at least 64 bytes). Case is folded, other
 * characters become '-', runs of '-' collapse; a name that had to be cut keeps a readable prefix
 * and ends in '-' and 8 hex digits of a hash of the whole name. Never empty.
 */
void tt_import_name(const char *aws_name, char *out, size_t outlen);

/*
 * Writes `mapped` (tt_import_map's output) under `dir`: <dir>/<resource dir>/<name>.yaml, and
 * <dir>/IMPORT-SKIPPED.md when something was skipped. Nothing is written for an empty result.
 * `written` (may be NULL) receives the number of manifest files.
 */
tt_code tt_import_write(const json_t *mapped, const char *dir, size_t *written, tt_error *err);

/* Appends manifest `doc` to `out` as one YAML document (no "---": the caller separates). */
/* Appends manifest `doc` to `out` as one YAML document (no "---": the caller separates). */
struct tt_buf;
tt_code tt_import_yaml(const json_t *doc, struct tt_buf *out, tt_error *err);

#endif
