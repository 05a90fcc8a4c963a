/*
 * libfaas — runtime options, lifecycle and shutdown.
 *
 * Shutdown so far: the state flips to SHUTDOWN and every later call that
 * reads or changes the registry answers FAAS_ESHUTDOWN. The dispatch engine
 * adds draining and thread joins (DESIGN §9.10).
 */
#include "registry.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

static int check_options(const faas_runtime_options_t *o, faas_error_detail_t *d)
{
	size_t i;

	if (o->version != FAAS_RUNTIME_OPTIONS_VERSION)
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
	return 0;
}

static uint64_t random_seed(void)
{
	struct timespec ts;
	uint64_t s;

	clock_gettime(CLOCK_REALTIME, &ts);
	s = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ ((uint64_t)getpid() << 40);
	return faas__splitmix64(&s) | 1;
}

int faas_runtime_new(faas_runtime_t **out, const faas_runtime_options_t *opts,
                     faas_error_detail_t *d)
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
	rt = faas__calloc(1, sizeof(*rt));
	if (!rt)
		return faas__fail(d, FAAS_ENOMEM, NULL);
	atomic_init(&rt->state, FAAS_RT_RUNNING);
	atomic_init(&rt->revision, 0);
	snprintf(rt->region, sizeof(rt->region), "%s", o->region ? o->region : "us-east-1");
	snprintf(rt->account, sizeof(rt->account), "%s", o->account_id ? o->account_id : "123456789012");
	rt->seed = o->seed ? o->seed : random_seed();
	rt->min_timeout_ms = o->min_timeout_ms ? o->min_timeout_ms : 1000;
	faas__clock_init(&rt->clock, o->clock, o->virtual_epoch_ms);
	if (faas__registry_new(rt) != 0) {
		faas__free(rt);
		return faas__fail(d, FAAS_ENOMEM, NULL);
	}
	*out = rt;
	return 0;
}

int faas_runtime_shutdown(faas_runtime_t *rt, uint32_t drain_ms)
{
	int expected = FAAS_RT_RUNNING;

	FAAS_UNUSED(drain_ms);
	if (!rt)
		return FAAS_EINVAL;
	if (!atomic_compare_exchange_strong(&rt->state, &expected, FAAS_RT_SHUTDOWN))
		return FAAS_ESHUTDOWN;
	return 0;
}

void faas_runtime_free(faas_runtime_t *rt)
{
	if (!rt)
		return;
	faas_runtime_shutdown(rt, 0);
	faas__registry_free(rt);
	faas__free(rt);
}

const char *faas_runtime_region(const faas_runtime_t *rt)
{
	return rt ? rt->region : NULL;
}

const char *faas_runtime_account_id(const faas_runtime_t *rt)
{
	return rt ? rt->account : NULL;
}

int faas__rt_check_running(const faas_runtime_t *rt, faas_error_detail_t *d)
{
	if (FAAS_LIKELY(atomic_load_explicit(&rt->state, memory_order_acquire) == FAAS_RT_RUNNING))
		return 0;
	return faas__fail(d, FAAS_ESHUTDOWN, "the runtime is shut down");
}

uint64_t faas__rt_next_revision(faas_runtime_t *rt)
{
	return atomic_fetch_add_explicit(&rt->revision, 1, memory_order_relaxed) + 1;
}
