#include "metrics.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "tt_buf.h"
#include "tt_version.h"

/*
 * One bucket layout for every histogram: from a millisecond (a queue pop, an in-sync
 * reconcile of a batch) to two minutes (an apply that waits out AWS retries). Prometheus'
 * default buckets stop at 10 s, which would put every slow reconcile into +Inf.
 */
static const double bounds[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                1,     2.5,   5,    10,    30,   60,  120};
#define NBOUNDS (sizeof(bounds) / sizeof(bounds[0]))

struct hist {
    uint64_t buckets[NBOUNDS + 1]; /* not cumulative; the last one is above every bound */
    uint64_t count;
    double sum;
};

struct tt_metrics {
    struct hist reconcile[TT_KIND_COUNT][TT_METRICS_RESULT_COUNT];
    struct hist queue_wait;
    struct hist work;
    time_t started;
};

static const char *const result_names[TT_METRICS_RESULT_COUNT] = {"success", "error", "not_ready",
                                                                  "invalid"};

tt_metrics *tt_metrics_create(void)
{
    tt_metrics *m = calloc(1, sizeof(*m));

    /* Created as `trimtab run` starts, so this is the process's start time to the second. */
    if (m != NULL)
        m->started = time(NULL);
    return m;
}

void tt_metrics_destroy(tt_metrics *m)
{
    free(m);
}

static void observe(struct hist *h, double v)
{
    size_t i = 0;

    if (!(v >= 0))
        v = 0; /* a clock step backwards or NaN must not poison the sum */
    while (i < NBOUNDS && v > bounds[i])
        i++;
    h->buckets[i]++;
    h->count++;
    h->sum += v;
}

void tt_metrics_reconcile(tt_metrics *m, tt_kind kind, tt_metrics_result result, double seconds)
{
    if (m == NULL || (unsigned)kind >= TT_KIND_COUNT || (unsigned)result >= TT_METRICS_RESULT_COUNT)
        return;
    observe(&m->reconcile[kind][result], seconds);
    /* A reconcile is the work done for one key between pop and done. */
    observe(&m->work, seconds);
}

void tt_metrics_queue_wait(tt_metrics *m, double seconds)
{
    if (m != NULL)
        observe(&m->queue_wait, seconds);
}

uint64_t tt_metrics_reconcile_count(const tt_metrics *m, tt_kind kind, tt_metrics_result result)
{
    if (m == NULL || (unsigned)kind >= TT_KIND_COUNT || (unsigned)result >= TT_METRICS_RESULT_COUNT)
        return 0;
    return m->reconcile[kind][result].count;
}

/* "ScalingPolicy" → "scalingpolicy", controller-runtime's default controller name. */
static void controller_name(tt_kind kind, char *out, size_t len)
{
    const char *name = tt_kind_name(kind);
    size_t i;

    for (i = 0; i + 1 < len && name[i] != '\0'; i++)
        out[i] = (char)tolower((unsigned char)name[i]);
    out[i] = '\0';
}

static tt_code header(tt_buf *out, const char *name, const char *type, const char *help)
{
    return tt_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The series of one histogram; `labels` is "a=\"x\"," (with the trailing comma) or "". */
static tt_code hist_lines(tt_buf *out, const char *name, const char *labels, const struct hist *h)
{
    uint64_t cumulative = 0;
    size_t n = strlen(labels);
    tt_code rc = TT_OK;

    for (size_t i = 0; i < NBOUNDS && rc == TT_OK; i++) {
        cumulative += h->buckets[i];
        rc = tt_buf_printf(out, "%s_bucket{%sle=\"%g\"} %llu\n", name, labels, bounds[i],
                           (unsigned long long)cumulative);
    }
    if (rc == TT_OK)
        rc = tt_buf_printf(out, "%s_bucket{%sle=\"+Inf\"} %llu\n", name, labels,
                           (unsigned long long)h->count);
    /* _sum and _count carry the same labels without le, and without the trailing comma. */
    if (rc == TT_OK)
        rc = tt_buf_printf(out, "%s_sum{%.*s} %.9g\n%s_count{%.*s} %llu\n", name,
                           (int)(n ? n - 1 : 0), labels, h->sum, name, (int)(n ? n - 1 : 0), labels,
                           (unsigned long long)h->count);
    return rc;
}

static tt_code render_reconcile(const tt_metrics *m, tt_buf *out)
{
    char ctl[32], labels[96];
    tt_code rc;

    rc = header(out, "controller_runtime_reconcile_total", "counter",
                "Reconciles by controller (the kind, in lower case) and result.");
    for (int k = 0; k < TT_KIND_COUNT && rc == TT_OK; k++) {
        controller_name((tt_kind)k, ctl, sizeof(ctl));
        for (int r = 0; r < TT_METRICS_RESULT_COUNT && rc == TT_OK; r++)
            rc = tt_buf_printf(out,
                               "controller_runtime_reconcile_total{controller=\"%s\","
                               "result=\"%s\"} %llu\n",
                               ctl, result_names[r], (unsigned long long)m->reconcile[k][r].count);
    }
    if (rc == TT_OK)
        rc = header(out, "controller_runtime_reconcile_errors_total", "counter",
                    "Reconciles that ended on an error, by controller.");
    for (int k = 0; k < TT_KIND_COUNT && rc == TT_OK; k++) {
        controller_name((tt_kind)k, ctl, sizeof(ctl));
        rc = tt_buf_printf(out,
                           "controller_runtime_reconcile_errors_total{controller=\"%s\"} %llu\n",
                           ctl, (unsigned long long)m->reconcile[k][TT_METRICS_ERROR].count);
    }
    if (rc == TT_OK)
        rc = header(out, "controller_runtime_reconcile_time_seconds", "histogram",
                    "Time per reconcile (observe, diff, apply), by controller and result.");
    for (int k = 0; k < TT_KIND_COUNT && rc == TT_OK; k++) {
        controller_name((tt_kind)k, ctl, sizeof(ctl));
        for (int r = 0; r < TT_METRICS_RESULT_COUNT && rc == TT_OK; r++) {
            snprintf(labels, sizeof(labels), "controller=\"%s\",result=\"%s\",", ctl,
                     result_names[r]);
            rc = hist_lines(out, "controller_runtime_reconcile_time_seconds", labels,
                            &m->reconcile[k][r]);
        }
    }
    return rc;
}

/* A family with one series, or a few fixed ones: its HELP, TYPE and sample lines as data. */
struct scalar {
    const char *name; /* the family */
    const char *type; /* "gauge" or "counter" */
    const char *help;
    const char *series; /* the sample's name and labels, e.g. "workqueue_depth{name=\"trimtab\"}" */
    double value;       /* integers below 2^53 print exactly */
};

/* Writes each scalar; consecutive entries of one family share its HELP and TYPE. */
static tt_code scalar_lines(tt_buf *out, const struct scalar *v, size_t n)
{
    tt_code rc = TT_OK;

    for (size_t i = 0; i < n && rc == TT_OK; i++) {
        if (i == 0 || strcmp(v[i].name, v[i - 1].name) != 0)
            rc = header(out, v[i].name, v[i].type, v[i].help);
        if (rc == TT_OK)
            rc = tt_buf_printf(out, "%s %.17g\n", v[i].series, v[i].value);
    }
    return rc;
}

static tt_code render_queue(const tt_metrics *m, const tt_metrics_sample *s, tt_buf *out)
{
    const tt_queue_stats *q = &s->queue;
    const struct scalar v[] = {
        {"workqueue_depth", "gauge", "Keys waiting to be reconciled now.",
         "workqueue_depth{name=\"trimtab\"}", (double)q->waiting},
        {"trimtab_workqueue_delayed", "gauge",
         "Keys due later: requeue-after, retry backoff, the spread resync.",
         "trimtab_workqueue_delayed{name=\"trimtab\"}", (double)q->delayed},
        {"workqueue_adds_total", "counter", "Times a key was queued.",
         "workqueue_adds_total{name=\"trimtab\"}", (double)q->adds},
        {"workqueue_retries_total", "counter",
         "Keys re-queued with backoff after a failed reconcile.",
         "workqueue_retries_total{name=\"trimtab\"}", (double)q->retries},
    };
    tt_code rc = scalar_lines(out, v, sizeof(v) / sizeof(v[0]));

    if (rc == TT_OK)
        rc = header(out, "workqueue_queue_duration_seconds", "histogram",
                    "Time from a key being queued to its reconcile starting.");
    if (rc == TT_OK)
        rc = hist_lines(out, "workqueue_queue_duration_seconds", "name=\"trimtab\",",
                        &m->queue_wait);
    if (rc == TT_OK)
        rc = header(out, "workqueue_work_duration_seconds", "histogram",
                    "Time from a key's reconcile starting to its end.");
    if (rc == TT_OK)
        rc = hist_lines(out, "workqueue_work_duration_seconds", "name=\"trimtab\",", &m->work);
    return rc;
}

static tt_code render_engine(const tt_metrics_sample *s, tt_buf *out)
{
    static const char unhealthy[] =
        "Resources whose last reconcile failed, was blocked, or whose spec is invalid.";
    const struct scalar v[] = {
        {"trimtab_resources", "gauge", "Resources the source declares.", "trimtab_resources",
         (double)s->resources},
        {"trimtab_resources_resting", "gauge",
         "Resources held as key and group only between reconciles: the source builds them "
         "again for the next one.",
         "trimtab_resources_resting", (double)s->resting},
        {"trimtab_resources_unhealthy", "gauge", unhealthy,
         "trimtab_resources_unhealthy{reason=\"error\"}", (double)s->failed},
        {"trimtab_resources_unhealthy", "gauge", unhealthy,
         "trimtab_resources_unhealthy{reason=\"not_ready\"}", (double)s->not_ready},
        {"trimtab_resources_unhealthy", "gauge", unhealthy,
         "trimtab_resources_unhealthy{reason=\"invalid\"}", (double)s->invalid},
        {"controller_runtime_active_workers", "gauge", "Reconciles running.",
         "controller_runtime_active_workers{controller=\"trimtab\"}", (double)s->in_flight},
        {"controller_runtime_max_concurrent_reconciles", "gauge",
         "The most reconciles that may run at once (--concurrency).",
         "controller_runtime_max_concurrent_reconciles{controller=\"trimtab\"}",
         (double)s->concurrency},
        {"trimtab_source_synced", "gauge",
         "1 once the source delivered its first full listing (/readyz).", "trimtab_source_synced",
         s->synced ? 1 : 0},
        {"leader_election_master_status", "gauge",
         "1 when this replica is the one that writes (always 1 without --leader-elect).",
         "leader_election_master_status{name=\"trimtab\"}", s->leader ? 1 : 0},
        {"trimtab_build_info", "gauge", "The build: always 1, with labels.",
         "trimtab_build_info{version=\"" TT_VERSION "\"}", 1},
    };

    return scalar_lines(out, v, sizeof(v) / sizeof(v[0]));
}

/* Resident memory from /proc; -1 when it cannot be read (not Linux, /proc not mounted). */
static long long resident_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long long size, resident = -1;

    if (f == NULL)
        return -1;
    if (fscanf(f, "%lld %lld", &size, &resident) != 2)
        resident = -1;
    fclose(f);
    return resident < 0 ? -1 : resident * (long long)sysconf(_SC_PAGESIZE);
}

static tt_code render_process(const tt_metrics *m, tt_buf *out)
{
    struct rusage ru;
    long long rss = resident_bytes();
    tt_code rc = TT_OK;

    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                     (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
        rc = header(out, "process_cpu_seconds_total", "counter", "User and system CPU time.");
        if (rc == TT_OK)
            rc = tt_buf_printf(out, "process_cpu_seconds_total %.6f\n", cpu);
    }
    if (rc == TT_OK && rss >= 0) {
        rc = header(out, "process_resident_memory_bytes", "gauge", "Resident memory.");
        if (rc == TT_OK)
            rc = tt_buf_printf(out, "process_resident_memory_bytes %lld\n", rss);
    }
    if (rc == TT_OK)
        rc = header(out, "process_start_time_seconds", "gauge",
                    "Start time of the process, in seconds since the Unix epoch.");
    if (rc == TT_OK)
        rc = tt_buf_printf(out, "process_start_time_seconds %lld\n", (long long)m->started);
    return rc;
}

tt_code tt_metrics_render(const tt_metrics *m, const tt_metrics_sample *s, tt_buf *out)
{
    tt_code rc = render_reconcile(m, out);

    if (rc == TT_OK)
        rc = render_queue(m, s, out);
    if (rc == TT_OK)
        rc = render_engine(s, out);
    if (rc == TT_OK && s->render_aws != NULL)
        rc = s->render_aws(s->aws, out);
    if (rc == TT_OK)
        rc = render_process(m, out);
    return rc;
}
