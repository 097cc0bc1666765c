/*
 * tt_aws_metrics — call counters by service, operation and outcome, ready to be exposed as
 * Prometheus counters (trimtab_aws_calls_total{service,operation,outcome}).
 */
#ifndef TT_AWS_METRICS_H
#define TT_AWS_METRICS_H

#include <stdint.h>

#include "tt_aws.h"

typedef struct tt_aws_metrics tt_aws_metrics;

tt_aws_metrics *tt_aws_metrics_create(void);
void tt_aws_metrics_destroy(tt_aws_metrics *m);
/* Adds `n` to a counter; silently drops the count on ENOMEM (metrics never fail a call). */
void tt_aws_metrics_add(tt_aws_metrics *m, const char *service, const char *operation,
                        tt_aws_outcome outcome, uint64_t n);
uint64_t tt_aws_metrics_get(const tt_aws_metrics *m, const char *service, const char *operation,
                            tt_aws_outcome outcome);
void tt_aws_metrics_visit(const tt_aws_metrics *m, tt_aws_metric_fn fn, void *ud);

#endif
