/*
 * Pagination: follows an operation's tokens as botocore's paginator does and merges every
 * page into one output. Built only on tt_aws_call(), so cancellation, retries and metrics are
 * the calls' own.
 */
#include <stdlib.h>
#include <string.h>

#include "tt_aws.h"
#include "tt_aws_internal.h"
#include "tt_aws_model.h"

#define MAX_PAGES 1000

struct pager {
    tt_aws *aws;
    char *service, *operation, *region, *role_arn;
    json_t *input;     /* owned copy, its token updated per page */
    json_t *paginator; /* borrowed from the model */
    json_t *merged;    /* the first page, with later pages' result keys appended */
    json_t *last_tokens;
    int pages;
    tt_aws_cb cb;
    void *ud;
};

static void pager_free(struct pager *p)
{
    free(p->service);
    free(p->operation);
    free(p->region);
    free(p->role_arn);
    json_decref(p->input);
    json_decref(p->merged);
    json_decref(p->last_tokens);
    free(p);
}

/* The value at a dotted path ("DistributionList.NextMarker"); "a || b" takes the first set. */
static json_t *get_path(json_t *obj, const char *expr)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", expr);
    char *alt_save = NULL;
    for (char *alt = strtok_r(buf, "|", &alt_save); alt != NULL;
         alt = strtok_r(NULL, "|", &alt_save)) {
        while (*alt == ' ')
            alt++;
        size_t n = strlen(alt);
        while (n > 0 && alt[n - 1] == ' ')
            alt[--n] = '\0';
        json_t *cur = obj;
        char *save = NULL;
        for (char *part = strtok_r(alt, ".", &save); part != NULL && cur != NULL;
             part = strtok_r(NULL, ".", &save))
            cur = json_object_get(cur, part);
        if (cur != NULL && !json_is_null(cur))
            return cur;
    }
    return NULL;
}

/* Removes the member at a dotted path (the output token from the merged output). */
static void del_path(json_t *obj, const char *expr)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", expr);
    char *bar = strchr(buf, '|');
    if (bar != NULL)
        *bar = '\0';
    char *last = strrchr(buf, '.');
    json_t *parent = obj;
    const char *key = buf;
    if (last != NULL) {
        *last = '\0';
        parent = get_path(obj, buf);
        key = last + 1;
    }
    for (char *e = (char *)key + strlen(key); e > key && e[-1] == ' '; e--)
        e[-1] = '\0';
    if (json_is_object(parent))
        json_object_del(parent, key);
}

/* json value → list of strings, whether the model gives a string or a list. */
static json_t *as_list(json_t *v)
{
    if (json_is_array(v))
        return json_incref(v);
    json_t *a = json_array();
    if (a != NULL && v != NULL)
        json_array_append(a, v);
    return a;
}

static tt_code merge_page(struct pager *p, json_t *page, tt_error *err)
{
    if (p->merged == NULL) {
        p->merged = json_deep_copy(page);
        return p->merged != NULL ? TT_OK : tt_error_set(err, TT_ENOMEM, "out of memory");
    }
    json_t *keys = as_list(json_object_get(p->paginator, "result_key"));
    size_t i;
    json_t *k;
    tt_code rc = TT_OK;
    json_array_foreach(keys, i, k)
    {
        const char *path = json_string_value(k);
        json_t *items = path != NULL ? get_path(page, path) : NULL;
        if (!json_is_array(items))
            continue;
        json_t *acc = get_path(p->merged, path);
        if (json_is_array(acc)) {
            if (json_array_extend(acc, items) != 0)
                rc = tt_error_set(err, TT_ENOMEM, "out of memory");
        } else if (strchr(path, '.') == NULL) {
            if (json_object_set(p->merged, path, items) != 0)
                rc = tt_error_set(err, TT_ENOMEM, "out of memory");
        }
    }
    json_decref(keys);
    return rc;
}

static void on_page(void *ud, json_t *output, const tt_error *err);

static void deliver(struct pager *p, json_t *out, const tt_error *err)
{
    p->cb(p->ud, out, err);
    pager_free(p);
}

static void on_page(void *ud, json_t *output, const tt_error *err)
{
    struct pager *p = ud;
    tt_error e;
    tt_error_clear(&e);

    if (err != NULL) {
        deliver(p, NULL, err);
        return;
    }
    p->pages++;
    if (merge_page(p, output, &e) != TT_OK) {
        deliver(p, NULL, &e);
        return;
    }
    json_t *out_tokens = as_list(json_object_get(p->paginator, "output_token"));
    json_t *in_tokens = as_list(json_object_get(p->paginator, "input_token"));
    json_t *next = json_array();
    const char *more_key = json_string_value(json_object_get(p->paginator, "more_results"));
    int more = 0;
    size_t i;
    json_t *t;
    json_array_foreach(out_tokens, i, t)
    {
        json_t *v = json_string_value(t) != NULL ? get_path(output, json_string_value(t)) : NULL;
        json_array_append(next, v != NULL ? v : json_null());
        if (v != NULL && !(json_is_string(v) && json_string_length(v) == 0))
            more = 1;
    }
    if (more_key != NULL && !json_is_true(get_path(output, more_key)))
        more = 0;
    if (more && p->last_tokens != NULL && json_equal(next, p->last_tokens)) {
        tt_error_set(&e, TT_EAWS, "%s %s: the service repeated pagination token; stopping",
                     p->service, p->operation);
    } else if (more && p->pages >= MAX_PAGES) {
        tt_error_set(&e, TT_ELIMIT, "%s %s: more than %d pages", p->service, p->operation,
                     MAX_PAGES);
    }
    if (!more || e.code != TT_OK) {
        json_array_foreach(out_tokens, i, t)
        {
            if (json_string_value(t) != NULL)
                del_path(p->merged, json_string_value(t));
        }
        json_decref(out_tokens);
        json_decref(in_tokens);
        json_decref(next);
        if (e.code != TT_OK)
            deliver(p, NULL, &e);
        else
            deliver(p, p->merged, NULL);
        return;
    }
    json_array_foreach(in_tokens, i, t)
    {
        json_t *v = json_array_get(next, i);
        if (json_string_value(t) == NULL)
            continue;
        if (v == NULL || json_is_null(v))
            json_object_del(p->input, json_string_value(t));
        else
            json_object_set(p->input, json_string_value(t), v);
    }
    json_decref(p->last_tokens);
    p->last_tokens = next;
    json_decref(out_tokens);
    json_decref(in_tokens);
    tt_aws_req req = {p->service, p->operation, p->region, p->role_arn, p->input};
    if (tt_aws_call(p->aws, &req, on_page, p, &e) != TT_OK)
        deliver(p, NULL, &e);
}

static char *dup_opt(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

int tt_aws_paginate(tt_aws *aws, const tt_aws_req *req, tt_aws_cb cb, void *ud, tt_error *err)
{
    tt_error_clear(err);
    json_t *paginator = tt_aws_paginator(aws, req->service, req->operation, err);
    if (paginator == NULL) {
        if (err != NULL && err->code != TT_OK)
            return err->code;
        return tt_aws_call(aws, req, cb, ud, err);
    }
    struct pager *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return tt_error_set(err, TT_ENOMEM, "out of memory");
    p->aws = aws;
    p->paginator = paginator;
    p->cb = cb;
    p->ud = ud;
    p->service = strdup(req->service);
    p->operation = strdup(req->operation);
    p->region = dup_opt(req->region);
    p->role_arn = dup_opt(req->role_arn);
    p->input = req->input != NULL ? json_deep_copy(req->input) : json_object();
    if (p->service == NULL || p->operation == NULL || p->input == NULL ||
        (req->region && !p->region) || (req->role_arn && !p->role_arn)) {
        pager_free(p);
        return tt_error_set(err, TT_ENOMEM, "out of memory");
    }
    tt_aws_req first = {p->service, p->operation, p->region, p->role_arn, p->input};
    int rc = tt_aws_call(aws, &first, on_page, p, err);
    if (rc != TT_OK)
        pager_free(p);
    return rc;
}
