#include "tt_sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Headers botocore never signs: proxies and the transport may change them. */
static const char *const unsigned_headers[] = {"expect", "user-agent", "x-amzn-trace-id"};

void tt_sigv4_result_init(tt_sigv4_result *r)
{
    memset(r, 0, sizeof(*r));
    tt_buf_init(&r->authorization);
    tt_buf_init(&r->query);
    tt_buf_init(&r->canonical_request);
    tt_buf_init(&r->string_to_sign);
}

void tt_sigv4_result_cleanup(tt_sigv4_result *r)
{
    if (r == NULL)
        return;
    /* The canonical request may hold the session token: wipe before freeing. */
    if (r->canonical_request.data != NULL)
        memset(r->canonical_request.data, 0, r->canonical_request.len);
    if (r->query.data != NULL)
        memset(r->query.data, 0, r->query.len);
    tt_buf_cleanup(&r->authorization);
    tt_buf_cleanup(&r->query);
    tt_buf_cleanup(&r->canonical_request);
    tt_buf_cleanup(&r->string_to_sign);
}

static void hex_encode(const unsigned char *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

void tt_sigv4_sha256_hex(const void *data, size_t len, char hex[65])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
    hex_encode(md, 32, hex);
}

void tt_sigv4_amz_date(time_t t, char buf[17])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, 17, "%Y%m%dT%H%M%SZ", &tm);
}

static int is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

tt_code tt_sigv4_uri_encode(tt_buf *out, const char *s, size_t len, int keep_slash)
{
    static const char digits[] = "0123456789ABCDEF";
    tt_code rc = tt_buf_reserve(out, len * 3);
    if (rc != TT_OK)
        return rc;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (is_unreserved(c) || (keep_slash && c == '/')) {
            out->data[out->len++] = (char)c;
        } else {
            out->data[out->len++] = '%';
            out->data[out->len++] = digits[c >> 4];
            out->data[out->len++] = digits[c & 15];
        }
    }
    out->data[out->len] = '\0';
    return TT_OK;
}

/*
 * RFC 3986 dot-segment removal plus collapsing of empty segments, as botocore's
 * remove_dot_segments does: "/a//b/../c/" becomes "/a/c/".
 */
static tt_code normalize_path(tt_buf *out, const char *path)
{
    size_t n = strlen(path);
    size_t *starts = NULL, *lens = NULL, count = 0;
    tt_code rc = TT_ENOMEM;

    if (n == 0)
        return tt_buf_putc(out, '/');
    starts = malloc((n + 1) * sizeof(*starts));
    lens = malloc((n + 1) * sizeof(*lens));
    if (starts == NULL || lens == NULL)
        goto out;
    for (size_t i = 0; i <= n;) {
        size_t j = i;
        while (j < n && path[j] != '/')
            j++;
        size_t seg = j - i;
        if (seg == 2 && path[i] == '.' && path[i + 1] == '.') {
            if (count > 0)
                count--;
        } else if (seg > 0 && !(seg == 1 && path[i] == '.')) {
            starts[count] = i;
            lens[count] = seg;
            count++;
        }
        i = j + 1;
    }
    rc = TT_OK;
    if (path[0] == '/')
        rc = tt_buf_putc(out, '/');
    for (size_t k = 0; k < count && rc == TT_OK; k++) {
        if (k > 0)
            rc = tt_buf_putc(out, '/');
        if (rc == TT_OK)
            rc = tt_buf_append(out, path + starts[k], lens[k]);
    }
    if (rc == TT_OK && path[n - 1] == '/' && count > 0)
        rc = tt_buf_putc(out, '/');
out:
    free(starts);
    free(lens);
    return rc;
}

/* An encoded query pair, sorted bytewise by key then value. */
struct enc_pair {
    char *key;
    char *value;
};

static int cmp_pair(const void *a, const void *b)
{
    const struct enc_pair *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c != 0 ? c : strcmp(x->value, y->value);
}

static char *encode_dup(const char *s)
{
    tt_buf b;
    tt_buf_init(&b);
    if (s == NULL)
        s = "";
    if (tt_sigv4_uri_encode(&b, s, strlen(s), 0) != TT_OK || tt_buf_putc(&b, 0) != TT_OK) {
        tt_buf_cleanup(&b);
        return NULL;
    }
    return tt_buf_steal(&b);
}

/* A canonical header: lowercase name and value with whitespace collapsed. */
struct canon_header {
    char *name;
    tt_buf value;
    size_t order; /* first appearance, so sorting is stable */
};

static int cmp_header(const void *a, const void *b)
{
    const struct canon_header *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c != 0)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Appends `v` trimmed, with every run of whitespace (newlines included) made one space. */
static tt_code put_collapsed(tt_buf *b, const char *v)
{
    int pending = 0, any = 0;
    for (; *v != '\0'; v++) {
        unsigned char c = (unsigned char)*v;
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') {
            pending = any;
            continue;
        }
        if (pending && tt_buf_putc(b, ' ') != TT_OK)
            return TT_ENOMEM;
        pending = 0;
        any = 1;
        if (tt_buf_putc(b, (char)c) != TT_OK)
            return TT_ENOMEM;
    }
    return TT_OK;
}

static int header_is_unsigned(const char *name)
{
    for (size_t i = 0; i < sizeof(unsigned_headers) / sizeof(unsigned_headers[0]); i++) {
        if (strcasecmp(name, unsigned_headers[i]) == 0)
            return 1;
    }
    return 0;
}

struct header_set {
    struct canon_header *h;
    size_t n;
};

static void header_set_cleanup(struct header_set *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->h[i].name);
        tt_buf_cleanup(&s->h[i].value);
    }
    free(s->h);
}

/* Adds one header, merging it into an existing entry of the same name. */
static tt_code header_set_add(struct header_set *s, const char *name, const char *value)
{
    for (size_t i = 0; i < s->n; i++) {
        if (strcasecmp(s->h[i].name, name) == 0) {
            if (tt_buf_putc(&s->h[i].value, ',') != TT_OK)
                return TT_ENOMEM;
            return put_collapsed(&s->h[i].value, value);
        }
    }
    struct canon_header *h = &s->h[s->n];
    h->name = strdup(name);
    if (h->name == NULL)
        return TT_ENOMEM;
    for (char *p = h->name; *p != '\0'; p++) {
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    }
    tt_buf_init(&h->value);
    h->order = s->n;
    s->n++;
    if (tt_buf_puts(&h->value, "") != TT_OK)
        return TT_ENOMEM;
    return put_collapsed(&h->value, value);
}

static void hmac(const void *key, size_t keylen, const char *msg, size_t msglen,
                 unsigned char out[32])
{
    unsigned int len = 32;
    HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg, msglen, out, &len);
}

tt_code tt_sigv4_sign(const tt_sigv4_request *req, const tt_sigv4_creds *creds,
                      tt_sigv4_result *out, tt_error *err)
{
    struct enc_pair *pairs = NULL;
    size_t npairs = 0;
    struct header_set hs = {NULL, 0};
    tt_buf signed_names, scope, tmp;
    char date[9], cred_hash[65];
    unsigned char k[32];
    tt_code rc = TT_ENOMEM;
    int has_token;

    tt_buf_init(&signed_names);
    tt_buf_init(&scope);
    tt_buf_init(&tmp);
    if (req->method == NULL || req->region == NULL || req->service == NULL || creds == NULL ||
        creds->access_key_id == NULL || creds->secret_access_key == NULL) {
        rc = tt_error_set(err, TT_EINVAL,
                          "SigV4: method, region, service and credentials are "
                          "required");
        goto out;
    }
    has_token = creds->session_token != NULL && creds->session_token[0] != '\0';
    tt_sigv4_amz_date(req->when, out->amz_date);
    memcpy(date, out->amz_date, 8);
    date[8] = '\0';
    if (tt_buf_printf(&scope, "%s/%s/%s/aws4_request", date, req->region, req->service) != TT_OK)
        goto out;
    tt_sigv4_sha256_hex(req->body != NULL ? req->body : "", req->body_len, out->payload_hash);

    /* Headers: the request's, then X-Amz-Date / token / content hash in the header form. */
    hs.h = calloc(req->nheaders + 4, sizeof(*hs.h));
    if (hs.h == NULL)
        goto out;
    for (size_t i = 0; i < req->nheaders; i++) {
        if (header_is_unsigned(req->headers[i].name))
            continue;
        if (header_set_add(&hs, req->headers[i].name, req->headers[i].value) != TT_OK)
            goto out;
    }
    if (!req->presign) {
        if (header_set_add(&hs, "x-amz-date", out->amz_date) != TT_OK)
            goto out;
        if (has_token && !req->omit_session_token &&
            header_set_add(&hs, "x-amz-security-token", creds->session_token) != TT_OK)
            goto out;
        if (req->sign_body &&
            header_set_add(&hs, "x-amz-content-sha256", out->payload_hash) != TT_OK)
            goto out;
    }
    qsort(hs.h, hs.n, sizeof(*hs.h), cmp_header);
    for (size_t i = 0; i < hs.n; i++) {
        if ((i > 0 && tt_buf_putc(&signed_names, ';') != TT_OK) ||
            tt_buf_puts(&signed_names, hs.h[i].name) != TT_OK)
            goto out;
    }

    /* Query: the caller's parameters plus, in the presigned form, the X-Amz-* ones. */
    pairs = calloc(req->nquery + 6, sizeof(*pairs));
    if (pairs == NULL)
        goto out;
    for (size_t i = 0; i < req->nquery; i++) {
        pairs[npairs].key = encode_dup(req->query[i].key);
        pairs[npairs].value = encode_dup(req->query[i].value);
        npairs++;
        if (pairs[npairs - 1].key == NULL || pairs[npairs - 1].value == NULL)
            goto out;
    }
    if (req->presign) {
        char expires[24];
        snprintf(expires, sizeof(expires), "%d", req->expires > 0 ? req->expires : 3600);
        tt_buf_reset(&tmp);
        if (tt_buf_printf(&tmp, "%s/%s", creds->access_key_id, tt_buf_str(&scope)) != TT_OK)
            goto out;
        const char *extra[][2] = {
            {"X-Amz-Algorithm", "AWS4-HMAC-SHA256"},
            {"X-Amz-Credential", tt_buf_str(&tmp)},
            {"X-Amz-Date", out->amz_date},
            {"X-Amz-Expires", expires},
            {"X-Amz-SignedHeaders", tt_buf_str(&signed_names)},
            {"X-Amz-Security-Token", has_token ? creds->session_token : NULL},
        };
        for (size_t i = 0; i < 6; i++) {
            if (extra[i][1] == NULL || (i == 5 && req->omit_session_token))
                continue;
            pairs[npairs].key = encode_dup(extra[i][0]);
            pairs[npairs].value = encode_dup(extra[i][1]);
            npairs++;
            if (pairs[npairs - 1].key == NULL || pairs[npairs - 1].value == NULL)
                goto out;
        }
    }
    qsort(pairs, npairs, sizeof(*pairs), cmp_pair);

    /* The canonical request. */
    tt_buf *cr = &out->canonical_request;
    tt_buf_reset(cr);
    if (tt_buf_printf(cr, "%s\n", req->method) != TT_OK)
        goto out;
    const char *path = (req->path != NULL && req->path[0] != '\0') ? req->path : "/";
    tt_buf_reset(&tmp);
    if (req->normalize_path) {
        if (normalize_path(&tmp, path) != TT_OK)
            goto out;
    } else if (tt_buf_puts(&tmp, path) != TT_OK) {
        goto out;
    }
    if (tt_sigv4_uri_encode(cr, tmp.data, tmp.len, 1) != TT_OK || tt_buf_putc(cr, '\n') != TT_OK)
        goto out;
    tt_buf_reset(&out->query);
    for (size_t i = 0; i < npairs; i++) {
        if (tt_buf_printf(&out->query, "%s%s=%s", i > 0 ? "&" : "", pairs[i].key, pairs[i].value) !=
            TT_OK)
            goto out;
    }
    if (tt_buf_append(cr, out->query.data, out->query.len) != TT_OK ||
        tt_buf_putc(cr, '\n') != TT_OK)
        goto out;
    for (size_t i = 0; i < hs.n; i++) {
        if (tt_buf_printf(cr, "%s:%s\n", hs.h[i].name, tt_buf_str(&hs.h[i].value)) != TT_OK)
            goto out;
    }
    if (tt_buf_printf(cr, "\n%s\n%s", tt_buf_str(&signed_names), out->payload_hash) != TT_OK)
        goto out;

    /* The string to sign and the signature. */
    tt_sigv4_sha256_hex(cr->data, cr->len, cred_hash);
    tt_buf_reset(&out->string_to_sign);
    if (tt_buf_printf(&out->string_to_sign, "AWS4-HMAC-SHA256\n%s\n%s\n%s", out->amz_date,
                      tt_buf_str(&scope), cred_hash) != TT_OK)
        goto out;
    tt_buf_reset(&tmp);
    if (tt_buf_printf(&tmp, "AWS4%s", creds->secret_access_key) != TT_OK)
        goto out;
    hmac(tmp.data, tmp.len, date, 8, k);
    memset(tmp.data, 0, tmp.len);
    hmac(k, 32, req->region, strlen(req->region), k);
    hmac(k, 32, req->service, strlen(req->service), k);
    hmac(k, 32, "aws4_request", 12, k);
    unsigned char sig[32];
    hmac(k, 32, out->string_to_sign.data, out->string_to_sign.len, sig);
    memset(k, 0, sizeof(k));
    hex_encode(sig, 32, out->signature);

    tt_buf_reset(&out->authorization);
    if (req->presign) {
        if (tt_buf_printf(&out->query, "%sX-Amz-Signature=%s", npairs > 0 ? "&" : "",
                          out->signature) != TT_OK)
            goto out;
        if (has_token && req->omit_session_token) {
            if (tt_buf_puts(&out->query, "&X-Amz-Security-Token=") != TT_OK ||
                tt_sigv4_uri_encode(&out->query, creds->session_token, strlen(creds->session_token),
                                    0) != TT_OK)
                goto out;
        }
    } else if (tt_buf_printf(&out->authorization,
                             "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s",
                             creds->access_key_id, tt_buf_str(&scope), tt_buf_str(&signed_names),
                             out->signature) != TT_OK) {
        goto out;
    }
    rc = TT_OK;
out:
    if (rc == TT_ENOMEM)
        tt_error_set(err, TT_ENOMEM, "SigV4: out of memory");
    for (size_t i = 0; i < npairs; i++) {
        free(pairs[i].key);
        free(pairs[i].value);
    }
    free(pairs);
    header_set_cleanup(&hs);
    tt_buf_cleanup(&signed_names);
    tt_buf_cleanup(&scope);
    tt_buf_cleanup(&tmp);
    return rc;
}
