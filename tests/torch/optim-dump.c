/*
 * optim-dump.c: runs train/optim.c's clipping and AdamW for a number of
 * steps on the parameter layout of a small Llama configuration (so that
 * weight decay applies to the matrices and not to the RMSNorm weights),
 * with seeded gradients (some steps far above the clipping norm, some
 * below) and a learning rate per step, and writes everything
 * tests/torch/check_optim.py needs to replay the steps with
 * torch.optim.AdamW and torch.nn.utils.clip_grad_norm_ (t8120).
 *
 * Usage: optim-dump out=FILE [seed=S] [steps=K] [threads=N] [run_wd=W]
 *   run_wd: the weight decay actually used (default: the 0.1 the file
 *   states), so that the check can be shown to catch a wrong update.
 *
 * File (little-endian): "TMOD" u32 version=1; i64 n; i32 steps; f64 beta1,
 * beta2, eps, weight_decay, clip; u8 decay[n]; f32 params[n]; then per
 * step: f64 lr; f32 grads[n]; f64 norm (ours, before clipping); f32
 * params[n], m[n], v[n] after the step.  The reader checks the size.
 */
#include "tamis.h"
#include "llama.h"
#include "optim.h"
#include "team.h"

#include <math.h>

static uint64_t rng;

static double uniform(void)
{
	return (double)(tm_splitmix64(&rng) >> 11) / 9007199254740992.0;
}

static void put(FILE *f, const void *p, size_t size)
{
	if (fwrite(p, 1, size, f) != size) {
		fprintf(stderr, "optim-dump: write failed\n");
		exit(1);
	}
}

int main(int argc, char **argv)
{
	struct tm_llama_config c;
	struct tm_adamw o;
	struct tm_team *team = NULL;
	const char *out = NULL;
	int steps = 12, threads = 2, s, i;
	double run_wd = -1, clip = 1.0;
	int64_t n, k;
	float *p, *g;
	FILE *f;

	rng = 1;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strncmp(a, "out=", 4))
			out = a + 4;
		else if (!strncmp(a, "seed=", 5))
			rng = strtoull(a + 5, NULL, 10);
		else if (!strncmp(a, "steps=", 6))
			steps = atoi(a + 6);
		else if (!strncmp(a, "threads=", 8))
			threads = atoi(a + 8);
		else if (!strncmp(a, "run_wd=", 7))
			run_wd = atof(a + 7);
		else {
			fprintf(stderr, "optim-dump: unknown argument '%s'\n", a);
			return 2;
		}
	}
	if (!out || steps < 1 || threads < 1) {
		fprintf(stderr, "usage: optim-dump out=FILE [seed=S] [steps=K] [threads=N] [run_wd=W]\n");
		return 2;
	}
	tm_llama_preset("tiny", &c);
	c.vocab_size = 97;
	c.n_layers = 2;
	n = tm_llama_num_params(&c);
	tm_adamw_init(&o, &c);
	if (threads > 1)
		team = tm_team_new(threads);
	p = tm_xcalloc((size_t)n, sizeof(float));
	g = tm_xcalloc((size_t)n, sizeof(float));
	for (k = 0; k < n; k++)
		p[k] = (float)((uniform() - 0.5) * 0.08);
	if (!(f = fopen(out, "wb"))) {
		fprintf(stderr, "optim-dump: cannot open '%s'\n", out);
		return 1;
	}
	put(f, "TMOD", 4);
	put(f, &(uint32_t){ 1 }, 4);
	put(f, &n, 8);
	put(f, &steps, 4);
	put(f, &o.beta1, 8);
	put(f, &o.beta2, 8);
	put(f, &o.eps, 8);
	put(f, &o.weight_decay, 8);
	put(f, &clip, 8);
	put(f, o.decay, (size_t)n);
	put(f, p, (size_t)n * sizeof(float));
	if (run_wd >= 0)
		o.weight_decay = run_wd;
	for (s = 0; s < steps; s++) {
		/* a warmup, then a cosine decay, as the plans' shapes */
		double lr = s < 3 ? 1e-3 * (s + 1) / 3 : 1e-3 * (0.55 + 0.45 * cos(M_PI * (s - 3) / steps));
		/* every third step far above the clipping norm (29-30), else below (0.21) */
		double scale = s % 3 == 1 ? 0.07 : 5e-4, norm;

		for (k = 0; k < n; k++) {
			double u = uniform() - 0.5;

			/* a few rare large entries, and some exact zeros */
			g[k] = (float)(k % 1009 == 0 ? 0.0 : u * scale * (k % 97 == 0 ? 20 : 1));
		}
		norm = tm_grad_norm(g, n, team);
		put(f, &lr, 8);
		put(f, g, (size_t)n * sizeof(float));
		put(f, &norm, 8);
		tm_adamw_update(&o, p, g, tm_grad_clip_factor(norm, clip), lr, team);
		put(f, p, (size_t)n * sizeof(float));
		put(f, o.m, (size_t)n * sizeof(float));
		put(f, o.v, (size_t)n * sizeof(float));
	}
	if (fclose(f)) {
		fprintf(stderr, "optim-dump: write failed\n");
		return 1;
	}
	tm_adamw_release(&o);
	tm_team_free(team);
	free(p);
	free(g);
	return 0;
}
