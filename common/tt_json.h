/*
 * tt_json — jansson helpers that know trimtab's allocator.
 *
 * trimtab gives jansson its own allocator (tt_slab), so a string from json_dumps is slab
 * memory that free() must not see. tt_json_dumps writes the same text into malloc's memory;
 * trimtab calls it instead of json_dumps everywhere.
 */
#ifndef TT_JSON_H
#define TT_JSON_H

#include <jansson.h>

/* json_dumps(json, flags), returned in memory the caller owns and frees with free(). NULL on
 * error (as json_dumps: a NULL or non-container value without JSON_ENCODE_ANY, ENOMEM). */
char *tt_json_dumps(const json_t *json, size_t flags);

#endif
