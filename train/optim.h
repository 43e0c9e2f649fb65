/*
 * optim.h: AdamW with decoupled weight decay (Loshchilov and Hutter 2019;
 * torch.optim.AdamW's update, term for term) and global gradient-norm
 * clipping (torch.nn.utils.clip_grad_norm_).
 *
 * State: the first and second moments, one float each per parameter, in
 * the parameter block's layout; decay applies to the tensors llama.h marks
 * (matrices; not the RMSNorm weights).
 *
 * Threads: each function takes an optional team (team.h; NULL: the
 * calling thread), the model's own (tm_model_team), which cuts the
 * parameters into contiguous pieces.  The update is elementwise and the
 * norm is summed per fixed chunk of 65536 floats, the chunks in order, so
 * the bits do not depend on the team's size.
 */
#ifndef TM_OPTIM_H
#define TM_OPTIM_H

#include "llama.h"

struct tm_team;

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
 * The L2 norm of the gradients (squares accumulated in double).  A NaN or
 * infinite gradient gives a non-finite norm.
 */
double tm_grad_norm(const float *g, int64_t n, struct tm_team *team);

/*
 * The factor that brings the gradients' norm to at most max_norm (as
 * torch's clip_grad_norm_: max_norm / (norm + 1e-6) when below 1, else 1;
 * 1 for a non-finite norm).
 */
double tm_grad_clip_factor(double norm, double max_norm);

/* Scales the gradients by that factor (when below 1); returns it. */
double tm_grad_clip(float *g, int64_t n, double norm, double max_norm);

/*
 * One AdamW step with learning rate lr on the gradients scaled by
 * grad_scale (tm_grad_clip_factor; 1: as they are).  The same bits as
 * tm_grad_clip on the gradients and then the step, without writing to
 * the gradients.
 */
void tm_adamw_update(struct tm_adamw *o, float *params, const float *grads, double grad_scale,
		     double lr, struct tm_team *team);

#endif
