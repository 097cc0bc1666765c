/*
 * tt_iam — providers' IAM declarations to one policy document (see iam.h).
 *
 * Every (action, condition, ARN) a resource needs becomes one grant; grants are sorted and
 * de-duplicated, an action granted on "*" keeps only "*", and actions of one service with the
 * same condition and the same ARNs share one statement.
 */
#include <stdlib.h>
#include <string.h>

#include "iam.h"
#include "plan.h"
#include "providers.h"

typedef struct grant {
    char *action; /* "ecs:DescribeServices" */
    tt_iam_condition condition;
    char *resource;        /* an ARN, or "*" */
    const char *resources; /* after grouping: every resource of the action, "\n"-joined */
} grant;

typedef struct grants {
    grant *v;
    size_t len, cap;
} grants;

static void grants_cleanup(grants *g)
{
    for (size_t i = 0; i < g->len; i++) {
        free(g->v[i].action);
        free(g->v[i].resource);
    }
    free(g->v);
}

/* Adds a grant; copies both strings. */
static tt_code grants_add(grants *g, const char *action, tt_iam_condition c, const char *resource)
{
    if (g->len == g->cap) {
        size_t cap = g->cap ? 2 * g->cap : 64;
        grant *v = realloc(g->v, cap * sizeof(*v));
        if (v == NULL)
            return TT_ENOMEM;
        g->v = v;
        g->cap = cap;
    }
    g->v[g->len].action = strdup(action);
    g->v[g->len].resource = strdup(resource);
    g->v[g->len].condition = c;
    g->v[g->len].resources = NULL;
    if (g->v[g->len].action == NULL || g->v[g->len].resource == NULL) {
        free(g->v[g->len].action);
        free(g->v[g->len].resource);
        return TT_ENOMEM;
    }
    g->len++;
    return TT_OK;
}

static int by_action(const void *a, const void *b)
{
    const grant *x = a, *y = b;
    int c = strcmp(x->action, y->action);

    if (c == 0)
        c = (int)x->condition - (int)y->condition;
    return c != 0 ? c : strcmp(x->resource, y->resource);
}

/* The service prefix of an action ("ecs" of "ecs:DescribeServices"), compared up to ':'. */
static int service_cmp(const char *a, const char *b)
{
    size_t la = strcspn(a, ":"), lb = strcspn(b, ":");
    int c = strncmp(a, b, la < lb ? la : lb);

    return c != 0 ? c : (la > lb) - (la < lb);
}

/* Statement order: service, condition, resources, then action. */
static int by_statement(const void *a, const void *b)
{
    const grant *x = a, *y = b;
    int c = service_cmp(x->action, y->action);

    if (c == 0)
        c = (int)x->condition - (int)y->condition;
    if (c == 0)
        c = strcmp(x->resources, y->resources);
    return c != 0 ? c : strcmp(x->action, y->action);
}

static const tt_target *target_of(const tt_resource *r)
{
    if (r->kind == TT_KIND_SCALING_POLICY)
        return r->spec.sp->target;
    if (r->kind == TT_KIND_ALARM)
        return r->spec.alarm->target;
    return NULL;
}

/* The value of placeholder `name` (without braces) for `r`, into `out`; "*" when `r` has none. */
static void placeholder(const char *name, size_t len, const tt_resource *r,
                        const tt_iam_scope *scope, tt_buf *out)
{
    const tt_target *t = target_of(r);
    const char *v = NULL;

#define IS(s) (len == strlen(s) && strncmp(name, s, len) == 0)
    if (IS("partition"))
        v = scope->partition;
    else if (IS("account"))
        v = scope->account;
    else if (IS("region"))
        v = r->spec.common->region != NULL ? r->spec.common->region : scope->region;
    else if (IS("namespace"))
        v = r->namespace_;
    else if (IS("cluster") && t != NULL && t->ecs != NULL)
        v = t->ecs->cluster;
    else if (IS("service") && t != NULL && t->ecs != NULL)
        v = t->ecs->service;
    else if (IS("instance") && t != NULL && t->rds != NULL)
        v = t->rds->instance;
    else if (IS("dbcluster") && t != NULL && t->rds != NULL)
        v = t->rds->cluster;
    else if (IS("group") && t != NULL && t->elasticache != NULL)
        v = t->elasticache->replication_group;
    else if (IS("function") && t != NULL && t->lambda != NULL)
        v = t->lambda->function;
    else if (IS("alias") && t != NULL && t->lambda != NULL)
        v = t->lambda->alias;
    else if (IS("distribution") && t != NULL && t->cloudfront != NULL)
        v = t->cloudfront->distribution_id;
    else if (IS("secret") && r->kind == TT_KIND_SECRET_ROTATION) {
        const char *id = r->spec.rotation->secret_id, *tail = strstr(id, ":secret:");
        /* An ARN names the secret exactly; a name matches AWS's six random characters. */
        if (strncmp(id, "arn:", 4) == 0 && tail != NULL) {
            tt_buf_puts(out, tail + strlen(":secret:"));
        } else {
            tt_buf_puts(out, id);
            tt_buf_puts(out, "-??????");
        }
        return;
    }
#undef IS
    tt_buf_puts(out, v != NULL ? v : "*");
}

/* `tmpl` with its {placeholders} filled for `r`, into `out` (reset first). */
static tt_code expand(const char *tmpl, const tt_resource *r, const tt_iam_scope *scope,
                      tt_buf *out)
{
    tt_buf_reset(out);
    for (const char *p = tmpl; *p != '\0';) {
        const char *close = *p == '{' ? strchr(p, '}') : NULL;
        if (close == NULL) {
            size_t lit = strcspn(p + 1, "{") + 1;
            tt_buf_append(out, p, lit);
            p += lit;
            continue;
        }
        placeholder(p + 1, (size_t)(close - p - 1), r, scope, out);
        p = close + 1;
    }
    return tt_buf_reserve(out, 1);
}

/* Every grant `r` needs, from its provider's declarations. */
static tt_code collect(const tt_resource *r, const tt_iam_scope *scope, grants *g, tt_buf *arn)
{
    const tt_provider *p = tt_provider_for(r);
    const char *role = r->spec.common->role_arn;
    tt_code rc = TT_OK;

    /* A resource under another role is that role's business; the operator only assumes it. */
    if (scope->role == NULL && role != NULL)
        return grants_add(g, "sts:AssumeRole", TT_IAM_NONE, role);
    if (scope->role != NULL && (role == NULL || strcmp(role, scope->role) != 0))
        return TT_OK;
    for (const tt_iam_needs *need = p != NULL ? p->iam : NULL; need != NULL && rc == TT_OK;
         need = need->also) {
        for (size_t i = 0; i < need->n && rc == TT_OK; i++) {
            const tt_iam_action *a = &need->actions[i];
            if (a->needed != NULL && !a->needed(r))
                continue;
            if (a->resource == NULL) {
                rc = grants_add(g, a->action, a->condition, "*");
                continue;
            }
            rc = expand(a->resource, r, scope, arn);
            if (rc == TT_OK)
                rc = grants_add(g, a->action, a->condition, tt_buf_str(arn));
        }
    }
    return rc;
}

/* "application-autoscaling:X" → "ApplicationAutoscaling" appended to `out`. */
static void camel_service(const char *action, tt_buf *out)
{
    int up = 1;

    for (const char *p = action; *p != '\0' && *p != ':'; p++) {
        if (*p == '-') {
            up = 1;
            continue;
        }
        tt_buf_putc(out, up && *p >= 'a' && *p <= 'z' ? (char)(*p - 'a' + 'A') : *p);
        up = 0;
    }
}

/* The Condition of a statement, or NULL for none; `owners` (["<namespace>/…"]) is borrowed. */
static json_t *condition_json(tt_iam_condition c, json_t *owners)
{
    json_t *keys = json_pack("{s:[s]}", "aws:TagKeys", TT_OWNER_TAG);

    switch (c) {
    case TT_IAM_OWNED:
        json_decref(keys);
        return json_pack("{s:{s:O}}", "StringLike", "aws:ResourceTag/" TT_OWNER_TAG, owners);
    case TT_IAM_TAG_OWNER:
        return json_pack("{s:o,s:{s:O}}", "ForAllValues:StringEquals", keys, "StringLike",
                         "aws:RequestTag/" TT_OWNER_TAG, owners);
    case TT_IAM_UNTAG_OWNER:
        return json_pack("{s:o}", "ForAllValues:StringEquals", keys);
    case TT_IAM_NONE:
        break;
    }
    json_decref(keys);
    return NULL;
}

/* The statement for grants [from, to) (same service, condition and resources): a new
 * reference, or NULL when out of memory. `owners` is borrowed; `sids` records the Sids used. */
static json_t *statement(const grant *v, size_t from, size_t to, json_t *owners, tt_buf *sid,
                         json_t *sids)
{
    static const char *const scope[] = {"", "Owned", "Tagging", "Untagging"};
    json_t *st = NULL, *actions = json_array(), *resources = json_array(), *cond;
    const char *res = v[from].resources;
    char name[200];
    int dup = 1;

    if (actions == NULL || resources == NULL)
        goto out;
    for (size_t i = from; i < to; i++) {
        if (json_array_append_new(actions, json_string(v[i].action)) != 0)
            goto out;
    }
    for (const char *p = res; *p != '\0';) {
        size_t len = strcspn(p, "\n");
        if (json_array_append_new(resources, json_stringn(p, len)) != 0)
            goto out;
        p += len + (p[len] == '\n');
    }
    tt_buf_reset(sid);
    camel_service(v[from].action, sid);
    tt_buf_puts(sid, strcmp(res, "*") == 0 ? "AnyResource" : "Scoped");
    tt_buf_puts(sid, scope[v[from].condition]);
    /* Statements of one service and scope that differ by resources are numbered in order. */
    snprintf(name, sizeof(name), "%s", tt_buf_str(sid));
    while (json_object_get(sids, name) != NULL)
        snprintf(name, sizeof(name), "%s%d", tt_buf_str(sid), ++dup);
    if (json_object_set_new(sids, name, json_true()) != 0)
        goto out;
    st = json_pack("{s:s,s:s,s:O,s:o}", "Sid", name, "Effect", "Allow", "Action", actions,
                   "Resource", strcmp(res, "*") == 0 ? json_string("*") : json_incref(resources));
    cond = condition_json(v[from].condition, owners);
    if (st != NULL && cond != NULL && json_object_set_new(st, "Condition", cond) != 0) {
        json_decref(st);
        st = NULL;
    }
out:
    json_decref(actions);
    json_decref(resources);
    return st;
}

/* The owner tag patterns "<namespace>/…" of the valid resources, sorted and unique. */
static json_t *owner_patterns(tt_resource *const *rs, size_t n)
{
    json_t *set = json_object(), *list = json_array(), *v;
    const char *k;
    char pat[300];

    if (set == NULL || list == NULL)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        if (rs[i]->invalid)
            continue;
        snprintf(pat, sizeof(pat), "%s/*", rs[i]->namespace_);
        if (json_object_set_new(set, pat, json_true()) != 0)
            goto fail;
    }
    json_object_foreach(set, k, v)
    {
        if (json_array_append_new(list, json_string(k)) != 0)
            goto fail;
    }
    json_decref(set);
    return list;
fail:
    json_decref(set);
    json_decref(list);
    return NULL;
}

static int by_string(const void *a, const void *b)
{
    return strcmp(json_string_value(*(json_t *const *)a), json_string_value(*(json_t *const *)b));
}

tt_code tt_iam_policy(tt_resource *const *rs, size_t n, const tt_iam_scope *scope, json_t **policy,
                      tt_error *err)
{
    grants g = {NULL, 0, 0};
    tt_buf arn, joined, sid;
    json_t *owners = NULL, *sorted = NULL, *stmts = json_array(), *sids = json_object();
    size_t kept = 0;
    tt_code rc = TT_ENOMEM;

    *policy = NULL;
    tt_buf_init(&arn);
    tt_buf_init(&joined);
    tt_buf_init(&sid);
    if (stmts == NULL || sids == NULL || (owners = owner_patterns(rs, n)) == NULL ||
        (sorted = tt_json_sorted(owners, by_string)) == NULL)
        goto out;
    for (size_t i = 0; i < n; i++) {
        if (!rs[i]->invalid && collect(rs[i], scope, &g, &arn) != TT_OK)
            goto out;
    }
    /* Sort, drop repeats, and let "*" stand alone for its action: it sorts before any ARN. */
    if (g.len > 0) /* qsort takes no NULL array, even empty */
        qsort(g.v, g.len, sizeof(*g.v), by_action);
    for (size_t i = 0; i < g.len; i++) {
        const grant *last = kept ? &g.v[kept - 1] : NULL;
        if (last != NULL && strcmp(last->action, g.v[i].action) == 0 &&
            last->condition == g.v[i].condition &&
            (strcmp(last->resource, g.v[i].resource) == 0 || strcmp(last->resource, "*") == 0)) {
            free(g.v[i].action);
            free(g.v[i].resource);
            continue;
        }
        g.v[kept++] = g.v[i];
    }
    g.len = kept;
    /* Each action's resources as one string, so actions on the same ARNs group together. */
    for (size_t i = 0, j; i < g.len; i = j) {
        tt_buf_reset(&joined);
        for (j = i; j < g.len && strcmp(g.v[j].action, g.v[i].action) == 0 &&
                    g.v[j].condition == g.v[i].condition;
             j++)
            tt_buf_printf(&joined, "%s%s", j > i ? "\n" : "", g.v[j].resource);
        if (tt_buf_reserve(&joined, 1) != TT_OK)
            goto out;
        g.v[i].resources = tt_buf_steal(&joined);
        if (g.v[i].resources == NULL)
            goto out;
        for (size_t k = i + 1; k < j; k++) {
            free(g.v[k].action);
            free(g.v[k].resource);
        }
        memmove(&g.v[i + 1], &g.v[j], (g.len - j) * sizeof(*g.v));
        g.len -= j - i - 1;
        j = i + 1;
    }
    if (g.len > 0)
        qsort(g.v, g.len, sizeof(*g.v), by_statement);
    for (size_t i = 0, j; i < g.len; i = j) {
        json_t *st;
        for (j = i; j < g.len && service_cmp(g.v[j].action, g.v[i].action) == 0 &&
                    g.v[j].condition == g.v[i].condition &&
                    strcmp(g.v[j].resources, g.v[i].resources) == 0;
             j++)
            ;
        st = statement(g.v, i, j, sorted, &sid, sids);
        if (st == NULL || json_array_append_new(stmts, st) != 0)
            goto out;
    }
    *policy = json_pack("{s:s,s:O}", "Version", "2012-10-17", "Statement", stmts);
    rc = *policy != NULL ? TT_OK : TT_ENOMEM;
out:
    for (size_t i = 0; i < g.len; i++)
        free((char *)g.v[i].resources);
    grants_cleanup(&g);
    tt_buf_cleanup(&arn);
    tt_buf_cleanup(&joined);
    tt_buf_cleanup(&sid);
    json_decref(owners);
    json_decref(sorted);
    json_decref(stmts);
    json_decref(sids);
    if (rc != TT_OK)
        tt_error_set(err, rc, "out of memory building the IAM policy");
    return rc;
}

/* A string as an HCL literal: quotes and backslashes escaped, "${" and "%{" doubled. */
static void hcl_string(tt_buf *out, const char *s)
{
    tt_buf_putc(out, '"');
    for (const char *p = s; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\')
            tt_buf_putc(out, '\\');
        else if ((*p == '$' || *p == '%') && p[1] == '{')
            tt_buf_putc(out, *p);
        tt_buf_putc(out, *p);
    }
    tt_buf_putc(out, '"');
}

/* `name = [..]` of a string or an array of strings. */
static void hcl_list(tt_buf *out, const char *indent, const char *name, const json_t *v)
{
    size_t i;
    json_t *e;

    tt_buf_printf(out, "%s%s = [", indent, name);
    if (json_is_string(v)) {
        hcl_string(out, json_string_value(v));
    } else {
        json_array_foreach(v, i, e)
        {
            tt_buf_printf(out, "%s\n%s  ", i ? "," : "", indent);
            hcl_string(out, json_string_value(e));
        }
        tt_buf_printf(out, ",\n%s", indent);
    }
    tt_buf_puts(out, "]\n");
}

tt_code tt_iam_terraform(const json_t *policy, const char *name, tt_buf *out)
{
    const json_t *st, *cond, *vars, *values;
    const char *test, *var;
    size_t i;

    tt_buf_printf(out, "data \"aws_iam_policy_document\" ");
    hcl_string(out, name);
    tt_buf_puts(out, " {\n");
    json_array_foreach(json_object_get(policy, "Statement"), i, st)
    {
        tt_buf_printf(out, "%s  statement {\n    sid    = ", i ? "\n" : "");
        hcl_string(out, json_string_value(json_object_get(st, "Sid")));
        tt_buf_puts(out, "\n    effect = \"Allow\"\n");
        hcl_list(out, "    ", "actions", json_object_get(st, "Action"));
        hcl_list(out, "    ", "resources", json_object_get(st, "Resource"));
        cond = json_object_get(st, "Condition");
        json_object_foreach((json_t *)cond, test, vars)
        {
            json_object_foreach((json_t *)vars, var, values)
            {
                tt_buf_puts(out, "\n    condition {\n      test     = ");
                hcl_string(out, test);
                tt_buf_puts(out, "\n      variable = ");
                hcl_string(out, var);
                tt_buf_putc(out, '\n');
                hcl_list(out, "      ", "values  ", values);
                tt_buf_puts(out, "    }\n");
            }
        }
        tt_buf_puts(out, "  }\n");
    }
    return tt_buf_puts(out, "}\n");
}
