#include "tt_num.h"

#include <math.h> /* NAN, fabs and signbit only: the compiler expands them, no libm */
#include <stdint.h>
#include <string.h>

/* 2^52: every double at least this large in magnitude is an integer already. */
#define INTEGRAL 4503599627370496.0

double tt_floor(double x)
{
    if (!(x > -INTEGRAL && x < INTEGRAL))
        return x;                  /* integral, infinite or NaN */
    double t = (double)(int64_t)x; /* towards zero, exactly: |x| < 2^52 */
    if (t == x)
        return x; /* keeps -0.0 */
    return t > x ? t - 1.0 : t;
}

double tt_round(double x)
{
    if (!(x > -INTEGRAL && x < INTEGRAL))
        return x;
    double a = fabs(x), t = tt_floor(a);
    /* a - t is exact below 2^52, so 0.49999999999999994 stays below the half. */
    if (a - t >= 0.5)
        t += 1.0;
    return signbit(x) ? -t : t;
}

double tt_pow2(int n)
{
    uint64_t bits;
    double d;
    if (n < -1022)
        n = -1022;
    if (n > 1023)
        n = 1023;
    bits = (uint64_t)(n + 1023) << 52; /* a normal double with a zero mantissa */
    memcpy(&d, &bits, sizeof(d));
    return d;
}

double tt_log2(double x)
{
    uint64_t bits;
    double m, s, s2, term, sum;
    int e = 0;
    if (!(x > 0) || x - x != 0)
        return NAN;
    if (x < 2.2250738585072014e-308) { /* subnormal: scale into the normal range first */
        x *= 18014398509481984.0;      /* 2^54 */
        e = -54;
    }
    memcpy(&bits, &x, sizeof(bits));
    e += (int)((bits >> 52) & 0x7ff) - 1023;
    bits = (bits & ~(0x7ffULL << 52)) | (1023ULL << 52);
    memcpy(&m, &bits, sizeof(m)); /* x = m · 2^e, 1 <= m < 2 */
    if (m > 1.4142135623730951) { /* then sqrt(1/2) < m <= sqrt(2) */
        m *= 0.5;
        e++;
    }
    /* ln m = 2 atanh(s) = 2 (s + s^3/3 + s^5/5 + ...) with s = (m-1)/(m+1), |s| < 0.172: each
     * term is 34 times smaller than the one before, so 12 reach below a double's precision. */
    s = (m - 1) / (m + 1);
    s2 = s * s;
    term = s;
    sum = 0;
    for (int k = 1; k < 26; k += 2) {
        sum += term / k;
        term *= s2;
    }
    return (double)e + 2 * sum * 1.4426950408889634; /* 1 / ln 2 */
}
