/*
 * tt_aws_retry — the SDKs' "standard" retry mode and a client-side token bucket, as small
 * pure policies (no loop, no clock of their own) so each is unit-tested alone.
 */
#ifndef TT_AWS_RETRY_H
#define TT_AWS_RETRY_H

#define TT_AWS_QUOTA_MAX       500 /* the retry quota's capacity */
#define TT_AWS_RETRY_COST      5   /* a retry after a throttle or transient error */
#define TT_AWS_TIMEOUT_COST    10  /* a retry after a timeout */
#define TT_AWS_NO_RETRY_REFUND 1   /* given back by a call that succeeds at once */

typedef struct tt_aws_quota {
    int tokens;
} tt_aws_quota;

void tt_aws_quota_init(tt_aws_quota *q);
/* Takes the cost of one retry; returns it, or 0 when the quota cannot pay (no retry then). */
int tt_aws_quota_acquire(tt_aws_quota *q, int timed_out);
/* A call succeeded: give back `retry_cost` (what its last retry took), or 1 if none. */
void tt_aws_quota_release(tt_aws_quota *q, int retry_cost);

/*
 * The delay before retry number `attempt` (1 for the first retry): full jitter,
 * rand01 * min(max_backoff, 2^attempt) seconds, as the SDKs' standard mode.
 */
double tt_aws_backoff(int attempt, double max_backoff, double rand01);

/* Parses a Retry-After header (delta seconds, or an HTTP date relative to `now`); -1 if bad. */
double tt_aws_retry_after(const char *value, double now);

/* A token bucket: `rate` tokens per second, at most `burst` saved up. */
typedef struct tt_aws_bucket {
    double rate;
    double burst;
    double tokens; /* may go negative: callers already promised a later slot */
    double last;
} tt_aws_bucket;

void tt_aws_bucket_init(tt_aws_bucket *b, double rate, double burst, double now);
/* Takes one token; returns how long to wait (0 when a token is there now). Callers keep their
 * order: each takes the next free slot. */
double tt_aws_bucket_take(tt_aws_bucket *b, double now);

#endif
