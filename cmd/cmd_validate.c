/*
 * trimtab validate PATH... — schema and semantic validation of manifests.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "loader.h"

static const char validate_usage[] =
    "Usage: trimtab validate [-v] PATH...\n"
    "\n"
    "Checks ScalingPolicy, Alarm, Budget and SecretRotation manifests in files and\n"
    "directories (*.yaml, *.yml, *.json, recursively; other kinds are ignored).\n"
    "Problems are printed as file:line: field: message, sorted by file and line.\n"
    "\n"
    "Options:\n"
    "  -v, --verbose   also list every resource and what it asks for\n"
    "  -h, --help      show this help\n"
    "\n"
    "Exit status: 0 when every resource is valid, 1 when any problem is found.\n";

/* One line per resource: what it manages, in words. */
static void describe(const tt_resource *r)
{
    char target[200] = "-";

    switch (r->kind) {
    case TT_KIND_SCALING_POLICY: {
        const tt_scaling_policy_spec *s = r->spec.sp;
        tt_target_describe(s->target, target, sizeof(target));
        printf("  %-40s %s", r->key, target);
        if (s->min_capacity.set)
            printf(", %lld-%lld", (long long)s->min_capacity.v, (long long)s->max_capacity.v);
        for (size_t i = 0; i < s->ntarget_tracking; i++) {
            const tt_target_tracking *t = &s->target_tracking[i];
            printf(", track %s at %g",
                   t->predefined_metric ? t->predefined_metric : t->custom_metric->metric_name,
                   t->target_value.v);
        }
        if (s->nstep_scaling)
            printf(", %zu step polic%s", s->nstep_scaling, s->nstep_scaling == 1 ? "y" : "ies");
        for (size_t i = 0; i < s->npredictive; i++) {
            const tt_predictive *p = &s->predictive[i];
            printf(", predict %s at %g (%s)",
                   p->metric_pair      ? p->metric_pair
                   : p->scaling_metric ? p->scaling_metric
                                       : p->custom_scaling_metric->metric_name,
                   p->target_value.v, p->mode);
        }
        for (size_t i = 0; i < s->nscheduled; i++)
            printf(", %s %s", s->scheduled[i].name, s->scheduled[i].aws_schedule);
        if (s->vertical)
            printf(", vertical %s..%s", s->vertical->ladder[0],
                   s->vertical->ladder[s->vertical->nladder - 1]);
        if (s->storage)
            printf(", storage up to %lld GiB", (long long)s->storage->max_allocated_gib.v);
        if (s->lambda && s->lambda->reserved_concurrency.set)
            printf(", reserved concurrency %lld", (long long)s->lambda->reserved_concurrency.v);
        if (s->cloudfront && s->cloudfront->price_class)
            printf(", %s", s->cloudfront->price_class);
        for (size_t i = 0; i < s->nbudget_guard; i++)
            printf(", guarded by budget %s above %g%%", s->budget_guard[i].budget,
                   s->budget_guard[i].above_percent.v);
        break;
    }
    case TT_KIND_ALARM: {
        const tt_alarm_spec *a = r->spec.alarm;
        if (a->composite != NULL) {
            printf("  %-40s composite: %s", r->key, a->composite->rule);
            break;
        }
        if (a->target != NULL)
            tt_target_describe(a->target, target, sizeof(target));
        else
            snprintf(target, sizeof(target), "%s", a->metric->namespace_);
        printf("  %-40s %s %s %s %s %g for %lldx%llds", r->key, target,
               a->metric_name ? a->metric_name : a->metric->metric_name,
               a->statistic ? a->statistic : a->extended_statistic, a->comparison, a->threshold.v,
               (long long)a->evaluation_periods.v, (long long)a->period.v);
        break;
    }
    case TT_KIND_BUDGET: {
        const tt_budget_spec *b = r->spec.budget;
        printf("  %-40s %s %g %s", r->key, b->time_unit, b->limit->amount.v, b->limit->unit);
        for (size_t i = 0; i < b->nnotifications; i++)
            printf("%s%s>%g%s", i ? "/" : ", notify at ", b->notifications[i].type,
                   b->notifications[i].threshold.v,
                   strcmp(b->notifications[i].threshold_type, "PERCENTAGE") == 0 ? "%" : "");
        break;
    }
    case TT_KIND_SECRET_ROTATION: {
        const tt_secret_rotation_spec *s = r->spec.rotation;
        printf("  %-40s rotate %s ", r->key, s->secret_id);
        if (s->schedule->automatically_after_days.set)
            printf("every %lld days", (long long)s->schedule->automatically_after_days.v);
        else
            printf("on %s", s->schedule->expression);
        if (s->nreplica_regions)
            printf(", replicated to %zu region%s", s->nreplica_regions,
                   s->nreplica_regions == 1 ? "" : "s");
        break;
    }
    default:
        break;
    }
    printf("\n");
}

int tt_cmd_validate(int argc, char **argv)
{
    static const struct option opts[] = {
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    tt_manifest_set set;
    tt_diags *diags = NULL;
    tt_buf out;
    int verbose = 0, c, status = 1;

    opterr = 0;
    while ((c = getopt_long(argc, argv, "+vh", opts, NULL)) != -1) {
        switch (c) {
        case 'v':
            verbose = 1;
            break;
        case 'h':
            fputs(validate_usage, stdout);
            return 0;
        default:
            fprintf(stderr, "trimtab validate: unknown option '%s'\n\n%s", argv[optind - 1],
                    validate_usage);
            return 2;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "trimtab validate: name at least one file or directory\n\n%s",
                validate_usage);
        return 2;
    }
    tt_manifest_set_init(&set);
    tt_buf_init(&out);
    diags = tt_diags_create();
    if (diags == NULL)
        goto oom;
    for (int i = optind; i < argc; i++) {
        if (tt_loader_add_path(&set, argv[i], diags) != TT_OK)
            goto oom;
    }
    tt_loader_finish(&set, diags);
    tt_diags_sort(diags);
    if (tt_diags_format(diags, &out) != TT_OK)
        goto oom;
    fputs(tt_buf_str(&out), stdout);
    if (verbose) {
        for (size_t i = 0; i < set.len; i++) {
            if (!set.items[i]->invalid)
                describe(set.items[i]);
        }
    }
    printf("%zu resource%s valid, %zu invalid, in %zu file%s (%zu other document%s ignored)\n",
           tt_manifest_set_valid(&set), tt_manifest_set_valid(&set) == 1 ? "" : "s",
           set.len - tt_manifest_set_valid(&set), set.nfiles, set.nfiles == 1 ? "" : "s",
           set.ignored, set.ignored == 1 ? "" : "s");
    status = tt_diags_errors(diags) > 0 ? 1 : 0;
    goto out;
oom:
    fprintf(stderr, "trimtab validate: out of memory\n");
    status = 1;
out:
    tt_buf_cleanup(&out);
    tt_diags_destroy(diags);
    tt_manifest_set_cleanup(&set);
    return status;
}
