#!/usr/bin/python3
# bench/extract-pages.py — write the HTML payloads of a WARC's 200-status
# text/html response records as individual files, for bench/extract.sh.
#
# usage: bench/extract-pages.py WARC.gz OUTDIR
#
# Reads the WARC with the standard library only (one gzip member at a time,
# so each record's raw file offset is known: it is the offset `tamis warc ls`
# prints).  For every response record whose HTTP status is 200 and whose HTTP
# Content-Type is text/html (no Content-Encoding other than identity), the
# payload is written to OUTDIR/pages/NNNNN.html (NNNNN from 00001, in file
# order) and a line "NNNNN<TAB>offset<TAB>bytes<TAB>uri" to OUTDIR/index.tsv.
# Prints "files N bytes B" on stdout.  Chunked bodies are de-chunked (wget
# stores the body as sent; the loopback server does not chunk, so none are
# expected — they are counted on stderr if seen).
import os
import sys
import zlib


def die(msg):
    sys.stderr.write("extract-pages: %s\n" % msg)
    sys.exit(1)


def parse_headers(block):
    """Returns (first line, {lower-case name: value}) of an RFC 822 head."""
    lines = block.split(b"\r\n")
    fields = {}
    for ln in lines[1:]:
        if b":" in ln:
            k, v = ln.split(b":", 1)
            fields[k.strip().lower().decode("latin-1")] = v.strip().decode("latin-1")
    return lines[0].decode("latin-1"), fields


def dechunk(body):
    out, pos = bytearray(), 0
    while True:
        eol = body.find(b"\r\n", pos)
        if eol < 0:
            return bytes(out)
        size = int(body[pos:eol].split(b";")[0], 16)
        if size == 0:
            return bytes(out)
        out += body[eol + 2:eol + 2 + size]
        pos = eol + 2 + size + 2


def records(raw):
    """Yields (member offset, WARC header fields, block) for each record."""
    pos = 0
    while pos < len(raw):
        # feed the member in pieces: slicing or leaving the whole rest of
        # the file as unused_data would copy it once per record
        d = zlib.decompressobj(zlib.MAX_WBITS | 16)
        out, q = [], pos
        while not d.eof and q < len(raw):
            out.append(d.decompress(raw[q:q + 65536]))
            q += 65536
        if not d.eof:
            die("truncated gzip member at offset %d" % pos)
        data = b"".join(out)
        member_len = q - pos - len(d.unused_data)
        # a member normally holds one record; loop in case it holds several
        p = 0
        while p < len(data):
            end = data.find(b"\r\n\r\n", p)
            if end < 0:
                break
            _, h = parse_headers(data[p:end])
            n = int(h.get("content-length", "0"))
            yield pos, h, data[end + 4:end + 4 + n]
            p = end + 4 + n
            while data[p:p + 2] == b"\r\n":
                p += 2
        pos += member_len


def main():
    if len(sys.argv) != 3:
        die("usage: extract-pages.py WARC.gz OUTDIR")
    warc, outdir = sys.argv[1], sys.argv[2]
    with open(warc, "rb") as f:
        raw = memoryview(f.read())
    os.makedirs(os.path.join(outdir, "pages"), exist_ok=True)
    n = total = chunked = 0
    with open(os.path.join(outdir, "index.tsv"), "w") as idx:
        for off, h, block in records(raw):
            if h.get("warc-type") != "response":
                continue
            if not h.get("content-type", "").startswith("application/http"):
                continue
            end = block.find(b"\r\n\r\n")
            if end < 0:
                continue
            status, hh = parse_headers(block[:end])
            parts = status.split()
            if len(parts) < 2 or parts[1] != "200":
                continue
            ctype = hh.get("content-type", "").split(";")[0].strip().lower()
            if ctype != "text/html":
                continue
            if hh.get("content-encoding", "identity").lower() not in ("", "identity"):
                continue
            body = block[end + 4:]
            if "chunked" in hh.get("transfer-encoding", "").lower():
                body = dechunk(body)
                chunked += 1
            n += 1
            name = "%05d" % n
            with open(os.path.join(outdir, "pages", name + ".html"), "wb") as o:
                o.write(body)
            idx.write("%s\t%d\t%d\t%s\n" % (name, off, len(body), h.get("warc-target-uri", "-").strip("<>")))
            total += len(body)
    if chunked:
        sys.stderr.write("extract-pages: %d chunked bodies de-chunked\n" % chunked)
    print("files %d bytes %d" % (n, total))


if __name__ == "__main__":
    main()
