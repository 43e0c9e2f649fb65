#!/bin/bash
# tamis report: the HTML report of a stats database that real stages wrote
# over real web pages (extract, langid, filter, dedup, tokenize, shard, and
# a langid run that failed), with training curves added by SQL (the
# trainer does not write them yet).  The file is self-contained (nothing
# to fetch, no script), well-formed, has every chart, and shows the
# database's numbers; headless Chromium renders it with no console message
# (a message is proven to be caught), every chart is in its DOM, and its
# screenshot is not blank.  Then an extract-only database, FILE defaults,
# -o -, and the errors.
. "$(dirname "$0")/lib.sh"

export LC_ALL=C.UTF-8

# html_check FILE: checks that every element is closed in order, ids are
# unique and every SVG is well-formed XML; prints the ids of the charts
# (<svg class="chart">), one per line.
html_check() {
	python3 - "$1" <<'EOF'
import re, sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
VOID = {"meta", "link", "br", "hr", "img", "input", "area", "base", "col", "embed",
        "source", "track", "wbr"}
class Check(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.ids, self.charts = [], set(), []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            assert a["id"] not in self.ids, "duplicate id %s" % a["id"]
            self.ids.add(a["id"])
        if tag == "svg" and "chart" in (a.get("class") or "").split():
            self.charts.append(a.get("id"))
        if tag not in VOID:
            self.stack.append(tag)
    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, "line %d: </%s> closes <%s>" % (
            self.getpos()[0], tag, self.stack[-1] if self.stack else "nothing")
        self.stack.pop()
html = open(sys.argv[1], encoding="utf-8").read()
c = Check()
c.feed(html)
c.close()
assert not c.stack, "unclosed: %s" % c.stack
for svg in re.findall(r"<svg .*?</svg>", html, re.S):
    ET.fromstring(svg)
print("\n".join(c.charts))
EOF
}

# chrome ARGS...: headless Chromium with its profile in the scratch
# directory (tests may run in parallel) and its log in chrome.err, where
# console messages are "CONSOLE" lines.
chrome() {
	timeout 120 chromium --headless=new --no-sandbox --disable-gpu \
		--user-data-dir="$PWD/chrome-profile" --enable-logging=stderr --v=0 \
		"$@" 2>chrome.err
}

test_expect_success 'a stats database from real stages over real pages' '
	tamis extract --stats st.sqlite "$DATA"/warc/dolma/*.warc.gz \
		"$DATA"/warc/resiliparse/warcfile.warc.gz >docs.jsonl 2>/dev/null &&
	tamis langid --stats st.sqlite docs.jsonl >lang.jsonl 2>/dev/null &&
	tm_exit_is 1 tamis langid --stats st.sqlite missing.jsonl 2>/dev/null &&
	tamis filter --stats st.sqlite lang.jsonl >kept.jsonl 2>/dev/null &&
	tamis dedup exact --stats st.sqlite kept.jsonl >dedup.jsonl 2>/dev/null &&
	python3 -c "
import json, sys
for i, l in enumerate(open(\"dedup.jsonl\")):
    d = json.loads(l)
    d[\"source\"] = \"wiki\" if i % 3 == 0 else \"web\"
    print(json.dumps(d, ensure_ascii=False))
" >sources.jsonl &&
	tamis tokenize --vocab cl100k --stats st.sqlite sources.jsonl 2>/dev/null |
		tamis shard --val-fraction 0.2 --stats st.sqlite - -o shards 2>/dev/null &&
	test "$(sqlite3 st.sqlite "SELECT count(*), sum(exit_status <> 0) FROM runs")" = "7|1" &&
	test "$(sqlite3 st.sqlite "SELECT count(DISTINCT name) > 20 FROM histograms")" = 1
'

test_expect_success 'training curves added by SQL: three phases, two held-out splits' '
	sqlite3 st.sqlite "
INSERT INTO runs (uuid, tool, stage, started, finished, hostname, pid, version, cmdline, exit_status)
 VALUES (\"00000000-0000-4000-8000-00000000t7300\", \"train\", \"train\", \"2026-01-01T00:00:00.000Z\",
         \"2026-01-01T01:00:00.000Z\", \"gpu-node-1\", 4242, \"0.1.0\", \"tamis train\", 0);
INSERT INTO stage_totals (run_id) VALUES (last_insert_rowid());
WITH RECURSIVE s(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM s WHERE k < 399)
INSERT INTO train_steps SELECT (SELECT run_id FROM runs WHERE tool = \"train\"), k,
  CASE WHEN k < 40 THEN \"warmup\" WHEN k < 320 THEN \"main\" ELSE \"anneal\" END,
  CASE WHEN k = 200 THEN NULL ELSE 3.1 + 7.5 * exp(-k / 60.0) + 0.06 * sin(k) END,
  CASE WHEN k < 40 THEN 3e-4 * (k + 1) / 40 WHEN k < 320 THEN 3e-5 + 2.7e-4 * 0.5 * (1 + cos(pi() * (k - 40) / 280))
       ELSE 3e-5 * (400 - k) / 80 END, 1.0, 4096, 0.25 FROM s;
WITH RECURSIVE s(k) AS (SELECT 0 UNION ALL SELECT k + 50 FROM s WHERE k < 350)
INSERT INTO train_evals SELECT (SELECT run_id FROM runs WHERE tool = \"train\"), k, split,
  off + 7.5 * exp(-k / 60.0) FROM s, (SELECT \"val/web\" AS split, 3.3 AS off UNION ALL SELECT \"val/wiki\", 3.6);
" &&
	sqlite3 st.sqlite "SELECT run_id FROM runs WHERE tool = \"train\"" >train-run &&
	test "$(sqlite3 st.sqlite "SELECT count(*) FROM train_steps; SELECT count(*) FROM train_evals")" = "400
16"
'

test_expect_success 'report: written, -o - gives the same bytes, twice the same' '
	tamis report st.sqlite -o report.html &&
	test -s report.html &&
	tamis report -o - st.sqlite >stdout.html &&
	tm_cmp report.html stdout.html &&
	tamis report st.sqlite -o again.html &&
	tm_cmp report.html again.html &&
	! ls report.html.tmp* 2>/dev/null
'

test_expect_success 'report: self-contained, nothing to fetch, no script' '
	grep -q "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src .none.; style-src .unsafe-inline.\">" report.html &&
	! grep -Eio "(src|href|xlink:href|action|poster|data)=\"[^#\"][^\"]*\"" report.html &&
	! grep -Eiq "https?://|<script|<link|<iframe|<object|<embed|@import|url\(" report.html
'

test_expect_success 'report: well-formed, every chart there, ids as documented' '
	html_check report.html >charts &&
	run=$(cat train-run) &&
	{
		printf "%s\n" chart-funnel chart-removals chart-languages chart-tokens \
			chart-train-loss-$run chart-train-lr-$run &&
		sqlite3 st.sqlite "SELECT DISTINCT name FROM histograms" |
			sed -e "s/[^A-Za-z0-9._-]/_/g" -e "s/^/chart-hist-/"
	} | sort >want &&
	sort charts >got &&
	tm_cmp want got &&
	test $(wc -l <got) -gt 25
'

test_expect_success 'report: the numbers are the database'"'"'s, with thousands separators' '
	python3 - <<-\EOF
	import sqlite3
	db = sqlite3.connect("st.sqlite")
	html = open("report.html", encoding="utf-8").read()
	def n(v): return "<td class=\"n\">{:,}</td>".format(v)
	want = []
	for stage, runs, di, do, bi in db.execute("SELECT stage, runs, docs_in, docs_out, bytes_in FROM funnel"):
	    want.append("<tr><td>%s</td>%s%s%s%s" % (stage, n(runs), n(di), n(do), n(di - do)))
	    assert "{:,}".format(bi) in html, bi
	for code, docs in db.execute("SELECT substr(name, 13), sum(value) FROM counters "
	                             "WHERE name LIKE \"langid.lang.%\" GROUP BY name"):
	    want.append("<tr><td>%s</td>%s" % (code, n(docs)))
	for src in ("web", "wiki"):
	    tok, train, val = (db.execute("SELECT coalesce(sum(value), 0) FROM counters WHERE name = ?",
	                                  (k + src,)).fetchone()[0]
	                       for k in ("tokenize.tokens.", "shard.tokens.", "shard.val_tokens."))
	    assert tok > 1000 and train > 0 and val > 0, (src, tok, train, val)
	    want.append("<tr><td>%s</td>%s%s%s</tr>" % (src, n(tok), n(train), n(val)))
	for stage, reason, docs in db.execute("SELECT stage, reason, docs FROM removal_summary"):
	    want.append("<tr><td>%s</td><td>%s</td>%s" % (stage, reason, n(docs)))
	missing = [w for w in want if w not in html]
	assert not missing, missing
	assert len(want) > 20, len(want)
	EOF
'

test_expect_success 'report: the failed run is counted, listed and highlighted' '
	grep -q "<strong class=\"bad\">1 failed or unfinished</strong>" report.html &&
	grep -q "<tr class=\"fail\"><td class=\"n\">[0-9]*</td><td>langid</td><td>langid</td><td>[^<]*</td><td class=\"n\">[0-9]*</td>" report.html &&
	grep -q "<td>exit 1</td>" report.html
'

if command -v chromium >/dev/null 2>&1; then
	test_expect_success 'chromium: a console message would be caught (the check works)' '
		sed "s|<main>|<main><img src=\"http://127.0.0.1:9/x.png\">|" report.html >bad.html &&
		chrome --dump-dom "file://$PWD/bad.html" >/dev/null &&
		grep -q "CONSOLE.*violates the following Content Security Policy" chrome.err
	'

	test_expect_success 'chromium: renders with no console message, every chart in its DOM' '
		chrome --dump-dom "file://$PWD/report.html" >dom.html &&
		! grep -E "CONSOLE|Uncaught" chrome.err &&
		grep -q "</html>" dom.html &&
		for id in $(cat got); do
			grep -q "<svg id=\"$id\" class=\"chart\"" dom.html ||
				{ echo "not in the DOM: $id"; exit 1; }
		done
	'

	test_expect_success 'chromium: the screenshot is a 1280x4000 PNG and not blank' '
		chrome --screenshot="$PWD/report.png" --window-size=1280,4000 \
			"file://$PWD/report.html" &&
		! grep -E "CONSOLE|Uncaught" chrome.err &&
		python3 - <<-\EOF
		import os, struct
		d = open("report.png", "rb").read()
		assert d[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
		w, h = struct.unpack(">II", d[16:24])
		assert (w, h) == (1280, 4000), (w, h)
		# a blank page of this size compresses to about 6 KB
		assert len(d) > 100000, len(d)
		EOF
	'
else
	for t in "console check" "DOM" "screenshot"; do
		test_skip "chromium: $t (chromium is not installed; scripts/deps.sh installs it)"
	done
fi

test_expect_success 'an extract-only database: the other sections say so' '
	tamis extract --stats ex.sqlite "$DATA"/warc/whirlwind/whirlwind.warc.gz >/dev/null 2>&1 &&
	tamis report ex.sqlite -o ex.html &&
	html_check ex.html >ex-charts &&
	grep -q "^chart-funnel$" ex-charts &&
	grep -q "^chart-hist-extract.text_bytes$" ex-charts &&
	test $(grep -c "<p class=\"nodata\">no data</p>" ex.html) = 3 &&
	grep -q "<p class=\"nodata\">no training runs</p>" ex.html &&
	if command -v chromium >/dev/null 2>&1; then
		chrome --dump-dom "file://$PWD/ex.html" >ex-dom.html &&
		! grep -E "CONSOLE|Uncaught" chrome.err &&
		grep -q "<svg id=\"chart-funnel\" class=\"chart\"" ex-dom.html
	fi
'

test_expect_success 'FILE defaults to $TAMIS_STATS, then stats.sqlite; -o to report.html' '
	mkdir def && cp ex.sqlite def/stats.sqlite && cp st.sqlite def/other.sqlite &&
	(cd def && tamis report && grep -q "stats.sqlite" report.html &&
	 TAMIS_STATS=other.sqlite tamis report -o env.html && grep -q "other.sqlite" env.html)
'

test_expect_success 'errors: missing or foreign file, bad usage, unwritable output' '
	tm_exit_is 1 tamis report missing.sqlite -o m.html 2>err &&
	grep -q "^tamis-report: missing.sqlite: " err &&
	! test -e m.html &&
	sqlite3 foreign.sqlite "CREATE TABLE t (x)" &&
	tm_exit_is 1 tamis report foreign.sqlite -o f.html 2>err &&
	grep -q "not a tamis stats database" err &&
	! test -e f.html &&
	tm_exit_is 2 tamis report st.sqlite ex.sqlite 2>err &&
	grep -q "usage: tamis report" err &&
	tm_exit_is 1 tamis report st.sqlite -o no-such-dir/r.html 2>err &&
	! test -e no-such-dir
'

test_done
