#include "tt_error.h"

#include <stdio.h>
#include <string.h>

void tt_error_clear(tt_error *err)
{
    if (err == NULL)
        return;
    memset(err, 0, sizeof(*err));
}

tt_code tt_error_setv(tt_error *err, tt_code code, const char *fmt, va_list ap)
{
    if (err == NULL)
        return code;
    /* A new error owns the whole record: fields of an earlier one (or of an uninitialised
     * stack record) must not be reported beside this message. */
    err->code = code;
    err->http_status = 0;
    err->service_code[0] = '\0';
    err->request_id[0] = '\0';
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    return code;
}

tt_code tt_error_set(tt_error *err, tt_code code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tt_error_setv(err, code, fmt, ap);
    va_end(ap);
    return code;
}

void tt_error_prefix(tt_error *err, const char *fmt, ...)
{
    char prefix[256];
    char old[TT_ERROR_MSG_MAX];
    va_list ap;

    if (err == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, err->message, sizeof(old));
    snprintf(err->message, sizeof(err->message), "%s: %s", prefix, old);
}

static const char *const code_names[TT_CODE_COUNT] = {
    [TT_OK] = "ok",
    [TT_AGAIN] = "again",
    [TT_ENOMEM] = "out_of_memory",
    [TT_EINVAL] = "invalid",
    [TT_EPARSE] = "parse_error",
    [TT_EIO] = "io_error",
    [TT_ENOTFOUND] = "not_found",
    [TT_ECONFLICT] = "conflict",
    [TT_ELIMIT] = "limit_exceeded",
    [TT_EAWS] = "aws_error",
    [TT_ETHROTTLED] = "throttled",
    [TT_EUNAVAILABLE] = "unavailable",
    [TT_EACCESS] = "access_denied",
    [TT_ECREDENTIALS] = "no_credentials",
    [TT_EUNSUPPORTED] = "unsupported",
    [TT_ECANCELLED] = "cancelled",
};

const char *tt_code_name(tt_code code)
{
    if ((unsigned)code >= TT_CODE_COUNT)
        return "unknown";
    return code_names[code];
}

int tt_code_is_transient(tt_code code)
{
    return code == TT_ETHROTTLED || code == TT_EUNAVAILABLE || code == TT_AGAIN;
}
