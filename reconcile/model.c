#include "model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"
#include "tt_json.h"
#include "tt_str.h"

static const struct {
    const char *name;
    const char *plural;
} kinds[TT_KIND_COUNT] = {
    [TT_KIND_SCALING_POLICY] = {"ScalingPolicy", "scalingpolicies"},
    [TT_KIND_ALARM] = {"Alarm", "alarms"},
    [TT_KIND_BUDGET] = {"Budget", "budgets"},
    [TT_KIND_SECRET_ROTATION] = {"SecretRotation", "secretrotations"},
};

const char *tt_kind_name(tt_kind k)
{
    return (unsigned)k < TT_KIND_COUNT ? kinds[k].name : "Unknown";
}

const char *tt_kind_plural(tt_kind k)
{
    return (unsigned)k < TT_KIND_COUNT ? kinds[k].plural : "unknown";
}

int tt_kind_parse(const char *name, tt_kind *out)
{
    for (int i = 0; i < TT_KIND_COUNT; i++) {
        if (strcmp(name, kinds[i].name) == 0) {
            *out = (tt_kind)i;
            return 0;
        }
    }
    return -1;
}

tt_target_kind tt_target_kind_of(const tt_target *t)
{
    if (t == NULL)
        return TT_TARGET_NONE;
    if (t->ecs != NULL)
        return TT_TARGET_ECS;
    if (t->rds != NULL)
        return t->rds->cluster != NULL ? TT_TARGET_RDS_CLUSTER : TT_TARGET_RDS_INSTANCE;
    if (t->elasticache != NULL)
        return TT_TARGET_ELASTICACHE;
    if (t->lambda != NULL)
        return TT_TARGET_LAMBDA;
    if (t->cloudfront != NULL)
        return TT_TARGET_CLOUDFRONT;
    return TT_TARGET_NONE;
}

void tt_target_describe(const tt_target *t, char *out, size_t outlen)
{
    switch (tt_target_kind_of(t)) {
    case TT_TARGET_ECS:
        snprintf(out, outlen, "ecs %s/%s", t->ecs->cluster, t->ecs->service);
        break;
    case TT_TARGET_RDS_CLUSTER:
        snprintf(out, outlen, "rds cluster %s", t->rds->cluster);
        break;
    case TT_TARGET_RDS_INSTANCE:
        snprintf(out, outlen, "rds instance %s", t->rds->instance);
        break;
    case TT_TARGET_ELASTICACHE:
        snprintf(out, outlen, "elasticache %s", t->elasticache->replication_group);
        break;
    case TT_TARGET_LAMBDA:
        if (t->lambda->alias != NULL)
            snprintf(out, outlen, "lambda %s:%s", t->lambda->function, t->lambda->alias);
        else
            snprintf(out, outlen, "lambda %s", t->lambda->function);
        break;
    case TT_TARGET_CLOUDFRONT:
        snprintf(out, outlen, "cloudfront %s", t->cloudfront->distribution_id);
        break;
    default:
        snprintf(out, outlen, "-");
        break;
    }
}

/* ---- composite rules ------------------------------------------------------------------------ */

struct rule_parser {
    const char *s;
    const char *p;
    int depth;
    void (*fn)(void *ud, const char *name, size_t len);
    void *ud;
    tt_error *err;
};

static void rp_skip(struct rule_parser *rp)
{
    while (*rp->p == ' ' || *rp->p == '\t' || *rp->p == '\n' || *rp->p == '\r')
        rp->p++;
}

/* Consumes `word` when it stands at the cursor as a whole word. */
static int rp_word(struct rule_parser *rp, const char *word)
{
    size_t n = strlen(word);
    char next;

    rp_skip(rp);
    if (strncmp(rp->p, word, n) != 0)
        return 0;
    next = rp->p[n];
    if ((next >= 'A' && next <= 'Z') || (next >= 'a' && next <= 'z') || next == '_')
        return 0;
    rp->p += n;
    return 1;
}

static tt_code rp_fail(struct rule_parser *rp, const char *what)
{
    return tt_error_set(rp->err, TT_EINVAL, "rule: %s at character %d", what,
                        (int)(rp->p - rp->s) + 1);
}

static tt_code rp_expr(struct rule_parser *rp);

static tt_code rp_factor(struct rule_parser *rp)
{
    tt_code rc;

    if (++rp->depth > 100)
        return rp_fail(rp, "nesting is too deep");
    rp_skip(rp);
    if (rp_word(rp, "NOT")) {
        rc = rp_factor(rp);
    } else if (*rp->p == '(') {
        rp->p++;
        if ((rc = rp_expr(rp)) == TT_OK) {
            rp_skip(rp);
            if (*rp->p != ')')
                rc = rp_fail(rp, "expected ')'");
            else
                rp->p++;
        }
    } else if (rp_word(rp, "TRUE") || rp_word(rp, "FALSE")) {
        rc = TT_OK;
    } else if (rp_word(rp, "ALARM") || rp_word(rp, "OK") || rp_word(rp, "INSUFFICIENT_DATA")) {
        const char *name;
        size_t len;
        rp_skip(rp);
        if (*rp->p != '(')
            return rp_fail(rp, "expected '(' after the state function");
        rp->p++;
        rp_skip(rp);
        if (*rp->p == '"') {
            name = ++rp->p;
            while (*rp->p != '\0' && *rp->p != '"')
                rp->p++;
            if (*rp->p != '"')
                return rp_fail(rp, "unterminated quoted alarm name");
            len = (size_t)(rp->p - name);
            rp->p++;
        } else {
            name = rp->p;
            while (*rp->p != '\0' && *rp->p != ')' && *rp->p != ' ' && *rp->p != '(')
                rp->p++;
            len = (size_t)(rp->p - name);
        }
        if (len == 0)
            return rp_fail(rp, "empty alarm name");
        rp_skip(rp);
        if (*rp->p != ')')
            return rp_fail(rp, "expected ')' after the alarm name");
        rp->p++;
        if (rp->fn != NULL)
            rp->fn(rp->ud, name, len);
        rc = TT_OK;
    } else {
        rc = rp_fail(rp, "expected ALARM(…), OK(…), INSUFFICIENT_DATA(…), TRUE, FALSE, NOT or '('");
    }
    rp->depth--;
    return rc;
}

static tt_code rp_expr(struct rule_parser *rp)
{
    tt_code rc = rp_factor(rp);

    while (rc == TT_OK && (rp_word(rp, "AND") || rp_word(rp, "OR")))
        rc = rp_factor(rp);
    return rc;
}

tt_code tt_composite_rule_names(const char *rule,
                                void (*fn)(void *ud, const char *name, size_t len), void *ud,
                                tt_error *err)
{
    struct rule_parser rp = {rule, rule, 0, fn, ud, err};
    tt_code rc = rp_expr(&rp);

    if (rc != TT_OK)
        return rc;
    rp_skip(&rp);
    if (*rp.p != '\0')
        return rp_fail(&rp, "unexpected text (AND, OR or the end expected)");
    return TT_OK;
}

/* ---- resources -------------------------------------------------------------------------------- */

void tt_resource_destroy(tt_resource *r)
{
    if (r == NULL)
        return;
    /* The resource itself lives in its arena. */
    tt_arena_destroy(r->arena);
}

/* True when the "; "-separated problem list in `b` already holds `g`. */
static bool has_problem(const tt_buf *b, const tt_diag *g)
{
    tt_buf one;
    const char *list = b->len > 0 ? tt_buf_str(b) : "", *at;
    bool found = false;

    tt_buf_init(&one);
    tt_diag_format(g, &one);
    for (at = list; one.len > 0 && (at = strstr(at, tt_buf_str(&one))) != NULL; at++) {
        bool starts = at == list || (at - list >= 2 && at[-2] == ';' && at[-1] == ' ');
        bool ends = at[one.len] == '\0' || at[one.len] == ';';
        if (starts && ends) {
            found = true;
            break;
        }
    }
    tt_buf_cleanup(&one);
    return found;
}

void tt_resource_note_problems(tt_resource *r, const tt_diags *d, size_t from, int line_lo,
                               int line_hi)
{
    tt_buf b;
    size_t shown = 0, more = 0;
    const char *file = r->file ? r->file : "";

    r->invalid = true;
    tt_buf_init(&b);
    if (r->problem != NULL)
        tt_buf_puts(&b, r->problem);
    for (size_t i = from; i < tt_diags_count(d); i++) {
        const tt_diag *g = tt_diags_get(d, i);
        if (g->severity != TT_DIAG_ERROR || strcmp(g->file, file) != 0 || g->line < line_lo ||
            (line_hi > 0 && g->line >= line_hi))
            continue;
        if (has_problem(&b, g))
            continue; /* noted by an earlier call (a document's parser errors cover its range) */
        if (shown == 3) {
            more++;
            continue;
        }
        if (b.len > 0)
            tt_buf_puts(&b, "; ");
        tt_diag_format(g, &b);
        shown++;
    }
    if (more > 0)
        tt_buf_printf(&b, "; and %zu more", more);
    if (b.len > 0) {
        const char *p = tt_arena_strdup(r->arena, tt_buf_str(&b));
        if (p != NULL)
            r->problem = p;
    }
    tt_buf_cleanup(&b);
}

static const char *annotation(const tt_metadata *md, const char *key)
{
    for (size_t i = 0; i < md->nannotations; i++) {
        if (strcmp(md->annotations[i].key, key) == 0)
            return md->annotations[i].value;
    }
    return NULL;
}

const char *tt_resource_annotation(const tt_resource *r, const char *key)
{
    for (size_t i = 0; i < r->nannotations; i++) {
        if (strcmp(r->annotations[i].key, key) == 0)
            return r->annotations[i].value;
    }
    return NULL;
}

/* External names decide which AWS objects the spec is about, so they count as spec: a renamed
 * object is a changed resource. */
static uint64_t external_names_hash(const tt_metadata *md, uint64_t h)
{
    size_t n = strlen(TT_ANN_EXTERNAL_NAME);

    for (size_t i = 0; i < md->nannotations; i++) {
        if (strncmp(md->annotations[i].key, TT_ANN_EXTERNAL_NAME, n) == 0 ||
            strcmp(md->annotations[i].key, TT_ANN_IMPORTED) == 0)
            h = h * 31 + tt_hash64_str(md->annotations[i].key) * 7 +
                tt_hash64_str(md->annotations[i].value);
    }
    return h;
}

static const char *const top_fields[] = {"apiVersion", "kind", "metadata", "spec", "status"};

/* Reports an unknown kind within our API group, with a hint. */
static void unknown_kind(tt_vctx *v, const char *kind)
{
    const char *best = NULL;
    int best_d = 4;

    for (int i = 0; i < TT_KIND_COUNT; i++) {
        int d = tt_edit_distance(kind, kinds[i].name, 3);
        if (d < best_d) {
            best_d = d;
            best = kinds[i].name;
        }
    }
    if (best != NULL)
        tt_vctx_error(v, "kind", "unknown kind '%s' in trimtab.dev; did you mean '%s'?", kind,
                      best);
    else
        tt_vctx_error(v, "kind",
                      "unknown kind '%s' in trimtab.dev (ScalingPolicy, Alarm, Budget or "
                      "SecretRotation)",
                      kind);
}

static uint64_t spec_hash(const json_t *spec)
{
    char *dump = tt_json_dumps(spec, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    uint64_t h;

    if (dump == NULL)
        return 0;
    h = tt_hash64_str(dump);
    free(dump);
    return h;
}

/* A copy of `s` in the resource's arena; false when out of memory (NULL copies as NULL). */
static bool keep_str(tt_vctx *v, const char *s, const char **out)
{
    *out = tt_arena_strdup(v->arena, s);
    return s == NULL || *out != NULL;
}

/*
 * The resource's identity from its metadata. The metadata was parsed into a scratch arena, and
 * the resource's arena receives only what the resource keeps: not the labels, finalizers or
 * deletion time (the resource keeps flags), and the name as the tail of the key, not once more.
 */
static int identity(tt_vctx *v, tt_resource *r, const tt_metadata *md)
{
    char key[600];
    int n;
    tt_kv *annotations = NULL;

    r->generation = md->generation.set ? md->generation.v : 0;
    r->deleting = md->deletion_timestamp != NULL;
    for (size_t i = 0; i < md->nfinalizers; i++)
        r->has_finalizer |=
            md->finalizers[i] && strcmp(md->finalizers[i], "trimtab.dev/cleanup") == 0;
    r->imported = annotation(md, TT_ANN_IMPORTED) != NULL &&
                  strcmp(annotation(md, TT_ANN_IMPORTED), "true") == 0;
    if (md->namespace_ == NULL)
        r->namespace_ = "default";
    else if (!keep_str(v, md->namespace_, &r->namespace_))
        return -1;
    n = snprintf(key, sizeof(key), "%s/%s/%s", tt_kind_name(r->kind), r->namespace_, md->name);
    if (!keep_str(v, key, &r->key))
        return -1;
    if (n > 0 && (size_t)n < sizeof(key))
        r->name = r->key + (size_t)n - strlen(md->name);
    else if (!keep_str(v, md->name, &r->name))
        return -1;
    if (!keep_str(v, md->uid, &r->uid) || !keep_str(v, md->resource_version, &r->resource_version))
        return -1;
    if (md->nannotations > 0) {
        annotations = tt_arena_alloc(v->arena, md->nannotations * sizeof(*annotations));
        if (annotations == NULL)
            return -1;
        for (size_t i = 0; i < md->nannotations; i++) {
            if (!keep_str(v, md->annotations[i].key, &annotations[i].key) ||
                !keep_str(v, md->annotations[i].value, &annotations[i].value))
                return -1;
        }
    }
    r->annotations = annotations;
    r->nannotations = md->nannotations;
    r->reconcile_requested_at = tt_resource_annotation(r, TT_ANN_RECONCILE);
    r->rotate_requested_at = tt_resource_annotation(r, TT_ANN_ROTATE);
    return 0;
}

/* Builds the resource in an arena whose first block is `first_block` bytes. */
static tt_code build(const json_t *obj, const tt_doc_src *src, tt_diags *diags, size_t first_block,
                     tt_resource **out)
{
    const char *api, *kind_name, *slash;
    const json_t *meta, *spec;
    tt_vctx v = {0};
    /* Only read while building, from its own scratch arena: identity() copies what the
     * resource keeps into the resource's arena. */
    tt_metadata md_storage = {0}, *md = &md_storage;
    tt_resource *r = NULL;
    tt_arena *arena = NULL, *scratch = NULL;
    size_t diags_before = tt_diags_count(diags);
    tt_kind kind;
    bool named;
    tt_code rc = TT_OK;

    *out = NULL;
    api = json_string_value(json_object_get(obj, "apiVersion"));
    kind_name = json_string_value(json_object_get(obj, "kind"));
    if (!json_is_object(obj) || api == NULL || kind_name == NULL)
        return TT_ENOTFOUND;
    slash = strchr(api, '/');
    if (slash == NULL || (size_t)(slash - api) != strlen(TT_API_GROUP) ||
        strncmp(api, TT_API_GROUP, (size_t)(slash - api)) != 0)
        return TT_ENOTFOUND; /* another API group: not ours, ignored */

    v.diags = diags;
    v.file = src->file;
    v.lines = src->lines;
    tt_buf_init(&v.path);
    if (src->path_prefix != NULL)
        tt_buf_puts(&v.path, src->path_prefix);

    if (tt_kind_parse(kind_name, &kind) != 0) {
        unknown_kind(&v, kind_name);
        rc = TT_EINVAL;
        goto out;
    }
    arena = tt_arena_create(first_block);
    scratch = tt_arena_create(0);
    if (arena == NULL || scratch == NULL) {
        rc = TT_ENOMEM;
        goto out;
    }
    v.arena = arena;
    r = tt_arena_alloc(arena, sizeof(*r));
    if (r == NULL) {
        rc = TT_ENOMEM;
        goto out;
    }
    r->arena = arena;
    r->kind = kind;
    r->file = src->file && src->file[0] ? tt_arena_strdup(arena, src->file) : NULL;
    r->line = src->line;

    if (strcmp(api, TT_API_VERSION) != 0)
        tt_vctx_error(&v, "apiVersion", "'%s' is not served; use apiVersion: %s", api,
                      TT_API_VERSION);
    tt_schema_unknown_fields(&v, obj, top_fields, sizeof(top_fields) / sizeof(top_fields[0]));

    meta = json_object_get(obj, "metadata");
    if (meta == NULL) {
        tt_vctx_error(&v, "metadata", "is required (with at least a name)");
        rc = TT_EINVAL;
        goto out;
    }
    {
        size_t old = tt_path_push_key(&v.path, "metadata");
        v.arena = scratch;
        tt_schema_parse(&v, &tt_metadata_schema, meta, md);
        v.arena = arena;
        tt_path_pop(&v.path, old);
    }
    named = md->name != NULL && tt_check_k8s_name(md->name) == NULL &&
            (md->namespace_ == NULL || tt_check_dns_label(md->namespace_) == NULL);
    if (named && identity(&v, r, md) != 0) {
        rc = TT_ENOMEM;
        goto out;
    }

    spec = json_object_get(obj, "spec");
    if (src->truncated) {
        /* A partial document would only yield errors about what the parser never reached. */
    } else if (spec == NULL || json_is_null(spec)) {
        tt_vctx_error(&v, "spec", "is required");
    } else {
        const tt_schema *schema = tt_model_spec_schema(kind);
        size_t old = tt_path_push_key(&v.path, "spec");
        r->spec.any = tt_arena_alloc(arena, schema->size);
        if (r->spec.any == NULL) {
            rc = TT_ENOMEM;
            goto out;
        }
        tt_schema_parse(&v, schema, spec, r->spec.any);
        tt_path_pop(&v.path, old);
        r->spec_hash = external_names_hash(md, spec_hash(spec));
    }
    if (v.oom) {
        rc = TT_ENOMEM;
        goto out;
    }
    if (!named) {
        /* The spec was still checked so every problem is reported, but without a usable name
         * there is no resource to report it by. */
        rc = TT_EINVAL;
        goto out;
    }
    r->invalid = v.nerrors > 0 || src->doc_errors > 0;
    if (v.nerrors > 0)
        tt_resource_note_problems(r, diags, diags_before, 0, 0);
    rc = r->invalid ? TT_EINVAL : TT_OK;
    *out = r;
    arena = NULL; /* owned by *out now */
out:
    tt_arena_destroy(arena);
    tt_arena_destroy(scratch);
    tt_buf_cleanup(&v.path);
    return rc;
}

/*
 * A resource lives as long as its manifest, and a cluster's worth of them is most of what
 * trimtab holds, so each gets an arena of exactly its size: built once in a generous block to
 * learn the size, then again into one block of that size. Building is deterministic, so the
 * second pass makes the same allocations and reports the same problems (into a throwaway
 * diags; the caller got them from the first). Costs a few microseconds per manifest and saves
 * about a third of each arena (~370 bytes of a 1 KiB block for a typical ScalingPolicy).
 */
tt_code tt_model_from_json(const json_t *obj, const tt_doc_src *src, tt_diags *diags,
                           tt_resource **out)
{
    tt_resource *exact = NULL;
    tt_diags *quiet;
    size_t need;
    tt_code rc = build(obj, src, diags, 1024, out);

    if (*out == NULL || rc != TT_OK)
        return rc; /* an invalid resource gets more problems noted later: keep the room */
    need = tt_arena_used((*out)->arena);
    if (need + 64 >= tt_arena_size((*out)->arena))
        return rc; /* already tight (or grew past its first block by little) */
    quiet = tt_diags_create();
    if (quiet != NULL && build(obj, src, quiet, need, &exact) == rc && exact != NULL) {
        tt_resource_destroy(*out);
        *out = exact;
        exact = NULL;
    }
    tt_resource_destroy(exact);
    tt_diags_destroy(quiet);
    return rc;
}

/* ---- references between resources -------------------------------------------------------------- */

struct refs {
    tt_resource **rs;
    size_t n;
    json_t *index; /* "Kind/ns/name" → position in rs */
    tt_diags *diags;
};

static tt_resource *find(struct refs *x, tt_kind kind, const char *ns, const char *name,
                         size_t name_len)
{
    char key[600];
    json_t *pos;

    snprintf(key, sizeof(key), "%s/%s/%.*s", tt_kind_name(kind), ns, (int)name_len, name);
    pos = json_object_get(x->index, key);
    return pos != NULL ? x->rs[json_integer_value(pos)] : NULL;
}

static void ref_problem(struct refs *x, tt_resource *r, tt_severity sev, int line, const char *path,
                        const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void ref_problem(struct refs *x, tt_resource *r, tt_severity sev, int line, const char *path,
                        const char *fmt, ...)
{
    size_t from = tt_diags_count(x->diags);
    va_list ap;

    va_start(ap, fmt);
    tt_diags_addv(x->diags, sev, r->file, line, path, fmt, ap);
    va_end(ap);
    if (sev == TT_DIAG_ERROR)
        tt_resource_note_problems(r, x->diags, from, line, line + 1);
}

static void check_sp_refs(struct refs *x, tt_resource *r)
{
    const tt_scaling_policy_spec *s = r->spec.sp;
    char path[128];

    for (size_t i = 0; i < s->nbudget_guard; i++) {
        const tt_budget_guard *g = &s->budget_guard[i];
        snprintf(path, sizeof(path), "spec.budgetGuard[%zu].budget", i);
        if (find(x, TT_KIND_BUDGET, r->namespace_, g->budget, strlen(g->budget)) == NULL)
            ref_problem(x, r, TT_DIAG_WARNING, g->line, path,
                        "Budget '%s' is not among these manifests; the guard waits until it "
                        "exists in namespace %s",
                        g->budget, r->namespace_);
    }
    if (s->vertical != NULL) {
        const tt_alarm_ref *refs[2] = {s->vertical->scale_up_on, s->vertical->scale_down_on};
        const char *fields[2] = {"scaleUpOn", "scaleDownOn"};
        for (int i = 0; i < 2; i++) {
            tt_resource *a;
            if (refs[i] == NULL)
                continue;
            snprintf(path, sizeof(path), "spec.vertical.%s.alarm", fields[i]);
            a = find(x, TT_KIND_ALARM, r->namespace_, refs[i]->alarm, strlen(refs[i]->alarm));
            if (a == NULL)
                ref_problem(x, r, TT_DIAG_WARNING, refs[i]->line, path,
                            "Alarm '%s' is not among these manifests; vertical scaling waits "
                            "until it exists in namespace %s",
                            refs[i]->alarm, r->namespace_);
        }
    }
}

static void check_action_refs(struct refs *x, tt_resource *r, const tt_alarm_action *acts, size_t n,
                              const char *list)
{
    char path[128];

    for (size_t i = 0; i < n; i++) {
        const tt_scaling_policy_ref *ref = acts[i].scaling_policy;
        tt_resource *sp;
        const tt_scaling_policy_spec *s;
        size_t k;

        if (ref == NULL)
            continue;
        snprintf(path, sizeof(path), "spec.actions.%s[%zu].scalingPolicy", list, i);
        sp = find(x, TT_KIND_SCALING_POLICY, r->namespace_, ref->name, strlen(ref->name));
        if (sp == NULL) {
            ref_problem(x, r, TT_DIAG_WARNING, ref->line, path,
                        "ScalingPolicy '%s' is not among these manifests; the alarm waits until "
                        "its step policy '%s' exists",
                        ref->name, ref->policy);
            continue;
        }
        if (sp->invalid || sp->spec.sp == NULL)
            continue; /* invalid itself, already reported; its spec may be partial */
        s = sp->spec.sp;
        for (k = 0; k < s->nstep_scaling && strcmp(s->step_scaling[k].name, ref->policy) != 0; k++)
            ;
        if (k < s->nstep_scaling)
            continue;
        for (k = 0; k < s->ntarget_tracking; k++) {
            if (strcmp(s->target_tracking[k].name, ref->policy) == 0)
                break;
        }
        if (k < s->ntarget_tracking) {
            ref_problem(x, r, TT_DIAG_ERROR, ref->line, path,
                        "'%s' in ScalingPolicy '%s' is a target tracking policy; alarms can only "
                        "trigger step scaling policies",
                        ref->policy, ref->name);
        } else {
            tt_buf names;
            tt_buf_init(&names);
            for (k = 0; k < s->nstep_scaling; k++)
                tt_buf_printf(&names, "%s'%s'", k ? ", " : "", s->step_scaling[k].name);
            ref_problem(x, r, TT_DIAG_ERROR, ref->line, path,
                        "ScalingPolicy '%s' has no step scaling policy '%s' (it has: %s)",
                        ref->name, ref->policy, names.len ? tt_buf_str(&names) : "none");
            tt_buf_cleanup(&names);
        }
    }
}

struct composite_ctx {
    struct refs *x;
    tt_resource *r;
};

static void composite_name(void *ud, const char *name, size_t len)
{
    struct composite_ctx *c = ud;
    tt_resource *r = c->r;

    if (len == strlen(r->name) && strncmp(name, r->name, len) == 0) {
        ref_problem(c->x, r, TT_DIAG_ERROR, r->spec.alarm->composite->line, "spec.composite.rule",
                    "a composite alarm cannot refer to itself");
        return;
    }
    if (strncmp(name, "arn:", 4) == 0)
        return; /* an existing alarm named by ARN: not a resource of ours */
    if (find(c->x, TT_KIND_ALARM, r->namespace_, name, len) == NULL)
        ref_problem(c->x, r, TT_DIAG_WARNING, r->spec.alarm->composite->line, "spec.composite.rule",
                    "Alarm '%.*s' is not among these manifests; the composite alarm waits until "
                    "it exists in namespace %s",
                    (int)len, name, r->namespace_);
}

static void check_alarm_refs(struct refs *x, tt_resource *r)
{
    const tt_alarm_spec *a = r->spec.alarm;

    if (a->actions != NULL) {
        check_action_refs(x, r, a->actions->alarm, a->actions->nalarm, "alarm");
        check_action_refs(x, r, a->actions->ok, a->actions->nok, "ok");
        check_action_refs(x, r, a->actions->insufficient_data, a->actions->ninsufficient_data,
                          "insufficientData");
    }
    if (a->composite != NULL) {
        struct composite_ctx c = {x, r};
        tt_error err;
        tt_composite_rule_names(a->composite->rule, composite_name, &c, &err);
    }
}

void tt_model_check_refs(tt_resource **rs, size_t n, tt_diags *diags)
{
    struct refs x = {rs, n, json_object(), diags};

    if (x.index == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        if (rs[i] != NULL && rs[i]->key != NULL)
            json_object_set_new(x.index, rs[i]->key, json_integer((json_int_t)i));
    }
    for (size_t i = 0; i < n; i++) {
        tt_resource *r = rs[i];
        if (r == NULL || r->spec.any == NULL || r->invalid)
            continue;
        if (r->kind == TT_KIND_SCALING_POLICY)
            check_sp_refs(&x, r);
        else if (r->kind == TT_KIND_ALARM)
            check_alarm_refs(&x, r);
    }
    json_decref(x.index);
}

struct refs_ctx {
    void (*fn)(void *ud, tt_kind kind, const char *name, size_t len);
    void *ud;
};

static void rule_ref(void *ud, const char *name, size_t len)
{
    struct refs_ctx *c = ud;

    if (strncmp(name, "arn:", 4) != 0)
        c->fn(c->ud, TT_KIND_ALARM, name, len);
}

static void action_refs(const tt_alarm_action *a, size_t n,
                        void (*fn)(void *ud, tt_kind kind, const char *name, size_t len), void *ud)
{
    for (size_t i = 0; i < n; i++) {
        if (a[i].scaling_policy != NULL)
            fn(ud, TT_KIND_SCALING_POLICY, a[i].scaling_policy->name,
               strlen(a[i].scaling_policy->name));
    }
}

void tt_resource_refs(const tt_resource *r,
                      void (*fn)(void *ud, tt_kind kind, const char *name, size_t len), void *ud)
{
    if (r->spec.any == NULL)
        return;
    if (r->kind == TT_KIND_SCALING_POLICY) {
        const tt_scaling_policy_spec *s = r->spec.sp;
        for (size_t i = 0; i < s->nbudget_guard; i++)
            fn(ud, TT_KIND_BUDGET, s->budget_guard[i].budget, strlen(s->budget_guard[i].budget));
        if (s->vertical != NULL && s->vertical->scale_up_on != NULL)
            fn(ud, TT_KIND_ALARM, s->vertical->scale_up_on->alarm,
               strlen(s->vertical->scale_up_on->alarm));
        if (s->vertical != NULL && s->vertical->scale_down_on != NULL)
            fn(ud, TT_KIND_ALARM, s->vertical->scale_down_on->alarm,
               strlen(s->vertical->scale_down_on->alarm));
    } else if (r->kind == TT_KIND_ALARM) {
        const tt_alarm_spec *a = r->spec.alarm;
        struct refs_ctx c = {fn, ud};
        tt_error err;
        if (a->actions != NULL) {
            action_refs(a->actions->alarm, a->actions->nalarm, fn, ud);
            action_refs(a->actions->ok, a->actions->nok, fn, ud);
            action_refs(a->actions->insufficient_data, a->actions->ninsufficient_data, fn, ud);
        }
        if (a->composite != NULL && a->composite->rule != NULL)
            tt_composite_rule_names(a->composite->rule, rule_ref, &c, &err);
    }
}
