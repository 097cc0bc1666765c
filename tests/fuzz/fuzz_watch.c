/*
 * Fuzz target: bytes → a watch stream cut into chunks (sizes from the input itself) → the
 * size-capped line buffer → each line decoded as a watch event, and its object fingerprinted
 * as the Kubernetes source does; the whole input also goes through the exec credential parser.
 * Any crash, leak, undefined behaviour or hang is a finding. Seeds:
 * tests/fuzz/corpus/fuzz_watch/.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "source_kube.h"
#include "tt_kube.h"
#include "tt_kube_lines.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_line(void *ud, char *line, size_t len)
{
    json_t *ev = json_loadb(line, len, 0, NULL);
    json_t *obj = json_object_get(ev, "object");

    (void)ud;
    if (json_is_object(obj))
        (void)tt_source_kube_fingerprint(obj);
    json_decref(ev);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tt_kube_lines l;
    tt_kube_cred cred;
    tt_error err;
    size_t pos = 1, chunk = size > 0 ? (size_t)data[0] % 64 + 1 : 1;
    tt_code code;

    tt_kube_lines_init(&l, 4096);
    while (pos < size) {
        size_t n = size - pos < chunk ? size - pos : chunk;
        if (tt_kube_lines_feed(&l, (const char *)data + pos, n, on_line, NULL, &code) != 0)
            tt_kube_lines_reset(&l);
        pos += n;
    }
    tt_kube_lines_cleanup(&l);
    if (tt_kube_cred_parse((const char *)data, size, "client.authentication.k8s.io/v1", &cred,
                           &err) == TT_OK)
        tt_kube_cred_cleanup(&cred);
    return 0;
}
