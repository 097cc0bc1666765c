/*
 * tt_sched — schedules, durations and time zones as manifests write them.
 *
 * Scheduled scaling takes AWS's own `cron(m h dom mon dow year)`, `rate(n unit)` and
 * `at(yyyy-mm-ddThh:mm:ss)`, and the plain 5-field cron that people already know
 * (`0 8 * * MON-FRI`), converted to AWS form with its rule that exactly one of
 * day-of-month and day-of-week is `?`. Expressions that can never fire (hour 25, FEB 30) are
 * rejected. All functions are pure: no clock, no files.
 */
#ifndef TT_SCHEDULE_H
#define TT_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

#include "tt_error.h"

/*
 * Converts a ScalingPolicy schedule to the form Application Auto Scaling takes, into `out`
 * (`outlen` bytes). Returns TT_OK, or TT_EINVAL with a message in `err`.
 */
tt_code tt_sched_to_aws(const char *in, char *out, size_t outlen, tt_error *err);

/*
 * Checks a Secrets Manager rotation schedule expression (`rate(N days|hours)` or AWS
 * `cron(...)`) and returns its shortest interval in hours in `*hours` when known (0 for cron).
 */
tt_code tt_sched_secrets_check(const char *expr, int64_t *hours, tt_error *err);

/*
 * Parses a duration: an integer number of seconds, or Go/Kubernetes style "300s", "5m",
 * "1h30m", "1.5h", "2d". The result must be a whole number of seconds.
 */
tt_code tt_duration_parse(const char *s, int64_t *seconds, tt_error *err);

/* True when `tz` is a canonical IANA time zone name (compiled-in list). */
int tt_timezone_valid(const char *tz);

#endif
