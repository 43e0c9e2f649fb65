/*
 * charset.c: charset determination (BOM, HTTP, <meta> prescan, ICU
 * detection), conversion to UTF-8 with counted replacement, control
 * character removal and NFC normalisation, with a copy-through fast path
 * for valid NFC UTF-8.  See charset.h for the contract and the choices.
 */
#include "tamis.h"
#include "charset.h"

#include <unicode/ucnv.h>
#include <unicode/ucnv_cb.h>
#include <unicode/ucsdet.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>
#include <unicode/utf8.h>

/* The charsets we decode: canonical WHATWG name and the ICU converter. */
enum {
	CS_UTF8, CS_IBM866, CS_8859_2, CS_8859_3, CS_8859_4, CS_8859_5,
	CS_8859_6, CS_8859_7, CS_8859_8, CS_8859_8I, CS_8859_10, CS_8859_13,
	CS_8859_14, CS_8859_15, CS_8859_16, CS_KOI8R, CS_KOI8U, CS_MAC,
	CS_874, CS_1250, CS_1251, CS_1252, CS_1253, CS_1254, CS_1255, CS_1256,
	CS_1257, CS_1258, CS_MACCYR, CS_GB18030, CS_BIG5, CS_EUCJP,
	CS_2022JP, CS_SJIS, CS_EUCKR, CS_UTF16BE, CS_UTF16LE, CS_UTF32BE,
	CS_UTF32LE, CS__COUNT
};

static const struct {
	const char *name;
	const char *icu;
} charsets[CS__COUNT] = {
	[CS_UTF8] = { "UTF-8", "UTF-8" },
	[CS_IBM866] = { "IBM866", "ibm-866" },
	[CS_8859_2] = { "ISO-8859-2", "ISO-8859-2" },
	[CS_8859_3] = { "ISO-8859-3", "ISO-8859-3" },
	[CS_8859_4] = { "ISO-8859-4", "ISO-8859-4" },
	[CS_8859_5] = { "ISO-8859-5", "ISO-8859-5" },
	[CS_8859_6] = { "ISO-8859-6", "ISO-8859-6" },
	[CS_8859_7] = { "ISO-8859-7", "ISO-8859-7" },
	[CS_8859_8] = { "ISO-8859-8", "ISO-8859-8" },
	[CS_8859_8I] = { "ISO-8859-8-I", "ISO-8859-8" },
	[CS_8859_10] = { "ISO-8859-10", "ISO-8859-10" },
	[CS_8859_13] = { "ISO-8859-13", "ISO-8859-13" },
	[CS_8859_14] = { "ISO-8859-14", "ISO-8859-14" },
	[CS_8859_15] = { "ISO-8859-15", "ISO-8859-15" },
	[CS_8859_16] = { "ISO-8859-16", "ISO-8859-16" },
	[CS_KOI8R] = { "KOI8-R", "KOI8-R" },
	[CS_KOI8U] = { "KOI8-U", "KOI8-U" },
	[CS_MAC] = { "macintosh", "macintosh" },
	[CS_874] = { "windows-874", "windows-874" },
	[CS_1250] = { "windows-1250", "windows-1250" },
	[CS_1251] = { "windows-1251", "windows-1251" },
	[CS_1252] = { "windows-1252", "windows-1252" },
	[CS_1253] = { "windows-1253", "windows-1253" },
	[CS_1254] = { "windows-1254", "windows-1254" },
	[CS_1255] = { "windows-1255", "windows-1255" },
	[CS_1256] = { "windows-1256", "windows-1256" },
	[CS_1257] = { "windows-1257", "windows-1257" },
	[CS_1258] = { "windows-1258", "windows-1258" },
	[CS_MACCYR] = { "x-mac-cyrillic", "x-mac-cyrillic" },
	[CS_GB18030] = { "gb18030", "GB18030" },
	[CS_BIG5] = { "Big5", "Big5-HKSCS" },
	[CS_EUCJP] = { "EUC-JP", "EUC-JP" },
	[CS_2022JP] = { "ISO-2022-JP", "ISO-2022-JP" },
	[CS_SJIS] = { "Shift_JIS", "windows-31j" },
	[CS_EUCKR] = { "EUC-KR", "windows-949" },
	[CS_UTF16BE] = { "UTF-16BE", "UTF-16BE" },
	[CS_UTF16LE] = { "UTF-16LE", "UTF-16LE" },
	[CS_UTF32BE] = { "UTF-32BE", "UTF-32BE" },
	[CS_UTF32LE] = { "UTF-32LE", "UTF-32LE" },
};

/*
 * The WHATWG Encoding Standard's labels (lowercase), GBK folded into
 * gb18030 (its decoder is gb18030's), plus the UTF-32 names ICU detection
 * and BOMs give.  The "replacement" labels and x-user-defined are left out
 * on purpose: they fall through to the next source.
 */
static const struct {
	const char *label;
	unsigned char cs;
} labels[] = {
	{ "unicode-1-1-utf-8", CS_UTF8 }, { "unicode11utf8", CS_UTF8 },
	{ "unicode20utf8", CS_UTF8 }, { "utf-8", CS_UTF8 }, { "utf8", CS_UTF8 },
	{ "x-unicode20utf8", CS_UTF8 },
	{ "866", CS_IBM866 }, { "cp866", CS_IBM866 }, { "csibm866", CS_IBM866 },
	{ "ibm866", CS_IBM866 },
	{ "csisolatin2", CS_8859_2 }, { "iso-8859-2", CS_8859_2 },
	{ "iso-ir-101", CS_8859_2 }, { "iso8859-2", CS_8859_2 },
	{ "iso88592", CS_8859_2 }, { "iso_8859-2", CS_8859_2 },
	{ "iso_8859-2:1987", CS_8859_2 }, { "l2", CS_8859_2 }, { "latin2", CS_8859_2 },
	{ "csisolatin3", CS_8859_3 }, { "iso-8859-3", CS_8859_3 },
	{ "iso-ir-109", CS_8859_3 }, { "iso8859-3", CS_8859_3 },
	{ "iso88593", CS_8859_3 }, { "iso_8859-3", CS_8859_3 },
	{ "iso_8859-3:1988", CS_8859_3 }, { "l3", CS_8859_3 }, { "latin3", CS_8859_3 },
	{ "csisolatin4", CS_8859_4 }, { "iso-8859-4", CS_8859_4 },
	{ "iso-ir-110", CS_8859_4 }, { "iso8859-4", CS_8859_4 },
	{ "iso88594", CS_8859_4 }, { "iso_8859-4", CS_8859_4 },
	{ "iso_8859-4:1988", CS_8859_4 }, { "l4", CS_8859_4 }, { "latin4", CS_8859_4 },
	{ "csisolatincyrillic", CS_8859_5 }, { "cyrillic", CS_8859_5 },
	{ "iso-8859-5", CS_8859_5 }, { "iso-ir-144", CS_8859_5 },
	{ "iso8859-5", CS_8859_5 }, { "iso88595", CS_8859_5 },
	{ "iso_8859-5", CS_8859_5 }, { "iso_8859-5:1988", CS_8859_5 },
	{ "arabic", CS_8859_6 }, { "asmo-708", CS_8859_6 },
	{ "csiso88596e", CS_8859_6 }, { "csiso88596i", CS_8859_6 },
	{ "csisolatinarabic", CS_8859_6 }, { "ecma-114", CS_8859_6 },
	{ "iso-8859-6", CS_8859_6 }, { "iso-8859-6-e", CS_8859_6 },
	{ "iso-8859-6-i", CS_8859_6 }, { "iso-ir-127", CS_8859_6 },
	{ "iso8859-6", CS_8859_6 }, { "iso88596", CS_8859_6 },
	{ "iso_8859-6", CS_8859_6 }, { "iso_8859-6:1987", CS_8859_6 },
	{ "csisolatingreek", CS_8859_7 }, { "ecma-118", CS_8859_7 },
	{ "elot_928", CS_8859_7 }, { "greek", CS_8859_7 }, { "greek8", CS_8859_7 },
	{ "iso-8859-7", CS_8859_7 }, { "iso-ir-126", CS_8859_7 },
	{ "iso8859-7", CS_8859_7 }, { "iso88597", CS_8859_7 },
	{ "iso_8859-7", CS_8859_7 }, { "iso_8859-7:1987", CS_8859_7 },
	{ "sun_eu_greek", CS_8859_7 },
	{ "csiso88598e", CS_8859_8 }, { "csisolatinhebrew", CS_8859_8 },
	{ "hebrew", CS_8859_8 }, { "iso-8859-8", CS_8859_8 },
	{ "iso-8859-8-e", CS_8859_8 }, { "iso-ir-138", CS_8859_8 },
	{ "iso8859-8", CS_8859_8 }, { "iso88598", CS_8859_8 },
	{ "iso_8859-8", CS_8859_8 }, { "iso_8859-8:1988", CS_8859_8 },
	{ "visual", CS_8859_8 },
	{ "csiso88598i", CS_8859_8I }, { "iso-8859-8-i", CS_8859_8I },
	{ "logical", CS_8859_8I },
	{ "csisolatin6", CS_8859_10 }, { "iso-8859-10", CS_8859_10 },
	{ "iso-ir-157", CS_8859_10 }, { "iso8859-10", CS_8859_10 },
	{ "iso885910", CS_8859_10 }, { "l6", CS_8859_10 }, { "latin6", CS_8859_10 },
	{ "iso-8859-13", CS_8859_13 }, { "iso8859-13", CS_8859_13 },
	{ "iso885913", CS_8859_13 },
	{ "iso-8859-14", CS_8859_14 }, { "iso8859-14", CS_8859_14 },
	{ "iso885914", CS_8859_14 },
	{ "csisolatin9", CS_8859_15 }, { "iso-8859-15", CS_8859_15 },
	{ "iso8859-15", CS_8859_15 }, { "iso885915", CS_8859_15 },
	{ "iso_8859-15", CS_8859_15 }, { "l9", CS_8859_15 },
	{ "iso-8859-16", CS_8859_16 },
	{ "cskoi8r", CS_KOI8R }, { "koi", CS_KOI8R }, { "koi8", CS_KOI8R },
	{ "koi8-r", CS_KOI8R }, { "koi8_r", CS_KOI8R },
	{ "koi8-ru", CS_KOI8U }, { "koi8-u", CS_KOI8U },
	{ "csmacintosh", CS_MAC }, { "mac", CS_MAC }, { "macintosh", CS_MAC },
	{ "x-mac-roman", CS_MAC },
	{ "dos-874", CS_874 }, { "iso-8859-11", CS_874 }, { "iso8859-11", CS_874 },
	{ "iso885911", CS_874 }, { "tis-620", CS_874 }, { "windows-874", CS_874 },
	{ "cp1250", CS_1250 }, { "windows-1250", CS_1250 }, { "x-cp1250", CS_1250 },
	{ "cp1251", CS_1251 }, { "windows-1251", CS_1251 }, { "x-cp1251", CS_1251 },
	{ "ansi_x3.4-1968", CS_1252 }, { "ascii", CS_1252 }, { "cp1252", CS_1252 },
	{ "cp819", CS_1252 }, { "csisolatin1", CS_1252 }, { "ibm819", CS_1252 },
	{ "iso-8859-1", CS_1252 }, { "iso-ir-100", CS_1252 },
	{ "iso8859-1", CS_1252 }, { "iso88591", CS_1252 }, { "iso_8859-1", CS_1252 },
	{ "iso_8859-1:1987", CS_1252 }, { "l1", CS_1252 }, { "latin1", CS_1252 },
	{ "us-ascii", CS_1252 }, { "windows-1252", CS_1252 }, { "x-cp1252", CS_1252 },
	{ "cp1253", CS_1253 }, { "windows-1253", CS_1253 }, { "x-cp1253", CS_1253 },
	{ "cp1254", CS_1254 }, { "csisolatin5", CS_1254 }, { "iso-8859-9", CS_1254 },
	{ "iso-ir-148", CS_1254 }, { "iso8859-9", CS_1254 }, { "iso88599", CS_1254 },
	{ "iso_8859-9", CS_1254 }, { "iso_8859-9:1989", CS_1254 }, { "l5", CS_1254 },
	{ "latin5", CS_1254 }, { "windows-1254", CS_1254 }, { "x-cp1254", CS_1254 },
	{ "cp1255", CS_1255 }, { "windows-1255", CS_1255 }, { "x-cp1255", CS_1255 },
	{ "cp1256", CS_1256 }, { "windows-1256", CS_1256 }, { "x-cp1256", CS_1256 },
	{ "cp1257", CS_1257 }, { "windows-1257", CS_1257 }, { "x-cp1257", CS_1257 },
	{ "cp1258", CS_1258 }, { "windows-1258", CS_1258 }, { "x-cp1258", CS_1258 },
	{ "x-mac-cyrillic", CS_MACCYR }, { "x-mac-ukrainian", CS_MACCYR },
	{ "chinese", CS_GB18030 }, { "csgb2312", CS_GB18030 },
	{ "csiso58gb231280", CS_GB18030 }, { "gb2312", CS_GB18030 },
	{ "gb_2312", CS_GB18030 }, { "gb_2312-80", CS_GB18030 }, { "gbk", CS_GB18030 },
	{ "iso-ir-58", CS_GB18030 }, { "x-gbk", CS_GB18030 }, { "gb18030", CS_GB18030 },
	{ "big5", CS_BIG5 }, { "big5-hkscs", CS_BIG5 }, { "cn-big5", CS_BIG5 },
	{ "csbig5", CS_BIG5 }, { "x-x-big5", CS_BIG5 },
	{ "cseucpkdfmtjapanese", CS_EUCJP }, { "euc-jp", CS_EUCJP },
	{ "x-euc-jp", CS_EUCJP },
	{ "csiso2022jp", CS_2022JP }, { "iso-2022-jp", CS_2022JP },
	{ "csshiftjis", CS_SJIS }, { "ms932", CS_SJIS }, { "ms_kanji", CS_SJIS },
	{ "shift-jis", CS_SJIS }, { "shift_jis", CS_SJIS }, { "sjis", CS_SJIS },
	{ "windows-31j", CS_SJIS }, { "x-sjis", CS_SJIS },
	{ "cseuckr", CS_EUCKR }, { "csksc56011987", CS_EUCKR }, { "euc-kr", CS_EUCKR },
	{ "iso-ir-149", CS_EUCKR }, { "korean", CS_EUCKR },
	{ "ks_c_5601-1987", CS_EUCKR }, { "ks_c_5601-1989", CS_EUCKR },
	{ "ksc5601", CS_EUCKR }, { "ksc_5601", CS_EUCKR }, { "windows-949", CS_EUCKR },
	{ "unicodefffe", CS_UTF16BE }, { "utf-16be", CS_UTF16BE },
	{ "csunicode", CS_UTF16LE }, { "iso-10646-ucs-2", CS_UTF16LE },
	{ "ucs-2", CS_UTF16LE }, { "unicode", CS_UTF16LE },
	{ "unicodefeff", CS_UTF16LE }, { "utf-16", CS_UTF16LE },
	{ "utf-16le", CS_UTF16LE },
	{ "utf-32be", CS_UTF32BE }, { "utf-32le", CS_UTF32LE },
};

#define DEFAULT_MAX (32u << 20)
/* int32_t lengths in ICU: 2 UTF-16 units per byte must stay below 2^31. */
#define HARD_MAX (512u << 20)
#define META_SCAN 4096
#define DETECT_SCAN 65536	/* raw bytes shown to ICU */
#define DETECT_SAMPLE 16384	/* or: bytes of words with a byte >= 0x80 */
#define NFC_CHUNK 16384
#define NCNV 4

struct tm_charset_ctx {
	size_t max;
	UCharsetDetector *det;
	const UNormalizer2 *nfc;
	struct {
		int cs;
		UConverter *cnv;
	} cnv[NCNV];
	unsigned cnv_next;
	uint64_t replaced;	/* counted by the ICU callback */
	UChar *u;		/* decoded text */
	size_t ucap;
	UChar *v;		/* normalised text */
	size_t vcap;
	struct tm_buf alt;	/* a second conversion, when retrying */
	struct tm_buf sample;	/* what ICU detection is shown */
};

static bool is_space(unsigned char b)
{
	return b == ' ' || b == '\t' || b == '\n' || b == '\f' || b == '\r';
}

static unsigned char lower(unsigned char b)
{
	return b >= 'A' && b <= 'Z' ? b + 32 : b;
}

static bool is_alpha(unsigned char b)
{
	return lower(b) >= 'a' && lower(b) <= 'z';
}

static bool is_unicode(int cs)
{
	return cs == CS_UTF16BE || cs == CS_UTF16LE || cs == CS_UTF32BE || cs == CS_UTF32LE;
}

static int lookup(const char *s, size_t n)
{
	char key[32];
	size_t i;

	while (n && is_space((unsigned char)*s))
		s++, n--;
	while (n && is_space((unsigned char)s[n - 1]))
		n--;
	if (!n || n >= sizeof(key))
		return -1;
	for (i = 0; i < n; i++)
		key[i] = (char)lower((unsigned char)s[i]);
	key[n] = '\0';
	for (i = 0; i < TM_ARRAY_SIZE(labels); i++)
		if (!strcmp(labels[i].label, key))
			return labels[i].cs;
	return -1;
}

const char *tm_charset_canonical(const char *label, size_t len)
{
	int cs = lookup(label, len);

	return cs < 0 ? NULL : charsets[cs].name;
}

const char *tm_charset_source_name(enum tm_charset_source s)
{
	static const char *const names[] = { "default", "bom", "http", "meta", "detected" };

	return (unsigned)s < TM_ARRAY_SIZE(names) ? names[s] : "unknown";
}

static const char *put_name(int cs, char *buf, size_t bufsz)
{
	if (cs < 0 || !bufsz)
		return NULL;
	snprintf(buf, bufsz, "%s", charsets[cs].name);
	return buf;
}

/*
 * WHATWG HTML "extracting a character encoding from a meta element", also
 * used for the HTTP Content-Type value: the label after "charset" "=",
 * quoted or up to white space or ';'.  Returns the charset or -1.
 */
static int charset_param(const char *s, size_t n)
{
	size_t i = 0, j;

	for (;;) {
		for (; i + 7 <= n; i++) {
			for (j = 0; j < 7 && lower((unsigned char)s[i + j]) == "charset"[j]; j++)
				;
			if (j == 7)
				break;
		}
		if (i + 7 > n)
			return -1;
		i += 7;
		while (i < n && is_space((unsigned char)s[i]))
			i++;
		if (i >= n)
			return -1;
		if (s[i] != '=')
			continue;
		i++;
		while (i < n && is_space((unsigned char)s[i]))
			i++;
		if (i >= n)
			return -1;
		if (s[i] == '"' || s[i] == '\'') {
			const char *q = memchr(s + i + 1, s[i], n - i - 1);

			return q ? lookup(s + i + 1, (size_t)(q - (s + i + 1))) : -1;
		}
		for (j = i; j < n && !is_space((unsigned char)s[j]) && s[j] != ';'; j++)
			;
		return lookup(s + i, j - i);
	}
}

const char *tm_charset_http(const char *content_type, char *buf, size_t bufsz)
{
	if (!content_type)
		return NULL;
	return put_name(charset_param(content_type, strlen(content_type)), buf, bufsz);
}

/* An attribute as the prescan sees it; long names/values are cut. */
struct attr {
	char name[32];
	char value[512];
	size_t nlen, vlen;
};

static void attr_add(char *s, size_t *len, size_t cap, unsigned char b)
{
	if (*len + 1 < cap)
		s[(*len)++] = (char)lower(b);
	s[*len] = '\0';
}

/* WHATWG HTML "get an attribute": true with *a filled, false at '>' or the end. */
static bool get_attr(const unsigned char *p, size_t n, size_t *pos, struct attr *a)
{
	size_t i = *pos;
	unsigned char q;

	a->nlen = a->vlen = 0;
	a->name[0] = a->value[0] = '\0';
	while (i < n && (is_space(p[i]) || p[i] == '/'))
		i++;
	if (i >= n || p[i] == '>')
		goto none;
	for (;; i++) {
		if (i >= n)
			goto none;
		if (p[i] == '=' && a->nlen) {
			i++;
			goto value;
		}
		if (is_space(p[i]))
			break;
		if (p[i] == '/' || p[i] == '>')
			goto done;
		attr_add(a->name, &a->nlen, sizeof(a->name), p[i]);
	}
	while (i < n && is_space(p[i]))
		i++;
	if (i >= n || p[i] != '=')
		goto done;
	i++;
value:
	while (i < n && is_space(p[i]))
		i++;
	if (i >= n)
		goto none;
	if (p[i] == '"' || p[i] == '\'') {
		q = p[i++];
		for (; i < n && p[i] != q; i++)
			attr_add(a->value, &a->vlen, sizeof(a->value), p[i]);
		if (i >= n)
			goto none;
		i++;
		goto done;
	}
	if (p[i] == '>')
		goto done;
	for (; i < n && !is_space(p[i]) && p[i] != '>'; i++)
		attr_add(a->value, &a->vlen, sizeof(a->value), p[i]);
done:
	*pos = i;
	return true;
none:
	*pos = i;
	return false;
}

/* The attributes of one <meta>: the charset it declares or -1. */
static int meta_attrs(const unsigned char *p, size_t n, size_t *pos)
{
	struct attr a;
	bool seen_he = false, seen_content = false, seen_charset = false, got_pragma = false;
	int need_pragma = -1;	/* -1 null, 0 false, 1 true */
	int cs = -1;		/* -1 null, -2 failure */

	while (get_attr(p, n, pos, &a)) {
		if (!strcmp(a.name, "http-equiv")) {
			if (seen_he)
				continue;
			seen_he = true;
			if (!strcmp(a.value, "content-type"))
				got_pragma = true;
		} else if (!strcmp(a.name, "content")) {
			if (seen_content)
				continue;
			seen_content = true;
			if (cs == -1) {
				int r = charset_param(a.value, a.vlen);

				if (r >= 0) {
					cs = r;
					need_pragma = 1;
				}
			}
		} else if (!strcmp(a.name, "charset")) {
			if (seen_charset)
				continue;
			seen_charset = true;
			cs = lookup(a.value, a.vlen);
			if (cs < 0)
				cs = -2;
			need_pragma = 0;
		}
	}
	if (need_pragma < 0 || (need_pragma == 1 && !got_pragma) || cs < 0)
		return -1;
	return is_unicode(cs) ? CS_UTF8 : cs;
}

static size_t find(const unsigned char *p, size_t n, size_t from, const char *s)
{
	size_t k = strlen(s);

	for (; from + k <= n; from++)
		if (!memcmp(p + from, s, k))
			return from;
	return SIZE_MAX;
}

/* WHATWG HTML "prescan a byte stream to determine its encoding". */
static int prescan(const unsigned char *p, size_t n)
{
	size_t i = 0, k;
	struct attr a;
	int cs;

	n = TM_MIN(n, META_SCAN);
	while (i < n) {
		if (p[i] != '<') {
			i++;
			continue;
		}
		if (n - i >= 4 && !memcmp(p + i, "<!--", 4)) {
			/* "<!-->" closes at once: "-->" may reuse the dashes */
			k = find(p, n, i + 2, "-->");
			if (k == SIZE_MAX)
				return -1;
			i = k + 3;
		} else if (n - i >= 6 && lower(p[i + 1]) == 'm' && lower(p[i + 2]) == 'e' &&
			   lower(p[i + 3]) == 't' && lower(p[i + 4]) == 'a' &&
			   (is_space(p[i + 5]) || p[i + 5] == '/')) {
			i += 6;
			cs = meta_attrs(p, n, &i);
			if (cs >= 0)
				return cs;
			i++;
		} else if (n - i >= 2 && (is_alpha(p[i + 1]) ||
			   (n - i >= 3 && p[i + 1] == '/' && is_alpha(p[i + 2])))) {
			for (i++; i < n && !is_space(p[i]) && p[i] != '>'; i++)
				;
			while (get_attr(p, n, &i, &a))
				;
			i++;
		} else if (n - i >= 2 && (p[i + 1] == '!' || p[i + 1] == '/' || p[i + 1] == '?')) {
			k = find(p, n, i + 2, ">");
			if (k == SIZE_MAX)
				return -1;
			i = k + 1;
		} else {
			i++;
		}
	}
	return -1;
}

const char *tm_charset_html_meta(const char *bytes, size_t len, char *buf, size_t bufsz)
{
	return put_name(prescan((const unsigned char *)bytes, len), buf, bufsz);
}

/* What one pass over the bytes says about them as UTF-8. */
struct u8scan {
	size_t invalid;		/* maximal ill-formed subsequences */
	size_t nonascii;	/* bytes >= 0x80 */
	size_t multi;		/* valid multi-byte sequences */
	size_t ctrl;		/* C0 controls other than TAB LF CR */
	size_t first_hi;	/* offset of the first code point >= U+0300, or n */
};

/*
 * Length of the valid UTF-8 sequence at p (Unicode Table 3-7), or 0 with
 * *bad set to the length of the maximal ill-formed subpart (ICU and the
 * WHATWG decoder replace exactly that with one U+FFFD).
 */
static size_t u8_seq(const unsigned char *p, size_t n, size_t *bad)
{
	unsigned char b = p[0], lo = 0x80, hi = 0xbf;
	size_t need, k;

	*bad = 1;
	if (b < 0xc2 || b > 0xf4)
		return 0;
	if (b < 0xe0) {
		need = 2;
	} else if (b < 0xf0) {
		need = 3;
		if (b == 0xe0)
			lo = 0xa0;
		else if (b == 0xed)
			hi = 0x9f;
	} else {
		need = 4;
		if (b == 0xf0)
			lo = 0x90;
		else if (b == 0xf4)
			hi = 0x8f;
	}
	if (n < 2 || p[1] < lo || p[1] > hi)
		return 0;
	for (k = 2; k < need; k++) {
		if (k >= n || (p[k] & 0xc0) != 0x80) {
			*bad = k;
			return 0;
		}
	}
	return need;
}

static bool is_ctrl(unsigned char b)
{
	return b < 0x20 && b != '\t' && b != '\n' && b != '\r';
}

#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

static void scan_utf8(const unsigned char *p, size_t n, struct u8scan *s)
{
	size_t i = 0, k, bad;
	uint64_t w;

	memset(s, 0, sizeof(*s));
	s->first_hi = n;
	while (i < n) {
		/* eight ASCII bytes, none below 0x20 (exact "has less" test) */
		if (n - i >= 8) {
			memcpy(&w, p + i, 8);
			if (!(w & HIGHS) && !((w - ONES * 0x20) & ~w & HIGHS)) {
				i += 8;
				continue;
			}
		}
		if (p[i] < 0x80) {
			s->ctrl += is_ctrl(p[i]);
			i++;
			continue;
		}
		k = u8_seq(p + i, n - i, &bad);
		if (k) {
			if (p[i] >= 0xcc && s->first_hi == n)
				s->first_hi = i;	/* 0xcc 0x80 is U+0300 */
			s->nonascii += k;
			s->multi++;
			i += k;
		} else {
			s->nonascii += bad;
			s->invalid++;
			i += bad;
		}
	}
}

struct tm_charset_ctx *tm_charset_new(void)
{
	struct tm_charset_ctx *c = tm_xcalloc(1, sizeof(*c));
	UErrorCode e = U_ZERO_ERROR;

	c->max = DEFAULT_MAX;
	tm_buf_init(&c->alt, 0);
	tm_buf_init(&c->sample, 0);
	c->det = ucsdet_open(&e);
	c->nfc = unorm2_getNFCInstance(&e);
	if (U_FAILURE(e)) {
		tm_charset_free(c);
		return NULL;
	}
	return c;
}

void tm_charset_free(struct tm_charset_ctx *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < NCNV; i++)
		if (c->cnv[i].cnv)
			ucnv_close(c->cnv[i].cnv);
	if (c->det)
		ucsdet_close(c->det);
	free(c->u);
	free(c->v);
	tm_buf_release(&c->alt);
	tm_buf_release(&c->sample);
	free(c);
}

void tm_charset_set_max(struct tm_charset_ctx *c, size_t max)
{
	c->max = TM_MIN(max, (size_t)HARD_MAX);
}

static void ensure_u(UChar **u, size_t *cap, size_t n)
{
	if (*cap < n) {
		*cap = TM_MAX(n, *cap * 2);
		free(*u);
		*u = tm_xmalloc(*cap * sizeof(UChar));
	}
}

/* Counts every replacement and always writes U+FFFD (not the SBCS U+001A). */
static void U_CALLCONV count_cb(const void *ctx, UConverterToUnicodeArgs *args,
				const char *units, int32_t len,
				UConverterCallbackReason reason, UErrorCode *e)
{
	static const UChar fffd = 0xfffd;

	if (reason != UCNV_UNASSIGNED && reason != UCNV_ILLEGAL && reason != UCNV_IRREGULAR)
		return;
	((struct tm_charset_ctx *)(uintptr_t)ctx)->replaced++;
	*e = U_ZERO_ERROR;
	ucnv_cbToUWriteUChars(args, &fffd, 1, 0, e);
}

static UConverter *converter(struct tm_charset_ctx *c, int cs)
{
	UErrorCode e = U_ZERO_ERROR;
	unsigned slot;
	UConverter *cnv;

	for (slot = 0; slot < NCNV; slot++)
		if (c->cnv[slot].cnv && c->cnv[slot].cs == cs)
			return c->cnv[slot].cnv;
	cnv = ucnv_open(charsets[cs].icu, &e);
	if (U_FAILURE(e))
		return NULL;
	ucnv_setToUCallBack(cnv, count_cb, c, NULL, NULL, &e);
	if (U_FAILURE(e)) {
		ucnv_close(cnv);
		return NULL;
	}
	slot = c->cnv_next++ % NCNV;
	if (c->cnv[slot].cnv)
		ucnv_close(c->cnv[slot].cnv);
	c->cnv[slot].cnv = cnv;
	c->cnv[slot].cs = cs;
	return cnv;
}

static bool is_sep(unsigned char b)
{
	return is_space(b) || b == '<' || b == '>';
}

/*
 * ICU detection.  ICU's n-gram recognisers for single-byte charsets are
 * swamped by the ASCII of markup, scripts and styles (a cp1251 page scores
 * ISO-8859-1 27, windows-1251 6), so ICU is shown only the words that hold
 * a byte >= 0x80, up to 16 KiB of them (ICU's cost grows with what it is
 * shown; detection is still the slowest path, 20-30 MB/s of page): a cut between words never splits a
 * multi-byte character, as no legacy charset has white space, '<' or '>'
 * as a trail byte.  With no such word (ISO-2022-JP, ASCII) it sees the
 * first 64 KiB with its own tag filter.  UTF-16/32 guesses for bytes with
 * no NUL in the first 1 KiB are skipped.  Returns the best match we can
 * name, or -1.
 */
static int detect(struct tm_charset_ctx *c, const char *p, size_t n, int *confidence)
{
	const unsigned char *u = (const unsigned char *)p;
	UErrorCode e = U_ZERO_ERROR;
	const UCharsetMatch **m;
	bool nul = memchr(p, 0, TM_MIN(n, 1024)) != NULL;
	size_t i = 0, j;
	int32_t nm, k;
	int cs;

	if (!c->det || !n)
		return -1;
	tm_buf_reset(&c->sample);
	while (i < n) {
		bool hi = false;

		while (i < n && is_sep(u[i]))
			i++;
		for (j = i; j < n && !is_sep(u[j]); j++)
			hi |= u[j] >= 0x80;
		if (hi) {
			if (c->sample.len + (j - i) + 1 > DETECT_SAMPLE)
				break;
			tm_buf_add(&c->sample, p + i, j - i);
			tm_buf_addch(&c->sample, ' ');
		}
		i = j;
	}
	ucsdet_enableInputFilter(c->det, !c->sample.len);
	if (c->sample.len)
		ucsdet_setText(c->det, c->sample.buf, (int32_t)c->sample.len, &e);
	else
		ucsdet_setText(c->det, p, (int32_t)TM_MIN(n, DETECT_SCAN), &e);
	m = ucsdet_detectAll(c->det, &nm, &e);
	if (U_FAILURE(e))
		return -1;
	for (k = 0; k < nm; k++) {
		const char *name = ucsdet_getName(m[k], &e);

		if (U_FAILURE(e))
			return -1;
		cs = lookup(name, strlen(name));
		if (cs >= 0 && (nul || !is_unicode(cs))) {
			*confidence = ucsdet_getConfidence(m[k], &e);
			return cs;
		}
	}
	return -1;
}

/*
 * Drops C0 controls but TAB LF CR (FF becomes a space) and every U+FEFF
 * that would come first in the output.
 */
static size_t filter_u16(UChar *u, size_t n, uint64_t *dropped)
{
	size_t i, j = 0;

	for (i = 0; i < n; i++) {
		if (u[i] == 0xfeff && !j)
			continue;
		if (u[i] < 0x20 && is_ctrl((unsigned char)u[i])) {
			(*dropped)++;
			if (u[i] == '\f')
				u[j++] = ' ';
			continue;
		}
		u[j++] = u[i];
	}
	return j;
}

static int icu_fail(struct tm_err *err, UErrorCode e, const char *what)
{
	if (e == U_MEMORY_ALLOCATION_ERROR)
		return tm_err_set(err, TM_ENOMEM, NULL, TM_ERR_NO_OFFSET, 0, "%s: %s",
				  what, u_errorName(e));
	return tm_err_set(err, TM_EFORMAT, NULL, TM_ERR_NO_OFFSET, 0, "%s: %s", what,
			  u_errorName(e));
}

/* u[0..n) (controls dropped) to NFC UTF-8 in out (replaced). */
static int finish_u16(struct tm_charset_ctx *c, UChar *u, size_t n, struct tm_buf *out,
		      struct tm_charset_info *info, struct tm_err *err)
{
	UErrorCode e = U_ZERO_ERROR;
	const UChar *r = u;
	int32_t span, rlen, olen;

	n = filter_u16(u, n, &info->dropped);
	rlen = (int32_t)n;
	span = unorm2_spanQuickCheckYes(c->nfc, u, (int32_t)n, &e);
	if (U_FAILURE(e))
		return icu_fail(err, e, "NFC quick check");
	if ((size_t)span < n) {
		size_t need = n + n / 2 + 64;

		for (;;) {
			ensure_u(&c->v, &c->vcap, need);
			memcpy(c->v, u, (size_t)span * sizeof(UChar));
			e = U_ZERO_ERROR;
			rlen = unorm2_normalizeSecondAndAppend(c->nfc, c->v, span,
							       (int32_t)c->vcap, u + span,
							       (int32_t)n - span, &e);
			if (e != U_BUFFER_OVERFLOW_ERROR)
				break;
			need = (size_t)rlen + 64;
		}
		if (U_FAILURE(e))
			return icu_fail(err, e, "NFC");
		r = c->v;
		info->normalized = (size_t)rlen != n ||
			memcmp(c->v, u, n * sizeof(UChar)) != 0;
	}
	tm_buf_reset(out);
	tm_buf_grow(out, (size_t)rlen * 3);
	e = U_ZERO_ERROR;
	u_strToUTF8WithSub(out->buf, (int32_t)(out->alloc - 1), &olen, r, rlen, 0xfffd,
			   NULL, &e);
	if (U_FAILURE(e))
		return icu_fail(err, e, "UTF-16 to UTF-8");
	tm_buf_setlen(out, (size_t)olen);
	return 0;
}

/* Converts with an ICU converter; info->replaced gets the count. */
static int convert(struct tm_charset_ctx *c, int cs, const char *p, size_t n,
		   struct tm_buf *out, struct tm_charset_info *info, struct tm_err *err)
{
	UConverter *cnv = converter(c, cs);
	UErrorCode e;
	const char *src = p;
	UChar *t;
	size_t done = 0;

	if (!cnv)
		return tm_err_set(err, TM_EUNSUP, NULL, TM_ERR_NO_OFFSET, 0,
				  "ICU cannot open charset '%s'", charsets[cs].name);
	ucnv_resetToUnicode(cnv);
	c->replaced = 0;
	ensure_u(&c->u, &c->ucap, n + n / 2 + 64);
	for (;;) {
		t = c->u + done;
		e = U_ZERO_ERROR;
		ucnv_toUnicode(cnv, &t, c->u + c->ucap, &src, p + n, NULL, true, &e);
		done = (size_t)(t - c->u);
		if (e != U_BUFFER_OVERFLOW_ERROR)
			break;
		/* grow, keeping what was decoded */
		c->ucap *= 2;
		c->u = tm_xrealloc(c->u, c->ucap * sizeof(UChar));
	}
	if (U_FAILURE(e))
		return icu_fail(err, e, charsets[cs].name);
	info->replaced = c->replaced;
	info->fast = false;
	return finish_u16(c, c->u, done, out, info, err);
}

/*
 * Whether valid UTF-8 p[0..n) is NFC, checking from `from` (everything
 * below U+0300 is NFC_QC=Yes with ccc 0, so only the code point before the
 * first one at or above it can start an interaction).  Works in chunks
 * that end before a code point with a normalisation boundary, so that the
 * UTF-16 buffer stays small and in cache.
 */
static bool utf8_is_nfc(struct tm_charset_ctx *c, const char *p, size_t n, size_t from)
{
	UErrorCode e = U_ZERO_ERROR;
	size_t start = from, end;
	int32_t ulen, span;

	if (from >= n)
		return true;
	if (start) {
		start--;
		while (start && ((unsigned char)p[start] & 0xc0) == 0x80)
			start--;
	}
	ensure_u(&c->u, &c->ucap, NFC_CHUNK + 8);
	while (start < n) {
		end = start + NFC_CHUNK;
		if (end >= n) {
			end = n;
		} else {
			int tries = 0;

			for (;;) {
				int32_t k = 0;
				UChar32 cp;

				while (end > start && ((unsigned char)p[end] & 0xc0) == 0x80)
					end--;
				U8_NEXT(p + end, k, (int32_t)(n - end), cp);
				if (cp >= 0 && unorm2_hasBoundaryBefore(c->nfc, cp))
					break;
				if (++tries > 64 || end <= start + 1)
					return false;
				end--;
			}
			if (end <= start)
				return false;
		}
		e = U_ZERO_ERROR;
		u_strFromUTF8(c->u, (int32_t)c->ucap, &ulen, p + start, (int32_t)(end - start), &e);
		if (U_FAILURE(e))
			return false;
		span = unorm2_spanQuickCheckYes(c->nfc, c->u, ulen, &e);
		if (U_FAILURE(e) || span < ulen)
			return false;
		start = end;
	}
	return true;
}

static bool is_bom8(const char *p, size_t n)
{
	return n >= 3 && !memcmp(p, "\xef\xbb\xbf", 3);
}

/*
 * Valid UTF-8: copy through (dropping controls and leading U+FEFFs), or
 * normalise through UTF-16.
 */
static int from_utf8(struct tm_charset_ctx *c, const char *p, size_t n,
		     const struct u8scan *s, struct tm_buf *out,
		     struct tm_charset_info *info, struct tm_err *err)
{
	size_t from = s->first_hi;
	UErrorCode e = U_ZERO_ERROR;
	int32_t ulen;

	tm_buf_reset(out);
	if (s->ctrl) {
		size_t i;

		tm_buf_grow(out, n);
		for (i = 0; i < n; i++) {
			unsigned char b = (unsigned char)p[i];

			if (i == s->first_hi)
				from = out->len;
			if (!out->len && is_bom8(p + i, n - i)) {
				i += 2;
				continue;
			}
			if (is_ctrl(b)) {
				info->dropped++;
				if (b == '\f')
					out->buf[out->len++] = ' ';
				continue;
			}
			out->buf[out->len++] = (char)b;
		}
		tm_buf_setlen(out, out->len);
		if (s->first_hi >= n)
			from = out->len;
		p = out->buf;
		n = out->len;
	} else if (is_bom8(p, n)) {
		size_t k = 0;

		while (is_bom8(p + k, n - k))
			k += 3;
		p += k;
		n -= k;
		from = from >= k ? from - k : 0;
	}
	if (utf8_is_nfc(c, p, n, from)) {
		if (!s->ctrl)
			tm_buf_add(out, p, n);
		info->fast = true;
		return 0;
	}
	/* not known to be NFC: the slow path through UTF-16 */
	ensure_u(&c->u, &c->ucap, n + 64);
	u_strFromUTF8(c->u, (int32_t)c->ucap, &ulen, p, (int32_t)n, &e);
	if (U_FAILURE(e))
		return icu_fail(err, e, "UTF-8 to UTF-16");
	info->fast = false;
	return finish_u16(c, c->u, (size_t)ulen, out, info, err);
}

static void set_info(struct tm_charset_info *info, int cs, enum tm_charset_source src,
		     int confidence)
{
	snprintf(info->charset, sizeof(info->charset), "%s", charsets[cs].name);
	info->source = src;
	info->confidence = confidence;
}

static int bom(const unsigned char *p, size_t n, size_t *skip)
{
	if (n >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf)
		return *skip = 3, CS_UTF8;
	if (n >= 4 && p[0] == 0xff && p[1] == 0xfe && !p[2] && !p[3])
		return *skip = 4, CS_UTF32LE;
	if (n >= 4 && !p[0] && !p[1] && p[2] == 0xfe && p[3] == 0xff)
		return *skip = 4, CS_UTF32BE;
	if (n >= 2 && p[0] == 0xff && p[1] == 0xfe)
		return *skip = 2, CS_UTF16LE;
	if (n >= 2 && p[0] == 0xfe && p[1] == 0xff)
		return *skip = 2, CS_UTF16BE;
	return -1;
}

int tm_charset_to_utf8(struct tm_charset_ctx *c, const char *bytes, size_t len,
		       const char *content_type, struct tm_buf *out,
		       struct tm_charset_info *info, struct tm_err *err)
{
	struct tm_charset_info dummy, alt;
	const unsigned char *u = (const unsigned char *)bytes;
	struct u8scan s;
	struct tm_buf swap;
	size_t skip = 0;
	int cs, d, conf = 0, rc;

	if (!info)
		info = &dummy;
	memset(info, 0, sizeof(*info));
	tm_buf_reset(out);
	if (len > c->max)
		return tm_err_set(err, TM_ETOOBIG, NULL, TM_ERR_NO_OFFSET, 0,
				  "page of %zu bytes is over the %zu-byte cap", len, c->max);

	if ((cs = bom(u, len, &skip)) >= 0) {
		set_info(info, cs, TM_CHARSET_BOM, 100);
		if (cs != CS_UTF8)
			return convert(c, cs, bytes + skip, len - skip, out, info, err);
	}
	bytes += skip;
	len -= skip;
	u += skip;
	scan_utf8(u, len, &s);
	if (cs >= 0)
		goto convert;

	if (content_type &&
	    (cs = charset_param(content_type, strlen(content_type))) >= 0) {
		/* UTF-16/32 claimed for bytes without a NUL: an ASCII-compatible page */
		if (is_unicode(cs) && !memchr(bytes, 0, TM_MIN(len, 1024)))
			cs = -1;
		else
			set_info(info, cs, TM_CHARSET_HTTP, 100);
	}
	if (cs < 0 && (cs = prescan(u, len)) >= 0)
		set_info(info, cs, TM_CHARSET_META, 100);

	if (cs >= 0) {
		if (cs != CS_UTF8 && !is_unicode(cs) && cs != CS_2022JP &&
		    !s.invalid && s.multi) {
			/* valid UTF-8 under a legacy label: mislabelled UTF-8 */
			snprintf(info->declared, sizeof(info->declared), "%s", charsets[cs].name);
			cs = CS_UTF8;
			set_info(info, cs, TM_CHARSET_DETECTED, 100);
		} else if (cs == CS_UTF8 && s.invalid > s.multi) {
			/* mostly not UTF-8 despite the label: ask ICU */
			d = detect(c, bytes, len, &conf);
			if (d >= 0 && d != CS_UTF8) {
				snprintf(info->declared, sizeof(info->declared), "UTF-8");
				cs = d;
				set_info(info, cs, TM_CHARSET_DETECTED, conf);
			}
		}
	} else if (!s.invalid) {
		cs = CS_UTF8;
		set_info(info, cs, TM_CHARSET_DETECTED, 100);
	} else if ((cs = detect(c, bytes, len, &conf)) >= 0) {
		set_info(info, cs, TM_CHARSET_DETECTED, conf);
	} else {
		cs = CS_1252;
		set_info(info, cs, TM_CHARSET_DEFAULT, 0);
	}

convert:
	if (cs == CS_UTF8 && !s.invalid)
		return from_utf8(c, bytes, len, &s, out, info, err);
	rc = convert(c, cs, bytes, len, out, info, err);
	if (rc || cs == CS_UTF8 || info->replaced * 100 <= s.nonascii ||
	    (info->source != TM_CHARSET_HTTP && info->source != TM_CHARSET_META))
		return rc;

	/*
	 * A declared legacy charset under which over 1% of the non-ASCII bytes
	 * were replaced: keep ICU detection's reading if it replaces fewer.
	 */
	d = detect(c, bytes, len, &conf);
	if (d < 0 || d == cs)
		return 0;
	memset(&alt, 0, sizeof(alt));
	if (d == CS_UTF8 && !s.invalid)
		rc = from_utf8(c, bytes, len, &s, &c->alt, &alt, NULL);
	else
		rc = convert(c, d, bytes, len, &c->alt, &alt, NULL);
	if (rc || alt.replaced >= info->replaced)
		return 0;
	snprintf(alt.declared, sizeof(alt.declared), "%s", charsets[cs].name);
	set_info(&alt, d, TM_CHARSET_DETECTED, conf);
	*info = alt;
	swap = *out;
	*out = c->alt;
	c->alt = swap;
	return 0;
}
