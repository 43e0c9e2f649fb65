#!/usr/bin/python3
"""bench/classifier_data.py: the labelled train/test sets of
bench/classifier.sh, from real text available offline.

usage: classifier_data.py OUTDIR TAMIS

Documents (OUTDIR/docs.jsonl, one per source document, cached):
  handbook    the Debian Administrator's Handbook, en-US (debian-handbook)
  py-library  Python 3 documentation (python3-doc): the library reference,
  py-capi     the C API,
  py-whatsnew the "What's new" pages,
  py-guide    the tutorial, HOWTOs, FAQ, language reference and the rest
  man-cmd     English man pages rendered with groff: section 1 (commands),
  man-c       sections 2 and 3 (system calls, C library),
  man-admin   sections 5, 7 and 8 (files, overviews, administration),
              at most 600 pages each, spread over the alphabet
  web         real web pages: every HTML response of the WARC files under
              /work/shared/data/warc and the 91 pages of
              /work/shared/data/html-extraction
All HTML goes through `tamis extract` (main text, boilerplate removed).

Examples are chunks of documents: paragraphs joined until at least 50
words, cut at 200 words (a short tail is dropped).  The split is by
document (a document's chunks are all train or all test): one document in
five is test, by a hash of its source and id.  Per task and class at most
TRAIN_CAP train and TEST_CAP test chunks are drawn (seeded).

Tasks (fastText lines `__label__X text`, shuffled, whitespace collapsed):
  topic/{train,test}.txt   the nine classes above
  binary/{train,test}.txt  hq (handbook, python, man pages) vs web; hq
                           drawn from all its classes evenly, twice as many
                           hq as web chunks
"""
import glob
import hashlib
import json
import os
import random
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
from langid_corpus import render_man  # noqa: E402

HB = "/usr/share/doc/debian-handbook/html/en-US"
PY = "/usr/share/doc/python3/html"
DATA = "/work/shared/data"
MAN_CAP = 600
TRAIN_CAP = 4000
TEST_CAP = 800
MIN_WORDS, MAX_WORDS = 50, 200
PY_SKIP = re.compile(r"^(genindex|search|py-modindex|contents|download|copyright|license|bugs|about)")


def extract(tamis, files, html=True):
    args = [tamis, "extract", "-j", "2", "--keep-truncated"] + (["--html"] if html else [])
    r = subprocess.run(args + files, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    return [json.loads(l) for l in r.stdout.decode("utf-8").splitlines()]


def spread(items, cap):
    items = sorted(items)
    if len(items) <= cap:
        return items
    step = len(items) / cap
    return [items[int(i * step)] for i in range(cap)]


def man_pages(sections):
    pages = []
    for s in sections:
        pages += [p for p in glob.glob("/usr/share/man/man%s/*" % s)
                  if os.path.isfile(p) and not os.path.islink(p)]
    return spread(pages, MAN_CAP)


def build_docs(tamis, out):
    docs = []

    def add(cls, did, text):
        if text.strip():
            docs.append({"class": cls, "id": did, "text": text})

    for d in extract(tamis, sorted(glob.glob(HB + "/*.html"))):
        add("handbook", d["id"], d["text"])
    groups = {"py-library": ["library"], "py-capi": ["c-api"], "py-whatsnew": ["whatsnew"],
              "py-guide": ["tutorial", "howto", "faq", "reference", "using", "extending",
                           "distutils", "install", "installing", "distributing", "."]}
    for cls, dirs in groups.items():
        files = []
        for sub in dirs:
            files += [f for f in sorted(glob.glob("%s/%s/*.html" % (PY, sub)))
                      if not PY_SKIP.match(os.path.basename(f))]
        for d in extract(tamis, files):
            add(cls, d["id"], d["text"])
    for cls, secs in (("man-cmd", "1"), ("man-c", "23"), ("man-admin", "578")):
        for p in man_pages(secs):
            try:
                add(cls, os.path.basename(p), render_man(p))
            except Exception as e:  # one bad page never stops the build
                print("classifier_data: skip %s: %s" % (p, e), file=sys.stderr)
    warcs = sorted(glob.glob(DATA + "/warc/*/*.warc.gz") + glob.glob(DATA + "/warc/*/*.warc"))
    for w in warcs:
        for d in extract(tamis, [w], html=False):
            add("web", os.path.basename(w) + ":" + d["id"], d["text"])
    for d in extract(tamis, sorted(glob.glob(DATA + "/html-extraction/html/*.html.gz"))):
        add("web", "ae:" + d["id"], d["text"])
    with open(out + ".tmp", "w") as f:
        for d in docs:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
    os.rename(out + ".tmp", out)


def chunks(text):
    """Paragraphs joined until MIN_WORDS words, cut at MAX_WORDS."""
    out, cur = [], []
    for para in re.split(r"\n\s*\n|\n", text):
        cur += para.split()
        while len(cur) >= MAX_WORDS:
            out.append(cur[:MAX_WORDS])
            cur = cur[MAX_WORDS:]
        if len(cur) >= MIN_WORDS:
            out.append(cur)
            cur = []
    return [" ".join(c) for c in out]


def is_test(d):
    h = hashlib.md5((d["class"] + "\t" + d["id"]).encode()).hexdigest()
    return int(h[:8], 16) % 5 == 0


def write(path, examples, rng):
    rng.shuffle(examples)
    with open(path, "w") as f:
        for label, text in examples:
            f.write("__label__%s %s\n" % (label, text))


def main():
    out, tamis = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    docs_path = os.path.join(out, "docs.jsonl")
    if not os.path.exists(docs_path):
        build_docs(tamis, docs_path)
    split = {"train": {}, "test": {}}
    ndocs = {}
    with open(docs_path) as f:
        for line in f:
            d = json.loads(line)
            part = "test" if is_test(d) else "train"
            split[part].setdefault(d["class"], []).extend(chunks(d["text"]))
            ndocs.setdefault(d["class"], [0, 0])[part == "test"] += 1
    rng = random.Random(1)
    classes = sorted(ndocs)
    for part, cap in (("train", TRAIN_CAP), ("test", TEST_CAP)):
        topic, hq = [], []
        for c in classes:
            ch = split[part].get(c, [])
            ch = rng.sample(ch, min(cap, len(ch)))
            topic += [(c, t) for t in ch]
            if c != "web":
                hq.append(ch)
        web = [("web", t) for t in split[part].get("web", [])]
        # hq: twice the web chunks, evenly from its classes
        want = 2 * len(web)
        per = want // len(hq)
        binary = web + [("hq", t) for ch in hq for t in ch[:per]]
        for task, ex in (("topic", topic), ("binary", binary)):
            os.makedirs(os.path.join(out, task), exist_ok=True)
            write(os.path.join(out, task, part + ".txt"), ex, rng)
    with open(os.path.join(out, "classes.tsv"), "w") as f:
        f.write("class\ttrain_docs\ttest_docs\ttrain_chunks\ttest_chunks\n")
        for c in classes:
            f.write("%s\t%d\t%d\t%d\t%d\n" % (c, ndocs[c][0], ndocs[c][1],
                                              len(split["train"].get(c, [])),
                                              len(split["test"].get(c, []))))


if __name__ == "__main__":
    main()
