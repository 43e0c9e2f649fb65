/*
 * bench/sigs-gen.c: synthetic signature files for the cluster stages of
 * `tamis dedup` (bench/dedup.sh), in the SIG format of docs/DEDUP.md.
 *
 * usage: sigs-gen [-n DOCS] [-f FILES] [-b BANDS] [-d DUP] [-p PART]
 *                 [-c CLUSTER] [-s SEED] [-l LIST] PREFIX
 *   writes PREFIX.00.sig .. PREFIX.<FILES-1>.sig holding DOCS documents in
 *   all (default 10000000 in 10 files, 14 bands), numbered over the files
 *   in order, and prints on stdout "documents N planted P": P is the number
 *   of documents that `tamis dedup cluster` must remove.
 *   -d DUP    per mille of documents that copy every band key of an
 *             earlier document (default 50)
 *   -p PART   per mille of documents that copy 1 or 2 band keys of an
 *             earlier document, the others their own (default 50)
 *   -c N      instead: documents 1..N copy every key of document 0, one
 *             cluster of N + 1 (the others unique)
 *   -s SEED   (default 1)
 *   -l LIST   also write the numbers of the planted documents to LIST, one
 *             per line, ascending: what REMOVE of `tamis dedup cluster`
 *             must hold, byte for byte
 *
 * Every key is a function of (seed, document, band), so nothing is held in
 * memory: a document's copied key is the key of its source document, found
 * by following sources back to a document whose key for that band is its
 * own.  Each planted document shares a key with an earlier one, and every
 * other key is a distinct 64-bit random value (a collision among 10^7 has
 * probability ~1e-6 per band), so each cluster's first document is the one
 * unplanted document at its root and the planted ones are exactly those
 * to remove.  All documents have words (flag 1).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t seed = 1, ndocs = 10000000;
static unsigned dup_pm = 50, part_pm = 50, bands = 14;
static uint64_t cluster;

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

enum kind { OWN, DUP, PART };

/* What document d is; for DUP and PART its source, and for PART the mask
 * of the bands it copies. */
static enum kind kind_of(uint64_t d, uint64_t *src, uint64_t *mask)
{
	uint64_t h = mix(seed ^ mix(d)), u, b1, b2;

	if (cluster) {
		*src = 0;
		*mask = ~0ULL;
		return d >= 1 && d <= cluster ? DUP : OWN;
	}
	if (d == 0)
		return OWN;
	u = h % 1000;
	*src = mix(h) % d;
	if (u < dup_pm) {
		*mask = ~0ULL;
		return DUP;
	}
	if (u < dup_pm + part_pm) {
		b1 = (h >> 32) % bands;
		b2 = (h >> 40) % bands;	/* may equal b1: then one band */
		*mask = (1ULL << b1) | ((h >> 48) & 1 ? 1ULL << b2 : 0);
		return PART;
	}
	return OWN;
}

static uint64_t key_of(uint64_t d, unsigned band)
{
	uint64_t src, mask;

	for (;;) {
		enum kind k = kind_of(d, &src, &mask);

		if (k == OWN || !(mask >> band & 1))
			return mix(mix(seed + 0x5851f42d4c957f2dULL) ^ (d * 64 + band));
		d = src;
	}
}

static void put64(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> 8 * i);
}

static void put32(unsigned char *p, uint32_t v)
{
	int i;

	for (i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> 8 * i);
}

static void usage(void)
{
	fprintf(stderr, "usage: sigs-gen [-n DOCS] [-f FILES] [-b BANDS] [-d DUP] [-p PART] "
		"[-c CLUSTER] [-s SEED] [-l LIST] PREFIX\n");
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned files = 10, f, j;
	uint64_t d = 0, planted = 0, src, mask;
	const char *list_path = NULL;
	FILE *list = NULL;
	int c;

	while ((c = getopt(argc, argv, "n:f:b:d:p:c:s:l:")) != -1) {
		switch (c) {
		case 'n': ndocs = strtoull(optarg, NULL, 10); break;
		case 'f': files = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'b': bands = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'd': dup_pm = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'p': part_pm = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'c': cluster = strtoull(optarg, NULL, 10); break;
		case 's': seed = strtoull(optarg, NULL, 10); break;
		case 'l': list_path = optarg; break;
		default: usage();
		}
	}
	if (optind + 1 != argc || !files || files > 100 || !bands || bands > 64 ||
	    dup_pm + part_pm > 1000 || cluster >= ndocs)
		usage();
	if (list_path && !(list = fopen(list_path, "w"))) {
		perror(list_path);
		return 1;
	}
	for (f = 0; f < files; f++) {
		uint64_t end = ndocs * (f + 1) / files, n = end - d;
		size_t rec = 8 * (1 + (size_t)bands);
		unsigned char *buf = malloc(rec * 4096), hdr[32], tail[16];
		size_t used = 0;
		char path[4096];
		FILE *out;

		snprintf(path, sizeof(path), "%s.%02u.sig", argv[optind], f);
		if (!buf || !(out = fopen(path, "wb"))) {
			perror(path);
			return 1;
		}
		memcpy(hdr, "TMSIG001", 8);
		put32(hdr + 8, bands);
		put32(hdr + 12, 8);
		put32(hdr + 16, 5);
		put32(hdr + 20, 0);
		put64(hdr + 24, seed);
		fwrite(hdr, 1, 32, out);
		for (; d < end; d++) {
			unsigned char *p = buf + used;

			if (kind_of(d, &src, &mask) != OWN) {
				planted++;
				if (list)
					fprintf(list, "%" PRIu64 "\n", d);
			}
			put64(p, 1);
			for (j = 0; j < bands; j++)
				put64(p + 8 * (1 + j), key_of(d, j));
			used += rec;
			if (used == rec * 4096) {
				fwrite(buf, 1, used, out);
				used = 0;
			}
		}
		fwrite(buf, 1, used, out);
		put64(tail, n);
		memcpy(tail + 8, "TMSIGEND", 8);
		fwrite(tail, 1, 16, out);
		if (ferror(out) || fclose(out)) {
			perror(path);
			return 1;
		}
		free(buf);
	}
	if (list && (ferror(list) || fclose(list))) {
		perror(list_path);
		return 1;
	}
	printf("documents %" PRIu64 " planted %" PRIu64 "\n", ndocs, planted);
	return 0;
}
