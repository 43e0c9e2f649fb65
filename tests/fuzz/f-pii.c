/*
 * f-pii.c: libFuzzer target for PII redaction (filters/pii.c) on
 * arbitrary bytes.  The first byte picks the options (which kinds, public
 * IPs only); the rest is the text.
 *
 * Checked: items are in order, disjoint, non-empty and inside the text;
 * an e-mail item holds one '@', an IP item a '.' or ':', a phone item 8
 * or more digits; the pii filter's output is the input with exactly those
 * spans replaced by the placeholders, every other byte kept; and the
 * output is a fixed point: scanning it again finds nothing (the
 * placeholders are inert, and nothing next to them starts to look like
 * an item).  A mismatch aborts.
 */
#include "tamis.h"
#include "filter.h"
#include "pii.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ITEMS 4096

struct items {
	size_t n, off[MAX_ITEMS], len[MAX_ITEMS];
	enum tm_pii_kind kind[MAX_ITEMS];
};

static void collect(void *arg, enum tm_pii_kind kind, size_t off, size_t len)
{
	struct items *it = arg;

	if (it->n < MAX_ITEMS) {
		it->off[it->n] = off;
		it->len[it->n] = len;
		it->kind[it->n] = kind;
	}
	it->n++;
}

static const char *const placeholder[TM_PII__COUNT] = {
	"|||EMAIL_ADDRESS|||", "|||IP_ADDRESS|||", "|||PHONE_NUMBER|||"
};

static void check_item(const char *s, enum tm_pii_kind kind, size_t len)
{
	size_t i, at = 0, digits = 0, dots = 0;

	for (i = 0; i < len; i++) {
		at += s[i] == '@';
		digits += s[i] >= '0' && s[i] <= '9';
		dots += s[i] == '.' || s[i] == ':';
	}
	if ((kind == TM_PII_EMAIL && at != 1) || (kind == TM_PII_IP && (!dots || at)) ||
	    (kind == TM_PII_PHONE && (digits < 8 || at)))
		BUG("a %d item '%.*s' is not one", (int)kind, (int)len, s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tm_fchain *chains[4];
	static struct tm_fwork *works[4];
	static struct items a, b;
	struct tm_pii_opts o;
	struct tm_fresult res[1];
	struct tm_buf want = TM_BUF_INIT;
	const char *text, *out;
	size_t len, i, done = 0, ran, olen;
	bool rw;
	int k;

	if (!size || size > 1 << 16)
		return 0;
	k = data[0] & 3;
	o.email = o.ip = o.phone = true;
	o.public_only = !(k & 1);
	if (k & 2)
		o.phone = false;
	if (!chains[k]) {
		const char *set[2] = { o.public_only ? "filter.pii.ip_public_only=true" :
					 "filter.pii.ip_public_only=false",
				       o.phone ? "filter.pii.phone=true" : "filter.pii.phone=false" };
		struct tm_ini *ini = tm_ini_new(NULL);
		struct tm_err err = TM_ERR_INIT;

		for (i = 0; i < 2; i++)
			if (tm_ini_set_arg(ini, set[i], &err))
				BUG("%s", err.msg);
		if (tm_fchain_new("pii", ini, NULL, &chains[k], &err))
			BUG("%s", err.msg);
		tm_ini_free(ini);
		works[k] = tm_fwork_new(chains[k]);
	}
	text = (const char *)data + 1;
	len = size - 1;

	a.n = 0;
	tm_pii_scan(&o, text, len, collect, &a);
	if (a.n > MAX_ITEMS)
		return 0;
	for (i = 0; i < a.n; i++) {
		if (!a.len[i] || a.off[i] + a.len[i] > len || (i && a.off[i] < a.off[i - 1] + a.len[i - 1]))
			BUG("item %zu at %zu+%zu: out of order or bounds", i, a.off[i], a.len[i]);
		check_item(text + a.off[i], a.kind[i], a.len[i]);
	}

	/* the filter replaces exactly those spans */
	tm_fchain_run(chains[k], works[k], text, len, NULL, NULL, false, res, &ran);
	out = tm_fwork_text(works[k], &olen, &rw);
	if (rw != (a.n > 0) || res[0].changes != a.n || res[0].reason)
		BUG("rewritten %d, %" PRIu64 " changes, for %zu items", rw, res[0].changes, a.n);
	for (i = 0; i < a.n; i++) {
		tm_buf_add(&want, text + done, a.off[i] - done);
		tm_buf_addstr(&want, placeholder[a.kind[i]]);
		done = a.off[i] + a.len[i];
	}
	tm_buf_add(&want, text + done, len - done);
	if (olen != want.len || memcmp(out, want.buf, olen))
		BUG("the output is not the input with the items replaced");

	/* a fixed point */
	b.n = 0;
	tm_pii_scan(&o, want.buf, want.len, collect, &b);
	if (b.n)
		BUG("a second pass finds '%.*s' in '%s'", (int)b.len[0], want.buf + b.off[0], want.buf);
	tm_buf_release(&want);
	return 0;
}
