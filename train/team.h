/*
 * team.h: a persistent fork-join team of threads for the trainer's
 * data-parallel loops (split a matrix product, a row-wise kernel or the
 * attention heads over the cores), where lib/pool.h's ordered item queue
 * would cost a hand-off per item.
 *
 * tm_team_run(team, fn, arg) calls fn(arg, i, n) once for every member
 * i = 0..n-1 at the same time, the calling thread being member 0, and
 * returns when all have returned.  Members sleep on a condition variable
 * between runs (no spinning: the cores may be shared).  A team of 1 runs
 * fn inline and creates no thread.  Member threads block every signal,
 * so that signals reach the caller's threads.
 *
 * Threads: one thread drives a team; fn must not call tm_team_run on the
 * same team.  Depends on pthreads only.
 */
#ifndef TM_TEAM_H
#define TM_TEAM_H

#include <stdint.h>

struct tm_team;

typedef void (*tm_team_fn)(void *arg, int member, int nmembers);

/* A team of n >= 1 members (n - 1 threads); NULL when threads cannot be had. */
struct tm_team *tm_team_new(int n);
/* Stops and joins the threads.  NULL is fine. */
void tm_team_free(struct tm_team *t);
int tm_team_size(const struct tm_team *t);
/* Runs fn(arg, i, n) on every member and waits for all of them. */
void tm_team_run(struct tm_team *t, tm_team_fn fn, void *arg);

/*
 * Member i's share [*lo, *hi) of [0, count) cut into n contiguous pieces
 * whose boundaries are multiples of `align` (>= 1); later members may get
 * nothing when count is small.
 */
static inline void tm_team_share(int64_t count, int i, int n, int64_t align, int64_t *lo,
				 int64_t *hi)
{
	int64_t per = (count + n - 1) / n;

	per = (per + align - 1) / align * align;
	*lo = per * i < count ? per * i : count;
	*hi = per * (i + 1) < count ? per * (i + 1) : count;
}

#endif
