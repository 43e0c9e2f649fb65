/*
 * f-shard.c: libFuzzer target for the shard header and payload checks
 * (lib/shard.h): the input is a shard file (through a memfd); parse and
 * verify must not crash, and what they accept is consistent: the size
 * rule holds, the document count fits the tokens, and a verified file's
 * BOS is below its vocabulary.
 */
#include "tamis.h"
#include "shard.h"

#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_shard_info in;
	char path[64];
	int fd;

	if (size >= TM_SHARD_HEADER_BYTES &&
	    tm_shard_parse_header(data, size, "fuzz", &in, &err) == 0 &&
	    size != TM_SHARD_HEADER_BYTES + in.ntok * in.token_bytes)
		BUG("accepted a header whose size rule fails");
	fd = memfd_create("fuzz-shard", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) == (ssize_t)size) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		if (tm_shard_verify(path, &in, &err) == 0 &&
		    (in.bos_id >= in.vocab_size || in.ndocs > in.ntok || !in.tamis))
			BUG("verify accepted an inconsistent shard");
	}
	close(fd);
	return 0;
}
