/*
 * libfaas tests — concurrency tokens: the account limit, reserved
 * concurrency, Lambda's throttle reasons and carve-out rule, changes under
 * load. Handlers are held at a latch until the expected in-flight count is
 * reached; nothing sleeps.
 */
#include "tests.h"

static faas_runtime_t *limited(uint32_t max, uint32_t umin)
{
	faas_runtime_options_t o = t_options();

	o.max_concurrency = max;
	o.unreserved_min = umin;
	return t_runtime_with(&o);
}

static void expect_throttle(faas_runtime_t *rt, const char *ident, const char *reason)
{
	faas_result_t r = FAAS_RESULT_INIT;

	ck_assert_int_eq(faas_invoke(rt, ident, NULL, NULL, &r), FAAS_ETHROTTLED);
	ck_assert_int_eq(r.status_code, 429);
	ck_assert_str_eq(r.error_type, "TooManyRequestsException");
	ck_assert_str_eq(r.throttle_reason, reason);
	ck_assert_str_eq(r.message, "Rate Exceeded.");
	ck_assert_ptr_null(r.payload);
	ck_assert_str_eq(r.request_id, ""); /* throttles are not invocations */
	faas_result_clear(&r);
}

static void expect_ok(faas_runtime_t *rt, const char *ident)
{
	faas_result_t r = FAAS_RESULT_INIT;

	ck_assert_int_eq(faas_invoke(rt, ident, NULL, NULL, &r), 0);
	faas_result_clear(&r);
}

START_TEST(throttle_account_limit)
{
	faas_runtime_t *rt = limited(2, 1);
	struct bg_invoke bg[2];
	struct latch l;
	int i;

	latch_init(&l);
	t_create_fn(rt, "held", t_latch_handler, &l);
	t_create(rt, "other");
	for (i = 0; i < 2; i++)
		bg_start(&bg[i], rt, "held");
	latch_wait_entered(&l, 2);
	ck_assert_uint_eq(faas_runtime_concurrent_executions(rt), 2);
	expect_throttle(rt, "other", "ConcurrentInvocationLimitExceeded");
	expect_throttle(rt, "held", "ConcurrentInvocationLimitExceeded");
	latch_open(&l);
	for (i = 0; i < 2; i++) {
		bg_join(&bg[i]);
		ck_assert_int_eq(bg[i].rc, 0);
		ck_assert(json_is_true(json_object_get(bg[i].result.payload, "latched")));
		faas_result_clear(&bg[i].result);
	}
	ck_assert_uint_eq(faas_runtime_concurrent_executions(rt), 0);
	expect_ok(rt, "other");
	faas_runtime_free(rt);
	latch_destroy(&l);
}
END_TEST

START_TEST(throttle_reserved_limit_and_guarantee)
{
	faas_runtime_t *rt = limited(4, 1);
	faas_error_detail_t d;
	struct bg_invoke bg[4];
	struct latch l, lo;
	int i;

	latch_init(&l);
	latch_init(&lo);
	t_create_fn(rt, "capped", t_latch_handler, &l);
	t_create_fn(rt, "others", t_latch_handler, &lo);
	t_create(rt, "quick");
	ck_assert_ok(faas_function_set_reserved_concurrency(rt, "capped", 1, &d), d);
	/* the unreserved pool has the other 3 tokens: fill it */
	for (i = 0; i < 3; i++)
		bg_start(&bg[i], rt, "others");
	latch_wait_entered(&lo, 3);
	expect_throttle(rt, "quick", "ConcurrentInvocationLimitExceeded");
	/* ... and the reservation is still there: a guarantee */
	bg_start(&bg[3], rt, "capped");
	latch_wait_entered(&l, 1);
	ck_assert_uint_eq(faas_runtime_concurrent_executions(rt), 4);
	/* ... and a cap */
	expect_throttle(rt, "capped", "ReservedFunctionConcurrentInvocationLimitExceeded");
	latch_open(&l);
	latch_open(&lo);
	for (i = 0; i < 4; i++) {
		bg_join(&bg[i]);
		ck_assert_int_eq(bg[i].rc, 0);
		faas_result_clear(&bg[i].result);
	}
	ck_assert_uint_eq(faas_runtime_concurrent_executions(rt), 0);
	expect_ok(rt, "capped");
	expect_ok(rt, "quick");
	faas_runtime_free(rt);
	latch_destroy(&l);
	latch_destroy(&lo);
}
END_TEST

START_TEST(throttle_reservation_rules)
{
	faas_runtime_t *rt = limited(10, 2);
	faas_error_detail_t d;

	t_create(rt, "a");
	t_create(rt, "b");
	/* 0 throttles everything */
	ck_assert_ok(faas_function_set_reserved_concurrency(rt, "a", 0, &d), d);
	expect_throttle(rt, "a", "ReservedFunctionConcurrentInvocationLimitExceeded");
	expect_ok(rt, "b");
	/* -1 removes the reservation */
	ck_assert_ok(faas_function_set_reserved_concurrency(rt, "a", -1, &d), d);
	expect_ok(rt, "a");
	ck_assert_ok(faas_function_set_reserved_concurrency(rt, "a", -1, &d), d); /* idempotent */
	/* carve-out: 10 - unreserved_min 2 = 8 can be reserved in all */
	ck_assert_ok(faas_function_set_reserved_concurrency(rt, "a", 5, &d), d);
	ck_assert_fail(faas_function_set_reserved_concurrency(rt, "b", 4, &d), d, FAAS_EINVAL,
	               "Specified ReservedConcurrentExecutions for function decreases account's "
	               "UnreservedConcurrentExecution below its minimum value of [2].");
	ck_assert_ok(faas_function_set_reserved_concurrency(rt, "b", 3, &d), d);
	/* changing a reservation counts only the difference */
	ck_assert_ok(faas_function_set_reserved_concurrency(rt, "a", 5, &d), d);
	ck_assert_fail(faas_function_set_reserved_concurrency(rt, "a", 6, &d), d, FAAS_EINVAL,
	               "minimum value of [2]");
	ck_assert_ok(faas_function_set_reserved_concurrency(rt, "a", 2, &d), d);
	ck_assert_ok(faas_function_set_reserved_concurrency(rt, "b", 6, &d), d);
	ck_assert_fail(faas_function_set_reserved_concurrency(rt, "nobody", 1, &d), d, FAAS_ENOTFOUND,
	               "Function not found: arn:aws:lambda:us-east-1:123456789012:function:nobody");
	ck_assert_fail(faas_function_set_reserved_concurrency(rt, "a", -2, &d), d, FAAS_EINVAL,
	               "Value '-2' at 'reservedConcurrentExecutions'");
	ck_assert_fail(faas_function_set_reserved_concurrency(rt, "a:1", 1, &d), d, FAAS_EINVAL,
	               "Member must not include a qualifier");
	ck_assert_fail(faas_function_set_reserved_concurrency(NULL, "a", 1, &d), d, FAAS_EINVAL,
	               "runtime");
	/* what is reserved, as GetFunctionConcurrency reads it */
	{
		int32_t got = 99;
		ck_assert_ok(faas_function_get_reserved_concurrency(rt, "a", &got, &d), d);
		ck_assert_int_eq(got, 2);
		ck_assert_ok(faas_function_set_reserved_concurrency(rt, "a", -1, &d), d);
		ck_assert_ok(faas_function_get_reserved_concurrency(rt, "a", &got, &d), d);
		ck_assert_int_eq(got, -1);
		ck_assert_ok(faas_function_set_reserved_concurrency(rt, "a", 2, &d), d);
		ck_assert_fail(faas_function_get_reserved_concurrency(rt, "nobody", &got, &d), d,
		               FAAS_ENOTFOUND, "Function not found");
		ck_assert_fail(faas_function_get_reserved_concurrency(rt, "a", NULL, &d), d, FAAS_EINVAL,
		               "out");
		ck_assert_fail(faas_function_get_reserved_concurrency(rt, "a:1", &got, &d), d,
		               FAAS_EINVAL, "qualifier");
	}
	ck_assert_uint_eq(faas_runtime_concurrency_limit(rt), 10);
	ck_assert_uint_eq(faas_runtime_concurrency_limit(NULL), 0);
	/* deleting a function gives its reservation back */
	ck_assert_ok(faas_function_delete(rt, "b", NULL, &d), d);
	ck_assert_ok(faas_function_set_reserved_concurrency(rt, "a", 8, &d), d);
	ck_assert_uint_eq(faas_runtime_concurrent_executions(rt), 0);
	faas_runtime_free(rt);
}
END_TEST

START_TEST(throttle_changes_under_load)
{
	faas_runtime_t *rt = limited(6, 1);
	faas_error_detail_t d;
	struct bg_invoke bg[6];
	struct latch l;
	int i, n = 0;

	latch_init(&l);
	t_create_fn(rt, "f", t_latch_handler, &l);
	t_create(rt, "g");
	ck_assert_ok(faas_function_set_reserved_concurrency(rt, "f", 3, &d), d);
	for (i = 0; i < 3; i++)
		bg_start(&bg[n++], rt, "f");
	latch_wait_entered(&l, 3);
	/* lower the cap under load: running ones finish, no new one starts */
	ck_assert_ok(faas_function_set_reserved_concurrency(rt, "f", 1, &d), d);
	expect_throttle(rt, "f", "ReservedFunctionConcurrentInvocationLimitExceeded");
	/* the 2 tokens given back are owed to the account until f returns them:
	 * g finds the unreserved pool (3 tokens) unchanged meanwhile */
	ck_assert_uint_eq(faas_runtime_concurrent_executions(rt), 3);
	latch_open(&l);
	for (i = 0; i < n; i++) {
		bg_join(&bg[i]);
		ck_assert_int_eq(bg[i].rc, 0);
		faas_result_clear(&bg[i].result);
	}
	ck_assert_int_eq(faas_test_quiesce(rt, 5000), 0);
	/* now exactly 1 for f and 5 for the rest */
	l.open = false;
	l.entered = 0;
	bg_start(&bg[0], rt, "f");
	latch_wait_entered(&l, 1);
	expect_throttle(rt, "f", "ReservedFunctionConcurrentInvocationLimitExceeded");
	ck_assert_ok(faas_function_set_reserved_concurrency(rt, "f", 2, &d), d); /* raise: at once */
	bg_start(&bg[1], rt, "f");
	latch_wait_entered(&l, 2);
	expect_throttle(rt, "f", "ReservedFunctionConcurrentInvocationLimitExceeded");
	/* remove: f joins the unreserved pool (4 free tokens there) */
	ck_assert_ok(faas_function_set_reserved_concurrency(rt, "f", -1, &d), d);
	for (i = 2; i < 6; i++)
		bg_start(&bg[i], rt, "f");
	latch_wait_entered(&l, 6);
	ck_assert_uint_eq(faas_runtime_concurrent_executions(rt), 6);
	expect_throttle(rt, "g", "ConcurrentInvocationLimitExceeded");
	latch_open(&l);
	for (i = 0; i < 6; i++) {
		bg_join(&bg[i]);
		ck_assert_int_eq(bg[i].rc, 0);
		faas_result_clear(&bg[i].result);
	}
	ck_assert_int_eq(faas_test_quiesce(rt, 5000), 0);
	ck_assert_uint_eq(faas_runtime_concurrent_executions(rt), 0);
	faas_runtime_free(rt);
	latch_destroy(&l);
}
END_TEST

struct hammer {
	faas_runtime_t *rt;
	long n, ok, throttled, other;
};

static _Atomic long handler_calls;

static int count_handler(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	(void)ctx;
	(void)event;
	(void)ud;
	atomic_fetch_add_explicit(&handler_calls, 1, memory_order_relaxed);
	*response = NULL;
	return 0;
}

static void *hammer_main(void *arg)
{
	struct hammer *h = arg;
	faas_result_t r = FAAS_RESULT_INIT;
	long i;

	for (i = 0; i < h->n; i++) {
		int rc = faas_invoke(h->rt, "count", NULL, NULL, &r);
		if (rc == 0)
			h->ok++;
		else if (rc == FAAS_ETHROTTLED)
			h->throttled++;
		else
			h->other++;
		faas_result_clear(&r);
	}
	return NULL;
}

START_TEST(throttle_exact_accounting_two_threads)
{
	faas_runtime_t *rt = limited(8, 1);
	struct hammer h[2];
	pthread_t t[2];
	long n = t_scaled(500000), ok = 0;
	int i;

	atomic_store(&handler_calls, 0);
	t_create_fn(rt, "count", count_handler, NULL);
	for (i = 0; i < 2; i++) {
		memset(&h[i], 0, sizeof(h[i]));
		h[i].rt = rt;
		h[i].n = n;
		ck_assert_int_eq(pthread_create(&t[i], NULL, hammer_main, &h[i]), 0);
	}
	for (i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		ck_assert_int_eq(h[i].other, 0);
		ck_assert_int_eq(h[i].throttled, 0); /* 2 callers never exceed 8 tokens */
		ok += h[i].ok;
	}
	ck_assert_int_eq(ok, 2 * n);
	ck_assert_int_eq(atomic_load(&handler_calls), 2 * n);
	ck_assert_uint_eq(faas_runtime_concurrent_executions(rt), 0);
	faas_runtime_free(rt);
}
END_TEST

Suite *throttle_suite(void)
{
	Suite *s = suite_create("throttle");
	TCase *tc = tcase_create("core");
	TCase *load = tcase_create("load");

	tcase_add_test(tc, throttle_account_limit);
	tcase_add_test(tc, throttle_reserved_limit_and_guarantee);
	tcase_add_test(tc, throttle_reservation_rules);
	tcase_add_test(tc, throttle_changes_under_load);
	suite_add_tcase(s, tc);
	tcase_add_test(load, throttle_exact_accounting_two_threads);
	tcase_set_timeout(load, 240);
	suite_add_tcase(s, load);
	return s;
}
