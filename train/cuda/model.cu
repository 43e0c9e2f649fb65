/*
 * model.cu: the Llama 3 model on one CUDA device (model_cuda.h), bf16
 * training with fp32 master weights.  The forward/backward sequence is
 * model.c's, step for step (same fusions: q/k/v one product, gate/up one
 * product, residual additions folded into the RMSNorm that follows);
 * what changes is where numbers live:
 *
 *   fp32: master weights, gradients, AdamW moments, the residual stream,
 *         q/k/v (RoPE and attention read fp32), attention output,
 *         gate/up, logits, every row statistic (1/rms, log-sum-exp).
 *   bf16: the weights' working copy and the inputs of every product
 *         (norm outputs, attention output, SwiGLU output, and in
 *         backward the output gradients dy), so each product is
 *         bf16 x bf16 with fp32 accumulation into an fp32 result.
 *
 * Products: cublasGemmEx (CUBLAS_COMPUTE_32F), row-major through the
 * usual transposition (a row-major [M, N] is a column-major [N, M]).
 * Attention: flash-style, never an [T, T] matrix: a block per (row,
 * query head, tile of ATT_TILE queries), one thread per query, K/V tiles
 * in shared memory, online softmax, the log-sum-exp kept for backward;
 * backward in two kernels (dK/dV per kv head and key tile, looping over
 * the group's query heads so GQA never repeats K/V in memory; dQ per
 * query tile), no atomics.  The document mask comes as doc[t], where
 * position t's document starts: t sees s iff doc[t] <= s <= t.
 *
 * Status: compiled, not yet run on a GPU (bench/gpu.sh is the check).
 */
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern "C" {
#include "llama.h"
#include "model.h"
#include "model_cuda.h"
}

typedef __nv_bfloat16 bf16;

#define ATT_TILE 64	/* queries (or keys) per attention block */
#define KV_TILE 32	/* keys (or queries) staged in shared memory at a time */

static void cuda_die(const char *what, const char *msg, const char *file, int line)
{
	fprintf(stderr, "tamis: BUG: %s:%d: %s: %s\n", file, line, what, msg);
	abort();
}

#define CK(x) do { cudaError_t e_ = (x); \
	if (e_ != cudaSuccess) cuda_die(#x, cudaGetErrorString(e_), __FILE__, __LINE__); } while (0)
#define CB(x) do { cublasStatus_t s_ = (x); \
	if (s_ != CUBLAS_STATUS_SUCCESS) cuda_die(#x, cublasGetStatusString(s_), __FILE__, __LINE__); } while (0)
#define LAUNCHED() CK(cudaGetLastError())

static unsigned cdiv(int64_t a, int64_t b)
{
	return (unsigned)((a + b - 1) / b);
}

/* ---- reductions ---- */

__device__ static float warp_sum(float v)
{
	for (int o = 16; o > 0; o >>= 1)
		v += __shfl_xor_sync(0xffffffffu, v, o);
	return v;
}

__device__ static float warp_max(float v)
{
	for (int o = 16; o > 0; o >>= 1)
		v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
	return v;
}

/* The sum over the block (blockDim.x a multiple of 32, <= 1024), to all. */
__device__ static float block_sum(float v)
{
	__shared__ float part[32];
	int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = blockDim.x >> 5;

	v = warp_sum(v);
	__syncthreads();
	if (!lane)
		part[w] = v;
	__syncthreads();
	v = lane < nw ? part[lane] : 0.0f;
	return warp_sum(v);
}

__device__ static float block_max(float v)
{
	__shared__ float part[32];
	int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = blockDim.x >> 5;

	v = warp_max(v);
	__syncthreads();
	if (!lane)
		part[w] = v;
	__syncthreads();
	v = lane < nw ? part[lane] : -INFINITY;
	return warp_max(v);
}

/* ---- elementwise ---- */

__global__ static void k_to_bf16(bf16 *y, const float *x, int64_t n)
{
	int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;

	for (; i < n; i += (int64_t)gridDim.x * blockDim.x)
		y[i] = __float2bfloat16(x[i]);
}

__global__ static void k_from_bf16(float *y, const bf16 *x, int64_t n)
{
	int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;

	for (; i < n; i += (int64_t)gridDim.x * blockDim.x)
		y[i] = __bfloat162float(x[i]);
}

static void to_bf16(bf16 *y, const float *x, int64_t n)
{
	k_to_bf16<<<(unsigned)std::min<int64_t>(cdiv(n, 256), 65535), 256>>>(y, x, n);
	LAUNCHED();
}

/* ---- embedding ---- */

__global__ static void k_embed(float *x, const float *emb, const int32_t *tok, int D)
{
	int64_t i = blockIdx.x;
	const float *e = emb + (int64_t)tok[i] * D;

	for (int d = threadIdx.x; d < D; d += blockDim.x)
		x[i * D + d] = e[d];
}

/* gemb[tok[i]] += dres[i]: atomics, as tokens repeat. */
__global__ static void k_embed_bwd(float *gemb, const float *dres, const int32_t *tok, int D)
{
	int64_t i = blockIdx.x;
	float *g = gemb + (int64_t)tok[i] * D;

	for (int d = threadIdx.x; d < D; d += blockDim.x)
		atomicAdd(&g[d], dres[i * D + d]);
}

/* ---- RMSNorm: x += add; y = x / sqrt(mean(x^2) + eps) * w ---- */

__global__ static void k_rmsnorm_fwd(bf16 *y, float *yf, float *rstd, float *x, const float *add,
				     const float *w, int D, float eps)
{
	int64_t i = blockIdx.x;
	float *xr = x + i * D, ss = 0;

	for (int d = threadIdx.x; d < D; d += blockDim.x) {
		float v = xr[d] + (add ? add[i * D + d] : 0.0f);

		if (add)
			xr[d] = v;
		ss += v * v;
	}
	ss = block_sum(ss);
	float r = 1.0f / sqrtf(ss / D + eps);

	if (!threadIdx.x)
		rstd[i] = r;
	for (int d = threadIdx.x; d < D; d += blockDim.x) {
		float v = xr[d] * r * w[d];

		if (y)
			y[i * D + d] = __float2bfloat16(v);
		if (yf)
			yf[i * D + d] = v;
	}
}

/* dx (+)= r (dy w - x r^2 mean(dy w x)), a block per row. */
__global__ static void k_rmsnorm_dx(float *dx, int acc, const float *dy, const float *x,
				    const float *rstd, const float *w, int D)
{
	int64_t i = blockIdx.x;
	const float *xr = x + i * D, *g = dy + i * D;
	float r = rstd[i], s = 0;

	for (int d = threadIdx.x; d < D; d += blockDim.x)
		s += g[d] * w[d] * xr[d];
	s = block_sum(s);
	float c = s / D * r * r;

	for (int d = threadIdx.x; d < D; d += blockDim.x) {
		float v = r * (g[d] * w[d] - xr[d] * c);

		dx[i * D + d] = acc ? dx[i * D + d] + v : v;
	}
}

/* dw[d] += sum over rows of dy x r: a thread per column, grid.y row slices. */
__global__ static void k_rmsnorm_dw(float *dw, const float *dy, const float *x, const float *rstd,
				    int N, int D, int rows_per)
{
	int d = blockIdx.x * blockDim.x + threadIdx.x;
	int64_t lo = (int64_t)blockIdx.y * rows_per, hi = min((int64_t)N, lo + rows_per);
	float s = 0;

	if (d >= D)
		return;
	for (int64_t i = lo; i < hi; i++)
		s += dy[i * D + d] * x[i * D + d] * rstd[i];
	atomicAdd(&dw[d], s);
}

static void rmsnorm_fwd(bf16 *y, float *yf, float *rstd, float *x, const float *add,
			const float *w, int N, int D, float eps)
{
	k_rmsnorm_fwd<<<N, 256>>>(y, yf, rstd, x, add, w, D, eps);
	LAUNCHED();
}

static void rmsnorm_bwd(float *dx, bool acc, float *dw, const float *dy, const float *x,
			const float *rstd, const float *w, int N, int D)
{
	int rows_per = 256;

	k_rmsnorm_dx<<<N, 256>>>(dx, acc, dy, x, rstd, w, D);
	LAUNCHED();
	k_rmsnorm_dw<<<dim3(cdiv(D, 128), cdiv(N, rows_per)), 128>>>(dw, dy, x, rstd, N, D,
								       rows_per);
	LAUNCHED();
}

/* ---- RoPE (rotate_half): pair (x[i], x[i + hd/2]) by pos * inv_freq[i] ---- */

__global__ static void k_rope(float *x, int64_t N, int T, int ld, int nheads, int hd,
			      const float *cs, const float *sn, float sign)
{
	int half = hd / 2;
	int64_t idx = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
	int64_t total = N * nheads * half;

	if (idx >= total)
		return;
	int i = (int)(idx % half);
	int h = (int)(idx / half % nheads);
	int64_t row = idx / half / nheads;
	int p = (int)(row % T);
	float *v = x + row * ld + h * hd;
	float c = cs[p * half + i], s = sign * sn[p * half + i];
	float a = v[i], b = v[i + half];

	v[i] = a * c - b * s;
	v[i + half] = b * c + a * s;
}

static void rope(float *x, int N, int T, int ld, int nheads, int hd, const float *cs,
		 const float *sn, float sign)
{
	int64_t total = (int64_t)N * nheads * (hd / 2);

	k_rope<<<cdiv(total, 256), 256>>>(x, N, T, ld, nheads, hd, cs, sn, sign);
	LAUNCHED();
}

/* ---- SwiGLU: act = silu(gate) up; h13 rows [gate | up] ---- */

__global__ static void k_swiglu_fwd(bf16 *act, float *actf, const float *h13, int64_t N, int F)
{
	int64_t idx = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;

	if (idx >= N * F)
		return;
	int64_t i = idx / F;
	int f = (int)(idx % F);
	float g = h13[i * 2 * F + f], u = h13[i * 2 * F + F + f];
	float v = g * (1.0f / (1.0f + expf(-g))) * u;

	act[idx] = __float2bfloat16(v);
	if (actf)
		actf[idx] = v;
}

/* d gate = dact up s (1 + g (1 - s)), d up = dact g s; into bf16 (a product's dy),
 * and into fp32 too when dh13f (the kernel check). */
__global__ static void k_swiglu_bwd(bf16 *dh13, float *dh13f, const float *dact,
				    const float *h13, int64_t N, int F)
{
	int64_t idx = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;

	if (idx >= N * F)
		return;
	int64_t i = idx / F;
	int f = (int)(idx % F);
	float g = h13[i * 2 * F + f], u = h13[i * 2 * F + F + f], da = dact[idx];
	float s = 1.0f / (1.0f + expf(-g));
	float dg = da * u * s * (1 + g * (1 - s)), du = da * g * s;

	dh13[i * 2 * F + f] = __float2bfloat16(dg);
	dh13[i * 2 * F + F + f] = __float2bfloat16(du);
	if (dh13f) {
		dh13f[i * 2 * F + f] = dg;
		dh13f[i * 2 * F + F + f] = du;
	}
}

/* ---- cross-entropy: a block per row, fp32 ---- */

/* lse and loss of scored rows (target >= 0), 0 for the others; the loss
 * summed into *sum (double) for the mean. */
__global__ static void k_ce_fwd(float *lse, float *loss, double *sum, const float *logits,
				const int32_t *targets, int V)
{
	int64_t i = blockIdx.x;
	const float *l = logits + i * V;
	int t = targets[i];

	if (t < 0) {
		if (!threadIdx.x)
			lse[i] = loss[i] = 0;
		return;
	}
	float mx = -INFINITY, s = 0;

	for (int v = threadIdx.x; v < V; v += blockDim.x)
		mx = fmaxf(mx, l[v]);
	mx = block_max(mx);
	for (int v = threadIdx.x; v < V; v += blockDim.x)
		s += expf(l[v] - mx);
	s = block_sum(s);
	if (!threadIdx.x) {
		float z = mx + logf(s);

		lse[i] = z;
		loss[i] = z - l[t];
		if (sum)
			atomicAdd(sum, (double)(z - l[t]));
	}
}

/* dlogits = scale (softmax - onehot) on scored rows, 0 elsewhere. */
__global__ static void k_ce_bwd(bf16 *dlog, float *dlogf, const float *logits, const float *lse,
				const int32_t *targets, int V, float scale)
{
	int64_t i = blockIdx.x;
	const float *l = logits + i * V;
	int t = targets[i];
	float z = lse[i];

	for (int v = threadIdx.x; v < V; v += blockDim.x) {
		float d = t < 0 ? 0.0f : scale * expf(l[v] - z) - (v == t ? scale : 0.0f);

		if (dlog)
			dlog[i * V + v] = __float2bfloat16(d);
		if (dlogf)
			dlogf[i * V + v] = d;
	}
}

/* ---- attention ---- */

/* Keys and values s0 .. s0 + ns - 1 of one kv head (at columns ko, vo of
 * each row) into shared memory, [ns, hd] each; the block waits before and after. */
__device__ static void stage_kv(float *ks, float *vs, const float *base, int s0, int ns, int hd,
				int ld, int ko, int vo)
{
	__syncthreads();
	for (int e = threadIdx.x; e < ns * hd; e += blockDim.x) {
		int s = e / hd, d = e % hd;
		const float *r = base + (int64_t)(s0 + s) * ld;

		ks[s * hd + d] = r[ko + d];
		vs[s * hd + d] = r[vo + d];
	}
	__syncthreads();
}

/*
 * Forward: block (query tile, head h, row b); thread j owns query
 * t = tile * ATT_TILE + j: q in registers, output and running max/sum
 * online.  Keys [doc[first query], last query] are staged KV_TILE at a
 * time.  HD: head_dim at compile time (0: the runtime hd, at most 128).
 */
template <int HD>
__global__ static void k_attn_fwd(float *out, float *lse, const float *qkv, const int32_t *doc,
				  int T, int H, int KV, int hd_rt, int ld, int Qd, int KVd)
{
	const int hd = HD ? HD : hd_rt;
	const int MAXD = HD ? HD : 128;
	int b = blockIdx.z, h = blockIdx.y, g = h / (H / KV);
	int t0 = blockIdx.x * ATT_TILE, t = t0 + threadIdx.x;
	int tl = min(T, t0 + ATT_TILE) - 1;	/* the tile's last query */
	extern __shared__ float sm[];
	float *ks = sm, *vs = sm + KV_TILE * hd;
	const int32_t *dr = doc + (int64_t)b * T;
	const float *base = qkv + (int64_t)b * T * ld;
	float q[MAXD], o[MAXD];
	float scale = 1.0f / sqrtf((float)hd), mx = -INFINITY, sum = 0;
	bool live = t < T;
	int lo = live ? dr[t] : 0;

	for (int d = 0; d < hd; d++) {
		q[d] = live ? base[(int64_t)t * ld + h * hd + d] * scale : 0.0f;
		o[d] = 0;
	}
	for (int s0 = dr[t0]; s0 <= tl; s0 += KV_TILE) {
		int ns = min(KV_TILE, tl + 1 - s0);

		stage_kv(ks, vs, base, s0, ns, hd, ld, Qd + g * hd, Qd + KVd + g * hd);
		if (!live)
			continue;
		for (int s = 0; s < ns; s++) {
			int key = s0 + s;

			if (key < lo || key > t)
				continue;
			float x = 0;

			for (int d = 0; d < hd; d++)
				x += q[d] * ks[s * hd + d];
			if (x > mx) {
				float c = expf(mx - x);

				sum *= c;
				for (int d = 0; d < hd; d++)
					o[d] *= c;
				mx = x;
			}
			float p = expf(x - mx);

			sum += p;
			for (int d = 0; d < hd; d++)
				o[d] += p * vs[s * hd + d];
		}
	}
	if (!live)
		return;
	for (int d = 0; d < hd; d++)
		out[((int64_t)b * T + t) * Qd + h * hd + d] = o[d] / sum;
	lse[((int64_t)b * T + t) * H + h] = mx + logf(sum);
}

/* Dsum[i, h] = sum over d of dO * O (FlashAttention's D), a warp per (i, h). */
__global__ static void k_attn_dsum(float *dsum, const float *dout, const float *out, int64_t NH,
				   int hd)
{
	int64_t w = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) / 32;
	int lane = threadIdx.x & 31;

	if (w >= NH)
		return;
	float s = 0;

	for (int d = lane; d < hd; d += 32)
		s += dout[w * hd + d] * out[w * hd + d];
	s = warp_sum(s);
	if (!lane)
		dsum[w] = s;
}

/*
 * dK, dV: block (key tile, kv head g, row b), thread j owns key s; for
 * each query head of the group and each query t >= s of s's document:
 * p = exp(q.k scale - lse), dV += p dO, dS = p (dO.v - Dsum), dK += dS q scale.
 * Queries are staged KV_TILE at a time; the loop stops at the first query
 * tile whose document starts after the key tile's last key.
 */
template <int HD>
__global__ static void k_attn_dkdv(float *dqkv, const float *qkv, const float *dout,
				   const float *lse, const float *dsum, const int32_t *doc, int T,
				   int H, int KV, int hd_rt, int ld, int Qd, int KVd)
{
	const int hd = HD ? HD : hd_rt;
	const int MAXD = HD ? HD : 128;
	int b = blockIdx.z, g = blockIdx.y, per = H / KV;
	int s0 = blockIdx.x * ATT_TILE, s = s0 + threadIdx.x;
	int sl = min(T, s0 + ATT_TILE) - 1;
	extern __shared__ float sm[];
	float *qs = sm, *dos = sm + KV_TILE * hd, *ls = dos + KV_TILE * hd, *ds = ls + KV_TILE;
	const int32_t *dr = doc + (int64_t)b * T;
	const float *base = qkv + (int64_t)b * T * ld;
	float k[MAXD], v[MAXD], dk[MAXD], dv[MAXD];
	float scale = 1.0f / sqrtf((float)hd);
	bool live = s < T;

	for (int d = 0; d < hd; d++) {
		k[d] = live ? base[(int64_t)s * ld + Qd + g * hd + d] : 0.0f;
		v[d] = live ? base[(int64_t)s * ld + Qd + KVd + g * hd + d] : 0.0f;
		dk[d] = dv[d] = 0;
	}
	for (int hh = 0; hh < per; hh++) {
		int h = g * per + hh;

		for (int t0 = s0; t0 < T && dr[t0] <= sl; t0 += KV_TILE) {
			int nt = min(KV_TILE, T - t0);

			__syncthreads();
			for (int e = threadIdx.x; e < nt * hd; e += blockDim.x) {
				int i = e / hd, d = e % hd;
				int64_t row = (int64_t)b * T + t0 + i;

				qs[i * hd + d] = base[(int64_t)(t0 + i) * ld + h * hd + d];
				dos[i * hd + d] = dout[row * Qd + h * hd + d];
			}
			for (int i = threadIdx.x; i < nt; i += blockDim.x) {
				int64_t row = (int64_t)b * T + t0 + i;

				ls[i] = lse[row * H + h];
				ds[i] = dsum[row * H + h];
			}
			__syncthreads();
			if (!live)
				continue;
			for (int i = 0; i < nt; i++) {
				int t = t0 + i;

				if (t < s || dr[t] > s)
					continue;
				float x = 0, dp = 0;

				for (int d = 0; d < hd; d++) {
					x += qs[i * hd + d] * k[d];
					dp += dos[i * hd + d] * v[d];
				}
				float p = expf(x * scale - ls[i]);
				float dsc = p * (dp - ds[i]) * scale;

				for (int d = 0; d < hd; d++) {
					dv[d] += p * dos[i * hd + d];
					dk[d] += dsc * qs[i * hd + d];
				}
			}
		}
	}
	if (!live)
		return;
	float *r = dqkv + ((int64_t)b * T + s) * ld;

	for (int d = 0; d < hd; d++) {
		r[Qd + g * hd + d] = dk[d];
		r[Qd + KVd + g * hd + d] = dv[d];
	}
}

/* dQ: block (query tile, head h, row b), thread j owns query t; keys of
 * its document up to t: dQ += p (dO.v - Dsum) scale k. */
template <int HD>
__global__ static void k_attn_dq(float *dqkv, const float *qkv, const float *dout,
				 const float *lse, const float *dsum, const int32_t *doc, int T,
				 int H, int KV, int hd_rt, int ld, int Qd, int KVd)
{
	const int hd = HD ? HD : hd_rt;
	const int MAXD = HD ? HD : 128;
	int b = blockIdx.z, h = blockIdx.y, g = h / (H / KV);
	int t0 = blockIdx.x * ATT_TILE, t = t0 + threadIdx.x;
	int tl = min(T, t0 + ATT_TILE) - 1;
	extern __shared__ float sm[];
	float *ks = sm, *vs = sm + KV_TILE * hd;
	const int32_t *dr = doc + (int64_t)b * T;
	const float *base = qkv + (int64_t)b * T * ld;
	float q[MAXD], dO[MAXD], dq[MAXD];
	float scale = 1.0f / sqrtf((float)hd), L = 0, Ds = 0;
	bool live = t < T;
	int lo = live ? dr[t] : 0;
	int64_t row = (int64_t)b * T + t;

	for (int d = 0; d < hd; d++) {
		q[d] = live ? base[(int64_t)t * ld + h * hd + d] : 0.0f;
		dO[d] = live ? dout[row * Qd + h * hd + d] : 0.0f;
		dq[d] = 0;
	}
	if (live) {
		L = lse[row * H + h];
		Ds = dsum[row * H + h];
	}
	for (int s0 = dr[t0]; s0 <= tl; s0 += KV_TILE) {
		int ns = min(KV_TILE, tl + 1 - s0);

		stage_kv(ks, vs, base, s0, ns, hd, ld, Qd + g * hd, Qd + KVd + g * hd);
		if (!live)
			continue;
		for (int s = 0; s < ns; s++) {
			int key = s0 + s;

			if (key < lo || key > t)
				continue;
			float x = 0, dp = 0;

			for (int d = 0; d < hd; d++) {
				x += q[d] * ks[s * hd + d];
				dp += dO[d] * vs[s * hd + d];
			}
			float p = expf(x * scale - L);
			float dsc = p * (dp - Ds) * scale;

			for (int d = 0; d < hd; d++)
				dq[d] += dsc * ks[s * hd + d];
		}
	}
	if (!live)
		return;
	for (int d = 0; d < hd; d++)
		dqkv[row * ld + h * hd + d] = dq[d];
}

struct attn_shape {
	int B, T, H, KV, hd, ld, Qd, KVd;
};

static void attn_fwd(const struct attn_shape *a, float *out, float *lse, const float *qkv,
		     const int32_t *doc)
{
	dim3 grid(cdiv(a->T, ATT_TILE), a->H, a->B);
	size_t sh = 2 * KV_TILE * a->hd * sizeof(float);

	if (a->hd == 64)
		k_attn_fwd<64><<<grid, ATT_TILE, sh>>>(out, lse, qkv, doc, a->T, a->H, a->KV,
						       a->hd, a->ld, a->Qd, a->KVd);
	else if (a->hd == 128)
		k_attn_fwd<128><<<grid, ATT_TILE, sh>>>(out, lse, qkv, doc, a->T, a->H, a->KV,
							a->hd, a->ld, a->Qd, a->KVd);
	else
		k_attn_fwd<0><<<grid, ATT_TILE, sh>>>(out, lse, qkv, doc, a->T, a->H, a->KV,
						      a->hd, a->ld, a->Qd, a->KVd);
	LAUNCHED();
}

/* dqkv's q, k and v parts (before RoPE's backward) from dout = d(att). */
static void attn_bwd(const struct attn_shape *a, float *dqkv, float *dsum, const float *qkv,
		     const float *out, const float *dout, const float *lse, const int32_t *doc)
{
	int64_t NH = (int64_t)a->B * a->T * a->H;
	dim3 gq(cdiv(a->T, ATT_TILE), a->H, a->B), gk(cdiv(a->T, ATT_TILE), a->KV, a->B);
	size_t shq = 2 * KV_TILE * a->hd * sizeof(float);
	size_t shk = (2 * KV_TILE * a->hd + 2 * KV_TILE) * sizeof(float);

	k_attn_dsum<<<cdiv(NH * 32, 256), 256>>>(dsum, dout, out, NH, a->hd);
	LAUNCHED();
#define ATT_BWD(HD_) do { \
		k_attn_dkdv<HD_><<<gk, ATT_TILE, shk>>>(dqkv, qkv, dout, lse, dsum, doc, a->T, \
			a->H, a->KV, a->hd, a->ld, a->Qd, a->KVd); \
		LAUNCHED(); \
		k_attn_dq<HD_><<<gq, ATT_TILE, shq>>>(dqkv, qkv, dout, lse, dsum, doc, a->T, \
			a->H, a->KV, a->hd, a->ld, a->Qd, a->KVd); \
		LAUNCHED(); \
	} while (0)
	if (a->hd == 64)
		ATT_BWD(64);
	else if (a->hd == 128)
		ATT_BWD(128);
	else
		ATT_BWD(0);
#undef ATT_BWD
}

/* ---- gradient norm and AdamW ---- */

__global__ static void k_sumsq(double *out, const float *g, int64_t n)
{
	double s = 0;

	for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
	     i += (int64_t)gridDim.x * blockDim.x)
		s += (double)g[i] * g[i];
	for (int o = 16; o > 0; o >>= 1)
		s += __shfl_xor_sync(0xffffffffu, s, o);
	if (!(threadIdx.x & 31))
		atomicAdd(out, s);
}

/* optim.c's tm_grad_clip and tm_adamw_update, term for term, fused. */
__global__ static void k_adamw(float *p32, bf16 *p16, float *m1, float *m2, const float *grad,
			       const unsigned char *decay_mask, int64_t n, double b1, double b2,
			       double eps, float decay, double step_size, double bc2_sqrt,
			       double clip)
{
	for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
	     i += (int64_t)gridDim.x * blockDim.x) {
		float g = grad[i];

		if (clip < 1.0)
			g = (float)(g * clip);
		float m = (float)(b1 * m1[i] + (1 - b1) * g);
		float v = (float)(b2 * m2[i] + (1 - b2) * (double)g * g);
		double denom = sqrt((double)v) / bc2_sqrt + eps;
		float p = p32[i];

		if (decay_mask[i])
			p *= decay;
		p = (float)(p - step_size * m / denom);
		p32[i] = p;
		p16[i] = __float2bfloat16(p);
		m1[i] = m;
		m2[i] = v;
	}
}

/* ---- products ---- */

/*
 * Row-major C[M, N] = op(A) op(B) (+ C when beta 1), A and B bf16, C fp32.
 * ta/tb: whether A / B are stored transposed ([K, M] / [N, K]).
 */
static void mm(cublasHandle_t hd, bool ta, bool tb, int M, int N, int K, const bf16 *A, int lda,
	       const bf16 *B, int ldb, float beta, float *C, int ldc)
{
	float one = 1.0f;

	CB(cublasGemmEx(hd, tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N, N, M,
			K, &one, B, CUDA_R_16BF, ldb, A, CUDA_R_16BF, lda, &beta, C, CUDA_R_32F,
			ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

/* ---- the model ---- */

struct clayer {
	float *norm1, *wqkv, *wo, *norm2, *w13, *w2;	/* fp32 views */
	bf16 *hwqkv, *hwo, *hw13, *hw2;			/* bf16 views */
};

struct cacts {
	float *x;	/* [N, D] residual entering the layer */
	bf16 *ln1;	/* [N, D] */
	float *rstd1;	/* [N] */
	float *qkv;	/* [N, QKV] q, k after RoPE, v */
	float *lse;	/* [N, H] */
	float *att;	/* [N, Q] */
	bf16 *hatt;	/* [N, Q] bf16 copy, o_proj's input */
	float *xa;	/* [N, D] */
	bf16 *ln2;	/* [N, D] */
	float *rstd2;	/* [N] */
	float *h13;	/* [N, 2F] (shared by the layers with recompute) */
	bf16 *act;	/* [N, F] (shared with recompute) */
};

struct tm_cmodel {
	struct tm_llama_config c;
	int Bmax, Tmax, D, H, KV, hd, Q, KVd, QKV, F, V, L;
	bool recompute;
	int64_t nparams;
	struct tm_llama_tensor *tens;
	size_t ntens;
	cublasHandle_t blas;

	float *p32, *grads, *m1, *m2;	/* [nparams] */
	bf16 *p16;
	unsigned char *decay;
	struct clayer *pl, *gl;
	float *emb, *normf, *gemb, *gnormf, *glm;
	bf16 *hlm;

	struct cacts *a;
	float *xf, *rstdf, *logits, *ce_lse, *ce_loss;
	bf16 *lnf;
	float *dres, *dln, *datt, *dqkv, *dact, *dsum;
	bf16 *hdres, *hdqkv, *hdh13, *hdlog;
	float *rope_cos, *rope_sin;
	int32_t *tokens, *targets, *doc;
	double *dsc;	/* [1] a scalar for reductions */

	void **allocs;	/* every cudaMalloc, for free */
	size_t nallocs, bytes;

	float *hlogits;	/* host mirror */
	int32_t *hdoc;
	int B, T;
	int64_t scored;
	bool ready;
};

static void *dalloc(struct tm_cmodel *m, size_t bytes, bool *ok)
{
	void *p = NULL;

	if (!*ok)
		return NULL;
	if (cudaMalloc(&p, bytes ? bytes : 1) != cudaSuccess) {
		*ok = false;
		return NULL;
	}
	m->allocs[m->nallocs++] = p;
	m->bytes += bytes;
	return p;
}

extern "C" int tm_cuda_devices(const char **why)
{
	int n = 0;
	cudaError_t e = cudaGetDeviceCount(&n);

	if (e != cudaSuccess) {
		*why = cudaGetErrorString(e);
		return -1;
	}
	if (!n)
		*why = "no CUDA device";
	return n;
}

static void point(struct tm_cmodel *m, float *blk, bf16 *hblk, struct clayer *ly)
{
	const struct tm_llama_tensor *t = m->tens;

	for (int l = 0; l < m->L; l++, t += 9) {
		ly[l].norm1 = blk + t[1].offset;
		ly[l].wqkv = blk + t[2].offset;
		ly[l].wo = blk + t[5].offset;
		ly[l].norm2 = blk + t[6].offset;
		ly[l].w13 = blk + t[7].offset;
		ly[l].w2 = blk + t[9].offset;
		if (hblk) {
			ly[l].hwqkv = hblk + t[2].offset;
			ly[l].hwo = hblk + t[5].offset;
			ly[l].hw13 = hblk + t[7].offset;
			ly[l].hw2 = hblk + t[9].offset;
		}
	}
}

extern "C" struct tm_cmodel *tm_cmodel_new(const struct tm_llama_config *c, int B, int T,
					   bool recompute, const char **why)
{
	const char *bad = tm_llama_check(c);
	struct tm_cmodel *m;
	bool ok = true;
	size_t N = (size_t)B * T, F, fl = sizeof(float), hl = sizeof(bf16);
	int l;

	if (!bad && (B <= 0 || T <= 0))
		bad = "batch size and sequence length must be positive";
	if (!bad && T > c->max_seq_len)
		bad = "sequence length exceeds the configuration's max_seq_len";
	if (!bad && tm_llama_head_dim(c) > 128)
		bad = "head_dim above 128 (the CUDA attention's limit)";
	if (bad) {
		*why = bad;
		return NULL;
	}
	if (tm_cuda_devices(why) <= 0)
		return NULL;
	if (cudaSetDevice(0) != cudaSuccess) {
		*why = "cannot select CUDA device 0";
		return NULL;
	}
	m = (struct tm_cmodel *)calloc(1, sizeof(*m));
	if (!m) {
		*why = "out of memory";
		return NULL;
	}
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
	m->recompute = recompute;
	m->nparams = tm_llama_num_params(c);
	m->ntens = tm_llama_tensors(c, NULL, 0);
	m->tens = (struct tm_llama_tensor *)calloc(m->ntens, sizeof(*m->tens));
	m->pl = (struct clayer *)calloc(m->L, sizeof(*m->pl));
	m->gl = (struct clayer *)calloc(m->L, sizeof(*m->gl));
	m->a = (struct cacts *)calloc(m->L, sizeof(*m->a));
	m->allocs = (void **)calloc(64 + 16 * (size_t)m->L, sizeof(void *));
	m->hlogits = (float *)malloc(N * m->V * fl);
	m->hdoc = (int32_t *)malloc(N * sizeof(int32_t));
	if (!m->tens || !m->pl || !m->gl || !m->a || !m->allocs || !m->hlogits || !m->hdoc) {
		*why = "out of memory";
		tm_cmodel_free(m);
		return NULL;
	}
	tm_llama_tensors(c, m->tens, m->ntens);
	if (cublasCreate(&m->blas) != CUBLAS_STATUS_SUCCESS) {
		*why = "cublasCreate failed";
		tm_cmodel_free(m);
		return NULL;
	}
	F = m->F;
	m->p32 = (float *)dalloc(m, m->nparams * fl, &ok);
	m->grads = (float *)dalloc(m, m->nparams * fl, &ok);
	m->m1 = (float *)dalloc(m, m->nparams * fl, &ok);
	m->m2 = (float *)dalloc(m, m->nparams * fl, &ok);
	m->p16 = (bf16 *)dalloc(m, m->nparams * hl, &ok);
	m->decay = (unsigned char *)dalloc(m, m->nparams, &ok);
	for (l = 0; l < m->L; l++) {
		struct cacts *a = &m->a[l];

		a->x = (float *)dalloc(m, N * m->D * fl, &ok);
		a->ln1 = (bf16 *)dalloc(m, N * m->D * hl, &ok);
		a->rstd1 = (float *)dalloc(m, N * fl, &ok);
		a->qkv = (float *)dalloc(m, N * m->QKV * fl, &ok);
		a->lse = (float *)dalloc(m, N * m->H * fl, &ok);
		a->att = (float *)dalloc(m, N * m->Q * fl, &ok);
		a->hatt = (bf16 *)dalloc(m, N * m->Q * hl, &ok);
		a->xa = (float *)dalloc(m, N * m->D * fl, &ok);
		a->ln2 = (bf16 *)dalloc(m, N * m->D * hl, &ok);
		a->rstd2 = (float *)dalloc(m, N * fl, &ok);
		if (!recompute || !l) {
			a->h13 = (float *)dalloc(m, N * 2 * F * fl, &ok);
			a->act = (bf16 *)dalloc(m, N * F * hl, &ok);
		} else {
			a->h13 = m->a[0].h13;
			a->act = m->a[0].act;
		}
	}
	m->xf = (float *)dalloc(m, N * m->D * fl, &ok);
	m->lnf = (bf16 *)dalloc(m, N * m->D * hl, &ok);
	m->rstdf = (float *)dalloc(m, N * fl, &ok);
	m->logits = (float *)dalloc(m, N * m->V * fl, &ok);
	m->ce_lse = (float *)dalloc(m, N * fl, &ok);
	m->ce_loss = (float *)dalloc(m, N * fl, &ok);
	m->dres = (float *)dalloc(m, N * m->D * fl, &ok);
	m->dln = (float *)dalloc(m, N * m->D * fl, &ok);
	m->datt = (float *)dalloc(m, N * m->Q * fl, &ok);
	m->dqkv = (float *)dalloc(m, N * m->QKV * fl, &ok);
	m->dact = (float *)dalloc(m, N * F * fl, &ok);
	m->dsum = (float *)dalloc(m, N * m->H * fl, &ok);
	m->hdres = (bf16 *)dalloc(m, N * m->D * hl, &ok);
	m->hdqkv = (bf16 *)dalloc(m, N * m->QKV * hl, &ok);
	m->hdh13 = (bf16 *)dalloc(m, N * 2 * F * hl, &ok);
	m->hdlog = (bf16 *)dalloc(m, N * m->V * hl, &ok);
	m->rope_cos = (float *)dalloc(m, (size_t)T * (m->hd / 2) * fl, &ok);
	m->rope_sin = (float *)dalloc(m, (size_t)T * (m->hd / 2) * fl, &ok);
	m->tokens = (int32_t *)dalloc(m, N * sizeof(int32_t), &ok);
	m->targets = (int32_t *)dalloc(m, N * sizeof(int32_t), &ok);
	m->doc = (int32_t *)dalloc(m, N * sizeof(int32_t), &ok);
	m->dsc = (double *)dalloc(m, sizeof(double), &ok);
	if (!ok) {
		*why = "out of device memory";
		tm_cmodel_free(m);
		return NULL;
	}
	{
		const struct tm_llama_tensor *t = m->tens;
		size_t nt = m->ntens;
		unsigned char *dm = (unsigned char *)calloc((size_t)m->nparams, 1);
		float *cs = (float *)malloc((size_t)T * (m->hd / 2) * fl);
		float *sn = (float *)malloc((size_t)T * (m->hd / 2) * fl);

		if (!dm || !cs || !sn || tm_llama_rope_tables(c, T, cs, sn) < 0) {
			free(dm);
			free(cs);
			free(sn);
			*why = "out of memory";
			tm_cmodel_free(m);
			return NULL;
		}
		for (size_t i = 0; i < nt; i++)
			if (t[i].decay)
				memset(dm + t[i].offset, 1, (size_t)t[i].numel);
		CK(cudaMemcpy(m->decay, dm, (size_t)m->nparams, cudaMemcpyHostToDevice));
		CK(cudaMemcpy(m->rope_cos, cs, (size_t)T * (m->hd / 2) * fl,
			      cudaMemcpyHostToDevice));
		CK(cudaMemcpy(m->rope_sin, sn, (size_t)T * (m->hd / 2) * fl,
			      cudaMemcpyHostToDevice));
		free(dm);
		free(cs);
		free(sn);
		m->emb = m->p32 + t[0].offset;
		m->normf = m->p32 + t[nt - 2].offset;
		m->hlm = m->p16 + t[nt - 1].offset;
		m->gemb = m->grads + t[0].offset;
		m->gnormf = m->grads + t[nt - 2].offset;
		m->glm = m->grads + t[nt - 1].offset;
	}
	point(m, m->p32, m->p16, m->pl);
	point(m, m->grads, NULL, m->gl);
	CK(cudaMemset(m->p32, 0, m->nparams * fl));
	CK(cudaMemset(m->p16, 0, m->nparams * hl));
	CK(cudaMemset(m->grads, 0, m->nparams * fl));
	CK(cudaMemset(m->m1, 0, m->nparams * fl));
	CK(cudaMemset(m->m2, 0, m->nparams * fl));
	*why = NULL;
	return m;
}

extern "C" void tm_cmodel_free(struct tm_cmodel *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nallocs; i++)
		cudaFree(m->allocs[i]);
	if (m->blas)
		cublasDestroy(m->blas);
	free(m->allocs);
	free(m->tens);
	free(m->pl);
	free(m->gl);
	free(m->a);
	free(m->hlogits);
	free(m->hdoc);
	free(m);
}

extern "C" int64_t tm_cmodel_num_params(const struct tm_cmodel *m)
{
	return m->nparams;
}

extern "C" size_t tm_cmodel_bytes(const struct tm_cmodel *m)
{
	return m->bytes;
}

extern "C" void tm_cmodel_upload(struct tm_cmodel *m, const float *params)
{
	CK(cudaMemcpy(m->p32, params, m->nparams * sizeof(float), cudaMemcpyHostToDevice));
	to_bf16(m->p16, m->p32, m->nparams);
	CK(cudaDeviceSynchronize());
	m->ready = false;
}

extern "C" void tm_cmodel_init(struct tm_cmodel *m, uint64_t seed)
{
	float *p = (float *)malloc(m->nparams * sizeof(float));

	if (!p)
		cuda_die("tm_cmodel_init", "out of memory", __FILE__, __LINE__);
	tm_model_init_block(&m->c, seed, p);
	tm_cmodel_upload(m, p);
	free(p);
}

extern "C" void tm_cmodel_download(struct tm_cmodel *m, float *params)
{
	CK(cudaMemcpy(params, m->p32, m->nparams * sizeof(float), cudaMemcpyDeviceToHost));
}

extern "C" void tm_cmodel_download_grads(struct tm_cmodel *m, float *grads)
{
	CK(cudaMemcpy(grads, m->grads, m->nparams * sizeof(float), cudaMemcpyDeviceToHost));
}

extern "C" void tm_cmodel_moments_download(struct tm_cmodel *m, float *m1, float *m2)
{
	CK(cudaMemcpy(m1, m->m1, m->nparams * sizeof(float), cudaMemcpyDeviceToHost));
	CK(cudaMemcpy(m2, m->m2, m->nparams * sizeof(float), cudaMemcpyDeviceToHost));
}

extern "C" void tm_cmodel_moments_upload(struct tm_cmodel *m, const float *m1, const float *m2)
{
	CK(cudaMemcpy(m->m1, m1, m->nparams * sizeof(float), cudaMemcpyHostToDevice));
	CK(cudaMemcpy(m->m2, m2, m->nparams * sizeof(float), cudaMemcpyHostToDevice));
}

/* y[N, out] = x[N, in] W[out, in]^T, into fp32. */
static void linear_fwd(struct tm_cmodel *m, float *y, const bf16 *x, const bf16 *w, int N,
		       int in, int out)
{
	mm(m->blas, false, true, N, out, in, x, in, w, in, 0.0f, y, out);
}

/* dx[N, in] = dy[N, out] W (fp32, overwritten); dW[out, in] += dy^T x. */
static void linear_bwd(struct tm_cmodel *m, float *dx, float *dw, const bf16 *dy, const bf16 *x,
		       const bf16 *w, int N, int in, int out)
{
	mm(m->blas, false, false, N, in, out, dy, out, w, in, 0.0f, dx, in);
	mm(m->blas, true, false, out, in, N, dy, out, x, in, 1.0f, dw, in);
}

static void ffn_up(struct tm_cmodel *m, struct cacts *a, struct clayer *p, int N)
{
	int64_t n = (int64_t)N * m->F;

	linear_fwd(m, a->h13, a->ln2, p->hw13, N, m->D, 2 * m->F);
	k_swiglu_fwd<<<cdiv(n, 256), 256>>>(a->act, NULL, a->h13, N, m->F);
	LAUNCHED();
}

extern "C" float tm_cmodel_forward(struct tm_cmodel *m, const int32_t *tokens,
				   const int32_t *targets, int B, int T, int32_t bos_id)
{
	int N = B * T, D = m->D, l;
	double sum = 0;
	int32_t *htg;

	if (B <= 0 || T <= 0 || T > m->Tmax || (int64_t)B * T > (int64_t)m->Bmax * m->Tmax)
		cuda_die("tm_cmodel_forward", "batch outside the model's", __FILE__, __LINE__);
	m->ready = false;
	m->B = B;
	m->T = T;
	m->scored = 0;
	for (int64_t i = 0; i < N; i++) {
		if (tokens[i] < 0 || tokens[i] >= m->V)
			return NAN;
		if (targets && (targets[i] < -1 || targets[i] >= m->V))
			return NAN;
		m->scored += targets && targets[i] >= 0;
	}
	for (int b = 0; b < B; b++)
		for (int t = 0; t < T; t++) {
			int64_t i = (int64_t)b * T + t;

			m->hdoc[i] = t == 0 || (bos_id >= 0 && tokens[i] == bos_id) ? t :
				     m->hdoc[i - 1];
		}
	CK(cudaMemcpy(m->tokens, tokens, N * sizeof(int32_t), cudaMemcpyHostToDevice));
	CK(cudaMemcpy(m->doc, m->hdoc, N * sizeof(int32_t), cudaMemcpyHostToDevice));
	if (targets) {
		CK(cudaMemcpy(m->targets, targets, N * sizeof(int32_t), cudaMemcpyHostToDevice));
	} else {
		htg = (int32_t *)malloc(N * sizeof(int32_t));
		if (!htg)
			cuda_die("tm_cmodel_forward", "out of memory", __FILE__, __LINE__);
		for (int i = 0; i < N; i++)
			htg[i] = -1;
		CK(cudaMemcpy(m->targets, htg, N * sizeof(int32_t), cudaMemcpyHostToDevice));
		free(htg);
	}

	struct attn_shape as = { B, T, m->H, m->KV, m->hd, m->QKV, m->Q, m->KVd };

	k_embed<<<N, 256>>>(m->a[0].x, m->emb, m->tokens, D);
	LAUNCHED();
	for (l = 0; l < m->L; l++) {
		struct cacts *a = &m->a[l];
		struct clayer *p = &m->pl[l];
		const float *prev = l ? m->a[l - 1].xa : NULL;

		rmsnorm_fwd(a->ln1, NULL, a->rstd1, a->x, prev, p->norm1, N, D, m->c.norm_eps);
		linear_fwd(m, a->qkv, a->ln1, p->hwqkv, N, D, m->QKV);
		rope(a->qkv, N, T, m->QKV, m->H + m->KV, m->hd, m->rope_cos, m->rope_sin, 1.0f);
		attn_fwd(&as, a->att, a->lse, a->qkv, m->doc);
		to_bf16(a->hatt, a->att, (int64_t)N * m->Q);
		linear_fwd(m, a->xa, a->hatt, p->hwo, N, m->Q, D);
		rmsnorm_fwd(a->ln2, NULL, a->rstd2, a->xa, a->x, p->norm2, N, D, m->c.norm_eps);
		ffn_up(m, a, p, N);
		linear_fwd(m, l + 1 < m->L ? m->a[l + 1].x : m->xf, a->act, p->hw2, N, m->F, D);
	}
	rmsnorm_fwd(m->lnf, NULL, m->rstdf, m->xf, m->a[m->L - 1].xa, m->normf, N, D,
		    m->c.norm_eps);
	linear_fwd(m, m->logits, m->lnf, m->hlm, N, D, m->V);
	if (!targets) {
		CK(cudaDeviceSynchronize());
		return 0;
	}
	CK(cudaMemset(m->dsc, 0, sizeof(double)));
	k_ce_fwd<<<N, 256>>>(m->ce_lse, m->ce_loss, m->dsc, m->logits, m->targets, m->V);
	LAUNCHED();
	CK(cudaMemcpy(&sum, m->dsc, sizeof(double), cudaMemcpyDeviceToHost));
	m->ready = true;
	return m->scored ? (float)(sum / m->scored) : NAN;
}

extern "C" const float *tm_cmodel_logits(struct tm_cmodel *m)
{
	CK(cudaMemcpy(m->hlogits, m->logits, (size_t)m->B * m->T * m->V * sizeof(float),
		      cudaMemcpyDeviceToHost));
	return m->hlogits;
}

extern "C" void tm_cmodel_zero_grad(struct tm_cmodel *m)
{
	CK(cudaMemset(m->grads, 0, m->nparams * sizeof(float)));
}

extern "C" void tm_cmodel_backward(struct tm_cmodel *m, float loss_scale)
{
	int N = m->B * m->T, D = m->D, F = m->F, l;
	struct attn_shape as = { m->B, m->T, m->H, m->KV, m->hd, m->QKV, m->Q, m->KVd };

	if (!m->ready)
		cuda_die("tm_cmodel_backward", "no forward pass with targets", __FILE__, __LINE__);
	if (!m->scored)
		return;
	k_ce_bwd<<<N, 256>>>(m->hdlog, NULL, m->logits, m->ce_lse, m->targets, m->V,
			     loss_scale / (float)m->scored);
	LAUNCHED();
	linear_bwd(m, m->dln, m->glm, m->hdlog, m->lnf, m->hlm, N, D, m->V);
	rmsnorm_bwd(m->dres, false, m->gnormf, m->dln, m->xf, m->rstdf, m->normf, N, D);

	for (l = m->L - 1; l >= 0; l--) {
		struct cacts *a = &m->a[l];
		struct clayer *p = &m->pl[l], *g = &m->gl[l];
		int64_t nf = (int64_t)N * F;

		if (m->recompute)
			ffn_up(m, a, p, N);
		to_bf16(m->hdres, m->dres, (int64_t)N * D);
		linear_bwd(m, m->dact, g->w2, m->hdres, a->act, p->hw2, N, F, D);
		k_swiglu_bwd<<<cdiv(nf, 256), 256>>>(m->hdh13, NULL, m->dact, a->h13, N, F);
		LAUNCHED();
		linear_bwd(m, m->dln, g->w13, m->hdh13, a->ln2, p->hw13, N, D, 2 * F);
		rmsnorm_bwd(m->dres, true, g->norm2, m->dln, a->xa, a->rstd2, p->norm2, N, D);
		to_bf16(m->hdres, m->dres, (int64_t)N * D);
		linear_bwd(m, m->datt, g->wo, m->hdres, a->hatt, p->hwo, N, m->Q, D);
		attn_bwd(&as, m->dqkv, m->dsum, a->qkv, a->att, m->datt, a->lse, m->doc);
		rope(m->dqkv, N, m->T, m->QKV, m->H + m->KV, m->hd, m->rope_cos, m->rope_sin,
		     -1.0f);
		to_bf16(m->hdqkv, m->dqkv, (int64_t)N * m->QKV);
		linear_bwd(m, m->dln, g->wqkv, m->hdqkv, a->ln1, p->hwqkv, N, D, m->QKV);
		rmsnorm_bwd(m->dres, true, g->norm1, m->dln, a->x, a->rstd1, p->norm1, N, D);
	}
	k_embed_bwd<<<N, 256>>>(m->gemb, m->dres, m->tokens, D);
	LAUNCHED();
	CK(cudaDeviceSynchronize());
}

/* sum g^2 over n floats, through the scalar *acc on the device. */
static double sumsq(double *acc, const float *g, int64_t n)
{
	double s = 0;

	CK(cudaMemset(acc, 0, sizeof(double)));
	k_sumsq<<<(unsigned)std::min<int64_t>(cdiv(n, 256), 4096), 256>>>(acc, g, n);
	LAUNCHED();
	CK(cudaMemcpy(&s, acc, sizeof(double), cudaMemcpyDeviceToHost));
	return s;
}

extern "C" double tm_cmodel_grad_norm(struct tm_cmodel *m)
{
	return sqrt(sumsq(m->dsc, m->grads, m->nparams));
}

/* The step's constants as optim.c computes them, then the fused kernel. */
static void adamw(float *p32, bf16 *p16, float *m1, float *m2, const float *g,
		  const unsigned char *decay, int64_t n, int64_t step, double lr, double beta1,
		  double beta2, double eps, double weight_decay, double clip_factor)
{
	double bc1 = 1.0 - pow(beta1, (double)step), bc2 = 1.0 - pow(beta2, (double)step);

	k_adamw<<<(unsigned)std::min<int64_t>(cdiv(n, 256), 65535), 256>>>(
		p32, p16, m1, m2, g, decay, n, beta1, beta2, eps, (float)(1.0 - lr * weight_decay),
		lr / bc1, sqrt(bc2), clip_factor);
	LAUNCHED();
	CK(cudaDeviceSynchronize());
}

extern "C" void tm_cmodel_adamw(struct tm_cmodel *m, int64_t step, double lr, double beta1,
				double beta2, double eps, double weight_decay, double clip_factor)
{
	adamw(m->p32, m->p16, m->m1, m->m2, m->grads, m->decay, m->nparams, step, lr, beta1,
	      beta2, eps, weight_decay, clip_factor);
}

/* ---- kernel checks (model_cuda.h) ---- */

template <typename X>
static X *up(const X *h, size_t n)
{
	X *d = NULL;

	CK(cudaMalloc(&d, (n ? n : 1) * sizeof(X)));
	if (h)
		CK(cudaMemcpy(d, h, n * sizeof(X), cudaMemcpyHostToDevice));
	else
		CK(cudaMemset(d, 0, (n ? n : 1) * sizeof(X)));
	return d;
}

template <typename X>
static void down(X *h, X *d, size_t n)
{
	CK(cudaDeviceSynchronize());
	CK(cudaMemcpy(h, d, n * sizeof(X), cudaMemcpyDeviceToHost));
	CK(cudaFree(d));
}

extern "C" void tm_cuda_check_rmsnorm_fwd(int N, int D, float eps, const float *x,
					  const float *w, float *y, float *rstd)
{
	float *dx = up(x, (size_t)N * D), *dw = up(w, D), *dy = up<float>(NULL, (size_t)N * D);
	float *dr = up<float>(NULL, N);

	rmsnorm_fwd(NULL, dy, dr, dx, NULL, dw, N, D, eps);
	down(y, dy, (size_t)N * D);
	down(rstd, dr, N);
	CK(cudaFree(dx));
	CK(cudaFree(dw));
}

extern "C" void tm_cuda_check_rmsnorm_bwd(int N, int D, const float *dy, const float *x,
					  const float *w, const float *rstd, float *dx, float *dw)
{
	float *ddy = up(dy, (size_t)N * D), *dxx = up(x, (size_t)N * D), *dww = up(w, D);
	float *dr = up(rstd, N), *ddx = up<float>(NULL, (size_t)N * D), *ddw = up<float>(NULL, D);

	rmsnorm_bwd(ddx, false, ddw, ddy, dxx, dr, dww, N, D);
	down(dx, ddx, (size_t)N * D);
	down(dw, ddw, D);
	CK(cudaFree(ddy));
	CK(cudaFree(dxx));
	CK(cudaFree(dww));
	CK(cudaFree(dr));
}

extern "C" void tm_cuda_check_rope(int N, int T, int nheads, int hd, const float *cs,
				   const float *sn, float sign, float *x)
{
	float *dx = up(x, (size_t)N * nheads * hd);
	float *dc = up(cs, (size_t)T * hd / 2), *ds = up(sn, (size_t)T * hd / 2);

	rope(dx, N, T, nheads * hd, nheads, hd, dc, ds, sign);
	down(x, dx, (size_t)N * nheads * hd);
	CK(cudaFree(dc));
	CK(cudaFree(ds));
}

extern "C" void tm_cuda_check_swiglu(int N, int F, const float *h13, const float *dact,
				     float *act, float *dh13)
{
	int64_t n = (int64_t)N * F;
	float *dh = up(h13, 2 * n), *dda = up(dact, n), *dac = up<float>(NULL, n);
	float *ddh = up<float>(NULL, 2 * n);
	bf16 *hact = up<bf16>(NULL, n), *hdh = up<bf16>(NULL, 2 * n);

	k_swiglu_fwd<<<cdiv(n, 256), 256>>>(hact, dac, dh, N, F);
	LAUNCHED();
	k_swiglu_bwd<<<cdiv(n, 256), 256>>>(hdh, ddh, dda, dh, N, F);
	LAUNCHED();
	down(act, dac, n);
	down(dh13, ddh, 2 * n);
	CK(cudaFree(dh));
	CK(cudaFree(dda));
	CK(cudaFree(hact));
	CK(cudaFree(hdh));
}

extern "C" void tm_cuda_check_ce(int N, int V, const float *logits, const int32_t *targets,
				 float scale, float *loss, float *dlogits)
{
	float *dl = up(logits, (size_t)N * V), *dlse = up<float>(NULL, N);
	float *dloss = up<float>(NULL, N), *dd = up<float>(NULL, (size_t)N * V);
	int32_t *dt = up(targets, N);

	k_ce_fwd<<<N, 256>>>(dlse, dloss, NULL, dl, dt, V);
	LAUNCHED();
	k_ce_bwd<<<N, 256>>>(NULL, dd, dl, dlse, dt, V, scale);
	LAUNCHED();
	down(loss, dloss, N);
	down(dlogits, dd, (size_t)N * V);
	CK(cudaFree(dl));
	CK(cudaFree(dlse));
	CK(cudaFree(dt));
}

extern "C" void tm_cuda_check_attention(int B, int T, int H, int KV, int hd, const float *qkv,
					const int32_t *doc, const float *dout, float *out,
					float *lse, float *dqkv)
{
	int Qd = H * hd, KVd = KV * hd, ld = Qd + 2 * KVd;
	size_t N = (size_t)B * T;
	struct attn_shape as = { B, T, H, KV, hd, ld, Qd, KVd };
	float *dq = up(qkv, N * ld), *ddo = up(dout, N * Qd), *dout_ = up<float>(NULL, N * Qd);
	float *dl = up<float>(NULL, N * H), *dsum = up<float>(NULL, N * H);
	float *ddq = up<float>(NULL, N * ld);
	int32_t *dd = up(doc, N);

	attn_fwd(&as, dout_, dl, dq, dd);
	attn_bwd(&as, ddq, dsum, dq, dout_, ddo, dl, dd);
	down(out, dout_, N * Qd);
	down(lse, dl, N * H);
	down(dqkv, ddq, N * ld);
	CK(cudaFree(dq));
	CK(cudaFree(ddo));
	CK(cudaFree(dsum));
	CK(cudaFree(dd));
}

extern "C" void tm_cuda_check_matmul(int M, int N, int K, const float *A, const float *W,
				     float *C)
{
	cublasHandle_t h;
	float *da = up(A, (size_t)M * K), *dw = up(W, (size_t)N * K), *dc = up<float>(NULL,
										       (size_t)M * N);
	bf16 *ha = up<bf16>(NULL, (size_t)M * K), *hw = up<bf16>(NULL, (size_t)N * K);

	CB(cublasCreate(&h));
	to_bf16(ha, da, (int64_t)M * K);
	to_bf16(hw, dw, (int64_t)N * K);
	mm(h, false, true, M, N, K, ha, K, hw, K, 0.0f, dc, N);
	down(C, dc, (size_t)M * N);
	CB(cublasDestroy(h));
	CK(cudaFree(da));
	CK(cudaFree(dw));
	CK(cudaFree(ha));
	CK(cudaFree(hw));
}

extern "C" void tm_cuda_check_embed(int N, int D, int V, const float *emb, const int32_t *tok,
				    const float *dx, float *x, float *gemb)
{
	float *de = up(emb, (size_t)V * D), *ddx = up(dx, (size_t)N * D);
	float *dxo = up<float>(NULL, (size_t)N * D), *dg = up<float>(NULL, (size_t)V * D);
	int32_t *dt = up(tok, N);

	k_embed<<<N, 256>>>(dxo, de, dt, D);
	LAUNCHED();
	k_embed_bwd<<<N, 256>>>(dg, ddx, dt, D);
	LAUNCHED();
	down(x, dxo, (size_t)N * D);
	down(gemb, dg, (size_t)V * D);
	CK(cudaFree(de));
	CK(cudaFree(ddx));
	CK(cudaFree(dt));
}

extern "C" double tm_cuda_check_sumsq(int64_t n, const float *g)
{
	float *dg = up(g, (size_t)n);
	double *acc = up<double>(NULL, 1), s = sumsq(acc, dg, n);

	CK(cudaFree(dg));
	CK(cudaFree(acc));
	return s;
}

extern "C" void tm_cuda_check_adamw(int64_t n, float *p, float *m1, float *m2, const float *g,
				    const unsigned char *decay, int64_t step, double lr,
				    double beta1, double beta2, double eps, double weight_decay,
				    double clip_factor, float *p16)
{
	float *dp = up(p, (size_t)n), *d1 = up(m1, (size_t)n), *d2 = up(m2, (size_t)n);
	float *dg = up(g, (size_t)n), *wide = up<float>(NULL, (size_t)n);
	unsigned char *dd = up(decay, (size_t)n);
	bf16 *h = up<bf16>(NULL, (size_t)n);

	adamw(dp, h, d1, d2, dg, dd, n, step, lr, beta1, beta2, eps, weight_decay, clip_factor);
	k_from_bf16<<<(unsigned)std::min<int64_t>(cdiv(n, 256), 65535), 256>>>(wide, h, n);
	LAUNCHED();
	down(p, dp, (size_t)n);
	down(m1, d1, (size_t)n);
	down(m2, d2, (size_t)n);
	down(p16, wide, (size_t)n);
	CK(cudaFree(dg));
	CK(cudaFree(dd));
	CK(cudaFree(h));
}
