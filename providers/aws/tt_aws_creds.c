#include "tt_aws_creds.h"

#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tt_http.h"
#include "tt_aws_protocol.h"
#include "tt_buf.h"
#include "tt_log.h"
#include "tt_str.h"

#define ADVISORY_WINDOW  300.0 /* refresh in the background this long before expiry */
#define MANDATORY_WINDOW 60.0  /* and make callers wait this long before it */
#define RETRY_AFTER_FAIL 10.0  /* after a failed background refresh */
#define MAX_DOC          (64 * 1024)

/* One kind of source. fetch() either fails at once (and never calls creds_done) or returns
 * TT_OK and calls creds_done() exactly once later, from the loop. */
struct source_ops {
    tt_code (*fetch)(tt_creds_provider *p, tt_error *err);
    void (*cancel)(tt_creds_provider *p);  /* abandon a fetch in progress */
    void (*destroy)(tt_creds_provider *p); /* free the source's own state */
};

struct tt_creds_provider {
    const struct source_ops *ops;
    tt_creds_ctx *ctx;
    char desc[96];
    tt_creds creds;
    int have;
    int refreshing;
    double not_before; /* no background refresh before this time, after a failure */
    tt_creds_waiter *waiters;
};

static char *dup_or_null(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

static void wipe_free(char *s)
{
    if (s != NULL) {
        memset(s, 0, strlen(s));
        free(s);
    }
}

void tt_creds_clear(tt_creds *c)
{
    wipe_free(c->access_key_id);
    wipe_free(c->secret_access_key);
    wipe_free(c->session_token);
    memset(c, 0, sizeof(*c));
}

tt_code tt_creds_from_json(json_t *obj, tt_creds *out, tt_error *err)
{
    const char *ak = tt_aws_jstr(obj, "AccessKeyId", NULL);
    const char *sk = tt_aws_jstr(obj, "SecretAccessKey", NULL);
    const char *token = tt_aws_jstr(obj, "SessionToken", tt_aws_jstr(obj, "Token", NULL));
    json_t *exp = json_object_get(obj, "Expiration");
    double when = 0;

    memset(out, 0, sizeof(*out));
    if (ak == NULL || sk == NULL || ak[0] == '\0' || sk[0] == '\0')
        return tt_error_set(err, TT_ECREDENTIALS,
                            "the credentials document has no AccessKeyId or SecretAccessKey");
    if (exp != NULL && !json_is_null(exp) && tt_aws_input_time(exp, &when) != 0)
        return tt_error_set(err, TT_ECREDENTIALS, "the credentials document has a bad Expiration");
    out->access_key_id = strdup(ak);
    out->secret_access_key = strdup(sk);
    out->session_token = dup_or_null(token);
    out->expiration = when;
    if (out->access_key_id == NULL || out->secret_access_key == NULL ||
        (token != NULL && out->session_token == NULL)) {
        tt_creds_clear(out);
        return tt_error_set(err, TT_ENOMEM, "out of memory");
    }
    return TT_OK;
}

/* --- the provider core: caching, refresh windows, waiters --- */

static double now_wall(void)
{
    return ev_time();
}

/* Called by a source when its fetch ends. Takes ownership of `fresh` on success. */
static void creds_done(tt_creds_provider *p, tt_creds *fresh, const tt_error *err)
{
    tt_creds_waiter *list = p->waiters;
    p->waiters = NULL;
    p->refreshing = 0;
    if (fresh != NULL) {
        tt_creds_clear(&p->creds);
        p->creds = *fresh;
        memset(fresh, 0, sizeof(*fresh));
        p->have = 1;
        tt_log(TT_LOG_DEBUG, NULL, "aws credentials from %s refreshed", p->desc);
    } else {
        p->not_before = now_wall() + RETRY_AFTER_FAIL;
        tt_log(TT_LOG_WARN, NULL, "aws credentials from %s: %s", p->desc, err->message);
    }
    while (list != NULL) {
        tt_creds_waiter *w = list;
        list = w->next;
        w->provider = NULL;
        w->prev = w->next = NULL;
        w->cb(w->ud, fresh != NULL ? &p->creds : NULL, fresh != NULL ? NULL : err);
    }
}

tt_code tt_creds_get(tt_creds_provider *p, tt_creds_waiter *w, tt_creds_cb cb, void *ud,
                     const tt_creds **out, tt_error *err)
{
    double now = now_wall();
    double left = p->creds.expiration > 0 ? p->creds.expiration - now : 1e18;

    if (p->have && left > ADVISORY_WINDOW) {
        *out = &p->creds;
        return TT_OK;
    }
    if (p->have && left > MANDATORY_WINDOW) {
        /* Good for now: refresh in the background, answer at once. */
        if (!p->refreshing && now >= p->not_before) {
            tt_error ferr;
            tt_error_clear(&ferr);
            if (p->ops->fetch(p, &ferr) == TT_OK)
                p->refreshing = 1;
            else
                p->not_before = now + RETRY_AFTER_FAIL;
        }
        *out = &p->creds;
        return TT_OK;
    }
    if (!p->refreshing) {
        tt_code rc = p->ops->fetch(p, err);
        if (rc != TT_OK) {
            tt_error_prefix(err, "credentials from %s", p->desc);
            return rc;
        }
        p->refreshing = 1;
    }
    w->cb = cb;
    w->ud = ud;
    w->provider = p;
    w->prev = NULL;
    w->next = p->waiters;
    if (p->waiters != NULL)
        p->waiters->prev = w;
    p->waiters = w;
    return TT_AGAIN;
}

void tt_creds_waiter_cancel(tt_creds_waiter *w)
{
    tt_creds_provider *p = w->provider;
    if (p == NULL)
        return;
    if (w->prev != NULL)
        w->prev->next = w->next;
    else
        p->waiters = w->next;
    if (w->next != NULL)
        w->next->prev = w->prev;
    w->provider = NULL;
    w->prev = w->next = NULL;
}

const char *tt_creds_provider_describe(const tt_creds_provider *p)
{
    return p->desc;
}

void tt_creds_provider_destroy(tt_creds_provider *p)
{
    if (p == NULL)
        return;
    while (p->waiters != NULL)
        tt_creds_waiter_cancel(p->waiters);
    if (p->refreshing && p->ops->cancel != NULL)
        p->ops->cancel(p);
    tt_creds_clear(&p->creds);
    if (p->ops->destroy != NULL)
        p->ops->destroy(p);
    free(p);
}

static void *provider_alloc(size_t size, const struct source_ops *ops, tt_creds_ctx *ctx,
                            const char *desc, tt_error *err)
{
    tt_creds_provider *p = calloc(1, size);
    if (p == NULL) {
        tt_error_set(err, TT_ENOMEM, "out of memory");
        return NULL;
    }
    p->ops = ops;
    p->ctx = ctx;
    snprintf(p->desc, sizeof(p->desc), "%s", desc);
    return p;
}

/* Sources complete asynchronously: a zero-delay timer delivers results computed at once. */
static int read_small_file(const char *path, tt_buf *out, tt_error *err)
{
    FILE *f = fopen(path, "r");
    char chunk[4096];
    size_t n;
    if (f == NULL) {
        tt_error_set(err, TT_ECREDENTIALS, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (out->len + n > MAX_DOC || tt_buf_append(out, chunk, n) != TT_OK) {
            fclose(f);
            tt_error_set(err, TT_ELIMIT, "%s is larger than %d bytes", path, MAX_DOC);
            return -1;
        }
    }
    fclose(f);
    while (out->len > 0 && (out->data[out->len - 1] == '\n' || out->data[out->len - 1] == '\r' ||
                            out->data[out->len - 1] == ' '))
        out->data[--out->len] = '\0';
    if (tt_buf_puts(out, "") != TT_OK)
        return -1;
    return 0;
}

/* --- static --- */

static tt_code static_fetch(tt_creds_provider *p, tt_error *err)
{
    return tt_error_set(err, TT_ECREDENTIALS, "static credentials from %s cannot be refreshed",
                        p->desc);
}

static const struct source_ops static_ops = {static_fetch, NULL, NULL};

tt_creds_provider *tt_creds_static(tt_creds_ctx *ctx, const char *desc, const char *ak,
                                   const char *sk, const char *token, tt_error *err)
{
    tt_creds_provider *p = provider_alloc(sizeof(*p), &static_ops, ctx, desc, err);
    if (p == NULL)
        return NULL;
    p->creds.access_key_id = dup_or_null(ak);
    p->creds.secret_access_key = dup_or_null(sk);
    p->creds.session_token = token != NULL && token[0] != '\0' ? strdup(token) : NULL;
    if (p->creds.access_key_id == NULL || p->creds.secret_access_key == NULL) {
        tt_creds_provider_destroy(p);
        tt_error_set(err, TT_ECREDENTIALS, "%s: incomplete access key", desc);
        return NULL;
    }
    p->have = 1;
    return p;
}

/* --- credential_process --- */

struct process_provider {
    tt_creds_provider base;
    char *command;
    pid_t pid;
    int fd;
    ev_io io;
    ev_timer timeout; /* the whole run */
    ev_timer poll;    /* after EOF, until the exit status is there */
    tt_buf out;
};

static void process_stop(struct process_provider *pp, int kill_it)
{
    struct ev_loop *loop = pp->base.ctx->loop;
    ev_io_stop(loop, &pp->io);
    ev_timer_stop(loop, &pp->timeout);
    ev_timer_stop(loop, &pp->poll);
    if (pp->fd >= 0)
        close(pp->fd);
    pp->fd = -1;
    if (pp->pid > 0 && kill_it) {
        kill(pp->pid, SIGKILL);
        waitpid(pp->pid, NULL, 0);
    }
    pp->pid = 0;
    if (pp->out.data != NULL)
        memset(pp->out.data, 0, pp->out.len);
    tt_buf_reset(&pp->out);
}

static void process_finish(struct process_provider *pp, int status)
{
    tt_error err;
    tt_creds fresh;
    json_error_t jerr;
    json_t *doc = NULL;
    tt_code rc;

    tt_error_clear(&err);
    pp->pid = 0; /* reaped */
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        rc = tt_error_set(&err, TT_ECREDENTIALS, "credential_process failed (exit status %d)",
                          WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    } else if ((doc = json_loadb(pp->out.data ? pp->out.data : "", pp->out.len, 0, &jerr)) ==
               NULL) {
        rc = tt_error_set(&err, TT_ECREDENTIALS, "credential_process printed no JSON document");
    } else if (json_integer_value(json_object_get(doc, "Version")) != 1) {
        rc = tt_error_set(&err, TT_ECREDENTIALS, "credential_process output needs \"Version\": 1");
    } else {
        rc = tt_creds_from_json(doc, &fresh, &err);
    }
    json_decref(doc);
    process_stop(pp, 0);
    creds_done(&pp->base, rc == TT_OK ? &fresh : NULL, &err);
}

static void process_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct process_provider *pp = w->data;
    tt_error err;
    (void)loop;
    (void)revents;
    tt_error_set(&err, TT_ECREDENTIALS, "credential_process did not finish within 30 s");
    process_stop(pp, 1);
    creds_done(&pp->base, NULL, &err);
}

static void process_poll_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct process_provider *pp = w->data;
    int status = 0;
    (void)loop;
    (void)revents;
    if (waitpid(pp->pid, &status, WNOHANG) == pp->pid)
        process_finish(pp, status);
}

static void process_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    struct process_provider *pp = w->data;
    char chunk[4096];
    (void)revents;
    for (;;) {
        ssize_t n = read(pp->fd, chunk, sizeof(chunk));
        if (n > 0) {
            if (pp->out.len + (size_t)n > MAX_DOC ||
                tt_buf_append(&pp->out, chunk, (size_t)n) != TT_OK) {
                tt_error err;
                tt_error_set(&err, TT_ELIMIT, "credential_process printed more than %d bytes",
                             MAX_DOC);
                process_stop(pp, 1);
                creds_done(&pp->base, NULL, &err);
                return;
            }
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        break; /* EOF or error */
    }
    ev_io_stop(loop, &pp->io);
    close(pp->fd);
    pp->fd = -1;
    int status = 0;
    if (waitpid(pp->pid, &status, WNOHANG) == pp->pid) {
        process_finish(pp, status);
        return;
    }
    /* stdout is closed but the child has not exited yet: poll for its status (the overall
     * timeout still applies). */
    ev_timer_start(loop, &pp->poll);
}

static tt_code process_fetch(tt_creds_provider *p, tt_error *err)
{
    struct process_provider *pp = (struct process_provider *)p;
    int fds[2];
    if (pipe(fds) != 0)
        return tt_error_set(err, TT_EIO, "credential_process: pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return tt_error_set(err, TT_EIO, "credential_process: fork: %s", strerror(errno));
    }
    if (pid == 0) {
        dup2(fds[1], 1);
        for (int fd = 3; fd < 1024; fd++)
            close(fd);
        execl("/bin/sh", "sh", "-c", pp->command, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    pp->pid = pid;
    pp->fd = fds[0];
    ev_io_init(&pp->io, process_io_cb, pp->fd, EV_READ);
    pp->io.data = pp;
    ev_io_start(p->ctx->loop, &pp->io);
    ev_timer_init(&pp->timeout, process_timeout_cb, 30.0, 0.0);
    pp->timeout.data = pp;
    ev_timer_start(p->ctx->loop, &pp->timeout);
    ev_timer_init(&pp->poll, process_poll_cb, 0.005, 0.005);
    pp->poll.data = pp;
    return TT_OK;
}

static void process_cancel(tt_creds_provider *p)
{
    process_stop((struct process_provider *)p, 1);
}

static void process_destroy(tt_creds_provider *p)
{
    struct process_provider *pp = (struct process_provider *)p;
    free(pp->command);
    tt_buf_cleanup(&pp->out);
}

static const struct source_ops process_ops = {process_fetch, process_cancel, process_destroy};

tt_creds_provider *tt_creds_process(tt_creds_ctx *ctx, const char *command, tt_error *err)
{
    struct process_provider *pp =
        provider_alloc(sizeof(*pp), &process_ops, ctx, "credential_process", err);
    if (pp == NULL)
        return NULL;
    pp->fd = -1;
    tt_buf_init(&pp->out);
    pp->command = strdup(command);
    if (pp->command == NULL) {
        tt_creds_provider_destroy(&pp->base);
        tt_error_set(err, TT_ENOMEM, "out of memory");
        return NULL;
    }
    return &pp->base;
}

/* --- STS-based sources: web identity and assume role --- */

struct sts_provider {
    tt_creds_provider base;
    char *role_arn;
    char *session_name;
    char *token_file;  /* web identity */
    char *external_id; /* assume role */
    int duration;
    tt_creds_provider *source; /* assume role: signs the AssumeRole call */
    int own_source;
    tt_creds_waiter source_wait;
    struct sts_pending *pending; /* the STS call in flight, if any */
};

/* Owned by the STS call; detached (sp = NULL) when the fetch is abandoned, so a late answer
 * is dropped. */
struct sts_pending {
    struct sts_provider *sp;
};

static void sts_done(void *ud, json_t *output, const tt_error *err)
{
    struct sts_pending *pend = ud;
    struct sts_provider *sp = pend->sp;
    tt_creds fresh;
    tt_error e;

    if (sp == NULL) {
        free(pend);
        return;
    }
    sp->pending = NULL;
    free(pend);
    tt_error_clear(&e);
    if (err != NULL) {
        e = *err;
        tt_error_prefix(&e, "STS for %s", sp->base.desc);
        creds_done(&sp->base, NULL, &e);
        return;
    }
    if (tt_creds_from_json(json_object_get(output, "Credentials"), &fresh, &e) != TT_OK) {
        creds_done(&sp->base, NULL, &e);
        return;
    }
    creds_done(&sp->base, &fresh, NULL);
}

static tt_code sts_start(struct sts_provider *sp, const char *op, json_t *input,
                         tt_creds_provider *source, tt_error *err)
{
    struct sts_pending *pend = calloc(1, sizeof(*pend));
    tt_creds_ctx *ctx = sp->base.ctx;
    if (pend == NULL)
        return tt_error_set(err, TT_ENOMEM, "out of memory");
    pend->sp = sp;
    int rc = ctx->sts(ctx->sts_ud, op, input, source, ctx->region, sts_done, pend, err);
    if (rc != TT_OK) {
        free(pend);
        return (tt_code)rc;
    }
    sp->pending = pend;
    return TT_OK;
}

static void session_name(struct sts_provider *sp, char *buf, size_t cap)
{
    if (sp->session_name != NULL)
        snprintf(buf, cap, "%s", sp->session_name);
    else
        snprintf(buf, cap, "trimtab-%ld", (long)ev_time());
}

static tt_code web_identity_fetch(tt_creds_provider *p, tt_error *err)
{
    struct sts_provider *sp = (struct sts_provider *)p;
    tt_buf token;
    char name[80];
    tt_code rc;

    tt_buf_init(&token);
    /* Re-read on every refresh: the kubelet rotates the projected token. */
    if (read_small_file(sp->token_file, &token, err) != 0) {
        tt_buf_cleanup(&token);
        return err != NULL && err->code != TT_OK ? err->code : TT_ECREDENTIALS;
    }
    session_name(sp, name, sizeof(name));
    json_t *input = json_pack("{s:s, s:s, s:s}", "RoleArn", sp->role_arn, "RoleSessionName", name,
                              "WebIdentityToken", tt_buf_str(&token));
    memset(token.data, 0, token.len);
    tt_buf_cleanup(&token);
    if (input == NULL)
        return tt_error_set(err, TT_ENOMEM, "out of memory");
    rc = sts_start(sp, "AssumeRoleWithWebIdentity", input, NULL, err);
    json_decref(input);
    return rc;
}

/* Starts STS AssumeRole signed by the source provider. */
static tt_code assume_start(struct sts_provider *sp, tt_error *err)
{
    char name[80];
    session_name(sp, name, sizeof(name));
    json_t *input = json_pack("{s:s, s:s, s:i}", "RoleArn", sp->role_arn, "RoleSessionName", name,
                              "DurationSeconds", sp->duration);
    if (input != NULL && sp->external_id != NULL &&
        json_object_set_new(input, "ExternalId", json_string(sp->external_id)) != 0) {
        json_decref(input);
        input = NULL;
    }
    if (input == NULL)
        return tt_error_set(err, TT_ENOMEM, "out of memory");
    tt_code rc = sts_start(sp, "AssumeRole", input, sp->source, err);
    json_decref(input);
    return rc;
}

static void source_ready(void *ud, const tt_creds *creds, const tt_error *err)
{
    struct sts_provider *sp = ud;
    if (creds == NULL) {
        tt_error e = *err;
        creds_done(&sp->base, NULL, &e);
        return;
    }
    tt_error e;
    tt_error_clear(&e);
    if (assume_start(sp, &e) != TT_OK)
        creds_done(&sp->base, NULL, &e);
}

static tt_code assume_fetch(tt_creds_provider *p, tt_error *err)
{
    struct sts_provider *sp = (struct sts_provider *)p;
    const tt_creds *c = NULL;
    tt_code rc = tt_creds_get(sp->source, &sp->source_wait, source_ready, sp, &c, err);
    if (rc == TT_AGAIN)
        return TT_OK;
    if (rc != TT_OK)
        return rc;
    return assume_start(sp, err);
}

static void sts_cancel(tt_creds_provider *p)
{
    struct sts_provider *sp = (struct sts_provider *)p;
    tt_creds_waiter_cancel(&sp->source_wait);
    if (sp->pending != NULL)
        sp->pending->sp = NULL;
    sp->pending = NULL;
}

static void sts_destroy(tt_creds_provider *p)
{
    struct sts_provider *sp = (struct sts_provider *)p;
    sts_cancel(p);
    if (sp->own_source)
        tt_creds_provider_destroy(sp->source);
    free(sp->role_arn);
    free(sp->session_name);
    wipe_free(sp->token_file);
    free(sp->external_id);
}

static const struct source_ops web_identity_ops = {web_identity_fetch, sts_cancel, sts_destroy};
static const struct source_ops assume_ops = {assume_fetch, sts_cancel, sts_destroy};

tt_creds_provider *tt_creds_web_identity(tt_creds_ctx *ctx, const char *role_arn,
                                         const char *token_file, const char *session, tt_error *err)
{
    char desc[96];
    snprintf(desc, sizeof(desc), "web identity (%.60s)", role_arn);
    struct sts_provider *sp = provider_alloc(sizeof(*sp), &web_identity_ops, ctx, desc, err);
    if (sp == NULL)
        return NULL;
    sp->role_arn = strdup(role_arn);
    sp->token_file = strdup(token_file);
    sp->session_name = dup_or_null(session);
    if (sp->role_arn == NULL || sp->token_file == NULL || (session && !sp->session_name)) {
        tt_creds_provider_destroy(&sp->base);
        tt_error_set(err, TT_ENOMEM, "out of memory");
        return NULL;
    }
    return &sp->base;
}

tt_creds_provider *tt_creds_assume_role(tt_creds_ctx *ctx, tt_creds_provider *source,
                                        int own_source, const char *role_arn, const char *session,
                                        const char *external_id, int duration_seconds,
                                        tt_error *err)
{
    char desc[96];
    snprintf(desc, sizeof(desc), "role %.80s", role_arn);
    struct sts_provider *sp = provider_alloc(sizeof(*sp), &assume_ops, ctx, desc, err);
    if (sp == NULL) {
        if (own_source)
            tt_creds_provider_destroy(source);
        return NULL;
    }
    sp->source = source;
    sp->own_source = own_source;
    sp->duration = duration_seconds > 0 ? duration_seconds : 3600;
    sp->role_arn = strdup(role_arn);
    sp->session_name = dup_or_null(session);
    sp->external_id = dup_or_null(external_id);
    if (sp->role_arn == NULL || (session && !sp->session_name) ||
        (external_id && !sp->external_id)) {
        tt_creds_provider_destroy(&sp->base);
        tt_error_set(err, TT_ENOMEM, "out of memory");
        return NULL;
    }
    return &sp->base;
}

/* --- HTTP sources: container credentials and IMDSv2 --- */

struct http_provider {
    tt_creds_provider base;
    int imds;
    int last_resort; /* IMDS as the default chain's last source: its failure means "none" */
    int step;        /* IMDS: 0 token, 1 role name, 2 credentials */
    char url[1024];
    char base_url[512];
    char *token; /* IMDS session token (owned) */
    char role[256];
    tt_http_xfer *xfer;
    char *headers[2];
};

static void http_step(struct http_provider *hp);

/* An environment variable's value, NULL when unset or empty (as the SDKs treat both). */
static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

/*
 * The message for "no source had credentials", the way the AWS CLI says it but with what was
 * tried and what to set; `imds` is why instance metadata failed, or NULL when it was disabled.
 */
static void no_credentials(tt_error *err, const char *imds)
{
    const char *profile = env("AWS_PROFILE");

    tt_error_set(err, TT_ECREDENTIALS,
                 "no AWS credentials in any source (tried: environment, profile %s of "
                 "~/.aws/config and credentials, web identity, container credentials, EC2 "
                 "instance metadata: %s); set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or "
                 "AWS_PROFILE, or IRSA (AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE)",
                 profile != NULL ? profile : "default",
                 imds != NULL ? imds : "disabled by AWS_EC2_METADATA_DISABLED");
}

/* Ends a fetch of `hp` with `err` (borrowed), as "no credentials anywhere" when IMDS was the
 * default chain's last resort. */
static void http_done_error(struct http_provider *hp, const tt_error *err)
{
    tt_error none;

    if (!hp->last_resort) {
        creds_done(&hp->base, NULL, err);
        return;
    }
    no_credentials(&none, err->message);
    creds_done(&hp->base, NULL, &none);
}

static void http_fail(struct http_provider *hp, tt_code code, const char *what, const char *msg)
{
    tt_error err;
    tt_error_clear(&err);
    tt_error_set(&err, code, "%s%s", what, msg);
    http_done_error(hp, &err);
}

static void http_cb(void *ud, const tt_http_response *resp, const tt_error *err, int timed_out)
{
    struct http_provider *hp = ud;
    const char *what = hp->imds ? "IMDS" : "the container credentials endpoint";
    (void)timed_out;
    hp->xfer = NULL;
    for (int i = 0; i < 2; i++) {
        wipe_free(hp->headers[i]);
        hp->headers[i] = NULL;
    }
    if (err != NULL) {
        tt_error e = *err;
        tt_error_prefix(&e, "%s", what);
        e.code = TT_ECREDENTIALS;
        http_done_error(hp, &e);
        return;
    }
    if (resp->status != 200) {
        char msg[64];
        snprintf(msg, sizeof(msg), " answered HTTP %ld", resp->status);
        http_fail(hp, TT_ECREDENTIALS, what, msg);
        return;
    }
    const char *body = tt_buf_str(&resp->body);
    if (hp->imds && hp->step == 0) {
        wipe_free(hp->token);
        hp->token = strdup(body);
        hp->step = 1;
        http_step(hp);
        return;
    }
    if (hp->imds && hp->step == 1) {
        size_t n = strcspn(body, "\r\n");
        if (n == 0 || n >= sizeof(hp->role)) {
            http_fail(hp, TT_ECREDENTIALS, what, ": no IAM role is attached to this instance");
            return;
        }
        memcpy(hp->role, body, n);
        hp->role[n] = '\0';
        hp->step = 2;
        http_step(hp);
        return;
    }
    json_error_t jerr;
    json_t *doc = json_loadb(body, resp->body.len, 0, &jerr);
    tt_creds fresh;
    tt_error e;
    tt_error_clear(&e);
    if (doc == NULL) {
        http_fail(hp, TT_ECREDENTIALS, what, " answered something that is not JSON");
        return;
    }
    const char *code = tt_aws_jstr(doc, "Code", "Success");
    if (strcmp(code, "Success") != 0) {
        json_decref(doc);
        http_fail(hp, TT_ECREDENTIALS, what, " did not return credentials");
        return;
    }
    tt_code rc = tt_creds_from_json(doc, &fresh, &e);
    json_decref(doc);
    if (rc != TT_OK) {
        tt_error_prefix(&e, "%s", what);
        http_done_error(hp, &e);
        return;
    }
    creds_done(&hp->base, &fresh, NULL);
}

static tt_code http_start(struct http_provider *hp, const char *method, size_t nheaders,
                          tt_error *err)
{
    tt_http_request req = {
        .method = method,
        .url = hp->url,
        .headers = (const char *const *)hp->headers,
        .nheaders = nheaders,
        .connect_timeout_ms = 1000,
        .timeout_ms = hp->imds ? 2000 : 5000,
        .max_response = MAX_DOC,
    };
    return tt_http_start(hp->base.ctx->http, &req, http_cb, hp, &hp->xfer, err);
}

static void http_step(struct http_provider *hp)
{
    tt_error err;
    tt_error_clear(&err);
    const char *path = hp->step == 1 ? "/latest/meta-data/iam/security-credentials/" : NULL;
    if (hp->step == 1)
        snprintf(hp->url, sizeof(hp->url), "%s%s", hp->base_url, path);
    else
        snprintf(hp->url, sizeof(hp->url), "%s/latest/meta-data/iam/security-credentials/%s",
                 hp->base_url, hp->role);
    tt_buf h;
    tt_buf_init(&h);
    if (hp->token == NULL ||
        tt_buf_printf(&h, "X-aws-ec2-metadata-token: %s", hp->token) != TT_OK) {
        tt_buf_cleanup(&h);
        http_fail(hp, TT_ENOMEM, "IMDS", ": out of memory");
        return;
    }
    hp->headers[0] = tt_buf_steal(&h);
    if (http_start(hp, "GET", 1, &err) != TT_OK)
        http_done_error(hp, &err);
}

/* The SDKs allow plain http for the container endpoint only to these hosts. */
static int container_host_allowed(const char *url)
{
    static const char *const allowed[] = {
        "http://127.",
        "http://localhost:",
        "http://localhost/",
        "http://[::1]",
        "http://169.254.170.2:",
        "http://169.254.170.2/",
        "http://169.254.170.23:",
        "http://169.254.170.23/",
        "http://[fd00:ec2::23]",
    };
    if (tt_startswith(url, "https://"))
        return 1;
    for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
        if (tt_startswith(url, allowed[i]))
            return 1;
    }
    return strcmp(url, "http://localhost") == 0;
}

static tt_code container_fetch(tt_creds_provider *p, tt_error *err)
{
    struct http_provider *hp = (struct http_provider *)p;
    const char *full = getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    const char *rel = getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *token_file = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    const char *token = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    size_t nheaders = 0;

    if (rel != NULL && rel[0] != '\0')
        snprintf(hp->url, sizeof(hp->url), "http://169.254.170.2%s", rel);
    else if (full != NULL && full[0] != '\0')
        snprintf(hp->url, sizeof(hp->url), "%s", full);
    else
        return tt_error_set(err, TT_ECREDENTIALS, "no container credentials URI is set");
    if (!container_host_allowed(hp->url))
        return tt_error_set(err, TT_ECREDENTIALS,
                            "AWS_CONTAINER_CREDENTIALS_FULL_URI must be https or a loopback or "
                            "link-local container host");
    tt_buf h;
    tt_buf_init(&h);
    if (token_file != NULL && token_file[0] != '\0') {
        tt_buf t;
        tt_buf_init(&t);
        if (read_small_file(token_file, &t, err) != 0) {
            tt_buf_cleanup(&t);
            return TT_ECREDENTIALS;
        }
        tt_code rc = tt_buf_printf(&h, "Authorization: %s", tt_buf_str(&t));
        memset(t.data, 0, t.len);
        tt_buf_cleanup(&t);
        if (rc != TT_OK)
            return tt_error_set(err, TT_ENOMEM, "out of memory");
    } else if (token != NULL && token[0] != '\0') {
        if (tt_buf_printf(&h, "Authorization: %s", token) != TT_OK)
            return tt_error_set(err, TT_ENOMEM, "out of memory");
    }
    if (h.len > 0) {
        hp->headers[0] = tt_buf_steal(&h);
        nheaders = 1;
    }
    tt_buf_cleanup(&h);
    tt_code rc = http_start(hp, "GET", nheaders, err);
    if (rc != TT_OK)
        tt_error_prefix(err, "container credentials");
    return rc;
}

static tt_code imds_fetch(tt_creds_provider *p, tt_error *err)
{
    struct http_provider *hp = (struct http_provider *)p;
    const char *endpoint = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    snprintf(hp->base_url, sizeof(hp->base_url), "%s",
             endpoint != NULL && endpoint[0] ? endpoint : "http://169.254.169.254");
    size_t n = strlen(hp->base_url);
    if (n > 0 && hp->base_url[n - 1] == '/')
        hp->base_url[n - 1] = '\0';
    hp->step = 0;
    snprintf(hp->url, sizeof(hp->url), "%s/latest/api/token", hp->base_url);
    hp->headers[0] = strdup("X-aws-ec2-metadata-token-ttl-seconds: 21600");
    if (hp->headers[0] == NULL)
        return tt_error_set(err, TT_ENOMEM, "out of memory");
    return http_start(hp, "PUT", 1, err);
}

static void http_cancel(tt_creds_provider *p)
{
    struct http_provider *hp = (struct http_provider *)p;
    tt_http_cancel(hp->xfer);
    hp->xfer = NULL;
}

static void http_destroy(tt_creds_provider *p)
{
    struct http_provider *hp = (struct http_provider *)p;
    for (int i = 0; i < 2; i++)
        wipe_free(hp->headers[i]);
    wipe_free(hp->token);
}

static const struct source_ops container_ops = {container_fetch, http_cancel, http_destroy};
static const struct source_ops imds_ops = {imds_fetch, http_cancel, http_destroy};

tt_creds_provider *tt_creds_container(tt_creds_ctx *ctx, tt_error *err)
{
    return provider_alloc(sizeof(struct http_provider), &container_ops, ctx,
                          "container credentials", err);
}

tt_creds_provider *tt_creds_imds(tt_creds_ctx *ctx, tt_error *err)
{
    struct http_provider *hp =
        provider_alloc(sizeof(struct http_provider), &imds_ops, ctx, "EC2 instance metadata", err);
    if (hp != NULL)
        hp->imds = 1;
    return hp != NULL ? &hp->base : NULL;
}

/* --- the default chain --- */

static tt_creds_provider *from_profile(tt_creds_ctx *ctx, json_t *files, const char *name,
                                       int depth, tt_error *err);

static tt_creds_provider *role_source(tt_creds_ctx *ctx, json_t *files, const char *name,
                                      json_t *prof, int depth, tt_error *err)
{
    const char *source_profile = tt_aws_jstr(prof, "source_profile", NULL);
    const char *credential_source = tt_aws_jstr(prof, "credential_source", NULL);
    char desc[96];

    if (source_profile != NULL) {
        json_t *sp = json_object_get(files, source_profile);
        if (sp == NULL) {
            tt_error_set(err, TT_ECREDENTIALS, "profile %s: source_profile %s does not exist", name,
                         source_profile);
            return NULL;
        }
        if (strcmp(source_profile, name) == 0 || depth >= 4) {
            /* A profile naming itself (or the end of a chain) uses its own keys. */
            snprintf(desc, sizeof(desc), "profile %s", source_profile);
            return tt_creds_static(ctx, desc, tt_aws_jstr(sp, "aws_access_key_id", NULL),
                                   tt_aws_jstr(sp, "aws_secret_access_key", NULL),
                                   tt_aws_jstr(sp, "aws_session_token", NULL), err);
        }
        tt_creds_provider *p = from_profile(ctx, files, source_profile, depth + 1, err);
        if (p == NULL && err->code == TT_OK)
            tt_error_set(err, TT_ECREDENTIALS, "profile %s: source_profile %s has no credentials",
                         name, source_profile);
        return p;
    }
    if (credential_source != NULL) {
        if (strcmp(credential_source, "Environment") == 0)
            return tt_creds_static(ctx, "environment", env("AWS_ACCESS_KEY_ID"),
                                   env("AWS_SECRET_ACCESS_KEY"), env("AWS_SESSION_TOKEN"), err);
        if (strcmp(credential_source, "Ec2InstanceMetadata") == 0)
            return tt_creds_imds(ctx, err);
        if (strcmp(credential_source, "EcsContainer") == 0)
            return tt_creds_container(ctx, err);
        tt_error_set(err, TT_ECREDENTIALS, "profile %s: unknown credential_source %s", name,
                     credential_source);
        return NULL;
    }
    tt_error_set(err, TT_ECREDENTIALS,
                 "profile %s: role_arn needs source_profile, credential_source or "
                 "web_identity_token_file",
                 name);
    return NULL;
}

/* The provider a profile describes, or NULL with err->code TT_OK when it has no credentials. */
static tt_creds_provider *from_profile(tt_creds_ctx *ctx, json_t *files, const char *name,
                                       int depth, tt_error *err)
{
    json_t *prof = json_object_get(files, name);
    const char *role_arn = tt_aws_jstr(prof, "role_arn", NULL);
    char desc[96];

    if (prof == NULL)
        return NULL;
    snprintf(desc, sizeof(desc), "profile %s", name);
    if (role_arn != NULL) {
        const char *wit = tt_aws_jstr(prof, "web_identity_token_file", NULL);
        const char *session = tt_aws_jstr(prof, "role_session_name", NULL);
        if (wit != NULL)
            return tt_creds_web_identity(ctx, role_arn, wit, session, err);
        tt_creds_provider *src = role_source(ctx, files, name, prof, depth, err);
        if (src == NULL)
            return NULL;
        int64_t duration = 3600;
        const char *ds = tt_aws_jstr(prof, "duration_seconds", NULL);
        if (ds != NULL &&
            (tt_parse_i64(ds, &duration) != 0 || duration < 900 || duration > 43200)) {
            tt_creds_provider_destroy(src);
            tt_error_set(err, TT_ECREDENTIALS, "profile %s: bad duration_seconds", name);
            return NULL;
        }
        return tt_creds_assume_role(ctx, src, 1, role_arn, session,
                                    tt_aws_jstr(prof, "external_id", NULL), (int)duration, err);
    }
    if (tt_aws_jstr(prof, "aws_access_key_id", NULL) != NULL)
        return tt_creds_static(ctx, desc, tt_aws_jstr(prof, "aws_access_key_id", NULL),
                               tt_aws_jstr(prof, "aws_secret_access_key", NULL),
                               tt_aws_jstr(prof, "aws_session_token", NULL), err);
    if (tt_aws_jstr(prof, "credential_process", NULL) != NULL)
        return tt_creds_process(ctx, tt_aws_jstr(prof, "credential_process", NULL), err);
    return NULL;
}

tt_creds_provider *tt_creds_default_chain(tt_creds_ctx *ctx, const char *profile,
                                          json_t *config_files, tt_error *err)
{
    const char *explicit_profile = profile != NULL ? profile : env("AWS_PROFILE");
    const char *name = explicit_profile != NULL ? explicit_profile : "default";
    tt_creds_provider *p;

    if (profile == NULL && env("AWS_ACCESS_KEY_ID") != NULL && env("AWS_SECRET_ACCESS_KEY") != NULL)
        return tt_creds_static(ctx, "environment", env("AWS_ACCESS_KEY_ID"),
                               env("AWS_SECRET_ACCESS_KEY"), env("AWS_SESSION_TOKEN"), err);
    if (explicit_profile != NULL && json_object_get(config_files, name) == NULL) {
        tt_error_set(err, TT_ECREDENTIALS, "the config profile (%s) could not be found", name);
        return NULL;
    }
    tt_error_clear(err);
    p = from_profile(ctx, config_files, name, 0, err);
    if (p != NULL || err->code != TT_OK)
        return p;
    if (env("AWS_ROLE_ARN") != NULL && env("AWS_WEB_IDENTITY_TOKEN_FILE") != NULL)
        return tt_creds_web_identity(ctx, env("AWS_ROLE_ARN"), env("AWS_WEB_IDENTITY_TOKEN_FILE"),
                                     env("AWS_ROLE_SESSION_NAME"), err);
    if (env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") != NULL ||
        env("AWS_CONTAINER_CREDENTIALS_FULL_URI") != NULL)
        return tt_creds_container(ctx, err);
    const char *disabled = env("AWS_EC2_METADATA_DISABLED");
    if (disabled == NULL || strcasecmp(disabled, "true") != 0) {
        p = tt_creds_imds(ctx, err);
        if (p != NULL)
            ((struct http_provider *)p)->last_resort = 1;
        return p;
    }
    no_credentials(err, NULL);
    return NULL;
}
