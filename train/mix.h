/*
 * mix.h: mixture plans (mixes/NAME.conf) and the data loader that feeds
 * the trainer batches from the token shards of several sources.
 *
 * A plan (docs/FORMATS.md, "Mixture plans", is normative) names sources
 * (shard directories written by `tamis shard`) and phases in order (main,
 * long context, anneal, ...), each with a token budget, a sequence length
 * and batch, mixture weights and a learning-rate shape.  tm_mix_load()
 * parses and checks it, naming file and line for every error; it does
 * not touch the shards.  tm_mix_lr() is the plan's learning rate as a
 * pure function of the tokens consumed.
 *
 * The loader maps every used source's shards read-only and produces
 * batches of B sequences of T + 1 tokens.  Everything it returns is a
 * function of (plan, shards, position) only: the source of global
 * sequence g is drawn from the phase's weights by a counter-based hash of
 * (seed, g); each source is an endless stream (its train shards, in an
 * order shuffled per epoch from (seed, source, epoch)) read contiguously,
 * sequence after sequence, across shard and document boundaries.  So a
 * loader restored from a saved state (a few integers) continues with
 * bit-identical batches.
 *
 * Invariants: a plan has 1..TM_MIX_MAX_SOURCES sources and at least one
 * phase; every phase has steps >= 1 and weights >= 0 summing to 1 with at
 * least one positive; every shard a loader opened has the same
 * vocabulary size and BOS id; every token it returns is below that size.
 *
 * Ownership: the caller frees what tm_mix_load() and tm_loader_new()
 * return (tm_mix_free, tm_loader_free, tm_val_free; each accepts NULL).
 * A plan must outlive the loaders made from it, a loader its validation
 * iterators.  A batch's arrays belong to the loader and stay valid until
 * its next tm_loader_next() or tm_loader_free().  One loader is for one
 * thread.
 *
 * Depends on lib/ (ini, shard, err, buf) and libxxhash; no printing, no
 * exit, no globals.
 */
#ifndef TM_MIX_H
#define TM_MIX_H

#include "tamis.h"
#include "ini.h"

#define TM_MIX_MAX_SOURCES 32

/* The shape of a phase's learning rate after its warmup. */
enum tm_mix_schedule {
	TM_MIX_CONSTANT = 0,	/* stays at lr_start */
	TM_MIX_LINEAR = 1,	/* straight from lr_start to lr_end */
	TM_MIX_COSINE = 2,	/* half a cosine from lr_start to lr_end */
};

struct tm_mix_source {
	const char *name;	/* [A-Za-z0-9._-], not starting with '.' */
	const char *dir;	/* its shards' directory, resolved */
	long line;		/* where it is named (for errors); 0: command line */
	bool used;		/* weight > 0 in some phase: the loader opens it */
};

struct tm_mix_phase {
	const char *name;
	long line;			/* of its header; 0: command line only */
	uint64_t budget;		/* `tokens` as written */
	int seq_len, batch;		/* T and B: B sequences of T + 1 tokens a step */
	uint64_t tokens_per_step;	/* B * T (inputs; targets are shifted by one) */
	uint64_t steps;			/* ceil(budget / tokens_per_step) */
	uint64_t tokens;		/* steps * tokens_per_step: its length */
	uint64_t start_step, start_tokens;	/* where it begins in the plan */
	uint64_t start_seq;		/* global index of its first sequence */
	enum tm_mix_schedule schedule;
	double lr_start;	/* lr_max, or the LR at which the previous phase ended */
	double lr_end;		/* lr_min (lr_start for constant) */
	bool lr_set;		/* the phase sets lr_max (else it continues) */
	uint64_t warmup_tokens;	/* linear from 0 to lr_start over these */
	uint64_t decay_tokens;	/* then lr_start to lr_end over these (resolved) */
	const double *weights;	/* [nsources], normalised: each >= 0, sum 1 */
};

/* A plan, read-only for the caller. */
struct tm_mix {
	const char *name;		/* [mix] name, default the file's stem */
	const char *file;		/* the mixes file, for errors */
	uint64_t seed;
	uint64_t eval_every;		/* tokens between evaluations; 0: phase ends only */
	uint64_t eval_tokens;		/* per source; 0: no evaluation */
	size_t nsources, nphases;
	const struct tm_mix_source *sources;
	const struct tm_mix_phase *phases;
	uint64_t steps, tokens;		/* of all phases */
	int max_seq_len, max_batch;	/* over the phases (for allocations) */
	uint64_t max_batch_ints;	/* max of B * (T + 1) over the phases */
};

/*
 * The keys of a mixes file (every one documented in docs/FORMATS.md and
 * mixes/README.md); tm_mix_from_ini() checks against them.
 */
extern const struct tm_ini_key tm_mix_schema[];
extern const size_t tm_mix_schema_len;

/*
 * Loads the plan in file `path`: parses it, applies the `n` overrides
 * ("section.sub.key=value", tm_ini_set_arg()) and builds it as
 * tm_mix_from_ini() does.  `shards` (NULL: [mix] shards) is the base
 * directory of the sources' shards, taken as given (relative to the
 * current directory).  Returns 0 with *out set, or TM_ECONFIG (err names
 * file and line, "command line" for an override), TM_EIO, TM_ETOOBIG.
 */
int tm_mix_load(const char *path, const char *shards, const char *const *overrides,
		size_t n, struct tm_mix **out, struct tm_err *err);
/*
 * Builds a plan from the parsed file `ini` (tm_ini_name() is the file's
 * path: relative directories in it resolve against the file's
 * directory); checks it against tm_mix_schema first.  `shards` as for
 * tm_mix_load().  Never touches the file system.  Returns 0 or
 * TM_ECONFIG.
 */
int tm_mix_from_ini(const struct tm_ini *ini, const char *shards, struct tm_mix **out,
		    struct tm_err *err);
void tm_mix_free(struct tm_mix *m);

/*
 * The learning rate after `tokens` tokens of the plan, and (phase may be
 * NULL) the index of the phase that position falls in: the phase i with
 * start_tokens <= tokens < start_tokens + tokens; past the end, the last
 * phase at its end.  Within a phase, at t tokens into it: t < warmup:
 * lr_start * t / warmup; then with x = min(1, (t - warmup) / decay)
 * (1 when decay is 0): constant lr_start, linear lr_start (1 - x) +
 * lr_end x, cosine lr_end + (lr_start - lr_end) (1 + cos(pi x)) / 2.
 */
double tm_mix_lr(const struct tm_mix *m, uint64_t tokens, size_t *phase);

/*
 * Parses a token count: digits with an optional fraction and an optional
 * suffix k/K (10^3), M, G, T, or Ki, Mi, Gi, Ti (2^10...), whose value
 * must be whole: "15.6T", "40M", "0.3M", "2Mi", "8192".  Returns 0, or
 * TM_EINVAL (syntax or not whole) / TM_ETOOBIG (over 2^64 - 1).
 */
int tm_mix_parse_tokens(const char *s, uint64_t *out);

/*
 * Splits `seq` (B rows of T + 1 tokens, as batches and validation
 * sequences come) into inputs[B*T] (row b: seq[b*(T+1) + t], t < T) and
 * targets[B*T] (seq[b*(T+1) + t + 1]).
 */
void tm_mix_split(const int32_t *seq, int B, int T, int32_t *inputs, int32_t *targets);

/* ------------------------------------------------------------------ loader */

/* tm_loader_new() flags */
#define TM_LOADER_VERIFY 1u	/* verify each shard's payload at open (tm_shard_verify) */

struct tm_loader;

/* One step's batch. */
struct tm_batch {
	const int32_t *tokens;	/* [B * (T + 1)]: row b is tokens[b*(T+1) .. b*(T+1)+T] */
	const uint8_t *source;	/* [B]: the source index of each row */
	int B, T;
	size_t phase;		/* index into the plan's phases */
	uint64_t step;		/* 0-based, in the whole plan */
	uint64_t phase_step;	/* 0-based, in its phase */
	uint64_t tokens_before;	/* tokens consumed before this step */
	double lr;		/* tm_mix_lr() at the step's middle: tokens_before + B*T/2 */
	bool phase_end;		/* the last step of its phase */
	bool eval;		/* evaluate after this step (see docs/FORMATS.md) */
};

/*
 * A loader for `m` at its start.  Opens every used source's train and
 * val shards (DIR/STEM_train_NNNNNN.bin, DIR/STEM_val_NNNNNN.bin: one
 * stem per directory, numbers from 000000 without gaps; mapped
 * read-only) and checks their headers (and with TM_LOADER_VERIFY their
 * payloads).  Errors: a used source without train shards (TM_ECONFIG
 * naming the plan's file and the line naming the source, and the
 * directory), a bad shard (TM_EFORMAT, TM_ETRUNC, TM_EDIGEST naming the
 * shard), shards disagreeing on vocabulary or BOS, or without tamis's
 * header words (TM_EFORMAT), TM_EIO.
 */
int tm_loader_new(const struct tm_mix *m, unsigned flags, struct tm_loader **out,
		  struct tm_err *err);
void tm_loader_free(struct tm_loader *l);

uint32_t tm_loader_vocab_size(const struct tm_loader *l);
uint32_t tm_loader_bos(const struct tm_loader *l);
/* Train tokens of source i per epoch (0 for a source not opened). */
uint64_t tm_loader_source_tokens(const struct tm_loader *l, size_t i);

/*
 * The next step's batch into *b.  Returns 0, TM_EEOF when the plan is
 * done (b untouched), or TM_EFORMAT for a token not below the vocabulary
 * (naming shard and byte offset; the position does not advance).
 */
int tm_loader_next(struct tm_loader *l, struct tm_batch *b, struct tm_err *err);

/* Where the loader stands: the phase of the next step (the last one once
 * the plan is done), tokens consumed in it and in all, steps done. */
size_t tm_loader_phase_index(const struct tm_loader *l);
const char *tm_loader_phase(const struct tm_loader *l);
uint64_t tm_loader_phase_tokens(const struct tm_loader *l);
uint64_t tm_loader_tokens(const struct tm_loader *l);
uint64_t tm_loader_step(const struct tm_loader *l);
bool tm_loader_done(const struct tm_loader *l);
/*
 * Source i's cursor: the epoch (0 first), the number of the shard
 * (its NNNNNN) and the token offset in it where its next sequence starts.
 */
void tm_loader_cursor(const struct tm_loader *l, size_t i, uint64_t *epoch,
		      uint32_t *shard, uint64_t *offset);

/* ------------------------------------------------------------------- state */

/*
 * Everything a loader needs to continue where another stopped; the rest
 * follows from the plan and the shards.  The identity fields let a
 * restore refuse a state that belongs to other shards or another seed.
 */
struct tm_loader_state {
	uint64_t seed;
	uint64_t step;		/* steps done */
	uint64_t seq;		/* sequences drawn: the global index of the next */
	uint64_t tokens;	/* tokens consumed */
	uint32_t phase;		/* phase of the next step (nphases when done) */
	uint64_t phase_tokens;	/* tokens consumed in it */
	uint32_t nsources;
	struct tm_loader_cursor {
		uint64_t name_hash;	/* XXH64(name, seed 0) */
		uint64_t epoch_tokens;	/* train tokens per epoch; 0: not opened */
		uint64_t pos;		/* tokens of its stream consumed, all epochs */
	} cur[TM_MIX_MAX_SOURCES];
};

#define TM_LOADER_STATE_VERSION 1
/* Bytes of an encoded state of n sources. */
#define TM_LOADER_STATE_BYTES(n) (64 + 24 * (size_t)(n) + 8)

void tm_loader_get_state(const struct tm_loader *l, struct tm_loader_state *st);
/*
 * Moves the loader to `st`.  Refused (TM_EINVAL, loader unchanged) when
 * the seed, the sources (names, tokens per epoch) or the plan's phases
 * before the position differ from the loader's.
 */
int tm_loader_set_state(struct tm_loader *l, const struct tm_loader_state *st,
			struct tm_err *err);
/*
 * Writes st as TM_LOADER_STATE_BYTES(st->nsources) little-endian bytes
 * (layout in docs/FORMATS.md, with a version and a checksum) to buf of
 * `len` bytes.  Returns the byte count, or TM_EINVAL when len is short.
 */
int tm_loader_state_encode(const struct tm_loader_state *st, void *buf, size_t len);
/* Reads an encoded state; TM_EFORMAT / TM_EDIGEST / TM_EUNSUP (version). */
int tm_loader_state_decode(const void *buf, size_t len, struct tm_loader_state *st,
			   struct tm_err *err);

/* -------------------------------------------------------------- validation */

struct tm_val;

/*
 * Source i's validation sequences: its val shards in number order, the
 * first min(eval_tokens, their tokens) = E tokens, as (E - 1) / T
 * sequences of T + 1 tokens starting every T tokens; the same for every
 * call.  A source without val shards has none.  Returns 0, TM_EINVAL
 * (i not opened, T < 1).
 */
int tm_val_new(const struct tm_loader *l, size_t i, int T, struct tm_val **out,
	       struct tm_err *err);
uint64_t tm_val_nseq(const struct tm_val *v);
/*
 * Fills tokens[B * (T + 1)] with up to B next sequences, *n of them.
 * Returns 0 (*n >= 1), TM_EEOF (none left, *n = 0), TM_EFORMAT.
 */
int tm_val_next(struct tm_val *v, int32_t *tokens, int B, int *n, struct tm_err *err);
void tm_val_rewind(struct tm_val *v);
void tm_val_free(struct tm_val *v);

#endif
