/*
 * libfaas — the thread-creation hook.
 *
 * Every library thread starts here: named "faas-<name>", all signals
 * blocked (the host keeps signal handling to itself), optional stack size.
 */
#include "faas_int.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>

static struct faas_failpoint thread_fail;

void faas__thread_fail_at(long n, bool sticky)
{
	faas__failpoint_arm(&thread_fail, n, sticky);
}

struct start {
	void *(*fn)(void *);
	void *arg;
	char name[16];
};

/* Names itself first, so the thread never runs unnamed. */
static void *trampoline(void *p)
{
	struct start st = *(struct start *)p;

	faas__free(p);
	pthread_setname_np(pthread_self(), st.name);
	return st.fn(st.arg);
}

int faas__thread_create(pthread_t *tid, const char *name, size_t stack_size,
                        void *(*fn)(void *), void *arg)
{
	pthread_attr_t attr;
	sigset_t all, old;
	struct start *st;
	int rc;

	if (faas__failpoint_hit(&thread_fail))
		return FAAS_ETHREAD;
	if (!(st = faas__malloc(sizeof(*st))))
		return FAAS_ENOMEM;
	st->fn = fn;
	st->arg = arg;
	snprintf(st->name, sizeof(st->name), "faas-%s", name);
	if (pthread_attr_init(&attr) != 0) {
		faas__free(st);
		return FAAS_ENOMEM;
	}
	if (stack_size && pthread_attr_setstacksize(&attr, stack_size) != 0) {
		pthread_attr_destroy(&attr);
		faas__free(st);
		return FAAS_EINVAL;
	}
	/* The new thread inherits the creator's mask: block everything around create. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(tid, &attr, trampoline, st);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		faas__free(st);
		return rc == ENOMEM || rc == EAGAIN ? FAAS_ETHREAD : FAAS_EINTERNAL;
	}
	return 0;
}
