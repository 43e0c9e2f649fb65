/*
 * f-warc.c: libFuzzer target for the WARC reader: reads every record of
 * an in-memory input (any compression) with small limits, checks digests,
 * and must terminate.
 */
#include "tamis.h"
#include "stream.h"
#include "warc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_reader *in;
	struct tm_warc_reader *wr;
	struct tm_warc_record *rec;
	struct tm_warc_opts o = { 4096, 2048 };
	struct tm_warc_stats st;
	int rc, n = 0;

	tm_reader_open_mem(data, size, "fuzz", &in, &err);
	tm_warc_reader_new(in, &o, &wr);
	while ((rc = tm_warc_next(wr, &rec, &err)) != 0) {
		const char *d;

		/* every call consumes input: records+damage <= size + 1 */
		if (++n > (int)size + 2)
			BUG("tm_warc_next does not terminate");
		if (rc < 0)
			continue;
		if (rec->block && rec->block_len > o.max_record)
			BUG("block over max_record");
		if (rec->block_len)
			(void)rec->block[rec->block_len - 1];
		d = tm_warc_field(rec, "WARC-Block-Digest");
		if (d && rec->block)
			tm_warc_digest_check(d, rec->block, rec->block_len, NULL);
		d = tm_warc_field(rec, "WARC-Payload-Digest");
		if (d && rec->block)
			tm_warc_digest_check(d, rec->block, rec->block_len, NULL);
		(void)tm_warc_reader_last_end(wr);
	}
	tm_warc_reader_stats(wr, &st);
	tm_warc_reader_free(wr);
	tm_reader_free(in);
	return 0;
}
