/*
 * libfaas tests — timeouts (virtual and real clocks), execution
 * environments, inline mode, thread-start failure and shutdown.
 */
#include "tests.h"

#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

/* ---- timeouts ---------------------------------------------------------- */

static _Atomic int shutdowns[3];

static void count_shutdown(void *state, faas_shutdown_reason_t why, void *ud)
{
	(void)state;
	(void)ud;
	atomic_fetch_add(&shutdowns[why], 1);
}

START_TEST(timeout_virtual_clock_exact)
{
	faas_runtime_t *rt = t_runtime();
	faas_function_config_t c = t_config(NULL);
	faas_error_detail_t d;
	struct bg_invoke bg;
	struct latch l;
	char expect[160];

	memset(shutdowns, 0, sizeof(shutdowns));
	latch_init(&l);
	c.handler = t_latch_handler;
	c.user_data = &l;
	c.shutdown = count_shutdown;
	ck_assert_ok(faas_function_create(rt, "slow", &c, &d), d); /* timeout 3000 ms */
	bg_start(&bg, rt, "slow");
	latch_wait_entered(&l, 1);
	ck_assert_int_eq(faas_clock_advance(rt, 2999), 0);
	ck_assert_uint_eq(faas_runtime_concurrent_executions(rt), 1);
	ck_assert_int_eq(faas_clock_advance(rt, 1), 0); /* the deadline: the caller is answered */
	bg_join(&bg);
	ck_assert_int_eq(bg.rc, 0);
	ck_assert_int_eq(bg.result.status_code, 200);
	ck_assert_int_eq(bg.result.function_error, FAAS_FUNCTION_ERROR_UNHANDLED);
	ck_assert_str_eq(t_jstr(bg.result.payload, "errorType"), "Sandbox.Timedout");
	snprintf(expect, sizeof(expect), "RequestId: %s Error: Task timed out after 3.00 seconds",
	         bg.result.request_id);
	ck_assert_str_eq(t_jstr(bg.result.payload, "errorMessage"), expect);
	ck_assert_str_eq(bg.result.message, expect);
	ck_assert(bg.result.duration_ms == 3000.0);
	faas_result_clear(&bg.result);
	/* the handler is still running: its token stays in use until it returns */
	ck_assert_uint_eq(faas_runtime_concurrent_executions(rt), 1);
	ck_assert_int_eq(atomic_load(&shutdowns[FAAS_SHUTDOWN_TIMEOUT]), 0);
	latch_open(&l);
	ck_assert_int_eq(faas_test_quiesce(rt, 10000), 0);
	/* its late response was discarded and its environment reset */
	ck_assert_int_eq(atomic_load(&shutdowns[FAAS_SHUTDOWN_TIMEOUT]), 1);
	faas_runtime_free(rt);
	latch_destroy(&l);
}
END_TEST

/* Invoke name, which must time out on the real clock: how long the call
 * took (r keeps the result, for the caller to look at and clear). */
static uint64_t timed_out_after_ns(faas_runtime_t *rt, const char *name, faas_result_t *r)
{
	uint64_t t0 = faas__real_mono_ns();

	ck_assert_int_eq(faas_invoke(rt, name, NULL, NULL, r), 0);
	t0 = faas__real_mono_ns() - t0;
	ck_assert_str_eq(t_jstr(r->payload, "errorType"), "Sandbox.Timedout");
	return t0;
}

START_TEST(timeout_real_clock_bounds)
{
	faas_runtime_options_t o = FAAS_RUNTIME_OPTIONS_INIT;
	faas_function_config_t c = t_config(NULL);
	faas_result_t r = FAAS_RESULT_INIT;
	faas_error_detail_t d;
	faas_runtime_t *rt;
	struct latch l;
	uint64_t took;

	o.min_timeout_ms = 50;
	rt = t_runtime_with(&o);
	latch_init(&l);
	l.until_cancelled = true; /* the handler stops when it sees the cancellation */
	c.handler = t_latch_handler;
	c.user_data = &l;
	c.timeout_ms = 120;
	ck_assert_ok(faas_function_create(rt, "slow", &c, &d), d);
	took = timed_out_after_ns(rt, "slow", &r);
	ck_assert_uint_ge(took, 120u * 1000000u);   /* never early */
	ck_assert_uint_lt(took, 5000u * 1000000u);  /* generous upper bound */
	ck_assert_ptr_nonnull(strstr(r.message, "Task timed out after 0.12 seconds"));
	faas_result_clear(&r);
	ck_assert_int_eq(faas_test_quiesce(rt, 10000), 0);
	latch_wait_entered(&l, 1);
	ck_assert_int_eq(l.left, 1);
	faas_runtime_free(rt);
	latch_destroy(&l);
}
END_TEST

/* An init of 300 ms (real time: what is tested is the real-clock wait). */
static int slow_init(faas_context_t *ctx, void **state, void *ud)
{
	(void)ctx;
	(void)state;
	(void)ud;
	faas__sleep_ms(300);
	return 0;
}

/* The caller sleeps at most a timeout at a time, so the deadline the
 * handler's start sets needs no wake: after an init three times as long as
 * the timeout, a quick handler still succeeds, and a slow one times out a
 * timeout after its start — never before, and not much later. */
START_TEST(timeout_real_clock_after_a_long_init)
{
	faas_runtime_options_t o = FAAS_RUNTIME_OPTIONS_INIT;
	faas_function_config_t c = t_config(NULL);
	faas_result_t r = FAAS_RESULT_INIT;
	faas_error_detail_t d;
	faas_runtime_t *rt;
	struct latch l;
	uint64_t took;

	o.min_timeout_ms = 50;
	rt = t_runtime_with(&o);
	c.init = slow_init;
	c.timeout_ms = 100;
	ck_assert_ok(faas_function_create(rt, "quick", &c, &d), d);
	ck_assert_int_eq(faas_invoke(rt, "quick", NULL, NULL, &r), 0);
	ck_assert_int_eq(r.function_error, FAAS_FUNCTION_ERROR_NONE);
	ck_assert(r.init_duration_ms >= 300.0);
	faas_result_clear(&r);

	latch_init(&l);
	l.until_cancelled = true;
	c.handler = t_latch_handler;
	c.user_data = &l;
	ck_assert_ok(faas_function_create(rt, "slow", &c, &d), d);
	took = timed_out_after_ns(rt, "slow", &r);
	ck_assert_uint_ge(took, 400u * 1000000u);  /* init, then the whole timeout */
	ck_assert_uint_lt(took, 5000u * 1000000u); /* generous upper bound */
	faas_result_clear(&r);
	ck_assert_int_eq(faas_test_quiesce(rt, 10000), 0);
	faas_runtime_free(rt);
	latch_destroy(&l);
}
END_TEST

/* A handler that outlives its deadline and then writes a response: no
 * caller memory may be touched (ASan checks this test). */
START_TEST(timeout_late_handler_touches_nothing)
{
	faas_runtime_t *rt = t_runtime();
	struct latch l;
	int i;

	latch_init(&l);
	t_create_fn(rt, "late", t_latch_handler, &l);
	for (i = 0; i < 3; i++) {
		struct bg_invoke *bg = malloc(sizeof(*bg));
		bg_start(bg, rt, "late");
		latch_wait_entered(&l, i + 1);
		faas_clock_advance(rt, 3000);
		bg_join(bg);
		ck_assert_str_eq(t_jstr(bg->result.payload, "errorType"), "Sandbox.Timedout");
		faas_result_clear(&bg->result);
		free(bg); /* the caller's memory is gone before the handler returns */
	}
	latch_open(&l);
	ck_assert_int_eq(faas_test_quiesce(rt, 10000), 0);
	faas_runtime_free(rt);
	latch_destroy(&l);
}
END_TEST

/* ---- execution environments ------------------------------------------- */

struct env_counts {
	_Atomic int inits;
	_Atomic int next_id;
	_Atomic int fail_init;
};

static int env_init(faas_context_t *ctx, void **state, void *ud)
{
	struct env_counts *c = ud;
	int *id;

	(void)ctx;
	atomic_fetch_add(&c->inits, 1);
	if (atomic_load(&c->fail_init))
		return faas_context_fail(ctx, "InitBoom", "cannot init");
	id = malloc(sizeof(*id));
	*id = atomic_fetch_add(&c->next_id, 1);
	*state = id;
	return 0;
}

static void env_shutdown(void *state, faas_shutdown_reason_t why, void *ud)
{
	(void)ud;
	atomic_fetch_add(&shutdowns[why], 1);
	free(state);
}

static int env_handler(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	int *id = faas_context_instance_state(ctx);

	(void)ud;
	if (json_is_true(json_object_get(event, "fatal")))
		return faas_context_fail_fatal(ctx, "Crash", "environment is broken");
	*response = json_integer(*id);
	return 0;
}

static int instance_of(faas_runtime_t *rt, const char *event_text, faas_result_t *r)
{
	ck_assert_int_eq(faas_invoke_json(rt, "env", event_text, strlen(event_text), NULL, r), 0);
	return (int)json_integer_value(r->payload);
}

START_TEST(instances_init_once_and_reuse)
{
	faas_runtime_t *rt = t_runtime();
	faas_function_config_t c = t_config(NULL);
	faas_result_t r = FAAS_RESULT_INIT;
	struct env_counts counts;
	faas_error_detail_t d;
	int i;

	memset(&counts, 0, sizeof(counts));
	memset(shutdowns, 0, sizeof(shutdowns));
	c.handler = env_handler;
	c.init = env_init;
	c.shutdown = env_shutdown;
	c.user_data = &counts;
	ck_assert_ok(faas_function_create(rt, "env", &c, &d), d);
	for (i = 0; i < 5; i++) {
		ck_assert_int_eq(instance_of(rt, "{}", &r), 0); /* the same warm instance */
		ck_assert(i == 0 ? r.init_duration_ms >= 0 : r.init_duration_ms == 0);
		faas_result_clear(&r);
	}
	ck_assert_int_eq(atomic_load(&counts.inits), 1);
	/* a fatal error resets the environment: the next call is cold */
	ck_assert_int_eq(faas_invoke_json(rt, "env", "{\"fatal\":true}", 14, NULL, &r), 0);
	ck_assert_str_eq(t_jstr(r.payload, "errorType"), "Crash");
	faas_result_clear(&r);
	ck_assert_int_eq(atomic_load(&shutdowns[FAAS_SHUTDOWN_FAILURE]), 1);
	ck_assert_int_eq(instance_of(rt, "{}", &r), 1);
	faas_result_clear(&r);
	ck_assert_int_eq(atomic_load(&counts.inits), 2);
	/* a failed init is a function error and leaves no environment */
	atomic_store(&counts.fail_init, 1);
	c.description = "v2"; /* a new $LATEST: new environments */
	ck_assert_ok(faas_function_update(rt, "env", &c, &d), d);
	t_settle(rt);
	ck_assert_int_eq(atomic_load(&shutdowns[FAAS_SHUTDOWN_SPINDOWN]), 1); /* old $LATEST's */
	ck_assert_int_eq(faas_invoke(rt, "env", NULL, NULL, &r), 0);
	ck_assert_int_eq(r.function_error, FAAS_FUNCTION_ERROR_UNHANDLED);
	ck_assert_str_eq(t_jstr(r.payload, "errorType"), "InitBoom");
	ck_assert_str_eq(t_jstr(r.payload, "errorMessage"), "cannot init");
	faas_result_clear(&r);
	atomic_store(&counts.fail_init, 0);
	ck_assert_int_eq(instance_of(rt, "{}", &r), 2); /* the next call tries a fresh init */
	faas_result_clear(&r);
	faas_runtime_free(rt);
	ck_assert_int_eq(atomic_load(&shutdowns[FAAS_SHUTDOWN_SPINDOWN]), 2);
}
END_TEST

START_TEST(instances_one_invocation_each)
{
	faas_runtime_t *rt = t_runtime();
	struct bg_invoke bg[3];
	struct latch l;
	int i;

	latch_init(&l);
	t_create_fn(rt, "held", t_latch_handler, &l);
	for (i = 0; i < 3; i++)
		bg_start(&bg[i], rt, "held");
	latch_wait_entered(&l, 3); /* three at once means three environments */
	latch_open(&l);
	for (i = 0; i < 3; i++) {
		bg_join(&bg[i]);
		ck_assert(bg[i].result.init_duration_ms >= 0);
		faas_result_clear(&bg[i].result);
	}
	faas_runtime_free(rt);
	latch_destroy(&l);
}
END_TEST

/* Idle environments are shut down after the keep-alive (runtime clock). */
START_TEST(instances_reaped_after_keep_alive)
{
	faas_function_config_t c = t_config(NULL);
	faas_result_t r = FAAS_RESULT_INIT;
	struct env_counts counts;
	faas_error_detail_t d;

	for (int inl = 0; inl < 2; inl++) {
		faas_runtime_options_t o = t_options();
		faas_runtime_t *rt;

		o.inline_mode = inl;
		o.keep_alive_ms = 60000;
		rt = t_runtime_with(&o);
		memset(&counts, 0, sizeof(counts));
		memset(shutdowns, 0, sizeof(shutdowns));
		c.handler = env_handler;
		c.init = env_init;
		c.shutdown = env_shutdown;
		c.user_data = &counts;
		ck_assert_ok(faas_function_create(rt, "env", &c, &d), d);
		ck_assert_int_eq(instance_of(rt, "{}", &r), 0);
		faas_result_clear(&r);
		faas_clock_advance(rt, 59999);
		t_settle(rt);
		ck_assert_int_eq(atomic_load(&shutdowns[FAAS_SHUTDOWN_SPINDOWN]), 0);
		/* used again just in time: its idle time starts over */
		ck_assert_int_eq(instance_of(rt, "{}", &r), 0);
		faas_result_clear(&r);
		faas_clock_advance(rt, 59999);
		t_settle(rt);
		ck_assert_int_eq(atomic_load(&shutdowns[FAAS_SHUTDOWN_SPINDOWN]), 0);
		faas_clock_advance(rt, 1);
		t_settle(rt);
		ck_assert_int_eq(atomic_load(&shutdowns[FAAS_SHUTDOWN_SPINDOWN]), 1);
		ck_assert_int_eq(atomic_load(&counts.inits), 1);
		ck_assert_int_eq(instance_of(rt, "{}", &r), 1); /* cold again */
		faas_result_clear(&r);
		ck_assert_int_eq(atomic_load(&counts.inits), 2);
		faas_runtime_free(rt);
	}
}
END_TEST

/* ---- init failures ------------------------------------------------------- */

struct flaky {
	_Atomic int attempts;
	int fail_first; /* attempts that fail */
	uint32_t stall_ms; /* virtual time each attempt takes */
	uint32_t retry_stall_ms; /* if set, what the later attempts take instead */
	faas_runtime_t *rt;
};

static int flaky_init(faas_context_t *ctx, void **state, void *ud)
{
	struct flaky *f = ud;
	int n = atomic_fetch_add(&f->attempts, 1);

	*state = NULL;
	if (n > 0 && f->retry_stall_ms)
		faas_clock_advance(f->rt, f->retry_stall_ms);
	else if (f->stall_ms)
		faas_clock_advance(f->rt, f->stall_ms);
	if (n < f->fail_first)
		return faas_context_fail(ctx, "InitBoom", "attempt %d failed", n + 1);
	return 0;
}

static int ok_handler(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	(void)ctx;
	(void)event;
	(void)ud;
	*response = json_string("ran");
	return 0;
}

static faas_runtime_t *flaky_runtime(struct flaky *f, int fail_first, uint32_t stall_ms)
{
	faas_runtime_options_t o = t_options();
	faas_function_config_t c = t_config(f);
	faas_error_detail_t d;

	o.inline_mode = 1; /* init advances the virtual clock itself: keep it on one thread */
	memset(f, 0, sizeof(*f));
	f->fail_first = fail_first;
	f->stall_ms = stall_ms;
	f->rt = t_runtime_with(&o);
	c.handler = ok_handler;
	c.init = flaky_init;
	ck_assert_ok(faas_function_create(f->rt, "f", &c, &d), d);
	return f->rt;
}

START_TEST(init_failure_retried_inside_the_invocation)
{
	faas_invoke_options_t o = FAAS_INVOKE_OPTIONS_INIT;
	faas_result_t r = FAAS_RESULT_INIT;
	struct flaky f;
	faas_runtime_t *rt = flaky_runtime(&f, 1, 0);

	o.log_type = FAAS_LOG_TAIL;
	ck_assert_int_eq(faas_invoke(rt, "f", NULL, &o, &r), 0);
	ck_assert_int_eq(r.function_error, FAAS_FUNCTION_ERROR_NONE); /* the retry succeeded */
	ck_assert_str_eq(json_string_value(r.payload), "ran");
	ck_assert_int_eq(atomic_load(&f.attempts), 2);
	ck_assert_ptr_nonnull(strstr(r.log_tail, "INIT_REPORT Init Duration: 0.00 ms\tPhase: init\tStatus: "
	                                         "error\tError Type: InitBoom\n"));
	ck_assert_ptr_null(strstr(r.log_tail, "Phase: invoke"));
	ck_assert_ptr_null(strstr(r.log_tail, "Init Duration: 0.00 ms\t\n")); /* no Init Duration in REPORT */
	faas_result_clear(&r);
	faas_runtime_free(rt);

	/* both attempts fail: the invocation fails; the next one starts over */
	rt = flaky_runtime(&f, 3, 0);
	ck_assert_int_eq(faas_invoke(rt, "f", NULL, &o, &r), 0);
	ck_assert_int_eq(r.function_error, FAAS_FUNCTION_ERROR_UNHANDLED);
	ck_assert_str_eq(t_jstr(r.payload, "errorType"), "InitBoom");
	ck_assert_str_eq(t_jstr(r.payload, "errorMessage"), "attempt 2 failed");
	ck_assert_ptr_nonnull(strstr(r.log_tail, "Phase: init\tStatus: error"));
	ck_assert_ptr_nonnull(strstr(r.log_tail, "Phase: invoke\tStatus: error"));
	faas_result_clear(&r);
	ck_assert_int_eq(atomic_load(&f.attempts), 2);
	ck_assert_int_eq(faas_invoke(rt, "f", NULL, &o, &r), 0);
	ck_assert_int_eq(atomic_load(&f.attempts), 4); /* 3rd fails, 4th succeeds */
	ck_assert_str_eq(json_string_value(r.payload), "ran");
	faas_result_clear(&r);
	faas_runtime_free(rt);
}
END_TEST

START_TEST(init_timeout_and_the_function_timeout)
{
	faas_invoke_options_t o = FAAS_INVOKE_OPTIONS_INIT;
	faas_result_t r = FAAS_RESULT_INIT;
	struct flaky f;
	faas_runtime_t *rt;
	char expect[160];

	/* init within its own 10 s limit does not eat the function's 3 s */
	rt = flaky_runtime(&f, 0, 9000);
	ck_assert_int_eq(faas_invoke(rt, "f", NULL, NULL, &r), 0);
	ck_assert_int_eq(r.function_error, FAAS_FUNCTION_ERROR_NONE);
	ck_assert(r.init_duration_ms == 9000.0);
	faas_result_clear(&r);
	faas_runtime_free(rt);

	/* past 10 s it has timed out: reported, retried once inside the
	 * invocation, bounded by the function's 3 s: the invocation times out,
	 * with Lambda's lines for both attempts */
	rt = flaky_runtime(&f, 0, 10001);
	o.log_type = FAAS_LOG_TAIL;
	ck_assert_int_eq(faas_invoke(rt, "f", NULL, &o, &r), 0);
	ck_assert_int_eq(atomic_load(&f.attempts), 2);
	ck_assert_int_eq(r.function_error, FAAS_FUNCTION_ERROR_UNHANDLED);
	ck_assert_str_eq(t_jstr(r.payload, "errorType"), "Sandbox.Timedout");
	snprintf(expect, sizeof(expect), "RequestId: %s Error: Task timed out after 3.00 seconds",
	         r.request_id);
	ck_assert_str_eq(t_jstr(r.payload, "errorMessage"), expect);
	ck_assert_ptr_nonnull(strstr(r.log_tail, "INIT_REPORT Init Duration: 10001.00 ms\tPhase: init\tStatus: timeout\n"));
	ck_assert_ptr_nonnull(strstr(r.log_tail, "INIT_REPORT Init Duration: 10001.00 ms\tPhase: invoke\tStatus: "
	                                         "error\tError Type: Runtime.Unknown\n"));
	/* Lambda's timeout line: <ISO time> <request id> Task timed out after 3.00 seconds */
	snprintf(expect, sizeof(expect), "Z %s Task timed out after 3.00 seconds\n", r.request_id);
	ck_assert_ptr_nonnull(strstr(r.log_tail, expect));
	ck_assert_ptr_nonnull(strstr(r.log_tail, "\tDuration: 3000.00 ms\tBilled Duration: 3000 ms"));
	faas_result_clear(&r);
	faas_runtime_free(rt);
	ck_assert_int_eq(atomic_load(&f.attempts), 2);

	/* a first init past its 10 s, a retry of 12 s: within a 60 s timeout it
	 * succeeds, and its 12 s count in the invocation's Duration */
	{
		faas_function_config_t c = t_config(&f);
		faas_error_detail_t d;
		rt = flaky_runtime(&f, 0, 12000);
		c.handler = ok_handler;
		c.init = flaky_init;
		c.timeout_ms = 60000;
		ck_assert_ok(faas_function_create(rt, "long", &c, &d), d);
		ck_assert_int_eq(faas_invoke(rt, "long", NULL, &o, &r), 0);
		ck_assert_int_eq(atomic_load(&f.attempts), 2);
		ck_assert_int_eq(r.function_error, FAAS_FUNCTION_ERROR_NONE);
		ck_assert_str_eq(json_string_value(r.payload), "ran");
		ck_assert(r.duration_ms == 12000.0);
		ck_assert_ptr_nonnull(strstr(r.log_tail, "INIT_REPORT Init Duration: 12000.00 ms\tPhase: init\tStatus: timeout\n"));
		ck_assert_ptr_null(strstr(r.log_tail, "Phase: invoke"));
		ck_assert_ptr_nonnull(strstr(r.log_tail, "\tDuration: 12000.00 ms\tBilled Duration: 12000 ms"));
		faas_result_clear(&r);
		faas_runtime_free(rt);
	}
}
END_TEST

/* A retried init runs on the invocation's own time: when it runs past it
 * the invocation times out and the environment goes (Lambda stops the
 * retry at the deadline); the next invocation starts over. */
START_TEST(init_retry_uses_the_invocation_time)
{
	faas_invoke_options_t o = FAAS_INVOKE_OPTIONS_INIT;
	faas_result_t r = FAAS_RESULT_INIT;
	struct flaky f;
	faas_runtime_t *rt = flaky_runtime(&f, 1, 9000); /* fails after 9 s */
	json_t *m = NULL, *v;

	f.retry_stall_ms = 4000; /* then succeeds after 4 s: past the 3-s timeout */
	o.log_type = FAAS_LOG_TAIL;
	ck_assert_int_eq(faas_invoke(rt, "f", NULL, &o, &r), 0);
	ck_assert_str_eq(t_jstr(r.payload, "errorType"), "Sandbox.Timedout");
	ck_assert_ptr_null(strstr(r.log_tail, "\tInit Duration")); /* no Init Duration in REPORT */
	ck_assert_ptr_nonnull(strstr(r.log_tail, "INIT_REPORT Init Duration: 4000.00 ms\tPhase: invoke\tStatus: error"));
	faas_result_clear(&r);
	ck_assert_int_eq(atomic_load(&f.attempts), 2);
	ck_assert_int_eq(faas_invoke(rt, "f", NULL, NULL, &r), 0); /* a new environment */
	ck_assert_str_eq(json_string_value(r.payload), "ran");
	faas_result_clear(&r);
	ck_assert_int_eq(atomic_load(&f.attempts), 3);
	ck_assert_int_eq(faas_metrics_json(rt, &m, NULL), 0);
	v = json_array_get(json_object_get(json_array_get(json_object_get(m, "Functions"), 0), "Versions"), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(v, "ColdStarts")), 1); /* one environment */
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(v, "InitDuration"), "Count")), 1);
	json_decref(m);
	faas_runtime_free(rt);

	/* both attempts fail: no environment, no cold start, no Init Duration */
	rt = flaky_runtime(&f, 2, 0);
	ck_assert_int_eq(faas_invoke(rt, "f", NULL, &o, &r), 0);
	ck_assert_ptr_null(strstr(r.log_tail, "\tInit Duration"));
	faas_result_clear(&r);
	ck_assert_int_eq(faas_metrics_json(rt, &m, NULL), 0);
	v = json_array_get(json_object_get(json_array_get(json_object_get(m, "Functions"), 0), "Versions"), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(v, "ColdStarts")), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(v, "Errors")), 1);
	json_decref(m);
	faas_runtime_free(rt);
}
END_TEST

/* ---- inline mode -------------------------------------------------------- */

static int advancing(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	(void)event;
	(void)ud;
	faas_clock_advance(faas_context_runtime(ctx), 3500); /* runs past its deadline */
	*response = json_string("late");
	return 0;
}

struct inline_case {
	const char *ident;
	const char *event;
	int reserve_a; /* -1: none */
};

static const struct inline_case inline_cases[] = {
	{ "a", "{\"x\":1}", -1 },
	{ "fails", "{}", -1 },
	{ "bare", "{}", -1 },
	{ "nobody", "{}", -1 },
	{ "a:live", "[1,2]", -1 },
	{ "a", "{}", 0 },
	{ "late", "{}", -1 },
	{ "a:nope", "{}", -1 },
	{ "a", "{bad", -1 },
};

static int fails_h(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	(void)event;
	(void)response;
	(void)ud;
	return faas_context_fail(ctx, "E", "failed");
}

static int bare_h(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	(void)ctx;
	(void)event;
	(void)response;
	(void)ud;
	return 3;
}

static char *run_case(bool inline_mode, const struct inline_case *c)
{
	faas_runtime_options_t o = t_options();
	faas_alias_config_t ac = FAAS_ALIAS_CONFIG_INIT;
	faas_result_t r = FAAS_RESULT_INIT;
	faas_runtime_t *rt;
	json_t *summary;
	char *text;
	int rc;

	o.inline_mode = inline_mode;
	rt = t_runtime_with(&o);
	t_create(rt, "a");
	t_publish(rt, "a");
	ac.function_version = 1;
	ck_assert_int_eq(faas_alias_create(rt, "a", "live", &ac, NULL), 0);
	t_create_fn(rt, "fails", fails_h, NULL);
	t_create_fn(rt, "bare", bare_h, NULL);
	t_create_fn(rt, "late", advancing, NULL);
	if (c->reserve_a >= 0)
		ck_assert_int_eq(faas_function_set_reserved_concurrency(rt, "a", c->reserve_a, NULL), 0);
	rc = faas_invoke_json(rt, c->ident, c->event, strlen(c->event), NULL, &r);
	/* request ids differ by nature: compare the rest */
	summary = json_pack("{s:i,s:i,s:i,s:O*,s:s,s:s?,s:s?}", "rc", rc, "status", r.status_code,
	                    "ferr", (int)r.function_error, "payload", r.payload, "ver",
	                    r.executed_version, "type", r.error_type, "reason", r.throttle_reason);
	json_object_del(summary, "payload_rid");
	if (json_is_object(r.payload) && json_object_get(r.payload, "errorMessage")) {
		/* strip the request id from platform messages */
		const char *m = json_string_value(json_object_get(r.payload, "errorMessage"));
		const char *p = strstr(m, " Error: ");
		json_object_set_new(json_object_get(summary, "payload"), "errorMessage",
		                    json_string(p ? p : m));
	}
	text = json_dumps(summary, JSON_SORT_KEYS | JSON_COMPACT);
	json_decref(summary);
	faas_result_clear(&r);
	faas_runtime_free(rt);
	return text;
}

START_TEST(inline_matches_pool)
{
	const struct inline_case *c = &inline_cases[_i];
	char *pool = run_case(false, c), *inl = run_case(true, c);

	ck_assert_str_eq(inl, pool);
	free(pool);
	free(inl);
}
END_TEST

/* ---- housekeeping ---------------------------------------------------------- */

static char freed_on[16];
static char spun_down_on[16];

static void note_free(void *p)
{
	(void)p;
	pthread_getname_np(pthread_self(), freed_on, sizeof(freed_on));
}

static void note_spindown(void *state, faas_shutdown_reason_t why, void *ud)
{
	(void)state;
	(void)ud;
	if (why == FAAS_SHUTDOWN_SPINDOWN)
		pthread_getname_np(pthread_self(), spun_down_on, sizeof(spun_down_on));
}

static int set_state(faas_context_t *ctx, void **state, void *ud)
{
	(void)ctx;
	*state = ud;
	return 0;
}

/* Destruction callbacks run on the housekeeping thread, never inside the
 * control-plane call that dropped the last reference. */
START_TEST(housekeeping_runs_destruction)
{
	static int ud;
	faas_function_config_t c = t_config(&ud);
	faas_result_t r = FAAS_RESULT_INIT;
	faas_error_detail_t d;
	faas_runtime_t *rt;

	for (int inl = 0; inl < 2; inl++) {
		faas_runtime_options_t o = t_options();
		o.inline_mode = inl;
		rt = t_runtime_with(&o);
		memset(freed_on, 0, sizeof(freed_on));
		memset(spun_down_on, 0, sizeof(spun_down_on));
		c.user_data_free = note_free;
		c.init = set_state;
		c.shutdown = note_spindown;
		ck_assert_ok(faas_function_create(rt, "f", &c, &d), d);
		ck_assert_int_eq(faas_invoke(rt, "f", NULL, NULL, &r), 0); /* a warm environment */
		faas_result_clear(&r);
		t_settle(rt);
		ck_assert_ok(faas_function_delete(rt, "f", NULL, &d), d);
		t_settle(rt);
		if (inl) { /* inline mode keeps everything on the caller's thread */
			ck_assert_str_ne(freed_on, "faas-housekeep");
			ck_assert_str_ne(freed_on, "");
		} else {
			ck_assert_str_eq(freed_on, "faas-housekeep");
			ck_assert_str_eq(spun_down_on, "faas-housekeep");
		}
		faas_runtime_free(rt);
	}
}
END_TEST

/* A reserved function that deletes itself from its own handler: its token
 * goes back to a pool that must still exist (ASan checks). */
static int self_delete(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	(void)event;
	(void)ud;
	faas_function_delete(faas_context_runtime(ctx), faas_context_function_name(ctx), NULL, NULL);
	*response = NULL;
	return 0;
}

START_TEST(delete_self_with_reservation)
{
	faas_result_t r = FAAS_RESULT_INIT;
	faas_error_detail_t d;

	for (int inl = 0; inl < 2; inl++) {
		faas_runtime_options_t o = t_options();
		faas_runtime_t *rt;
		o.inline_mode = inl;
		rt = t_runtime_with(&o);
		t_create_fn(rt, "gone", self_delete, NULL);
		ck_assert_ok(faas_function_set_reserved_concurrency(rt, "gone", 1, &d), d);
		ck_assert_int_eq(faas_invoke(rt, "gone", NULL, NULL, &r), 0);
		faas_result_clear(&r);
		t_settle(rt);
		ck_assert_uint_eq(faas_runtime_concurrent_executions(rt), 0);
		ck_assert_uint_eq(faas__registry_count(rt), 0);
		t_create(rt, "again"); /* the whole account is back */
		ck_assert_ok(faas_function_set_reserved_concurrency(rt, "again", 7, &d), d);
		faas_runtime_free(rt);
	}
}
END_TEST

/* user_data given again while an old version still runs with it: shared,
 * never freed twice nor while in use. */
static _Atomic int udata_frees;

static void count_udata_free(void *p)
{
	(void)p;
	atomic_fetch_add(&udata_frees, 1);
}

START_TEST(user_data_shared_with_a_running_version)
{
	static struct latch l;
	static int other;
	faas_function_config_t c = t_config(&l);
	faas_error_detail_t d;
	struct bg_invoke bg;
	faas_runtime_t *rt = t_runtime();

	atomic_store(&udata_frees, 0);
	latch_init(&l);
	c.handler = t_latch_handler;
	c.user_data_free = count_udata_free;
	ck_assert_ok(faas_function_create(rt, "f", &c, &d), d);
	bg_start(&bg, rt, "f");
	latch_wait_entered(&l, 1); /* $LATEST (user_data &l) is running */
	c.user_data = &other;
	ck_assert_ok(faas_function_update(rt, "f", &c, &d), d);
	c.user_data = &l; /* back to the pointer the running version still uses */
	ck_assert_ok(faas_function_update(rt, "f", &c, &d), d);
	latch_open(&l);
	bg_join(&bg);
	faas_result_clear(&bg.result);
	t_settle(rt);
	ck_assert_int_eq(atomic_load(&udata_frees), 1); /* &other only */
	faas_runtime_free(rt);
	ck_assert_int_eq(atomic_load(&udata_frees), 2); /* and &l, once */
	latch_destroy(&l);
}
END_TEST

/* ---- thread-start failure ------------------------------------------------ */

static uint32_t workers_when(faas_runtime_t *rt, uint32_t want, uint64_t limit_ns)
{
	uint64_t end = faas__real_mono_ns() + limit_ns;
	uint32_t n;

	while ((n = faas__workers_count(rt)) != want && faas__real_mono_ns() < end)
		usleep(2000);
	return n;
}

/* Idle workers sleep with no timeout; housekeeping retires them after
 * worker_idle_ms of real time (never sooner), even on a virtual clock that
 * does not move, and never the min_workers. A call after that starts one. */
START_TEST(idle_workers_retire)
{
	for (int virt = 0; virt < 2; virt++) {
		faas_runtime_options_t o = t_options();
		faas_function_config_t c = t_config(NULL);
		faas_result_t r = FAAS_RESULT_INIT;
		struct bg_invoke b[3];
		faas_error_detail_t d;
		faas_runtime_t *rt;
		struct latch l;
		uint64_t t0;
		int i;

		o.clock = virt ? FAAS_CLOCK_VIRTUAL : FAAS_CLOCK_REAL;
		o.worker_idle_ms = 150;
		o.min_workers = 1;
		o.max_concurrency = 4;
		rt = t_runtime_with(&o);
		latch_init(&l);
		c.handler = t_latch_handler;
		c.user_data = &l;
		ck_assert_ok(faas_function_create(rt, "held", &c, &d), d);
		for (i = 0; i < 3; i++)
			bg_start(&b[i], rt, "held");
		latch_wait_entered(&l, 3);
		ck_assert_uint_eq(faas__workers_count(rt), 3);
		t0 = faas__real_mono_ns();
		latch_open(&l);
		for (i = 0; i < 3; i++) {
			bg_join(&b[i]);
			ck_assert_int_eq(b[i].rc, 0);
			faas_result_clear(&b[i].result);
		}
		ck_assert_uint_eq(workers_when(rt, 1, 5000u * 1000000u), 1); /* the min_worker stays */
		ck_assert_uint_ge(faas__real_mono_ns() - t0, 150u * 1000000u);
		ck_assert_int_eq(faas_invoke(rt, "held", NULL, NULL, &r), 0); /* the latch is open */
		ck_assert_int_eq(r.function_error, FAAS_FUNCTION_ERROR_NONE);
		faas_result_clear(&r);
		faas_runtime_free(rt);
		latch_destroy(&l);
	}
}
END_TEST

/* A success destination that holds its worker (the attempt's continuation). */
static struct latch dest_latch;

static void held_destination(json_t *record, void *ud)
{
	(void)record;
	(void)ud;
	latch_pass(&dest_latch, NULL);
}

/* A worker still finishing (its continuation runs a destination) is on the
 * idle stack but never retired: only one waiting for mail is. */
START_TEST(finishing_worker_not_retired)
{
	faas_runtime_options_t o = t_options();
	faas_event_invoke_config_t ec = FAAS_EVENT_INVOKE_CONFIG_INIT;
	faas_invoke_options_t io = FAAS_INVOKE_OPTIONS_INIT;
	faas_result_t r = FAAS_RESULT_INIT;
	faas_error_detail_t d;
	faas_runtime_t *rt;

	o.worker_idle_ms = 50;
	rt = t_runtime_with(&o);
	t_create(rt, "f");
	latch_init(&dest_latch);
	ec.on_success.kind = FAAS_DESTINATION_CALLBACK;
	ec.on_success.callback = held_destination;
	ck_assert_ok(faas_function_set_event_invoke_config(rt, "f", NULL, &ec, &d), d);
	io.type = FAAS_INVOKE_EVENT;
	ck_assert_int_eq(faas_invoke(rt, "f", NULL, &io, &r), 0);
	faas_result_clear(&r);
	latch_wait_entered(&dest_latch, 1);
	usleep(300 * 1000); /* six idle times, housekeeping looking at least every one */
	ck_assert_uint_eq(faas__workers_count(rt), 1);
	latch_open(&dest_latch);
	ck_assert_uint_eq(workers_when(rt, 0, 5000u * 1000000u), 0); /* then it retires */
	faas_runtime_free(rt);
	latch_destroy(&dest_latch);
}
END_TEST

START_TEST(thread_start_failure_is_an_error)
{
	faas_runtime_options_t o = t_options();
	faas_result_t r = FAAS_RESULT_INIT;
	faas_error_detail_t d;
	faas_runtime_t *rt = t_runtime();

	t_create(rt, "f");
	faas__thread_fail_at(1, false);
	ck_assert_int_eq(faas_invoke(rt, "f", NULL, NULL, &r), FAAS_ETHREAD);
	ck_assert_int_eq(r.status_code, 500);
	ck_assert_str_eq(r.error_type, "ServiceException");
	ck_assert_str_eq(r.message, "could not start a worker thread");
	faas_result_clear(&r);
	ck_assert_uint_eq(faas_runtime_concurrent_executions(rt), 0); /* the token came back */
	ck_assert_int_eq(faas_invoke(rt, "f", NULL, NULL, &r), 0);
	faas_result_clear(&r);
	faas_runtime_free(rt);
	/* the housekeeping thread starts with the runtime */
	faas__thread_fail_at(1, false);
	rt = NULL;
	ck_assert_fail(faas_runtime_new(&rt, NULL, &d), d, FAAS_ETHREAD,
	               "could not start the housekeeping thread");
	ck_assert_ptr_null(rt);
	/* min_workers start with the runtime: a failure fails the runtime */
	o.min_workers = 3;
	faas__thread_fail_at(2, false);
	rt = NULL;
	ck_assert_fail(faas_runtime_new(&rt, &o, &d), d, FAAS_ETHREAD, "could not start a worker thread");
	ck_assert_ptr_null(rt);
	rt = t_runtime_with(&o);
	t_create(rt, "f");
	ck_assert_int_eq(faas_invoke(rt, "f", NULL, NULL, &r), 0);
	faas_result_clear(&r);
	faas_runtime_free(rt);
}
END_TEST

/* ---- shutdown ------------------------------------------------------------ */

static _Atomic long handler_calls_lc;

static int count_lc(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	(void)ctx;
	(void)event;
	(void)ud;
	atomic_fetch_add(&handler_calls_lc, 1);
	*response = NULL;
	return 0;
}

static _Atomic int nested_rc;

static int shutdown_from_handler(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	faas_runtime_t *rt = faas_context_runtime(ctx);

	(void)event;
	(void)ud;
	atomic_store(&nested_rc, faas_runtime_shutdown(rt, 0));
	faas_runtime_free(rt); /* refused: returns at once */
	*response = NULL;
	return 0;
}

START_TEST(shutdown_from_a_handler_is_refused)
{
	faas_runtime_t *rt = t_runtime();
	faas_result_t r = FAAS_RESULT_INIT;

	t_create_fn(rt, "f", shutdown_from_handler, NULL);
	ck_assert_int_eq(faas_invoke(rt, "f", NULL, NULL, &r), 0);
	ck_assert_int_eq(atomic_load(&nested_rc), FAAS_EDEADLK);
	faas_result_clear(&r);
	ck_assert_int_eq(faas_invoke(rt, "f", NULL, NULL, &r), 0); /* still running */
	faas_result_clear(&r);
	ck_assert_int_eq(faas_runtime_shutdown(rt, 1000), 0);
	ck_assert_int_eq(faas_invoke(rt, "f", NULL, NULL, &r), FAAS_ESHUTDOWN);
	ck_assert_int_eq(r.status_code, 500);
	ck_assert_str_eq(r.message, "the runtime is shut down");
	faas_result_clear(&r);
	ck_assert_int_eq(faas_runtime_shutdown(rt, 0), FAAS_ESHUTDOWN);
	faas_runtime_free(rt);
}
END_TEST

START_TEST(shutdown_drains_then_leaves_zombies)
{
	faas_runtime_t *rt = t_runtime();
	struct bg_invoke bg;
	struct latch l;

	memset(shutdowns, 0, sizeof(shutdowns));
	latch_init(&l);
	t_create_fn(rt, "stuck", t_latch_handler, &l);
	bg_start(&bg, rt, "stuck");
	latch_wait_entered(&l, 1);
	faas_clock_advance(rt, 3000); /* its caller gets the timeout */
	bg_join(&bg);
	ck_assert_str_eq(t_jstr(bg.result.payload, "errorType"), "Sandbox.Timedout");
	faas_result_clear(&bg.result);
	/* the handler does not return within the drain: a clear error */
	ck_assert_int_eq(faas_runtime_shutdown(rt, 20), FAAS_ETIMEDOUT);
	ck_assert_uint_eq(faas_runtime_concurrent_executions(rt), 1);
	/* the runtime can be freed while it runs: the zombie keeps the core alive */
	faas_runtime_free(rt);
	latch_open(&l);
	pthread_mutex_lock(&l.m);
	while (l.left < 1)
		pthread_cond_wait(&l.c, &l.m);
	pthread_mutex_unlock(&l.m);
	latch_destroy(&l);
}
END_TEST

START_TEST(shutdown_waits_for_in_flight)
{
	faas_runtime_options_t o = FAAS_RUNTIME_OPTIONS_INIT; /* real clock */
	faas_runtime_t *rt;
	struct bg_invoke bg;
	struct latch l;

	rt = t_runtime_with(&o);
	latch_init(&l);
	l.until_cancelled = true;
	t_create_fn(rt, "f", t_latch_handler, &l);
	bg_start(&bg, rt, "f");
	latch_wait_entered(&l, 1);
	latch_open(&l); /* returns soon: shutdown drains it */
	ck_assert_int_eq(faas_runtime_shutdown(rt, 10000), 0);
	bg_join(&bg);
	ck_assert_int_eq(bg.rc, 0);
	faas_result_clear(&bg.result);
	ck_assert_uint_eq(faas_runtime_concurrent_executions(rt), 0);
	faas_runtime_free(rt);
	latch_destroy(&l);
}
END_TEST

struct racer {
	faas_runtime_t *rt;
	long ok, shut, other;
};

static void *race_main(void *arg)
{
	struct racer *x = arg;
	faas_result_t r = FAAS_RESULT_INIT;
	int rc;

	for (;;) {
		rc = faas_invoke(x->rt, "f", NULL, NULL, &r);
		faas_result_clear(&r);
		if (rc == 0)
			x->ok++;
		else if (rc == FAAS_ESHUTDOWN)
			break;
		else
			x->other++;
	}
	x->shut = 1;
	return NULL;
}

START_TEST(shutdown_races_with_callers)
{
	faas_runtime_options_t o = t_options();
	struct racer x[3];
	pthread_t t[3];
	faas_runtime_t *rt;
	int i;

	o.max_concurrency = 8;
	rt = t_runtime_with(&o);
	atomic_store(&handler_calls_lc, 0);
	t_create_fn(rt, "f", count_lc, NULL);
	for (i = 0; i < 3; i++) {
		memset(&x[i], 0, sizeof(x[i]));
		x[i].rt = rt;
		ck_assert_int_eq(pthread_create(&t[i], NULL, race_main, &x[i]), 0);
	}
	/* let them get going, then pull the rug */
	while (atomic_load(&handler_calls_lc) < 300)
		sched_yield();
	ck_assert_int_eq(faas_runtime_shutdown(rt, 5000), 0);
	for (i = 0; i < 3; i++) {
		pthread_join(t[i], NULL);
		ck_assert_int_eq(x[i].other, 0);
		ck_assert_int_eq(x[i].shut, 1);
	}
	/* every call that returned 0 ran its handler exactly once */
	ck_assert_int_eq(x[0].ok + x[1].ok + x[2].ok, atomic_load(&handler_calls_lc));
	ck_assert_uint_eq(faas_runtime_concurrent_executions(rt), 0);
	faas_runtime_free(rt);
}
END_TEST

Suite *lifecycle_suite(void)
{
	Suite *s = suite_create("lifecycle");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, timeout_virtual_clock_exact);
	tcase_add_test(tc, timeout_real_clock_bounds);
	tcase_add_test(tc, timeout_real_clock_after_a_long_init);
	tcase_add_test(tc, timeout_late_handler_touches_nothing);
	tcase_add_test(tc, instances_init_once_and_reuse);
	tcase_add_test(tc, instances_one_invocation_each);
	tcase_add_test(tc, instances_reaped_after_keep_alive);
	tcase_add_test(tc, init_failure_retried_inside_the_invocation);
	tcase_add_test(tc, init_timeout_and_the_function_timeout);
	tcase_add_test(tc, init_retry_uses_the_invocation_time);
	tcase_add_loop_test(tc, inline_matches_pool, 0,
	                    (int)(sizeof(inline_cases) / sizeof(inline_cases[0])));
	tcase_add_test(tc, thread_start_failure_is_an_error);
	tcase_add_test(tc, idle_workers_retire);
	tcase_add_test(tc, finishing_worker_not_retired);
	tcase_add_test(tc, housekeeping_runs_destruction);
	tcase_add_test(tc, delete_self_with_reservation);
	tcase_add_test(tc, user_data_shared_with_a_running_version);
	tcase_add_test(tc, shutdown_from_a_handler_is_refused);
	tcase_add_test(tc, shutdown_drains_then_leaves_zombies);
	tcase_add_test(tc, shutdown_waits_for_in_flight);
	tcase_add_test(tc, shutdown_races_with_callers);
	suite_add_tcase(s, tc);
	return s;
}
