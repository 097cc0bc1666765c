/*
 * tt_doc — YAML and JSON manifests parsed into jansson values that remember their lines.
 *
 * libyaml's event parser builds the jansson tree; a side table (tt_linemap) maps each node's
 * field path ("spec.targetTracking[0].targetValue") to the line it was written on, so later
 * checks can say `file:line: field: message` without the tree carrying positions. JSON files
 * go through the same parser (JSON is a subset of YAML's flow style), which gives them lines
 * too. Hostile input is bounded: document size, nesting depth and node count (aliases counted
 * as expanded) all have limits, and every violation is a diagnostic, never a crash.
 *
 * This module parses bytes; it never reads files (the sources do).
 */
#ifndef TT_DOC_H
#define TT_DOC_H

#include <jansson.h>
#include <stddef.h>

#include "diag.h"
#include "tt_error.h"

typedef struct tt_linemap tt_linemap;

typedef struct tt_doc_limits {
    size_t max_doc_bytes; /* bytes one document may span (default 1 MiB, as a Kubernetes object) */
    int max_depth;        /* nesting of mappings and sequences (default 64) */
    size_t max_nodes;     /* nodes per document, each alias counted as its expansion (100,000) */
} tt_doc_limits;

typedef struct tt_doc {
    json_t *root;      /* owned reference; never NULL */
    int line;          /* line where the document starts */
    int nerrors;       /* problems inside this document; it is kept so that its kind and name
                        * can still be reported, but it must not be applied */
    int truncated;     /* parsing stopped inside it (syntax error, limit): what is there is
                        * partial, so only its identity is worth reading */
    tt_linemap *lines; /* owned */
} tt_doc;

typedef struct tt_docs {
    tt_doc *items;
    size_t len;
    size_t cap;
} tt_docs;

/* The defaults named above. */
extern const tt_doc_limits tt_doc_default_limits;

void tt_docs_init(tt_docs *docs);
/* Releases every document. */
void tt_docs_cleanup(tt_docs *docs);

/*
 * Parses every document of `data` (`len` bytes, need not be NUL-terminated) and appends them
 * to `docs`; empty documents are skipped. Problems go to `diags` under `file`. Returns TT_OK
 * when the whole input parsed cleanly, TT_EPARSE when any problem was found (documents parsed
 * before a syntax error are still appended), TT_ENOMEM on allocation failure.
 */
tt_code tt_doc_parse(const char *data, size_t len, const char *file, const tt_doc_limits *limits,
                     tt_diags *diags, tt_docs *docs);

/*
 * The line of `path`, or of its nearest ancestor that has one; 0 when none is known.
 * `m` may be NULL (objects from the Kubernetes API have no lines).
 */
int tt_linemap_lookup(const tt_linemap *m, const char *path);

/*
 * Field paths, written the way Kubernetes writes them: `spec.steps[0].lower`, with keys that
 * are not plain identifiers in brackets (`metadata.annotations[trimtab.dev/x]`). The loader
 * and the model both build paths with these, so a path always finds its line. Each returns
 * the length before the push, to restore with tt_path_pop().
 */
size_t tt_path_push_key(tt_buf *path, const char *key);
size_t tt_path_push_index(tt_buf *path, size_t index);
void tt_path_pop(tt_buf *path, size_t len);

#endif
