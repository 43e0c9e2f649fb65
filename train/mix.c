/*
 * mix.c: mixture plans and the shard loader (mix.h; docs/FORMATS.md,
 * "Mixture plans", is normative).  The plan half reads an INI file into
 * struct tm_mix; the loader half maps shards and draws batches.  Not a
 * trainer: no model, no printing.
 */
#include "tamis.h"
#include "mix.h"
#include "shard.h"

#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "shards and loader states are little-endian, read in host order");

#define GOLDEN 0x9e3779b97f4a7c15ULL
/* T and B are ints; B * (T + 1) int32 must be addressable with an int */
#define MAX_SEQ_LEN (1 << 24)
#define MAX_BATCH (1 << 24)

const struct tm_ini_key tm_mix_schema[] = {
	{ "mix", "name", TM_INI_STRING, "the plan's name; default the file's name without .conf" },
	{ "mix", "shards", TM_INI_STRING,
	  "base directory of the sources' shard directories (relative: to this file)" },
	{ "mix", "seq_len", TM_INI_INT, "T: tokens a sequence predicts (it holds T + 1)" },
	{ "mix", "batch", TM_INI_INT, "B: sequences per step" },
	{ "mix", "seed", TM_INI_INT, "seed of the source draws and the shard orders" },
	{ "mix", "eval_every", TM_INI_STRING,
	  "tokens between evaluations (also at each phase's end); 0: phase ends only" },
	{ "mix", "eval_tokens", TM_INI_STRING,
	  "validation tokens per source, the first of its val shards; 0: no evaluation" },
	{ "source *", "dir", TM_INI_STRING,
	  "the source's shard directory (relative: to shards); default shards/NAME" },
	{ "phase *", "tokens", TM_INI_STRING, "the phase's budget: 2M, 15.6T" },
	{ "phase *", "seq_len", TM_INI_INT, "T in this phase; default [mix] seq_len" },
	{ "phase *", "batch", TM_INI_INT,
	  "B in this phase; default [mix] batch, or the B keeping [mix]'s tokens per step" },
	{ "phase *", "weights", TM_INI_STRING,
	  "SOURCE WEIGHT, ...: the mixture (normalised); default the previous phase's" },
	{ "phase *", "lr_max", TM_INI_FLOAT,
	  "the LR after warmup; default: continue from the previous phase's last LR" },
	{ "phase *", "lr_min", TM_INI_FLOAT, "the LR the decay ends at; default 0" },
	{ "phase *", "warmup_tokens", TM_INI_STRING, "linear warmup from 0 to lr_max" },
	{ "phase *", "schedule", TM_INI_STRING, "constant, linear or cosine (after warmup)" },
	{ "phase *", "decay_tokens", TM_INI_STRING,
	  "tokens the decay takes; default the rest of the phase" },
};

const size_t tm_mix_schema_len = TM_ARRAY_SIZE(tm_mix_schema);

/* ------------------------------------------------------------------ plan */

struct mix {
	struct tm_mix pub;		/* first: a struct tm_mix * is a struct mix * */
	struct tm_mix_source src[TM_MIX_MAX_SOURCES];
	struct tm_mix_phase *ph;
	double *w;			/* [nphases][TM_MIX_MAX_SOURCES] */
	bool named[TM_MIX_MAX_SOURCES];	/* by a [source] section */
	bool mentioned[TM_MIX_MAX_SOURCES];	/* by some phase's weights */
};

/* An error of the plan at `line` of `file` (0: an override; < 0: none). */
static int cfg_err(struct tm_err *err, const char *file, long line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int cfg_err(struct tm_err *err, const char *file, long line, const char *fmt, ...)
{
	char msg[sizeof(err->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return tm_err_set(err, TM_ECONFIG, line == 0 ? TM_INI_CMDLINE : file, TM_ERR_NO_OFFSET,
			  line > 0 ? line : 0, "%s", msg);
}

int tm_mix_parse_tokens(const char *s, uint64_t *out)
{
	static const struct {
		const char *suffix;
		uint64_t mult;
	} sfx[] = {
		{ "", 1 }, { "k", 1000 }, { "K", 1000 }, { "M", 1000000 },
		{ "G", 1000000000 }, { "T", 1000000000000ULL },
		{ "Ki", 1ULL << 10 }, { "Mi", 1ULL << 20 }, { "Gi", 1ULL << 30 },
		{ "Ti", 1ULL << 40 },
	};
	unsigned __int128 v = 0, div = 1;
	bool digits = false, dot = false;
	size_t i;

	for (; *s; s++) {
		if (*s >= '0' && *s <= '9') {
			/* 39 digits overflow 128 bits; anything near is too big anyway */
			if (v > UINT64_MAX || div > UINT64_MAX)
				return TM_ETOOBIG;
			v = v * 10 + (unsigned)(*s - '0');
			if (dot)
				div *= 10;
			digits = true;
		} else if (*s == '.' && !dot) {
			dot = true;
		} else {
			break;
		}
	}
	if (!digits)
		return TM_EINVAL;
	for (i = 0; i < TM_ARRAY_SIZE(sfx); i++)
		if (!strcmp(s, sfx[i].suffix))
			break;
	if (i == TM_ARRAY_SIZE(sfx))
		return TM_EINVAL;
	if (v > UINT64_MAX)
		return TM_ETOOBIG;
	v *= sfx[i].mult;
	if (v % div)
		return TM_EINVAL;
	v /= div;
	if (v > UINT64_MAX)
		return TM_ETOOBIG;
	*out = (uint64_t)v;
	return 0;
}

static bool valid_name(const char *s, size_t len)
{
	size_t i;

	if (!len || len > 64 || s[0] == '.')
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return false;
	}
	return true;
}

/* "dir/x.conf" -> "dir"; "x.conf" -> "." */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return tm_xstrdup(".");
	if (slash == path)
		return tm_xstrdup("/");
	return tm_xmemdup(path, (size_t)(slash - path));
}

/* `rel` resolved against `base` (absolute rel, or base "." / NULL: rel). */
static char *join(const char *base, const char *rel)
{
	struct tm_buf b = TM_BUF_INIT;

	if (rel[0] == '/' || !base || !strcmp(base, "."))
		return tm_xstrdup(rel);
	tm_buf_addstr(&b, base);
	if (b.len && b.buf[b.len - 1] != '/')
		tm_buf_addch(&b, '/');
	tm_buf_addstr(&b, rel);
	return tm_buf_detach(&b, NULL);
}

/* The index of source `name`, added (line `line`) when new; -1 when full. */
static int source_index(struct mix *m, const char *name, size_t len, long line)
{
	size_t i;

	for (i = 0; i < m->pub.nsources; i++)
		if (strlen(m->src[i].name) == len && !memcmp(m->src[i].name, name, len))
			return (int)i;
	if (m->pub.nsources == TM_MIX_MAX_SOURCES)
		return -1;
	m->src[i].name = tm_xmemdup(name, len);
	m->src[i].line = line;
	m->pub.nsources++;
	return (int)i;
}

/* An int key of `section` "sub" in [lo, hi]; *out keeps `def` when absent. */
static int get_int(const struct tm_ini *ini, const char *sec, const char *sub, const char *key,
		   int64_t lo, int64_t hi, int64_t *out, bool *set, struct tm_err *err)
{
	const struct tm_ini_entry *e = tm_ini_find(ini, sec, sub, key);
	int rc;

	if (set)
		*set = e != NULL;
	if (!e)
		return 0;
	if ((rc = tm_ini_get_int(ini, sec, sub, key, 0, out, err)) < 0)
		return rc;
	if (*out < lo || *out > hi)
		return cfg_err(err, tm_ini_name(ini), e->line, "'%s': expected %" PRId64 " to %"
			       PRId64 ", got %" PRId64, key, lo, hi, *out);
	return 0;
}

/* A token-count key (tm_mix_parse_tokens); *set tells whether it is there. */
static int get_count(const struct tm_ini *ini, const char *sec, const char *sub, const char *key,
		     uint64_t *out, bool *set, struct tm_err *err)
{
	const struct tm_ini_entry *e = tm_ini_find(ini, sec, sub, key);
	int rc;

	*set = e != NULL;
	if (!e)
		return 0;
	if ((rc = tm_mix_parse_tokens(e->value, out)) < 0)
		return cfg_err(err, tm_ini_name(ini), e->line, "'%s': expected a token count "
			       "(digits, optional fraction, k/M/G/T or Ki/Mi/Gi/Ti; whole), "
			       "got '%.60s'%s", key, e->value,
			       rc == TM_ETOOBIG ? " (over 2^64)" : "");
	return 0;
}

/* The phase's LR `t` tokens into it (0 <= t <= p->tokens). */
static double phase_lr(const struct tm_mix_phase *p, uint64_t t)
{
	double x;

	if (t < p->warmup_tokens)
		return p->lr_start * (double)t / (double)p->warmup_tokens;
	if (p->schedule == TM_MIX_CONSTANT)
		return p->lr_start;
	t -= p->warmup_tokens;
	x = t >= p->decay_tokens ? 1.0 : (double)t / (double)p->decay_tokens;
	if (p->schedule == TM_MIX_LINEAR)
		return p->lr_start * (1 - x) + p->lr_end * x;
	return p->lr_end + (p->lr_start - p->lr_end) * 0.5 * (1 + cos(M_PI * x));
}

double tm_mix_lr(const struct tm_mix *m, uint64_t tokens, size_t *phase)
{
	size_t i = 0;

	while (i + 1 < m->nphases && tokens >= m->phases[i].start_tokens + m->phases[i].tokens)
		i++;
	if (phase)
		*phase = i;
	tokens -= m->phases[i].start_tokens;
	return phase_lr(&m->phases[i], TM_MIN(tokens, m->phases[i].tokens));
}

/* Parses `weights` of phase `pname` into w[] (not yet normalised). */
static int parse_weights(struct mix *m, const struct tm_ini *ini, const struct tm_ini_entry *e,
			 const char *pname, double *w, struct tm_err *err)
{
	const char *file = tm_ini_name(ini), *p = e->value;
	bool seen[TM_MIX_MAX_SOURCES] = { false };
	double sum = 0;
	size_t i;

	for (i = 0; i < TM_MIX_MAX_SOURCES; i++)
		w[i] = 0;
	for (;;) {
		size_t len = strcspn(p, ","), nlen;
		char num[64];
		const char *name, *sp;
		double v;
		int k;

		/* one item: NAME WEIGHT, trimmed */
		name = p + strspn(p, " \t");
		while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (name >= p + len)
			return cfg_err(err, file, e->line, "[phase \"%s\"] weights: expected "
				       "'SOURCE WEIGHT, ...', got an empty item in '%.60s'",
				       pname, e->value);
		for (sp = p + len; sp > name && sp[-1] != ' ' && sp[-1] != '\t'; sp--)
			;
		nlen = (size_t)(sp - name);
		while (nlen && (name[nlen - 1] == ' ' || name[nlen - 1] == '\t'))
			nlen--;
		if (!nlen || (size_t)(p + len - sp) >= sizeof(num))
			return cfg_err(err, file, e->line, "[phase \"%s\"] weights: expected "
				       "'SOURCE WEIGHT', got '%.*s'", pname,
				       (int)TM_MIN((size_t)(p + len - name), (size_t)60), name);
		if (!valid_name(name, nlen))
			return cfg_err(err, file, e->line, "[phase \"%s\"] weights: '%.*s' is not a "
				       "source name (letters, digits, '.', '_', '-'; at most 64)",
				       pname, (int)TM_MIN(nlen, (size_t)60), name);
		memcpy(num, sp, (size_t)(p + len - sp));
		num[p + len - sp] = '\0';
		if (tm_ini_to_double(num, &v) < 0 || !(v >= 0))
			return cfg_err(err, file, e->line, "[phase \"%s\"] weights: the weight of "
				       "'%.*s': expected a number >= 0, got '%s'", pname, (int)nlen,
				       name, num);
		if ((k = source_index(m, name, nlen, e->line)) < 0)
			return cfg_err(err, file, e->line, "[phase \"%s\"] weights: more than %d "
				       "sources", pname, TM_MIX_MAX_SOURCES);
		if (seen[k])
			return cfg_err(err, file, e->line, "[phase \"%s\"] weights: '%s' is named "
				       "twice", pname, m->src[k].name);
		seen[k] = true;
		m->mentioned[k] = true;
		w[k] = v;
		sum += v;
		if (v > 0 && !m->src[k].used) {
			m->src[k].used = true;
			if (!m->named[k])	/* errors about its shards name this line */
				m->src[k].line = e->line;
		}
		p += strcspn(p, ",");
		if (!*p)
			break;
		p++;
	}
	if (!(sum > 0) || !isfinite(sum))
		return cfg_err(err, file, e->line, "[phase \"%s\"] weights: expected at least one "
			       "weight > 0 (and a finite sum), got '%.60s'", pname, e->value);
	for (i = 0; i < TM_MIX_MAX_SOURCES; i++)
		w[i] /= sum;
	return 0;
}

/* The LR keys of phase p (its tokens known), given the one before. */
static int phase_lr_keys(const struct tm_ini *ini, struct tm_mix_phase *p,
			 const struct tm_mix_phase *prev, struct tm_err *err)
{
	static const char *const sched_name[] = { "constant", "linear", "cosine" };
	const char *file = tm_ini_name(ini), *name = p->name;
	const struct tm_ini_entry *e;
	uint64_t decay = 0;
	bool set, dset;
	size_t k;
	int rc;

	e = tm_ini_find(ini, "phase", name, "schedule");
	p->schedule = TM_MIX_CONSTANT;
	if (e) {
		for (k = 0; k < TM_ARRAY_SIZE(sched_name) && strcmp(e->value, sched_name[k]); k++)
			;
		if (k == TM_ARRAY_SIZE(sched_name))
			return cfg_err(err, file, e->line, "'schedule': expected constant, linear or "
				       "cosine, got '%.60s'", e->value);
		p->schedule = (enum tm_mix_schedule)k;
	}
	if ((e = tm_ini_find(ini, "phase", name, "lr_max"))) {
		if ((rc = tm_ini_get_double(ini, "phase", name, "lr_max", 0, &p->lr_start, err)) < 0)
			return rc;
		if (!(p->lr_start > 0))
			return cfg_err(err, file, e->line, "'lr_max': expected a learning rate > 0, "
				       "got %g", p->lr_start);
		p->lr_set = true;
	} else if (prev) {
		p->lr_start = phase_lr(prev, prev->tokens);
	} else {
		return cfg_err(err, file, p->line, "[phase \"%s\"] needs lr_max (the first phase "
			       "has no learning rate to continue)", name);
	}
	p->lr_end = p->schedule == TM_MIX_CONSTANT ? p->lr_start : 0;
	if ((e = tm_ini_find(ini, "phase", name, "lr_min"))) {
		if (p->schedule == TM_MIX_CONSTANT)
			return cfg_err(err, file, e->line, "'lr_min' needs schedule = linear or "
				       "cosine (a constant LR has no end)");
		if ((rc = tm_ini_get_double(ini, "phase", name, "lr_min", 0, &p->lr_end, err)) < 0)
			return rc;
		if (!(p->lr_end >= 0 && p->lr_end <= p->lr_start))
			return cfg_err(err, file, e->line, "'lr_min': expected 0 to the phase's "
				       "starting LR %g, got %g", p->lr_start, p->lr_end);
	}
	if ((rc = get_count(ini, "phase", name, "warmup_tokens", &p->warmup_tokens, &set, err)) < 0)
		return rc;
	e = tm_ini_find(ini, "phase", name, "warmup_tokens");
	if (set && p->warmup_tokens && !p->lr_set)
		return cfg_err(err, file, e->line, "'warmup_tokens' needs lr_max in the same "
			       "phase (the LR it warms up to)");
	if (set && p->warmup_tokens > p->budget)
		return cfg_err(err, file, e->line, "'warmup_tokens': %" PRIu64 " is more than the "
			       "phase's %" PRIu64 " tokens", p->warmup_tokens, p->budget);
	if ((rc = get_count(ini, "phase", name, "decay_tokens", &decay, &dset, err)) < 0)
		return rc;
	if (dset && p->schedule == TM_MIX_CONSTANT)
		return cfg_err(err, file, tm_ini_find(ini, "phase", name, "decay_tokens")->line,
			       "'decay_tokens' needs schedule = linear or cosine");
	p->decay_tokens = dset ? decay : p->tokens - p->warmup_tokens;
	return 0;
}

/* Fills in phase `i` (named `name`) from its section, given the one before. */
static int build_phase(struct mix *m, const struct tm_ini *ini, size_t i, const char *name,
		       int mix_T, int mix_B, struct tm_err *err)
{
	struct tm_mix_phase *p = &m->ph[i];
	const struct tm_mix_phase *prev = i ? &m->ph[i - 1] : NULL;
	const char *file = tm_ini_name(ini);
	const struct tm_ini_entry *e;
	int64_t T = mix_T, B = mix_B;
	bool set, tset, bset;
	long tline;
	double *w = m->w + i * TM_MIX_MAX_SOURCES;
	int rc;

	p->name = tm_xstrdup(name);
	p->line = tm_ini_section_line(ini, "phase", name);
	if (!valid_name(name, strlen(name)))
		return cfg_err(err, file, p->line, "[phase \"%.60s\"]: a phase name is letters, "
			       "digits, '.', '_', '-' (at most 64)", name);
	if ((rc = get_count(ini, "phase", name, "tokens", &p->budget, &set, err)) < 0)
		return rc;
	tline = set ? tm_ini_find(ini, "phase", name, "tokens")->line : p->line;
	if (!set || !p->budget)
		return cfg_err(err, file, tline, "[phase \"%s\"] needs tokens = its budget (> 0)",
			       name);
	if ((rc = get_int(ini, "phase", name, "seq_len", 1, MAX_SEQ_LEN, &T, &tset, err)) < 0 ||
	    (rc = get_int(ini, "phase", name, "batch", 1, MAX_BATCH, &B, &bset, err)) < 0)
		return rc;
	if (tset && !bset) {
		/* keep the plan's tokens per step, as Llama 3's long-context stages do */
		uint64_t tps = (uint64_t)mix_T * (uint64_t)mix_B;

		if (tps % (uint64_t)T)
			return cfg_err(err, file, tm_ini_find(ini, "phase", name, "seq_len")->line,
				       "[phase \"%s\"] seq_len %" PRId64 " does not divide [mix]'s %"
				       PRIu64 " tokens per step: set batch too", name, T, tps);
		B = (int64_t)(tps / (uint64_t)T);
		if (B > MAX_BATCH)
			return cfg_err(err, file, tm_ini_find(ini, "phase", name, "seq_len")->line,
				       "[phase \"%s\"] seq_len %" PRId64 " makes a batch of %" PRId64
				       " sequences (at most %d): set batch", name, T, B, MAX_BATCH);
	}
	if ((uint64_t)B * (uint64_t)(T + 1) > INT32_MAX)
		return cfg_err(err, file, p->line, "[phase \"%s\"]: batch %" PRId64 " x (seq_len %"
			       PRId64 " + 1) tokens is over 2^31 - 1", name, B, T);
	p->seq_len = (int)T;
	p->batch = (int)B;
	p->tokens_per_step = (uint64_t)B * (uint64_t)T;
	p->steps = p->budget / p->tokens_per_step + !!(p->budget % p->tokens_per_step);
	p->tokens = p->steps * p->tokens_per_step;	/* < budget + tokens_per_step: fits */
	if (p->tokens < p->budget)
		return cfg_err(err, file, tline, "[phase \"%s\"]: tokens overflow", name);
	p->start_step = prev ? prev->start_step + prev->steps : 0;
	p->start_tokens = prev ? prev->start_tokens + prev->tokens : 0;
	p->start_seq = prev ? prev->start_seq + prev->steps * (uint64_t)prev->batch : 0;
	if (p->start_tokens + p->tokens < p->start_tokens ||
	    p->steps > (UINT64_MAX - p->start_seq) / (uint64_t)B)
		return cfg_err(err, file, tline, "[phase \"%s\"]: the plan's tokens overflow "
			       "64 bits", name);

	/* the mixture */
	if ((e = tm_ini_find(ini, "phase", name, "weights"))) {
		if ((rc = parse_weights(m, ini, e, name, w, err)) < 0)
			return rc;
	} else if (prev) {
		memcpy(w, w - TM_MIX_MAX_SOURCES, TM_MIX_MAX_SOURCES * sizeof(*w));
	} else {
		return cfg_err(err, file, p->line, "[phase \"%s\"] needs weights = SOURCE WEIGHT, "
			       "... (the first phase has nothing to continue)", name);
	}
	p->weights = w;

	return phase_lr_keys(ini, p, prev, err);
}

void tm_mix_free(struct tm_mix *pm)
{
	struct mix *m = (struct mix *)pm;
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->pub.nsources; i++) {
		free((char *)m->src[i].name);
		free((char *)m->src[i].dir);
	}
	for (i = 0; i < m->pub.nphases; i++)
		free((char *)m->ph[i].name);
	free(m->ph);
	free(m->w);
	free((char *)m->pub.name);
	free((char *)m->pub.file);
	free(m);
}

/* The plan's name when [mix] name is absent: the file's, less ".conf". */
static char *stem_of(const char *path)
{
	const char *base = strrchr(path, '/');
	size_t len;

	base = base ? base + 1 : path;
	len = strlen(base);
	if (len > 5 && !strcmp(base + len - 5, ".conf"))
		len -= 5;
	return tm_xmemdup(base, len);
}

/* [mix] and the directories: everything of the plan but the phases. */
static int build_mix(struct mix *m, const struct tm_ini *ini, int64_t *T, int64_t *B,
		     struct tm_err *err)
{
	const char *file = tm_ini_name(ini);
	const struct tm_ini_entry *e;
	long mline = tm_ini_section_line(ini, "mix", NULL);
	int64_t seed = 0;
	bool set;
	int rc;

	e = tm_ini_find(ini, "mix", NULL, "name");
	m->pub.name = e ? tm_xstrdup(e->value) : stem_of(file);
	if ((rc = get_int(ini, "mix", NULL, "seed", 0, INT64_MAX, &seed, NULL, err)) < 0)
		return rc;
	m->pub.seed = (uint64_t)seed;
	if ((rc = get_int(ini, "mix", NULL, "seq_len", 1, MAX_SEQ_LEN, T, &set, err)) < 0)
		return rc;
	if (!set)
		return cfg_err(err, file, mline, "[mix] needs seq_len = T (tokens a sequence "
			       "predicts)");
	if ((rc = get_int(ini, "mix", NULL, "batch", 1, MAX_BATCH, B, &set, err)) < 0)
		return rc;
	if (!set)
		return cfg_err(err, file, mline, "[mix] needs batch = B (sequences per step)");
	if ((rc = get_count(ini, "mix", NULL, "eval_every", &m->pub.eval_every, &set, err)) < 0 ||
	    (rc = get_count(ini, "mix", NULL, "eval_tokens", &m->pub.eval_tokens, &set, err)) < 0)
		return rc;
	return 0;
}

/* Every used source's directory; `shards` is the command line's base. */
static int resolve_dirs(struct mix *m, const struct tm_ini *ini, const char *shards,
			struct tm_err *err)
{
	const char *file = tm_ini_name(ini);
	const struct tm_ini_entry *e = tm_ini_find(ini, "mix", NULL, "shards");
	char *base = NULL, *fdir = dir_of(file);
	size_t i;
	int rc = 0;

	if (shards)
		base = tm_xstrdup(shards);
	else if (e && e->value[0])
		base = e->line ? join(fdir, e->value) : tm_xstrdup(e->value);
	for (i = 0; i < m->pub.nsources && !rc; i++) {
		struct tm_mix_source *s = &m->src[i];
		const struct tm_ini_entry *d = tm_ini_find(ini, "source", s->name, "dir");

		if (d && d->value[0] == '/') {
			s->dir = tm_xstrdup(d->value);
		} else if (base) {
			s->dir = join(base, d ? d->value : s->name);
		} else if (s->used) {
			rc = cfg_err(err, file, d ? d->line : s->line, "source '%s': no shard "
				     "directory: set [mix] shards (or give one) or an absolute dir",
				     s->name);
		}
	}
	free(base);
	free(fdir);
	return rc;
}

int tm_mix_from_ini(const struct tm_ini *ini, const char *shards, struct tm_mix **out,
		    struct tm_err *err)
{
	struct mix *m = tm_xcalloc(1, sizeof(*m));
	const char *file = tm_ini_name(ini), *sub;
	size_t pos = 0, i, k;
	int64_t T = 0, B = 0;
	int rc;

	*out = NULL;
	m->pub.file = tm_xstrdup(file);
	if ((rc = tm_ini_check(ini, tm_mix_schema, tm_mix_schema_len, err)) < 0 ||
	    (rc = build_mix(m, ini, &T, &B, err)) < 0)
		goto fail;
	while ((sub = tm_ini_next_subsection(ini, "source", &pos))) {
		long line = tm_ini_section_line(ini, "source", sub);
		const struct tm_ini_entry *d = tm_ini_find(ini, "source", sub, "dir");
		int x;

		if (!valid_name(sub, strlen(sub))) {
			rc = cfg_err(err, file, line, "[source \"%.60s\"]: a source name is letters, "
				     "digits, '.', '_', '-' (at most 64), not starting with '.'", sub);
			goto fail;
		}
		if ((x = source_index(m, sub, strlen(sub), d ? d->line : line)) < 0) {
			rc = cfg_err(err, file, line, "more than %d sources", TM_MIX_MAX_SOURCES);
			goto fail;
		}
		m->named[x] = true;
	}
	pos = 0;
	while ((sub = tm_ini_next_subsection(ini, "phase", &pos)))
		m->pub.nphases++;
	if (!m->pub.nphases) {
		rc = cfg_err(err, file, -1, "no [phase \"NAME\"] section: a plan needs at least "
			     "one (with tokens, weights and lr_max)");
		goto fail;
	}
	m->ph = tm_xcalloc(m->pub.nphases, sizeof(*m->ph));
	m->w = tm_xcalloc(m->pub.nphases * TM_MIX_MAX_SOURCES, sizeof(*m->w));
	pos = 0;
	for (i = 0; (sub = tm_ini_next_subsection(ini, "phase", &pos)); i++) {
		if ((rc = build_phase(m, ini, i, sub, (int)T, (int)B, err)) < 0)
			goto fail;
	}
	/* a [source] that no phase mentions is a typo until proven otherwise */
	for (k = 0; k < m->pub.nsources; k++) {
		if (!m->mentioned[k]) {
			rc = cfg_err(err, file, tm_ini_section_line(ini, "source", m->src[k].name),
				     "[source \"%s\"] is in no phase's weights", m->src[k].name);
			goto fail;
		}
	}
	if ((rc = resolve_dirs(m, ini, shards, err)) < 0)
		goto fail;
	for (i = 0; i < m->pub.nphases; i++) {
		const struct tm_mix_phase *p = &m->ph[i];

		m->pub.max_seq_len = TM_MAX(m->pub.max_seq_len, p->seq_len);
		m->pub.max_batch = TM_MAX(m->pub.max_batch, p->batch);
		m->pub.max_batch_ints = TM_MAX(m->pub.max_batch_ints,
					       (uint64_t)p->batch * (uint64_t)(p->seq_len + 1));
	}
	m->pub.steps = m->ph[m->pub.nphases - 1].start_step + m->ph[m->pub.nphases - 1].steps;
	m->pub.tokens = m->ph[m->pub.nphases - 1].start_tokens + m->ph[m->pub.nphases - 1].tokens;
	m->pub.sources = m->src;
	m->pub.phases = m->ph;
	*out = &m->pub;
	return 0;
fail:
	tm_mix_free(&m->pub);
	return rc;
}

int tm_mix_load(const char *path, const char *shards, const char *const *overrides,
		size_t n, struct tm_mix **out, struct tm_err *err)
{
	struct tm_ini *ini;
	size_t i;
	int rc;

	*out = NULL;
	if ((rc = tm_ini_parse_file(path, &ini, err)) < 0)
		return rc;
	for (i = 0; i < n && !rc; i++)
		rc = tm_ini_set_arg(ini, overrides[i], err);
	if (!rc)
		rc = tm_mix_from_ini(ini, shards, out, err);
	tm_ini_free(ini);
	return rc;
}

void tm_mix_split(const int32_t *seq, int B, int T, int32_t *inputs, int32_t *targets)
{
	int b;

	for (b = 0; b < B; b++) {
		const int32_t *row = seq + (size_t)b * (size_t)(T + 1);

		memcpy(inputs + (size_t)b * (size_t)T, row, (size_t)T * sizeof(*row));
		memcpy(targets + (size_t)b * (size_t)T, row + 1, (size_t)T * sizeof(*row));
	}
}

/* ---------------------------------------------------------------- shards */

struct shard {
	const unsigned char *tok;	/* the payload, in the mapping */
	uint64_t ntok;
	uint32_t width;			/* 2 or 4 */
	uint32_t index;			/* the NNNNNN of its name */
	void *map;
	size_t maplen;
	char *path;
};

/*
 * A source's train (endless: epoch after epoch, each in its own order) or
 * val (once, in number order) token stream over its shards.
 */
struct stream {
	struct shard *sh;
	size_t n;
	uint64_t total;		/* tokens of one epoch */
	uint64_t key;		/* XXH64(name, seed): the shard orders' key */
	bool shuffle;
	bool ordered;		/* perm and end hold epoch `epoch` */
	uint64_t epoch;
	uint32_t *perm;		/* [n]: the shards in this epoch's order */
	uint64_t *end;		/* [n]: cumulative tokens through perm[k] */
};

struct lsrc {
	struct stream train, val;
	bool open;
	uint64_t pos;		/* train tokens consumed, all epochs */
	uint64_t name_hash;
};

struct tm_loader {
	const struct tm_mix *m;
	unsigned flags;
	uint32_t vocab, bos;
	const char *vocab_from;		/* the shard that set them */
	struct lsrc src[TM_MIX_MAX_SOURCES];
	double cum[TM_MIX_MAX_SOURCES];	/* the current phase's cumulative weights */
	uint64_t step, seq, tokens;
	size_t phase;			/* nphases when done */
	uint64_t phase_step;
	int32_t *buf;			/* max_batch_ints */
	uint8_t *bsrc;			/* max_batch */
	uint64_t newpos[TM_MIX_MAX_SOURCES];
};

/*
 * The shard order of `epoch` into perm[] and its cumulative token counts
 * into end[]: Fisher-Yates driven by splitmix64 seeded with
 * XXH64(epoch as 8 bytes, key), or the number order when not shuffled.
 */
static void compute_order(const struct stream *s, uint64_t epoch, uint32_t *perm, uint64_t *end)
{
	uint64_t acc = 0, r, e = epoch;
	size_t i;

	for (i = 0; i < s->n; i++)
		perm[i] = (uint32_t)i;
	if (s->shuffle) {
		r = XXH64(&e, sizeof(e), s->key);
		for (i = s->n; i > 1; i--) {
			size_t j = (size_t)(((unsigned __int128)tm_splitmix64(&r) * i) >> 64);
			uint32_t t = perm[i - 1];

			perm[i - 1] = perm[j];
			perm[j] = t;
		}
	}
	for (i = 0; i < s->n; i++) {
		acc += s->sh[perm[i]].ntok;
		end[i] = acc;
	}
}

/* Makes perm and end those of `epoch` (a cache of one epoch). */
static void stream_order(struct stream *s, uint64_t epoch)
{
	if (s->ordered && s->epoch == epoch)
		return;
	compute_order(s, epoch, s->perm, s->end);
	s->epoch = epoch;
	s->ordered = true;
}

/* The k with end[k-1] <= within < end[k] in the order end[]. */
static size_t locate(const uint64_t *end, size_t n, uint64_t within)
{
	size_t lo = 0, hi = n - 1;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (end[mid] > within)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/*
 * Copies n tokens from `within` tokens into the current order of s
 * (within + n <= total), checking each against the vocabulary.
 */
static int copy_span(const struct stream *s, uint32_t vocab, uint64_t within, size_t n,
		     int32_t *out, struct tm_err *err)
{
	size_t k = locate(s->end, s->n, within);

	while (n) {
		const struct shard *sh = &s->sh[s->perm[k]];
		uint64_t off = within - (s->end[k] - sh->ntok);
		size_t take = (size_t)TM_MIN((uint64_t)n, sh->ntok - off), i;
		uint32_t bad = 0;

		if (sh->width == 2) {
			const uint16_t *t = (const uint16_t *)sh->tok + off;

			for (i = 0; i < take; i++) {
				out[i] = t[i];
				bad |= t[i] >= vocab;
			}
		} else {
			const uint32_t *t = (const uint32_t *)sh->tok + off;

			for (i = 0; i < take; i++) {
				out[i] = (int32_t)t[i];
				bad |= t[i] >= vocab;
			}
		}
		if (bad) {
			for (i = 0; i < take && (uint32_t)out[i] < vocab; i++)
				;
			return tm_err_set(err, TM_EFORMAT, sh->path, TM_SHARD_HEADER_BYTES +
					  (off + i) * sh->width, 0, "token %" PRIu64 " is id %" PRIu32
					  ", not below the vocabulary size %" PRIu32 " (verify the "
					  "shard)", off + i, (uint32_t)out[i], vocab);
		}
		out += take;
		n -= take;
		within += take;
		k++;
	}
	return 0;
}

/* n tokens of the endless train stream from `pos`, across epochs. */
static int stream_read(struct stream *s, uint32_t vocab, uint64_t pos, size_t n, int32_t *out,
		       struct tm_err *err)
{
	while (n) {
		uint64_t within = pos % s->total;
		size_t take = (size_t)TM_MIN((uint64_t)n, s->total - within);
		int rc;

		stream_order(s, pos / s->total);
		if ((rc = copy_span(s, vocab, within, take, out, err)) < 0)
			return rc;
		out += take;
		n -= take;
		pos += take;
	}
	return 0;
}

static void stream_release(struct stream *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		if (s->sh[i].map)
			munmap(s->sh[i].map, s->sh[i].maplen);
		free(s->sh[i].path);
	}
	free(s->sh);
	free(s->perm);
	free(s->end);
	memset(s, 0, sizeof(*s));
}

/* Maps shard `path` (split sp, number idx) and checks it against the loader's. */
static int map_shard(struct tm_loader *l, const char *path, uint32_t sp, uint32_t idx,
		     struct shard *sh, struct tm_err *err)
{
	struct tm_shard_info info;
	struct stat st;
	int fd, rc = 0;

	sh->path = tm_xstrdup(path);
	sh->index = idx;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return tm_err_sys(err, path, "cannot open");
	if (fstat(fd, &st) < 0) {
		rc = tm_err_sys(err, path, "cannot stat");
		goto out;
	}
	if (st.st_size < TM_SHARD_HEADER_BYTES) {
		rc = tm_err_set(err, TM_ETRUNC, path, (uint64_t)st.st_size, 0, "a shard starts "
				"with a %d-byte header; the file has %jd bytes",
				TM_SHARD_HEADER_BYTES, (intmax_t)st.st_size);
		goto out;
	}
	sh->maplen = (size_t)st.st_size;
	sh->map = mmap(NULL, sh->maplen, PROT_READ, MAP_PRIVATE, fd, 0);
	if (sh->map == MAP_FAILED) {
		sh->map = NULL;
		rc = tm_err_sys(err, path, "cannot map");
		goto out;
	}
	if ((rc = tm_shard_parse_header(sh->map, (uint64_t)st.st_size, path, &info, err)) < 0)
		goto out;
	if (!info.tamis) {
		rc = tm_err_set(err, TM_EFORMAT, path, 12, 0, "an llm.c shard without tamis's "
				"header words: its vocabulary and BOS are unknown");
		goto out;
	}
	if (info.split != sp || info.index != idx) {
		rc = tm_err_set(err, TM_EFORMAT, path, 44, 0, "the header says %s shard %" PRIu32
				", the name %s shard %" PRIu32, info.split ? "val" : "train",
				info.index, sp ? "val" : "train", idx);
		goto out;
	}
	if (!l->vocab_from) {
		l->vocab = info.vocab_size;
		l->bos = info.bos_id;
		l->vocab_from = sh->path;
	} else if (info.vocab_size != l->vocab || info.bos_id != l->bos) {
		rc = tm_err_set(err, TM_EFORMAT, path, info.vocab_size != l->vocab ? 20 : 40, 0,
				"vocabulary %" PRIu32 " with BOS %" PRIu32 ", but '%s' has "
				"vocabulary %" PRIu32 " with BOS %" PRIu32 ": a plan's shards "
				"must come from one tokenizer", info.vocab_size, info.bos_id,
				l->vocab_from, l->vocab, l->bos);
		goto out;
	}
	if ((l->flags & TM_LOADER_VERIFY) && (rc = tm_shard_verify(path, &info, err)) < 0)
		goto out;
	sh->tok = (const unsigned char *)sh->map + TM_SHARD_HEADER_BYTES;
	sh->ntok = info.ntok;
	sh->width = info.token_bytes;
out:
	close(fd);
	return rc;
}

/* A shard file name: STEM_SPLIT_NNNNNN.bin, NNNNNN six or more digits. */
struct shard_name {
	char *file, *stem;
	uint32_t sp, idx;
};

static bool parse_shard_name(const char *file, struct shard_name *out)
{
	static const char *const split_tag[2] = { "_train_", "_val_" };
	size_t len = strlen(file), d, sp;
	uint64_t idx = 0;

	if (len < 4 || strcmp(file + len - 4, ".bin"))
		return false;
	len -= 4;
	for (d = len; d > 0 && file[d - 1] >= '0' && file[d - 1] <= '9'; d--)
		;
	if (len - d < 6 || len - d > 9)		/* 9 digits fit a uint32 */
		return false;
	for (sp = d; sp < len; sp++)
		idx = idx * 10 + (uint64_t)(file[sp] - '0');
	for (sp = 0; sp < 2; sp++) {
		size_t tl = strlen(split_tag[sp]);

		if (d > tl && !memcmp(file + d - tl, split_tag[sp], tl)) {
			out->stem = tm_xmemdup(file, d - tl);
			out->file = tm_xstrdup(file);
			out->sp = (uint32_t)sp;
			out->idx = (uint32_t)idx;
			return true;
		}
	}
	return false;
}

static int cmp_shard_name(const void *a, const void *b)
{
	const struct shard_name *x = a, *y = b;

	if (x->sp != y->sp)
		return x->sp < y->sp ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Opens source i's directory: its train and val streams. */
static int open_source(struct tm_loader *l, size_t i, struct tm_err *err)
{
	const struct tm_mix_source *ms = &l->m->sources[i];
	struct lsrc *s = &l->src[i];
	struct shard_name *names = NULL;
	size_t n = 0, k, ntrain;
	struct tm_buf path = TM_BUF_INIT;
	struct dirent *de;
	DIR *dir = opendir(ms->dir);
	int rc = 0;

	if (!dir)
		return tm_err_set(err, TM_ECONFIG, ms->line ? l->m->file : TM_INI_CMDLINE,
				  TM_ERR_NO_OFFSET, ms->line, "source '%s': no shards: cannot open "
				  "directory '%s': %s", ms->name, ms->dir, strerror(errno));
	while ((de = readdir(dir))) {
		struct shard_name sn;

		if (!parse_shard_name(de->d_name, &sn))
			continue;
		names = tm_xrealloc(names, (n + 1) * sizeof(*names));
		names[n++] = sn;
	}
	closedir(dir);
	qsort(names, n, sizeof(*names), cmp_shard_name);
	for (ntrain = 0; ntrain < n && !names[ntrain].sp; ntrain++)
		;
	for (k = 0; k < n && !rc; k++) {
		size_t want = names[k].sp ? k - ntrain : k;

		if (strcmp(names[k].stem, names[0].stem))
			rc = tm_err_set(err, TM_EFORMAT, ms->dir, TM_ERR_NO_OFFSET, 0, "shards of "
					"two sources, '%s' and '%s': one directory per source",
					names[0].file, names[k].file);
		else if (names[k].idx != want)
			rc = tm_err_set(err, TM_EFORMAT, ms->dir, TM_ERR_NO_OFFSET, 0, "expected "
					"%s_%s_%06zu.bin next, got '%s' (a missing or doubled shard)",
					names[k].stem, names[k].sp ? "val" : "train", want,
					names[k].file);
	}
	if (!rc && !ntrain)
		rc = tm_err_set(err, TM_ECONFIG, ms->line ? l->m->file : TM_INI_CMDLINE,
				TM_ERR_NO_OFFSET, ms->line, "source '%s': no shards: no "
				"*_train_NNNNNN.bin in '%s'", ms->name, ms->dir);
	if (!rc) {
		s->train.n = ntrain;
		s->val.n = n - ntrain;
		s->train.sh = tm_xcalloc(TM_MAX(s->train.n, (size_t)1), sizeof(struct shard));
		s->val.sh = tm_xcalloc(TM_MAX(s->val.n, (size_t)1), sizeof(struct shard));
	}
	for (k = 0; k < n && !rc; k++) {
		struct stream *st = names[k].sp ? &s->val : &s->train;
		struct shard *sh = &st->sh[names[k].sp ? k - ntrain : k];

		tm_buf_reset(&path);
		tm_buf_addf(&path, "%s/%s", ms->dir, names[k].file);
		if ((rc = map_shard(l, path.buf, names[k].sp, names[k].idx, sh, err)) < 0)
			break;
		st->total += sh->ntok;
	}
	for (k = 0; k < n; k++) {
		free(names[k].file);
		free(names[k].stem);
	}
	free(names);
	tm_buf_release(&path);
	if (rc < 0)
		return rc;
	s->name_hash = XXH64(ms->name, strlen(ms->name), 0);
	s->train.key = XXH64(ms->name, strlen(ms->name), l->m->seed);
	s->train.shuffle = true;
	s->open = true;
	for (k = 0; k < 2; k++) {
		struct stream *st = k ? &s->val : &s->train;

		st->perm = tm_xcalloc(TM_MAX(st->n, (size_t)1), sizeof(*st->perm));
		st->end = tm_xcalloc(TM_MAX(st->n, (size_t)1), sizeof(*st->end));
		stream_order(st, 0);
	}
	return 0;
}

/* ---------------------------------------------------------------- loader */

/* The cumulative weights of phase `ph` (the last positive one is exactly 1). */
static void set_phase(struct tm_loader *l, size_t ph)
{
	const struct tm_mix *m = l->m;
	double acc = 0;
	size_t i, last = 0;

	l->phase = ph;
	if (ph >= m->nphases)
		return;
	for (i = 0; i < m->nsources; i++) {
		acc += m->phases[ph].weights[i];
		l->cum[i] = acc;
		if (m->phases[ph].weights[i] > 0)
			last = i;
	}
	for (i = last; i < m->nsources; i++)
		l->cum[i] = 1.0;
}

int tm_loader_new(const struct tm_mix *m, unsigned flags, struct tm_loader **out,
		  struct tm_err *err)
{
	struct tm_loader *l = tm_xcalloc(1, sizeof(*l));
	size_t i;
	int rc;

	*out = NULL;
	l->m = m;
	l->flags = flags;
	for (i = 0; i < m->nsources; i++) {
		if (m->sources[i].used && (rc = open_source(l, i, err)) < 0) {
			tm_loader_free(l);
			return rc;
		}
	}
	l->buf = tm_xcalloc((size_t)m->max_batch_ints, sizeof(*l->buf));
	l->bsrc = tm_xcalloc((size_t)m->max_batch, sizeof(*l->bsrc));
	set_phase(l, 0);
	*out = l;
	return 0;
}

void tm_loader_free(struct tm_loader *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < TM_MIX_MAX_SOURCES; i++) {
		stream_release(&l->src[i].train);
		stream_release(&l->src[i].val);
	}
	free(l->buf);
	free(l->bsrc);
	free(l);
}

uint32_t tm_loader_vocab_size(const struct tm_loader *l)
{
	return l->vocab;
}

uint32_t tm_loader_bos(const struct tm_loader *l)
{
	return l->bos;
}

uint64_t tm_loader_source_tokens(const struct tm_loader *l, size_t i)
{
	return i < l->m->nsources && l->src[i].open ? l->src[i].train.total : 0;
}

/* The source of global sequence g: the g-th output of splitmix64(seed). */
static size_t draw_source(const struct tm_loader *l, uint64_t g)
{
	uint64_t st = l->m->seed + g * GOLDEN;
	double u = (double)(tm_splitmix64(&st) >> 11) * 0x1.0p-53;
	size_t i = 0;

	while (i + 1 < l->m->nsources && !(u < l->cum[i]))
		i++;
	return i;
}

int tm_loader_next(struct tm_loader *l, struct tm_batch *b, struct tm_err *err)
{
	const struct tm_mix *m = l->m;
	const struct tm_mix_phase *p;
	uint64_t after;
	size_t i;
	int k, rc;

	if (l->phase >= m->nphases)
		return TM_EEOF;
	p = &m->phases[l->phase];
	for (i = 0; i < m->nsources; i++)
		l->newpos[i] = l->src[i].pos;
	for (k = 0; k < p->batch; k++) {
		size_t s = draw_source(l, l->seq + (uint64_t)k);
		struct lsrc *src = &l->src[s];

		/* drawn with weight > 0, so opened */
		if (!src->open)
			BUG("source %zu drawn in phase %zu with weight %g", s, l->phase,
			    p->weights[s]);
		rc = stream_read(&src->train, l->vocab, l->newpos[s], (size_t)p->seq_len + 1,
				 l->buf + (size_t)k * (size_t)(p->seq_len + 1), err);
		if (rc < 0)
			return rc;
		l->newpos[s] += (uint64_t)p->seq_len;
		l->bsrc[k] = (uint8_t)s;
	}
	memset(b, 0, sizeof(*b));
	b->tokens = l->buf;
	b->source = l->bsrc;
	b->B = p->batch;
	b->T = p->seq_len;
	b->phase = l->phase;
	b->step = l->step;
	b->phase_step = l->phase_step;
	b->tokens_before = l->tokens;
	b->lr = tm_mix_lr(m, l->tokens + p->tokens_per_step / 2, NULL);
	b->phase_end = l->phase_step + 1 == p->steps;
	after = l->tokens + p->tokens_per_step;
	b->eval = m->eval_tokens && (b->phase_end || (m->eval_every &&
		  after / m->eval_every > l->tokens / m->eval_every));
	for (i = 0; i < m->nsources; i++)
		l->src[i].pos = l->newpos[i];
	l->step++;
	l->seq += (uint64_t)p->batch;
	l->tokens = after;
	if (++l->phase_step == p->steps) {
		l->phase_step = 0;
		set_phase(l, l->phase + 1);
	}
	return 0;
}

size_t tm_loader_phase_index(const struct tm_loader *l)
{
	return TM_MIN(l->phase, l->m->nphases - 1);
}

const char *tm_loader_phase(const struct tm_loader *l)
{
	return l->m->phases[tm_loader_phase_index(l)].name;
}

uint64_t tm_loader_phase_tokens(const struct tm_loader *l)
{
	const struct tm_mix_phase *p = &l->m->phases[tm_loader_phase_index(l)];

	return l->phase >= l->m->nphases ? p->tokens : l->phase_step * p->tokens_per_step;
}

uint64_t tm_loader_tokens(const struct tm_loader *l)
{
	return l->tokens;
}

uint64_t tm_loader_step(const struct tm_loader *l)
{
	return l->step;
}

bool tm_loader_done(const struct tm_loader *l)
{
	return l->phase >= l->m->nphases;
}

void tm_loader_cursor(const struct tm_loader *l, size_t i, uint64_t *epoch, uint32_t *shard,
		      uint64_t *offset)
{
	const struct stream *st = &l->src[i].train;
	uint32_t *perm;
	uint64_t *end, within;
	size_t k;

	*epoch = *offset = 0;
	*shard = 0;
	if (i >= l->m->nsources || !l->src[i].open)
		return;
	*epoch = l->src[i].pos / st->total;
	within = l->src[i].pos % st->total;
	perm = tm_xcalloc(st->n, sizeof(*perm));
	end = tm_xcalloc(st->n, sizeof(*end));
	compute_order(st, *epoch, perm, end);
	k = locate(end, st->n, within);
	*shard = st->sh[perm[k]].index;
	*offset = within - (end[k] - st->sh[perm[k]].ntok);
	free(perm);
	free(end);
}

/* ----------------------------------------------------------------- state */

void tm_loader_get_state(const struct tm_loader *l, struct tm_loader_state *st)
{
	size_t i;

	memset(st, 0, sizeof(*st));
	st->seed = l->m->seed;
	st->step = l->step;
	st->seq = l->seq;
	st->tokens = l->tokens;
	st->phase = (uint32_t)l->phase;
	st->phase_tokens = l->phase < l->m->nphases ?
		l->phase_step * l->m->phases[l->phase].tokens_per_step : 0;
	st->nsources = (uint32_t)l->m->nsources;
	for (i = 0; i < l->m->nsources; i++) {
		st->cur[i].name_hash = XXH64(l->m->sources[i].name,
					     strlen(l->m->sources[i].name), 0);
		st->cur[i].epoch_tokens = l->src[i].open ? l->src[i].train.total : 0;
		st->cur[i].pos = l->src[i].pos;
	}
}

int tm_loader_set_state(struct tm_loader *l, const struct tm_loader_state *st,
			struct tm_err *err)
{
	const struct tm_mix *m = l->m;
	uint64_t want_seq = 0, want_tok = 0, step = st->step;
	size_t i, ph = 0;

	if (st->seed != m->seed)
		return tm_err_set(err, TM_EINVAL, m->file, TM_ERR_NO_OFFSET, 0, "the saved "
				  "loader state has seed %" PRIu64 ", the plan %" PRIu64, st->seed,
				  m->seed);
	if (st->nsources != m->nsources)
		return tm_err_set(err, TM_EINVAL, m->file, TM_ERR_NO_OFFSET, 0, "the saved "
				  "loader state has %" PRIu32 " sources, the plan %zu",
				  st->nsources, m->nsources);
	for (i = 0; i < m->nsources; i++) {
		const struct tm_loader_cursor *c = &st->cur[i];
		uint64_t have = l->src[i].open ? l->src[i].train.total : 0;

		if (c->name_hash != XXH64(m->sources[i].name, strlen(m->sources[i].name), 0))
			return tm_err_set(err, TM_EINVAL, m->file, TM_ERR_NO_OFFSET, 0, "the saved "
					  "loader state's source %zu is not '%s'", i,
					  m->sources[i].name);
		if (c->epoch_tokens != have || (!have && c->pos))
			return tm_err_set(err, TM_EINVAL, m->file, TM_ERR_NO_OFFSET, 0, "source "
					  "'%s' had %" PRIu64 " train tokens when the state was "
					  "saved, now %" PRIu64 ": the shards changed", m->sources[i].name,
					  c->epoch_tokens, have);
	}
	/* the position as the plan sees it: phases up to it must be the same */
	while (ph < m->nphases && step >= m->phases[ph].steps) {
		step -= m->phases[ph].steps;
		want_seq += m->phases[ph].steps * (uint64_t)m->phases[ph].batch;
		want_tok += m->phases[ph].tokens;
		ph++;
	}
	if (ph == m->nphases && step)
		return tm_err_set(err, TM_EINVAL, m->file, TM_ERR_NO_OFFSET, 0, "the saved loader "
				  "state is at step %" PRIu64 ", past the plan's %" PRIu64,
				  st->step, m->steps);
	if (ph < m->nphases) {
		want_seq += step * (uint64_t)m->phases[ph].batch;
		want_tok += step * m->phases[ph].tokens_per_step;
	}
	if (st->phase != ph || st->seq != want_seq || st->tokens != want_tok ||
	    st->phase_tokens != (ph < m->nphases ? step * m->phases[ph].tokens_per_step : 0))
		return tm_err_set(err, TM_EINVAL, m->file, TM_ERR_NO_OFFSET, 0, "the saved "
				  "loader state (step %" PRIu64 ", phase %" PRIu32 ", %" PRIu64
				  " tokens) does not fit the plan, whose phases before it changed",
				  st->step, st->phase, st->tokens);
	for (i = 0; i < m->nsources; i++)
		l->src[i].pos = st->cur[i].pos;
	l->step = st->step;
	l->seq = st->seq;
	l->tokens = st->tokens;
	l->phase_step = step;
	set_phase(l, ph);
	return 0;
}

#define STATE_MAGIC 0x534c4d54u		/* the bytes "TMLS" */

static void put32(unsigned char *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void put64(unsigned char *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static uint32_t get32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint64_t get64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

int tm_loader_state_encode(const struct tm_loader_state *st, void *buf, size_t len)
{
	unsigned char *p = buf;
	size_t need = TM_LOADER_STATE_BYTES(st->nsources), i;

	if (st->nsources > TM_MIX_MAX_SOURCES || len < need)
		return TM_EINVAL;
	memset(p, 0, need);
	put32(p, STATE_MAGIC);
	put32(p + 4, TM_LOADER_STATE_VERSION);
	put32(p + 8, st->nsources);
	put32(p + 12, st->phase);
	put64(p + 16, st->seed);
	put64(p + 24, st->step);
	put64(p + 32, st->seq);
	put64(p + 40, st->tokens);
	put64(p + 48, st->phase_tokens);
	/* 56..63 reserved, 0 */
	for (i = 0; i < st->nsources; i++) {
		put64(p + 64 + 24 * i, st->cur[i].name_hash);
		put64(p + 72 + 24 * i, st->cur[i].epoch_tokens);
		put64(p + 80 + 24 * i, st->cur[i].pos);
	}
	put64(p + need - 8, XXH64(p, need - 8, 0));
	return (int)need;
}

int tm_loader_state_decode(const void *buf, size_t len, struct tm_loader_state *st,
			   struct tm_err *err)
{
	const unsigned char *p = buf;
	uint32_t n;
	size_t i;

	memset(st, 0, sizeof(*st));
	if (len < TM_LOADER_STATE_BYTES(0) || get32(p) != STATE_MAGIC)
		return tm_err_set(err, TM_EFORMAT, NULL, 0, 0, "not a loader state (magic TMLS "
				  "and at least %zu bytes)", TM_LOADER_STATE_BYTES(0));
	if (get32(p + 4) != TM_LOADER_STATE_VERSION)
		return tm_err_set(err, TM_EUNSUP, NULL, 4, 0, "loader state version %" PRIu32
				  ", this tamis reads %d", get32(p + 4), TM_LOADER_STATE_VERSION);
	n = get32(p + 8);
	if (n > TM_MIX_MAX_SOURCES || len != TM_LOADER_STATE_BYTES(n))
		return tm_err_set(err, TM_EFORMAT, NULL, 8, 0, "a loader state of %" PRIu32
				  " sources is %zu bytes, got %zu", n,
				  TM_LOADER_STATE_BYTES(TM_MIN(n, (uint32_t)TM_MIX_MAX_SOURCES)), len);
	if (get64(p + len - 8) != XXH64(p, len - 8, 0))
		return tm_err_set(err, TM_EDIGEST, NULL, len - 8, 0, "the loader state's "
				  "checksum does not match");
	if (get64(p + 56))
		return tm_err_set(err, TM_EFORMAT, NULL, 56, 0, "reserved bytes are not 0");
	st->nsources = n;
	st->phase = get32(p + 12);
	st->seed = get64(p + 16);
	st->step = get64(p + 24);
	st->seq = get64(p + 32);
	st->tokens = get64(p + 40);
	st->phase_tokens = get64(p + 48);
	for (i = 0; i < n; i++) {
		st->cur[i].name_hash = get64(p + 64 + 24 * i);
		st->cur[i].epoch_tokens = get64(p + 72 + 24 * i);
		st->cur[i].pos = get64(p + 80 + 24 * i);
	}
	return 0;
}

/* ------------------------------------------------------------ validation */

struct tm_val {
	const struct stream *s;
	uint32_t vocab;
	int T;
	uint64_t nseq, next;
};

int tm_val_new(const struct tm_loader *l, size_t i, int T, struct tm_val **out,
	       struct tm_err *err)
{
	struct tm_val *v;
	uint64_t e;

	*out = NULL;
	if (i >= l->m->nsources || !l->src[i].open || T < 1)
		return tm_err_set(err, TM_EINVAL, l->m->file, TM_ERR_NO_OFFSET, 0, "no validation "
				  "of source %zu with T %d (not opened, or T < 1)", i, T);
	v = tm_xcalloc(1, sizeof(*v));
	v->s = &l->src[i].val;
	v->vocab = l->vocab;
	v->T = T;
	e = TM_MIN(l->m->eval_tokens, v->s->total);
	v->nseq = e ? (e - 1) / (uint64_t)T : 0;
	*out = v;
	return 0;
}

uint64_t tm_val_nseq(const struct tm_val *v)
{
	return v->nseq;
}

int tm_val_next(struct tm_val *v, int32_t *tokens, int B, int *n, struct tm_err *err)
{
	int k;
	int rc;

	*n = 0;
	if (v->next >= v->nseq)
		return TM_EEOF;
	for (k = 0; k < B && v->next < v->nseq; k++, v->next++) {
		rc = copy_span(v->s, v->vocab, v->next * (uint64_t)v->T, (size_t)v->T + 1,
			       tokens + (size_t)k * (size_t)(v->T + 1), err);
		if (rc < 0)
			return rc;
	}
	*n = k;
	return 0;
}

void tm_val_rewind(struct tm_val *v)
{
	v->next = 0;
}

void tm_val_free(struct tm_val *v)
{
	free(v);
}
