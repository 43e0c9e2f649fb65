/*
 * pool.h: the ordered worker pool behind every tool's `-j N`.
 *
 * The caller submits items in input order from one thread (the
 * "submitting thread"); `work` runs on them on N worker threads in any
 * order, and `done` is called back on the submitting thread, never on a
 * worker, strictly in submission order.  `done` is where output is
 * written, so output bytes are identical for any N.
 *
 * Invariants: every submitted item reaches exactly one of `done` or
 * `discard`, exactly once, in submission order (all `done` calls come
 * before all `discard` calls); at most `max_inflight` items are
 * outstanding (submitted and not yet handed to done/discard), so memory
 * is bounded whatever the input size; nobody waits by spinning (mutex and
 * condition variables only); a worker context is created, used and freed
 * on one worker thread only.  With nthreads 0 or 1 no thread is created:
 * init_worker, work and done all run inline on the submitting thread.
 *
 * Ownership: the caller owns the pool and `arg`; the pool owns each item
 * from tm_pool_submit() (whatever it returns) until it hands it to `done`
 * or `discard`, which must free or keep it.
 *
 * Stopping: a `done` that returns non-zero stops the pool.  Work not yet
 * started is never started; items a worker already took finish their
 * `work`; every outstanding item, and every item submitted later, goes to
 * `discard` (which may see items that were worked and items that were
 * not).  tm_pool_submit() and tm_pool_finish() then return done's value.
 *
 * Cost: each hand-off between threads may cost a wake-up (microseconds);
 * when work per document is that cheap, submit a batch of documents as
 * one item.
 *
 * Threads: one submitting thread per pool; tm_pool_* must not be called
 * from inside work or done.  Worker threads start at the first submit,
 * with all signals blocked (signals go to the caller's threads).
 *
 * Depends on pthreads and buf.h/err.h only; knows nothing of documents,
 * streams or output.
 */
#ifndef TM_POOL_H
#define TM_POOL_H

#include <stddef.h>
#include <stdint.h>

struct tm_pool;

/* Runs on a worker thread (inline: the caller's); records results in item. */
typedef void (*tm_pool_work_fn)(void *worker_ctx, void *item);
/* Runs on the submitting thread in order; non-zero stops the pool. */
typedef int (*tm_pool_done_fn)(void *arg, void *item);
/* Makes one worker's reusable state; runs on that worker's thread. */
typedef void *(*tm_pool_init_fn)(void *arg, int worker_index);
/* Frees what init made; runs on the same worker thread at pool free. */
typedef void (*tm_pool_fini_fn)(void *worker_ctx);
/* Frees an item that will not reach done; runs on the submitting thread. */
typedef void (*tm_pool_discard_fn)(void *arg, void *item);

struct tm_pool_stats {
	uint64_t submitted;     /* items passed to tm_pool_submit() */
	uint64_t done;          /* items handed to done */
	uint64_t discarded;     /* items handed to discard after a stop */
	size_t peak_inflight;   /* most items outstanding at once */
	size_t max_inflight;    /* the bound in force */
	int nthreads;           /* worker threads running; 0 when inline */
};

/*
 * The number of CPUs this process may run on (its affinity mask, which
 * Slurm and taskset restrict; else the online CPUs), at least 1.
 */
int tm_ncpus(void);

/*
 * Creates a pool.  `nthreads` < 0 means tm_ncpus(); 0 and 1 mean inline
 * (no threads).  `max_inflight` bounds the outstanding items; 0 means
 * 4 * nthreads.  `work` and `done` are required (NULL is a BUG);
 * `arg` is passed to done, discard and init_worker.  Nothing starts
 * until the first tm_pool_submit().  Never fails (allocation failure
 * aborts); free with tm_pool_free().
 */
struct tm_pool *tm_pool_new(int nthreads, size_t max_inflight,
			    tm_pool_work_fn work, tm_pool_done_fn done,
			    void *arg);

/*
 * Sets the per-worker context callbacks: init_worker(arg, index) runs
 * once on each worker thread (index 0..nthreads-1; inline: once, index 0,
 * on the caller's thread) before its first item, concurrently with the
 * other workers' init_worker (so it must only read `arg`); its result is
 * the `worker_ctx` passed to work.  free_worker(ctx) runs on the same
 * thread when the pool is freed.  Either may be NULL (ctx is then NULL /
 * not freed).  Only before the first submit (else BUG).
 */
void tm_pool_set_worker(struct tm_pool *pool, tm_pool_init_fn init_worker,
			tm_pool_fini_fn free_worker);

/*
 * Sets the callback that receives items which will not reach done
 * (after a stop, or outstanding at tm_pool_free()).  NULL means such
 * items are dropped and the caller must be able to free them otherwise.
 * Only before the first submit (else BUG).
 */
void tm_pool_set_discard(struct tm_pool *pool, tm_pool_discard_fn discard);

/*
 * Submits `item` (any pointer, NULL included).  Before returning it hands
 * every completed item at the head of the order to done; when
 * max_inflight items are outstanding it blocks, still delivering, until
 * one slot is free.  Inline pools run work and done on the item at once.
 * The pool owns `item` from here on, whatever this returns.
 * Returns 0, or, once a done has stopped the pool (in this call or
 * before), the non-zero value that done returned.
 */
int tm_pool_submit(struct tm_pool *pool, void *item);

/*
 * Waits for every outstanding item and hands each to done (or discard
 * after a stop), in order.  The pool stays usable: more items may be
 * submitted afterwards.  Returns 0 or the value that stopped the pool.
 */
int tm_pool_finish(struct tm_pool *pool);

/* Fills `st`; call from the submitting thread. */
void tm_pool_stats(const struct tm_pool *pool, struct tm_pool_stats *st);

/*
 * Frees the pool: outstanding items (when tm_pool_finish() was not
 * called, e.g. on an error path) go to discard, not done, after any work
 * in progress ends; then the workers run free_worker and are joined.
 * NULL is fine.
 */
void tm_pool_free(struct tm_pool *pool);

#endif
