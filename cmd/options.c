#include "options.h"

#include <stdlib.h>
#include <string.h>

#include "schedule.h"
#include "tt_str.h"

static int set_value(const tt_option *o, void *cfg, const char *value, const char *origin,
                     char *err, size_t errlen)
{
    char *dst = (char *)cfg + o->off;
    int64_t i;
    tt_error e;

    switch (o->type) {
    case TT_OPT_STRING:
        *(const char **)(void *)dst = value;
        return 0;
    case TT_OPT_CHOICE:
        for (size_t k = 0; o->choices[k] != NULL; k++) {
            if (strcmp(value, o->choices[k]) == 0) {
                *(const char **)(void *)dst = o->choices[k];
                return 0;
            }
        }
        snprintf(err, errlen, "%s: '%s' is not one of the choices (%s)", origin, value, o->metavar);
        return -1;
    case TT_OPT_INT:
        if (tt_parse_i64(value, &i) != 0 || i < o->min || i > o->max) {
            snprintf(err, errlen, "%s: '%s' must be a whole number from %lld to %lld", origin,
                     value, (long long)o->min, (long long)o->max);
            return -1;
        }
        *(int64_t *)(void *)dst = i;
        return 0;
    case TT_OPT_DURATION: {
        double secs;
        size_t n = strlen(value);
        char num[32];
        /* Sub-second values are fine for flags ("5ms" debounce), unlike in manifests. */
        if (tt_parse_double(value, &secs) == 0 && secs >= 0) {
            *(double *)(void *)dst = secs;
            return 0;
        }
        if (n > 2 && n < sizeof(num) && strcmp(value + n - 2, "ms") == 0) {
            snprintf(num, sizeof(num), "%.*s", (int)(n - 2), value);
            if (tt_parse_double(num, &secs) != 0 || secs < 0) {
                snprintf(err, errlen, "%s: '%s' is not a duration", origin, value);
                return -1;
            }
            *(double *)(void *)dst = secs / 1000;
            return 0;
        }
        /* Fractions of a second as Go's flags write them ("0.5s" for --retry-period). */
        if (n > 1 && n < sizeof(num) && value[n - 1] == 's') {
            snprintf(num, sizeof(num), "%.*s", (int)(n - 1), value);
            if (tt_parse_double(num, &secs) == 0 && secs >= 0) {
                *(double *)(void *)dst = secs;
                return 0;
            }
        }
        if (tt_duration_parse(value, &i, &e) != TT_OK) {
            snprintf(err, errlen, "%s: %s", origin, e.message);
            return -1;
        }
        *(double *)(void *)dst = (double)i;
        return 0;
    }
    case TT_OPT_LIST: {
        tt_opt_list *l = (tt_opt_list *)(void *)dst;
        char *p;
        if (origin[0] != '$') {
            /* A flag replaces what the environment said, then accumulates. */
            if (l->from_env) {
                l->n = 0;
                l->from_env = 0;
            }
            if (l->n == TT_OPT_LIST_MAX) {
                snprintf(err, errlen, "%s: at most %d values", origin, TT_OPT_LIST_MAX);
                return -1;
            }
            l->items[l->n++] = value;
            return 0;
        }
        if (strlen(value) >= sizeof(l->env_copy)) {
            snprintf(err, errlen, "%s: too long", origin);
            return -1;
        }
        memcpy(l->env_copy, value, strlen(value) + 1);
        l->n = 0;
        l->from_env = 1;
        for (p = l->env_copy; *p != '\0' && l->n < TT_OPT_LIST_MAX;) {
            size_t len = strcspn(p, ",");
            if (len > 0)
                l->items[l->n++] = p;
            p += len;
            if (*p == ',')
                *p++ = '\0';
        }
        return 0;
    }
    case TT_OPT_BOOL:
        if (strcmp(value, "1") == 0 || strcmp(value, "true") == 0)
            *(bool *)(void *)dst = true;
        else if (strcmp(value, "0") == 0 || strcmp(value, "false") == 0)
            *(bool *)(void *)dst = false;
        else {
            snprintf(err, errlen, "%s: '%s' must be true or false", origin, value);
            return -1;
        }
        return 0;
    }
    return -1;
}

int tt_opt_parse(const tt_option *opts, size_t n, void *cfg, int argc, char **argv, int *nargs,
                 char *err, size_t errlen)
{
    int pos = 1;

    for (size_t k = 0; k < n; k++) {
        const char *env = opts[k].env ? getenv(opts[k].env) : NULL;
        char origin[96];
        if (opts[k].def != NULL && set_value(&opts[k], cfg, opts[k].def, "default", err, errlen))
            return -1;
        snprintf(origin, sizeof(origin), "$%s", opts[k].env ? opts[k].env : "");
        if (env != NULL && env[0] != '\0' && set_value(&opts[k], cfg, env, origin, err, errlen))
            return -1;
    }
    for (int a = 1; a < argc; a++) {
        char *arg = argv[a], *eq;
        char name[64], origin[80];
        size_t k;
        if (strcmp(arg, "--") == 0) {
            while (++a < argc)
                argv[pos++] = argv[a];
            break;
        }
        if (arg[0] != '-' || arg[1] == '\0') {
            argv[pos++] = arg; /* a positional argument ("-" alone is one too) */
            continue;
        }
        if (arg[1] != '-') {
            /* A short option: "-o json", "-ojson" or "-o=json". */
            for (k = 0; k < n && (opts[k].short_name == 0 || opts[k].short_name != arg[1]); k++)
                ;
            if (k == n) {
                snprintf(err, errlen, "unknown option %s", arg);
                return -1;
            }
            snprintf(name, sizeof(name), "%s", opts[k].name);
            snprintf(origin, sizeof(origin), "-%c", arg[1]);
            eq = arg[2] == '\0' ? NULL : arg + (arg[2] == '=' ? 2 : 1);
        } else {
            eq = strchr(arg, '=');
            snprintf(name, sizeof(name), "%.*s", eq ? (int)(eq - arg - 2) : (int)strlen(arg + 2),
                     arg + 2);
            for (k = 0; k < n && strcmp(opts[k].name, name) != 0; k++)
                ;
            if (k == n) {
                snprintf(err, errlen, "unknown option --%s", name);
                return -1;
            }
            snprintf(origin, sizeof(origin), "--%s", name);
        }
        if (opts[k].type == TT_OPT_BOOL && eq == NULL) {
            *(bool *)(void *)((char *)cfg + opts[k].off) = true;
            continue;
        }
        if (eq == NULL && a + 1 >= argc) {
            snprintf(err, errlen, "%s needs a value (%s)", origin, opts[k].metavar);
            return -1;
        }
        if (set_value(&opts[k], cfg, eq ? eq + 1 : argv[++a], origin, err, errlen) != 0)
            return -1;
    }
    *nargs = pos - 1;
    return 0;
}

void tt_opt_help(FILE *out, const tt_option *opts, size_t n)
{
    fprintf(out, "Options:\n");
    for (size_t k = 0; k < n; k++) {
        char flag[64];
        const tt_option *o = &opts[k];
        char shortf[8] = "";
        if (o->short_name != 0)
            snprintf(shortf, sizeof(shortf), "-%c, ", o->short_name);
        if (o->type == TT_OPT_BOOL)
            snprintf(flag, sizeof(flag), "%s--%s", shortf, o->name);
        else
            snprintf(flag, sizeof(flag), "%s--%s %s", shortf, o->name, o->metavar);
        fprintf(out, "  %-24s %s", flag, o->help);
        if (o->def != NULL && o->type != TT_OPT_BOOL)
            fprintf(out, " (default %s)", o->def);
        if (o->env != NULL)
            fprintf(out, " [$%s]", o->env);
        fputc('\n', out);
    }
    fprintf(out, "  %-24s %s\n", "-h, --help", "show this help");
}
