#!/usr/bin/env bash
# bench/charset.sh — single-thread throughput of lib/charset.c (bytes of a
# page to NFC UTF-8) per kind of page: the UTF-8 fast path and the ICU paths.
# Builds build/libtamis.a and build/bench/charset, then runs it (~5 s).
# Numbers are MB/s of input on this machine; no peers are compared yet.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
make -s build/libtamis.a
mkdir -p build/bench
PKGS="icu-uc icu-i18n zlib libzstd libxml-2.0 libcurl sqlite3 jansson libxxhash libisal libcrypto"
# shellcheck disable=SC2046
${CC:-cc} -std=gnu11 -O2 -Ilib $(pkg-config --cflags $PKGS) -o build/bench/charset \
	bench/charset.c build/libtamis.a $(pkg-config --libs $PKGS) -lm -pthread
build/bench/charset
