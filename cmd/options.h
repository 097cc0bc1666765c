/*
 * tt_opt — command-line options as one table per command: name, environment variable, type,
 * default, bounds and help. The same table parses flags and the environment and writes --help,
 * so they cannot disagree (redis's config table, applied to flags).
 *
 * Precedence: the default, then the environment variable, then the flag.
 */
#ifndef TT_OPTIONS_H
#define TT_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum tt_opt_type {
    TT_OPT_STRING,   /* const char * */
    TT_OPT_INT,      /* int64_t, within [min, max] */
    TT_OPT_DURATION, /* double seconds: "10m", "30s", "0.5s", "500ms" or a number of seconds */
    TT_OPT_BOOL,     /* bool; a flag without a value; env "1/true/0/false" */
    TT_OPT_CHOICE,   /* const char *, one of `choices` */
    TT_OPT_LIST,     /* tt_opt_list: the flag repeated, or the variable comma-separated */
} tt_opt_type;

#define TT_OPT_LIST_MAX 32

typedef struct tt_opt_list {
    const char *items[TT_OPT_LIST_MAX]; /* borrowed from argv or the environment */
    size_t n;
    int from_env;        /* the items came from the variable (a flag replaces them) */
    char env_copy[1024]; /* the variable's value, split in place */
} tt_opt_list;

typedef struct tt_option {
    const char *name; /* "resync" for --resync */
    const char *env;  /* "TRIMTAB_RESYNC", or NULL */
    tt_opt_type type;
    size_t off;          /* where the value goes in the command's config struct */
    const char *metavar; /* "D" in "--resync D" */
    const char *def;     /* the default, as it would be typed; NULL: none */
    const char *help;
    int64_t min, max;           /* TT_OPT_INT */
    const char *const *choices; /* TT_OPT_CHOICE, NULL-terminated */
    char short_name;            /* 'o' for -o (as kubectl spells --output), or 0 */
} tt_option;

/*
 * Applies defaults and the environment, then parses argv[1..]. Positional arguments are moved
 * to the front of argv (after argv[0]); *nargs receives their count. Returns 0, or -1 with a
 * message in `err`. "-h"/"--help" must be handled before calling.
 */
int tt_opt_parse(const tt_option *opts, size_t n, void *cfg, int argc, char **argv, int *nargs,
                 char *err, size_t errlen);

/* Writes the option list of a --help text. */
void tt_opt_help(FILE *out, const tt_option *opts, size_t n);

#endif
