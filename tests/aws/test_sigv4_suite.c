/*
 * Check (a) of SigV4: every case of the AWS SigV4 test suite (../shared/testdata/sigv4) is
 * reproduced exactly — canonical request, string to sign and signature — in both the header
 * and the presigned-query forms.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tt_sigv4.h"

static char suite_dir[1024];

static char *slurp(const char *dir, const char *name)
{
    char path[2048];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    tt_buf b;
    tt_buf_init(&b);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        assert_int_equal(tt_buf_append(&b, chunk, n), TT_OK);
    fclose(f);
    tt_buf_puts(&b, "");
    return tt_buf_steal(&b);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes in place. */
static void pct_decode(char *s)
{
    char *w = s;
    for (char *r = s; *r != '\0'; r++) {
        if (r[0] == '%' && hexval(r[1]) >= 0 && hexval(r[2]) >= 0) {
            *w++ = (char)(hexval(r[1]) * 16 + hexval(r[2]));
            r += 2;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
}

struct parsed {
    char *text;
    char method[16];
    char path[1024];
    tt_sigv4_param query[32];
    size_t nquery;
    tt_sigv4_header headers[32];
    size_t nheaders;
    char *values[32]; /* header values with continuation lines joined */
    const char *body;
};

/* Parses request.txt: request line, headers with folded continuation lines, body. */
static void parse_request(char *text, struct parsed *p)
{
    memset(p, 0, sizeof(*p));
    p->text = text;
    char *line_end = strchr(text, '\n');
    assert_non_null(line_end);
    *line_end = '\0';
    char *sp1 = strchr(text, ' ');
    char *sp2 = strrchr(text, ' ');
    assert_true(sp1 != NULL && sp2 != NULL && sp2 > sp1);
    snprintf(p->method, sizeof(p->method), "%.*s", (int)(sp1 - text), text);
    *sp2 = '\0';
    char *target = sp1 + 1;
    char *q = strchr(target, '?');
    if (q != NULL) {
        *q = '\0';
        char *save = NULL;
        for (char *kv = strtok_r(q + 1, "&", &save); kv != NULL; kv = strtok_r(NULL, "&", &save)) {
            char *eq = strchr(kv, '=');
            if (eq != NULL)
                *eq = '\0';
            pct_decode(kv);
            if (eq != NULL)
                pct_decode(eq + 1);
            p->query[p->nquery].key = kv;
            p->query[p->nquery].value = eq != NULL ? eq + 1 : "";
            p->nquery++;
        }
    }
    snprintf(p->path, sizeof(p->path), "%s", target);
    char *cur = line_end + 1;
    p->body = "";
    while (*cur != '\0') {
        char *nl = strchr(cur, '\n');
        if (nl != NULL)
            *nl = '\0';
        if (*cur == '\0') {
            p->body = nl != NULL ? nl + 1 : "";
            break;
        }
        if ((*cur == ' ' || *cur == '\t') && p->nheaders > 0) {
            /* A folded line continues the previous header's value. */
            char *prev = p->values[p->nheaders - 1];
            size_t len = strlen(prev) + strlen(cur) + 2;
            char *joined = malloc(len);
            assert_non_null(joined);
            snprintf(joined, len, "%s %s", prev, cur);
            free(prev);
            p->values[p->nheaders - 1] = joined;
            p->headers[p->nheaders - 1].value = joined;
        } else {
            char *colon = strchr(cur, ':');
            assert_non_null(colon);
            *colon = '\0';
            p->headers[p->nheaders].name = cur;
            p->values[p->nheaders] = strdup(colon + 1);
            p->headers[p->nheaders].value = p->values[p->nheaders];
            p->nheaders++;
        }
        if (nl == NULL)
            break;
        cur = nl + 1;
    }
}

static void parsed_cleanup(struct parsed *p)
{
    for (size_t i = 0; i < p->nheaders; i++)
        free(p->values[i]);
    free(p->text);
}

static void expect_file(const char *dir, const char *name, const char *actual)
{
    char *want = slurp(dir, name);
    assert_non_null(want);
    if (strcmp(want, actual) != 0) {
        print_error("%s/%s differs:\n--- expected\n%s\n--- got\n%s\n", dir, name, want, actual);
        free(want);
        fail();
    }
    free(want);
}

static void run_case(const char *name, int presign)
{
    char dir[2048];
    snprintf(dir, sizeof(dir), "%s/%s", suite_dir, name);
    json_error_t jerr;
    char ctxpath[2100];
    snprintf(ctxpath, sizeof(ctxpath), "%s/context.json", dir);
    json_t *ctx = json_load_file(ctxpath, 0, &jerr);
    assert_non_null(ctx);
    json_t *cred = json_object_get(ctx, "credentials");
    tt_sigv4_creds creds = {
        json_string_value(json_object_get(cred, "access_key_id")),
        json_string_value(json_object_get(cred, "secret_access_key")),
        json_string_value(json_object_get(cred, "token")),
    };
    struct parsed p;
    parse_request(slurp(dir, "request.txt"), &p);
    /* 2015-08-30T12:36:00Z, the suite's one timestamp. */
    assert_string_equal(json_string_value(json_object_get(ctx, "timestamp")),
                        "2015-08-30T12:36:00Z");
    tt_sigv4_request req = {
        .method = p.method,
        .path = p.path,
        .query = p.query,
        .nquery = p.nquery,
        .headers = p.headers,
        .nheaders = p.nheaders,
        .body = p.body,
        .body_len = strlen(p.body),
        .region = json_string_value(json_object_get(ctx, "region")),
        .service = json_string_value(json_object_get(ctx, "service")),
        .when = 1440938160,
        .normalize_path = json_is_true(json_object_get(ctx, "normalize")),
        .sign_body = json_is_true(json_object_get(ctx, "sign_body")),
        .omit_session_token = json_is_true(json_object_get(ctx, "omit_session_token")),
        .presign = presign,
        .expires = (int)json_integer_value(json_object_get(ctx, "expiration_in_seconds")),
    };
    tt_sigv4_result r;
    tt_error err;
    tt_sigv4_result_init(&r);
    assert_int_equal(tt_sigv4_sign(&req, &creds, &r, &err), TT_OK);
    const char *form = presign ? "query" : "header";
    char fname[64];
    snprintf(fname, sizeof(fname), "%s-canonical-request.txt", form);
    expect_file(dir, fname, tt_buf_str(&r.canonical_request));
    snprintf(fname, sizeof(fname), "%s-string-to-sign.txt", form);
    expect_file(dir, fname, tt_buf_str(&r.string_to_sign));
    snprintf(fname, sizeof(fname), "%s-signature.txt", form);
    expect_file(dir, fname, r.signature);
    if (!presign) {
        /* The Authorization line of the signed request must match too. */
        char *signed_req = slurp(dir, "header-signed-request.txt");
        char want[1024];
        snprintf(want, sizeof(want), "Authorization:%s\n", tt_buf_str(&r.authorization));
        assert_non_null(strstr(signed_req, want));
        free(signed_req);
    }
    tt_sigv4_result_cleanup(&r);
    parsed_cleanup(&p);
    json_decref(ctx);
}

static int count_cases(char names[][128], int max)
{
    DIR *d = opendir(suite_dir);
    int n = 0;
    struct dirent *e;
    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL && n < max) {
        char ctx[2048];
        snprintf(ctx, sizeof(ctx), "%s/%s/context.json", suite_dir, e->d_name);
        FILE *f = fopen(ctx, "r");
        if (f == NULL)
            continue;
        fclose(f);
        snprintf(names[n++], 128, "%s", e->d_name);
    }
    closedir(d);
    return n;
}

static void every_case_both_forms(void **state)
{
    char names[64][128];
    (void)state;
    int n = count_cases(names, 64);
    assert_true(n >= 38);
    for (int i = 0; i < n; i++) {
        run_case(names[i], 0);
        run_case(names[i], 1);
    }
    print_message("%d SigV4 suite cases reproduced in both forms\n", n);
}

static void uri_encoding(void **state)
{
    tt_buf b;
    (void)state;
    tt_buf_init(&b);
    assert_int_equal(tt_sigv4_uri_encode(&b, "a b/c~%é", strlen("a b/c~%é"), 1), TT_OK);
    assert_string_equal(tt_buf_str(&b), "a%20b/c~%25%C3%A9");
    tt_buf_reset(&b);
    assert_int_equal(tt_sigv4_uri_encode(&b, "a/b+", 4, 0), TT_OK);
    assert_string_equal(tt_buf_str(&b), "a%2Fb%2B");
    tt_buf_cleanup(&b);
}

int main(void)
{
    const char *src = getenv("TT_SOURCE_DIR");
    const char *override = getenv("TT_SIGV4_SUITE");
    if (override != NULL)
        snprintf(suite_dir, sizeof(suite_dir), "%s", override);
    else
        snprintf(suite_dir, sizeof(suite_dir), "%s/../shared/testdata/sigv4", src ? src : ".");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_case_both_forms),
        cmocka_unit_test(uri_encoding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
