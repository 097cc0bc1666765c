#include "tt_aws_retry.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tt_aws_protocol.h"
#include "tt_num.h"
#include "tt_str.h"

void tt_aws_quota_init(tt_aws_quota *q)
{
    q->tokens = TT_AWS_QUOTA_MAX;
}

int tt_aws_quota_acquire(tt_aws_quota *q, int timed_out)
{
    int cost = timed_out ? TT_AWS_TIMEOUT_COST : TT_AWS_RETRY_COST;
    if (q->tokens < cost)
        return 0;
    q->tokens -= cost;
    return cost;
}

void tt_aws_quota_release(tt_aws_quota *q, int retry_cost)
{
    q->tokens += retry_cost > 0 ? retry_cost : TT_AWS_NO_RETRY_REFUND;
    if (q->tokens > TT_AWS_QUOTA_MAX)
        q->tokens = TT_AWS_QUOTA_MAX;
}

double tt_aws_backoff(int attempt, double max_backoff, double rand01)
{
    double cap = tt_pow2(attempt < 30 ? attempt : 30);
    if (cap > max_backoff)
        cap = max_backoff;
    return rand01 * cap;
}

double tt_aws_retry_after(const char *value, double now)
{
    double v;
    if (value == NULL)
        return -1;
    if (tt_parse_double(value, &v) == 0)
        return v >= 0 ? v : -1;
    if (tt_aws_parse_time(value, &v) == 0)
        return v > now ? v - now : 0;
    return -1;
}

void tt_aws_bucket_init(tt_aws_bucket *b, double rate, double burst, double now)
{
    b->rate = rate;
    b->burst = burst >= 1 ? burst : 1;
    b->tokens = b->burst;
    b->last = now;
}

double tt_aws_bucket_take(tt_aws_bucket *b, double now)
{
    if (b->rate <= 0)
        return 0;
    if (now > b->last) {
        b->tokens += (now - b->last) * b->rate;
        if (b->tokens > b->burst)
            b->tokens = b->burst;
        b->last = now;
    }
    b->tokens -= 1;
    return b->tokens >= 0 ? 0 : -b->tokens / b->rate;
}
