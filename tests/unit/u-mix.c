/*
 * u-mix.c: train/mix.h through its public API: the shipped plans; every
 * semantic error of a mixes file with its line; token counts; weights
 * normalised; the LR schedule at known points; and the loader over small
 * shards written here: exact T+1 windows across shard boundaries and
 * into later epochs (each in a shard order of its own), determinism,
 * resume from a saved state, the empirical mix against the weights,
 * phases with their own shapes, validation sequences, and the errors of
 * missing, mismatched and damaged shards.
 */
#include "tamis.h"
#include "ini.h"
#include "mix.h"
#include "shard.h"
#include "tap.h"

#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

static bool near(double a, double b)
{
	return fabs(a - b) <= 1e-12 * TM_MAX(1.0, fabs(b));
}

/* Builds a plan from `text` as file `name`; returns the code. */
static int plan_from(const char *name, const char *text, const char *shards,
		     const char *override, struct tm_mix **m, struct tm_err *err)
{
	struct tm_ini *ini;
	int rc;

	*m = NULL;
	tm_err_clear(err);
	if ((rc = tm_ini_parse_buf(name, text, strlen(text), &ini, err)) < 0)
		return 100;	/* a syntax error: not what these tests are about */
	if (override && (rc = tm_ini_set_arg(ini, override, err)) < 0) {
		tm_ini_free(ini);
		return 101;
	}
	rc = tm_mix_from_ini(ini, shards, m, err);
	tm_ini_free(ini);
	return rc;
}

/* ------------------------------------------------------------ plans */

static void test_tokens(void)
{
	static const struct {
		const char *s;
		int rc;
		uint64_t v;
	} t[] = {
		{ "8192", 0, 8192 }, { "15.6T", 0, 15600000000000ULL }, { "40M", 0, 40000000 },
		{ "0.3M", 0, 300000 }, { "2Mi", 0, 2097152 }, { "1.5Ki", 0, 1536 },
		{ "100K", 0, 100000 }, { "100k", 0, 100000 }, { "14.79996T", 0, 14799960000000ULL },
		{ ".5k", 0, 500 }, { "7.", 0, 7 }, { "0", 0, 0 },
		{ "18446744073709551615", 0, UINT64_MAX },
		{ "1.5", TM_EINVAL, 0 }, { "0.0001k", TM_EINVAL, 0 }, { "", TM_EINVAL, 0 },
		{ "k", TM_EINVAL, 0 }, { "1e6", TM_EINVAL, 0 }, { "-5", TM_EINVAL, 0 },
		{ "5 M", TM_EINVAL, 0 }, { "5MB", TM_EINVAL, 0 }, { "1..2", TM_EINVAL, 0 },
		{ "18446744073709551616", TM_ETOOBIG, 0 }, { "20000000T", TM_ETOOBIG, 0 },
		{ "99999999999999999999999999999999999999999999", TM_ETOOBIG, 0 },
	};
	size_t i;

	for (i = 0; i < TM_ARRAY_SIZE(t); i++) {
		uint64_t v = 12345;
		int rc = tm_mix_parse_tokens(t[i].s, &v);

		ok(rc == t[i].rc && (rc || v == t[i].v), "tokens '%s': rc %d (want %d), %" PRIu64,
		   t[i].s, rc, t[i].rc, v);
	}
}

#define BASE "[mix]\nseq_len = 4\nbatch = 2\nshards = s\n"
#define MAIN "[phase \"main\"]\ntokens = 100\nweights = a 1\nlr_max = 0.1\n"

static void test_errors(void)
{
	static const struct {
		const char *text, *override;
		long line;
		const char *msg;
	} t[] = {
		{ "[mix]\nbatch = 2\n" MAIN, NULL, 1, "[mix] needs seq_len" },
		{ "[mix]\nseq_len = 4\n" MAIN, NULL, 1, "[mix] needs batch" },
		{ MAIN, NULL, 0, "[mix] needs seq_len" },
		{ "[mix]\nseq_len = 0\nbatch = 2\n" MAIN, NULL, 2, "'seq_len': expected 1 to" },
		{ "[mix]\nseq_len = 4\nbatch = -2\n" MAIN, NULL, 3, "'batch': expected 1 to" },
		{ BASE "seed = -1\n" MAIN, NULL, 5, "'seed': expected 0 to" },
		{ BASE "eval_every = 1.5\n" MAIN, NULL, 5, "'eval_every': expected a token count" },
		{ BASE, NULL, 0, "no [phase \"NAME\"] section" },
		{ BASE "[phase \"main\"]\nweights = a 1\nlr_max = 0.1\n", NULL, 5,
		  "[phase \"main\"] needs tokens" },
		{ BASE "[phase \"main\"]\ntokens = 0\nweights = a 1\nlr_max = 0.1\n", NULL, 6,
		  "needs tokens = its budget (> 0)" },
		{ BASE "[phase \"main\"]\ntokens = 1.5\nweights = a 1\nlr_max = 0.1\n", NULL, 6,
		  "'tokens': expected a token count" },
		{ BASE "[phase \"main\"]\ntokens = 100\nlr_max = 0.1\n", NULL, 5,
		  "[phase \"main\"] needs weights" },
		{ BASE "[phase \"main\"]\ntokens = 100\nweights = a\nlr_max = 0.1\n", NULL, 7,
		  "expected 'SOURCE WEIGHT', got 'a'" },
		{ BASE "[phase \"main\"]\ntokens = 100\nweights = a -1\nlr_max = 0.1\n", NULL, 7,
		  "the weight of 'a': expected a number >= 0, got '-1'" },
		{ BASE "[phase \"main\"]\ntokens = 100\nweights = a x\nlr_max = 0.1\n", NULL, 7,
		  "expected a number >= 0, got 'x'" },
		{ BASE "[phase \"main\"]\ntokens = 100\nweights = a 1, a 2\nlr_max = 0.1\n", NULL, 7,
		  "'a' is named twice" },
		{ BASE "[phase \"main\"]\ntokens = 100\nweights = a 0, b 0\nlr_max = 0.1\n", NULL, 7,
		  "at least one weight > 0" },
		{ BASE "[phase \"main\"]\ntokens = 100\nweights = a 1,,b 1\nlr_max = 0.1\n", NULL, 7,
		  "an empty item" },
		{ BASE "[phase \"main\"]\ntokens = 100\nweights = .a 1\nlr_max = 0.1\n", NULL, 7,
		  "'.a' is not a source name" },
		{ BASE "[phase \"main\"]\ntokens = 100\nweights = a/b 1\nlr_max = 0.1\n", NULL, 7,
		  "'a/b' is not a source name" },
		{ BASE "[phase \"main\"]\ntokens = 100\nweights = a 1\n", NULL, 5,
		  "[phase \"main\"] needs lr_max" },
		{ BASE "[phase \"main\"]\ntokens = 100\nweights = a 1\nlr_max = 0\n", NULL, 8,
		  "'lr_max': expected a learning rate > 0" },
		{ BASE MAIN "schedule = cosin\n", NULL, 9,
		  "'schedule': expected constant, linear or cosine, got 'cosin'" },
		{ BASE MAIN "lr_min = 0.01\n", NULL, 9, "'lr_min' needs schedule = linear or cosine" },
		{ BASE MAIN "schedule = cosine\nlr_min = 0.2\n", NULL, 10,
		  "'lr_min': expected 0 to the phase's starting LR 0.1, got 0.2" },
		{ BASE MAIN "warmup_tokens = 101\n", NULL, 9,
		  "'warmup_tokens': 101 is more than the phase's 100 tokens" },
		{ BASE MAIN "[phase \"b\"]\ntokens = 8\nwarmup_tokens = 4\n", NULL, 11,
		  "'warmup_tokens' needs lr_max in the same phase" },
		{ BASE MAIN "decay_tokens = 50\n", NULL, 9,
		  "'decay_tokens' needs schedule = linear or cosine" },
		{ BASE "[source \"b\"]\ndir = x\n" MAIN, NULL, 5, "[source \"b\"] is in no phase's weights" },
		{ BASE "[source \"a b\"]\n" MAIN, NULL, 5, "a source name is letters" },
		{ BASE "[phase \"a b\"]\ntokens = 100\nweights = a 1\nlr_max = 0.1\n", NULL, 5,
		  "a phase name is letters" },
		{ BASE MAIN "[phase \"long\"]\ntokens = 100\nseq_len = 3\n", NULL, 11,
		  "seq_len 3 does not divide [mix]'s 8 tokens per step: set batch too" },
		{ "[mix]\nseq_len = 16777216\nbatch = 200\n" MAIN, NULL, 4, "is over 2^31 - 1" },
		{ BASE MAIN "bogus = 1\n", NULL, 9, "unknown key 'bogus'" },
		{ "[mix]\nseq_len = 4\nbatch = 2\n" MAIN, NULL, 6, "source 'a': no shard directory" },
		{ "[mix]\nseq_len = 4\nbatch = 2\n[source \"a\"]\ndir = rel\n" MAIN, NULL, 5,
		  "source 'a': no shard directory" },
		{ BASE "[phase \"main\"]\ntokens = 18446744073709551615\nweights = a 1\nlr_max = 1\n",
		  NULL, 6, "tokens overflow" },
		{ BASE MAIN "[phase \"b\"]\ntokens = 18446744073709551600\n", NULL, 10,
		  "overflow 64 bits" },
		{ BASE MAIN, "phase.main.lr_max=-1", 0, "'lr_max': expected a learning rate > 0" },
		{ BASE MAIN, "phase.main.weights=a 1, b", 0, "expected 'SOURCE WEIGHT', got 'b'" },
	};
	size_t i;

	for (i = 0; i < TM_ARRAY_SIZE(t); i++) {
		struct tm_err err = TM_ERR_INIT;
		struct tm_mix *m;
		int rc = plan_from("t.conf", t[i].text, NULL, t[i].override, &m, &err);
		const char *file = t[i].line || !t[i].override ? "t.conf" : TM_INI_CMDLINE;

		ok(rc == TM_ECONFIG && !m && err.line == t[i].line && !strcmp(err.file, file) &&
		   strstr(err.msg, t[i].msg), "error %zu: rc %d, %s: line %ld: %s (want line %ld: %s)",
		   i, rc, err.file, err.line, err.msg, t[i].line, t[i].msg);
	}
	{
		/* 33 sources */
		struct tm_buf b = TM_BUF_INIT;
		struct tm_err err = TM_ERR_INIT;
		struct tm_mix *m;
		int k, rc;

		tm_buf_addstr(&b, BASE "[phase \"main\"]\ntokens = 100\nlr_max = 1\nweights = ");
		for (k = 0; k < TM_MIX_MAX_SOURCES + 1; k++)
			tm_buf_addf(&b, "%ss%d 1", k ? ", " : "", k);
		tm_buf_addch(&b, '\n');
		rc = plan_from("t.conf", b.buf, NULL, NULL, &m, &err);
		ok(rc == TM_ECONFIG && err.line == 8 && strstr(err.msg, "more than 32 sources"),
		   "33 sources: %d line %ld %s", rc, err.line, err.msg);
		tm_buf_release(&b);
	}
}

static void test_plan(void)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_mix *m;
	int rc;

	rc = plan_from("dir/sub/p.conf",
		       "[mix]\nseq_len = 4\nbatch = 3\nshards = ../sh\n"
		       "[source \"b\"]\ndir = /abs/b\n"
		       "[source \"c\"]\ndir = cc\n"
		       "[phase \"main\"]\ntokens = 100\nweights = a 2, b 6, c 0, d 0\nlr_max = 1\n"
		       "[phase \"long\"]\ntokens = 10\nseq_len = 2\n"
		       "[phase \"end\"]\ntokens = 1\nseq_len = 6\nbatch = 1\nweights = d 3\n",
		       NULL, NULL, &m, &err);
	if (!ok(rc == 0, "a plan with defaults: %d %s", rc, err.msg))
		return;
	is_str(m->name, "p", "name from the file");
	is_u64(m->seed, 0, "seed default 0");
	is_u64(m->nsources, 4, "four sources");
	is_str(m->sources[0].name, "b", "[source] sections first");
	is_str(m->sources[1].name, "c", "then the second");
	is_str(m->sources[2].name, "a", "then weights in order");
	is_str(m->sources[3].name, "d", "and the last");
	is_str(m->sources[0].dir, "/abs/b", "absolute dir as is");
	is_str(m->sources[1].dir, "dir/sub/../sh/cc", "relative dir under shards");
	is_str(m->sources[2].dir, "dir/sub/../sh/a", "default dir shards/NAME");
	ok(m->sources[0].used && !m->sources[1].used && m->sources[2].used && m->sources[3].used,
	   "used: weight > 0 somewhere");
	ok(near(m->phases[0].weights[2], 0.25) && near(m->phases[0].weights[0], 0.75) &&
	   m->phases[0].weights[1] == 0 && m->phases[0].weights[3] == 0, "weights normalised");
	ok(m->phases[1].weights[2] == m->phases[0].weights[2], "weights continue");
	ok(m->phases[2].weights[3] == 1 && m->phases[2].weights[0] == 0, "weights replaced");
	is_int(m->phases[0].batch, 3, "main B");
	is_u64(m->phases[0].tokens_per_step, 12, "main tokens per step");
	is_u64(m->phases[0].steps, 9, "ceil(100 / 12) steps");
	is_u64(m->phases[0].tokens, 108, "whole steps");
	is_int(m->phases[1].seq_len, 2, "long T");
	is_int(m->phases[1].batch, 6, "long B keeps 12 tokens per step");
	is_u64(m->phases[1].steps, 1, "long: one step");
	is_u64(m->phases[1].start_tokens, 108, "long starts after main");
	is_u64(m->phases[1].start_seq, 27, "after 9 x 3 sequences");
	is_u64(m->phases[2].start_seq, 33, "then 6");
	is_u64(m->phases[2].tokens_per_step, 6, "end: 1 x 6");
	is_u64(m->steps, 11, "steps in all");
	is_u64(m->tokens, 126, "tokens in all");
	is_int(m->max_seq_len, 6, "max T");
	is_int(m->max_batch, 6, "max B");
	is_u64(m->max_batch_ints, 18, "max B (T + 1)");
	ok(m->phases[1].lr_start == 1 && m->phases[2].lr_start == 1 && !m->phases[1].lr_set,
	   "constant LR continues");
	tm_mix_free(m);

	rc = plan_from("p.conf", BASE MAIN, "/over", "mix.shards=cmd", &m, &err);
	if (ok(rc == 0, "shards given: %d %s", rc, err.msg))
		is_str(m->sources[0].dir, "/over/a", "the given shards beat [mix] shards");
	tm_mix_free(m);
	rc = plan_from("x/p.conf", BASE MAIN, NULL, "mix.shards=cmd", &m, &err);
	if (ok(rc == 0, "shards override: %d %s", rc, err.msg))
		is_str(m->sources[0].dir, "cmd/a", "an override's shards are relative to the cwd");
	tm_mix_free(m);
	tm_mix_free(NULL);
}

static void test_lr(void)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_mix *m;
	size_t ph = 99;
	int rc;

	/* 10 tokens a step; main 1000 (warmup 100, cosine 1 -> 0.1), anneal 100 linear to 0 */
	rc = plan_from("lr.conf", "[mix]\nseq_len = 10\nbatch = 1\nshards = s\n"
		       "[phase \"main\"]\ntokens = 1000\nweights = a 1\nlr_max = 1\nlr_min = 0.1\n"
		       "schedule = cosine\nwarmup_tokens = 100\n"
		       "[phase \"anneal\"]\ntokens = 100\nschedule = linear\n",
		       NULL, NULL, &m, &err);
	if (!ok(rc == 0, "lr plan: %d %s", rc, err.msg))
		return;
	ok(tm_mix_lr(m, 0, &ph) == 0 && ph == 0, "warmup starts at 0");
	ok(near(tm_mix_lr(m, 50, NULL), 0.5), "warmup middle");
	ok(near(tm_mix_lr(m, 100, NULL), 1), "warmup end: lr_max");
	ok(near(tm_mix_lr(m, 550, NULL), 0.55), "cosine midpoint: (max + min) / 2");
	ok(near(tm_mix_lr(m, 999, &ph), 0.1 + 0.9 * 0.5 * (1 + cos(M_PI * 899 / 900))) && ph == 0,
	   "cosine near its end");
	ok(near(tm_mix_lr(m, 1000, &ph), 0.1) && ph == 1, "anneal starts where main ended");
	ok(near(tm_mix_lr(m, 1050, NULL), 0.05), "anneal middle");
	ok(tm_mix_lr(m, 1100, &ph) == 0 && ph == 1, "anneal end = 0");
	ok(tm_mix_lr(m, 5000, &ph) == 0 && ph == 1, "past the end: the end");
	tm_mix_free(m);

	/* linear with decay_tokens shorter than the phase; then a new lr_max */
	rc = plan_from("lr.conf", "[mix]\nseq_len = 10\nbatch = 1\nshards = s\n"
		       "[phase \"a\"]\ntokens = 100\nweights = a 1\nlr_max = 2\nlr_min = 1\n"
		       "schedule = linear\ndecay_tokens = 50\n"
		       "[phase \"b\"]\ntokens = 100\nlr_max = 3\nschedule = cosine\ndecay_tokens = 200\n"
		       "[phase \"c\"]\ntokens = 10\n",
		       NULL, NULL, &m, &err);
	if (!ok(rc == 0, "lr plan 2: %d %s", rc, err.msg))
		return;
	ok(near(tm_mix_lr(m, 0, NULL), 2), "no warmup: lr_max at once");
	ok(near(tm_mix_lr(m, 25, NULL), 1.5), "linear middle");
	ok(near(tm_mix_lr(m, 75, NULL), 1), "after decay_tokens: lr_min");
	ok(near(tm_mix_lr(m, 100, NULL), 3), "a phase with lr_max starts there");
	ok(near(tm_mix_lr(m, 200, &ph), 3 * 0.5 * (1 + cos(M_PI / 2))) && ph == 2,
	   "a long cosine ends the phase half way, and c continues there");
	ok(near(m->phases[1].lr_end, 0) && near(m->phases[2].lr_start, 1.5),
	   "lr_end and lr_start as resolved");
	tm_mix_free(m);
}

static const char *src_path(const char *file)
{
	static char p[1024];
	const char *root = getenv("TAMIS_SRC");

	snprintf(p, sizeof(p), "%s/%s", root ? root : ".", file);
	return p;
}

static void test_shipped(void)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_mix *m;
	size_t ph;
	int rc;

	rc = tm_mix_load(src_path("mixes/demo.conf"), NULL, NULL, 0, &m, &err);
	if (ok(rc == 0, "mixes/demo.conf loads: %s", err.msg)) {
		is_u64(m->nphases, 2, "demo: main, anneal");
		is_u64(m->phases[0].tokens_per_step, 2048, "demo: 8 x 256");
		is_u64(m->phases[0].steps, 586, "demo main steps (1.2M / 2048)");
		is_u64(m->phases[1].steps, 98, "demo anneal steps (0.2M / 2048)");
		ok(tm_mix_lr(m, m->tokens, NULL) == 0, "demo ends at LR 0");
		is_u64(m->nsources, 4, "demo: four sources");
	}
	tm_mix_free(m);
	rc = tm_mix_load(src_path("mixes/llama3-8b.conf"), "/data", NULL, 0, &m, &err);
	if (ok(rc == 0, "mixes/llama3-8b.conf loads: %s", err.msg)) {
		double end_main = m->phases[0].lr_end;

		is_u64(m->nphases, 3, "llama3: main, long_context, anneal");
		is_u64(m->phases[0].tokens_per_step, 16777216, "llama3: 16M tokens a step");
		is_int(m->phases[1].batch, 128, "long context: 128 x 128K");
		is_u64(m->phases[2].steps, 3, "anneal: 40M in 3 steps");
		ok(near(m->phases[0].weights[0], 0.5) && near(m->phases[0].weights[1], 0.25) &&
		   near(m->phases[0].weights[2], 0.17) && near(m->phases[0].weights[3], 0.08),
		   "the paper's 50/25/17/8");
		is_str(m->sources[2].name, "code", "sources as weights name them");
		is_str(m->sources[0].dir, "/data/web", "shards/web");
		ok(near(tm_mix_lr(m, 134217728000ULL, NULL), 8e-5), "peak 8e-5 after warmup");
		end_main = tm_mix_lr(m, m->phases[1].start_tokens, &ph);
		ok(end_main > 1e-5 && end_main < 2e-5 && ph == 1, "main ends above lr_min: %g",
		   end_main);
		ok(near(tm_mix_lr(m, m->phases[2].start_tokens, NULL), end_main),
		   "anneal starts where long context ended");
		ok(tm_mix_lr(m, m->tokens, NULL) == 0, "and ends at 0");
		tap_diag("llama3-8b: %" PRIu64 " steps, %" PRIu64 " tokens, main ends at LR %.4g",
			 m->steps, m->tokens, end_main);
	}
	tm_mix_free(m);
}

/* ------------------------------------------------------------ shards */

#define VOCAB 70000u	/* 4-byte tokens: room for the ids below */
#define BOS 69999u

/* The id of token `off` of shard `k` of source `s`: all distinct. */
static uint32_t id_of(unsigned s, unsigned k, unsigned off)
{
	return s * 10000 + k * 1000 + off;
}

static void write_shard(const char *dir, const char *stem, int split, uint32_t idx,
			uint32_t vocab, uint32_t bos, const uint32_t *ids, size_t n)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_shard_writer *w;
	struct tm_shard_info meta;
	char path[1024];
	int rc;

	memset(&meta, 0, sizeof(meta));
	meta.vocab_size = vocab;
	meta.bos_id = bos;
	meta.index = idx;
	meta.split = (uint32_t)split;
	snprintf(path, sizeof(path), "%s/%s_%s_%06u.bin", dir, stem, split ? "val" : "train", idx);
	rc = tm_shard_open(path, &meta, &w, &err);
	if (!rc)
		rc = tm_shard_write(w, ids, n, &err);
	if (!rc)
		rc = tm_shard_commit(w, NULL, &err);
	else
		tm_shard_abort(w);
	if (rc)
		BUG("cannot write %s: %s", path, err.msg);
}

/* Source s's shards under shards/NAME: train shards of the sizes given. */
static void make_source(const char *name, unsigned s, const unsigned *sizes, size_t n,
			const unsigned *vsizes, size_t nv)
{
	char dir[700];
	uint32_t ids[1000];
	size_t k, i;

	snprintf(dir, sizeof(dir), "%s/%s", tap_tmp("shards"), name);
	mkdir(tap_tmp("shards"), 0777);
	mkdir(dir, 0777);
	for (k = 0; k < n; k++) {
		for (i = 0; i < sizes[k]; i++)
			ids[i] = id_of(s, (unsigned)k, (unsigned)i);
		write_shard(dir, name, 0, (uint32_t)k, VOCAB, BOS, ids, sizes[k]);
	}
	for (k = 0; k < nv; k++) {
		for (i = 0; i < vsizes[k]; i++)
			ids[i] = id_of(s, 9, (unsigned)(k * 100 + i));
		write_shard(dir, name, 1, (uint32_t)k, VOCAB, BOS, ids, vsizes[k]);
	}
}

/* A plan over tap_tmp("shards") from text after [mix] shards. */
static struct tm_mix *shard_plan(const char *text, const char *override)
{
	struct tm_buf b = TM_BUF_INIT;
	struct tm_err err = TM_ERR_INIT;
	struct tm_mix *m;
	int rc;

	tm_buf_addf(&b, "[mix]\nshards = %s\n%s", tap_tmp("shards"), text);
	rc = plan_from(tap_tmp("plan.conf"), b.buf, NULL, override, &m, &err);
	if (rc)
		BUG("plan: %d %s line %ld: %s", rc, err.file, err.line, err.msg);
	tm_buf_release(&b);
	return m;
}

static struct tm_loader *open_loader(const struct tm_mix *m, unsigned flags)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_loader *l;
	int rc = tm_loader_new(m, flags, &l, &err);

	ok(rc == 0, "loader opens: %d %s: %s", rc, err.file, err.msg);
	return l;
}

/*
 * One source "w" of three train shards of 7, 5 and 11 tokens, T = 4,
 * B = 2, read over more than six epochs: rows overlap by one token, the
 * T-token strides concatenate to the stream, and each epoch of 23 tokens
 * is the three shards whole, in some order, not always the same.
 */
static void test_windows(void)
{
	static const unsigned sizes[] = { 7, 5, 11 };
	struct tm_err err = TM_ERR_INIT;
	struct tm_mix *m;
	struct tm_loader *l;
	struct tm_batch b;
	uint32_t stream[200];
	size_t ns = 0, e, i;
	int32_t last = -1;
	unsigned orders = 0, first_order = 0;
	bool rows_ok = true, overlap_ok = true, epochs_ok = true;
	uint64_t ep, off;
	uint32_t sh;
	int step, rc;

	make_source("w", 1, sizes, 3, NULL, 0);
	m = shard_plan("seq_len = 4\nbatch = 2\nseed = 7\n"
		       "[phase \"main\"]\ntokens = 160\nweights = w 1\nlr_max = 1\n", NULL);
	if (!(l = open_loader(m, 0)))
		goto out;
	is_u64(tm_loader_source_tokens(l, 0), 23, "23 tokens an epoch");
	is_int(tm_loader_vocab_size(l), VOCAB, "vocabulary from the headers");
	is_int(tm_loader_bos(l), BOS, "BOS from the headers");
	for (step = 0; (rc = tm_loader_next(l, &b, &err)) == 0; step++) {
		for (i = 0; i < 2; i++) {
			const int32_t *row = b.tokens + i * 5;

			if (last >= 0 && row[0] != last)
				overlap_ok = false;
			last = row[4];
			memcpy(stream + ns, row, 4 * sizeof(*row));
			ns += 4;
			rows_ok &= b.source[i] == 0 && b.B == 2 && b.T == 4;
		}
	}
	is_int(rc, TM_EEOF, "the plan ends");
	is_int(step, 20, "160 tokens in steps of 8");
	ok(rows_ok, "B, T and the source of every row");
	ok(overlap_ok, "each row starts where the last one's targets end");
	/* 6 whole epochs of 23 in the 160 tokens */
	for (e = 0; e < 6; e++) {
		const uint32_t *t = stream + e * 23;
		unsigned seen = 0, order = 0;
		size_t p = 0;

		while (p < 23) {
			unsigned k = (t[p] - 10000) / 1000, j;

			if (k > 2 || seen & (1u << k) || t[p] != id_of(1, k, 0)) {
				epochs_ok = false;
				break;
			}
			for (j = 0; j < sizes[k]; j++)
				if (p + j >= 23 || t[p + j] != id_of(1, k, j))
					epochs_ok = false;
			seen |= 1u << k;
			order = order * 3 + k;
			p += sizes[k];
		}
		epochs_ok &= seen == 7;
		if (!e)
			first_order = order;
		orders |= order != first_order;
	}
	ok(epochs_ok, "every epoch is the three shards whole, windows crossing their borders");
	ok(orders, "the shard order changes between epochs");
	tm_loader_cursor(l, 0, &ep, &sh, &off);
	ok(ep == 160 / 23 && sh < 3, "cursor: epoch %" PRIu64 ", shard %u, offset %" PRIu64,
	   ep, sh, off);
	{
		/* the cursor names the shard and offset of the next token */
		struct tm_mix *m2 = shard_plan("seq_len = 4\nbatch = 2\nseed = 7\n"
					       "[phase \"main\"]\ntokens = 168\nweights = w 1\n"
					       "lr_max = 1\n", NULL);
		struct tm_loader *l2 = open_loader(m2, 0);

		for (step = 0; l2 && step < 20; step++)
			tm_loader_next(l2, &b, &err);
		if (l2 && !tm_loader_next(l2, &b, &err))
			ok((uint32_t)b.tokens[0] == id_of(1, sh, (unsigned)off),
			   "the cursor's shard and offset hold the next token");
		tm_loader_free(l2);
		tm_mix_free(m2);
	}
	tm_loader_free(l);
out:
	tm_mix_free(m);
}

/* Batches of two loaders of one plan, step by step. */
static bool same_batches(struct tm_loader *a, struct tm_loader *b, int steps, const char *what)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_batch x, y;
	int s;

	for (s = 0; s < steps; s++) {
		int ra = tm_loader_next(a, &x, &err), rb = tm_loader_next(b, &y, &err);

		if (ra != rb)
			return ok(0, "%s: step %d: %d vs %d", what, s, ra, rb);
		if (ra)
			break;
		if (x.B != y.B || x.T != y.T || x.step != y.step || x.phase != y.phase ||
		    x.lr != y.lr || x.eval != y.eval || x.tokens_before != y.tokens_before ||
		    memcmp(x.tokens, y.tokens, (size_t)x.B * (size_t)(x.T + 1) * 4) ||
		    memcmp(x.source, y.source, (size_t)x.B))
			return ok(0, "%s: step %d differs", what, s);
	}
	return ok(1, "%s: %d steps identical", what, s);
}

static const char *const MIX4 =
	"seq_len = 3\nbatch = 16\nseed = 42\neval_every = 480\neval_tokens = 10\n"
	"[source \"a\"]\n"
	"[phase \"main\"]\ntokens = 4800\nweights = a 0.5, b 0.25, c 0.17, d 0.08\n"
	"lr_max = 1\nlr_min = 0.1\nschedule = cosine\nwarmup_tokens = 480\n"
	"[phase \"long\"]\ntokens = 960\nseq_len = 6\n"
	"[phase \"anneal\"]\ntokens = 480\nweights = a 0, b 1, c 1, d 2\nschedule = linear\n";

static void make_four(void)
{
	static const unsigned a[] = { 100, 37, 64 }, b[] = { 50 }, c[] = { 13, 13, 13, 13 },
		d[] = { 9, 200 }, va[] = { 6, 9 };

	make_source("a", 1, a, 3, va, 2);
	make_source("b", 2, b, 1, NULL, 0);
	make_source("c", 3, c, 4, va, 1);
	make_source("d", 4, d, 2, NULL, 0);
}

static void test_determinism_resume(void)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_mix *m = shard_plan(MIX4, NULL);
	struct tm_loader *a = open_loader(m, 0), *b = open_loader(m, TM_LOADER_VERIFY), *c;
	struct tm_loader_state st, st2;
	unsigned char enc[TM_LOADER_STATE_BYTES(TM_MIX_MAX_SOURCES)];
	struct tm_batch x;
	int n, k, rc;

	if (!a || !b)
		goto out;
	same_batches(a, b, 1000, "two loaders of one plan");
	tm_loader_free(a);
	tm_loader_free(b);

	/* stop after k steps, save, restore in a new loader, compare the rest */
	for (k = 0; k < 130; k += 13) {
		a = open_loader(m, 0);
		b = open_loader(m, 0);
		for (n = 0; n < k; n++)
			tm_loader_next(a, &x, &err);
		tm_loader_get_state(a, &st);
		n = tm_loader_state_encode(&st, enc, sizeof(enc));
		is_int(n, TM_LOADER_STATE_BYTES(4), "encoded size");
		rc = tm_loader_state_decode(enc, (size_t)n, &st2, &err);
		ok(rc == 0 && !memcmp(&st, &st2, sizeof(st)), "decode(encode(state)) = state");
		rc = tm_loader_set_state(b, &st2, &err);
		ok(rc == 0 && tm_loader_step(b) == (uint64_t)k, "restored at step %d: %s", k,
		   err.msg);
		ok(!strcmp(tm_loader_phase(a), tm_loader_phase(b)) &&
		   tm_loader_phase_tokens(a) == tm_loader_phase_tokens(b) &&
		   tm_loader_tokens(a) == tm_loader_tokens(b), "phase bookkeeping restored");
		same_batches(a, b, 1000, "resumed vs uninterrupted");
		ok(tm_loader_done(b), "both ran to the end");
		tm_loader_free(a);
		tm_loader_free(b);
	}

	/* damaged or foreign states */
	a = open_loader(m, 0);
	tm_loader_get_state(a, &st);
	n = tm_loader_state_encode(&st, enc, sizeof(enc));
	is_int(tm_loader_state_encode(&st, enc, (size_t)n - 1), TM_EINVAL, "encode: short buffer");
	enc[20] ^= 1;
	is_int(tm_loader_state_decode(enc, (size_t)n, &st2, &err), TM_EDIGEST, "checksum");
	enc[20] ^= 1;
	enc[4] = 2;
	is_int(tm_loader_state_decode(enc, (size_t)n, &st2, &err), TM_EUNSUP, "version");
	enc[4] = 1;
	is_int(tm_loader_state_decode(enc, (size_t)n - 1, &st2, &err), TM_EFORMAT, "length");
	is_int(tm_loader_state_decode("TMLX", 4, &st2, &err), TM_EFORMAT, "magic");
	st2 = st;
	st2.seed++;
	is_int(tm_loader_set_state(a, &st2, &err), TM_EINVAL, "another seed");
	st2 = st;
	st2.cur[1].epoch_tokens++;
	ok(tm_loader_set_state(a, &st2, &err) == TM_EINVAL && strstr(err.msg, "the shards changed"),
	   "other shards: %s", err.msg);
	st2 = st;
	st2.cur[0].name_hash++;
	is_int(tm_loader_set_state(a, &st2, &err), TM_EINVAL, "another source");
	st2 = st;
	st2.step = 5;
	ok(tm_loader_set_state(a, &st2, &err) == TM_EINVAL && strstr(err.msg, "does not fit"),
	   "a position that does not fit the plan: %s", err.msg);
	st2.step = m->steps + 1;
	is_int(tm_loader_set_state(a, &st2, &err), TM_EINVAL, "past the plan");
	tm_loader_free(a);

	/* another plan with the same sources and phases before: it resumes */
	c = open_loader(m, 0);
	for (n = 0; n < 40; n++)
		tm_loader_next(c, &x, &err);
	tm_loader_get_state(c, &st);
	tm_loader_free(c);
	{
		struct tm_mix *m2 = shard_plan(MIX4, "phase.anneal.tokens=960");
		struct tm_loader *l2 = open_loader(m2, 0);

		rc = l2 ? tm_loader_set_state(l2, &st, &err) : -1;
		ok(rc == 0, "a longer anneal still takes the state: %s", err.msg);
		tm_loader_free(l2);
		tm_mix_free(m2);
	}
out:
	tm_mix_free(m);
}

static void test_phases_and_mix(void)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_mix *m = shard_plan(MIX4, NULL);
	struct tm_loader *l = open_loader(m, 0);
	uint64_t count[3][4] = { { 0 } }, nseq[3] = { 0 }, last_step = 0;
	struct tm_batch b;
	int evals = 0, ends = 0, rc, bad = 0;
	size_t i, s;
	bool shape_ok = true, lr_ok = true;

	if (!l)
		goto out;
	is_str(tm_loader_phase(l), "main", "starts in main");
	while ((rc = tm_loader_next(l, &b, &err)) == 0) {
		const struct tm_mix_phase *p = &m->phases[b.phase];

		shape_ok &= b.B == p->batch && b.T == p->seq_len && b.step == last_step++;
		lr_ok &= b.lr == tm_mix_lr(m, b.tokens_before + p->tokens_per_step / 2, NULL);
		evals += b.eval;
		ends += b.phase_end;
		for (i = 0; i < (size_t)b.B; i++) {
			count[b.phase][b.source[i]]++;
			/* each row's tokens come from its source */
			for (s = 0; s <= (size_t)b.T; s++)
				bad += (unsigned)b.tokens[i * (size_t)(b.T + 1) + s] / 10000 !=
				       (unsigned)b.source[i] + 1u;
		}
		nseq[b.phase] += (uint64_t)b.B;
		if (b.phase_end && b.phase == 0)
			ok(!strcmp(tm_loader_phase(l), "long") && tm_loader_phase_tokens(l) == 0,
			   "after main's last step: long, nothing consumed yet");
	}
	is_int(rc, TM_EEOF, "the plan ends");
	ok(tm_loader_done(l) && !strcmp(tm_loader_phase(l), "anneal") &&
	   tm_loader_phase_tokens(l) == m->phases[2].tokens, "done: the last phase, whole");
	is_u64(tm_loader_tokens(l), m->tokens, "every token of the plan");
	ok(shape_ok, "each batch has its phase's B and T, steps in order");
	ok(lr_ok, "each batch's LR is the schedule at the step's middle");
	is_int(bad, 0, "every row is its source's tokens");
	/* 4800 / 480 = 10 crossings in main, 2 in long, 1 in the anneal; phase ends too */
	is_int(ends, 3, "three phase ends");
	is_int(evals, 10 + 2 + 1, "evaluations: every 480 tokens and at phase ends");
	is_u64(nseq[1], 160, "long: 960 / 6 sequences");
	{
		static const double w[4] = { 0.5, 0.25, 0.17, 0.08 };
		bool close = true;

		for (i = 0; i < 4; i++) {
			double f = (double)count[0][i] / (double)nseq[0];

			close &= fabs(f - w[i]) < 0.025;
			tap_diag("source %zu: %.4f of %" PRIu64 " (weight %.2f)", i, f, nseq[0], w[i]);
		}
		ok(close, "the empirical mix of main matches its weights");
		ok(count[2][0] == 0 && count[2][3] > count[2][1], "the anneal's mix: a 0, d 2x b");
	}
	tm_loader_free(l);
out:
	tm_mix_free(m);

	/* a larger sample: 64000 sequences */
	m = shard_plan("seq_len = 1\nbatch = 64\nseed = 3\n"
		       "[phase \"main\"]\ntokens = 64000\nweights = a 0.5, b 0.25, c 0.17, d 0.08\n"
		       "lr_max = 1\n", NULL);
	if ((l = open_loader(m, 0))) {
		uint64_t c4[4] = { 0 };
		bool close = true;

		while (!tm_loader_next(l, &b, &err))
			for (i = 0; i < 64; i++)
				c4[b.source[i]]++;
		for (i = 0; i < 4; i++)
			close &= fabs((double)c4[i] / 64000 - m->phases[0].weights[i]) < 0.01;
		ok(close, "64000 draws within 0.01 of the weights: %" PRIu64 " %" PRIu64 " %"
		   PRIu64 " %" PRIu64, c4[0], c4[1], c4[2], c4[3]);
	}
	tm_loader_free(l);
	tm_mix_free(m);
}

static void test_val(void)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_mix *m = shard_plan(MIX4, NULL);
	struct tm_loader *l = open_loader(m, 0);
	struct tm_val *v = NULL;
	int32_t buf[3 * 5], in[6], tg[6];
	int n, rc;

	if (!l)
		goto out;
	/* source a: val shards of 6 and 9 tokens; eval_tokens 10, T = 4: 2 sequences */
	rc = tm_val_new(l, 0, 4, &v, &err);
	if (ok(rc == 0, "val of a")) {
		is_u64(tm_val_nseq(v), 2, "(10 - 1) / 4 sequences");
		rc = tm_val_next(v, buf, 3, &n, &err);
		ok(rc == 0 && n == 2, "both at once: %d %d", rc, n);
		ok((uint32_t)buf[0] == id_of(1, 9, 0) && (uint32_t)buf[4] == id_of(1, 9, 4) &&
		   (uint32_t)buf[5] == id_of(1, 9, 4) && (uint32_t)buf[6] == id_of(1, 9, 5) &&
		   (uint32_t)buf[7] == id_of(1, 9, 100) && (uint32_t)buf[9] == id_of(1, 9, 102),
		   "the first val tokens, across the val shards' border");
		rc = tm_val_next(v, buf, 3, &n, &err);
		ok(rc == TM_EEOF && n == 0, "then the end");
		tm_val_rewind(v);
		rc = tm_val_next(v, buf, 1, &n, &err);
		ok(rc == 0 && n == 1 && (uint32_t)buf[0] == id_of(1, 9, 0), "rewound: the same");
		tm_mix_split(buf, 1, 4, in, tg);
		ok((uint32_t)in[0] == id_of(1, 9, 0) && (uint32_t)tg[0] == id_of(1, 9, 1) &&
		   (uint32_t)tg[3] == id_of(1, 9, 4), "split: inputs and targets shifted by one");
	}
	tm_val_free(v);
	v = NULL;
	rc = tm_val_new(l, 1, 4, &v, &err);
	ok(rc == 0 && tm_val_nseq(v) == 0, "a source without val shards has no sequences");
	ok(tm_val_next(v, buf, 1, &n, &err) == TM_EEOF, "and ends at once");
	tm_val_free(v);
	rc = tm_val_new(l, 2, 20, &v, &err);
	ok(rc == 0 && tm_val_nseq(v) == 0, "T longer than the val tokens: none");
	tm_val_free(v);
	is_int(tm_val_new(l, 9, 4, &v, &err), TM_EINVAL, "no such source");
	tm_loader_free(l);
out:
	tm_mix_free(m);
}

/* tap_tmp("shards")/NAME, made; a static buffer. */
static const char *shard_dir(const char *name)
{
	static char dir[700];

	snprintf(dir, sizeof(dir), "%s/%s", tap_tmp("shards"), name);
	mkdir(dir, 0777);
	return dir;
}

/*
 * A loader over a one-phase plan: T 4, B 1, 8 tokens, `weights` (after
 * `extra` in [mix]); its code.  The plan in *m (the caller frees it),
 * the loader in *l.
 */
static int try_loader(const char *extra, const char *weights, unsigned flags,
		      struct tm_mix **m, struct tm_loader **l, struct tm_err *err)
{
	char text[512];

	snprintf(text, sizeof(text), "seq_len = 4\nbatch = 1\n%s[phase \"p\"]\ntokens = 8\n"
		 "lr_max = 1\nweights = %s\n", extra, weights);
	*m = shard_plan(text, NULL);
	tm_err_clear(err);
	return tm_loader_new(*m, flags, l, err);
}

/* The loader's errors: missing, mismatched, numbered wrong, damaged. */
static void test_loader_errors(void)
{
	static const unsigned one[] = { 20 };
	struct tm_err err = TM_ERR_INIT;
	struct tm_loader *l;
	struct tm_mix *m;
	struct tm_batch b;
	const char *dir;
	char path[800];
	uint32_t ids[4] = { 1, 2, 3, 4 };
	int rc, fd;

	/* absent with weight 0: fine; absent with weight > 0: named, with the line */
	rc = try_loader("", "a 1, gone 0", 0, &m, &l, &err);
	ok(rc == 0 && !tm_loader_next(l, &b, &err), "a source of weight 0 may be absent");
	tm_loader_free(l);
	tm_mix_free(m);
	rc = try_loader("", "a 1, gone 1", 0, &m, &l, &err);
	ok(rc == TM_ECONFIG && !l && err.line == 8 && strstr(err.msg, "source 'gone': no shards") &&
	   strstr(err.file, "plan.conf"), "a missing source: %s: line %ld: %s", err.file,
	   err.line, err.msg);
	tm_mix_free(m);

	/* a directory without train shards */
	write_shard(shard_dir("empty"), "empty", 1, 0, VOCAB, BOS, ids, 4);
	rc = try_loader("[source \"empty\"]\n", "a 1, empty 1", 0, &m, &l, &err);
	ok(rc == TM_ECONFIG && err.line == 5 && strstr(err.msg, "no *_train_NNNNNN.bin"),
	   "no train shards: line %ld: %s", err.line, err.msg);
	tm_mix_free(m);

	/* another vocabulary, another BOS */
	write_shard(shard_dir("v2"), "v2", 0, 0, 1000, 0, ids, 4);
	rc = try_loader("", "a 1, v2 1", 0, &m, &l, &err);
	ok(rc == TM_EFORMAT && strstr(err.file, "v2_train_000000.bin") &&
	   strstr(err.msg, "one tokenizer"), "another vocabulary: %s: %s", err.file, err.msg);
	tm_mix_free(m);
	write_shard(shard_dir("b2"), "b2", 0, 0, VOCAB, 5, ids, 4);
	rc = try_loader("", "a 1, b2 1", 0, &m, &l, &err);
	ok(rc == TM_EFORMAT && err.offset == 40, "another BOS: %s", err.msg);
	tm_mix_free(m);

	/* a gap in the numbers, two stems */
	dir = shard_dir("gap");
	write_shard(dir, "gap", 0, 0, VOCAB, BOS, ids, 4);
	write_shard(dir, "gap", 0, 2, VOCAB, BOS, ids, 4);
	rc = try_loader("", "gap 1", 0, &m, &l, &err);
	ok(rc == TM_EFORMAT && strstr(err.msg, "expected gap_train_000001.bin next, got "
				      "'gap_train_000002.bin'"), "a missing shard: %s", err.msg);
	tm_mix_free(m);
	dir = shard_dir("two");
	write_shard(dir, "two", 0, 0, VOCAB, BOS, ids, 4);
	write_shard(dir, "owt", 0, 1, VOCAB, BOS, ids, 4);
	rc = try_loader("", "two 1", 0, &m, &l, &err);
	ok(rc == TM_EFORMAT && strstr(err.msg, "one directory per source"), "two stems: %s",
	   err.msg);
	tm_mix_free(m);

	/* a token beyond the vocabulary: found by verify, or when read */
	make_source("bad", 5, one, 1, NULL, 0);
	snprintf(path, sizeof(path), "%s/bad/bad_train_000000.bin", tap_tmp("shards"));
	fd = open(path, O_WRONLY);
	ids[0] = VOCAB + 5;
	ok(fd >= 0 && pwrite(fd, ids, 4, TM_SHARD_HEADER_BYTES + 4 * 3) == 4, "damage a token");
	if (fd >= 0)
		close(fd);
	rc = try_loader("", "bad 1", TM_LOADER_VERIFY, &m, &l, &err);
	ok(rc == TM_EFORMAT && !l && strstr(err.msg, "not below the vocabulary"),
	   "verify finds the damage: %s", err.msg);
	l = open_loader(m, 0);
	if (l) {
		rc = tm_loader_next(l, &b, &err);
		ok(rc == TM_EFORMAT && err.offset == TM_SHARD_HEADER_BYTES + 12 &&
		   strstr(err.file, "bad_train_000000.bin") && tm_loader_step(l) == 0,
		   "reading finds it, and stays put: %s", err.msg);
	}
	tm_loader_free(l);
	tm_mix_free(m);

	/* an llm.c shard: right size, no tamis words */
	dir = shard_dir("llmc");
	write_shard(dir, "llmc", 0, 0, 1000, 0, ids + 1, 3);
	snprintf(path, sizeof(path), "%s/llmc_train_000000.bin", dir);
	fd = open(path, O_WRONLY);
	{
		char zero[60] = { 0 };

		ok(fd >= 0 && pwrite(fd, zero, sizeof(zero), 12) == (ssize_t)sizeof(zero),
		   "strip the tamis words");
	}
	if (fd >= 0)
		close(fd);
	rc = try_loader("", "llmc 1", 0, &m, &l, &err);
	ok(rc == TM_EFORMAT && strstr(err.msg, "llm.c shard"), "an llm.c shard: %s", err.msg);
	tm_mix_free(m);
}

/* 2-byte tokens read the same way */
static void test_narrow(void)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_mix *m;
	struct tm_loader *l;
	struct tm_batch b;
	uint16_t want[9];
	uint32_t ids[9];
	int i, rc;

	for (i = 0; i < 9; i++)
		ids[i] = want[i] = (uint16_t)(60000 + i);
	write_shard(shard_dir("n16"), "n16", 0, 0, 65536, 60000, ids, 9);
	m = shard_plan("seq_len = 8\nbatch = 1\n[phase \"p\"]\ntokens = 8\nlr_max = 1\n"
		       "weights = n16 1\n", NULL);
	l = open_loader(m, TM_LOADER_VERIFY);
	rc = l ? tm_loader_next(l, &b, &err) : -1;
	if (ok(rc == 0, "uint16 shards read")) {
		bool same = true;

		for (i = 0; i < 9; i++)
			same &= b.tokens[i] == want[i];
		ok(same && tm_loader_vocab_size(l) == 65536 && tm_loader_bos(l) == 60000,
		   "uint16 ids as written");
	}
	tm_loader_free(l);
	tm_mix_free(m);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	test_tokens();
	test_errors();
	test_plan();
	test_lr();
	test_shipped();
	test_windows();
	make_four();
	test_determinism_resume();
	test_phases_and_mix();
	test_val();
	test_loader_errors();
	test_narrow();
	nftw(tap_tmp("shards"), rm_one, 8, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
