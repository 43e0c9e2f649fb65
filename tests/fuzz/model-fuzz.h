/*
 * model-fuzz.h: what the fuzz targets of the linear models' loaders
 * (f-lidmodel.c, f-clfmodel.c; filters/linear.h files) share: the check
 * of a refused load, and the second try with a valid checksum.
 *
 * The files end in an XXH64 of all the bytes before them, so nearly every
 * mutation is refused there, early.  That is right (it keeps a damaged
 * file out), but it hides what lies behind the checksum: so an input that
 * starts with the magic is tried a second time with its last 8 bytes
 * replaced by the checksum of the rest, which lets mutations of the
 * header ranges, the tables and the weights reach the parser and
 * prediction.
 */
#ifndef TM_MODEL_FUZZ_H
#define TM_MODEL_FUZZ_H

#include "tamis.h"

#include <xxhash.h>

/* A refused load: no model, and a report with its code and a message. */
static inline void check_refused(int rc, const void *model, const struct tm_err *err)
{
	struct tm_buf msg = TM_BUF_INIT;

	if (model)
		BUG("a model returned with error %d", rc);
	if (rc >= 0 || rc <= -TM_ERR__COUNT || err->code != rc || !err->msg[0])
		BUG("error %d without its report (%d '%s')", rc, err->code, err->msg);
	tm_err_format(err, &msg);
	tm_buf_release(&msg);
}

/*
 * Calls try_load(data, size, data, size), then, when data starts with the
 * 8-byte magic and is at least min_size bytes, try_load(copy, size, data,
 * size) with the copy's checksum made valid (when it was not).  The last
 * two arguments are the text the model is tried on.
 */
static inline void fuzz_model(const uint8_t *data, size_t size, const char *magic,
			      size_t min_size,
			      void (*try_load)(const uint8_t *, size_t, const uint8_t *, size_t))
{
	try_load(data, size, data, size);
	if (size >= min_size && size >= 16 && !memcmp(data, magic, 8)) {
		uint8_t *copy = (uint8_t *)tm_xmemdup(data, size);
		uint64_t sum = XXH64(copy, size - 8, 0);
		int i;

		for (i = 0; i < 8; i++)
			copy[size - 8 + i] = (uint8_t)(sum >> (8 * i));
		if (memcmp(copy, data, size))
			try_load(copy, size, data, size);
		free(copy);
	}
}

#endif
