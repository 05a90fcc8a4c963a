/*
 * libfaas tests — nested invocations and the recursion guard, waiting for
 * a token (throttle_wait_ms), payload and client-context limits.
 */
#include "tests.h"

#include <stdlib.h>

static faas_runtime_t *sized(uint32_t max)
{
	faas_runtime_options_t o = t_options();

	o.max_concurrency = max;
	o.unreserved_min = 1;
	return t_runtime_with(&o);
}

/* ---- nested invoke ------------------------------------------------------ */

struct chain {
	_Atomic int calls;
	_Atomic int deepest_rc; /* what the last hop's nested call returned */
	_Atomic unsigned max_lineage;
	bool via_context;
};

/* Invokes itself with n-1 until n reaches 0 (or forever when n < 0). */
static int hop(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	struct chain *c = ud;
	json_int_t n = json_integer_value(json_object_get(event, "n"));
	faas_result_t r = FAAS_RESULT_INIT;
	json_t *next;
	int rc;

	atomic_fetch_add(&c->calls, 1);
	if (n == 0) {
		*response = json_integer(0);
		return 0;
	}
	next = json_pack("{s:I}", "n", n - 1);
	rc = c->via_context ? faas_context_invoke(ctx, "hop", next, NULL, &r)
	                    : faas_invoke(faas_context_runtime(ctx), "hop", next, NULL, &r);
	json_decref(next);
	if (rc != 0) {
		atomic_store(&c->deepest_rc, rc);
		*response = json_integer(1);
	} else {
		if (r.lineage > atomic_load(&c->max_lineage))
			atomic_store(&c->max_lineage, r.lineage);
		*response = json_integer(json_integer_value(r.payload) + 1);
	}
	faas_result_clear(&r);
	return 0;
}

static struct chain *chain_fn(faas_runtime_t *rt, bool allow)
{
	struct chain *c = calloc(1, sizeof(*c));
	faas_function_config_t cfg = t_config(c);
	faas_error_detail_t d;

	cfg.handler = hop;
	cfg.allow_recursion = allow;
	ck_assert_ok(faas_function_create(rt, "hop", &cfg, &d), d);
	return c;
}

START_TEST(nested_chain_runs_on_other_workers)
{
	faas_runtime_t *rt = sized(32);
	struct chain *c = chain_fn(rt, false);
	faas_result_t r = FAAS_RESULT_INIT;

	for (int via = 0; via < 2; via++) {
		atomic_store(&c->calls, 0);
		c->via_context = via;
		ck_assert_int_eq(faas_invoke_json(rt, "hop", "{\"n\":10}", 8, NULL, &r), 0);
		ck_assert_int_eq(json_integer_value(r.payload), 10);
		ck_assert_uint_eq(r.lineage, 1);
		ck_assert_int_eq(atomic_load(&c->calls), 11);
		ck_assert_uint_eq(atomic_load(&c->max_lineage), 11);
		faas_result_clear(&r);
	}
	faas_runtime_free(rt);
	free(c);
}
END_TEST

START_TEST(nested_recursion_guard)
{
	faas_runtime_t *rt = sized(40);
	struct chain *c = chain_fn(rt, false);
	faas_result_t r = FAAS_RESULT_INIT;

	/* endless: the 17th hop is refused, the chain unwinds */
	ck_assert_int_eq(faas_invoke_json(rt, "hop", "{\"n\":-1}", 8, NULL, &r), 0);
	ck_assert_int_eq(atomic_load(&c->calls), FAAS_RECURSION_LIMIT);
	ck_assert_int_eq(atomic_load(&c->deepest_rc), FAAS_ERECURSION);
	ck_assert_uint_eq(atomic_load(&c->max_lineage), FAAS_RECURSION_LIMIT);
	ck_assert_str_eq(faas_error_lambda_name(FAAS_ERECURSION), "RecursiveInvocationException");
	ck_assert_int_eq(faas_error_http_status(FAAS_ERECURSION), 400);
	faas_result_clear(&r);
	ck_assert_int_eq(faas_test_quiesce(rt, 10000), 0);
	faas_runtime_free(rt);
	free(c);

	/* RecursiveLoop=Allow: a deeper chain runs to its end */
	rt = sized(40);
	c = chain_fn(rt, true);
	ck_assert_int_eq(faas_invoke_json(rt, "hop", "{\"n\":24}", 8, NULL, &r), 0);
	ck_assert_int_eq(json_integer_value(r.payload), 24);
	ck_assert_int_eq(atomic_load(&c->calls), 25);
	faas_result_clear(&r);
	faas_runtime_free(rt);
	free(c);
}
END_TEST

START_TEST(nested_deeper_than_tokens_is_throttled)
{
	faas_runtime_t *rt = sized(4);
	struct chain *c = chain_fn(rt, true);
	faas_invoke_options_t o = FAAS_INVOKE_OPTIONS_INIT;
	faas_result_t r = FAAS_RESULT_INIT;

	o.throttle_wait_ms = 60000; /* ignored for nested calls: they never wait */
	ck_assert_int_eq(faas_invoke_json(rt, "hop", "{\"n\":-1}", 8, &o, &r), 0);
	ck_assert_int_eq(atomic_load(&c->calls), 4); /* every level holds a token */
	ck_assert_int_eq(atomic_load(&c->deepest_rc), FAAS_ETHROTTLED);
	ck_assert_int_eq(json_integer_value(r.payload), 4); /* the 4th saw the throttle */
	faas_result_clear(&r);
	ck_assert_int_eq(faas_test_quiesce(rt, 10000), 0);
	faas_runtime_free(rt);
	free(c);
}
END_TEST

/* ---- waiting for a token --------------------------------------------------- */

struct order {
	pthread_mutex_t m;
	int ids[16];
	int n;
};

static int record(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	struct order *o = ud;

	(void)ctx;
	pthread_mutex_lock(&o->m);
	o->ids[o->n++] = (int)json_integer_value(json_object_get(event, "id"));
	pthread_mutex_unlock(&o->m);
	*response = NULL;
	return 0;
}

struct waiter {
	pthread_t tid;
	faas_runtime_t *rt;
	int id;
	int64_t wait_ms;
	int rc;
	const char *reason;
};

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;
	faas_invoke_options_t o = FAAS_INVOKE_OPTIONS_INIT;
	faas_result_t r = FAAS_RESULT_INIT;
	json_t *ev = json_pack("{s:i}", "id", w->id);

	o.throttle_wait_ms = w->wait_ms;
	w->rc = faas_invoke(w->rt, "rec", ev, &o, &r);
	w->reason = r.throttle_reason;
	faas_result_clear(&r);
	json_decref(ev);
	return NULL;
}

static void wait_queued(faas_runtime_t *rt, int64_t n)
{
	/* a waiter is a creditor of the pool: its debt counts them */
	while (atomic_load(&rt->conc->unreserved.debt) < n)
		sched_yield();
}

START_TEST(wait_fifo_no_barging)
{
	faas_runtime_t *rt = sized(1);
	struct waiter w[6];
	struct order ord;
	struct latch l;
	struct bg_invoke holder;
	int i;

	memset(&ord, 0, sizeof(ord));
	pthread_mutex_init(&ord.m, NULL);
	latch_init(&l);
	t_create_fn(rt, "held", t_latch_handler, &l);
	t_create_fn(rt, "rec", record, &ord);
	bg_start(&holder, rt, "held");
	latch_wait_entered(&l, 1);
	for (i = 0; i < 6; i++) {
		w[i] = (struct waiter){ .rt = rt, .id = i, .wait_ms = 60000 };
		ck_assert_int_eq(pthread_create(&w[i].tid, NULL, waiter_main, &w[i]), 0);
		wait_queued(rt, i + 1); /* queued in this order */
	}
	/* a newcomer that does not wait is throttled, not served before them */
	{
		faas_result_t r = FAAS_RESULT_INIT;
		ck_assert_int_eq(faas_invoke(rt, "rec", NULL, NULL, &r), FAAS_ETHROTTLED);
		faas_result_clear(&r);
	}
	latch_open(&l);
	bg_join(&holder);
	faas_result_clear(&holder.result);
	for (i = 0; i < 6; i++) {
		pthread_join(w[i].tid, NULL);
		ck_assert_int_eq(w[i].rc, 0);
	}
	ck_assert_int_eq(ord.n, 6);
	for (i = 0; i < 6; i++)
		ck_assert_int_eq(ord.ids[i], i);
	faas_runtime_free(rt);
	latch_destroy(&l);
	pthread_mutex_destroy(&ord.m);
}
END_TEST

START_TEST(wait_gives_up_at_its_deadline)
{
	faas_runtime_t *rt = sized(1);
	struct order ord;
	struct waiter w;
	struct latch l;
	struct bg_invoke holder;
	faas_function_config_t c = t_config(NULL);
	faas_error_detail_t d;

	memset(&ord, 0, sizeof(ord));
	pthread_mutex_init(&ord.m, NULL);
	latch_init(&l);
	t_create_fn(rt, "held", t_latch_handler, &l);
	c.handler = record;
	c.user_data = &ord;
	c.throttle_wait_ms = 500; /* the function's own setting */
	ck_assert_ok(faas_function_create(rt, "rec", &c, &d), d);
	bg_start(&holder, rt, "held");
	latch_wait_entered(&l, 1);
	w = (struct waiter){ .rt = rt, .id = 1, .wait_ms = -1 };
	ck_assert_int_eq(pthread_create(&w.tid, NULL, waiter_main, &w), 0);
	wait_queued(rt, 1);
	faas_clock_advance(rt, 499);
	ck_assert_int_eq(atomic_load(&rt->conc->unreserved.debt), 1); /* still waiting */
	faas_clock_advance(rt, 1);
	pthread_join(w.tid, NULL);
	ck_assert_int_eq(w.rc, FAAS_ETHROTTLED);
	ck_assert_str_eq(w.reason, "ConcurrentInvocationLimitExceeded");
	ck_assert_int_eq(atomic_load(&rt->conc->unreserved.debt), 0); /* it left the queue */
	latch_open(&l);
	bg_join(&holder);
	faas_result_clear(&holder.result);
	ck_assert_int_eq(ord.n, 0);
	ck_assert_uint_eq(faas_runtime_concurrent_executions(rt), 0);
	faas_runtime_free(rt);
	latch_destroy(&l);
	pthread_mutex_destroy(&ord.m);
}
END_TEST

/* Tokens that arrive by reconfiguration reach the waiters at once. */
START_TEST(wait_served_when_tokens_move)
{
	faas_runtime_t *rt = sized(4);
	faas_error_detail_t d;
	struct bg_invoke holders[2];
	struct waiter w;
	struct order ord;
	struct latch l;
	int i;

	memset(&ord, 0, sizeof(ord));
	pthread_mutex_init(&ord.m, NULL);
	latch_init(&l);
	t_create_fn(rt, "held", t_latch_handler, &l);
	t_create_fn(rt, "rec", record, &ord);
	t_create(rt, "idle");
	ck_assert_ok(faas_function_set_reserved_concurrency(rt, "idle", 2, &d), d);
	for (i = 0; i < 2; i++)
		bg_start(&holders[i], rt, "held"); /* the unreserved pool's 2 tokens */
	latch_wait_entered(&l, 2);
	w = (struct waiter){ .rt = rt, .id = 7, .wait_ms = 60000 };
	ck_assert_int_eq(pthread_create(&w.tid, NULL, waiter_main, &w), 0);
	wait_queued(rt, 1);
	/* the reservation's free tokens move to the unreserved pool: served now */
	ck_assert_ok(faas_function_set_reserved_concurrency(rt, "idle", -1, &d), d);
	pthread_join(w.tid, NULL);
	ck_assert_int_eq(w.rc, 0);
	ck_assert_int_eq(ord.n, 1);
	latch_open(&l);
	for (i = 0; i < 2; i++) {
		bg_join(&holders[i]);
		faas_result_clear(&holders[i].result);
	}
	faas_runtime_free(rt);
	latch_destroy(&l);
	pthread_mutex_destroy(&ord.m);
}
END_TEST

/* Shutdown answers waiting callers at once. */
START_TEST(wait_ends_at_shutdown)
{
	faas_runtime_t *rt = sized(1);
	struct bg_invoke holder;
	struct waiter w;
	struct order ord;
	struct latch l;

	memset(&ord, 0, sizeof(ord));
	pthread_mutex_init(&ord.m, NULL);
	latch_init(&l);
	t_create_fn(rt, "held", t_latch_handler, &l);
	t_create_fn(rt, "rec", record, &ord);
	bg_start(&holder, rt, "held");
	latch_wait_entered(&l, 1);
	w = (struct waiter){ .rt = rt, .id = 1, .wait_ms = 600000 };
	ck_assert_int_eq(pthread_create(&w.tid, NULL, waiter_main, &w), 0);
	wait_queued(rt, 1);
	/* the holder is still running: shutdown cannot drain it, but the waiter
	 * is answered at once */
	ck_assert_int_eq(faas_runtime_shutdown(rt, 0), FAAS_ETIMEDOUT);
	pthread_join(w.tid, NULL);
	ck_assert_int_eq(w.rc, FAAS_ESHUTDOWN);
	ck_assert_int_eq(ord.n, 0);
	latch_open(&l);
	bg_join(&holder);
	faas_result_clear(&holder.result);
	faas_runtime_free(rt);
	latch_destroy(&l);
	pthread_mutex_destroy(&ord.m);
}
END_TEST

/* ---- limits ----------------------------------------------------------------- */

static int big_response(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	(void)ctx;
	(void)ud;
	*response = json_incref(json_object_get(event, "echo"));
	return 0;
}

START_TEST(limits_request_and_response)
{
	faas_runtime_options_t ro = t_options();
	faas_invoke_options_t o = FAAS_INVOKE_OPTIONS_INIT;
	faas_result_t r = FAAS_RESULT_INIT;
	faas_runtime_t *rt;
	char text[256];
	json_t *ev;

	ro.max_request_bytes = 100;
	ro.max_response_bytes = 40;
	rt = t_runtime_with(&ro);
	t_create_fn(rt, "f", big_response, NULL);
	/* request text: 100 bytes pass, 101 do not */
	memset(text, ' ', sizeof(text));
	memcpy(text, "{\"echo\":1}", 10);
	ck_assert_int_eq(faas_invoke_json(rt, "f", text, 100, NULL, &r), 0);
	faas_result_clear(&r);
	ck_assert_int_eq(faas_invoke_json(rt, "f", text, 101, NULL, &r), FAAS_ETOOLARGE);
	ck_assert_int_eq(r.status_code, 413);
	ck_assert_str_eq(r.error_type, "RequestTooLargeException");
	ck_assert_str_eq(r.message, "Request must be smaller than 100 bytes for the InvokeFunction operation");
	faas_result_clear(&r);
	/* json_t events are not measured unless asked */
	ev = json_pack("{s:s}", "echo", "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789");
	ck_assert_int_eq(faas_invoke(rt, "f", ev, NULL, &r), 0);
	ck_assert_int_eq(r.function_error, FAAS_FUNCTION_ERROR_NONE); /* nor responses */
	faas_result_clear(&r);
	/* response text: over the limit is a function error */
	o.response_text = 1;
	ck_assert_int_eq(faas_invoke(rt, "f", ev, &o, &r), 0);
	ck_assert_int_eq(r.function_error, FAAS_FUNCTION_ERROR_UNHANDLED);
	ck_assert_str_eq(t_jstr(r.payload, "errorType"), "Function.ResponseSizeTooLarge");
	ck_assert_str_eq(t_jstr(r.payload, "errorMessage"),
	                 "Response payload size exceeded maximum allowed payload size (40 bytes).");
	ck_assert_ptr_null(r.payload_text);
	faas_result_clear(&r);
	json_decref(ev);
	ev = json_pack("{s:{s:f}}", "echo", "w", 0.03);
	ck_assert_int_eq(faas_invoke(rt, "f", ev, &o, &r), 0);
	ck_assert_str_eq(r.payload_text, "{\"w\":0.03}");
	ck_assert_uint_eq(r.payload_text_len, 10);
	faas_result_clear(&r);
	json_decref(ev);
	faas_runtime_free(rt);

	ro.enforce_json_limits = 1;
	rt = t_runtime_with(&ro);
	t_create_fn(rt, "f", big_response, NULL);
	ev = json_pack("{s:s}", "echo", "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789");
	ck_assert_int_eq(faas_invoke(rt, "f", ev, NULL, &r), FAAS_ETOOLARGE);
	faas_result_clear(&r);
	json_decref(ev);
	ev = json_pack("{s:s}", "echo", "01234567890123456789012345678901234567890123456789");
	ck_assert_int_eq(faas_invoke(rt, "f", ev, NULL, &r), 0);
	ck_assert_str_eq(t_jstr(r.payload, "errorType"), "Function.ResponseSizeTooLarge");
	faas_result_clear(&r);
	json_decref(ev);
	faas_runtime_free(rt);
}
END_TEST

START_TEST(limits_client_context)
{
	faas_runtime_t *rt = t_runtime();
	faas_invoke_options_t o = FAAS_INVOKE_OPTIONS_INIT;
	faas_result_t r = FAAS_RESULT_INIT;
	char big[2700];

	t_create(rt, "f");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[2679] = '\0'; /* {"c":"<2679 x>"} = 2687 bytes -> 3584 in base64: one too many */
	o.client_context = json_pack("{s:s}", "c", big);
	ck_assert_int_eq(faas_invoke(rt, "f", NULL, &o, &r), FAAS_EINVAL);
	ck_assert_ptr_nonnull(strstr(r.message, "Client context must be at most 3583 bytes"));
	faas_result_clear(&r);
	json_decref(o.client_context);
	big[2676] = '\0'; /* 2684 bytes -> 3580 */
	o.client_context = json_pack("{s:s}", "c", big);
	ck_assert_int_eq(faas_invoke(rt, "f", NULL, &o, &r), 0);
	faas_result_clear(&r);
	json_decref(o.client_context);
	faas_runtime_free(rt);
}
END_TEST

Suite *nested_suite(void)
{
	Suite *s = suite_create("nested");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, nested_chain_runs_on_other_workers);
	tcase_add_test(tc, nested_recursion_guard);
	tcase_add_test(tc, nested_deeper_than_tokens_is_throttled);
	tcase_add_test(tc, wait_fifo_no_barging);
	tcase_add_test(tc, wait_gives_up_at_its_deadline);
	tcase_add_test(tc, wait_served_when_tokens_move);
	tcase_add_test(tc, wait_ends_at_shutdown);
	tcase_add_test(tc, limits_request_and_response);
	tcase_add_test(tc, limits_client_context);
	suite_add_tcase(s, tc);
	return s;
}
