#!/bin/bash
# tamis filter: the chain over real web documents (every WARC of the shared
# data, the 91 pages of the extraction benchmark with and without their
# boilerplate, the benchmark's human-cleaned article bodies), every removal
# reason firing on a document made for it from real text, the output
# contract (kept documents byte for byte, rewritten ones differing only in
# "text"), --annotate, --rejected, stats, -j determinism, configuration
# errors and malformed input.
. "$(dirname "$0")/lib.sh"

export LC_ALL=C.UTF-8
HX=$DATA/html-extraction

# the real web documents, tagged with their language
{
	for f in "$DATA"/warc/dolma/*.warc.gz "$DATA"/warc/resiliparse/warcfile.warc.gz \
		"$DATA"/warc/whirlwind/whirlwind.warc.gz; do
		tamis extract "$f" 2>/dev/null
	done
	tamis extract --html --whole-page "$HX"/html/*.html.gz
} | tamis langid --min-score 0 >web.jsonl 2>/dev/null
# the benchmark's ground truth: article bodies cleaned by people
python3 - "$HX/ground-truth.json" <<'EOF' | tamis langid --min-score 0 >clean.jsonl 2>/dev/null
import json, sys
for k, v in sorted(json.load(open(sys.argv[1])).items()):
    if len(v["articleBody"]) >= 1000:
        print(json.dumps({"id": k, "text": v["articleBody"],
                          "metadata": {"url": v["url"]}}, ensure_ascii=False))
EOF

# field FILE KEY: metadata.KEY of each document, one per line
field() {
	python3 -c 'import json, sys
for l in open(sys.argv[1]):
    print(json.loads(l).get("metadata", {}).get(sys.argv[2], ""))' "$1" "$2"
}

test_expect_success 'the real documents are there' '
	test $(wc -l <web.jsonl) -ge 120 && test $(wc -l <clean.jsonl) -ge 60
'

test_expect_success '--list names every filter, its reasons and settings' '
	tamis filter --list >list &&
	for f in $(tamis filter --print-chain | tr , " "); do
		grep -q "^$f	" list || { echo "no $f"; return 1; }
	done &&
	grep -q "filter.gopher_quality.stop_words" list &&
	grep -q "min_words_per_line" list
'

test_expect_success 'docs/FILTERS.md documents every setting of every filter' '
	tamis filter --list | awk "/^[a-z0-9_]+\t/ {f = \$1} /^  [a-z_0-9]+ / && \$1 != \"languages:\" && \$1 != \"removes\" {print f, \$1}" >keys &&
	test $(wc -l <keys) -ge 30 &&
	while read -r f k; do
		grep -q "$k" "$SRC/docs/FILTERS.md" || { echo "not in docs: [filter \"$f\"] $k"; exit 1; }
	done <keys
'

# (the default chain also has C4's bad-words rule, which removes any page
# with a listed word: one news article in eight, as in C4 itself)
test_expect_success 'human-cleaned articles mostly pass the quality filters' '
	tamis filter --chain gopher_repetition,gopher_quality,fineweb,kl,c4 clean.jsonl \
		-o kept.jsonl --rejected rej.jsonl &&
	n=$(wc -l <clean.jsonl) && k=$(wc -l <kept.jsonl) &&
	echo "kept $k of $n" &&
	test $((k * 100)) -ge $((n * 85))
'

test_expect_success 'whole pages with their boilerplate lose more than the cleaned articles' '
	tamis filter web.jsonl -o webkept.jsonl --rejected webrej.jsonl --stats st.sqlite &&
	n=$(wc -l <web.jsonl) && k=$(wc -l <webkept.jsonl) && r=$(wc -l <webrej.jsonl) &&
	echo "kept $k, removed $r of $n" &&
	test $((k + r)) -eq $n &&
	test $((k * 100)) -lt $((n * 80)) &&
	test $r -gt 0
'

test_expect_success 'the stats: removals add up to the rejected documents, with their reasons' '
	sqlite3 st.sqlite "select sum(docs) from removals where reason like '\''filter.%'\''" >sum &&
	test "$(cat sum)" -eq "$(wc -l <webrej.jsonl)" &&
	field webrej.jsonl filter_reason | sort | uniq -c | sort -rn >reasons &&
	cat reasons &&
	sqlite3 st.sqlite "select reason from removals" | sort >dbreasons &&
	sed "s/^ *[0-9]* /filter./" reasons | sort >filereasons &&
	tm_cmp dbreasons filereasons &&
	sqlite3 st.sqlite "select count(*) from histograms where name like '\''filter.gopher_quality.%'\''" >h &&
	test "$(cat h)" -ge 5
'

test_expect_success 'a kept document is its input line, byte for byte, unless its text was rewritten' '
	python3 - web.jsonl webkept.jsonl clean.jsonl kept.jsonl <<-\EOF
	import json, sys
	same = changed = 0
	for src, out in ((sys.argv[1], sys.argv[2]), (sys.argv[3], sys.argv[4])):
	    inp = {json.loads(l)["id"]: l for l in open(src)}
	    for l in open(out):
	        d = json.loads(l)
	        o = inp[d["id"]]
	        if l == o:
	            same += 1
	            continue
	        od = json.loads(o)
	        assert d["text"] != od["text"], d["id"]
	        d["text"] = od["text"] = None
	        assert d == od, "more than the text changed: " + d["id"]
	        changed += 1
	print("unchanged", same, "text rewritten", changed)
	assert changed > 0
	EOF
'

test_expect_success 'without a rewriting filter, the kept lines are the input lines' '
	tamis filter --chain gopher_repetition,gopher_quality,fineweb clean.jsonl >gq.jsonl &&
	test -s gq.jsonl && grep -F -x -f gq.jsonl clean.jsonl >same &&
	tm_cmp gq.jsonl same
'

test_expect_success '-j 1 and -j 2 give the same bytes, and the same rejected documents' '
	tamis filter -j 1 web.jsonl -o j1.jsonl --rejected r1.jsonl &&
	tamis filter -j 2 web.jsonl -o j2.jsonl --rejected r2.jsonl &&
	cmp j1.jsonl j2.jsonl && cmp r1.jsonl r2.jsonl && cmp j1.jsonl webkept.jsonl
'

test_expect_success '--annotate keeps every document, unchanged text, with scores and the would-be reason' '
	tamis filter --annotate web.jsonl -o ann.jsonl &&
	test $(wc -l <ann.jsonl) -eq $(wc -l <web.jsonl) &&
	python3 - web.jsonl ann.jsonl webrej.jsonl <<-\EOF
	import json, sys
	inp = [json.loads(l) for l in open(sys.argv[1])]
	ann = [json.loads(l) for l in open(sys.argv[2])]
	rej = {json.loads(l)["id"]: json.loads(l)["metadata"]["filter_reason"] for l in open(sys.argv[3])}
	for a, b in zip(inp, ann):
	    assert a["text"] == b["text"], a["id"]
	    m = b["metadata"]
	    assert "gopher_quality_word_count" in m and "fineweb_line_punct_ratio" in m, sorted(m)
	    if a["id"] in rej:
	        assert m.get("filter_reason") == rej[a["id"]], (a["id"], m.get("filter_reason"), rej[a["id"]])
	    else:
	        assert "filter_reason" not in m, a["id"]
	EOF
'

# made DOCUMENT REASON: documents built from real text that one rule must
# remove (the chain's first removal is the rule under test)
ARTICLE=$(python3 -c 'import json, sys; print(json.loads(open(sys.argv[1]).readline())["text"])' clean.jsonl)
export ARTICLE
python3 - >made.jsonl <<'EOF'
import json, os
art = os.environ["ARTICLE"]
paras = [p for p in art.split("\n") if p.strip()]
words = art.split()
def doc(reason, text, lang="en"):
    print(json.dumps({"id": reason, "text": text, "metadata": {"lang": lang}}, ensure_ascii=False))
doc("gopher_repetition.dup_line_frac", "\n".join(paras[:3] + [paras[0]] * 6 + paras[3:6]))
doc("gopher_quality.word_count", " ".join(words[:30]) + ".")
doc("gopher_quality.symbol_ratio", art + "\n" + " ".join("#tag%d" % i for i in range(len(words) // 5)))
doc("gopher_quality.stop_words", " ".join(w for w in words if "".join(c for c in w.lower() if c.isalpha())
    not in ("the", "be", "to", "of", "and", "that", "have", "with")))
doc("c4.lorem_ipsum", art + "\nLorem ipsum dolor sit amet, consectetur adipiscing elit.")
doc("c4.curly_bracket", art + "\nfunction f() { return 1; } is what the page said.")
print(json.dumps({"id": "url_blocklist.blocked_domain", "text": art,
                  "metadata": {"lang": "en", "url": "https://www.pornhub.com/view?id=1"}}))
print(json.dumps({"id": "url_blocklist.banned_url_word", "text": art,
                  "metadata": {"lang": "en", "url": "https://example.org/free-porn-videos/1"}}))
doc("badwords.bad_words", art + "\nThe comments below called him a motherfucker.")
doc("kl.token_kl", "\n".join(" ".join("x%07d" % (i * 7919 % 10000019 + j) for j in range(12)) + "."
                             for i in range(40)) + "\n" + paras[0])
EOF

test_expect_success 'every rule under test removes the document made for it, with its reason' '
	tamis filter made.jsonl >kept.made &&
	test ! -s kept.made &&
	python3 -c "import json, sys
for l in open(sys.argv[1]): print(json.loads(l)[\"id\"])" made.jsonl >ids &&
	while read -r id; do
		grep -F "\"id\": \"$id\"" made.jsonl >one.made &&
		tamis filter --chain "${id%%.*}" one.made --rejected one.rej >/dev/null &&
		test "$(field one.rej filter_reason)" = "$id" || { echo "$id: $(field one.rej filter_reason)"; return 1; }
	done <ids
'

test_expect_success 'pii: addresses and phone numbers replaced, versions, dates and prices left alone' '
	python3 - >pii.jsonl <<-\EOF
	import json, os
	t = os.environ["ARTICLE"] + ("\nWrite to jane.doe@example.com or call +44 20 7946 0958;"
	    " the server is 93.184.216.34.  Version 2.6.32.1 of 2024-05-01 costs $1,234.56 at 12:30:45.")
	print(json.dumps({"id": "pii", "text": t, "metadata": {"lang": "en"}}))
	EOF
	tamis filter --chain pii pii.jsonl >out &&
	python3 - pii.jsonl out <<-\EOF
	import json, sys
	a = json.loads(open(sys.argv[1]).read())["text"]
	b = json.loads(open(sys.argv[2]).read())["text"]
	want = (a.replace("jane.doe@example.com", "|||EMAIL_ADDRESS|||")
	         .replace("+44 20 7946 0958", "|||PHONE_NUMBER|||")
	         .replace("93.184.216.34", "|||IP_ADDRESS|||"))
	assert b == want, b[-200:]
	EOF
'

test_expect_success 'build-unigram: counts by frequency, the same file twice' '
	tamis filter build-unigram --lang en --min-count 1 clean.jsonl -o u1.tsv &&
	tamis filter build-unigram --lang en --min-count 1 clean.jsonl -o u2.tsv &&
	cmp u1.tsv u2.tsv &&
	grep -v "^#" u1.tsv | head -1 | grep -q "^the	" &&
	grep -v "^#" u1.tsv | awk -F"\t" "NR > 1 && \$2 > prev {exit 1} {prev = \$2}"
'

test_expect_success 'train-classifier: cleaned articles vs whole pages; the filter scores kept documents' '
	python3 - clean.jsonl web.jsonl >lab.jsonl <<-\EOF
	import json, sys
	# the cleaned bodies of half the pages, the whole other pages (and the WARCs)
	# in chunks of 60 words, as one trains such a model on many short examples
	def chunks(d, label):
	    w = d["text"].split()
	    for i in range(0, len(w), 60):
	        print(json.dumps({"id": "%s-%d" % (d["id"], i), "text": " ".join(w[i:i + 60]),
	                          "metadata": {"quality": label}}, ensure_ascii=False))
	hq = [json.loads(l) for l in open(sys.argv[1])][::2]
	ids = {d["id"] for d in hq}
	for d in hq:
	    chunks(d, "hq")
	for l in open(sys.argv[2]):
	    d = json.loads(l)
	    if d["id"] not in ids:
	        chunks(d, "web")
	EOF
	python3 -c "import sys; sys.stdout.writelines(l for i, l in enumerate(open(sys.argv[1])) if i % 2 == 0)" clean.jsonl >hq.jsonl &&
	tamis filter train-classifier --label-field quality --bucket-bits 16 lab.jsonl -o q1.tclf 2>err &&
	grep -q "2 labels" err &&
	tamis filter train-classifier --label-field quality --bucket-bits 16 lab.jsonl -o q2.tclf 2>/dev/null &&
	cmp q1.tclf q2.tclf &&
	tamis filter --chain classifier -c filter.classifier.model=$PWD/q1.tclf hq.jsonl >scored &&
	test $(wc -l <scored) -eq $(wc -l <hq.jsonl) &&
	field scored classifier_score | awk "\$1 > 0.5 {n++} END {exit !(n >= NR * 0.8)}" &&
	tamis filter --chain classifier -c filter.classifier.model=$PWD/q1.tclf \
		-c filter.classifier.min_score=0.5 web.jsonl >kept 2>/dev/null &&
	test $(wc -l <kept) -lt $(wc -l <web.jsonl) &&
	tm_exit_is 2 tamis filter --chain classifier clean.jsonl 2>err && grep -q model err
'

test_expect_success 'a clean article passes each filter alone' '
	head -1 clean.jsonl >one.jsonl &&
	for f in $(tamis filter --print-chain | tr , " "); do
		tamis filter --chain $f one.jsonl >out && test $(wc -l <out) -eq 1 ||
			{ echo "$f removed it"; return 1; }
	done
'

test_expect_success 'settings: -c changes a threshold; a bad key or filter is a usage error' '
	tamis filter -c filter.gopher_quality.min_words=100000 --chain gopher_quality one.jsonl >out &&
	test ! -s out &&
	tm_exit_is 2 tamis filter -c filter.gopher_quality.min_wrds=3 one.jsonl 2>err &&
	grep -q "did you mean .min_words" err &&
	tm_exit_is 2 tamis filter --chain gopher_qualty one.jsonl 2>err &&
	grep -q "unknown filter .gopher_qualty" err &&
	tm_exit_is 2 tamis filter -c filter.c4.min_num_sentences=many one.jsonl 2>err &&
	grep -q "min_num_sentences" err
'

test_expect_success '--sources: other sources pass byte for byte, counted; [filter] sources' '
	# a document C4 removes (a curly bracket), as web and as code
	jq -c ".text = .text + \"\\nint main(void) { return 0; }.\" | .source = \"web\"" one.jsonl >w.jsonl &&
	jq -c ".source = \"code\"" w.jsonl >c.jsonl &&
	jq -c ".source = \"c\\u006fde\"" w.jsonl >ce.jsonl &&
	cat w.jsonl c.jsonl ce.jsonl >mix.jsonl &&
	tamis filter --chain c4 --sources web mix.jsonl --stats src.sqlite >out &&
	cat c.jsonl ce.jsonl >want && tm_cmp want out &&
	test "$(sqlite3 src.sqlite "select sum(value) from counters where name = '\''filter.passed_source'\''")" = 2 &&
	tamis filter --chain c4 -c filter.sources=code mix.jsonl >out &&
	tm_cmp w.jsonl out &&
	tamis filter --chain c4 -c filter.sources= mix.jsonl >out &&
	test ! -s out
'

test_expect_success 'malformed lines are reported with file and line, counted, and limited' '
	{ head -2 clean.jsonl; echo "{not json"; echo "{\"id\":1}"; sed -n 3p clean.jsonl; } >bad.jsonl &&
	tamis filter --stats bst.sqlite bad.jsonl >out 2>err &&
	grep -q "bad.jsonl: line 3:" err && grep -q "bad.jsonl: line 4:" err &&
	test "$(sqlite3 bst.sqlite "select docs from removals where reason = '\''filter.malformed'\''")" = 2 &&
	tm_exit_is 3 tamis filter --max-errors 1 bad.jsonl >out 2>err
'

test_done
