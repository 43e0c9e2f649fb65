/*
 * u-team.c: the trainer's fork-join team (train/team.c): every member runs
 * once per run, the caller being member 0, runs do not overlap, and
 * tm_team_share() cuts a range into aligned, disjoint, covering pieces.
 */
#include "tamis.h"
#include "team.h"
#include "tap.h"

#include <pthread.h>
#include <stdatomic.h>

struct job {
	atomic_int calls[8];
	atomic_int inside;	/* members inside fn right now */
	int nmembers;
	pthread_t caller;
	int caller_was_0;
};

static void fn(void *arg, int me, int n)
{
	struct job *j = arg;

	atomic_fetch_add(&j->calls[me], 1);
	if (me == 0) {
		j->nmembers = n;
		j->caller_was_0 = pthread_equal(pthread_self(), j->caller);
	}
	atomic_fetch_add(&j->inside, 1);
	atomic_fetch_sub(&j->inside, 1);
}

static void test_runs(int n)
{
	struct tm_team *t = tm_team_new(n);
	struct job j;
	int r, i, bad = 0;

	memset(&j, 0, sizeof(j));
	j.caller = pthread_self();
	ok(t && tm_team_size(t) == n, "a team of %d", n);
	for (r = 0; r < 1000; r++) {
		tm_team_run(t, fn, &j);
		bad += atomic_load(&j.inside) != 0;	/* every member has left fn */
	}
	for (i = 0; i < n; i++)
		bad += atomic_load(&j.calls[i]) != 1000;
	is_int(bad, 0, "1000 runs: each member called once per run, all done on return");
	is_int(j.nmembers, n, "members are told the team's size");
	ok(j.caller_was_0, "the caller is member 0");
	tm_team_free(t);
}

static void test_share(void)
{
	int64_t counts[] = { 0, 1, 7, 16, 100, 1000, 1023 }, aligns[] = { 1, 16 };
	int bad = 0, n, i;
	size_t c, a;

	for (c = 0; c < TM_ARRAY_SIZE(counts); c++)
		for (a = 0; a < TM_ARRAY_SIZE(aligns); a++)
			for (n = 1; n <= 5; n++) {
				int64_t next = 0, lo, hi;

				for (i = 0; i < n; i++) {
					tm_team_share(counts[c], i, n, aligns[a], &lo, &hi);
					bad += lo != next || hi < lo ||
					       (lo % aligns[a] && lo != counts[c]);
					next = hi;
				}
				bad += next != counts[c];
			}
	is_int(bad, 0, "shares are contiguous, aligned and cover the range");
}

int main(void)
{
	test_runs(1);
	test_runs(2);
	test_runs(5);
	test_share();
	tm_team_free(NULL);
	return tap_done();
}
