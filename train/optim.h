/*
 * optim.h: AdamW with decoupled weight decay (Loshchilov and Hutter 2019;
 * torch.optim.AdamW's update, term for term) and global gradient-norm
 * clipping (torch.nn.utils.clip_grad_norm_).
 *
 * State: the first and second moments, one float each per parameter, in
 * the parameter block's layout; decay applies to the tensors llama.h marks
 * (matrices; not the RMSNorm weights).  Single-threaded and elementwise:
 * the same gradients give the same bits on any machine with IEEE floats.
 */
#ifndef TM_OPTIM_H
#define TM_OPTIM_H

#include "llama.h"

struct tm_adamw {
	double beta1, beta2, eps, weight_decay;	/* 0.9, 0.95, 1e-8, 0.1 */
	int64_t step;		/* updates done */
	int64_t n;		/* parameters */
	float *m, *v;		/* moments (owned) */
	unsigned char *decay;	/* 1 where weight decay applies (owned) */
};

/* Moments zeroed, hyper-parameters the Llama 3 defaults. */
void tm_adamw_init(struct tm_adamw *o, const struct tm_llama_config *c);
void tm_adamw_release(struct tm_adamw *o);

/*
 * The L2 norm of the gradients (accumulated in double, in index order).
 * A NaN or infinite gradient gives a non-finite norm.
 */
double tm_grad_norm(const float *g, int64_t n);

/*
 * Scales the gradients so that their norm is at most max_norm (as torch:
 * factor max_norm / (norm + 1e-6) when below 1).  Returns the factor used.
 */
double tm_grad_clip(float *g, int64_t n, double norm, double max_norm);

/* One AdamW step with learning rate lr. */
void tm_adamw_update(struct tm_adamw *o, float *params, const float *grads, double lr);

#endif
