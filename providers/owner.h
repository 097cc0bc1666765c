/*
 * tt_owner — what trimtab owns in AWS, decided in one place for every provider (SPEC §2):
 *   - names: every object trimtab creates is called "trimtab-<namespace>-<name>[-<part>]",
 *     shortened with a hash where the service limits length, so the same resource always finds
 *     its objects again and two resources never collide; an object made by another tool keeps
 *     the name in the resource's trimtab.dev/external-name[.<part>] annotation (`trimtab
 *     import`);
 *   - the owner tag trimtab.dev/owner=<namespace>/<name> on what it creates;
 *   - adoption: an existing object that is not trimtab's is refused unless spec.adopt is true,
 *     and one owned by another resource is always refused; an imported resource
 *     (trimtab.dev/imported) adopts what it names without writing the owner tag;
 *   - deletion (a resource removed, --prune): only what the memo or the owner tag says is ours.
 */
#ifndef TT_OWNER_H
#define TT_OWNER_H

#include <stdbool.h>
#include <stddef.h>

#include "provider.h"

/*
 * The AWS name of `r`'s object `part` (NULL: the resource's one object) into `out`: at most
 * `maxlen` characters (the service's limit) and `outlen` - 1. A longer name keeps a readable
 * prefix and ends in "-" and 8 hex digits of a hash of the full name.
 */
void tt_owner_name(const tt_resource *r, const char *part, size_t maxlen, char *out, size_t outlen);

/* "<namespace>/<name>": the value of the trimtab.dev/owner tag on `r`'s objects. */
void tt_owner_value(const tt_resource *r, char *out, size_t outlen);

/* The owner tag's value in a tag map ({"key": "value"} as AWS lists tags), or NULL. */
const char *tt_owner_tag_in(const json_t *tags);

/* What may happen to an existing object a resource wants to manage. */
typedef enum tt_owner_verdict {
    TT_OWNER_OURS,     /* the memo or the owner tag says it is this resource's */
    TT_OWNER_ADOPT,    /* not trimtab's and spec.adopt is true: tag it, then manage it */
    TT_OWNER_REFUSED,  /* not trimtab's and spec.adopt is not set: out->blocked says so */
    TT_OWNER_CONFLICT, /* another trimtab resource owns it: out->blocked says which */
} tt_owner_verdict;

/*
 * Decides whether `r` may manage the existing object `what` ("scalable target service/a/b"):
 * `memo_owned` when the resource's memo lists it, `tag` the owner tag found on it (NULL: none or
 * not read). For REFUSED and CONFLICT, sets out->blocked ("AdoptionRefused",
 * "ConflictingOwner") and out->message.
 */
tt_owner_verdict tt_owner_check(const tt_resource *r, bool memo_owned, const char *tag,
                                const char *what, tt_diff_output *out);

/*
 * The ownership step of a diff: tt_owner_check, and for an object to adopt, the tagging action
 * (tt_owner_tag_action with `tag_input`, stolen either way). 0 when `r` may go on managing the
 * object, -1 when refused or conflicting (out->blocked and out->message say why).
 */
int tt_owner_gate(const tt_resource *r, bool memo_owned, const char *tag, const char *what,
                  tt_diff_output *out, const char *service, const char *operation,
                  const char *region, json_t *tag_input);

/*
 * Appends the action that puts `r`'s owner tag on an object it claims or adopts (verb "tag",
 * the tag as its change): `input` (stolen) is the service's own tagging call. Returns the action
 * (borrowed), or NULL when out of memory.
 */
json_t *tt_owner_tag_action(json_t *plan, const tt_resource *r, const char *object,
                            const char *service, const char *operation, const char *region,
                            json_t *input);

/*
 * True when `r` puts its owner tag on a target it claims without adoption (an RDS instance it
 * scales): not for an imported resource, which changes nothing in AWS by being imported.
 */
bool tt_owner_claims(const tt_resource *r);

/*
 * True when deleting `r` (or pruning it) may delete the object: the memo lists it, or its owner
 * tag names `r` (a run killed after creating it never wrote the memo). Anything else stays.
 */
bool tt_owner_may_delete(const tt_resource *r, bool memo_owned, const char *tag);

#endif
