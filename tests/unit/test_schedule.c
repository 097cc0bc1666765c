/* Unit tests for reconcile/schedule.c: cron conversion, AWS forms, rates, at(), durations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "schedule.h"

struct conv_case {
    const char *in;
    const char *out; /* NULL: must be rejected */
    const char *msg; /* a fragment the rejection message must contain */
};

static const struct conv_case conv_cases[] = {
    /* 5-field cron → AWS, with the '?' rule and Sunday=1 day numbering. */
    {"0 8 * * MON-FRI", "cron(0 8 ? * MON-FRI *)", NULL},
    {"0 18 * * MON-FRI", "cron(0 18 ? * MON-FRI *)", NULL},
    {"*/15 * * * *", "cron(*/15 * * * ? *)", NULL},
    {"0 0 1 * *", "cron(0 0 1 * ? *)", NULL},
    {"30 6 * * 1-5", "cron(30 6 ? * MON-FRI *)", NULL},
    {"0 12 * * 0", "cron(0 12 ? * SUN *)", NULL},
    {"0 12 * * 7", "cron(0 12 ? * SUN *)", NULL},
    {"0 12 * * 5-7", "cron(0 12 ? * SUN,FRI-SAT *)", NULL},
    {"0 12 * * sat,sun", "cron(0 12 ? * SUN,SAT *)", NULL},
    {"0 0 29 2 *", "cron(0 0 29 2 ? *)", NULL},
    {"0 0 31 JAN,FEB *", "cron(0 0 31 JAN,FEB ? *)", NULL},
    {"0  8  *  *  MON-FRI", "cron(0 8 ? * MON-FRI *)", NULL},
    /* Impossible values and forms. */
    {"0 25 * * *", NULL, "hour '25' is out of range 0-23"},
    {"60 0 * * *", NULL, "minute '60' is out of range"},
    {"0 0 30 FEB *", NULL, "never fires"},
    {"0 0 31 4,6 *", NULL, "never fires"},
    {"0 0 0 * *", NULL, "out of range 1-31"},
    {"0 0 1 13 *", NULL, "out of range 1-12"},
    {"0 0 1 * 1", NULL, "restricts both"},
    {"0 0 * * FUNDAY", NULL, "not a valid day-of-week"},
    {"0 8 * *", NULL, "5 fields"},
    {"0 8 * * * *", NULL, "5 fields"},
    {"0 5-3 * * *", NULL, "runs backwards"},
    {"*/0 * * * *", NULL, "out of range"},
    {"0 8 ? * MON", NULL, "'?' is not allowed"},
    {"", NULL, "5 fields"},
    /* AWS forms pass through when valid. */
    {"cron(0 8 ? * MON-FRI *)", "cron(0 8 ? * MON-FRI *)", NULL},
    {"cron(0 10 L * ? *)", "cron(0 10 L * ? *)", NULL},
    {"cron(0 10 ? * 6#3 *)", "cron(0 10 ? * 6#3 *)", NULL},
    {"cron(0 10 15W * ? 2030-2040)", "cron(0 10 15W * ? 2030-2040)", NULL},
    {"cron(0 8 * * MON-FRI *)", NULL, "exactly one"},
    {"cron(0 8 ? * ? *)", NULL, "exactly one"},
    {"cron(0 8 ? * MON-FRI)", NULL, "6 fields"},
    {"cron(0 8 30 2 ? *)", NULL, "never fires"},
    {"cron(0 8 1 * ? 1969)", NULL, "1970-2199"},
    {"cron(0 24 1 * ? *)", NULL, "out of range"},
    {"rate(5 minutes)", "rate(5 minutes)", NULL},
    {"rate(1 hour)", "rate(1 hour)", NULL},
    {"rate(1 hours)", "rate(1 hour)", NULL},
    {"rate(2 day)", "rate(2 days)", NULL},
    {"rate(0 minutes)", NULL, "positive integer"},
    {"rate(5 weeks)", NULL, "minutes, hours or days"},
    {"rate(five minutes)", NULL, "positive integer"},
    {"at(2026-03-01T08:00:00)", "at(2026-03-01T08:00:00)", NULL},
    {"at(2026-02-30T08:00:00)", NULL, "not a real date"},
    {"at(2027-02-29T08:00:00)", NULL, "not a real date"},
    {"at(2028-02-29T08:00:00)", "at(2028-02-29T08:00:00)", NULL},
    {"at(2026-03-01 08:00)", NULL, "yyyy-mm-ddThh:mm:ss"},
    {"every(5m)", NULL, "is not a schedule"},
};

static void converts_and_rejects(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(conv_cases) / sizeof(conv_cases[0]); i++) {
        const struct conv_case *c = &conv_cases[i];
        char out[128] = "";
        tt_error err;
        tt_code rc;

        tt_error_clear(&err);
        rc = tt_sched_to_aws(c->in, out, sizeof(out), &err);
        if (c->out != NULL) {
            if (rc != TT_OK)
                fail_msg("'%s' rejected: %s", c->in, err.message);
            if (strcmp(out, c->out) != 0)
                fail_msg("'%s' → '%s', want '%s'", c->in, out, c->out);
        } else {
            if (rc == TT_OK)
                fail_msg("'%s' accepted as '%s'", c->in, out);
            if (strstr(err.message, c->msg) == NULL)
                fail_msg("'%s': message '%s' lacks '%s'", c->in, err.message, c->msg);
        }
    }
}

static void durations(void **state)
{
    static const struct {
        const char *in;
        int64_t secs; /* -1: rejected */
    } cases[] = {
        {"300", 300},   {"300s", 300},   {"5m", 300},
        {"1h", 3600},   {"1h30m", 5400}, {"1.5h", 5400},
        {"2d", 172800}, {"0", 0},        {"1500ms", -1},
        {"2000ms", 2},  {"5", 5},        {"5 minutes", -1},
        {"-5", -1},     {"m", -1},       {"", -1},
        {"10x", -1},    {"1e3s", -1},    {"9999999999999d", -1},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t secs = -1;
        tt_error err;
        tt_code rc = tt_duration_parse(cases[i].in, &secs, &err);
        if (cases[i].secs < 0) {
            if (rc == TT_OK)
                fail_msg("duration '%s' accepted as %lld", cases[i].in, (long long)secs);
        } else if (rc != TT_OK || secs != cases[i].secs) {
            fail_msg("duration '%s' → %lld (%s), want %lld", cases[i].in, (long long)secs,
                     rc == TT_OK ? "ok" : err.message, (long long)cases[i].secs);
        }
    }
}

static void duration_without_unit_says_how(void **state)
{
    int64_t secs;
    tt_error err;
    (void)state;
    assert_int_not_equal(tt_duration_parse("5.5", &secs, &err), TT_OK);
    assert_non_null(strstr(err.message, "no unit"));
}

static void secrets_expressions(void **state)
{
    int64_t hours;
    tt_error err;
    (void)state;
    assert_int_equal(tt_sched_secrets_check("rate(30 days)", &hours, &err), TT_OK);
    assert_int_equal(hours, 720);
    assert_int_equal(tt_sched_secrets_check("rate(4 hours)", &hours, &err), TT_OK);
    assert_int_equal(hours, 4);
    assert_int_not_equal(tt_sched_secrets_check("rate(2 hours)", &hours, &err), TT_OK);
    assert_non_null(strstr(err.message, "4 hours"));
    assert_int_not_equal(tt_sched_secrets_check("rate(30 minutes)", &hours, &err), TT_OK);
    assert_int_not_equal(tt_sched_secrets_check("rate(1001 days)", &hours, &err), TT_OK);
    assert_int_equal(tt_sched_secrets_check("cron(0 16 1,15 * ? *)", &hours, &err), TT_OK);
    assert_int_not_equal(tt_sched_secrets_check("0 16 1 * *", &hours, &err), TT_OK);
}

static void timezones(void **state)
{
    (void)state;
    assert_true(tt_timezone_valid("Europe/Berlin"));
    assert_true(tt_timezone_valid("UTC"));
    assert_true(tt_timezone_valid("America/Argentina/Buenos_Aires"));
    assert_false(tt_timezone_valid("Europe/Berln"));
    assert_false(tt_timezone_valid("europe/berlin"));
    assert_false(tt_timezone_valid(""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(converts_and_rejects),
        cmocka_unit_test(durations),
        cmocka_unit_test(duration_without_unit_says_how),
        cmocka_unit_test(secrets_expressions),
        cmocka_unit_test(timezones),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
