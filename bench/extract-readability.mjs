// bench/extract-readability.mjs — HTML→text with @mozilla/readability on
// jsdom, for bench/extract.sh.
//
// usage: node bench/extract-readability.mjs NODEDIR LISTFILE [FIRST COUNT]
//
// Converts the files named in LISTFILE (one a line; only lines FIRST ..
// FIRST+COUNT-1, 0-based, when given) in this one process:
//   new Readability(new JSDOM(html).window.document).parse().textContent
// jsdom keeps every window it made alive (peers.md), so bench/extract.sh
// starts a fresh process per batch of files.  The HTML is passed as bytes so
// jsdom sniffs the charset as a browser would.  jsdom's console (CSS parse
// errors and the like) is discarded; scripts are not run.  Prints one line:
// "files N bytes B texts T chars C errors E" (texts = pages for which parse()
// returned an article with non-blank text; errors = pages that threw).
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const [nodedir, listfile, first, count] = process.argv.slice(2);
if (!listfile) {
	process.stderr.write('usage: node extract-readability.mjs NODEDIR LISTFILE [FIRST COUNT]\n');
	process.exit(2);
}
const require = createRequire(resolve(nodedir, 'package.json'));
const { JSDOM, VirtualConsole } = require('jsdom');
const { Readability } = require('@mozilla/readability');

let names = readFileSync(listfile, 'utf8').split('\n').filter((s) => s.length > 0);
if (first !== undefined) names = names.slice(Number(first), Number(first) + Number(count));

let files = 0, bytes = 0, texts = 0, chars = 0, errors = 0;
for (const name of names) {
	const html = readFileSync(name);
	files++;
	bytes += html.length;
	try {
		const dom = new JSDOM(html, { virtualConsole: new VirtualConsole() });
		const article = new Readability(dom.window.document).parse();
		const text = article ? article.textContent || '' : '';
		chars += text.length;
		if (text.trim().length > 0) texts++;
		dom.window.close();
	} catch {
		errors++;
	}
}
process.stdout.write(`files ${files} bytes ${bytes} texts ${texts} chars ${chars} errors ${errors}\n`);
