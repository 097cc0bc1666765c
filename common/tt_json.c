#include "tt_json.h"

#include "tt_buf.h"

static int append(const char *data, size_t len, void *ud)
{
    return tt_buf_append(ud, data, len) == TT_OK ? 0 : -1;
}

char *tt_json_dumps(const json_t *json, size_t flags)
{
    tt_buf b;

    tt_buf_init(&b);
    if (json == NULL || json_dump_callback(json, append, &b, flags) != 0) {
        tt_buf_cleanup(&b);
        return NULL;
    }
    return tt_buf_steal(&b);
}
