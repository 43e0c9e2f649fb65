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
	tm_exit_is 2 tamis dedup fuzzy 2>err && grep "url, exact, minhash, sign, bucket, cluster, apply, lines" err
'

# Near-duplicates: each real document (of 60+ words) four times, three of
# them edited (2% of the words replaced, a sentence inserted), spread over
# three files.
test_expect_success 'minhash: near-duplicate corpus from the real documents' '
	python3 - <<-\EOF
	import json, random
	random.seed(7)
	docs = [json.loads(l) for l in open("docs")]
	docs = [d for d in docs if len(d["text"].split()) > 60]
	out = [open("part%d.jsonl" % i, "w") for i in range(3)]
	n = 0
	for d in docs:
	    w = d["text"].split()
	    variants = [w]
	    for k in range(3):
	        v = list(w)
	        for _ in range(max(1, len(v) // 50)):
	            v[random.randrange(len(v))] = random.choice(["alpha", "beta", "gamma"])
	        v.insert(random.randrange(len(v)), "This line was added by an editor.")
	        variants.append(v)
	    for v in variants:
	        e = dict(d, id="%s-%d" % (d["id"], n), text=" ".join(v))
	        out[n % 3].write(json.dumps(e, ensure_ascii=False) + "\n")
	        n += 1
	EOF
	test $(cat part0.jsonl part1.jsonl part2.jsonl | wc -l) -ge 120
'

test_expect_success 'minhash: most edited copies go, every page keeps one copy, clusters are counted' '
	cat part0.jsonl part1.jsonl part2.jsonl >all.jsonl &&
	tamis dedup minhash --stats mh.sqlite all.jsonl >stream.jsonl &&
	n=$(wc -l <all.jsonl) && k=$(wc -l <stream.jsonl) &&
	test $k -lt $((n * 45 / 100)) &&
	python3 -c "import json, collections, re
src = [json.loads(l) for l in open(\"all.jsonl\")]
kept = [json.loads(l) for l in open(\"stream.jsonl\")]
group = lambda d: int(d[\"id\"].rsplit(\"-\", 1)[1]) // 4
def sh(t):
    w = re.sub(r\"[^\\w\\s]\", \"\", t.lower()).split()
    return {tuple(w[i:i + 5]) for i in range(max(1, len(w) - 4))}
kg = collections.Counter(map(group, kept))
ks = [sh(d[\"text\"]) for d in kept]
for g in set(map(group, src)) - set(kg):
    o = sh([d for d in src if group(d) == g][0][\"text\"])
    best = max(len(o & k) / len(o | k) for k in ks)
    assert best >= 0.5, (g, best)" &&
	test "$(sqlite3 mh.sqlite "select docs from removals where reason = '\''dedup.minhash.near_duplicate'\''")" = $((n - k)) &&
	test "$(sqlite3 mh.sqlite "select sum(count) from histograms where name = '\''dedup.minhash.cluster_size'\''")" = \
		"$(sqlite3 mh.sqlite "select value from counters where name = '\''dedup.minhash.clusters'\''")"
'

test_expect_success 'minhash: the cluster stages keep exactly what the streaming mode keeps' '
	for i in 0 1 2; do tamis dedup sign part$i.jsonl -o part$i.sig || return 1; done &&
	tamis dedup bucket --bands 0-4 --mem 2K part0.sig part1.sig part2.sig -o a.pairs 2>/dev/null &&
	tamis dedup bucket --bands 5-13 part0.sig part1.sig part2.sig -o b.pairs 2>/dev/null &&
	tamis dedup cluster a.pairs b.pairs -o remove.txt 2>/dev/null &&
	tamis dedup apply --remove remove.txt part0.jsonl part1.jsonl part2.jsonl >staged.jsonl &&
	tm_cmp stream.jsonl staged.jsonl &&
	s0=$(tamis dedup apply --remove remove.txt part0.jsonl | wc -l) &&
	n0=$(wc -l <part0.jsonl) &&
	s1=$(tamis dedup apply --remove remove.txt --start $n0 part1.jsonl | wc -l) &&
	n1=$(wc -l <part1.jsonl) &&
	s2=$(tamis dedup apply --remove remove.txt --start $((n0 + n1)) part2.jsonl | wc -l) &&
	test $((s0 + s1 + s2)) = $(wc -l <stream.jsonl)
'

test_expect_success 'minhash --verify 0 (plain LSH): joins more, and the stages agree again' '
	tamis dedup minhash --verify 0 all.jsonl >plain.jsonl &&
	test $(wc -l <plain.jsonl) -le $(wc -l <stream.jsonl) &&
	for i in 0 1 2; do tamis dedup sign --verify 0 part$i.jsonl -o p$i.sig || return 1; done &&
	test $(stat -c %s p0.sig) -lt $(stat -c %s part0.sig) &&
	tamis dedup bucket --bands 0-13 p0.sig p1.sig p2.sig -o p.pairs 2>/dev/null &&
	tamis dedup cluster p.pairs -o p.txt 2>/dev/null &&
	tamis dedup apply --remove p.txt part0.jsonl part1.jsonl part2.jsonl >pstaged.jsonl &&
	tm_cmp plain.jsonl pstaged.jsonl &&
	tamis dedup minhash -c dedup.verify=0 all.jsonl >plain2.jsonl &&
	tm_cmp plain.jsonl plain2.jsonl &&
	tamis dedup minhash --config "$SRC/pipeline.conf" -c global.stats= all.jsonl >conf.jsonl &&
	tm_cmp stream.jsonl conf.jsonl &&
	tm_exit_is 1 tamis dedup bucket --bands 0-13 p0.sig part1.sig -o mixed.pairs 2>err &&
	grep "agreement" err
'

test_expect_success 'minhash: identical texts are always removed, unrelated ones never' '
	tamis dedup minhash docs >u1 && tamis dedup exact docs >u2 &&
	test $(wc -l <u1) -le $(wc -l <u2) &&
	cat docs docs >twice && tamis dedup minhash twice >u3 && tm_cmp u1 u3
'

test_expect_success 'minhash: stdin, Thai and Chinese text without spaces' '
	python3 - <<-\EOF
	import json
	th = "ข้อ ๑ มนุษย์ทั้งหลายเกิดมามีอิสระและเสมอภาคกันในเกียรติศักดิ์และสิทธิ ต่างมีเหตุผลและมโนธรรม และควรปฏิบัติต่อกันด้วยเจตนารมณ์แห่งภราดรภาพ"
	zh = "人人生而自由，在尊严和权利上一律平等。他们赋有理性和良心，并应以兄弟关系的精神相对待。"
	with open("cjk", "w") as f:
	    for i, t in enumerate([th, th + " ", zh, zh.replace("。", "！"), "完全不同的一句话，没有任何关系，只是为了测试。"]):
	        f.write(json.dumps({"id": str(i), "text": t}, ensure_ascii=False) + "\n")
	EOF
	tamis dedup minhash <cjk >out && ids out >got && printf "0\n2\n4\n" | tm_cmp - got
'

test_expect_success 'cluster stages: a truncated signature file or a bad remove list is refused' '
	head -c 100 part0.sig >cut.sig &&
	tm_exit_is 1 tamis dedup bucket --bands 0-1 cut.sig -o x.pairs 2>err &&
	grep "cut.sig" err && test ! -e x.pairs &&
	printf "3\n2\n" >bad.txt &&
	tm_exit_is 1 tamis dedup apply --remove bad.txt part0.jsonl >/dev/null 2>err &&
	grep "bad.txt: line 2" err
'

# Line dedup: the real documents with a site's boilerplate lines added to
# every one (spelled with varying case and punctuation), and one line that
# occurs exactly 6 times.
test_expect_success 'lines: boilerplate occurring more than 6 times goes, the rest stays' '
	python3 - <<-\EOF
	import json
	docs = [json.loads(l) for l in open("docs")]
	out = open("boiler.jsonl", "w")
	for i, d in enumerate(docs):
	    menu = ["Home | About | Contact", "HOME - ABOUT - CONTACT!"][i % 2]
	    six = ["Six times only: this line stays."] if i < 6 else []
	    d["text"] = "\n".join([menu] + six + [d["text"], "Copyright 2024, all rights reserved."])
	    out.write(json.dumps(d, ensure_ascii=False) + "\n")
	EOF
	tamis dedup lines --stats ln.sqlite boiler.jsonl >out &&
	! grep -qi "home.*about.*contact" out &&
	! grep -q "Copyright 2024" out &&
	test $(grep -c "Six times only" out) = 6 &&
	python3 -c "import json
src = {json.loads(l)[\"id\"]: json.loads(l)[\"text\"].split(\"\n\") for l in open(\"boiler.jsonl\")}
for l in open(\"out\"):
    d = json.loads(l); want = iter(src[d[\"id\"]])
    # the kept lines are the input lines in order, none rewritten
    assert all(any(x == y for y in want) for x in d[\"text\"].split(\"\n\")), d[\"id\"]" &&
	test "$(sqlite3 ln.sqlite "select value from counters where name = '\''dedup.lines.removed_lines'\''")" -ge $((2 * $(wc -l <docs)))
'

test_expect_success 'lines: buckets count separately; untouched documents are copied byte for byte' '
	n=$(wc -l <boiler.jsonl) &&
	tamis dedup lines --bucket 5 boiler.jsonl >out5 &&
	test $(grep -c "Copyright 2024, all rights reserved" out5) = $n &&
	test $(grep -ic "home.*about.*contact" out5) = $n &&
	tamis dedup lines --max-count 1000 boiler.jsonl >outbig &&
	tm_cmp boiler.jsonl outbig
'

test_expect_success 'lines: a document left with no line is removed and counted' '
	printf "%s\n" "{\"id\":\"1\",\"text\":\"same\"}" "{\"id\":\"2\",\"text\":\"same\"}" >two &&
	tamis dedup lines --max-count 1 --stats l2.sqlite two >out &&
	test ! -s out &&
	test "$(sqlite3 l2.sqlite "select docs from removals where reason = '\''dedup.lines.no_line_left'\''")" = 2
'

test_done
