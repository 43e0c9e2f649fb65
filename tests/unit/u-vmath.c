/*
 * u-vmath.c: tm_vexpf (train/vmath.h) against exp() in double: every 97th
 * float from -110 to 95 (about 21 million values) within 2 ulp of the
 * correctly rounded result where that is a normal float, within one
 * denormal step below, exact zeros and infinities past the ends, the
 * special values, and as much from a TM_HOT_LOOP (vectorised) loop.
 */
#include "tamis.h"
#include "tap.h"
#include "vmath.h"

#include <float.h>
#include <math.h>

static int64_t ulps(float a, float b)
{
	int64_t x = (int32_t)tm_vmath_float_bits(a), y = (int32_t)tm_vmath_float_bits(b);

	return x > y ? x - y : y - x;	/* both non-negative here */
}

static void test_sweep(void)
{
	uint32_t lo = tm_vmath_float_bits(-110.0f), hi = tm_vmath_float_bits(95.0f), u;
	int64_t worst = 0, worst_den = 0, n = 0, wrong_ends = 0;
	float worst_x = 0;

	/* negative floats: bits from 0x80000000 (-0) up to lo; positive: 0 to hi */
	for (u = 0; u <= hi; u += 97) {
		int pass;

		for (pass = 0; pass < 2; pass++) {
			float x = tm_vmath_bits_float(pass ? u | 0x80000000u : u), got, want;
			double e = exp((double)x);

			if (pass && u > (lo & 0x7fffffffu))
				continue;
			got = tm_vexpf(x);
			want = (float)e;
			n++;
			if (e >= FLT_MAX * (1 + 0x1p-24)) {	/* rounds to infinity */
				wrong_ends += !isinf(got);
			} else if (e < 0x1p-150) {
				wrong_ends += got != 0.0f;
			} else if (e < FLT_MIN) {
				int64_t d = ulps(got, want);

				worst_den = d > worst_den ? d : worst_den;
			} else {
				int64_t d = ulps(got, want);

				if (d > worst) {
					worst = d;
					worst_x = x;
				}
			}
		}
	}
	tap_diag("%lld values; worst %lld ulp at %.9g; denormals within %lld", (long long)n,
		 (long long)worst, worst_x, (long long)worst_den);
	ok(worst <= 2, "normal results within 2 ulp");
	ok(worst_den <= 1, "denormal results within one step");
	ok(!wrong_ends, "0 below the range, inf above it");
}

static void test_special(void)
{
	ok(tm_vexpf(0.0f) == 1.0f && tm_vexpf(-0.0f) == 1.0f, "exp(0) = 1 exactly");
	ok(isnan(tm_vexpf(NAN)) && isnan(tm_vexpf(-NAN)), "NaN in, NaN out");
	ok(isinf(tm_vexpf(INFINITY)) && tm_vexpf(-INFINITY) == 0.0f, "exp(+-inf) = inf, 0");
	ok(isinf(tm_vexpf(88.73f)) && !isinf(tm_vexpf(88.72f)), "overflow where expf's is");
	ok(tm_vexpf(1.0f) == (float)M_E, "exp(1) = e (float)");
}

TM_HOT_LOOP
static void exp_loop(float *y, const float *x, int n)
{
	int i;

	for (i = 0; i < n; i++)
		y[i] = tm_vexpf(x[i]);
}

/* the vectorised loop (FMA where the clone has it) is as accurate */
static void test_vector_loop(void)
{
	enum { N = 4099 };
	static float x[N], y[N];
	int i, bad = 0;

	for (i = 0; i < N; i++)
		x[i] = (float)(i - 2000) * 0.0431f + (i % 7) * 1e-3f;
	x[5] = NAN;
	x[6] = INFINITY;
	x[7] = -INFINITY;
	exp_loop(y, x, N);
	for (i = 8; i < N; i++)
		bad += ulps(y[i], (float)exp((double)x[i])) > 2;
	ok(!bad && isnan(y[5]) && isinf(y[6]) && y[7] == 0.0f,
	   "a vectorised loop: within 2 ulp, specials kept (%d off)", bad);
}

int main(void)
{
	test_special();
	test_sweep();
	test_vector_loop();
	return tap_done();
}
