/*
 * pool.c: the ordered worker pool (see pool.h for the contract).
 *
 * Shape: a ring of max_inflight slots indexed by sequence number modulo
 * the ring size, and three counters, next_deliver <= next_take <=
 * next_submit.  Slots [next_deliver, next_take) were taken by workers
 * (running or done), [next_take, next_submit) wait for a worker.  The
 * ring is both the work queue (workers take in order) and the reorder
 * buffer (the submitter delivers the head once it is done), so there is
 * no second queue to keep in step.  The ring and the counters are under
 * `mu`; everything else is either set before the threads start or
 * touched by the submitting thread only.
 */
#include "tamis.h"
#include "pool.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

enum slot_state {
	SLOT_FREE,
	SLOT_QUEUED,
	SLOT_RUNNING,
	SLOT_DONE,      /* worked, or skipped after a stop */
};

struct slot {
	void *item;
	enum slot_state state;
};

struct worker {
	struct tm_pool *pool;
	pthread_t thread;
	int index;
};

struct tm_pool {
	/* Set before the first submit, read-only afterwards. */
	tm_pool_work_fn work;
	tm_pool_done_fn done;
	tm_pool_init_fn init_worker;
	tm_pool_fini_fn free_worker;
	tm_pool_discard_fn discard;
	void *arg;
	int want_threads;
	size_t cap;

	/* Under mu. */
	pthread_mutex_t mu;
	pthread_cond_t work_cv;         /* workers: queued items or quit */
	pthread_cond_t head_cv;         /* submitter: the head is done */
	struct slot *ring;
	uint64_t next_submit, next_take, next_deliver;
	int quit;

	/* Submitting thread only. */
	struct worker *workers;
	int nthreads;                   /* started; 0 = inline */
	int started;
	int in_callback;
	int stop_rc;
	void *inline_ctx;
	void **batch;                   /* cap items taken off the ring */
	uint64_t submitted, ndone, ndiscarded;
	size_t peak;
};

int tm_ncpus(void)
{
	cpu_set_t set;
	long n;

	/* The affinity mask is what Slurm, cgroups and taskset restrict. */
	if (!sched_getaffinity(0, sizeof(set), &set)) {
		n = CPU_COUNT(&set);
		if (n > 0)
			return (int)n;
	}
	n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		return 1;
	return n > INT_MAX ? INT_MAX : (int)n;
}

struct tm_pool *tm_pool_new(int nthreads, size_t max_inflight,
			    tm_pool_work_fn work, tm_pool_done_fn done,
			    void *arg)
{
	struct tm_pool *p;

	if (!work || !done)
		BUG("tm_pool_new needs work and done callbacks");
	if (nthreads < 0)
		nthreads = tm_ncpus();
	if (!max_inflight)
		max_inflight = 4 * (size_t)(nthreads ? nthreads : 1);
	p = tm_xcalloc(1, sizeof(*p));
	p->work = work;
	p->done = done;
	p->arg = arg;
	p->want_threads = nthreads;
	p->cap = max_inflight;
	if (pthread_mutex_init(&p->mu, NULL) ||
	    pthread_cond_init(&p->work_cv, NULL) ||
	    pthread_cond_init(&p->head_cv, NULL))
		BUG("cannot initialise pool mutex or condition variables");
	return p;
}

void tm_pool_set_worker(struct tm_pool *p, tm_pool_init_fn init_worker,
			tm_pool_fini_fn free_worker)
{
	if (p->started)
		BUG("tm_pool_set_worker after the first submit");
	p->init_worker = init_worker;
	p->free_worker = free_worker;
}

void tm_pool_set_discard(struct tm_pool *p, tm_pool_discard_fn discard)
{
	if (p->started)
		BUG("tm_pool_set_discard after the first submit");
	p->discard = discard;
}

static void *worker_main(void *v)
{
	struct worker *w = v;
	struct tm_pool *p = w->pool;
	void *ctx = p->init_worker ? p->init_worker(p->arg, w->index) : NULL;
	struct slot *s;
	uint64_t seq;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->quit && p->next_take == p->next_submit)
			pthread_cond_wait(&p->work_cv, &p->mu);
		if (p->next_take == p->next_submit)
			break;  /* quit, and nothing left queued */
		seq = p->next_take++;
		s = &p->ring[seq % p->cap];
		s->state = SLOT_RUNNING;
		pthread_mutex_unlock(&p->mu);

		/* The slot cannot be reused before we mark it done. */
		p->work(ctx, s->item);

		pthread_mutex_lock(&p->mu);
		s->state = SLOT_DONE;
		if (seq == p->next_deliver)
			pthread_cond_signal(&p->head_cv);
	}
	pthread_mutex_unlock(&p->mu);
	if (p->free_worker)
		p->free_worker(ctx);
	return NULL;
}

static void pool_start(struct tm_pool *p)
{
	sigset_t all, old;
	int i;

	p->started = 1;
	if (p->want_threads > 1) {
		p->ring = tm_xcalloc(p->cap, sizeof(*p->ring));
		p->batch = tm_xcalloc(p->cap, sizeof(*p->batch));
		p->workers = tm_xcalloc((size_t)p->want_threads,
					sizeof(*p->workers));
		/* Workers inherit a full mask: signals go to the caller. */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		for (i = 0; i < p->want_threads; i++) {
			p->workers[i].pool = p;
			p->workers[i].index = i;
			/* Fewer threads than asked is slower, not wrong. */
			if (pthread_create(&p->workers[i].thread, NULL,
					   worker_main, &p->workers[i]))
				break;
			p->nthreads++;
		}
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	if (!p->nthreads && p->init_worker)
		p->inline_ctx = p->init_worker(p->arg, 0);
}

static void discard_item(struct tm_pool *p, void *item)
{
	p->ndiscarded++;
	if (p->discard) {
		p->in_callback = 1;
		p->discard(p->arg, item);
		p->in_callback = 0;
	}
}

/*
 * Records the stop and withdraws the items no worker took yet, so that
 * they reach discard without being worked.
 */
static void pool_stop(struct tm_pool *p, int rc)
{
	p->stop_rc = rc;
	if (!p->nthreads)
		return;
	pthread_mutex_lock(&p->mu);
	for (; p->next_take < p->next_submit; p->next_take++)
		p->ring[p->next_take % p->cap].state = SLOT_DONE;
	pthread_mutex_unlock(&p->mu);
}

static void deliver(struct tm_pool *p, void **items, size_t n)
{
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		if (p->stop_rc) {
			discard_item(p, items[i]);
			continue;
		}
		p->ndone++;
		p->in_callback = 1;
		rc = p->done(p->arg, items[i]);
		p->in_callback = 0;
		if (rc)
			pool_stop(p, rc);
	}
}

/*
 * Delivers every item at the head that is done, and waits for more until
 * at most `target` items are outstanding (none once stopped).
 */
static int pool_flush(struct tm_pool *p, uint64_t target)
{
	struct slot *s;
	size_t n;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		for (n = 0; p->next_deliver + n < p->next_submit; n++) {
			s = &p->ring[(p->next_deliver + n) % p->cap];
			if (s->state != SLOT_DONE)
				break;
			p->batch[n] = s->item;
			s->item = NULL;
			s->state = SLOT_FREE;
		}
		if (n) {
			p->next_deliver += n;
			/* done may be slow (it writes): let workers go on. */
			pthread_mutex_unlock(&p->mu);
			deliver(p, p->batch, n);
			pthread_mutex_lock(&p->mu);
			continue;
		}
		if (p->stop_rc)
			target = 0;
		if (p->next_submit - p->next_deliver <= target)
			break;
		pthread_cond_wait(&p->head_cv, &p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	return p->stop_rc;
}

int tm_pool_submit(struct tm_pool *p, void *item)
{
	struct slot *s;
	size_t inflight;

	if (p->in_callback)
		BUG("tm_pool_submit called from a pool callback");
	if (!p->started)
		pool_start(p);
	p->submitted++;
	if (p->stop_rc) {
		discard_item(p, item);
		return p->stop_rc;
	}
	if (!p->nthreads) {
		p->peak = 1;
		p->in_callback = 1;
		p->work(p->inline_ctx, item);
		p->in_callback = 0;
		deliver(p, &item, 1);
		return p->stop_rc;
	}
	if (pool_flush(p, p->cap - 1)) {
		discard_item(p, item);
		return p->stop_rc;
	}
	pthread_mutex_lock(&p->mu);
	s = &p->ring[p->next_submit % p->cap];
	if (s->state != SLOT_FREE)
		BUG("pool slot %" PRIu64 " still in use", p->next_submit);
	s->item = item;
	s->state = SLOT_QUEUED;
	p->next_submit++;
	inflight = (size_t)(p->next_submit - p->next_deliver);
	pthread_cond_signal(&p->work_cv);
	pthread_mutex_unlock(&p->mu);
	if (inflight > p->peak)
		p->peak = inflight;
	return 0;
}

int tm_pool_finish(struct tm_pool *p)
{
	if (p->in_callback)
		BUG("tm_pool_finish called from a pool callback");
	if (!p->nthreads)
		return p->stop_rc;
	return pool_flush(p, 0);
}

void tm_pool_stats(const struct tm_pool *p, struct tm_pool_stats *st)
{
	st->submitted = p->submitted;
	st->done = p->ndone;
	st->discarded = p->ndiscarded;
	st->peak_inflight = p->peak;
	st->max_inflight = p->cap;
	st->nthreads = p->nthreads;
}

void tm_pool_free(struct tm_pool *p)
{
	int i;

	if (!p)
		return;
	if (p->in_callback)
		BUG("tm_pool_free called from a pool callback");
	if (p->nthreads) {
		if (!p->stop_rc)
			pool_stop(p, TM_ECANCEL);
		pool_flush(p, 0);
		pthread_mutex_lock(&p->mu);
		p->quit = 1;
		pthread_cond_broadcast(&p->work_cv);
		pthread_mutex_unlock(&p->mu);
		for (i = 0; i < p->nthreads; i++)
			pthread_join(p->workers[i].thread, NULL);
	} else if (p->started && p->free_worker) {
		p->free_worker(p->inline_ctx);
	}
	pthread_cond_destroy(&p->head_cv);
	pthread_cond_destroy(&p->work_cv);
	pthread_mutex_destroy(&p->mu);
	free(p->workers);
	free(p->batch);
	free(p->ring);
	free(p);
}
