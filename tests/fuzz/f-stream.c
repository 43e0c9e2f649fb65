/*
 * f-stream.c: libFuzzer target for the decompressing reader: gzip, zstd
 * or plain input read through fill/consume, getline and read, with resync
 * after damage; must terminate and never show more than it decoded.
 */
#include "tamis.h"
#include "stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void drain(const uint8_t *data, size_t size, int mode)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_reader *r;
	struct tm_buf line = TM_BUF_INIT;
	char buf[97];
	size_t guard = 0, got;
	int rc;

	tm_reader_open_mem(data, size, "fuzz", &r, &err);
	for (;;) {
		/* decoded bytes may far exceed the input: stop after 1 MiB */
		if (tm_reader_tell(r) > (1u << 20))
			break;
		if (++guard > (4u << 20) + 4 * size)
			BUG("reader does not terminate");
		if (mode == 0) {
			rc = tm_reader_fill(r, 1 + guard % 300, &err);
			if (tm_reader_avail(r))
				(void)tm_reader_data(r)[tm_reader_avail(r) - 1];
			(void)tm_reader_at_member_start(r);
			if (tm_reader_raw_tell(r) > size)
				BUG("raw_tell beyond the input");
			tm_reader_consume(r, tm_reader_avail(r));
		} else if (mode == 1) {
			rc = tm_reader_getline(r, &line, 64, guard & 1, &err);
			if (rc == 0)
				break;
			if (rc == 1 && line.len > 64)
				BUG("line over max");
			if (rc == 1 || rc == TM_ETOOBIG)
				continue;
		} else {
			rc = tm_reader_read(r, buf, sizeof(buf), &got, &err);
			if (rc == 0 && !got)
				break;
		}
		if (rc < 0) {
			if (rc == TM_EIO)
				break;
			if (tm_reader_resync(r, NULL, &err) < 0)
				break;
			continue;
		}
		if (tm_reader_eof(r))
			break;
	}
	tm_buf_release(&line);
	tm_reader_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (int mode = 0; mode < 3; mode++)
		drain(data, size, mode);
	return 0;
}
