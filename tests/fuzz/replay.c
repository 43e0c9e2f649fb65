/*
 * replay.c: runs a libFuzzer target over its checked-in corpus, without
 * libFuzzer, so that `make check` (gcc, optionally ASan) replays every
 * input that ever found a bug or widened coverage.
 *
 * The binary is named replay-NAME; it reads every file under
 * $TAMIS_SRC/tests/fuzz/corpus/NAME/ (or the files/directories given as
 * arguments) and prints one TAP line per input.  A crash is the failure.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int n;

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data = NULL;
	size_t len = 0, cap = 0, got;

	if (!f) {
		printf("not ok %d - cannot open %s\n", ++n, path);
		return 1;
	}
	do {
		if (len == cap) {
			cap = cap ? cap * 2 : 65536;
			data = realloc(data, cap);
			if (!data)
				abort();
		}
		got = fread(data + len, 1, cap - len, f);
		len += got;
	} while (got);
	fclose(f);
	LLVMFuzzerTestOneInput(data, len);
	free(data);
	printf("ok %d - %s\n", ++n, path);
	fflush(stdout);
	return 0;
}

static int cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_path(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *de;
	char **names = NULL;
	size_t k, count = 0, cap = 0;
	int bad = 0;

	if (stat(path, &st) < 0) {
		printf("not ok %d - cannot stat %s\n", ++n, path);
		return 1;
	}
	if (!S_ISDIR(st.st_mode))
		return run_file(path);
	d = opendir(path);
	if (!d)
		return 1;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (count == cap) {
			cap = cap ? cap * 2 : 64;
			names = realloc(names, cap * sizeof(*names));
			if (!names)
				abort();
		}
		names[count] = malloc(strlen(path) + strlen(de->d_name) + 2);
		if (!names[count])
			abort();
		snprintf(names[count], strlen(path) + strlen(de->d_name) + 2,
			 "%s/%s", path, de->d_name);
		count++;
	}
	closedir(d);
	if (count)
		qsort(names, count, sizeof(*names), cmpstr);
	for (k = 0; k < count; k++) {
		bad |= run_path(names[k]);
		free(names[k]);
	}
	free(names);
	return bad;
}

int main(int argc, char **argv)
{
	const char *base = strrchr(argv[0], '/');
	const char *src = getenv("TAMIS_SRC");
	char dir[4096];
	int i, bad = 0;

	base = base ? base + 1 : argv[0];
	if (!strncmp(base, "replay-", 7))
		base += 7;
	if (argc > 1) {
		for (i = 1; i < argc; i++)
			bad |= run_path(argv[i]);
	} else {
		snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s",
			 src ? src : ".", base);
		bad = run_path(dir);
	}
	printf("1..%d\n", n);
	return bad;
}
