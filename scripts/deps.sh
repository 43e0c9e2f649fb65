#!/bin/sh
# Installs every Debian package tamis needs to build, test, benchmark and run
# its demo (with --corpus: also the language-id corpus).  Idempotent: packages already installed are not touched, and
# apt-get runs only when something is missing.  Needs root (or sudo).
set -eu

PKGS="
build-essential pkg-config make perl
zlib1g-dev libzstd-dev libcurl4-openssl-dev libxml2-dev libxxhash-dev
libsqlite3-dev libicu-dev libjansson-dev libisal-dev libssl-dev libjemalloc-dev
clang libclang-rt-14-dev libfuzzer-14-dev
sqlite3 wget curl nginx-light nodejs xxd zstd gzip bc
python3 python3-doc python-mpmath-doc debian-handbook python3-lxml python3-html2text w3m html2text
libcld2-dev fasttext iso-codes
slurm-wlm munge
chromium fonts-dejavu-core
libopenblas-dev python3-torch python3-numpy
"
# `deps.sh --corpus`: also what `make langid-model` reads its text from
# (translated man pages, gettext catalogues, fortunes); not needed to build or test.
if [ "${1:-}" = --corpus ]; then
	PKGS="$PKGS gettext groff-base manpages-cs manpages-da manpages-de
manpages-el manpages-es manpages-fi manpages-fr manpages-hu manpages-id
manpages-it manpages-ja manpages-mk manpages-nb manpages-nl manpages-pl
manpages-pt-br manpages-ro manpages-ru manpages-sr manpages-sv manpages-tr
manpages-uk manpages-vi manpages-zh fortunes fortunes-zh fortunes-bg
fortunes-br fortunes-cs fortunes-de fortunes-eo fortunes-es fortunes-ga
fortunes-it fortunes-pl fortunes-ru"
fi

missing=
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	echo "deps: all packages present"
	exit 0
fi

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "deps: done"
