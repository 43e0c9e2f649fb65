// bench/langid-peers.mjs — npm language identifiers as peers for bench/langid.sh.
//
// usage: node bench/langid-peers.mjs TOOL [--list] < lines.txt > predictions.tsv
//   TOOL   eld (eld 2.1.0, static "large" n-gram database), franc (franc 6,
//          default options except minLength 1), cld3 (cld3-asm 4, create(0, 1000))
//   --list print the codes the tool can return, one a line, and exit
// Reads one text per line on stdin and prints "lang<TAB>score" per line, in
// the tool's own code scheme (franc: ISO 639-3; the others: 639-1 mostly);
// langid_eval.py normalises them.  "und" when the tool returns nothing.
// One process over all lines: the model/database load is part of the timing.
// The packages are looked up in $LANGID_NODE_DIR/node_modules (langid.sh
// installs them into bench/work/langid-bench/node).
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [tool, opt] = process.argv.slice(2);
const nm = resolve(process.env.LANGID_NODE_DIR || 'bench/work/langid-bench/node', 'node_modules');
const esm = (p) => import(pathToFileURL(join(nm, p)).href);
const require = createRequire(join(nm, 'x.js'));

// Each loader returns { detect(text) -> [code, score], list() -> [codes] }.
const loaders = {
	async eld() {
		const { eld } = await esm('eld/src/entries/static.large.js');
		return {
			detect(t) {
				const r = eld.detect(t);
				const s = r.getScores ? r.getScores()[r.language] : undefined;
				return [r.language || 'und', s ?? 0];
			},
			list: () => Object.values(eld.info().Languages ?? {}),
		};
	},
	async franc() {
		const { francAll } = await esm('franc/index.js');
		const { data } = await esm('franc/data.js');
		const { expressions } = await esm('franc/expressions.js');
		return {
			detect(t) {
				const [code, score] = francAll(t, { minLength: 1 })[0];
				return [code, score];
			},
			list() {
				const out = new Set();
				for (const s of Object.keys(data)) for (const l of Object.keys(data[s])) out.add(l);
				for (const s of Object.keys(expressions)) if (!(s in data)) out.add(s);
				return [...out];
			},
		};
	},
	async cld3() {
		const m = require('cld3-asm');
		const factory = await m.loadModule();
		const id = factory.create(0, 1000);
		return {
			detect(t) {
				const r = id.findLanguage(t);
				return [r.language || 'und', r.probability ?? 0];
			},
			list: () => Object.values(m.LanguageCode).filter((c) => c !== 'und'),
		};
	},
};

if (!loaders[tool]) {
	console.error(`langid-peers.mjs: unknown tool ${tool} (eld, franc, cld3)`);
	process.exit(2);
}
const det = await loaders[tool]();
if (opt === '--list') {
	process.stdout.write(det.list().join('\n') + '\n');
	process.exit(0);
}
const text = readFileSync(0, 'utf8');
const lines = text.split('\n');
if (lines.length && lines[lines.length - 1] === '') lines.pop();
const out = [];
for (const l of lines) {
	const [c, s] = det.detect(l);
	out.push(`${c}\t${Number(s).toFixed(3)}`);
}
process.stdout.write(out.length ? out.join('\n') + '\n' : '');
