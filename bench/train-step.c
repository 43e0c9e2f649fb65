/*
 * bench/train-step.c: the speed of a whole training step of the CPU model
 * (train/model.h): forward, backward, gradient norm and clipping, AdamW,
 * on random tokens (a BOS every ~200, so attention is document-masked as
 * on real shards), at a preset's shape and vocabulary.
 *
 *   train-step PRESET B T THREADS STEPS
 * prints one line:
 *   "params N tokens_per_s X gflops G step_s S bytes M core C loss L norm G"
 * (GFLOP/s from tm_llama_flops_per_token: 6N + attention; the median step
 * of STEPS after one warm-up step; C: the kernels OpenBLAS runs; L and G:
 * the last step's loss and gradient norm, which the same tokens and
 * initialisation make comparable between runs on other kernels).
 */
#include "tamis.h"
#include "llama.h"
#include "model.h"
#include "optim.h"

#include <cblas.h>
#include <time.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	struct tm_llama_config c;
	struct tm_model *m;
	struct tm_adamw opt;
	const char *why = NULL;
	int B, T, threads, steps, i, s;
	int32_t *in, *tg;
	double *times;
	uint64_t rng = 12345;
	float last_loss = 0;
	double last_norm = 0;

	if (argc < 6 || tm_llama_preset(argv[1], &c) < 0) {
		fprintf(stderr, "usage: train-step PRESET B T THREADS STEPS\n");
		return 2;
	}
	B = atoi(argv[2]);
	T = atoi(argv[3]);
	threads = atoi(argv[4]);
	steps = atoi(argv[5]);
	if (c.max_seq_len < T)
		c.max_seq_len = T;
	if (!(m = tm_model_new(&c, B, T, threads, &why))) {
		fprintf(stderr, "train-step: %s\n", why ? why : "no model");
		return 1;
	}
	tm_model_init(m, 1);
	tm_adamw_init(&opt, &c);
	in = tm_xcalloc((size_t)B * T, sizeof(*in));
	tg = tm_xcalloc((size_t)B * T, sizeof(*tg));
	times = tm_xcalloc((size_t)steps + 1, sizeof(*times));
	for (s = 0; s <= steps; s++) {
		double t0;
		float loss;
		double norm;

		for (i = 0; i < B * T; i++) {
			rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
			in[i] = (int32_t)((rng >> 33) % (uint64_t)(c.vocab_size - 1));
			if ((rng >> 20) % 200 == 0)
				in[i] = c.vocab_size - 1;	/* BOS */
		}
		for (i = 0; i < B * T; i++)
			tg[i] = i + 1 < B * T ? in[i + 1] : 0;
		t0 = now();
		tm_model_zero_grad(m);
		loss = tm_model_forward(m, in, tg, B, T, c.vocab_size - 1);
		tm_model_backward(m, 1.0f);
		norm = tm_grad_norm(tm_model_grads(m), tm_model_num_params(m), tm_model_team(m));
		tm_adamw_update(&opt, tm_model_params(m), tm_model_grads(m),
				tm_grad_clip_factor(norm, 1.0), 1e-4, tm_model_team(m));
		times[s] = now() - t0;
		if (!(loss == loss))
			fprintf(stderr, "train-step: NaN loss\n");
		last_loss = loss;
		last_norm = norm;
	}
	qsort(times + 1, (size_t)steps, sizeof(*times), cmp_d);
	{
		double st = times[1 + steps / 2];
		double tps = (double)B * T / st;

		printf("params %" PRId64 " tokens_per_s %.1f gflops %.1f step_s %.3f bytes %zu core %s"
		       " loss %.9g norm %.9g\n",
		       tm_llama_num_params(&c), tps, tps * tm_llama_flops_per_token(&c, T) / 1e9, st,
		       tm_model_bytes(m) + (size_t)opt.n * 9, openblas_get_corename(), last_loss,
		       last_norm);
	}
	tm_adamw_release(&opt);
	tm_model_free(m);
	free(in);
	free(tg);
	free(times);
	return 0;
}
