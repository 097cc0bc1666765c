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

/* Counts of valid and invalid resources. */
size_t tt_manifest_set_valid(const tt_manifest_set *set);

#endif
