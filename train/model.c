/*
 * model.c: the Llama 3 model on the CPU (model.h), forward and backward
 * in fp32.  Not a general autograd: one hand-written forward/backward
 * pair per layer kind, as llm.c's train_gpt2.c.
 *
 * Threads.  Every matrix product runs through cblas_sgemm over the whole
 * batch of N = B*T tokens, cut into one slice per team member (team.h),
 * each slice a single-threaded OpenBLAS call: OpenBLAS's own threads are
 * set to 1, because its workers spin after each call and would fight ours
 * (the attention and row-wise kernels) for the cores.  Attention runs per
 * (batch row, query head), the units handed out by an atomic counter;
 * a unit's result does not depend on which thread ran it.  Row-wise
 * kernels (RMSNorm, RoPE, SwiGLU, cross-entropy) split the rows, and
 * column sums (norm weight and embedding gradients) split the columns, so
 * no two threads ever add into one float.
 *
 * Fusions.  q_proj, k_proj and v_proj are adjacent in the parameter block
 * (llama.h), so they are one [Q + 2 KVd, D] matrix and one product; so are
 * gate_proj and up_proj ([2F, D]).  Residual additions are folded into
 * the RMSNorm that follows them.
 *
 * What forward keeps for backward (floats, N = B*T tokens, L layers,
 * Q = n_heads * head_dim, KVd = n_kv_heads * head_dim):
 *   per layer: the residual stream entering the layer and after attention
 *   (2 D), both RMSNorm outputs (2 D) and their 1/rms (2), q, k after RoPE
 *   and v (Q + 2 KVd), the attention output (Q), each query's softmax
 *   log-sum-exp (n_heads), gate and up (2 F) and silu(gate) * up (F):
 *   N * (4 D + 2 + 2 Q + 2 KVd + n_heads + 3 F) per layer;
 *   then the final residual, its norm and 1/rms (2 D + 1), the logits (V)
 *   and each row's log-sum-exp and loss (2): N * (2 D + V + 3).
 * Attention probabilities are not kept: backward recomputes each block of
 * scores with the same product and exponentiates against the kept
 * log-sum-exp (as FlashAttention does), so memory stays linear in T.
 * Backward scratch, shared by the layers: N * (2 D + 4 Q + 2 KVd + 3 F)
 * (gradients of the residual, a norm's output, attention output, q/k/v,
 * k and v per query head, gate/up, SwiGLU output) plus a [N, vocab chunk]
 * block of logit gradients (logits stay intact, so backward may run
 * twice; the chunk is 4M floats / N columns, at least 1024) and per
 * thread two blocks of ATT_BLK x T scores.  tm_model_bytes() counts all
 * of it; the "16m" preset at B=4, T=256 holds 325 MiB, of which 120 MiB
 * are parameters and gradients.
 */
#include "tamis.h"
#include "model.h"
#include "pool.h"
#include "team.h"
#include "vmath.h"

#include <cblas.h>
#include <math.h>
#include <stdatomic.h>

/* Queries per attention block: scores are computed for [ATT_BLK, window]
 * at a time, so the wasted upper triangle is at most one block wide. */
#define ATT_BLK 64
/* The logit-gradient block holds N x VCHUNK floats (at least 1024 columns). */
#define VCHUNK_FLOATS (4 << 20)

struct layer {
	/* parameters (or their gradients), views into the block */
	float *norm1;	/* [D] */
	float *wqkv;	/* [Q + 2 KVd, D]: q_proj, k_proj, v_proj */
	float *wo;	/* [D, Q] */
	float *norm2;	/* [D] */
	float *w13;	/* [2F, D]: gate_proj, up_proj */
	float *w2;	/* [D, F] down_proj */
};

struct acts {
	float *x;	/* [N, D] residual stream entering the layer */
	float *ln1;	/* [N, D] input_layernorm(x) */
	float *rstd1;	/* [N] */
	float *qkv;	/* [N, Q + 2 KVd] q and k after RoPE, v */
	float *lse;	/* [N, H] attention log-sum-exp per query and head */
	float *att;	/* [N, Q] attention output, o_proj's input */
	float *xa;	/* [N, D] residual after attention (x + o_proj) */
	float *ln2;	/* [N, D] */
	float *rstd2;	/* [N] */
	float *h13;	/* [N, 2F] gate, up */
	float *act;	/* [N, F] silu(gate) * up */
};

struct tm_model {
	struct tm_llama_config c;
	int Bmax, Tmax;
	int D, H, KV, hd, Q, KVd, QKV, F, V, L;
	int64_t nparams;
	struct tm_llama_tensor *tens;	/* the layout, ntens entries */
	size_t ntens;
	float *params, *grads;
	struct layer *pl, *gl;	/* [L] views into params and grads */
	float *emb, *normf, *lm;	/* views into params */
	float *gemb, *gnormf, *glm;	/* ... into grads */

	float *mem;		/* every activation and scratch array */
	size_t mem_floats;
	struct acts *a;		/* [L] */
	float *xf;		/* [N, D] final residual */
	float *lnf;		/* [N, D] */
	float *rstdf;		/* [N] */
	float *logits;		/* [N, V] */
	float *ce_lse;		/* [N] */
	float *ce_loss;		/* [N] */
	/* backward scratch */
	float *dres;		/* [N, D] gradient of the residual stream */
	float *dln;		/* [N, D] gradient of a norm's output */
	float *datt;		/* [N, Q] */
	float *dqkv;		/* [N, QKV] */
	float *dkh, *dvh;	/* [N, Q] k and v gradients per query head */
	float *dh13;		/* [N, 2F] */
	float *dact;		/* [N, F] */
	float *dlog;		/* [N, vchunk] */
	int vchunk;
	float *att_scratch;	/* [threads][2 ATT_BLK Tmax] */
	float *rope_cos, *rope_sin;	/* [Tmax, hd / 2] */
	int32_t *tokens, *targets;	/* [N] copies of the last batch */
	int32_t *doc;		/* [N] where each position's document starts */

	struct tm_team *team;
	int B, T;		/* of the last forward */
	int64_t scored;		/* targets != -1 in it */
	bool ready;		/* backward may run */
};

/* ---- allocation and views ---- */

static float *take(float **p, size_t n)
{
	float *r = *p;

	*p += (n + 15) & ~(size_t)15;	/* every array 64-byte aligned */
	return r;
}

/* Lays the arrays out from `base` (NULL: only counts); returns floats used. */
static size_t layout(struct tm_model *m, float *base)
{
	size_t N = (size_t)m->Bmax * m->Tmax, D = m->D, Q = m->Q, F = m->F;
	float *p = base;
	int l;

	for (l = 0; l < m->L; l++) {
		struct acts *a = &m->a[l];

		a->x = take(&p, N * D);
		a->ln1 = take(&p, N * D);
		a->rstd1 = take(&p, N);
		a->qkv = take(&p, N * m->QKV);
		a->lse = take(&p, N * m->H);
		a->att = take(&p, N * Q);
		a->xa = take(&p, N * D);
		a->ln2 = take(&p, N * D);
		a->rstd2 = take(&p, N);
		a->h13 = take(&p, N * 2 * F);
		a->act = take(&p, N * F);
	}
	m->xf = take(&p, N * D);
	m->lnf = take(&p, N * D);
	m->rstdf = take(&p, N);
	m->logits = take(&p, N * m->V);
	m->ce_lse = take(&p, N);
	m->ce_loss = take(&p, N);
	m->dres = take(&p, N * D);
	m->dln = take(&p, N * D);
	m->datt = take(&p, N * Q);
	m->dqkv = take(&p, N * m->QKV);
	m->dkh = take(&p, N * Q);
	m->dvh = take(&p, N * Q);
	m->dh13 = take(&p, N * 2 * F);
	m->dact = take(&p, N * F);
	m->dlog = take(&p, N * m->vchunk);
	m->att_scratch = take(&p, (size_t)tm_team_size(m->team) * 2 * ATT_BLK * m->Tmax);
	m->rope_cos = take(&p, (size_t)m->Tmax * m->hd / 2);
	m->rope_sin = take(&p, (size_t)m->Tmax * m->hd / 2);
	return (size_t)(p - base);
}

/* Layer views into a block (params or grads) from the tensor table. */
static void point_layers(const struct tm_model *m, float *block, struct layer *ly)
{
	const struct tm_llama_tensor *t = m->tens;
	int l;

	for (l = 0; l < m->L; l++, t += 9) {
		ly[l].norm1 = block + t[1].offset;
		ly[l].wqkv = block + t[2].offset;	/* k_proj, v_proj follow */
		ly[l].wo = block + t[5].offset;
		ly[l].norm2 = block + t[6].offset;
		ly[l].w13 = block + t[7].offset;	/* up_proj follows */
		ly[l].w2 = block + t[9].offset;
	}
}

static void *alloc_floats(size_t n)
{
	void *p = NULL;

	if (posix_memalign(&p, 64, TM_MAX(n, 1) * sizeof(float)))
		return NULL;
	return p;
}

struct tm_model *tm_model_new(const struct tm_llama_config *c, int B, int T, int threads,
			      const char **why)
{
	struct tm_model *m;
	const char *bad = tm_llama_check(c);
	size_t nt;

	if (!bad && (B <= 0 || T <= 0))
		bad = "batch size and sequence length must be positive";
	if (!bad && T > c->max_seq_len)
		bad = "sequence length exceeds the configuration's max_seq_len";
	if (bad) {
		*why = bad;
		return NULL;
	}
	*why = "out of memory";
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->c = *c;
	m->Bmax = B;
	m->Tmax = T;
	m->D = c->dim;
	m->H = c->n_heads;
	m->KV = c->n_kv_heads;
	m->hd = tm_llama_head_dim(c);
	m->Q = m->H * m->hd;
	m->KVd = m->KV * m->hd;
	m->QKV = m->Q + 2 * m->KVd;
	m->F = c->ffn_dim;
	m->V = c->vocab_size;
	m->L = c->n_layers;
	m->vchunk = (int)TM_MIN((int64_t)m->V,
				TM_MAX(1024, VCHUNK_FLOATS / ((int64_t)B * T)));
	m->nparams = tm_llama_num_params(c);
	if (threads <= 0)
		threads = tm_ncpus();
	/* see the file comment: our threads cut the products, OpenBLAS's do not */
	openblas_set_num_threads(1);
	m->team = tm_team_new(threads);
	nt = m->ntens = tm_llama_tensors(c, NULL, 0);
	m->tens = calloc(nt, sizeof(*m->tens));
	m->params = alloc_floats(m->nparams);
	m->grads = alloc_floats(m->nparams);
	m->pl = calloc(m->L, sizeof(*m->pl));
	m->gl = calloc(m->L, sizeof(*m->gl));
	m->a = calloc(m->L, sizeof(*m->a));
	m->tokens = calloc((size_t)B * T, sizeof(*m->tokens));
	m->targets = calloc((size_t)B * T, sizeof(*m->targets));
	m->doc = calloc((size_t)B * T, sizeof(*m->doc));
	if (!m->team || !m->tens || !m->params || !m->grads || !m->pl || !m->gl || !m->a ||
	    !m->tokens || !m->targets || !m->doc)
		goto fail;
	m->mem_floats = layout(m, NULL);
	m->mem = alloc_floats(m->mem_floats);
	if (!m->mem)
		goto fail;
	layout(m, m->mem);
	memset(m->params, 0, m->nparams * sizeof(float));
	memset(m->grads, 0, m->nparams * sizeof(float));

	tm_llama_tensors(c, m->tens, nt);
	m->emb = m->params + m->tens[0].offset;
	m->normf = m->params + m->tens[nt - 2].offset;
	m->lm = m->params + m->tens[nt - 1].offset;
	m->gemb = m->grads + m->tens[0].offset;
	m->gnormf = m->grads + m->tens[nt - 2].offset;
	m->glm = m->grads + m->tens[nt - 1].offset;
	point_layers(m, m->params, m->pl);
	point_layers(m, m->grads, m->gl);

	if (tm_llama_rope_tables(c, T, m->rope_cos, m->rope_sin) < 0)
		goto fail;
	*why = NULL;
	return m;
fail:
	tm_model_free(m);
	return NULL;
}

void tm_model_free(struct tm_model *m)
{
	if (!m)
		return;
	tm_team_free(m->team);
	free(m->tens);
	free(m->params);
	free(m->grads);
	free(m->pl);
	free(m->gl);
	free(m->a);
	free(m->mem);
	free(m->tokens);
	free(m->targets);
	free(m->doc);
	free(m);
}

const struct tm_llama_config *tm_model_config(const struct tm_model *m)
{
	return &m->c;
}

float *tm_model_params(struct tm_model *m)
{
	return m->params;
}

float *tm_model_grads(struct tm_model *m)
{
	return m->grads;
}

int64_t tm_model_num_params(const struct tm_model *m)
{
	return m->nparams;
}

size_t tm_model_bytes(const struct tm_model *m)
{
	size_t N = (size_t)m->Bmax * m->Tmax;

	return sizeof(*m) + 2 * (size_t)m->nparams * sizeof(float) +
	       m->ntens * sizeof(*m->tens) +
	       (size_t)m->L * (2 * sizeof(*m->pl) + sizeof(*m->a)) +
	       m->mem_floats * sizeof(float) + 3 * N * sizeof(int32_t);
}

/* ---- work over the team ---- */

/* fn(job, i) for every row i < N, the rows cut into one run per member. */
typedef void (*row_fn)(const void *job, int64_t i);
/* fn(job, lo, hi) on one share of [0, count) per member, cut at multiples of 16. */
typedef void (*range_fn)(const void *job, int64_t lo, int64_t hi);

struct spread {
	row_fn row;
	range_fn range;
	const void *job;
	int64_t count;
};

static void spread_part(void *arg, int me, int n)
{
	const struct spread *s = arg;
	int64_t lo, hi, i;

	tm_team_share(s->count, me, n, s->row ? 1 : 16, &lo, &hi);
	if (s->row)
		for (i = lo; i < hi; i++)
			s->row(s->job, i);
	else if (lo < hi)
		s->range(s->job, lo, hi);
}

static void for_rows(struct tm_model *m, int64_t N, row_fn fn, const void *job)
{
	struct spread s = { fn, NULL, job, N };

	tm_team_run(m->team, spread_part, &s);
}

static void for_ranges(struct tm_model *m, int64_t count, range_fn fn, const void *job)
{
	struct spread s = { NULL, fn, job, count };

	tm_team_run(m->team, spread_part, &s);
}

/* ---- initialisation ---- */

static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Normal(0, 1) number `idx` of the stream `key`: Box-Muller on two
 * counter-based uniforms, so any element can be drawn alone. */
static double gauss_at(uint64_t key, uint64_t idx)
{
	uint64_t a = mix64(key + (2 * idx + 1) * 0x9e3779b97f4a7c15ULL);
	uint64_t b = mix64(key + (2 * idx + 2) * 0x9e3779b97f4a7c15ULL);
	double u1 = ((a >> 11) + 1) * 0x1p-53;	/* (0, 1] */
	double u2 = (b >> 11) * 0x1p-53;	/* [0, 1) */

	return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

struct init_job {
	const struct tm_llama_tensor *tens;
	size_t ntens;
	int L;
	float *params;
	uint64_t key;
};

/* Parameters [lo, hi) of the block, whatever tensors they fall in. */
static void init_range(const void *arg, int64_t lo, int64_t hi)
{
	const struct init_job *j = arg;
	double resid = 0.02 / sqrt(2.0 * j->L);
	int64_t i;
	size_t k;

	for (k = 0; k < j->ntens; k++) {
		const struct tm_llama_tensor *t = &j->tens[k];
		int64_t a = TM_MAX(lo, t->offset), b = TM_MIN(hi, t->offset + t->numel);
		double sd = strstr(t->name, "o_proj") || strstr(t->name, "down_proj") ?
			    resid : 0.02;

		for (i = a; i < b; i++)
			j->params[i] = t->ndim == 1 ? 1.0f : (float)(sd * gauss_at(j->key, i));
	}
}

static uint64_t init_key(uint64_t seed)
{
	return mix64(seed ^ 0x746d5f6d6f64656cULL);	/* "tm_model" */
}

void tm_model_init(struct tm_model *m, uint64_t seed)
{
	struct init_job j = { m->tens, m->ntens, m->L, m->params, init_key(seed) };

	for_ranges(m, m->nparams, init_range, &j);
	m->ready = false;
}

void tm_model_init_block(const struct tm_llama_config *c, uint64_t seed, float *params)
{
	size_t nt = tm_llama_tensors(c, NULL, 0);
	struct tm_llama_tensor *t = tm_xcalloc(nt, sizeof(*t));
	struct init_job j = { t, nt, c->n_layers, params, init_key(seed) };
	struct spread s = { NULL, init_range, &j, tm_llama_num_params(c) };
	struct tm_team *team = tm_team_new(tm_ncpus());

	tm_llama_tensors(c, t, nt);
	if (team)
		tm_team_run(team, spread_part, &s);
	else
		init_range(&j, 0, s.count);
	tm_team_free(team);
	free(t);
}

/* ---- matrix products ---- */

/* C[M, N] = alpha op(A) op(B) + beta C, row-major, as cblas_sgemm. */
struct gemm {
	enum CBLAS_TRANSPOSE ta, tb;
	int M, N, K;
	float alpha;
	const float *A;
	int lda;
	const float *B;
	int ldb;
	float beta;
	float *C;
	int ldc;
};

/* Each member computes a slice of C's rows (or columns, when C is wider
 * than tall): every element comes from one single-threaded call. */
static void gemm_part(void *arg, int me, int n)
{
	const struct gemm *g = arg;
	int64_t lo, hi;

	if (g->M >= g->N) {
		tm_team_share(g->M, me, n, 16, &lo, &hi);
		if (lo < hi)
			cblas_sgemm(CblasRowMajor, g->ta, g->tb, (int)(hi - lo), g->N, g->K,
				    g->alpha,
				    g->A + (g->ta == CblasNoTrans ? lo * g->lda : lo), g->lda,
				    g->B, g->ldb, g->beta, g->C + lo * g->ldc, g->ldc);
	} else {
		tm_team_share(g->N, me, n, 16, &lo, &hi);
		if (lo < hi)
			cblas_sgemm(CblasRowMajor, g->ta, g->tb, g->M, (int)(hi - lo), g->K,
				    g->alpha, g->A, g->lda,
				    g->B + (g->tb == CblasNoTrans ? lo : lo * g->ldb), g->ldb,
				    g->beta, g->C + lo, g->ldc);
	}
}

static void gemm(struct tm_model *m, enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb, int M,
		 int N, int K, const float *A, int lda, const float *B, int ldb, float beta,
		 float *C, int ldc)
{
	struct gemm g = { ta, tb, M, N, K, 1.0f, A, lda, B, ldb, beta, C, ldc };

	tm_team_run(m->team, gemm_part, &g);
}

/* y[N, out] = x[N, in] W[out, in]^T: a linear layer over the batch. */
static void linear_forward(struct tm_model *m, float *y, const float *x, const float *w, int N,
			   int in, int out)
{
	gemm(m, CblasNoTrans, CblasTrans, N, out, in, x, in, w, in, 0, y, out);
}

/* dx[N, in] (= or +=, by beta) dy[N, out] W; dW[out, in] += dy^T x. */
static void linear_backward(struct tm_model *m, float *dx, float beta, float *dw,
			    const float *dy, const float *x, const float *w, int N, int in,
			    int out)
{
	gemm(m, CblasNoTrans, CblasNoTrans, N, in, out, dy, out, w, in, beta, dx, in);
	gemm(m, CblasTrans, CblasNoTrans, out, in, N, dy, out, x, in, 1, dw, in);
}

/* ---- vector loops ---- */

TM_HOT_LOOP
static float dot(const float *x, const float *y, int n)
{
	float s = 0;
	int i;

	for (i = 0; i < n; i++)
		s += x[i] * y[i];
	return s;
}

TM_HOT_LOOP
static float dot3(const float *x, const float *y, const float *z, int n)
{
	float s = 0;
	int i;

	for (i = 0; i < n; i++)
		s += x[i] * y[i] * z[i];
	return s;
}

TM_HOT_LOOP
static void add_into(float *x, const float *a, int n)
{
	int i;

	for (i = 0; i < n; i++)
		x[i] += a[i];
}

TM_HOT_LOOP
static void scale_to(float *x, float s, int n)
{
	int i;

	for (i = 0; i < n; i++)
		x[i] *= s;
}

TM_HOT_LOOP
static float row_max(const float *x, int n)
{
	float v = x[0];
	int i;

	for (i = 1; i < n; i++)
		v = x[i] > v ? x[i] : v;
	return v;
}

/* x[i] = e^(x[i] - c) */
TM_HOT_LOOP
static void exp_sub(float *x, float c, int n)
{
	int i;

	for (i = 0; i < n; i++)
		x[i] = tm_vexpf(x[i] - c);
}

/* the sum of x[0..n), in 8 lanes, then pairwise (vectorised, unlike a
 * running sum) */
TM_HOT_LOOP
static float lane_sum(const float *x, int n)
{
	float lane[8] = { 0 };
	int i, j;

	for (i = 0; i + 8 <= n; i += 8)
		for (j = 0; j < 8; j++)
			lane[j] += x[i + j];
	for (j = 0; i < n; i++, j++)
		lane[j] += x[i];
	return ((lane[0] + lane[1]) + (lane[2] + lane[3])) +
	       ((lane[4] + lane[5]) + (lane[6] + lane[7]));
}

/* y[i] = a e^(x[i] - c) */
TM_HOT_LOOP
static void exp_sub_scaled(float *y, const float *x, float c, float a, int n)
{
	int i;

	for (i = 0; i < n; i++)
		y[i] = a * tm_vexpf(x[i] - c);
}

/* the sum of e^(x[i] - c), in double (8 lanes, then pairwise), for a
 * log-sum-exp over a whole vocabulary */
TM_HOT_LOOP
static double sum_exp_sub(const float *x, float c, int n)
{
	double lane[8] = { 0 };
	int i, j;

	for (i = 0; i + 8 <= n; i += 8)
		for (j = 0; j < 8; j++)
			lane[j] += tm_vexpf(x[i + j] - c);
	for (j = 0; i < n; i++, j++)
		lane[j] += tm_vexpf(x[i] - c);
	return ((lane[0] + lane[1]) + (lane[2] + lane[3])) +
	       ((lane[4] + lane[5]) + (lane[6] + lane[7]));
}

/* ---- RMSNorm: y = x / sqrt(mean(x^2) + eps) * w ---- */

struct norm {
	struct tm_model *m;
	int N;
	const float *w;		/* [D] weights */
	float *x;		/* [N, D] input */
	float *r;		/* [N] 1 / rms */
	float *y;		/* forward: [N, D] output */
	const float *add;	/* forward: residual added to x first, or NULL */
	const float *dy;	/* backward: [N, D] output gradient */
	float *dx;		/* backward: [N, D] input gradient */
	bool acc;		/* backward: dx += rather than = */
	float *dw;		/* backward: [D] weight gradient (+=) */
};

TM_HOT_LOOP
static void scale_mul(float *y, const float *x, float r, const float *w, int n)
{
	int i;

	for (i = 0; i < n; i++)
		y[i] = x[i] * r * w[i];
}

static void rmsnorm_row(const void *arg, int64_t i)
{
	const struct norm *j = arg;
	int D = j->m->D;
	float *x = j->x + i * D, r;

	if (j->add)
		add_into(x, j->add + i * D, D);
	r = 1.0f / sqrtf(dot(x, x, D) / D + j->m->c.norm_eps);
	j->r[i] = r;
	scale_mul(j->y + i * D, x, r, j->w, D);
}

/* x += add (when add); y = norm(x) w; rstd = 1 / rms(x). */
static void rmsnorm_forward(struct tm_model *m, float *y, float *rstd, float *x,
			    const float *add, const float *w, int N)
{
	struct norm j = { .m = m, .N = N, .w = w, .x = x, .r = rstd, .y = y, .add = add };

	for_rows(m, N, rmsnorm_row, &j);
}

TM_HOT_LOOP
static void rms_dx(float *dx, const float *dy, const float *w, const float *x, float r,
		   float c, bool acc, int n)
{
	int i;

	if (acc)
		for (i = 0; i < n; i++)
			dx[i] += r * (dy[i] * w[i] - x[i] * c);
	else
		for (i = 0; i < n; i++)
			dx[i] = r * (dy[i] * w[i] - x[i] * c);
}

/* With g = dy w and xhat = x r: dx = r (g - xhat mean(g xhat))
 * = r (g - x r^2 mean(g x)). */
static void rmsnorm_dx_row(const void *arg, int64_t i)
{
	const struct norm *j = arg;
	int D = j->m->D;
	const float *x = j->x + i * D, *dy = j->dy + i * D;
	float r = j->r[i], c = dot3(dy, j->w, x, D) / D * r * r;

	rms_dx(j->dx + i * D, dy, j->w, x, r, c, j->acc, D);
}

TM_HOT_LOOP
static void rms_dw_row(float *dw, const float *dy, const float *x, float r, int n)
{
	int i;

	for (i = 0; i < n; i++)
		dw[i] += dy[i] * x[i] * r;
}

/* dw[d] += sum over the rows of dy xhat, for the columns [lo, hi). */
static void rmsnorm_dw_range(const void *arg, int64_t lo, int64_t hi)
{
	const struct norm *j = arg;
	int D = j->m->D;
	int64_t i;

	for (i = 0; i < j->N; i++)
		rms_dw_row(j->dw + lo, j->dy + i * D + lo, j->x + i * D + lo, j->r[i],
			   (int)(hi - lo));
}

/* dx (+)= the input gradient of dy; dw += the weight gradient. */
static void rmsnorm_backward(struct tm_model *m, float *dx, bool acc, float *dw,
			     const float *dy, float *x, float *rstd, const float *w, int N)
{
	struct norm j = { .m = m, .N = N, .w = w, .x = x, .r = rstd, .dy = dy, .dx = dx,
			  .acc = acc, .dw = dw };

	for_rows(m, N, rmsnorm_dx_row, &j);
	for_ranges(m, m->D, rmsnorm_dw_range, &j);
}

/* ---- RoPE ---- */

/*
 * rotate_half layout: in each head the pair (x[i], x[i + hd/2]) is
 * rotated by the angle pos * inv_freq[i].  Backward rotates by -angle.
 */
struct rope {
	struct tm_model *m;
	float *qkv;		/* [N, QKV]: q heads then k heads */
	int T;
	float sign;		/* +1 forward, -1 backward */
};

TM_HOT_LOOP
static void rotate(float *x, const float *cs, const float *sn, float sign, int half)
{
	int i;

	for (i = 0; i < half; i++) {
		float a = x[i], b = x[i + half], s = sign * sn[i];

		x[i] = a * cs[i] - b * s;
		x[i + half] = b * cs[i] + a * s;
	}
}

static void rope_row(const void *arg, int64_t i)
{
	const struct rope *j = arg;
	const struct tm_model *m = j->m;
	int half = m->hd / 2, h;
	const float *cs = m->rope_cos + (i % j->T) * half;
	const float *sn = m->rope_sin + (i % j->T) * half;

	for (h = 0; h < m->H + m->KV; h++)
		rotate(j->qkv + i * m->QKV + h * m->hd, cs, sn, j->sign, half);
}

/* Rotates the q and k heads of qkv [N, QKV] (their gradients when sign < 0). */
static void rope(struct tm_model *m, float *qkv, int N, int T, float sign)
{
	struct rope j = { m, qkv, T, sign };

	for_rows(m, N, rope_row, &j);
}

/* ---- SwiGLU: act = silu(gate) * up, h13 holding [gate | up] per row ---- */

struct swiglu {
	struct tm_model *m;
	const float *h13;	/* [N, 2F] */
	float *act;		/* forward: [N, F] */
	const float *dact;	/* backward: [N, F] */
	float *dh13;		/* backward: [N, 2F] */
};

static inline float sigmoid(float g)
{
	return 1.0f / (1.0f + tm_vexpf(-g));
}

/* a = silu(g) u */
TM_HOT_LOOP
static void swiglu_fwd_vec(float *a, const float *g, const float *u, int n)
{
	int f;

	for (f = 0; f < n; f++)
		a[f] = g[f] * sigmoid(g[f]) * u[f];
}

/* d gate = dact up s (1 + g (1 - s)), d up = dact g s, with s = sigmoid(g). */
TM_HOT_LOOP
static void swiglu_bwd_vec(float *dg, float *du, const float *da, const float *g,
			   const float *u, int n)
{
	int f;

	for (f = 0; f < n; f++) {
		float s = sigmoid(g[f]);

		dg[f] = da[f] * u[f] * s * (1 + g[f] * (1 - s));
		du[f] = da[f] * g[f] * s;
	}
}

static void swiglu_fwd_row(const void *arg, int64_t i)
{
	const struct swiglu *j = arg;
	int F = j->m->F;
	const float *g = j->h13 + i * 2 * F;

	swiglu_fwd_vec(j->act + i * F, g, g + F, F);
}

static void swiglu_bwd_row(const void *arg, int64_t i)
{
	const struct swiglu *j = arg;
	int F = j->m->F;
	const float *g = j->h13 + i * 2 * F;
	float *dg = j->dh13 + i * 2 * F;

	swiglu_bwd_vec(dg, dg + F, j->dact + i * F, g, g + F, F);
}

static void swiglu_forward(struct tm_model *m, float *act, const float *h13, int N)
{
	struct swiglu j = { .m = m, .h13 = h13, .act = act };

	for_rows(m, N, swiglu_fwd_row, &j);
}

static void swiglu_backward(struct tm_model *m, float *dh13, const float *dact,
			    const float *h13, int N)
{
	struct swiglu j = { .m = m, .h13 = h13, .dact = dact, .dh13 = dh13 };

	for_rows(m, N, swiglu_bwd_row, &j);
}

/* ---- attention ---- */

struct attn {
	struct tm_model *m;
	struct acts *a;
	int B, T;
	bool backward;
	atomic_int next;	/* the next (row, head) unit to take */
};

/* The end of the document that starts at position a of row b. */
static int doc_end(const struct tm_model *m, int b, int T, int a)
{
	const int32_t *doc = m->doc + (int64_t)b * T;
	int e = a + 1;

	while (e < T && doc[e] == a)
		e++;
	return e;
}

/* S[t1 - t0, t1 - a] = scale q k^T for queries [t0, t1) and keys [a, t1)
 * of row b, query head h (kv head h / (H / KV)). */
static void block_scores(const struct tm_model *m, const struct acts *ac, int T, int b, int h,
			 int a, int t0, int t1, float *S)
{
	int hd = m->hd, g = h / (m->H / m->KV), ld = m->QKV;
	int64_t row0 = (int64_t)b * T;

	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, t1 - t0, t1 - a, hd,
		    1.0f / sqrtf((float)hd), ac->qkv + (row0 + t0) * ld + h * hd, ld,
		    ac->qkv + (row0 + a) * ld + m->Q + g * hd, ld, 0, S, t1 - a);
}

/*
 * Forward of one block, with S = scale Q K^T for queries [t0, t1) and keys
 * [a, t1) of a document starting at a: a causal softmax per query (keys
 * after it zeroed, its log-sum-exp kept), then O = P V.
 */
static void attn_fwd_block(struct tm_model *m, struct acts *ac, int T, int b, int h, int a,
			   int t0, int t1, float *S)
{
	int hd = m->hd, g = h / (m->H / m->KV), ld = m->QKV, mb = t1 - t0, nb = t1 - a, i;
	int64_t row0 = (int64_t)b * T;
	const float *v = ac->qkv + m->Q + m->KVd + g * hd;

	for (i = 0; i < mb; i++) {
		float *s = S + (int64_t)i * nb, mx, sum;
		int valid = t0 + i - a + 1;

		mx = row_max(s, valid);
		exp_sub(s, mx, valid);
		sum = lane_sum(s, valid);
		scale_to(s, 1.0f / sum, valid);
		memset(s + valid, 0, (nb - valid) * sizeof(float));
		ac->lse[(row0 + t0 + i) * m->H + h] = mx + logf(sum);
	}
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, mb, hd, nb, 1, S, nb,
		    v + (row0 + a) * ld, ld, 0, ac->att + (row0 + t0) * m->Q + h * hd, m->Q);
}

TM_HOT_LOOP
static void softmax_grad(float *dp, const float *p, float c, float scale, int n)
{
	int i;

	for (i = 0; i < n; i++)
		dp[i] = scale * p[i] * (dp[i] - c);
}

/*
 * Backward of the same block: P = exp(S - lse); dV += P^T dO; dP = dO V^T;
 * dS = P (dP - rowsum(P dP)); dQ = scale dS K; dK += scale dS^T Q.  dK
 * and dV go to per-query-head arrays (dkh, dvh), summed over each kv
 * group afterwards, so that units never add into the same floats.
 */
static void attn_bwd_block(struct tm_model *m, struct acts *ac, int T, int b, int h, int a,
			   int t0, int t1, float *S, float *dP)
{
	int hd = m->hd, g = h / (m->H / m->KV), ld = m->QKV, Q = m->Q;
	int mb = t1 - t0, nb = t1 - a, i;
	int64_t row0 = (int64_t)b * T;
	const float *q = ac->qkv + h * hd, *k = ac->qkv + Q + g * hd;
	const float *v = ac->qkv + Q + m->KVd + g * hd;
	const float *dO = m->datt + h * hd;
	float *dq = m->dqkv + h * hd, *dk = m->dkh + h * hd, *dv = m->dvh + h * hd;
	float scale = 1.0f / sqrtf((float)hd);

	for (i = 0; i < mb; i++) {
		float *s = S + (int64_t)i * nb;
		float lse = ac->lse[(row0 + t0 + i) * m->H + h];
		int valid = t0 + i - a + 1;

		exp_sub(s, lse, valid);
		memset(s + valid, 0, (nb - valid) * sizeof(float));
	}
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nb, hd, mb, 1, S, nb,
		    dO + (row0 + t0) * Q, Q, 1, dv + (row0 + a) * Q, Q);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, mb, nb, hd, 1,
		    dO + (row0 + t0) * Q, Q, v + (row0 + a) * ld, ld, 0, dP, nb);
	for (i = 0; i < mb; i++) {
		float *s = S + (int64_t)i * nb, *d = dP + (int64_t)i * nb;
		int valid = t0 + i - a + 1;

		softmax_grad(d, s, dot(s, d, valid), scale, valid);
		memset(d + valid, 0, (nb - valid) * sizeof(float));
	}
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, mb, hd, nb, 1, dP, nb,
		    k + (row0 + a) * ld, ld, 0, dq + (row0 + t0) * ld, ld);
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nb, hd, mb, 1, dP, nb,
		    q + (row0 + t0) * ld, ld, 1, dk + (row0 + a) * Q, Q);
}

/*
 * One (row b, head h) unit, forward or backward: per document [a, e) of
 * the row, blocks of ATT_BLK queries [t0, t1), each against keys [a, t1).
 */
static void attn_unit(struct tm_model *m, struct acts *ac, int T, int b, int h, float *S,
		      float *dP, bool backward)
{
	int64_t r;
	int a, e, t0;

	for (r = (int64_t)b * T; backward && r < (int64_t)(b + 1) * T; r++) {
		memset(m->dkh + r * m->Q + h * m->hd, 0, m->hd * sizeof(float));
		memset(m->dvh + r * m->Q + h * m->hd, 0, m->hd * sizeof(float));
	}
	for (a = 0; a < T; a = e) {
		e = doc_end(m, b, T, a);
		for (t0 = a; t0 < e; t0 += ATT_BLK) {
			int t1 = TM_MIN(t0 + ATT_BLK, e);

			block_scores(m, ac, T, b, h, a, t0, t1, S);
			if (backward)
				attn_bwd_block(m, ac, T, b, h, a, t0, t1, S, dP);
			else
				attn_fwd_block(m, ac, T, b, h, a, t0, t1, S);
		}
	}
}

/* Takes (row, head) units until none is left; each member its own scratch. */
static void attn_part(void *arg, int me, int n)
{
	struct attn *j = arg;
	struct tm_model *m = j->m;
	float *S = m->att_scratch + (int64_t)me * 2 * ATT_BLK * m->Tmax;
	int u;

	while ((u = atomic_fetch_add(&j->next, 1)) < j->B * m->H)
		attn_unit(m, j->a, j->T, u / m->H, u % m->H, S, S + ATT_BLK * m->Tmax,
			  j->backward);
}

/* dk, dv of kv head g = the sums over its query heads, in head order. */
static void kv_reduce_row(const void *arg, int64_t i)
{
	const struct tm_model *m = arg;
	int per = m->H / m->KV, hd = m->hd, g, h;
	float *dk = m->dqkv + i * m->QKV + m->Q, *dv = dk + m->KVd;
	const float *sk = m->dkh + i * m->Q, *sv = m->dvh + i * m->Q;

	for (g = 0; g < m->KV; g++) {
		memcpy(dk + g * hd, sk + g * per * hd, hd * sizeof(float));
		memcpy(dv + g * hd, sv + g * per * hd, hd * sizeof(float));
		for (h = 1; h < per; h++) {
			add_into(dk + g * hd, sk + (g * per + h) * hd, hd);
			add_into(dv + g * hd, sv + (g * per + h) * hd, hd);
		}
	}
}

static void attention_forward(struct tm_model *m, struct acts *a, int B, int T)
{
	struct attn j = { .m = m, .a = a, .B = B, .T = T, .backward = false };

	atomic_init(&j.next, 0);
	tm_team_run(m->team, attn_part, &j);
}

/* From datt to the q, k, v parts of dqkv (before RoPE's backward). */
static void attention_backward(struct tm_model *m, struct acts *a, int B, int T)
{
	struct attn j = { .m = m, .a = a, .B = B, .T = T, .backward = true };

	atomic_init(&j.next, 0);
	tm_team_run(m->team, attn_part, &j);
	for_rows(m, (int64_t)B * T, kv_reduce_row, m);
}

/* ---- embedding and cross-entropy ---- */

static void embed_row(const void *arg, int64_t i)
{
	const struct tm_model *m = arg;

	memcpy(m->a[0].x + i * m->D, m->emb + (int64_t)m->tokens[i] * m->D,
	       m->D * sizeof(float));
}

/* Every row's gradient into the columns [lo, hi) of the table, so that
 * members never add into the same floats whatever the tokens. */
static void embed_bwd_range(const void *arg, int64_t lo, int64_t hi)
{
	const struct tm_model *m = arg;
	int64_t i, N = (int64_t)m->B * m->T;

	for (i = 0; i < N; i++)
		add_into(m->gemb + (int64_t)m->tokens[i] * m->D + lo, m->dres + i * m->D + lo,
			 (int)(hi - lo));
}

/* A scored row: lse = log sum exp(logits), loss = lse - logits[target]. */
static void ce_row(const void *arg, int64_t i)
{
	const struct tm_model *m = arg;
	const float *l = m->logits + i * m->V;
	double sum;
	float mx;

	if (m->targets[i] < 0) {
		m->ce_lse[i] = m->ce_loss[i] = 0;
		return;
	}
	mx = row_max(l, m->V);
	sum = sum_exp_sub(l, mx, m->V);
	m->ce_lse[i] = mx + (float)log(sum);
	m->ce_loss[i] = (float)(mx + log(sum) - l[m->targets[i]]);
}

/* The logit gradients of vocabulary columns [v0, v0 + nv) into dlog [N, nv]:
 * scale (softmax - onehot) on scored rows, 0 elsewhere. */
struct ce_bwd {
	struct tm_model *m;
	int v0, nv;
	float scale;
};

static void ce_bwd_row(const void *arg, int64_t i)
{
	const struct ce_bwd *j = arg;
	const struct tm_model *m = j->m;
	const float *l = m->logits + i * m->V + j->v0;
	float *d = m->dlog + i * j->nv, lse = m->ce_lse[i];
	int t = m->targets[i] - j->v0;

	if (m->targets[i] < 0) {
		memset(d, 0, j->nv * sizeof(float));
		return;
	}
	exp_sub_scaled(d, l, lse, j->scale, j->nv);
	if (t >= 0 && t < j->nv)
		d[t] -= j->scale;
}

/* ---- forward and backward ---- */

float tm_model_forward(struct tm_model *m, const int32_t *tokens, const int32_t *targets,
		       int B, int T, int32_t bos_id)
{
	int N = B * T, D = m->D, l, b, t;
	double sum = 0;
	int64_t i;

	if (B <= 0 || T <= 0 || T > m->Tmax || (int64_t)B * T > (int64_t)m->Bmax * m->Tmax)
		BUG("batch %d x %d outside the model's %d x %d", B, T, m->Bmax, m->Tmax);
	m->ready = false;
	m->B = B;
	m->T = T;
	m->scored = 0;
	for (i = 0; i < N; i++) {
		if (tokens[i] < 0 || tokens[i] >= m->V)
			return NAN;
		if (targets && (targets[i] < -1 || targets[i] >= m->V))
			return NAN;
		m->tokens[i] = tokens[i];
		m->targets[i] = targets ? targets[i] : -1;
		m->scored += m->targets[i] >= 0;
	}
	for (b = 0; b < B; b++) {
		int32_t *doc = m->doc + (int64_t)b * T;

		for (t = 0; t < T; t++)
			doc[t] = t == 0 || (bos_id >= 0 && tokens[(int64_t)b * T + t] == bos_id) ?
				 t : doc[t - 1];
	}

	for_rows(m, N, embed_row, m);
	for (l = 0; l < m->L; l++) {
		struct acts *a = &m->a[l];
		struct layer *p = &m->pl[l];
		/* the FFN output of the layer before still lacks its residual */
		const float *prev = l ? m->a[l - 1].xa : NULL;

		rmsnorm_forward(m, a->ln1, a->rstd1, a->x, prev, p->norm1, N);
		linear_forward(m, a->qkv, a->ln1, p->wqkv, N, D, m->QKV);
		rope(m, a->qkv, N, T, 1);
		attention_forward(m, a, B, T);
		linear_forward(m, a->xa, a->att, p->wo, N, m->Q, D);
		rmsnorm_forward(m, a->ln2, a->rstd2, a->xa, a->x, p->norm2, N);
		linear_forward(m, a->h13, a->ln2, p->w13, N, D, 2 * m->F);
		swiglu_forward(m, a->act, a->h13, N);
		linear_forward(m, l + 1 < m->L ? m->a[l + 1].x : m->xf, a->act, p->w2, N,
			       m->F, D);
	}
	rmsnorm_forward(m, m->lnf, m->rstdf, m->xf, m->a[m->L - 1].xa, m->normf, N);
	linear_forward(m, m->logits, m->lnf, m->lm, N, D, m->V);
	if (!targets)
		return 0;
	for_rows(m, N, ce_row, m);
	for (i = 0; i < N; i++)
		sum += m->ce_loss[i];
	m->ready = true;
	return m->scored ? (float)(sum / m->scored) : NAN;
}

const float *tm_model_logits(const struct tm_model *m)
{
	return m->logits;
}

static void zero_range(const void *arg, int64_t lo, int64_t hi)
{
	const struct tm_model *m = arg;

	memset(m->grads + lo, 0, (size_t)(hi - lo) * sizeof(float));
}

void tm_model_zero_grad(struct tm_model *m)
{
	for_ranges(m, m->nparams, zero_range, m);
}

struct tm_team *tm_model_team(struct tm_model *m)
{
	return m->team;
}

void tm_model_backward(struct tm_model *m, float loss_scale)
{
	int N = m->B * m->T, D = m->D, F = m->F, v0, l;

	if (!m->ready)
		BUG("tm_model_backward without a forward pass with targets");
	if (!m->scored)
		return;

	/* lm_head, a vocabulary chunk at a time */
	for (v0 = 0; v0 < m->V; v0 += m->vchunk) {
		struct ce_bwd c = { m, v0, TM_MIN(m->vchunk, m->V - v0),
				    loss_scale / (float)m->scored };

		for_rows(m, N, ce_bwd_row, &c);
		gemm(m, CblasNoTrans, CblasNoTrans, N, D, c.nv, m->dlog, c.nv,
		     m->lm + (int64_t)v0 * D, D, v0 ? 1 : 0, m->dln, D);
		gemm(m, CblasTrans, CblasNoTrans, c.nv, D, N, m->dlog, c.nv, m->lnf, D, 1,
		     m->glm + (int64_t)v0 * D, D);
	}
	rmsnorm_backward(m, m->dres, false, m->gnormf, m->dln, m->xf, m->rstdf, m->normf, N);

	for (l = m->L - 1; l >= 0; l--) {
		struct acts *a = &m->a[l];
		struct layer *p = &m->pl[l], *g = &m->gl[l];

		/* dres: d(loss)/d(residual after the FFN) */
		linear_backward(m, m->dact, 0, g->w2, m->dres, a->act, p->w2, N, F, D);
		swiglu_backward(m, m->dh13, m->dact, a->h13, N);
		linear_backward(m, m->dln, 0, g->w13, m->dh13, a->ln2, p->w13, N, D, 2 * F);
		rmsnorm_backward(m, m->dres, true, g->norm2, m->dln, a->xa, a->rstd2, p->norm2, N);
		/* dres: d(loss)/d(residual after attention) */
		linear_backward(m, m->datt, 0, g->wo, m->dres, a->att, p->wo, N, m->Q, D);
		attention_backward(m, a, m->B, m->T);
		rope(m, m->dqkv, N, m->T, -1);
		linear_backward(m, m->dln, 0, g->wqkv, m->dqkv, a->ln1, p->wqkv, N, D, m->QKV);
		rmsnorm_backward(m, m->dres, true, g->norm1, m->dln, a->x, a->rstd1, p->norm1, N);
	}
	/* dres: d(loss)/d(embedding output) */
	for_ranges(m, D, embed_bwd_range, m);
}
