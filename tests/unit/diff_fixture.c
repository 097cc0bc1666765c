#include "diff_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"
#include "providers.h"

json_t *fx_json(const char *text)
{
    json_error_t je;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &je);

    if (v == NULL)
        fail_msg("JSON: %s at %d in %s", je.text, je.position, text);
    return v;
}

tt_resource *fx_load_one(tt_manifest_set *set, const char *yaml, const char *provider,
                         const tt_provider **p)
{
    tt_diags *d = tt_diags_create();

    tt_manifest_set_init(set);
    assert_int_equal(tt_loader_add_bytes(set, yaml, strlen(yaml), "t.yaml", d), TT_OK);
    if (tt_diags_errors(d) > 0) {
        tt_buf b;
        tt_buf_init(&b);
        tt_diags_format(d, &b);
        fail_msg("manifest invalid: %s", tt_buf_str(&b));
    }
    tt_diags_destroy(d);
    assert_int_equal(set->len, 1);
    *p = tt_provider_for(set->items[0]);
    assert_non_null(*p);
    assert_string_equal((*p)->name, provider);
    return set->items[0];
}

void fx_load(diff_fixture *f, const char *provider, const char *yaml, const char *observed,
             const char *memo)
{
    memset(f, 0, sizeof(*f));
    f->r = fx_load_one(&f->set, yaml, provider, &f->p);
    f->observed = fx_json(observed);
    f->memo = memo ? fx_json(memo) : NULL;
    f->deps = json_object();
}

tt_diff_input fx_diff_input(diff_fixture *f)
{
    return (tt_diff_input){f->r, f->observed, f->memo, f->deps, "eu-central-1", NULL};
}

void fx_diff(diff_fixture *f)
{
    tt_diff_input in = fx_diff_input(f);
    tt_error err;

    json_decref(f->out.plan);
    json_decref(f->out.memo);
    json_decref(f->out.conditions); /* the guard's BudgetClamped (stolen by the caller) */
    memset(&f->out, 0, sizeof(f->out));
    f->out.plan = tt_plan_new();
    if (f->p->diff(&in, &f->out, &err) != TT_OK)
        fail_msg("diff failed: %s", err.message);
}

json_t *fx_remove(diff_fixture *f)
{
    tt_diff_input in = fx_diff_input(f);
    json_t *plan = tt_plan_new();
    tt_error err;

    if (f->p->remove(&in, plan, &err) != TT_OK)
        fail_msg("remove failed: %s", err.message);
    return plan;
}

void fx_release(diff_fixture *f)
{
    json_decref(f->observed);
    json_decref(f->memo);
    json_decref(f->deps);
    json_decref(f->out.plan);
    json_decref(f->out.memo);
    json_decref(f->out.conditions); /* the guard's BudgetClamped (stolen by the caller) */
    tt_manifest_set_cleanup(&f->set);
}

int fx_applied_register(diff_fixture *f, int min, int max)
{
    json_t *target = json_object_get(json_object_get(f->observed, "aas"), "target");
    json_t *call, *output;
    int taken;

    call = json_pack("{s:s,s:{s:O,s:O,s:O,s:i,s:i}}", "operation", "RegisterScalableTarget",
                     "input", "ServiceNamespace", json_object_get(target, "ServiceNamespace"),
                     "ResourceId", json_object_get(target, "ResourceId"), "ScalableDimension",
                     json_object_get(target, "ScalableDimension"), "MinCapacity", min,
                     "MaxCapacity", max);
    output = json_pack("{s:s}", "ScalableTargetARN", "arn:t");
    assert_non_null(call);
    assert_non_null(output);
    assert_non_null(f->p->applied);
    taken = f->p->applied(f->r, f->observed, call, output);
    if (taken) {
        target = json_object_get(json_object_get(f->observed, "aas"), "target");
        assert_int_equal(json_integer_value(json_object_get(target, "MinCapacity")), min);
        assert_int_equal(json_integer_value(json_object_get(target, "MaxCapacity")), max);
    }
    json_decref(call);
    json_decref(output);
    return taken;
}

void fx_assert_ops(const json_t *plan, const char *want)
{
    tt_buf b;
    size_t i;
    json_t *a;

    tt_buf_init(&b);
    json_array_foreach(plan, i, a)
    {
        tt_buf_printf(&b, "%s%s:%s", i ? " " : "", json_string_value(json_object_get(a, "verb")),
                      json_string_value(json_object_get(json_object_get(a, "call"), "operation")));
    }
    if (strcmp(tt_buf_str(&b), want) != 0) {
        char *dump = json_dumps(plan, JSON_INDENT(1));
        fail_msg("plan ops\n  got:  %s\n  want: %s\n%s", tt_buf_str(&b), want, dump);
    }
    tt_buf_cleanup(&b);
}

const json_t *fx_input(const json_t *plan, size_t i)
{
    return json_object_get(json_object_get(json_array_get(plan, i), "call"), "input");
}

const char *fx_input_str(const json_t *plan, size_t i, const char *key)
{
    return json_string_value(json_object_get(fx_input(plan, i), key));
}

void fx_assert_input(const json_t *plan, size_t i, const char *want)
{
    char *got = json_dumps(fx_input(plan, i), JSON_SORT_KEYS | JSON_COMPACT);

    if (strcmp(got, want) != 0)
        fail_msg("input of action %zu\n  got:  %s\n  want: %s", i, got, want);
    free(got);
}
