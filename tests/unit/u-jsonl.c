/*
 * u-jsonl.c: JSON Lines streams: documents in order, malformed lines named
 * by file and line and skipped, blank lines, compression, the line cap.
 */
#include "tamis.h"
#include "jsonl.h"
#include "tap.h"

#include <unistd.h>

static void test_stream(void)
{
	static const char input[] =
		"{\"id\":\"a\",\"text\":\"one\"}\n"
		"\n"
		"{\"id\":\"b\",\"text\":\"two\",\"metadata\":{\"lang\":\"en\"}}\r\n"
		"{\"id\":\"c\",\"text\":}\n"
		"[1,2]\n"
		"{\"id\":\"d\",\"text\":\"four\"}";
	struct tm_reader *in;
	struct tm_jsonl_reader jr;
	struct tm_doc doc = TM_DOC_INIT;
	struct tm_err err = TM_ERR_INIT;
	struct tm_buf ids = TM_BUF_INIT;
	int rc, errors = 0;
	long errlines[4] = { 0 };

	tm_reader_open_mem(input, sizeof(input) - 1, "mem.jsonl", &in, &err);
	tm_jsonl_init(&jr, in);
	while ((rc = tm_jsonl_next(&jr, &doc, &err)) != 0) {
		if (rc < 0) {
			ok(!strcmp(err.file, "mem.jsonl"), "error names the file");
			if (errors < 4)
				errlines[errors] = err.line;
			errors++;
			continue;
		}
		tm_buf_addstr(&ids, tm_doc_id(&doc));
	}
	is_str(ids.buf, "abd", "good documents in order, bad ones skipped");
	is_int(errors, 2, "two malformed lines");
	is_int(errlines[0], 4, "first error on line 4 (blank line counted)");
	is_int(errlines[1], 5, "second error on line 5 (not an object)");
	is_int(jr.errors, 2, "reader counts errors");
	tm_jsonl_release(&jr);
	tm_reader_free(in);
	tm_doc_release(&doc);
	tm_buf_release(&ids);
}

static void test_compressed_and_cap(void)
{
	char dir[] = "/tmp/u-jsonl.XXXXXX";
	struct tm_buf path = TM_BUF_INIT, line = TM_BUF_INIT;
	struct tm_writer *w;
	struct tm_reader *in;
	struct tm_jsonl_reader jr;
	struct tm_doc doc = TM_DOC_INIT;
	struct tm_err err = TM_ERR_INIT;
	int i, n = 0, big = 0, rc;

	ok(mkdtemp(dir) != NULL, "temp dir");
	tm_buf_addf(&path, "%s/docs.jsonl.zst", dir);
	tm_writer_open(path.buf, TM_CODEC_AUTO, 0, &w, &err);
	for (i = 0; i < 1000; i++) {
		tm_buf_reset(&line);
		tm_buf_addf(&line, "{\"id\":\"%d\",\"text\":\"", i);
		for (int k = 0; k < (i == 500 ? 5000 : 10); k++)
			tm_buf_addch(&line, 'x');
		tm_buf_addstr(&line, "\"}\n");
		tm_writer_write(w, line.buf, line.len, &err);
	}
	is_int(tm_writer_commit(w, &err), 0, "zstd JSONL written");
	tm_reader_open(path.buf, &in, &err);
	tm_jsonl_init(&jr, in);
	tm_doc_set_max_line(&doc, 1000);
	while ((rc = tm_jsonl_next(&jr, &doc, &err)) != 0) {
		if (rc == TM_ETOOBIG) {
			big++;
			is_int(err.line, 501, "over-long line named by its number");
			continue;
		}
		if (rc == 1)
			n++;
	}
	is_int(n, 999, "every other document read through zstd");
	is_int(big, 1, "one line over the cap");
	tm_jsonl_release(&jr);
	tm_reader_free(in);
	tm_doc_release(&doc);
	unlink(path.buf);
	rmdir(dir);
	tm_buf_release(&path);
	tm_buf_release(&line);
}

int main(void)
{
	test_stream();
	test_compressed_and_cap();
	return tap_done();
}
