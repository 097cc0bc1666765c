/*
 * tt_loader — manifests from files and directories into typed resources.
 *
 * Walks files and directories (recursively, in a stable order, skipping dot-entries such as
 * .git), reads every *.yaml, *.yml and *.json with a size bound, parses every document,
 * expands `kind: List`, and builds resources with tt_model. Documents of other kinds are
 * ignored. Every problem goes to the diagnostics; nothing stops at the first one.
 */
#ifndef TT_LOADER_H
#define TT_LOADER_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"
#include "model.h"

#define TT_LOADER_MAX_FILE_BYTES (32u * 1024 * 1024)

typedef struct tt_manifest_file {
    char *path;
    bool parsed;      /* read and parsed without a syntax error */
    size_t resources; /* trimtab resources found in it */
} tt_manifest_file;

typedef struct tt_manifest_set {
    tt_resource **items; /* owned; valid and invalid resources alike */
    size_t len;
    size_t cap;
    tt_manifest_file *files; /* owned */
    size_t nfiles;
    size_t files_cap;
    size_t ignored; /* documents of other kinds */
} tt_manifest_set;

void tt_manifest_set_init(tt_manifest_set *set);
/* Destroys every resource and file record. */
void tt_manifest_set_cleanup(tt_manifest_set *set);

/*
 * Loads a file or a directory tree. A path that cannot be read is a diagnostic, not a failure;
 * only TT_ENOMEM is returned as an error.
 */
tt_code tt_loader_add_path(tt_manifest_set *set, const char *path, tt_diags *diags);

/* Loads manifests held in memory, as if read from `file`. */
tt_code tt_loader_add_bytes(tt_manifest_set *set, const char *data, size_t len, const char *file,
                            tt_diags *diags);

/*
 * Checks what needs the whole set: the same resource defined twice (both are marked invalid)
 * and references between resources (tt_model_check_refs).
 */
void tt_loader_finish(tt_manifest_set *set, tt_diags *diags);

/*
 * Hands every resource to a source handler (upsert), then reports synced: a one-shot source
 * for `trimtab plan` and `run --once`. The set gives up its resources; ownership moves.
 */
struct tt_source_handler;
void tt_manifest_set_deliver(tt_manifest_set *set, const struct tt_source_handler *h, void *ud);

/* Counts of valid and invalid resources. */
size_t tt_manifest_set_valid(const tt_manifest_set *set);

/* ---- pieces for sources that read files one at a time (reconcile/source_dir.c) ---------- */

struct stat;

/* True for the names the loader reads: *.yaml, *.yml, *.json, and not a dot-entry. */
bool tt_loader_is_manifest_name(const char *name);

/*
 * Reads a whole regular file with the loader's size bound (TT_LOADER_MAX_FILE_BYTES). On TT_OK
 * `*data` (NUL-terminated, caller frees) and `*len` are set. A file that cannot be opened, is not
 * regular or is too large is a diagnostic under `path` and TT_EIO; TT_ENOMEM otherwise.
 */
tt_code tt_loader_read_file(const char *path, char **data, size_t *len, tt_diags *diags);

/*
 * What tt_loader_walk calls. `path` is the directory or file as the walk reached it (under the
 * root it was given), `rel` the same path relative to that root with `rel_prefix` in front ("" for
 * the root itself). Both are borrowed for the call. `st` is the directory's stat (links followed).
 * `dir` runs before the directory is listed, so a caller that starts watching it there misses
 * nothing created meanwhile; it sets `*enter` to false to leave the directory out. A callback that
 * returns anything but TT_OK ends the walk with that code.
 */
typedef struct tt_loader_walker {
    tt_code (*dir)(void *ud, const char *path, const char *rel, const struct stat *st, bool *enter);
    tt_code (*file)(void *ud, const char *path, const char *rel);
    void *ud;
} tt_loader_walker;

/*
 * Walks the directory `root` with the rules of tt_loader_add_path: entries in sorted order,
 * dot-entries skipped, symbolic links followed with loops cut, at most 64 levels, and only regular
 * files with a manifest suffix handed to `w->file`. Unreadable directories are diagnostics, not
 * failures. Returns TT_OK, TT_ENOMEM, or the first error a callback returned.
 */
tt_code tt_loader_walk(const char *root, const char *rel_prefix, const tt_loader_walker *w,
                       tt_diags *diags);

#endif
