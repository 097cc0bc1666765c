/*
 * tt_num — the few numeric functions trimtab needs, so that the binary does not link libm.
 *
 * Every shared library the loader maps costs a process ~0.45 MiB resident whatever it is used
 * for (its relocated data and the pages around each one touched), and trimtab used seven small
 * functions of libm; nothing else it links needs libm. These give the same results as libm's
 * for every double (tt_log2 to within a few units in the last place); test_common compares
 * them with libm's.
 */
#ifndef TT_NUM_H
#define TT_NUM_H

/* floor(): the largest integral value not greater than x (NaN, infinities and -0.0 as given). */
double tt_floor(double x);
/* round(): the nearest integral value, halfway cases away from zero. */
double tt_round(double x);
/* ldexp(1.0, n): 2 to the power n, for -1022 <= n <= 1023 (clamped to them). */
double tt_pow2(int n);
/* log2(x) for a finite x > 0; NaN otherwise. */
double tt_log2(double x);

#endif
