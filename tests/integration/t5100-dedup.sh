#!/bin/bash
# tamis dedup url and exact: real documents extracted from real WARC files,
# re-captured and edited the ways crawls repeat pages; the URL rules one by
# one; stdin; stats; bad input.
. "$(dirname "$0")/lib.sh"

export LC_ALL=C.UTF-8
W=$DATA/warc

# ids FILE: the document ids, one per line
ids() { python3 -c 'import json,sys
for l in open(sys.argv[1]): print(json.loads(l)["id"])' "$1"; }

test_expect_success 'real documents: extracted from three WARC files' '
	tamis extract "$W/dolma/sample-0000.warc.gz" "$W/dolma/sample-0001.warc.gz" \
		"$W/resiliparse/warcfile.warc.gz" >docs 2>/dev/null &&
	test $(wc -l <docs) -ge 40
'

# A second, later crawl of every page: URL spelled another way, the date a
# year later, the text re-cased and re-punctuated; and a third, older one.
test_expect_success 'url: of three captures of each page the latest is kept, whatever the spelling' '
	python3 - <<-\EOF &&
	import json
	docs = [json.loads(l) for l in open("docs")]
	out = open("crawls", "w")
	for d in docs:
	    out.write(json.dumps(d, ensure_ascii=False) + "\n")
	for d in docs:
	    e = json.loads(json.dumps(d))
	    u = e["metadata"]["url"]
	    scheme, rest = u.split("://", 1)
	    host, _, path = rest.partition("/")
	    e["metadata"]["url"] = ("http" if scheme == "https" else "https") + "://" + host.upper() + \
	        (":443" if scheme == "http" else "") + "/" + path + ("&" if "?" in path else "?") + \
	        "utm_source=feed#comments"
	    e["metadata"]["warc_date"] = "2025" + e["metadata"]["warc_date"][4:]
	    e["id"] = "new-" + d["id"]
	    out.write(json.dumps(e, ensure_ascii=False) + "\n")
	for d in docs:
	    e = json.loads(json.dumps(d))
	    e["metadata"]["warc_date"] = "2019" + e["metadata"]["warc_date"][4:]
	    e["id"] = "old-" + d["id"]
	    out.write(json.dumps(e, ensure_ascii=False) + "\n")
	EOF
	n=$(wc -l <docs) &&
	tamis dedup url --stats st.sqlite crawls >kept &&
	ids kept >got && test $(wc -l <got) -le $n && test $(wc -l <got) -ge $((n / 2)) &&
	test $(grep -c "^new-" got) = $(wc -l <got) &&
	test "$(sqlite3 st.sqlite "select docs from removals where reason = '\''dedup.url.older_capture'\''")" = $(( 3 * n - $(wc -l <got) ))
'

test_expect_success 'url: kept documents are written byte for byte, in input order' '
	python3 -c "import json
src = open(\"crawls\").read().splitlines(); kept = open(\"kept\").read().splitlines()
pos = [src.index(k) for k in kept]; assert pos == sorted(pos), pos[:5]"
'

test_expect_success 'url: the normalisation rules, one by one' '
	while IFS="|" read -r a b same; do
		printf "{\"id\":\"1\",\"text\":\"x\",\"metadata\":{\"url\":\"%s\",\"warc_date\":\"2024-01-01T00:00:00Z\"}}\n{\"id\":\"2\",\"text\":\"x\",\"metadata\":{\"url\":\"%s\",\"warc_date\":\"2024-01-02T00:00:00Z\"}}\n" "$a" "$b" >pair &&
		tamis dedup url pair >out &&
		n=$(wc -l <out) &&
		if [ "$same" = same ]; then test $n = 1; else test $n = 2; fi ||
			{ echo "$a vs $b: $n kept, expected $same"; return 1; }
	done <<-\EOF
	https://a.org/x|http://a.org/x|same
	http://A.Org./x|http://a.org/x|same
	http://a.org:80/x|http://a.org/x|same
	https://a.org:443/x|https://a.org/x|same
	http://a.org:8080/x|http://a.org/x|differ
	http://u:p@a.org/x|http://a.org/x|same
	http://a.org/x#top|http://a.org/x|same
	http://a.org|http://a.org/|same
	http://a.org/%7euser|http://a.org/~user|same
	http://a.org/a%2fb|http://a.org/a%2Fb|same
	http://a.org/a%2fb|http://a.org/a/b|differ
	http://a.org/x?utm_source=t&id=3|http://a.org/x?id=3|same
	http://a.org/x?fbclid=1|http://a.org/x|same
	http://a.org/x?|http://a.org/x|same
	http://a.org/X|http://a.org/x|differ
	http://www.a.org/x|http://a.org/x|differ
	http://a.org/x?b=1&a=2|http://a.org/x?a=2&b=1|differ
	ftp://a.org/x|http://a.org/x|differ
	EOF
'

test_expect_success 'url: documents without a usable URL are kept and counted; stdin works' '
	printf "%s\n" "{\"id\":\"1\",\"text\":\"a\"}" "{\"id\":\"2\",\"text\":\"b\",\"metadata\":{\"url\":\"mailto:x@y\"}}" \
		"{\"id\":\"3\",\"text\":\"c\",\"metadata\":{\"url\":\"http://a/\"}}" >odd &&
	tamis dedup url --stats st2.sqlite <odd >out &&
	test $(wc -l <out) = 3 &&
	test "$(sqlite3 st2.sqlite "select group_concat(name || \"=\" || value) from (select * from counters order by name)")" = "dedup.url.no_url=1,dedup.url.unusable_url=1"
'

test_expect_success 'exact: re-cased, re-punctuated and re-spaced copies go, edited ones stay' '
	python3 - <<-\EOF &&
	import json
	docs = [json.loads(l) for l in open("docs")]
	out = open("copies", "w")
	for d in docs:
	    out.write(json.dumps(d, ensure_ascii=False) + "\n")
	for d in docs:
	    e = dict(d, id="copy-" + d["id"])
	    e["text"] = "  " + d["text"].upper().replace(". ", ".   ").replace(",", "!") + "\n"
	    out.write(json.dumps(e, ensure_ascii=False) + "\n")
	for d in docs:
	    e = dict(d, id="edit-" + d["id"])
	    e["text"] = d["text"] + " One more sentence."
	    out.write(json.dumps(e, ensure_ascii=False) + "\n")
	EOF
	tamis dedup exact --stats st3.sqlite copies >kept &&
	ids kept >got &&
	! grep -q "^copy-" got &&
	test $(grep -c "^edit-" got) = $(grep -vc "^edit-" got) &&
	test "$(sqlite3 st3.sqlite "select docs from removals where reason = '\''dedup.exact.duplicate'\''")" = \
		$(( $(wc -l <copies) - $(wc -l <kept) ))
'

test_expect_success 'exact: NFKC and case folding: fullwidth, ligatures, sharp s' '
	printf "%s\n" "{\"id\":\"1\",\"text\":\"Straße ﬁnal ＡＢＣ\"}" "{\"id\":\"2\",\"text\":\"STRASSE final abc\"}" \
		"{\"id\":\"3\",\"text\":\"Strasse finale abc\"}" >u &&
	tamis dedup exact u >out && ids out >got && printf "1\n3\n" | tm_cmp - got
'

test_expect_success 'malformed lines are reported with file and line, once, and counted' '
	printf "%s\n" "{\"id\":\"1\",\"text\":\"a\",\"metadata\":{\"url\":\"http://a/\"}}" "{oops" >bad &&
	tamis dedup url bad >out 2>err &&
	test $(grep -c "bad: line 2: " err) = 1 &&
	tm_exit_is 3 tamis dedup exact --max-errors 0 bad >/dev/null 2>err &&
	grep "bad: line 2" err
'

test_expect_success 'an unknown dedup command is a usage error that says what exists' '
	tm_exit_is 2 tamis dedup fuzzy 2>err && grep "url, exact" err
'

test_done
