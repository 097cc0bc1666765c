/*
 * trimtab iam-policy PATH... — the least-privilege IAM policy the manifests under PATH need,
 * from what each provider declares it calls (providers/iam.c). Works offline: no credentials,
 * no AWS call; what is not known (the account, the region of resources without spec.region) is
 * "*" unless given.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "iam.h"
#include "loader.h"
#include "options.h"
#include "tt_json.h"

struct iam_cfg {
    const char *output;
    const char *region;
    const char *account;
    const char *partition;
    const char *role;
};

static const char *const outputs[] = {"json", "terraform", NULL};
static const char *const partitions[] = {"aws",     "aws-cn",    "aws-us-gov",
                                         "aws-iso", "aws-iso-b", NULL};

static const tt_option iam_opts[] = {
    {"output", NULL, TT_OPT_CHOICE, offsetof(struct iam_cfg, output), "json|terraform", "json",
     "the policy document (aws iam put-role-policy) or a Terraform aws_iam_policy_document "
     "data block",
     0, 0, outputs, 'o'},
    {"region", "AWS_REGION", TT_OPT_STRING, offsetof(struct iam_cfg, region), "R", "*",
     "the operator's region, for resources without spec.region", 0, 0, NULL, 0},
    {"account", NULL, TT_OPT_STRING, offsetof(struct iam_cfg, account), "ID", "*",
     "the AWS account id in the ARNs", 0, 0, NULL, 0},
    {"partition", NULL, TT_OPT_CHOICE, offsetof(struct iam_cfg, partition), "P", "aws",
     "the ARN partition", 0, 0, partitions, 0},
    {"role", NULL, TT_OPT_STRING, offsetof(struct iam_cfg, role), "ARN", NULL,
     "the policy of this spec.roleArn (its resources; the account from the ARN) instead of "
     "the operator's",
     0, 0, NULL, 0},
};
#define NOPTS (sizeof(iam_opts) / sizeof(iam_opts[0]))

int tt_cmd_iam_policy(int argc, char **argv)
{
    struct iam_cfg cfg = {0};
    tt_manifest_set set;
    tt_diags *diags = NULL;
    tt_buf out;
    tt_error e = {0};
    json_t *policy = NULL;
    char err[600], role_account[13], *text = NULL;
    int nargs, status = 1;

    if (tt_cmd_wants_help(argc, argv)) {
        printf("Usage: trimtab iam-policy [OPTIONS] PATH...\n\n"
               "Prints the least-privilege IAM policy that `trimtab run` needs for the\n"
               "manifests under PATH: only the actions their kinds and targets call, on\n"
               "the ARNs they act on, with the owner-tag conditions, plus sts:AssumeRole\n"
               "for every spec.roleArn; the resources under such a role need their actions\n"
               "in that role's policy instead (--role ARN prints it). No AWS call is made.\n\n"
               "Problems in manifests are printed to stderr as file:line: field: message; the\n"
               "policy of the valid resources is still printed, and the exit status is 1.\n\n");
        tt_opt_help(stdout, iam_opts, NOPTS);
        return 0;
    }
    if (tt_opt_parse(iam_opts, NOPTS, &cfg, argc, argv, &nargs, err, sizeof(err)) != 0) {
        fprintf(stderr, "trimtab iam-policy: %s\n", err);
        return 2;
    }
    if (nargs == 0) {
        fprintf(stderr, "trimtab iam-policy: name at least one file or directory (see trimtab "
                        "iam-policy --help)\n");
        return 2;
    }
    if (cfg.region[0] == '\0')
        cfg.region = "*";
    /* A role's policy acts in the role's account: arn:PARTITION:iam::ACCOUNT:role/NAME. */
    if (cfg.role != NULL && strcmp(cfg.account, "*") == 0 &&
        sscanf(cfg.role, "arn:%*[^:]:iam::%12[0-9]:", role_account) == 1)
        cfg.account = role_account;
    tt_manifest_set_init(&set);
    tt_buf_init(&out);
    if ((diags = tt_diags_create()) == NULL)
        goto oom;
    if (tt_cmd_load(&set, diags, argv + 1, nargs, &out) != TT_OK)
        goto oom;
    fputs(tt_buf_str(&out), stderr);
    tt_buf_reset(&out);
    {
        const tt_iam_scope scope = {cfg.partition, cfg.region, cfg.account, cfg.role};
        if (tt_iam_policy(set.items, set.len, &scope, &policy, &e) != TT_OK)
            goto oom;
    }
    if (strcmp(cfg.output, "terraform") == 0) {
        if (tt_iam_terraform(policy, "trimtab", &out) != TT_OK)
            goto oom;
        fputs(tt_buf_str(&out), stdout);
    } else {
        if ((text = tt_json_dumps(policy, JSON_INDENT(2))) == NULL)
            goto oom;
        printf("%s\n", text);
    }
    status = tt_diags_errors(diags) > 0 ? 1 : 0;
    goto out;
oom:
    fprintf(stderr, "trimtab iam-policy: out of memory\n");
    status = 1;
out:
    free(text);
    json_decref(policy);
    tt_buf_cleanup(&out);
    tt_diags_destroy(diags);
    tt_manifest_set_cleanup(&set);
    return status;
}
