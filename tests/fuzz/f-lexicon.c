/*
 * f-lexicon.c: libFuzzer target for the folded words of filters/lexicon.c
 * on arbitrary bytes: the iterator (ASCII 64 bytes at a time, the rest
 * decoded) against the definition written plainly (lex-check.h), with
 * unspaced letters as separators and as words.  Also: a phrase map built
 * from the input's own words finds each of them.  A mismatch aborts.
 */
#include "tamis.h"
#include "lex-check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tm_buf a = TM_BUF_INIT, b = TM_BUF_INIT;
	struct tm_lex_map *m;
	struct tm_lex_iter it;
	int chars;

	if (size > 1 << 16)
		return 0;
	for (chars = 0; chars < 2; chars++) {
		lex_reference_words((const char *)data, size, chars, &a);
		lex_iter_words((const char *)data, size, chars, &b);
		if (a.len != b.len || memcmp(a.buf, b.buf, a.len))
			BUG("words differ (chars %d):\nwant %s\ngot  %s", chars, a.buf, b.buf);
	}
	/* every word of the text, as an entry, is found again */
	m = tm_lex_map_new(16, true);
	tm_lex_iter_init(&it, (const char *)data, size, false);
	while (tm_lex_next(&it))
		if (!it.too_long)
			tm_lex_add_phrase(m, it.fold, it.flen, 4, false);
	tm_lex_iter_init(&it, (const char *)data, size, false);
	while (tm_lex_next(&it)) {
		struct tm_lex_match st = { .nactive = 0 };
		uint32_t v = 0;

		if (!it.too_long && it.flen && tm_lex_match_word(m, &st, tm_lex_key(&it), &v) < 1)
			BUG("the word '%.*s' is not found among the text's words", (int)it.flen,
			    it.fold);
	}
	tm_lex_map_free(m);
	tm_buf_release(&a);
	tm_buf_release(&b);
	return 0;
}
