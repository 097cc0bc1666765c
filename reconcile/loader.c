#include "loader.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "doc.h"
#include "source.h"
#include "tt_buf.h"

void tt_manifest_set_init(tt_manifest_set *set)
{
    memset(set, 0, sizeof(*set));
}

void tt_manifest_set_cleanup(tt_manifest_set *set)
{
    for (size_t i = 0; i < set->len; i++)
        tt_resource_destroy(set->items[i]);
    for (size_t i = 0; i < set->nfiles; i++)
        free(set->files[i].path);
    free(set->items);
    free(set->files);
    tt_manifest_set_init(set);
}

size_t tt_manifest_set_valid(const tt_manifest_set *set)
{
    size_t n = 0;

    for (size_t i = 0; i < set->len; i++)
        n += !set->items[i]->invalid;
    return n;
}

static tt_code push_resource(tt_manifest_set *set, tt_resource *r)
{
    if (set->len == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 64;
        tt_resource **p = realloc(set->items, cap * sizeof(*p));
        if (p == NULL)
            return TT_ENOMEM;
        set->items = p;
        set->cap = cap;
    }
    set->items[set->len++] = r;
    return TT_OK;
}

static tt_manifest_file *push_file(tt_manifest_set *set, const char *path)
{
    tt_manifest_file *f;

    if (set->nfiles == set->files_cap) {
        size_t cap = set->files_cap ? set->files_cap * 2 : 64;
        tt_manifest_file *p = realloc(set->files, cap * sizeof(*p));
        if (p == NULL)
            return NULL;
        set->files = p;
        set->files_cap = cap;
    }
    f = &set->files[set->nfiles];
    f->path = strdup(path);
    if (f->path == NULL)
        return NULL;
    f->parsed = false;
    f->resources = 0;
    set->nfiles++;
    return f;
}

/* Builds the resource of one object; returns TT_ENOMEM only. */
static tt_code add_object(tt_manifest_set *set, tt_manifest_file *mf, const json_t *obj,
                          const tt_doc_src *src, tt_diags *diags)
{
    tt_resource *r = NULL;
    tt_code rc = tt_model_from_json(obj, src, diags, &r);

    if (rc == TT_ENOMEM)
        return rc;
    if (rc == TT_ENOTFOUND) {
        set->ignored++;
        return TT_OK;
    }
    if (r == NULL)
        return TT_OK; /* ours, but not even a name to report it by: the diagnostics say why */
    if (push_resource(set, r) != TT_OK) {
        tt_resource_destroy(r);
        return TT_ENOMEM;
    }
    if (mf != NULL)
        mf->resources++;
    return TT_OK;
}

/* A `kind: List` (what `kubectl get -o yaml` writes) holds objects under items[]. */
static int is_list(const json_t *root)
{
    const char *kind = json_string_value(json_object_get(root, "kind"));
    const char *api = json_string_value(json_object_get(root, "apiVersion"));

    return kind != NULL && api != NULL && strcmp(api, "v1") == 0 &&
           (strcmp(kind, "List") == 0 ||
            (strlen(kind) > 4 && strcmp(kind + strlen(kind) - 4, "List") == 0)) &&
           json_is_array(json_object_get(root, "items"));
}

static tt_code add_docs(tt_manifest_set *set, tt_manifest_file *mf, const tt_docs *docs,
                        const char *file, size_t diags_from, tt_diags *diags)
{
    tt_code rc = TT_OK;

    for (size_t i = 0; i < docs->len && rc == TT_OK; i++) {
        const tt_doc *d = &docs->items[i];
        tt_doc_src src = {file, d->lines, NULL, d->line, d->nerrors, d->truncated};
        size_t first = set->len;
        if (is_list(d->root)) {
            const json_t *items = json_object_get(d->root, "items");
            for (size_t k = 0; k < json_array_size(items) && rc == TT_OK; k++) {
                char prefix[32];
                snprintf(prefix, sizeof(prefix), "items[%zu]", k);
                src.path_prefix = prefix;
                src.line = tt_linemap_lookup(d->lines, prefix);
                rc = add_object(set, mf, json_array_get(items, k), &src, diags);
            }
        } else {
            rc = add_object(set, mf, d->root, &src, diags);
        }
        /* The parser's problems inside this document belong to its resources too. */
        for (size_t k = first; d->nerrors > 0 && k < set->len; k++)
            tt_resource_note_problems(set->items[k], diags, diags_from, d->line,
                                      i + 1 < docs->len ? docs->items[i + 1].line : 0);
    }
    return rc;
}

tt_code tt_loader_add_bytes(tt_manifest_set *set, const char *data, size_t len, const char *file,
                            tt_diags *diags)
{
    tt_docs docs;
    tt_manifest_file *mf = push_file(set, file);
    size_t diags_from = tt_diags_count(diags);
    tt_code rc;

    if (mf == NULL)
        return TT_ENOMEM;
    tt_docs_init(&docs);
    rc = tt_doc_parse(data, len, file, NULL, diags, &docs);
    if (rc == TT_ENOMEM)
        goto out;
    mf->parsed = rc == TT_OK;
    rc = add_docs(set, mf, &docs, file, diags_from, diags);
out:
    tt_docs_cleanup(&docs);
    return rc;
}

static int has_manifest_suffix(const char *name)
{
    size_t n = strlen(name);

    return (n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
           (n > 4 && strcmp(name + n - 4, ".yml") == 0) ||
           (n > 5 && strcmp(name + n - 5, ".json") == 0);
}

/* Reads a whole regular file, bounded; problems become diagnostics and return TT_EIO. */
static tt_code read_file(const char *path, char **data, size_t *len, tt_diags *diags)
{
    struct stat st;
    char *buf = NULL;
    size_t got = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    tt_code rc = TT_OK;

    if (fd < 0) {
        tt_diags_add(diags, path, 0, NULL, "cannot open: %s", strerror(errno));
        return TT_EIO;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        tt_diags_add(diags, path, 0, NULL, "not a regular file");
        rc = TT_EIO;
        goto out;
    }
    if ((uint64_t)st.st_size > TT_LOADER_MAX_FILE_BYTES) {
        tt_diags_add(diags, path, 0, NULL, "file is %lld MiB, larger than the %u MiB limit",
                     (long long)(st.st_size >> 20), TT_LOADER_MAX_FILE_BYTES >> 20);
        rc = TT_EIO;
        goto out;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (buf == NULL) {
        rc = TT_ENOMEM;
        goto out;
    }
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    buf[got] = '\0';
    *data = buf;
    *len = got;
    buf = NULL;
out:
    free(buf);
    close(fd);
    return rc;
}

static tt_code load_file(tt_manifest_set *set, const char *path, tt_diags *diags)
{
    char *data = NULL;
    size_t len = 0;
    tt_code rc = read_file(path, &data, &len, diags);

    if (rc == TT_EIO) {
        tt_manifest_file *mf = push_file(set, path);
        return mf == NULL ? TT_ENOMEM : TT_OK;
    }
    if (rc != TT_OK)
        return rc;
    rc = tt_loader_add_bytes(set, data, len, path, diags);
    free(data);
    return rc;
}

/* Directories already entered (device, inode), so symlink loops end. */
struct visited {
    dev_t *dev;
    ino_t *ino;
    size_t len;
    size_t cap;
};

static int visited_add(struct visited *v, const struct stat *st)
{
    for (size_t i = 0; i < v->len; i++) {
        if (v->dev[i] == st->st_dev && v->ino[i] == st->st_ino)
            return 1;
    }
    if (v->len == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 32;
        dev_t *d = realloc(v->dev, cap * sizeof(*d));
        ino_t *n;
        if (d == NULL)
            return -1;
        v->dev = d;
        n = realloc(v->ino, cap * sizeof(*n));
        if (n == NULL)
            return -1;
        v->ino = n;
        v->cap = cap;
    }
    v->dev[v->len] = st->st_dev;
    v->ino[v->len] = st->st_ino;
    v->len++;
    return 0;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static tt_code add_path_dir(void *ud, const char *path, const char *rel, const struct stat *st,
                            bool *enter)
{
    (void)ud;
    (void)path;
    (void)rel;
    (void)st;
    *enter = true;
    return TT_OK;
}

/* What the walk hands over: one manifest file to load into the set. */
struct add_path_ctx {
    tt_manifest_set *set;
    tt_diags *diags;
};

static tt_code add_path_file(void *ud, const char *path, const char *rel)
{
    struct add_path_ctx *c = ud;

    (void)rel;
    return load_file(c->set, path, c->diags);
}

tt_code tt_loader_add_path(tt_manifest_set *set, const char *path, tt_diags *diags)
{
    struct add_path_ctx c = {set, diags};
    tt_loader_walker w = {add_path_dir, add_path_file, &c};
    struct stat st;

    if (stat(path, &st) != 0) {
        tt_diags_add(diags, path, 0, NULL, "cannot read: %s", strerror(errno));
        return TT_OK;
    }
    if (!S_ISDIR(st.st_mode))
        return load_file(set, path, diags);
    return tt_loader_walk(path, "", &w, diags);
}

static int key_cmp(const void *a, const void *b)
{
    const tt_resource *x = *(tt_resource *const *)a, *y = *(tt_resource *const *)b;
    int c = strcmp(x->key, y->key);

    if (c != 0)
        return c;
    c = strcmp(x->file ? x->file : "", y->file ? y->file : "");
    return c != 0 ? c : (x->line > y->line) - (x->line < y->line);
}

void tt_loader_finish(tt_manifest_set *set, tt_diags *diags)
{
    tt_resource **sorted;

    if (set->len > 1 && (sorted = malloc(set->len * sizeof(*sorted))) != NULL) {
        memcpy(sorted, set->items, set->len * sizeof(*sorted));
        qsort(sorted, set->len, sizeof(*sorted), key_cmp);
        for (size_t i = 1; i < set->len; i++) {
            tt_resource *a = sorted[i - 1], *b = sorted[i];
            if (strcmp(a->key, b->key) != 0)
                continue;
            size_t from = tt_diags_count(diags);
            tt_diags_add(diags, b->file, b->line, NULL, "%s is also defined at %s:%d", b->key,
                         a->file ? a->file : "?", a->line);
            tt_resource_note_problems(b, diags, from, b->line, b->line + 1);
            from = tt_diags_count(diags);
            tt_diags_add(diags, a->file, a->line, NULL, "%s is also defined at %s:%d", a->key,
                         b->file ? b->file : "?", b->line);
            tt_resource_note_problems(a, diags, from, a->line, a->line + 1);
        }
        free(sorted);
    }
    tt_model_check_refs(set->items, set->len, diags);
}

/* ---- pieces for sources that read files one at a time ------------------------------------- */

bool tt_loader_is_manifest_name(const char *name)
{
    return name[0] != '.' && has_manifest_suffix(name);
}

tt_code tt_loader_read_file(const char *path, char **data, size_t *len, tt_diags *diags)
{
    return read_file(path, data, len, diags);
}

/* One walk: the walker, the directories entered so far, and two growing path buffers. */
struct walk_ctx {
    const tt_loader_walker *w;
    struct visited seen;
    tt_diags *diags;
};

/* Lists `path` (whose relative name is `rel`) in sorted order and visits each entry. */
static tt_code walk_dir(struct walk_ctx *c, const char *path, const char *rel, int depth)
{
    DIR *d;
    struct dirent *e;
    char **names = NULL;
    size_t n = 0, cap = 0;
    tt_buf child, child_rel;
    tt_code rc = TT_OK;

    if (depth > 64) {
        tt_diags_add(c->diags, path, 0, NULL, "directories nest deeper than 64 levels; not read");
        return TT_OK;
    }
    d = opendir(path);
    if (d == NULL) {
        tt_diags_add(c->diags, path, 0, NULL, "cannot read directory: %s", strerror(errno));
        return TT_OK;
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue; /* ., .., .git, editor swap files */
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 64;
            char **p = realloc(names, nc * sizeof(*p));
            if (p == NULL) {
                rc = TT_ENOMEM;
                break;
            }
            names = p;
            cap = nc;
        }
        if ((names[n] = strdup(e->d_name)) == NULL) {
            rc = TT_ENOMEM;
            break;
        }
        n++;
    }
    closedir(d);
    if (n > 1)
        qsort(names, n, sizeof(*names), name_cmp);
    tt_buf_init(&child);
    tt_buf_init(&child_rel);
    for (size_t i = 0; i < n && rc == TT_OK; i++) {
        struct stat st;
        tt_buf_reset(&child);
        tt_buf_reset(&child_rel);
        if (tt_buf_printf(&child, "%s/%s", path, names[i]) != TT_OK ||
            tt_buf_printf(&child_rel, "%s%s%s", rel, rel[0] ? "/" : "", names[i]) != TT_OK) {
            rc = TT_ENOMEM;
            break;
        }
        if (stat(child.data, &st) != 0)
            continue; /* a dangling link: nothing to read */
        if (S_ISDIR(st.st_mode)) {
            bool enter = true;
            int v = visited_add(&c->seen, &st);
            if (v < 0)
                rc = TT_ENOMEM;
            else if (v == 0)
                rc = c->w->dir(c->w->ud, child.data, child_rel.data, &st, &enter);
            if (rc == TT_OK && v == 0 && enter)
                rc = walk_dir(c, child.data, child_rel.data, depth + 1);
        } else if (S_ISREG(st.st_mode) && has_manifest_suffix(names[i])) {
            rc = c->w->file(c->w->ud, child.data, child_rel.data);
        }
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    tt_buf_cleanup(&child);
    tt_buf_cleanup(&child_rel);
    return rc;
}

tt_code tt_loader_walk(const char *root, const char *rel_prefix, const tt_loader_walker *w,
                       tt_diags *diags)
{
    struct walk_ctx c = {w, {0}, diags};
    struct stat st;
    bool enter = true;
    tt_code rc = TT_OK;

    if (stat(root, &st) != 0) {
        tt_diags_add(diags, root, 0, NULL, "cannot read directory: %s", strerror(errno));
        goto out;
    }
    if (!S_ISDIR(st.st_mode)) {
        tt_diags_add(diags, root, 0, NULL, "cannot read directory: not a directory");
        goto out;
    }
    if (visited_add(&c.seen, &st) < 0) {
        rc = TT_ENOMEM;
        goto out;
    }
    rc = w->dir(w->ud, root, rel_prefix, &st, &enter);
    if (rc == TT_OK && enter)
        rc = walk_dir(&c, root, rel_prefix, 0);
out:
    free(c.seen.dev);
    free(c.seen.ino);
    return rc;
}

void tt_manifest_set_deliver(tt_manifest_set *set, const tt_source_handler *h, void *ud)
{
    for (size_t i = 0; i < set->len; i++) {
        tt_resource *r = set->items[i];
        set->items[i] = NULL;
        h->upsert(ud, r);
    }
    set->len = 0;
    h->synced(ud);
}
