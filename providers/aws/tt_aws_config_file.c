#include "tt_aws_config_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tt_buf.h"

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

int tt_aws_config_parse(const char *text, int is_config, json_t *into)
{
    char *copy = strdup(text);
    char *save = NULL;
    json_t *section = NULL;
    int rc = 0;

    if (copy == NULL)
        return -1;
    for (char *line = strtok_r(copy, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        int indented = line[0] == ' ' || line[0] == '\t';
        char *t = trim(line);
        if (*t == '\0' || *t == '#' || *t == ';')
            continue;
        if (*t == '[') {
            char *end = strchr(t, ']');
            section = NULL;
            if (end == NULL)
                continue;
            *end = '\0';
            char *name = trim(t + 1);
            if (is_config) {
                if (strncmp(name, "profile", 7) == 0 && (name[7] == ' ' || name[7] == '\t'))
                    name = trim(name + 8);
                else if (strcmp(name, "default") != 0)
                    continue; /* [sso-session x], [services x]: not profiles */
            }
            section = json_object_get(into, name);
            if (section == NULL) {
                section = json_object();
                if (section == NULL || json_object_set_new(into, name, section) != 0) {
                    rc = -1;
                    break;
                }
            }
            continue;
        }
        if (section == NULL || indented)
            continue; /* a nested value such as "s3 =\n  max_concurrent_requests = 4" */
        char *eq = strchr(t, '=');
        if (eq == NULL)
            continue;
        *eq = '\0';
        char *key = trim(t), *value = trim(eq + 1);
        if (*value == '\0')
            continue; /* the head of a nested section */
        /* Inline comments need a space before them, as in botocore. */
        for (char *c = value + 1; *c != '\0'; c++) {
            if ((*c == '#' || *c == ';') && (c[-1] == ' ' || c[-1] == '\t')) {
                *c = '\0';
                value = trim(value);
                break;
            }
        }
        if (json_object_set_new(section, key, json_string(value)) != 0) {
            rc = -1;
            break;
        }
    }
    free(copy);
    return rc;
}

static int load_file(const char *path, int is_config, json_t *into, tt_error *err)
{
    FILE *f = fopen(path, "r");
    tt_buf b;
    char chunk[4096];
    size_t n;
    int rc;

    if (f == NULL) {
        if (errno == ENOENT || errno == ENOTDIR)
            return 0;
        tt_error_set(err, TT_EIO, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    tt_buf_init(&b);
    rc = tt_buf_puts(&b, "") == TT_OK ? 0 : -1;
    while (rc == 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (b.len + n > 1024 * 1024 || tt_buf_append(&b, chunk, n) != TT_OK)
            rc = -1;
    }
    fclose(f);
    if (rc == 0 && tt_aws_config_parse(tt_buf_str(&b), is_config, into) != 0)
        rc = -1;
    if (rc != 0)
        tt_error_set(err, TT_ELIMIT, "cannot load %s (too large or out of memory)", path);
    tt_buf_cleanup(&b);
    return rc;
}

json_t *tt_aws_config_files_load(tt_error *err)
{
    const char *home = getenv("HOME");
    const char *cfg = getenv("AWS_CONFIG_FILE");
    const char *creds = getenv("AWS_SHARED_CREDENTIALS_FILE");
    char cfg_path[1024], creds_path[1024];
    json_t *all = json_object();

    if (all == NULL) {
        tt_error_set(err, TT_ENOMEM, "out of memory");
        return NULL;
    }
    snprintf(cfg_path, sizeof(cfg_path), "%s/.aws/config", home ? home : "");
    snprintf(creds_path, sizeof(creds_path), "%s/.aws/credentials", home ? home : "");
    if (load_file(cfg != NULL ? cfg : cfg_path, 1, all, err) != 0 ||
        load_file(creds != NULL ? creds : creds_path, 0, all, err) != 0) {
        json_decref(all);
        return NULL;
    }
    return all;
}
