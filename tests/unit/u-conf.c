/*
 * u-conf.c: the shipped pipeline.conf agrees with the schema in conf.c,
 * key for key, and loading reports unknown keys and bad values by line.
 */
#include "tamis.h"
#include "conf.h"
#include "filter.h"
#include "route.h"
#include "tap.h"

static void test_shipped(void)
{
	struct tm_buf path = TM_BUF_INIT;
	struct tm_err err = TM_ERR_INIT;
	struct tm_ini *ini;
	const struct tm_ini_entry *e;
	const char *src = getenv("TAMIS_SRC");
	size_t i, f, pos = 0, nentries = 0, nfilter = 0, nwild = 0;
	int rc;

	tm_buf_addf(&path, "%s/pipeline.conf", src ? src : ".");
	rc = tm_conf_load(path.buf, NULL, 0, &ini, &err);
	if (!is_int(rc, 0, "pipeline.conf loads against the schema"))
		tap_diag("%s: line %ld: %s", err.file, err.line, err.msg);
	if (rc < 0)
		return;
	for (i = 0; i < tm_conf_schema_len; i++) {
		const char *sec = tm_conf_schema[i].section, *sub;
		size_t len = strlen(sec), sp = 0, nsub = 0;
		char name[64];

		if (len < 2 || strcmp(sec + len - 2, " *")) {
			ok(tm_ini_get(ini, sec, NULL, tm_conf_schema[i].key) != NULL,
			   "pipeline.conf documents [%s] %s", sec, tm_conf_schema[i].key);
			continue;
		}
		/* "NAME *": every [NAME "SUB"] has the key */
		snprintf(name, sizeof(name), "%.*s", (int)(len - 2), sec);
		while ((sub = tm_ini_next_subsection(ini, name, &sp))) {
			ok(tm_ini_get(ini, name, sub, tm_conf_schema[i].key) != NULL,
			   "pipeline.conf documents [%s \"%s\"] %s", name, sub, tm_conf_schema[i].key);
			nsub++;
		}
		ok(nsub > 0, "pipeline.conf has a [%s \"...\"] section", name);
		nwild += nsub - 1;
	}
	/* the shipped rules are the built-in ones */
	is_str(tm_ini_get(ini, "route", NULL, "order"), TM_ROUTE_ORDER_DEFAULT, "[route] order");
	is_str(tm_ini_get(ini, "route", NULL, "default"), TM_ROUTE_DEFAULT_SOURCE, "[route] default");
	is_str(tm_ini_get(ini, "route", "code", "when"), TM_ROUTE_CODE_DEFAULT, "[route \"code\"]");
	is_str(tm_ini_get(ini, "route", "math", "when"), TM_ROUTE_MATH_DEFAULT, "[route \"math\"]");
	is_str(tm_ini_get(ini, "route", "multilingual", "when"), TM_ROUTE_MULTILINGUAL_DEFAULT,
	       "[route \"multilingual\"]");
	/* every filter's settings, each at its declared default */
	for (f = 0; tm_filters[f]; f++) {
		const struct tm_filter_def *d = tm_filters[f];

		for (i = 0; i < d->nparams; i++) {
			const char *v = tm_ini_get(ini, "filter", d->name, d->params[i].key);

			if (!ok(v != NULL, "pipeline.conf documents [filter \"%s\"] %s", d->name,
				d->params[i].key))
				continue;
			is_str(v, d->params[i].def, "... with the filter's default");
		}
		nfilter += d->nparams;
	}
	while ((e = tm_ini_next(ini, &pos)))
		nentries++;
	is_int(nentries, tm_conf_schema_len + nfilter + nwild, "and nothing else");
	tm_ini_free(ini);
	tm_buf_release(&path);
}

static void test_errors(void)
{
	static const char *const good[] = { "warc.max_record=1M", "global.threads=4" };
	static const char *const typo[] = { "warc.max_recrod=1M" };
	struct tm_err err = TM_ERR_INIT;
	struct tm_ini *ini;
	uint64_t sz = 0;
	int64_t n = 0;

	is_int(tm_conf_load(NULL, good, 2, &ini, &err), 0, "overrides alone load");
	tm_ini_get_size(ini, "warc", NULL, "max_record", 0, &sz, &err);
	is_u64(sz, 1 << 20, "max_record override read back as 1 MiB");
	tm_ini_get_int(ini, "global", NULL, "threads", 0, &n, &err);
	is_int(n, 4, "threads override");
	tm_ini_free(ini);
	is_int(tm_conf_load(NULL, typo, 1, &ini, &err), TM_ECONFIG,
	       "a misspelt override is an error");
	ok(strstr(err.msg, "max_recrod") && strstr(err.msg, "did you mean 'max_record'"),
	   "naming the key and the fix: %s", err.msg);
}

int main(void)
{
	test_shipped();
	test_errors();
	return tap_done();
}
