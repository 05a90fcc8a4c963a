/*
 * libfaas — futex helpers: the only place threads sleep on each other.
 * State is published with C11 atomics; the futex only sleeps and wakes.
 */
#include "dispatch.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

bool faas__futex_wait(_Atomic uint32_t *word, uint32_t expected, uint64_t deadline_ns)
{
	struct timespec ts, *tsp = NULL;
	long rc;

	if (deadline_ns) {
		if (faas__real_mono_ns() >= deadline_ns)
			return false;
		ts.tv_sec = (time_t)(deadline_ns / 1000000000u);
		ts.tv_nsec = (long)(deadline_ns % 1000000000u);
		tsp = &ts;
	}
	/* FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline. */
	rc = syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_BITSET_PRIVATE, expected, tsp, NULL,
	             FUTEX_BITSET_MATCH_ANY);
	return !(rc == -1 && errno == ETIMEDOUT);
}

void faas__futex_wake(_Atomic uint32_t *word, int n)
{
	syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

/* Set at runtime creation (no getenv here, racing a host's setenv). */
static _Atomic bool lock_spin;

void faas__lock_spin_set(bool spin)
{
	atomic_store_explicit(&lock_spin, spin, memory_order_relaxed);
}

void faas__lock_contended(faas_lock_t *l)
{
	bool spin = atomic_load_explicit(&lock_spin, memory_order_relaxed);
	int i;

	/* the holder is running on another CPU: its section is short */
	for (i = 0; spin && i < 100; i++) {
		uint32_t free_word = 0;

		faas__cpu_relax();
		if (atomic_load_explicit(&l->word, memory_order_relaxed) == 0 &&
		    atomic_compare_exchange_weak_explicit(&l->word, &free_word, 1, memory_order_acquire,
		                                          memory_order_relaxed))
			return;
	}
	/* Mark it contended; whoever releases it then wakes one sleeper. Taken
	 * this way the word stays 2 even if nobody else sleeps: one spare wake. */
	while (atomic_exchange_explicit(&l->word, 2, memory_order_acquire) != 0)
		faas__futex_wait(&l->word, 2, 0);
}

void faas__unlock_wake(faas_lock_t *l)
{
	faas__futex_wake(&l->word, 1);
}

bool faas__spin_useful(void)
{
	const char *preload = getenv("LD_PRELOAD");
	cpu_set_t set;

#if defined(__SANITIZE_THREAD__)
	return false;
#endif
	if (preload && (strstr(preload, "vgpreload") || strstr(preload, "valgrind")))
		return false;
	return sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 1;
}

bool faas__spin_tick(uint64_t end, uint32_t budget_ns)
{
	uint64_t now = faas__real_mono_ns();

	if (now >= end)
		return true;
	if (end - now < budget_ns - budget_ns / 10)
		sched_yield();
	return false;
}

void faas__sleep_ms(uint32_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}
