/*
 * tt_kube_lines — splits a stream (a Kubernetes watch) into lines, with a size cap.
 *
 * A watch response is one JSON object per line, arriving in chunks that cut lines anywhere.
 * Bytes are kept only until their line ends; a line longer than `max` is an error (TT_ELIMIT),
 * so a hostile or broken server cannot make trimtab hold an unbounded line.
 */
#ifndef TT_KUBE_LINES_H
#define TT_KUBE_LINES_H

#include <stddef.h>

#include "tt_buf.h"
#include "tt_error.h"

typedef struct tt_kube_lines {
    tt_buf partial; /* the line received so far */
    size_t max;     /* bytes a line may hold */
} tt_kube_lines;

/* `max` 0: 8 MiB (a Kubernetes object is at most ~1.5 MiB, and events wrap one). */
void tt_kube_lines_init(tt_kube_lines *l, size_t max);
void tt_kube_lines_cleanup(tt_kube_lines *l);
/* Forgets a partial line (a new stream starts). */
void tt_kube_lines_reset(tt_kube_lines *l);

/* Called for each complete line without its '\n' (and '\r'); `line` is NUL-terminated and
 * borrowed for the call. Empty lines are skipped. A non-zero return stops feeding and is
 * returned by tt_kube_lines_feed. */
typedef int (*tt_kube_line_fn)(void *ud, char *line, size_t len);

/*
 * Feeds `len` bytes. Returns 0, the callback's non-zero return, or -1 when a line exceeds the
 * cap or memory runs out (`*code` says which: TT_ELIMIT or TT_ENOMEM).
 */
int tt_kube_lines_feed(tt_kube_lines *l, const char *data, size_t len, tt_kube_line_fn fn, void *ud,
                       tt_code *code);

#endif
