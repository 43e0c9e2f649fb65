/*
 * bench/gemm-ceiling.c: the machine's own ceiling for a training step of a
 * Llama configuration: OpenBLAS sgemm GFLOP/s at the model's shapes, with
 * the thread count the trainer uses.  For each linear layer of the model
 * (q, k, v, o, gate, up, down, lm_head) it times the three products of a
 * training step (forward Y = X W^T, input gradient dX = dY W, weight
 * gradient dW = dY^T X) at M = B*T rows, and prints the FLOP-weighted
 * GFLOP/s over all of them (best of --reps runs), so that "achieved /
 * ceiling" compares like with like.
 *
 * Every product's result is checked at 256 entries against a float64 dot
 * product (error <= 1e-5 of the sum of |a||b|): a kernel that computes
 * wrong results is no ceiling (exit 1).
 *
 *   gemm-ceiling PRESET B T THREADS [VOCAB]
 * prints one line per shape, "core C" (the kernels OpenBLAS runs) and
 * "ceiling_gflops G".
 */
#include "tamis.h"
#include "llama.h"

#include <cblas.h>
#include <math.h>
#include <time.h>

extern void openblas_set_num_threads(int);

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* 0 when C[m,n] = op(A) op(B) holds at 256 sampled entries */
static int gemm_wrong(const float *a, const float *b, const float *c, int m, int n, int k,
		      int transa, int transb)
{
	uint64_t r = 88172645463325252ULL;
	int s, p;

	for (s = 0; s < 256; s++) {
		int i, j;
		double dot = 0, mag = 0;

		r ^= r << 13, r ^= r >> 7, r ^= r << 17;
		i = (int)(r % (uint64_t)m);
		j = (int)((r >> 32) % (uint64_t)n);
		for (p = 0; p < k; p++) {
			double x = transa ? a[(size_t)p * m + i] : a[(size_t)i * k + p];
			double y = transb ? b[(size_t)j * k + p] : b[(size_t)p * n + j];

			dot += x * y;
			mag += fabs(x * y);
		}
		if (!(fabs(c[(size_t)i * n + j] - dot) <= 1e-5 * mag + 1e-30))
			return 1;
	}
	return 0;
}

/* seconds of the best of `reps` runs of C[m,n] = op(A) op(B); exits when
 * the results are wrong */
static double gemm_time(int m, int n, int k, int transa, int transb, int reps)
{
	float *a = tm_xcalloc((size_t)m * k, sizeof(float));
	float *b = tm_xcalloc((size_t)k * n, sizeof(float));
	float *c = tm_xcalloc((size_t)m * n, sizeof(float));
	double best = 1e30;
	size_t i;
	int r;

	for (i = 0; i < (size_t)m * k; i++)
		a[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
	for (i = 0; i < (size_t)k * n; i++)
		b[i] = (float)((i * 40503u) % 1000) / 1000.0f - 0.5f;
	for (r = 0; r < reps + 1; r++) {
		double t0 = now(), t;

		cblas_sgemm(CblasRowMajor, transa ? CblasTrans : CblasNoTrans,
			    transb ? CblasTrans : CblasNoTrans, m, n, k, 1.0f,
			    a, transa ? m : k, b, transb ? k : n, 0.0f, c, n);
		t = now() - t0;
		if (r && t < best)	/* the first run warms up */
			best = t;
	}
	if (gemm_wrong(a, b, c, m, n, k, transa, transb)) {
		fprintf(stderr, "gemm-ceiling: WRONG results from %s's sgemm at m=%d n=%d k=%d%s%s\n",
			openblas_get_corename(), m, n, k, transa ? " A^T" : "", transb ? " B^T" : "");
		exit(1);
	}
	free(a);
	free(b);
	free(c);
	return best;
}

int main(int argc, char **argv)
{
	struct tm_llama_config c;
	int B, T, threads, M, hd, i;
	double flops = 0, secs = 0;
	struct { const char *name; int out, in, count; } lin[8];

	if (argc < 5 || tm_llama_preset(argv[1], &c) < 0) {
		fprintf(stderr, "usage: gemm-ceiling PRESET B T THREADS [VOCAB]\n");
		return 2;
	}
	B = atoi(argv[2]);
	T = atoi(argv[3]);
	threads = atoi(argv[4]);
	if (argc > 5)
		c.vocab_size = atoi(argv[5]);
	openblas_set_num_threads(threads);
	M = B * T;
	hd = tm_llama_head_dim(&c);
	lin[0].name = "q_proj"; lin[0].out = c.n_heads * hd; lin[0].in = c.dim;
	lin[1].name = "k_proj"; lin[1].out = c.n_kv_heads * hd; lin[1].in = c.dim;
	lin[2].name = "v_proj"; lin[2].out = c.n_kv_heads * hd; lin[2].in = c.dim;
	lin[3].name = "o_proj"; lin[3].out = c.dim; lin[3].in = c.n_heads * hd;
	lin[4].name = "gate_proj"; lin[4].out = c.ffn_dim; lin[4].in = c.dim;
	lin[5].name = "up_proj"; lin[5].out = c.ffn_dim; lin[5].in = c.dim;
	lin[6].name = "down_proj"; lin[6].out = c.dim; lin[6].in = c.ffn_dim;
	lin[7].name = "lm_head"; lin[7].out = c.vocab_size; lin[7].in = c.dim;
	for (i = 0; i < 8; i++) {
		int count = i < 7 ? c.n_layers : 1;
		double f = 2.0 * M * lin[i].out * lin[i].in;
		double fwd = gemm_time(M, lin[i].out, lin[i].in, 0, 1, 3);
		double dx = gemm_time(M, lin[i].in, lin[i].out, 0, 0, 3);
		double dw = gemm_time(lin[i].out, lin[i].in, M, 1, 0, 3);

		printf("%-10s [%d x %d] x %d: fwd %.1f, dx %.1f, dw %.1f GFLOP/s\n", lin[i].name,
		       lin[i].out, lin[i].in, count, f / fwd / 1e9, f / dx / 1e9, f / dw / 1e9);
		flops += 3 * f * count;
		secs += (fwd + dx + dw) * count;
	}
	printf("core %s\n", openblas_get_corename());
	printf("ceiling_gflops %.1f\n", flops / secs / 1e9);
	return 0;
}
