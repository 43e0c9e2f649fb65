/*
 * progress.c: the progress line and the size/duration formatters (see
 * progress.h).
 */
#include "tamis.h"
#include "progress.h"

#include <math.h>
#include <time.h>
#include <unistd.h>

#define TTY_INTERVAL 0.25       /* seconds between redraws on a terminal */
#define LOG_INTERVAL 10.0       /* seconds between lines in a log */

struct tm_progress {
	char *label;
	uint64_t total;
	unsigned flags;
	FILE *out;
	tm_progress_clock_fn now;
	void *now_arg;
	double start, last_draw, interval;
	uint64_t items, bytes;
	size_t shown;           /* length of the line on the terminal */
	bool finished;
	struct tm_buf line;     /* reused for every draw */
};

static double coarse_now(void *arg)
{
	struct timespec ts;

	/* The vDSO coarse clock costs a few ns: fine once per document. */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

unsigned tm_progress_auto(FILE *out, bool force)
{
	int fd = out ? fileno(out) : -1;
	bool tty = fd >= 0 && isatty(fd);

	return (tty || force ? TM_PROGRESS_ENABLED : 0) |
	       (tty ? TM_PROGRESS_TTY : 0);
}

struct tm_progress *tm_progress_new(const char *label, uint64_t total,
				    unsigned flags, FILE *out)
{
	struct tm_progress *p = tm_xcalloc(1, sizeof(*p));

	p->label = tm_xstrdup(label ? label : "");
	p->total = total;
	p->flags = flags;
	p->out = out;
	if (!out)
		p->flags &= ~TM_PROGRESS_ENABLED;
	p->interval = flags & TM_PROGRESS_TTY ? TTY_INTERVAL : LOG_INTERVAL;
	tm_buf_init(&p->line, 0);
	tm_progress_set_clock(p, NULL, NULL);
	return p;
}

void tm_progress_set_clock(struct tm_progress *p, tm_progress_clock_fn now,
			   void *arg)
{
	p->now = now ? now : coarse_now;
	p->now_arg = arg;
	p->start = p->now(p->now_arg);
	p->last_draw = p->start;
}

static void add_rate(struct tm_buf *b, double rate)
{
	/* Slow work (files fetched, training steps) needs the decimal. */
	if (rate < 10)
		tm_buf_addf(b, "%.1f", rate);
	else
		tm_buf_addf(b, "%.0f", rate);
}

static void format_line(struct tm_progress *p, double now, bool final)
{
	struct tm_buf *b = &p->line;
	double el = now - p->start;
	uint64_t sofar;

	if (!(el > 0))
		el = 0;
	tm_buf_reset(b);
	tm_buf_addf(b, "%s: %s%" PRIu64 " items, ", p->label,
		    final ? "done: " : "", p->items);
	tm_format_bytes(p->bytes, b);
	if (final) {
		tm_buf_addstr(b, " in ");
		tm_format_duration(el, b);
	}
	tm_buf_addstr(b, ", ");
	add_rate(b, el > 0 ? (double)p->items / el : 0);
	tm_buf_addf(b, " items/s, %.1f MB/s",
		    el > 0 ? (double)p->bytes / el / 1e6 : 0.0);
	if (final || !p->total)
		return;
	sofar = p->flags & TM_PROGRESS_BYTES ? p->bytes : p->items;
	if (sofar >= p->total) {
		tm_buf_addstr(b, ", 100.0%, ETA ");
		tm_format_duration(0, b);
		return;
	}
	tm_buf_addf(b, ", %.1f%%, ETA ", (double)sofar * 100.0 /
		    (double)p->total);
	if (!sofar || !(el > 0))
		tm_buf_addstr(b, "--");
	else
		tm_format_duration((double)(p->total - sofar) * el /
				   (double)sofar, b);
}

static void draw(struct tm_progress *p, double now, bool final)
{
	size_t len;

	format_line(p, now, final);
	len = p->line.len;
	if (p->flags & TM_PROGRESS_TTY) {
		/* Blank what a longer previous line left on the terminal. */
		if (len < p->shown)
			tm_buf_addf(&p->line, "%*s", (int)(p->shown - len), "");
		fputc('\r', p->out);
		fwrite(p->line.buf, 1, p->line.len, p->out);
		p->shown = len;
		if (final)
			fputc('\n', p->out);
	} else {
		fwrite(p->line.buf, 1, len, p->out);
		fputc('\n', p->out);
	}
	fflush(p->out);
	p->last_draw = now;
}

static void tick(struct tm_progress *p)
{
	double now;

	if (!(p->flags & TM_PROGRESS_ENABLED) || p->finished)
		return;
	now = p->now(p->now_arg);
	if (now - p->last_draw >= p->interval)
		draw(p, now, false);
}

void tm_progress_update(struct tm_progress *p, uint64_t items,
			uint64_t bytes)
{
	if (!p)
		return;
	p->items += items;
	p->bytes += bytes;
	tick(p);
}

void tm_progress_set(struct tm_progress *p, uint64_t items, uint64_t bytes)
{
	if (!p)
		return;
	p->items = items;
	p->bytes = bytes;
	tick(p);
}

void tm_progress_done(struct tm_progress *p)
{
	if (!p || !(p->flags & TM_PROGRESS_ENABLED) || p->finished)
		return;
	p->finished = true;
	draw(p, p->now(p->now_arg), true);
}

void tm_progress_free(struct tm_progress *p)
{
	if (!p)
		return;
	tm_buf_release(&p->line);
	free(p->label);
	free(p);
}

void tm_format_bytes(uint64_t n, struct tm_buf *out)
{
	static const char *const units[] = { "KB", "MB", "GB", "TB", "PB",
					     "EB" };
	uint64_t unit = 1000, tenth, tenths;
	size_t i;

	if (n < 1000) {
		tm_buf_addf(out, "%" PRIu64 " B", n);
		return;
	}
	for (i = 0; i < TM_ARRAY_SIZE(units); i++, unit *= 1000) {
		/* Rounded half up, without the overflow of n + unit/20. */
		tenth = unit / 10;
		tenths = n / tenth + (n % tenth >= tenth / 2);
		if (tenths < 10000 || i + 1 == TM_ARRAY_SIZE(units))
			break;
	}
	tm_buf_addf(out, "%" PRIu64 ".%u %s", tenths / 10,
		    (unsigned)(tenths % 10), units[i]);
}

void tm_format_duration(double s, struct tm_buf *out)
{
	long long t;

	if (isnan(s) || isinf(s)) {
		tm_buf_addstr(out, "--");
		return;
	}
	if (s < 0)
		s = 0;
	if (s > 1e15)   /* 30 million years: keeps llround in range */
		s = 1e15;
	t = llround(s * 10);
	if (t < 600) {
		tm_buf_addf(out, "%lld.%llds", t / 10, t % 10);
		return;
	}
	t = llround(s);
	if (t < 3600) {
		tm_buf_addf(out, "%lldm%02llds", t / 60, t % 60);
		return;
	}
	t = llround(s / 60);
	if (t < 24 * 60) {
		tm_buf_addf(out, "%lldh%02lldm", t / 60, t % 60);
		return;
	}
	t = llround(s / 3600);
	tm_buf_addf(out, "%lldd%02lldh", t / 24, t % 24);
}
