/*
 * bpe.h: byte-level BPE tokenization, id for id the same as OpenAI's
 * tiktoken (encode_ordinary) with the Llama 3, cl100k_base and o200k_base
 * vocabularies, or any vocabulary in tiktoken's file format.
 *
 * A vocabulary (struct tm_bpe) is loaded once and is read-only after
 * that: any number of threads may encode with it at once, each through
 * its own struct tm_bpe_ctx (scratch space reused across documents).
 *
 * Encoding is tiktoken's, step for step:
 *   1. The text is split into pieces by the vocabulary's pre-tokenizer
 *      pattern.  The two patterns (TM_BPE_PAT_CL100K, used by cl100k and
 *      Llama 3, and TM_BPE_PAT_O200K) are implemented by hand over ICU's
 *      character properties (\p{L}, \p{N}, \p{M}, White_Space), with the
 *      same leftmost-first, backtracking semantics as the regular
 *      expressions they replace (quoted in bpe.c).
 *   2. A piece that is a token is that token; otherwise its bytes are
 *      merged pairwise, always the pair of lowest rank first (leftmost on
 *      ties), until no adjacent pair is a token: tiktoken's
 *      _byte_pair_merge.
 * Text that spells a special token ("<|endoftext|>") is ordinary text.
 *
 * Invalid UTF-8 (tiktoken takes a Python str, so it never sees any):
 * every maximal ill-formed subsequence (Unicode's "substitution of
 * maximal subparts", what WHATWG decoders and node's Buffer.toString()
 * do) is replaced by U+FFFD before step 1, so the ids are tiktoken's for
 * the text a UTF-8 decoder makes of the bytes.  Encoded surrogates
 * (ED A0..BF xx) and overlong forms are ill-formed.
 *
 * Ownership: the caller owns what it passes and frees what _load/_new
 * return with the matching _free (which accept NULL).  Must not depend on
 * anything but buf, err and ICU's uchar.h.
 */
#ifndef TM_BPE_H
#define TM_BPE_H

#include <stddef.h>
#include <stdint.h>

struct tm_err;
struct tm_buf;

/* The pre-tokenizer split. */
enum tm_bpe_pattern {
	TM_BPE_PAT_CL100K = 0,	/* cl100k_base and Llama 3 */
	TM_BPE_PAT_O200K = 1,	/* o200k_base */
};

#define TM_BPE_NONE UINT32_MAX

struct tm_bpe;
struct tm_bpe_ctx;

/*
 * Loads a tiktoken-format vocabulary ("BASE64 RANK" per line, ranks
 * 0..N-1 in any order, each once) from `path`.  Returns 0 and *out, or a
 * negative TM_E* code with `err` naming the file and line (TM_EIO,
 * TM_EFORMAT: a bad line, a duplicate token or rank, a gap in the ranks,
 * no tokens).  The vocabulary has no special tokens until
 * tm_bpe_add_special() gives it some.
 */
int tm_bpe_load(const char *path, enum tm_bpe_pattern pat, struct tm_bpe **out,
		struct tm_err *err);
/* The same from `len` bytes in memory (`name` for messages). */
int tm_bpe_load_mem(const char *data, size_t len, const char *name,
		    enum tm_bpe_pattern pat, struct tm_bpe **out, struct tm_err *err);
void tm_bpe_free(struct tm_bpe *bpe);

/*
 * Adds a special token `name` with `id` (>= the number of ranks).  The
 * encoder never produces it from text; it exists for tm_bpe_special() and
 * tm_bpe_vocab_size().  Returns 0, or TM_EINVAL for a clash.
 */
int tm_bpe_add_special(struct tm_bpe *bpe, const char *name, uint32_t id,
		       struct tm_err *err);
/* The id of special token `name`, or TM_BPE_NONE. */
uint32_t tm_bpe_special(const struct tm_bpe *bpe, const char *name);
/* Number of ranks (mergeable tokens) in the file. */
uint32_t tm_bpe_nranks(const struct tm_bpe *bpe);
/* One more than the largest id, special tokens included. */
uint32_t tm_bpe_vocab_size(const struct tm_bpe *bpe);
enum tm_bpe_pattern tm_bpe_pattern(const struct tm_bpe *bpe);

/*
 * The bytes of token `id` (a rank; special tokens give their name), or
 * NULL for an unknown id.
 */
const char *tm_bpe_token(const struct tm_bpe *bpe, uint32_t id, size_t *len);

/*
 * The built-in vocabularies: "llama3" (llama3.tiktoken, the cl100k
 * pattern, <|begin_of_text|> 128000 ... <|reserved_special_token_247|>
 * 128255; BOS <|begin_of_text|>, EOS <|end_of_text|>), "cl100k"
 * (cl100k_base.tiktoken, <|endoftext|> 100257, the FIM tokens,
 * <|endofprompt|> 100276; BOS = EOS = <|endoftext|>, as GPT models
 * separate documents) and "o200k" (o200k_base.tiktoken, <|endoftext|>
 * 199999, <|endofprompt|> 200018).  NULL for another name.
 */
struct tm_bpe_preset {
	const char *name;
	const char *file;		/* the file name under the data directory */
	enum tm_bpe_pattern pat;
	const char *bos, *eos;		/* special token names */
};
const struct tm_bpe_preset *tm_bpe_preset(const char *name);
/*
 * Gives `bpe` the special tokens of `preset`; preset NULL (a vocabulary of
 * one's own): one special token, <|endoftext|>, right after the ranks.
 */
int tm_bpe_add_specials(struct tm_bpe *bpe, const struct tm_bpe_preset *preset,
			struct tm_err *err);

/* A context for one thread; never NULL (aborts on OOM). */
struct tm_bpe_ctx *tm_bpe_ctx_new(const struct tm_bpe *bpe);
void tm_bpe_ctx_free(struct tm_bpe_ctx *ctx);

/*
 * Encodes `len` bytes of `text` (UTF-8; ill-formed bytes as said above)
 * and appends the ids to ctx's output, which tm_bpe_encode returns
 * through *ids (valid until the next call on ctx) with their number.
 * Never fails.
 */
size_t tm_bpe_encode(struct tm_bpe_ctx *ctx, const char *text, size_t len,
		     const uint32_t **ids);

/*
 * The pre-tokenizer alone: calls fn(arg, piece, piece_len) for every
 * piece of well-formed UTF-8 `text` in order.  For tests and training.
 */
void tm_bpe_split(enum tm_bpe_pattern pat, const char *text, size_t len,
		  void (*fn)(void *arg, const char *piece, size_t n), void *arg);

/*
 * Replaces ill-formed UTF-8 in s[0..len) by U+FFFD as above, appending to
 * `out`.  Returns the number of replacements (0: out is a copy).
 */
size_t tm_utf8_sanitize(const char *s, size_t len, struct tm_buf *out);

#endif
