/*
 * tap.c: see tap.h.
 */
#include "tamis.h"

#include <ftw.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"

static int count, failed;
static char tmpdir[256];

static int report(int pass, const char *file, int line, const char *name)
{
	count++;
	printf("%sok %d - %s\n", pass ? "" : "not ", count, name);
	if (!pass) {
		failed++;
		printf("#   failed at %s:%d\n", file, line);
	}
	fflush(stdout);
	return pass;
}

int tap_ok(int pass, const char *file, int line, const char *fmt, ...)
{
	char name[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	return report(pass, file, line, name);
}

int tap_is_int(long long got, long long want, const char *file, int line,
	       const char *name)
{
	int pass = got == want;

	report(pass, file, line, name);
	if (!pass)
		printf("#   got: %lld\n#  want: %lld\n", got, want);
	return pass;
}

int tap_is_u64(uint64_t got, uint64_t want, const char *file, int line,
	       const char *name)
{
	int pass = got == want;

	report(pass, file, line, name);
	if (!pass)
		printf("#   got: %llu\n#  want: %llu\n", (unsigned long long)got,
		       (unsigned long long)want);
	return pass;
}

int tap_is_str(const char *got, const char *want, const char *file, int line,
	       const char *name)
{
	int pass = (got && want) ? !strcmp(got, want) : got == want;

	report(pass, file, line, name);
	if (!pass)
		printf("#   got: '%s'\n#  want: '%s'\n", got ? got : "(null)",
		       want ? want : "(null)");
	return pass;
}

int tap_is_mem(const void *got, size_t glen, const void *want, size_t wlen,
	       const char *file, int line, const char *name)
{
	int pass = glen == wlen && (!glen || !memcmp(got, want, glen));

	report(pass, file, line, name);
	if (!pass)
		printf("#   got %zu bytes, want %zu bytes\n", glen, wlen);
	return pass;
}

void tap_diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
}

void tap_skip(const char *why)
{
	count++;
	printf("ok %d # skip %s\n", count, why);
}

int tap_done(void)
{
	if (tmpdir[0])
		rmdir(tmpdir);
	printf("1..%d\n", count);
	if (failed)
		printf("# %d of %d failed\n", failed, count);
	return failed ? 1 : 0;
}

unsigned long tap_seed(int argc, char **argv)
{
	unsigned long seed = (unsigned long)time(NULL);
	const char *env = getenv("TAMIS_SEED");
	int i;

	if (env && *env)
		seed = strtoul(env, NULL, 0);
	for (i = 1; i + 1 < argc; i++)
		if (!strcmp(argv[i], "--seed"))
			seed = strtoul(argv[i + 1], NULL, 0);
	printf("# seed %lu (rerun with --seed %lu)\n", seed, seed);
	return seed;
}

const char *tap_data_dir(void)
{
	const char *d = getenv("TAMIS_DATA");

	return d && *d ? d : "../shared/data";
}

static uint64_t rng_state = 88172645463325252ULL;

void tap_srand(uint64_t seed)
{
	rng_state = seed * 2654435761u + 1;
	if (!rng_state)
		rng_state = 88172645463325252ULL;
}

uint64_t tap_rand(void)
{
	uint64_t x = rng_state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

const char *tap_tmp_path(struct tm_buf *b, const char *name)
{
	if (!tmpdir[0]) {
		const char *t = getenv("TMPDIR");

		snprintf(tmpdir, sizeof(tmpdir), "%s/tap.XXXXXX", t && *t ? t : "/tmp");
		if (!mkdtemp(tmpdir))
			BUG("mkdtemp %s: %s", tmpdir, strerror(errno));
	}
	tm_buf_reset(b);
	tm_buf_addf(b, "%s/%s", tmpdir, name);
	return b->buf;
}

const char *tap_tmp(const char *name)
{
	static char keep[8][1024];
	static int k;
	struct tm_buf b = TM_BUF_INIT;
	char *p = keep[k++ % 8];

	snprintf(p, sizeof(keep[0]), "%s", tap_tmp_path(&b, name));
	tm_buf_release(&b);
	return p;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)flag;
	return f->level ? remove(path) : 0;
}

void tap_tmp_clean(void)
{
	if (tmpdir[0])
		nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void tap_write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(data, 1, len, f) != len || fclose(f))
		BUG("cannot write %s", path);
}

void tap_read_file(const char *path, struct tm_buf *out)
{
	FILE *f = fopen(path, "rb");
	char chunk[65536];
	size_t got;

	tm_buf_reset(out);
	if (!f)
		BUG("cannot read %s", path);
	while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
		tm_buf_add(out, chunk, got);
	fclose(f);
}
