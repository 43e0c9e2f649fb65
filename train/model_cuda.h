/*
 * model_cuda.h: the Llama 3 model on one CUDA device, bf16 training:
 * the same forward/backward as model.h (same layout, same conventions:
 * rotate_half RoPE with the host's tm_llama_rope_freqs, attention causal
 * and per document, a position t attending to s <= t only when no BOS
 * lies in (s, t]), with matrix products in bf16 through cuBLAS (fp32
 * accumulation and fp32 outputs) and everything else in fp32 in our own
 * kernels (train/cuda/model.cu).  Parameters are held twice on the
 * device: fp32 master weights, which AdamW updates, and a bf16 working
 * copy for the products, refreshed after each update.  Gradients, AdamW
 * moments and the gradient norm stay fp32 on the device.
 *
 * Not bit-identical to the CPU model (bf16 products, other summation
 * orders, atomics in the column sums): bench/gpu.sh checks each kernel
 * and 50 training steps against the CPU model with stated tolerances.
 *
 * Only in builds with nvcc (TM_HAVE_CUDA); compiled, but run on a GPU
 * only by bench/gpu.sh.  Ownership: tm_cmodel owns its device memory
 * and host mirrors; pointers it returns stay valid until the next call.
 */
#ifndef TM_MODEL_CUDA_H
#define TM_MODEL_CUDA_H

#include "llama.h"

#ifdef __cplusplus
extern "C" {
#endif

struct tm_cmodel;

/* Devices visible, or -1 with *why set (no driver, no device...). */
int tm_cuda_devices(const char **why);

/*
 * A model of configuration `c` on device 0, with activations for B x T
 * tokens.  `recompute`: keep only the FFN's input per layer and recompute
 * gate/up and SwiGLU in backward (memory N * 3F floats per layer less).
 * Parameters are zero until tm_cmodel_init or tm_cmodel_upload.  NULL
 * with *why set when there is no device or not enough memory.
 */
struct tm_cmodel *tm_cmodel_new(const struct tm_llama_config *c, int B, int T, bool recompute,
				const char **why);
void tm_cmodel_free(struct tm_cmodel *m);
int64_t tm_cmodel_num_params(const struct tm_cmodel *m);
size_t tm_cmodel_bytes(const struct tm_cmodel *m);	/* device bytes held */

/* As tm_model_init's distribution, drawn on the host (the same bits as
 * tm_model_init: the same counter-based generator), then uploaded. */
void tm_cmodel_init(struct tm_cmodel *m, uint64_t seed);
/* fp32 parameters (llama.h's layout) to the master and bf16 copies. */
void tm_cmodel_upload(struct tm_cmodel *m, const float *params);
/* The fp32 master weights, or the gradients, to the host. */
void tm_cmodel_download(struct tm_cmodel *m, float *params);
void tm_cmodel_download_grads(struct tm_cmodel *m, float *grads);

/* As tm_model_forward (NaN for ids out of range; the mean loss). */
float tm_cmodel_forward(struct tm_cmodel *m, const int32_t *tokens, const int32_t *targets,
			int B, int T, int32_t bos_id);
/* The last forward's logits, copied to a host mirror: B*T*vocab floats. */
const float *tm_cmodel_logits(struct tm_cmodel *m);
void tm_cmodel_zero_grad(struct tm_cmodel *m);
/* As tm_model_backward: gradients += loss_scale * d(mean loss)/d(params). */
void tm_cmodel_backward(struct tm_cmodel *m, float loss_scale);

/* The L2 norm of the gradients (reduced on the device in double). */
double tm_cmodel_grad_norm(struct tm_cmodel *m);

/*
 * Gradient clipping and one AdamW step on the device, as optim.h's
 * tm_grad_clip and tm_adamw_update with these hyper-parameters: `step` is
 * the update's number (1 for the first), `clip_factor` the factor
 * tm_grad_clip would use (1: none).  The bf16 copy follows.
 */
void tm_cmodel_adamw(struct tm_cmodel *m, int64_t step, double lr, double beta1, double beta2,
		     double eps, double weight_decay, double clip_factor);
/* The moments to and from the host (for checkpoints), n floats each. */
void tm_cmodel_moments_download(struct tm_cmodel *m, float *m1, float *m2);
void tm_cmodel_moments_upload(struct tm_cmodel *m, const float *m1, const float *m2);

/*
 * Kernel checks for bench/gpu.sh (tests/cuda/kernels.c): each runs one
 * kernel on host fp32 arrays (uploaded, the result downloaded), so that
 * it can be held against the CPU function.  Shapes as in model.c.
 */
void tm_cuda_check_rmsnorm_fwd(int N, int D, float eps, const float *x, const float *w,
			       float *y, float *rstd);
void tm_cuda_check_rmsnorm_bwd(int N, int D, const float *dy, const float *x, const float *w,
			       const float *rstd, float *dx, float *dw);
void tm_cuda_check_rope(int N, int T, int nheads, int hd, const float *cs, const float *sn,
			float sign, float *x);
void tm_cuda_check_swiglu(int N, int F, const float *h13, const float *dact, float *act,
			  float *dh13);
void tm_cuda_check_ce(int N, int V, const float *logits, const int32_t *targets, float scale,
		      float *loss, float *dlogits);
void tm_cuda_check_attention(int B, int T, int H, int KV, int hd, const float *qkv,
			     const int32_t *doc, const float *dout, float *out, float *lse,
			     float *dqkv);
void tm_cuda_check_matmul(int M, int N, int K, const float *A, const float *W, float *C);
/* Embedding rows out of emb [V, D] for tok [N] into x [N, D]; gemb [V, D]
 * (zeroed first) += each row of dx at its token. */
void tm_cuda_check_embed(int N, int D, int V, const float *emb, const int32_t *tok,
			 const float *dx, float *x, float *gemb);
/* The sum of squares of g [n] (the gradient norm's reduction), in double. */
double tm_cuda_check_sumsq(int64_t n, const float *g);
/* One clip + AdamW step on p, m1, m2 [n] in place (tm_cmodel_adamw's kernel);
 * p16 gets the bf16 copy, widened back to float. */
void tm_cuda_check_adamw(int64_t n, float *p, float *m1, float *m2, const float *g,
			 const unsigned char *decay, int64_t step, double lr, double beta1,
			 double beta2, double eps, double weight_decay, double clip_factor,
			 float *p16);

#ifdef __cplusplus
}
#endif

#endif
