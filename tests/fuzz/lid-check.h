/*
 * lid-check.h: the invariants of tm_lid_predict()'s answer, shared by
 * the language-id fuzz targets: 0 <= n <= k guesses (at most one per
 * language), languages in range and distinct, scores in 0..1, best
 * first, summing to at most 1.  A violation is a BUG (abort).
 */
#ifndef TM_LID_CHECK_H
#define TM_LID_CHECK_H

#include "tamis.h"
#include "langid.h"

static inline void check_guesses(const struct tm_lid_model *m, const struct tm_lid_guess *g,
			  int n, int k)
{
	int nlang = tm_lid_nlang(m), i, j;
	double sum = 0;

	if (n < 0 || n > k || n > nlang)
		BUG("%d guesses for k %d, %d languages", n, k, nlang);
	for (i = 0; i < n; i++) {
		if (g[i].lang < 0 || g[i].lang >= nlang)
			BUG("guess %d: language %d of %d", i, g[i].lang, nlang);
		if (!(g[i].score >= 0 && g[i].score <= 1))
			BUG("guess %d (%s): score %g", i, tm_lid_code(m, g[i].lang),
			    (double)g[i].score);
		if (i && g[i - 1].score < g[i].score)
			BUG("guess %d: score %g after %g", i, (double)g[i].score,
			    (double)g[i - 1].score);
		for (j = 0; j < i; j++)
			if (g[j].lang == g[i].lang)
				BUG("language %d guessed twice", g[i].lang);
		sum += g[i].score;
	}
	if (sum > 1.0001)
		BUG("scores sum to %g", sum);
}

#endif
