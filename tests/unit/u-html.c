/*
 * u-html.c: main-content extraction, through tm_html_extract(): concrete
 * text for crafted structures and real pages, and the bad inputs of the
 * issue (deep nesting, huge attributes and text, garbage) giving bounded,
 * clean results.
 */
#include "tamis.h"
#include "html.h"
#include "tap.h"

#include <zlib.h>

static struct tm_html_ctx *ctx;
static struct tm_html_result res = TM_HTML_RESULT_INIT;

static int run(const char *html, size_t len)
{
	struct tm_err err = TM_ERR_INIT;

	return tm_html_extract(ctx, html, len, NULL, &res, &err);
}

static int runs(const char *html)
{
	return run(html, strlen(html));
}

/* An article of n paragraphs, long and comma-rich, as a page body. */
static void article_paras(struct tm_buf *b, int n, const char *word)
{
	for (int i = 0; i < n; i++)
		tm_buf_addf(b, "<p>%s %d says the report, which, as noted, covers the "
			    "history of the valley, its people, its rivers and its "
			    "long winters in some detail.</p>\n", word, i);
}

static void test_boilerplate(void)
{
	struct tm_buf b = TM_BUF_INIT;

	tm_buf_addstr(&b, "<html lang=\"en\"><head><title> A   title </title>"
		      "<style>p{color:red}</style><script>var x = 'script text';</script>"
		      "</head><body>"
		      "<nav><a href=/>Home</a> <a href=/a>About</a></nav>"
		      "<header><h1>Site name</h1></header>"
		      "<div class=\"cookie-banner\">We use cookies to improve things.</div>"
		      "<div id=\"main\"><article><h2>The valley</h2>");
	article_paras(&b, 5, "Paragraph");
	tm_buf_addstr(&b, "<ul class=\"share-buttons\"><li><a href=#>Share on X</a></li></ul>"
		      "</article></div>"
		      "<aside><p>Related: other valleys, other rivers, other stories.</p></aside>"
		      "<div class=\"comments\"><p>First comment, with commas, lots, of, them.</p></div>"
		      "<footer>Copyright footer text</footer></body></html>");
	is_int(runs(b.buf), 0, "article page extracts");
	is_str(res.title.buf, "A title", "title, whitespace collapsed");
	is_str(res.lang.buf, "en", "html lang");
	ok(strstr(res.text.buf, "The valley\n\nParagraph 0 says the report,") != NULL,
	   "heading then first paragraph, blank line between");
	ok(strstr(res.text.buf, "Paragraph 4 says") != NULL, "last paragraph kept");
	ok(!strstr(res.text.buf, "Home") && !strstr(res.text.buf, "Site name") &&
	   !strstr(res.text.buf, "cookies") && !strstr(res.text.buf, "Share on") &&
	   !strstr(res.text.buf, "Related") && !strstr(res.text.buf, "First comment") &&
	   !strstr(res.text.buf, "Copyright") && !strstr(res.text.buf, "script text") &&
	   !strstr(res.text.buf, "color:red"),
	   "nav, header, cookie banner, share list, aside, comments, footer, script, style removed");
	tm_buf_release(&b);
}

static void test_structure(void)
{
	struct tm_buf b = TM_BUF_INIT;

	tm_buf_addstr(&b, "<html><body><div class=post-content>");
	article_paras(&b, 3, "Intro");
	tm_buf_addstr(&b, "<ul><li>first item</li><li>second item</li></ul>"
		      "<table><tr><th>Name</th><th>Value</th></tr>"
		      "<tr><td>alpha</td><td>1</td></tr></table>"
		      "<pre>int main(void)\n{\n    return 0;\n}</pre>"
		      "<p>Inline <code>x = y</code> code and an <img src=a.png alt=\"a red kite\"> image.</p>"
		      "<p>Euler: <script type=\"math/tex\">e^{i\\pi} + 1 = 0</script> holds,"
		      " as does <span class=katex><span class=katex-mathml><math><semantics>"
		      "<mrow><mi>a</mi></mrow><annotation encoding=\"application/x-tex\">a^2+b^2=c^2"
		      "</annotation></semantics></math></span><span class=katex-html aria-hidden=true>"
		      "a2+b2=c2</span></span> too.</p>"
		      "<p>Line one<br>line two</p></div></body></html>");
	is_int(runs(b.buf), 0, "structured page extracts");
	ok(strstr(res.text.buf, "first item\nsecond item") != NULL, "list items on lines");
	ok(strstr(res.text.buf, "Name\tValue\nalpha\t1") != NULL, "table rows, tab-separated cells");
	ok(strstr(res.text.buf, "int main(void)\n{\n    return 0;\n}") != NULL,
	   "pre keeps its whitespace");
	ok(strstr(res.text.buf, "Inline x = y code and an a red kite image.") != NULL,
	   "inline code and image alt text inline");
	ok(strstr(res.text.buf, "e^{i\\pi} + 1 = 0") != NULL, "MathJax TeX source kept");
	ok(strstr(res.text.buf, "a^2+b^2=c^2") != NULL && !strstr(res.text.buf, "a2+b2=c2"),
	   "KaTeX: TeX annotation once, rendered glyphs dropped");
	ok(strstr(res.text.buf, "Line one\nline two") != NULL, "br is a line break");
	ok(!strchr(res.text.buf, '*') && !strchr(res.text.buf, '#'), "no markdown markers");
	tm_buf_release(&b);
}

static void test_fallbacks(void)
{
	struct tm_buf b = TM_BUF_INIT;

	/* A wrapper whose class holds a boilerplate word: the retry finds it. */
	tm_buf_addstr(&b, "<html><body><div class=\"Page-ad-margins\"><div>");
	article_paras(&b, 6, "Wrapped");
	tm_buf_addstr(&b, "</div></div></body></html>");
	is_int(runs(b.buf), 0, "wrapped article extracts");
	ok(strstr(res.text.buf, "Wrapped 0 says") && strstr(res.text.buf, "Wrapped 5 says"),
	   "class-named wrapper does not lose the article (retry)");
	tm_buf_reset(&b);
	tm_buf_addstr(&b, "<html><body><div class=\"pagebuilder-pagerow\">");
	article_paras(&b, 6, "Row");
	tm_buf_addstr(&b, "</div></body></html>");
	runs(b.buf);
	ok(strstr(res.text.buf, "Row 0 says") != NULL, "'pagerow' is not the word 'pager'");
	is_int(runs("<html><body><p>Short note.</p></body></html>"), 0, "tiny page");
	is_str(res.text.buf, "Short note.", "non-article page: all visible text");
	is_int(runs(""), TM_EFORMAT, "empty input is a parse failure");
	is_int(runs("   "), TM_EFORMAT, "blank input is a parse failure");
	tm_buf_release(&b);
}

static void test_bad_input(void)
{
	struct tm_buf b = TM_BUF_INIT;
	struct tm_err err = TM_ERR_INIT;
	struct tm_html_opts small = TM_HTML_OPTS_INIT;
	struct tm_html_ctx *c2;
	int i, rc;

	/* 100,000 nested elements: bounded depth, no stack overflow */
	tm_buf_addstr(&b, "<html><body>");
	for (i = 0; i < 100000; i++)
		tm_buf_addstr(&b, "<div>");
	tm_buf_addstr(&b, "deep text");
	for (i = 0; i < 100000; i++)
		tm_buf_addstr(&b, "</div>");
	tm_buf_addstr(&b, "<p>Shallow text after the deep part.</p></body></html>");
	rc = run(b.buf, b.len);
	ok(rc == 0 || rc == TM_EFORMAT, "100k-deep nesting returns (rc %d)", rc);
	ok(rc != 0 || res.too_deep > 0 || !strstr(res.text.buf, "deep text"),
	   "elements beyond the depth limit are skipped and counted (%zu)", res.too_deep);

	/* a 100 MB attribute value */
	tm_buf_reset(&b);
	tm_buf_addstr(&b, "<html><body><p title=\"");
	tm_buf_grow(&b, 100u << 20);
	memset(b.buf + b.len, 'a', 100u << 20);
	tm_buf_setlen(&b, b.len + (100u << 20));
	tm_buf_addstr(&b, "\">After the attribute.</p></body></html>");
	rc = run(b.buf, b.len);
	is_int(rc, TM_ETOOBIG, "100 MB attribute: over the 32 MiB default limit");
	small.max_size = 200u << 20;
	c2 = tm_html_ctx_new(&small);
	rc = tm_html_extract(c2, b.buf, b.len, NULL, &res, &err);
	ok(rc == 0 || rc == TM_EFORMAT, "with a 200 MiB limit it parses or fails cleanly (rc %d)", rc);

	/* a 150 MB text node under a raised limit: libxml2 caps text nodes */
	tm_buf_reset(&b);
	tm_buf_addstr(&b, "<html><body><p>");
	for (i = 0; i < (150 << 20) / 10; i++)
		tm_buf_add(&b, "word word ", 10);
	tm_buf_addstr(&b, "</p></body></html>");
	rc = tm_html_extract(c2, b.buf, b.len, NULL, &res, &err);
	ok(rc == 0 || rc == TM_EFORMAT, "150 MB text node returns (rc %d, %zu bytes of text)",
	   rc, res.text.len);
	tm_html_ctx_free(c2);

	/* binary garbage */
	tm_buf_reset(&b);
	for (i = 0; i < 1 << 20; i++)
		tm_buf_addch(&b, (char)((i * 2654435761u) >> 13));
	rc = run(b.buf, b.len);
	ok(rc == 0 || rc == TM_EFORMAT, "1 MiB of binary garbage returns (rc %d)", rc);
	tm_buf_release(&b);
}

static bool read_gz(const char *path, struct tm_buf *out)
{
	gzFile f = gzopen(path, "rb");
	char buf[65536];
	int n;

	if (!f)
		return false;
	while ((n = gzread(f, buf, sizeof(buf))) > 0)
		tm_buf_add(out, buf, (size_t)n);
	gzclose(f);
	return true;
}

/* Real benchmark pages: the article's first words, no site chrome. */
static void test_real_pages(void)
{
	static const struct {
		const char *id, *first, *absent;
	} pages[] = {
		{ "042bb7b5fedab6eac7db576522b89b93904c237d344bcbe14a6a5ab7f7335856",
		  "Gaming used to be so simple. We\xe2\x80\x99" "d buy a game", "Subscribe" },
		{ "5caf91b8a4423735f866b089d2611ea14503584cf3b6f487c6d26eb7b9521fca",
		  "(AP) \xe2\x80\x94", NULL },
		{ "ffc109d474fdee1a59fa554df8b09643f4a7d45b23eceabad66f0712c3f7daed",
		  "Coty is breaking out", "Skip Navigation" },
	};
	struct tm_buf path = TM_BUF_INIT, html = TM_BUF_INIT;

	for (size_t i = 0; i < TM_ARRAY_SIZE(pages); i++) {
		tm_buf_reset(&path);
		tm_buf_reset(&html);
		tm_buf_addf(&path, "%s/html-extraction/html/%s.html.gz", tap_data_dir(),
			    pages[i].id);
		if (!read_gz(path.buf, &html)) {
			ok(0, "cannot read %s", path.buf);
			continue;
		}
		is_int(run(html.buf, html.len), 0, "real page parses");
		ok(strstr(res.text.buf, pages[i].first) != NULL,
		   "page %.8s: main text holds '%s'", pages[i].id, pages[i].first);
		if (pages[i].absent)
			ok(!strstr(res.text.buf, pages[i].absent),
			   "page %.8s: no '%s'", pages[i].id, pages[i].absent);
	}
	tm_buf_release(&path);
	tm_buf_release(&html);
}

int main(void)
{
	ctx = tm_html_ctx_new(NULL);
	test_boilerplate();
	test_structure();
	test_fallbacks();
	test_real_pages();
	test_bad_input();
	tm_html_ctx_free(ctx);
	tm_html_result_release(&res);
	return tap_done();
}
