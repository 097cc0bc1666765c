/*
 * What the provider diff tests share: one manifest loaded into a resource, checked to be valid
 * and handled by the expected provider. Included by tests/unit/test_diff_*.c after cmocka.h.
 */
#ifndef TT_DIFF_LOAD_H
#define TT_DIFF_LOAD_H

#include <string.h>

#include "loader.h"
#include "providers.h"

/*
 * Loads `yaml` (one resource) into `set` (initialised here; the caller cleans it up) and
 * returns the resource (owned by `set`); fails the test when the manifest does not validate or
 * provider `name` does not handle it.
 */
static inline tt_resource *tt_test_load_one(tt_manifest_set *set, const char *yaml,
                                            const char *name, const tt_provider **p)
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
    assert_string_equal((*p)->name, name);
    return set->items[0];
}

#endif
