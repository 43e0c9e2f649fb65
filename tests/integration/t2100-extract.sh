#!/bin/bash
# tamis extract on the real WARC/WET files, skip reasons, determinism,
# --html, output files and stats.
. "$(dirname "$0")/lib.sh"

W=$DATA/warc
export LC_ALL=C

# texts of the documents, one JSON string per line
texts() { python3 -c 'import json,sys
for l in sys.stdin: print(json.dumps(json.loads(l)["text"], ensure_ascii=False))'; }

# a WARC response record holding HTTP message $2 for URI $1, on stdout
warc_response() {
	local block=$2
	printf 'WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: %s\r\nWARC-Date: 2024-01-01T00:00:00Z\r\nWARC-Record-ID: <urn:uuid:%s>\r\nContent-Type: application/http; msgtype=response\r\nContent-Length: %d\r\n\r\n%s\r\n\r\n' \
		"$1" "$(cat /proc/sys/kernel/random/uuid)" "${#block}" "$block"
}

test_expect_success 'whirlwind: the Aragonese Wikipedia article, with its metadata' '
	tamis extract "$W/whirlwind/whirlwind.warc.gz" >out &&
	test $(wc -l <out) = 1 &&
	python3 -c "import json; d = json.load(open(\"out\")); m = d[\"metadata\"]
assert d[\"id\"] == \"urn:uuid:2aabeff2-67f5-4608-8466-e87c6296e2b6\", d[\"id\"]
assert d[\"text\"].startswith(\"Escopete ye un municipio d\x27a provincia de Guadalachara\"), d[\"text\"][:80]
assert m[\"url\"] == \"https://an.wikipedia.org/wiki/Escopete\"
assert m[\"warc_filename\"] == \"CC-MAIN-20240517233122-20240518023122-00000.warc.gz\"
assert m[\"warc_offset\"] == 1023 and m[\"http_status\"] == 200
assert m[\"html_lang\"] == \"an\" and m[\"charset\"] == \"UTF-8\", m
assert m[\"title\"].startswith(\"Escopete\"), m[\"title\"]
assert m[\"warc_date\"] == \"2024-05-18T01:58:10Z\"
"
'

test_expect_success 'WET conversion records become documents as they are' '
	tamis extract "$W/whirlwind/whirlwind.warc.wet.gz" "$W/cc_net/sample.warc.wet.txt" >out 2>err &&
	test $(wc -l <out) = 4 &&
	texts <out >t &&
	grep -c "Escopete" t &&
	grep "Famous Mark Twain Quotes" t
'

for f in dolma/sample-0000.warc.gz dolma/sample-0001.warc.gz \
	 resiliparse/warcfile.warc.gz resiliparse/clueweb-quirk.warc.gz \
	 warcio/example.warc.gz warcio/example-iana.org-chunked.warc; do
	test_expect_success "$f: every kept page has readable text" '
		tamis extract --stats s.sqlite "$W/$f" >out &&
		test -s out &&
		texts <out >t &&
		! grep -x "\"\"" t &&
		python3 -c "import json,sys
for l in open(\"out\"):
    t = json.loads(l)[\"text\"]
    bad = t.count(\"\ufffd\")
    assert bad * 100 <= len(t), (bad, len(t), t[:80])"
	'
done

test_expect_success 'multilingual: Russian (windows-1251) and Japanese (EUC-JP) pages decoded' '
	tamis extract "$W/resiliparse/warcfile.warc.gz" >ru &&
	grep -q "\"charset\":\"windows-1251\"" ru &&
	texts <ru | grep -q "[А-Яа-я]\{4\}" &&
	tamis extract "$W/resiliparse/clueweb-quirk.warc.gz" >ja &&
	test $(wc -l <ja) -ge 25 &&
	grep -q "\"charset\":\"EUC-JP\"" ja &&
	texts <ja | grep -q "[ぁ-んァ-ン]"
'

test_expect_success 'every response is accounted for: kept + skipped = responses' '
	rm -f s.sqlite &&
	tamis extract --stats s.sqlite "$W/resiliparse/warcfile.warc.gz" >out &&
	kept=$(wc -l <out) &&
	resp=$(sqlite3 s.sqlite "SELECT value FROM counters WHERE name = \"extract.records.response\"") &&
	skipped=$(sqlite3 s.sqlite "SELECT coalesce(sum(docs), 0) FROM removals") &&
	test "$resp" = 16 &&
	test $((kept + skipped)) = "$resp" &&
	test "$(sqlite3 s.sqlite "SELECT docs_out FROM stage_totals")" = "$kept"
'

test_expect_success 'skip reasons: non-200, non-HTML, binary as text/html, truncated, empty' '
	{
	warc_response http://a/ "$(printf "HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\n\r\n<p>gone</p>")"
	warc_response http://b/ "$(printf "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n\r\nPNG")"
	warc_response http://c/ "$(printf "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n%%PDF-1.4 \001\002\003")"
	warc_response http://d/ "$(printf "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html><body></body></html>")"
	warc_response http://e/ "$(printf "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>Kept page, with text.</p></body></html>")"
	} >mixed.warc &&
	tamis extract -v --stats s2.sqlite mixed.warc >out 2>err &&
	test $(wc -l <out) = 1 &&
	grep "Kept page, with text." out &&
	sqlite3 s2.sqlite "SELECT reason || \"=\" || docs FROM removals ORDER BY reason" >actual &&
	printf "binary=1\nempty=1\nnon_200=1\nnon_html=1\n" >expect &&
	tm_cmp expect actual &&
	grep "offset 0: skipped (non_200): HTTP status 404" err
'

test_expect_success 'truncated records are skipped as truncated unless --keep-truncated' '
	page="$(printf "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html><body><p>Cut page, with text.</p></body></html>")" &&
	printf "WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: http://t/\r\nWARC-Truncated: length\r\nContent-Length: %d\r\n\r\n%s\r\n\r\n" \
		"${#page}" "$page" >trunc.warc &&
	tamis extract --stats t.sqlite trunc.warc >out &&
	test ! -s out &&
	test "$(sqlite3 t.sqlite "SELECT reason FROM removals")" = truncated &&
	tamis extract --keep-truncated trunc.warc >out &&
	grep "\"warc_truncated\":\"length\"" out && grep "Cut page, with text." out
'

test_expect_success 'broken encoding: invalid UTF-8 replaced and counted' '
	warc_response http://u/ "$(printf "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>Caf\xc3\xa9, na\xc3\xafve r\xc3\xa9sum\xc3\xa9 ok, then a bad \xff byte, then more words here.</p></body></html>")" >enc.warc &&
	tamis extract --stats e.sqlite enc.warc >out &&
	grep "Café, naïve résumé ok, then a bad � byte" out &&
	grep "\"charset\":\"UTF-8\"" out &&
	test "$(sqlite3 e.sqlite "SELECT value FROM counters WHERE name = \"extract.replaced_bytes\"")" -ge 1
'

test_expect_success 'a 1 GiB text node: skipped unread as too_large, bounded memory' '
	python3 -c "
import zlib, sys
head = b\"HTTP/1.1 200 OK\\r\\nContent-Type: text/html\\r\\n\\r\\n<html><body><p>\"
n = (1 << 30)
rec = b\"WARC/1.0\\r\\nWARC-Type: response\\r\\nWARC-Target-URI: http://big/\\r\\nContent-Length: %d\\r\\n\\r\\n\" % (len(head) + n)
z = zlib.compressobj(1, zlib.DEFLATED, 31)
out = open(\"big.warc.gz\", \"wb\")
out.write(z.compress(rec + head))
chunk = b\"a\" * (1 << 20)
for _ in range(n >> 20):
    out.write(z.compress(chunk))
out.write(z.compress(b\"\\r\\n\\r\\n\"))
out.write(z.flush())
" &&
	cat "$W/whirlwind/whirlwind.warc.gz" >>big.warc.gz &&
	tamis extract --stats b.sqlite big.warc.gz >out &&
	grep -c Escopete out &&
	test "$(sqlite3 b.sqlite "SELECT reason || \"=\" || docs FROM removals")" = "too_large=1"
'

test_expect_success 'output is identical for -j 1 and -j 2' '
	tamis extract -j 1 "$W/dolma/sample-0000.warc.gz" "$W/resiliparse/warcfile.warc.gz" >a &&
	tamis extract -j 2 "$W/dolma/sample-0000.warc.gz" "$W/resiliparse/warcfile.warc.gz" >b &&
	tm_cmp a b && test -s a
'

test_expect_success '--html: one document per file, id = file stem' '
	tamis extract --html "$DATA/html-extraction/html/042bb7b5fedab6eac7db576522b89b93904c237d344bcbe14a6a5ab7f7335856.html.gz" >out &&
	grep "^{\"id\":\"042bb7b5fedab6eac7db576522b89b93904c237d344bcbe14a6a5ab7f7335856\",\"text\":\"Gaming used to be so simple." out
'

test_expect_success '-o writes a compressed file atomically; reads stdin' '
	tamis extract -o docs.jsonl.zst <"$W/whirlwind/whirlwind.warc.gz" &&
	zstd -dc docs.jsonl.zst | grep -c Escopete &&
	! ls docs.jsonl.zst.tmp-* 2>/dev/null
'

test_expect_success 'a failed write leaves no output file and exits 1' '
	tm_exit_is 1 tamis extract "$W/dolma/sample-0000.warc.gz" >/dev/full 2>err
'

test_done
