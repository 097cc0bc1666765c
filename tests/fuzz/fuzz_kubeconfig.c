/*
 * Fuzz target: bytes → a kubeconfig document → merged with itself (kubectl's KUBECONFIG rules)
 * → the current context resolved (base64 data decoded; named files are read with the 1 MiB
 * bound). Any crash, leak, undefined behaviour or hang is a finding. Seeds:
 * tests/fuzz/corpus/fuzz_kubeconfig/.
 */
#include <stddef.h>
#include <stdint.h>

#include "tt_kube_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *doc = NULL, *merged = json_object();
    tt_kube_config *cfg = NULL;
    tt_error err;

    if (merged != NULL &&
        tt_kube_config_parse((const char *)data, size, "/nonexistent/config", &doc, &err) ==
            TT_OK &&
        tt_kube_config_merge(merged, doc, &err) == TT_OK &&
        tt_kube_config_merge(merged, doc, &err) == TT_OK)
        tt_kube_config_resolve(merged, NULL, &cfg, &err);
    tt_kube_config_destroy(cfg);
    json_decref(doc);
    json_decref(merged);
    return 0;
}
