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

/* A slab chunk: this header, then per_chunk blocks of size bytes. */
struct slab_chunk {
	void *next;     /* the cache's chunk list */
	uint32_t nfree; /* trim's count */
};

#define SLAB_HEAD 64u /* the header, rounded up to a cache line */
#define SLAB_TRIM_MIN 4096u

static struct slab_chunk *chunk_of(const void *block)
{
	return (struct slab_chunk *)((uintptr_t)block & ~(uintptr_t)(FAAS_SLAB_CHUNK - 1));
}

void faas__bcache_slab(struct faas_bcache *c, size_t size)
{
	c->size = (size + 15) & ~(size_t)15;
	c->per_chunk = (uint32_t)((FAAS_SLAB_CHUNK - SLAB_HEAD) / c->size);
	c->trim_at = SLAB_TRIM_MIN;
}

/* A new chunk: its first block for the caller, the others on the free list. */
static void *slab_refill(struct faas_bcache *c)
{
	char *chunk = aligned_alloc(FAAS_SLAB_CHUNK, FAAS_SLAB_CHUNK), *b;
	void *first = NULL, *last = NULL;
	uint32_t i;

	if (!chunk)
		return NULL;
	for (i = c->per_chunk; i-- > 1;) { /* block 1 ends up first on the list */
		b = chunk + SLAB_HEAD + (size_t)i * c->size;
		memcpy(b, &first, sizeof(void *));
		first = b;
		if (!last)
			last = b;
	}
	faas__lock(&c->lock);
	((struct slab_chunk *)(void *)chunk)->next = c->chunks;
	c->chunks = chunk;
	if (last) {
		memcpy(last, &c->head, sizeof(void *));
		c->head = first;
		c->n += c->per_chunk - 1;
	}
	faas__unlock(&c->lock);
	return chunk + SLAB_HEAD;
}

/* Give back the chunks whose blocks are all free, keeping FAAS_BCACHE_MAX
 * free blocks; the next trim waits for twice what stays. O(free blocks +
 * chunks) under the lock, amortised over the puts that led here. */
static void slab_trim(struct faas_bcache *c)
{
	struct slab_chunk *ch, *gone = NULL;
	void **link, *b, *next;
	uint32_t n;

	faas__lock(&c->lock);
	for (ch = c->chunks; ch; ch = ch->next)
		ch->nfree = 0;
	for (b = c->head; b; b = next) {
		memcpy(&next, b, sizeof(void *));
		chunk_of(b)->nfree++;
	}
	/* a chunk to go is marked by nfree = UINT32_MAX, then unlinked */
	n = c->n;
	for (ch = c->chunks; ch; ch = ch->next)
		if (ch->nfree == c->per_chunk && n >= c->per_chunk + FAAS_BCACHE_MAX) {
			ch->nfree = UINT32_MAX;
			n -= c->per_chunk;
		}
	if (n != c->n) {
		for (link = &c->head; *link;) { /* the free list without their blocks */
			memcpy(&next, *link, sizeof(void *));
			if (chunk_of(*link)->nfree == UINT32_MAX)
				*link = next;
			else
				link = (void **)*link;
		}
		for (link = &c->chunks; *link;) {
			ch = *link;
			if (ch->nfree == UINT32_MAX) {
				*link = ch->next;
				ch->next = gone;
				gone = ch;
			} else {
				link = &ch->next;
			}
		}
		c->n = n;
	}
	c->trim_at = n * 2 > SLAB_TRIM_MIN ? n * 2 : SLAB_TRIM_MIN;
	faas__unlock(&c->lock);
	for (; gone; gone = ch) {
		ch = gone->next;
		free(gone);
	}
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
	if (!p && !(p = c->per_chunk ? slab_refill(c) : malloc(size ? size : 1)))
		return NULL;
	atomic_fetch_add_explicit(&live_blocks, 1, memory_order_relaxed);
	return p;
}

void faas__bcache_put(struct faas_bcache *c, void *p)
{
	bool trim = false;

	if (!p)
		return;
	atomic_fetch_sub_explicit(&live_blocks, 1, memory_order_relaxed);
	faas__lock(&c->lock);
	if (c->per_chunk || c->n < FAAS_BCACHE_MAX) {
		memcpy(p, &c->head, sizeof(void *));
		c->head = p;
		c->n++;
		trim = c->per_chunk && c->n >= c->trim_at;
		p = NULL;
	}
	faas__unlock(&c->lock);
	free(p);
	if (FAAS_UNLIKELY(trim))
		slab_trim(c);
}

void faas__bcache_drain(struct faas_bcache *c)
{
	void *p, *next;

	if (c->per_chunk) { /* the blocks live in the chunks */
		for (p = c->chunks; p; p = next) {
			next = ((struct slab_chunk *)p)->next;
			free(p);
		}
		c->chunks = NULL;
	} else {
		for (p = c->head; p; p = next) {
			memcpy(&next, p, sizeof(void *));
			free(p);
		}
	}
	c->head = NULL;
	c->n = 0;
}
