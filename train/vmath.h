/*
 * vmath.h: an exp for float that the compiler can vectorise, for the
 * trainer's softmaxes, cross-entropy and SiLU (model.c), where libm's expf
 * is a call per element and took a fifth of a small model's step.
 *
 * tm_vexpf(x) = e^x for every float x, within 2 ulp of the true value over
 * the normal range (u-vmath checks every 97th float against exp() in
 * double), denormal results gradually (two roundings there), 0 below
 * about -103.97, +inf above about 88.72, exp(0) = 1 exactly, NaN for NaN.
 * Branch-free and without calls, so that a loop of it vectorises under
 * TM_HOT_LOOP.
 *
 * How: n = round(x / ln 2) by the 1.5 * 2^23 trick (no float-to-int
 * conversion, so a NaN stays a NaN without undefined behaviour);
 * r = x - n ln 2 in two parts (Cody and Waite; n ln2_hi is exact for
 * |n| < 512), |r| <= ln 2 / 2; e^r by its Taylor series to r^7 (the
 * remainder is below 1e-8 relative); then times 2^n as 2^(n >> 1) *
 * 2^(n - (n >> 1)), two factors that each stay a normal float.
 * Depends on nothing but <stdint.h> and <string.h>.
 */
#ifndef TM_VMATH_H
#define TM_VMATH_H

#include <stdint.h>
#include <string.h>

static inline float tm_vmath_bits_float(uint32_t u)
{
	float f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

static inline uint32_t tm_vmath_float_bits(float f)
{
	uint32_t u;

	memcpy(&u, &f, sizeof(u));
	return u;
}

static inline float tm_vexpf(float x)
{
	const float magic = 12582912.0f;	/* 1.5 * 2^23 */
	const float ln2_hi = 0.693145751953125f, ln2_lo = 1.42860682030941723e-6f;
	float t, n, r, p;
	int32_t k, k1;

	/* the comparisons are false for a NaN, which goes through */
	x = x < -104.0f ? -104.0f : x;
	x = x > 89.0f ? 89.0f : x;
	t = x * 1.44269504088896341f + magic;
	n = t - magic;
	k = (int32_t)(tm_vmath_float_bits(t) - tm_vmath_float_bits(magic));
	r = (x - n * ln2_hi) - n * ln2_lo;
	p = 1.0f / 5040;
	p = p * r + 1.0f / 720;
	p = p * r + 1.0f / 120;
	p = p * r + 1.0f / 24;
	p = p * r + 1.0f / 6;
	p = p * r + 0.5f;
	p = p * r + 1.0f;
	p = p * r + 1.0f;
	/* k is in [-150, 129] here; k1 and k - k1 in [-75, 65] */
	k1 = k >> 1;
	p *= tm_vmath_bits_float((uint32_t)(k1 + 127) << 23);
	return p * tm_vmath_bits_float((uint32_t)(k - k1 + 127) << 23);
}

#endif
