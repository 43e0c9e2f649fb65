/*
 * u-fetch.c: the parts of the fetcher that need no server: gzip
 * verification of downloaded files, unsafe local names refused, already
 * complete files skipped without a request, usage errors.
 */
#include "tamis.h"
#include "fetch.h"
#include "stream.h"
#include "tap.h"

#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/u-fetch.XXXXXX";

static char *path_in(const char *name)
{
	struct tm_buf b = TM_BUF_INIT;

	tm_buf_addf(&b, "%s/%s", dir, name);
	return tm_buf_detach(&b, NULL);
}

static void write_gz(const char *path, int members)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_writer *w;

	tm_writer_open(path, TM_CODEC_GZIP, 0, &w, &err);
	for (int i = 0; i < members; i++) {
		char line[64];

		snprintf(line, sizeof(line), "member %d of some text\n", i);
		tm_writer_write(w, line, strlen(line), &err);
		tm_writer_end_member(w, &err);
	}
	tm_writer_commit(w, &err);
}

static void test_verify(void)
{
	char *good = path_in("good.gz"), *cut = path_in("cut.gz");
	struct tm_err err = TM_ERR_INIT;
	struct stat st;
	FILE *f;

	write_gz(good, 20);
	is_int(tm_fetch_verify_gzip(good, &err), 0, "20 gzip members verify");
	stat(good, &st);
	/* the same file cut inside its last member */
	f = fopen(cut, "wb");
	{
		FILE *g = fopen(good, "rb");
		char *buf = malloc((size_t)st.st_size);

		ok(fread(buf, 1, (size_t)st.st_size, g) == (size_t)st.st_size, "read back");
		fwrite(buf, 1, (size_t)st.st_size - 5, f);
		free(buf);
		fclose(g);
	}
	fclose(f);
	is_int(tm_fetch_verify_gzip(cut, &err), TM_ETRUNC, "a cut gzip file is refused");
	f = fopen(cut, "wb");
	fputs("<html>not gzip at all</html>", f);
	fclose(f);
	is_int(tm_fetch_verify_gzip(cut, &err), TM_ECODEC, "plain text named .gz is refused");
	ok(tm_fetch_verify_gzip("/nonexistent/x.gz", &err) == TM_EIO, "missing file is an I/O error");
	unlink(good);
	unlink(cut);
	free(good);
	free(cut);
}

static void test_no_network(void)
{
	struct tm_fetch_opts o = TM_FETCH_OPTS_INIT;
	struct tm_fetch_result res;
	struct tm_err err = TM_ERR_INIT;
	const char *unsafe[] = { "../escape.gz", "a/../../b.gz", "/" };
	const char *done[] = { "crawl-data/x/already.warc.gz" };
	char *existing, *d1, *d2;
	int rc;

	o.dir = dir;
	o.base = "http://127.0.0.1:9/";	/* discard port: never reached below */
	o.log = NULL;
	rc = tm_fetch_run(&o, unsafe, 3, &res, &err);
	is_int(rc, TM_ENET, "unsafe names fail");
	is_u64(res.failed, 3, "all three refused without a request");
	is_u64(res.bytes, 0, "nothing transferred");

	existing = path_in("crawl-data/x/already.warc.gz");
	d1 = path_in("crawl-data");
	d2 = path_in("crawl-data/x");
	mkdir(d1, 0777);
	mkdir(d2, 0777);
	write_gz(existing, 2);
	rc = tm_fetch_run(&o, done, 1, &res, &err);
	is_int(rc, 0, "a complete file is not fetched again");
	is_u64(res.skipped, 1, "counted as skipped");
	is_u64(res.ok, 0, "and not as fetched");
	unlink(existing);
	rmdir(d2);
	rmdir(d1);
	free(existing);
	free(d1);
	free(d2);

	o.to_stdout = true;
	is_int(tm_fetch_run(&o, unsafe, 2, &res, &err), TM_EINVAL,
	       "--stdout with two paths is a usage error");
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	test_verify();
	test_no_network();
	rmdir(dir);
	return tap_done();
}
