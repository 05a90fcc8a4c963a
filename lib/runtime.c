/*
 * libfaas — runtime options, lifecycle and shutdown (DESIGN §9.10).
 *
 * Shutdown: (1) DRAINING: outside callers get FAAS_ESHUTDOWN, runtime
 * threads may still call in; (2) wait for in-flight work up to drain_ms of
 * real time; (3) SHUTDOWN: nobody calls in; idle workers stop, busy ones
 * after their invocation; (4) environments still waiting for external
 * extensions, then warm ones, get SHUTDOWN (spindown); (5) telemetry
 * buffers are delivered and subscriptions end; (6) the telemetry and
 * housekeeping threads are joined; (7) external extension threads deliver
 * what is queued and exit, waited for up to extension_shutdown_ms (real
 * time), else abandoned. Async events: dispatched while (2) drains, the
 * rest end with condition Shutdown at (3).
 * Handlers that never return are not joined: their worker threads hold a
 * core reference and the last one frees the runtime's memory.
 */
#include "dispatch.h"

#include <limits.h>
#include <sched.h>

#include <stdio.h>
#include <time.h>
#include <unistd.h>

static int check_options(const faas_runtime_options_t *o, faas_error_detail_t *d)
{
	size_t i;

	if (o->version != FAAS_RUNTIME_OPTIONS_VERSION && o->version != 1 && o->version != 2)
		return faas__fail(d, FAAS_EINVAL, "unsupported faas_runtime_options_t version %u",
		                  o->version);
	if (o->region) {
		size_t len = strlen(o->region);
		if (len == 0 || len > FAAS_REGION_MAX)
			return faas__fail(d, FAAS_EINVAL, "region must be 1 to %d characters",
			                  FAAS_REGION_MAX);
		for (i = 0; i < len; i++) {
			char c = o->region[i];
			if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
				return faas__fail(d, FAAS_EINVAL, "region '%s' is not a valid region name",
				                  o->region);
		}
	}
	if (o->account_id) {
		if (strlen(o->account_id) != FAAS_ACCOUNT_LEN)
			return faas__fail(d, FAAS_EINVAL, "account_id must be 12 digits");
		for (i = 0; i < FAAS_ACCOUNT_LEN; i++)
			if (o->account_id[i] < '0' || o->account_id[i] > '9')
				return faas__fail(d, FAAS_EINVAL, "account_id must be 12 digits");
	}
	if (o->clock != FAAS_CLOCK_REAL && o->clock != FAAS_CLOCK_VIRTUAL)
		return faas__fail(d, FAAS_EINVAL, "unknown clock kind %d", (int)o->clock);
	if (o->virtual_epoch_ms < 0)
		return faas__fail(d, FAAS_EINVAL, "virtual_epoch_ms must not be negative");
	if (o->min_timeout_ms > FAAS_TIMEOUT_MAX_MS)
		return faas__fail(d, FAAS_EINVAL, "min_timeout_ms must be at most %u",
		                  FAAS_TIMEOUT_MAX_MS);
	if (o->worker_stack_size && o->worker_stack_size < (size_t)PTHREAD_STACK_MIN)
		return faas__fail(d, FAAS_EINVAL, "worker_stack_size must be 0 or at least %zu",
		                  (size_t)PTHREAD_STACK_MIN);
	if (o->log_fd < -1)
		return faas__fail(d, FAAS_EINVAL, "log_fd must be a file descriptor or -1");
	if (o->max_concurrency > 1000000)
		return faas__fail(d, FAAS_EINVAL, "max_concurrency must be at most 1000000");
	if (o->version >= 3 && o->async_store) {
		const faas_async_store_ops_t *so = o->async_store;
		if (so->version != FAAS_ASYNC_STORE_OPS_VERSION || !so->put || !so->take || !so->done ||
		    !so->again)
			return faas__fail(d, FAAS_EINVAL, "async_store needs version %d ops with put, take, "
			                  "done and again", FAAS_ASYNC_STORE_OPS_VERSION);
		if (o->inline_mode)
			return faas__fail(d, FAAS_EINVAL, "an async_store needs threads: not in inline mode");
	}
	return 0;
}

static uint32_t default_max(void)
{
	cpu_set_t set;
	int cpus = 1;

	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		cpus = CPU_COUNT(&set);
	return cpus * 4 < 8 ? 8 : (uint32_t)cpus * 4;
}

/* Sizes of the concurrency model, after defaults. */
static int size_runtime(faas_runtime_t *rt, const faas_runtime_options_t *o, faas_error_detail_t *d)
{
	struct faas_workers *wp = rt->workers;
	uint32_t max = o->max_concurrency ? o->max_concurrency : default_max();
	uint32_t umin = o->unreserved_min ? o->unreserved_min : (max / 10 ? max / 10 : 1);

	if (umin > max)
		return faas__fail(d, FAAS_EINVAL, "unreserved_min (%u) exceeds max_concurrency (%u)", umin,
		                  max);
	if (o->min_workers > max)
		return faas__fail(d, FAAS_EINVAL, "min_workers (%u) exceeds max_concurrency (%u)",
		                  o->min_workers, max);
	wp->max = max;
	wp->min = o->inline_mode ? 0 : o->min_workers;
	wp->idle_ms = o->worker_idle_ms ? o->worker_idle_ms : 10000;
	wp->stack_size = o->worker_stack_size;
	wp->spin = !o->inline_mode && faas__spin_useful();
	if (!o->inline_mode)
		faas__lock_spin_set(wp->spin); /* the word locks' too: same machine, same verdict */
	wp->spin_ns = 20000; /* a few sleeping hand-offs' worth: short work never sleeps */
	return faas__conc_init(rt->conc, max, umin) == 0 ? 0 : faas__fail(d, FAAS_ENOMEM, NULL);
}

/* Memory of the runtime core: freed by the last core reference. */
void faas__rt_core_free(faas_runtime_t *rt)
{
	faas__async_free(rt);
	faas__registry_free(rt); /* still here if handlers outlived faas_runtime_free */
	faas__mappings_free(rt); /* before the queues their sources hold */
	faas__queues_free(rt);
	faas__streams_free(rt);
	pthread_mutex_destroy(&rt->queue_lock);
	faas__hk_free(rt);
	faas__tel_free(rt);
	faas__ext_set_unref(rt->exts);
	pthread_mutex_destroy(&rt->ext_lock);
	pthread_mutex_destroy(&rt->post_lock);
	if (rt->conc) {
		faas__conc_destroy(rt->conc);
		faas__free(rt->conc);
	}
	if (rt->workers) {
		faas__workers_destroy(rt->workers);
		faas__free(rt->workers);
	}
	pthread_mutex_destroy(&rt->vwait_lock);
	faas__bcache_drain(&rt->inv_cache); /* last: everything above may have put blocks */
	faas__bcache_drain(&rt->aev_cache);
	faas__free(rt);
}

void faas__rt_core_unref(faas_runtime_t *rt)
{
	if (atomic_fetch_sub_explicit(&rt->core_refs, 1, memory_order_acq_rel) == 1)
		faas__rt_core_free(rt);
}

static uint64_t random_seed(void)
{
	struct timespec ts;
	uint64_t s;

	clock_gettime(CLOCK_REALTIME, &ts);
	s = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ ((uint64_t)getpid() << 40);
	return faas__splitmix64(&s) | 1;
}

static int runtime_new(faas_runtime_t **out, const faas_runtime_options_t *opts,
                       faas_error_detail_t *d, bool *store_taken);

int faas_runtime_new(faas_runtime_t **out, const faas_runtime_options_t *opts,
                     faas_error_detail_t *d)
{
	bool taken = false;
	int rc = runtime_new(out, opts, d, &taken);

	/* the store is the runtime's from the start: closed here unless the
	 * runtime's async part took it (then freeing the runtime closed it) */
	if (rc != 0 && !taken && opts && opts->version >= 3 && opts->async_store &&
	    opts->async_store->close)
		opts->async_store->close(opts->async_store_user_data);
	return rc;
}

static int runtime_new(faas_runtime_t **out, const faas_runtime_options_t *opts,
                       faas_error_detail_t *d, bool *store_taken)
{
	faas_runtime_options_t defaults = FAAS_RUNTIME_OPTIONS_INIT;
	const faas_runtime_options_t *o = opts ? opts : &defaults;
	faas_runtime_t *rt;
	int rc;

	faas__detail_reset(d);
	if (!out)
		return faas__fail(d, FAAS_EINVAL, "out must not be NULL");
	*out = NULL;
	if ((rc = check_options(o, d)) != 0)
		return rc;
	if (o->version < FAAS_RUNTIME_OPTIONS_VERSION) { /* an older, shorter struct */
		memcpy(&defaults, o,
		       o->version == 1 ? offsetof(faas_runtime_options_t, extension_shutdown_ms)
		                       : offsetof(faas_runtime_options_t, async_store));
		defaults.version = FAAS_RUNTIME_OPTIONS_VERSION;
		o = &defaults;
	}
	rt = faas__calloc(1, sizeof(*rt));
	if (!rt)
		return faas__fail(d, FAAS_ENOMEM, NULL);
	pthread_mutex_init(&rt->vwait_lock, NULL);
	pthread_mutex_init(&rt->ext_lock, NULL);
	pthread_mutex_init(&rt->queue_lock, NULL);
	rt->max_extensions = o->max_extensions ? o->max_extensions : 10;
	rt->ext_shutdown_ms = o->extension_shutdown_ms ? o->extension_shutdown_ms : 2000;
	pthread_mutex_init(&rt->post_lock, NULL);
	atomic_init(&rt->core_refs, 1);
	rt->conc = faas__calloc_aligned(sizeof(*rt->conc));
	rt->workers = faas__calloc(1, sizeof(*rt->workers));
	rt->tel = faas__tel_new();
	if (!rt->conc || !rt->workers || !rt->tel) {
		faas__free(rt->conc); /* nothing initialised inside yet */
		faas__free(rt->workers);
		rt->conc = NULL;
		rt->workers = NULL;
		faas__rt_core_free(rt);
		return faas__fail(d, FAAS_ENOMEM, NULL);
	}
	if ((rc = size_runtime(rt, o, d)) != 0) {
		faas__free(rt->conc);
		rt->conc = NULL;
		faas__free(rt->workers);
		rt->workers = NULL;
		faas__rt_core_free(rt);
		return rc;
	}
	if (faas__workers_init(rt) != 0) {
		faas__free(rt->workers);
		rt->workers = NULL;
		faas__rt_core_free(rt);
		return faas__fail(d, FAAS_ENOMEM, NULL);
	}
	rt->inline_mode = o->inline_mode != 0;
	rt->legacy_handled = o->legacy_handled_errors != 0;
	rt->enforce_json_limits = o->enforce_json_limits != 0;
	rt->max_request_bytes = o->max_request_bytes ? o->max_request_bytes : FAAS_SYNC_REQUEST_MAX;
	rt->max_response_bytes = o->max_response_bytes ? o->max_response_bytes : FAAS_SYNC_RESPONSE_MAX;
	rt->keep_alive_ns = (uint64_t)(o->keep_alive_ms ? o->keep_alive_ms : 300000) * 1000000u;
	rt->init_timeout_ms = o->init_timeout_ms ? o->init_timeout_ms : 10000;
	atomic_init(&rt->next_reap_ns, UINT64_MAX);
	rt->log_fn = o->log_fn;
	rt->log_user_data = o->log_user_data;
	rt->log_fd = o->log_fd;
	atomic_init(&rt->state, FAAS_RT_RUNNING);
	atomic_init(&rt->revision, 0);
	snprintf(rt->region, sizeof(rt->region), "%s", o->region ? o->region : "us-east-1");
	snprintf(rt->account, sizeof(rt->account), "%s", o->account_id ? o->account_id : "123456789012");
	rt->seed = o->seed ? o->seed : random_seed();
	rt->min_timeout_ms = o->min_timeout_ms ? o->min_timeout_ms : 1000;
	rt->delay_scale = o->async_delay_scale > 0 ? o->async_delay_scale : 1.0;
	faas__clock_init(&rt->clock, o->clock, o->virtual_epoch_ms);
	if (faas__registry_new(rt) != 0) {
		faas__rt_core_free(rt);
		return faas__fail(d, FAAS_ENOMEM, NULL);
	}
	if ((rc = faas__async_init(rt, o, d, store_taken)) != 0 || (rc = faas__mappings_init(rt)) != 0) {
		faas__registry_free(rt);
		faas__rt_core_unref(rt);
		return rc == FAAS_ENOMEM ? faas__fail(d, rc, NULL) : rc;
	}
	if ((rc = faas__hk_start(rt)) != 0) {
		faas__registry_free(rt);
		faas__rt_core_unref(rt);
		return faas__fail(d, rc, rc == FAAS_ETHREAD ? "could not start the housekeeping thread"
		                                              : NULL);
	}
	if ((rc = faas__workers_start_min(rt)) != 0) {
		faas__workers_stop(rt, 1000);
		faas__hk_stop(rt);
		faas__registry_free(rt);
		faas__rt_core_unref(rt);
		return faas__fail(d, rc, rc == FAAS_ETHREAD ? "could not start a worker thread" : NULL);
	}
	if ((rc = faas__astore_start(rt)) != 0) {
		faas_runtime_free(rt); /* a runtime in full: freeing it closes the store */
		return faas__fail(d, rc, "could not start the async store thread");
	}
	*out = rt;
	return 0;
}

int faas_runtime_shutdown(faas_runtime_t *rt, uint32_t drain_ms)
{
	int expected = FAAS_RT_RUNNING;
	uint64_t deadline;
	uint32_t running;
	long abandoned;

	if (!rt)
		return FAAS_EINVAL;
	if (faas__current_rt == rt)
		return FAAS_EDEADLK;
	if (!atomic_compare_exchange_strong(&rt->state, &expected, FAAS_RT_DRAINING))
		return FAAS_ESHUTDOWN;
	faas__conc_close(rt);
	faas__mappings_stop(rt); /* step 2: no more polling, gathered records go back */
	faas__astore_stop(rt);   /* nor taking stored events: those waiting go back */
	deadline = faas__real_mono_ns() + (uint64_t)drain_ms * 1000000u;
	/* queued events keep being dispatched while we drain (DESIGN 9.10) */
	while ((faas__conc_in_use(rt) > 0 || faas__async_pending(rt)) &&
	       faas__real_mono_ns() < deadline) {
		if (rt->inline_mode)
			faas__async_run_inline(rt); /* nobody else runs them */
		faas__sleep_ms(1);
	}
	atomic_store(&rt->state, FAAS_RT_SHUTDOWN);
	faas__async_close(rt); /* the rest: failure destination or undelivered, "Shutdown" */
	faas__workers_stop(rt, 1000);
	faas__astore_join(rt); /* what ran meanwhile was held; now the rest is settled */
	faas__ext_posts_close(rt); /* environments still waiting for extensions go too */
	faas__registry_spindown(rt);
	faas__tel_stop(rt); /* last batches before the threads are joined (step 6) */
	faas__hk_stop(rt);
	abandoned = faas__ext_threads_stop(rt); /* they deliver the SHUTDOWN events first */
	running = faas__conc_in_use(rt);
	return running || abandoned ? FAAS_ETIMEDOUT : 0;
}

void faas_runtime_free(faas_runtime_t *rt)
{
	uint64_t deadline;

	if (!rt || faas__current_rt == rt)
		return;
	if (atomic_load(&rt->state) == FAAS_RT_RUNNING)
		faas_runtime_shutdown(rt, 0);
	atomic_store(&rt->freed, true); /* log sinks are off from now on: */
	while (atomic_load(&rt->sink_users) > 0) /* sinks must not block: this is short */
		sched_yield();
	/* Workers that have exited may still be dropping their core reference:
	 * wait for them (briefly) so that only running handlers hold one. */
	deadline = faas__real_mono_ns() + 1000000000u;
	while (atomic_load(&rt->core_refs) >
	               1 + (long)faas__workers_count(rt) + atomic_load(&rt->ext_threads) &&
	       faas__real_mono_ns() < deadline)
		sched_yield();
	/* With no worker left no handler can be inside a registry call: free it
	 * now, running user_data_free here. Otherwise the last worker frees it
	 * with the core. */
	if (atomic_load(&rt->core_refs) == 1)
		faas__registry_free(rt);
	faas__rt_core_unref(rt);
}

const char *faas_runtime_region(const faas_runtime_t *rt)
{
	return rt ? rt->region : NULL;
}

const char *faas_runtime_account_id(const faas_runtime_t *rt)
{
	return rt ? rt->account : NULL;
}

int faas__api_begin(faas_runtime_t *rt, faas_error_detail_t *d)
{
	faas__detail_reset(d);
	if (!rt)
		return faas__fail(d, FAAS_EINVAL, "runtime must not be NULL");
	return faas__rt_check_running(rt, d);
}

int faas__rt_check_running(const faas_runtime_t *rt, faas_error_detail_t *d)
{
	int st = atomic_load_explicit(&rt->state, memory_order_acquire);

	if (FAAS_LIKELY(st == FAAS_RT_RUNNING) || (st == FAAS_RT_DRAINING && faas__current_rt == rt))
		return 0;
	return faas__fail(d, FAAS_ESHUTDOWN, "the runtime is shut down");
}

uint64_t faas__rt_next_revision(faas_runtime_t *rt)
{
	return atomic_fetch_add_explicit(&rt->revision, 1, memory_order_relaxed) + 1;
}

int faas_test_quiesce(faas_runtime_t *rt, uint32_t real_ms)
{
	uint64_t deadline;

	if (!rt)
		return FAAS_EINVAL;
	deadline = faas__real_mono_ns() + (uint64_t)real_ms * 1000000u;
	if (rt->inline_mode && atomic_load(&rt->pc_work)) /* no housekeeping thread to do it */
		faas__pc_work(rt);
	if (rt->inline_mode) {
		faas_runtime_t *prev = faas__current_rt;
		faas__async_run_inline(rt);
		faas__current_rt = rt;
		faas__mappings_step(rt);
		faas__current_rt = prev;
	}
	while (faas__mappings_busy(rt) || faas__conc_in_use(rt) > 0 || faas__hk_pending(rt) > 0 || faas__pc_busy(rt) ||
	       faas__async_busy(rt) || atomic_load(&rt->ext_backlog) > 0 ||
	       atomic_load(&rt->ext_stopping) > 0 ||
	       (rt->clock.kind == FAAS_CLOCK_VIRTUAL &&
	        !faas__hk_caught_up(rt, faas__clock_mono_ns(&rt->clock))) ||
	       !faas__tel_settle(rt)) {
		if (faas__real_mono_ns() >= deadline)
			return FAAS_ETIMEDOUT;
		faas__sleep_ms(1);
	}
	return 0;
}
