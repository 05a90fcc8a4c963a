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
 *   while it does), so a quick next call skips the futex wake.
 * - A worker idle for worker_idle_ms of real time retires: it removes
 *   itself from the idle stack under the same lock dispatchers use to claim
 *   it, so a claimed worker never exits with mail in its box. min_workers
 *   never retire.
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

#include <time.h>

#define STOP ((struct faas_inv *)(uintptr_t)1)

struct faas_worker {
	faas_runtime_t *rt;
	_Atomic(struct faas_inv *) mail;
	_Atomic uint32_t futex;
	_Atomic bool sleeping; /* in futex_wait, or about to be: posters must wake it */
	bool permanent;
	struct faas_worker *next_spare;
};

int faas__workers_init(faas_runtime_t *rt)
{
	struct faas_workers *wp = rt->workers;

	wp->idle = faas__calloc(wp->max, sizeof(*wp->idle));
	if (!wp->idle)
		return FAAS_ENOMEM;
	if (pthread_mutex_init(&wp->lock, NULL) != 0) {
		faas__free(wp->idle);
		return FAAS_ENOMEM;
	}
	pthread_cond_init(&wp->exited, NULL);
	return 0;
}

/* counted: nthreads was already lowered (when it retired from the idle stack) */
static void worker_exit(struct faas_worker *w, bool counted)
{
	faas_runtime_t *rt = w->rt;
	struct faas_workers *wp = rt->workers;

	/* Nothing of the runtime is touched after the core reference goes:
	 * faas_runtime_free waits for exited threads to drop theirs. */
	pthread_mutex_lock(&wp->lock);
	if (!counted)
		wp->nthreads--;
	w->next_spare = wp->spare; /* never freed here: see `spare` */
	wp->spare = w;
	pthread_cond_broadcast(&wp->exited);
	pthread_mutex_unlock(&wp->lock);
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

/* Wait for mail; false when the worker should retire. */
static bool wait_mail(struct faas_worker *w)
{
	struct faas_workers *wp = w->rt->workers;
	uint64_t deadline = w->permanent ? 0 : faas__real_mono_ns() + (uint64_t)wp->idle_ms * 1000000u;
	bool woken;

	if (spin_for_mail(w))
		return true;
	for (;;) {
		uint32_t seen = atomic_load_explicit(&w->futex, memory_order_acquire);
		if (atomic_load_explicit(&w->mail, memory_order_acquire))
			return true;
		/* seq_cst with post(): it sees us sleeping, or we see its mail */
		atomic_store(&w->sleeping, true);
		if (atomic_load(&w->mail)) {
			atomic_store(&w->sleeping, false);
			return true;
		}
		woken = faas__futex_wait(&w->futex, seen, deadline);
		atomic_store(&w->sleeping, false);
		if (woken)
			continue;
		pthread_mutex_lock(&wp->lock);
		if (!atomic_load(&w->mail) && unlink_idle(wp, w)) {
			/* same critical section: a dispatcher that finds no idle worker
			 * may start a thread in its place at once (DESIGN 9.1) */
			wp->nthreads--;
			pthread_mutex_unlock(&wp->lock);
			return false;
		}
		pthread_mutex_unlock(&wp->lock);
		deadline = 0; /* claimed meanwhile: the mail is on its way */
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
	bool idle, retired = false;

	faas__current_rt = w->rt;
	for (;;) {
		inv = atomic_exchange_explicit(&w->mail, NULL, memory_order_acquire);
		if (inv == STOP)
			break;
		if (!inv) {
			if (!wait_mail(w)) {
				retired = true;
				break;
			}
			continue;
		}
		faas__inv_run(inv);
		pthread_mutex_lock(&wp->lock);
		idle = !wp->stopping;
		if (idle)
			wp->idle[wp->nidle++] = w; /* idle before the token is free */
		pthread_mutex_unlock(&wp->lock);
		finishing = idle ? w : NULL;
		faas__inv_complete(inv); /* an async attempt's continuation may invoke */
		finishing = NULL;
		if (!idle)
			break;
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

	pthread_mutex_lock(&wp->lock);
	if ((w = wp->spare))
		wp->spare = w->next_spare;
	pthread_mutex_unlock(&wp->lock);
	if (!w) {
		if (!(w = faas__malloc(sizeof(*w))))
			return NULL;
		atomic_init(&w->futex, 0);
	}
	w->rt = rt;
	w->next_spare = NULL;
	atomic_store(&w->mail, inv);
	atomic_store(&w->sleeping, false);
	w->permanent = permanent;
	return w;
}

/* A struct that never ran a thread goes back to the spares too. */
static void worker_discard(struct faas_workers *wp, struct faas_worker *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&wp->lock);
	w->next_spare = wp->spare;
	wp->spare = w;
	pthread_mutex_unlock(&wp->lock);
}

int faas__workers_dispatch(faas_runtime_t *rt, struct faas_inv *inv)
{
	struct faas_workers *wp = rt->workers;
	struct faas_worker *w;
	int rc;

	bool take = true;

	pthread_mutex_lock(&wp->lock);
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
		pthread_mutex_unlock(&wp->lock);
		post(w, inv);
		return 0;
	}
	if (wp->stopping || wp->nthreads >= wp->max) {
		/* cannot happen while tokens bound the threads; refuse rather than overrun */
		pthread_mutex_unlock(&wp->lock);
		return wp->stopping ? FAAS_ESHUTDOWN : FAAS_EINTERNAL;
	}
	wp->nthreads++;
	pthread_mutex_unlock(&wp->lock);
	if (!(w = worker_new(rt, inv, false))) {
		rc = FAAS_ENOMEM;
	} else if ((rc = start(rt, w)) == 0) {
		return 0;
	}
	worker_discard(wp, w);
	pthread_mutex_lock(&wp->lock);
	wp->nthreads--;
	pthread_mutex_unlock(&wp->lock);
	return rc;
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
		pthread_mutex_lock(&wp->lock);
		wp->nthreads++;
		wp->idle[wp->nidle++] = w;
		pthread_mutex_unlock(&wp->lock);
		if ((rc = start(rt, w)) != 0) {
			pthread_mutex_lock(&wp->lock);
			wp->nthreads--;
			unlink_idle(wp, w);
			pthread_mutex_unlock(&wp->lock);
			worker_discard(wp, w);
			return rc;
		}
	}
	return 0;
}

uint32_t faas__workers_stop(faas_runtime_t *rt, uint32_t wait_ms)
{
	struct faas_workers *wp = rt->workers;
	struct timespec ts;
	uint32_t left, busy;

	pthread_mutex_lock(&wp->lock);
	wp->stopping = true;
	busy = wp->nthreads - (uint32_t)wp->nidle; /* they exit after their invocation */
	while (wp->nidle)
		post(wp->idle[--wp->nidle], STOP);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)(wait_ms / 1000);
	ts.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	/* wait for the idle ones; busy ones are waited for by the drain */
	while (wp->nthreads > busy)
		if (pthread_cond_timedwait(&wp->exited, &wp->lock, &ts) != 0)
			break;
	left = wp->nthreads;
	pthread_mutex_unlock(&wp->lock);
	return left;
}

uint32_t faas__workers_count(faas_runtime_t *rt)
{
	uint32_t n;

	pthread_mutex_lock(&rt->workers->lock);
	n = rt->workers->nthreads;
	pthread_mutex_unlock(&rt->workers->lock);
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
	pthread_mutex_destroy(&wp->lock);
	pthread_cond_destroy(&wp->exited);
}
