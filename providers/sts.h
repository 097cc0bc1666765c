/*
 * tt_sts — the caller's AWS account id, for the services whose calls name it (AWS Budgets takes
 * an AccountId in every request; their ARNs hold it too).
 *
 * GetCallerIdentity is asked once per role (NULL: the operator's own credentials) for the life
 * of the process: an account id never changes under a set of credentials, so every later observe
 * batch of that role skips the call.
 */
#ifndef TT_STS_H
#define TT_STS_H

#include <stddef.h>

struct tt_batch;

/* The account id learnt for `role_arn` (NULL: no role), or NULL when not known yet. Borrowed:
 * valid for the life of the process. */
const char *tt_sts_account(const char *role_arn);

/*
 * Makes sure item `i` of `b` gets "account" in its view: at once from the cache, else by adding
 * one GetCallerIdentity to the batch's current phase (one call for every item that needs it).
 * The join caches the answer. Out of memory fails the item.
 */
void tt_sts_read_account(struct tt_batch *b, size_t i);

#endif
