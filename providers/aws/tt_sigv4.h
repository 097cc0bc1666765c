/*
 * tt_sigv4 — AWS Signature Version 4 with OpenSSL.
 *
 * Pure functions: no I/O, no clock (the caller passes the time), no logging. The signer builds
 * the canonical request exactly as botocore's SigV4Auth does — path normalised and encoded once
 * more (so an already percent-encoded REST path is encoded twice, as AWS expects for every
 * service but S3), query parameters encoded and sorted by key then value, header values trimmed
 * with inner whitespace collapsed and repeated names joined with ',' — and reproduces the AWS
 * SigV4 test suite in both the header and the presigned-query forms.
 */
#ifndef TT_SIGV4_H
#define TT_SIGV4_H

#include <stddef.h>
#include <time.h>

#include "tt_buf.h"
#include "tt_error.h"

/* One header as it will be sent. Names are matched case-insensitively. */
typedef struct tt_sigv4_header {
    const char *name;
    const char *value;
} tt_sigv4_header;

/* One query parameter, decoded (the signer encodes it). `value` NULL means "". */
typedef struct tt_sigv4_param {
    const char *key;
    const char *value;
} tt_sigv4_param;

/* Credentials to sign with. Borrowed; never copied into any message or log. */
typedef struct tt_sigv4_creds {
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token; /* NULL or "" when there is none */
} tt_sigv4_creds;

typedef struct tt_sigv4_request {
    const char *method;          /* "GET", "POST", ... */
    const char *path;            /* as on the request line, "/" when empty */
    const tt_sigv4_param *query; /* decoded parameters, any order, repeats allowed */
    size_t nquery;
    const tt_sigv4_header *headers; /* must include Host */
    size_t nheaders;
    const void *body;
    size_t body_len;
    const char *region;
    const char *service;    /* the signing name, e.g. "monitoring" */
    time_t when;            /* the signing time (UTC seconds) */
    int normalize_path;     /* remove "." and ".." segments and repeated slashes */
    int sign_body;          /* add and sign x-amz-content-sha256 (header form only) */
    int omit_session_token; /* send the token but leave it out of the signature */
    int presign;            /* the query-string form instead of the Authorization header */
    int expires;            /* X-Amz-Expires for the query form */
} tt_sigv4_request;

/*
 * What to add to the request. In the header form: the headers in `add_headers` (X-Amz-Date,
 * X-Amz-Security-Token, X-Amz-Content-SHA256, Authorization — in that order, absent ones NULL).
 * In the query form: `query` holds the complete encoded query string to send. The canonical
 * request and string to sign are kept for tests and never logged.
 */
typedef struct tt_sigv4_result {
    char amz_date[17];  /* 20150830T123600Z */
    char signature[65]; /* lowercase hex */
    char payload_hash[65];
    tt_buf authorization; /* header form: the Authorization header value */
    tt_buf query;         /* the encoded query string to send (both forms) */
    tt_buf canonical_request;
    tt_buf string_to_sign;
} tt_sigv4_result;

void tt_sigv4_result_init(tt_sigv4_result *r);
void tt_sigv4_result_cleanup(tt_sigv4_result *r);

/*
 * Signs `req` with `creds`. On success `out` (initialised by the caller) holds everything to
 * add; on failure (TT_EINVAL for a missing field, TT_ENOMEM) `err` says why, without any
 * credential in the message.
 */
tt_code tt_sigv4_sign(const tt_sigv4_request *req, const tt_sigv4_creds *creds,
                      tt_sigv4_result *out, tt_error *err);

/*
 * Appends `len` bytes of `s` percent-encoded as SigV4 wants: everything but A-Z a-z 0-9 - _ . ~
 * (and '/' when `keep_slash`) becomes %XX with uppercase hex.
 */
tt_code tt_sigv4_uri_encode(tt_buf *out, const char *s, size_t len, int keep_slash);

/* Lowercase hex SHA-256 of `len` bytes into `hex` (65 bytes). */
void tt_sigv4_sha256_hex(const void *data, size_t len, char hex[65]);

/* Formats `t` as an ISO 8601 basic UTC timestamp (20150830T123600Z) into `buf` (17 bytes). */
void tt_sigv4_amz_date(time_t t, char buf[17]);

#endif
