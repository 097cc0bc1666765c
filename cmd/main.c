/*
 * trimtab — argument parsing and wiring only; the work lives in reconcile/ and providers/.
 *
 * Subcommands are one table. A command appears here (and so in --help) only once it works.
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "tt_slab.h"

static const struct tt_command commands[] = {
    {"aws", "send one AWS API call through trimtab's AWS layer (debugging)", tt_cmd_aws},
    {"iam-policy", "print the least-privilege IAM policy the manifests need", tt_cmd_iam_policy},
    {"run", "reconcile AWS with the manifests and keep watching", tt_cmd_run},
    {"import", "write what an AWS account already holds as trimtab manifests", tt_cmd_import},
    {"plan", "show what run would change in AWS, like terraform plan", tt_cmd_plan},
    {"status", "list resources and their conditions from the state directory", tt_cmd_status},
    {"validate", "check manifests against the resource schemas and rules", tt_cmd_validate},
    {"version", "print the version", tt_cmd_version},
};

static void usage(FILE *out)
{
    fprintf(out,
            "trimtab keeps AWS scaling policies, alarms, budgets and secret rotation equal to\n"
            "the ScalingPolicy, Alarm, Budget and SecretRotation resources you declare.\n\n"
            "Usage: trimtab COMMAND [OPTIONS]\n\nCommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  %-11s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nRun 'trimtab COMMAND --help' for a command's options.\n");
}

int tt_cmd_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    /* Before any JSON value exists: jansson's allocator is fixed for the process's life. */
    tt_slab_use();
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0)
        return tt_cmd_version(1, argv + 1);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    }
    fprintf(stderr, "trimtab: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
