// tiktoken-ids.mjs: the peer of `tamis tokenize --no-bos --format ids`:
// npm tiktoken (OpenAI's Rust core as WASM) over JSON Lines documents,
// encode_ordinary of each "text", one line of ids per document.
//
//   node bench/tiktoken-ids.mjs NODE_MODULES VOCAB_DIR llama3|cl100k|o200k FILE [--time]
//
// --time prints only "docs bytes seconds" of the encoding itself (no I/O).
// Node decodes the file as UTF-8, replacing ill-formed bytes by U+FFFD per
// maximal subpart, which is what tamis does (lib/bpe.h).
import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";

const [mods, vocabDir, vocab, file, flag] = process.argv.slice(2);
const require = createRequire(path.resolve(mods) + "/");
// The CommonJS build: node's ESM loader refuses the .wasm import.
const tk = require("tiktoken");
const CL100K = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

let enc;
if (vocab === "llama3") {
	const specials = JSON.parse(fs.readFileSync(path.join(vocabDir, "llama3-special-tokens.json"), "utf8")).special_tokens;
	enc = new tk.Tiktoken(fs.readFileSync(path.join(vocabDir, "llama3.tiktoken"), "utf8"), specials, CL100K);
} else {
	enc = tk.get_encoding(vocab === "cl100k" ? "cl100k_base" : "o200k_base");
}

const data = fs.readFileSync(file);
const texts = [];
let start = 0;
for (;;) {
	const nl = data.indexOf(10, start);
	const end = nl < 0 ? data.length : nl;
	if (end > start)
		texts.push(JSON.parse(data.toString("utf8", start, end)).text);
	if (nl < 0)
		break;
	start = nl + 1;
}

if (flag === "--time") {
	let bytes = 0, ntok = 0;
	for (const t of texts)
		bytes += Buffer.byteLength(t, "utf8");
	const t0 = process.hrtime.bigint();
	for (const t of texts)
		ntok += enc.encode_ordinary(t).length;
	const s = Number(process.hrtime.bigint() - t0) / 1e9;
	console.log(`${texts.length} ${bytes} ${s.toFixed(3)} ${ntok}`);
} else {
	const out = fs.openSync("/dev/stdout", "w");
	let buf = [];
	for (const t of texts) {
		buf.push(enc.encode_ordinary(t).join(" "));
		if (buf.length >= 1000) {
			fs.writeSync(out, buf.join("\n") + "\n");
			buf = [];
		}
	}
	if (buf.length)
		fs.writeSync(out, buf.join("\n") + "\n");
}
enc.free();
