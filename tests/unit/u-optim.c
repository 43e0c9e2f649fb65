/*
 * u-optim.c: AdamW and gradient clipping (train/optim.c) against the
 * closed forms: the first step moves every parameter by lr * sign(g)
 * (m/sqrt(v) = g/|g| after bias correction), decoupled weight decay on
 * matrices only, a second step by the recurrences in double, clipping as
 * torch's clip_grad_norm_.
 */
#include "tamis.h"
#include "optim.h"
#include "tap.h"

#include <math.h>

static void test_norm_clip(void)
{
	float g[4] = { 3, 4, 0, 0 };
	double n = tm_grad_norm(g, 4);

	ok(n == 5.0, "norm of (3,4,0,0) is 5");
	ok(fabs(tm_grad_clip(g, 4, n, 1.0) - 1.0 / (5 + 1e-6)) < 1e-15, "clip factor");
	ok(fabs(g[0] - 3 / (5 + 1e-6)) < 1e-7 && fabs(g[1] - 4 / (5 + 1e-6)) < 1e-7,
	   "clipped to norm 1");
	g[0] = 0.3f;
	g[1] = 0.4f;
	ok(tm_grad_clip(g, 4, tm_grad_norm(g, 4), 1.0) == 1.0 && g[0] == 0.3f,
	   "under the limit: untouched");
	g[2] = NAN;
	ok(!isfinite(tm_grad_norm(g, 4)), "a NaN gradient gives a non-finite norm");
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

		tm_adamw_update(&o, p, g, lr);
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

			tm_adamw_update(&o, p, g, lr);
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

int main(void)
{
	test_norm_clip();
	test_adamw();
	return tap_done();
}
