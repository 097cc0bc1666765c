/*
 * trimtab import --region R [--namespace N] [--out DIR] [--kinds K,...] — writes what already
 * exists in an AWS account as trimtab manifests (docs/import.md). Wiring only: the reads, the
 * mapping and the files are import/.
 */
#include <ev.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "import.h"
#include "model.h"
#include "options.h"
#include "tt_aws.h"
#include "tt_buf.h"
#include "tt_log.h"

/* The command's settings, filled from the table below. */
struct import_cfg {
    const char *region;
    const char *namespace_;
    const char *out;
    const char *kinds;
    const char *profile;
    int64_t rate;
    bool debug;
};

#define IMPORT_OPT(name, env, type, field, metavar, def, help)                                 \
    {                                                                                          \
        name, env, type, offsetof(struct import_cfg, field), metavar, def, help, 0, 0, NULL, 0 \
    }

static const tt_option import_opts[] = {
    IMPORT_OPT("region", "AWS_REGION", TT_OPT_STRING, region, "R", NULL,
               "the region to read (and spec.region of what is written); required"),
    IMPORT_OPT("namespace", NULL, TT_OPT_STRING, namespace_, "N", "default",
               "metadata.namespace of every resource"),
    IMPORT_OPT("out", NULL, TT_OPT_STRING, out, "DIR", NULL,
               "write DIR/<kind dir>/<name>.yaml and DIR/IMPORT-SKIPPED.md (default: stdout)"),
    IMPORT_OPT("kinds", NULL, TT_OPT_STRING, kinds, "K,...", NULL,
               "only these of ScalingPolicy, Alarm, Budget, SecretRotation (default: all)"),
    IMPORT_OPT("profile", NULL, TT_OPT_STRING, profile, "P", NULL,
               "the AWS profile (default: AWS_PROFILE, then \"default\")"),
    {"rate", NULL, TT_OPT_INT, offsetof(struct import_cfg, rate), "N", "20",
     "AWS requests per second per service, as the operator", 1, 1000000, NULL, 0},
    IMPORT_OPT("debug", NULL, TT_OPT_BOOL, debug, NULL, NULL, "log each AWS call on stderr"),
};

#define NOPTS (sizeof(import_opts) / sizeof(import_opts[0]))

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: trimtab import --region R [--namespace N] [--out DIR] [--kinds K,...]\n\n"
            "Reads the scalable targets with their policies and scheduled actions, the metric\n"
            "and composite alarms, the budgets, the secret rotation settings and the RDS storage\n"
            "autoscaling that already exist in an account, and writes them as manifests with\n"
            "adopt: true, so `trimtab plan` on the result shows no changes (docs/import.md).\n"
            "What cannot be expressed is listed with the reason on stderr and in\n"
            "IMPORT-SKIPPED.md. Objects trimtab already manages (named trimtab-...) are\n"
            "skipped: their own manifests are the source of truth.\n\n");
    tt_opt_help(out, import_opts, NOPTS);
    fprintf(out, "\nExit status: 0 done (also when nothing was found), 1 an AWS or file error, "
                 "2 usage.\n");
}

/* --kinds: a comma-separated list of kind names into a bit mask; 0 when one is unknown. */
static unsigned parse_kinds(const char *list)
{
    unsigned mask = 0;
    const char *p = list;

    while (*p != '\0') {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        char name[64];
        tt_kind k;
        if (n == 0 || n >= sizeof(name))
            return 0;
        memcpy(name, p, n);
        name[n] = '\0';
        if (tt_kind_parse(name, &k) != 0)
            return 0;
        mask |= 1u << k;
        p += n + (comma != NULL);
    }
    return mask;
}

static void count_call(void *ud, const tt_aws_call_info *info)
{
    (void)info;
    (*(size_t *)ud)++;
}

/* Prints the skipped objects on stderr and a one-line summary. */
static void report(const json_t *mapped, const char *out_dir, size_t calls, double seconds)
{
    const json_t *res = json_object_get(mapped, "resources");
    const json_t *skipped = json_object_get(mapped, "skipped"), *s, *r;
    size_t per_kind[TT_KIND_COUNT] = {0}, i;

    json_array_foreach(skipped, i, s)
    {
        fprintf(stderr, "trimtab import: skipped %s %s: %s\n",
                json_string_value(json_object_get(s, "kind")),
                json_string_value(json_object_get(s, "object")),
                json_string_value(json_object_get(s, "reason")));
    }
    json_array_foreach(res, i, r)
    {
        tt_kind k;
        if (tt_kind_parse(json_string_value(json_object_get(r, "kind")), &k) == 0)
            per_kind[k]++;
    }
    fprintf(stderr,
            "trimtab import: %zu resources (%zu ScalingPolicy, %zu Alarm, %zu Budget, "
            "%zu SecretRotation), %zu skipped%s%s%s; %zu AWS calls in %.2f s\n",
            json_array_size(res), per_kind[TT_KIND_SCALING_POLICY], per_kind[TT_KIND_ALARM],
            per_kind[TT_KIND_BUDGET], per_kind[TT_KIND_SECRET_ROTATION], json_array_size(skipped),
            json_array_size(skipped) && out_dir ? " (listed in " : "",
            json_array_size(skipped) && out_dir ? out_dir : "",
            json_array_size(skipped) && out_dir ? "/IMPORT-SKIPPED.md)" : "", calls, seconds);
}

static tt_code print_stream(const json_t *mapped, tt_error *err)
{
    const json_t *r;
    size_t i;
    tt_buf b;
    tt_code rc = TT_OK;

    tt_buf_init(&b);
    json_array_foreach(json_object_get(mapped, "resources"), i, r)
    {
        if ((i > 0 && (rc = tt_buf_puts(&b, "---\n")) != TT_OK) ||
            (rc = tt_import_yaml(json_object_get(r, "manifest"), &b, err)) != TT_OK)
            break;
    }
    if (rc == TT_OK && b.len > 0)
        fwrite(tt_buf_str(&b), 1, b.len, stdout);
    tt_buf_cleanup(&b);
    return rc;
}

int tt_cmd_import(int argc, char **argv)
{
    tt_import_opts o = {NULL, NULL, TT_IMPORT_ALL_KINDS};
    struct import_cfg ic;
    const char *out_dir;
    tt_aws_config cfg;
    struct ev_loop *loop = NULL;
    tt_aws *aws = NULL;
    json_t *account = NULL, *mapped = NULL;
    size_t calls = 0, written = 0;
    struct timespec t0, t1;
    char msg[512], ns[64];
    int nargs = 0, rc = 1;
    tt_error err;

    memset(&cfg, 0, sizeof(cfg));
    memset(&ic, 0, sizeof(ic));
    tt_error_clear(&err);
    if (tt_cmd_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    if (tt_opt_parse(import_opts, NOPTS, &ic, argc, argv, &nargs, msg, sizeof(msg)) != 0 ||
        (nargs > 0 && snprintf(msg, sizeof(msg), "unexpected argument %s", argv[1]) > 0)) {
        fprintf(stderr, "trimtab import: %s\n\n", msg);
        usage(stderr);
        return 2;
    }
    if (ic.region == NULL || ic.region[0] == '\0') {
        fprintf(stderr, "trimtab import: --region is required (the manifests name it)\n\n");
        usage(stderr);
        return 2;
    }
    if (ic.kinds != NULL && (o.kinds = parse_kinds(ic.kinds)) == 0) {
        fprintf(stderr,
                "trimtab import: --kinds takes ScalingPolicy, Alarm, Budget and SecretRotation, "
                "comma-separated (got %s)\n",
                ic.kinds);
        return 2;
    }
    tt_import_name(ic.namespace_, ns, sizeof(ns));
    if (strcmp(ns, ic.namespace_) != 0) {
        fprintf(stderr,
                "trimtab import: --namespace %s is not a Kubernetes namespace name (lower case "
                "letters, digits and '-', at most 63; e.g. %s)\n",
                ic.namespace_, ns);
        return 2;
    }
    if (ic.debug)
        tt_log_configure(TT_LOG_DEBUG, TT_LOG_TEXT, stderr);
    o.region = ic.region;
    o.namespace_ = ic.namespace_;
    out_dir = ic.out;
    cfg.profile = ic.profile;
    cfg.rate = (double)ic.rate;
    cfg.region = o.region;
    cfg.hook = count_call;
    cfg.hook_ud = &calls;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if ((loop = ev_loop_new(EVFLAG_AUTO)) == NULL) {
        fprintf(stderr, "trimtab import: cannot create the event loop\n");
        return 1;
    }
    if ((aws = tt_aws_create(loop, &cfg, &err)) == NULL ||
        tt_import_read(aws, loop, &o, &account, &err) != TT_OK ||
        tt_import_map(account, &o, &mapped, &err) != TT_OK)
        goto out;
    if (out_dir != NULL ? tt_import_write(mapped, out_dir, &written, &err) != TT_OK
                        : print_stream(mapped, &err) != TT_OK)
        goto out;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    report(mapped, out_dir, calls,
           (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    rc = 0;
out:
    if (rc != 0)
        fprintf(stderr, "trimtab import: %s\n", err.message);
    json_decref(account);
    json_decref(mapped);
    tt_aws_destroy(aws);
    if (loop != NULL)
        ev_loop_destroy(loop);
    return rc;
}
