/*
 * u-progress.c: the progress line and the formatters through the public
 * API.  A fake clock drives every time-dependent line, so the exact text
 * is checked without sleeping; fake times are binary fractions so that
 * every elapsed time and rate is exact.
 */
#include "tamis.h"
#include "progress.h"
#include "tap.h"

#include <fcntl.h>
#include <math.h>
#include <unistd.h>

struct sink {
	FILE *f;
	char *data;
	size_t size;
	size_t seen;            /* bytes already returned by take() */
	struct tm_buf last;
};

static double fake_now(void *arg)
{
	return *(double *)arg;
}

static void sink_open(struct sink *s)
{
	memset(s, 0, sizeof(*s));
	s->f = open_memstream(&s->data, &s->size);
	if (!s->f)
		BUG("open_memstream failed");
	tm_buf_init(&s->last, 0);
}

/* What was written since the last take(). */
static const char *take(struct sink *s)
{
	fflush(s->f);
	tm_buf_reset(&s->last);
	tm_buf_add(&s->last, s->data + s->seen, s->size - s->seen);
	s->seen = s->size;
	return s->last.buf;
}

static void sink_close(struct sink *s)
{
	fclose(s->f);
	free(s->data);
	tm_buf_release(&s->last);
}

static void test_format_bytes(void)
{
	static const struct {
		uint64_t n;
		const char *want;
	} cases[] = {
		{ 0, "0 B" },
		{ 999, "999 B" },
		{ 1000, "1.0 KB" },
		{ 1049, "1.0 KB" },
		{ 1050, "1.1 KB" },             /* half rounds up */
		{ 999949, "999.9 KB" },
		{ 999950, "1.0 MB" },           /* not "1000.0 KB" */
		{ 1500000, "1.5 MB" },
		{ 1000000000, "1.0 GB" },
		{ 123456789012ULL, "123.5 GB" },
		{ 1000000000000ULL, "1.0 TB" },
		{ 1000000000000000ULL, "1.0 PB" },
		{ 999950000000000000ULL, "1.0 EB" },
		{ UINT64_MAX, "18.4 EB" },
	};
	struct tm_buf b = TM_BUF_INIT;
	size_t i;

	for (i = 0; i < TM_ARRAY_SIZE(cases); i++) {
		tm_buf_reset(&b);
		tm_format_bytes(cases[i].n, &b);
		is_str(b.buf, cases[i].want, "tm_format_bytes");
	}
	tm_buf_addstr(&b, "|");
	tm_format_bytes(2000, &b);
	is_str(b.buf, "18.4 EB|2.0 KB", "tm_format_bytes appends");
	tm_buf_release(&b);
}

static void test_format_duration(void)
{
	static const struct {
		double s;
		const char *want;
	} cases[] = {
		{ 0, "0.0s" },
		{ 0.04, "0.0s" },
		{ 0.05, "0.1s" },
		{ 45.2, "45.2s" },
		{ 59.9, "59.9s" },
		{ 59.96, "1m00s" },             /* not "60.0s" */
		{ 60, "1m00s" },
		{ 65, "1m05s" },
		{ 124.75, "2m05s" },
		{ 3599, "59m59s" },
		{ 3599.6, "1h00m" },            /* not "60m00s" */
		{ 7380, "2h03m" },
		{ 86399, "1d00h" },             /* not "24h00m" */
		{ 3 * 86400 + 4 * 3600, "3d04h" },
		{ 1e300, "11574074074d02h" },   /* clamped, not undefined */
		{ -5, "0.0s" },
	};
	struct tm_buf b = TM_BUF_INIT;
	size_t i;

	for (i = 0; i < TM_ARRAY_SIZE(cases); i++) {
		tm_buf_reset(&b);
		tm_format_duration(cases[i].s, &b);
		is_str(b.buf, cases[i].want, "tm_format_duration");
	}
	tm_buf_reset(&b);
	tm_format_duration(NAN, &b);
	tm_format_duration(INFINITY, &b);
	is_str(b.buf, "----", "NaN and infinity print as --");
	tm_buf_release(&b);
}

/* On a terminal: '\r' redraws at most every 0.25 s, a total gives % and ETA. */
static void test_tty(void)
{
	const char *prev = "count: 1000 items, 3.0 MB, 2000 items/s, "
			   "6.0 MB/s, 100.0%, ETA 0.0s";
	const char *fin = "count: done: 1000 items, 3.0 MB in 1.0s, "
			  "1000 items/s, 3.0 MB/s";
	struct tm_buf want = TM_BUF_INIT;
	struct tm_progress *p;
	struct sink s;
	double t = 0;

	sink_open(&s);
	p = tm_progress_new("count", 1000,
			    TM_PROGRESS_ENABLED | TM_PROGRESS_TTY, s.f);
	tm_progress_set_clock(p, fake_now, &t);
	t = 0.125;
	tm_progress_update(p, 1, 500000);
	is_str(take(&s), "", "nothing drawn before 0.25 s");
	t = 0.25;
	tm_progress_update(p, 1, 500000);
	is_str(take(&s), "\rcount: 2 items, 1.0 MB, 8.0 items/s, 4.0 MB/s, "
	       "0.2%, ETA 2m05s", "first line at 0.25 s with percent and ETA");
	t = 0.46875;
	tm_progress_update(p, 8, 0);
	is_str(take(&s), "", "no redraw 0.22 s after the last");
	t = 0.5;
	tm_progress_update(p, 990, 2000000);
	tm_buf_addf(&want, "\r%s", prev);
	is_str(take(&s), want.buf, "complete: 100%, ETA 0");
	t = 1.0;
	tm_progress_done(p);
	/* The final line is shorter: spaces blank the rest of the old one. */
	ok(strlen(fin) < strlen(prev), "the final line is the shorter one");
	tm_buf_reset(&want);
	tm_buf_addf(&want, "\r%s%*s\n", fin, (int)(strlen(prev) - strlen(fin)),
		    "");
	is_str(take(&s), want.buf, "done: totals, elapsed, padded, newline");
	tm_progress_done(p);
	tm_progress_update(p, 1, 1);
	t = 5;
	tm_progress_update(p, 1, 1);
	is_str(take(&s), "", "nothing after done");
	tm_progress_free(p);
	tm_buf_release(&want);
	sink_close(&s);
}

/* Not a terminal: whole lines, at most every 10 s; total in bytes. */
static void test_log(void)
{
	struct tm_progress *p;
	struct sink s;
	double t = 0;

	sink_open(&s);
	p = tm_progress_new("log", 10000000,
			    TM_PROGRESS_ENABLED | TM_PROGRESS_BYTES, s.f);
	tm_progress_set_clock(p, fake_now, &t);
	t = 5;
	tm_progress_update(p, 10, 1000000);
	t = 9.75;
	tm_progress_update(p, 0, 0);
	is_str(take(&s), "", "log mode: nothing before 10 s");
	t = 10;
	tm_progress_update(p, 10, 1000000);
	is_str(take(&s), "log: 20 items, 2.0 MB, 2.0 items/s, 0.2 MB/s, "
	       "20.0%, ETA 40.0s\n", "log line at 10 s, percent of bytes");
	t = 19.5;
	tm_progress_update(p, 1, 1);
	is_str(take(&s), "", "log mode: no line 9.5 s after the last");
	t = 20;
	tm_progress_set(p, 100, 6000000);
	is_str(take(&s), "log: 100 items, 6.0 MB, 5.0 items/s, 0.3 MB/s, "
	       "60.0%, ETA 13.3s\n", "tm_progress_set sets the counts");
	t = 25;
	tm_progress_done(p);
	is_str(take(&s), "log: done: 100 items, 6.0 MB in 25.0s, "
	       "4.0 items/s, 0.2 MB/s\n", "log mode final line");
	tm_progress_free(p);
	sink_close(&s);
}

static size_t count_char(const char *str, char c)
{
	size_t n = 0;

	for (; *str; str++)
		n += *str == c;
	return n;
}

static void test_rate_limit(void)
{
	struct tm_progress *p;
	struct sink s;
	double t = 0;
	int k;

	sink_open(&s);
	p = tm_progress_new("fast", 0, TM_PROGRESS_ENABLED | TM_PROGRESS_TTY,
			    s.f);
	tm_progress_set_clock(p, fake_now, &t);
	for (k = 1; k <= 2048; k++) {
		t = k / 1024.0;
		tm_progress_update(p, 1, 100);
	}
	is_int(count_char(take(&s), '\r'), 8,
	       "2048 updates in 2 s redraw 8 times");
	tm_progress_free(p);
	sink_close(&s);

	sink_open(&s);
	p = tm_progress_new("slow", 0, TM_PROGRESS_ENABLED, s.f);
	t = 0;
	tm_progress_set_clock(p, fake_now, &t);
	for (k = 1; k <= 70; k++) {
		t = k / 2.0;
		tm_progress_update(p, 1, 100);
	}
	is_int(count_char(take(&s), '\n'), 3,
	       "70 updates in 35 s print 3 log lines");
	tm_progress_free(p);
	sink_close(&s);
}

static void test_unknown_and_disabled(void)
{
	struct tm_progress *p;
	struct sink s;
	double t = 0;

	sink_open(&s);
	p = tm_progress_new("u", 0, TM_PROGRESS_ENABLED | TM_PROGRESS_TTY, s.f);
	tm_progress_set_clock(p, fake_now, &t);
	t = 0.5;
	tm_progress_update(p, 3, 999);
	is_str(take(&s), "\ru: 3 items, 999 B, 6.0 items/s, 0.0 MB/s",
	       "unknown total: no percent, no ETA");
	tm_progress_free(p);

	p = tm_progress_new("z", 100, TM_PROGRESS_ENABLED | TM_PROGRESS_TTY,
			    s.f);
	tm_progress_set_clock(p, fake_now, &t);
	t += 0.25;
	tm_progress_update(p, 0, 0);
	is_str(take(&s), "\rz: 0 items, 0 B, 0.0 items/s, 0.0 MB/s, 0.0%, "
	       "ETA --", "no progress yet: ETA unknown");
	tm_progress_done(p);
	/* 0.25 s rounds half away from zero; same length: no padding */
	is_str(take(&s), "\rz: done: 0 items, 0 B in 0.3s, 0.0 items/s, "
	       "0.0 MB/s\n", "done right after a draw");
	tm_progress_free(p);

	p = tm_progress_new("off", 100, TM_PROGRESS_TTY, s.f);
	tm_progress_set_clock(p, fake_now, &t);
	t += 100;
	tm_progress_update(p, 50, 50);
	tm_progress_done(p);
	is_str(take(&s), "", "disabled: prints nothing, not even done");
	tm_progress_free(p);
	tm_progress_free(NULL);
	sink_close(&s);
}

static void test_auto(void)
{
	FILE *f = tmpfile();
	int m, fd;
	FILE *tty;

	ok(f != NULL, "tmpfile");
	if (!f)
		return;
	is_int(tm_progress_auto(f, false), 0, "a file: no progress");
	is_int(tm_progress_auto(f, true), TM_PROGRESS_ENABLED,
	       "a file with --progress: log lines");
	fclose(f);

	m = posix_openpt(O_RDWR | O_NOCTTY);
	if (m < 0 || grantpt(m) || unlockpt(m)) {
		tap_skip("no pseudo-terminal available");
		if (m >= 0)
			close(m);
		return;
	}
	fd = open(ptsname(m), O_RDWR | O_NOCTTY);
	tty = fd >= 0 ? fdopen(fd, "w") : NULL;
	ok(tty != NULL, "open the pseudo-terminal");
	if (tty) {
		is_int(tm_progress_auto(tty, false),
		       TM_PROGRESS_ENABLED | TM_PROGRESS_TTY,
		       "a terminal: redrawn line");
		fclose(tty);
	} else if (fd >= 0) {
		close(fd);
	}
	close(m);
}

int main(void)
{
	test_format_bytes();
	test_format_duration();
	test_tty();
	test_log();
	test_rate_limit();
	test_unknown_and_disabled();
	test_auto();
	return tap_done();
}
