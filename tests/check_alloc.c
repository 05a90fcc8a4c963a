/*
 * libfaas tests — allocation and thread-creation hooks.
 */
#include "tests.h"

#include <signal.h>

START_TEST(alloc_calloc_rejects_overflow)
{
	ck_assert_ptr_null(faas__calloc(SIZE_MAX / 2, 3));
	ck_assert_ptr_null(faas__reallocarray(NULL, SIZE_MAX / 4, 8));
}
END_TEST

START_TEST(alloc_fail_at_nth_then_recovers)
{
	void *a, *b, *c;
	long live = faas__alloc_live();

	faas__alloc_fail_at(2, false);
	a = faas__malloc(8);
	b = faas__malloc(8);
	c = faas__malloc(8);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_null(b);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(faas__alloc_live(), live + 2);
	faas__free(a);
	faas__free(c);
	ck_assert_int_eq(faas__alloc_live(), live);
}
END_TEST

START_TEST(alloc_sticky_failure_fails_everything_after)
{
	char *s;

	faas__alloc_fail_at(1, true);
	ck_assert_ptr_null(faas__malloc(1));
	ck_assert_ptr_null(faas__calloc(1, 1));
	ck_assert_ptr_null(faas__strdup("x"));
	faas__alloc_fail_at(0, false);
	s = faas__strdup("back");
	ck_assert_str_eq(s, "back");
	faas__free(s);
}
END_TEST

/* Small blocks come from malloc + memset, large ones from calloc: both zeroed. */
START_TEST(alloc_calloc_zeroes_small_and_large)
{
	static const size_t sizes[] = { 1, 100, 1024, 1025, 100000 };
	size_t i, j;
	void *p0;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		unsigned char *p = faas__malloc(sizes[i]);
		memset(p, 0xa5, sizes[i]);
		faas__free(p); /* so that the next block may well be this dirty one */
		p = faas__calloc(sizes[i], 1);
		ck_assert_ptr_nonnull(p);
		for (j = 0; j < sizes[i]; j++)
			ck_assert_uint_eq(p[j], 0);
		faas__free(p);
	}
	p0 = faas__calloc(0, 0); /* a block all the same, as before */
	ck_assert_ptr_nonnull(p0);
	faas__free(p0);
}
END_TEST

/* The word lock: four threads, each adding 1 a hundred thousand times to a
 * plain counter under it; a lost update would show in the total. */
struct locked_counter {
	faas_lock_t lock;
	long n;
};

static void *count_under_lock(void *arg)
{
	struct locked_counter *c = arg;
	int i;

	for (i = 0; i < 100000; i++) {
		faas__lock(&c->lock);
		c->n++;
		faas__unlock(&c->lock);
	}
	return NULL;
}

/* Chunks of a slab cache in the list: how many. */
static size_t slab_chunks(const struct faas_bcache *c)
{
	size_t n = 0;
	void *p;

	for (p = c->chunks; p; n++)
		memcpy(&p, p, sizeof(p));
	return n;
}

/* A slab cache: distinct aligned blocks, one chunk per per_chunk of them,
 * every block back after a burst, the chunks given back but for a few, the
 * live count even, a failed allocation NULL. */
START_TEST(bcache_slab_burst_and_trim)
{
	enum { N = 20000 };
	static void *b[N];
	struct faas_bcache c;
	long live = faas__alloc_live();
	size_t i, chunks;

	memset(&c, 0, sizeof(c));
	faas__bcache_slab(&c, 100);
	ck_assert_uint_eq(c.size, 112);
	ck_assert_uint_eq(c.per_chunk, (FAAS_SLAB_CHUNK - 64) / 112);
	for (i = 0; i < N; i++) {
		b[i] = faas__bcache_get(&c, 100);
		ck_assert_ptr_nonnull(b[i]);
		ck_assert_uint_eq((uintptr_t)b[i] % 16, 0);
		memset(b[i], (int)(i & 0xff), 100);
	}
	ck_assert_int_eq(faas__alloc_live(), live + N);
	chunks = slab_chunks(&c);
	ck_assert_uint_eq(chunks, (N + c.per_chunk - 1) / c.per_chunk);
	for (i = 0; i < N; i++) /* nothing overlaps */
		ck_assert_int_eq(((unsigned char *)b[i])[99], (int)(i & 0xff));
	for (i = 0; i < N; i++) /* back in the order they went: chunks free up one by one */
		faas__bcache_put(&c, b[i]);
	ck_assert_int_eq(faas__alloc_live(), live);
	/* trims on the way gave back most chunks; what is free is what is kept */
	ck_assert_uint_lt(slab_chunks(&c), chunks / 4);
	ck_assert_uint_le(c.n, slab_chunks(&c) * c.per_chunk);
	/* taken again: reused, then more chunks as needed */
	for (i = 0; i < 1000; i++)
		ck_assert_ptr_nonnull(b[i] = faas__bcache_get(&c, 100));
	faas__alloc_fail_at(1, false);
	ck_assert_ptr_null(faas__bcache_get(&c, 100));
	for (i = 0; i < 1000; i++)
		faas__bcache_put(&c, b[i]);
	faas__bcache_drain(&c);
	ck_assert_ptr_null(c.chunks);
	ck_assert_int_eq(faas__alloc_live(), live);
}
END_TEST

START_TEST(word_lock_excludes)
{
	struct locked_counter c = { { 0 }, 0 };
	pthread_t t[4];
	int i;

	for (i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, count_under_lock, &c), 0);
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	ck_assert_int_eq(c.n, 400000);
	ck_assert_uint_eq(atomic_load(&c.lock.word), 0); /* free, nobody left marked asleep */
}
END_TEST

static void *probe_thread(void *arg)
{
	int *out = arg;
	sigset_t cur;
	char name[16] = "";

	pthread_sigmask(SIG_SETMASK, NULL, &cur);
	pthread_getname_np(pthread_self(), name, sizeof(name));
	out[0] = sigismember(&cur, SIGINT) && sigismember(&cur, SIGTERM) && sigismember(&cur, SIGUSR1);
	out[1] = strcmp(name, "faas-probe") == 0;
	return NULL;
}

START_TEST(thread_hook_names_and_masks_signals)
{
	int seen[2] = { 0, 0 };
	pthread_t t;

	ck_assert_int_eq(faas__thread_create(&t, "probe", 0, probe_thread, seen), 0);
	pthread_join(t, NULL);
	ck_assert_int_eq(seen[0], 1);
	ck_assert_int_eq(seen[1], 1);
}
END_TEST

START_TEST(thread_hook_fails_on_request)
{
	int seen[2] = { 0, 0 };
	pthread_t t;

	faas__thread_fail_at(1, false);
	ck_assert_int_eq(faas__thread_create(&t, "probe", 0, probe_thread, seen), FAAS_ETHREAD);
	ck_assert_int_eq(seen[0], 0); /* never ran */
	ck_assert_int_eq(faas__thread_create(&t, "probe", 0, probe_thread, seen), 0);
	pthread_join(t, NULL);
	ck_assert_int_eq(seen[1], 1);
}
END_TEST

Suite *alloc_suite(void)
{
	Suite *s = suite_create("alloc");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, alloc_calloc_rejects_overflow);
	tcase_add_test(tc, alloc_fail_at_nth_then_recovers);
	tcase_add_test(tc, alloc_calloc_zeroes_small_and_large);
	tcase_add_test(tc, word_lock_excludes);
	tcase_add_test(tc, bcache_slab_burst_and_trim);
	tcase_add_test(tc, alloc_sticky_failure_fails_everything_after);
	tcase_add_test(tc, thread_hook_names_and_masks_signals);
	tcase_add_test(tc, thread_hook_fails_on_request);
	suite_add_tcase(s, tc);
	return s;
}
