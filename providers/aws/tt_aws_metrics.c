#include "tt_aws_metrics.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

/* A few dozen (service, operation) pairs at most: a linear table is the simple answer. */
struct entry {
    char service[40];
    char operation[72];
    uint64_t counts[TT_AWS_OUTCOME_COUNT];
};

struct tt_aws_metrics {
    struct entry *entries;
    size_t n, cap;
};

static const char *const outcome_names[TT_AWS_OUTCOME_COUNT] = {
    "ok", "error", "throttled", "unavailable", "cancelled", "retried", "throttle",
};

const char *tt_aws_outcome_name(tt_aws_outcome o)
{
    return (unsigned)o < TT_AWS_OUTCOME_COUNT ? outcome_names[o] : "unknown";
}

tt_aws_metrics *tt_aws_metrics_create(void)
{
    return calloc(1, sizeof(tt_aws_metrics));
}

void tt_aws_metrics_destroy(tt_aws_metrics *m)
{
    if (m == NULL)
        return;
    free(m->entries);
    free(m);
}

static struct entry *find(const tt_aws_metrics *m, const char *service, const char *operation)
{
    for (size_t i = 0; i < m->n; i++) {
        if (strcmp(m->entries[i].operation, operation) == 0 &&
            strcmp(m->entries[i].service, service) == 0)
            return &m->entries[i];
    }
    return NULL;
}

void tt_aws_metrics_add(tt_aws_metrics *m, const char *service, const char *operation,
                        tt_aws_outcome outcome, uint64_t n)
{
    if ((unsigned)outcome >= TT_AWS_OUTCOME_COUNT)
        return;
    struct entry *e = find(m, service, operation);
    if (e == NULL) {
        if (m->n == m->cap) {
            size_t cap = m->cap ? m->cap * 2 : 32;
            struct entry *grown = realloc(m->entries, cap * sizeof(*grown));
            if (grown == NULL)
                return;
            m->entries = grown;
            m->cap = cap;
        }
        e = &m->entries[m->n++];
        memset(e, 0, sizeof(*e));
        snprintf(e->service, sizeof(e->service), "%s", service);
        snprintf(e->operation, sizeof(e->operation), "%s", operation);
    }
    e->counts[outcome] += n;
}

uint64_t tt_aws_metrics_get(const tt_aws_metrics *m, const char *service, const char *operation,
                            tt_aws_outcome outcome)
{
    const struct entry *e = find(m, service, operation);
    return e != NULL && (unsigned)outcome < TT_AWS_OUTCOME_COUNT ? e->counts[outcome] : 0;
}

void tt_aws_metrics_visit(const tt_aws_metrics *m, tt_aws_metric_fn fn, void *ud)
{
    for (size_t i = 0; i < m->n; i++) {
        for (int o = 0; o < TT_AWS_OUTCOME_COUNT; o++) {
            if (m->entries[i].counts[o] > 0)
                fn(ud, m->entries[i].service, m->entries[i].operation, (tt_aws_outcome)o,
                   m->entries[i].counts[o]);
        }
    }
}
