/*
 * routefeat.c: the structural features of `tamis route` (route.h):
 * code_score and math_score.  docs/ROUTE.md gives each rule, where it
 * comes from, and the distributions measured on real documents.
 *
 * Both read the text through a struct tm_ftext (lines for code, words for
 * math), so a document cut once serves both.  Pure functions of the
 * text: no state, no locale.
 */
#include "tamis.h"
#include "route.h"
#include "text.h"

#include <math.h>
#include <unicode/utf8.h>

static double round6(double x)
{
	return round(x * 1e6) / 1e6;
}

/* ---- code_score ---------------------------------------------------------- */

static bool is_ident_start(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$';
}

static bool is_ident(unsigned char c)
{
	return is_ident_start(c) || (c >= '0' && c <= '9');
}

static bool starts(const char *s, size_t n, const char *p)
{
	size_t l = strlen(p);

	return n >= l && !memcmp(s, p, l);
}

/* `s` starts with word `w` followed by the end, a space or one of `after`. */
static bool starts_word(const char *s, size_t n, const char *w, const char *after)
{
	size_t l = strlen(w);

	return starts(s, n, w) && (n == l || s[l] == ' ' || s[l] == '\t' ||
				   (s[l] && strchr(after, s[l])));
}

/*
 * Line starts that are code whatever follows: Python, C, Java, JavaScript,
 * Go, Rust, shell commands as typed in tutorials.  Lowercase (or SQL's
 * uppercase) words that prose seldom starts a line with.
 */
static const char *const strong_kw[] = {
	"def", "elif", "import", "lambda", "yield", "raise", "async", "await",
	"typedef", "struct", "void", "unsigned", "public", "private", "protected",
	"static", "fn", "func", "SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "ALTER",
	/* commands as typed in tutorials */
	"sudo", "apt", "apt-get", "aptitude", "dpkg", "pip", "pip3", "git", "cd", "ls",
	"mkdir", "rm", "cp", "mv", "cat", "npm", "chmod", "chown", "grep", "python",
	"python3", "gcc", "make", "curl", "wget", "tar", "ssh", "docker", "systemctl",
};

/* Words that start code lines but also prose: only with a code character. */
static const char *const weak_kw[] = {
	"class", "return", "if", "for", "while", "else", "try", "except", "finally",
	"with", "switch", "case", "let", "var", "const", "function", "package",
	"namespace", "using", "print", "printf", "echo", "export", "from", "int",
	"char", "double", "float", "bool", "string", "self", "this", "new", "throw",
};

static bool any_word(const char *s, size_t n, const char *const *kw, size_t nkw)
{
	size_t i;

	for (i = 0; i < nkw; i++)
		if (starts_word(s, n, kw[i], "(:;{"))
			return true;
	return false;
}

/* Symbols typical of code and rare in prose (at most 32: a bit each). */
static const char code_symbols[] = "{}[]()<>=;$#@\\|&*+^~_";

/*
 * `name = value`, `a.b[1] += 2`, `x := f()`: an assignment (not `==`,
 * and not a sentence: the left side is one identifier path).
 */
static bool assignment(const char *s, size_t n)
{
	size_t i = 0;

	if (!n || !is_ident_start((unsigned char)s[0]))
		return false;
	while (i < n && (is_ident((unsigned char)s[i]) || s[i] == '.' || s[i] == '[' ||
			 s[i] == ']' || s[i] == '\'' || s[i] == '"'))
		i++;
	while (i < n && s[i] == ' ')
		i++;
	if (i < n && strchr("+-*/%|&^:", s[i]) && s[i])
		i++;
	return i + 1 < n && s[i] == '=' && s[i + 1] != '=' &&
	       (i == 0 || s[i - 1] != '!') && (s[i + 1] == ' ' || is_ident((unsigned char)s[i + 1]) ||
					       strchr("\"'[{(-", s[i + 1]));
}

/*
 * A call at the start of the line: `name(`, `a.b.c(` (prose has a space
 * before its parentheses, or a sentence before the name).
 */
static bool starts_call(const char *s, size_t n)
{
	size_t i;

	if (!n || !is_ident_start((unsigned char)s[0]))
		return false;
	for (i = 1; i < n && (is_ident((unsigned char)s[i]) || s[i] == '.'); i++)
		;
	return i < n && s[i] == '(';
}

/* An HTML character reference at the end: "&amp;", "&#8230;" (not code). */
static bool ends_entity(const char *s, size_t n)
{
	size_t i = n - 1;

	while (i > 0 && n - i < 12 && (is_ident((unsigned char)s[i - 1]) || s[i - 1] == '#'))
		i--;
	return i > 0 && s[i - 1] == '&' && i + 1 < n;
}

/*
 * A markup tag alone on its line: <name>, </name>, <name attr=...>, <!...>,
 * <?...> (not "<The Palace: Tale of Jang Noksu>", a title in brackets).
 */
static bool markup(const char *s, size_t n)
{
	size_t i = 1;

	if (n < 3 || s[0] != '<' || s[n - 1] != '>')
		return false;
	if (s[1] == '!' || s[1] == '?')
		return true;
	if (s[1] == '/')
		i++;
	if (i >= n || !is_ident_start((unsigned char)s[i]))
		return false;
	while (i < n && (is_ident((unsigned char)s[i]) || s[i] == ':' || s[i] == '-'))
		i++;
	return s[i] == '>' || s[i] == '/' || (s[i] == ' ' && memchr(s + i, '=', n - i));
}

/* A shell prompt: "$ ", "# ", ">>> ", "C:\>", "PS C:\>", "user@host:~$ ". */
static bool prompt(const char *s, size_t n)
{
	size_t i;

	if (starts(s, n, "$ ") || starts(s, n, "# ") || starts(s, n, ">>>") ||
	    starts(s, n, "C:\\>") || starts(s, n, "PS C:\\") || starts(s, n, "In ["))
		return true;
	for (i = 0; i + 2 < n && i < 64; i++)
		if ((s[i] == '$' || s[i] == '#') && s[i + 1] == ' ' && i >= 3 &&
		    (s[i - 1] == '~' || s[i - 1] == ']') && memchr(s, '@', i))
			return true;
	return false;
}

/*
 * Whether one line (without its newline) looks like source code; `prev`
 * tells whether the line before it did (a continuation is code too).
 */
static bool code_line(const char *s, size_t n, bool prev)
{
	size_t indent = 0, i, sym = 0, vis = 0, words = 1;
	unsigned kinds = 0;
	char last;

	while (indent < n && (s[indent] == ' ' || s[indent] == '\t'))
		indent += 1;
	s += indent;
	n -= indent;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		n--;
	if (!n)
		return false;
	last = s[n - 1];
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *k;

		if (c == ' ') {
			words += i && s[i - 1] != ' ';
			continue;
		}
		vis++;
		if (c && (k = strchr(code_symbols, c))) {
			sym++;
			kinds |= 1u << (k - code_symbols);
		}
	}
	/* comments and preprocessor lines, markup, prompts */
	if (starts(s, n, "//") || starts(s, n, "/*") || starts(s, n, "*/") ||
	    starts(s, n, "#!") || starts(s, n, "<!--") || starts(s, n, "#include") ||
	    starts(s, n, "#define") || starts(s, n, "#if") || starts(s, n, "#pragma") ||
	    markup(s, n) || prompt(s, n) || (prev && starts(s, n, "... ")))
		return true;
	/*
	 * C4's tell of code, '{', and its kin at the end of a line; a ';'
	 * ends prose list items too, so it needs a short line or another
	 * code symbol (and is no HTML entity, "&#8230;")
	 */
	if (last == '{' || last == '}' || last == '[' || last == '(' ||
	    (last == ';' && (sym >= 2 || words <= 4) && !ends_entity(s, n)))
		return true;
	/* a call starting the line and not a sentence: "f(x)", "a.b(c," */
	if (starts_call(s, n) && (last == ')' || last == ',' || last == ']'))
		return true;
	/* what follows starts like code, but a sentence is prose whatever it starts with */
	if (last == '.' && words >= 4)
		return false;
	if (any_word(s, n, strong_kw, TM_ARRAY_SIZE(strong_kw)))
		return true;
	/* a short line, with a code character or a block's colon */
	if (n <= 100 && any_word(s, n, weak_kw, TM_ARRAY_SIZE(weak_kw)) && (sym || last == ':'))
		return true;
	if (assignment(s, n))
		return true;
	/* indented under code, or indented with an operator */
	if (indent >= 2 && (prev || sym))
		return true;
	/* dense in symbols of two kinds or more */
	return sym >= 4 && sym * 4 >= vis && (kinds & (kinds - 1));
}

double tm_route_code_score(struct tm_ftext *t)
{
	const struct tm_span *ln;
	size_t n, i, code = 0, nonblank = 0;
	bool prev = false;

	ln = tm_ftext_lines(t, &n);
	for (i = 0; i < n; i++) {
		const char *s = t->text + ln[i].off;
		size_t j;

		for (j = 0; j < ln[i].len && (s[j] == ' ' || s[j] == '\t' || s[j] == '\r'); j++)
			;
		if (j == ln[i].len) {
			prev = false;
			continue;
		}
		nonblank++;
		prev = code_line(s, ln[i].len, prev);
		code += prev;
	}
	return nonblank ? round6((double)code / (double)nonblank) : 0;
}

/* ---- math_score --------------------------------------------------------- */

/* LaTeX's math-mode commands (and the environments' \begin, \end). */
static const char *const latex_cmds[] = {
	"Big", "Bigg", "Delta", "Gamma", "Lambda", "Leftarrow", "Leftrightarrow", "Omega",
	"Phi", "Pi", "Pr", "Psi", "Rightarrow", "Sigma", "Theta", "Xi", "alpha", "approx",
	"arccos", "arcsin", "arctan", "begin", "beta", "big", "bigg", "binom", "bmod",
	"boldsymbol", "cap", "cdot", "cdots", "chi", "choose", "cong", "cos", "cosh", "cot",
	"csc", "cup", "ddot", "deg", "delta", "det", "dfrac", "dim", "displaystyle", "div",
	"dots", "ell", "emptyset", "end", "epsilon", "equiv", "eta", "exists", "exp",
	"forall", "frac", "gamma", "gcd", "ge", "geq", "hat", "iff", "iiint", "iint",
	"implies", "in", "infty", "int", "iota", "kappa", "lambda", "langle", "lceil",
	"ldots", "le", "left", "leftarrow", "leftrightarrow", "leq", "lfloor", "lim",
	"liminf", "limsup", "ln", "log", "mapsto", "mathbb", "mathbf", "mathcal",
	"mathfrak", "mathit", "mathrm", "mathsf", "max", "min", "mod", "mp", "mu", "nabla",
	"ne", "neq", "notin", "nu", "oint", "omega", "operatorname", "over", "overline",
	"partial", "phi", "pi", "pm", "pmod", "prime", "prod", "propto", "psi", "qquad",
	"quad", "rangle", "rceil", "rfloor", "rho", "right", "rightarrow", "setminus",
	"sigma", "sim", "simeq", "sin", "sinh", "sqrt", "subset", "subseteq", "sum", "sup",
	"supset", "supseteq", "tan", "tanh", "tau", "tfrac", "theta", "tilde", "times",
	"to", "underline", "varepsilon", "varphi", "vartheta", "vec", "xi", "zeta",
};

static int cmp_cmd(const void *key, const void *elt)
{
	return strcmp(key, *(const char *const *)elt);
}

static bool latex_cmd(const char *s, size_t n)
{
	char w[16];

	if (n < 2 || n >= sizeof(w))
		return false;
	memcpy(w, s, n);
	w[n] = 0;
	return bsearch(w, latex_cmds, TM_ARRAY_SIZE(latex_cmds), sizeof(*latex_cmds),
		       cmp_cmd) != NULL;
}

/*
 * Code points of mathematical notation: the math operator, symbol and
 * alphanumeric blocks, the double-struck sets, super- and subscripts,
 * ± × ÷, the arrows of logic.  Not the minus sign U+2212 nor the bullet
 * operator U+2219 (typography of prose), not Greek letters (Greek text),
 * not ¹ ² ³ (m², km² in every other listing).
 */
static bool math_cp(UChar32 c)
{
	if (c < 0xb1)
		return false;
	if (c == 0xb1 || c == 0xd7 || c == 0xf7)
		return true;
	if (c >= 0x2200 && c <= 0x22ff)
		return c != 0x2212 && c != 0x2219;
	return (c >= 0x2a00 && c <= 0x2aff) || (c >= 0x27c0 && c <= 0x27ef) ||
	       (c >= 0x2980 && c <= 0x29ff) || (c >= 0x1d400 && c <= 0x1d7ff) ||
	       (c >= 0x2070 && c <= 0x209f) || c == 0x2102 || c == 0x2115 || c == 0x2119 ||
	       c == 0x211a || c == 0x211d || c == 0x2124 || c == 0x2135 || c == 0x210f ||
	       c == 0x21d2 || c == 0x21d4 || c == 0x21a6;
}

/*
 * At s[0] == '$' (not "$$"): a TeX inline formula "$...$" on one line
 * whose inside starts and ends without a space, does not start with a
 * digit (prices: "$5 and $10") and holds a TeX character (\ ^ _ = + { })
 * or is a single letter; returns its length with both dollars, or 0.
 */
static size_t inline_math(const char *s, size_t n)
{
	size_t i;
	bool tex = false;

	if (n < 3 || s[1] == ' ' || s[1] == '$' || (s[1] >= '0' && s[1] <= '9'))
		return 0;
	for (i = 1; i < n && i < 200 && s[i] != '$' && s[i] != '\n'; i++)
		tex |= s[i] == '\\' || s[i] == '^' || s[i] == '_' || s[i] == '=' ||
		       s[i] == '+' || s[i] == '{' || s[i] == '}';
	if (i >= n || s[i] != '$' || s[i - 1] == ' ' || s[i - 1] == '\\')
		return 0;
	if (!tex && !(i == 2 && is_ident_start((unsigned char)s[1])))
		return 0;
	return i + 1;
}

double tm_route_math_score(struct tm_ftext *t)
{
	const char *s = t->text;
	size_t n = t->len, i = 0, words, marks = 0, close = SIZE_MAX;

	tm_ftext_words(t, &words);
	if (!words)
		return 0;
	while (i < n) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\\' && i + 1 < n) {
			size_t j = i + 1;

			if (s[j] == '(' || s[j] == ')' || s[j] == '[' || s[j] == ']') {
				marks++;
				i += 2;
				continue;
			}
			while (j < n && ((s[j] >= 'a' && s[j] <= 'z') || (s[j] >= 'A' && s[j] <= 'Z')))
				j++;
			marks += latex_cmd(s + i + 1, j - i - 1);
			i = j;
			continue;
		}
		if (c == '$') {
			size_t m;

			if (i == close) {	/* the end of an inline formula */
				i++;
				continue;
			}
			if (i + 1 < n && s[i + 1] == '$') {
				marks++;
				i += 2;
				continue;
			}
			if ((m = inline_math(s + i, n - i))) {
				marks += 2;	/* the pair; what is inside counts too */
				close = i + m - 1;
			}
			i++;
			continue;
		}
		if (c >= 0x80) {
			int32_t j = 0, l = (int32_t)TM_MIN(n - i, 4);
			UChar32 cp;

			U8_NEXT((const uint8_t *)s + i, j, l, cp);
			marks += cp >= 0 && math_cp(cp);
			i += (size_t)j;
			continue;
		}
		i++;
	}
	return round6(TM_MIN(1.0, (double)marks / (double)words));
}
