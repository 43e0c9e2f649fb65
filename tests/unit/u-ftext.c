/*
 * u-ftext.c: filters/text.c, the lines, paragraphs and words every filter
 * sees: line ends (LF, CRLF, a final newline), blank lines between
 * paragraphs, words at Unicode white space (NBSP, ideographic space), ICU
 * dictionary words inside Chinese, Japanese and Thai runs, words per
 * line, case folding, and invalid UTF-8.
 */
#include "tamis.h"
#include "text.h"
#include "tap.h"

static struct tm_ftext *t;
static struct tm_buf got;

/* The spans joined as "[a][b]...". */
static const char *join(const struct tm_span *s, size_t n)
{
	size_t i;

	tm_buf_reset(&got);
	for (i = 0; i < n; i++) {
		tm_buf_addch(&got, '[');
		tm_buf_add(&got, t->text + s[i].off, s[i].len);
		tm_buf_addch(&got, ']');
	}
	return got.buf;
}

static const char *lines(const char *s)
{
	const struct tm_span *sp;
	size_t n;

	tm_ftext_set(t, s, strlen(s), NULL, NULL);
	sp = tm_ftext_lines(t, &n);
	return join(sp, n);
}

static const char *paras(const char *s)
{
	const struct tm_span *sp;
	size_t n;

	tm_ftext_set(t, s, strlen(s), NULL, NULL);
	sp = tm_ftext_paras(t, &n);
	return join(sp, n);
}

static const char *words(const char *s)
{
	const struct tm_span *sp;
	size_t n;

	tm_ftext_set(t, s, strlen(s), "", NULL);
	sp = tm_ftext_words(t, &n);
	return join(sp, n);
}

static const char *fold(const char *s)
{
	size_t n;
	const char *f = tm_ftext_fold(t, s, strlen(s), &n);

	tm_buf_reset(&got);
	tm_buf_add(&got, f, n);
	return got.buf;
}

int main(int argc, char **argv)
{
	(void)tap_seed(argc, argv);
	t = tm_ftext_new();
	tm_buf_init(&got, 0);

	is_str(lines(""), "", "no text, no lines");
	is_str(lines("a\nb"), "[a][b]", "two lines");
	is_str(lines("a\nb\n"), "[a][b]", "a final newline starts no line");
	is_str(lines("a\r\nb\r\n"), "[a][b]", "CRLF: the CR is not in the line");
	is_str(lines("a\n\n\nb"), "[a][][][b]", "blank lines are lines");
	is_str(lines("\n"), "[]", "one empty line");

	is_str(paras("one\ntwo\n\nthree\n \t \nfour\n"), "[one\ntwo][three][four]",
	       "paragraphs split at blank lines, white-space-only ones too");
	is_str(paras("\n\nx\n\n"), "[x]", "leading and trailing blank lines");
	is_str(paras("a\n\xc2\xa0\nb"), "[a][b]", "a line of NBSP is blank");

	is_str(words("Hello,  world!\tend."), "[Hello,][world!][end.]",
	       "words at white space, punctuation attached");
	is_str(words("a\xc2\xa0" "b\xe3\x80\x80" "c\xe2\x80\x83" "d"), "[a][b][c][d]",
	       "NBSP, ideographic space and em space separate words");
	is_str(words("\xe4\xbb\x8a\xe5\xa4\xa9\xe5\xa4\xa9\xe6\xb0\x94\xe5\xbe\x88\xe5\xa5\xbd"),
	       "[\xe4\xbb\x8a\xe5\xa4\xa9][\xe5\xa4\xa9\xe6\xb0\x94][\xe5\xbe\x88\xe5\xa5\xbd]",
	       "Chinese without spaces: ICU dictionary words");
	is_str(words("\xe0\xb8\xaa\xe0\xb8\xa7\xe0\xb8\xb1\xe0\xb8\xaa\xe0\xb8\x94\xe0\xb8\xb5"
		     "\xe0\xb8\x84\xe0\xb8\xa3\xe0\xb8\xb1\xe0\xb8\x9a"),
	       "[\xe0\xb8\xaa\xe0\xb8\xa7\xe0\xb8\xb1\xe0\xb8\xaa\xe0\xb8\x94\xe0\xb8\xb5]"
	       "[\xe0\xb8\x84\xe0\xb8\xa3\xe0\xb8\xb1\xe0\xb8\x9a]",
	       "Thai without spaces: two words");
	is_str(words("\xe7\xa7\x81\xe3\x81\xaf\xe5\xad\xa6\xe7\x94\x9f\xe3\x81\xa7\xe3\x81\x99"),
	       "[\xe7\xa7\x81][\xe3\x81\xaf][\xe5\xad\xa6\xe7\x94\x9f][\xe3\x81\xa7\xe3\x81\x99]",
	       "Japanese: kanji and kana words");
	is_str(words("Tokyo\xe6\x9d\xb1\xe4\xba\xac 2024"), "[Tokyo][\xe6\x9d\xb1\xe4\xba\xac][2024]",
	       "Latin glued to Han is cut at the script change");
	is_str(words("a\xff" "b c"), "[a\xff" "b][c]", "an invalid byte is part of a word");
	is_str(words(" \n\t "), "", "white space only: no words");
	{
		const char *s = "one two\n\nthree\r\nfour five six\n";
		const uint32_t *lw;

		tm_ftext_set(t, s, strlen(s), NULL, NULL);
		lw = tm_ftext_line_words(t);
		ok(lw[0] == 2 && lw[1] == 0 && lw[2] == 1 && lw[3] == 3,
		   "words per line: 2 0 1 3 (got %u %u %u %u)", lw[0], lw[1], lw[2], lw[3]);
	}
	is_str(fold("HeLLo"), "hello", "ASCII folds by table");
	is_str(fold("Stra\xc3\x9f" "e \xc3\x89" "COLE"), "strasse \xc3\xa9" "cole",
	       "full case folding: \xc3\x9f -> ss, \xc3\x89 -> \xc3\xa9");
	is_str(fold("\xce\xa3\xce\x99\xce\xa3"), "\xcf\x83\xce\xb9\xcf\x83", "Greek capitals fold");
	ok(tm_unspaced_cp(0x4e00) && tm_unspaced_cp(0x0e01) && tm_unspaced_cp(0x20000) &&
	   !tm_unspaced_cp('a') && !tm_unspaced_cp(0x0410), "unspaced scripts: Han, Thai; not Latin, Cyrillic");
	tm_ftext_free(t);
	tm_buf_release(&got);
	return tap_done();
}
