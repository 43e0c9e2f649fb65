/*
 * u-pool.c: the ordered worker pool through its public API.
 *
 * Items carry a random (seeded) amount of work, so workers finish out of
 * order; the checks are that done still sees submission order, on the
 * submitting thread, each item exactly once and worked exactly once, that
 * worker contexts stay on their thread, that the in-flight bound holds,
 * and that a stop from done frees everything (ASan checks the leaks).
 * Violations seen on worker threads are counted atomically and asserted
 * on the main thread (TAP output is not thread-safe).
 */
#include "tamis.h"
#include "pool.h"
#include "tap.h"

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>

#define MAXT 64
#define NEVER UINT64_MAX

struct run;

struct item {
	uint64_t seq;
	unsigned spin;          /* amount of work */
	uint64_t result;        /* set by work */
	int worked;             /* times work ran on it */
};

struct wctx {
	struct run *run;
	pthread_t tid;
	int index;
};

struct run {
	size_t cap;
	pthread_t main_tid;
	/* Touched by workers. */
	atomic_int ninit, nfree, wrong_thread, bad_index;
	atomic_int index_count[MAXT];
	atomic_int running, peak_running;
	atomic_long alive;
	/* Main thread only. */
	uint64_t next_expected, ndone, ndiscarded, digest;
	int order_errors, off_main, bad_result, not_worked, worked_twice;
	uint64_t stop_at;       /* seq whose done stops the pool */
	int stop_rc;
	uint64_t worked_late;   /* worked although submitted after the stop */
};

static uint64_t rng;

static uint64_t next_rand(void)
{
	/* xorshift64*: reproducible from --seed on every libc */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 2685821657736338717ULL;
}

static uint64_t expected_result(const struct item *it)
{
	uint64_t h = it->seq * 0x9e3779b97f4a7c15ULL + 1;
	unsigned i;

	for (i = 0; i < it->spin; i++) {
		h ^= h >> 33;
		h *= 0xff51afd7ed558ccdULL;
	}
	return h;
}

static void *init_worker(void *arg, int index)
{
	struct run *r = arg;
	struct wctx *c = tm_xcalloc(1, sizeof(*c));

	c->run = r;
	c->tid = pthread_self();
	c->index = index;
	if (index < 0 || index >= MAXT)
		atomic_fetch_add(&r->bad_index, 1);
	else
		atomic_fetch_add(&r->index_count[index], 1);
	atomic_fetch_add(&r->ninit, 1);
	return c;
}

static void free_worker(void *ctx)
{
	struct wctx *c = ctx;

	if (!pthread_equal(c->tid, pthread_self()))
		atomic_fetch_add(&c->run->wrong_thread, 1);
	atomic_fetch_add(&c->run->nfree, 1);
	free(c);
}

static void work(void *ctx, void *v)
{
	struct wctx *c = ctx;
	struct item *it = v;
	struct run *r = c->run;
	int now, peak;

	if (!pthread_equal(c->tid, pthread_self()))
		atomic_fetch_add(&r->wrong_thread, 1);
	now = atomic_fetch_add(&r->running, 1) + 1;
	peak = atomic_load(&r->peak_running);
	while (now > peak &&
	       !atomic_compare_exchange_weak(&r->peak_running, &peak, now))
		;
	it->result = expected_result(it);
	it->worked++;
	atomic_fetch_sub(&r->running, 1);
}

static void check_order(struct run *r, const struct item *it)
{
	if (it->seq != r->next_expected)
		r->order_errors++;
	r->next_expected = it->seq + 1;
	if (!pthread_equal(r->main_tid, pthread_self()))
		r->off_main++;
}

static int done(void *arg, void *v)
{
	struct run *r = arg;
	struct item *it = v;
	uint64_t seq = it->seq;

	check_order(r, it);
	if (!it->worked)
		r->not_worked++;
	if (it->worked > 1)
		r->worked_twice++;
	if (it->result != expected_result(it))
		r->bad_result++;
	r->digest = (r->digest ^ it->result) * 0x100000001b3ULL;
	r->ndone++;
	free(it);
	atomic_fetch_sub(&r->alive, 1);
	return seq == r->stop_at ? r->stop_rc : 0;
}

static void discard(void *arg, void *v)
{
	struct run *r = arg;
	struct item *it = v;

	check_order(r, it);
	if (it->worked > 1)
		r->worked_twice++;
	if (it->worked && r->stop_at != NEVER &&
	    it->seq >= r->stop_at + r->cap)
		r->worked_late++;
	r->ndiscarded++;
	free(it);
	atomic_fetch_sub(&r->alive, 1);
}

static int count_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static struct item *new_item(struct run *r, uint64_t seq)
{
	struct item *it = tm_xcalloc(1, sizeof(*it));
	uint64_t x = next_rand();

	it->seq = seq;
	/* Mostly tiny, sometimes 100x longer, so that workers overtake. */
	it->spin = (unsigned)(x % 64);
	if (x % 97 == 0)
		it->spin = 6400;
	atomic_fetch_add(&r->alive, 1);
	return it;
}

static void run_init(struct run *r, size_t cap, uint64_t stop_at, int rc)
{
	memset(r, 0, sizeof(*r));
	r->cap = cap;
	r->main_tid = pthread_self();
	r->stop_at = stop_at;
	r->stop_rc = rc;
}

/*
 * Submits n items through a pool of `nthreads` and checks everything the
 * contract promises.  Returns the digest of the results in done order.
 */
static uint64_t run_pool(int nthreads, size_t cap, uint64_t n,
			 unsigned long seed)
{
	struct tm_pool_stats st;
	struct tm_pool *p;
	struct run r;
	long worst_alive = 0, a;
	int base_threads = count_threads(), threads_during;
	int want = nthreads > 1 ? nthreads : 1, i, idx_ok = 1, rc = 0;
	uint64_t k;

	rng = seed | 1;
	run_init(&r, cap, NEVER, 0);
	p = tm_pool_new(nthreads, cap, work, done, &r);
	tm_pool_set_worker(p, init_worker, free_worker);
	tm_pool_set_discard(p, discard);
	for (k = 0; k < n; k++) {
		rc |= tm_pool_submit(p, new_item(&r, k));
		a = atomic_load(&r.alive);
		if (a > worst_alive)
			worst_alive = a;
	}
	threads_during = count_threads();
	rc |= tm_pool_finish(p);
	tm_pool_stats(p, &st);
	tm_pool_free(p);

	is_int(rc, 0, "submit and finish return 0");
	is_u64(r.ndone, n, "every item reached done");
	is_u64(r.next_expected, n,
	       "the last item delivered was the last submitted");
	is_int(r.order_errors, 0, "done saw submission order");
	is_int(r.off_main, 0, "done ran on the submitting thread");
	is_int(r.not_worked + r.worked_twice, 0,
	       "each item worked exactly once");
	is_int(r.bad_result, 0, "each result belongs to its item");
	is_u64(r.ndiscarded, 0, "nothing discarded");
	is_int(atomic_load(&r.alive), 0, "every item freed");
	ok(worst_alive <= (long)cap,
	   "outstanding items never above %zu (saw %ld)", cap, worst_alive);
	ok(atomic_load(&r.peak_running) <= TM_MIN(want, (int)cap),
	   "at most min(threads, max_inflight) items worked at once (saw %d)",
	   atomic_load(&r.peak_running));
	ok(st.peak_inflight >= 1 && st.peak_inflight <= cap,
	   "stats peak_inflight %zu within 1..%zu", st.peak_inflight, cap);
	is_u64(st.done, n, "stats count done items");
	is_u64(st.submitted, n, "stats count submitted items");
	is_int(st.nthreads, nthreads > 1 ? nthreads : 0, "stats thread count");
	is_int(atomic_load(&r.ninit), want, "init_worker once per worker");
	is_int(atomic_load(&r.nfree), want, "free_worker once per worker");
	for (i = 0; i < want && i < MAXT; i++)
		if (atomic_load(&r.index_count[i]) != 1)
			idx_ok = 0;
	ok(idx_ok && !atomic_load(&r.bad_index),
	   "worker indexes 0..%d once each", want - 1);
	is_int(atomic_load(&r.wrong_thread), 0,
	       "each worker context used on its own thread only");
	is_int(threads_during - base_threads, nthreads > 1 ? nthreads : 0,
	       "threads created");
	return r.digest;
}

static void test_matrix(unsigned long seed)
{
	static const int threads[] = { 1, 2, 3, 8 };
	static const size_t caps[] = { 1, 2, 7, 64 };
	/* 100k items under `make check-long`; 20k keep `make check` quick
	 * (small windows cost two context switches per item). */
	size_t nitems = getenv("TAMIS_LONG") ? 100000 : 20000;
	uint64_t want = 0, got;
	size_t i, j;

	for (i = 0; i < TM_ARRAY_SIZE(threads); i++) {
		for (j = 0; j < TM_ARRAY_SIZE(caps); j++) {
			tap_diag("nthreads %d, max_inflight %zu", threads[i],
				 caps[j]);
			got = run_pool(threads[i], caps[j], nitems, seed);
			if (!i && !j)
				want = got;
			ok(got == want, "results in done order identical to "
			   "nthreads 1 (%d threads, max_inflight %zu)",
			   threads[i], caps[j]);
		}
	}
}

static void test_defaults(unsigned long seed)
{
	struct tm_pool_stats st;
	struct tm_pool *p;
	struct run r;
	uint64_t k;

	ok(tm_ncpus() >= 1, "tm_ncpus is at least 1 (%d)", tm_ncpus());
	/* nthreads 0 is inline, as 1 is */
	run_pool(0, 5, 1000, seed);

	rng = seed | 1;
	run_init(&r, 0, NEVER, 0);
	p = tm_pool_new(-1, 0, work, done, &r);
	tm_pool_set_worker(p, init_worker, free_worker);
	for (k = 0; k < 1000; k++)
		tm_pool_submit(p, new_item(&r, k));
	tm_pool_finish(p);
	tm_pool_stats(p, &st);
	tm_pool_free(p);
	is_int(st.nthreads, tm_ncpus() > 1 ? tm_ncpus() : 0,
	       "nthreads -1 means tm_ncpus()");
	is_u64(st.max_inflight,
	       4 * (size_t)(tm_ncpus() > 1 ? tm_ncpus() : 1),
	       "max_inflight 0 means 4 per thread");
	is_u64(r.ndone, 1000, "default pool delivers everything");
	is_int(r.order_errors, 0, "default pool keeps order");
}

/*
 * done stops the pool at item `stop_at`; the caller keeps submitting.
 * Everything must still be freed, in order, and work must not go on.
 */
static void run_stop(int nthreads, size_t cap, uint64_t n, uint64_t stop_at,
		     unsigned long seed)
{
	struct tm_pool_stats st;
	struct tm_pool *p;
	struct run r;
	uint64_t k, first_fail = NEVER;
	int rc, frc, bad_rc = 0;

	rng = seed | 1;
	run_init(&r, cap, stop_at, TM_EIO);
	p = tm_pool_new(nthreads, cap, work, done, &r);
	tm_pool_set_worker(p, init_worker, free_worker);
	tm_pool_set_discard(p, discard);
	for (k = 0; k < n; k++) {
		rc = tm_pool_submit(p, new_item(&r, k));
		if (rc && first_fail == NEVER)
			first_fail = k;
		if (rc && rc != TM_EIO)
			bad_rc++;
		if (!rc && first_fail != NEVER)
			bad_rc++;       /* a stop is sticky */
	}
	frc = tm_pool_finish(p);
	tm_pool_stats(p, &st);
	tm_pool_free(p);

	tap_diag("stop: nthreads %d, max_inflight %zu, stop at %" PRIu64,
		 nthreads, cap, stop_at);
	is_int(frc, TM_EIO, "finish returns the value done stopped with");
	is_int(bad_rc, 0,
	       "submit returns 0 until the stop, done's value after");
	/* the stop shows at the submit that delivers item stop_at, or later */
	ok(first_fail == NEVER ? stop_at + cap >= n
			       : first_fail <= stop_at + cap,
	   "submit reports the stop within max_inflight items (at %" PRIu64 ")",
	   first_fail);
	is_u64(r.ndone, stop_at + 1, "done called up to the stopping item");
	is_u64(r.ndiscarded, n - stop_at - 1, "the rest went to discard");
	is_u64(r.next_expected, n, "done then discard, all in order");
	is_int(r.order_errors, 0, "no item out of order or repeated");
	is_int(r.off_main, 0, "done and discard ran on the submitting thread");
	is_int(r.worked_twice, 0, "no item worked twice");
	is_u64(r.worked_late, 0, "no work started after the stop");
	is_int(atomic_load(&r.alive), 0, "every item freed");
	is_u64(st.done + st.discarded, st.submitted,
	       "stats: submitted = done + discarded");
	is_int(atomic_load(&r.nfree), atomic_load(&r.ninit),
	       "every worker context freed");
}

static void test_stop(unsigned long seed)
{
	static const int threads[] = { 1, 3, 8 };
	static const size_t caps[] = { 1, 7, 64 };
	size_t i, j;

	for (i = 0; i < TM_ARRAY_SIZE(threads); i++)
		for (j = 0; j < TM_ARRAY_SIZE(caps); j++)
			run_stop(threads[i], caps[j], 20000,
				 (seed + i * 7 + j) % 10000, seed);
	/* stopping on the very first and the very last item */
	run_stop(4, 16, 500, 0, seed);
	run_stop(4, 16, 500, 499, seed);
}

/* An error path: the pool is freed with items still outstanding. */
static void test_free_outstanding(unsigned long seed)
{
	struct run r;
	struct tm_pool *p;
	uint64_t k;

	rng = seed | 1;
	run_init(&r, 64, NEVER, 0);
	p = tm_pool_new(4, 64, work, done, &r);
	tm_pool_set_worker(p, init_worker, free_worker);
	tm_pool_set_discard(p, discard);
	for (k = 0; k < 1000; k++)
		tm_pool_submit(p, new_item(&r, k));
	tm_pool_free(p);
	is_u64(r.ndone + r.ndiscarded, 1000,
	       "free without finish hands every item to done or discard");
	ok(r.ndiscarded > 0,
	   "free discards the outstanding items (%" PRIu64 ")", r.ndiscarded);
	is_int(r.order_errors, 0, "in order");
	is_int(atomic_load(&r.alive), 0, "every item freed");
	is_int(atomic_load(&r.nfree), 4, "worker contexts freed");

	tm_pool_free(NULL);
	ok(1, "tm_pool_free(NULL) is a no-op");
}

/* finish is a barrier, not an end: the pool takes more items after it. */
static void test_reuse(unsigned long seed)
{
	struct run r;
	struct tm_pool *p;
	uint64_t k;
	int rc = 0;

	rng = seed | 1;
	run_init(&r, 8, NEVER, 0);
	p = tm_pool_new(3, 8, work, done, &r);
	tm_pool_set_worker(p, init_worker, free_worker);
	for (k = 0; k < 300; k++) {
		rc |= tm_pool_submit(p, new_item(&r, k));
		if (k % 100 == 99) {
			rc |= tm_pool_finish(p);
			if (r.ndone != k + 1)
				rc = -100;
		}
	}
	rc |= tm_pool_finish(p);
	tm_pool_free(p);
	is_int(rc, 0, "each finish delivered everything submitted before it");
	is_u64(r.ndone, 300, "all delivered across three finishes");
	is_int(r.order_errors, 0, "in order across finishes");
	is_int(atomic_load(&r.ninit), 3, "workers survive finish");
}

static void *nothing(void *arg)
{
	return arg;
}

int main(int argc, char **argv)
{
	unsigned long seed = tap_seed(argc, argv);
	pthread_t t;

	/*
	 * TSan starts a helper thread at the first pthread_create; have it
	 * exist before any count of threads is taken.
	 */
	if (!pthread_create(&t, NULL, nothing, NULL))
		pthread_join(t, NULL);

	test_matrix(seed);
	test_defaults(seed);
	test_stop(seed);
	test_free_outstanding(seed);
	test_reuse(seed);
	return tap_done();
}
