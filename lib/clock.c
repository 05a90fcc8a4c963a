/*
 * libfaas — real and virtual clocks.
 *
 * Lambda-visible time (deadlines, retries, event age, timestamps) comes from
 * the runtime's clock. A virtual clock moves only when the host calls
 * faas_clock_advance(); its wall time is a settable offset from its
 * monotonic time, so both move together.
 */
#include "dispatch.h"

#include <stdio.h>
#include <time.h>

uint64_t faas__real_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int64_t real_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void faas__clock_init(struct faas_clock *c, faas_clock_kind_t kind, int64_t epoch_ms)
{
	c->kind = kind;
	atomic_init(&c->virt_mono_ns, 0);
	atomic_init(&c->virt_wall_offset_ms, epoch_ms ? epoch_ms : real_wall_ms());
}

uint64_t faas__clock_mono_ns(const struct faas_clock *c)
{
	if (c->kind == FAAS_CLOCK_VIRTUAL)
		return atomic_load_explicit(&c->virt_mono_ns, memory_order_acquire);
	return faas__real_mono_ns();
}

int64_t faas__clock_wall_ms(const struct faas_clock *c)
{
	if (c->kind == FAAS_CLOCK_VIRTUAL)
		return atomic_load_explicit(&c->virt_wall_offset_ms, memory_order_acquire) +
		       (int64_t)(faas__clock_mono_ns(c) / 1000000u);
	return real_wall_ms();
}

int faas_clock_advance(faas_runtime_t *rt, uint64_t ms)
{
	if (!rt || rt->clock.kind != FAAS_CLOCK_VIRTUAL)
		return FAAS_EINVAL;
	if (ms > UINT64_MAX / 1000000u)
		return FAAS_EINVAL;
	atomic_fetch_add_explicit(&rt->clock.virt_mono_ns, ms * 1000000u, memory_order_acq_rel);
	/* Whoever waits for a virtual time re-checks the clock. */
	pthread_mutex_lock(&rt->vwait_lock);
	for (struct faas_vwaiter *w = rt->vwaiters; w; w = w->next) {
		atomic_fetch_add_explicit(w->wake, 1, memory_order_release);
		faas__futex_wake(w->wake, 1);
	}
	pthread_mutex_unlock(&rt->vwait_lock);
	/* no housekeeping thread in inline mode: expiries are due here and now */
	if (rt->inline_mode && atomic_load(&rt->state) != FAAS_RT_SHUTDOWN) {
		faas_runtime_t *prev = faas__current_rt;
		faas__current_rt = rt; /* spindown callbacks run as on a runtime thread */
		faas__reap_due(rt);
		faas__current_rt = prev;
		if (prev != rt) { /* never from a handler (an inline one moving the clock) */
			faas__async_run_inline(rt); /* retries and backoffs now due */
			faas__current_rt = rt;
			faas__mappings_step(rt); /* mappings poll when the clock moves */
			faas__current_rt = prev;
			faas__tel_poll(rt); /* batches whose timeout passed */
		}
	}
	return 0;
}

void faas__vwait_add(faas_runtime_t *rt, struct faas_vwaiter *w)
{
	pthread_mutex_lock(&rt->vwait_lock);
	w->prev = NULL;
	w->next = rt->vwaiters;
	if (rt->vwaiters)
		rt->vwaiters->prev = w;
	rt->vwaiters = w;
	pthread_mutex_unlock(&rt->vwait_lock);
}

void faas__vwait_remove(faas_runtime_t *rt, struct faas_vwaiter *w)
{
	pthread_mutex_lock(&rt->vwait_lock);
	if (w->prev)
		w->prev->next = w->next;
	else
		rt->vwaiters = w->next;
	if (w->next)
		w->next->prev = w->prev;
	pthread_mutex_unlock(&rt->vwait_lock);
}

int faas_clock_set_wall(faas_runtime_t *rt, int64_t epoch_ms)
{
	if (!rt || rt->clock.kind != FAAS_CLOCK_VIRTUAL || epoch_ms < 0)
		return FAAS_EINVAL;
	atomic_store_explicit(&rt->clock.virt_wall_offset_ms,
	                      epoch_ms - (int64_t)(faas__clock_mono_ns(&rt->clock) / 1000000u),
	                      memory_order_release);
	return 0;
}

int64_t faas_clock_wall_ms(const faas_runtime_t *rt)
{
	return rt ? faas__clock_wall_ms(&rt->clock) : 0;
}

uint64_t faas_clock_monotonic_ms(const faas_runtime_t *rt)
{
	return rt ? faas__clock_mono_ns(&rt->clock) / 1000000u : 0;
}

static void format_utc_ms(int64_t epoch_ms, const char *zone, char *buf, size_t size)
{
	time_t secs = (time_t)(epoch_ms / 1000);
	struct tm tm;

	gmtime_r(&secs, &tm);
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03d%s", tm.tm_year + 1900, tm.tm_mon + 1,
	         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(epoch_ms % 1000), zone);
}

void faas__format_last_modified(int64_t epoch_ms, char *buf, size_t size)
{
	format_utc_ms(epoch_ms, "+0000", buf, size);
}

void faas__format_iso_ms(int64_t epoch_ms, char *buf, size_t size)
{
	format_utc_ms(epoch_ms, "Z", buf, size);
}
