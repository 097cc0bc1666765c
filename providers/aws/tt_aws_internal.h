/*
 * Internal to providers/aws: what the paginator needs from the client.
 */
#ifndef TT_AWS_INTERNAL_H
#define TT_AWS_INTERNAL_H

#include <jansson.h>

#include "tt_aws.h"

/* The operation's paginator ({input_token, output_token, result_key, ...}) or NULL; borrowed. */
json_t *tt_aws_paginator(tt_aws *aws, const char *service, const char *operation, tt_error *err);

#endif
