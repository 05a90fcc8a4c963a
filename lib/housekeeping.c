/*
 * libfaas — the housekeeping thread (DESIGN §9.6).
 *
 * Versions whose last reference drops are handed here and destroyed with no
 * library lock held, so user callbacks of destruction (environment
 * `shutdown` with reason spindown, `user_data_free`) never run inside the
 * control-plane call or the invocation that happened to drop the reference.
 * The hand-off is a lock-free stack (push = CAS, take all = exchange).
 *
 * It runs the provisioner of provisioned concurrency (provisioned.c) when
 * a configuration changed or a provisioned environment was reset.
 *
 * It also shuts down execution environments idle for longer than the
 * keep-alive (reason spindown): it sleeps until the earliest possible
 * expiry (`next_reap_ns`, lowered by every environment that goes idle) or,
 * on a virtual clock, until the clock moves. With the same wake-up time it
 * ends external extensions' post-runtime work that outlived its
 * invocation's deadline (extext.c; reason timeout).
 *
 * It retires workers idle for worker_idle_ms (pool.c), on the real clock
 * whatever the runtime's: they sleep with no timeout.
 *
 * Inline-mode runtimes have no housekeeping thread (everything stays on the
 * caller's thread, deterministically: reaping runs in faas_clock_advance and
 * before inline invocations); neither does a runtime after shutdown: then
 * versions are destroyed by whoever drops them.
 */
#include "dispatch.h"

struct faas_hk {
	pthread_t tid;
	_Atomic bool accepting;
	_Atomic bool stop;
	_Atomic bool sleeping;
	_Atomic uint32_t wake;
	_Atomic long pending; /* handed over, not yet destroyed */
	_Atomic(struct faas_version *) graveyard;
	_Atomic uint64_t seen_ns; /* runtime-clock time of its last pass */
	struct faas_vwaiter vw;
};

static void destroy_list(struct faas_hk *hk, struct faas_version *v)
{
	struct faas_version *next;

	for (; v; v = next) {
		next = v->grave_next;
		faas__version_destroy(v);
		atomic_fetch_sub(&hk->pending, 1);
	}
}

static void *hk_main(void *arg)
{
	faas_runtime_t *rt = arg;
	struct faas_hk *hk = rt->hk;
	struct faas_version *list;
	uint32_t seen;

	bool virt = rt->clock.kind == FAAS_CLOCK_VIRTUAL;
	uint64_t now, next, anext, mnext, wnext;

	faas__current_rt = rt; /* callbacks here count as a runtime thread's */
	for (;;) {
		seen = atomic_load(&hk->wake);
		now = faas__clock_mono_ns(&rt->clock);
		list = atomic_exchange(&hk->graveyard, NULL);
		if (list) {
			destroy_list(hk, list);
			continue;
		}
		if (atomic_load(&hk->stop))
			break;
		if (atomic_load(&rt->pc_work))
			faas__pc_work(rt);
		anext = faas__async_pump(rt);
		mnext = faas__mappings_step(rt); /* event source mappings poll and send */
		faas__reap_due(rt);
		faas__ext_post_expire(rt, now); /* extensions' post-runtime work past its deadline */
		atomic_store(&hk->seen_ns, now);
		next = atomic_load(&rt->next_reap_ns);
		if (anext < next) /* async retries and attempt deadlines */
			next = anext;
		if (mnext < next) /* batching windows, backoffs, batch deadlines */
			next = mnext;
		if (virt) /* those wait for the clock to move; workers for real time */
			next = UINT64_MAX;
		wnext = faas__workers_retire(rt, faas__real_mono_ns());
		if (wnext < next)
			next = wnext;
		atomic_store(&hk->sleeping, true);
		if (!atomic_load(&hk->graveyard) && !atomic_load(&hk->stop) &&
		    !atomic_load(&rt->pc_work))
			faas__futex_wait(&hk->wake, seen, next == UINT64_MAX ? 0 : next);
		atomic_store(&hk->sleeping, false);
	}
	return NULL;
}

int faas__hk_start(faas_runtime_t *rt)
{
	struct faas_hk *hk;
	int rc;

	if (rt->inline_mode)
		return 0;
	if (!(hk = faas__calloc(1, sizeof(*hk))))
		return FAAS_ENOMEM;
	rt->hk = hk;
	rc = faas__thread_create(&hk->tid, "housekeep", 0, hk_main, rt);
	if (rc != 0) {
		rt->hk = NULL;
		faas__free(hk);
		return rc;
	}
	atomic_store(&hk->accepting, true);
	if (rt->clock.kind == FAAS_CLOCK_VIRTUAL) { /* the clock moving wakes it */
		hk->vw.wake = &hk->wake;
		faas__vwait_add(rt, &hk->vw);
	}
	return 0;
}

/* The struct stays until the runtime core is freed: late workers may still
 * kick it or hand it a version (then they destroy it themselves). */
void faas__hk_stop(faas_runtime_t *rt)
{
	struct faas_hk *hk = rt->hk;

	if (!hk || atomic_load(&hk->stop))
		return;
	if (rt->clock.kind == FAAS_CLOCK_VIRTUAL)
		faas__vwait_remove(rt, &hk->vw);
	atomic_store(&hk->accepting, false);
	atomic_store(&hk->stop, true);
	atomic_fetch_add(&hk->wake, 1);
	faas__futex_wake(&hk->wake, 1);
	pthread_join(hk->tid, NULL);
	/* whatever was pushed while it stopped */
	destroy_list(hk, atomic_exchange(&hk->graveyard, NULL));
}

void faas__hk_free(faas_runtime_t *rt)
{
	faas__free(rt->hk);
	rt->hk = NULL;
}

bool faas__hk_defer(struct faas_version *v)
{
	faas_runtime_t *rt = v->fn ? v->fn->rt : NULL;
	struct faas_hk *hk = rt ? rt->hk : NULL;
	struct faas_version *head;

	if (!hk || !atomic_load(&hk->accepting))
		return false;
	atomic_fetch_add(&hk->pending, 1);
	head = atomic_load(&hk->graveyard);
	do
		v->grave_next = head;
	while (!atomic_compare_exchange_weak(&hk->graveyard, &head, v));
	atomic_fetch_add(&hk->wake, 1);
	if (atomic_load(&hk->sleeping))
		faas__futex_wake(&hk->wake, 1);
	/* seq_cst with hk_stop's store of `stop` before its last drain: if it
	 * may have drained already, take the list back and destroy it here */
	if (atomic_load(&hk->stop))
		destroy_list(hk, atomic_exchange(&hk->graveyard, NULL));
	return true;
}

long faas__hk_pending(faas_runtime_t *rt)
{
	return rt->hk ? atomic_load(&rt->hk->pending) : 0;
}

bool faas__hk_caught_up(faas_runtime_t *rt, uint64_t now)
{
	return !rt->hk || atomic_load(&rt->hk->stop) || atomic_load(&rt->hk->seen_ns) >= now;
}

bool faas__hk_alive(faas_runtime_t *rt)
{
	return rt->hk && !atomic_load(&rt->hk->stop);
}

void faas__hk_kick(faas_runtime_t *rt)
{
	struct faas_hk *hk = rt->hk;

	if (!hk)
		return;
	atomic_fetch_add(&hk->wake, 1);
	if (atomic_load(&hk->sleeping))
		faas__futex_wake(&hk->wake, 1);
}

void faas__reap_due(faas_runtime_t *rt)
{
	uint64_t now = faas__clock_mono_ns(&rt->clock);
	uint64_t due = atomic_load(&rt->next_reap_ns);

	/* claim the pass; expiries noted meanwhile lower next_reap_ns again */
	if (now < due || !atomic_compare_exchange_strong(&rt->next_reap_ns, &due, UINT64_MAX))
		return;
	faas__registry_reap(rt, now);
}
