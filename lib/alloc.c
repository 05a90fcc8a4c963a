/*
 * libfaas — allocation wrappers with a test-only failure switch.
 *
 * The switch costs one relaxed atomic load per allocation when disarmed.
 * The live-block counter lets tests prove "leaks nothing" without a
 * sanitizer; it counts blocks, not bytes.
 */
#include "faas_int.h"

#include <stdlib.h>

static struct faas_failpoint alloc_fail;
static _Atomic long live_blocks;
static _Atomic long failures;

void faas__failpoint_arm(struct faas_failpoint *fp, long n, bool sticky)
{
	atomic_store(&fp->sticky, sticky);
	atomic_store(&fp->tripped, false);
	atomic_store(&fp->countdown, n > 0 ? n : 0);
}

bool faas__failpoint_hit(struct faas_failpoint *fp)
{
	if (FAAS_LIKELY(atomic_load_explicit(&fp->countdown, memory_order_relaxed) == 0))
		return FAAS_UNLIKELY(atomic_load_explicit(&fp->tripped, memory_order_relaxed)) &&
		       atomic_load(&fp->sticky);
	if (atomic_fetch_sub(&fp->countdown, 1) == 1) {
		atomic_store(&fp->tripped, true);
		return true;
	}
	return false;
}

void faas__alloc_fail_at(long n, bool sticky)
{
	faas__failpoint_arm(&alloc_fail, n, sticky);
}

long faas__alloc_live(void)
{
	return atomic_load(&live_blocks);
}

long faas__alloc_failures(void)
{
	return atomic_load(&failures);
}

static bool should_fail(void)
{
	if (FAAS_LIKELY(!faas__failpoint_hit(&alloc_fail)))
		return false;
	atomic_fetch_add(&failures, 1);
	return true;
}

void *faas__malloc(size_t size)
{
	void *p;

	if (should_fail())
		return NULL;
	p = malloc(size ? size : 1);
	if (p)
		atomic_fetch_add_explicit(&live_blocks, 1, memory_order_relaxed);
	return p;
}

void *faas__calloc(size_t n, size_t size)
{
	void *p;

	if (size && n > SIZE_MAX / size)
		return NULL;
	if (should_fail())
		return NULL;
	/* small blocks: malloc + memset, which glibc serves from its per-thread
	 * cache (calloc never is); large ones keep calloc's fresh zero pages */
	if (n * size <= 1024) {
		size_t bytes = (n ? n : 1) * (size ? size : 1); /* as calloc(n ? n : 1, …) gave */

		if ((p = malloc(bytes)) != NULL)
			memset(p, 0, bytes);
	} else {
		p = calloc(n, size);
	}
	if (p)
		atomic_fetch_add_explicit(&live_blocks, 1, memory_order_relaxed);
	return p;
}

void *faas__realloc(void *ptr, size_t size)
{
	void *p;

	if (!ptr)
		return faas__malloc(size);
	if (should_fail())
		return NULL;
	p = realloc(ptr, size ? size : 1);
	return p;
}

void *faas__calloc_aligned(size_t size)
{
	void *p;

	if (should_fail())
		return NULL;
	if (posix_memalign(&p, FAAS_CACHELINE, size ? size : 1) != 0)
		return NULL;
	memset(p, 0, size);
	atomic_fetch_add_explicit(&live_blocks, 1, memory_order_relaxed);
	return p;
}

void *faas__reallocarray(void *ptr, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		return NULL;
	return faas__realloc(ptr, n * size);
}

void faas__free(void *ptr)
{
	if (!ptr)
		return;
	atomic_fetch_sub_explicit(&live_blocks, 1, memory_order_relaxed);
	free(ptr);
}

char *faas__strndup(const char *s, size_t len)
{
	char *p = faas__malloc(len + 1);

	if (!p)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *faas__strdup(const char *s)
{
	return faas__strndup(s, strlen(s));
}

void *faas__bcache_get(struct faas_bcache *c, size_t size)
{
	void *p;

	if (should_fail())
		return NULL;
	faas__lock(&c->lock);
	if ((p = c->head) != NULL) {
		memcpy(&c->head, p, sizeof(void *));
		c->n--;
	}
	faas__unlock(&c->lock);
	if (!p && !(p = malloc(size ? size : 1)))
		return NULL;
	atomic_fetch_add_explicit(&live_blocks, 1, memory_order_relaxed);
	return p;
}

void faas__bcache_put(struct faas_bcache *c, void *p)
{
	if (!p)
		return;
	atomic_fetch_sub_explicit(&live_blocks, 1, memory_order_relaxed);
	faas__lock(&c->lock);
	if (c->n < FAAS_BCACHE_MAX) {
		memcpy(p, &c->head, sizeof(void *));
		c->head = p;
		c->n++;
		p = NULL;
	}
	faas__unlock(&c->lock);
	free(p);
}

void faas__bcache_drain(struct faas_bcache *c)
{
	void *p, *next;

	for (p = c->head; p; p = next) {
		memcpy(&next, p, sizeof(void *));
		free(p);
	}
	c->head = NULL;
	c->n = 0;
}
