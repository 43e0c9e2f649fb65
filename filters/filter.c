/*
 * filter.c: the filter registry, their pipeline.conf schema, and the chain
 * that runs them (see filter.h).
 */
#include "tamis.h"
#include "filter.h"

const struct tm_filter_def *tm_filter_find(const char *name)
{
	size_t i;

	for (i = 0; tm_filters[i]; i++)
		if (!strcmp(tm_filters[i]->name, name))
			return tm_filters[i];
	return NULL;
}

void tm_fresult_score(struct tm_fresult *res, const char *name, double value)
{
	if (res->nscores >= TM_FILTER_MAX_SCORES)
		BUG("more than %d scores from one filter (%s)", TM_FILTER_MAX_SCORES, name);
	res->scores[res->nscores].name = name;
	res->scores[res->nscores].value = value;
	res->nscores++;
}

const struct tm_ini_key *tm_filter_schema(size_t *n)
{
	static struct tm_ini_key *keys;
	static size_t nkeys;

	if (!keys) {
		size_t i, j, k = 0;

		for (i = 0; tm_filters[i]; i++)
			k += tm_filters[i]->nparams;
		keys = tm_xcalloc(k ? k : 1, sizeof(*keys));
		for (i = 0; tm_filters[i]; i++) {
			const struct tm_filter_def *d = tm_filters[i];
			struct tm_buf sec = TM_BUF_INIT;

			tm_buf_addf(&sec, "filter \"%s\"", d->name);
			for (j = 0; j < d->nparams; j++) {
				keys[nkeys].section = j ? keys[nkeys - 1].section : tm_xstrdup(sec.buf);
				keys[nkeys].key = d->params[j].key;
				keys[nkeys].type = d->params[j].type;
				keys[nkeys].help = d->params[j].help;
				nkeys++;
			}
			tm_buf_release(&sec);
		}
	}
	*n = nkeys;
	return keys;
}

/* ---------------------------------------------------------------- chain */

struct tm_fchain {
	struct tm_fchain_step *steps;
	size_t n;
	union tm_fvalue **values;	/* per step, per param */
};

struct tm_fwork {
	const struct tm_fchain *chain;
	struct tm_ftext *t;
	void **scratch;
	struct tm_buf *bufs;		/* per step: its rewritten text */
	const char *text;
	size_t len;
	bool rewritten;
};

/* The value of one setting: ini (if any) over the declared default. */
static int get_value(const struct tm_ini *ini, const struct tm_filter_def *d,
		     const struct tm_fparam *p, union tm_fvalue *v, struct tm_err *err)
{
	const char *s = ini ? tm_ini_get(ini, "filter", d->name, p->key) : NULL;
	const char *txt = s ? s : p->def;
	int rc = 0;

	switch (p->type) {
	case TM_INI_FLOAT:
		rc = tm_ini_to_double(txt, &v->f);
		break;
	case TM_INI_INT:
		rc = tm_ini_to_int(txt, &v->i);
		break;
	case TM_INI_BOOL:
		rc = tm_ini_to_bool(txt, &v->b);
		break;
	case TM_INI_STRING:
		v->s = tm_xstrdup(txt);
		break;
	default:
		BUG("filter %s: setting %s has an unsupported type", d->name, p->key);
	}
	if (rc && !s)
		BUG("filter %s: the default of %s ('%s') does not parse", d->name, p->key, p->def);
	if (rc)
		return tm_err_set(err, TM_ECONFIG, NULL, TM_ERR_NO_OFFSET, 0,
				  "[filter \"%s\"] %s: expected %s, got '%s'", d->name, p->key,
				  tm_ini_type_name(p->type), s);
	return 0;
}

void tm_filter_data_path(const char *data_dir, const char *name, struct tm_buf *out)
{
	tm_buf_reset(out);
	if (strchr(name, '/') || !data_dir)
		tm_buf_addstr(out, name);
	else
		tm_buf_addf(out, "%s/%s", data_dir, name);
}

int tm_fchain_new(const char *names, const struct tm_ini *ini, const char *data_dir,
		  struct tm_fchain **out, struct tm_err *err)
{
	struct tm_fchain *c = tm_xcalloc(1, sizeof(*c));
	const char *p = names;
	int rc = 0;

	*out = NULL;
	while (*p) {
		const struct tm_filter_def *d;
		char name[64];
		size_t l, j;

		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		l = strcspn(p, ", \t");
		if (!l)
			break;
		if (l >= sizeof(name)) {
			rc = tm_err_set(err, TM_ECONFIG, NULL, TM_ERR_NO_OFFSET, 0,
					"filter name '%.*s...' is too long", 20, p);
			break;
		}
		memcpy(name, p, l);
		name[l] = '\0';
		p += l;
		if (!(d = tm_filter_find(name))) {
			rc = tm_err_set(err, TM_ECONFIG, NULL, TM_ERR_NO_OFFSET, 0,
					"unknown filter '%s' (tamis filter --list shows them)", name);
			break;
		}
		for (j = 0; j < c->n; j++)
			if (c->steps[j].def == d)
				break;
		if (j < c->n) {
			rc = tm_err_set(err, TM_ECONFIG, NULL, TM_ERR_NO_OFFSET, 0,
					"filter '%s' is in the chain twice", name);
			break;
		}
		c->steps = tm_xrealloc(c->steps, (c->n + 1) * sizeof(*c->steps));
		c->values = tm_xrealloc(c->values, (c->n + 1) * sizeof(*c->values));
		c->values[c->n] = tm_xcalloc(d->nparams ? d->nparams : 1, sizeof(union tm_fvalue));
		c->steps[c->n].def = d;
		c->steps[c->n].state = NULL;
		c->n++;
		for (j = 0; j < d->nparams && !rc; j++)
			rc = get_value(ini, d, &d->params[j], &c->values[c->n - 1][j], err);
		if (rc)
			break;
		c->steps[c->n - 1].state = d->create(c->values[c->n - 1], data_dir, err);
		if (!c->steps[c->n - 1].state) {
			rc = err && err->code ? err->code : TM_ECONFIG;
			break;
		}
	}
	if (rc) {
		tm_fchain_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

void tm_fchain_free(struct tm_fchain *c)
{
	size_t i, j;

	if (!c)
		return;
	for (i = 0; i < c->n; i++) {
		const struct tm_filter_def *d = c->steps[i].def;

		if (c->steps[i].state)
			d->destroy(c->steps[i].state);
		for (j = 0; j < d->nparams; j++)
			if (d->params[j].type == TM_INI_STRING)
				free((char *)c->values[i][j].s);
		free(c->values[i]);
	}
	free(c->values);
	free(c->steps);
	free(c);
}

size_t tm_fchain_len(const struct tm_fchain *c)
{
	return c->n;
}

const struct tm_fchain_step *tm_fchain_step(const struct tm_fchain *c, size_t i)
{
	return i < c->n ? &c->steps[i] : NULL;
}

struct tm_fwork *tm_fwork_new(const struct tm_fchain *c)
{
	struct tm_fwork *w = tm_xcalloc(1, sizeof(*w));
	size_t i;

	w->chain = c;
	w->t = tm_ftext_new();
	w->scratch = tm_xcalloc(c->n ? c->n : 1, sizeof(*w->scratch));
	w->bufs = tm_xcalloc(c->n ? c->n : 1, sizeof(*w->bufs));
	for (i = 0; i < c->n; i++) {
		const struct tm_filter_def *d = c->steps[i].def;

		tm_buf_init(&w->bufs[i], 0);
		if (d->scratch_new)
			w->scratch[i] = d->scratch_new(c->steps[i].state);
	}
	return w;
}

void tm_fwork_free(struct tm_fwork *w)
{
	size_t i;

	if (!w)
		return;
	for (i = 0; i < w->chain->n; i++) {
		const struct tm_filter_def *d = w->chain->steps[i].def;

		if (d->scratch_free && w->scratch[i])
			d->scratch_free(w->scratch[i]);
		tm_buf_release(&w->bufs[i]);
	}
	free(w->scratch);
	free(w->bufs);
	tm_ftext_free(w->t);
	free(w);
}

int tm_fchain_run(const struct tm_fchain *c, struct tm_fwork *w,
		  const char *text, size_t len, const char *lang, const char *url,
		  bool annotate, struct tm_fresult *results, size_t *ran)
{
	int removed = -1;
	size_t i;

	w->text = text;
	w->len = len;
	w->rewritten = false;
	tm_ftext_set(w->t, text, len, lang, url);
	*ran = 0;
	for (i = 0; i < c->n; i++) {
		struct tm_fresult *r = &results[i];

		r->reason = NULL;
		r->nscores = 0;
		r->rewritten = false;
		r->changes = 0;
		r->text = &w->bufs[i];
		tm_buf_reset(r->text);
		c->steps[i].def->apply(c->steps[i].state, w->scratch[i], w->t, r);
		*ran = i + 1;
		if (r->reason && removed < 0) {
			removed = (int)i;
			if (!annotate)
				break;
		}
		if (r->rewritten && !annotate) {
			w->text = r->text->buf;
			w->len = r->text->len;
			w->rewritten = true;
			tm_ftext_set(w->t, w->text, w->len, lang, url);
		}
	}
	return removed;
}

const char *tm_fwork_text(const struct tm_fwork *w, size_t *len, bool *rewritten)
{
	*len = w->len;
	*rewritten = w->rewritten;
	return w->text;
}
