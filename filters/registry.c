/*
 * registry.c: every filter `tamis filter` knows, in the order of the
 * default chain (cmd/filter.c), the classifier last.  A new filter adds
 * its definition here, its settings to pipeline.conf, and its rules to
 * docs/FILTERS.md.
 */
#include "tamis.h"
#include "filter.h"

const struct tm_filter_def *const tm_filters[] = {
	&tm_filter_url_blocklist,
	&tm_filter_badwords,
	&tm_filter_fineweb,
	&tm_filter_kl,
	&tm_filter_gopher_quality,
	&tm_filter_gopher_repetition,
	&tm_filter_c4,
	&tm_filter_pii,
	&tm_filter_classifier,
	NULL,
};
