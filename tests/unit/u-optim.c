/*
 * u-optim.c: AdamW and gradient clipping (train/optim.c) against the
 * closed forms: the first step moves every parameter by lr * sign(g)
 * (m/sqrt(v) = g/|g| after bias correction), decoupled weight decay on
 * matrices only, a second step by the recurrences in double, clipping as
 * torch's clip_grad_norm_; the clip factor given to the update equals
 * clipping first, and the result is the same with any number of threads.
 */
#include "tamis.h"
#include "optim.h"
#include "team.h"
#include "tap.h"

#include <math.h>

static void test_norm_clip(void)
{
	float g[4] = { 3, 4, 0, 0 };
	double n = tm_grad_norm(g, 4, NULL);

	ok(n == 5.0, "norm of (3,4,0,0) is 5");
	ok(fabs(tm_grad_clip(g, 4, n, 1.0) - 1.0 / (5 + 1e-6)) < 1e-15, "clip factor");
	ok(fabs(g[0] - 3 / (5 + 1e-6)) < 1e-7 && fabs(g[1] - 4 / (5 + 1e-6)) < 1e-7,
	   "clipped to norm 1");
	g[0] = 0.3f;
	g[1] = 0.4f;
	ok(tm_grad_clip(g, 4, tm_grad_norm(g, 4, NULL), 1.0) == 1.0 && g[0] == 0.3f,
	   "under the limit: untouched");
	g[2] = NAN;
	ok(!isfinite(tm_grad_norm(g, 4, NULL)), "a NaN gradient gives a non-finite norm");
}

static void test_adamw(void)
{
	struct tm_llama_config c;
	struct tm_llama_tensor t[64];
	struct tm_adamw o;
	float *p, *g;
	int64_t n, i, bad = 0;
	double lr = 1e-3, b1 = 0.9, b2 = 0.95;
	size_t nt;

	tm_llama_preset("tiny", &c);
	c.vocab_size = 64;
	c.n_layers = 1;
	n = tm_llama_num_params(&c);
	nt = tm_llama_tensors(&c, t, 64);
	p = tm_xcalloc((size_t)n, sizeof(float));
	g = tm_xcalloc((size_t)n, sizeof(float));
	for (i = 0; i < n; i++) {
		p[i] = (float)(0.01 * ((i * 7919) % 201 - 100));
		g[i] = (float)(0.001 * ((i * 104729) % 401 - 200));
	}
	tm_adamw_init(&o, &c);
	ok(o.beta1 == 0.9 && o.beta2 == 0.95 && o.weight_decay == 0.1, "Llama 3's hyper-parameters");
	{
		float *p0 = (float *)tm_xmemdup(p, (size_t)n * sizeof(float));
		size_t k;

		tm_adamw_update(&o, p, g, 1.0, lr, NULL);
		for (k = 0; k < nt; k++) {
			for (i = t[k].offset; i < t[k].offset + t[k].numel; i++) {
				double want = p0[i] * (t[k].decay ? 1 - lr * 0.1 : 1.0);

				if (g[i] != 0)
					want -= lr * (g[i] > 0 ? 1 : -1) * fabs(g[i]) / (fabs(g[i]) + 1e-8);
				bad += fabs(p[i] - want) > 1e-6 * fabs(want) + 1e-9;
			}
		}
		is_int(bad, 0, "first step: lr * sign(g), decay on matrices only");

		/* second step with other gradients: the recurrences in double */
		memcpy(p0, p, (size_t)n * sizeof(float));
		for (i = 0; i < n; i++)
			g[i] = (float)(0.002 * ((i * 31) % 17 - 8));
		{
			float *m1 = (float *)tm_xmemdup(o.m, (size_t)n * sizeof(float));
			float *v1 = (float *)tm_xmemdup(o.v, (size_t)n * sizeof(float));

			tm_adamw_update(&o, p, g, 1.0, lr, NULL);
			bad = 0;
			for (i = 0; i < n; i++) {
				double m = b1 * m1[i] + (1 - b1) * g[i];
				double v = b2 * v1[i] + (1 - b2) * (double)g[i] * g[i];
				double want = p0[i] * (o.decay[i] ? 1 - lr * 0.1 : 1.0) -
					      lr / (1 - b1 * b1) * m / (sqrt(v) / sqrt(1 - b2 * b2) + 1e-8);

				bad += fabs(p[i] - want) > 1e-5 * fabs(want) + 1e-8;
			}
			is_int(bad, 0, "second step: bias-corrected moments");
			free(m1);
			free(v1);
		}
		free(p0);
	}
	is_int(o.step, 2, "two steps counted");
	tm_adamw_release(&o);
	free(p);
	free(g);
}

/* a scale given to the update = tm_grad_clip first; threads change no bit */
static void test_fused_and_threads(void)
{
	struct tm_llama_config c;
	struct tm_adamw o[4];
	struct tm_team *team[4] = { NULL };
	float *p[4], *g, *gc;
	int64_t n, i;
	long double ref = 0;
	double norm[4], f;
	int k, same = 1, nsame = 1;

	tm_llama_preset("tiny", &c);
	c.vocab_size = 300;	/* several of the norm's 65536-float chunks */
	n = tm_llama_num_params(&c);
	g = tm_xcalloc((size_t)n, sizeof(float));
	for (i = 0; i < n; i++) {
		g[i] = (float)(0.01 * ((i * 104729) % 401 - 200)) * (i % 1000 == 0 ? 50.0f : 1.0f);
		ref += (long double)g[i] * g[i];
	}
	gc = (float *)tm_xmemdup(g, (size_t)n * sizeof(float));
	for (k = 0; k < 4; k++) {
		team[k] = k ? tm_team_new(k + 1) : NULL;
		norm[k] = tm_grad_norm(g, n, team[k]);
		nsame &= norm[k] == norm[0];
		tm_adamw_init(&o[k], &c);
		p[k] = tm_xcalloc((size_t)n, sizeof(float));
		for (i = 0; i < n; i++)
			p[k][i] = (float)(0.001 * (i % 77));
	}
	tap_diag("%" PRId64 " parameters, norm %.17g", n, norm[0]);
	ok(nsame, "the norm's bits do not depend on the threads");
	ok(fabsl(norm[0] - sqrtl(ref)) <= 1e-12L * norm[0], "the norm is right to 1e-12");
	f = tm_grad_clip_factor(norm[0], 1.0);
	ok(f < 1 && f == 1.0 / (norm[0] + 1e-6), "clip factor as torch");
	ok(tm_grad_clip_factor(NAN, 1.0) == 1.0 && tm_grad_clip_factor(0.5, 1.0) == 1.0,
	   "factor 1 below the limit and for a non-finite norm");
	/* 0: clip the gradients, then update; 1-3: the factor given, 2-4 threads */
	tm_grad_clip(gc, n, norm[0], 1.0);
	for (k = 0; k < 4; k++) {
		int step;

		for (step = 0; step < 3; step++) {
			if (k == 0)
				tm_adamw_update(&o[k], p[k], gc, 1.0, 1e-3, NULL);
			else
				tm_adamw_update(&o[k], p[k], g, f, 1e-3, team[k]);
		}
		if (k) {
			same &= !memcmp(p[k], p[0], (size_t)n * sizeof(float));
			same &= !memcmp(o[k].m, o[0].m, (size_t)n * sizeof(float));
			same &= !memcmp(o[k].v, o[0].v, (size_t)n * sizeof(float));
		}
	}
	ok(same, "scaled in the update = clipped first, with 1 to 4 threads, bit for bit");
	for (k = 0; k < 4; k++) {
		tm_adamw_release(&o[k]);
		free(p[k]);
		tm_team_free(team[k]);
	}
	free(g);
	free(gc);
}

int main(void)
{
	test_norm_clip();
	test_adamw();
	test_fused_and_threads();
	return tap_done();
}
