/*
 * fetch.c: the download engine behind tamis fetch (see fetch.h).
 *
 * One curl multi handle drives up to opts->parallel easy handles.  Each
 * job (one file) owns its .part file; an attempt appends to it, asking
 * for "Range: bytes=HAVE-" when HAVE bytes are already there.  When an
 * attempt ends, the job is either complete (length checked, gzip
 * verified, renamed), scheduled for a retry at now + backoff, or failed.
 */
#include "tamis.h"
#include "fetch.h"
#include "progress.h"
#include "stats.h"
#include "stream.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <math.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum job_state { J_WAIT, J_RUN, J_DONE, J_FAILED };

struct job {
	char *path;		/* as given */
	char *url;
	char *final;		/* DIR/PATH (NULL for stdout) */
	char *part;		/* DIR/PATH.part */
	enum job_state state;
	int attempts;
	double next_try;	/* monotonic seconds */
	int fd;
	uint64_t have;		/* bytes already in .part (or written to stdout) */
	uint64_t skip;		/* body bytes to drop (a 200 answer to a Range) */
	uint64_t got;		/* body bytes this attempt */
	uint64_t synced;	/* .part bytes whose write-back was started */
	uint64_t expect;	/* total length announced, UINT64_MAX if unknown */
	long status;		/* HTTP status of this attempt */
	bool range_asked;
	bool write_failed;
	CURL *h;
	char errbuf[CURL_ERROR_SIZE];
	struct fetcher *f;
};

struct fetcher {
	const struct tm_fetch_opts *o;
	CURLM *multi;
	struct job *jobs;
	size_t njobs, next;	/* next job index to consider */
	int running;
	uint64_t rng;
	struct tm_fetch_result *res;
	struct tm_err *err;
	int local_rc;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double rnd01(struct fetcher *f)
{
	f->rng ^= f->rng << 13;
	f->rng ^= f->rng >> 7;
	f->rng ^= f->rng << 17;
	return (double)(f->rng >> 11) / 9007199254740992.0;
}

static void count(struct fetcher *f, const char *name, int64_t d)
{
	tm_stats_count(f->o->stats, name, d);
}

static void report(struct fetcher *f, const struct job *j, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void report(struct fetcher *f, const struct job *j, const char *fmt, ...)
{
	va_list ap;

	if (!f->o->log)
		return;
	fprintf(f->o->log, "%s: %s: ", f->o->prog, j->path);
	va_start(ap, fmt);
	vfprintf(f->o->log, fmt, ap);
	va_end(ap);
	fputc('\n', f->o->log);
}

static bool is_url(const char *p)
{
	return !strncasecmp(p, "http://", 7) || !strncasecmp(p, "https://", 8);
}

/* "crawl-data/x.warc.gz" or a URL's path, made safe for DIR/...: no "..". */
static int local_name(const char *path, struct tm_buf *out)
{
	const char *p = path;

	if (is_url(p)) {
		p = strstr(p, "://") + 3;
		p = strchr(p, '/');
		if (!p)
			return TM_EINVAL;
	}
	while (*p == '/')
		p++;
	if (!*p || strstr(p, "/../") || !strncmp(p, "../", 3) ||
	    (strlen(p) >= 3 && !strcmp(p + strlen(p) - 3, "/..")) || !strcmp(p, ".."))
		return TM_EINVAL;
	tm_buf_addstr(out, p);
	if (strchr(out->buf, '?'))
		tm_buf_setlen(out, (size_t)(strchr(out->buf, '?') - out->buf));
	return 0;
}

static size_t on_header(char *buf, size_t size, size_t n, void *arg)
{
	struct job *j = arg;
	size_t len = size * n;

	/* a new response (after a redirect or 100): reset what we learnt */
	if (len >= 5 && !strncmp(buf, "HTTP/", 5)) {
		const char *sp = memchr(buf, ' ', len);

		j->status = sp ? strtol(sp + 1, NULL, 10) : 0;
		j->expect = UINT64_MAX;
	} else if (len > 15 && !strncasecmp(buf, "Content-Length:", 15)) {
		if (j->status == 200)
			j->expect = strtoull(buf + 15, NULL, 10);
	} else if (len > 14 && !strncasecmp(buf, "Content-Range:", 14)) {
		/* bytes START-END/TOTAL */
		const char *slash = memchr(buf, '/', len);
		const char *b = buf + 14;

		while (b < buf + len && (*b == ' ' || !strncasecmp(b, "bytes", 5)))
			b += *b == ' ' ? 1 : 5;
		if (j->status == 206 && slash && slash[1] != '*') {
			uint64_t start = strtoull(b, NULL, 10);

			j->expect = strtoull(slash + 1, NULL, 10);
			if (start != j->have)
				j->expect = UINT64_MAX - 1; /* mismatch: restart */
		}
	}
	return len;
}

static size_t on_body(char *buf, size_t size, size_t n, void *arg)
{
	struct job *j = arg;
	size_t len = size * n, off = 0;

	if (j->status < 200 || j->status >= 300)
		return len; /* an error page: not file content */
	if (j->got == 0 && j->skip == 0 && j->have > 0 && j->status == 200) {
		/* the server ignored our Range: start again from byte 0 */
		if (j->final) {
			if (ftruncate(j->fd, 0) < 0 || lseek(j->fd, 0, SEEK_SET) < 0) {
				j->write_failed = true;
				return 0;
			}
			j->have = 0;
		} else {
			j->skip = j->have; /* stdout: cannot take bytes back */
		}
	}
	if (j->status == 206 && j->expect == UINT64_MAX - 1)
		return 0; /* Content-Range does not start where we are */
	if (j->skip) {
		off = (size_t)TM_MIN((uint64_t)len, j->skip);
		j->skip -= off;
	}
	while (off < len) {
		ssize_t w = write(j->fd, buf + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			j->write_failed = true;
			return 0;
		}
		off += (size_t)w;
		j->got += (size_t)w;
	}
	/*
	 * Start the write-back of every 8 MiB as it arrives, without waiting
	 * for it, so that the fsync before the rename finds little left to
	 * write: durability without a stall at the end of each file.
	 */
	if (j->final && !j->f->o->no_fsync && j->have + j->got >= j->synced + (8u << 20)) {
		uint64_t upto = j->have + j->got;

		sync_file_range(j->fd, (off64_t)j->synced, (off64_t)(upto - j->synced),
				SYNC_FILE_RANGE_WRITE);
		j->synced = upto;
	}
	return len;
}

static int start(struct fetcher *f, struct job *j)
{
	const struct tm_fetch_opts *o = f->o;
	struct stat st;
	char range[48];

	j->attempts++;
	j->got = 0;
	j->synced = 0;
	j->skip = 0;
	j->status = 0;
	j->expect = UINT64_MAX;
	j->write_failed = false;
	j->errbuf[0] = '\0';
	if (j->final) {
		if (j->fd < 0) {
			const char *slash = strrchr(j->part, '/');

			if (slash && slash != j->part) {
				char *dir = tm_xmemdup(j->part, (size_t)(slash - j->part));
				int rc = tm_mkdir_p(dir, f->err);

				free(dir);
				if (rc < 0)
					return rc;
			}
			j->fd = open(j->part, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
			if (j->fd < 0)
				return tm_err_sys(f->err, j->part, "cannot open");
		}
		j->have = fstat(j->fd, &st) == 0 ? (uint64_t)st.st_size : 0;
	} else {
		j->fd = 1;
	}
	if (!j->h && !(j->h = curl_easy_init()))
		tm_die_oom(0);
	curl_easy_reset(j->h);
	curl_easy_setopt(j->h, CURLOPT_URL, j->url);
	curl_easy_setopt(j->h, CURLOPT_PRIVATE, j);
	curl_easy_setopt(j->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(j->h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(j->h, CURLOPT_MAXREDIRS, 5L);
#if CURL_AT_LEAST_VERSION(7, 85, 0)
	curl_easy_setopt(j->h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(j->h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#endif
	curl_easy_setopt(j->h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(j->h, CURLOPT_CONNECTTIMEOUT, o->connect_timeout);
	curl_easy_setopt(j->h, CURLOPT_LOW_SPEED_TIME, o->low_speed_time);
	curl_easy_setopt(j->h, CURLOPT_LOW_SPEED_LIMIT, o->low_speed_limit);
	curl_easy_setopt(j->h, CURLOPT_USERAGENT, "tamis-fetch/" TM_VERSION);
	curl_easy_setopt(j->h, CURLOPT_ACCEPT_ENCODING, NULL); /* bytes as stored */
	curl_easy_setopt(j->h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(j->h, CURLOPT_HEADERDATA, j);
	curl_easy_setopt(j->h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(j->h, CURLOPT_WRITEDATA, j);
	curl_easy_setopt(j->h, CURLOPT_ERRORBUFFER, j->errbuf);
	curl_easy_setopt(j->h, CURLOPT_BUFFERSIZE, 256L * 1024); /* fewer write(2)s */
	if (o->limit_rate)
		curl_easy_setopt(j->h, CURLOPT_MAX_RECV_SPEED_LARGE,
				 (curl_off_t)TM_MAX(o->limit_rate / (uint64_t)o->parallel, 1024u));
	j->range_asked = j->have > 0;
	if (j->have > 0) {
		snprintf(range, sizeof(range), "%" PRIu64 "-", j->have);
		curl_easy_setopt(j->h, CURLOPT_RANGE, range);
	}
	j->state = J_RUN;
	curl_multi_add_handle(f->multi, j->h);
	f->running++;
	return 0;
}

static void finish_job(struct fetcher *f, struct job *j, bool ok)
{
	struct stat st;

	if (j->final && j->fd >= 0) {
		close(j->fd);
		j->fd = -1;
	}
	/* a failure keeps partial data for a later resume, never an empty file */
	if (!ok && j->part && !stat(j->part, &st) && st.st_size == 0)
		unlink(j->part);
	j->state = ok ? J_DONE : J_FAILED;
	if (ok) {
		f->res->ok++;
		count(f, "fetch.files.ok", 1);
	} else {
		f->res->failed++;
		count(f, "fetch.files.failed", 1);
	}
	tm_progress_update(f->o->progress, 1, 0);
}

/* Schedules another attempt, or fails the job when out of retries. */
static void retry(struct fetcher *f, struct job *j, const char *kind,
		  double retry_after, const char *why)
{
	const struct tm_fetch_opts *o = f->o;
	char name[64];
	double delay;

	snprintf(name, sizeof(name), "fetch.error.%s", kind);
	count(f, name, 1);
	if (j->attempts > o->retries) {
		report(f, j, "failed after %d attempts: %s", j->attempts, why);
		finish_job(f, j, false);
		return;
	}
	delay = o->retry_delay * pow(2.0, j->attempts - 1);
	if (delay > o->retry_max)
		delay = o->retry_max;
	delay *= 0.5 + 0.5 * rnd01(f); /* jitter: spread the retries of many clients */
	if (retry_after > delay)
		delay = TM_MIN(retry_after, o->retry_max);
	if (o->verbose)
		report(f, j, "%s; retry %d of %d in %.1fs", why, j->attempts, o->retries,
		       delay);
	f->res->retries++;
	count(f, "fetch.retries", 1);
	j->state = J_WAIT;
	j->next_try = now_s() + delay;
}

int tm_fetch_verify_gzip(const char *path, struct tm_err *err)
{
	struct tm_reader *r;
	int rc;

	if ((rc = tm_reader_open(path, &r, err)) < 0)
		return rc;
	for (;;) {
		rc = tm_reader_fill(r, 1u << 20, err);
		if (rc < 0)
			break;
		if (!tm_reader_avail(r))
			break;
		tm_reader_consume(r, tm_reader_avail(r));
	}
	if (!rc && tm_reader_codec(r) != TM_CODEC_GZIP)
		rc = tm_err_set(err, TM_ECODEC, path, 0, 0, "not gzip data");
	tm_reader_free(r);
	return rc;
}

static bool has_gz_suffix(const char *p)
{
	size_t n = strlen(p);

	return n > 3 && !strcmp(p + n - 3, ".gz");
}

static void done_attempt(struct fetcher *f, struct job *j, CURLcode cc)
{
	curl_off_t ra = 0;
	struct tm_err e = TM_ERR_INIT;
	char why[CURL_ERROR_SIZE + 600];

	curl_multi_remove_handle(f->multi, j->h);
	f->running--;
	f->res->bytes += j->got;
	count(f, "fetch.bytes", (int64_t)j->got);
	tm_progress_update(f->o->progress, 0, j->got);
	j->have += j->got;
	curl_easy_getinfo(j->h, CURLINFO_RETRY_AFTER, &ra);

	if (j->write_failed) {
		report(f, j, "cannot write: %s", strerror(errno));
		count(f, "fetch.error.write", 1);
		finish_job(f, j, false);
		f->local_rc = TM_EIO;
		return;
	}
	if (cc != CURLE_OK && !(cc == CURLE_WRITE_ERROR && j->expect == UINT64_MAX - 1)) {
		const char *kind = cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST ?
			"connect" : cc == CURLE_OPERATION_TIMEDOUT ? "timeout" :
			cc == CURLE_PARTIAL_FILE ? "short_body" : "transfer";

		snprintf(why, sizeof(why), "%s", j->errbuf[0] ? j->errbuf :
			 curl_easy_strerror(cc));
		retry(f, j, kind, 0, why);
		return;
	}
	if (j->expect == UINT64_MAX - 1) {
		/* a Content-Range not where we asked: drop the part, from 0 */
		if (j->final && ftruncate(j->fd, 0) == 0)
			j->have = 0;
		retry(f, j, "range", 0, "server answered a different range");
		return;
	}
	if (j->status == 429 || j->status >= 500) {
		snprintf(why, sizeof(why), "HTTP %ld", j->status);
		retry(f, j, j->status == 429 ? "http_429" : "http_5xx", (double)ra, why);
		return;
	}
	if (j->status < 200 || j->status >= 300) {
		report(f, j, "HTTP %ld (not retried)", j->status);
		count(f, "fetch.error.http_4xx", 1);
		finish_job(f, j, false);
		return;
	}
	if (j->expect != UINT64_MAX && j->have < j->expect) {
		snprintf(why, sizeof(why), "body ended at %" PRIu64 " of %" PRIu64 " bytes",
			 j->have, j->expect);
		retry(f, j, "short_body", 0, why);
		return;
	}
	if (j->expect != UINT64_MAX && j->have > j->expect) {
		if (j->final && ftruncate(j->fd, 0) == 0)
			j->have = 0;
		retry(f, j, "long_body", 0, "more bytes than announced");
		return;
	}
	if (j->final) {
		/* on disk before the name says complete: a crash cannot leave a
		 * short file under the final name for a rerun to skip */
		if ((!f->o->no_fsync && fsync(j->fd) < 0) || close(j->fd) < 0) {
			j->fd = -1;
			report(f, j, "cannot write: %s", strerror(errno));
			finish_job(f, j, false);
			f->local_rc = TM_EIO;
			return;
		}
		j->fd = -1;
		if (has_gz_suffix(j->final) && tm_fetch_verify_gzip(j->part, &e) < 0) {
			snprintf(why, sizeof(why), "gzip check failed at offset %" PRIu64 ": %s",
				 e.offset == TM_ERR_NO_OFFSET ? 0 : e.offset, e.msg);
			unlink(j->part);
			j->have = 0;
			retry(f, j, "bad_gzip", 0, why);
			return;
		}
		if (rename(j->part, j->final) < 0) {
			report(f, j, "cannot rename into place: %s", strerror(errno));
			finish_job(f, j, false);
			f->local_rc = TM_EIO;
			return;
		}
	}
	finish_job(f, j, true);
}

int tm_fetch_run(const struct tm_fetch_opts *o, const char *const *paths,
		 size_t n, struct tm_fetch_result *res, struct tm_err *err)
{
	struct fetcher f;
	size_t i, left, lo = 0;
	int rc = 0;

	memset(res, 0, sizeof(*res));
	memset(&f, 0, sizeof(f));
	f.o = o;
	f.res = res;
	f.err = err;
	f.rng = o->seed ? o->seed : (uint64_t)time(NULL) ^ (uint64_t)getpid();
	if (o->to_stdout && n != 1)
		return tm_err_set(err, TM_EINVAL, NULL, TM_ERR_NO_OFFSET, 0,
				  "--stdout takes exactly one path, got %zu", n);
	if (curl_global_init(CURL_GLOBAL_DEFAULT))
		return tm_err_set(err, TM_ENET, NULL, TM_ERR_NO_OFFSET, 0,
				  "libcurl failed to initialise");
	f.jobs = tm_xcalloc(n ? n : 1, sizeof(*f.jobs));
	for (i = 0; i < n; i++) {
		struct job *j = &f.jobs[i];
		struct tm_buf b = TM_BUF_INIT, name = TM_BUF_INIT;
		struct stat st;

		j->f = &f;
		j->fd = -1;
		j->path = tm_xstrdup(paths[i]);
		if (is_url(paths[i])) {
			tm_buf_addstr(&b, paths[i]);
		} else {
			tm_buf_addstr(&b, o->base);
			if (b.len && b.buf[b.len - 1] != '/')
				tm_buf_addch(&b, '/');
			tm_buf_addstr(&b, paths[i][0] == '/' ? paths[i] + 1 : paths[i]);
		}
		j->url = tm_buf_detach(&b, NULL);
		if (o->to_stdout)
			continue;
		if (local_name(paths[i], &name) < 0) {
			report(&f, j, "not a safe file name");
			j->state = J_FAILED;
			res->failed++;
			count(&f, "fetch.files.failed", 1);
			tm_buf_release(&name);
			continue;
		}
		tm_buf_addf(&b, "%s/%s", o->dir, name.buf);
		j->final = tm_buf_detach(&b, NULL);
		tm_buf_addf(&b, "%s.part", j->final);
		j->part = tm_buf_detach(&b, NULL);
		tm_buf_release(&name);
		if (!stat(j->final, &st) && S_ISREG(st.st_mode)) {
			j->state = J_DONE;	/* complete: only complete files get here */
			res->skipped++;
			count(&f, "fetch.files.skipped", 1);
			tm_progress_update(o->progress, 1, 0);
		}
	}

	f.multi = curl_multi_init();
	curl_multi_setopt(f.multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)o->parallel);
	for (;;) {
		double t = now_s(), wait = 1.0;
		int still, msgs;
		CURLMsg *m;

		/*
		 * Jobs finish roughly in order: skip the finished prefix, and stop
		 * scanning at the first job never tried once no slot is free, so
		 * a listing of a whole crawl costs little per wake-up.
		 */
		while (lo < n && (f.jobs[lo].state == J_DONE || f.jobs[lo].state == J_FAILED))
			lo++;
		left = n - lo;
		for (i = lo; i < n; i++) {
			struct job *j = &f.jobs[i];

			if (j->state != J_WAIT)
				continue;
			if (f.running < o->parallel && j->next_try <= t && f.local_rc == 0) {
				if ((rc = start(&f, j)) < 0) {
					f.local_rc = rc;
					finish_job(&f, j, false);
				}
			} else if (j->next_try > t) {
				wait = TM_MIN(wait, j->next_try - t);
			} else if (j->attempts == 0 && f.running >= o->parallel) {
				break;	/* the rest are fresh jobs waiting for a slot */
			}
		}
		if (!left || (f.local_rc && !f.running))
			break;
		curl_multi_perform(f.multi, &still);
		while ((m = curl_multi_info_read(f.multi, &msgs))) {
			struct job *j;

			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&j);
			done_attempt(&f, j, m->data.result);
		}
		if (f.running)
			curl_multi_poll(f.multi, NULL, 0, (int)(wait * 1000) + 1, NULL);
		else if (wait > 0)
			usleep((useconds_t)(TM_MIN(wait, 1.0) * 1e6));
	}
	for (i = 0; i < n; i++) {
		struct job *j = &f.jobs[i];

		if (j->state == J_WAIT || j->state == J_RUN) {
			if (j->state == J_RUN)
				curl_multi_remove_handle(f.multi, j->h);
			report(&f, j, "not fetched: stopped by an earlier error");
			res->failed++;
		}
		if (j->h)
			curl_easy_cleanup(j->h);
		if (j->final && j->fd >= 0)
			close(j->fd);
		free(j->path);
		free(j->url);
		free(j->final);
		free(j->part);
	}
	curl_multi_cleanup(f.multi);
	free(f.jobs);
	curl_global_cleanup();
	if (f.local_rc)
		return f.local_rc;
	return res->failed ? TM_ENET : 0;
}
