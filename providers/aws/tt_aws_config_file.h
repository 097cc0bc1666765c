/*
 * tt_aws_config_file — the AWS shared config and credentials files (~/.aws/config,
 * ~/.aws/credentials, or AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE), read as the SDKs do:
 * "[profile NAME]" (or "[default]") sections in config, "[NAME]" in credentials, "key = value"
 * lines, '#' and ';' comments, indented sub-sections ignored. Keys from the credentials file
 * win over the same keys in config.
 */
#ifndef TT_AWS_CONFIG_FILE_H
#define TT_AWS_CONFIG_FILE_H

#include <jansson.h>

#include "tt_error.h"

/*
 * Reads both files (a missing file is not an error) and returns a new object
 * {profile: {key: value}}; the caller owns it. NULL with `err` set on ENOMEM or an unreadable
 * existing file.
 */
json_t *tt_aws_config_files_load(tt_error *err);

/* Parses one file's text; `is_config` selects the "[profile x]" section syntax. Merges into
 * `into`, overwriting existing keys. Returns 0, or -1 on ENOMEM. */
int tt_aws_config_parse(const char *text, int is_config, json_t *into);

#endif
