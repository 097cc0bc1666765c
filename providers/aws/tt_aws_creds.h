/*
 * tt_aws_creds — credential providers and the SDKs' default chain, all asynchronous on the
 * loop.
 *
 * A provider caches one set of credentials and refreshes it before it expires: inside the
 * advisory window (5 minutes before expiry) the first caller starts a refresh in the
 * background and still gets the current credentials; inside the mandatory window (1 minute)
 * or with none cached, callers wait. Sources:
 *   static      — AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN, or profile keys
 *   process     — a profile's credential_process (run through /bin/sh, stdout read on the loop)
 *   web_identity— AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE (IRSA), or a profile's
 *                 web_identity_token_file; the token file is re-read on every refresh
 *   container   — AWS_CONTAINER_CREDENTIALS_FULL_URI / _RELATIVE_URI with
 *                 AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE) (EKS Pod Identity, ECS)
 *   imds        — EC2 instance metadata, IMDSv2 (token PUT, then role and credentials GET)
 *   assume_role — STS AssumeRole with another provider's credentials (profile role_arn +
 *                 source_profile / credential_source, and spec.roleArn)
 * Secrets live only in tt_creds and are wiped when replaced; no message ever includes them.
 */
#ifndef TT_AWS_CREDS_H
#define TT_AWS_CREDS_H

#include <jansson.h>

#include "tt_error.h"

struct ev_loop;
struct tt_http;
typedef struct tt_creds_provider tt_creds_provider;

typedef struct tt_creds {
    char *access_key_id;
    char *secret_access_key;
    char *session_token; /* NULL when there is none */
    double expiration;   /* epoch seconds; 0 = does not expire */
} tt_creds;

typedef void (*tt_creds_cb)(void *ud, const tt_creds *creds, const tt_error *err);

/* STS through the AWS engine: `source` signs (NULL: unsigned). Same contract as tt_aws_call. */
typedef int (*tt_creds_sts_fn)(void *sts_ud, const char *operation, json_t *input,
                               tt_creds_provider *source, const char *region,
                               void (*cb)(void *ud, json_t *output, const tt_error *err), void *ud,
                               tt_error *err);

/* What every provider shares: the loop, the HTTP engine, and STS. Owned by the client. */
typedef struct tt_creds_ctx {
    struct ev_loop *loop;
    struct tt_http *http;
    tt_creds_sts_fn sts;
    void *sts_ud;
    const char *region; /* for regional STS; may be NULL */
} tt_creds_ctx;

/* A caller waiting for credentials; embed it in the object that waits. */
typedef struct tt_creds_waiter {
    tt_creds_cb cb;
    void *ud;
    tt_creds_provider *provider; /* NULL when not waiting */
    struct tt_creds_waiter *prev, *next;
} tt_creds_waiter;

/*
 * Gets credentials. TT_OK: *out points at the provider's current credentials, valid until the
 * caller returns to the loop (sign with them now, do not keep the pointer). TT_AGAIN: `w` is
 * queued and its callback will be called once, from the loop, unless tt_creds_waiter_cancel()
 * runs first. Any other code: no credentials, `err` says why, and the callback is not called.
 */
tt_code tt_creds_get(tt_creds_provider *p, tt_creds_waiter *w, tt_creds_cb cb, void *ud,
                     const tt_creds **out, tt_error *err);
void tt_creds_waiter_cancel(tt_creds_waiter *w);

/* Where the credentials come from ("environment", "profile dev", "IMDS"...), for logs. */
const char *tt_creds_provider_describe(const tt_creds_provider *p);
/* Frees a provider (waiters are dropped without callback). Accepts NULL. */
void tt_creds_provider_destroy(tt_creds_provider *p);

/* Constructors. Strings are copied. NULL with `err` set on failure. */
tt_creds_provider *tt_creds_static(tt_creds_ctx *ctx, const char *desc, const char *ak,
                                   const char *sk, const char *token, tt_error *err);
tt_creds_provider *tt_creds_process(tt_creds_ctx *ctx, const char *command, tt_error *err);
tt_creds_provider *tt_creds_web_identity(tt_creds_ctx *ctx, const char *role_arn,
                                         const char *token_file, const char *session_name,
                                         tt_error *err);
tt_creds_provider *tt_creds_container(tt_creds_ctx *ctx, tt_error *err);
tt_creds_provider *tt_creds_imds(tt_creds_ctx *ctx, tt_error *err);
/* Signs AssumeRole with `source`, owned when `own_source` (then freed even on failure).
 * `external_id` and `session_name` may be NULL. */
tt_creds_provider *tt_creds_assume_role(tt_creds_ctx *ctx, tt_creds_provider *source,
                                        int own_source, const char *role_arn,
                                        const char *session_name, const char *external_id,
                                        int duration_seconds, tt_error *err);

/*
 * The SDKs' default chain: environment variables, the shared files' profile (`profile` or
 * AWS_PROFILE or "default": keys, role_arn with source_profile or credential_source,
 * credential_process, web_identity_token_file), IRSA web identity, container credentials,
 * then IMDSv2. Resolved once from the environment and files; NULL with TT_ECREDENTIALS when
 * a configured source is unusable.
 */
tt_creds_provider *tt_creds_default_chain(tt_creds_ctx *ctx, const char *profile,
                                          json_t *config_files, tt_error *err);

/* Parses an STS/container/IMDS/process credentials object ({AccessKeyId, SecretAccessKey,
 * SessionToken|Token, Expiration}) into `out` (strings allocated). */
tt_code tt_creds_from_json(json_t *obj, tt_creds *out, tt_error *err);
void tt_creds_clear(tt_creds *c);

#endif
