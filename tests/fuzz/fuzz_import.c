/*
 * Fuzz target: bytes → JSON → `trimtab import`'s mapping (import/import_map.c) → YAML for every
 * manifest. The account document is what AWS answered, so anything goes: wrong types, missing
 * members, huge names, composite rules that do not parse, cycles. Any crash, leak, undefined
 * behaviour or hang is a finding. Seeds: tests/fuzz/corpus/import/.
 */
#include <stddef.h>
#include <stdint.h>

#include "import.h"
#include "tt_buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const tt_import_opts o = {"eu-central-1", "fuzz", TT_IMPORT_ALL_KINDS};
    json_t *account = json_loadb((const char *)data, size, 0, NULL), *mapped = NULL;
    const json_t *r;
    size_t i;
    tt_error err;
    tt_buf b;

    if (account == NULL)
        return 0;
    tt_buf_init(&b);
    tt_error_clear(&err);
    if (tt_import_map(account, &o, &mapped, &err) == TT_OK) {
        json_array_foreach(json_object_get(mapped, "resources"), i, r)
        {
            tt_buf_reset(&b);
            tt_import_yaml(json_object_get(r, "manifest"), &b, &err);
        }
    }
    tt_buf_cleanup(&b);
    json_decref(mapped);
    json_decref(account);
    return 0;
}
