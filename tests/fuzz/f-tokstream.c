/*
 * f-tokstream.c: libFuzzer target for the token stream reader
 * (lib/tokstream.h): any bytes, any compression; it must end with a clean
 * end, or an error naming an offset inside what it decoded, and every id
 * it returns is below the vocabulary size.
 */
#include "tamis.h"
#include "stream.h"
#include "tokstream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_reader *in;
	struct tm_tokr *r;
	const char *source, *id;
	const uint32_t *ids;
	size_t n, i;
	int rc;

	if (tm_reader_open_mem(data, size, "fuzz", &in, &err) < 0)
		return 0;
	if (tm_tokr_open_reader(in, &r, &err) == 0) {
		uint32_t vocab = tm_tokr_header(r)->vocab_size;

		/* decoded bytes may far exceed the input: stop after 4 MiB */
		while (tm_tokr_tell(r) < (4u << 20) &&
		       (rc = tm_tokr_next(r, &source, &id, &ids, &n, &err)) > 0) {
			for (i = 0; i < n; i++)
				if (ids[i] >= vocab)
					BUG("id %u >= vocabulary %u returned", ids[i], vocab);
			if (strlen(source) > TM_TOKS_MAX_NAME || strlen(id) > TM_TOKS_MAX_NAME)
				BUG("name longer than a record holds");
		}
		tm_tokr_free(r);
	}
	tm_reader_free(in);
	return 0;
}
