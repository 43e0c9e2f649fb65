/*
 * team.c: the fork-join team (team.h).  A generation counter under one
 * mutex tells sleeping members that a new run has started; a pending
 * count tells the driver that the last member has finished.
 */
#include "team.h"

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>

struct tm_team {
	int n;
	pthread_t *threads;	/* n - 1 of them */
	pthread_mutex_t mu;
	pthread_cond_t go, done;
	uint64_t gen;		/* bumped by every run */
	int pending;		/* members of the current run not yet finished */
	bool stop;
	tm_team_fn fn;
	void *arg;
};

struct member {
	struct tm_team *t;
	int i;
};

static void *member_main(void *p)
{
	struct member *me = p;
	struct tm_team *t = me->t;
	int i = me->i;
	uint64_t seen = 0;

	free(me);
	pthread_mutex_lock(&t->mu);
	for (;;) {
		tm_team_fn fn;
		void *arg;

		while (t->gen == seen && !t->stop)
			pthread_cond_wait(&t->go, &t->mu);
		if (t->stop)
			break;
		seen = t->gen;
		fn = t->fn;
		arg = t->arg;
		pthread_mutex_unlock(&t->mu);
		fn(arg, i, t->n);
		pthread_mutex_lock(&t->mu);
		if (--t->pending == 0)
			pthread_cond_signal(&t->done);
	}
	pthread_mutex_unlock(&t->mu);
	return NULL;
}

struct tm_team *tm_team_new(int n)
{
	struct tm_team *t = calloc(1, sizeof(*t));
	sigset_t all, old;
	int i;

	if (!t || n < 1) {
		free(t);
		return NULL;
	}
	t->n = n;
	pthread_mutex_init(&t->mu, NULL);
	pthread_cond_init(&t->go, NULL);
	pthread_cond_init(&t->done, NULL);
	t->threads = calloc(n, sizeof(*t->threads));
	if (!t->threads) {
		tm_team_free(t);
		return NULL;
	}
	/* members start with every signal blocked: signals go to the caller's threads */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 1; i < n; i++) {
		struct member *me = malloc(sizeof(*me));

		if (me) {
			me->t = t;
			me->i = i;
		}
		if (!me || pthread_create(&t->threads[i - 1], NULL, member_main, me)) {
			free(me);
			break;
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (i < n) {
		t->n = i;	/* join only the threads that started */
		tm_team_free(t);
		return NULL;
	}
	return t;
}

void tm_team_free(struct tm_team *t)
{
	int i;

	if (!t)
		return;
	if (t->threads) {
		pthread_mutex_lock(&t->mu);
		t->stop = true;
		pthread_cond_broadcast(&t->go);
		pthread_mutex_unlock(&t->mu);
		for (i = 1; i < t->n; i++)
			pthread_join(t->threads[i - 1], NULL);
		free(t->threads);
	}
	pthread_mutex_destroy(&t->mu);
	pthread_cond_destroy(&t->go);
	pthread_cond_destroy(&t->done);
	free(t);
}

int tm_team_size(const struct tm_team *t)
{
	return t->n;
}

void tm_team_run(struct tm_team *t, tm_team_fn fn, void *arg)
{
	if (t->n == 1) {
		fn(arg, 0, 1);
		return;
	}
	pthread_mutex_lock(&t->mu);
	t->fn = fn;
	t->arg = arg;
	t->pending = t->n - 1;
	t->gen++;
	pthread_cond_broadcast(&t->go);
	pthread_mutex_unlock(&t->mu);
	fn(arg, 0, t->n);
	pthread_mutex_lock(&t->mu);
	while (t->pending)
		pthread_cond_wait(&t->done, &t->mu);
	pthread_mutex_unlock(&t->mu);
}
