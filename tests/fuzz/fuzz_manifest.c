/*
 * Fuzz target: bytes → YAML/JSON documents → typed resources → reference checks, the whole path
 * a manifest takes in `trimtab validate` and the directory source. Any crash, leak, undefined
 * behaviour or hang is a finding. Seeds: examples/ and tests/crds/{good,bad}/.
 */
#include <stddef.h>
#include <stdint.h>

#include "loader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tt_manifest_set set;
    tt_diags *diags = tt_diags_create();
    tt_buf out;

    if (diags == NULL)
        return 0;
    tt_manifest_set_init(&set);
    tt_buf_init(&out);
    if (tt_loader_add_bytes(&set, (const char *)data, size, "fuzz.yaml", diags) == TT_OK)
        tt_loader_finish(&set, diags);
    tt_diags_sort(diags);
    tt_diags_format(diags, &out);
    tt_buf_cleanup(&out);
    tt_manifest_set_cleanup(&set);
    tt_diags_destroy(diags);
    return 0;
}
