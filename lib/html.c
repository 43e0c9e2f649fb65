/*
 * html.c: main-content extraction from HTML (see html.h, docs/EXTRACT.md).
 *
 * Three passes over libxml2's tree:
 *  1. measure: classify every element (dropped outright, boilerplate by
 *     class/id/role, block or inline), and sum per element its text length
 *     (in code points, whitespace collapsed), link text length, commas and
 *     the counts the cleaning rules need (paragraphs, images, list items,
 *     inputs, embeds); collect the paragraph-like scoring units.
 *  2. score: each unit of 25+ characters adds 1 + commas + min(len/100, 3)
 *     to its parent, half to its grandparent and a third per level above;
 *     a candidate's score is scaled by (1 - link density); the best
 *     candidate moves up to an ancestor that holds several near-best ones.
 *  3. write: the best candidate and its qualifying siblings are written as
 *     text, skipping elements that the conditional cleaning rules call
 *     boilerplate (link-dense lists, image galleries, forms, ...).
 * Per-element data lives in an array indexed through node->_private.
 */
#include "tamis.h"
#include "html.h"

#include <ctype.h>
#include <pthread.h>
#include <libxml/HTMLparser.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

/* Element kinds (bit flags). */
enum {
	K_DROP = 1 << 0,	/* never text: script, style, form controls, ... */
	K_BLOCK = 1 << 1,	/* starts a new line */
	K_PARA = 1 << 2,	/* a scoring unit (p, pre, td, ...) */
	K_BREAK2 = 1 << 3,	/* paragraph break (blank line) around it */
	K_BOILER = 1 << 4,	/* structural boilerplate: nav, aside, footer, header */
	K_PRE = 1 << 5,
	K_LINK = 1 << 6,
	K_IMG = 1 << 7,
	K_LI = 1 << 8,
	K_TR = 1 << 9,
	K_CELL = 1 << 10,
	K_MATH = 1 << 11,
	K_BR = 1 << 12,
	K_SCRIPT = 1 << 13,
	K_INPUT = 1 << 14,
	K_EMBED = 1 << 15,
	K_HEADING = 1 << 16,
	K_LIST = 1 << 17,
	K_CONTAINER = 1 << 18,	/* div-like: may be cleaned conditionally */
	K_TITLE = 1 << 19,
};

struct tag {
	const char *name;
	unsigned kind;
	int weight;		/* readability's initial score by tag */
};

/* Sorted by name for bsearch. */
static const struct tag tags[] = {
	{ "a", K_LINK, 0 },
	{ "address", K_BLOCK, -3 },
	{ "area", K_DROP, 0 },
	{ "article", K_BLOCK | K_BREAK2 | K_CONTAINER, 5 },
	{ "aside", K_BLOCK | K_BOILER, 0 },
	{ "audio", K_DROP, 0 },
	{ "blockquote", K_BLOCK | K_PARA | K_BREAK2, 3 },
	{ "body", K_BLOCK, 0 },
	{ "br", K_BR, 0 },
	{ "button", K_DROP | K_INPUT, 0 },
	{ "canvas", K_DROP, 0 },
	{ "caption", K_BLOCK, 0 },
	{ "center", K_BLOCK | K_CONTAINER, 5 },
	{ "datalist", K_DROP, 0 },
	{ "dd", K_BLOCK, -3 },
	{ "details", K_BLOCK | K_CONTAINER, 0 },
	{ "dialog", K_DROP, 0 },
	{ "div", K_BLOCK | K_BREAK2 | K_CONTAINER, 5 },
	{ "dl", K_BLOCK | K_BREAK2 | K_LIST, -3 },
	{ "dt", K_BLOCK, -3 },
	{ "embed", K_DROP | K_EMBED, 0 },
	{ "fieldset", K_BLOCK | K_CONTAINER, 0 },
	{ "figcaption", K_BLOCK, 0 },
	{ "figure", K_BLOCK | K_BREAK2 | K_CONTAINER, 0 },
	{ "footer", K_BLOCK | K_BOILER, 0 },
	{ "form", K_BLOCK | K_CONTAINER, -3 },
	{ "frame", K_DROP, 0 },
	{ "frameset", K_DROP, 0 },
	{ "h1", K_BLOCK | K_BREAK2 | K_HEADING, -5 },
	{ "h2", K_BLOCK | K_BREAK2 | K_HEADING, -5 },
	{ "h3", K_BLOCK | K_BREAK2 | K_HEADING, -5 },
	{ "h4", K_BLOCK | K_BREAK2 | K_HEADING, -5 },
	{ "h5", K_BLOCK | K_BREAK2 | K_HEADING, -5 },
	{ "h6", K_BLOCK | K_BREAK2 | K_HEADING, -5 },
	{ "head", K_DROP, 0 },
	{ "header", K_BLOCK | K_BOILER, 0 },
	{ "hr", K_BLOCK | K_BREAK2, 0 },
	{ "html", K_BLOCK, 0 },
	{ "iframe", K_DROP | K_EMBED, 0 },
	{ "img", K_IMG, 0 },
	{ "input", K_DROP | K_INPUT, 0 },
	{ "label", K_DROP, 0 },
	{ "legend", K_BLOCK, 0 },
	{ "li", K_BLOCK | K_LI, -3 },
	{ "link", K_DROP, 0 },
	{ "main", K_BLOCK | K_BREAK2 | K_CONTAINER, 5 },
	{ "map", K_DROP, 0 },
	{ "math", K_MATH, 0 },
	{ "menu", K_DROP, 0 },
	{ "meta", K_DROP, 0 },
	{ "nav", K_BLOCK | K_BOILER, 0 },
	{ "noscript", K_DROP, 0 },
	{ "object", K_DROP | K_EMBED, 0 },
	{ "ol", K_BLOCK | K_BREAK2 | K_LIST | K_CONTAINER, -3 },
	{ "option", K_DROP, 0 },
	{ "p", K_BLOCK | K_PARA | K_BREAK2, 0 },
	{ "picture", 0, 0 },
	{ "pre", K_BLOCK | K_PARA | K_BREAK2 | K_PRE, 3 },
	{ "script", K_DROP | K_SCRIPT, 0 },
	{ "section", K_BLOCK | K_BREAK2 | K_CONTAINER, 0 },
	{ "select", K_DROP | K_INPUT, 0 },
	{ "source", K_DROP, 0 },
	{ "style", K_DROP, 0 },
	{ "summary", K_BLOCK, 0 },
	{ "svg", K_DROP, 0 },
	{ "table", K_BLOCK | K_BREAK2 | K_CONTAINER, 0 },
	{ "tbody", K_BLOCK, 0 },
	{ "td", K_CELL | K_PARA, 3 },
	{ "template", K_DROP, 0 },
	{ "textarea", K_DROP | K_INPUT, 0 },
	{ "tfoot", K_BLOCK, 0 },
	{ "th", K_CELL, -5 },
	{ "thead", K_BLOCK, 0 },
	{ "title", K_DROP | K_TITLE, 0 },
	{ "tr", K_BLOCK | K_TR, 0 },
	{ "track", K_DROP, 0 },
	{ "ul", K_BLOCK | K_BREAK2 | K_LIST | K_CONTAINER, -3 },
	{ "video", K_DROP | K_EMBED, 0 },
};

static int tagcmp(const void *k, const void *e)
{
	return strcmp(k, ((const struct tag *)e)->name);
}

static const struct tag *find_tag(const char *name)
{
	return bsearch(name, tags, TM_ARRAY_SIZE(tags), sizeof(tags[0]), tagcmp);
}

struct tm_html_ctx;
static const struct tag *find_tag_cached(struct tm_html_ctx *c, const xmlChar *name);

/* Per-element measurements. */
struct ninfo {
	unsigned kind;
	bool dropped;		/* not text at all (hard drop or boilerplate) */
	bool scored;		/* a candidate: has a readability score */
	bool selected;		/* chosen for output (top or sibling) */
	int weight;		/* class/id weight (+-25) */
	double score;
	uint32_t text;		/* code points of text below, collapsed */
	uint32_t links;		/* ... of it inside <a> */
	uint32_t commas;
	uint32_t own_text;	/* text in direct child text nodes */
	uint32_t n_p, n_img, n_li, n_input, n_embed, n_block;
};

struct tm_html_ctx {
	struct tm_html_opts opts;
	htmlParserCtxtPtr pctx;
	struct ninfo *info;
	size_t ninfo, infocap;
	xmlNodePtr *units;		/* scoring units */
	size_t nunits, unitcap;
	xmlNodePtr *cands;		/* scored candidates */
	size_t ncands, candcap;
	struct tm_buf cls;		/* scratch: lowercase class + id words */
	struct tm_buf scratch;		/* text of a retry */
	/* writer state */
	struct tm_buf *out;
	int pending;			/* 0 none, 1 newline, 2 blank line */
	bool space;			/* a space is owed before the next word */
	size_t too_deep;
	int strictness;			/* 0 all rules; 1 no unlikely removal; 2 no class weights */
	size_t n_unlikely, n_weighted;	/* what strictness 1 and 2 would change */
	struct { const xmlChar *name; const struct tag *t; } tagcache[128];
};

void tm_html_result_release(struct tm_html_result *r)
{
	tm_buf_release(&r->text);
	tm_buf_release(&r->title);
	tm_buf_release(&r->lang);
}

/*
 * libxml2 must be initialised once, before any thread uses it, or its
 * lazily created global locks deadlock (seen: two workers in
 * xmlDictCreate).  The one process-wide state in this module.
 */
static pthread_once_t libxml_once = PTHREAD_ONCE_INIT;

static void libxml_init(void)
{
	xmlInitParser();
}

struct tm_html_ctx *tm_html_ctx_new(const struct tm_html_opts *opts)
{
	struct tm_html_ctx *c = tm_xcalloc(1, sizeof(*c));
	struct tm_html_opts def = TM_HTML_OPTS_INIT;

	pthread_once(&libxml_once, libxml_init);
	c->opts = opts ? *opts : def;
	if (!c->opts.max_size)
		c->opts.max_size = def.max_size;
	if (c->opts.max_depth <= 0)
		c->opts.max_depth = def.max_depth;
	tm_buf_init(&c->cls, 128);
	return c;
}

void tm_html_ctx_free(struct tm_html_ctx *c)
{
	if (!c)
		return;
	if (c->pctx)
		htmlFreeParserCtxt(c->pctx);
	free(c->info);
	free(c->units);
	free(c->cands);
	tm_buf_release(&c->cls);
	tm_buf_release(&c->scratch);
	free(c);
}

/*
 * Tag lookup cached by name pointer: libxml2 interns element names in its
 * dictionary, so one document's "p" elements share one pointer.  The
 * cache is cleared per document (the dictionary may be reused).
 */
static const struct tag *find_tag_cached(struct tm_html_ctx *c, const xmlChar *name)
{
	size_t h = ((uintptr_t)name >> 4) % TM_ARRAY_SIZE(c->tagcache);

	if (c->tagcache[h].name != name) {
		c->tagcache[h].name = name;
		c->tagcache[h].t = find_tag((const char *)name);
	}
	return c->tagcache[h].t;
}

static struct ninfo *NI(xmlNodePtr n)
{
	return n ? (struct ninfo *)n->_private : NULL;
}

static const char *attr(xmlNodePtr n, const char *name)
{
	xmlAttrPtr a;

	for (a = n->properties; a; a = a->next)
		if (a->name && !strcasecmp((const char *)a->name, name) &&
		    a->children && a->children->type == XML_TEXT_NODE)
			return (const char *)a->children->content;
	return NULL;
}

/* Is one of `words` among the NUL-separated tokens of `toks`? */
/* The attributes the rules read, found in one pass over the element's. */
struct attrs {
	const char *cls, *id, *role, *style, *itemprop, *alt, *aria_hidden;
	bool hidden;
};

static void get_attrs(xmlNodePtr n, struct attrs *a)
{
	xmlAttrPtr p;

	memset(a, 0, sizeof(*a));
	for (p = n->properties; p; p = p->next) {
		const char *name = (const char *)p->name, *v;

		if (!name || !p->children || p->children->type != XML_TEXT_NODE)
			continue;
		v = (const char *)p->children->content;
		switch (name[0]) {
		case 'c': if (!strcmp(name, "class")) a->cls = v; break;
		case 'i':
			if (!strcmp(name, "id"))
				a->id = v;
			else if (!strcmp(name, "itemprop"))
				a->itemprop = v;
			break;
		case 'r': if (!strcmp(name, "role")) a->role = v; break;
		case 's': if (!strcmp(name, "style")) a->style = v; break;
		case 'a':
			if (!strcmp(name, "alt"))
				a->alt = v;
			else if (!strcmp(name, "aria-hidden"))
				a->aria_hidden = v;
			break;
		case 'h': if (!strcmp(name, "hidden")) a->hidden = true; break;
		default: break;
		}
	}
}

static bool has_any(const char *toks, const char *const *words, size_t n)
{
	const char *t;

	for (t = toks; *t; t += strlen(t) + 1) {
		size_t tl = strlen(t);

		for (size_t i = 0; i < n; i++) {
			size_t wl;

			if (t[0] != words[i][0])
				continue;
			wl = strlen(words[i]);
			if (tl == wl ? !memcmp(t, words[i], wl) :
			    tl == wl + 1 && t[wl] == 's' && !memcmp(t, words[i], wl))
				return true;
		}
	}
	return false;
}

/*
 * Class/id vocabulary, after Mozilla's Readability (which the benchmark
 * results of readability.js, 0.947 F1, vouch for), plus cookie/consent
 * banners and share widgets that became common later.
 */
/*
 * Class/id vocabulary, after Mozilla's Readability (whose benchmark
 * results, 0.947 F1 for readability.js, vouch for it), matched against
 * the words of class and id values (split at non-letters and camelCase
 * humps, so "relatedArticles" and "related-articles" both hold "related",
 * while "pagebuilder-pagerow" does not hold "pager"), singular or plural.
 * Added: cookie/consent banners and share widgets that became common
 * after Readability's list was made.
 */
static const char *const unlikely_words[] = {
	"ad", "adbreak", "advert", "advertisement", "agegate", "banner",
	"breadcrumb", "breadcrumbs", "combx", "comment", "community",
	"consent", "cookie", "disqus", "extra", "footer", "gdpr", "header",
	"legends", "menu", "newsletter", "outbrain", "pager", "pagination",
	"popup", "promo", "related", "remark", "replies", "rss", "share",
	"sharing", "shoutbox", "sidebar", "signup", "skyscraper", "social",
	"sponsor", "sponsored", "subscribe", "subscription", "supplemental",
	"taboola", "toolbar", "nav", "navbar", "navigation", "masthead",
};
static const char *const maybe_words[] = {
	"and", "article", "body", "column", "content", "main", "shadow",
	"story", "post", "entry", "text",
};
static const char *const negative_words[] = {
	"ad", "banner", "combx", "comment", "contact", "cookie", "foot",
	"footer", "footnote", "gdpr", "hidden", "masthead", "media", "meta",
	"outbrain", "promo", "related", "scroll", "share", "shoutbox",
	"sidebar", "skyscraper", "sponsor", "shopping", "tags", "tag", "tool",
	"tools", "widget", "byline", "author", "caption", "credit",
};
static const char *const positive_words[] = {
	"article", "body", "content", "entry", "hentry", "main", "page",
	"pagination", "post", "text", "blog", "story", "articlebody",
	"storybody", "postbody", "entrycontent", "prose",
};
static const char *const drop_roles[] = {
	"navigation", "banner", "contentinfo", "complementary", "dialog",
	"search", "menu", "menubar", "alertdialog",
};

/* Elements a class name never removes: the page itself and its content. */
static bool never_unlikely(xmlNodePtr n)
{
	static const char *const keep[] = { "html", "body", "article", "main", "a" };

	for (size_t i = 0; i < TM_ARRAY_SIZE(keep); i++)
		if (!strcmp((const char *)n->name, keep[i]))
			return true;
	return false;
}

/*
 * The words of n's class and id values into c->cls, NUL-separated and
 * lowercase, with an empty string at the end: "relatedArticles side-bar"
 * gives "related", "articles", "side", "bar".  Returns c->cls.buf.
 */
static const char *class_id(struct tm_html_ctx *c, const struct attrs *at)
{
	const char *vals[2] = { at->cls, at->id };

	tm_buf_reset(&c->cls);
	for (int k = 0; k < 2; k++) {
		const unsigned char *p = (const unsigned char *)vals[k];

		for (; p && *p; p++) {
			bool alnum = isalnum(*p);
			bool hump = isupper(*p) && p > (const unsigned char *)vals[k] &&
				    islower(p[-1]);

			if (!alnum || hump) {
				if (c->cls.len && c->cls.buf[c->cls.len - 1])
					tm_buf_addch(&c->cls, '\0');
				if (!alnum)
					continue;
			}
			tm_buf_addch(&c->cls, (char)tolower(*p));
		}
		if (c->cls.len && c->cls.buf[c->cls.len - 1])
			tm_buf_addch(&c->cls, '\0');
	}
	tm_buf_addch(&c->cls, '\0');
	return c->cls.buf;
}

/* Does the raw class attribute mention s (for "MathJax", "katex-html")? */
static bool class_has(const struct attrs *at, const char *s)
{
	return at->cls && strcasestr(at->cls, s);
}

static bool is_hidden(const struct attrs *at)
{
	const char *v;

	if (at->hidden)
		return true;
	if ((v = at->aria_hidden) && !strcasecmp(v, "true"))
		return true;
	if ((v = at->style) &&
	    (strcasestr(v, "display:none") || strcasestr(v, "display: none") ||
	     strcasestr(v, "visibility:hidden") || strcasestr(v, "visibility: hidden")))
		return true;
	return false;
}

static bool is_math_script(xmlNodePtr n)
{
	const char *t = attr(n, "type");

	return t && !strncasecmp(t, "math/tex", 8);
}

/* Text measurements of a text node's content. */
static void measure_text(const char *s, uint32_t *len, uint32_t *commas)
{
	const unsigned char *p = (const unsigned char *)s;
	bool ws = true;
	uint32_t n = 0, cm = 0;

	for (; *p; p++) {
		if (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r' || *p == '\f') {
			if (!ws)
				n++;
			ws = true;
			continue;
		}
		ws = false;
		if ((*p & 0xc0) != 0x80)
			n++;
		if (*p == ',')
			cm++;
		else if (p[0] == 0xef && p[1] == 0xbc && p[2] == 0x8c)
			cm++; /* U+FF0C FULLWIDTH COMMA */
		else if (p[0] == 0xe3 && p[1] == 0x80 && p[2] == 0x81)
			cm++; /* U+3001 IDEOGRAPHIC COMMA */
	}
	*len += n;
	*commas += cm;
}

static struct ninfo *new_info(struct tm_html_ctx *c)
{
	if (c->ninfo == c->infocap)
		BUG("node count changed between passes");
	memset(&c->info[c->ninfo], 0, sizeof(c->info[0]));
	return &c->info[c->ninfo++];
}

static void push(xmlNodePtr **v, size_t *n, size_t *cap, xmlNodePtr x)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 256;
		*v = tm_xrealloc(*v, *cap * sizeof(**v));
	}
	(*v)[(*n)++] = x;
}

static size_t count_elements(xmlNodePtr n, int depth, int max_depth)
{
	size_t k = 0;

	for (; n; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		k++;
		if (depth < max_depth)
			k += count_elements(n->children, depth + 1, max_depth);
	}
	return k;
}

/* Pass 1. */
static void measure(struct tm_html_ctx *c, xmlNodePtr n, int depth, bool in_link)
{
	struct ninfo *ni = new_info(c);
	const struct tag *t = find_tag_cached(c, n->name);
	const char *ci;
	struct attrs at = { 0 };
	xmlNodePtr ch;

	n->_private = ni;
	ni->kind = t ? t->kind : 0;
	if ((ni->kind & K_SCRIPT) && is_math_script(n)) {
		/* MathJax source: kept as text */
		ni->kind = K_MATH;
		for (ch = n->children; ch; ch = ch->next)
			if (ch->type == XML_TEXT_NODE || ch->type == XML_CDATA_SECTION_NODE)
				measure_text((const char *)ch->content, &ni->text, &ni->commas);
		return;
	}
	if (ni->kind & K_DROP) {
		ni->dropped = true;
		if (ni->kind & K_INPUT)
			ni->n_input = 1;
		if (ni->kind & K_EMBED)
			ni->n_embed = 1;
		return;
	}
	if (n->properties) {
		get_attrs(n, &at);
		if (is_hidden(&at)) {
			ni->dropped = true;
			return;
		}
	}
	if (!c->opts.whole_page) {
		if (ni->kind & K_BOILER)
			ni->dropped = true;
		if (at.role)
			for (size_t i = 0; i < TM_ARRAY_SIZE(drop_roles); i++)
				if (!strcasecmp(at.role, drop_roles[i]))
					ni->dropped = true;
		if (at.cls || at.id) {
			ci = class_id(c, &at);
			if (class_has(&at, "mathjax") || class_has(&at, "katex-html") ||
			    class_has(&at, "mjx-"))
				ni->dropped = true; /* rendered math; the source is kept */
			if (!(ni->kind & K_MATH) && !never_unlikely(n) &&
			    has_any(ci, unlikely_words, TM_ARRAY_SIZE(unlikely_words)) &&
			    !has_any(ci, maybe_words, TM_ARRAY_SIZE(maybe_words))) {
				c->n_unlikely++;
				if (c->strictness < 1)
					ni->dropped = true;
			}
			if (has_any(ci, negative_words, TM_ARRAY_SIZE(negative_words)))
				ni->weight -= 25;
			if (has_any(ci, positive_words, TM_ARRAY_SIZE(positive_words)))
				ni->weight += 25;
			if (ni->weight)
				c->n_weighted++;
			if (c->strictness >= 2)
				ni->weight = 0;
		}
		if (at.itemprop && strstr(at.itemprop, "articleBody"))
			ni->weight += 25;
		if (ni->dropped)
			return;
	}
	if (ni->kind & K_IMG) {
		ni->n_img = 1;
		if (at.alt && c->opts.keep_alt)
			measure_text(at.alt, &ni->text, &ni->commas);
		return;
	}
	if (ni->kind & K_PARA)
		ni->n_p = 1;
	if (ni->kind & K_LI)
		ni->n_li = 1;
	for (ch = n->children; ch; ch = ch->next) {
		if (ch->type == XML_TEXT_NODE || ch->type == XML_CDATA_SECTION_NODE) {
			uint32_t before = ni->text;

			measure_text((const char *)ch->content, &ni->text, &ni->commas);
			ni->own_text += ni->text - before;
			if (in_link || (ni->kind & K_LINK))
				ni->links += ni->text - before;
			continue;
		}
		if (ch->type != XML_ELEMENT_NODE)
			continue;
		if (depth + 1 > c->opts.max_depth) {
			c->too_deep++;
			continue;
		}
		measure(c, ch, depth + 1, in_link || (ni->kind & K_LINK));
		{
			struct ninfo *ci2 = NI(ch);

			if (ci2->dropped) {
				ni->n_input += ci2->n_input;
				ni->n_embed += ci2->n_embed;
				continue;
			}
			ni->text += ci2->text;
			ni->links += ci2->links;
			ni->commas += ci2->commas;
			ni->n_p += ci2->n_p;
			ni->n_img += ci2->n_img;
			ni->n_li += ci2->n_li;
			ni->n_input += ci2->n_input;
			ni->n_embed += ci2->n_embed;
			if (ci2->kind & K_BLOCK)
				ni->n_block++;
		}
	}
	if (ni->kind & K_PARA)
		push(&c->units, &c->nunits, &c->unitcap, n);
	else if ((ni->kind & K_CONTAINER) && ni->own_text >= 25)
		push(&c->units, &c->nunits, &c->unitcap, n); /* text directly in a div */
}

static double link_density(const struct ninfo *ni)
{
	return ni->text ? (double)ni->links / ni->text : 0.0;
}

static void init_candidate(struct tm_html_ctx *c, xmlNodePtr n)
{
	struct ninfo *ni = NI(n);
	const struct tag *t;

	if (!ni || ni->scored)
		return;
	t = find_tag((const char *)n->name);
	ni->scored = true;
	ni->score = (t ? t->weight : 0) + ni->weight;
	push(&c->cands, &c->ncands, &c->candcap, n);
}

/* Pass 2: returns the best candidate, or NULL. */
static xmlNodePtr score(struct tm_html_ctx *c)
{
	xmlNodePtr best = NULL, alts[5];
	size_t i, nalts = 0;
	double top = 0;

	for (i = 0; i < c->nunits; i++) {
		xmlNodePtr u = c->units[i], a;
		struct ninfo *ui = NI(u);
		uint32_t len = (ui->kind & K_PARA) ? ui->text : ui->own_text;
		double s;
		int level;

		if (len < 25)
			continue;
		s = 1 + ui->commas + TM_MIN(len / 100, 3u);
		if (!(ui->kind & K_PARA)) {
			/* text directly in a container: it is its own paragraph */
			init_candidate(c, u);
			ui->score += s;
		}
		for (a = u->parent, level = 0; a && a->type == XML_ELEMENT_NODE &&
		     level < 5; a = a->parent, level++) {
			if (!NI(a))
				break;
			init_candidate(c, a);
			NI(a)->score += level == 0 ? s : level == 1 ? s / 2 : s / (level * 3);
		}
	}
	for (i = 0; i < c->ncands; i++) {
		struct ninfo *ni = NI(c->cands[i]);

		ni->score *= 1.0 - link_density(ni);
		if (!best || ni->score > top) {
			best = c->cands[i];
			top = ni->score;
		}
	}
	if (!best)
		return NULL;
	/* The runners-up: if several sit under one ancestor, take it. */
	for (i = 0; i < c->ncands && nalts < TM_ARRAY_SIZE(alts); i++)
		if (c->cands[i] != best && NI(c->cands[i])->score >= 0.75 * top)
			alts[nalts++] = c->cands[i];
	if (nalts >= 3) {
		xmlNodePtr p;

		for (p = best->parent; p && p->type == XML_ELEMENT_NODE && NI(p); p = p->parent) {
			size_t inside = 0;

			if (!strcmp((const char *)p->name, "body"))
				break;
			for (i = 0; i < nalts; i++) {
				xmlNodePtr q;

				for (q = alts[i]; q; q = q->parent)
					if (q == p) {
						inside++;
						break;
					}
			}
			if (inside >= 3) {
				init_candidate(c, p);
				best = p;
				break;
			}
		}
	}
	return best;
}

static bool ends_sentence(xmlNodePtr n)
{
	xmlChar *t = xmlNodeGetContent(n);
	bool r = false;
	size_t l;

	if (!t)
		return false;
	l = strlen((const char *)t);
	while (l && isspace(t[l - 1]))
		l--;
	if (l && strchr(".!?\"", t[l - 1]))
		r = true;
	if (l >= 3 && (unsigned char)t[l - 3] == 0xe3 && t[l - 2] == (xmlChar)0x80 &&
	    t[l - 1] == (xmlChar)0x82)
		r = true; /* U+3002 IDEOGRAPHIC FULL STOP */
	xmlFree(t);
	return r;
}

/* Picks the top candidate and its siblings; marks them selected. */
static void select_content(struct tm_html_ctx *c, xmlNodePtr best)
{
	struct ninfo *bi = NI(best);
	double threshold = TM_MAX(10.0, bi->score * 0.2);
	const char *bcl = attr(best, "class");
	xmlNodePtr s;

	bi->selected = true;
	if (!best->parent || best->parent->type != XML_ELEMENT_NODE ||
	    !strcmp((const char *)best->name, "body"))
		return;
	for (s = best->parent->children; s; s = s->next) {
		struct ninfo *si;
		double bonus = 0;

		if (s == best || s->type != XML_ELEMENT_NODE || !(si = NI(s)) ||
		    si->dropped)
			continue;
		if (bcl && attr(s, "class") && !strcmp(bcl, attr(s, "class")))
			bonus = bi->score * 0.2;
		if (si->scored && si->score + bonus >= threshold) {
			si->selected = true;
			continue;
		}
		if (!strcmp((const char *)s->name, "p")) {
			double ld = link_density(si);

			if ((si->text > 80 && ld < 0.25) ||
			    (si->text > 0 && si->text <= 80 && ld == 0 && ends_sentence(s)))
				si->selected = true;
		}
	}
}

/*
 * Readability's conditional cleaning: is this container, inside the
 * content, boilerplate after all (a link list, a gallery, a form)?
 */
static bool clean_conditionally(xmlNodePtr n, const struct ninfo *ni)
{
	double ld;
	bool list, table;

	if (!(ni->kind & K_CONTAINER) || ni->selected)
		return false;
	if (ni->weight + (ni->scored ? ni->score : 0) < 0)
		return true;
	if (ni->commas >= 10)
		return false;
	ld = link_density(ni);
	list = (ni->kind & K_LIST) != 0;
	/* lists and tables hold short items by nature: data, not chrome */
	table = !strcmp((const char *)n->name, "table");
	if (ni->n_img > 1 && (double)ni->n_p / ni->n_img < 0.5 && !list)
		return true;
	if (!list && ni->n_li > 100 + ni->n_p)
		return true;
	if (ni->n_input > ni->n_p / 3 + 1)
		return true;
	if (!list && !table && ni->text < 25 && (ni->n_img == 0 || ni->n_img > 2))
		return true;
	if (ni->weight < 25 && ld > 0.2 && !(list && ld < 0.5))
		return true;
	if (ni->weight >= 25 && ld > 0.5)
		return true;
	if ((ni->n_embed == 1 && ni->text < 75) || ni->n_embed > 1)
		return true;
	return false;
}

/* Pass 3: the writer. */
static void out_break(struct tm_html_ctx *c, int level)
{
	struct tm_buf *o = c->out;

	/* a line never ends in spaces or empty cells */
	while (o->len && (o->buf[o->len - 1] == ' ' || o->buf[o->len - 1] == '\t'))
		tm_buf_setlen(o, o->len - 1);
	if (level > c->pending)
		c->pending = level;
	c->space = false;
}

/* No space is owed at the start of a line or a table cell. */
static bool at_line_start(const struct tm_html_ctx *c)
{
	return !c->out->len || c->out->buf[c->out->len - 1] == '\n' ||
	       c->out->buf[c->out->len - 1] == '\t';
}

static void out_flush_break(struct tm_html_ctx *c)
{
	if (c->out->len && c->pending)
		tm_buf_add(c->out, "\n\n", (size_t)c->pending);
	c->pending = 0;
}

static void out_text(struct tm_html_ctx *c, const char *s, bool pre)
{
	const unsigned char *p = (const unsigned char *)s;

	if (pre) {
		if (!*p)
			return;
		if (c->space && c->out->len)
			tm_buf_addch(c->out, ' ');
		c->space = false;
		out_flush_break(c);
		tm_buf_addstr(c->out, s);
		return;
	}
	while (*p) {
		const unsigned char *w;

		if (isspace(*p)) {
			c->space = true;
			p++;
			continue;
		}
		for (w = p; *w && !isspace(*w); w++)
			;
		if (c->pending && c->out->len) {
			out_flush_break(c);
		} else {
			c->pending = 0;
			if (c->space && !at_line_start(c))
				tm_buf_addch(c->out, ' ');
		}
		c->space = false;
		tm_buf_add(c->out, p, (size_t)(w - p));
		p = w;
	}
}

static void write_math(struct tm_html_ctx *c, xmlNodePtr n);

static void write_node(struct tm_html_ctx *c, xmlNodePtr n, bool pre, bool content)
{
	xmlNodePtr ch;

	for (ch = n->children; ch; ch = ch->next) {
		struct ninfo *ni;

		if (ch->type == XML_TEXT_NODE || ch->type == XML_CDATA_SECTION_NODE) {
			out_text(c, (const char *)ch->content, pre);
			continue;
		}
		if (ch->type != XML_ELEMENT_NODE || !(ni = NI(ch)) || ni->dropped)
			continue;
		if (content && !c->opts.whole_page && clean_conditionally(ch, ni))
			continue;
		if (ni->kind & K_MATH) {
			write_math(c, ch);
			continue;
		}
		if (ni->kind & K_IMG) {
			const char *alt = attr(ch, "alt");

			if (alt && *alt && c->opts.keep_alt) {
				c->space = true;
				out_text(c, alt, false);
				c->space = true;
			}
			continue;
		}
		if (ni->kind & K_BR) {
			if (pre) {
				tm_buf_addch(c->out, '\n');
			} else {
				out_break(c, 1);
			}
			continue;
		}
		if (ni->kind & K_CELL) {
			if (c->out->len && c->out->buf[c->out->len - 1] != '\n' && !c->pending)
				tm_buf_addch(c->out, '\t');
			c->space = false;
			write_node(c, ch, pre, content);
			continue;
		}
		if (ni->kind & K_BLOCK)
			out_break(c, (ni->kind & K_BREAK2) ? 2 : 1);
		if (ni->kind & K_PRE) {
			out_flush_break(c);
			write_node(c, ch, true, content);
		} else {
			write_node(c, ch, pre, content);
		}
		if (ni->kind & K_BLOCK)
			out_break(c, (ni->kind & K_BREAK2) ? 2 : 1);
	}
}

/* TeX source when the math has one (KaTeX/MathML annotation), else text. */
static bool find_tex(xmlNodePtr n, struct tm_html_ctx *c, int depth)
{
	if (depth > c->opts.max_depth)
		return false;
	for (; n; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (!strcmp((const char *)n->name, "annotation")) {
			const char *enc = attr(n, "encoding");

			if (enc && strstr(enc, "tex")) {
				xmlChar *t = xmlNodeGetContent(n);

				if (t) {
					c->space = true;
					out_text(c, (const char *)t, false);
					c->space = true;
					xmlFree(t);
				}
				return true;
			}
		}
		if (find_tex(n->children, c, depth + 1))
			return true;
	}
	return false;
}

static void write_math(struct tm_html_ctx *c, xmlNodePtr n)
{
	xmlChar *t;
	const char *alt = attr(n, "alttext");

	if (!strcmp((const char *)n->name, "script")) {
		t = xmlNodeGetContent(n);
		if (t) {
			const char *type = attr(n, "type");

			if (type && strstr(type, "display"))
				out_break(c, 1);
			c->space = true;
			out_text(c, (const char *)t, false);
			c->space = true;
			if (type && strstr(type, "display"))
				out_break(c, 1);
			xmlFree(t);
		}
		return;
	}
	if (find_tex(n->children, c, 0))
		return;
	if (alt && *alt) {
		c->space = true;
		out_text(c, alt, false);
		c->space = true;
		return;
	}
	t = xmlNodeGetContent(n);
	if (t) {
		c->space = true;
		out_text(c, (const char *)t, false);
		c->space = true;
		xmlFree(t);
	}
}

/* Measures, scores and writes the text of body into out under c->strictness. */
static void run_rules(struct tm_html_ctx *c, xmlNodePtr root, xmlNodePtr body,
		      struct tm_buf *out)
{
	xmlNodePtr best;

	c->ninfo = c->nunits = c->ncands = 0;
	c->too_deep = 0;
	c->n_unlikely = c->n_weighted = 0;
	measure(c, root, 0, false);
	c->out = out;
	c->pending = 0;
	c->space = false;
	best = c->opts.whole_page ? NULL : score(c);
	if (!best || NI(best)->text < 100) {
		/* nothing article-like: all text outside boilerplate */
		write_node(c, body, false, false);
	} else if (best->parent && NI(best->parent) && best != body) {
		xmlNodePtr s;

		select_content(c, best);
		for (s = best->parent->children; s; s = s->next) {
			struct ninfo *si;

			if (s->type != XML_ELEMENT_NODE || !(si = NI(s)) || !si->selected)
				continue;
			out_break(c, 2);
			if (si->kind & K_MATH)
				write_math(c, s);
			else
				write_node(c, s, (si->kind & K_PRE) != 0, true);
			out_break(c, 2);
		}
	} else {
		write_node(c, best, false, true);
	}
}

static void find_meta(xmlNodePtr n, struct tm_html_result *res, int depth)
{
	for (; n && depth < 8; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (!strcmp((const char *)n->name, "title") && !res->title.len) {
			xmlChar *t = xmlNodeGetContent(n);
			bool sp = false;

			for (const unsigned char *p = t; p && *p; p++) {
				if (isspace(*p)) {
					sp = res->title.len > 0;
					continue;
				}
				if (sp)
					tm_buf_addch(&res->title, ' ');
				sp = false;
				tm_buf_addch(&res->title, (char)*p);
			}
			xmlFree(t);
			continue;
		}
		if (!strcmp((const char *)n->name, "body"))
			continue;
		find_meta(n->children, res, depth + 1);
	}
}

int tm_html_extract(struct tm_html_ctx *c, const char *html, size_t len,
		    const char *url, struct tm_html_result *res, struct tm_err *err)
{
	htmlDocPtr doc;
	xmlNodePtr root, body = NULL, ch;
	const char *lang;
	size_t nodes;

	tm_buf_reset(&res->text);
	tm_buf_reset(&res->title);
	tm_buf_reset(&res->lang);
	res->nodes = res->too_deep = 0;
	if (len > c->opts.max_size)
		return tm_err_set(err, TM_ETOOBIG, NULL, TM_ERR_NO_OFFSET, 0,
				  "HTML of %zu bytes exceeds the %zu-byte limit",
				  len, c->opts.max_size);
	if (len > INT_MAX)
		return tm_err_set(err, TM_ETOOBIG, NULL, TM_ERR_NO_OFFSET, 0,
				  "HTML of %zu bytes is too large to parse", len);
	if (!c->pctx) {
		c->pctx = htmlNewParserCtxt();
		if (!c->pctx)
			tm_die_oom(sizeof(htmlParserCtxt));
	}
	doc = htmlCtxtReadMemory(c->pctx, html, (int)len, url, "UTF-8",
				 HTML_PARSE_RECOVER | HTML_PARSE_NONET |
				 HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
				 HTML_PARSE_COMPACT | HTML_PARSE_IGNORE_ENC);
	if (!doc || !(root = xmlDocGetRootElement(doc))) {
		if (doc)
			xmlFreeDoc(doc);
		return tm_err_set(err, TM_EFORMAT, NULL, TM_ERR_NO_OFFSET, 0,
				  "libxml2 could not parse the HTML");
	}
	lang = attr(root, "lang");
	if (!lang)
		lang = attr(root, "xml:lang");
	if (lang)
		tm_buf_addstr(&res->lang, lang);
	find_meta(root->children, res, 0);

	nodes = count_elements(root, 0, c->opts.max_depth);
	if (nodes > c->infocap) {
		c->infocap = nodes + nodes / 4;
		free(c->info);
		c->info = tm_xmalloc(c->infocap * sizeof(*c->info));
	}
	for (ch = root->children; ch; ch = ch->next)
		if (ch->type == XML_ELEMENT_NODE && !strcmp((const char *)ch->name, "body"))
			body = ch;
	if (!body)
		body = root;

	/*
	 * Readability's retry: when the rules leave less than 500 bytes, a
	 * class name probably removed a wrapper of the whole article; try
	 * again without class-based removal, then without class weights, and
	 * keep the longest text.
	 */
	memset(c->tagcache, 0, sizeof(c->tagcache));
	for (c->strictness = 0; c->strictness < 3; c->strictness++) {
		struct tm_buf *dst = c->strictness ? &c->scratch : &res->text;

		tm_buf_reset(dst);
		run_rules(c, root, body, dst);
		if (dst != &res->text && dst->len > res->text.len) {
			struct tm_buf t = res->text;

			res->text = *dst;
			*dst = t;
		}
		if (res->text.len >= 500 || c->opts.whole_page)
			break;
		/* retries that would change nothing are not run */
		if (c->strictness == 0 && !c->n_unlikely)
			c->strictness++;
		if (c->strictness == 1 && !c->n_weighted)
			c->strictness++;
	}
	res->nodes = c->ninfo;
	/* clear _private pointers: the document is freed right away anyway */
	res->too_deep = c->too_deep;
	xmlFreeDoc(doc);
	return 0;
}
