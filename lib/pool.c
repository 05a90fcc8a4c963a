/*
 * libfaas — worker threads and hand-off (DESIGN §9.1, §9.7).
 *
 * DESIGN
 * - Workers start lazily, one per admitted invocation that finds no idle
 *   worker, and never more than max_concurrency: a granted token means an
 *   idle worker or the right to start one, because a worker makes itself
 *   idle *before* it releases its token.
 * - Hand-off: the dispatcher pops the most recently idle worker (LIFO, the
 *   warmest cache) under `lock`, stores the invocation in that worker's
 *   mailbox (release) and wakes its futex. Only the idle stack is shared;
 *   there is no queue for sync work. With more than one usable CPU one
 *   idle worker spins briefly on its mailbox before sleeping (and yields
 *   while it does), so a quick next call skips the futex wake. On one CPU
 *   a worker that just woke a sleeping caller while another worker was
 *   busy, or ran an async attempt's continuation, yields once before it
 *   sleeps: the callers and producers run first and hand it their next
 *   call while it is awake, with no futex wake (pinned, two callers'
 *   CPU per call fell by a sixth, async CPU per event by half or more; a
 *   single caller is left alone: there the yield was one syscall more).
 * - A worker idle for worker_idle_ms of real time retires. Idle workers
 *   sleep with no timeout (a futex wait with one arms a kernel timer, at
 *   every hand-off); the housekeeping thread retires them: it takes those
 *   idle long enough off the idle stack under the same lock dispatchers use
 *   to claim them and posts RETIRE, so a claimed worker never exits with
 *   mail in its box. A worker counts as idle from its handler's end, once
 *   its token and continuation are done (until then it may sit on the
 *   stack, but is not retired). While there are more threads than
 *   min_workers housekeeping looks at least every worker_idle_ms (and when
 *   the next one is due), so going idle costs a worker nothing; a new
 *   thread kicks it once. min_workers never retire.
 * - Shutdown: `stopping` is set, every idle worker gets the STOP sentinel;
 *   busy ones exit after their invocation. Threads are detached and hold a
 *   reference on the runtime core, so a handler that never returns keeps
 *   what it needs alive after faas_runtime_free().
 * - A worker's struct outlives its thread: a dispatcher's post() may read
 *   `sleeping` and wake the futex after the worker ran that invocation and
 *   exited (shutdown). Exited structs go to `spare`, are reused by the next
 *   start, and are freed with the pool.
 */
#include "dispatch.h"

#include <limits.h>
#include <sched.h>

#define STOP ((struct faas_inv *)(uintptr_t)1)
#define RETIRE ((struct faas_inv *)(uintptr_t)2)

struct faas_worker {
	faas_runtime_t *rt;
	_Atomic(struct faas_inv *) mail;
	_Atomic uint32_t futex;
	_Atomic bool sleeping; /* in futex_wait, or about to be: posters must wake it */
	bool permanent;
	/* real clock, while on the idle stack; UINT64_MAX while it is still
	 * finishing (token, continuation): housekeeping retires only waiting ones */
	_Atomic uint64_t idle_since_ns;
	struct faas_worker *next_spare;
};

int faas__workers_init(faas_runtime_t *rt)
{
	struct faas_workers *wp = rt->workers;

	wp->idle = faas__calloc(wp->max, sizeof(*wp->idle));
	return wp->idle ? 0 : FAAS_ENOMEM; /* the lock and `exits` are zeroed words */
}

/* counted: nthreads was already lowered (when it retired from the idle stack) */
static void worker_exit(struct faas_worker *w, bool counted)
{
	faas_runtime_t *rt = w->rt;
	struct faas_workers *wp = rt->workers;

	/* Nothing of the runtime is touched after the core reference goes:
	 * faas_runtime_free waits for exited threads to drop theirs. */
	faas__lock(&wp->lock);
	if (!counted)
		wp->nthreads--;
	w->next_spare = wp->spare; /* never freed here: see `spare` */
	wp->spare = w;
	faas__unlock(&wp->lock);
	atomic_fetch_add(&wp->exits, 1); /* after the count: see faas__workers_stop */
	faas__futex_wake(&wp->exits, INT_MAX);
	faas__rt_core_unref(rt);
}

/* Under the lock: take w off the idle stack if it is there. */
static bool unlink_idle(struct faas_workers *wp, struct faas_worker *w)
{
	size_t i;

	for (i = 0; i < wp->nidle; i++) {
		if (wp->idle[i] == w) {
			memmove(&wp->idle[i], &wp->idle[i + 1], (wp->nidle - i - 1) * sizeof(w));
			wp->nidle--;
			return true;
		}
	}
	return false;
}

/* The one spinning worker polls its mailbox for spin_ns before it sleeps. */
static bool spin_for_mail(struct faas_worker *w)
{
	struct faas_workers *wp = w->rt->workers;
	int none = 0;
	uint64_t end;
	unsigned i;

	if (!wp->spin || !atomic_compare_exchange_strong(&wp->spinners, &none, 1))
		return false;
	end = faas__real_mono_ns() + wp->spin_ns;
	for (i = 1;; i++) {
		if (atomic_load_explicit(&w->mail, memory_order_acquire))
			break;
		if ((i & 63) == 0 && faas__spin_tick(end, wp->spin_ns))
			break;
		faas__cpu_relax();
	}
	atomic_store(&wp->spinners, 0);
	return atomic_load_explicit(&w->mail, memory_order_acquire) != NULL;
}

/* Wait for mail (an invocation, STOP or RETIRE), with no timeout. */
static void wait_mail(struct faas_worker *w, bool yield)
{
	if (spin_for_mail(w))
		return;
	if (yield && !w->rt->workers->spin) { /* one CPU: let the caller run first */
		sched_yield();
		if (atomic_load_explicit(&w->mail, memory_order_acquire))
			return;
	}
	for (;;) {
		uint32_t seen = atomic_load_explicit(&w->futex, memory_order_acquire);
		if (atomic_load_explicit(&w->mail, memory_order_acquire))
			return;
		/* seq_cst with post(): it sees us sleeping, or we see its mail */
		atomic_store(&w->sleeping, true);
		if (atomic_load(&w->mail)) {
			atomic_store(&w->sleeping, false);
			return;
		}
		faas__futex_wait(&w->futex, seen, 0);
		atomic_store(&w->sleeping, false);
	}
}

/* The worker this thread is while it finishes an invocation from the idle
 * stack: an async attempt's continuation runs destinations, which may
 * invoke synchronously and wait; that call must not be handed to itself. */
static FAAS_TLS struct faas_worker *finishing;

static void *worker_main(void *arg)
{
	struct faas_worker *w = arg;
	struct faas_workers *wp = w->rt->workers;
	struct faas_inv *inv;
	bool idle, retired = false, yield = false, others, cont;
	uint64_t end;

	faas__current_rt = w->rt;
	for (;;) {
		inv = atomic_exchange_explicit(&w->mail, NULL, memory_order_acquire);
		if (inv == STOP)
			break;
		if (inv == RETIRE) { /* housekeeping took it off the idle stack, counted */
			retired = true;
			break;
		}
		if (!inv) {
			wait_mail(w, yield);
			continue;
		}
		faas__inv_run(inv);
		cont = inv->done_cb != NULL; /* read before complete frees it */
		/* when it went idle: its handler's end, on a real clock (one clock
		 * read less per hand-off); the struct may be gone after complete */
		end = w->rt->clock.kind == FAAS_CLOCK_REAL ? inv->end_ns : 0;
		faas__lock(&wp->lock);
		idle = !wp->stopping;
		if (idle) {
			atomic_store_explicit(&w->idle_since_ns, UINT64_MAX, memory_order_relaxed);
			wp->idle[wp->nidle++] = w; /* idle before the token is free */
		}
		/* another worker still at work: other callers are too */
		others = wp->nidle < wp->nthreads;
		faas__unlock(&wp->lock);
		finishing = idle ? w : NULL;
		/* an async attempt's continuation may invoke */
		yield = faas__inv_complete(inv) && (others || cont);
		finishing = NULL;
		if (!idle)
			break;
		/* done finishing: from now on housekeeping may retire it (if it is
		 * still on the idle stack; claimed meanwhile, nobody reads this) */
		if (!w->permanent)
			atomic_store_explicit(&w->idle_since_ns, end ? end : faas__real_mono_ns(),
			                      memory_order_relaxed);
	}
	worker_exit(w, retired);
	return NULL;
}

static void post(struct faas_worker *w, struct faas_inv *inv)
{
	atomic_store(&w->mail, inv);
	atomic_fetch_add(&w->futex, 1);
	if (atomic_load(&w->sleeping)) /* a spinning or running worker needs no syscall */
		faas__futex_wake(&w->futex, 1);
}

/* Start a thread for w; the caller counted it in nthreads. */
static int start(faas_runtime_t *rt, struct faas_worker *w)
{
	pthread_t tid;
	int rc;

	atomic_fetch_add(&rt->core_refs, 1);
	rc = faas__thread_create(&tid, "worker", rt->workers->stack_size, worker_main, w);
	if (rc != 0) {
		atomic_fetch_sub(&rt->core_refs, 1);
		return rc;
	}
	pthread_detach(tid);
	return 0;
}

/* A spare struct when there is one. Atomic stores, not atomic_init: a late
 * poster of the struct's previous life may still read `sleeping` (and at
 * worst wakes the new worker spuriously, which it tolerates). */
static struct faas_worker *worker_new(faas_runtime_t *rt, struct faas_inv *inv, bool permanent)
{
	struct faas_workers *wp = rt->workers;
	struct faas_worker *w;

	faas__lock(&wp->lock);
	if ((w = wp->spare))
		wp->spare = w->next_spare;
	faas__unlock(&wp->lock);
	if (!w) {
		if (!(w = faas__malloc(sizeof(*w))))
			return NULL;
		atomic_init(&w->futex, 0);
	}
	w->rt = rt;
	w->next_spare = NULL;
	atomic_store(&w->mail, inv);
	atomic_store(&w->sleeping, false);
	atomic_store(&w->idle_since_ns, UINT64_MAX);
	w->permanent = permanent;
	return w;
}

/* A struct that never ran a thread goes back to the spares too. */
static void worker_discard(struct faas_workers *wp, struct faas_worker *w)
{
	if (!w)
		return;
	faas__lock(&wp->lock);
	w->next_spare = wp->spare;
	wp->spare = w;
	faas__unlock(&wp->lock);
}

int faas__workers_dispatch(faas_runtime_t *rt, struct faas_inv *inv)
{
	struct faas_workers *wp = rt->workers;
	struct faas_worker *w;
	int rc;

	bool take = true;

	faas__lock(&wp->lock);
	if (FAAS_UNLIKELY(finishing != NULL) && !inv->done_cb && wp->nidle &&
	    wp->idle[wp->nidle - 1] == finishing) {
		/* a sync call from this very worker: another one, or a new one */
		if (wp->nidle > 1) {
			wp->idle[wp->nidle - 1] = wp->idle[wp->nidle - 2];
			wp->idle[wp->nidle - 2] = finishing;
		} else if (!wp->stopping && wp->nthreads < wp->max) {
			take = false;
		} /* else every thread is taken: it waits for this one (to its timeout) */
	}
	if (wp->nidle && take) {
		w = wp->idle[--wp->nidle];
		faas__unlock(&wp->lock);
		post(w, inv);
		return 0;
	}
	if (wp->stopping || wp->nthreads >= wp->max) {
		/* cannot happen while tokens bound the threads; refuse rather than overrun */
		faas__unlock(&wp->lock);
		return wp->stopping ? FAAS_ESHUTDOWN : FAAS_EINTERNAL;
	}
	wp->nthreads++;
	faas__unlock(&wp->lock);
	if (!(w = worker_new(rt, inv, false))) {
		rc = FAAS_ENOMEM;
	} else if ((rc = start(rt, w)) == 0) {
		faas__hk_kick(rt); /* it may sleep with no worker to retire in view */
		return 0;
	}
	worker_discard(wp, w);
	faas__lock(&wp->lock);
	wp->nthreads--;
	faas__unlock(&wp->lock);
	return rc;
}

uint64_t faas__workers_retire(faas_runtime_t *rt, uint64_t now)
{
	struct faas_workers *wp = rt->workers;
	uint64_t idle_ns = (uint64_t)wp->idle_ms * 1000000u, next = UINT64_MAX;
	size_t i = 0;

	if (!wp->idle)
		return UINT64_MAX;
	faas__lock(&wp->lock);
	/* every idle one (a few: at most max_concurrency) */
	while (i < wp->nidle && !wp->stopping) {
		struct faas_worker *w = wp->idle[i];
		uint64_t since = atomic_load_explicit(&w->idle_since_ns, memory_order_relaxed);
		if (w->permanent || since == UINT64_MAX) { /* never, or still finishing */
			i++;
			continue;
		}
		if (since + idle_ns > now) {
			if (since + idle_ns < next)
				next = since + idle_ns;
			i++;
			continue;
		}
		memmove(&wp->idle[i], &wp->idle[i + 1], (wp->nidle - i - 1) * sizeof(w));
		wp->nidle--;
		/* same critical section: a dispatcher that finds no idle worker may
		 * start a thread in its place at once (DESIGN 9.1) */
		wp->nthreads--;
		post(w, RETIRE); /* it sleeps with no timeout: nothing else wakes it */
	}
	/* a busy worker may go idle any time: look again within the idle time */
	if (wp->nthreads > wp->min && !wp->stopping && now + idle_ns < next)
		next = now + idle_ns;
	faas__unlock(&wp->lock);
	return next;
}

int faas__workers_start_min(faas_runtime_t *rt)
{
	struct faas_workers *wp = rt->workers;
	struct faas_worker *w;
	uint32_t i;
	int rc;

	for (i = 0; i < wp->min; i++) {
		if (!(w = worker_new(rt, NULL, true)))
			return FAAS_ENOMEM;
		faas__lock(&wp->lock);
		wp->nthreads++;
		wp->idle[wp->nidle++] = w;
		faas__unlock(&wp->lock);
		if ((rc = start(rt, w)) != 0) {
			faas__lock(&wp->lock);
			wp->nthreads--;
			unlink_idle(wp, w);
			faas__unlock(&wp->lock);
			worker_discard(wp, w);
			return rc;
		}
	}
	return 0;
}

uint32_t faas__workers_stop(faas_runtime_t *rt, uint32_t wait_ms)
{
	struct faas_workers *wp = rt->workers;
	uint64_t deadline = faas__real_mono_ns() + (uint64_t)wait_ms * 1000000u;
	uint32_t left, busy;

	faas__lock(&wp->lock);
	wp->stopping = true;
	busy = wp->nthreads - (uint32_t)wp->nidle; /* they exit after their invocation */
	while (wp->nidle)
		post(wp->idle[--wp->nidle], STOP);
	/* wait for the idle ones; busy ones are waited for by the drain. `seen`
	 * is read under the lock: an exit counted after it bumps `exits` later */
	for (;;) {
		uint32_t seen = atomic_load(&wp->exits);
		if (wp->nthreads <= busy)
			break;
		faas__unlock(&wp->lock);
		if (!faas__futex_wait(&wp->exits, seen, deadline)) {
			faas__lock(&wp->lock);
			break;
		}
		faas__lock(&wp->lock);
	}
	left = wp->nthreads;
	faas__unlock(&wp->lock);
	return left;
}

uint32_t faas__workers_count(faas_runtime_t *rt)
{
	uint32_t n;

	faas__lock(&rt->workers->lock);
	n = rt->workers->nthreads;
	faas__unlock(&rt->workers->lock);
	return n;
}

void faas__workers_destroy(struct faas_workers *wp)
{
	struct faas_worker *w;

	while ((w = wp->spare)) {
		wp->spare = w->next_spare;
		faas__free(w);
	}
	faas__free(wp->idle);
}
