#!/usr/bin/python3
"""fetch-server.py: a fault-injecting HTTP/1.1 file server for testing `tamis fetch`.

Serves the files under --root on 127.0.0.1 (HEAD and GET, keep-alive, single
byte ranges answered 206 with Content-Range, 416 past the end) and, per GET,
injects a fault with probability --fail-rate, picked from --faults:

  drop       send the headers and a random part of the body, then close
             (half the time with a TCP reset)
  500, 503   error status (503 with Retry-After)
  429        Too Many Requests, with Retry-After
  stall      send a part of the body, then wait --stall seconds, then close
  truncgzip  (.gz files) the right Content-Length, but the second half of the
             last gzip member zeroed: only verifying the gzip catches it
  lie        Content-Length larger than the real body, send less than even
             the real body, then close

HEAD gets only the status faults (500, 503, 429).  The fault of a request is
a function of (--seed, method, path, how many requests for that method and
path came before), so the faults a file sees do not depend on how a parallel
client interleaves its requests.  --fail-first N instead faults exactly the
first N GETs of each path.  --always-fail PATH answers 500 for PATH, always.
--no-range ignores Range headers (200 and the whole file, as some servers do).

It prints "PORT <n>" on stdout once listening (--port 0: the kernel picks),
writes one line per request to --log (tab-separated: method, path, Range or
"-", fault or "-", status, body bytes sent or, for a file, about to be sent;
a file's line is written before its body, so a stall is logged at once),
and exits on SIGTERM, SIGINT or after --max-seconds, whatever its
connections are doing.

Standard library only: python3 fetch-server.py --root DIR [options]
"""

import argparse
import email.utils
import hashlib
import http.server
import os
import random
import signal
import socket
import struct
import sys
import threading
import time
import urllib.parse
import zlib

FAULTS = ("drop", "500", "503", "429", "stall", "truncgzip", "lie")
STATUS_FAULTS = ("500", "503", "429")
CHUNK = 64 * 1024

stop = threading.Event()


def gzip_last_member(data):
    """Offset of the last gzip member of data, or None if data is not gzip."""
    start, last = 0, None
    while start < len(data):
        d = zlib.decompressobj(31)
        try:
            d.decompress(data[start:])
        except zlib.error:
            return last
        if not d.eof:
            return last
        last = start
        start = len(data) - len(d.unused_data)
    return last


class Corrupted:
    """Cache of the truncgzip versions of .gz files, keyed by (path, size, mtime)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.cache = {}

    def get(self, fspath, st):
        key = (fspath, st.st_size, st.st_mtime_ns)
        with self.lock:
            hit = self.cache.get(key)
        if hit is not None:
            return hit
        with open(fspath, "rb") as f:
            data = bytearray(f.read())
        last = gzip_last_member(bytes(data))
        cut = (last + (len(data) - last) // 2) if last is not None else len(data) // 2
        data[cut:] = bytes(len(data) - cut)
        hit = (bytes(data), cut)
        with self.lock:
            self.cache = {key: hit}  # one file at a time is plenty for tests
        return hit


class State:
    def __init__(self, args):
        self.args = args
        self.root = os.path.realpath(args.root)
        self.lock = threading.Lock()
        self.counts = {}
        self.log = open(args.log, "a", buffering=1) if args.log else None
        self.corrupted = Corrupted()

    def next_index(self, method, path):
        with self.lock:
            n = self.counts.get((method, path), 0)
            self.counts[(method, path)] = n + 1
            return n

    def rng(self, method, path, n):
        h = hashlib.sha256(f"{self.args.seed}\0{method}\0{path}\0{n}".encode()).digest()
        return random.Random(int.from_bytes(h[:8], "big"))

    def write_log(self, *fields):
        if self.log:
            line = "\t".join(str(f) for f in fields) + "\n"
            with self.lock:
                self.log.write(line)


def parse_range(header, size):
    """(start, end) inclusive for a single 'bytes=' range, 'bad' if unsatisfiable, None if absent/ignored."""
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    lo, sep, hi = header[6:].strip().partition("-")
    if not sep:
        return None
    try:
        if lo == "":  # suffix range: the last N bytes
            n = int(hi)
            if n <= 0:
                return "bad"
            return (max(0, size - n), size - 1) if size else "bad"
        start = int(lo)
        end = int(hi) if hi else size - 1
    except ValueError:
        return None
    if start >= size or end < start:
        return "bad"
    return (start, min(end, size - 1))


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "tamis-fetch-server/1"
    timeout = 30  # idle keep-alive connections end after this

    def log_message(self, fmt, *args):  # the request log replaces stderr chatter
        pass

    def do_HEAD(self):
        self.serve(head=True)

    def do_GET(self):
        self.serve(head=False)

    def plain(self, status, text, extra=(), close=False):
        body = (text + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        return len(body) if self.command != "HEAD" else 0

    def serve(self, head):
        st = self.server.state
        a = st.args
        url = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(url.path)
        rng_header = self.headers.get("Range")
        self.logged = False
        fault, status, sent = "-", 0, 0
        try:
            fault, status, sent = self.respond(st, a, path, rng_header, head)
        except (BrokenPipeError, ConnectionResetError, socket.timeout, OSError):
            self.close_connection = True
        finally:
            if not self.logged:
                st.write_log(self.command, path, rng_header or "-", fault, status, sent)

    def respond(self, st, a, path, rng_header, head):
        n = st.next_index(self.command, path)
        rel = path.lstrip("/")
        fspath = os.path.realpath(os.path.join(st.root, rel))
        if rel in a.always_fail or path in a.always_fail:
            return "always", 500, self.plain(500, "always failing: " + path)
        if not (fspath == st.root or fspath.startswith(st.root + os.sep)) or not os.path.isfile(fspath):
            return "-", 404, self.plain(404, "not found: " + path)

        # which fault, if any
        r = st.rng(self.command, path, n)
        fault = None
        if a.fail_first is not None:
            if n < a.fail_first:
                fault = r.choice(a.faults)
        elif r.random() < a.fail_rate:
            fault = r.choice(a.faults)
        if fault == "truncgzip" and not fspath.endswith(".gz"):
            fault = None
        if head and fault not in STATUS_FAULTS:
            fault = None
        if fault == "500":
            return fault, 500, self.plain(500, "injected fault")
        if fault in ("503", "429"):
            status = int(fault)
            return fault, status, self.plain(status, "injected fault", [("Retry-After", str(a.retry_after))])

        st_ = os.stat(fspath)
        size = st_.st_size
        rg = None if a.no_range else parse_range(rng_header, size)
        if rg == "bad":
            return fault or "-", 416, self.plain(416, "range not satisfiable", [("Content-Range", f"bytes */{size}")])
        start, end = rg if rg else (0, size - 1)
        length = end - start + 1 if size else 0
        status = 206 if rg else 200

        data = None
        if fault == "truncgzip":
            data, cut = st.corrupted.get(fspath, st_)
            if end < cut:
                fault = None  # the range misses the corrupted part
        # how much of the body to send, and what to claim
        claim, send = length, length
        if fault in ("drop", "stall"):
            send = r.randrange(0, max(1, length))  # strictly less than the body
        elif fault == "lie":
            claim = length + r.randint(1, max(1, length))
            send = r.randrange(0, max(1, length))

        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(claim))
        self.send_header("Accept-Ranges", "none" if a.no_range else "bytes")
        self.send_header("Last-Modified", email.utils.formatdate(st_.st_mtime, usegmt=True))
        if rg:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        if fault:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        # logged before the body, so that a stall shows while it lasts
        st.write_log(self.command, path, rng_header or "-", fault or "-", status, 0 if head else send)
        self.logged = True
        if head:
            return fault or "-", status, 0

        sent = 0
        if data is not None:
            self.wfile.write(data[start:start + send])
            sent = send
        else:
            with open(fspath, "rb") as f:
                f.seek(start)
                while sent < send:
                    buf = f.read(min(CHUNK, send - sent))
                    if not buf:
                        break
                    self.wfile.write(buf)
                    sent += len(buf)
        if fault == "stall":
            self.wfile.flush()
            stop.wait(a.stall)
        if fault == "drop" and r.random() < 0.5:
            # a reset rather than a clean close: SO_LINGER 0 makes close() send RST
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        return fault or "-", status, sent


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--root", required=True, help="directory to serve")
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: the kernel picks)")
    p.add_argument("--seed", default="0", help="seed of the fault choices")
    p.add_argument("--fail-rate", type=float, default=0.0, help="probability that a GET gets a fault")
    p.add_argument("--fail-first", type=int, help="fault exactly the first N GETs of each path instead")
    p.add_argument("--faults", default=",".join(FAULTS), help="comma-separated subset of " + ",".join(FAULTS))
    p.add_argument("--stall", type=float, default=3.0, help="seconds a stall lasts before the close")
    p.add_argument("--retry-after", type=int, default=1, help="Retry-After seconds sent with 503 and 429")
    p.add_argument("--always-fail", action="append", default=[], metavar="PATH", help="always answer 500 for PATH")
    p.add_argument("--no-range", action="store_true", help="ignore Range headers")
    p.add_argument("--log", help="request log file (appended)")
    p.add_argument("--max-seconds", type=float, default=300, help="exit after this many seconds")
    a = p.parse_args()
    a.faults = [f for f in a.faults.split(",") if f]
    bad = [f for f in a.faults if f not in FAULTS]
    if bad or not a.faults:
        p.error("unknown fault(s) %s; choose from %s" % (",".join(bad) or "(none)", ",".join(FAULTS)))
    if not 0 <= a.fail_rate <= 1:
        p.error("--fail-rate must be within [0, 1]")
    if not os.path.isdir(a.root):
        p.error("--root %s: not a directory" % a.root)

    srv = Server(("127.0.0.1", a.port), Handler)
    srv.state = State(a)
    for s in (signal.SIGTERM, signal.SIGINT):
        signal.signal(s, lambda *_: stop.set())
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    t.start()
    print("PORT", srv.server_address[1], flush=True)
    stop.wait(a.max_seconds)
    stop.set()
    # shutdown() only stops accepting; handler threads are daemons, so leave
    # without waiting for stalled or keep-alive connections.
    threading.Thread(target=srv.shutdown, daemon=True).start()
    time.sleep(0.2)
    os._exit(0)


if __name__ == "__main__":
    main()
