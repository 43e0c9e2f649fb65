/*
 * f-mix.c: libFuzzer target for mixture plans (train/mix.c, the plan
 * half): the input is a mixes file.
 *
 * It is parsed as INI and built into a plan, with its shards from the
 * file and from a "command line"; an input whose first line is
 * "-c OVERRIDE" is the rest, built a third time with the override.  A refused plan must say
 * why, naming the file (or the command line) and a line >= 0, and return
 * nothing.  A built plan must hold the invariants of mix.h: 1..32
 * sources, phases of whole steps of B x T tokens laid end to end,
 * weights >= 0 summing to 1 with one > 0, and an LR that is finite,
 * never negative and never above the largest lr_max anywhere in the
 * plan.  The first line also goes through tm_mix_parse_tokens(), whose
 * value must equal the digits' when they are plain.  A mismatch aborts;
 * leaks are found by ASan.
 */
#include "tamis.h"
#include "ini.h"
#include "mix.h"

#include <math.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_lr(const struct tm_mix *m, uint64_t tokens, double top)
{
	size_t ph = SIZE_MAX;
	double lr = tm_mix_lr(m, tokens, &ph);

	if (!isfinite(lr) || lr < 0 || lr > top * (1 + 1e-12))
		BUG("LR %g at %" PRIu64 " tokens (top %g)", lr, tokens, top);
	if (ph >= m->nphases)
		BUG("phase %zu of %zu", ph, m->nphases);
	if (tokens < m->tokens && (tokens < m->phases[ph].start_tokens ||
				   tokens - m->phases[ph].start_tokens >= m->phases[ph].tokens))
		BUG("%" PRIu64 " tokens put in phase %zu", tokens, ph);
}

static void check_plan(const struct tm_mix *m)
{
	uint64_t start = 0, step = 0, seq = 0;
	double top = 0;
	size_t i, k;

	if (!m->nphases || !m->nsources || m->nsources > TM_MIX_MAX_SOURCES)
		BUG("%zu phases, %zu sources", m->nphases, m->nsources);
	for (i = 0; i < m->nphases; i++)
		top = TM_MAX(top, m->phases[i].lr_start);
	for (i = 0; i < m->nphases; i++) {
		const struct tm_mix_phase *p = &m->phases[i];
		double sum = 0;
		bool pos = false;

		if (p->seq_len < 1 || p->batch < 1 ||
		    p->tokens_per_step != (uint64_t)p->seq_len * (uint64_t)p->batch ||
		    !p->steps || p->tokens != p->steps * p->tokens_per_step ||
		    p->tokens < p->budget || p->tokens - p->budget >= p->tokens_per_step ||
		    p->start_tokens != start || p->start_step != step || p->start_seq != seq)
			BUG("phase %zu: shape or position", i);
		if (m->max_seq_len < p->seq_len || m->max_batch < p->batch ||
		    m->max_batch_ints < (uint64_t)p->batch * (uint64_t)(p->seq_len + 1))
			BUG("phase %zu: over the plan's maxima", i);
		for (k = 0; k < m->nsources; k++) {
			if (!(p->weights[k] >= 0))
				BUG("phase %zu: weight %g", i, p->weights[k]);
			sum += p->weights[k];
			pos |= p->weights[k] > 0;
			if (p->weights[k] > 0 && (!m->sources[k].used || !m->sources[k].dir))
				BUG("source %zu drawn but not used or without a directory", k);
		}
		if (!pos || fabs(sum - 1) > 1e-9)
			BUG("phase %zu: weights sum to %.17g", i, sum);
		if (!(p->lr_start > 0 || (i && p->lr_start >= 0)) || !(p->lr_end >= 0) ||
		    p->lr_end > p->lr_start)
			BUG("phase %zu: LR %g to %g", i, p->lr_start, p->lr_end);
		check_lr(m, p->start_tokens, top);
		check_lr(m, p->start_tokens + p->warmup_tokens / 2, top);
		check_lr(m, p->start_tokens + p->tokens / 2, top);
		check_lr(m, p->start_tokens + p->tokens - 1, top);
		start += p->tokens;
		step += p->steps;
		seq += p->steps * (uint64_t)p->batch;
	}
	if (m->tokens != start || m->steps != step)
		BUG("the plan's totals");
	check_lr(m, m->tokens, top);
	check_lr(m, UINT64_MAX, top);
	for (k = 0; k < m->nsources; k++)
		if (!m->sources[k].name || !m->sources[k].name[0])
			BUG("source %zu without a name", k);
}

static void build(const struct tm_ini *ini, const char *shards)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_mix *m = NULL;
	int rc = tm_mix_from_ini(ini, shards, &m, &err);

	if (rc == 0) {
		check_plan(m);
	} else {
		if (m || rc != TM_ECONFIG || !err.msg[0] || err.line < 0 ||
		    (strcmp(err.file, "fuzz.conf") && strcmp(err.file, TM_INI_CMDLINE)))
			BUG("a refused plan: rc %d, '%s' line %ld: '%s'", rc, err.file, err.line,
			    err.msg);
	}
	tm_mix_free(m);
}

static void tokens(const char *s)
{
	uint64_t v = 0, d = 0;
	size_t i, n = strlen(s);
	int rc = tm_mix_parse_tokens(s, &v);

	if (!n || n > 19 || strspn(s, "0123456789") != n)
		return;
	for (i = 0; i < n; i++)
		d = d * 10 + (uint64_t)(s[i] - '0');
	if (rc || v != d)
		BUG("'%s' parsed as %" PRIu64 " (rc %d)", s, v, rc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_ini *ini = NULL;
	const char *text = (const char *)data, *nl = memchr(data, '\n', size);
	char *line = tm_xmemdup(data, nl ? (size_t)(nl - text) : size);
	bool override = size > 3 && !memcmp(data, "-c ", 3) && nl;

	/* "-c OVERRIDE\n" first: the file is the rest, then the override applies */
	tokens(line);
	if (override) {
		size -= (size_t)(nl + 1 - text);
		text = nl + 1;
	}
	if (tm_ini_parse_buf("fuzz.conf", text, size, &ini, &err) == 0) {
		build(ini, NULL);
		build(ini, "/nonexistent/shards");
		if (override && tm_ini_set_arg(ini, line + 3, &err) == 0)
			build(ini, NULL);
	}
	tm_ini_free(ini);
	free(line);
	return 0;
}
