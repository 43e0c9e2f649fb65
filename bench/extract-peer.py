#!/usr/bin/python3
# bench/extract-peer.py — HTML→text with a Python peer, for bench/extract.sh.
#
# usage: bench/extract-peer.py lxml|html2text LISTFILE
#
# LISTFILE holds one HTML file name a line.  Every file is read and converted
# in this one process, single-threaded:
#   lxml       lxml.html.fromstring(data).text_content()   (bytes in; lxml
#              finds the charset in <meta>, else guesses)
#   html2text  html2text.HTML2Text().handle(text)           (a fresh converter
#              per page; text = the bytes decoded as UTF-8, errors replaced)
# Prints one line: "files N bytes B texts T chars C errors E" (texts = pages
# with non-blank output, chars = characters of output, errors = pages the
# peer raised on; those count as processed, with no text).
# Run with Debian's /usr/bin/python3 (python3-lxml, python3-html2text).
import sys


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("lxml", "html2text"):
        sys.stderr.write("usage: extract-peer.py lxml|html2text LISTFILE\n")
        sys.exit(2)
    tool, listfile = sys.argv[1], sys.argv[2]
    if tool == "lxml":
        import lxml.html

        def convert(data):
            return lxml.html.fromstring(data).text_content()
    else:
        import html2text

        def convert(data):
            return html2text.HTML2Text().handle(data.decode("utf-8", "replace"))

    with open(listfile) as f:
        names = [ln.rstrip("\n") for ln in f if ln.strip()]
    files = nbytes = texts = chars = errors = 0
    for name in names:
        with open(name, "rb") as f:
            data = f.read()
        files += 1
        nbytes += len(data)
        try:
            text = convert(data)
        except Exception:  # e.g. lxml's "Document is empty"
            errors += 1
            continue
        chars += len(text)
        if text.strip():
            texts += 1
    print("files %d bytes %d texts %d chars %d errors %d" % (files, nbytes, texts, chars, errors))


if __name__ == "__main__":
    main()
