/*
 * opt.c: the option parser behind every tamis tool's command line.
 */
#include "tamis.h"
#include "opt.h"
#include "ini.h"

#include <ctype.h>
#include <math.h>

static int set_value(const struct tm_option *o, const char *name,
		     const char *arg, struct tm_err *err)
{
	char *end;

	errno = 0;
	switch (o->type) {
	case TM_OPT_STRING:
		*(const char **)o->target = arg;
		return 0;
	case TM_OPT_STRLIST: {
		struct tm_strlist *l = o->target;

		l->v = tm_xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
		l->v[l->n++] = arg;
		return 0;
	}
	case TM_OPT_INT: {
		long v = strtol(arg, &end, 10);

		if (errno || end == arg || *end)
			break;
		*(long *)o->target = v;
		return 0;
	}
	case TM_OPT_U64: {
		unsigned long long v;

		if (*arg == '-')
			break;
		v = strtoull(arg, &end, 0);
		if (errno || end == arg || *end)
			break;
		*(uint64_t *)o->target = v;
		return 0;
	}
	case TM_OPT_SIZE:
		if (tm_ini_to_size(arg, (uint64_t *)o->target) < 0)
			break;
		return 0;
	case TM_OPT_DOUBLE: {
		double v = strtod(arg, &end);

		if (errno || end == arg || *end || !isfinite(v))
			break;
		*(double *)o->target = v;
		return 0;
	}
	default:
		BUG("option %s takes no value", name);
	}
	return tm_err_set(err, TM_EINVAL, NULL, TM_ERR_NO_OFFSET, 0,
			  "option '%s' expects %s, got '%s'", name,
			  o->type == TM_OPT_SIZE ? "a size (e.g. 64M)" :
			  o->type == TM_OPT_DOUBLE ? "a number" : "an integer",
			  arg);
}

static bool takes_value(const struct tm_option *o)
{
	return o->type != TM_OPT_FLAG && o->type != TM_OPT_COUNT;
}

static void set_flag(const struct tm_option *o)
{
	if (o->type == TM_OPT_FLAG)
		*(bool *)o->target = true;
	else
		(*(int *)o->target)++;
}

int tm_opt_parse(const struct tm_option *opts, int *argc, char **argv,
		 struct tm_err *err)
{
	int i, out = 1, n = *argc;
	bool only_operands = false;
	const struct tm_option *o;

	for (i = 1; i < n; i++) {
		char *a = argv[i];

		if (only_operands || a[0] != '-' || !a[1]) {
			argv[out++] = a;
			continue;
		}
		if (!strcmp(a, "--")) {
			only_operands = true;
			continue;
		}
		if (a[1] == '-') {
			const char *name = a + 2, *eq = strchr(name, '=');
			size_t len = eq ? (size_t)(eq - name) : strlen(name);
			char shown[128];

			if (len == 4 && !strncmp(name, "help", 4))
				return 1;
			for (o = opts; o->type != TM_OPT_END; o++)
				if (o->long_name && strlen(o->long_name) == len &&
				    !strncmp(o->long_name, name, len))
					break;
			snprintf(shown, sizeof(shown), "--%.*s", (int)len, name);
			if (o->type == TM_OPT_END)
				return tm_err_set(err, TM_EINVAL, NULL,
						  TM_ERR_NO_OFFSET, 0,
						  "unknown option '%s'", shown);
			if (!takes_value(o)) {
				if (eq)
					return tm_err_set(err, TM_EINVAL, NULL,
							  TM_ERR_NO_OFFSET, 0,
							  "option '%s' takes no value",
							  shown);
				set_flag(o);
				continue;
			}
			if (!eq && i + 1 >= n)
				return tm_err_set(err, TM_EINVAL, NULL,
						  TM_ERR_NO_OFFSET, 0,
						  "option '%s' requires a value",
						  shown);
			if (set_value(o, shown, eq ? eq + 1 : argv[++i], err) < 0)
				return TM_EINVAL;
			continue;
		}
		/* bundled short options */
		for (a++; *a; a++) {
			char shown[4] = { '-', *a, 0, 0 };

			if (*a == 'h')
				return 1;
			for (o = opts; o->type != TM_OPT_END; o++)
				if (o->short_name == *a)
					break;
			if (o->type == TM_OPT_END)
				return tm_err_set(err, TM_EINVAL, NULL,
						  TM_ERR_NO_OFFSET, 0,
						  "unknown option '%s'", shown);
			if (!takes_value(o)) {
				set_flag(o);
				continue;
			}
			if (a[1]) {
				if (set_value(o, shown, a + 1, err) < 0)
					return TM_EINVAL;
			} else {
				if (i + 1 >= n)
					return tm_err_set(err, TM_EINVAL, NULL,
							  TM_ERR_NO_OFFSET, 0,
							  "option '%s' requires a value",
							  shown);
				if (set_value(o, shown, argv[++i], err) < 0)
					return TM_EINVAL;
			}
			break;
		}
	}
	argv[out] = NULL;
	*argc = out;
	return 0;
}

void tm_opt_usage(const char *synopsis, const struct tm_option *opts,
		  struct tm_buf *out)
{
	const struct tm_option *o;

	tm_buf_addf(out, "usage: %s\n", synopsis);
	for (o = opts; o->type != TM_OPT_END; o++) {
		size_t start = out->len;

		if (o->type == TM_OPT_GROUP) {
			tm_buf_addf(out, "\n%s\n", o->help);
			continue;
		}
		tm_buf_addstr(out, "    ");
		if (o->short_name)
			tm_buf_addf(out, "-%c", o->short_name);
		if (o->short_name && o->long_name)
			tm_buf_addstr(out, ", ");
		if (o->long_name)
			tm_buf_addf(out, "--%s", o->long_name);
		if (takes_value(o))
			tm_buf_addf(out, " %s", o->argh ? o->argh : "VALUE");
		if (out->len - start < 30)
			tm_buf_addf(out, "%*s", (int)(30 - (out->len - start)), "");
		else
			tm_buf_addf(out, "\n%30s", "");
		tm_buf_addf(out, "%s\n", o->help);
	}
	tm_buf_addf(out, "    -h, --help                show this help\n");
}
