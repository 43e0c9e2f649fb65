/*
 * fineweb.c: FineWeb's own quality rules (Penedo et al. 2024, "The
 * FineWeb Datasets: Decanting the Web for the Finest Text Data at Scale",
 * section 3.3.3 and appendix), as datatrove's FineWebQualityFilter
 * computes them and with its defaults: the share of lines ending in
 * punctuation, the share of short lines, the characters of repeated
 * lines, and newlines per word.  docs/filters-heur.md gives each rule.
 *
 * Lines here are datatrove's text.split("\n") (not text.h's lines): a
 * final newline makes a last, empty line, and a '\r' stays in its line.
 */
#include <unicode/utf8.h>

#include "tamis.h"
#include "filter.h"
#include "heur.h"

enum { FW_PUNCT, FW_EXCL_ZERO, FW_STOP, FW_SHORT, FW_SHORT_LEN, FW_DUP, FW_NEWLINE };

#define FW_SRC "Penedo et al. 2024 section 3.3.3; datatrove FineWebQualityFilter"

static const struct tm_fparam fw_params[] = {
	[FW_PUNCT] = { "line_punct_thr", TM_INI_FLOAT, "0.12",
		"remove documents whose share of lines ending with stop_chars is at most this; negative: off",
		FW_SRC " line_punct_thr" },
	[FW_EXCL_ZERO] = { "line_punct_exclude_zero", TM_INI_BOOL, "false",
		"keep documents where no line ends with stop_chars (the rule then only removes shares in (0, thr])",
		"datatrove line_punct_exclude_zero" },
	[FW_STOP] = { "stop_chars", TM_INI_STRING, ".'\"!?。！？｡।॥؟۔։።",
		"the characters a line must end with (its very last one, white space counts) to count as punctuated",
		"datatrove stop_chars (. ' \" ! ?), with other scripts' full stops" },
	[FW_SHORT] = { "short_line_thr", TM_INI_FLOAT, "0.67",
		"remove documents whose share of short lines is at least this; above 1: off",
		FW_SRC " short_line_thr" },
	[FW_SHORT_LEN] = { "short_line_length", TM_INI_INT, "30",
		"a line of at most this many characters is short", FW_SRC " short_line_length" },
	[FW_DUP] = { "char_duplicates_ratio", TM_INI_FLOAT, "0.01",
		"remove documents whose repeated non-blank lines hold at least this share of the characters (newlines left out); above 1: off",
		FW_SRC " char_duplicates_ratio" },
	[FW_NEWLINE] = { "new_line_ratio", TM_INI_FLOAT, "0.3",
		"remove documents with more newlines per word than this (lists)",
		FW_SRC " new_line_ratio" },
};

static const char *const fw_reasons[] = {
	"line_punct_ratio", "short_line_ratio", "char_dup_ratio", "list_ratio", NULL,
};

struct fw_state {
	double punct_thr, short_thr, dup_thr, newline_thr;
	bool exclude_zero;
	int64_t short_len;
	struct tm_cpset stop;
};

struct fw_scratch {
	struct tm_htab tab;
	struct tm_spanv v;	/* the non-blank lines */
};

static void *fw_create(const union tm_fvalue *v, const char *data_dir, struct tm_err *err)
{
	struct fw_state *s = tm_xcalloc(1, sizeof(*s));

	s->punct_thr = v[FW_PUNCT].f;
	s->exclude_zero = v[FW_EXCL_ZERO].b;
	s->short_thr = v[FW_SHORT].f;
	s->short_len = v[FW_SHORT_LEN].i;
	s->dup_thr = v[FW_DUP].f;
	s->newline_thr = v[FW_NEWLINE].f;
	if (!tm_cpset_parse(&s->stop, v[FW_STOP].s)) {
		tm_err_set(err, TM_ECONFIG, NULL, TM_ERR_NO_OFFSET, 0,
			   "[filter \"fineweb\"] stop_chars: expected UTF-8 characters");
		free(s);
		return NULL;
	}
	return s;
}

static void fw_destroy(void *state)
{
	struct fw_state *s = state;

	if (s)
		tm_cpset_release(&s->stop);
	free(s);
}

static void *fw_scratch_new(const void *state)
{
	return tm_xcalloc(1, sizeof(struct fw_scratch));
}

static void fw_scratch_free(void *scratch)
{
	struct fw_scratch *x = scratch;

	if (!x)
		return;
	tm_htab_release(&x->tab);
	free(x->v.v);
	free(x);
}

static void fw_apply(const void *state, void *scratch, struct tm_ftext *t, struct tm_fresult *res)
{
	const struct fw_state *s = state;
	struct fw_scratch *x = scratch;
	uint64_t lines = 0, punct = 0, shorts = 0, dups, dup_chars, chars;
	size_t a = 0, nw;
	double punct_r, short_r, dup_r, list_r;

	tm_ftext_words(t, &nw);
	x->v.n = 0;
	for (;;) {
		const char *nl = memchr(t->text + a, '\n', t->len - a);
		size_t b = nl ? (size_t)(nl - t->text) : t->len;
		uint32_t off = (uint32_t)a, len = (uint32_t)(b - a);

		lines++;
		punct += tm_cpset_has(&s->stop, tm_cp_last(t->text + a, b - a));
		shorts += (b - a <= (uint64_t)s->short_len ||
			   tm_cp_count(t->text + a, b - a) <= (uint64_t)s->short_len);
		tm_span_strip(t->text, &off, &len);
		if (len)
			tm_spanv_push(&x->v, a, b - a);
		if (!nl)
			break;
		a = b + 1;
	}
	tm_dup_spans(&x->tab, t->text, x->v.v, x->v.n, &dups, &dup_chars);
	chars = tm_cp_count(t->text, t->len) - (lines - 1);
	punct_r = (double)punct / (double)lines;
	short_r = (double)shorts / (double)lines;
	dup_r = chars ? (double)dup_chars / (double)chars : 0.0;
	list_r = (double)(lines - 1) / (double)(nw ? nw : 1);
	tm_fresult_score(res, "line_punct_ratio", punct_r);
	tm_fresult_score(res, "short_line_ratio", short_r);
	tm_fresult_score(res, "char_dup_ratio", dup_r);
	tm_fresult_score(res, "list_ratio", list_r);
	if (punct_r <= s->punct_thr && !(punct_r == 0 && s->exclude_zero))
		res->reason = "line_punct_ratio";
	else if (short_r >= s->short_thr)
		res->reason = "short_line_ratio";
	else if (dup_r >= s->dup_thr)
		res->reason = "char_dup_ratio";
	else if (list_r > s->newline_thr)
		res->reason = "list_ratio";
}

const struct tm_filter_def tm_filter_fineweb = {
	.name = "fineweb",
	.about = "FineWeb's rules: lines ending in punctuation, short lines, repeated lines, newlines per word",
	.langs = "all; stop characters of Latin, CJK, Indic, Arabic, Armenian and Ethiopic scripts",
	.params = fw_params,
	.nparams = TM_ARRAY_SIZE(fw_params),
	.reasons = fw_reasons,
	.create = fw_create,
	.destroy = fw_destroy,
	.scratch_new = fw_scratch_new,
	.scratch_free = fw_scratch_free,
	.apply = fw_apply,
};
