/*
 * trimtab run — the operator: read the source, reconcile, keep watching.
 * trimtab plan — the same reading and diffing, printing what would change; nothing is written.
 *
 * Wiring only: the options table, the AWS client, the engine, the source, signals.
 */
#include <errno.h>
#include <ev.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "endpoints.h"
#include "engine.h"
#include "leader.h"
#include "loader.h"
#include "metrics.h"
#include "options.h"
#include "plan.h"
#include "providers.h"
#include "rds.h"
#include "source_dir.h"
#include "source_kube.h"
#include "tt_aws.h"
#include "tt_buf.h"
#include "tt_json.h"
#include "tt_kube.h"
#include "tt_kube_config.h"
#include "tt_log.h"
#include "tt_str.h"

struct run_cfg {
    const char *source;
    const char *state_dir;
    const char *region;
    const char *log_format;
    const char *log_level;
    const char *output;
    const char *metrics_addr;
    const char *health_addr;
    double health_stall;
    const char *kubeconfig;
    const char *context;
    tt_opt_list namespaces;
    const char *lease_name;
    const char *lease_namespace;
    const char *leader_id;
    double lease_duration;
    double renew_deadline;
    double retry_period;
    bool leader_elect;
    double resync;
    double alarm_poll;
    double debounce;
    double grace;
    int64_t aws_rate;
    int64_t concurrency;
    bool once;
    bool dry_run;
    bool prune;
};

static const char *const log_formats[] = {"text", "json", NULL};
static const char *const log_levels[] = {"debug", "info", "warn", "error", NULL};
static const char *const outputs[] = {"text", "json", NULL};

#define RUN_OPT(n, e, t, field, mv, d, h)                                 \
    {                                                                     \
        n, e, t, offsetof(struct run_cfg, field), mv, d, h, 0, 0, NULL, 0 \
    }

static const tt_option source_opts[] = {
    RUN_OPT("source", "TRIMTAB_SOURCE", TT_OPT_STRING, source, "dir:PATH|kube", "dir:.",
            "where the manifests come from: a directory (GitOps checkout) or the Kubernetes API"),
    RUN_OPT("state-dir", "TRIMTAB_STATE_DIR", TT_OPT_STRING, state_dir, "DIR", NULL,
            "status and events of directory mode (default: ~/.local/state/trimtab/<source>)"),
    RUN_OPT("region", "AWS_REGION", TT_OPT_STRING, region, "R", NULL,
            "the AWS region of resources that name none"),
    {"aws-rate", "TRIMTAB_AWS_RATE", TT_OPT_INT, offsetof(struct run_cfg, aws_rate), "N", "20",
     "AWS requests per second per service and region (0: no client-side limit)", 0, 100000, NULL,
     0},
    {"log-format", "TRIMTAB_LOG_FORMAT", TT_OPT_CHOICE, offsetof(struct run_cfg, log_format),
     "text|json", "text", "one line per event, as text or JSON", 0, 0, log_formats, 0},
    {"log-level", "TRIMTAB_LOG_LEVEL", TT_OPT_CHOICE, offsetof(struct run_cfg, log_level),
     "debug|info|warn|error", "info", "least important lines to log", 0, 0, log_levels, 0},
};

static const tt_option run_opts[] = {
    RUN_OPT("kubeconfig", NULL, TT_OPT_STRING, kubeconfig, "FILE", NULL,
            "--source kube and --leader-elect: the kubeconfig (default: $KUBECONFIG, in-cluster, "
            "~/.kube/config)"),
    RUN_OPT("context", NULL, TT_OPT_STRING, context, "NAME", NULL,
            "--source kube and --leader-elect: the kubeconfig context (default: its "
            "current-context)"),
    RUN_OPT("namespace", "TRIMTAB_NAMESPACES", TT_OPT_LIST, namespaces, "NS", NULL,
            "--source kube: watch only this namespace (repeatable; default: all)"),
    RUN_OPT("leader-elect", "TRIMTAB_LEADER_ELECT", TT_OPT_BOOL, leader_elect, NULL, NULL,
            "run as one of several replicas: only the holder of a coordination.k8s.io Lease "
            "writes"),
    RUN_OPT("lease-name", NULL, TT_OPT_STRING, lease_name, "NAME", "trimtab",
            "--leader-elect: the Lease (one per set of replicas that share the work)"),
    RUN_OPT("lease-namespace", "POD_NAMESPACE", TT_OPT_STRING, lease_namespace, "NS", NULL,
            "--leader-elect: the Lease's namespace (default: the service account's, else the "
            "kubeconfig context's, else default)"),
    RUN_OPT("lease-duration", NULL, TT_OPT_DURATION, lease_duration, "D", "15s",
            "--leader-elect: how long followers wait before taking an unrenewed Lease"),
    RUN_OPT("renew-deadline", NULL, TT_OPT_DURATION, renew_deadline, "D", "10s",
            "--leader-elect: how long the leader keeps writing without a successful renewal"),
    RUN_OPT("retry-period", NULL, TT_OPT_DURATION, retry_period, "D", "2s",
            "--leader-elect: time between tries to acquire or renew the Lease"),
    RUN_OPT("leader-id", NULL, TT_OPT_STRING, leader_id, "ID", NULL,
            "--leader-elect: this replica's holderIdentity (default: host name _ random)"),
    RUN_OPT("once", NULL, TT_OPT_BOOL, once, NULL, NULL,
            "reconcile everything once, then exit (1 if anything is not ready)"),
    RUN_OPT("dry-run", NULL, TT_OPT_BOOL, dry_run, NULL, NULL,
            "read AWS and report drift, never write to AWS"),
    RUN_OPT("prune", NULL, TT_OPT_BOOL, prune, NULL, NULL,
            "delete the AWS objects of resources whose manifests are gone"),
    RUN_OPT("resync", "TRIMTAB_RESYNC", TT_OPT_DURATION, resync, "D", "10m",
            "re-read every resource this often, spread over the period"),
    RUN_OPT("alarm-poll", "TRIMTAB_ALARM_POLL", TT_OPT_DURATION, alarm_poll, "D", "60s",
            "how often the alarms that drive RDS vertical scaling are read"),
    {"concurrency", "TRIMTAB_CONCURRENCY", TT_OPT_INT, offsetof(struct run_cfg, concurrency), "N",
     "256", "resources reconciled at once", 1, 100000, NULL, 0},
    RUN_OPT("debounce", NULL, TT_OPT_DURATION, debounce, "D", "10ms",
            "quiet time after a file change before reading it"),
    RUN_OPT("shutdown-grace", NULL, TT_OPT_DURATION, grace, "D", "20s",
            "on SIGTERM, how long in-flight AWS calls may take to finish"),
    RUN_OPT("metrics-addr", "TRIMTAB_METRICS_ADDR", TT_OPT_STRING, metrics_addr, "HOST:PORT", NULL,
            "serve Prometheus /metrics here (\":8080\": every interface; default: off)"),
    RUN_OPT("health-addr", "TRIMTAB_HEALTH_ADDR", TT_OPT_STRING, health_addr, "HOST:PORT", NULL,
            "serve /healthz and /readyz here (may equal --metrics-addr; default: off)"),
    RUN_OPT("health-stall", NULL, TT_OPT_DURATION, health_stall, "D", "30s",
            "/healthz fails once the event loop has not run for this long"),
};

static const tt_option plan_opts[] = {
    {"output", NULL, TT_OPT_CHOICE, offsetof(struct run_cfg, output), "text|json", "text",
     "a readable diff, or JSON for bots that comment on pull requests", 0, 0, outputs, 'o'},
    RUN_OPT("prune", NULL, TT_OPT_BOOL, prune, NULL, NULL,
            "also show what run --prune would delete for manifests that are gone"),
};

#define MAX_OPTS 40

/* One table of the source options, then the command's own; returns how many. */
static size_t all_options(const tt_option *own, size_t nown, tt_option *all)
{
    size_t n = 0;

    for (size_t i = 0; i < sizeof(source_opts) / sizeof(source_opts[0]); i++)
        all[n++] = source_opts[i];
    for (size_t i = 0; i < nown && n < MAX_OPTS; i++)
        all[n++] = own[i];
    return n;
}

static int parse(const tt_option *own, size_t nown, struct run_cfg *cfg, int argc, char **argv,
                 char *err, size_t errlen)
{
    tt_option all[MAX_OPTS];
    size_t n = all_options(own, nown, all);
    int nargs;

    if (tt_opt_parse(all, n, cfg, argc, argv, &nargs, err, errlen) != 0)
        return -1;
    if (nargs > 0) {
        snprintf(err, errlen, "unexpected argument '%s'", argv[1]);
        return -1;
    }
    return 0;
}

static void help(const char *usage, const char *what, const tt_option *own, size_t nown)
{
    tt_option all[MAX_OPTS];

    printf("Usage: %s\n\n%s\n\n", usage, what);
    tt_opt_help(stdout, all, all_options(own, nown, all));
}

struct app {
    struct ev_loop *loop;
    tt_aws *aws;
    tt_engine *engine;
    tt_source_dir *source;
    tt_metrics *metrics;
    tt_endpoints *endpoints;
    int concurrency;
    tt_kube *kube;               /* --source kube */
    tt_source_kube *kube_source; /* --source kube */
    tt_kube *lease_kube;         /* --leader-elect: the Lease's own client */
    tt_leader *leader;           /* --leader-elect */
    ev_signal sigterm;
    ev_signal sigint;
    ev_timer grace;
    double grace_seconds;
    int stopping;
    int idle; /* the engine reported its work done (possibly before the loop ran) */
    /* plan mode */
    json_t *plans;
    json_t *plan_at; /* key → index in plans: a resource planned again replaces its entry */
    int plan_json;
    size_t changed, in_sync, blocked, errors;
};

/* The engine's way to AWS: a plan action's call through the one client (wiring only). */
static tt_code engine_call(struct tt_aws *aws, const tt_engine_call *c, tt_engine_call_cb cb,
                           void *ud, tt_error *err)
{
    tt_aws_req req = {c->service, c->operation, c->region, c->role_arn, c->input};

    return tt_aws_call(aws, &req, cb, ud, err);
}

/* ---- /metrics and /readyz: what the engine and the AWS client know, sampled per request ---- */

/* The AWS client's own series for /metrics (wiring: reconcile/ does not know the client). */
static tt_code render_aws(const void *aws, tt_buf *out)
{
    return tt_aws_metrics_prometheus(aws, out);
}

static tt_code app_metrics(void *ud, tt_buf *out)
{
    struct app *a = ud;
    tt_engine_stats st;
    tt_metrics_sample s = {0};

    tt_engine_stats_get(a->engine, &st);
    s.queue = st.queue;
    s.resources = st.resources;
    s.resting = st.resting;
    s.in_flight = st.in_flight;
    s.concurrency = a->concurrency;
    s.failed = st.failed;
    s.invalid = st.invalid;
    s.not_ready = st.not_ready;
    s.synced = st.synced;
    /* Without --leader-elect there is no leader: every replica writes. */
    s.leader = tt_leader_is_leader(a->leader);
    s.render_aws = render_aws;
    s.aws = a->aws;
    return tt_metrics_render(a->metrics, &s, out);
}

static bool app_ready(void *ud, char *why, size_t len)
{
    struct app *a = ud;
    tt_engine_stats st;

    if (a->stopping) {
        snprintf(why, len, "shutting down");
        return false;
    }
    tt_engine_stats_get(a->engine, &st);
    if (!st.synced) {
        snprintf(why, len, "the source has not delivered its first full listing yet");
        return false;
    }
    return true;
}

/* Serves the endpoints the flags ask for; 0, or -1 after printing why. */
static int start_endpoints(struct app *a, const struct run_cfg *cfg)
{
    tt_endpoints_config c = {cfg->metrics_addr, cfg->health_addr, app_metrics, app_ready, a,
                             cfg->health_stall};
    tt_error e;

    if ((c.metrics_addr == NULL || c.metrics_addr[0] == '\0') &&
        (c.health_addr == NULL || c.health_addr[0] == '\0'))
        return 0;
    a->endpoints = tt_endpoints_create(a->loop, &c, &e);
    if (a->endpoints == NULL) {
        fprintf(stderr, "trimtab: %s\n", e.message);
        return -1;
    }
    return 0;
}

/* ---- the loop ---------------------------------------------------------------------------- */

static void on_released(void *ud)
{
    struct app *a = ud;

    ev_break(a->loop, EVBREAK_ALL);
}

static void on_idle(void *ud)
{
    struct app *a = ud;

    /* The engine may finish before ev_run starts (an empty tree in once mode), and ev_run
     * forgets an ev_break made before it: the flag is what run_main checks. */
    a->idle = 1;
    /* Drained after SIGTERM: the Lease goes last, so a successor starts at once but never
     * while this replica's calls are still in flight (the grace timer bounds the wait). */
    if (a->stopping && tt_leader_release(a->leader, on_released, a))
        return;
    ev_break(a->loop, EVBREAK_ALL);
}

/* Leadership changed. A new leader reconciles everything again: the previous one may have
 * left anything half done, and this replica skipped all work while it was on standby. */
static void on_leading(void *ud, bool leading)
{
    struct app *a = ud;

    if (!leading || a->stopping)
        return;
    if (a->kube_source != NULL)
        tt_source_kube_lead(a->kube_source);
    tt_engine_lead(a->engine);
}

static void on_grace(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct app *a = w->data;

    (void)loop;
    (void)revents;
    tt_log(TT_LOG_WARN, NULL, "shutdown: in-flight AWS calls did not finish in time; cancelling");
    tt_aws_cancel_all(a->aws);
    /* The grace period is the bound on shutdown, whatever state the engine is in. */
    ev_break(loop, EVBREAK_ALL);
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
    struct app *a = w->data;

    (void)revents;
    if (a->stopping++) {
        ev_break(loop, EVBREAK_ALL);
        return;
    }
    tt_log(TT_LOG_INFO, NULL, "shutdown: signal %d; finishing in-flight work", w->signum);
    tt_source_dir_destroy(a->source);
    a->source = NULL;
    /* The Kubernetes source stops watching but stays: in-flight reconciles still write status
     * and release finalizers through it. */
    tt_source_kube_stop(a->kube_source);
    ev_timer_init(&a->grace, on_grace, a->grace_seconds, 0);
    a->grace.data = a;
    ev_timer_start(loop, &a->grace);
    tt_engine_stop(a->engine);
}

/* The count a plan entry is in; NULL for invalid and failed ones, which the engine's statistics
 * count (once per resource). */
static size_t *plan_counter(struct app *a, const json_t *entry)
{
    if (json_object_get(entry, "blocked") != NULL)
        return json_object_get(entry, "invalid") != NULL || json_object_get(entry, "failed") != NULL
                   ? NULL
                   : &a->blocked;
    return json_array_size(json_object_get(entry, "actions")) > 0 ? &a->changed : &a->in_sync;
}

static void on_plan(void *ud, const tt_resource *r, const json_t *plan, const char *blocked,
                    const char *message, const tt_error *err)
{
    struct app *a = ud;
    const json_t *at;
    json_t *entry;
    size_t *count;

    entry = json_pack("{s:s,s:s,s:s,s:s,s:O}", "key", r->key, "kind", tt_kind_name(r->kind),
                      "namespace", r->namespace_, "name", r->name, "actions", plan);
    if (entry == NULL)
        return;
    if (r->file != NULL)
        json_object_set_new(entry, "source", json_sprintf("%s:%d", r->file, r->line));
    if (blocked != NULL) {
        json_object_set_new(entry, "blocked", json_string(blocked));
        json_object_set_new(entry, "message", json_string(message));
        if (r->invalid || err != NULL)
            json_object_set_new(entry, r->invalid ? "invalid" : "failed", json_true());
    }
    /* Planned again in this run (a dependency's status arrived): the newer plan replaces it. */
    if ((at = json_object_get(a->plan_at, r->key)) != NULL) {
        size_t i = (size_t)json_integer_value(at);
        if ((count = plan_counter(a, json_array_get(a->plans, i))) != NULL)
            (*count)--;
        json_array_set_new(a->plans, i, entry);
    } else {
        json_object_set_new(a->plan_at, r->key,
                            json_integer((json_int_t)json_array_size(a->plans)));
        json_array_append_new(a->plans, entry);
    }
    if ((count = plan_counter(a, entry)) != NULL)
        (*count)++;
}

static int key_order(const void *x, const void *y)
{
    return strcmp(json_string_value(json_object_get(*(json_t *const *)x, "key")),
                  json_string_value(json_object_get(*(json_t *const *)y, "key")));
}

static void print_plans(struct app *a, tt_engine_stats *st)
{
    size_t n = json_array_size(a->plans), creates = 0, updates = 0, deletes = 0;
    json_t **v = malloc((n ? n : 1) * sizeof(*v));
    tt_buf out;

    if (v == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(a->plans, i));
    qsort(v, n, sizeof(*v), key_order);
    /* Both outputs list resources by key, so the same tree always prints the same plan. */
    json_array_clear(a->plans);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a->plans, v[i]);
    tt_buf_init(&out);
    for (size_t i = 0; i < n; i++) {
        const json_t *actions = json_object_get(v[i], "actions");
        size_t k;
        json_t *act;
        json_array_foreach(actions, k, act)
        {
            const char *verb = json_string_value(json_object_get(act, "verb"));
            creates += strcmp(verb, "create") == 0;
            deletes += strcmp(verb, "delete") == 0;
            updates += strcmp(verb, "create") != 0 && strcmp(verb, "delete") != 0;
        }
        if (a->plan_json)
            continue;
        if (json_object_get(v[i], "blocked") != NULL) {
            tt_buf_printf(&out, "! %s: %s: %s\n", json_string_value(json_object_get(v[i], "key")),
                          json_string_value(json_object_get(v[i], "blocked")),
                          json_string_value(json_object_get(v[i], "message")));
            continue;
        }
        if (json_array_size(actions) == 0)
            continue;
        tt_buf_printf(&out, "%s", json_string_value(json_object_get(v[i], "key")));
        if (json_object_get(v[i], "source") != NULL)
            tt_buf_printf(&out, "  (%s)", json_string_value(json_object_get(v[i], "source")));
        tt_buf_putc(&out, '\n');
        tt_plan_format(actions, 2, &out);
        tt_buf_putc(&out, '\n');
    }
    if (a->plan_json) {
        json_t *doc =
            json_pack("{s:o,s:{s:I,s:I,s:I,s:I,s:I,s:I,s:I}}", "resources", json_incref(a->plans),
                      "summary", "create", (json_int_t)creates, "update", (json_int_t)updates,
                      "delete", (json_int_t)deletes, "changed", (json_int_t)a->changed, "inSync",
                      (json_int_t)a->in_sync, "blocked", (json_int_t)a->blocked, "invalidOrFailed",
                      (json_int_t)(st->failed + st->invalid));
        char *text = doc ? tt_json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
        if (text != NULL)
            printf("%s\n", text);
        free(text);
        json_decref(doc);
    } else {
        fputs(tt_buf_str(&out), stdout);
        printf("Plan: %zu to create, %zu to update, %zu to delete, in %zu resource%s; %zu in "
               "sync, %zu blocked, %lu invalid or failed.\n",
               creates, updates, deletes, a->changed, a->changed == 1 ? "" : "s", a->in_sync,
               a->blocked, st->failed + st->invalid);
    }
    tt_buf_cleanup(&out);
    free(v);
}

static int configure_log(const struct run_cfg *cfg)
{
    tt_log_level level;
    tt_log_format format;

    tt_log_parse_level(cfg->log_level, &level);
    tt_log_parse_format(cfg->log_format, &format);
    tt_log_configure(level, format, stderr);
    return 0;
}

/* Reads every manifest once and hands them to the engine (plan, run --once); -1 on error. */
static int deliver_once(struct app *a, const char *path, char *err, size_t errlen)
{
    tt_manifest_set set;
    tt_diags *diags;

    if ((diags = tt_diags_create()) == NULL) {
        snprintf(err, errlen, "out of memory reading %s", path);
        return -1;
    }
    tt_manifest_set_init(&set);
    if (tt_loader_add_path(&set, path, diags) != TT_OK) {
        snprintf(err, errlen, "out of memory reading %s", path);
        tt_diags_destroy(diags);
        tt_manifest_set_cleanup(&set);
        return -1;
    }
    tt_loader_finish(&set, diags);
    tt_diags_sort(diags);
    tt_engine_source_handler.problems(a->engine, diags);
    tt_manifest_set_deliver(&set, &tt_engine_source_handler, a->engine);
    tt_manifest_set_cleanup(&set);
    tt_diags_destroy(diags);
    return 0;
}

/*
 * --source kube: the client (on the AWS client's HTTP engine, so one curl multi handle serves
 * both) and the source, which feeds the engine and is also its status sink.
 */
static tt_code start_kube(struct app *a, const struct run_cfg *cfg, tt_error *e)
{
    tt_kube_config_opts kopts = {cfg->kubeconfig, cfg->context, NULL};
    tt_kube_config *kcfg = NULL;
    tt_source_kube_config scfg = {0};
    tt_code rc = tt_kube_config_load(&kopts, &kcfg, e);

    if (rc != TT_OK)
        return rc;
    tt_log(TT_LOG_INFO, NULL, "kubernetes: %s (context %s)", kcfg->server, kcfg->context);
    a->kube = tt_kube_create(a->loop, tt_aws_http(a->aws), kcfg, e);
    if (a->kube == NULL)
        return e->code;
    if (a->leader != NULL)
        tt_kube_set_user_agent(a->kube, tt_leader_config_of(a->leader)->identity);
    scfg.namespaces = cfg->namespaces.items;
    scfg.nnamespaces = cfg->namespaces.n;
    scfg.leader = a->leader;
    a->kube_source =
        tt_source_kube_create(a->loop, a->kube, &scfg, &tt_engine_source_handler, a->engine, e);
    if (a->kube_source == NULL)
        return e->code;
    tt_engine_set_sink(a->engine, &tt_source_kube_sink, a->kube_source);
    /* The cache has each object's text: a resource need not stay in memory between reconciles
     * (docs/engine.md, Resting). */
    tt_engine_set_rebuild(a->engine, tt_source_kube_rebuild, a->kube_source);
    return TT_OK;
}

/* The leader election settings of the flags; `identity` and `ns` are the caller's buffers. */
static tt_leader_config leader_config(const struct run_cfg *cfg, const char *ns, char *identity,
                                      size_t len)
{
    tt_leader_config lc = {cfg->lease_name,     ns,
                           cfg->leader_id,      cfg->lease_duration,
                           cfg->renew_deadline, cfg->retry_period};
    char host[200] = "trimtab";
    unsigned char rnd[6] = {0};

    if (lc.identity == NULL) {
        /* client-go's default: the host name (the pod's name) and something random, so a
         * restarted process never mistakes its predecessor's Lease for its own. */
        if (gethostname(host, sizeof(host) - 1) != 0)
            snprintf(host, sizeof(host), "trimtab");
        if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
            memcpy(rnd, &(pid_t){getpid()}, sizeof(pid_t));
        snprintf(identity, len, "%s_%02x%02x%02x%02x%02x%02x", host, rnd[0], rnd[1], rnd[2], rnd[3],
                 rnd[4], rnd[5]);
        lc.identity = identity;
    }
    return lc;
}

/*
 * --leader-elect: the Lease lives in the Kubernetes API, also in directory mode, so a cluster
 * configuration must be found (the same lookup as --source kube). The candidate gets a client
 * of its own (on the same HTTP engine): a burst of status writes waiting for the rate limiter
 * must not delay a renewal.
 */
static tt_code start_leader(struct app *a, const struct run_cfg *cfg, tt_error *e)
{
    tt_kube_config_opts kopts = {cfg->kubeconfig, cfg->context, NULL};
    tt_kube_config *kcfg = NULL;
    tt_leader_config lc;
    char identity[300];
    const char *ns;

    if (tt_kube_config_load(&kopts, &kcfg, e) != TT_OK) {
        tt_error_prefix(e, "--leader-elect keeps its Lease in the Kubernetes API, and no cluster "
                           "configuration was usable");
        return e->code;
    }
    ns = cfg->lease_namespace != NULL && cfg->lease_namespace[0] != '\0' ? cfg->lease_namespace
         : kcfg->namespace_ != NULL                                      ? kcfg->namespace_
                                                                         : "default";
    lc = leader_config(cfg, ns, identity, sizeof(identity));
    a->lease_kube = tt_kube_create(a->loop, tt_aws_http(a->aws), kcfg, e);
    if (a->lease_kube == NULL)
        return e->code;
    tt_kube_set_user_agent(a->lease_kube, lc.identity);
    /* The namespace and identity are copied here, before kcfg's strings could go. */
    a->leader = tt_leader_create(a->loop, a->lease_kube, &lc, on_leading, a, e);
    return a->leader != NULL ? TT_OK : e->code;
}

static int run_main(int argc, char **argv, int plan_mode)
{
    struct run_cfg cfg = {0};
    struct app a;
    tt_aws_config acfg = {0};
    tt_engine_config ecfg = {0};
    tt_source_dir_config scfg = {0};
    tt_engine_stats st;
    struct stat sb;
    char err[600], state_dir[PATH_MAX];
    const char *path;
    tt_error e;
    int status = 1;
    bool kube_mode;

    memset(&a, 0, sizeof(a));
    if (parse(plan_mode ? plan_opts : run_opts,
              plan_mode ? sizeof(plan_opts) / sizeof(plan_opts[0])
                        : sizeof(run_opts) / sizeof(run_opts[0]),
              &cfg, argc, argv, err, sizeof(err)) != 0) {
        fprintf(stderr, "trimtab %s: %s\n", plan_mode ? "plan" : "run", err);
        return 2;
    }
    kube_mode = !plan_mode && strcmp(cfg.source, "kube") == 0;
    if (kube_mode && cfg.once) {
        fprintf(stderr, "trimtab run: --once reads a directory; with --source kube trimtab keeps "
                        "watching\n");
        return 2;
    }
    if (!plan_mode && cfg.leader_elect) {
        char id[300];
        tt_leader_config lc = leader_config(&cfg, "default", id, sizeof(id));
        if (cfg.once) {
            fprintf(stderr, "trimtab run: --once and --leader-elect do not go together: a "
                            "one-shot run does not wait for a lease\n");
            return 2;
        }
        if (tt_leader_validate(&lc, &e) != TT_OK) {
            fprintf(stderr, "trimtab run: %s\n", e.message);
            return 2;
        }
    }
    if (kube_mode)
        path = "kube";
    else if ((path = tt_cmd_source_path(cfg.source, err, sizeof(err))) == NULL) {
        fprintf(stderr, "trimtab %s: %s\n", plan_mode ? "plan" : "run", err);
        return 2;
    }
    /* A source that does not exist is an error before anything is created: a typo must not
     * read as "nothing to do", nor leave a state directory behind. */
    if (!kube_mode && stat(path, &sb) != 0) {
        fprintf(stderr, "trimtab %s: source %s: %s\n", plan_mode ? "plan" : "run", path,
                strerror(errno));
        return 1;
    }
    configure_log(&cfg);
    if (cfg.state_dir == NULL) {
        char kube_name[300];
        /* Kubernetes mode keeps its memos (the AWS names it owns) per context. */
        snprintf(kube_name, sizeof(kube_name), "kube-%s", cfg.context ? cfg.context : "default");
        tt_cmd_default_state_dir(kube_mode ? kube_name : path, state_dir, sizeof(state_dir));
        cfg.state_dir = state_dir;
    }

    a.loop = EV_DEFAULT;
    a.grace_seconds = cfg.grace;
    acfg.region = cfg.region;
    acfg.rate = cfg.aws_rate > 0 ? (double)cfg.aws_rate : -1;
    a.aws = tt_aws_create(a.loop, &acfg, &e);
    if (a.aws == NULL) {
        fprintf(stderr, "trimtab: %s\n", e.message);
        return 1;
    }
    ecfg.providers = tt_providers;
    ecfg.call = engine_call;
    ecfg.prepare = tt_aws_prepare;
    ecfg.region = tt_aws_region(a.aws);
    ecfg.concurrency = (int)cfg.concurrency;
    ecfg.resync = cfg.resync;
    tt_rds_set_alarm_poll(cfg.alarm_poll);
    ecfg.dry_run = cfg.dry_run;
    /* In Kubernetes a deletion is explicit (and guarded by the finalizer): always carried out. */
    ecfg.prune = cfg.prune || kube_mode;
    ecfg.once = cfg.once || plan_mode;
    ecfg.state_dir = cfg.state_dir;
    ecfg.on_idle = on_idle;
    ecfg.on_idle_ud = &a;
    if (plan_mode) {
        a.plans = json_array();
        a.plan_at = json_object();
        a.plan_json = strcmp(cfg.output, "json") == 0;
        ecfg.on_plan = on_plan;
        ecfg.on_plan_ud = &a;
        ecfg.state_readonly = true;
        /* Plans read what a previous run remembered, but never create state. */
        if (stat(cfg.state_dir, &sb) != 0)
            ecfg.state_dir = NULL;
    } else {
        char events[PATH_MAX + 16];
        snprintf(events, sizeof(events), "%s/events.jsonl", cfg.state_dir);
        ecfg.events_path = events;
        if ((a.metrics = tt_metrics_create()) == NULL) {
            fprintf(stderr, "trimtab: out of memory\n");
            goto out;
        }
        ecfg.metrics = a.metrics;
        if (cfg.leader_elect && start_leader(&a, &cfg, &e) != TT_OK) {
            fprintf(stderr, "trimtab: %s\n", e.message);
            goto out;
        }
        ecfg.leader = a.leader;
        a.concurrency = (int)cfg.concurrency;
        a.engine = tt_engine_create(a.loop, a.aws, &ecfg, &e);
        if (a.engine != NULL && kube_mode && start_kube(&a, &cfg, &e) != TT_OK) {
            fprintf(stderr, "trimtab: %s\n", e.message);
            goto out;
        }
        ecfg.events_path = NULL;
    }
    if (plan_mode)
        a.engine = tt_engine_create(a.loop, a.aws, &ecfg, &e);
    if (a.engine == NULL) {
        fprintf(stderr, "trimtab: %s\n", e.message);
        goto out;
    }
    tt_log(TT_LOG_INFO, NULL, "trimtab %s: source %s, state %s, region %s, credentials %s",
           plan_mode ? "plan" : (cfg.once ? "run --once" : "run"), path,
           ecfg.state_dir ? ecfg.state_dir : "(none)",
           tt_aws_region(a.aws)[0] ? tt_aws_region(a.aws) : "(unset)",
           tt_aws_credentials_source(a.aws));

    ev_signal_init(&a.sigterm, on_signal, SIGTERM);
    ev_signal_init(&a.sigint, on_signal, SIGINT);
    a.sigterm.data = a.sigint.data = &a;
    ev_signal_start(a.loop, &a.sigterm);
    ev_signal_start(a.loop, &a.sigint);
    if (!plan_mode && start_endpoints(&a, &cfg) != 0)
        goto out;

    if (ecfg.once) {
        if (deliver_once(&a, path, err, sizeof(err)) != 0) {
            fprintf(stderr, "trimtab %s: %s\n", plan_mode ? "plan" : "run", err);
            goto out;
        }
    } else if (kube_mode) {
        if (tt_source_kube_start(a.kube_source, &e) != TT_OK) {
            fprintf(stderr, "trimtab: %s\n", e.message);
            goto out;
        }
    } else {
        scfg.path = path;
        scfg.debounce = cfg.debounce;
        a.source = tt_source_dir_create(a.loop, &scfg, &tt_engine_source_handler, a.engine, &e);
        /* A long run holds no resource it is not reconciling: the files have them (a run that
         * ends after one pass has nothing to gain). */
        if (a.source != NULL && !ecfg.once)
            tt_engine_set_rebuild(a.engine, tt_source_dir_rebuild, a.source);
        if (a.source == NULL || tt_source_dir_start(a.source, &e) != TT_OK) {
            fprintf(stderr, "trimtab: %s\n", e.message);
            goto out;
        }
    }
    if (a.leader != NULL)
        tt_leader_start(a.leader);
    if (!a.idle)
        ev_run(a.loop, 0);

    tt_engine_stats_get(a.engine, &st);
    if (plan_mode) {
        print_plans(&a, &st);
        status = st.failed + st.invalid > 0 ? 1 : (a.changed > 0 ? 2 : 0);
    } else if (cfg.once) {
        status = st.failed + st.invalid + st.not_ready > 0 ? 1 : 0;
        tt_log(TT_LOG_INFO, NULL,
               "done: %lu reconciles, %lu AWS changes, %lu failed, %lu invalid, %lu not ready",
               st.reconciles, st.applied_actions, st.failed, st.invalid, st.not_ready);
    } else {
        status = 0;
        tt_log(TT_LOG_INFO, NULL, "stopped cleanly");
    }
out:
    ev_signal_stop(a.loop, &a.sigterm);
    ev_signal_stop(a.loop, &a.sigint);
    ev_timer_stop(a.loop, &a.grace);
    tt_source_dir_destroy(a.source);
    tt_endpoints_destroy(a.endpoints);
    tt_source_kube_stop(a.kube_source);
    if (a.aws != NULL)
        tt_aws_cancel_all(a.aws);
    tt_engine_destroy(a.engine);
    tt_metrics_destroy(a.metrics);
    /* The engine is gone, so nothing reports to the sink any more; the HTTP engine the
     * Kubernetes client borrows goes with the AWS client, last. */
    tt_source_kube_destroy(a.kube_source);
    tt_kube_destroy(a.kube);
    tt_leader_destroy(a.leader);
    tt_kube_destroy(a.lease_kube);
    tt_aws_destroy(a.aws);
    json_decref(a.plans);
    json_decref(a.plan_at);
    return status;
}

int tt_cmd_run(int argc, char **argv)
{
    if (tt_cmd_wants_help(argc, argv)) {
        help(
            "trimtab run [OPTIONS]",
            "Reconciles AWS with the ScalingPolicy, Alarm, Budget and SecretRotation resources of\n"
            "the source, then keeps watching: a changed manifest is applied at once, and every\n"
            "resource is re-read each --resync to correct drift. SIGTERM or SIGINT stops taking\n"
            "work, lets in-flight AWS calls finish, and exits 0.",
            run_opts, sizeof(run_opts) / sizeof(run_opts[0]));
        return 0;
    }
    return run_main(argc, argv, 0);
}

int tt_cmd_plan(int argc, char **argv)
{
    if (tt_cmd_wants_help(argc, argv)) {
        help("trimtab plan [OPTIONS]",
             "Shows what `trimtab run` would change in AWS, resource by resource and field by\n"
             "field, like `terraform plan`. Reads AWS; writes nothing.\n"
             "Exit status: 0 in sync, 2 changes pending, 1 an error or an invalid resource.",
             plan_opts, sizeof(plan_opts) / sizeof(plan_opts[0]));
        return 0;
    }
    return run_main(argc, argv, 1);
}
