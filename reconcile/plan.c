#include "plan.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tt_json.h"

json_t *tt_plan_new(void)
{
    return json_array();
}

json_t *tt_plan_add(json_t *plan, const char *verb, const char *object, const char *service,
                    const char *operation, const char *region, json_t *input)
{
    json_t *call, *action;

    call = json_pack("{s:s,s:s,s:o}", "service", service, "operation", operation, "input",
                     input ? input : json_object());
    if (call == NULL)
        return NULL;
    if (region != NULL)
        json_object_set_new(call, "region", json_string(region));
    action =
        json_pack("{s:s,s:s,s:[],s:o}", "verb", verb, "object", object, "changes", "call", call);
    if (action == NULL || json_array_append_new(plan, action) != 0)
        return NULL;
    return action;
}

void tt_action_change(json_t *action, const char *field, json_t *old_value, json_t *new_value)
{
    json_t *c = json_pack("{s:s}", "field", field);

    if (c == NULL) {
        json_decref(old_value);
        json_decref(new_value);
        return;
    }
    json_object_set_new(c, "old", old_value ? old_value : json_null());
    json_object_set_new(c, "new", new_value ? new_value : json_null());
    json_array_append_new(json_object_get(action, "changes"), c);
}

size_t tt_plan_len(const json_t *plan)
{
    return json_array_size(plan);
}

/* Scalars print bare, absent values as "(none)", structures as compact JSON. */
static tt_code put_value(tt_buf *out, const json_t *v)
{
    char *s;
    tt_code rc;

    if (v == NULL || json_is_null(v))
        return tt_buf_puts(out, "(none)");
    if (json_is_string(v))
        return tt_buf_printf(out, "\"%s\"", json_string_value(v));
    s = tt_json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS | JSON_REAL_PRECISION(10));
    if (s == NULL)
        return TT_ENOMEM;
    rc = tt_buf_puts(out, s);
    free(s);
    return rc;
}

static const char *verb_sign(const char *verb)
{
    if (strcmp(verb, "create") == 0)
        return "+";
    if (strcmp(verb, "delete") == 0)
        return "-";
    return "~";
}

tt_code tt_plan_format(const json_t *plan, int indent, tt_buf *out)
{
    size_t i, k;
    json_t *a, *c;

    json_array_foreach(plan, i, a)
    {
        const char *verb = json_string_value(json_object_get(a, "verb"));
        const char *warning = json_string_value(json_object_get(a, "warning"));
        tt_buf_printf(out, "%*s%s %s %s\n", indent, "", verb_sign(verb), verb,
                      json_string_value(json_object_get(a, "object")));
        if (warning != NULL)
            tt_buf_printf(out, "%*s    ! warning: %s\n", indent, "", warning);
        json_array_foreach(json_object_get(a, "changes"), k, c)
        {
            tt_buf_printf(out, "%*s    %s: ", indent, "",
                          json_string_value(json_object_get(c, "field")));
            put_value(out, json_object_get(c, "old"));
            tt_buf_puts(out, " → ");
            put_value(out, json_object_get(c, "new"));
            if (tt_buf_putc(out, '\n') != TT_OK)
                return TT_ENOMEM;
        }
    }
    return TT_OK;
}

tt_code tt_action_summary(const json_t *action, tt_buf *out)
{
    const json_t *changes = json_object_get(action, "changes");
    size_t k;
    json_t *c;

    tt_buf_printf(out, "%s %s", json_string_value(json_object_get(action, "verb")),
                  json_string_value(json_object_get(action, "object")));
    if (json_array_size(changes) == 0)
        return TT_OK;
    tt_buf_puts(out, " (");
    json_array_foreach(changes, k, c)
    {
        if (k == 3) {
            tt_buf_printf(out, ", %zu more", json_array_size(changes) - 3);
            break;
        }
        tt_buf_printf(out, "%s%s ", k ? ", " : "", json_string_value(json_object_get(c, "field")));
        put_value(out, json_object_get(c, "old"));
        tt_buf_puts(out, " → ");
        put_value(out, json_object_get(c, "new"));
    }
    return tt_buf_putc(out, ')');
}

int tt_json_same(const json_t *a, const json_t *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    if (json_is_number(a) && json_is_number(b)) {
        double mag = fabs(json_number_value(a));
        return fabs(json_number_value(a) - json_number_value(b)) <= 1e-9 * (mag > 1.0 ? mag : 1.0);
    }
    if (json_is_array(a) && json_is_array(b)) {
        if (json_array_size(a) != json_array_size(b))
            return 0;
        for (size_t i = 0; i < json_array_size(a); i++) {
            if (!tt_json_same(json_array_get(a, i), json_array_get(b, i)))
                return 0;
        }
        return 1;
    }
    if (json_is_object(a) && json_is_object(b)) {
        const char *k;
        json_t *v;
        if (json_object_size(a) != json_object_size(b))
            return 0;
        json_object_foreach((json_t *)a, k, v)
        {
            if (!tt_json_same(v, json_object_get(b, k)))
                return 0;
        }
        return 1;
    }
    return json_equal(a, b);
}

int tt_plan_compare(json_t *changes, const char *name, const json_t *want, const json_t *have)
{
    if (want == NULL || tt_json_same(want, have))
        return 0;
    json_array_append_new(changes, json_pack("{s:s,s:O,s:O}", "field", name, "old",
                                             have ? (json_t *)have : json_null(), "new", want));
    return 1;
}

int tt_plan_compare_new(json_t *changes, const char *name, json_t *want, const json_t *have)
{
    int changed = tt_plan_compare(changes, name, want, have);

    json_decref(want);
    return changed;
}

json_t *tt_json_sorted(const json_t *list, int (*cmp)(const void *, const void *))
{
    size_t n = json_array_size(list);
    json_t **v = malloc((n ? n : 1) * sizeof(*v));
    json_t *out = json_array();

    if (v == NULL || out == NULL) {
        free(v);
        json_decref(out);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        v[i] = json_array_get(list, i);
    qsort(v, n, sizeof(*v), cmp);
    for (size_t i = 0; i < n && out != NULL; i++) {
        if (json_array_append(out, v[i]) != 0) {
            json_decref(out);
            out = NULL;
        }
    }
    free(v);
    return out;
}
