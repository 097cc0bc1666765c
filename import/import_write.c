/*
 * tt_import_write — the files of `trimtab import`: one YAML manifest per resource (block style,
 * keys in the order the mapping built them, as examples/ reads) and IMPORT-SKIPPED.md.
 * libyaml's emitter does the quoting, so a string that would read back as a number, a boolean or
 * null ("123", "true", "~") is quoted and comes back a string.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "import.h"
#include "tt_buf.h"

/* True when a plain scalar `s` would not read back as the string `s` (YAML 1.1 and 1.2 core). */
static int needs_quotes(const char *s)
{
    static const char *const words[] = {"",     "~",     "null",  "Null",  "NULL", "true", "True",
                                        "TRUE", "false", "False", "FALSE", "yes",  "Yes",  "YES",
                                        "no",   "No",    "NO",    "on",    "On",   "ON",   "off",
                                        "Off",  "OFF",   "y",     "Y",     "n",    "N",    NULL};
    char *end;

    for (size_t i = 0; words[i] != NULL; i++) {
        if (strcmp(s, words[i]) == 0)
            return 1;
    }
    errno = 0;
    (void)strtod(s, &end);
    if (end != s && *end == '\0')
        return 1; /* a number */
    return strncmp(s, "0x", 2) == 0 || strncmp(s, "0o", 2) == 0 || strcmp(s, ".inf") == 0 ||
           strcmp(s, ".nan") == 0;
}

static int scalar(yaml_emitter_t *e, const char *text, int quote)
{
    yaml_event_t ev;

    if (!yaml_scalar_event_initialize(
            &ev, NULL, NULL, (yaml_char_t *)text, (int)strlen(text), !quote, 1,
            quote ? YAML_DOUBLE_QUOTED_SCALAR_STYLE : YAML_ANY_SCALAR_STYLE))
        return -1;
    return yaml_emitter_emit(e, &ev) ? 0 : -1;
}

static int node(yaml_emitter_t *e, const json_t *v)
{
    yaml_event_t ev;
    char buf[64];

    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *k;
        json_t *x;
        if (!yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE) ||
            !yaml_emitter_emit(e, &ev))
            return -1;
        json_object_foreach((json_t *)v, k, x)
        {
            if (scalar(e, k, needs_quotes(k)) != 0 || node(e, x) != 0)
                return -1;
        }
        if (!yaml_mapping_end_event_initialize(&ev) || !yaml_emitter_emit(e, &ev))
            return -1;
        return 0;
    }
    case JSON_ARRAY: {
        size_t i;
        json_t *x;
        if (!yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE) ||
            !yaml_emitter_emit(e, &ev))
            return -1;
        json_array_foreach(v, i, x)
        {
            if (node(e, x) != 0)
                return -1;
        }
        if (!yaml_sequence_end_event_initialize(&ev) || !yaml_emitter_emit(e, &ev))
            return -1;
        return 0;
    }
    case JSON_STRING:
        return scalar(e, json_string_value(v), needs_quotes(json_string_value(v)));
    case JSON_INTEGER:
        snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return scalar(e, buf, 0);
    case JSON_REAL:
        snprintf(buf, sizeof(buf), "%.17g", json_real_value(v));
        return scalar(e, buf, 0);
    case JSON_TRUE:
        return scalar(e, "true", 0);
    case JSON_FALSE:
        return scalar(e, "false", 0);
    case JSON_NULL:
        return scalar(e, "null", 0);
    }
    return -1;
}

static int buf_write(void *ud, unsigned char *data, size_t size)
{
    return tt_buf_append(ud, (const char *)data, size) == TT_OK;
}

/* `doc` as one YAML document into `out`. */
static tt_code emit(const json_t *doc, tt_buf *out, tt_error *err)
{
    yaml_emitter_t e;
    yaml_event_t ev;
    int ok;

    if (!yaml_emitter_initialize(&e))
        return tt_error_set(err, TT_ENOMEM, "out of memory writing YAML");
    yaml_emitter_set_output(&e, buf_write, out);
    yaml_emitter_set_unicode(&e, 1);
    yaml_emitter_set_width(&e, 100);
    ok = yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) &&
         yaml_emitter_emit(&e, &ev) &&
         yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) &&
         yaml_emitter_emit(&e, &ev) && node(&e, doc) == 0 &&
         yaml_document_end_event_initialize(&ev, 1) && yaml_emitter_emit(&e, &ev) &&
         yaml_stream_end_event_initialize(&ev) && yaml_emitter_emit(&e, &ev);
    yaml_emitter_delete(&e);
    return ok ? TT_OK : tt_error_set(err, TT_ENOMEM, "cannot write YAML (out of memory)");
}

tt_code tt_import_yaml(const json_t *doc, tt_buf *out, tt_error *err)
{
    return emit(doc, out, err);
}

static tt_code mkdirs(const char *path, tt_error *err)
{
    char tmp[4096];
    size_t n = strlen(path);

    if (n >= sizeof(tmp))
        return tt_error_set(err, TT_EINVAL, "%s: path too long", path);
    memcpy(tmp, path, n + 1);
    for (char *p = tmp + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return tt_error_set(err, TT_EIO, "cannot create %s: %s", tmp, strerror(errno));
        *p = '/';
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
        return tt_error_set(err, TT_EIO, "cannot create %s: %s", tmp, strerror(errno));
    return TT_OK;
}

static tt_code write_file(const char *path, const char *text, size_t len, tt_error *err)
{
    FILE *f = fopen(path, "w");
    int ok;

    if (f == NULL)
        return tt_error_set(err, TT_EIO, "cannot write %s: %s", path, strerror(errno));
    ok = fwrite(text, 1, len, f) == len;
    ok &= fclose(f) == 0;
    return ok ? TT_OK : tt_error_set(err, TT_EIO, "cannot write %s: %s", path, strerror(errno));
}

/* A table cell: '|' and newlines would break the row. */
static tt_code cell(tt_buf *b, const char *s)
{
    tt_code rc = TT_OK;

    for (const char *p = s ? s : ""; *p != '\0' && rc == TT_OK; p++)
        rc = *p == '|'    ? tt_buf_puts(b, "\\|")
             : *p == '\n' ? tt_buf_puts(b, " ")
                          : tt_buf_append(b, p, 1);
    return rc;
}

static tt_code skipped_md(const json_t *skipped, tt_buf *b)
{
    const json_t *s;
    size_t i;
    tt_code rc = tt_buf_printf(b, "# Not imported\n\n"
                                  "`trimtab import` found these objects but cannot express them "
                                  "(or a setting of theirs) in a\ntrimtab spec. They are left as "
                                  "they are in AWS; trimtab never touches what no manifest names.\n"
                                  "See docs/import.md.\n\n"
                                  "| kind | object | reason |\n|---|---|---|\n");

    json_array_foreach(skipped, i, s)
    {
        rc = rc != TT_OK ? rc : tt_buf_puts(b, "| ");
        rc = rc != TT_OK ? rc : cell(b, json_string_value(json_object_get(s, "kind")));
        rc = rc != TT_OK ? rc : tt_buf_puts(b, " | ");
        rc = rc != TT_OK ? rc : cell(b, json_string_value(json_object_get(s, "object")));
        rc = rc != TT_OK ? rc : tt_buf_puts(b, " | ");
        rc = rc != TT_OK ? rc : cell(b, json_string_value(json_object_get(s, "reason")));
        rc = rc != TT_OK ? rc : tt_buf_puts(b, " |\n");
    }
    return rc;
}

tt_code tt_import_write(const json_t *mapped, const char *dir, size_t *written, tt_error *err)
{
    const json_t *resources = json_object_get(mapped, "resources");
    const json_t *skipped = json_object_get(mapped, "skipped"), *r;
    char path[4096];
    size_t i;
    tt_buf b;
    tt_code rc = TT_OK;

    tt_buf_init(&b);
    if (written != NULL)
        *written = 0;
    json_array_foreach(resources, i, r)
    {
        const char *sub = json_string_value(json_object_get(r, "dir"));
        const char *name = json_string_value(json_object_get(r, "name"));
        if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, sub) >= sizeof(path)) {
            rc = tt_error_set(err, TT_EINVAL, "%s: path too long", dir);
            goto out;
        }
        if ((rc = mkdirs(path, err)) != TT_OK)
            goto out;
        tt_buf_reset(&b);
        if ((rc = emit(json_object_get(r, "manifest"), &b, err)) != TT_OK)
            goto out;
        snprintf(path, sizeof(path), "%s/%s/%s.yaml", dir, sub, name);
        if ((rc = write_file(path, tt_buf_str(&b), b.len, err)) != TT_OK)
            goto out;
        if (written != NULL)
            (*written)++;
    }
    snprintf(path, sizeof(path), "%s/IMPORT-SKIPPED.md", dir);
    if (json_array_size(skipped) == 0 && unlink(path) != 0 && errno != ENOENT) {
        rc = tt_error_set(err, TT_EIO, "cannot remove the stale %s: %s", path, strerror(errno));
        goto out;
    }
    if (json_array_size(skipped) > 0) {
        if ((rc = mkdirs(dir, err)) != TT_OK)
            goto out;
        tt_buf_reset(&b);
        if ((rc = skipped_md(skipped, &b)) != TT_OK) {
            tt_error_set(err, rc, "out of memory writing IMPORT-SKIPPED.md");
            goto out;
        }
        snprintf(path, sizeof(path), "%s/IMPORT-SKIPPED.md", dir);
        rc = write_file(path, tt_buf_str(&b), b.len, err);
    }
out:
    tt_buf_cleanup(&b);
    return rc;
}
