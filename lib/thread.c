/*
 * libfaas — the thread-creation hook.
 *
 * Every library thread starts here: named "faas-<name>", all signals
 * blocked (the host keeps signal handling to itself), optional stack size.
 */
#include "dispatch.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>

static struct faas_failpoint thread_fail;

void faas__thread_fail_at(long n, bool sticky)
{
	faas__failpoint_arm(&thread_fail, n, sticky);
}

/* Lives on the creator's stack until the new thread has copied it. */
struct start {
	void *(*fn)(void *);
	void *arg;
	char name[16];
	_Atomic uint32_t copied;
};

/* Names itself first, so the thread never runs unnamed. */
static void *trampoline(void *p)
{
	struct start *sp = p;
	void *(*fn)(void *) = sp->fn;
	void *arg = sp->arg;
	char name[16];

	memcpy(name, sp->name, sizeof(name));
	atomic_store(&sp->copied, 1);
	faas__futex_wake(&sp->copied, 1); /* sp is gone after this */
	pthread_setname_np(pthread_self(), name);
	return fn(arg);
}

int faas__thread_create(pthread_t *tid, const char *name, size_t stack_size,
                        void *(*fn)(void *), void *arg)
{
	pthread_attr_t attr;
	sigset_t all, old;
	struct start st;
	int rc;

	if (faas__failpoint_hit(&thread_fail))
		return FAAS_ETHREAD;
	st.fn = fn;
	st.arg = arg;
	snprintf(st.name, sizeof(st.name), "faas-%s", name);
	atomic_init(&st.copied, 0);
	if (pthread_attr_init(&attr) != 0)
		return FAAS_ENOMEM;
	if (stack_size && pthread_attr_setstacksize(&attr, stack_size) != 0) {
		pthread_attr_destroy(&attr);
		return FAAS_EINVAL;
	}
	/* The new thread inherits the creator's mask: block everything around create. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(tid, &attr, trampoline, &st);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (rc != 0)
		return rc == ENOMEM || rc == EAGAIN ? FAAS_ETHREAD : FAAS_EINTERNAL;
	while (!atomic_load(&st.copied))
		faas__futex_wait(&st.copied, 0, 0);
	return 0;
}
