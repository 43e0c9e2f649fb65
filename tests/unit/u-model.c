/*
 * u-model.c: the CPU model (train/model.c) by its own means, without
 * torch (t8100 compares against torch): gradients against central finite
 * differences, the loss of a uniform model, the document mask,
 * determinism, gradient accumulation, thread counts, the initialisation's
 * statistics, and the edge cases of the interface.
 */
#include "tamis.h"
#include "model.h"
#include "tap.h"

#include <math.h>

#define B 2
#define T 12
#define BOS 1

static struct tm_llama_config tiny(void)
{
	struct tm_llama_config c;

	tm_llama_preset("tiny", &c);
	c.dim = 16;
	c.n_layers = 2;
	c.n_heads = 4;
	c.n_kv_heads = 2;
	c.ffn_dim = 24;
	c.vocab_size = 11;
	c.max_seq_len = T;
	c.rope_scaling = true;
	c.rope_original_max_pos = 8;	/* so that the scaling matters at T = 12 */
	return c;
}

static double uniform(void)
{
	return (tap_rand() >> 11) * 0x1p-53;
}

/*
 * A model with weights of std 1/sqrt(in) and norm weights in 0.5 .. 1.5,
 * so that attention and SwiGLU work far from their linear regime (the
 * default init's 0.02 makes nearly every gradient a linear one).
 */
static struct tm_model *model(int threads, uint64_t seed)
{
	struct tm_llama_config c = tiny();
	struct tm_llama_tensor t[3 + 9 * 2];
	const char *why;
	struct tm_model *m = tm_model_new(&c, B, T, threads, &why);
	float *p;
	size_t n, k;
	int64_t i;

	if (!m)
		BUG("tm_model_new: %s", why);
	tm_model_init(m, seed);
	p = tm_model_params(m);
	n = tm_llama_tensors(&c, t, TM_ARRAY_SIZE(t));
	tap_srand(seed);
	for (k = 0; k < n; k++)
		for (i = 0; i < t[k].numel; i++)
			p[t[k].offset + i] = t[k].ndim == 1 ?
				(float)(0.5 + uniform()) :
				p[t[k].offset + i] / 0.02f / sqrtf((float)t[k].shape[1]);
	return m;
}

/* Row 0 is one document; row 1 has a second starting at 5; a few targets -1. */
static void batch(int32_t *tok, int32_t *tgt, uint64_t seed)
{
	int i;

	tap_srand(seed + 1);
	for (i = 0; i < B * T; i++) {
		tok[i] = 2 + (int32_t)(tap_rand() % 9);
		tgt[i] = tap_rand() % 5 == 0 ? -1 : (int32_t)(tap_rand() % 11);
	}
	tok[0] = BOS;
	tok[T + 5] = BOS;
}

static double max_abs(const float *a, int64_t n)
{
	double m = 0;
	int64_t i;

	for (i = 0; i < n; i++)
		m = fmax(m, fabs(a[i]));
	return m;
}

static double max_diff(const float *a, const float *b, int64_t n)
{
	double m = 0;
	int64_t i;

	for (i = 0; i < n; i++)
		m = fmax(m, fabs((double)a[i] - b[i]));
	return m;
}

static float *copy(const float *a, int64_t n)
{
	float *c = malloc(n * sizeof(float));

	memcpy(c, a, n * sizeof(float));
	return c;
}

/* Loss and gradients of the batch, gradients zeroed first. */
static float loss_and_grads(struct tm_model *m, const int32_t *tok, const int32_t *tgt)
{
	float loss = tm_model_forward(m, tok, tgt, B, T, BOS);

	tm_model_zero_grad(m);
	tm_model_backward(m, 1.0f);
	return loss;
}

/* The loss with parameter i moved by d. */
static double moved(struct tm_model *m, int64_t i, double d, const int32_t *tok,
		    const int32_t *tgt)
{
	float *p = tm_model_params(m), keep = p[i];
	double loss;

	p[i] = (float)(keep + d);
	loss = tm_model_forward(m, tok, tgt, B, T, BOS);
	p[i] = keep;
	return loss;
}

/*
 * Finite differences by the five-point stencil, (8 (L(p + h) - L(p - h))
 * - (L(p + 2h) - L(p - 2h))) / 12h, error O(h^4), for 8 random entries of
 * every tensor.  In fp32 the loss carries ~1e-7 of rounding, so h = 5e-3
 * leaves ~4e-5 of noise: the analytic gradient must agree within 2e-4 +
 * 1% of itself (h = 1e-2 reached 0.9 of that through the stencil's own
 * error; 5e-3 stays under 0.25 over 120 seeds).
 */
static void test_finite_differences(uint64_t seed)
{
	struct tm_model *m = model(1, seed);
	struct tm_llama_config c = tiny();
	struct tm_llama_tensor t[3 + 9 * 2];
	int32_t tok[B * T], tgt[B * T];
	float *g;
	size_t n = tm_llama_tensors(&c, t, TM_ARRAY_SIZE(t)), k;
	double worst = 0, h = 5e-3;
	int bad = 0, tried = 0, s;

	batch(tok, tgt, seed);
	loss_and_grads(m, tok, tgt);
	g = copy(tm_model_grads(m), tm_model_num_params(m));
	tap_srand(seed + 2);
	for (k = 0; k < n; k++) {
		for (s = 0; s < 8; s++) {
			int64_t i = t[k].offset + (int64_t)(tap_rand() % (uint64_t)t[k].numel);
			double fd = (8 * (moved(m, i, h, tok, tgt) - moved(m, i, -h, tok, tgt)) -
				     (moved(m, i, 2 * h, tok, tgt) - moved(m, i, -2 * h, tok, tgt))) /
				    (12 * h);
			double err = fabs(fd - g[i]) / (2e-4 + 1e-2 * fabs(g[i]));
			worst = fmax(worst, err);
			if (err > 1) {
				bad++;
				tap_diag("%s[%" PRId64 "]: analytic %.6g, finite difference %.6g",
					 t[k].name, i - t[k].offset, g[i], fd);
			}
			tried++;
		}
	}
	is_int(bad, 0, "gradients agree with central differences");
	tap_diag("%d entries, worst error %.2f of the tolerance", tried, worst);
	free(g);
	tm_model_free(m);
}

/* All weights 0: every logit is 0 and the loss is ln(V) exactly. */
static void test_uniform(void)
{
	struct tm_llama_config c = tiny();
	const char *why;
	struct tm_model *m = tm_model_new(&c, B, T, 2, &why);
	int32_t tok[B * T], tgt[B * T];
	float loss;

	batch(tok, tgt, 7);
	loss = tm_model_forward(m, tok, tgt, B, T, BOS);
	ok(fabs(loss - log(11.0)) < 1e-6, "uniform model: loss %.7f = ln(11)", loss);
	ok(max_abs(tm_model_logits(m), (int64_t)B * T * 11) == 0, "every logit is 0");
	tm_model_free(m);
}

/* Changing a token before the BOS at (1, 5) changes nothing from 5 on. */
static void test_document_mask(uint64_t seed)
{
	struct tm_model *m = model(2, seed);
	int32_t tok[B * T], tgt[B * T];
	int64_t V = 11, from = (int64_t)(T + 5) * V, to = (int64_t)2 * T * V;
	float *before;

	batch(tok, tgt, seed);
	tm_model_forward(m, tok, tgt, B, T, BOS);
	before = copy(tm_model_logits(m), to);
	tok[T + 3] = tok[T + 3] == 5 ? 6 : 5;
	tm_model_forward(m, tok, tgt, B, T, BOS);
	ok(max_diff(before + from, tm_model_logits(m) + from, to - from) == 0,
	   "logits of the second document do not see the first");
	ok(max_diff(before + T * V, tm_model_logits(m) + T * V, 5 * V) > 0,
	   "... while the first document's own logits changed");
	/* without the mask, the change reaches the second document */
	tm_model_forward(m, tok, tgt, B, T, -1);
	memcpy(before, tm_model_logits(m), to * sizeof(float));
	tok[T + 3] = tok[T + 3] == 5 ? 6 : 5;
	tm_model_forward(m, tok, tgt, B, T, -1);
	ok(max_diff(before + from, tm_model_logits(m) + from, to - from) > 0,
	   "bos_id -1: plain causal attention across the BOS");
	free(before);
	tm_model_free(m);
}

/* The same batch twice: the same bits; and backward may run twice. */
static void test_determinism_and_accumulation(uint64_t seed)
{
	struct tm_model *m = model(2, seed);
	int64_t np = tm_model_num_params(m);
	int32_t tok[B * T], tgt[B * T];
	float *g1, *lg1, l1, l2;

	batch(tok, tgt, seed);
	l1 = loss_and_grads(m, tok, tgt);
	g1 = copy(tm_model_grads(m), np);
	lg1 = copy(tm_model_logits(m), (int64_t)B * T * 11);
	l2 = loss_and_grads(m, tok, tgt);
	ok(l1 == l2, "same loss twice (%.7f)", l1);
	ok(!memcmp(g1, tm_model_grads(m), np * sizeof(float)), "same gradient bits twice");
	ok(!memcmp(lg1, tm_model_logits(m), B * T * 11 * sizeof(float)),
	   "backward leaves the logits alone");

	/* two halves, with and without a forward in between */
	tm_model_zero_grad(m);
	tm_model_backward(m, 0.5f);
	tm_model_backward(m, 0.5f);
	ok(max_diff(g1, tm_model_grads(m), np) <= 1e-6 * max_abs(g1, np),
	   "backward(0.5) twice = backward(1)");
	tm_model_zero_grad(m);
	tm_model_forward(m, tok, tgt, B, T, BOS);
	tm_model_backward(m, 0.5f);
	tm_model_forward(m, tok, tgt, B, T, BOS);
	tm_model_backward(m, 0.5f);
	ok(max_diff(g1, tm_model_grads(m), np) <= 1e-6 * max_abs(g1, np),
	   "two micro-batches at 0.5 = one at 1");
	free(g1);
	free(lg1);
	tm_model_free(m);
}

/* 1, 2 and 3 threads: the same parameters bit for bit, results within rounding. */
static void test_threads(uint64_t seed)
{
	struct tm_model *m1 = model(1, seed), *m2 = model(2, seed), *m3 = model(3, seed);
	int64_t np = tm_model_num_params(m1), nl = (int64_t)B * T * 11;
	int32_t tok[B * T], tgt[B * T];
	float l1, l2, l3;

	ok(!memcmp(tm_model_params(m1), tm_model_params(m3), np * sizeof(float)),
	   "init does not depend on the thread count");
	batch(tok, tgt, seed);
	l1 = loss_and_grads(m1, tok, tgt);
	l2 = loss_and_grads(m2, tok, tgt);
	l3 = loss_and_grads(m3, tok, tgt);
	ok(fabs(l1 - l2) <= 1e-6 * l1 && fabs(l1 - l3) <= 1e-6 * l1, "loss %.7f %.7f %.7f",
	   l1, l2, l3);
	ok(max_diff(tm_model_logits(m1), tm_model_logits(m2), nl) <=
	   1e-5 * max_abs(tm_model_logits(m1), nl), "logits, 1 vs 2 threads");
	ok(max_diff(tm_model_grads(m1), tm_model_grads(m2), np) <=
	   1e-5 * max_abs(tm_model_grads(m1), np), "gradients, 1 vs 2 threads");
	ok(max_diff(tm_model_grads(m1), tm_model_grads(m3), np) <=
	   1e-5 * max_abs(tm_model_grads(m1), np), "gradients, 1 vs 3 threads");
	tm_model_free(m1);
	tm_model_free(m2);
	tm_model_free(m3);
}

/* The documented init: std 0.02, 0.02/sqrt(2L) for o_proj/down_proj, norms 1. */
static void test_init(void)
{
	struct tm_llama_config c;
	struct tm_llama_tensor t[3 + 9 * 6];
	const char *why;
	struct tm_model *m;
	const float *p;
	size_t n, k;
	int bad = 0;

	tm_llama_preset("tiny", &c);
	c.n_layers = 6;
	c.vocab_size = 512;
	m = tm_model_new(&c, 1, 8, 2, &why);
	tm_model_init(m, 42);
	p = tm_model_params(m);
	n = tm_llama_tensors(&c, t, TM_ARRAY_SIZE(t));
	for (k = 0; k < n; k++) {
		double s = 0, s2 = 0, want = 0.02;
		int64_t i;

		if (t[k].ndim == 1) {
			for (i = 0; i < t[k].numel; i++)
				bad += p[t[k].offset + i] != 1.0f;
			continue;
		}
		if (strstr(t[k].name, "o_proj") || strstr(t[k].name, "down_proj"))
			want /= sqrt(12.0);
		for (i = 0; i < t[k].numel; i++) {
			s += p[t[k].offset + i];
			s2 += (double)p[t[k].offset + i] * p[t[k].offset + i];
		}
		s /= t[k].numel;
		s2 = sqrt(s2 / t[k].numel - s * s);
		/* >= 16k draws each: the sample std is within 2% of the truth */
		if (fabs(s2 / want - 1) > 0.03 || fabs(s) > 0.05 * want) {
			bad++;
			tap_diag("%s: mean %g std %g, want std %g", t[k].name, s, s2, want);
		}
	}
	is_int(bad, 0, "initial weights have the documented mean and std");
	{
		/* the block form (the CUDA backend's) draws the same bits */
		int64_t np = tm_model_num_params(m);
		float *q = tm_xcalloc((size_t)np, sizeof(float));

		tm_model_init_block(&c, 42, q);
		is_mem(q, np * sizeof(float), p, np * sizeof(float),
		       "tm_model_init_block gives tm_model_init's parameters bit for bit");
		free(q);
	}
	tm_model_init(m, 43);
	ok(p[0] != 0 && tm_model_params(m)[0] != 0, "a new seed, new weights");
	tm_model_free(m);
}

static void test_edges(uint64_t seed)
{
	struct tm_llama_config c = tiny();
	struct tm_model *m = model(2, seed);
	int64_t np = tm_model_num_params(m);
	int32_t tok[B * T], tgt[B * T], none[B * T];
	const char *why;
	float *g;
	int i;

	batch(tok, tgt, seed);
	for (i = 0; i < B * T; i++)
		none[i] = -1;
	loss_and_grads(m, tok, tgt);
	g = copy(tm_model_grads(m), np);
	ok(isnan(tm_model_forward(m, tok, none, B, T, BOS)), "no target scored: NaN");
	tm_model_backward(m, 1.0f);
	ok(!memcmp(g, tm_model_grads(m), np * sizeof(float)), "... and backward adds nothing");
	ok(tm_model_forward(m, tok, NULL, B, T, BOS) == 0, "without targets: 0");
	tok[3] = 11;
	ok(isnan(tm_model_forward(m, tok, tgt, B, T, BOS)), "token id out of range: NaN");
	tok[3] = 2;
	tgt[3] = 11;
	ok(isnan(tm_model_forward(m, tok, tgt, B, T, BOS)), "target id out of range: NaN");
	tgt[3] = 2;
	ok(isfinite(tm_model_forward(m, tok, tgt, 1, 7, BOS)), "a smaller batch fits");
	ok(tm_model_bytes(m) > 2 * (size_t)np * sizeof(float), "bytes count more than the blocks");
	free(g);
	tm_model_free(m);

	why = NULL;
	m = tm_model_new(&c, B, T + 1, 1, &why);
	ok(!m && why, "T beyond max_seq_len: %s", why ? why : "(no reason)");
	c.n_kv_heads = 3;
	why = NULL;
	m = tm_model_new(&c, B, T, 1, &why);
	ok(!m && why, "bad configuration: %s", why ? why : "(no reason)");
}

int main(int argc, char **argv)
{
	uint64_t seed = tap_seed(argc, argv);

	test_finite_differences(seed);
	test_uniform();
	test_document_mask(seed);
	test_determinism_and_accumulation(seed);
	test_threads(seed);
	test_init();
	test_edges(seed);
	return tap_done();
}
