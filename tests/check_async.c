/*
 * libfaas tests — asynchronous invocation: queueing, retries and their
 * timing, event age, throttles, timeouts, destinations and their records,
 * the bounded queue, shutdown accounting. Virtual clock throughout, but
 * for two tests of the housekeeping thread's sleep.
 */
#include "tests.h"

#include <stdio.h>
#include <stdlib.h>

/* Records delivered to callback destinations, as sorted compact JSON. */
static struct {
	pthread_mutex_t m;
	char *rec[64]; /* the first 64 */
	int n;
} got = { .m = PTHREAD_MUTEX_INITIALIZER };

static void collect(json_t *record, void *ud)
{
	(void)ud;
	pthread_mutex_lock(&got.m);
	if (got.n < 64)
		got.rec[got.n] = json_dumps(record, JSON_SORT_KEYS | JSON_COMPACT);
	got.n++;
	pthread_mutex_unlock(&got.m);
}

static int ngot(void)
{
	int n;

	pthread_mutex_lock(&got.m);
	n = got.n;
	pthread_mutex_unlock(&got.m);
	return n;
}

static void reset_got(void)
{
	pthread_mutex_lock(&got.m);
	for (; got.n; got.n--)
		if (got.n <= 64)
			free(got.rec[got.n - 1]);
	pthread_mutex_unlock(&got.m);
}

/* An "Async" metric, once it reaches want (within 10 s: the pump may run on
 * another thread); what it is then, otherwise. */
static long async_metric(faas_runtime_t *rt, const char *key, long want)
{
	uint64_t end = faas__real_mono_ns() + 10000000000ull;
	faas_error_detail_t d;
	json_t *m;
	long v;

	for (;;) {
		ck_assert_ok(faas_metrics_json(rt, &m, &d), d);
		v = (long)json_integer_value(json_object_get(json_object_get(m, "Async"), key));
		json_decref(m);
		if (v == want || faas__real_mono_ns() > end)
			return v;
		sched_yield();
	}
}

static json_t *got_json(int i)
{
	json_t *j;

	pthread_mutex_lock(&got.m);
	j = json_loads(got.rec[i], 0, NULL);
	pthread_mutex_unlock(&got.m);
	return j;
}

static _Atomic int attempts;

/* {"fail":true} fails, {"reply":X} answers X. */
static int worker_h(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	(void)ud;
	atomic_fetch_add(&attempts, 1);
	if (json_is_true(json_object_get(event, "fail")))
		return faas_context_fail(ctx, "Boom", "it failed");
	*response = json_incref(json_object_get(event, "reply"));
	return 0;
}

static faas_runtime_t *setup(faas_runtime_options_t *o)
{
	faas_runtime_options_t def = t_options();
	faas_runtime_t *rt;

	reset_got();
	atomic_store(&attempts, 0);
	rt = t_runtime_with(o ? o : &def);
	t_create_fn(rt, "w", worker_h, NULL);
	return rt;
}

static void set_config(faas_runtime_t *rt, const char *qual, int retries, int64_t age_ms)
{
	faas_event_invoke_config_t c = FAAS_EVENT_INVOKE_CONFIG_INIT;
	faas_error_detail_t d;

	c.max_retry_attempts = retries;
	c.max_event_age_ms = age_ms;
	c.on_success.kind = FAAS_DESTINATION_CALLBACK;
	c.on_success.callback = collect;
	c.on_failure.kind = FAAS_DESTINATION_CALLBACK;
	c.on_failure.callback = collect;
	ck_assert_ok(faas_function_set_event_invoke_config(rt, "w", qual, &c, &d), d);
}

static void post(faas_runtime_t *rt, const char *ident, const char *json, char *rid)
{
	faas_invoke_options_t o = FAAS_INVOKE_OPTIONS_INIT;
	faas_result_t r = FAAS_RESULT_INIT;

	o.type = FAAS_INVOKE_EVENT;
	ck_assert_int_eq(faas_invoke_json(rt, ident, json, strlen(json), &o, &r), 0);
	ck_assert_int_eq(r.status_code, 202);
	ck_assert_ptr_null(r.payload);
	ck_assert_int_eq(strlen(r.request_id), 36);
	if (rid)
		strcpy(rid, r.request_id);
	faas_result_clear(&r);
}

static void advance(faas_runtime_t *rt, uint64_t ms)
{
	ck_assert_int_eq(faas_clock_advance(rt, ms), 0);
	t_settle(rt);
}

START_TEST(async_success_record_exact)
{
	faas_runtime_t *rt = setup(NULL);
	char rid[40], want[1024];

	set_config(rt, NULL, -1, 0);
	post(rt, "w", "{\"reply\":{\"ok\":1}}", rid);
	t_settle(rt);
	ck_assert_int_eq(atomic_load(&attempts), 1);
	ck_assert_int_eq(ngot(), 1);
	snprintf(want, sizeof(want),
	         "{\"requestContext\":{\"approximateInvokeCount\":1,\"condition\":\"Success\","
	         "\"functionArn\":\"arn:aws:lambda:us-east-1:123456789012:function:w:$LATEST\","
	         "\"requestId\":\"%s\"},\"requestPayload\":{\"reply\":{\"ok\":1}},"
	         "\"responseContext\":{\"executedVersion\":\"$LATEST\",\"statusCode\":200},"
	         "\"responsePayload\":{\"ok\":1},\"timestamp\":\"2023-11-14T22:13:20.000Z\","
	         "\"version\":\"1.0\"}",
	         rid);
	ck_assert_str_eq(got.rec[0], want);
	ck_assert_int_eq(async_metric(rt, "AsyncEventsReceived", 1), 1);
	ck_assert_int_eq(async_metric(rt, "Succeeded", 1), 1);
	faas_runtime_free(rt);
	reset_got();
}
END_TEST

/* Function errors: retried about 1 then 2 minutes later, then RetriesExhausted. */
START_TEST(async_retry_timing)
{
	faas_runtime_t *rt = setup(NULL);
	char rid[40], want[1024];

	set_config(rt, NULL, -1, 0);
	post(rt, "w", "{\"fail\":true}", rid);
	t_settle(rt);
	ck_assert_int_eq(atomic_load(&attempts), 1);
	advance(rt, 59999);
	ck_assert_int_eq(atomic_load(&attempts), 1);
	advance(rt, 1);
	ck_assert_int_eq(atomic_load(&attempts), 2);
	advance(rt, 119999);
	ck_assert_int_eq(atomic_load(&attempts), 2);
	ck_assert_int_eq(ngot(), 0);
	advance(rt, 1);
	ck_assert_int_eq(atomic_load(&attempts), 3);
	ck_assert_int_eq(ngot(), 1);
	snprintf(want, sizeof(want),
	         "{\"requestContext\":{\"approximateInvokeCount\":3,\"condition\":\"RetriesExhausted\","
	         "\"functionArn\":\"arn:aws:lambda:us-east-1:123456789012:function:w:$LATEST\","
	         "\"requestId\":\"%s\"},\"requestPayload\":{\"fail\":true},"
	         "\"responseContext\":{\"executedVersion\":\"$LATEST\",\"functionError\":\"Unhandled\","
	         "\"statusCode\":200},\"responsePayload\":{\"errorMessage\":\"it failed\","
	         "\"errorType\":\"Boom\",\"stackTrace\":[]},\"timestamp\":\"2023-11-14T22:16:20.000Z\","
	         "\"version\":\"1.0\"}",
	         rid);
	ck_assert_str_eq(got.rec[0], want);
	advance(rt, 3600000); /* nothing more */
	ck_assert_int_eq(atomic_load(&attempts), 3);
	faas_runtime_free(rt);
	reset_got();
}
END_TEST

START_TEST(async_retries_configurable_and_scaled)
{
	faas_runtime_options_t o = t_options();
	faas_runtime_t *rt;

	o.async_delay_scale = 0.001; /* minutes become 60 ms */
	rt = setup(&o);
	set_config(rt, NULL, 1, 0);
	post(rt, "w", "{\"fail\":true}", NULL);
	t_settle(rt);
	advance(rt, 59);
	ck_assert_int_eq(atomic_load(&attempts), 1);
	advance(rt, 1);
	ck_assert_int_eq(atomic_load(&attempts), 2);
	ck_assert_int_eq(ngot(), 1); /* one retry only */
	set_config(rt, NULL, 0, 0);
	post(rt, "w", "{\"fail\":true}", NULL);
	t_settle(rt);
	ck_assert_int_eq(atomic_load(&attempts), 3);
	ck_assert_int_eq(ngot(), 2);
	faas_runtime_free(rt);
	reset_got();
}
END_TEST

/* The age limit is checked before each attempt. */
START_TEST(async_event_age)
{
	faas_runtime_t *rt = setup(NULL);
	json_t *rec;

	set_config(rt, NULL, 2, 90000);
	post(rt, "w", "{\"fail\":true}", NULL);
	t_settle(rt);
	advance(rt, 60000); /* second attempt, at 60 s */
	ck_assert_int_eq(atomic_load(&attempts), 2);
	advance(rt, 120000); /* the third would be at 180 s: too old */
	ck_assert_int_eq(atomic_load(&attempts), 2);
	ck_assert_int_eq(ngot(), 1);
	rec = got_json(0);
	ck_assert_str_eq(t_jstr(json_object_get(rec, "requestContext"), "condition"), "EventAgeExceeded");
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(rec, "requestContext"),
	                                                    "approximateInvokeCount")), 2);
	json_decref(rec);
	faas_runtime_free(rt);
	reset_got();
}
END_TEST

static int blocked_h(faas_context_t *ctx, json_t *event, json_t **response, void *ud);

/* Throttles back off (1 s, 2 s, 4 s ...) without using up retries. */
START_TEST(async_throttle_requeue)
{
	faas_runtime_t *rt = setup(NULL);
	faas_event_invoke_config_t c = FAAS_EVENT_INVOKE_CONFIG_INIT;
	faas_error_detail_t d;
	struct bg_invoke bg;
	struct latch l;
	json_t *rec;

	latch_init(&l);
	t_create_fn(rt, "h", blocked_h, &l);
	ck_assert_ok(faas_function_set_reserved_concurrency(rt, "h", 1, &d), d);
	c.max_retry_attempts = 0;
	c.on_success.kind = FAAS_DESTINATION_CALLBACK;
	c.on_success.callback = collect;
	ck_assert_ok(faas_function_set_event_invoke_config(rt, "h", NULL, &c, &d), d);
	bg_start(&bg, rt, "h"); /* a sync call holds h's only slot */
	latch_wait_entered(&l, 1);
	post(rt, "h", "{}", NULL);
	ck_assert_int_eq(async_metric(rt, "Throttles", 1), 1);
	ck_assert_int_eq(faas_clock_advance(rt, 999), 0);
	ck_assert_int_eq(faas_clock_advance(rt, 1), 0); /* 1 s later: again */
	ck_assert_int_eq(async_metric(rt, "Throttles", 2), 2);
	ck_assert_int_eq(faas_clock_advance(rt, 2000), 0); /* then 2 s */
	ck_assert_int_eq(async_metric(rt, "Throttles", 3), 3);
	latch_open(&l);
	bg_join(&bg);
	faas_result_clear(&bg.result);
	t_settle(rt);
	ck_assert_int_eq(atomic_load(&attempts), 1); /* the sync call only */
	advance(rt, 3999); /* the next try is 4 s after the last */
	ck_assert_int_eq(atomic_load(&attempts), 1);
	advance(rt, 1);
	ck_assert_int_eq(atomic_load(&attempts), 2);
	ck_assert_int_eq(ngot(), 1);
	rec = got_json(0);
	ck_assert_str_eq(t_jstr(json_object_get(rec, "requestContext"), "condition"), "Success");
	/* throttles are not attempts: max_retry_attempts 0 did not stop it */
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(rec, "requestContext"),
	                                                    "approximateInvokeCount")), 1);
	json_decref(rec);
	faas_runtime_free(rt);
	latch_destroy(&l);
	reset_got();
}
END_TEST

/* Reserved concurrency 0: straight to the failure path, no retries. */
START_TEST(async_reserved_zero)
{
	faas_runtime_t *rt = setup(NULL);
	faas_error_detail_t d;
	char rid[40], want[1024];

	set_config(rt, NULL, 2, 0);
	ck_assert_ok(faas_function_set_reserved_concurrency(rt, "w", 0, &d), d);
	post(rt, "w", "{\"n\":1}", rid);
	t_settle(rt);
	ck_assert_int_eq(atomic_load(&attempts), 0);
	ck_assert_int_eq(ngot(), 1);
	snprintf(want, sizeof(want),
	         "{\"requestContext\":{\"approximateInvokeCount\":0,\"condition\":\"RetriesExhausted\","
	         "\"functionArn\":\"arn:aws:lambda:us-east-1:123456789012:function:w:$LATEST\","
	         "\"requestId\":\"%s\"},\"requestPayload\":{\"n\":1},"
	         "\"timestamp\":\"2023-11-14T22:13:20.000Z\",\"version\":\"1.0\"}",
	         rid);
	ck_assert_str_eq(got.rec[0], want);
	faas_runtime_free(rt);
	reset_got();
}
END_TEST

static int blocked_h(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	atomic_fetch_add(&attempts, 1);
	return t_latch_handler(ctx, event, response, ud);
}

/* A handler past its timeout: the attempt is a timeout at the deadline,
 * even though the handler has not returned. */
START_TEST(async_timeout_at_the_deadline)
{
	faas_runtime_t *rt = setup(NULL);
	faas_event_invoke_config_t c = FAAS_EVENT_INVOKE_CONFIG_INIT;
	faas_error_detail_t d;
	struct latch l;
	json_t *rec, *resp;

	latch_init(&l);
	t_create_fn(rt, "slow", blocked_h, &l); /* timeout 3 s */
	c.max_retry_attempts = 0;
	c.on_failure.kind = FAAS_DESTINATION_CALLBACK;
	c.on_failure.callback = collect;
	ck_assert_ok(faas_function_set_event_invoke_config(rt, "slow", NULL, &c, &d), d);
	post(rt, "slow", "{}", NULL);
	latch_wait_entered(&l, 1);
	ck_assert_int_eq(faas_clock_advance(rt, 2999), 0);
	ck_assert_int_eq(ngot(), 0);
	ck_assert_int_eq(faas_clock_advance(rt, 1), 0);
	while (ngot() == 0) /* the pump notices on the housekeeping thread */
		sched_yield();
	rec = got_json(0);
	resp = json_object_get(rec, "responsePayload");
	ck_assert_str_eq(t_jstr(resp, "errorType"), "Sandbox.Timedout");
	ck_assert_ptr_nonnull(strstr(t_jstr(resp, "errorMessage"), "Task timed out after 3.00 seconds"));
	ck_assert_str_eq(t_jstr(json_object_get(rec, "responseContext"), "functionError"), "Unhandled");
	json_decref(rec);
	ck_assert_uint_eq(faas_runtime_concurrent_executions(rt), 1); /* still running */
	latch_open(&l);
	t_settle(rt);
	ck_assert_int_eq(ngot(), 1); /* its late answer changes nothing */
	faas_runtime_free(rt);
	latch_destroy(&l);
	reset_got();
}
END_TEST

static _Atomic int sink_calls;
static char sink_event[1024];

static int sink_h(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	char *s = json_dumps(event, JSON_SORT_KEYS | JSON_COMPACT);

	(void)ctx;
	(void)ud;
	(void)response;
	snprintf(sink_event, sizeof(sink_event), "%s", s);
	free(s);
	atomic_fetch_add(&sink_calls, 1);
	return 0;
}

START_TEST(async_function_destination)
{
	faas_runtime_t *rt = setup(NULL);
	faas_event_invoke_config_t c = FAAS_EVENT_INVOKE_CONFIG_INIT;
	faas_error_detail_t d;
	json_t *ev;

	t_create_fn(rt, "sink", sink_h, NULL);
	c.max_retry_attempts = 0;
	c.on_failure.kind = FAAS_DESTINATION_FUNCTION;
	c.on_failure.function = "arn:aws:lambda:us-east-1:123456789012:function:sink";
	ck_assert_ok(faas_function_set_event_invoke_config(rt, "w", NULL, &c, &d), d);
	atomic_store(&sink_calls, 0);
	post(rt, "w", "{\"fail\":true}", NULL);
	t_settle(rt);
	ck_assert_int_eq(atomic_load(&sink_calls), 1);
	ev = json_loads(sink_event, 0, NULL);
	ck_assert_str_eq(t_jstr(json_object_get(ev, "requestContext"), "condition"), "RetriesExhausted");
	ck_assert(json_is_true(json_object_get(json_object_get(ev, "requestPayload"), "fail")));
	json_decref(ev);
	faas_runtime_free(rt);
}
END_TEST

/* The queue is bounded: beyond it, FAAS_EAGAIN (429, AsyncQueueFull), nothing blocks. */
START_TEST(async_queue_full)
{
	faas_runtime_options_t o = t_options();
	faas_invoke_options_t io = FAAS_INVOKE_OPTIONS_INIT;
	faas_result_t r = FAAS_RESULT_INIT;
	faas_runtime_t *rt;
	struct latch l;

	o.async_queue_max = 2;
	o.async_max_inflight = 1;
	rt = setup(&o);
	latch_init(&l);
	t_create_fn(rt, "slow", blocked_h, &l);
	post(rt, "slow", "{}", NULL);
	latch_wait_entered(&l, 1); /* one running */
	post(rt, "slow", "{}", NULL); /* one waiting */
	io.type = FAAS_INVOKE_EVENT;
	ck_assert_int_eq(faas_invoke(rt, "slow", NULL, &io, &r), FAAS_EAGAIN);
	ck_assert_int_eq(r.status_code, 429);
	ck_assert_str_eq(r.error_type, "TooManyRequestsException");
	ck_assert_str_eq(r.throttle_reason, "AsyncQueueFull");
	ck_assert_ptr_nonnull(strstr(r.message, "queue is full"));
	faas_result_clear(&r);
	latch_open(&l);
	t_settle(rt);
	ck_assert_int_eq(atomic_load(&attempts), 2);
	post(rt, "slow", "{}", NULL); /* room again */
	t_settle(rt);
	faas_runtime_free(rt);
	latch_destroy(&l);
}
END_TEST

/* Events waiting for an async slot give the housekeeping thread no reason
 * to wake: the attempt that frees the slot starts the next. The one test
 * here on the real clock, where it once woke at the waiting event's due
 * time, already past, and spun; it measures the process's CPU time over a
 * real-time wait, with every other thread blocked. */
START_TEST(async_waiting_for_a_slot_does_not_spin)
{
	faas_runtime_options_t o = FAAS_RUNTIME_OPTIONS_INIT;
	faas_function_config_t c = t_config(NULL);
	faas_error_detail_t d;
	faas_runtime_t *rt;
	struct latch l;
	uint64_t cpu;

	o.seed = 42;
	o.async_max_inflight = 1;
	atomic_store(&attempts, 0);
	rt = t_runtime_with(&o);
	latch_init(&l);
	c.handler = blocked_h;
	c.user_data = &l;
	c.timeout_ms = 600000; /* the attempt's deadline is no reason to wake either */
	ck_assert_ok(faas_function_create(rt, "slow", &c, &d), d);
	post(rt, "slow", "{}", NULL);
	latch_wait_entered(&l, 1); /* the one slot taken */
	post(rt, "slow", "{}", NULL);
	post(rt, "slow", "{}", NULL); /* due, waiting */
	/* a dropped function wakes the housekeeping thread, to destroy it */
	t_create_fn(rt, "gone", worker_h, NULL);
	ck_assert_ok(faas_function_delete(rt, "gone", NULL, &d), d);
	cpu = t_process_cpu_ns();
	faas__sleep_ms(300);
	cpu = t_process_cpu_ns() - cpu;
	ck_assert_msg(cpu < 100u * 1000000u, "%.1f ms of CPU in 300 ms with every thread idle",
	              (double)cpu / 1e6);
	latch_open(&l);
	ck_assert_int_eq(faas_test_quiesce(rt, 10000), 0);
	ck_assert_int_eq(atomic_load(&attempts), 3); /* the freed slot started the others */
	faas_runtime_free(rt);
	latch_destroy(&l);
}
END_TEST

static struct latch stage[2];
static _Atomic int retried;

/* {"hold":i} waits at stage[i]; {"failonce":true} fails its first attempt. */
static int stage_h(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	json_t *hold = json_object_get(event, "hold");

	(void)ud;
	(void)response;
	if (hold) {
		latch_pass(&stage[json_integer_value(hold)], ctx);
		return 0;
	}
	if (atomic_fetch_add(&retried, 1) == 0)
		return faas_context_fail(ctx, "Boom", "the first attempt fails");
	return 0;
}

/* A retry due while every slot was taken is not forgotten: the attempt that
 * frees the slot sees it is not due yet and has the pump wake for it. Real
 * clock, as above: the pump's plan, made with every slot taken, leaves the
 * queue out, and only a real clock wakes it at the retry's time. */
START_TEST(async_retry_due_after_a_full_plan_runs)
{
	faas_runtime_options_t o = FAAS_RUNTIME_OPTIONS_INIT;
	faas_function_config_t c = t_config(NULL);
	faas_error_detail_t d;
	faas_runtime_t *rt;
	uint64_t t0;

	o.seed = 42;
	o.max_concurrency = 4;
	o.min_workers = 4; /* no retirement wakes the housekeeping thread */
	o.async_max_inflight = 1;
	o.async_delay_scale = 1.0 / 300; /* the first retry after 200 ms */
	atomic_store(&retried, 0);
	rt = t_runtime_with(&o);
	latch_init(&stage[0]);
	latch_init(&stage[1]);
	c.handler = stage_h;
	c.timeout_ms = 600000; /* no attempt deadline wakes it either */
	ck_assert_ok(faas_function_create(rt, "f", &c, &d), d);
	post(rt, "f", "{\"hold\":0}", NULL);
	latch_wait_entered(&stage[0], 1); /* the slot taken */
	post(rt, "f", "{\"failonce\":true}", NULL);
	post(rt, "f", "{\"hold\":1}", NULL);
	latch_open(&stage[0]); /* the failure is queued for later, the next one holds */
	latch_wait_entered(&stage[1], 1);
	t0 = faas__real_mono_ns();
	latch_open(&stage[1]); /* the slot is free, the retry not yet due */
	/* due 200 ms after the failure; forgotten, it waited for an unrelated
	 * wake-up (the held attempt's deadline, 600 s) */
	while (atomic_load(&retried) < 2 && faas__real_mono_ns() - t0 < 3000000000ull)
		sched_yield();
	ck_assert_msg(atomic_load(&retried) == 2, "no retry %.1f s after the slot was freed",
	              (double)(faas__real_mono_ns() - t0) / 1e9);
	ck_assert_int_eq(faas_test_quiesce(rt, 10000), 0);
	faas_runtime_free(rt);
	latch_destroy(&stage[0]);
	latch_destroy(&stage[1]);
}
END_TEST

static _Atomic int undelivered;

static void count_undelivered(json_t *record, void *ud)
{
	(void)ud;
	ck_assert_str_eq(t_jstr(json_object_get(record, "requestContext"), "condition"), "Shutdown");
	atomic_fetch_add(&undelivered, 1);
}

/* Shutdown: what is still queued ends in the failure destination or, with
 * none, in `undelivered`; every event is accounted for. */
START_TEST(async_shutdown_accounts_for_everything)
{
	faas_runtime_options_t o = t_options();
	faas_event_invoke_config_t c = FAAS_EVENT_INVOKE_CONFIG_INIT;
	faas_error_detail_t d;
	faas_runtime_t *rt;
	json_t *m, *a;
	int i, n = (int)t_scaled(300), ok = 0, w_ok = 0, w_failed = 0, v_failed = 0;

	o.async_undelivered = count_undelivered;
	atomic_store(&undelivered, 0);
	rt = setup(&o);
	t_create_fn(rt, "v", worker_h, NULL);
	set_config(rt, NULL, 2, 0); /* w: both outcomes to the callback */
	c.max_retry_attempts = 2;   /* v: no destination */
	ck_assert_ok(faas_function_set_event_invoke_config(rt, "v", NULL, &c, &d), d);
	for (i = 0; i < n; i++) {
		bool fail = i % 3 != 0;
		post(rt, i % 2 ? "w" : "v", fail ? "{\"fail\":true}" : "{\"reply\":1}", NULL);
		ok += !fail;
		w_ok += !fail && i % 2;
		w_failed += fail && i % 2;
		v_failed += fail && !(i % 2);
	}
	t_settle(rt); /* first attempts done; the failed ones wait a minute for their retry */
	ck_assert_int_eq(faas_runtime_shutdown(rt, 0), 0);
	ck_assert_ok(faas_metrics_json(rt, &m, &d), d);
	a = json_object_get(m, "Async");
	ck_assert_int_eq(json_integer_value(json_object_get(a, "AsyncEventsReceived")), n);
	ck_assert_int_eq(json_integer_value(json_object_get(a, "Succeeded")), ok);
	ck_assert_int_eq(json_integer_value(json_object_get(a, "Failed")), w_failed + v_failed);
	ck_assert_int_eq(json_integer_value(json_object_get(a, "Shutdown")), w_failed + v_failed);
	ck_assert_int_eq(json_integer_value(json_object_get(a, "Retries")), w_failed + v_failed);
	ck_assert_int_eq(json_integer_value(json_object_get(a, "AsyncEventsDropped")), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(a, "Undelivered")), v_failed);
	ck_assert_int_eq(json_integer_value(json_object_get(a, "Queued")), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(a, "InFlight")), 0);
	/* w's successes and failures reached its destinations, v's failures undelivered */
	ck_assert_int_eq(ngot(), w_ok + w_failed);
	ck_assert_int_eq(atomic_load(&undelivered), v_failed);
	json_decref(m);
	faas_runtime_free(rt);
	reset_got();
}
END_TEST

START_TEST(async_bad_requests)
{
	faas_runtime_options_t o = t_options();
	faas_event_invoke_config_t c = FAAS_EVENT_INVOKE_CONFIG_INIT;
	faas_invoke_options_t io = FAAS_INVOKE_OPTIONS_INIT;
	faas_result_t r = FAAS_RESULT_INIT;
	faas_error_detail_t d;
	faas_runtime_t *rt;

	o.max_async_request_bytes = 10;
	rt = setup(&o);
	io.type = FAAS_INVOKE_EVENT;
	ck_assert_int_eq(faas_invoke_json(rt, "w", "{\"a\":12345}", 11, &io, &r), FAAS_ETOOLARGE);
	ck_assert_int_eq(r.status_code, 413);
	ck_assert_str_eq(r.message, "11 byte payload is too large for the Event invocation type (limit 10 bytes)");
	faas_result_clear(&r);
	ck_assert_int_eq(faas_invoke(rt, "nobody", NULL, &io, &r), FAAS_ENOTFOUND);
	faas_result_clear(&r);
	ck_assert_int_eq(faas_invoke_json(rt, "w", "{", 1, &io, &r), FAAS_EBADJSON);
	faas_result_clear(&r);
	c.max_retry_attempts = 3;
	ck_assert_fail(faas_function_set_event_invoke_config(rt, "w", NULL, &c, &d), d, FAAS_EINVAL,
	               "maximumRetryAttempts");
	c.max_retry_attempts = -1;
	c.max_event_age_ms = 21600001;
	ck_assert_fail(faas_function_set_event_invoke_config(rt, "w", NULL, &c, &d), d, FAAS_EINVAL,
	               "6 hours");
	c.max_event_age_ms = 0;
	c.on_failure.kind = FAAS_DESTINATION_CALLBACK;
	ck_assert_fail(faas_function_set_event_invoke_config(rt, "w", NULL, &c, &d), d, FAAS_EINVAL,
	               "needs a callback");
	c.on_failure.kind = FAAS_DESTINATION_FUNCTION;
	ck_assert_fail(faas_function_set_event_invoke_config(rt, "w", NULL, &c, &d), d, FAAS_EINVAL,
	               "needs a function name");
	c.on_failure.kind = (faas_destination_kind_t)7;
	ck_assert_fail(faas_function_set_event_invoke_config(rt, "w", NULL, &c, &d), d, FAAS_EINVAL,
	               "unknown destination kind 7");
	c.on_failure.kind = FAAS_DESTINATION_NONE;
	c.version = 9;
	ck_assert_fail(faas_function_set_event_invoke_config(rt, "w", NULL, &c, &d), d, FAAS_EINVAL,
	               "unsupported faas_event_invoke_config_t version 9");
	c.version = FAAS_EVENT_INVOKE_CONFIG_VERSION;
	ck_assert_fail(faas_function_set_event_invoke_config(rt, "nobody", NULL, &c, &d), d,
	               FAAS_ENOTFOUND, "Function not found");
	ck_assert_fail(faas_function_set_event_invoke_config(rt, "w", "7", &c, &d), d, FAAS_ENOTFOUND,
	               "Function not found");
	ck_assert_fail(faas_function_set_event_invoke_config(rt, "w", "live", &c, &d), d,
	               FAAS_ENOTFOUND, "Function not found");
	ck_assert_fail(faas_function_set_event_invoke_config(rt, "w", NULL, NULL, &d), d,
	               FAAS_ENOTFOUND, "doesn't have an EventInvokeConfig");
	ck_assert_ok(faas_function_set_event_invoke_config(rt, "w", NULL, &c, &d), d);
	ck_assert_ok(faas_function_set_event_invoke_config(rt, "w", NULL, NULL, &d), d);
	ck_assert_int_eq(faas_function_set_event_invoke_config(NULL, "w", NULL, &c, NULL), FAAS_EINVAL);
	ck_assert_int_eq(faas_runtime_shutdown(rt, 0), 0);
	ck_assert_int_eq(faas_invoke(rt, "w", NULL, &io, &r), FAAS_ESHUTDOWN);
	faas_result_clear(&r);
	ck_assert_fail(faas_function_set_event_invoke_config(rt, "w", NULL, &c, &d), d, FAAS_ESHUTDOWN,
	               "shut down");
	faas_runtime_free(rt);
}
END_TEST

/* The version is chosen when the event is queued, the config is the
 * invoked qualifier's. */
START_TEST(async_version_chosen_at_enqueue)
{
	faas_runtime_t *rt = setup(NULL);
	faas_alias_config_t ac = FAAS_ALIAS_CONFIG_INIT;
	faas_error_detail_t d;
	json_t *rec;

	ck_assert_int_eq(t_publish(rt, "w"), 1);
	t_touch(rt, "w", "two"); /* t_config's handler: fine for version 2 */
	ck_assert_int_eq(t_publish(rt, "w"), 2);
	ac.function_version = 1;
	ck_assert_ok(faas_alias_create(rt, "w", "live", &ac, &d), d);
	set_config(rt, "live", 1, 0);
	post(rt, "w:live", "{\"fail\":true}", NULL);
	t_settle(rt);
	ac.function_version = 2; /* moves before the retry */
	ck_assert_ok(faas_alias_update(rt, "w", "live", &ac, &d), d);
	advance(rt, 60000);
	ck_assert_int_eq(atomic_load(&attempts), 2); /* both on version 1's handler */
	ck_assert_int_eq(ngot(), 1);
	rec = got_json(0);
	ck_assert_str_eq(t_jstr(json_object_get(rec, "responseContext"), "executedVersion"), "1");
	ck_assert_str_eq(t_jstr(json_object_get(rec, "requestContext"), "functionArn"),
	                 "arn:aws:lambda:us-east-1:123456789012:function:w:1");
	json_decref(rec);
	/* an unqualified event has no config ($LATEST has none): dropped, counted */
	post(rt, "w", "{\"fail\":true}", NULL);
	advance(rt, 3600000);
	ck_assert_int_eq(ngot(), 1);
	faas_runtime_free(rt);
	reset_got();
}
END_TEST

static struct {
	pthread_mutex_t m;
	int n;
	char last[512];
} dlq = { .m = PTHREAD_MUTEX_INITIALIZER };

static void to_dlq(json_t *event, const faas_dead_letter_info_t *info, void *ud)
{
	char *e = json_dumps(event, JSON_SORT_KEYS | JSON_COMPACT);

	pthread_mutex_lock(&dlq.m);
	dlq.n++;
	snprintf(dlq.last, sizeof(dlq.last), "%s|%s|%d|%s|%s", e, info->request_id, info->error_code,
	         info->error_message, (const char *)ud);
	pthread_mutex_unlock(&dlq.m);
	free(e);
}

/* Lambda's DLQ: the event itself with RequestID, ErrorCode, ErrorMessage;
 * part of the version's config, so both versions of a routed alias agree. */
START_TEST(async_dead_letter)
{
	faas_runtime_t *rt = setup(NULL);
	faas_function_config_t c = t_config(NULL);
	faas_alias_config_t ac = FAAS_ALIAS_CONFIG_INIT;
	faas_error_detail_t d;
	char rid[40], want[600];

	c.handler = worker_h;
	c.dead_letter = to_dlq;
	c.dead_letter_user_data = (void *)"dlq-1";
	ck_assert_ok(faas_function_create(rt, "dl", &c, &d), d);
	ck_assert_int_eq(t_publish(rt, "dl"), 1);
	set_config(rt, NULL, 0, 0); /* w's config: unrelated */
	{
		faas_event_invoke_config_t ec = FAAS_EVENT_INVOKE_CONFIG_INIT;
		ec.max_retry_attempts = 0;
		ck_assert_ok(faas_function_set_event_invoke_config(rt, "dl", NULL, &ec, &d), d);
	}
	dlq.n = 0;
	post(rt, "dl", "{\"fail\":true,\"k\":1}", rid);
	t_settle(rt);
	ck_assert_int_eq(dlq.n, 1);
	snprintf(want, sizeof(want), "{\"fail\":true,\"k\":1}|%s|200|it failed|dlq-1", rid);
	ck_assert_str_eq(dlq.last, want);
	/* a routed alias needs the same dead-letter config on both versions */
	c.dead_letter_user_data = (void *)"dlq-2";
	c.description = "two";
	ck_assert_ok(faas_function_update(rt, "dl", &c, &d), d);
	ck_assert_int_eq(t_publish(rt, "dl"), 2);
	ac.function_version = 1;
	ac.additional_version = 2;
	ac.additional_weight = 0.5;
	ck_assert_fail(faas_alias_create(rt, "dl", "canary", &ac, &d), d, FAAS_EINVAL,
	               "same dead-letter configuration");
	/* the published version keeps the sink it was published with (default
	 * config for "dl:1": two retries, then the dead-letter sink) */
	post(rt, "dl:1", "{\"fail\":true}", NULL);
	t_settle(rt);
	advance(rt, 60000);
	advance(rt, 120000);
	ck_assert_int_eq(dlq.n, 2);
	ck_assert_ptr_nonnull(strstr(dlq.last, "|dlq-1"));
	faas_runtime_free(rt);
	reset_got();
}
END_TEST

static int forward_h(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	faas_invoke_options_t o = FAAS_INVOKE_OPTIONS_INIT;
	faas_result_t r = FAAS_RESULT_INIT;

	(void)ud;
	(void)response;
	atomic_fetch_add(&attempts, 1);
	o.type = FAAS_INVOKE_EVENT;
	faas_context_invoke(ctx, "loop", event, &o, &r);
	faas_result_clear(&r);
	return 0;
}

/* An async loop stops at the 17th hop, without retries (DESIGN 9.13). */
START_TEST(async_recursion_stops)
{
	faas_runtime_t *rt = setup(NULL);

	t_create_fn(rt, "loop", forward_h, NULL);
	post(rt, "loop", "{}", NULL);
	t_settle(rt);
	ck_assert_int_eq(atomic_load(&attempts), 16);
	ck_assert_int_eq(async_metric(rt, "RecursiveInvocationsDropped", 1), 1);
	faas_runtime_free(rt);
}
END_TEST

/* At-least-once, on purpose: every 2nd event is delivered twice. */
START_TEST(async_duplicates_injected)
{
	faas_runtime_options_t o = t_options();
	faas_runtime_t *rt;
	int i;

	o.async_duplicate_every = 2;
	rt = setup(&o);
	set_config(rt, NULL, -1, 0);
	for (i = 0; i < 10; i++)
		post(rt, "w", "{\"reply\":1}", NULL);
	t_settle(rt);
	ck_assert_int_eq(atomic_load(&attempts), 15);
	ck_assert_int_eq(ngot(), 10); /* destinations see each event once */
	ck_assert_int_eq(async_metric(rt, "DuplicatesInjected", 5), 5);
	ck_assert_int_eq(async_metric(rt, "Succeeded", 10), 10);
	faas_runtime_free(rt);
	reset_got();
}
END_TEST

/* ---- nothing lost: a mixed stream, shut down mid-way ------------------------ */

static _Atomic unsigned char *seen;
static _Atomic long seen_twice;

static void mark_seen(json_t *record, void *ud)
{
	json_int_t id = json_integer_value(json_object_get(json_object_get(record, "requestPayload"), "id"));

	(void)ud;
	if (atomic_fetch_add(&seen[id], 1) != 0)
		atomic_fetch_add(&seen_twice, 1);
}

static int mixed_h(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	const char *kind = json_string_value(json_object_get(event, "kind"));

	(void)ud;
	if (!strcmp(kind, "fail"))
		return faas_context_fail(ctx, "Boom", "failed");
	if (!strcmp(kind, "slow")) /* its time runs out while it works */
		faas_clock_advance(faas_context_runtime(ctx), 3001);
	*response = json_integer(1);
	return 0;
}

START_TEST(async_nothing_lost)
{
	faas_runtime_options_t o = t_options();
	faas_event_invoke_config_t c = FAAS_EVENT_INVOKE_CONFIG_INIT;
	faas_invoke_options_t io = FAAS_INVOKE_OPTIONS_INIT;
	static const char *const fns[] = { "ok", "fail", "slow", "thr0", "thr1" };
	static const char *const kinds[] = { "ok", "fail", "slow", "ok", "ok" };
	faas_error_detail_t d;
	faas_runtime_t *rt;
	json_t *m, *a;
	long n = t_scaled(100000), i, missing = 0;
	char body[64];

	o.async_queue_max = (uint32_t)n;
	o.async_delay_scale = 0.001;
	rt = t_runtime_with(&o);
	seen = calloc((size_t)n, 1);
	atomic_store(&seen_twice, 0);
	c.max_retry_attempts = 1;
	c.on_success.kind = c.on_failure.kind = FAAS_DESTINATION_CALLBACK;
	c.on_success.callback = c.on_failure.callback = mark_seen;
	for (i = 0; i < 5; i++) {
		t_create_fn(rt, fns[i], mixed_h, NULL);
		ck_assert_ok(faas_function_set_event_invoke_config(rt, fns[i], NULL, &c, &d), d);
	}
	ck_assert_ok(faas_function_set_reserved_concurrency(rt, "thr0", 0, &d), d); /* straight to failure */
	ck_assert_ok(faas_function_set_reserved_concurrency(rt, "thr1", 1, &d), d); /* throttles */
	io.type = FAAS_INVOKE_EVENT;
	for (i = 0; i < n; i++) {
		faas_result_t r = FAAS_RESULT_INIT;
		int len = snprintf(body, sizeof(body), "{\"id\":%ld,\"kind\":\"%s\"}", i, kinds[i % 5]);
		ck_assert_int_eq(faas_invoke_json(rt, fns[i % 5], body, (size_t)len, &io, &r), 0);
		faas_result_clear(&r);
		if (i == n / 2)
			faas_clock_advance(rt, 100); /* retries and backoffs come due meanwhile */
	}
	/* mid-stream: many are queued, some run, some wait for a retry */
	faas_runtime_shutdown(rt, 0);
	t_settle(rt); /* attempts that were running finish on their workers */
	ck_assert_ok(faas_metrics_json(rt, &m, &d), d);
	a = json_object_get(m, "Async");
	ck_assert_int_eq(json_integer_value(json_object_get(a, "AsyncEventsReceived")), n);
	ck_assert_int_eq(json_integer_value(json_object_get(a, "Succeeded")) +
	                         json_integer_value(json_object_get(a, "Failed")),
	                 n);
	ck_assert_int_eq(json_integer_value(json_object_get(a, "AsyncEventsDropped")), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(a, "DestinationDeliveryFailures")), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(a, "Queued")), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(a, "InFlight")), 0);
	json_decref(m);
	for (i = 0; i < n; i++) /* each one reached exactly one destination */
		missing += atomic_load(&seen[i]) == 0;
	ck_assert_int_eq(missing, 0);
	ck_assert_int_eq(atomic_load(&seen_twice), 0);
	faas_runtime_free(rt);
	free((void *)seen);
}
END_TEST

/* A built-in queue as the failure destination: the record is the body. */
START_TEST(async_queue_destination)
{
	faas_runtime_t *rt = setup(NULL);
	faas_event_invoke_config_t c = FAAS_EVENT_INVOKE_CONFIG_INIT;
	faas_queue_message_t m;
	faas_error_detail_t d;
	faas_queue_t *q = NULL;
	json_t *rec;
	size_t n;
	char rid[40];

	ck_assert_ok(faas_queue_create(rt, "failures", NULL, &q, &d), d);
	c.max_retry_attempts = 0;
	c.on_failure.kind = FAAS_DESTINATION_QUEUE;
	ck_assert_fail(faas_function_set_event_invoke_config(rt, "w", NULL, &c, &d), d, FAAS_EINVAL,
	               "needs a queue");
	c.on_failure.queue = q;
	ck_assert_ok(faas_function_set_event_invoke_config(rt, "w", NULL, &c, &d), d);
	{ /* as GetFunctionEventInvokeConfig shows it */
		json_t *j;
		char *text;
		ck_assert_ok(faas_function_get_event_invoke_config(rt, "w", NULL, &j, &d), d);
		text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
		ck_assert_str_eq(text, "{\"DestinationConfig\":{\"OnFailure\":{\"Destination\":"
		                       "\"arn:aws:sqs:us-east-1:123456789012:failures\"},\"OnSuccess\":{}},"
		                       "\"FunctionArn\":\"arn:aws:lambda:us-east-1:123456789012:function:"
		                       "w:$LATEST\",\"MaximumEventAgeInSeconds\":21600,"
		                       "\"MaximumRetryAttempts\":0}");
		free(text);
		json_decref(j);
		ck_assert_fail(faas_function_get_event_invoke_config(rt, "w", "$LATEST", NULL, &d), d,
		               FAAS_EINVAL, "out");
		ck_assert_fail(faas_function_get_event_invoke_config(rt, "nobody", NULL, &j, &d), d,
		               FAAS_ENOTFOUND, "Function not found");
		ck_assert_ptr_null(j);
	}
	/* the config keeps the queue alive; deleted, it refuses records */
	post(rt, "w", "{\"fail\":true}", rid);
	t_settle(rt);
	ck_assert_ok(faas_queue_receive(q, 10, 0, &m, &n, &d), d);
	ck_assert_uint_eq(n, 1);
	rec = json_loads(m.body, 0, NULL);
	ck_assert_str_eq(t_jstr(json_object_get(rec, "requestContext"), "condition"), "RetriesExhausted");
	ck_assert_str_eq(t_jstr(json_object_get(rec, "requestContext"), "requestId"), rid);
	json_decref(rec);
	faas_queue_message_clear(&m);
	ck_assert_ok(faas_queue_delete(q, &d), d);
	post(rt, "w", "{\"fail\":true}", NULL);
	t_settle(rt);
	ck_assert_int_eq(async_metric(rt, "DestinationDeliveryFailures", 1), 1);
	faas_runtime_free(rt);
}
END_TEST

static int forward_once(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	faas_invoke_options_t o = FAAS_INVOKE_OPTIONS_INIT;
	faas_result_t r = FAAS_RESULT_INIT;

	(void)event;
	(void)response;
	(void)ud;
	o.type = FAAS_INVOKE_EVENT;
	ck_assert_int_eq(faas_context_invoke(ctx, "w", NULL, &o, &r), 0);
	faas_result_clear(&r);
	/* queued from a handler: it runs once the outermost call is over */
	ck_assert_int_eq(atomic_load(&attempts), 3);
	return 0;
}

/* Inline mode: no threads, so events run on the caller's thread — the one
 * that queues them, the clock's advance for retries, the end of the
 * outermost call for events its handlers queued. */
/* The order events run in: by when they are due, whether they wait in the
 * queue's ring (due when queued) or its heap (a retry). */
static struct {
	pthread_mutex_t m;
	int seq[16], n, failed[16];
} ran = { .m = PTHREAD_MUTEX_INITIALIZER };
static struct latch order_latch;

static int order_h(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	int n = (int)json_integer_value(json_object_get(event, "n"));
	bool fail;

	(void)response;
	(void)ud;
	pthread_mutex_lock(&ran.m);
	if (ran.n < 16)
		ran.seq[ran.n++] = n;
	fail = json_is_true(json_object_get(event, "fail")) && !ran.failed[n & 15]++;
	pthread_mutex_unlock(&ran.m);
	if (json_is_true(json_object_get(event, "hold")))
		return t_latch_handler(ctx, event, response, &order_latch);
	return fail ? faas_context_fail(ctx, "Boom", "first attempt") : 0;
}

START_TEST(async_due_order_ring_and_heap)
{
	faas_runtime_options_t o = t_options();
	faas_function_config_t c = t_config(NULL);
	faas_error_detail_t d;
	faas_runtime_t *rt;
	static const int want[] = { 1, 2, 1, 3, 4 };

	o.async_max_inflight = 1;
	rt = setup(&o);
	latch_init(&order_latch);
	memset(ran.seq, 0, sizeof(ran.seq));
	memset(ran.failed, 0, sizeof(ran.failed));
	ran.n = 0;
	c.handler = order_h;
	c.timeout_ms = 900000; /* the held one outlasts the clock's moves */
	ck_assert_ok(faas_function_create(rt, "ord", &c, &d), d);
	post(rt, "ord", "{\"n\":1,\"fail\":true}", NULL); /* fails: its retry in a minute */
	t_settle(rt);
	post(rt, "ord", "{\"n\":2,\"hold\":true}", NULL); /* takes the only slot */
	latch_wait_entered(&order_latch, 1);
	ck_assert_int_eq(faas_clock_advance(rt, 61000), 0); /* the retry is due: no slot */
	post(rt, "ord", "{\"n\":3}", NULL);                 /* due a second after it */
	post(rt, "ord", "{\"n\":4}", NULL);
	latch_open(&order_latch);
	t_settle(rt);
	ck_assert_int_eq(ran.n, 5);
	for (int i = 0; i < 5; i++)
		ck_assert_msg(ran.seq[i] == want[i], "run %d was event %d", i, ran.seq[i]);
	faas_runtime_free(rt);
	latch_destroy(&order_latch);
	reset_got();
}
END_TEST

START_TEST(async_inline_mode)
{
	faas_runtime_options_t o = t_options();
	faas_result_t r = FAAS_RESULT_INIT;
	faas_runtime_t *rt;

	o.inline_mode = true;
	rt = setup(&o);
	set_config(rt, NULL, 1, 0);
	post(rt, "w", "{\"reply\":7}", NULL);
	ck_assert_int_eq(atomic_load(&attempts), 1); /* already ran */
	ck_assert_int_eq(ngot(), 1);
	post(rt, "w", "{\"fail\":true}", NULL);
	ck_assert_int_eq(atomic_load(&attempts), 2);
	ck_assert_int_eq(ngot(), 1); /* waiting for its retry */
	ck_assert_int_eq(faas_clock_advance(rt, 59999), 0);
	ck_assert_int_eq(atomic_load(&attempts), 2);
	ck_assert_int_eq(faas_clock_advance(rt, 1), 0);
	ck_assert_int_eq(atomic_load(&attempts), 3);
	ck_assert_int_eq(ngot(), 2); /* RetriesExhausted */
	t_create_fn(rt, "fwd", forward_once, NULL);
	ck_assert_int_eq(faas_invoke(rt, "fwd", NULL, NULL, &r), 0);
	faas_result_clear(&r);
	ck_assert_int_eq(atomic_load(&attempts), 4); /* ran after fwd returned */
	t_settle(rt);
	faas_runtime_free(rt);
	reset_got();
}
END_TEST

static faas_runtime_t *dest_rt;
static _Atomic int dest_rc = 99;

/* A destination that invokes synchronously (allowed): it must not wait for
 * the very worker it runs on. */
static void invoking_destination(json_t *record, void *ud)
{
	faas_result_t r = FAAS_RESULT_INIT;
	int rc;

	(void)record;
	(void)ud;
	rc = faas_invoke(dest_rt, "w", NULL, NULL, &r);
	atomic_store(&dest_rc, rc == 0 && r.function_error == FAAS_FUNCTION_ERROR_NONE ? 0 : 1);
	faas_result_clear(&r);
}

START_TEST(async_destination_invokes)
{
	faas_runtime_t *rt = setup(NULL); /* virtual clock: a wait would never end */
	faas_event_invoke_config_t c = FAAS_EVENT_INVOKE_CONFIG_INIT;
	faas_error_detail_t d;

	dest_rt = rt;
	c.on_success.kind = FAAS_DESTINATION_CALLBACK;
	c.on_success.callback = invoking_destination;
	ck_assert_ok(faas_function_set_event_invoke_config(rt, "w", NULL, &c, &d), d);
	post(rt, "w", "{\"reply\":1}", NULL);
	t_settle(rt);
	ck_assert_int_eq(atomic_load(&dest_rc), 0);
	ck_assert_int_eq(atomic_load(&attempts), 2);
	faas_runtime_free(rt);
}
END_TEST

Suite *async_suite(void)
{
	Suite *s = suite_create("async");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, async_success_record_exact);
	tcase_add_test(tc, async_retry_timing);
	tcase_add_test(tc, async_retries_configurable_and_scaled);
	tcase_add_test(tc, async_event_age);
	tcase_add_test(tc, async_throttle_requeue);
	tcase_add_test(tc, async_reserved_zero);
	tcase_add_test(tc, async_timeout_at_the_deadline);
	tcase_add_test(tc, async_function_destination);
	tcase_add_test(tc, async_queue_full);
	tcase_add_test(tc, async_waiting_for_a_slot_does_not_spin);
	tcase_add_test(tc, async_retry_due_after_a_full_plan_runs);
	tcase_add_test(tc, async_shutdown_accounts_for_everything);
	tcase_add_test(tc, async_bad_requests);
	tcase_add_test(tc, async_version_chosen_at_enqueue);
	tcase_add_test(tc, async_dead_letter);
	tcase_add_test(tc, async_recursion_stops);
	tcase_add_test(tc, async_duplicates_injected);
	tcase_add_test(tc, async_nothing_lost);
	tcase_add_test(tc, async_queue_destination);
	tcase_add_test(tc, async_inline_mode);
	tcase_add_test(tc, async_due_order_ring_and_heap);
	tcase_add_test(tc, async_destination_invokes);
	suite_add_tcase(s, tc);
	return s;
}
