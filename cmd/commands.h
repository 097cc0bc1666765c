/*
 * The trimtab subcommands. Each lives in cmd/cmd_<name>.c, parses its own flags, wires the
 * library together, prints, and returns the process exit code.
 */
#ifndef TT_COMMANDS_H
#define TT_COMMANDS_H

#include <stddef.h>

struct tt_command {
    const char *name;                  /* as typed: "validate" */
    const char *summary;               /* one line for `trimtab --help` */
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
};

int tt_cmd_version(int argc, char **argv);
int tt_cmd_aws(int argc, char **argv);
int tt_cmd_validate(int argc, char **argv);
int tt_cmd_iam_policy(int argc, char **argv);

int tt_cmd_run(int argc, char **argv);
int tt_cmd_plan(int argc, char **argv);
int tt_cmd_status(int argc, char **argv);
int tt_cmd_import(int argc, char **argv);

/* The directory behind --source dir:PATH, or NULL with a message in `err`. */
const char *tt_cmd_source_path(const char *source, char *err, size_t errlen);
/* The default state directory of a source path (outside it, one per path). */
void tt_cmd_default_state_dir(const char *path, char *out, size_t outlen);

struct tt_manifest_set;
struct tt_diags;
struct tt_buf;
/*
 * Loads the `n` files and directories `paths` into `set` (initialised by the caller), checks
 * the set as a whole, and appends its problems to `out` as sorted `file:line: field: message`
 * lines. TT_OK (0), or TT_ENOMEM.
 */
int tt_cmd_load(struct tt_manifest_set *set, struct tt_diags *diags, char **paths, int n,
                struct tt_buf *out);

/* True when argv holds -h or --help (before a "--"). */
int tt_cmd_wants_help(int argc, char **argv);

#endif
