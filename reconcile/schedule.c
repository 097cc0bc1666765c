#include "schedule.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tt_str.h"

static const char *const tz_names[] = {
#include "tzlist.inc"
};

static int tz_cmp(const void *key, const void *elem)
{
    return strcmp(key, *(const char *const *)elem);
}

int tt_timezone_valid(const char *tz)
{
    return bsearch(tz, tz_names, sizeof(tz_names) / sizeof(tz_names[0]), sizeof(tz_names[0]),
                   tz_cmp) != NULL;
}

/* ---- durations ------------------------------------------------------------------------ */

tt_code tt_duration_parse(const char *s, int64_t *seconds, tt_error *err)
{
    double total = 0;
    const char *p = s;
    int64_t whole;

    if (tt_parse_i64(s, &whole) == 0) {
        if (whole < 0)
            return tt_error_set(err, TT_EINVAL, "must not be negative");
        *seconds = whole;
        return TT_OK;
    }
    if (*p == '\0')
        return tt_error_set(err, TT_EINVAL, "empty duration");
    while (*p != '\0') {
        double v = 0, scale = 1, unit;
        int digits = 0;
        /* Digits with an optional fraction; strtod would also take exponents and hex. */
        for (; isdigit((unsigned char)*p); p++, digits++)
            v = v * 10 + (*p - '0');
        if (*p == '.') {
            for (p++; isdigit((unsigned char)*p); p++, digits++) {
                scale /= 10;
                v += (*p - '0') * scale;
            }
        }
        if (digits == 0)
            goto bad;
        if (strncmp(p, "ms", 2) == 0) {
            unit = 0.001;
            p += 2;
        } else if (*p == 's') {
            unit = 1;
            p++;
        } else if (*p == 'm') {
            unit = 60;
            p++;
        } else if (*p == 'h') {
            unit = 3600;
            p++;
        } else if (*p == 'd') {
            unit = 86400;
            p++;
        } else if (*p == '\0') {
            return tt_error_set(err, TT_EINVAL,
                                "'%s' has no unit; write it as \"%ss\" (units: s, m, h, d)", s, s);
        } else {
            goto bad;
        }
        total += v * unit;
        if (total > 1e12)
            return tt_error_set(err, TT_EINVAL, "'%s' is too long", s);
    }
    if (total != (double)(int64_t)total)
        return tt_error_set(err, TT_EINVAL, "'%s' is not a whole number of seconds", s);
    *seconds = (int64_t)total;
    return TT_OK;
bad:
    return tt_error_set(err, TT_EINVAL,
                        "'%s' is not a duration (examples: 300, \"300s\", \"5m\", \"1h30m\")", s);
}

/* ---- cron fields -------------------------------------------------------------------- */

static const char *const month_names[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                          "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
static const char *const day_names[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

struct field_spec {
    const char *what; /* "minute", for messages */
    int min, max;
    const char *const *names; /* names for min, min+1, … or NULL */
    int nnames;
    int name_base;   /* value of names[0] */
    int aws_special; /* 1: L/W allowed (day of month); 2: L/# allowed (day of week) */
};

/* One parsed field: the values it selects as bits, and whether it was `*` or `?`. */
struct field {
    uint64_t bits;
    int star;
    int question;
    int special; /* used L, W or # (AWS only): assumed to fire */
};

static const struct field_spec f_nth = {"nth weekday", 1, 5, NULL, 0, 0, 0};

static int parse_value(const char *s, size_t len, const struct field_spec *fs, int *out)
{
    char word[8];

    if (len == 0 || len >= sizeof(word))
        return -1;
    memcpy(word, s, len);
    word[len] = '\0';
    if (isdigit((unsigned char)word[0])) {
        int64_t v;
        if (tt_parse_i64(word, &v) != 0)
            return -1;
        *out = (int)v;
        return v >= fs->min && v <= fs->max ? 0 : -2;
    }
    for (int i = 0; i < fs->nnames; i++) {
        if (strcasecmp(word, fs->names[i]) == 0) {
            *out = fs->name_base + i;
            return 0;
        }
    }
    return -1;
}

/*
 * Parses one comma-separated cron field into a bit set. `aws` allows `?` and AWS's L/W/#.
 */
static tt_code parse_field(const char *text, const struct field_spec *fs, int aws, struct field *f,
                           tt_error *err)
{
    const char *p = text;

    memset(f, 0, sizeof(*f));
    if (strcmp(text, "?") == 0) {
        if (!aws || fs->aws_special == 0)
            return tt_error_set(err, TT_EINVAL, "'?' is not allowed in the %s field", fs->what);
        f->question = 1;
        return TT_OK;
    }
    if (strcmp(text, "*") == 0) {
        f->star = 1;
        for (int v = fs->min; v <= fs->max; v++)
            f->bits |= 1ULL << v;
        return TT_OK;
    }
    while (*p != '\0') {
        const char *item = p;
        size_t len = strcspn(p, ",");
        const char *slash = memchr(item, '/', len);
        const char *dash;
        size_t range_len = slash ? (size_t)(slash - item) : len;
        int lo, hi, step = 1, rc;

        if (len == 0)
            return tt_error_set(err, TT_EINVAL, "empty item in the %s field '%s'", fs->what, text);
        if (aws && fs->aws_special != 0 &&
            (memchr(item, 'L', len) || memchr(item, 'W', len) || memchr(item, '#', len))) {
            /* L (last), W (nearest weekday), # (nth weekday): AWS checks the exact form. */
            char tok[16];
            if (len >= sizeof(tok))
                goto bad_item;
            memcpy(tok, item, len);
            tok[len] = '\0';
            if (fs->aws_special == 1) {
                int d;
                if (strcmp(tok, "L") != 0 && strcmp(tok, "LW") != 0 &&
                    !(tok[len - 1] == 'W' && parse_value(tok, len - 1, fs, &d) == 0))
                    goto bad_item;
            } else {
                char *hash = strchr(tok, '#');
                int d, n;
                if (hash != NULL) {
                    if (parse_value(tok, (size_t)(hash - tok), fs, &d) != 0 ||
                        parse_value(hash + 1, strlen(hash + 1), &f_nth, &n) != 0)
                        goto bad_item;
                } else if (!(strcmp(tok, "L") == 0 ||
                             (tok[len - 1] == 'L' && parse_value(tok, len - 1, fs, &d) == 0))) {
                    goto bad_item;
                }
            }
            f->special = 1;
            p += len + (p[len] == ',');
            continue;
        }
        if (range_len == 1 && item[0] == '*') {
            lo = fs->min;
            hi = fs->max;
        } else {
            dash = memchr(item, '-', range_len);
            rc = parse_value(item, dash ? (size_t)(dash - item) : range_len, fs, &lo);
            if (rc == 0 && dash != NULL)
                rc = parse_value(dash + 1, range_len - (size_t)(dash + 1 - item), fs, &hi);
            else
                hi = lo;
            if (rc == -2)
                return tt_error_set(err, TT_EINVAL, "%s '%.*s' is out of range %d-%d", fs->what,
                                    (int)range_len, item, fs->min, fs->max);
            if (rc != 0)
                goto bad_item;
            if (hi < lo)
                return tt_error_set(err, TT_EINVAL, "%s range '%.*s' runs backwards", fs->what,
                                    (int)range_len, item);
            if (slash != NULL && dash == NULL)
                hi = fs->max; /* "5/15" means from 5 to the end, every 15 */
        }
        if (slash != NULL) {
            int64_t s;
            char num[8];
            size_t n = len - range_len - 1;
            if (n == 0 || n >= sizeof(num))
                goto bad_item;
            memcpy(num, slash + 1, n);
            num[n] = '\0';
            if (tt_parse_i64(num, &s) != 0 || s < 1 || s > fs->max)
                return tt_error_set(err, TT_EINVAL, "step '/%s' in the %s field is out of range",
                                    num, fs->what);
            step = (int)s;
        }
        for (int v = lo; v <= hi; v += step)
            f->bits |= 1ULL << v;
        p += len + (p[len] == ',');
        if (p[-1] == ',' && *p == '\0')
            return tt_error_set(err, TT_EINVAL, "trailing comma in the %s field", fs->what);
    }
    return TT_OK;
bad_item:
    return tt_error_set(err, TT_EINVAL, "'%s' is not a valid %s field", text, fs->what);
}

static const int days_in_month[13] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

/* Rejects day-of-month / month combinations that never occur (FEB 30, APR 31). */
static tt_code check_can_fire(const struct field *dom, const struct field *mon, tt_error *err)
{
    if (dom->question || dom->special || dom->star)
        return TT_OK;
    for (int m = 1; m <= 12; m++) {
        if (!(mon->bits & (1ULL << m)))
            continue;
        for (int d = 1; d <= days_in_month[m]; d++) {
            if (dom->bits & (1ULL << d))
                return TT_OK;
        }
    }
    return tt_error_set(err, TT_EINVAL,
                        "never fires: no selected month has the selected day of the month");
}

static const struct field_spec f_minute = {"minute", 0, 59, NULL, 0, 0, 0};
static const struct field_spec f_hour = {"hour", 0, 23, NULL, 0, 0, 0};
static const struct field_spec f_dom = {"day-of-month", 1, 31, NULL, 0, 0, 1};
static const struct field_spec f_month = {"month", 1, 12, month_names, 12, 1, 0};
static const struct field_spec f_dow_std = {"day-of-week", 0, 7, day_names, 7, 0, 0};
static const struct field_spec f_dow_aws = {"day-of-week", 1, 7, day_names, 7, 1, 2};
static const struct field_spec f_year = {"year", 1970, 2199, NULL, 0, 0, 0};

/*
 * Splits `s` in place on runs of blanks into at most `max` words; returns the count, or max+1
 * when there are more.
 */
static int split_words(char *s, char **words, int max)
{
    int n = 0;

    for (;;) {
        while (*s == ' ' || *s == '\t')
            *s++ = '\0';
        if (*s == '\0')
            return n;
        if (n == max)
            return max + 1;
        words[n++] = s;
        while (*s != '\0' && *s != ' ' && *s != '\t')
            s++;
    }
}

/* Year fields use values above 63, so they are checked by range rather than as bits. */
static tt_code check_year(const char *text, tt_error *err)
{
    const char *p = text;

    if (strcmp(text, "*") == 0)
        return TT_OK;
    while (*p != '\0') {
        size_t len = strcspn(p, ",");
        size_t range_len = strcspn(p, "/");
        int64_t lo, hi;
        char a[8], b[8];
        const char *dash;

        if (range_len > len)
            range_len = len;
        dash = memchr(p, '-', range_len);
        if (range_len == 1 && p[0] == '*') {
            p += len + (p[len] == ',');
            continue;
        }
        if (dash == NULL)
            dash = p + range_len;
        if ((size_t)(dash - p) >= sizeof(a) || range_len - (size_t)(dash - p) > sizeof(b))
            goto bad;
        memcpy(a, p, (size_t)(dash - p));
        a[dash - p] = '\0';
        if (tt_parse_i64(a, &lo) != 0)
            goto bad;
        hi = lo;
        if (dash < p + range_len) {
            size_t n = range_len - (size_t)(dash - p) - 1;
            memcpy(b, dash + 1, n);
            b[n] = '\0';
            if (tt_parse_i64(b, &hi) != 0)
                goto bad;
        }
        if (lo < f_year.min || hi > f_year.max || hi < lo)
            return tt_error_set(err, TT_EINVAL, "year in '%s' is out of range 1970-2199", text);
        p += len + (p[len] == ',');
    }
    return TT_OK;
bad:
    return tt_error_set(err, TT_EINVAL, "'%s' is not a valid year field", text);
}

/* Formats the day-of-week bits (0=SUN … 6=SAT) as AWS names with ranges: "MON-FRI". */
static void format_dow(uint64_t bits, char *out, size_t outlen)
{
    size_t used = 0;

    out[0] = '\0';
    for (int d = 0; d < 7;) {
        int e;
        if (!(bits & (1ULL << d))) {
            d++;
            continue;
        }
        for (e = d; e + 1 < 7 && (bits & (1ULL << (e + 1))); e++)
            ;
        if (e == d)
            used +=
                (size_t)snprintf(out + used, outlen - used, "%s%s", used ? "," : "", day_names[d]);
        else
            used += (size_t)snprintf(out + used, outlen - used, "%s%s-%s", used ? "," : "",
                                     day_names[d], day_names[e]);
        if (used >= outlen)
            return;
        d = e + 1;
    }
}

/* Converts a 5-field cron to `cron(m h dom mon dow *)`. */
static tt_code convert_cron5(char **w, char *out, size_t outlen, tt_error *err)
{
    struct field fmin, fhour, fdom, fmon, fdow;
    char dow[64];
    const char *dom_text = w[2];
    tt_code rc;

    if ((rc = parse_field(w[0], &f_minute, 0, &fmin, err)) != TT_OK ||
        (rc = parse_field(w[1], &f_hour, 0, &fhour, err)) != TT_OK ||
        (rc = parse_field(w[2], &f_dom, 0, &fdom, err)) != TT_OK ||
        (rc = parse_field(w[3], &f_month, 0, &fmon, err)) != TT_OK ||
        (rc = parse_field(w[4], &f_dow_std, 0, &fdow, err)) != TT_OK)
        return rc;
    if ((rc = check_can_fire(&fdom, &fmon, err)) != TT_OK)
        return rc;
    /* 7 is Sunday too in classic cron. */
    if (fdow.bits & (1ULL << 7))
        fdow.bits = (fdow.bits & ~(1ULL << 7)) | 1ULL;
    if (!fdom.star && !fdow.star)
        return tt_error_set(err, TT_EINVAL,
                            "restricts both day-of-month and day-of-week; AWS cron cannot "
                            "express their union, so set one of them to '*'");
    if (fdow.star) {
        snprintf(dow, sizeof(dow), "?");
    } else {
        format_dow(fdow.bits, dow, sizeof(dow));
        dom_text = "?";
    }
    if ((size_t)snprintf(out, outlen, "cron(%s %s %s %s %s *)", w[0], w[1], dom_text, w[3], dow) >=
        outlen)
        return tt_error_set(err, TT_EINVAL, "schedule is too long");
    return TT_OK;
}

/* Checks an AWS 6-field cron body; the expression is passed through unchanged. */
static tt_code check_cron6(char **w, tt_error *err)
{
    struct field fmin, fhour, fdom, fmon, fdow;
    tt_code rc;

    if ((rc = parse_field(w[0], &f_minute, 1, &fmin, err)) != TT_OK ||
        (rc = parse_field(w[1], &f_hour, 1, &fhour, err)) != TT_OK ||
        (rc = parse_field(w[2], &f_dom, 1, &fdom, err)) != TT_OK ||
        (rc = parse_field(w[3], &f_month, 1, &fmon, err)) != TT_OK ||
        (rc = parse_field(w[4], &f_dow_aws, 1, &fdow, err)) != TT_OK ||
        (rc = check_year(w[5], err)) != TT_OK)
        return rc;
    if (fdom.question == fdow.question)
        return tt_error_set(err, TT_EINVAL,
                            "AWS cron needs '?' in exactly one of day-of-month and day-of-week");
    return check_can_fire(&fdom, &fmon, err);
}

/* Parses "rate(N unit)" and returns the AWS spelling (singular for 1) and the seconds. */
static tt_code parse_rate(const char *body, char *out, size_t outlen, int64_t *secs, tt_error *err)
{
    static const struct {
        const char *one, *many;
        int64_t secs;
    } units[] = {{"minute", "minutes", 60}, {"hour", "hours", 3600}, {"day", "days", 86400}};
    char num[24], unit[16];
    int64_t n;

    if (sscanf(body, "%23s %15s", num, unit) != 2 || tt_parse_i64(num, &n) != 0 || n < 1)
        return tt_error_set(err, TT_EINVAL,
                            "rate must read rate(N minutes|hours|days) with N a positive integer");
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(unit, units[i].one) == 0 || strcmp(unit, units[i].many) == 0) {
            char expect[48];
            snprintf(expect, sizeof(expect), "%s %s", num, n == 1 ? units[i].one : units[i].many);
            if (strcmp(body, expect) != 0 && strcmp(body, num) != 0) {
                char alt[48];
                snprintf(alt, sizeof(alt), "%s %s", num, unit);
                if (strcmp(body, alt) != 0)
                    return tt_error_set(err, TT_EINVAL, "rate(%s) has extra words", body);
            }
            *secs = n * units[i].secs;
            snprintf(out, outlen, "rate(%s)", expect);
            return TT_OK;
        }
    }
    return tt_error_set(err, TT_EINVAL, "rate unit '%s' must be minutes, hours or days", unit);
}

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static tt_code check_at(const char *body, tt_error *err)
{
    int y, mo, d, h, mi, s, n = 0;

    if (sscanf(body, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &n) != 6 ||
        (size_t)n != strlen(body) || n != 19)
        return tt_error_set(err, TT_EINVAL, "at() takes yyyy-mm-ddThh:mm:ss, got '%s'", body);
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month[mo] ||
        (mo == 2 && d == 29 && !is_leap(y)) || h > 23 || mi > 59 || s > 59)
        return tt_error_set(err, TT_EINVAL, "at(%s) is not a real date and time", body);
    return TT_OK;
}

/* When `s` reads "name(body)", copies the body out and returns 1. */
static int unwrap(const char *s, const char *name, char *body, size_t bodylen)
{
    size_t n = strlen(name), len = strlen(s);

    if (strncmp(s, name, n) != 0 || s[n] != '(' || len < n + 2 || s[len - 1] != ')')
        return 0;
    if (len - n - 2 >= bodylen)
        return 0;
    memcpy(body, s + n + 1, len - n - 2);
    body[len - n - 2] = '\0';
    return 1;
}

tt_code tt_sched_to_aws(const char *in, char *out, size_t outlen, tt_error *err)
{
    char body[256];
    char *w[7];
    int n;
    int64_t secs;
    tt_code rc;

    if (strlen(in) >= sizeof(body))
        return tt_error_set(err, TT_EINVAL, "schedule is longer than %zu characters",
                            sizeof(body) - 1);
    if (unwrap(in, "rate", body, sizeof(body)))
        return parse_rate(body, out, outlen, &secs, err);
    if (unwrap(in, "at", body, sizeof(body))) {
        if ((rc = check_at(body, err)) != TT_OK)
            return rc;
        snprintf(out, outlen, "%s", in);
        return TT_OK;
    }
    if (unwrap(in, "cron", body, sizeof(body))) {
        n = split_words(body, w, 6);
        if (n != 6)
            return tt_error_set(err, TT_EINVAL,
                                "AWS cron() takes 6 fields (minute hour day-of-month month "
                                "day-of-week year), got %d",
                                n > 6 ? 7 : n);
        if ((rc = check_cron6(w, err)) != TT_OK)
            return rc;
        snprintf(out, outlen, "%s", in);
        return TT_OK;
    }
    if (strchr(in, '(') != NULL)
        return tt_error_set(err, TT_EINVAL,
                            "'%s' is not a schedule: use cron(...), rate(...), at(...) or a "
                            "5-field cron such as \"0 8 * * MON-FRI\"",
                            in);
    strcpy(body, in);
    n = split_words(body, w, 5);
    if (n != 5)
        return tt_error_set(err, TT_EINVAL,
                            "'%s' is not a schedule: a plain cron has 5 fields (minute hour "
                            "day-of-month month day-of-week)",
                            in);
    return convert_cron5(w, out, outlen, err);
}

tt_code tt_sched_secrets_check(const char *expr, int64_t *hours, tt_error *err)
{
    char body[256], out[300];
    char *w[7];
    int64_t secs;
    tt_code rc;

    *hours = 0;
    if (strlen(expr) >= sizeof(body))
        return tt_error_set(err, TT_EINVAL, "expression is too long");
    if (unwrap(expr, "rate", body, sizeof(body))) {
        if ((rc = parse_rate(body, out, sizeof(out), &secs, err)) != TT_OK)
            return rc;
        if (secs % 3600 != 0)
            return tt_error_set(err, TT_EINVAL,
                                "Secrets Manager rates are in hours or days, not minutes");
        if (secs < 4 * 3600)
            return tt_error_set(err, TT_EINVAL, "Secrets Manager rotates at most every 4 hours");
        if (secs > 1000LL * 86400)
            return tt_error_set(err, TT_EINVAL, "Secrets Manager rotates at least every 1000 days");
        *hours = secs / 3600;
        return TT_OK;
    }
    if (unwrap(expr, "cron", body, sizeof(body))) {
        if (split_words(body, w, 6) != 6)
            return tt_error_set(err, TT_EINVAL, "AWS cron() takes 6 fields");
        return check_cron6(w, err);
    }
    return tt_error_set(err, TT_EINVAL,
                        "'%s' must be rate(N days), rate(N hours) or an AWS cron(...) expression",
                        expr);
}
