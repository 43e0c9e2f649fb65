#!/usr/bin/env python3
"""bench/dedup_quality.py: the labelled near-duplicate set of
bench/dedup-quality.sh, and the scoring of tamis's MinHash decision on it.
Standard library only.

usage:
  dedup_quality.py build OUT SEED NBASES SRC...
      SRC is LABEL=FILE: a JSONL file of documents ({"id", "text"}), or
      LABEL=gt:FILE, the html-extraction ground-truth.json (articleBody).
      Picks NBASES base documents of 200..5000 words (normalised as below;
      texts holding a script written without spaces are left out, since
      tamis splits those with ICU), makes edited variants of each, and
      writes OUT/docs.jsonl (bases first, then the variants), OUT/norm.jsonl
      (the same documents, text = the words of this file's normalisation
      joined by single spaces: tamis must sign it exactly as docs.jsonl)
      and OUT/pairs.tsv (one labelled pair a line, exact Jaccard).
  dedup_quality.py check SIG NORMSIG OUT
      Compares the band keys of docs.jsonl and norm.jsonl; exit 1 when any
      document differs (the re-implementation of the shingles is wrong).
  dedup_quality.py score OUT SIG [SIG...]
      The markdown tables: tamis's decision per pair (candidate iff any band
      key of the two documents is equal, both having words) against the
      exact Jaccard, for the first SIG in full, and one line per SIG (other
      --bands/--rows shapes) when there are more.
  dedup_quality.py pick OUT SIG N
      N pairs of 0.6 <= J <= 0.85 for a spot check through `tamis dedup
      minhash` on a file of the two documents: "a b kept" a line, kept = 1
      when the pair is a candidate, else 2.

Normalisation (the same as dedup/norm.c for texts of spaced scripts):
NFKC_Casefold (approximated as default-ignorables removed, NFKC, full case
folding, NFKC), then Unicode P* removed, white space and Cc/Cf/Zl/Zp made
one space, both steps again until the text is its own NFKC_Casefold (as
norm.c does); words = the space-separated runs; shingles = runs of 5 words
joined by a space (a text of 1..4 words is one shingle).  Jaccard = |A n B|
/ |A u B| over the shingle sets, by brute force.

Variants (controlled edits at a target Jaccard drawn evenly from
0.3..1.0, the edit rate set from the expected effect of the edit on
5-word shingles; the Jaccard reported is always the measured one):
  ins       insert random words (drawn from the other bases) after a
            fraction r of the words
  del       delete a fraction r of the words
  sub       replace a fraction r of the words by random words
  mix       sub, ins and del, r/3 each
  reorder   move 1 to a third of the blocks of >= 40 words (whole lines)
            to random places, plus mix edits for the rest of the target
  swap      boilerplate swap: the first and last words (a fraction f in
            all, split at random between head and tail) replaced by the
            head and tail of another base document
  swap+mix  both
  format    case changes, punctuation added or removed, line breaks and
            spaces changed: Jaccard 1 (the normalisation must undo it)
Unrelated pairs: each base with 2 other bases of its source and 1 of any
source (pairs of different bases; their Jaccard is measured too: pages of
one site share navigation).
"""
import json
import math
import random
import statistics
import struct
import sys
import unicodedata

NGRAM = 5
MIN_WORDS, MAX_WORDS = 200, 5000
VARIANTS = ["ins", "del", "sub", "mix", "reorder", "swap", "swap+mix"]

# Default_Ignorable_Code_Point (Unicode 15 DerivedCoreProperties.txt):
# NFKC_Casefold maps them to nothing
DI_RANGES = [(0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160),
             (0x17B4, 0x17B5), (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E),
             (0x2060, 0x206F), (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF),
             (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A),
             (0xE0000, 0xE0FFF)]


def _tables():
    di = {}
    for a, b in DI_RANGES:
        for cp in range(a, b + 1):
            di[cp] = None
    fin = {}
    for cp in range(sys.maxunicode + 1):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        c = chr(cp)
        cat = unicodedata.category(c)
        if cp in di or cat[0] == "P":
            fin[cp] = None
        elif c.isspace() or cat in ("Cc", "Cf", "Zl", "Zp"):
            fin[cp] = " "
    return di, fin


DI_TABLE, FINAL_TABLE = _tables()


def nfkc_cf(s):
    s = unicodedata.normalize("NFKC", s.translate(DI_TABLE))
    return unicodedata.normalize("NFKC", s.casefold())


def fold_and_filter(s):
    return " ".join(nfkc_cf(s).translate(FINAL_TABLE).split())


def words_of(text):
    """tamis's words of text (dedup/norm.c, spaced scripts)."""
    s = fold_and_filter(text)
    for _ in range(8):      # until it is its own normal form, as norm.c
        if nfkc_cf(s) == s:
            break
        s = fold_and_filter(s)
    return s.split(" ") if s else []


def unspaced(words):
    """True when the text holds a script tamis splits with ICU (norm.c unspaced())."""
    for w in words:
        for c in w:
            o = ord(c)
            if (0x0E00 <= o <= 0x0EFF or 0x1000 <= o <= 0x109F or 0x1780 <= o <= 0x17FF or
                    0x3040 <= o <= 0x30FF or 0x3400 <= o <= 0x9FFF or 0xF900 <= o <= 0xFAFF or
                    o >= 0x20000):
                return True
    return False


def shingles(words):
    if not words:
        return frozenset()
    if len(words) < NGRAM:
        return frozenset([" ".join(words)])
    return frozenset(" ".join(words[i:i + NGRAM]) for i in range(len(words) - NGRAM + 1))


def jaccard(a, b):
    if not a and not b:
        return 1.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


# ---------------------------------------------------------------- edits

def paragraphs(text):
    """The text as paragraphs (lines) of raw tokens; empty lines kept."""
    return [line.split() for line in text.split("\n")]


def join(paras):
    return "\n".join(" ".join(p) for p in paras)


def edit_words(paras, rng, pool, sub=0.0, ins=0.0, dele=0.0):
    out = []
    for p in paras:
        q = []
        for t in p:
            x = rng.random()
            if x < dele:
                continue
            if x < dele + sub:
                t = rng.choice(pool)
            q.append(t)
            if rng.random() < ins:
                q.append(rng.choice(pool))
        out.append(q)
    return out


def reorder(paras, rng):
    """The text as blocks of >= 40 tokens (consecutive lines joined), 1 to a
    third of them moved to random places."""
    blocks, cur = [], []
    for p in paras:
        cur += p
        if len(cur) >= 40:
            blocks.append(cur)
            cur = []
    if cur:
        blocks.append(cur)
    for _ in range(rng.randint(1, max(1, len(blocks) // 3))):
        b = blocks.pop(rng.randrange(len(blocks)))
        blocks.insert(rng.randrange(len(blocks) + 1), b)
    return blocks


def head_tail(paras, n_head, n_tail):
    """Paragraphs of the first n_head and of the last n_tail tokens."""
    def take(ps, n):
        out = []
        for p in ps:
            if n <= 0:
                break
            out.append(p[:n])
            n -= len(out[-1])
        return out
    head = take(paras, n_head)
    tail = [list(reversed(p)) for p in reversed(take([list(reversed(p)) for p in reversed(paras)], n_tail))]
    return head, tail


def swap(paras, donor, rng, f):
    total = sum(len(p) for p in paras)
    n = round(f * total)
    nh = round(n * rng.random())
    nt = n - nh
    # the body: what is left after the first nh and before the last nt tokens
    toks = [(i, t) for i, p in enumerate(paras) for t in p]
    body_idx = toks[nh:len(toks) - nt] if nt else toks[nh:]
    body = []
    last = None
    for i, t in body_idx:
        if i != last:
            body.append([])
            last = i
        body[-1].append(t)
    dh, dt = head_tail(donor, nh, nt)
    return dh + body + dt


def fmt(paras, rng):
    """Edits that the normalisation undoes: case, punctuation, spacing."""
    out = []
    for p in paras:
        q = []
        for t in p:
            x = rng.random()
            if x < 0.15:
                t = t.upper()
            elif x < 0.25:
                t = t.capitalize()
            elif x < 0.30:
                t = t + rng.choice([",", ".", ";", "!", "?", ":"])
            elif x < 0.33:
                t = "\u201c" + t + "\u201d"
            elif x < 0.36:
                t = t.rstrip(".,;:!?")
                if not t:
                    continue
            q.append(t)
        if q and rng.random() < 0.2:   # break the line in two
            k = rng.randrange(len(q))
            out.append(q[:k])
            q = q[k:]
        out.append(q)
    return out


def bisect(fn, target, lo=0.0, hi=0.95):
    """r in [lo, hi] with fn(r) = target, fn decreasing."""
    for _ in range(50):
        mid = (lo + hi) / 2
        if fn(mid) > target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def j_sub(r):
    k = (1 - r) ** NGRAM
    return k / (2 - k)


def j_ins(r):
    k = (1 - r) ** (NGRAM - 1)
    return k / (2 + r - k)


def j_del(r):
    k = (1 - r) ** NGRAM
    return k / (2 - r - k)


def j_mix(r):
    k = (1 - r / 3) ** (3 * NGRAM - 1)
    return k / (2 - k)


def variant(kind, target, paras, donor, rng, pool):
    if kind == "format":
        return fmt(paras, rng)
    if kind == "ins":
        return edit_words(paras, rng, pool, ins=bisect(j_ins, target))
    if kind == "del":
        return edit_words(paras, rng, pool, dele=bisect(j_del, target))
    if kind == "sub":
        return edit_words(paras, rng, pool, sub=bisect(j_sub, target))
    if kind == "mix":
        r = bisect(j_mix, target)
        return edit_words(paras, rng, pool, sub=r / 3, ins=r / 3, dele=r / 3)
    if kind == "reorder":
        p = reorder(paras, rng)
        jr = jaccard(shingles(words_of(join(paras))), shingles(words_of(join(p))))
        if target >= jr:
            return p
        r = bisect(j_mix, target / jr)
        return edit_words(p, rng, pool, sub=r / 3, ins=r / 3, dele=r / 3)
    if kind == "swap":
        return swap(paras, donor, rng, (1 - target) / (1 + target))
    if kind == "swap+mix":
        js = target ** rng.uniform(0.3, 0.7)
        p = swap(paras, donor, rng, (1 - js) / (1 + js))
        r = bisect(j_mix, min(1.0, target / js))
        return edit_words(p, rng, pool, sub=r / 3, ins=r / 3, dele=r / 3)
    raise ValueError(kind)


# ---------------------------------------------------------------- build

def load_sources(specs):
    docs = []   # (label, id, text)
    for spec in specs:
        label, _, path = spec.partition("=")
        if path.startswith("gt:"):
            with open(path[3:], encoding="utf-8") as f:
                gt = json.load(f)
            for k in sorted(gt):
                docs.append((label, k, gt[k].get("articleBody") or ""))
        else:
            with open(path, encoding="utf-8") as f:
                for n, line in enumerate(f):
                    if line.strip():
                        d = json.loads(line)
                        docs.append((label, "%s:%d" % (d.get("id", ""), n), d.get("text") or ""))
    return docs


def build(out, seed, nbases, specs):
    rng = random.Random(seed)
    cands = {}
    seen = set()
    skipped = {"short": 0, "long": 0, "unspaced": 0, "same text": 0}
    for label, did, text in load_sources(specs):
        w = words_of(text)
        if len(w) < MIN_WORDS:
            skipped["short"] += 1
            continue
        if len(w) > MAX_WORDS:
            skipped["long"] += 1
            continue
        if unspaced(w):
            skipped["unspaced"] += 1
            continue
        key = " ".join(w)
        if key in seen:
            skipped["same text"] += 1
            continue
        seen.add(key)
        cands.setdefault(label, []).append((did, text))
    labels = sorted(cands)
    # equal quotas, the rest filled from the sources that have more
    picked = {lab: [] for lab in labels}
    pools = {lab: rng.sample(cands[lab], len(cands[lab])) for lab in labels}
    left = nbases
    while left > 0 and any(pools.values()):
        open_labels = [lab for lab in labels if pools[lab]]
        share = max(1, left // len(open_labels))
        for lab in open_labels:
            take = min(share, len(pools[lab]), left)
            picked[lab] += pools[lab][:take]
            pools[lab] = pools[lab][take:]
            left -= take
    bases = [(lab, did, text) for lab in labels for did, text in picked[lab]]
    rng.shuffle(bases)
    base_paras = [paragraphs(t) for _, _, t in bases]
    base_sh = [shingles(words_of(t)) for _, _, t in bases]

    docs = []    # (id, text, metadata)
    for i, (lab, did, text) in enumerate(bases):
        docs.append(("b%03d %s %s" % (i, lab, did), text, {"source": lab, "role": "base"}))
    pairs = []   # (a, b, class, kind, target, jaccard, |A|, |B|)
    for i, (lab, did, text) in enumerate(bases):
        others = [j for j in range(len(bases)) if j != i]
        pool = [t for j in rng.sample(others, min(5, len(others))) for p in base_paras[j] for t in p]
        targets = [0.3 + 0.7 * (k + rng.random()) / (2 * len(VARIANTS)) for k in range(2 * len(VARIANTS))]
        kinds = VARIANTS * 2
        rng.shuffle(kinds)
        for k, (kind, target) in enumerate([("format", 1.0)] + list(zip(kinds, targets))):
            donor = base_paras[rng.choice(others)]
            vtext = join(variant(kind, target, base_paras[i], donor, rng, pool))
            vs = shingles(words_of(vtext))
            docs.append(("b%03d v%02d %s" % (i, k, kind), vtext,
                         {"source": lab, "role": "variant", "kind": kind, "target": round(target, 4)}))
            pairs.append((i, len(docs) - 1, "variant", kind, target, jaccard(base_sh[i], vs),
                          len(base_sh[i]), len(vs)))
    # unrelated pairs: 2 of the same source, 1 of any, each pair once
    done = set()
    for i, (lab, _, _) in enumerate(bases):
        same = [j for j in range(len(bases)) if j != i and bases[j][0] == lab]
        anyo = [j for j in range(len(bases)) if j != i]
        picks = rng.sample(same, min(2, len(same))) + [rng.choice(anyo)]
        for j in picks:
            a, b = min(i, j), max(i, j)
            if (a, b) in done:
                continue
            done.add((a, b))
            kind = "same-source" if bases[a][0] == bases[b][0] else "cross-source"
            pairs.append((a, b, "unrelated", kind, 0.0, jaccard(base_sh[a], base_sh[b]),
                          len(base_sh[a]), len(base_sh[b])))

    with open(out + "/docs.jsonl", "w", encoding="utf-8") as f, \
            open(out + "/norm.jsonl", "w", encoding="utf-8") as g:
        for did, text, meta in docs:
            f.write(json.dumps({"id": did, "text": text, "metadata": meta}, ensure_ascii=False) + "\n")
            g.write(json.dumps({"id": did, "text": " ".join(words_of(text))}, ensure_ascii=False) + "\n")
    with open(out + "/pairs.tsv", "w", encoding="utf-8") as f:
        f.write("a\tb\tclass\tkind\ttarget\tjaccard\tshingles_a\tshingles_b\n")
        for p in pairs:
            f.write("%d\t%d\t%s\t%s\t%.4f\t%.6f\t%d\t%d\n" % p)
    per = {lab: len(picked[lab]) for lab in labels}
    words = sorted(len(words_of(t)) for _, _, t in bases)
    with open(out + "/build.txt", "w", encoding="utf-8") as f:
        f.write("bases %d %s\n" % (len(bases), " ".join("%s=%d" % kv for kv in sorted(per.items()))))
        f.write("base_words min %d median %d max %d\n" % (words[0], words[len(words) // 2], words[-1]))
        f.write("documents %d pairs %d\n" % (len(docs), len(pairs)))
        f.write("candidates %s skipped %s\n" % (
            " ".join("%s=%d" % (lab, len(cands[lab])) for lab in labels),
            " ".join("%s=%d" % (k.replace(" ", "_"), v) for k, v in skipped.items())))
    sys.stderr.write(open(out + "/build.txt").read())


# ---------------------------------------------------------------- signatures

def read_sig(path):
    """(bands, rows, ngram, seed, need, [(flag, keys tuple, signature tuple)]) of a
    tamis SIG file; need > 0: candidates are verified (that many of the
    bands * rows values must agree) and the signatures follow the keys."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 48 or data[:8] != b"TMSIG001" or data[-8:] != b"TMSIGEND":
        sys.exit("dedup_quality.py: %s: not a complete tamis signature file" % path)
    bands, rows, ngram, need, seed = struct.unpack_from("<IIIIQ", data, 8)
    (n,) = struct.unpack_from("<Q", data, len(data) - 16)
    nsig = bands * rows if need else 0
    rec = 8 * (1 + bands) + 4 * nsig
    if 32 + n * rec + 16 != len(data):
        sys.exit("dedup_quality.py: %s: %d bytes do not hold %d documents of %d bands"
                 % (path, len(data), n, bands))
    docs = []
    for i in range(n):
        v = struct.unpack_from("<%dQ" % (1 + bands), data, 32 + i * rec)
        sig = struct.unpack_from("<%dI" % nsig, data, 32 + i * rec + 8 * (1 + bands))
        docs.append((v[0], v[1:], sig))
    return bands, rows, ngram, seed, need, docs


def check(sig, normsig, out):
    _, _, _, _, _, a = read_sig(sig)
    _, _, _, _, _, b = read_sig(normsig)
    ids = [json.loads(line)["id"] for line in open(out + "/docs.jsonl", encoding="utf-8")]
    if len(a) != len(b) or len(a) != len(ids):
        sys.exit("dedup_quality.py: %d, %d and %d documents" % (len(a), len(b), len(ids)))
    bad = [i for i in range(len(a)) if a[i] != b[i]]
    with open(out + "/check.txt", "w") as f:
        f.write("%d %d\n" % (len(a) - len(bad), len(a)))
    for i in bad[:10]:
        sys.stderr.write("dedup_quality.py: %s: tamis's shingles differ from this file's\n" % ids[i])
    print("%d of %d documents: the same band keys for the text and for its words as normalised here"
          % (len(a) - len(bad), len(a)))
    return 1 if bad else 0


# ---------------------------------------------------------------- score

def s_curve(bands, rows):
    return lambda s: 1 - (1 - s ** rows) ** bands


def decide(out, sig):
    """(bands, rows, [(class, kind, jaccard, detected)]) for the pairs of OUT."""
    bands, rows, _, _, need, sd = read_sig(sig)
    pairs = []
    with open(out + "/pairs.tsv", encoding="utf-8") as f:
        next(f)
        for line in f:
            a, b, cls, kind, _target, jac, _, _ = line.rstrip("\n").split("\t")
            a, b, jac = int(a), int(b), float(jac)
            fa, ka, sa = sd[a]
            fb, kb, sb = sd[b]
            det = bool(fa and fb and any(x == y for x, y in zip(ka, kb)))
            if det and need:
                det = sum(x == y for x, y in zip(sa, sb)) >= need
            pairs.append((cls, kind, jac, det))
    return bands, rows, pairs


def pr(pairs, theory, pos, neg):
    """positives, negatives, TP, FP, FN, precision, recall, and the precision
    and recall that the S-curve expects on the same pairs."""
    tp = fp = fn = 0
    etp = efp = efn = 0.0
    npos = nneg = 0
    for _, _, j, d in pairs:
        if pos(j):
            npos += 1
            tp += d
            fn += not d
            etp += theory(j)
            efn += 1 - theory(j)
        elif neg(j):
            nneg += 1
            fp += d
            efp += theory(j)
    f = lambda x, y: "%.3f" % (x / y) if y else "-"
    return npos, nneg, tp, fp, fn, f(tp, tp + fp), f(tp, tp + fn), f(etp, etp + efp), f(etp, etp + efn)


LABELS = (("J ≥ 0.8 vs J < 0.8", lambda j: j >= 0.8, lambda j: j < 0.8),
          ("J ≥ 0.85 vs J ≤ 0.7", lambda j: j >= 0.85, lambda j: j <= 0.7))


def score(out, sigs):
    bands, rows, pairs = decide(out, sigs[0])
    theory = s_curve(bands, rows)
    edited = [p for p in pairs if p[0] == "variant"]
    lines = ["| pairs | label | positives | negatives | TP | FP | FN | precision | recall | S-curve precision | S-curve recall |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, sel in (("all", pairs), ("variants only", edited)):
        for lab, pos, neg in LABELS:
            lines.append("| %s | %s | %d | %d | %d | %d | %d | %s | %s | %s | %s |"
                         % ((name, lab) + pr(sel, theory, pos, neg)))
    metrics = "\n".join(lines)

    # the S-curve, in bins of 0.05
    nb = 20
    bins = [[] for _ in range(nb)]
    for _, _, j, d in pairs:
        bins[min(nb - 1, int(j * nb + 1e-9))].append((j, d))
    lines = ["| Jaccard | pairs | detected | measured | 95%% interval (Wilson) | 1-(1-s^%d)^%d, mean over the pairs | at the bin centre |" % (rows, bands),
             "| --- | ---: | ---: | ---: | --- | ---: | ---: |"]
    for k, b in enumerate(bins):
        if not b:
            continue
        n = len(b)
        det = sum(d for _, d in b)
        p = det / n
        z = 1.96
        c = (p + z * z / (2 * n)) / (1 + z * z / n)
        h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        lo_b, hi_b = k / nb, (k + 1) / nb
        lines.append("| %.2f–%.2f%s | %d | %d | %.3f | %.3f–%.3f | %.3f | %.3f |" % (
            lo_b, hi_b, "" if k < nb - 1 else " (and 1)", n, det, p, max(0.0, c - h), min(1.0, c + h),
            statistics.fmean(theory(j) for j, _ in b), theory((lo_b + hi_b) / 2)))
    curve = "\n".join(lines)

    # by kind of edit
    lines = ["| pairs | kind | n | Jaccard min | median | max | detected | detected of J ≥ 0.85 | detected of J ≤ 0.7 |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    fr = lambda s: "%d/%d" % (sum(p[3] for p in s), len(s)) if s else "-"
    for kind in ["format"] + VARIANTS + ["same-source", "cross-source"]:
        sel = [p for p in pairs if p[1] == kind]
        if not sel:
            continue
        js = sorted(p[2] for p in sel)
        lines.append("| %s | %s | %d | %.3f | %.3f | %.3f | %d | %s | %s |" % (
            sel[0][0], kind, len(sel), js[0], js[len(js) // 2], js[-1], sum(p[3] for p in sel),
            fr([p for p in sel if p[2] >= 0.85]), fr([p for p in sel if p[2] <= 0.7])))
    bykind = "\n".join(lines)

    # calibration: detections against the S-curve's expectation
    mid = [p for p in pairs if 0.3 <= p[2] < 1.0]
    exp = sum(theory(p[2]) for p in mid)
    var = sum(theory(p[2]) * (1 - theory(p[2])) for p in mid)
    got = sum(p[3] for p in mid)
    hi = [p for p in pairs if p[2] >= 0.85]
    lo = [p for p in pairs if p[2] <= 0.7]

    print("**Decision vs exact Jaccard** (%d pairs; %d bands x %d rows)" % (len(pairs), bands, rows))
    print()
    print(metrics)
    print()
    print("**Measured S-curve** (the fraction of pairs detected per Jaccard bin)")
    print()
    print(curve)
    print()
    print("**By edit**")
    print()
    print(bykind)
    print()
    print("- pairs with J ≥ 0.85: %d, missed %d; pairs with J ≤ 0.7: %d, detected %d"
          % (len(hi), sum(not p[3] for p in hi), len(lo), sum(p[3] for p in lo)))
    print("- calibration: of the %d pairs with 0.3 ≤ J < 1, %d detected; the S-curve expects %.1f ± %.1f (z = %+.2f)"
          % (len(mid), got, exp, math.sqrt(var), (got - exp) / math.sqrt(var) if var else 0.0))
    if len(sigs) > 1:
        print()
        print("**Other LSH shapes** (tamis sign --bands B --rows R on the same documents)")
        print()
        print("| bands x rows | hashes | threshold (1/b)^(1/r) | precision, J ≥ 0.8 | recall, J ≥ 0.8 | precision, J ≥ 0.85 vs ≤ 0.7 | recall, J ≥ 0.85 vs ≤ 0.7 | S-curve precision, ≥ 0.85 vs ≤ 0.7 | S-curve recall |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for sig in sigs:
            b, r, ps = decide(out, sig)
            th = s_curve(b, r)
            m1 = pr(ps, th, *LABELS[0][1:])
            m2 = pr(ps, th, *LABELS[1][1:])
            print("| %dx%d%s | %d | %.3f | %s | %s | %s | %s | %s | %s |" % (
                b, r, " (default)" if (b, r) == (14, 8) else "", b * r, (1 / b) ** (1 / r),
                m1[5], m1[6], m2[5], m2[6], m2[7], m2[8]))


def pick(out, sig, n):
    """n pairs with 0.6 <= J <= 0.85 (where the decision is least sure),
    one a line: a, b, and the documents `tamis dedup minhash` must keep of
    the two-document file (1 if the pair is a candidate, else 2)."""
    _, _, pairs = decide(out, sig)
    rows = []
    with open(out + "/pairs.tsv", encoding="utf-8") as f:
        next(f)
        for line, (_, _, j, d) in zip(f, pairs):
            if 0.6 <= j <= 0.85:
                a, b = line.split("\t")[:2]
                rows.append("%s %s %d" % (a, b, 1 if d else 2))
    for r in random.Random(1).sample(rows, min(n, len(rows))):
        print(r)


def main(argv):
    if len(argv) >= 5 and argv[1] == "build":
        build(argv[2], int(argv[3]), int(argv[4]), argv[5:])
        return 0
    if len(argv) == 5 and argv[1] == "check":
        return check(argv[2], argv[3], argv[4])
    if len(argv) == 5 and argv[1] == "pick":
        pick(argv[2], argv[3], int(argv[4]))
        return 0
    if len(argv) >= 4 and argv[1] == "score":
        score(argv[2], argv[3:])
        return 0
    sys.stderr.write(__doc__.split("\n\n")[1] + "\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
