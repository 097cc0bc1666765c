/*
 * tt_error — trimtab's one error type.
 *
 * Every fallible function returns a tt_code and, when it fails, fills a caller-owned
 * tt_error with a message a user can act on. Library code never prints; cmd/ does.
 */
#ifndef TT_ERROR_H
#define TT_ERROR_H

#include <stdarg.h>

typedef enum tt_code {
    TT_OK = 0,
    TT_AGAIN,        /* not finished: call again later (requeue) */
    TT_ENOMEM,       /* an allocation failed */
    TT_EINVAL,       /* invalid argument or input */
    TT_EPARSE,       /* malformed document or response */
    TT_EIO,          /* a file or socket operation failed */
    TT_ENOTFOUND,    /* the object does not exist */
    TT_ECONFLICT,    /* optimistic concurrency or ownership conflict */
    TT_ELIMIT,       /* a size, depth or count bound was exceeded */
    TT_EAWS,         /* AWS answered with an error (code and status in the record) */
    TT_ETHROTTLED,   /* AWS or Kubernetes throttled the call */
    TT_EUNAVAILABLE, /* 5xx, reset, timeout: transient */
    TT_EACCESS,      /* access denied */
    TT_ECREDENTIALS, /* no usable credentials */
    TT_EUNSUPPORTED, /* the operation or combination is not supported */
    TT_ECANCELLED,   /* the request was cancelled (shutdown) */
    TT_CODE_COUNT
} tt_code;

#define TT_ERROR_MSG_MAX 512

/*
 * A failure as the user should see it. `http_status`, `service_code` and `request_id` are
 * set when a remote service answered; `message` always holds a full sentence.
 */
typedef struct tt_error {
    tt_code code;
    int http_status;       /* 0 when no HTTP exchange took place */
    char service_code[64]; /* AWS or Kubernetes error code, e.g. "ThrottlingException" */
    char request_id[80];   /* x-amzn-RequestId or equivalent, for support tickets */
    char message[TT_ERROR_MSG_MAX];
} tt_error;

/* Resets an error record to TT_OK with empty fields. Accepts NULL. */
void tt_error_clear(tt_error *err);

/*
 * Sets code and a printf-style message; returns `code` so callers can write
 * `return tt_error_set(err, TT_EINVAL, "...")`. `err` may be NULL (the code is still returned).
 */
tt_code tt_error_set(tt_error *err, tt_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
tt_code tt_error_setv(tt_error *err, tt_code code, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Prefixes the existing message with "prefix: ", keeping the code. */
void tt_error_prefix(tt_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The stable name of a code ("TT_EINVAL" → "invalid"), for logs and metrics. */
const char *tt_code_name(tt_code code);

/* True for the codes a retry can cure (throttling, unavailability). */
int tt_code_is_transient(tt_code code);

#endif
