#!/usr/bin/env node
// bench/warcio-ls.mjs — the reference WARC lister, built on webrecorder's
// warcio.js (npm `warcio` 2.4.x), so that `tamis warc ls` can be compared
// record by record against an independent implementation, and timed.
//
// usage: node bench/warcio-ls.mjs [--count | --bench] FILE...
//   (default)  one line per record, tab-separated:
//              offset  length  warc-type  target-uri  content-type  payload-length
//   --count    one line: records<TAB>N   (all FILEs together)
//   --bench    reads every record's block completely and prints one line:
//              records N bytes B seconds S records/s R MB/s M
//              where B = block bytes read (uncompressed), S = wall time of the
//              whole run after module load, M = compressed file bytes / 1e6 / S
//
// warcio is looked up in bench/work/node (bench/warcio-ref.sh installs it
// there) or wherever WARCIO_DIR points (a directory holding node_modules/).
//
// How each column is obtained (and what warcio calls it):
//   offset          WARCParser#offset        — byte offset of the record in
//                   the file as read (the compressed file for .gz: start of
//                   the gzip member the record begins in)
//   length          WARCParser#recordLength  — compressed: the inflater's
//                   total_in for the member (strm.total_in); uncompressed:
//                   bytes read since `offset`.  Both read after
//                   record.skipFully(), exactly as warcio's own `warcio index`
//                   (src/lib/indexer.ts BaseIndexer.iterRecords/indexRecord)
//                   does, with the same parser options
//                   {strictHeaders: true, parseHttp: false} and the same
//                   128 KiB read buffer as its CLI (src/commands/main.ts).
//   warc-type       WARCRecord#warcType      — header WARC-Type
//   target-uri      WARCRecord#warcTargetURI — header WARC-Target-URI.  NOTE:
//                   warcio's WARCRecord.fixUp() already strips one pair of
//                   surrounding <...> (wget writes `WARC-Target-URI: <http://…>`);
//                   we print what warcio reports, i.e. without the brackets.
//   content-type    WARCRecord#warcContentType — the WARC header Content-Type
//                   (not the HTTP one)
//   payload-length  the WARC header Content-Length as written (warcio calls it
//                   warcContentLength, i.e. the length of the record block,
//                   HTTP headers included); NOT the bytes actually present,
//                   which differ for truncated files.
// Missing headers print "-".  Header values come from warcio's parser (a
// fetch Headers object: names case-insensitive, values trimmed, a repeated
// header joined with ", ").  Tab, CR, LF and backslash inside a value are
// written as \t \r \n \\ so that every record is exactly one line.
//
// Exit status: 0 ok; 1 if warcio threw on any file (message on stderr as
// "warcio-ls: FILE: MESSAGE"; records before the failure are still printed);
// 2 usage.  warcio's own warnings (console.warn) also go to stderr.

import { createReadStream, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const base = resolve(process.env.WARCIO_DIR || join(here, "work", "node"));
let WARCParser;
try {
  const require = createRequire(join(base, "package.json"));
  ({ WARCParser } = await import(pathToFileURL(require.resolve("warcio")).href));
} catch (e) {
  process.stderr.write(
    `warcio-ls: cannot load warcio from ${base}/node_modules (${e.message}); ` +
      `run: npm install --prefix ${base} warcio@2.4\n`,
  );
  process.exit(1);
}

const BUFF_SIZE = 1024 * 128; // as warcio's CLI
const PARSER_OPTS = { strictHeaders: true, parseHttp: false }; // as `warcio index`

const args = process.argv.slice(2);
let mode = "ls";
const files = [];
for (const a of args) {
  if (a === "--count") mode = "count";
  else if (a === "--bench") mode = "bench";
  else if (a === "-h" || a === "--help") {
    process.stdout.write("usage: warcio-ls.mjs [--count | --bench] FILE...\n");
    process.exit(0);
  } else if (a.startsWith("--")) {
    process.stderr.write(`warcio-ls: unknown option ${a}\n`);
    process.exit(2);
  } else files.push(a);
}
if (files.length === 0) {
  process.stderr.write("usage: warcio-ls.mjs [--count | --bench] FILE...\n");
  process.exit(2);
}

function field(v) {
  if (v === null || v === undefined) return "-";
  return String(v).replace(/[\\\t\r\n]/g, (c) =>
    c === "\\" ? "\\\\" : c === "\t" ? "\\t" : c === "\r" ? "\\r" : "\\n",
  );
}

// Buffered stdout: one write per ~64 KiB instead of per line.
let outBuf = [];
let outLen = 0;
function out(line) {
  outBuf.push(line);
  outLen += line.length;
  if (outLen > 65536) flush();
}
function flush() {
  if (outBuf.length) process.stdout.write(outBuf.join(""));
  outBuf = [];
  outLen = 0;
}

let records = 0;
let bytes = 0;
let compressedBytes = 0;
let failed = false;
const t0 = process.hrtime.bigint();

for (const file of files) {
  try {
    compressedBytes += statSync(file).size;
    const parser = new WARCParser(
      createReadStream(file, { highWaterMark: BUFF_SIZE }),
      PARSER_OPTS,
    );
    for await (const record of parser) {
      if (mode === "bench") {
        const payload = await record.readFully();
        bytes += payload.length;
      } else {
        await record.skipFully();
      }
      records++;
      if (mode === "ls") {
        const h = record.warcHeaders.headers;
        out(
          [
            parser.offset,
            parser.recordLength,
            field(record.warcType),
            field(record.warcTargetURI),
            field(record.warcContentType),
            field(h.get("Content-Length")),
          ].join("\t") + "\n",
        );
      }
    }
  } catch (e) {
    flush();
    failed = true;
    const msg = String(e && e.message !== undefined ? e.message : e).replace(/\n/g, " ");
    process.stderr.write(`warcio-ls: ${file}: ${msg}\n`);
  }
}

const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
if (mode === "count") out(`records\t${records}\n`);
if (mode === "bench") {
  out(
    `records ${records} bytes ${bytes} seconds ${seconds.toFixed(3)} ` +
      `records/s ${(records / seconds).toFixed(0)} ` +
      `MB/s ${(compressedBytes / 1e6 / seconds).toFixed(1)}\n`,
  );
}
flush();
process.exitCode = failed ? 1 : 0;
