/*
 * charset.h: the bytes of a web page to NFC UTF-8, for the extract stage.
 *
 * The charset is taken, in this order, from a byte order mark (UTF-8,
 * UTF-16LE/BE, UTF-32LE/BE: a BOM wins over everything, as in browsers),
 * the HTTP Content-Type `charset=` parameter, a <meta charset> or
 * <meta http-equiv=Content-Type content="...; charset=..."> found by an
 * HTML5-style prescan of the first 4 KiB, and last ICU detection (ucsdet)
 * shown the words that hold a byte >= 0x80 (up to 16 KiB of them; the
 * first 64 KiB when there are none): markup and scripts otherwise drown
 * ICU's single-byte models.  Labels map as the WHATWG Encoding Standard says
 * (iso-8859-1/latin1/us-ascii -> windows-1252, gb2312/gbk -> gb18030,
 * x-sjis -> Shift_JIS, ...); a label it does not know, and "replacement",
 * fall through to the next source.
 *
 * Where the standard leaves us free, training text is preferred over
 * browser fidelity:
 * - bytes that are valid UTF-8 with at least one multi-byte sequence are
 *   read as UTF-8 even when an ASCII-compatible legacy charset is declared
 *   (a mislabelled UTF-8 page; the reverse is vanishingly rare);
 * - a declared charset under which more than 1% of the non-ASCII bytes
 *   need replacing is re-tried with ICU detection, and the detection result
 *   is kept when it replaces fewer bytes;
 * - a UTF-16/32 declaration in HTTP with no NUL byte in the first 1 KiB is
 *   ignored (the bytes are ASCII-compatible, so the label is wrong);
 * - with no declaration, valid UTF-8 is taken as UTF-8 before asking ICU.
 *
 * Output invariants: valid UTF-8 in NFC, no BOM at the start, no C0
 * control characters except TAB, LF and CR (FF becomes a space, as HTML
 * treats it as white space; the others, NUL included, are dropped: the
 * HTML parser that follows, libxml2, rejects them as XML characters).
 * C1 controls are kept as decoded.  Invalid or unmappable input becomes
 * U+FFFD, one per ICU callback (a maximal ill-formed subsequence), counted.
 * Valid UTF-8 already in NFC without controls is copied through without
 * any ICU conversion (the common case, hundreds of MB/s).
 *
 * Ownership: the caller owns what it passes and what tm_charset_new()
 * returns; the context owns its ICU converters, detector and buffers.
 * Depends on buf.h, err.h and ICU (ucnv, ucsdet, unorm2); no HTML parser,
 * no HTTP or WARC knowledge.
 */
#ifndef TM_CHARSET_H
#define TM_CHARSET_H

#include "tamis.h"

enum tm_charset_source {
	TM_CHARSET_DEFAULT = 0,	/* nothing usable: windows-1252 */
	TM_CHARSET_BOM,
	TM_CHARSET_HTTP,
	TM_CHARSET_META,
	TM_CHARSET_DETECTED,	/* ICU detection, or valid-UTF-8 sniffing */
};

/* "default", "bom", "http", "meta", "detected". */
const char *tm_charset_source_name(enum tm_charset_source s);

struct tm_charset_info {
	char charset[32];	/* canonical WHATWG name: "UTF-8", "windows-1251" */
	enum tm_charset_source source;
	int confidence;		/* 0..100: ICU's for detection, 100 for a BOM,
				   a declaration or valid UTF-8, 0 for default */
	char declared[32];	/* a declared charset that validation overrode, or "" */
	uint64_t replaced;	/* invalid/unmappable sequences replaced by U+FFFD */
	uint64_t dropped;	/* control characters dropped (or FF made a space) */
	bool normalized;	/* NFC changed something */
	bool fast;		/* copied through without ICU conversion */
};

struct tm_charset_ctx;

/*
 * A context for one thread, reused across documents: it caches ICU
 * converters, the detector and its buffers.  The size cap starts at
 * 32 MiB.  Returns NULL only when ICU cannot open its detector.
 */
struct tm_charset_ctx *tm_charset_new(void);
void tm_charset_free(struct tm_charset_ctx *c);

/* Inputs longer than `max` bytes are refused with TM_ETOOBIG. */
void tm_charset_set_max(struct tm_charset_ctx *c, size_t max);

/*
 * Converts bytes[0..len) to NFC UTF-8 in `out` (replaced, not appended).
 * `content_type` is the HTTP Content-Type value or NULL.  `info` (may be
 * NULL) says which charset was used, from where, and what was changed.
 * Returns 0; TM_ETOOBIG when len is over the cap; TM_EUNSUP when the
 * charset chosen is known to WHATWG but ICU cannot open it (e.g.
 * ISO-8859-16 with the stock ICU data); TM_ENOMEM when ICU runs out of
 * memory.  On error `out` is empty and `info` names the charset tried.
 */
int tm_charset_to_utf8(struct tm_charset_ctx *c, const char *bytes, size_t len,
		       const char *content_type, struct tm_buf *out,
		       struct tm_charset_info *info, struct tm_err *err);

/*
 * The HTML5 prescan for a charset declaration in the first 4 KiB of
 * bytes[0..len): skips comments, other markup and quoted attribute values;
 * takes <meta charset> and <meta http-equiv=content-type content=...>.
 * Writes the canonical WHATWG name into buf[0..bufsz) and returns buf, or
 * NULL when there is no declaration with a label we know (unknown labels
 * are skipped and the scan goes on, as the standard says).  A declared
 * UTF-16/32 gives "UTF-8": the bytes were readable as ASCII.
 */
const char *tm_charset_html_meta(const char *bytes, size_t len, char *buf, size_t bufsz);

/*
 * The charset parameter of a Content-Type value ("text/html; charset=
 * "UTF-8"") mapped to its canonical WHATWG name in buf, or NULL when absent
 * or unknown.
 */
const char *tm_charset_http(const char *content_type, char *buf, size_t bufsz);

/* The canonical WHATWG name of a label ("latin1" -> "windows-1252"), or NULL. */
const char *tm_charset_canonical(const char *label, size_t len);

#endif
