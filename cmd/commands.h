/*
 * The trimtab subcommands. Each lives in cmd/cmd_<name>.c, parses its own flags, wires the
 * library together, prints, and returns the process exit code.
 */
#ifndef TT_COMMANDS_H
#define TT_COMMANDS_H

struct tt_command {
    const char *name;                  /* as typed: "validate" */
    const char *summary;               /* one line for `trimtab --help` */
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
};

int tt_cmd_version(int argc, char **argv);
int tt_cmd_aws(int argc, char **argv);
int tt_cmd_validate(int argc, char **argv);

/* True when argv holds -h or --help (before a "--"). */
int tt_cmd_wants_help(int argc, char **argv);

#endif
