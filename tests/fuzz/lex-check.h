/*
 * lex-check.h: the words of a text as filters/lexicon.h defines them,
 * written plainly (code point by code point through ICU), and the same
 * from the iterator, both as one string "OFF[folded]|..." ("long" after a
 * word over TM_LEX_WORD_MAX folded bytes, "BADKEY"/"LONGKEY" when the
 * iterator's key is not tm_lex_hash() of its folded bytes, or not 0 for
 * a long word).  Shared by tests/unit/u-filter-safety.c and the fuzz
 * target f-lexicon.c: the fast ASCII path must give what the definition
 * gives, on any bytes.
 */
#ifndef TM_LEX_CHECK_H
#define TM_LEX_CHECK_H

#include "tamis.h"
#include "lexicon.h"
#include "text.h"

#include <unicode/uchar.h>
#include <unicode/utf8.h>

static inline void lex_reference_words(const char *s, size_t n, bool chars, struct tm_buf *out)
{
	int32_t i = 0, len = (int32_t)n;
	bool in = false;
	size_t flen = 0;

	tm_buf_reset(out);
	while (i < len) {
		int32_t at = i;
		UChar32 c;
		bool word, unsp;

		U8_NEXT((const uint8_t *)s, i, len, c);
		unsp = c >= 0 && tm_unspaced_cp((uint32_t)c) &&
		       (U_GET_GC_MASK(c) & (U_GC_L_MASK | U_GC_M_MASK | U_GC_N_MASK));
		word = c >= 0 && !tm_unspaced_cp((uint32_t)c) &&
		       (U_GET_GC_MASK(c) & (U_GC_L_MASK | U_GC_M_MASK | U_GC_N_MASK));
		if (!word && in) {
			tm_buf_addf(out, "]%s|", flen > TM_LEX_WORD_MAX ? "long" : "");
			in = false;
		}
		if (unsp && chars) {
			char u[8];
			int32_t k = 0;

			U8_APPEND_UNSAFE(u, k, u_foldCase(c, U_FOLD_CASE_DEFAULT));
			tm_buf_addf(out, "%d[%.*s]|", at, (int)k, u);
			continue;
		}
		if (!word)
			continue;
		if (!in) {
			tm_buf_addf(out, "%d[", at);
			in = true;
			flen = 0;
		}
		if (c == 0xdf || c == 0x1e9e) {
			if (flen + 2 <= TM_LEX_WORD_MAX)
				tm_buf_addstr(out, "ss");
			flen += 2;
		} else {
			char u[8];
			int32_t k = 0;

			U8_APPEND_UNSAFE(u, k, u_foldCase(c, U_FOLD_CASE_DEFAULT));
			if (flen + (size_t)k <= TM_LEX_WORD_MAX)
				tm_buf_add(out, u, (size_t)k);
			else
				flen = TM_LEX_WORD_MAX;	/* nothing more fits */
			flen += (size_t)k;
		}
	}
	if (in)
		tm_buf_addf(out, "]%s|", flen > TM_LEX_WORD_MAX ? "long" : "");
}

static inline void lex_iter_words(const char *s, size_t n, bool chars, struct tm_buf *out)
{
	struct tm_lex_iter it;

	tm_buf_reset(out);
	tm_lex_iter_init(&it, s, n, chars);
	while (tm_lex_next(&it)) {
		tm_buf_addf(out, "%zu[%.*s]%s|", it.off, (int)it.flen, it.fold,
			    it.too_long ? "long" : "");
		if (!it.too_long && it.key != tm_lex_hash(it.fold, it.flen))
			tm_buf_addstr(out, "BADKEY");
		if (it.too_long && it.key)
			tm_buf_addstr(out, "LONGKEY");
	}
}

#endif
