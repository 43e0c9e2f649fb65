/*
 * optim.c: AdamW and gradient clipping (optim.h).
 */
#include "optim.h"
#include "tamis.h"
#include "team.h"

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

/* The norm's partial sums: one per chunk of NORM_CHUNK floats, summed in
 * chunk order, so that the result does not depend on the threads. */
#define NORM_CHUNK 65536

struct norm_job {
	const float *g;
	int64_t n;
	double *part;		/* [chunks] */
};

/* the sum of squares of x[0..n), in double over 8 lanes, then pairwise */
TM_HOT_LOOP
static double sumsq(const float *x, int64_t n)
{
	double lane[8] = { 0 };
	int64_t i;
	int j;

	for (i = 0; i + 8 <= n; i += 8)
		for (j = 0; j < 8; j++)
			lane[j] += (double)x[i + j] * x[i + j];
	for (j = 0; i < n; i++, j++)
		lane[j] += (double)x[i] * x[i];
	return ((lane[0] + lane[1]) + (lane[2] + lane[3])) +
	       ((lane[4] + lane[5]) + (lane[6] + lane[7]));
}

static void norm_part(void *arg, int member, int members)
{
	struct norm_job *j = arg;
	int64_t chunks = (j->n + NORM_CHUNK - 1) / NORM_CHUNK, lo, hi, c;

	tm_team_share(chunks, member, members, 1, &lo, &hi);
	for (c = lo; c < hi; c++) {
		int64_t a = c * NORM_CHUNK, e = TM_MIN(a + NORM_CHUNK, j->n);

		j->part[c] = sumsq(j->g + a, e - a);
	}
}

static void run(struct tm_team *team, tm_team_fn fn, void *arg)
{
	if (team)
		tm_team_run(team, fn, arg);
	else
		fn(arg, 0, 1);
}

double tm_grad_norm(const float *g, int64_t n, struct tm_team *team)
{
	double part1, *part, s = 0;
	int64_t chunks = (n + NORM_CHUNK - 1) / NORM_CHUNK, c;
	struct norm_job j = { .g = g, .n = n };

	part = chunks > 1 ? tm_xcalloc((size_t)chunks, sizeof(*part)) : &part1;
	j.part = part;
	if (chunks)
		run(team, norm_part, &j);
	for (c = 0; c < chunks; c++)
		s += part[c];
	if (part != &part1)
		free(part);
	return sqrt(s);
}

double tm_grad_clip_factor(double norm, double max_norm)
{
	double f = max_norm / (norm + 1e-6);

	return f < 1.0 ? f : 1.0;
}

double tm_grad_clip(float *g, int64_t n, double norm, double max_norm)
{
	double f = tm_grad_clip_factor(norm, max_norm);
	int64_t i;

	if (f == 1.0)
		return 1.0;
	for (i = 0; i < n; i++)
		g[i] = (float)(g[i] * f);
	return f;
}

struct adamw_job {
	struct tm_adamw *o;
	float *params;
	const float *grads;
	double scale, lr, step_size, bc2_sqrt;
};

/* parameters [0, n) of the block at p (with their moments and gradients) */
TM_HOT_LOOP
static void adamw_range(float *restrict params, float *restrict mom1, float *restrict mom2,
			const float *restrict grads, const unsigned char *restrict decay_on,
			int64_t n, double b1, double b2, double eps, double scale, float decay,
			double step_size, double bc2_sqrt)
{
	int64_t i;

	for (i = 0; i < n; i++) {
		/* as tm_grad_clip would have left it */
		float g = scale == 1.0 ? grads[i] : (float)(grads[i] * scale);
		float m = (float)(b1 * mom1[i] + (1 - b1) * g);
		float v = (float)(b2 * mom2[i] + (1 - b2) * (double)g * g);
		double denom = sqrt((double)v) / bc2_sqrt + eps;
		float p = params[i];

		p = decay_on[i] ? p * decay : p;
		params[i] = (float)(p - step_size * m / denom);
		mom1[i] = m;
		mom2[i] = v;
	}
}

static void adamw_part(void *arg, int member, int members)
{
	struct adamw_job *j = arg;
	struct tm_adamw *o = j->o;
	int64_t lo, hi;

	/* 16 floats: members never share a cache line */
	tm_team_share(o->n, member, members, 16, &lo, &hi);
	if (hi > lo)
		adamw_range(j->params + lo, o->m + lo, o->v + lo, j->grads + lo, o->decay + lo,
			    hi - lo, o->beta1, o->beta2, o->eps, j->scale,
			    (float)(1.0 - j->lr * o->weight_decay), j->step_size, j->bc2_sqrt);
}

void tm_adamw_update(struct tm_adamw *o, float *params, const float *grads, double grad_scale,
		     double lr, struct tm_team *team)
{
	struct adamw_job j = { .o = o, .params = params, .grads = grads, .scale = grad_scale,
			       .lr = lr };

	o->step++;
	j.step_size = lr / (1.0 - pow(o->beta1, (double)o->step));
	j.bc2_sqrt = sqrt(1.0 - pow(o->beta2, (double)o->step));
	run(team, adamw_part, &j);
}
