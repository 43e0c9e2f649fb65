/*
 * heur.c: helpers of the heuristic filters (see heur.h).
 */
#include <unicode/utf8.h>
#include <xxhash.h>

#include "tamis.h"
#include "heur.h"

void tm_htab_reset(struct tm_htab *t, size_t n)
{
	size_t slots = 16;

	while (slots < 2 * n)
		slots *= 2;
	if (slots > t->alloc) {
		free(t->e);
		t->e = tm_xmalloc(slots * sizeof(*t->e));
		t->alloc = slots;
	}
	memset(t->e, 0, slots * sizeof(*t->e));
	t->mask = slots - 1;
}

void tm_htab_release(struct tm_htab *t)
{
	free(t->e);
	memset(t, 0, sizeof(*t));
}

void tm_spanv_grow(struct tm_spanv *a)
{
	a->cap = a->cap ? 2 * a->cap : 64;
	a->v = tm_xrealloc(a->v, a->cap * sizeof(*a->v));
}

void tm_dup_spans(struct tm_htab *t, const char *text, const struct tm_span *v, size_t n,
		  uint64_t *dups, uint64_t *dup_chars)
{
	size_t i;

	*dups = *dup_chars = 0;
	tm_htab_reset(t, n);
	for (i = 0; i < n; i++) {
		const char *s = text + v[i].off;

		if (tm_htab_add(t, XXH3_64bits(s, v[i].len), (uint32_t)i)->count > 1) {
			(*dups)++;
			*dup_chars += tm_cp_count(s, v[i].len);
		}
	}
}

/* Static behind the exported name: clang cannot clone a function declared before. */
TM_HOT_LOOP
static size_t cp_count(const char *s, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		n += ((unsigned char)s[i] & 0xc0) != 0x80;
	return n;
}

size_t tm_cp_count(const char *s, size_t len)
{
	return cp_count(s, len);
}

int32_t tm_cp_last(const char *s, size_t len)
{
	int32_t i = (int32_t)len;
	UChar32 c;

	if (!len)
		return -1;
	if ((unsigned char)s[len - 1] < 0x80)
		return (unsigned char)s[len - 1];
	if (len > 4) {
		s += len - 4;
		i = 4;
	}
	U8_PREV((const uint8_t *)s, 0, i, c);
	return c;
}

void tm_span_strip(const char *text, uint32_t *off, uint32_t *len)
{
	const uint8_t *s = (const uint8_t *)text + *off;
	int32_t a = 0, b = (int32_t)*len;

	while (a < b) {
		int32_t j = a;
		UChar32 c;

		U8_NEXT(s, j, b, c);
		if (c < 0 || !tm_space_cp((uint32_t)c))
			break;
		a = j;
	}
	while (b > a) {
		int32_t j = b;
		UChar32 c;

		U8_PREV(s, a, j, c);
		if (c < 0 || !tm_space_cp((uint32_t)c))
			break;
		b = j;
	}
	*off += (uint32_t)a;
	*len = (uint32_t)(b - a);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

bool tm_cpset_parse(struct tm_cpset *s, const char *str)
{
	int32_t i = 0, len = (int32_t)strlen(str);

	memset(s, 0, sizeof(*s));
	while (i < len) {
		UChar32 c;

		U8_NEXT((const uint8_t *)str, i, len, c);
		if (c < 0) {
			tm_cpset_release(s);
			return false;
		}
		if (tm_space_cp((uint32_t)c))
			continue;
		if (c < 0x80) {
			s->ascii[c] = true;
			continue;
		}
		s->cp = tm_xrealloc(s->cp, (s->n + 1) * sizeof(*s->cp));
		s->cp[s->n++] = (uint32_t)c;
	}
	if (s->n)
		qsort(s->cp, s->n, sizeof(*s->cp), cmp_u32);
	return true;
}

bool tm_cpset_has(const struct tm_cpset *s, int32_t c)
{
	uint32_t u = (uint32_t)c;

	if (c < 0)
		return false;
	if (c < 0x80)
		return s->ascii[c];
	return s->n && bsearch(&u, s->cp, s->n, sizeof(u), cmp_u32);
}

void tm_cpset_release(struct tm_cpset *s)
{
	free(s->cp);
	memset(s, 0, sizeof(*s));
}
