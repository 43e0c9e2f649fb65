/*
 * cuda-check.c: the CUDA backend (train/model_cuda.h) held against
 * references, for bench/gpu.sh on a GPU machine.  Exit 0 when every
 * check is within its tolerance, 1 when one is not, 2 on a usage error.
 *
 *   cuda-check kernels   each kernel on fresh random inputs against a
 *                        float64 reference of model.c's formula
 *   cuda-check model     forward and backward of the whole model against
 *                        the CPU model (model.h): loss, logits, every
 *                        parameter tensor's gradient, on small shapes
 *                        (GQA, MQA, MHA; head_dim 32, 64, 128; BOS masks)
 *   cuda-check train     50 AdamW steps, CPU and CUDA from the same
 *                        parameters on the same batches: the loss of
 *                        every step within 1e-2 relative
 *   cuda-check bench preset=120m B=16 T=1024 steps=20 peak=989e12 [recompute=1]
 *                        training steps per second: tokens/s and MFU
 *                        (tm_llama_flops_per_token / peak), one line
 *   cuda-check config preset=120m T=1024
 *                        the preset's shape and FLOPs per token, one line
 *                        of key=value words (no device needed)
 *
 * Errors are max|cuda - ref| / max|ref| per array (so an array's small
 * entries are not held to a relative bound that bf16 cannot meet).
 * Tolerances (the first GPU run may show them loose or tight; say so
 * in bench/RESULTS.md when changing them):
 *   fp32 kernels (RMSNorm, RoPE, SwiGLU, cross-entropy, attention): 1e-4
 *   bf16 matrix product (inputs rounded to bf16, K = 320): 1e-2
 *   embedding gather exact, scatter-add 1e-6 (atomics: any order)
 *   gradient norm 1e-9 relative to tm_grad_norm; clip + AdamW against
 *   tm_grad_clip + tm_adamw_update themselves: 1e-6 (fma contraction),
 *   its bf16 copy 4e-3
 *   whole model, bf16 products vs the fp32 CPU model: loss 1e-2
 *   relative, logits 3e-2, each gradient tensor 1e-1
 *   training: every step's loss 1e-2 relative
 */
#include "tamis.h"
#include "llama.h"
#include "model.h"
#include "model_cuda.h"
#include "optim.h"

#include <math.h>
#include <time.h>

static uint64_t rng = 42;
static int failures;

static double uni(void)
{
	return (tm_splitmix64(&rng) >> 11) * 0x1p-53;
}

static float gauss(void)
{
	return (float)(sqrt(-2 * log(uni() + 1e-300)) * cos(2 * M_PI * uni()));
}

static float *randn(size_t n, float sd)
{
	float *p = tm_xcalloc(n ? n : 1, sizeof(float));

	for (size_t i = 0; i < n; i++)
		p[i] = sd * gauss();
	return p;
}

static float *zeros(size_t n)
{
	return tm_xcalloc(n ? n : 1, sizeof(float));
}

/* max|a - ref| / max|ref|, printed with the verdict. */
static double check(const char *what, const float *a, const double *ref, size_t n, double tol)
{
	double md = 0, mr = 0, e;

	for (size_t i = 0; i < n; i++) {
		double d = fabs((double)a[i] - ref[i]);

		if (!(d <= md))	/* NaN counts */
			md = d;
		if (fabs(ref[i]) > mr)
			mr = fabs(ref[i]);
	}
	e = mr > 0 ? md / mr : md;
	printf("  %-44s err %.2e  tol %.0e  %s\n", what, e, tol, e <= tol ? "ok" : "FAIL");
	if (!(e <= tol))
		failures++;
	return e;
}

static double check_f(const char *what, const float *a, const float *ref, size_t n, double tol)
{
	double *r = tm_xcalloc(n ? n : 1, sizeof(double));
	double e;

	for (size_t i = 0; i < n; i++)
		r[i] = ref[i];
	e = check(what, a, r, n, tol);
	free(r);
	return e;
}

/* ---- kernels ---- */

static void k_rmsnorm(int N, int D)
{
	float eps = 1e-5f, *x = randn((size_t)N * D, 1.5f), *w = randn(D, 1), *dy;
	float *y = zeros((size_t)N * D), *r = zeros(N), *dx = zeros((size_t)N * D), *dw = zeros(D);
	double *ry = calloc((size_t)N * D, 8), *rr = calloc(N, 8), *rdx = calloc((size_t)N * D, 8);
	double *rdw = calloc(D, 8);
	float *rf = zeros(N);
	char name[80];

	tm_cuda_check_rmsnorm_fwd(N, D, eps, x, w, y, r);
	for (int i = 0; i < N; i++) {
		double ss = 0;

		for (int d = 0; d < D; d++)
			ss += (double)x[i * D + d] * x[i * D + d];
		rr[i] = 1 / sqrt(ss / D + eps);
		rf[i] = (float)rr[i];
		for (int d = 0; d < D; d++)
			ry[i * D + d] = x[i * D + d] * rr[i] * w[d];
	}
	snprintf(name, sizeof(name), "rmsnorm fwd y (N %d, D %d)", N, D);
	check(name, y, ry, (size_t)N * D, 1e-4);
	check("rmsnorm fwd 1/rms", r, rr, N, 1e-4);
	dy = randn((size_t)N * D, 1);
	tm_cuda_check_rmsnorm_bwd(N, D, dy, x, w, rf, dx, dw);
	for (int i = 0; i < N; i++) {
		double c = 0, ri = rf[i];

		for (int d = 0; d < D; d++)
			c += (double)dy[i * D + d] * w[d] * x[i * D + d];
		c = c / D * ri * ri;
		for (int d = 0; d < D; d++) {
			rdx[i * D + d] = ri * (dy[i * D + d] * w[d] - x[i * D + d] * c);
			rdw[d] += dy[i * D + d] * x[i * D + d] * ri;
		}
	}
	check("rmsnorm bwd dx", dx, rdx, (size_t)N * D, 1e-4);
	check("rmsnorm bwd dw", dw, rdw, D, 1e-4);
	free(x), free(w), free(dy), free(y), free(r), free(dx), free(dw), free(rf);
	free(ry), free(rr), free(rdx), free(rdw);
}

static void k_rope(int B, int T, int nh, int hd, bool scaling)
{
	struct tm_llama_config c;
	int N = B * T, half = hd / 2;
	size_t n = (size_t)N * nh * hd;
	float *x = randn(n, 1), *y = zeros(n), *cs = zeros((size_t)T * half);
	float *sn = zeros((size_t)T * half);
	double *r = calloc(n, 8);
	char name[80];

	tm_llama_preset("tiny", &c);
	c.dim = nh * hd;
	c.n_heads = nh;
	c.n_kv_heads = nh;
	c.max_seq_len = T;
	c.rope_scaling = scaling;
	c.rope_factor = 8;
	c.rope_low_freq_factor = 1;
	c.rope_high_freq_factor = 4;
	c.rope_original_max_pos = 32;
	if (tm_llama_rope_tables(&c, T, cs, sn) < 0)
		BUG("out of memory");
	for (int s = 0; s < 2; s++) {
		float sign = s ? -1.0f : 1.0f;

		memcpy(y, x, n * sizeof(float));
		tm_cuda_check_rope(N, T, nh, hd, cs, sn, sign, y);
		for (int i = 0; i < N; i++)
			for (int h = 0; h < nh; h++)
				for (int k = 0; k < half; k++) {
					const float *v = x + ((size_t)i * nh + h) * hd;
					double cc = cs[(i % T) * half + k], ss = sign * sn[(i % T) * half + k];
					size_t o = ((size_t)i * nh + h) * hd;

					r[o + k] = v[k] * cc - v[k + half] * ss;
					r[o + k + half] = v[k + half] * cc + v[k] * ss;
				}
		snprintf(name, sizeof(name), "rope %s (hd %d, scaling %d)", s ? "bwd" : "fwd", hd,
			 scaling);
		check(name, y, r, n, 1e-4);
	}
	free(x), free(y), free(cs), free(sn), free(r);
}

static void k_swiglu(int N, int F)
{
	size_t n = (size_t)N * F;
	float *h = randn(2 * n, 2), *da = randn(n, 1), *a = zeros(n), *dh = zeros(2 * n);
	double *ra = calloc(n, 8), *rd = calloc(2 * n, 8);

	tm_cuda_check_swiglu(N, F, h, da, a, dh);
	for (int i = 0; i < N; i++)
		for (int f = 0; f < F; f++) {
			double g = h[(size_t)i * 2 * F + f], u = h[(size_t)i * 2 * F + F + f];
			double s = 1 / (1 + exp(-g)), d = da[(size_t)i * F + f];

			ra[(size_t)i * F + f] = g * s * u;
			rd[(size_t)i * 2 * F + f] = d * u * s * (1 + g * (1 - s));
			rd[(size_t)i * 2 * F + F + f] = d * g * s;
		}
	check("swiglu fwd", a, ra, n, 1e-4);
	check("swiglu bwd", dh, rd, 2 * n, 1e-4);
	free(h), free(da), free(a), free(dh), free(ra), free(rd);
}

static void k_ce(int N, int V)
{
	float *l = randn((size_t)N * V, 3), *loss = zeros(N), *dl = zeros((size_t)N * V);
	int32_t *tg = tm_xcalloc(N, sizeof(int32_t));
	double *rl = calloc(N, 8), *rd = calloc((size_t)N * V, 8);
	float scale = 0.37f;

	for (int i = 0; i < N; i++)
		tg[i] = i % 5 == 3 ? -1 : (int32_t)(uni() * V);
	tm_cuda_check_ce(N, V, l, tg, scale, loss, dl);
	for (int i = 0; i < N; i++) {
		double mx = -INFINITY, s = 0, z;

		if (tg[i] < 0)
			continue;
		for (int v = 0; v < V; v++)
			mx = fmax(mx, l[(size_t)i * V + v]);
		for (int v = 0; v < V; v++)
			s += exp(l[(size_t)i * V + v] - mx);
		z = mx + log(s);
		rl[i] = z - l[(size_t)i * V + tg[i]];
		for (int v = 0; v < V; v++)
			rd[(size_t)i * V + v] = scale * (exp(l[(size_t)i * V + v] - z) - (v == tg[i]));
	}
	check("cross-entropy loss", loss, rl, N, 1e-4);
	check("cross-entropy dlogits", dl, rd, (size_t)N * V, 1e-4);
	free(l), free(loss), free(dl), free(tg), free(rl), free(rd);
}

/* doc[] of B rows of T: BOS at random places in rows >= bosrows_from. */
static int32_t *make_doc(int B, int T, bool bos)
{
	int32_t *doc = tm_xcalloc((size_t)B * T, sizeof(int32_t));

	for (int b = 0; b < B; b++)
		for (int t = 0; t < T; t++) {
			bool starts = t == 0 || (bos && b % 2 == 0 && uni() < 0.04);

			doc[b * T + t] = starts ? t : doc[b * T + t - 1];
		}
	return doc;
}

static void k_attention(int B, int T, int H, int KV, int hd, bool bos)
{
	int Qd = H * hd, KVd = KV * hd, ld = Qd + 2 * KVd, per = H / KV;
	size_t N = (size_t)B * T;
	float *qkv = randn(N * ld, 1), *dout = randn(N * Qd, 1), *out = zeros(N * Qd);
	float *lse = zeros(N * H), *dq = zeros(N * ld);
	int32_t *doc = make_doc(B, T, bos);
	double *ro = calloc(N * Qd, 8), *rl = calloc(N * H, 8), *rd = calloc(N * ld, 8);
	double *p = calloc(T, 8), *dp = calloc(T, 8), sc = 1 / sqrt((double)hd);
	char name[96];

	tm_cuda_check_attention(B, T, H, KV, hd, qkv, doc, dout, out, lse, dq);
	for (int b = 0; b < B; b++)
		for (int h = 0; h < H; h++)
			for (int t = 0; t < T; t++) {
				int g = h / per, a = doc[b * T + t];
				size_t rt = (size_t)b * T + t;
				const float *q = qkv + rt * ld + h * hd, *go = dout + rt * Qd + h * hd;
				double mx = -INFINITY, s = 0, c = 0;

				for (int k = a; k <= t; k++) {
					const float *kk = qkv + ((size_t)b * T + k) * ld + Qd + g * hd;
					double x = 0;

					for (int d = 0; d < hd; d++)
						x += (double)q[d] * kk[d];
					p[k] = x * sc;
					mx = fmax(mx, p[k]);
				}
				for (int k = a; k <= t; k++)
					s += exp(p[k] - mx);
				rl[rt * H + h] = mx + log(s);
				for (int k = a; k <= t; k++) {
					const float *vv = qkv + ((size_t)b * T + k) * ld + Qd + KVd + g * hd;
					double x = 0;

					p[k] = exp(p[k] - mx) / s;
					for (int d = 0; d < hd; d++) {
						ro[rt * Qd + h * hd + d] += p[k] * vv[d];
						x += (double)go[d] * vv[d];
					}
					dp[k] = x;
					c += p[k] * x;
				}
				for (int k = a; k <= t; k++) {
					size_t rk = (size_t)b * T + k;
					double ds = p[k] * (dp[k] - c) * sc;

					for (int d = 0; d < hd; d++) {
						rd[rt * ld + h * hd + d] += ds * qkv[rk * ld + Qd + g * hd + d];
						rd[rk * ld + Qd + g * hd + d] += ds * q[d];
						rd[rk * ld + Qd + KVd + g * hd + d] += p[k] * go[d];
					}
				}
			}
	snprintf(name, sizeof(name), "attention out (T %d, H %d, KV %d, hd %d%s)", T, H, KV, hd,
		 bos ? ", BOS" : "");
	check(name, out, ro, N * Qd, 1e-4);
	check("attention log-sum-exp", lse, rl, N * H, 1e-4);
	check("attention dq dk dv", dq, rd, N * ld, 1e-4);
	free(qkv), free(dout), free(out), free(lse), free(dq), free(doc);
	free(ro), free(rl), free(rd), free(p), free(dp);
}

static void k_matmul(int M, int N, int K)
{
	float *A = randn((size_t)M * K, 1), *W = randn((size_t)N * K, 1), *C = zeros((size_t)M * N);
	double *r = calloc((size_t)M * N, 8);

	tm_cuda_check_matmul(M, N, K, A, W, C);
	for (int i = 0; i < M; i++)
		for (int j = 0; j < N; j++)
			for (int k = 0; k < K; k++)
				r[(size_t)i * N + j] += (double)A[(size_t)i * K + k] * W[(size_t)j * K + k];
	check("matmul bf16 x W^T (fp32 accumulate)", C, r, (size_t)M * N, 1e-2);
	free(A), free(W), free(C), free(r);
}

static void k_embed(int N, int D, int V)
{
	float *emb = randn((size_t)V * D, 1), *dx = randn((size_t)N * D, 1);
	float *x = zeros((size_t)N * D), *g = zeros((size_t)V * D);
	int32_t *tok = tm_xcalloc(N, sizeof(int32_t));
	double *rx = calloc((size_t)N * D, 8), *rg = calloc((size_t)V * D, 8);

	for (int i = 0; i < N; i++)	/* repeats on purpose: the scatter-add must sum them */
		tok[i] = (int32_t)(uni() * V / 4);
	tm_cuda_check_embed(N, D, V, emb, tok, dx, x, g);
	for (int i = 0; i < N; i++)
		for (int d = 0; d < D; d++) {
			rx[(size_t)i * D + d] = emb[(size_t)tok[i] * D + d];
			rg[(size_t)tok[i] * D + d] += dx[(size_t)i * D + d];
		}
	check("embedding gather", x, rx, (size_t)N * D, 0);
	check("embedding scatter-add", g, rg, (size_t)V * D, 1e-6);
	free(emb), free(dx), free(x), free(g), free(tok), free(rx), free(rg);
}

/* The gradient norm and clip + AdamW against optim.c's own functions. */
static void k_optim(int64_t n)
{
	struct tm_adamw o;
	float *p = randn(n, 0.05f), *g = randn(n, 0.3f), *gc = zeros(n), *m1 = randn(n, 0.01f);
	float *m2 = zeros(n), *gp = zeros(n), *g1 = zeros(n), *g2 = zeros(n), *p16 = zeros(n);
	unsigned char *dec = tm_xcalloc(n, 1);
	double norm, gs, e;

	for (int64_t i = 0; i < n; i++) {
		m2[i] = (float)(uni() * 1e-3);
		dec[i] = i % 3 != 0;
	}
	memcpy(gp, p, n * sizeof(float));
	memcpy(g1, m1, n * sizeof(float));
	memcpy(g2, m2, n * sizeof(float));
	memcpy(gc, g, n * sizeof(float));
	norm = tm_grad_norm(g, n, NULL);
	gs = tm_cuda_check_sumsq(n, g);
	e = fabs(sqrt(gs) - norm) / norm;
	printf("  %-44s err %.2e  tol %.0e  %s\n", "gradient norm (double reduction)", e, 1e-9,
	       e <= 1e-9 ? "ok" : "FAIL");
	failures += !(e <= 1e-9);
	/* optim.c on the host, with its own clipping (max norm 1: it clips) */
	memset(&o, 0, sizeof(o));
	o.beta1 = 0.9, o.beta2 = 0.95, o.eps = 1e-8, o.weight_decay = 0.1;
	o.n = n, o.m = m1, o.v = m2, o.decay = dec, o.step = 6;
	tm_grad_clip(gc, n, norm, 1.0);
	tm_adamw_update(&o, p, gc, 1.0, 3e-4, NULL);
	tm_cuda_check_adamw(n, gp, g1, g2, g, dec, o.step, 3e-4, 0.9, 0.95, 1e-8, 0.1,
			    1.0 / (norm + 1e-6), p16);
	/* not bit for bit: nvcc contracts a * b + c into fma */
	check_f("adamw parameters (clipped, step 7)", gp, p, n, 1e-6);
	check_f("adamw first moments", g1, m1, n, 1e-6);
	check_f("adamw second moments", g2, m2, n, 1e-6);
	check_f("adamw bf16 copy", p16, p, n, 4e-3);
	free(p), free(g), free(gc), free(m1), free(m2), free(gp), free(g1), free(g2), free(p16);
	free(dec);
}

static void run_kernels(void)
{
	printf("kernels against float64 references\n");
	k_rmsnorm(67, 200);
	k_rmsnorm(5, 2048);
	k_rope(2, 50, 6, 64, true);
	k_rope(1, 40, 3, 12, false);
	k_swiglu(33, 300);
	k_ce(20, 5000);
	k_ce(3, 128256);
	k_attention(2, 150, 4, 2, 64, true);
	k_attention(1, 97, 6, 1, 16, true);
	k_attention(2, 70, 2, 2, 128, false);
	k_attention(1, 300, 8, 2, 64, true);
	k_matmul(100, 70, 320);
	k_embed(300, 96, 200);
	k_optim(1000003);
}

/* ---- the whole model against the CPU model ---- */

static void config(struct tm_llama_config *c, int dim, int layers, int heads, int kv, int ffn,
		   int vocab, int T, bool scaling)
{
	tm_llama_preset("tiny", c);
	c->dim = dim;
	c->n_layers = layers;
	c->n_heads = heads;
	c->n_kv_heads = kv;
	c->ffn_dim = ffn;
	c->vocab_size = vocab;
	c->max_seq_len = T;
	c->rope_scaling = scaling;
	c->rope_factor = 8;
	c->rope_low_freq_factor = 1;
	c->rope_high_freq_factor = 4;
	c->rope_original_max_pos = T / 4;
}

/* Tokens with some structure (a noisy walk), BOS (id 0) now and then in
 * even rows; targets the next token, the row's last one not scored. */
static void batch(int B, int T, int V, int32_t *tok, int32_t *tg)
{
	for (int b = 0; b < B; b++) {
		int x = 1 + (int)(uni() * (V - 1));

		for (int t = 0; t < T; t++) {
			if (b % 2 == 0 && uni() < 0.03)
				tok[b * T + t] = 0;
			else
				tok[b * T + t] = x;
			x = uni() < 0.7 ? 1 + (x * 7 + 3) % (V - 1) : 1 + (int)(uni() * (V - 1));
		}
		for (int t = 0; t < T; t++)
			tg[b * T + t] = t + 1 < T ? tok[b * T + t + 1] : -1;
	}
}

static void model_case(const char *name, const struct tm_llama_config *c, int B, int T,
		       bool recompute)
{
	const char *why = NULL;
	struct tm_model *cpu = tm_model_new(c, B, T, 0, &why);
	struct tm_cmodel *gpu;
	int32_t *tok = tm_xcalloc((size_t)B * T, 4), *tg = tm_xcalloc((size_t)B * T, 4);
	size_t nt = tm_llama_tensors(c, NULL, 0), i;
	struct tm_llama_tensor *tens = tm_xcalloc(nt, sizeof(*tens));
	int64_t np = tm_llama_num_params(c);
	float *g = zeros(np), lc, lg;
	char what[128];

	if (!cpu)
		BUG("cpu model: %s", why);
	gpu = tm_cmodel_new(c, B, T, recompute, &why);
	if (!gpu)
		BUG("cuda model: %s", why);
	printf("model %s: dim %d, %d layers, %d/%d heads (hd %d), ffn %d, vocab %d, B %d T %d%s\n",
	       name, c->dim, c->n_layers, c->n_heads, c->n_kv_heads, tm_llama_head_dim(c),
	       c->ffn_dim, c->vocab_size, B, T, recompute ? ", recompute" : "");
	tm_llama_tensors(c, tens, nt);
	tm_model_init(cpu, 7);
	tm_cmodel_upload(gpu, tm_model_params(cpu));
	batch(B, T, c->vocab_size, tok, tg);
	tm_model_zero_grad(cpu);
	tm_cmodel_zero_grad(gpu);
	lc = tm_model_forward(cpu, tok, tg, B, T, 0);
	lg = tm_cmodel_forward(gpu, tok, tg, B, T, 0);
	tm_model_backward(cpu, 1.0f);
	tm_cmodel_backward(gpu, 1.0f);
	{
		double e = fabs((double)lg - lc) / fabs((double)lc);

		printf("  %-44s err %.2e  tol %.0e  %s  (cpu %.6f cuda %.6f)\n", "loss", e, 1e-2,
		       e <= 1e-2 ? "ok" : "FAIL", lc, lg);
		if (!(e <= 1e-2))
			failures++;
	}
	check_f("logits", tm_cmodel_logits(gpu), tm_model_logits(cpu),
		(size_t)B * T * c->vocab_size, 3e-2);
	tm_cmodel_download_grads(gpu, g);
	for (i = 0; i < nt; i++) {
		snprintf(what, sizeof(what), "grad %s", tens[i].name);
		check_f(what, g + tens[i].offset, tm_model_grads(cpu) + tens[i].offset,
			(size_t)tens[i].numel, 1e-1);
	}
	tm_model_free(cpu);
	tm_cmodel_free(gpu);
	free(tok), free(tg), free(tens), free(g);
}

static void run_model(void)
{
	struct tm_llama_config c;

	config(&c, 128, 2, 4, 2, 256, 300, 64, false);
	model_case("gqa-hd32", &c, 2, 64, false);
	config(&c, 256, 2, 4, 1, 512, 1000, 200, true);
	model_case("mqa-hd64-scaled", &c, 2, 200, false);
	model_case("mqa-hd64-scaled", &c, 2, 200, true);
	config(&c, 256, 1, 2, 2, 384, 500, 130, false);
	model_case("mha-hd128", &c, 1, 130, false);
}

/* ---- training: CPU and CUDA side by side ---- */

static void run_train(int steps)
{
	struct tm_llama_config c;
	const char *why = NULL;
	int B = 4, T = 128, s;
	struct tm_model *cpu;
	struct tm_cmodel *gpu;
	struct tm_adamw opt;
	int32_t *tok = tm_xcalloc((size_t)B * T, 4), *tg = tm_xcalloc((size_t)B * T, 4);
	double worst = 0;

	config(&c, 256, 4, 4, 2, 768, 512, T, false);
	cpu = tm_model_new(&c, B, T, 0, &why);
	if (!cpu)
		BUG("cpu model: %s", why);
	gpu = tm_cmodel_new(&c, B, T, false, &why);
	if (!gpu)
		BUG("cuda model: %s", why);
	tm_adamw_init(&opt, &c);
	tm_model_init(cpu, 1);
	tm_cmodel_init(gpu, 1);	/* the same bits as tm_model_init, drawn on the host */
	printf("train: %d steps, dim 256, 4 layers, 4/2 heads, vocab 512, B %d T %d, "
	       "lr 1e-3, clip 1; loss within 1e-2 relative at every step\n", steps, B, T);
	for (s = 0; s < steps; s++) {
		double lr = 1e-3 * (s < 5 ? (s + 1) / 5.0 : 1.0), nc, ng, e;
		float lc, lg;

		batch(B, T, c.vocab_size, tok, tg);
		tm_model_zero_grad(cpu);
		lc = tm_model_forward(cpu, tok, tg, B, T, 0);
		tm_model_backward(cpu, 1.0f);
		nc = tm_grad_norm(tm_model_grads(cpu), tm_model_num_params(cpu), NULL);
		tm_adamw_update(&opt, tm_model_params(cpu), tm_model_grads(cpu),
				tm_grad_clip_factor(nc, 1.0), lr, tm_model_team(cpu));

		tm_cmodel_zero_grad(gpu);
		lg = tm_cmodel_forward(gpu, tok, tg, B, T, 0);
		tm_cmodel_backward(gpu, 1.0f);
		ng = tm_cmodel_grad_norm(gpu);
		tm_cmodel_adamw(gpu, opt.step, lr, opt.beta1, opt.beta2, opt.eps, opt.weight_decay,
				1.0 / (ng + 1e-6) < 1.0 ? 1.0 / (ng + 1e-6) : 1.0);
		e = fabs((double)lg - lc) / fabs((double)lc);
		worst = e > worst || isnan(e) ? e : worst;
		if (!(e <= 1e-2))
			failures++;
		printf("  step %2d  loss cpu %.5f cuda %.5f  rel %.1e  |g| cpu %.4f cuda %.4f%s\n",
		       s + 1, lc, lg, e, nc, ng, e <= 1e-2 ? "" : "  FAIL");
	}
	printf("  worst relative loss difference %.2e (tol 1e-2): %s\n", worst,
	       worst <= 1e-2 ? "ok" : "FAIL");
	tm_adamw_release(&opt);
	tm_model_free(cpu);
	tm_cmodel_free(gpu);
	free(tok), free(tg);
}

/* ---- throughput ---- */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void run_bench(const char *preset, int B, int T, int steps, double peak, bool recompute)
{
	struct tm_llama_config c;
	const char *why = NULL;
	struct tm_cmodel *gpu;
	size_t nt, i;
	struct tm_llama_tensor *tens;
	int64_t np;
	float *p;
	int32_t *tok = tm_xcalloc((size_t)B * T, 4), *tg = tm_xcalloc((size_t)B * T, 4);
	double t0 = 0, dt, tps, loss = 0;

	if (tm_llama_preset(preset, &c) < 0)
		BUG("unknown preset %s", preset);
	if (c.max_seq_len < T)
		c.max_seq_len = T;
	gpu = tm_cmodel_new(&c, B, T, recompute, &why);
	if (!gpu) {
		printf("bench %s: %s\n", preset, why);
		failures++;
		return;
	}
	/* cheap parameters (uniform, std 0.02): the speed does not depend on them */
	np = tm_llama_num_params(&c);
	nt = tm_llama_tensors(&c, NULL, 0);
	tens = tm_xcalloc(nt, sizeof(*tens));
	tm_llama_tensors(&c, tens, nt);
	p = zeros(np);
	for (i = 0; i < nt; i++)
		for (int64_t k = 0; k < tens[i].numel; k++)
			p[tens[i].offset + k] = tens[i].ndim == 1 ? 1.0f :
						(float)((uni() - 0.5) * 0.0693);
	tm_cmodel_upload(gpu, p);
	free(p);
	free(tens);
	for (int s = 0; s < steps + 3; s++) {
		double n;

		if (s == 3)
			t0 = now();
		batch(B, T, c.vocab_size, tok, tg);
		tm_cmodel_zero_grad(gpu);
		loss = tm_cmodel_forward(gpu, tok, tg, B, T, 0);
		tm_cmodel_backward(gpu, 1.0f);
		n = tm_cmodel_grad_norm(gpu);
		tm_cmodel_adamw(gpu, s + 1, 3e-4, 0.9, 0.95, 1e-8, 0.1,
				1.0 / (n + 1e-6) < 1 ? 1.0 / (n + 1e-6) : 1);
	}
	dt = now() - t0;
	tps = (double)B * T * steps / dt;
	printf("bench tamis preset=%s B=%d T=%d params=%" PRId64 " steps=%d step_s=%.4f "
	       "tok_s=%.0f mfu=%.4f mem_gib=%.1f recompute=%d loss=%.3f\n",
	       preset, B, T, np, steps, dt / steps, tps,
	       tps * tm_llama_flops_per_token(&c, T) / peak,
	       tm_cmodel_bytes(gpu) / 1073741824.0, recompute, loss);
	tm_cmodel_free(gpu);
	free(tok), free(tg);
}

/* A preset's shape as key=value words, for bench/gpu_torch.py to build the
 * same model, and its training FLOPs per token at T. */
static int print_config(const char *preset, int T)
{
	struct tm_llama_config c;

	if (tm_llama_preset(preset, &c) < 0) {
		fprintf(stderr, "cuda-check: unknown preset '%s'\n", preset);
		return 2;
	}
	printf("dim=%d layers=%d heads=%d kv=%d ffn=%d vocab=%d eps=%g theta=%g scaling=%d "
	       "factor=%g low=%g high=%g orig=%d params=%" PRId64 " flops_per_token=%.6e\n",
	       c.dim, c.n_layers, c.n_heads, c.n_kv_heads, c.ffn_dim, c.vocab_size, c.norm_eps,
	       c.rope_theta, c.rope_scaling, c.rope_factor, c.rope_low_freq_factor,
	       c.rope_high_freq_factor, c.rope_original_max_pos, tm_llama_num_params(&c),
	       tm_llama_flops_per_token(&c, T));
	return 0;
}

static const char *arg(int argc, char **argv, const char *key, const char *def)
{
	size_t n = strlen(key);

	for (int i = 2; i < argc; i++)
		if (!strncmp(argv[i], key, n) && argv[i][n] == '=')
			return argv[i] + n + 1;
	return def;
}

int main(int argc, char **argv)
{
	const char *why = NULL;
	int n;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2) {
		fprintf(stderr, "usage: cuda-check kernels|model|train|bench|config "
			"[key=value...]\n");
		return 2;
	}
	if (!strcmp(argv[1], "config"))	/* no device needed */
		return print_config(arg(argc, argv, "preset", "120m"),
				    atoi(arg(argc, argv, "T", "1024")));
	n = tm_cuda_devices(&why);
	if (n <= 0) {
		fprintf(stderr, "cuda-check: no usable CUDA device (%s)\n", why);
		return 1;
	}
	if (!strcmp(argv[1], "kernels"))
		run_kernels();
	else if (!strcmp(argv[1], "model"))
		run_model();
	else if (!strcmp(argv[1], "train"))
		run_train(atoi(arg(argc, argv, "steps", "50")));
	else if (!strcmp(argv[1], "bench"))
		run_bench(arg(argc, argv, "preset", "120m"), atoi(arg(argc, argv, "B", "16")),
			  atoi(arg(argc, argv, "T", "1024")), atoi(arg(argc, argv, "steps", "20")),
			  atof(arg(argc, argv, "peak", "989e12")),
			  atoi(arg(argc, argv, "recompute", "0")) != 0);
	else {
		fprintf(stderr, "cuda-check: unknown check '%s'\n", argv[1]);
		return 2;
	}
	printf("%s: %d failure%s\n", argv[1], failures, failures == 1 ? "" : "s");
	return failures ? 1 : 0;
}
