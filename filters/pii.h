/*
 * pii.h: finding e-mail addresses, IP addresses and phone numbers in text,
 * for the pii filter (which replaces them by placeholders) and its tests.
 *
 * One left-to-right pass over the bytes, no regular expressions; each item
 * found is a span of the text, spans are disjoint and in order.  The exact
 * rules, and the look-alikes they leave alone (versions, dates, times,
 * prices, ISBNs, MAC addresses, C++ "::"), are in docs/filters-safety.md;
 * in short:
 *  - e-mail: local@domain, the local part of letters, digits and ._%+-
 *    (at most 64, no leading, trailing or doubled dot), the domain two or
 *    more labels of letters, digits and '-' ending in a top-level domain
 *    of 2 to 24 letters that is not a file extension ("logo@2x.png");
 *    ASCII only;
 *  - IPv4: four decimal octets 0-255 without leading zeros, not part of a
 *    longer dotted number, not all of them 32 or less (section numbers
 *    "9.2.1.4", versions "2.6.32.1"), not a version ("version 1.2.3.4",
 *    "Chrome/120.0.0.0"); IPv6: the RFC 4291 text forms (with "::" and a
 *    final dotted quad); with public_only, only addresses a host on the
 *    internet could have (IPv4 outside the IANA special-purpose blocks,
 *    IPv6 global unicast 2000::/3 outside 2001:db8::/32);
 *  - phone: +CC with 8 to 15 digits in groups; North American
 *    (555) 123-4567, 555-123-4567, 555.123.4567, 1-555-123-4567; national
 *    numbers with a trunk 0, 9 to 12 digits in groups of 2 or more
 *    ("020 7946 0958", "01 23 45 67 89", "030/1234567"); never inside a
 *    longer run or sequence of numbers, never after "ISBN".
 * An item must stand alone: the byte before and after it is white space,
 * non-ASCII, or punctuation that ends or opens a phrase (it is not a
 * letter, digit, '_', '@', '$', '#', '|', and not '.', '-', '/' or ':'
 * followed by a digit where that would continue a number).
 *
 * Redacting the output again (default placeholders) finds nothing: no
 * rule looks further past a neighbouring item than its first byte, and a
 * phone number's groups stop before an e-mail or IP address.
 *
 * Ownership: nothing is allocated; the caller owns the text.
 * Depends on nothing but the C library.
 */
#ifndef TM_FILTER_PII_H
#define TM_FILTER_PII_H

#include <stdbool.h>
#include <stddef.h>

enum tm_pii_kind {
	TM_PII_EMAIL,
	TM_PII_IP,
	TM_PII_PHONE,
	TM_PII__COUNT
};

struct tm_pii_opts {
	bool email, ip, phone;	/* which kinds to find */
	bool public_only;	/* IP addresses: only public ones */
};

/*
 * Calls fn(arg, kind, off, len) for each item of text[0..len), in order;
 * spans never overlap.  Returns the number of items.
 */
size_t tm_pii_scan(const struct tm_pii_opts *o, const char *text, size_t len,
		   void (*fn)(void *arg, enum tm_pii_kind kind, size_t off, size_t len),
		   void *arg);

#endif
