/*
 * tt_str — small string helpers that the C library lacks or gets wrong (atoi, strtok).
 */
#ifndef TT_STR_H
#define TT_STR_H

#include <stddef.h>
#include <stdint.h>

/* Parses a whole string as a base-10 integer; 0 on success, -1 on junk, overflow or "". */
int tt_parse_i64(const char *s, int64_t *out);
/* Parses a whole string as a finite double; 0 on success, -1 otherwise. */
int tt_parse_double(const char *s, double *out);
/* NULL-safe equality: two NULLs are equal. */
int tt_streq(const char *a, const char *b);
/* Copies at most size-1 bytes and always terminates; returns strlen(src). */
size_t tt_strlcpy(char *dst, const char *src, size_t size);
/* True when `s` starts with `prefix`. */
int tt_startswith(const char *s, const char *prefix);
/* FNV-1a 64-bit hash: stable across runs, used for names and change detection. */
uint64_t tt_hash64(const void *data, size_t len);
uint64_t tt_hash64_str(const char *s);
/* Folds more bytes into a running FNV-1a hash. */
uint64_t tt_hash64_more(uint64_t h, const void *data, size_t len);
/* `h` with its bits mixed (murmur3's finaliser), for hash tables that pick a slot by the low
 * bits: FNV's are weak for keys that differ only at the end ("…/web-0001", "…/web-0002"). */
uint64_t tt_hash64_mix(uint64_t h);
/*
 * Levenshtein distance between a and b, case-insensitive, or max+1 as soon as it exceeds
 * `max` (so a "did you mean" search stays cheap).
 */
int tt_edit_distance(const char *a, const char *b, int max);

/*
 * Parses an ISO 8601 / RFC 3339 date or date-time ("2026-01-02", "2026-01-02T03:04:05.5Z",
 * "...+01:00"; no zone means UTC) into seconds since the epoch; 0 on success, -1 otherwise.
 */
int tt_parse_iso8601(const char *s, double *out);

/* The time now in UTC, RFC 3339: "2030-01-02T03:04:05Z" (status times), or with `micro` a
 * Kubernetes MicroTime "2030-01-02T03:04:05.123456Z"; 28 bytes are enough. */
void tt_format_now(char *out, size_t len, int micro);

#endif
