#!/usr/bin/python3
"""Labelled-corpus builder for the tamis language identifier (stdlib only).

Driven by scripts/langid-corpus.sh.  Subcommands (OUT = bench/work/langid):

  udhr     UDHR_JSONL_GZ OUT/src/udhr.tsv        one document per UDHR article
  handbook JSONL_DIR     OUT/src/handbook.tsv    tamis-extract output, one page = one doc
  gettext  LOCALE_DIR    OUT/src/gettext.tsv     msgstr strings of one .mo = one doc
  man      MAN_DIR       OUT/src/man.tsv         rendered translated man pages
  english  OUT/src/english.tsv                   English man pages and Python docs
  fortunes OUT/src/fortunes.tsv                  fortune cookies of 13 languages
  split    OUT                                   src/*.tsv -> docs/train/heldout/languages
  clean    OUT FTZ CLD2                          drop untranslated English (two peers agree)

Every src/*.tsv and docs.tsv line is  lang<TAB>source<TAB>doc_id<TAB>text  where text
is escaped: backslash -> \\\\, tab -> \\t, newline -> \\n, CR -> \\r (reversible).
Sources write to FILE.tmp and rename, so an interrupted run never leaves a
half file that a rerun would trust.
"""
import concurrent.futures
import glob
import gzip
import hashlib
import json
import os
import re
import struct
import subprocess
import sys
import unicodedata

# ---------------------------------------------------------------- language codes

ISO_JSON = "/usr/share/iso-codes/json/iso_639-3.json"

# Individual languages that are, in practice, the written standard of a
# macrolanguage (or deprecated / alias codes) -> the macrolanguage's code.
# Each rule is applied before the 639-3 -> 639-1 mapping.
MACRO = {
    "arb": "ar",   # Standard Arabic -> Arabic
    "cmn": "zh",   # Mandarin -> Chinese (yue, nan, hak, wuu, gan stay separate)
    "pes": "fa",   # Iranian Persian -> Persian
    "prs": "fa",   # Dari -> Persian (UDHR fa-AF)
    "swh": "sw",   # Swahili (individual) -> Swahili
    "uzn": "uz",   # Northern Uzbek -> Uzbek
    "ekk": "et",   # Standard Estonian -> Estonian
    "lvs": "lv",   # Standard Latvian -> Latvian
    "azj": "az",   # North Azerbaijani -> Azerbaijani
    "khk": "mn",   # Halh Mongolian -> Mongolian
    "plt": "mg",   # Plateau Malagasy -> Malagasy
    "ory": "or",   # Odia (individual) -> Oriya
    "npi": "ne",   # Nepali (individual) -> Nepali
    "zsm": "ms",   # Standard Malay -> Malay
    "zlm": "ms",   # Malay (individual; UDHR zlm-Latn) -> Malay
    "als": "sq",   # Tosk Albanian (UDHR's only Albanian, the standard) -> Albanian
    "ydd": "yi",   # Eastern Yiddish -> Yiddish
    "nob": "nb",   # Norwegian Bokmål 639-3 -> nb (nb and nn are kept apart)
    "nno": "nn",
    "no": "nb",    # generic Norwegian catalogues (locale "no") are Bokmål
    "kmr": "ku",   # Northern Kurdish (Kurmanji) = the "ku" of catalogues; ckb kept
    "mo": "ro",    # Moldavian (deprecated) -> Romanian
    "fil": "tl",   # Filipino is standardised Tagalog
    "iw": "he", "in": "id", "ji": "yi",  # deprecated 639-1 codes
}

# Tags dropped entirely: undetermined, or English/Vietnamese/... written in
# a script nobody uses for that language on the web (they would teach the
# model that e.g. Chữ Nôm Han characters are Vietnamese).
DROP_TAGS = {"und", "en@shaw", "vi-hani", "tl-tglg", "sa-gran", "jv-java",
             "fuv-adlm", "kkh-lana", "locale.alias"}

_alpha2 = None


def alpha2_table():
    """639-3 (and 639-2/B) -> 639-1 where a 639-1 code exists."""
    global _alpha2
    if _alpha2 is None:
        _alpha2 = {}
        try:
            with open(ISO_JSON, encoding="utf-8") as f:
                for e in json.load(f)["639-3"]:
                    if "alpha_2" in e:
                        _alpha2[e["alpha_3"]] = e["alpha_2"]
                        if "bibliographic" in e:
                            _alpha2[e["bibliographic"]] = e["alpha_2"]
        except OSError as e:
            print("langid-corpus: no %s (%s); 3-letter codes kept" % (ISO_JSON, e),
                  file=sys.stderr)
    return _alpha2


def norm_lang(tag):
    """Locale / BCP 47 tag -> ISO 639-1, else 639-3; None to drop.

    Rules, in order:
      1. tags in DROP_TAGS (compared lower-case, modifier included) -> dropped;
      2. "@modifier" removed: sr@latin, sr@ije, be@latin, ca@valencia,
         uz@cyrillic, tt@iqtelif, en@quot, en@boldquot -> sr, be, ca, uz, tt, en;
      3. encoding suffix ".UTF-8" removed;
      4. only the primary subtag kept, region/script/variant dropped:
         pt_BR, pt-PT -> pt; zh_CN, zh_TW, zh_HK, zh_Hans, zh-Hant -> zh;
         sr-Cyrl, sr-Latn -> sr; de-1901 -> de; el-polyton -> el;
         rm-sursilv -> rm; ha-NE -> ha; ak-asante -> ak; ar-MA (handbook) -> ar;
      5. MACRO table above (individual language -> macrolanguage standard);
      6. three-letter code -> its 639-1 code where iso-codes has one.
    """
    t = tag.strip().lower()
    if not t or t in DROP_TAGS:
        return None
    t = t.split("@", 1)[0].split(".", 1)[0]
    if t in DROP_TAGS:
        return None
    p = re.split(r"[-_]", t, 1)[0]
    if not re.fullmatch(r"[a-z]{2,3}", p) or p == "und":
        return None
    p = MACRO.get(p, p)
    if len(p) == 3:
        p = alpha2_table().get(p, p)
        p = MACRO.get(p, p)
    return p


# ---------------------------------------------------------------- helpers

def esc(s):
    return (s.replace("\\", "\\\\").replace("\t", "\\t")
            .replace("\n", "\\n").replace("\r", "\\r"))


def unesc(s):
    return re.sub(r"\\(.)", lambda m: {"t": "\t", "n": "\n", "r": "\r"}.get(m.group(1), m.group(1)), s)


class Writer:
    """Writes OUT.tmp, renames to OUT on close (atomic; reruns trust OUT)."""

    def __init__(self, path):
        self.path = path
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        self.f = open(path + ".tmp", "w", encoding="utf-8")
        self.n = 0
        self.langs = set()

    def doc(self, lang, source, doc_id, text):
        text = text.strip()
        if not lang or not text:
            return
        self.f.write("%s\t%s\t%s\t%s\n" % (lang, source, esc(doc_id), esc(text)))
        self.n += 1
        self.langs.add(lang)

    def close(self):
        self.f.close()
        os.replace(self.path + ".tmp", self.path)
        print("  %s: %d documents, %d languages" % (os.path.basename(self.path),
              self.n, len(self.langs)), file=sys.stderr)


# ---------------------------------------------------------------- UDHR

def udhr_articles(text):
    """Split one UDHR version into ~30 article documents.

    Article headings are short lines holding a digit (any script's digits:
    "Article 1", "Artigo 1º", "第一条" has none, "Ст. 1").  When 20..45 such
    headings are found the text is cut before each; otherwise the lines are
    cut into 30 consecutive groups of equal size.  The preamble is piece 0.
    """
    lines = [l for l in text.split("\n") if l.strip()]
    heads = [i for i, l in enumerate(lines)
             if len(l) <= 40 and any(unicodedata.category(c) == "Nd" for c in l)]
    if 20 <= len(heads) <= 45:
        cuts = [0] + heads
    else:
        n = len(lines)
        k = min(30, n)
        cuts = sorted(set(i * n // k for i in range(k))) if k else [0]
    pieces = []
    for a, b in zip(cuts, cuts[1:] + [len(lines)]):
        if b > a:
            pieces.append("\n".join(lines[a:b]))
    return pieces


def cmd_udhr(src, out):
    w = Writer(out)
    dropped = []
    with gzip.open(src, "rt", encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            tag = d.get("bcp47") or d.get("iso6393") or ""
            lang = norm_lang(tag)
            if lang is None:
                dropped.append("%s(%s)" % (tag, d.get("code")))
                continue
            for i, art in enumerate(udhr_articles(d.get("text", ""))):
                w.doc(lang, "udhr", "udhr-%s-%s-a%02d" % (d["code"], tag, i), art)
    w.close()
    print("  udhr: dropped %d versions: %s" % (len(dropped), " ".join(dropped)),
          file=sys.stderr)


# ---------------------------------------------------------------- handbook

def cmd_handbook(jsonl_dir, out):
    """JSONL_DIR/<locale>.jsonl from `tamis extract --html` of each locale."""
    w = Writer(out)
    for p in sorted(glob.glob(os.path.join(jsonl_dir, "*.jsonl"))):
        loc = os.path.basename(p)[:-len(".jsonl")]
        lang = norm_lang(loc)
        with open(p, encoding="utf-8") as f:
            for line in f:
                d = json.loads(line)
                w.doc(lang, "debian-handbook", "handbook-%s-%s" % (loc, d.get("id", "")),
                      d.get("text", ""))
    w.close()


# ---------------------------------------------------------------- gettext

def read_mo(path):
    """Yields (msgid, msgstr) pairs of a GNU .mo file, decoded.

    Parses the binary directly instead of one `msgunfmt` process per file
    (3700 files): same strings, a fraction of the time.  Plural forms
    (NUL-separated) and msgctxt (EOT-separated) are split off.
    """
    with open(path, "rb") as f:
        buf = f.read()
    magic = struct.unpack("<I", buf[:4])[0]
    e = "<" if magic == 0x950412de else ">" if magic == 0xde120495 else None
    if e is None:
        raise ValueError("not a .mo file")
    _, n, oo, to = struct.unpack(e + "4I", buf[4:20])
    raw = []
    for i in range(n):
        ol, oa = struct.unpack(e + "2I", buf[oo + 8 * i: oo + 8 * i + 8])
        tl, ta = struct.unpack(e + "2I", buf[to + 8 * i: to + 8 * i + 8])
        raw.append((buf[oa:oa + ol], buf[ta:ta + tl]))
    charset = "utf-8"
    for k, v in raw:
        if k == b"":
            m = re.search(rb"charset=([-\w]+)", v)
            if m:
                charset = m.group(1).decode("ascii")
    for k, v in raw:
        if k == b"":
            continue
        k = k.decode(charset, "replace").split("\x04")[-1]
        for s in v.decode(charset, "replace").split("\x00"):
            yield k.split("\x00")[0], s


def mo_text(path, lang):
    keep = []
    for msgid, msgstr in read_mo(path):
        s = msgstr.strip()
        # untranslated copies of the English msgid say nothing about lang
        if not s or (lang != "en" and s == msgid.strip()):
            continue
        if msgid in ("translator-credits", "Your names", "Your emails"):
            continue
        s = s.replace("&", "").replace("_", " ") if len(s) < 40 else s  # menu accelerators
        keep.append(s)
    return "\n".join(keep)


def cmd_gettext(locale_dir, out):
    w = Writer(out)
    bad = 0
    for loc in sorted(os.listdir(locale_dir)):
        lang = norm_lang(loc)
        if lang is None:
            continue
        for mo in sorted(glob.glob(os.path.join(locale_dir, loc, "LC_MESSAGES", "*.mo"))):
            try:
                w.doc(lang, "gettext", "mo-%s-%s" % (loc, os.path.basename(mo)[:-3]),
                      mo_text(mo, lang))
            except (ValueError, struct.error, LookupError) as ex:
                bad += 1
                print("  gettext: skip %s: %s" % (mo, ex), file=sys.stderr)
    w.close()
    if bad:
        print("  gettext: %d unreadable .mo files skipped" % bad, file=sys.stderr)


# ---------------------------------------------------------------- man pages

MAN_LOCALES_SKIP = re.compile(r"^man\d|^man$")


def render_man(path):
    """groff, input forced to UTF-8 (all manpages-l10n pages are), no
    hyphenation, a 2000-column line so each paragraph is one line; the
    header and footer lines are dropped."""
    with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as f:
        src = f.read()
    if src.startswith(b".so "):
        return ""  # link to another page
    p = subprocess.run(["groff", "-K", "utf-8", "-t", "-man", "-Tutf8", "-rLL=2000n",
                        "-rHY=0", "-P-cbu"], input=src, stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, timeout=30)
    lines = p.stdout.decode("utf-8", "replace").split("\n")
    lines = [l.strip() for l in lines]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    lines = lines[1:-1]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def cmd_man(man_dir, out, per_lang=250, jobs=2):
    w = Writer(out)
    work = []
    for loc in sorted(os.listdir(man_dir)):
        if MAN_LOCALES_SKIP.match(loc) or not os.path.isdir(os.path.join(man_dir, loc)):
            continue
        lang = norm_lang(loc)
        if lang is None or lang == "en":
            continue
        pages = sorted(glob.glob(os.path.join(man_dir, loc, "man*", "*")))
        pages = [p for p in pages if os.path.isfile(p) and not os.path.islink(p)]
        # spread the cap over the whole alphabet and all sections
        if len(pages) > per_lang:
            step = len(pages) / per_lang
            pages = [pages[int(i * step)] for i in range(per_lang)]
        for p in pages:
            work.append((lang, loc, p))
    print("  man: rendering %d pages with %d jobs" % (len(work), jobs), file=sys.stderr)
    with concurrent.futures.ThreadPoolExecutor(jobs) as ex:
        futs = [ex.submit(render_man, p) for _, _, p in work]
        for i, ((lang, loc, p), fu) in enumerate(zip(work, futs)):
            try:
                text = fu.result()
            except Exception as e:  # one bad page never stops the build
                print("  man: skip %s: %s" % (p, e), file=sys.stderr)
                continue
            stem = re.sub(r"\.gz$", "", os.path.basename(p))
            w.doc(lang, "manpages", "man-%s-%s" % (loc, stem), text)
            if (i + 1) % 500 == 0:
                print("  man: %d/%d" % (i + 1, len(work)), file=sys.stderr)
    w.close()


# ---------------------------------------------------------------- English

def cmd_english(out, per_kind=300, jobs=2):
    """More English: the other languages have books, catalogues and man
    pages, English only the handbook and a few catalogues, and English is
    the language whose confidence matters most.  Rendered English man
    pages (/usr/share/man/man1..8, spread over the alphabet) and the
    prose of the Python documentation (python3-doc: tutorial, HOWTOs,
    FAQ, library reference), extracted by the same groff call and by
    `tamis extract --html` (TAMIS in the environment)."""
    w = Writer(out)
    pages = sorted(p for p in glob.glob("/usr/share/man/man[1-8]/*")
                   if os.path.isfile(p) and not os.path.islink(p))
    if len(pages) > per_kind:
        step = len(pages) / per_kind
        pages = [pages[int(i * step)] for i in range(per_kind)]
    with concurrent.futures.ThreadPoolExecutor(jobs) as ex:
        for p, fu in zip(pages, [ex.submit(render_man, p) for p in pages]):
            try:
                text = fu.result()
            except Exception as e:
                print("  english: skip %s: %s" % (p, e), file=sys.stderr)
                continue
            w.doc("en", "manpages", "man-C-" + re.sub(r"\.gz$", "", os.path.basename(p)), text)
    html = []
    for sub in ("tutorial", "howto", "faq", "library"):
        html += sorted(glob.glob("/usr/share/doc/python3/html/%s/*.html" % sub))
    if len(html) > per_kind:
        step = len(html) / per_kind
        html = [html[int(i * step)] for i in range(per_kind)]
    tamis = os.environ.get("TAMIS", "bin/tamis")
    if html:
        r = subprocess.run([tamis, "extract", "--html", "--source", "python-doc", "-j",
                            str(jobs)] + html, stdout=subprocess.PIPE, check=True)
        for line in r.stdout.decode("utf-8").splitlines():
            d = json.loads(line)
            w.doc("en", "python-doc", "py-" + d["id"], d["text"])
    w.close()


# ---------------------------------------------------------------- fortunes

FORTUNE_PKGS = {"fortunes": "en", "fortunes-zh": "zh", "fortunes-bg": "bg",
                "fortunes-br": "pt", "fortunes-cs": "cs", "fortunes-de": "de",
                "fortunes-eo": "eo", "fortunes-es": "es", "fortunes-ga": "ga",
                "fortunes-it": "it", "fortunes-pl": "pl", "fortunes-ru": "ru"}


def cmd_fortunes(out):
    """Everyday prose: the fortune-cookie collections of Debian's fortunes*
    packages (quotations, jokes, poems; the only general-register text
    here besides the UDHR).  The package gives the language (fortunes-cs
    also ships Slovak, under sk/); the offensive sections (off/) are left
    out.  One fortune (between '%' lines) = one document."""
    w = Writer(out)
    for pkg, lang in sorted(FORTUNE_PKGS.items()):
        try:
            files = subprocess.run(["dpkg", "-L", pkg], capture_output=True, text=True,
                                   check=True).stdout.split("\n")
        except (subprocess.CalledProcessError, OSError):
            print("  fortunes: %s not installed, skipped" % pkg, file=sys.stderr)
            continue
        for f in sorted(files):
            if ("/games/fortunes/" not in f or f.endswith(".dat") or "/off/" in f
                    or not os.path.isfile(f) or os.path.islink(f)):
                continue
            flang = "sk" if "/sk/" in f else lang
            with open(f, encoding="utf-8", errors="replace") as fh:
                parts = re.split(r"\n%\n", fh.read())
            for i, t in enumerate(parts):
                if t.strip():
                    w.doc(flang, "fortunes", "%s-%d" % (f, i), t)
    w.close()


# ---------------------------------------------------------------- split

MIN_PARA = 20


def paragraphs(text):
    for p in re.split(r"\n", text):
        p = " ".join(p.split())
        if len(p) >= MIN_PARA:
            yield p


def is_heldout(source, doc_id):
    h = hashlib.md5(("%s\t%s" % (source, doc_id)).encode("utf-8")).digest()
    return int.from_bytes(h[:8], "little") % 10 == 0


def cmd_split(out):
    """src/*.tsv -> docs.tsv, train.tsv, heldout.tsv, languages.tsv.

    Paragraphs are the document's lines (blank lines included as cuts),
    whitespace collapsed, under MIN_PARA characters dropped, and exact
    duplicates dropped across the whole corpus (first seen wins; sources
    are read in order of value: udhr, handbook, gettext, man).  The 90/10
    side is chosen per document, so no document is on both sides.
    """
    order = ["udhr", "handbook", "gettext", "man", "english", "fortunes"]
    srcs = [os.path.join(out, "src", s + ".tsv") for s in order]
    srcs = [s for s in srcs if os.path.exists(s)]
    seen = set()
    stats = {}
    outs = {n: open(os.path.join(out, n + ".tmp"), "w", encoding="utf-8")
            for n in ("docs.tsv", "train.tsv", "heldout.tsv")}
    dups = short = 0
    for s in srcs:
        with open(s, encoding="utf-8") as f:
            for line in f:
                lang, source, doc_id, etext = line.rstrip("\n").split("\t", 3)
                outs["docs.tsv"].write(line)
                held = is_heldout(source, doc_id)
                st = stats.setdefault(lang, [0, 0, 0, set(), 0])
                st[0] += 1
                st[3].add(source)
                o = outs["heldout.tsv" if held else "train.tsv"]
                for p in paragraphs(unesc(etext)):
                    h = hashlib.blake2b(p.encode("utf-8"), digest_size=12).digest()
                    if h in seen:
                        dups += 1
                        continue
                    seen.add(h)
                    o.write("%s\t%s\n" % (lang, p))  # no tab/newline left: raw
                    st[1] += 1
                    st[2] += len(p)
                    if held:
                        st[4] += 1
    for n, f in outs.items():
        f.close()
        os.replace(os.path.join(out, n + ".tmp"), os.path.join(out, n))
    with open(os.path.join(out, "languages.tsv.tmp"), "w", encoding="utf-8") as f:
        f.write("lang\tdocuments\tparagraphs\tcharacters\tsources\theldout_paragraphs\n")
        for lang, st in sorted(stats.items(), key=lambda kv: (-kv[1][2], kv[0])):
            f.write("%s\t%d\t%d\t%d\t%s\t%d\n" % (lang, st[0], st[1], st[2],
                                                  ",".join(sorted(st[3])), st[4]))
    os.replace(os.path.join(out, "languages.tsv.tmp"), os.path.join(out, "languages.tsv"))
    print("  split: %d languages, %d paragraphs kept, %d duplicate paragraphs dropped"
          % (len(stats), len(seen), dups), file=sys.stderr)


# ---------------------------------------------------------------- clean

def cmd_clean(out, ftz, cld2):
    """Drops untranslated English from the other languages' paragraphs.

    Catalogues and books are often partly untranslated: the Arabic handbook
    has English chapters, many .mo files copy English msgids.  A paragraph
    labelled L (not English) is dropped when fastText lid.176 says English
    with probability >= 0.8, or >= 0.5 and CLD2 says English too.  Only
    English is removed, so close languages (bs/hr/sr, id/ms) are never
    judged by a peer; a mistake of fastText costs a paragraph of L, while
    English left in L's text teaches the model that English is L (an
    English sentence scored under FineWeb's 0.65 before this rule).  Rewrites train.tsv and heldout.tsv;
    clean.tsv counts what went per language and file.
    """
    import tempfile
    norm3 = lambda c: c.split("-")[0].split("_")[0].lower()
    report = {}
    for name in ("train.tsv", "heldout.tsv"):
        path = os.path.join(out, name)
        with open(path, encoding="utf-8") as f:
            rows = [l.rstrip("\n").split("\t", 1) for l in f]
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", delete=False) as t:
            for lang, text in rows:
                t.write(text + "\n")
            tname = t.name
        ft = subprocess.run(["fasttext", "predict-prob", ftz, tname, "1"],
                            capture_output=True, text=True, check=True).stdout.split("\n")
        with open(tname, "rb") as tin:
            cl = subprocess.run([cld2], stdin=tin, capture_output=True,
                                check=True).stdout.decode("utf-8", "replace").split("\n")
        os.unlink(tname)
        with open(path + ".tmp", "w", encoding="utf-8") as o:
            for i, (lang, text) in enumerate(rows):
                f_lab, _, f_p = ft[i].partition(" ")
                f_lab = f_lab.replace("__label__", "")
                c_lab = norm3(cl[i].split("\t")[0])
                st = report.setdefault((lang, name), [0, 0])
                st[0] += 1
                f_p = float(f_p or 0)
                if lang != "en" and f_lab == "en" and (f_p >= 0.8 or (f_p >= 0.5 and c_lab == "en")):
                    st[1] += 1
                    continue
                o.write("%s\t%s\n" % (lang, text))
        os.replace(path + ".tmp", path)
    with open(os.path.join(out, "clean.tsv"), "w", encoding="utf-8") as f:
        f.write("lang\tfile\tparagraphs\tdropped_as_english\n")
        for (lang, name), (n, d) in sorted(report.items()):
            f.write("%s\t%s\t%d\t%d\n" % (lang, name, n, d))
    tot = sum(v[0] for v in report.values())
    drop = sum(v[1] for v in report.values())
    print("  clean: %d of %d paragraphs dropped as untranslated English"
          % (drop, tot), file=sys.stderr)


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    c = argv[1]
    if c == "udhr":
        cmd_udhr(argv[2], argv[3])
    elif c == "handbook":
        cmd_handbook(argv[2], argv[3])
    elif c == "gettext":
        cmd_gettext(argv[2], argv[3])
    elif c == "man":
        cmd_man(argv[2], argv[3], int(os.environ.get("MAN_MAX", "250")),
                int(os.environ.get("JOBS", str(os.cpu_count() or 2))))
    elif c == "english":
        cmd_english(argv[2], int(os.environ.get("MAN_MAX", "300")),
                    int(os.environ.get("JOBS", str(os.cpu_count() or 2))))
    elif c == "fortunes":
        cmd_fortunes(argv[2])
    elif c == "split":
        cmd_split(argv[2])
    elif c == "clean":
        cmd_clean(argv[2], argv[3], argv[4])
    elif c == "lang":
        for t in argv[2:]:
            print(t, norm_lang(t))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
