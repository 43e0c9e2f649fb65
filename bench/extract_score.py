#!/usr/bin/python3
"""bench/extract_score.py — score main-text extraction against human ground truth.

usage: extract_score.py GROUND_TRUTH.json PRED.json [--jsonl] [--per-page]
       extract_score.py --page-text FILE.html[.gz]...

Scoring (first form): prints one line
    precision P recall R f1 F pages N empty E
P, R, F with 3 decimals; N = ground-truth pages scored, E = pages whose
prediction has no \\w+ token (missing, null or blank).
  PRED.json  the peer-output format of scrapinghub/article-extraction-benchmark:
             {"output": {id: {"articleBody": "..."}}, "version": ...}
             (a bare {id: {"articleBody": ...}} is accepted too)
  --jsonl    PRED is JSON Lines in the tamis document format (docs/FORMATS.md):
             one {"id": ..., "text": ...} per line, id = page id; gzip input
             is detected from its magic bytes; "-" reads stdin.  A duplicate id
             or an id that is not in the ground truth is an error (exit 1): it
             means the id convention is broken, and scoring would hide it.
  --per-page before the summary line, print a TSV header and one row per page:
             id precision recall f1 truth_tokens pred_tokens
             ("-" where a value is undefined, see below); the summary line is
             always the last line of stdout.

The metric is the benchmark's own (evaluate.py of
scrapinghub/article-extraction-benchmark; /work/shared/data/MANIFEST.md,
"The extraction metric"), reimplemented here:
  - tokens: re.findall(r"\\w+", text) on str (Unicode-aware), no lowercasing;
  - shingles: overlapping 4-token tuples, a multiset (Counter); a text of
    0 < n < 4 tokens is ONE shingle of its n tokens, a text of 0 tokens has
    none (this is what evaluate.py's _ngrams does: range(max(1, n - 3)));
  - per page: tp = |truth & pred| (multiset), fp = |pred - truth|,
    fn = |truth - pred|; precision = tp/(tp+fp), recall = tp/(tp+fn), both 1.0
    when fp = fn = 0;
  - a page with tp+fp = 0 (no predicted shingle) is left out of the precision
    mean, a page with tp+fn = 0 (no true shingle) out of the recall mean;
  - P and R are macro means over pages, F1 = 2PR/(P+R) (of the means, not a
    mean of per-page F1s).
evaluate.py also normalises tp/fp/fn by their sum per page; that does not
change any ratio, so it is not done here.  evaluate.py refuses predictions
whose keys differ from the ground truth; here a page with no prediction
counts as empty output (so recall 0 for it, and it leaves the precision mean).
Per-page f1 (--per-page only) is 2pr/(p+r) of that page; when one of p, r is
undefined the other is 0 (an empty side), so the page's f1 is 0; when both are
undefined (both texts empty) it is "-".

Page text (second form): for each HTML file (gzip detected from magic bytes)
print one JSONL document {"id": ..., "text": ...}, id = basename without
.gz/.html/.htm, text = all character data outside <script> and <style>
(Python's html.parser; comments dropped; block-level tags end a line).  This
is the "whole page text" floor of the benchmark (html-text's 0.665 F1 on all
181 pages).  Decoding: UTF-8, else the <meta> charset, else cp1252.
"""

import collections
import gzip
import html.parser
import json
import os
import re
import sys

TOKEN_RE = re.compile(r"\w+")
N = 4


def die(msg, code=1):
    print("extract_score.py: " + msg, file=sys.stderr)
    sys.exit(code)


def tokens(text):
    if not isinstance(text, str):
        return []
    return TOKEN_RE.findall(text)


def shingles(toks):
    """Multiset of overlapping N-token tuples; 0 < len < N gives one short shingle."""
    if not toks:
        return collections.Counter()
    if len(toks) < N:
        return collections.Counter([tuple(toks)])
    return collections.Counter(tuple(toks[i:i + N]) for i in range(len(toks) - N + 1))


def page_counts(truth, pred):
    t, p = shingles(tokens(truth)), shingles(tokens(pred))
    tp = sum((t & p).values())
    fp = sum(p.values()) - tp
    fn = sum(t.values()) - tp
    return tp, fp, fn


def page_pr(tp, fp, fn):
    """(precision or None, recall or None) of one page, None = left out of the mean."""
    if fp == 0 and fn == 0:
        prec = rec = 1.0
    else:
        prec = tp / (tp + fp) if tp + fp > 0 else None
        rec = tp / (tp + fn) if tp + fn > 0 else None
    if tp + fp == 0:
        prec = None
    if tp + fn == 0:
        rec = None
    return prec, rec


def read_bytes(path):
    if path == "-":
        data = sys.stdin.buffer.read()
    else:
        with open(path, "rb") as f:
            data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return data


def load_truth(path):
    try:
        gt = json.loads(read_bytes(path))
    except (OSError, ValueError) as e:
        die("%s: cannot read ground truth: %s" % (path, e))
    if not isinstance(gt, dict) or not gt:
        die("%s: expected a non-empty object {id: {\"articleBody\": ...}}" % path)
    return {k: (v or {}).get("articleBody") or "" for k, v in gt.items()}


def load_peer(path):
    try:
        d = json.loads(read_bytes(path))
    except (OSError, ValueError) as e:
        die("%s: cannot read predictions: %s" % (path, e))
    if isinstance(d, dict) and isinstance(d.get("output"), dict):
        d = d["output"]
    if not isinstance(d, dict):
        die("%s: expected {\"output\": {id: {\"articleBody\": ...}}}" % path)
    out = {}
    for k, v in d.items():
        out[k] = (v.get("articleBody") if isinstance(v, dict) else v) or ""
    return out


def load_jsonl(path, truth):
    try:
        data = read_bytes(path).decode("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        die("%s: cannot read predictions: %s" % (path, e))
    out = {}
    for n, line in enumerate(data.split("\n"), 1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
        except ValueError as e:
            die("%s:%d: not a JSON document: %s" % (path, n, e))
        if not isinstance(doc, dict) or not isinstance(doc.get("id"), str):
            die("%s:%d: document has no string \"id\"" % (path, n))
        i = doc["id"]
        if i in out:
            die("%s:%d: duplicate id %s" % (path, n, i))
        if i not in truth:
            die("%s:%d: id %s is not a ground-truth page (ids are file basenames "
                "without .html.gz/.html/.htm)" % (path, n, i))
        t = doc.get("text")
        if t is not None and not isinstance(t, str):
            die("%s:%d: \"text\" is not a string" % (path, n))
        out[i] = t or ""
    return out


def fmt(x):
    return "-" if x is None else "%.3f" % x


def score(argv):
    jsonl = "--jsonl" in argv
    per_page = "--per-page" in argv
    args = [a for a in argv if a not in ("--jsonl", "--per-page")]
    if len(args) != 2 or any(a.startswith("--") for a in args):
        die("usage: extract_score.py GROUND_TRUTH.json PRED.json [--jsonl] [--per-page]", 2)
    truth = load_truth(args[0])
    pred = load_jsonl(args[1], truth) if jsonl else load_peer(args[1])
    missing = [k for k in truth if k not in pred]
    if missing:
        print("extract_score.py: %s: %d of %d pages have no prediction; scored as empty"
              % (args[1], len(missing), len(truth)), file=sys.stderr)
    precs, recs, empty = [], [], 0
    if per_page:
        print("id\tprecision\trecall\tf1\ttruth_tokens\tpred_tokens")
    for k in sorted(truth):
        p_text = pred.get(k, "")
        tp, fp, fn = page_counts(truth[k], p_text)
        prec, rec = page_pr(tp, fp, fn)
        if prec is not None:
            precs.append(prec)
        if rec is not None:
            recs.append(rec)
        if not tokens(p_text):
            empty += 1
        if per_page:
            if prec is None and rec is None:
                f1 = None
            else:
                a, b = prec or 0.0, rec or 0.0
                f1 = 2 * a * b / (a + b) if a + b > 0 else 0.0
            print("%s\t%s\t%s\t%s\t%d\t%d" % (k, fmt(prec), fmt(rec), fmt(f1),
                                             len(tokens(truth[k])), len(tokens(p_text))))
    P = sum(precs) / len(precs) if precs else 0.0
    R = sum(recs) / len(recs) if recs else 0.0
    F = 2 * P * R / (P + R) if P + R > 0 else 0.0
    print("precision %.3f recall %.3f f1 %.3f pages %d empty %d" % (P, R, F, len(truth), empty))


BLOCK = frozenset("""address article aside blockquote body br dd details dialog div dl dt
fieldset figcaption figure footer form h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre
section table tbody td tfoot th thead title tr ul""".split())


class PageText(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.skip += 1
        elif tag in BLOCK:
            self.parts.append("\n")

    def handle_startendtag(self, tag, attrs):
        if tag in BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.skip = max(0, self.skip - 1)
        elif tag in BLOCK:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def decode_html(raw):
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    m = re.search(rb"""charset\s*=\s*["']?([-\w.:]+)""", raw[:4096], re.I)
    if m:
        try:
            return raw.decode(m.group(1).decode("ascii"), errors="replace")
        except LookupError:
            pass
    return raw.decode("cp1252", errors="replace")


def page_text(paths):
    if not paths:
        die("usage: extract_score.py --page-text FILE.html[.gz]...", 2)
    for path in paths:
        try:
            raw = read_bytes(path)
        except OSError as e:
            die("%s: %s" % (path, e))
        p = PageText()
        p.feed(decode_html(raw))
        p.close()
        text = re.sub(r"[ \t\r\f\v]+", " ", "".join(p.parts))
        text = "\n".join(l.strip() for l in text.split("\n") if l.strip())
        name = os.path.basename(path)
        for ext in (".gz", ".html", ".htm"):
            if name.endswith(ext):
                name = name[:-len(ext)]
        sys.stdout.write(json.dumps({"id": name, "text": text}, ensure_ascii=False) + "\n")


def main():
    argv = sys.argv[1:]
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__)
        return
    if argv and argv[0] == "--page-text":
        page_text(argv[1:])
    else:
        score(argv)


if __name__ == "__main__":
    main()
