/*
 * trimtab status — the resources of directory mode and their conditions, as `kubectl get`
 * shows them, read from the state directory.
 */
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "options.h"
#include "state.h"
#include "tt_json.h"
#include "tt_str.h"

struct status_cfg {
    const char *source;
    const char *state_dir;
    const char *output;
};

static const char *const outputs[] = {"table", "json", "wide", NULL};

static const tt_option status_opts[] = {
    {"source", "TRIMTAB_SOURCE", TT_OPT_STRING, offsetof(struct status_cfg, source), "dir:PATH",
     "dir:.", "the source whose state to show (picks the default state directory)", 0, 0, NULL, 0},
    {"state-dir", "TRIMTAB_STATE_DIR", TT_OPT_STRING, offsetof(struct status_cfg, state_dir), "DIR",
     NULL, "the state directory to read", 0, 0, NULL, 0},
    {"output", NULL, TT_OPT_CHOICE, offsetof(struct status_cfg, output), "table|wide|json", "table",
     "a table (wide: with messages) or the records as JSON", 0, 0, outputs, 'o'},
};

static const json_t *condition(const json_t *status, const char *type)
{
    size_t i;
    json_t *c;

    json_array_foreach(json_object_get(status, "conditions"), i, c)
    {
        const char *t = json_string_value(json_object_get(c, "type"));
        if (t != NULL && strcmp(t, type) == 0)
            return c;
    }
    return NULL;
}

/* "5s", "3m", "2h", "4d" since an ISO 8601 UTC time. */
static void age(const char *iso, char *out, size_t len)
{
    struct tm tm = {0};
    long secs;

    if (iso == NULL || sscanf(iso, "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                              &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6) {
        snprintf(out, len, "-");
        return;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    secs = (long)difftime(time(NULL), timegm(&tm));
    if (secs < 0)
        secs = 0;
    if (secs < 120)
        snprintf(out, len, "%lds", secs);
    else if (secs < 7200)
        snprintf(out, len, "%ldm", secs / 60);
    else if (secs < 172800)
        snprintf(out, len, "%ldh", secs / 3600);
    else
        snprintf(out, len, "%ldd", secs / 86400);
}

/* A predictive policy's next forecast peak, "12 at 2026-12-07T14:00Z", or "-". */
static void forecast_peak(const json_t *status, char *out, size_t len)
{
    const json_t *peak = json_object_get(status, "forecastPeak");
    const char *when = json_string_value(json_object_get(peak, "time"));

    if (!json_is_number(json_object_get(peak, "capacity")) || when == NULL) {
        snprintf(out, len, "-");
        return;
    }
    /* Minutes are enough: forecasts are hourly. */
    snprintf(out, len, "%g at %.16sZ", json_number_value(json_object_get(peak, "capacity")), when);
}

struct rows {
    tt_state *st;
    json_t *records;
};

static void collect(void *ud, const char *key)
{
    struct rows *r = ud;
    json_t *rec = tt_state_read(r->st, key);

    if (rec != NULL)
        json_array_append_new(r->records, rec);
}

static const char *str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "-";
}

/*
 * Warns (on stderr, so JSON output stays clean) when a run could not write to `dir` now — a
 * read-only or full file system: the records shown may be stale, and nothing else would say so.
 */
static void warn_if_unwritable(const char *dir)
{
    struct statvfs vfs;
    const char *why = NULL;

    if (access(dir, W_OK) != 0)
        why = strerror(errno);
    else if (statvfs(dir, &vfs) == 0 && (vfs.f_flag & ST_RDONLY))
        why = "read-only file system";
    else if (statvfs(dir, &vfs) == 0 && (vfs.f_bavail == 0 || vfs.f_favail == 0))
        why = "no space left on the device";
    if (why != NULL)
        fprintf(stderr,
                "warning: the state directory %s cannot be written (%s): a running trimtab "
                "cannot record status, so what is shown may be stale\n",
                dir, why);
}

int tt_cmd_status(int argc, char **argv)
{
    struct status_cfg cfg = {0};
    char err[600], dir[PATH_MAX];
    struct rows rows = {NULL, NULL};
    tt_error e;
    int nargs, wide;
    size_t i;
    json_t *rec;

    if (tt_cmd_wants_help(argc, argv)) {
        printf("Usage: trimtab status [OPTIONS]\n\nLists the resources of directory mode with "
               "their Ready condition, target and\nlast change, from the state directory that "
               "`trimtab run` writes.\n\n");
        tt_opt_help(stdout, status_opts, sizeof(status_opts) / sizeof(status_opts[0]));
        return 0;
    }
    if (tt_opt_parse(status_opts, sizeof(status_opts) / sizeof(status_opts[0]), &cfg, argc, argv,
                     &nargs, err, sizeof(err)) != 0) {
        fprintf(stderr, "trimtab status: %s\n", err);
        return 2;
    }
    if (nargs > 0) {
        fprintf(stderr, "trimtab status: unexpected argument '%s' (see trimtab status --help)\n",
                argv[1]);
        return 2;
    }
    if (cfg.state_dir == NULL) {
        const char *path = tt_cmd_source_path(cfg.source, err, sizeof(err));
        if (path == NULL) {
            fprintf(stderr, "trimtab status: %s\n", err);
            return 2;
        }
        tt_cmd_default_state_dir(path, dir, sizeof(dir));
        cfg.state_dir = dir;
    }
    {
        /* Reading status must not create a state directory where there is none. */
        struct stat sb;
        if (stat(cfg.state_dir, &sb) != 0) {
            if (strcmp(cfg.output, "json") == 0)
                printf("[]\n");
            else
                printf("(no resources: %s does not exist)\n", cfg.state_dir);
            return 0;
        }
    }
    rows.st = tt_state_open(cfg.state_dir, false, &e);
    rows.records = json_array();
    if (rows.st == NULL || rows.records == NULL) {
        fprintf(stderr, "trimtab status: %s\n", rows.st ? "out of memory" : e.message);
        tt_state_close(rows.st);
        json_decref(rows.records);
        return 1;
    }
    tt_state_foreach(rows.st, collect, &rows);
    warn_if_unwritable(cfg.state_dir);
    if (strcmp(cfg.output, "json") == 0) {
        char *text = tt_json_dumps(rows.records, JSON_INDENT(2) | JSON_SORT_KEYS);
        printf("%s\n", text ? text : "[]");
        free(text);
    } else {
        wide = strcmp(cfg.output, "wide") == 0;
        printf("%-15s %-12s %-32s %-6s %-20s %-30s %-6s%s\n", "KIND", "NAMESPACE", "NAME", "READY",
               "REASON", "TARGET", "SINCE", wide ? " FORECAST-PEAK               MESSAGE" : "");
        json_array_foreach(rows.records, i, rec)
        {
            const json_t *meta = json_object_get(rec, "metadata");
            const json_t *status = json_object_get(rec, "status");
            const json_t *ready = condition(status, "Ready");
            const json_t *synced = condition(status, "Synced");
            char since[16];
            /* A record that was stale for a while says so before anything else it says. */
            if (tt_streq(str(synced, "reason"), "StatusWriteFailed"))
                ready = synced;
            age(json_string_value(json_object_get(ready, "lastTransitionTime")), since,
                sizeof(since));
            printf("%-15s %-12s %-32s %-6s %-20s %-30s %-6s", str(rec, "kind"),
                   str(meta, "namespace"), str(meta, "name"), str(ready, "status"),
                   str(ready, "reason"), str(status, "target"), since);
            if (wide) {
                char peak[64];
                forecast_peak(status, peak, sizeof(peak));
                printf(" %-27s %s", peak, str(ready, "message"));
            }
            putchar('\n');
        }
        if (json_array_size(rows.records) == 0)
            printf("(no resources in %s)\n", cfg.state_dir);
    }
    json_decref(rows.records);
    tt_state_close(rows.st);
    return 0;
}
