/*
 * filter.h: the one interface behind every document filter of
 * `tamis filter` (heuristic quality, repetition, safety, PII, classifiers).
 *
 * A filter is a struct tm_filter_def: a name, the languages it applies
 * to, its settings (each with a default and the published source of that
 * default; pipeline.conf holds them as [filter "NAME"] keys, docs/FILTERS.md
 * lists them), and three functions:
 *   create   builds the filter's read-only state from its settings (word
 *            lists, models); shared by every worker thread;
 *   apply    judges one document, seen through a struct tm_ftext (the
 *            text cut into lines, paragraphs and words once for the whole
 *            chain); it fills a struct tm_fresult: the scores it computed
 *            (written to metadata by --annotate, histogrammed in stats),
 *            and either nothing (keep), a removal reason, or a rewritten
 *            text (C4's line removal, PII redaction);
 *   destroy  frees the state.
 * Filters that need per-thread scratch space (ICU objects, buffers) get it
 * through scratch_new/scratch_free: one per worker thread, reused across
 * documents, so results never depend on the thread count.
 *
 * The chain (tm_fchain) runs filters in the configured order; a document
 * removed by one is not shown to the next (unless annotating: then every
 * filter scores every document and nothing is removed).  A rewritten text
 * is what the next filter sees (not when annotating: then no filter
 * changes the text, and a rewriting filter reports what it would change
 * as a score).
 *
 * Ownership: the registry's definitions are static; the chain owns the
 * states it created; a tm_fwork is one thread's and owns its scratch.
 * Must not depend on: streams, stats, the command line.
 */
#ifndef TM_FILTER_H
#define TM_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ini.h"
#include "text.h"

struct tm_buf;
struct tm_err;

/* Most scores one filter may report per document. */
#define TM_FILTER_MAX_SCORES 24

/* One setting of a filter, declared by the filter. */
struct tm_fparam {
	const char *key;        /* the key in [filter "NAME"] */
	enum tm_ini_type type;  /* TM_INI_FLOAT, _INT, _BOOL or _STRING */
	const char *def;        /* the default, as pipeline.conf would write it */
	const char *help;       /* one line: what it does */
	const char *source;     /* where the default comes from (paper, code) */
};

/* A setting's value as create() sees it (the member of its type). */
union tm_fvalue {
	double f;
	int64_t i;
	bool b;
	const char *s;          /* owned by the chain; "" when empty */
};

struct tm_fscore {
	const char *name;       /* static; metadata key "<filter>_<name>" */
	double value;
};

struct tm_fresult {
	const char *reason;     /* static; NULL: keep the document */
	struct tm_fscore scores[TM_FILTER_MAX_SCORES];
	int nscores;
	/*
	 * A rewriting filter appends the new text to `text` (empty on entry)
	 * and sets `rewritten`; the chain then hands it to the next filter.
	 * `changes` counts what was rewritten (lines removed, items redacted).
	 */
	struct tm_buf *text;
	bool rewritten;
	uint64_t changes;
};

struct tm_filter_def {
	const char *name;       /* [a-z0-9_]+: the stats and metadata prefix */
	const char *about;      /* one line for --list */
	const char *langs;      /* which languages it applies to, in words */
	const struct tm_fparam *params;
	size_t nparams;
	/*
	 * The reasons it may remove for, NULL-terminated (for --list, the docs
	 * and the tests that every reason fires).
	 */
	const char *const *reasons;
	/*
	 * Builds the state from values[] (one per params[], in order); a
	 * setting naming a data file is resolved by tm_filter_data_path().
	 * Returns NULL with err filled (TM_ECONFIG, TM_EIO, TM_EFORMAT) when a
	 * value or a file it names is unusable.
	 */
	void *(*create)(const union tm_fvalue *values, const char *data_dir,
			struct tm_err *err);
	void (*destroy)(void *state);
	/* Optional per-thread scratch; NULL when not needed. */
	void *(*scratch_new)(const void *state);
	void (*scratch_free)(void *scratch);
	/* Judges one document; res is cleared (reason NULL, no scores) on entry. */
	void (*apply)(const void *state, void *scratch, struct tm_ftext *t,
		      struct tm_fresult *res);
	/*
	 * Its scores go to the kept documents' metadata even when not
	 * annotating (a classifier's score is data for later stages).
	 */
	bool scores_to_metadata;
};

/* Every filter, in the default chain's order; NULL-terminated. */
extern const struct tm_filter_def *const tm_filters[];

/* The filter called `name`, or NULL. */
const struct tm_filter_def *tm_filter_find(const char *name);

/* Adds a score to res (a BUG beyond TM_FILTER_MAX_SCORES). */
void tm_fresult_score(struct tm_fresult *res, const char *name, double value);

/*
 * The path of a filter's data file `name` (a word list, a model): as
 * given when it holds a '/', else `data_dir`/name (data_dir: where tamis
 * installed its filter data, PREFIX/share/tamis/filters, or filters/data
 * of the source tree; NULL: the current directory).  Replaces `out`.
 */
void tm_filter_data_path(const char *data_dir, const char *name, struct tm_buf *out);

/*
 * The pipeline.conf schema entries of every filter's settings
 * ([filter "NAME"] keys), built once; *n receives their number.
 */
const struct tm_ini_key *tm_filter_schema(size_t *n);

/* ---- the chain ---------------------------------------------------------- */

struct tm_fchain;
struct tm_fwork;

struct tm_fchain_step {
	const struct tm_filter_def *def;
	void *state;
};

/*
 * Builds the chain `names` (comma- or space-separated filter names, in
 * order) with each filter's settings from `ini` ([filter "NAME"]; NULL:
 * all defaults) and its data files under `data_dir`.  Returns 0, or TM_ECONFIG (unknown name, bad value) or
 * what a filter's create() returned, with err filled.
 */
int tm_fchain_new(const char *names, const struct tm_ini *ini, const char *data_dir,
		  struct tm_fchain **out, struct tm_err *err);
void tm_fchain_free(struct tm_fchain *c);
size_t tm_fchain_len(const struct tm_fchain *c);
const struct tm_fchain_step *tm_fchain_step(const struct tm_fchain *c, size_t i);

/* One worker thread's scratch for a chain (text analysis, filter scratch). */
struct tm_fwork *tm_fwork_new(const struct tm_fchain *c);
void tm_fwork_free(struct tm_fwork *w);

/*
 * Runs the chain over text[0..len) (UTF-8; `lang` and `url` may be NULL).
 * results[i] receives step i's result; *ran the number of steps that ran
 * (all of them when annotating or when the document is kept; else up to
 * and including the removing one).  Returns the index of the removing
 * step, or -1 when the document is kept.  When annotate is true, every
 * step runs and nothing is removed (the return is still the first step
 * that would have removed).  The final text (after rewrites) is given by
 * tm_fwork_text().  results[] must hold tm_fchain_len() entries; their
 * contents stay valid until the next run on this tm_fwork.
 */
int tm_fchain_run(const struct tm_fchain *c, struct tm_fwork *w,
		  const char *text, size_t len, const char *lang, const char *url,
		  bool annotate, struct tm_fresult *results, size_t *ran);

/* The text after the last run's rewrites; *rewritten: whether any happened. */
const char *tm_fwork_text(const struct tm_fwork *w, size_t *len, bool *rewritten);

/* ---- the filters ------------------------------------------------------ */

extern const struct tm_filter_def tm_filter_gopher_repetition;
extern const struct tm_filter_def tm_filter_gopher_quality;
extern const struct tm_filter_def tm_filter_c4;
extern const struct tm_filter_def tm_filter_fineweb;
extern const struct tm_filter_def tm_filter_classifier;
/* ---- the safety filters (docs/filters-safety.md) ------------------------- */

extern const struct tm_filter_def tm_filter_url_blocklist;
extern const struct tm_filter_def tm_filter_badwords;
extern const struct tm_filter_def tm_filter_kl;
extern const struct tm_filter_def tm_filter_pii;

#endif
