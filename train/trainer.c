/*
 * trainer.c: the training loop, checkpoints and rollback (trainer.h).
 */
#include "tamis.h"
#include "trainer.h"
#include "model.h"
#include "optim.h"
#include "mix.h"
#include "hf.h"
#include "stats.h"
#include "stream.h"
#ifdef TM_HAVE_CUDA
#include "model_cuda.h"
#endif

#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#define STATE_MAGIC "TMTRST01"
#define STATE_VERSION 1

void tm_train_opts_init(struct tm_train_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->model = "tiny";
	o->seed = 1;
	o->max_steps = -1;
	o->ckpt_every = 100;
	o->keep = 2;
	o->clip = 1.0;
	o->spike = 3.0;
	o->max_rollbacks = 20;
	o->fault_step = -1;
}

/* What a checkpoint restores besides parameters and moments. */
struct state {
	double loss_avg;	/* exponential average of the loss (0.98) */
	uint64_t avg_n;		/* steps averaged */
	uint32_t rollbacks;
	uint64_t *skip;		/* plan steps skipped after a rollback, sorted */
	uint32_t nskip;
};

struct trainer {
	const struct tm_train_opts *o;
	struct tm_mix *plan;
	struct tm_loader *loader;
	struct tm_llama_config cfg;
	struct tm_model *model;		/* the CPU backend, or NULL */
	struct tm_cmodel *cuda;		/* the CUDA backend, or NULL */
	float *hparams;			/* with cuda: a host copy of the parameters */
	struct tm_adamw opt;		/* with cuda: hyper-parameters, step, and moments
					 * mirrored only around checkpoints */
	struct state st;
	int32_t *inputs, *targets, *valbuf;
	struct tm_val **val;	/* per source, NULL where none */
	char *latest;		/* name of the newest checkpoint, or NULL */
	bool fault_done;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void note(const struct tm_train_opts *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void note(const struct tm_train_opts *o, const char *fmt, ...)
{
	struct tm_buf b = TM_BUF_INIT;
	va_list ap;

	if (!o->on_note)
		return;
	va_start(ap, fmt);
	tm_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	o->on_note(o->arg, b.buf);
	tm_buf_release(&b);
}

static bool skipped(const struct state *s, uint64_t step)
{
	uint32_t i;

	for (i = 0; i < s->nskip; i++)
		if (s->skip[i] == step)
			return true;
	return false;
}

static void skip_add(struct state *s, uint64_t step)
{
	if (skipped(s, step))
		return;
	s->skip = tm_xrealloc(s->skip, (s->nskip + 1) * sizeof(*s->skip));
	s->skip[s->nskip++] = step;
}

/* ---- train_state.bin --------------------------------------------------- */

static void put_u32(struct tm_buf *b, uint32_t v)
{
	unsigned char x[4] = { (unsigned char)v, (unsigned char)(v >> 8),
			       (unsigned char)(v >> 16), (unsigned char)(v >> 24) };

	tm_buf_add(b, x, 4);
}

static void put_u64(struct tm_buf *b, uint64_t v)
{
	put_u32(b, (uint32_t)v);
	put_u32(b, (uint32_t)(v >> 32));
}

static void put_f64(struct tm_buf *b, double d)
{
	uint64_t v;

	memcpy(&v, &d, 8);
	put_u64(b, v);
}

static void put_floats(struct tm_buf *b, const float *f, int64_t n)
{
	int64_t i;

	tm_buf_grow(b, (size_t)n * 4);
	for (i = 0; i < n; i++) {
		uint32_t v;

		memcpy(&v, &f[i], 4);
		put_u32(b, v);
	}
}

struct rd {
	const unsigned char *p;
	size_t n, off;
	bool bad;
};

static uint64_t get(struct rd *r, int bytes)
{
	uint64_t v = 0;
	int i;

	if (r->off + (size_t)bytes > r->n) {
		r->bad = true;
		return 0;
	}
	for (i = 0; i < bytes; i++)
		v |= (uint64_t)r->p[r->off + (size_t)i] << (8 * i);
	r->off += (size_t)bytes;
	return v;
}

static int state_encode(struct trainer *t, struct tm_buf *b)
{
	struct tm_loader_state ls;
	size_t lsz;
	uint32_t i;

	tm_buf_add(b, STATE_MAGIC, 8);
	put_u32(b, STATE_VERSION);
	put_u32(b, 0);
	put_u64(b, (uint64_t)t->opt.step);
	put_f64(b, t->st.loss_avg);
	put_u64(b, t->st.avg_n);
	put_u32(b, t->st.rollbacks);
	put_u32(b, t->st.nskip);
	for (i = 0; i < t->st.nskip; i++)
		put_u64(b, t->st.skip[i]);
	tm_loader_get_state(t->loader, &ls);
	lsz = TM_LOADER_STATE_BYTES(ls.nsources);
	put_u32(b, (uint32_t)lsz);
	tm_buf_grow(b, lsz);
	if (tm_loader_state_encode(&ls, b->buf + b->len, lsz) < 0)
		return -1;
	tm_buf_setlen(b, b->len + lsz);
	put_u64(b, (uint64_t)t->opt.n);
	put_floats(b, t->opt.m, t->opt.n);
	put_floats(b, t->opt.v, t->opt.n);
	put_u64(b, XXH64(b->buf, b->len, 0));
	return 0;
}

/*
 * rollback: the skipped batches and rollback count in memory are newer
 * than the checkpoint's (they name the batch being rolled back from):
 * keep them, read the rest.
 */
static int state_decode(struct trainer *t, const char *path, const unsigned char *p, size_t n,
			bool rollback, struct tm_err *err)
{
	uint32_t nskip;
	struct rd r = { p, n, 0, false };
	struct tm_loader_state ls;
	uint32_t lsz, i;
	int64_t np, k;

	if (n < 16 || memcmp(p, STATE_MAGIC, 8))
		return tm_err_set(err, TM_EFORMAT, path, 0, 0, "not a tamis training state");
	if (XXH64(p, n - 8, 0) != (r.off = n - 8, get(&r, 8)))
		return tm_err_set(err, TM_EFORMAT, path, n - 8, 0,
				  "checksum mismatch: the file is damaged");
	r.off = 8;
	if (get(&r, 4) != STATE_VERSION)
		return tm_err_set(err, TM_EUNSUP, path, 8, 0, "training state version not supported");
	get(&r, 4);
	t->opt.step = (int64_t)get(&r, 8);
	{
		uint64_t v = get(&r, 8);

		memcpy(&t->st.loss_avg, &v, 8);
	}
	t->st.avg_n = get(&r, 8);
	if (rollback) {
		get(&r, 4);
		nskip = (uint32_t)get(&r, 4);
		if (nskip > (n - r.off) / 8)
			return tm_err_set(err, TM_EFORMAT, path, r.off, 0, "bad skipped-step count");
		r.off += (size_t)nskip * 8;
	} else {
		t->st.rollbacks = (uint32_t)get(&r, 4);
		nskip = (uint32_t)get(&r, 4);
		if (nskip > (n - r.off) / 8)
			return tm_err_set(err, TM_EFORMAT, path, r.off, 0, "bad skipped-step count");
		free(t->st.skip);
		t->st.nskip = nskip;
		t->st.skip = tm_xcalloc(nskip + 1, sizeof(*t->st.skip));
		for (i = 0; i < nskip; i++)
			t->st.skip[i] = get(&r, 8);
	}
	lsz = (uint32_t)get(&r, 4);
	if (r.bad || r.off + lsz > n)
		return tm_err_set(err, TM_ETRUNC, path, r.off, 0, "truncated");
	if (tm_loader_state_decode(p + r.off, lsz, &ls, err) < 0 ||
	    tm_loader_set_state(t->loader, &ls, err) < 0)
		return err->code ? err->code : TM_EFORMAT;
	r.off += lsz;
	np = (int64_t)get(&r, 8);
	if (np != t->opt.n || r.off + (size_t)np * 8 + 8 > n)
		return tm_err_set(err, TM_EFORMAT, path, r.off, 0,
				  "%" PRId64 " optimizer entries, the model has %" PRId64, np, t->opt.n);
	for (k = 0; k < np; k++) {
		uint32_t v = (uint32_t)get(&r, 4);

		memcpy(&t->opt.m[k], &v, 4);
	}
	for (k = 0; k < np; k++) {
		uint32_t v = (uint32_t)get(&r, 4);

		memcpy(&t->opt.v[k], &v, 4);
	}
	return 0;
}

/* ---- the backend: the CPU model, or the CUDA one ----------------------- */

/*
 * The loop calls the model through these, so that the CPU path is the
 * calls it always made (bit for bit) and the CUDA one keeps parameters,
 * gradients and moments on the device: the host sees parameters only at
 * checkpoints and loads (params_host / params_loaded) and moments only
 * in train_state.bin (moments_pull / moments_push).
 */
#ifndef TM_HAVE_CUDA
/* Never made in a build without CUDA (setup refuses): these stand in. */
#define tm_cmodel_free(m) ((void)(m))
#define tm_cmodel_bytes(m) ((void)(m), (size_t)0)
#define tm_cmodel_init(m, s) ((void)(m), (void)(s))
#define tm_cmodel_download(m, p) ((void)(m), (void)(p))
#define tm_cmodel_upload(m, p) ((void)(m), (void)(p))
#define tm_cmodel_moments_download(m, a, b) ((void)(m), (void)(a), (void)(b))
#define tm_cmodel_moments_upload(m, a, b) ((void)(m), (void)(a), (void)(b))
#define tm_cmodel_forward(m, a, b, c, d, e) ((void)(m), NAN)
#define tm_cmodel_zero_grad(m) ((void)(m))
#define tm_cmodel_backward(m, s) ((void)(m), (void)(s))
#define tm_cmodel_grad_norm(m) ((void)(m), (double)NAN)
#endif

/* The parameters, readable on the host (downloaded from the device). */
static float *params_host(struct trainer *t)
{
	if (!t->cuda)
		return tm_model_params(t->model);
	tm_cmodel_download(t->cuda, t->hparams);
	return t->hparams;
}

/* Where to load parameters into; params_loaded() after. */
static float *params_dest(struct trainer *t)
{
	return t->cuda ? t->hparams : tm_model_params(t->model);
}

static void params_loaded(struct trainer *t)
{
	if (t->cuda)
		tm_cmodel_upload(t->cuda, t->hparams);
}

static void moments_pull(struct trainer *t)
{
	if (t->cuda)
		tm_cmodel_moments_download(t->cuda, t->opt.m, t->opt.v);
}

static void moments_push(struct trainer *t)
{
	if (t->cuda)
		tm_cmodel_moments_upload(t->cuda, t->opt.m, t->opt.v);
}

static float model_forward(struct trainer *t, const int32_t *in, const int32_t *tg, int B,
			   int T, int32_t bos)
{
	if (t->cuda)
		return tm_cmodel_forward(t->cuda, in, tg, B, T, bos);
	return tm_model_forward(t->model, in, tg, B, T, bos);
}

/* Zeroed gradients, forward and backward: the loss. */
static float model_step(struct trainer *t, const int32_t *in, const int32_t *tg, int B, int T,
			int32_t bos)
{
	float loss;

	if (t->cuda) {
		tm_cmodel_zero_grad(t->cuda);
		loss = tm_cmodel_forward(t->cuda, in, tg, B, T, bos);
		tm_cmodel_backward(t->cuda, 1.0f);
		return loss;
	}
	tm_model_zero_grad(t->model);
	loss = tm_model_forward(t->model, in, tg, B, T, bos);
	tm_model_backward(t->model, 1.0f);
	return loss;
}

static double grad_norm(struct trainer *t)
{
	if (t->cuda)
		return tm_cmodel_grad_norm(t->cuda);
	return tm_grad_norm(tm_model_grads(t->model), tm_model_num_params(t->model),
			    tm_model_team(t->model));
}

/* Clipping and the AdamW update. */
static void update(struct trainer *t, double norm, double clip, double lr)
{
	if (t->cuda) {
#ifdef TM_HAVE_CUDA
		t->opt.step++;
		tm_cmodel_adamw(t->cuda, t->opt.step, lr, t->opt.beta1, t->opt.beta2, t->opt.eps,
				t->opt.weight_decay, tm_grad_clip_factor(norm, clip));
#endif
		return;
	}
	tm_adamw_update(&t->opt, tm_model_params(t->model), tm_model_grads(t->model),
			tm_grad_clip_factor(norm, clip), lr, tm_model_team(t->model));
}

static size_t model_bytes(const struct trainer *t)
{
	return t->cuda ? tm_cmodel_bytes(t->cuda) : tm_model_bytes(t->model);
}

/* ---- checkpoints ------------------------------------------------------ */

static char *path2(const char *a, const char *b)
{
	struct tm_buf p = TM_BUF_INIT;

	tm_buf_addf(&p, "%s/%s", a, b);
	return tm_buf_detach(&p, NULL);
}

/* OUT/latest, replaced by rename: it names a complete checkpoint. */
static int set_latest(const char *out, const char *name, struct tm_err *err)
{
	char *latest = path2(out, "latest");
	struct tm_buf body = TM_BUF_INIT;
	int rc;

	tm_buf_addf(&body, "%s\n", name);
	rc = tm_write_file_atomic(latest, body.buf, err);
	free(latest);
	tm_buf_release(&body);
	return rc;
}

static char *read_latest(const char *out)
{
	char *p = path2(out, "latest"), *s = tm_read_small_line(p);

	free(p);
	if (s && (strncmp(s, "step-", 5) || strchr(s, '/'))) {
		free(s);
		s = NULL;
	}
	return s;
}

/* Keeps the `keep` newest step-* directories; removes leftover temporaries. */
static void prune(const char *out, int keep)
{
	DIR *d = opendir(out);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, i, j;

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "step-", 5))
			continue;
		if (strstr(e->d_name, ".tmp-")) {
			char *p = path2(out, e->d_name);

			tm_remove_tree(p);
			free(p);
			continue;
		}
		names = tm_xrealloc(names, (n + 1) * sizeof(*names));
		names[n++] = tm_xstrdup(e->d_name);
	}
	closedir(d);
	for (i = 1; i < n; i++)	/* insertion sort: names sort by step */
		for (j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
			char *x = names[j];

			names[j] = names[j - 1];
			names[j - 1] = x;
		}
	for (i = 0; i + (size_t)keep < n; i++) {
		char *p = path2(out, names[i]);

		tm_remove_tree(p);
		free(p);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static int checkpoint(struct trainer *t, struct tm_err *err)
{
	struct tm_hf_save_opts so = TM_HF_SAVE_OPTS_INIT;
	struct tm_hf_writer *w;
	struct tm_buf name = TM_BUF_INIT, state = TM_BUF_INIT;
	char *dir, *file;
	int rc;

	tm_buf_addf(&name, "step-%08" PRIu64, tm_loader_step(t->loader));
	dir = path2(t->o->out, name.buf);
	so.bos_token_id = tm_loader_bos(t->loader);
	if ((rc = tm_hf_begin(dir, &w, err)) < 0)
		goto out;
	moments_pull(t);
	if ((rc = tm_hf_write_model(w, &t->cfg, params_host(t), &so, err)) < 0 ||
	    (rc = state_encode(t, &state)) < 0) {
		if (rc == -1)
			rc = tm_err_set(err, TM_EINVAL, dir, TM_ERR_NO_OFFSET, 0,
					"cannot encode the data position");
		tm_hf_abort(w);
		goto out;
	}
	file = path2(tm_hf_writer_path(w), "train_state.bin");
	rc = tm_st_write_small(file, state.buf, state.len, err);
	free(file);
	if (rc < 0) {
		tm_hf_abort(w);
		goto out;
	}
	if ((rc = tm_hf_commit(w, err)) < 0 || (rc = set_latest(t->o->out, name.buf, err)) < 0)
		goto out;
	free(t->latest);
	t->latest = tm_buf_detach(&name, NULL);
	prune(t->o->out, t->o->keep);
	note(t->o, "checkpoint %s", dir);
out:
	free(dir);
	tm_buf_release(&name);
	tm_buf_release(&state);
	return rc;
}

/*
 * Restores the checkpoint OUT/name (parameters, moments, position, state);
 * rollback: as state_decode says.
 */
static int restore(struct trainer *t, const char *name, bool rollback, struct tm_err *err)
{
	char *dir = path2(t->o->out, name), *file = path2(dir, "train_state.bin");
	struct tm_buf data = TM_BUF_INIT;
	int rc;

	rc = tm_hf_load_params(dir, &t->cfg, NULL, params_dest(t), err);
	if (!rc && (rc = tm_st_read_small(file, SIZE_MAX, &data, err)) == 0)
		rc = state_decode(t, file, (const unsigned char *)data.buf, data.len, rollback, err);
	if (!rc) {
		params_loaded(t);
		moments_push(t);
	}
	free(dir);
	free(file);
	tm_buf_release(&data);
	return rc;
}

/* ---- evaluation ------------------------------------------------------- */

static void evaluate(struct trainer *t, uint64_t step)
{
	const struct tm_mix *m = t->plan;
	size_t i;

	for (i = 0; i < m->nsources; i++) {
		struct tm_err err = TM_ERR_INIT;
		struct tm_val *v = t->val[i];
		int B = m->max_batch, T = m->max_seq_len, n;
		double sum = 0;
		uint64_t cnt = 0;
		char split[160];

		if (!v)
			continue;
		tm_val_rewind(v);
		while (tm_val_next(v, t->valbuf, B, &n, &err) == 0 && n > 0) {
			float loss;

			tm_mix_split(t->valbuf, n, T, t->inputs, t->targets);
			loss = model_forward(t, t->inputs, t->targets, n, T,
					     (int32_t)tm_loader_bos(t->loader));
			sum += (double)loss * n;
			cnt += (uint64_t)n;
		}
		if (!cnt)
			continue;
		snprintf(split, sizeof(split), "val/%s", m->sources[i].name);
		tm_stats_train_eval(t->o->stats, (int64_t)step, split, sum / (double)cnt);
		if (t->o->on_eval)
			t->o->on_eval(t->o->arg, step, split, sum / (double)cnt);
	}
}

/* ---- the loop --------------------------------------------------------- */

static void trainer_free(struct trainer *t)
{
	size_t i;

	if (t->val)
		for (i = 0; t->plan && i < t->plan->nsources; i++)
			tm_val_free(t->val[i]);
	free(t->val);
	tm_model_free(t->model);
	tm_cmodel_free(t->cuda);
	free(t->hparams);
	tm_adamw_release(&t->opt);
	tm_loader_free(t->loader);
	tm_mix_free(t->plan);
	free(t->inputs);
	free(t->targets);
	free(t->valbuf);
	free(t->st.skip);
	free(t->latest);
}

static int setup(struct trainer *t, const struct tm_train_opts *o, struct tm_err *err)
{
	const char *why = NULL;
	size_t i;
	int rc;

	memset(t, 0, sizeof(*t));
	t->o = o;
	if ((rc = tm_mix_load(o->mix, o->shards, o->mix_overrides ? o->mix_overrides->v : NULL,
			      o->mix_overrides ? o->mix_overrides->n : 0, &t->plan, err)) < 0)
		return rc;
	if ((rc = tm_loader_new(t->plan, 0, &t->loader, err)) < 0)
		return rc;
	if (tm_llama_preset(o->model, &t->cfg) < 0)
		return tm_err_set(err, TM_EINVAL, NULL, TM_ERR_NO_OFFSET, 0,
				  "unknown model '%s' (tiny, 16m, 120m, 1b, 8b, 70b, 405b)", o->model);
	if (o->init) {
		struct tm_llama_config c;

		if ((rc = tm_hf_config_read(o->init, &c, NULL, err)) < 0)
			return rc;
		t->cfg = c;
	}
	if ((uint32_t)t->cfg.vocab_size != tm_loader_vocab_size(t->loader)) {
		if (o->init)
			return tm_err_set(err, TM_EINVAL, o->init, TM_ERR_NO_OFFSET, 0,
					  "the model's vocabulary has %d tokens, the shards' %u",
					  t->cfg.vocab_size, tm_loader_vocab_size(t->loader));
		t->cfg.vocab_size = (int)tm_loader_vocab_size(t->loader);
	}
	if (t->cfg.max_seq_len < t->plan->max_seq_len)
		t->cfg.max_seq_len = t->plan->max_seq_len;
	if (o->cuda) {
#ifdef TM_HAVE_CUDA
		t->cuda = tm_cmodel_new(&t->cfg, t->plan->max_batch, t->plan->max_seq_len,
					o->recompute, &why);
		if (!t->cuda)
			return tm_err_set(err, TM_EINVAL, NULL, TM_ERR_NO_OFFSET, 0,
					  "CUDA model: %s", why ? why : "cannot allocate");
		t->hparams = tm_xcalloc((size_t)tm_llama_num_params(&t->cfg), sizeof(float));
#else
		return tm_err_set(err, TM_EUNSUP, NULL, TM_ERR_NO_OFFSET, 0,
				  "this build has no CUDA backend (nvcc was not found when it "
				  "was built)");
#endif
	} else {
		t->model = tm_model_new(&t->cfg, t->plan->max_batch, t->plan->max_seq_len,
					o->threads, &why);
		if (!t->model)
			return tm_err_set(err, TM_ENOMEM, NULL, TM_ERR_NO_OFFSET, 0, "model: %s",
					  why ? why : "cannot allocate");
	}
	tm_adamw_init(&t->opt, &t->cfg);
	t->inputs = tm_xcalloc((size_t)t->plan->max_batch * t->plan->max_seq_len, sizeof(int32_t));
	t->targets = tm_xcalloc((size_t)t->plan->max_batch * t->plan->max_seq_len, sizeof(int32_t));
	t->valbuf = tm_xcalloc((size_t)t->plan->max_batch_ints, sizeof(int32_t));
	t->val = tm_xcalloc(t->plan->nsources, sizeof(*t->val));
	for (i = 0; t->plan->eval_tokens && i < t->plan->nsources; i++) {
		if (!t->plan->sources[i].used)
			continue;
		if (tm_val_new(t->loader, i, t->plan->max_seq_len, &t->val[i], err) < 0)
			return err->code;
		if (!tm_val_nseq(t->val[i])) {
			tm_val_free(t->val[i]);
			t->val[i] = NULL;
		}
	}
	return tm_mkdir_p(o->out, err);
}

int tm_train_run(const struct tm_train_opts *o, struct tm_err *err)
{
	struct trainer t;
	struct tm_batch b;
	int64_t updates = 0;
	int rc;

	if ((rc = setup(&t, o, err)) < 0)
		goto out;
	note(o, "model %s: %" PRId64 " parameters (dim %d, %d layers, %d heads, %d kv heads, "
	     "ffn %d, vocab %d), %zu MiB", o->model, tm_llama_num_params(&t.cfg), t.cfg.dim,
	     t.cfg.n_layers, t.cfg.n_heads, t.cfg.n_kv_heads, t.cfg.ffn_dim, t.cfg.vocab_size,
	     model_bytes(&t) >> 20);
	prune(o->out, o->keep);
	if ((t.latest = read_latest(o->out))) {
		if ((rc = restore(&t, t.latest, false, err)) < 0)
			goto out;
		note(o, "resumed from %s/%s at step %" PRIu64, o->out, t.latest,
		     tm_loader_step(t.loader));
	} else {
		if (o->init) {
			if ((rc = tm_hf_load_params(o->init, &t.cfg, NULL, params_dest(&t),
						    err)) < 0)
				goto out;
			params_loaded(&t);
		} else if (t.cuda) {
			tm_cmodel_init(t.cuda, o->seed);
		} else {
			tm_model_init(t.model, o->seed);
		}
		if ((rc = checkpoint(&t, err)) < 0)
			goto out;
	}

	while (!tm_loader_done(t.loader) && (o->max_steps < 0 || updates < o->max_steps)) {
		double t0 = now_s(), norm, loss;
		struct tm_train_step_info si;
		struct tm_stats_step ss;
		int32_t bos = (int32_t)tm_loader_bos(t.loader);
		bool bad;

		if ((rc = tm_loader_next(t.loader, &b, err)) < 0)
			goto out;
		if (skipped(&t.st, b.step)) {
			note(o, "step %" PRIu64 ": skipped (its batch caused a rollback)", b.step + 1);
			continue;
		}
		tm_mix_split(b.tokens, b.B, b.T, t.inputs, t.targets);
		loss = model_step(&t, t.inputs, t.targets, b.B, b.T, bos);
		if ((int64_t)b.step == o->fault_step && !t.fault_done) {
			t.fault_done = true;
			loss = NAN;
			note(o, "step %" PRIu64 ": fault injected (a NaN loss)", b.step + 1);
		}
		norm = grad_norm(&t);
		bad = !isfinite(loss) || !isfinite(norm) ||
		      (o->spike > 0 && t.st.avg_n >= 20 && loss > o->spike * t.st.loss_avg);
		if (bad) {
			uint64_t step = b.step;

			if (++t.st.rollbacks > (uint32_t)o->max_rollbacks) {
				rc = tm_err_set(err, TM_EFORMAT, o->out, TM_ERR_NO_OFFSET, 0,
						"step %" PRIu64 ": loss %g after %d rollbacks: giving up",
						step + 1, loss, o->max_rollbacks);
				goto out;
			}
			skip_add(&t.st, step);
			note(o, "step %" PRIu64 ": loss %g, gradient norm %g: rolling back to %s and "
			     "skipping this batch", step + 1, loss, norm, t.latest);
			if ((rc = restore(&t, t.latest, true, err)) < 0)
				goto out;
			continue;
		}
		update(&t, norm, o->clip, b.lr);
		updates++;
		t.st.loss_avg = t.st.avg_n ? 0.98 * t.st.loss_avg + 0.02 * loss : loss;
		t.st.avg_n++;

		si.step = b.step;
		si.steps = t.plan->steps;
		si.phase = t.plan->phases[b.phase].name;
		si.loss = loss;
		si.lr = b.lr;
		si.grad_norm = norm;
		si.tokens = b.tokens_before + (uint64_t)b.B * b.T;
		si.tokens_per_s = (double)b.B * b.T / (now_s() - t0);
		ss.step = (int64_t)b.step;
		ss.phase = si.phase;
		ss.loss = loss;
		ss.lr = b.lr;
		ss.grad_norm = norm;
		ss.tokens = (uint64_t)b.B * b.T;
		ss.seconds = now_s() - t0;
		tm_stats_train_step(o->stats, &ss);
		if (o->on_step)
			o->on_step(o->arg, &si);
		if (b.eval)
			evaluate(&t, b.step);
		if ((o->ckpt_every > 0 && (b.step + 1) % (uint64_t)o->ckpt_every == 0) ||
		    b.phase_end || tm_loader_done(t.loader) ||
		    (o->max_steps >= 0 && updates == o->max_steps)) {
			if ((rc = checkpoint(&t, err)) < 0)
				goto out;
		}
	}
	rc = 0;
out:
	trainer_free(&t);
	return rc;
}

/* ---- eval ------------------------------------------------------------- */

int tm_eval_ids(const char *dir, const int32_t *const *seqs, const int *lens, size_t n,
		int threads, double *loss, uint64_t *scored, struct tm_err *err)
{
	struct tm_llama_config c;
	struct tm_hf_info x = TM_HF_INFO_INIT;
	struct tm_model *m = NULL;
	const char *why = NULL;
	int32_t *in = NULL, *tg = NULL;
	double sum = 0;
	uint64_t cnt = 0;
	int maxT = 1, rc;
	size_t i;

	for (i = 0; i < n; i++)
		if (lens[i] - 1 > maxT)
			maxT = lens[i] - 1;
	if ((rc = tm_hf_config_read(dir, &c, &x, err)) < 0)
		return rc;
	if (c.max_seq_len < maxT)
		c.max_seq_len = maxT;
	if (!(m = tm_model_new(&c, 1, maxT, threads, &why)))
		return tm_err_set(err, TM_ENOMEM, dir, TM_ERR_NO_OFFSET, 0, "model: %s",
				  why ? why : "cannot allocate");
	if ((rc = tm_hf_load_params(dir, &c, &x, tm_model_params(m), err)) < 0)
		goto out;
	in = tm_xcalloc((size_t)maxT, sizeof(*in));
	tg = tm_xcalloc((size_t)maxT, sizeof(*tg));
	for (i = 0; i < n; i++) {
		int T = lens[i] - 1, k;
		float l;

		if (T < 1)
			continue;
		for (k = 0; k < T; k++) {
			if (seqs[i][k] < 0 || seqs[i][k] >= c.vocab_size ||
			    seqs[i][k + 1] < 0 || seqs[i][k + 1] >= c.vocab_size) {
				rc = tm_err_set(err, TM_EINVAL, NULL, TM_ERR_NO_OFFSET, (long)i + 1,
						"token id out of the vocabulary (0..%d)", c.vocab_size - 1);
				goto out;
			}
			in[k] = seqs[i][k];
			tg[k] = seqs[i][k + 1];
		}
		/* no document masking: a sequence is one context */
		l = tm_model_forward(m, in, tg, 1, T, -1);
		sum += (double)l * T;
		cnt += (uint64_t)T;
	}
	*loss = cnt ? sum / (double)cnt : NAN;
	*scored = cnt;
out:
	free(in);
	free(tg);
	tm_model_free(m);
	return rc;
}

/* ---- generation ------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

int tm_generate(const char *dir, const int32_t *prompt, int nprompt, int n, double temperature,
		int top_k, uint64_t seed, int threads, int32_t **out, int *nout, int32_t *bos,
		struct tm_err *err)
{
	struct tm_llama_config c;
	struct tm_hf_info x = TM_HF_INFO_INIT;
	struct tm_model *m = NULL;
	const char *why = NULL;
	int32_t *seq;
	float *p = NULL;
	int len = 0, maxT, i, rc;
	uint64_t rng = seed;

	if ((rc = tm_hf_config_read(dir, &c, &x, err)) < 0)
		return rc;
	*bos = (int32_t)x.bos_token_id;
	maxT = nprompt + n + 1;
	if (c.max_seq_len < maxT)
		c.max_seq_len = maxT;
	if (!(m = tm_model_new(&c, 1, maxT, threads, &why)))
		return tm_err_set(err, TM_ENOMEM, dir, TM_ERR_NO_OFFSET, 0, "model: %s",
				  why ? why : "cannot allocate");
	if ((rc = tm_hf_load_params(dir, &c, &x, tm_model_params(m), err)) < 0) {
		tm_model_free(m);
		return rc;
	}
	seq = tm_xcalloc((size_t)maxT, sizeof(*seq));
	if (x.bos_token_id >= 0 && x.bos_token_id < c.vocab_size &&
	    (nprompt == 0 || prompt[0] != x.bos_token_id))
		seq[len++] = (int32_t)x.bos_token_id;
	for (i = 0; i < nprompt; i++) {
		if (prompt[i] < 0 || prompt[i] >= c.vocab_size) {
			free(seq);
			tm_model_free(m);
			return tm_err_set(err, TM_EINVAL, NULL, TM_ERR_NO_OFFSET, 0,
					  "prompt token %d is not in the vocabulary (0..%d)",
					  prompt[i], c.vocab_size - 1);
		}
		seq[len++] = prompt[i];
	}
	if (!len)
		seq[len++] = 0;
	p = tm_xcalloc((size_t)c.vocab_size, sizeof(*p));
	for (i = 0; i < n; i++) {
		const float *logits;
		double mx = -INFINITY, sum = 0, r;
		int v, next = 0;

		/* no KV cache: the whole context again (a reference, not a server) */
		tm_model_forward(m, seq, NULL, 1, len, (int32_t)x.bos_token_id);
		logits = tm_model_logits(m) + (size_t)(len - 1) * c.vocab_size;
		if (temperature <= 0) {
			for (v = 1; v < c.vocab_size; v++)
				if (logits[v] > logits[next])
					next = v;
		} else {
			float kth = -INFINITY;

			if (top_k > 0 && top_k < c.vocab_size) {
				/* the k-th largest logit, by counting (k is small) */
				float *tmp = (float *)tm_xmemdup(logits, (size_t)c.vocab_size * sizeof(float));
				int j, k;

				for (k = 0; k < top_k; k++) {
					int best = -1;

					for (j = 0; j < c.vocab_size; j++)
						if (tmp[j] > -INFINITY && (best < 0 || tmp[j] > tmp[best]))
							best = j;
					kth = tmp[best];
					tmp[best] = -INFINITY;
				}
				free(tmp);
			}
			for (v = 0; v < c.vocab_size; v++)
				if (logits[v] >= kth && logits[v] > mx)
					mx = logits[v];
			for (v = 0; v < c.vocab_size; v++) {
				p[v] = logits[v] >= kth ? (float)exp((logits[v] - mx) / temperature) : 0;
				sum += p[v];
			}
			r = (double)(splitmix64(&rng) >> 11) / 9007199254740992.0 * sum;
			for (v = 0; v < c.vocab_size; v++) {
				r -= p[v];
				if (r < 0) {
					next = v;
					break;
				}
				next = v;
			}
		}
		seq[len++] = next;
	}
	free(p);
	tm_model_free(m);
	*out = seq;
	*nout = len;
	return 0;
}
