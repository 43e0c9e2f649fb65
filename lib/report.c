/*
 * report.c: the HTML report of a stats database (see report.h).
 *
 * Each section is one or two queries whose rows go into small arrays,
 * then an inline SVG chart and a table drawn from those arrays.  The SVG
 * is written by hand from a few primitives (a linear scale with "nice"
 * ticks, axes with grid lines, bars, polylines); sizes are CSS pixels and
 * text is laid out for 12px DejaVu/Liberation Sans (about 7px a glyph).
 * Nothing here can make a coordinate NaN or infinite: scale() clamps.
 *
 * A query failure is recorded once (struct report's rc and err); every
 * later query is then skipped and the half-written page thrown away.
 */
#include "tamis.h"
#include "report.h"
#include "stats.h"
#include "bpe.h"

#include <math.h>
#include <sqlite3.h>

#define CHART_W 960
#define GLYPH_W 7.0		/* average glyph width of 12px sans, for layout */
#define LABEL_MAX 40		/* label characters shown before an ellipsis */
#define TOP_REASONS 12		/* bars per stage in the removal chart */
#define TOP_LANGS 30
#define HIST_MAX_BARS 60	/* wider histograms are shown with buckets merged */
#define FAILED_RUN "(finished IS NULL OR coalesce(exit_status, -1) <> 0)"

static const char *const palette[] = {
	"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
	"#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#17becf",
};
#define COLOR(i) palette[(size_t)(i) % TM_ARRAY_SIZE(palette)]
#define C_IN "#a6c8e6"		/* funnel: what came in */
#define C_OUT "#2f6ea5"		/* funnel: what went out */
#define C_EDGE "#b9b4ae"	/* histogram underflow and overflow */

struct report {
	sqlite3 *db;
	const char *path;
	struct tm_buf *o;
	struct tm_err *err;
	int rc;			/* the first failure; later queries are skipped */
	char **stage;		/* the funnel's stages, in the funnel's order */
	size_t nstage;
	struct tm_buf ids;	/* chart ids given out, "\nID\n" each */
};

/* ---- text ------------------------------------------------------------ */

void tm_html_escape(struct tm_buf *out, const char *s, size_t len)
{
	static const char special[] = "&<>\"'";
	static const char *const entity[] = { "&amp;", "&lt;", "&gt;", "&quot;", "&#39;" };
	struct tm_buf clean = TM_BUF_INIT;
	const char *e;
	size_t i;

	tm_utf8_sanitize(s, len, &clean);
	for (i = 0; i < clean.len; i++) {
		unsigned char c = (unsigned char)clean.buf[i];

		if (c && (e = strchr(special, c)))
			tm_buf_addstr(out, entity[e - special]);
		else if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
			tm_buf_addstr(out, "\xEF\xBF\xBD");
		else
			tm_buf_addch(out, c);
	}
	tm_buf_release(&clean);
}

static void esc(struct tm_buf *o, const char *s)
{
	tm_html_escape(o, s, strlen(s));
}

/* Code points of UTF-8 s (continuation bytes are not counted). */
static size_t u8len(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* Escapes the first `max` code points of s, then "…" if s is longer. */
static void esc_cut(struct tm_buf *o, const char *s, size_t max)
{
	size_t i = 0, n = 0;

	if (u8len(s) <= max) {
		esc(o, s);
		return;
	}
	while (s[i] && (n < max - 1 || ((unsigned char)s[i] & 0xc0) == 0x80)) {
		n += ((unsigned char)s[i] & 0xc0) != 0x80;
		i++;
	}
	tm_html_escape(o, s, i);
	tm_buf_addstr(o, "\xE2\x80\xA6");
}

static double label_px(const char *s)
{
	return (double)TM_MIN(u8len(s), (size_t)LABEL_MAX) * GLYPH_W;
}

void tm_fmt_thousands(struct tm_buf *out, int64_t v)
{
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;
	char d[24];
	int n = snprintf(d, sizeof(d), "%" PRIu64, u), i;

	if (v < 0)
		tm_buf_addch(out, '-');
	for (i = 0; i < n; i++) {
		if (i && (n - i) % 3 == 0)
			tm_buf_addch(out, ',');
		tm_buf_addch(out, d[i]);
	}
}

/* A measured value: "n/a" (NULL), "inf", 1,234,567 or 4 digits. */
static void fmt_real(struct tm_buf *o, double v)
{
	if (isnan(v))
		tm_buf_addstr(o, "n/a");
	else if (isinf(v))
		tm_buf_addstr(o, v > 0 ? "inf" : "-inf");
	else if (fabs(v) >= 1e3 && fabs(v) < 9e18)
		tm_fmt_thousands(o, (int64_t)llround(v));
	else
		tm_buf_addf(o, "%.4g", v);
}

/* "12.34%", or "n/a" */
static void fmt_pct(struct tm_buf *o, double v)
{
	if (isfinite(v))
		tm_buf_addf(o, "%.2f%%", v);
	else
		tm_buf_addstr(o, "n/a");
}

/* How axis labels print their values: 2.5M, 2.5 MB, 2.5Mi (4Ki). */
enum tick_fmt { TICK_SI, TICK_BYTES, TICK_BIN };

static void fmt_tick(struct tm_buf *o, double v, enum tick_fmt f)
{
	static const char prefix[] = "kMGTPE";
	double base = f == TICK_BIN ? 1024 : 1000;
	int k = -1;

	if (!isfinite(v)) {
		fmt_real(o, v);
		return;
	}
	while (fabs(v) >= base && k < 5) {
		v /= base;
		k++;
	}
	tm_buf_addf(o, "%.3g", v);
	if (f == TICK_BYTES)
		tm_buf_addch(o, ' ');
	if (k >= 0)
		tm_buf_addch(o, f == TICK_BIN && !k ? 'K' : prefix[k]);
	if (k >= 0 && f == TICK_BIN)
		tm_buf_addch(o, 'i');
	if (f == TICK_BYTES)
		tm_buf_addch(o, 'B');
}

/* ---- queries --------------------------------------------------------- */

static void db_failed(struct report *r)
{
	if (!r->rc)
		r->rc = tm_err_set(r->err, TM_EDB, r->path, TM_ERR_NO_OFFSET, 0,
				   "cannot read the report's data: %s",
				   sqlite3_errmsg(r->db));
}

/* A prepared `sql`, or NULL (after a failure, recorded or earlier). */
static sqlite3_stmt *query(struct report *r, const char *sql)
{
	sqlite3_stmt *s = NULL;

	if (r->rc)
		return NULL;
	if (sqlite3_prepare_v2(r->db, sql, -1, &s, NULL) != SQLITE_OK) {
		db_failed(r);
		sqlite3_finalize(s);
		return NULL;
	}
	return s;
}

/* Steps s: true on a row; false at the end or on a failure (recorded). */
static bool next_row(struct report *r, sqlite3_stmt *s)
{
	int rc;

	if (!s || r->rc)
		return false;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		return true;
	if (rc != SQLITE_DONE)
		db_failed(r);
	return false;
}

static const char *col_str(sqlite3_stmt *s, int i)
{
	const char *t = (const char *)sqlite3_column_text(s, i);

	return t ? t : "";
}

static char *col_dup(sqlite3_stmt *s, int i)
{
	return tm_xstrdup(col_str(s, i));
}

static double col_real(sqlite3_stmt *s, int i)
{
	if (sqlite3_column_type(s, i) == SQLITE_NULL)
		return NAN;
	return sqlite3_column_double(s, i);
}

static int64_t col_int(sqlite3_stmt *s, int i)
{
	return sqlite3_column_int64(s, i);
}

static void *grow(void *p, size_t *alloc, size_t need, size_t size)
{
	if (need <= *alloc)
		return p;
	*alloc = TM_MAX(need, *alloc * 2 + 8);
	return tm_xrealloc(p, *alloc * size);
}

/* ---- page pieces ----------------------------------------------------- */

/*
 * Puts a unique chart id, "chart-" + prefix + `name` with every byte but
 * [A-Za-z0-9._-] as '_' (then "-2", "-3", ... if taken), into id.
 */
static void chart_id(struct report *r, struct tm_buf *id, const char *prefix,
		     const char *name)
{
	struct tm_buf key = TM_BUF_INIT;
	size_t base;
	int n = 1;
	const char *p;

	tm_buf_reset(id);
	tm_buf_addf(id, "chart-%s", prefix);
	for (p = name; *p; p++)
		tm_buf_addch(id, (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			     (*p >= '0' && *p <= '9') || strchr("._-", *p) ? *p : '_');
	base = id->len;
	for (;;) {
		tm_buf_reset(&key);
		tm_buf_addf(&key, "\n%s\n", id->buf);
		if (!strstr(r->ids.buf, key.buf))
			break;
		tm_buf_setlen(id, base);
		tm_buf_addf(id, "-%d", ++n);
	}
	if (!r->ids.len)
		tm_buf_addch(&r->ids, '\n');
	tm_buf_addf(&r->ids, "%s\n", id->buf);
	tm_buf_release(&key);
}

static void section_open(struct report *r, const char *id, const char *title,
			 const char *about)
{
	tm_buf_addf(r->o, "<section id=\"%s\">\n<h2>%s</h2>\n", id, title);
	if (about)
		tm_buf_addf(r->o, "<p class=\"about\">%s</p>\n", about);
}

static void section_close(struct report *r)
{
	tm_buf_addstr(r->o, "</section>\n");
}

static void nodata(struct report *r, const char *what)
{
	tm_buf_addf(r->o, "<p class=\"nodata\">%s</p>\n", what);
}

/*
 * Table header from "|"-separated column names; a name starting with '#'
 * is a number column (right-aligned).  `details`: inside a closed
 * <details> whose summary says "the numbers".
 */
static void table_open(struct tm_buf *o, const char *cols, bool details)
{
	const char *p = cols, *e;

	if (details)
		tm_buf_addstr(o, "<details><summary>the numbers</summary>\n");
	tm_buf_addstr(o, "<table>\n<thead><tr>");
	while (*p) {
		bool num = *p == '#';

		p += num;
		e = strchrnul(p, '|');
		tm_buf_addf(o, "<th%s>%.*s</th>", num ? " class=\"n\"" : "",
			    (int)(e - p), p);
		p = *e ? e + 1 : e;
	}
	tm_buf_addstr(o, "</tr></thead>\n<tbody>\n");
}

static void table_close(struct tm_buf *o, bool details)
{
	tm_buf_addstr(o, "</tbody></table>\n");
	if (details)
		tm_buf_addstr(o, "</details>\n");
}

/*
 * One cell: `kind` 's' text, 'i' integer, 'd' an id (no separators),
 * 'r' real, 'p' percentage.
 */
static void td(struct tm_buf *o, char kind, const char *str, int64_t i, double d)
{
	if (kind == 's') {
		tm_buf_addstr(o, "<td>");
		esc(o, str ? str : "");
	} else {
		tm_buf_addstr(o, "<td class=\"n\">");
		if (kind == 'i')
			tm_fmt_thousands(o, i);
		else if (kind == 'd')
			tm_buf_addf(o, "%" PRId64, i);
		else if (kind == 'p')
			fmt_pct(o, d);
		else
			fmt_real(o, d);
	}
	tm_buf_addstr(o, "</td>");
}

/*
 * A table row, one cell per letter of `cells` (as td()), taking the next
 * argument: const char * for 's', int64_t for 'i' and 'd', double for 'r'
 * and 'p'.
 * `fail`: the row of a failed run, highlighted.
 */
static void table_row(struct tm_buf *o, bool fail, const char *cells, ...)
{
	va_list ap;

	va_start(ap, cells);
	tm_buf_addstr(o, fail ? "<tr class=\"fail\">" : "<tr>");
	for (; *cells; cells++) {
		if (*cells == 's')
			td(o, 's', va_arg(ap, const char *), 0, 0);
		else if (*cells == 'i' || *cells == 'd')
			td(o, *cells, NULL, va_arg(ap, int64_t), 0);
		else
			td(o, *cells, NULL, 0, va_arg(ap, double));
	}
	tm_buf_addstr(o, "</tr>\n");
	va_end(ap);
}

/* A table row from the columns of a statement's row, as table_row(). */
static void table_row_sql(struct tm_buf *o, bool fail, const char *cells,
			  sqlite3_stmt *s)
{
	int c;

	tm_buf_addstr(o, fail ? "<tr class=\"fail\">" : "<tr>");
	for (c = 0; cells[c]; c++)
		td(o, cells[c], (const char *)sqlite3_column_text(s, c),
		   sqlite3_column_int64(s, c), sqlite3_column_type(s, c) ==
		   SQLITE_NULL ? NAN : sqlite3_column_double(s, c));
	tm_buf_addstr(o, "</tr>\n");
}

/* ---- SVG primitives -------------------------------------------------- */

/* A linear map of [lo, hi] onto pixels [p0, p1], with tick spacing. */
struct scale {
	double lo, hi, step;
	double p0, p1;
};

static double nice_step(double span, int nticks)
{
	double raw = span / nticks, mag, f;

	if (!(raw > 0) || !isfinite(raw))
		return 1;
	mag = pow(10, floor(log10(raw)));
	f = raw / mag;
	return mag * (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10);
}

/*
 * lo..hi widened to whole ticks of at least `min_step` (1 for counts);
 * a bad or empty range becomes 0..1.
 */
static void scale_init(struct scale *s, double lo, double hi, int nticks,
		       double min_step, double p0, double p1)
{
	if (!isfinite(lo) || !isfinite(hi) || !isfinite(hi - lo) || hi < lo) {
		lo = 0;
		hi = 1;
	}
	if (hi == lo) {
		double pad = lo ? fabs(lo) / 10 : 1;

		lo -= pad;
		hi += pad;
	}
	s->step = nice_step(hi - lo, nticks);
	if (s->step < min_step)
		s->step = min_step;
	else if (min_step >= 1 && s->step != floor(s->step))
		s->step = floor(s->step);	/* counts: 2, not 2.5 */
	s->lo = floor(lo / s->step) * s->step;
	s->hi = ceil(hi / s->step) * s->step;
	if (!(s->hi > s->lo))
		s->hi = s->lo + s->step;
	s->p0 = p0;
	s->p1 = p1;
}

static double scale(const struct scale *s, double v)
{
	double p = s->p0 + (v - s->lo) / (s->hi - s->lo) * (s->p1 - s->p0);

	if (isnan(p))
		return s->p0;
	return TM_MAX(-1e5, TM_MIN(1e5, p));
}

#define MAX_TICKS 24

/* The tick values of s: the multiples of its step within [lo, hi]. */
static int scale_ticks(const struct scale *s, double v[MAX_TICKS])
{
	double first = ceil(s->lo / s->step - 1e-9) * s->step, t;
	int n;

	for (n = 0; n < MAX_TICKS; n++) {
		t = first + n * s->step;
		if (t > s->hi + s->step * 1e-9)
			break;
		v[n] = fabs(t) < s->step * 1e-9 ? 0 : t;
	}
	return n;
}

static void svg_open(struct tm_buf *o, const char *id, double w, double h,
		     const char *label)
{
	tm_buf_addf(o, "<svg id=\"%s\" class=\"chart\" width=\"%.0f\" height=\"%.0f\" "
		    "viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"",
		    id, w, h, w, h);
	esc(o, label);
	tm_buf_addstr(o, "\"><title>");
	esc(o, label);
	tm_buf_addstr(o, "</title>\n");
}

static void svg_close(struct tm_buf *o)
{
	tm_buf_addstr(o, "</svg>\n");
}

/* Opens <text>; `attrs` starts with a space.  The caller closes it. */
static void text_at(struct tm_buf *o, double x, double y, const char *attrs)
{
	tm_buf_addf(o, "<text x=\"%.1f\" y=\"%.1f\"%s>", x, y, attrs);
}

static void svg_text(struct tm_buf *o, double x, double y, const char *attrs,
		     const char *s)
{
	text_at(o, x, y, attrs);
	esc(o, s);
	tm_buf_addstr(o, "</text>");
}

/* A label cut at `max` characters, whole in its tooltip. */
static void svg_label(struct tm_buf *o, double x, double y, const char *attrs,
		      const char *s, size_t max)
{
	text_at(o, x, y, attrs);
	esc_cut(o, s, max);
	if (u8len(s) > max) {
		tm_buf_addstr(o, "<title>");
		esc(o, s);
		tm_buf_addstr(o, "</title>");
	}
	tm_buf_addstr(o, "</text>");
}

/* A rectangle; `tip`, when not NULL, is its tooltip. */
static void svg_rect(struct tm_buf *o, double x, double y, double w, double h,
		     const char *fill, const char *tip)
{
	tm_buf_addf(o, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"",
		    x, y, TM_MAX(w, 0.0), TM_MAX(h, 0.0), fill);
	if (!tip) {
		tm_buf_addstr(o, "/>");
		return;
	}
	tm_buf_addstr(o, "><title>");
	esc(o, tip);
	tm_buf_addstr(o, "</title></rect>");
}

static void svg_line(struct tm_buf *o, const char *cls, double x1, double y1,
		     double x2, double y2)
{
	tm_buf_addf(o, "<line class=\"%s\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>",
		    cls, x1, y1, x2, y2);
}

/*
 * A value axis with its ticks and grid lines: along x at y = `at` with
 * the grid up to y = `far` (`along_y` false), or along y at x = `at`
 * with the grid to x = `far`.
 */
static void axis(struct tm_buf *o, const struct scale *s, bool along_y,
		 double at, double far, enum tick_fmt f)
{
	double v[MAX_TICKS], p;
	int i, n = scale_ticks(s, v);

	for (i = 0; i < n; i++) {
		p = scale(s, v[i]);
		if (along_y) {
			svg_line(o, "grid", at - 4, p, far, p);
			text_at(o, at - 6, p + 4, " class=\"tick\" text-anchor=\"end\"");
		} else {
			svg_line(o, "grid", p, far, p, at + 4);
			text_at(o, p, at + 16, " class=\"tick\" text-anchor=\"middle\"");
		}
		fmt_tick(o, v[i], f);
		tm_buf_addstr(o, "</text>");
	}
	if (along_y)
		svg_line(o, "axis", at, s->p0, at, s->p1);
	else
		svg_line(o, "axis", s->p0, at, s->p1, at);
	tm_buf_addch(o, '\n');
}

/* A legend entry: a swatch and its name; returns the x after it. */
static double legend(struct tm_buf *o, double x, double y, const char *color,
		     const char *name)
{
	svg_rect(o, x, y - 9, 10, 10, color, NULL);
	svg_text(o, x + 14, y, "", name);
	return x + 14 + label_px(name) + 18;
}

/* ---- horizontal bars ------------------------------------------------- */

#define HB_SEGS 2
#define HB_ROW 20
#define HB_HEAD 26
#define HB_NOTE_W 170

/* One row of a bar chart: a bar of stacked segments, or a heading. */
struct hbar {
	char *label;
	bool heading;
	double v[HB_SEGS];
	int color;		/* palette index of segment 0 */
	char *note;		/* after the bar; NULL: none */
};

static void hbars_free(struct hbar *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(b[i].label);
		free(b[i].note);
	}
	free(b);
}

/*
 * A bar chart, one row per entry of rows[0..n): labels left, bars of
 * `nseg` stacked segments (segment k > 0 in colour k), a note right, a
 * value axis below.  legend[0..nseg) names the segments (NULL: none).
 */
static void hbar_chart(struct report *r, const char *id, const char *what,
		       const struct hbar *rows, size_t n, int nseg,
		       const char *const *names, enum tick_fmt f)
{
	struct tm_buf *o = r->o, tip = TM_BUF_INIT;
	double lw = 60, max = 0, top = names ? 30 : 10, y, x, w, bottom;
	struct scale xs;
	size_t i;
	int k;

	bottom = top;
	for (i = 0; i < n; i++) {
		double sum = 0;

		for (k = 0; k < nseg; k++)
			sum += TM_MAX(rows[i].v[k], 0.0);
		max = TM_MAX(max, sum);
		if (!rows[i].heading)
			lw = TM_MAX(lw, label_px(rows[i].label) + 14);
		bottom += rows[i].heading ? HB_HEAD : HB_ROW;
	}
	lw = TM_MIN(lw, 320.0);
	scale_init(&xs, 0, max > 0 ? max : 1, 5, 1, lw, CHART_W - HB_NOTE_W);
	svg_open(o, id, CHART_W, bottom + 26, what);
	axis(o, &xs, false, bottom, top, f);
	for (k = 0, x = lw; names && k < nseg; k++)
		x = legend(o, x, 14, COLOR(k ? k : rows[0].color), names[k]);
	for (i = 0, y = top; i < n; i++) {
		const struct hbar *b = &rows[i];
		double sum = 0;

		if (b->heading) {
			svg_label(o, 4, y + 19, " class=\"head\"", b->label, 120);
			y += HB_HEAD;
			continue;
		}
		svg_label(o, lw - 8, y + 14, " text-anchor=\"end\"", b->label, LABEL_MAX);
		for (k = 0, x = lw; k < nseg; k++) {
			double v = TM_MAX(b->v[k], 0.0);

			sum += v;
			w = scale(&xs, sum) - x;
			if (v > 0 && w < 1)
				w = 1;
			tm_buf_reset(&tip);
			tm_buf_addf(&tip, "%s%s%s: ", b->label, names ? ", " : "",
				    names ? names[k] : "");
			fmt_real(&tip, b->v[k]);
			svg_rect(o, x, y + 3, w, 14, COLOR(k ? k : b->color), tip.buf);
			x += w;
		}
		if (b->note)
			svg_text(o, x + 6, y + 14, " class=\"note\"", b->note);
		tm_buf_addch(o, '\n');
		y += HB_ROW;
	}
	svg_close(o);
	tm_buf_release(&tip);
}

/* A note "1,234 · 12.34%" (no percentage when `pct` is NaN). */
static char *note_count(int64_t v, double pct)
{
	struct tm_buf b = TM_BUF_INIT;

	tm_fmt_thousands(&b, v);
	if (!isnan(pct)) {
		tm_buf_addstr(&b, " \xC2\xB7 ");
		fmt_pct(&b, pct);
	}
	return tm_buf_detach(&b, NULL);
}

/* ---- runs ------------------------------------------------------------ */

static void runs_section(struct report *r)
{
	struct tm_buf *o = r->o;
	sqlite3_stmt *s;
	int64_t failed = 0, nruns = 0;

	section_open(r, "runs", "Runs", NULL);
	s = query(r, "SELECT count(*), count(DISTINCT tool), count(DISTINCT hostname), "
		  "min(started), max(finished), coalesce(sum(" FAILED_RUN "), 0) FROM runs");
	if (next_row(r, s) && (nruns = col_int(s, 0)) > 0) {
		failed = col_int(s, 5);
		tm_buf_addstr(o, "<p>");
		tm_fmt_thousands(o, nruns);
		tm_buf_addf(o, " run%s of ", nruns == 1 ? "" : "s");
		tm_fmt_thousands(o, col_int(s, 1));
		tm_buf_addf(o, " tool%s on ", col_int(s, 1) == 1 ? "" : "s");
		tm_fmt_thousands(o, col_int(s, 2));
		tm_buf_addf(o, " host%s, from ", col_int(s, 2) == 1 ? "" : "s");
		esc(o, col_str(s, 3));
		tm_buf_addstr(o, " to ");
		esc(o, sqlite3_column_type(s, 4) == SQLITE_NULL ? "(unfinished)" :
		    col_str(s, 4));
		tm_buf_addstr(o, ". ");
		if (failed) {
			tm_buf_addstr(o, "<strong class=\"bad\">");
			tm_fmt_thousands(o, failed);
			tm_buf_addstr(o, " failed or unfinished</strong>");
		} else {
			tm_buf_addstr(o, "All finished with exit status 0.");
		}
		tm_buf_addstr(o, "</p>\n");
	}
	sqlite3_finalize(s);
	if (!nruns) {
		nodata(r, "no data");
		section_close(r);
		return;
	}

	table_open(o, "tool|#runs|#failed|first started|last finished|#hosts|hosts", false);
	s = query(r, "SELECT tool, count(*), sum(" FAILED_RUN "), min(started), "
		  "coalesce(max(finished), '(unfinished)'), count(DISTINCT hostname), "
		  "(SELECT group_concat(h, ', ') FROM (SELECT DISTINCT hostname AS h "
		  "FROM runs r2 WHERE r2.tool = r.tool ORDER BY h LIMIT 3)) || "
		  "CASE WHEN count(DISTINCT hostname) > 3 THEN ', \xE2\x80\xA6' ELSE '' END "
		  "FROM runs r GROUP BY tool ORDER BY min(started), tool");
	while (next_row(r, s))
		table_row_sql(o, col_int(s, 2), "siissis", s);
	sqlite3_finalize(s);
	table_close(o, false);
	if (!failed) {
		section_close(r);
		return;
	}

	tm_buf_addstr(o, "<h3>Failed or unfinished runs</h3>\n");
	table_open(o, "#run|tool|stage|host|#pid|started|finished|status", false);
	s = query(r, "SELECT run_id, tool, stage, hostname, pid, started, finished, "
		  "CASE WHEN finished IS NULL THEN 'unfinished (running or died)' "
		  "WHEN exit_status IS NULL THEN 'no exit status' "
		  "ELSE 'exit ' || exit_status END FROM runs WHERE " FAILED_RUN
		  " ORDER BY started, run_id LIMIT 50");
	while (next_row(r, s))
		table_row_sql(o, true, "dsssdsss", s);
	sqlite3_finalize(s);
	table_close(o, false);
	if (failed > 50) {
		tm_buf_addstr(o, "<p>The first 50 of ");
		tm_fmt_thousands(o, failed);
		tm_buf_addstr(o, " are shown.</p>\n");
	}
	section_close(r);
}

/* ---- funnel ---------------------------------------------------------- */

struct stage_row {
	char *stage;
	int64_t runs, docs_in, docs_out, bytes_in, bytes_out, tokens_out;
	double removed_pct, wall, cpu;
};

#define FN_ROW 36
#define FN_TOP 48
#define FN_GAP 28

/*
 * Three panels side by side sharing the stage rows: documents in and
 * out, bytes in and out, tokens out.
 */
static void funnel_chart(struct report *r, const struct stage_row *st, size_t n)
{
	static const char *const title[3] = { "documents", "bytes", "tokens out" };
	struct tm_buf *o = r->o, tip = TM_BUF_INIT, id = TM_BUF_INIT;
	double lw = 90, pw, bottom = FN_TOP + (double)n * FN_ROW, max[3] = { 0 };
	struct scale xs[3];
	size_t i, maxc;
	int p;

	for (i = 0; i < n; i++) {
		lw = TM_MAX(lw, label_px(st[i].stage) + 16);
		max[0] = TM_MAX(max[0], (double)TM_MAX(st[i].docs_in, st[i].docs_out));
		max[1] = TM_MAX(max[1], (double)TM_MAX(st[i].bytes_in, st[i].bytes_out));
		max[2] = TM_MAX(max[2], (double)st[i].tokens_out);
	}
	lw = TM_MIN(lw, 240.0);
	maxc = (size_t)((lw - 16) / GLYPH_W);
	pw = (CHART_W - lw - 2 * FN_GAP - 16) / 3;
	chart_id(r, &id, "", "funnel");
	svg_open(o, id.buf, CHART_W, bottom + 26,
		 "funnel: documents, bytes and tokens in and out per stage");
	legend(o, legend(o, lw, 14, C_IN, "in"), 14, C_OUT, "out");
	for (p = 0; p < 3; p++) {
		double x0 = lw + p * (pw + FN_GAP);

		scale_init(&xs[p], 0, max[p] > 0 ? max[p] : 1, 3, 1, x0, x0 + pw);
		svg_text(o, x0, FN_TOP - 10, " class=\"head\"", title[p]);
		axis(o, &xs[p], false, bottom, FN_TOP, p == 1 ? TICK_BYTES : TICK_SI);
	}
	for (i = 0; i < n; i++) {
		const struct stage_row *s = &st[i];
		double y = FN_TOP + (double)i * FN_ROW;
		const int64_t in[3] = { s->docs_in, s->bytes_in, 0 };
		const int64_t out[3] = { s->docs_out, s->bytes_out, s->tokens_out };

		svg_label(o, lw - 10, y + 15, " text-anchor=\"end\"", s->stage, maxc);
		text_at(o, lw - 10, y + 29, " class=\"sub\" text-anchor=\"end\"");
		if (s->docs_in == s->docs_out && s->docs_in) {
			tm_buf_addstr(o, "none removed");
		} else if (!isnan(s->removed_pct)) {
			tm_buf_addstr(o, "\xE2\x88\x92");	/* minus sign */
			fmt_pct(o, s->removed_pct);
			tm_buf_addstr(o, " docs");
		}
		tm_buf_addstr(o, "</text>");
		for (p = 0; p < 3; p++) {
			double x0 = xs[p].p0;

			if (p < 2) {
				tm_buf_reset(&tip);
				tm_buf_addf(&tip, "%s: %s in: ", s->stage, title[p]);
				tm_fmt_thousands(&tip, in[p]);
				svg_rect(o, x0, y + 5, scale(&xs[p], (double)in[p]) - x0,
					 12, C_IN, tip.buf);
			}
			tm_buf_reset(&tip);
			tm_buf_addf(&tip, "%s: %s%s: ", s->stage, title[p],
				    p < 2 ? " out" : "");
			tm_fmt_thousands(&tip, out[p]);
			svg_rect(o, x0, p < 2 ? y + 18 : y + 11,
				 scale(&xs[p], (double)out[p]) - x0, 12, C_OUT, tip.buf);
		}
		tm_buf_addch(o, '\n');
	}
	svg_close(o);
	tm_buf_release(&tip);
	tm_buf_release(&id);
}

/* Rank of a run's tool in the pipeline ("dedup-exact" is dedup), for the funnel. */
#define TOOL_RANK \
	"CASE WHEN r.tool GLOB 'fetch*' THEN 0 WHEN r.tool GLOB 'warc*' THEN 1 " \
	"WHEN r.tool GLOB 'extract*' THEN 2 WHEN r.tool GLOB 'langid*' THEN 3 " \
	"WHEN r.tool GLOB 'filter*' THEN 4 WHEN r.tool GLOB 'dedup*' THEN 5 " \
	"WHEN r.tool GLOB 'tokenize*' THEN 6 WHEN r.tool GLOB 'shard*' THEN 7 " \
	"WHEN r.tool GLOB 'train*' THEN 8 ELSE 9 END"

static void funnel_section(struct report *r)
{
	struct tm_buf *o = r->o;
	struct stage_row *st = NULL;
	size_t n = 0, alloc = 0, i;
	sqlite3_stmt *s;

	section_open(r, "funnel", "Funnel",
		     "Documents, bytes and tokens into and out of each stage, "
		     "all runs of a stage summed, in pipeline order.");
	s = query(r, "SELECT f.stage, f.runs, f.docs_in, f.docs_out, f.removed_pct, "
		  "f.bytes_in, f.bytes_out, f.tokens_out, f.wall_seconds, f.cpu_seconds "
		  "FROM funnel f ORDER BY (SELECT min(" TOOL_RANK ") FROM runs r "
		  "WHERE r.stage = f.stage), f.docs_in DESC, f.stage");
	while (next_row(r, s)) {
		st = grow(st, &alloc, n + 1, sizeof(*st));
		st[n] = (struct stage_row){
			col_dup(s, 0), col_int(s, 1), col_int(s, 2), col_int(s, 3),
			col_int(s, 5), col_int(s, 6), col_int(s, 7),
			col_real(s, 4), col_real(s, 8), col_real(s, 9),
		};
		n++;
	}
	sqlite3_finalize(s);
	if (!n) {
		nodata(r, "no data");
	} else {
		funnel_chart(r, st, n);
		table_open(o, "stage|#runs|#docs in|#docs out|#removed|#removed %|"
			   "#bytes in|#bytes out|#tokens out|#wall s|#cpu s", false);
		for (i = 0; i < n; i++)
			table_row(o, false, "siiiipiiirr", st[i].stage, st[i].runs,
				  st[i].docs_in, st[i].docs_out,
				  st[i].docs_in - st[i].docs_out, st[i].removed_pct,
				  st[i].bytes_in, st[i].bytes_out, st[i].tokens_out,
				  st[i].wall, st[i].cpu);
		table_close(o, false);
	}
	section_close(r);
	/* the stage order, for the removal reasons */
	r->stage = tm_xcalloc(n + 1, sizeof(*r->stage));
	for (i = 0; i < n; i++)
		r->stage[i] = st[i].stage;
	r->nstage = n;
	free(st);
}

/* ---- removal reasons ------------------------------------------------- */

struct reason_row {
	char *stage, *reason;
	int64_t docs, bytes;
	double pct;
	size_t order, seq;	/* the stage's place in the funnel; row number */
};

static int reason_cmp(const void *a, const void *b)
{
	const struct reason_row *x = a, *y = b;

	if (x->order != y->order)
		return x->order < y->order ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static size_t stage_order(const struct report *r, const char *stage)
{
	size_t i;

	for (i = 0; i < r->nstage; i++)
		if (!strcmp(r->stage[i], stage))
			return i;
	return r->nstage;
}

static void removals_section(struct report *r)
{
	struct tm_buf *o = r->o, id = TM_BUF_INIT;
	struct reason_row *rr = NULL;
	struct hbar *bars = NULL;
	size_t n = 0, alloc = 0, nb = 0, balloc = 0, i, j, group = 0;
	sqlite3_stmt *s;

	section_open(r, "removals", "Removal reasons",
		     "Documents removed, by stage and reason: the top reasons of "
		     "each stage, with their share of the documents the stage read.");
	s = query(r, "SELECT stage, reason, docs, bytes, pct_of_stage_in "
		  "FROM removal_summary");
	while (next_row(r, s)) {
		rr = grow(rr, &alloc, n + 1, sizeof(*rr));
		rr[n] = (struct reason_row){
			col_dup(s, 0), col_dup(s, 1), col_int(s, 2), col_int(s, 3),
			col_real(s, 4), stage_order(r, col_str(s, 0)), n,
		};
		n++;
	}
	sqlite3_finalize(s);
	if (n)
		qsort(rr, n, sizeof(*rr), reason_cmp);
	for (i = 0; i < n; i = j, group++) {
		int64_t total = 0, other = 0;
		size_t shown = 0;

		for (j = i; j < n && !strcmp(rr[j].stage, rr[i].stage); j++)
			total += rr[j].docs;
		bars = grow(bars, &balloc, nb + TOP_REASONS + 2, sizeof(*bars));
		bars[nb] = (struct hbar){ .heading = true };
		{
			struct tm_buf h = TM_BUF_INIT;

			tm_buf_addf(&h, "%s: ", rr[i].stage);
			tm_fmt_thousands(&h, total);
			tm_buf_addstr(&h, " documents removed");
			bars[nb++].label = tm_buf_detach(&h, NULL);
		}
		for (j = i; j < n && !strcmp(rr[j].stage, rr[i].stage); j++) {
			if (shown == TOP_REASONS) {
				other += rr[j].docs;
				continue;
			}
			bars[nb++] = (struct hbar){
				tm_xstrdup(rr[j].reason), false, { (double)rr[j].docs },
				(int)group, note_count(rr[j].docs, rr[j].pct),
			};
			shown++;
		}
		if (j - i > TOP_REASONS) {
			struct tm_buf l = TM_BUF_INIT;

			tm_buf_addf(&l, "%zu other reasons", j - i - TOP_REASONS);
			bars[nb++] = (struct hbar){
				tm_buf_detach(&l, NULL), false, { (double)other },
				(int)group, note_count(other, NAN),
			};
		}
	}
	if (!nb) {
		nodata(r, "no data");
	} else {
		chart_id(r, &id, "", "removals");
		hbar_chart(r, id.buf, "removal reasons: documents removed per stage and reason",
			   bars, nb, 1, NULL, TICK_SI);
		table_open(o, "stage|reason|#docs|#bytes|#% of stage in", true);
		for (i = 0; i < n; i++)
			table_row(o, false, "ssiip", rr[i].stage, rr[i].reason,
				  rr[i].docs, rr[i].bytes, rr[i].pct);
		table_close(o, true);
	}
	section_close(r);
	for (i = 0; i < n; i++) {
		free(rr[i].stage);
		free(rr[i].reason);
	}
	free(rr);
	hbars_free(bars, nb);
	tm_buf_release(&id);
}

/* ---- languages ------------------------------------------------------- */

static void languages_section(struct report *r)
{
	struct tm_buf *o = r->o, id = TM_BUF_INIT;
	struct hbar *bars = NULL;
	char **code = NULL;
	int64_t *docs = NULL, total = 0, other = 0;
	size_t n = 0, alloc = 0, dalloc = 0, nb = 0, i;
	sqlite3_stmt *s;

	section_open(r, "languages", "Languages",
		     "Documents per language as tagged by langid (counters "
		     "<code>langid.lang.*</code>, all runs summed).");
	s = query(r, "SELECT substr(name, 13), sum(value) FROM counters "
		  "WHERE substr(name, 1, 12) = 'langid.lang.' "
		  "GROUP BY name ORDER BY 2 DESC, 1");
	while (next_row(r, s)) {
		code = grow(code, &alloc, n + 1, sizeof(*code));
		docs = grow(docs, &dalloc, n + 1, sizeof(*docs));
		code[n] = col_dup(s, 0);
		docs[n] = col_int(s, 1);
		total += docs[n++];
	}
	sqlite3_finalize(s);
	if (!n) {
		nodata(r, "no data");
	} else {
		bars = tm_xcalloc(TOP_LANGS + 1, sizeof(*bars));
		for (i = 0; i < n; i++) {
			double pct = total ? 100.0 * (double)docs[i] / (double)total : NAN;

			if (i >= TOP_LANGS) {
				other += docs[i];
				continue;
			}
			bars[nb++] = (struct hbar){ tm_xstrdup(code[i]), false,
				{ (double)docs[i] }, 0, note_count(docs[i], pct) };
		}
		if (n > TOP_LANGS) {
			struct tm_buf l = TM_BUF_INIT;

			tm_buf_addf(&l, "%zu others", n - TOP_LANGS);
			bars[nb++] = (struct hbar){ tm_buf_detach(&l, NULL), false,
				{ (double)other }, 9,
				note_count(other, total ? 100.0 * (double)other /
					   (double)total : NAN) };
		}
		chart_id(r, &id, "", "languages");
		hbar_chart(r, id.buf, "languages: documents per language", bars, nb,
			   1, NULL, TICK_SI);
		table_open(o, "language|#docs|#share", true);
		for (i = 0; i < n; i++)
			table_row(o, false, "sip", code[i], docs[i], total ?
				  100.0 * (double)docs[i] / (double)total : NAN);
		table_close(o, true);
	}
	section_close(r);
	for (i = 0; i < n; i++)
		free(code[i]);
	free(code);
	free(docs);
	hbars_free(bars, nb);
	tm_buf_release(&id);
}

/* ---- tokens per source ----------------------------------------------- */

static void tokens_section(struct report *r)
{
	static const char *const shard_names[HB_SEGS] = { "train shards", "held out" };
	static const char *const tok_names[1] = { "tokenized" };
	struct tm_buf *o = r->o, id = TM_BUF_INIT;
	struct hbar *bars = NULL;
	int64_t (*v)[3] = NULL;
	size_t n = 0, alloc = 0, valloc = 0, i;
	bool sharded = false;
	sqlite3_stmt *s;

	section_open(r, "tokens", "Tokens per source",
		     "Tokens per source: written to train and held-out shards "
		     "(<code>shard.tokens.*</code>, <code>shard.val_tokens.*</code>) "
		     "and made by the tokenizer (<code>tokenize.tokens.*</code>).");
	s = query(r, "SELECT src, sum(tok), sum(train), sum(val) FROM ("
		  "SELECT substr(name, 17) AS src, value AS tok, 0 AS train, 0 AS val "
		  "FROM counters WHERE substr(name, 1, 16) = 'tokenize.tokens.' "
		  "UNION ALL SELECT substr(name, 14), 0, value, 0 "
		  "FROM counters WHERE substr(name, 1, 13) = 'shard.tokens.' "
		  "UNION ALL SELECT substr(name, 18), 0, 0, value "
		  "FROM counters WHERE substr(name, 1, 17) = 'shard.val_tokens.') "
		  "GROUP BY src ORDER BY sum(train) + sum(val) DESC, sum(tok) DESC, src");
	while (next_row(r, s)) {
		bars = grow(bars, &alloc, n + 1, sizeof(*bars));
		v = grow(v, &valloc, n + 1, sizeof(*v));
		v[n][0] = col_int(s, 1);
		v[n][1] = col_int(s, 2);
		v[n][2] = col_int(s, 3);
		sharded |= v[n][1] || v[n][2];
		bars[n++] = (struct hbar){ .label = col_dup(s, 0) };
	}
	sqlite3_finalize(s);
	for (i = 0; i < n; i++) {
		bars[i].v[0] = (double)(sharded ? v[i][1] : v[i][0]);
		bars[i].v[1] = (double)(sharded ? v[i][2] : 0);
		bars[i].note = note_count(sharded ? v[i][1] + v[i][2] : v[i][0], NAN);
	}
	if (!n) {
		nodata(r, "no data");
	} else {
		chart_id(r, &id, "", "tokens");
		hbar_chart(r, id.buf, "tokens per source", bars, n, sharded ? 2 : 1,
			   sharded ? shard_names : tok_names, TICK_SI);
		table_open(o, "source|#tokenized|#in train shards|#held out", true);
		for (i = 0; i < n; i++)
			table_row(o, false, "siii", bars[i].label, v[i][0], v[i][1],
				  v[i][2]);
		table_close(o, true);
	}
	section_close(r);
	hbars_free(bars, n);
	free(v);
	tm_buf_release(&id);
}

/* ---- histograms ------------------------------------------------------ */

struct hist {
	char *name, *kind;
	double lo, hi;
	int nbuckets;
	int64_t runs, count, nan;
	double sum, min, max;
	int64_t *b;		/* [nbuckets + 2]: underflow, buckets, overflow */
};

/* Edge i (0..nbuckets) of h's buckets, as docs/FORMATS.md defines it. */
static double hist_edge(const struct hist *h, int i)
{
	double f = (double)i / h->nbuckets;

	if (!strcmp(h->kind, "log2") && h->lo > 0 && h->hi > 0)
		return exp2(log2(h->lo) + (log2(h->hi) - log2(h->lo)) * f);
	return h->lo + (h->hi - h->lo) * f;
}

#define HG_W 304
#define HG_H 140
#define HG_X0 46
#define HG_X1 (HG_W - 10)
#define HG_Y0 10
#define HG_Y1 (HG_H - 22)

/*
 * One small column chart: underflow (grey, left), the buckets, overflow
 * (grey, right).  A log2 histogram shows only its occupied buckets (its
 * range often spans 24 doublings); more than HIST_MAX_BARS buckets are
 * merged in runs of equal length.
 */
/* A tick of a histogram's x axis: a mark and the value under it. */
static void hist_tick(struct tm_buf *o, double x, double v, enum tick_fmt f)
{
	svg_line(o, "axis", x, HG_Y1, x, HG_Y1 + 4);
	text_at(o, x, HG_Y1 + 16, " class=\"tick\" text-anchor=\"middle\"");
	fmt_tick(o, v, f);
	tm_buf_addstr(o, "</text>");
}

static void hist_chart(struct report *r, const char *id, const struct hist *h)
{
	struct tm_buf *o = r->o, tip = TM_BUF_INIT;
	bool log2k = !strcmp(h->kind, "log2");
	int a = 0, e = h->nbuckets, k, nbar, j, i, n;
	int64_t max = TM_MAX(h->b[0], h->b[h->nbuckets + 1]), *bar;
	double bw, x0, x1, gap, ticks[MAX_TICKS];
	struct scale ys, xs;

	if (log2k) {
		int first = -1, last = -1;

		for (i = 0; i < h->nbuckets; i++)
			if (h->b[i + 1]) {
				if (first < 0)
					first = i;
				last = i;
			}
		if (first >= 0) {
			a = first;
			e = last + 1;
		}
	}
	k = (e - a + HIST_MAX_BARS - 1) / HIST_MAX_BARS;
	nbar = (e - a + k - 1) / k;
	bar = tm_xcalloc((size_t)nbar, sizeof(*bar));
	for (i = a; i < e; i++)
		bar[(i - a) / k] += h->b[i + 1];
	for (j = 0; j < nbar; j++)
		max = TM_MAX(max, bar[j]);
	scale_init(&ys, 0, max > 0 ? (double)max : 1, 3, 1, HG_Y1, HG_Y0);
	/*
	 * Bucket edge i is at x = X0 + (1.5 + (i - a) / k) * bw: one bar per
	 * k buckets (the last may be narrower), the underflow bar left of
	 * them and the overflow bar right, each half a bar apart.
	 */
	bw = (HG_X1 - HG_X0) / ((double)(e - a) / k + 3);
	x0 = HG_X0 + 1.5 * bw;
	x1 = x0 + (double)(e - a) / k * bw;
	tm_buf_addf(&tip, "histogram %s", h->name);
	svg_open(o, id, HG_W, HG_H, tip.buf);
	axis(o, &ys, true, HG_X0, HG_X1, TICK_SI);
	for (j = -1; j <= nbar; j++) {
		bool edge = j < 0 || j == nbar;
		int from = a + j * k, to = TM_MIN(from + k, e);
		int64_t c = edge ? h->b[j < 0 ? 0 : h->nbuckets + 1] : bar[j];
		double left = j < 0 ? HG_X0 : j == nbar ? x1 + 0.5 * bw :
			x0 + (double)(from - a) / k * bw;
		double w = edge ? bw : (double)(to - from) / k * bw;

		tm_buf_reset(&tip);
		if (j < 0) {
			tm_buf_addstr(&tip, "under ");
			fmt_real(&tip, h->lo);
		} else if (j == nbar) {
			tm_buf_addstr(&tip, "at or over ");
			fmt_real(&tip, h->hi);
		} else {
			tm_buf_addch(&tip, '[');
			fmt_real(&tip, hist_edge(h, from));
			tm_buf_addstr(&tip, ", ");
			fmt_real(&tip, hist_edge(h, to));
			tm_buf_addch(&tip, ')');
		}
		tm_buf_addstr(&tip, ": ");
		tm_fmt_thousands(&tip, c);
		gap = TM_MIN(0.15 * bw, 0.3 * w);
		svg_rect(o, left + gap / 2, scale(&ys, (double)c), w - gap,
			 HG_Y1 - scale(&ys, (double)c), edge ? C_EDGE : COLOR(0), tip.buf);
	}
	/*
	 * Ticks: round values of a linear histogram; every few bucket edges
	 * of a log2 one (its edges are the round values, often powers of 2).
	 */
	scale_init(&xs, hist_edge(h, a), hist_edge(h, e), 4, 0, x0, x1);
	if (log2k || !isfinite(hist_edge(h, e) - hist_edge(h, a)) ||
	    !(hist_edge(h, e) > hist_edge(h, a))) {
		int every = (nbar + 3) / 4;

		for (j = 0; j <= nbar; j += every) {
			int edge = TM_MIN(a + j * k, e);

			hist_tick(o, x0 + (double)(edge - a) / k * bw, hist_edge(h, edge),
				  log2k ? TICK_BIN : TICK_SI);
		}
	} else {
		xs.lo = hist_edge(h, a);
		xs.hi = hist_edge(h, e);
		n = scale_ticks(&xs, ticks);
		for (j = 0; j < n; j++)
			hist_tick(o, scale(&xs, ticks[j]), ticks[j], TICK_SI);
	}
	svg_line(o, "axis", HG_X0, HG_Y1, HG_X1, HG_Y1);
	svg_close(o);
	free(bar);
	tm_buf_release(&tip);
}

static void hist_free(struct hist *h, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(h[i].name);
		free(h[i].kind);
		free(h[i].b);
	}
	free(h);
}

static void histograms_section(struct report *r)
{
	struct tm_buf *o = r->o, id = TM_BUF_INIT;
	struct hist *hs = NULL;
	size_t n = 0, alloc = 0, i;
	sqlite3_stmt *s, *b;

	section_open(r, "histograms", "Score histograms",
		     "Every histogram the stages recorded, buckets summed over runs; "
		     "grey bars count the values under and over the declared range.");
	s = query(r, "SELECT name, kind, lo, hi, nbuckets, count(*), sum(count), "
		  "sum(sum), min(min), max(max), sum(nan) FROM histograms "
		  "GROUP BY name, kind, lo, hi, nbuckets ORDER BY name, kind, lo, hi, nbuckets");
	while (next_row(r, s)) {
		int nb = (int)col_int(s, 4);

		if (nb < 1 || nb > 4096)
			continue;	/* not a tamis histogram: nothing to draw */
		hs = grow(hs, &alloc, n + 1, sizeof(*hs));
		hs[n] = (struct hist){
			col_dup(s, 0), col_dup(s, 1), col_real(s, 2), col_real(s, 3),
			nb, col_int(s, 5), col_int(s, 6), col_int(s, 10),
			col_real(s, 7), col_real(s, 8), col_real(s, 9),
			tm_xcalloc((size_t)nb + 2, sizeof(int64_t)),
		};
		n++;
	}
	sqlite3_finalize(s);
	b = query(r, "SELECT k.bucket, sum(k.count) FROM hist_buckets k "
		  "JOIN histograms h USING (run_id, name) WHERE h.name = ?1 AND "
		  "h.kind = ?2 AND h.lo = ?3 AND h.hi = ?4 AND h.nbuckets = ?5 "
		  "GROUP BY k.bucket");
	for (i = 0; b && i < n; i++) {
		sqlite3_reset(b);
		sqlite3_bind_text(b, 1, hs[i].name, -1, SQLITE_STATIC);
		sqlite3_bind_text(b, 2, hs[i].kind, -1, SQLITE_STATIC);
		sqlite3_bind_double(b, 3, hs[i].lo);
		sqlite3_bind_double(b, 4, hs[i].hi);
		sqlite3_bind_int(b, 5, hs[i].nbuckets);
		while (next_row(r, b)) {
			int64_t k = col_int(b, 0);

			if (k >= -1 && k <= hs[i].nbuckets)
				hs[i].b[k + 1] = col_int(b, 1);
		}
	}
	sqlite3_finalize(b);
	if (!n)
		nodata(r, "no data");
	else
		tm_buf_addstr(o, "<div class=\"multiples\">\n");
	for (i = 0; i < n && !r->rc; i++) {
		const struct hist *h = &hs[i];

		tm_buf_addstr(o, "<figure><figcaption><b title=\"");
		esc(o, h->name);
		tm_buf_addstr(o, "\">");
		esc(o, h->name);
		tm_buf_addf(o, "</b><span class=\"sub\">%s, ", h->kind);
		fmt_real(o, h->lo);
		tm_buf_addstr(o, "\xE2\x80\xA6");
		fmt_real(o, h->hi);
		tm_buf_addf(o, ", %d buckets</span></figcaption>\n", h->nbuckets);
		chart_id(r, &id, "hist-", h->name);
		hist_chart(r, id.buf, h);
		tm_buf_addstr(o, "<p class=\"sub\">count ");
		tm_fmt_thousands(o, h->count);
		tm_buf_addstr(o, " \xC2\xB7 mean ");
		fmt_real(o, h->count ? h->sum / (double)h->count : NAN);
		tm_buf_addstr(o, " \xC2\xB7 min ");
		fmt_real(o, h->min);
		tm_buf_addstr(o, " \xC2\xB7 max ");
		fmt_real(o, h->max);
		if (h->nan) {
			tm_buf_addstr(o, " \xC2\xB7 NaN ");
			tm_fmt_thousands(o, h->nan);
		}
		tm_buf_addstr(o, "</p></figure>\n");
	}
	if (n) {
		tm_buf_addstr(o, "</div>\n");
		table_open(o, "histogram|kind|#lo|#hi|#buckets|#runs|#count|#mean|"
			   "#min|#max|#NaN|#under|#over", true);
		for (i = 0; i < n; i++) {
			const struct hist *h = &hs[i];

			table_row(o, false, "ssrriiirrriii", h->name, h->kind, h->lo,
				  h->hi, (int64_t)h->nbuckets, h->runs, h->count,
				  h->count ? h->sum / (double)h->count : NAN, h->min,
				  h->max, h->nan, h->b[0], h->b[h->nbuckets + 1]);
		}
		table_close(o, true);
	}
	section_close(r);
	hist_free(hs, n);
	tm_buf_release(&id);
}

/* ---- training -------------------------------------------------------- */

/* One line of a line chart; y NaN breaks the line. */
struct series {
	char *name;
	double *x, *y;
	size_t n, alloc;
	const char *color;
	bool dots;
};

/* A shaded span of steps with a name: a training phase. */
struct band {
	double x0, x1;
	char *name;
};

static void series_add(struct series *s, double x, double y)
{
	size_t alloc = s->alloc;

	s->x = grow(s->x, &alloc, s->n + 1, sizeof(double));
	s->y = grow(s->y, &s->alloc, s->n + 1, sizeof(double));
	s->x[s->n] = x;
	s->y[s->n++] = y;
}

static void emit_point(struct tm_buf *o, const struct scale *xs,
		       const struct scale *ys, const struct series *s, size_t k)
{
	tm_buf_addf(o, " %.1f,%.1f", scale(xs, s->x[k]), scale(ys, s->y[k]));
}

/* The lowest and highest point of a pixel column, in their order. */
static void emit_column(struct tm_buf *o, const struct scale *xs,
			const struct scale *ys, const struct series *s,
			size_t lo, size_t hi)
{
	emit_point(o, xs, ys, s, TM_MIN(lo, hi));
	if (lo != hi)
		emit_point(o, xs, ys, s, TM_MAX(lo, hi));
}

/*
 * The points of one series as polylines, broken at NaN.  Points closer
 * than half a pixel along x are thinned to the lowest and highest of
 * them, so a million steps stay a few thousand points and still show
 * every spike.
 */
static void polyline(struct tm_buf *o, const struct scale *xs,
		     const struct scale *ys, const struct series *s)
{
	bool open = false;
	long col = 0, c;
	size_t i, lo = 0, hi = 0;

	for (i = 0; i < s->n; i++) {
		if (!isfinite(s->y[i]) || !isfinite(s->x[i])) {
			if (open) {
				emit_column(o, xs, ys, s, lo, hi);
				tm_buf_addstr(o, "\"/>\n");
			}
			open = false;
			continue;
		}
		c = lround(scale(xs, s->x[i]) * 2);
		if (open && c == col) {
			if (s->y[i] < s->y[lo])
				lo = i;
			if (s->y[i] > s->y[hi])
				hi = i;
			continue;
		}
		if (open)
			emit_column(o, xs, ys, s, lo, hi);
		else
			tm_buf_addf(o, "<polyline fill=\"none\" stroke=\"%s\" "
				    "stroke-width=\"1.6\" points=\"", s->color);
		open = true;
		col = c;
		lo = hi = i;
	}
	if (open) {
		emit_column(o, xs, ys, s, lo, hi);
		tm_buf_addstr(o, "\"/>\n");
	}
}

#define LC_X0 70
#define LC_X1 (CHART_W - 160)
#define LC_Y0 26

/*
 * A line chart of series s[0..ns) over x (steps) with bands b[0..nb)
 * shaded behind; `zero` puts 0 on the y axis.  A legend to the right.
 */
static void line_chart(struct report *r, const char *id, const char *what,
		       double height, const struct series *s, size_t ns,
		       const struct band *b, size_t nb, bool zero,
		       const char *ylabel)
{
	static const char *const band_fill[] = { "#eef3f9", "#fbf1e4", "#edf6ec", "#f6eef5" };
	struct tm_buf *o = r->o;
	double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
	double y1 = height - 32;
	struct scale xs, ys;
	size_t i, j;

	for (i = 0; i < ns; i++)
		for (j = 0; j < s[i].n; j++) {
			if (!isfinite(s[i].x[j]))
				continue;
			xlo = TM_MIN(xlo, s[i].x[j]);
			xhi = TM_MAX(xhi, s[i].x[j]);
			if (!isfinite(s[i].y[j]))
				continue;
			ylo = TM_MIN(ylo, s[i].y[j]);
			yhi = TM_MAX(yhi, s[i].y[j]);
		}
	if (zero && ylo > 0)
		ylo = 0;
	scale_init(&xs, xlo, xhi, 8, 1, LC_X0, LC_X1);
	/* no "nice" widening of the steps: the curve fills the width */
	if (isfinite(xlo) && xhi > xlo) {
		xs.lo = xlo;
		xs.hi = xhi;
	}
	scale_init(&ys, ylo, yhi, 5, 0, y1, LC_Y0);
	svg_open(o, id, CHART_W, height, what);
	for (i = 0; i < nb; i++) {
		double x0 = scale(&xs, b[i].x0), x1 = scale(&xs, b[i].x1);
		size_t fit = (size_t)((x1 - x0 - 6) / GLYPH_W);

		svg_rect(o, x0, LC_Y0, x1 - x0, y1 - LC_Y0,
			 band_fill[i % TM_ARRAY_SIZE(band_fill)], NULL);
		if (fit >= 3) {
			text_at(o, x0 + 3, LC_Y0 - 6, " class=\"sub\"");
			esc_cut(o, b[i].name, TM_MIN(fit, (size_t)LABEL_MAX));
			tm_buf_addstr(o, "</text>");
		}
	}
	axis(o, &xs, false, y1, LC_Y0, TICK_SI);
	axis(o, &ys, true, LC_X0, LC_X1, TICK_SI);
	tm_buf_addf(o, "<text class=\"tick\" transform=\"translate(14 %.1f) rotate(-90)\" "
		    "text-anchor=\"middle\">%s</text>", (LC_Y0 + y1) / 2, ylabel);
	svg_text(o, (LC_X0 + LC_X1) / 2.0, height - 2, " class=\"tick\" text-anchor=\"middle\"",
		 "step");
	for (i = 0; i < ns; i++) {
		polyline(o, &xs, &ys, &s[i]);
		for (j = 0; s[i].dots && j < s[i].n; j++)
			if (isfinite(s[i].y[j]) && isfinite(s[i].x[j]))
				tm_buf_addf(o, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"/>",
					    scale(&xs, s[i].x[j]), scale(&ys, s[i].y[j]),
					    s[i].color);
		tm_buf_addf(o, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" "
			    "stroke=\"%s\" stroke-width=\"2\"/>", LC_X1 + 12,
			    LC_Y0 + 10 + 18.0 * (double)i, LC_X1 + 30,
			    LC_Y0 + 10 + 18.0 * (double)i, s[i].color);
		text_at(o, LC_X1 + 36, LC_Y0 + 14 + 18.0 * (double)i, "");
		esc_cut(o, s[i].name, 16);
		tm_buf_addstr(o, "</text>\n");
	}
	svg_close(o);
}

static void series_release(struct series *s)
{
	free(s->name);
	free(s->x);
	free(s->y);
}

/* The curves of one training run and, folded, their numbers. */
static void train_run(struct report *r, int64_t run)
{
	struct tm_buf *o = r->o, id = TM_BUF_INIT, what = TM_BUF_INIT;
	struct series *loss = tm_xcalloc(1, sizeof(*loss)), lr;
	struct band *bands = NULL;
	size_t ns = 1, salloc = 1, nb = 0, balloc = 0, i, j;
	char num[24];
	sqlite3_stmt *s;

	loss[0] = (struct series){ .name = tm_xstrdup("train"), .color = COLOR(0) };
	lr = (struct series){ .name = tm_xstrdup("lr"), .color = COLOR(1) };
	s = query(r, "SELECT step, phase, loss, lr FROM train_steps WHERE run_id = ?1 "
		  "ORDER BY step");
	if (s)
		sqlite3_bind_int64(s, 1, run);
	while (next_row(r, s)) {
		double x = (double)col_int(s, 0);
		const char *ph = col_str(s, 1);

		series_add(&loss[0], x, col_real(s, 2));
		series_add(&lr, x, col_real(s, 3));
		if (nb)
			bands[nb - 1].x1 = x;	/* a phase lasts until the next */
		if (nb && !strcmp(bands[nb - 1].name, ph))
			continue;
		bands = grow(bands, &balloc, nb + 1, sizeof(*bands));
		bands[nb++] = (struct band){ x, x, tm_xstrdup(ph) };
	}
	sqlite3_finalize(s);
	/* the evaluations: one more line per split */
	s = query(r, "SELECT split, step, loss FROM train_evals WHERE run_id = ?1 "
		  "ORDER BY split, step");
	if (s)
		sqlite3_bind_int64(s, 1, run);
	while (next_row(r, s)) {
		const char *split = col_str(s, 0);

		if (ns == 1 || strcmp(loss[ns - 1].name, split)) {
			loss = grow(loss, &salloc, ns + 1, sizeof(*loss));
			loss[ns] = (struct series){ .name = tm_xstrdup(split),
				.color = COLOR(ns + 1), .dots = true };
			ns++;
		}
		series_add(&loss[ns - 1], (double)col_int(s, 1), col_real(s, 2));
	}
	sqlite3_finalize(s);

	snprintf(num, sizeof(num), "%" PRId64, run);
	chart_id(r, &id, "train-loss-", num);
	tm_buf_addf(&what, "training run %s: loss per step and evaluation losses", num);
	line_chart(r, id.buf, what.buf, 320, loss, ns, bands, nb, false, "loss");
	if (lr.n) {
		chart_id(r, &id, "train-lr-", num);
		tm_buf_reset(&what);
		tm_buf_addf(&what, "training run %s: learning rate per step", num);
		line_chart(r, id.buf, what.buf, 170, &lr, 1, bands, nb, true, "lr");
	}

	table_open(o, "phase|#steps|#first step|#last step|#tokens|#last loss|#last lr", true);
	s = query(r, "SELECT phase, count(*), min(step), max(step), sum(tokens), "
		  "(SELECT loss FROM train_steps t2 WHERE t2.run_id = t.run_id AND "
		  "t2.phase IS t.phase ORDER BY step DESC LIMIT 1), "
		  "(SELECT lr FROM train_steps t2 WHERE t2.run_id = t.run_id AND "
		  "t2.phase IS t.phase ORDER BY step DESC LIMIT 1) "
		  "FROM train_steps t WHERE run_id = ?1 GROUP BY phase ORDER BY min(step)");
	if (s)
		sqlite3_bind_int64(s, 1, run);
	while (next_row(r, s))
		table_row_sql(o, false, "siiiirr", s);
	sqlite3_finalize(s);
	table_close(o, false);
	table_open(o, "evaluation split|#evaluations|#last step|#last loss|#best loss", false);
	for (i = 1; i < ns; i++) {
		const struct series *e = &loss[i];
		double best = NAN;

		for (j = 0; j < e->n; j++)
			if (isnan(best) || e->y[j] < best)
				best = e->y[j];
		table_row(o, false, "sirrr", e->name, (int64_t)e->n,
			  e->x[e->n - 1], e->y[e->n - 1], best);
	}
	table_close(o, true);

	for (i = 0; i < nb; i++)
		free(bands[i].name);
	free(bands);
	for (i = 0; i < ns; i++)
		series_release(&loss[i]);
	free(loss);
	series_release(&lr);
	tm_buf_release(&id);
	tm_buf_release(&what);
}

static void training_section(struct report *r)
{
	struct tm_buf *o = r->o;
	struct { int64_t run; char *head; } *runs = NULL;
	size_t n = 0, alloc = 0, i;
	sqlite3_stmt *s;

	section_open(r, "training", "Training",
		     "Loss per step (training phases shaded), the evaluation losses "
		     "per held-out split, and the learning rate, per training run.");
	s = query(r, "SELECT r.run_id, r.tool, r.hostname, r.started, r.finished, "
		  "r.exit_status, " FAILED_RUN " FROM runs r WHERE r.run_id IN "
		  "(SELECT run_id FROM train_steps UNION SELECT run_id FROM train_evals) "
		  "ORDER BY r.started, r.run_id");
	while (next_row(r, s)) {
		struct tm_buf h = TM_BUF_INIT;

		tm_buf_addf(&h, "<h3%s>run %" PRId64 ": ", col_int(s, 6) ?
			    " class=\"bad\"" : "", col_int(s, 0));
		esc(&h, col_str(s, 1));
		tm_buf_addstr(&h, " on ");
		esc(&h, col_str(s, 2));
		tm_buf_addstr(&h, ", started ");
		esc(&h, col_str(s, 3));
		if (sqlite3_column_type(s, 4) == SQLITE_NULL)
			tm_buf_addstr(&h, ", unfinished");
		else if (col_int(s, 6))
			tm_buf_addf(&h, ", exit %" PRId64, col_int(s, 5));
		tm_buf_addstr(&h, "</h3>\n");
		runs = grow(runs, &alloc, n + 1, sizeof(*runs));
		runs[n].run = col_int(s, 0);
		runs[n++].head = tm_buf_detach(&h, NULL);
	}
	sqlite3_finalize(s);
	if (!n)
		nodata(r, "no training runs");
	for (i = 0; i < n; i++) {
		tm_buf_addstr(o, runs[i].head);
		train_run(r, runs[i].run);
		free(runs[i].head);
	}
	free(runs);
	section_close(r);
}

/* ---- the page -------------------------------------------------------- */

static const char style[] =
	"body{font:14px/1.45 \"DejaVu Sans\",\"Liberation Sans\",Arial,sans-serif;"
	"color:#222;background:#fff;max-width:980px;margin:20px auto;padding:0 16px}\n"
	"h1{font-size:24px;margin:0 0 4px}\n"
	"h2{font-size:19px;margin:34px 0 6px;padding-bottom:3px;border-bottom:1px solid #ccc}\n"
	"h3{font-size:15px;margin:20px 0 6px}\n"
	"nav a{margin-right:12px;color:#2f6ea5}\n"
	"p.about,.sub{color:#555;font-size:12px}\n"
	"p.nodata{color:#777;font-style:italic}\n"
	".bad{color:#b00020}\n"
	"table{border-collapse:collapse;font-size:12px;margin:8px 0;display:block;"
	"max-width:100%;overflow-x:auto}\n"
	"th,td{padding:2px 8px;border-bottom:1px solid #e4e4e4;text-align:left;"
	"vertical-align:top}\n"
	"th{background:#f4f4f4;white-space:nowrap}\n"
	"th.n,td.n{text-align:right;font-variant-numeric:tabular-nums}\n"
	"tr.fail td{background:#fde3e0;color:#8a0010}\n"
	"details{margin:6px 0}\n"
	"summary{cursor:pointer;color:#555;font-size:12px}\n"
	".chart{display:block;max-width:100%;height:auto;margin:6px 0}\n"
	".chart text{font-size:12px;fill:#222}\n"
	".chart text.tick{font-size:11px;fill:#555}\n"
	".chart text.sub{font-size:11px;fill:#666}\n"
	".chart text.note{font-size:11px;fill:#333}\n"
	".chart text.head{font-weight:bold}\n"
	".chart line.grid{stroke:#e6e6e6}\n"
	".chart line.axis{stroke:#888}\n"
	".multiples{display:grid;grid-template-columns:repeat(3,1fr);gap:10px 14px}\n"
	"figure{margin:0}\n"
	"figcaption b,figcaption span{display:block;white-space:nowrap;overflow:hidden;"
	"text-overflow:ellipsis}\n"
	"figcaption{font-size:12px}\n"
	"figure p.sub{margin:0}\n"
	"code{font-size:12px}\n";

static void page_head(struct report *r)
{
	struct tm_buf *o = r->o;

	tm_buf_addstr(o, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
		      "<meta charset=\"utf-8\">\n"
		      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src "
		      "'none'; style-src 'unsafe-inline'\">\n"
		      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
		      "<title>tamis report: ");
	esc(o, r->path);
	tm_buf_addf(o, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<header>\n"
		    "<h1>tamis report</h1>\n<p class=\"sub\">", style);
	esc(o, r->path);
	tm_buf_addf(o, " \xC2\xB7 stats schema %d \xC2\xB7 tamis %s</p>\n<nav>"
		    "<a href=\"#runs\">runs</a><a href=\"#funnel\">funnel</a>"
		    "<a href=\"#removals\">removal reasons</a>"
		    "<a href=\"#languages\">languages</a><a href=\"#tokens\">tokens</a>"
		    "<a href=\"#training\">training</a>"
		    "<a href=\"#histograms\">histograms</a></nav>\n</header>\n<main>\n",
		    TM_STATS_SCHEMA_VERSION, TM_VERSION);
}

int tm_report_write(const char *db_path, struct tm_buf *out, struct tm_err *err)
{
	struct report r = { .path = db_path, .err = err, .ids = TM_BUF_INIT };
	struct tm_buf html = TM_BUF_INIT;
	size_t i;
	int rc;

	rc = tm_stats_open_read(db_path, &r.db, err);
	if (rc)
		return rc;
	r.o = &html;
	page_head(&r);
	runs_section(&r);
	funnel_section(&r);
	removals_section(&r);
	languages_section(&r);
	tokens_section(&r);
	training_section(&r);
	histograms_section(&r);
	tm_buf_addstr(&html, "</main>\n</body>\n</html>\n");
	sqlite3_close(r.db);
	if (!r.rc)
		tm_buf_add(out, html.buf, html.len);
	for (i = 0; i < r.nstage; i++)
		free(r.stage[i]);
	free(r.stage);
	tm_buf_release(&r.ids);
	tm_buf_release(&html);
	return r.rc;
}
