/*
 * Shared between model.c and model_schema.c only: the metadata struct and string rules.
 */
#ifndef TT_MODEL_INTERNAL_H
#define TT_MODEL_INTERNAL_H

#include "schema.h"

typedef struct tt_metadata {
    const char *name;
    const char *namespace_;
    tt_kv *labels;
    size_t nlabels;
    tt_kv *annotations;
    size_t nannotations;
    tt_opt_int generation;
    const char *resource_version;
    const char *uid;
    const char *deletion_timestamp;
    const char **finalizers;
    size_t nfinalizers;
} tt_metadata;

extern const tt_schema tt_metadata_schema;
extern const char *const tt_predefined_metrics[];

const char *tt_check_dns_label(const char *s);
const char *tt_check_k8s_name(const char *s);

#endif
