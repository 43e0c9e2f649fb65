/*
 * optim.c: AdamW and gradient clipping (optim.h).
 */
#include "optim.h"
#include "tamis.h"

#include <math.h>

void tm_adamw_init(struct tm_adamw *o, const struct tm_llama_config *c)
{
	size_t nt = tm_llama_tensors(c, NULL, 0), i;
	struct tm_llama_tensor *t = tm_xcalloc(nt, sizeof(*t));

	memset(o, 0, sizeof(*o));
	o->beta1 = 0.9;
	o->beta2 = 0.95;
	o->eps = 1e-8;
	o->weight_decay = 0.1;
	o->n = tm_llama_num_params(c);
	o->m = tm_xcalloc((size_t)o->n, sizeof(float));
	o->v = tm_xcalloc((size_t)o->n, sizeof(float));
	o->decay = tm_xcalloc((size_t)o->n, 1);
	tm_llama_tensors(c, t, nt);
	for (i = 0; i < nt; i++)
		if (t[i].decay)
			memset(o->decay + t[i].offset, 1, (size_t)t[i].numel);
	free(t);
}

void tm_adamw_release(struct tm_adamw *o)
{
	free(o->m);
	free(o->v);
	free(o->decay);
	memset(o, 0, sizeof(*o));
}

double tm_grad_norm(const float *g, int64_t n)
{
	double s = 0;
	int64_t i;

	for (i = 0; i < n; i++)
		s += (double)g[i] * g[i];
	return sqrt(s);
}

double tm_grad_clip(float *g, int64_t n, double norm, double max_norm)
{
	double f = max_norm / (norm + 1e-6);
	int64_t i;

	if (!(f < 1.0))
		return 1.0;
	for (i = 0; i < n; i++)
		g[i] = (float)(g[i] * f);
	return f;
}

void tm_adamw_update(struct tm_adamw *o, float *params, const float *grads, double lr)
{
	double b1 = o->beta1, b2 = o->beta2, bc1, bc2, step_size, bc2_sqrt;
	float decay = (float)(1.0 - lr * o->weight_decay);
	int64_t i;

	o->step++;
	bc1 = 1.0 - pow(b1, (double)o->step);
	bc2 = 1.0 - pow(b2, (double)o->step);
	step_size = lr / bc1;
	bc2_sqrt = sqrt(bc2);
	for (i = 0; i < o->n; i++) {
		float g = grads[i];
		float m = (float)(b1 * o->m[i] + (1 - b1) * g);
		float v = (float)(b2 * o->v[i] + (1 - b2) * (double)g * g);
		double denom = sqrt((double)v) / bc2_sqrt + o->eps;
		float p = params[i];

		if (o->decay[i])
			p *= decay;
		params[i] = (float)(p - step_size * m / denom);
		o->m[i] = m;
		o->v[i] = v;
	}
}
