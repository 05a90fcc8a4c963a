/*
 * libfaas tests — external extensions: INVOKE and SHUTDOWN events on the
 * extension's thread with exact fields, the post-runtime phase (caller
 * answered, environment and token held until done, timeout on the virtual
 * clock), shutdown deadlines and abandonment, unregister, bad input,
 * allocation and thread-start failure. No sleeps: tests wait on condition
 * variables or faas_test_quiesce.
 */
#include "tests.h"

#include <stdlib.h>
#include <time.h>

#define EPOCH 1700000000000LL
#define ARN_F "arn:aws:lambda:us-east-1:123456789012:function:f"

/* What an external extension saw, in order, as Lambda's JSON. */
struct xrec {
	pthread_mutex_t m;
	pthread_cond_t c;
	json_t *events; /* array */
	int released;
	bool auto_done;      /* call faas_extension_done from on_event */
	bool block_shutdown; /* stay in a SHUTDOWN event until `open` */
	bool open;
	bool named_ok;       /* its thread's name starts with "faas-ext-" */
	faas_runtime_t *rt;
	uint32_t shutdown_ms; /* extension_shutdown_ms of its runtime */
	char log[8192];      /* the runtime's log sink */
};

static void xrec_init(struct xrec *r)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->m, NULL);
	pthread_cond_init(&r->c, NULL);
	r->events = json_array();
}

static void xrec_free(struct xrec *r)
{
	json_decref(r->events);
	pthread_mutex_destroy(&r->m);
	pthread_cond_destroy(&r->c);
}

static void on_event(const faas_ext_event_t *ev, void *ud)
{
	struct xrec *r = ud;
	json_t *j = faas_extension_event_json(ev);
	char name[16] = "";

	pthread_getname_np(pthread_self(), name, sizeof(name));
	json_object_set_new(j, "fn", json_sprintf("%s:%s", ev->function_name, ev->function_version));
	json_object_set_new(j, "ext", json_integer(ev->extension_id));
	pthread_mutex_lock(&r->m);
	r->named_ok = strncmp(name, "faas-ext-", 9) == 0;
	json_array_append_new(r->events, j);
	pthread_cond_broadcast(&r->c);
	while (r->block_shutdown && ev->event_type == FAAS_EXT_EVENT_SHUTDOWN && !r->open)
		pthread_cond_wait(&r->c, &r->m);
	pthread_mutex_unlock(&r->m);
	if (r->auto_done && ev->event_type == FAAS_EXT_EVENT_INVOKE)
		faas_extension_done(r->rt, ev->extension_id, ev->request_id, NULL);
}

static void xrelease(void *ud)
{
	struct xrec *r = ud;

	pthread_mutex_lock(&r->m);
	r->released++;
	pthread_cond_broadcast(&r->c);
	pthread_mutex_unlock(&r->m);
}

/* Wait (on the condition variable, at most 10 s) for n events; returns event n-1. */
static json_t *wait_event(struct xrec *r, size_t n)
{
	struct timespec ts;
	json_t *e;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 10;
	pthread_mutex_lock(&r->m);
	while (json_array_size(r->events) < n)
		if (pthread_cond_timedwait(&r->c, &r->m, &ts) != 0)
			break;
	e = json_array_get(r->events, n - 1);
	pthread_mutex_unlock(&r->m);
	ck_assert_msg(e != NULL, "event %zu never came", n);
	return e;
}

static void wait_released(struct xrec *r, int n)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 10;
	pthread_mutex_lock(&r->m);
	while (r->released < n)
		if (pthread_cond_timedwait(&r->c, &r->m, &ts) != 0)
			break;
	pthread_mutex_unlock(&r->m);
	ck_assert_int_eq(r->released, n);
}

static size_t nevents(struct xrec *r)
{
	size_t n;

	pthread_mutex_lock(&r->m);
	n = json_array_size(r->events);
	pthread_mutex_unlock(&r->m);
	return n;
}

/* The event as sorted compact JSON (freed by the caller). */
static char *ev_text(json_t *e)
{
	return faas_json_dumps(e, JSON_COMPACT | JSON_SORT_KEYS);
}

static void expect_event(json_t *e, const char *want)
{
	char *t = ev_text(e);

	ck_assert_str_eq(t, want);
	free(t);
}

/* A SHUTDOWN event of f:$LATEST, exactly. */
static void expect_shutdown(json_t *e, const char *reason, long long deadline_ms, uint32_t id)
{
	char want[256];

	snprintf(want, sizeof(want),
	         "{\"deadlineMs\":%lld,\"eventType\":\"SHUTDOWN\",\"ext\":%u,\"fn\":\"f:$LATEST\","
	         "\"shutdownReason\":\"%s\"}",
	         deadline_ms, id, reason);
	expect_event(e, want);
}

static faas_extension_t external(struct xrec *r, const char *name, unsigned events)
{
	faas_extension_t x = FAAS_EXTENSION_INIT;

	x.name = name;
	x.kind = FAAS_EXT_KIND_EXTERNAL;
	x.events = events;
	x.on_event = on_event;
	x.user_data = r;
	x.release = xrelease;
	return x;
}

static void sink(const char *line, size_t len, void *ud)
{
	struct xrec *r = ud;
	size_t have;

	pthread_mutex_lock(&r->m);
	have = strlen(r->log);
	if (have + len + 2 < sizeof(r->log)) {
		memcpy(r->log + have, line, len);
		r->log[have + len] = '\n';
		r->log[have + len + 1] = '\0';
	}
	pthread_mutex_unlock(&r->m);
}

static faas_runtime_t *rt_logged(struct xrec *r)
{
	faas_runtime_options_t o = t_options();
	faas_runtime_t *rt;

	o.log_fn = sink;
	o.log_user_data = r;
	o.extension_shutdown_ms = r->shutdown_ms;
	rt = t_runtime_with(&o);
	r->rt = rt;
	return rt;
}

/* Wait until housekeeping has caught up with the clock while work still
 * holds tokens (faas_test_quiesce would wait for those too). */
static void t_settle_busy(faas_runtime_t *rt)
{
	uint64_t until = faas__real_mono_ns() + 10000000000ull;

	while (!faas__hk_caught_up(rt, faas__clock_mono_ns(&rt->clock)) && faas__real_mono_ns() < until)
		sched_yield();
	ck_assert(faas__hk_caught_up(rt, faas__clock_mono_ns(&rt->clock)));
}

static _Atomic int inits, shutdowns[3];

static int counting_init(faas_context_t *ctx, void **state, void *ud)
{
	(void)ctx;
	(void)state;
	(void)ud;
	atomic_fetch_add(&inits, 1);
	return 0;
}

static void counting_shutdown(void *state, faas_shutdown_reason_t why, void *ud)
{
	(void)state;
	(void)ud;
	atomic_fetch_add(&shutdowns[why], 1);
}

/* f: echo handler with counted init/shutdown, reserved concurrency `reserved` (-1: none). */
static void create_f(faas_runtime_t *rt, int32_t reserved)
{
	faas_function_config_t c = t_config(NULL);
	faas_error_detail_t d;

	atomic_store(&inits, 0);
	for (int i = 0; i < 3; i++)
		atomic_store(&shutdowns[i], 0);
	c.init = counting_init;
	c.shutdown = counting_shutdown;
	ck_assert_ok(faas_function_create(rt, "f", &c, &d), d);
	if (reserved >= 0)
		ck_assert_ok(faas_function_set_reserved_concurrency(rt, "f", reserved, &d), d);
}

/* Invoke f (success) and wait until everything it started is over. */
static void invoke_settled(faas_runtime_t *rt)
{
	faas_result_t res = FAAS_RESULT_INIT;

	ck_assert_int_eq(faas_invoke(rt, "f", NULL, NULL, &res), 0);
	faas_result_clear(&res);
	t_settle(rt);
}

/* A runtime logging to r, extension `name` registered (*id), f created. */
static faas_runtime_t *fixture(struct xrec *r, const char *name, unsigned events, int32_t reserved,
                               uint32_t *id)
{
	faas_runtime_t *rt = rt_logged(r);
	faas_extension_t x = external(r, name, events);
	faas_error_detail_t d;

	ck_assert_ok(faas_extension_register(rt, &x, id, &d), d);
	create_f(rt, reserved);
	return rt;
}

static json_t *metrics_of_f(faas_runtime_t *rt)
{
	faas_error_detail_t d;
	json_t *m = NULL, *v;

	ck_assert_ok(faas_metrics_json(rt, &m, &d), d);
	v = json_array_get(json_object_get(json_array_get(json_object_get(m, "Functions"), 0), "Versions"), 0);
	v = json_incref(json_object_get(v, "PostRuntimeExtensionsDuration"));
	json_decref(m);
	return v;
}

/* ---- INVOKE, the post-runtime phase, done ---------------------------------- */

START_TEST(extext_invoke_event_and_post_runtime_phase)
{
	struct xrec r;
	faas_runtime_t *rt;
	faas_result_t res = FAAS_RESULT_INIT, res2 = FAAS_RESULT_INIT;
	faas_error_detail_t d;
	uint32_t id = 0;
	char want[512], rid[FAAS_REQUEST_ID_SIZE];
	json_t *m;
	char *prom = NULL;

	xrec_init(&r);
	rt = fixture(&r, "watcher", FAAS_EXT_INVOKE | FAAS_EXT_SHUTDOWN, 1, &id);
	ck_assert_int_eq(faas_invoke_json(rt, "f", "{\"k\":1}", 7, NULL, &res), 0);
	/* the caller has its response while the extension still works */
	ck_assert_int_eq(res.function_error, FAAS_FUNCTION_ERROR_NONE);
	ck_assert_int_eq(json_integer_value(json_object_get(res.payload, "k")), 1);
	memcpy(rid, res.request_id, sizeof(rid));
	snprintf(want, sizeof(want),
	         "{\"deadlineMs\":%lld,\"eventType\":\"INVOKE\",\"ext\":%u,\"fn\":\"f:$LATEST\","
	         "\"invokedFunctionArn\":\"" ARN_F "\",\"requestId\":\"%s\"}",
	         EPOCH + 3000, id, rid);
	expect_event(wait_event(&r, 1), want);
	ck_assert(r.named_ok);
	/* the environment is busy: the token is held, reserved concurrency 1 throttles */
	ck_assert_uint_eq(faas_runtime_concurrent_executions(rt), 1);
	ck_assert_int_eq(faas_invoke(rt, "f", NULL, NULL, &res2), FAAS_ETHROTTLED);
	ck_assert_str_eq(res2.throttle_reason, "ReservedFunctionConcurrentInvocationLimitExceeded");
	faas_result_clear(&res2);
	ck_assert_ptr_null(strstr(r.log, "REPORT")); /* REPORT waits for the extensions */
	ck_assert_ptr_nonnull(strstr(r.log, "END RequestId"));
	ck_assert_ptr_null(strstr(res.log_tail ? res.log_tail : "", "REPORT"));
	/* the extension works 1.5 s (virtual); its done releases everything */
	ck_assert_int_eq(faas_clock_advance(rt, 1500), 0);
	ck_assert_ok(faas_extension_done(rt, id, rid, &d), d);
	ck_assert_uint_eq(faas_runtime_concurrent_executions(rt), 0);
	ck_assert_ptr_nonnull(strstr(r.log, "\tPostRuntimeExtensionsDuration: 1500.00 ms\t"));
	ck_assert_ptr_nonnull(strstr(r.log, "Billed Duration: 1500 ms"));
	ck_assert_fail(faas_extension_done(rt, id, rid, &d), d, FAAS_ENOTFOUND,
	               "has no post-runtime work for request");
	/* the same environment again: warm, no second init */
	ck_assert_int_eq(faas_invoke(rt, "f", NULL, NULL, &res2), 0);
	ck_assert_int_eq(atomic_load(&inits), 1);
	wait_event(&r, 2);
	ck_assert_ok(faas_extension_done(rt, id, res2.request_id, &d), d);
	faas_result_clear(&res2);
	t_settle(rt);
	m = metrics_of_f(rt);
	expect_event(m, "{\"Count\":2,\"SumMs\":1500.0}");
	json_decref(m);
	ck_assert_ok(faas_metrics_prometheus(rt, &prom, &d), d);
	ck_assert_ptr_nonnull(strstr(prom, "faas_post_runtime_extensions_duration_milliseconds_sum{"
	                                   "function=\"f\",version=\"$LATEST\"} 1500\n"));
	ck_assert_ptr_nonnull(strstr(prom, "faas_post_runtime_extensions_duration_milliseconds_count{"
	                                   "function=\"f\",version=\"$LATEST\"} 2\n"));
	free(prom);
	faas_result_clear(&res);
	faas_runtime_free(rt);
	ck_assert_int_eq(r.released, 1);
	xrec_free(&r);
}
END_TEST

/* Without a reservation, the next call finds the environment busy and
 * starts another one. */
START_TEST(extext_busy_environment_means_cold_start)
{
	struct xrec r;
	faas_runtime_t *rt;
	faas_result_t a = FAAS_RESULT_INIT, b = FAAS_RESULT_INIT;
	faas_error_detail_t d;
	uint32_t id;

	xrec_init(&r);
	rt = fixture(&r, "slow", FAAS_EXT_INVOKE, -1, &id);
	ck_assert_int_eq(faas_invoke(rt, "f", NULL, NULL, &a), 0);
	ck_assert_int_eq(faas_invoke(rt, "f", NULL, NULL, &b), 0);
	ck_assert_int_eq(atomic_load(&inits), 2);
	ck_assert_uint_eq(faas_runtime_concurrent_executions(rt), 2);
	wait_event(&r, 2);
	ck_assert_ok(faas_extension_done(rt, id, b.request_id, &d), d);
	ck_assert_ok(faas_extension_done(rt, id, a.request_id, &d), d);
	ck_assert_uint_eq(faas_runtime_concurrent_executions(rt), 0);
	faas_result_clear(&a);
	faas_result_clear(&b);
	faas_runtime_free(rt);
	xrec_free(&r);
}
END_TEST

/* Done called from on_event, maybe before the handler returns: nothing waits. */
START_TEST(extext_done_from_the_extension_thread)
{
	struct xrec r;
	faas_runtime_t *rt;
	faas_result_t res = FAAS_RESULT_INIT;
	faas_error_detail_t d;
	faas_extension_t x, y;
	json_t *m;
	int i;

	xrec_init(&r);
	r.auto_done = true;
	rt = rt_logged(&r);
	x = external(&r, "one", FAAS_EXT_INVOKE);
	y = external(&r, "two", FAAS_EXT_INVOKE);
	ck_assert_ok(faas_extension_register(rt, &x, NULL, &d), d);
	ck_assert_ok(faas_extension_register(rt, &y, NULL, &d), d);
	create_f(rt, 1);
	for (i = 0; i < 20; i++) {
		ck_assert_int_eq(faas_invoke(rt, "f", NULL, NULL, &res), 0);
		faas_result_clear(&res);
		t_settle(rt); /* both extensions done: the token is back */
	}
	ck_assert_uint_eq(nevents(&r), 40);
	ck_assert_int_eq(atomic_load(&inits), 1);
	m = metrics_of_f(rt);
	ck_assert_int_eq(json_integer_value(json_object_get(m, "Count")), 20);
	json_decref(m);
	faas_runtime_free(rt);
	ck_assert_int_eq(r.released, 2);
	xrec_free(&r);
}
END_TEST

/* ---- deadlines --------------------------------------------------------------- */

static struct {
	pthread_mutex_t m;
	int reports;
	uint64_t billed;
	faas_ext_status_t status;
} rep = { .m = PTHREAD_MUTEX_INITIALIZER };

/* platform.report records: how many, and the last one's billing and status. */
static void on_reports(const faas_telemetry_record_t *recs, size_t n, void *ud)
{
	(void)ud;
	pthread_mutex_lock(&rep.m);
	for (size_t i = 0; i < n; i++)
		if (recs[i].type == FAAS_TEL_REPORT) {
			rep.reports++;
			rep.billed = recs[i].billed_duration_ms;
			rep.status = recs[i].status;
		}
	pthread_mutex_unlock(&rep.m);
}

START_TEST(extext_post_runtime_past_timeout_resets)
{
	struct xrec r;
	faas_runtime_t *rt;
	faas_result_t res = FAAS_RESULT_INIT;
	faas_error_detail_t d;
	uint32_t id;
	json_t *m;

	faas_telemetry_options_t to = FAAS_TELEMETRY_OPTIONS_INIT;

	xrec_init(&r);
	rt = fixture(&r, "stuck", FAAS_EXT_INVOKE | FAAS_EXT_SHUTDOWN, 1, &id);
	to.types = FAAS_TELEMETRY_PLATFORM;
	to.on_batch = on_reports;
	to.timeout_ms = 25;
	rep.reports = 0;
	ck_assert_ok(faas_telemetry_subscribe(rt, &to, NULL, &d), d);
	ck_assert_int_eq(faas_invoke(rt, "f", NULL, NULL, &res), 0);
	wait_event(&r, 1);
	ck_assert_int_eq(faas_clock_advance(rt, 2999), 0);
	t_settle_busy(rt);
	ck_assert_uint_eq(faas_runtime_concurrent_executions(rt), 1); /* not yet */
	ck_assert_int_eq(faas_clock_advance(rt, 1), 0); /* the function's 3 s timeout */
	t_settle(rt);
	ck_assert_uint_eq(faas_runtime_concurrent_executions(rt), 0);
	ck_assert_int_eq(atomic_load(&shutdowns[FAAS_SHUTDOWN_TIMEOUT]), 1);
	expect_shutdown(wait_event(&r, 2), "timeout", EPOCH + 3000 + 2000, id);
	ck_assert_ptr_nonnull(strstr(r.log, "PostRuntimeExtensionsDuration: 3000.00 ms\tStatus: timeout"));
	/* the telemetry report says what the REPORT line says */
	ck_assert_ok(faas_telemetry_flush(rt, &d), d); /* delivered on the telemetry thread */
	for (uint64_t until = faas__real_mono_ns() + 10000000000ull; faas__real_mono_ns() < until;) {
		pthread_mutex_lock(&rep.m);
		bool got = rep.reports > 0;
		pthread_mutex_unlock(&rep.m);
		if (got)
			break;
		sched_yield();
	}
	pthread_mutex_lock(&rep.m);
	ck_assert_int_eq(rep.reports, 1);
	ck_assert_uint_eq(rep.billed, 3000);
	ck_assert_int_eq(rep.status, FAAS_EXT_TIMEOUT);
	pthread_mutex_unlock(&rep.m);
	ck_assert_fail(faas_extension_done(rt, id, res.request_id, &d), d, FAAS_ENOTFOUND,
	               "no post-runtime work");
	m = metrics_of_f(rt);
	expect_event(m, "{\"Count\":1,\"SumMs\":3000.0}");
	json_decref(m);
	/* the next call starts a new environment */
	faas_result_clear(&res);
	ck_assert_int_eq(faas_invoke(rt, "f", NULL, NULL, &res), 0);
	ck_assert_int_eq(atomic_load(&inits), 2);
	ck_assert_ok(faas_extension_done(rt, id, res.request_id, &d), d);
	faas_result_clear(&res);
	faas_runtime_free(rt);
	xrec_free(&r);
}
END_TEST

START_TEST(extext_shutdown_at_spindown_and_runtime_shutdown)
{
	struct xrec r;
	faas_runtime_t *rt;
	faas_error_detail_t d;
	uint32_t id;

	xrec_init(&r);
	r.auto_done = true;
	rt = fixture(&r, "closer", FAAS_EXT_INVOKE | FAAS_EXT_SHUTDOWN, -1, &id);
	invoke_settled(rt);
	ck_assert_int_eq(faas_clock_advance(rt, 300000), 0); /* keep-alive: spindown */
	t_settle(rt);
	expect_shutdown(wait_event(&r, 2), "spindown", EPOCH + 300000 + 2000, id);
	ck_assert_int_eq(atomic_load(&shutdowns[FAAS_SHUTDOWN_SPINDOWN]), 1);
	/* a warm environment at runtime shutdown */
	invoke_settled(rt);
	ck_assert_int_eq(faas_clock_advance(rt, 10), 0);
	ck_assert_int_eq(faas_runtime_shutdown(rt, 1000), 0);
	ck_assert_uint_eq(nevents(&r), 4); /* delivered before shutdown returned */
	expect_shutdown(wait_event(&r, 4), "spindown", EPOCH + 300010 + 2000, id);
	ck_assert_int_eq(r.released, 0); /* registered until the runtime is freed */
	ck_assert_fail(faas_extension_done(rt, id, "x", &d), d, FAAS_ESHUTDOWN, "shut down");
	faas_runtime_free(rt);
	ck_assert_int_eq(r.released, 1);
	xrec_free(&r);
}
END_TEST

/* Shutdown while an environment waits for an extension: it goes (spindown)
 * and the token comes back. */
START_TEST(extext_shutdown_ends_pending_post_runtime)
{
	struct xrec r;
	faas_runtime_t *rt;
	faas_result_t res = FAAS_RESULT_INIT;

	xrec_init(&r);
	rt = fixture(&r, "lazy", FAAS_EXT_INVOKE | FAAS_EXT_SHUTDOWN, -1, NULL);
	ck_assert_int_eq(faas_invoke(rt, "f", NULL, NULL, &res), 0);
	faas_result_clear(&res);
	wait_event(&r, 1);
	ck_assert_int_eq(faas_runtime_shutdown(rt, 0), 0);
	ck_assert_uint_eq(faas_runtime_concurrent_executions(rt), 0);
	ck_assert_int_eq(atomic_load(&shutdowns[FAAS_SHUTDOWN_SPINDOWN]), 1);
	ck_assert_str_eq(t_jstr(wait_event(&r, 2), "shutdownReason"), "spindown");
	ck_assert_ptr_nonnull(strstr(r.log, "PostRuntimeExtensionsDuration: 0.00 ms"));
	faas_runtime_free(rt);
	xrec_free(&r);
}
END_TEST

/* Static: the abandoned thread may still touch it as the test process ends. */
static struct xrec overrun_rec;

START_TEST(extext_overrun_is_abandoned)
{
	struct xrec *r = &overrun_rec;
	faas_runtime_t *rt;

	xrec_init(r);
	r->auto_done = true;
	r->block_shutdown = true;
	r->shutdown_ms = 30;
	rt = fixture(r, "overrun", FAAS_EXT_INVOKE | FAAS_EXT_SHUTDOWN, -1, NULL);
	invoke_settled(rt);
	/* it never returns from its SHUTDOWN: shutdown gives up after 30 ms */
	ck_assert_int_eq(faas_runtime_shutdown(rt, 0), FAAS_ETIMEDOUT);
	ck_assert_ptr_nonnull(strstr(r->log, "EXTENSION_ERROR 1 external extension thread(s) did not "
	                                     "finish within the 30 ms shutdown deadline: abandoned"));
	ck_assert_str_eq(t_jstr(wait_event(r, 2), "eventType"), "SHUTDOWN");
	faas_runtime_free(rt); /* the thread keeps the runtime's core alive */
	pthread_mutex_lock(&r->m);
	r->open = true;
	pthread_cond_broadcast(&r->c);
	pthread_mutex_unlock(&r->m);
	wait_released(r, 1); /* when it returns, it lets go: release on its thread */
}
END_TEST

static int crashing(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	(void)event;
	(void)response;
	(void)ud;
	return faas_context_fail_fatal(ctx, "Runtime.ExitError", "gone");
}

/* A fatal handler error resets the environment at once: SHUTDOWN failure,
 * nothing waits for the INVOKE subscribers (their done comes too late). */
START_TEST(extext_failure_resets_without_waiting)
{
	struct xrec r;
	faas_runtime_t *rt;
	faas_result_t res = FAAS_RESULT_INIT;
	faas_error_detail_t d;
	faas_extension_t x;
	uint32_t id;

	xrec_init(&r);
	rt = rt_logged(&r);
	x = external(&r, "crash", FAAS_EXT_INVOKE | FAAS_EXT_SHUTDOWN);
	ck_assert_ok(faas_extension_register(rt, &x, &id, &d), d);
	t_create_fn(rt, "f", crashing, NULL);
	ck_assert_int_eq(faas_invoke(rt, "f", NULL, NULL, &res), 0);
	ck_assert_str_eq(t_jstr(res.payload, "errorType"), "Runtime.ExitError");
	ck_assert_uint_eq(faas_runtime_concurrent_executions(rt), 0);
	t_settle(rt);
	ck_assert_str_eq(t_jstr(wait_event(&r, 1), "eventType"), "INVOKE");
	expect_shutdown(wait_event(&r, 2), "failure", EPOCH + 2000, id);
	ck_assert_fail(faas_extension_done(rt, id, res.request_id, &d), d, FAAS_ENOTFOUND,
	               "no post-runtime work");
	ck_assert_ptr_nonnull(strstr(r.log, "PostRuntimeExtensionsDuration: 0.00 ms\tStatus: error"));
	faas_result_clear(&res);
	faas_runtime_free(rt);
	xrec_free(&r);
}
END_TEST

/* On the real clock, housekeeping wakes at the deadline by itself. */
START_TEST(extext_post_runtime_timeout_real_clock)
{
	faas_runtime_options_t o = FAAS_RUNTIME_OPTIONS_INIT;
	faas_function_config_t c = t_config(NULL);
	struct xrec r;
	faas_runtime_t *rt;
	faas_result_t res = FAAS_RESULT_INIT;
	faas_error_detail_t d;
	faas_extension_t x;
	uint32_t id;

	xrec_init(&r);
	o.min_timeout_ms = 250; /* short, yet long enough for the handler under valgrind */
	rt = t_runtime_with(&o);
	x = external(&r, "late", FAAS_EXT_INVOKE | FAAS_EXT_SHUTDOWN);
	ck_assert_ok(faas_extension_register(rt, &x, &id, &d), d);
	c.timeout_ms = 250;
	ck_assert_ok(faas_function_create(rt, "f", &c, &d), d);
	ck_assert_int_eq(faas_invoke(rt, "f", NULL, NULL, &res), 0);
	ck_assert_int_eq(res.function_error, FAAS_FUNCTION_ERROR_NONE);
	t_settle(rt); /* about 250 ms: the phase times out */
	ck_assert_uint_eq(faas_runtime_concurrent_executions(rt), 0);
	ck_assert_str_eq(t_jstr(wait_event(&r, 2), "shutdownReason"), "timeout");
	ck_assert_int_eq(faas_extension_done(rt, id, res.request_id, NULL), FAAS_ENOTFOUND);
	faas_result_clear(&res);
	faas_runtime_free(rt);
	xrec_free(&r);
}
END_TEST

/* Callers on several threads, two extensions finishing on their own
 * threads, racing the handlers' returns: every token comes back, every
 * INVOKE is delivered, every phase counted once. */
struct caller {
	pthread_t tid;
	faas_runtime_t *rt;
	long ok, throttled, other;
};

static void *invoke_loop(void *arg)
{
	struct caller *c = arg;
	long i, n = t_scaled(300);

	for (i = 0; i < n; i++) {
		faas_result_t res = FAAS_RESULT_INIT;
		int rc = faas_invoke(c->rt, "f", NULL, NULL, &res);
		/* environments waiting for extensions hold tokens: throttles are fair */
		c->ok += rc == 0;
		c->throttled += rc == FAAS_ETHROTTLED;
		c->other += rc != 0 && rc != FAAS_ETHROTTLED;
		faas_result_clear(&res);
	}
	return NULL;
}

START_TEST(extext_concurrent_invokes)
{
	struct caller callers[4];
	struct xrec r;
	faas_runtime_t *rt;
	faas_error_detail_t d;
	faas_extension_t y;
	long ok = 0;
	json_t *m;
	int i;

	xrec_init(&r);
	r.auto_done = true;
	rt = fixture(&r, "one", FAAS_EXT_INVOKE | FAAS_EXT_SHUTDOWN, -1, NULL);
	y = external(&r, "two", FAAS_EXT_INVOKE);
	ck_assert_ok(faas_extension_register(rt, &y, NULL, &d), d);
	memset(callers, 0, sizeof(callers));
	for (i = 0; i < 4; i++) {
		callers[i].rt = rt;
		ck_assert_int_eq(pthread_create(&callers[i].tid, NULL, invoke_loop, &callers[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(callers[i].tid, NULL);
		ck_assert_int_eq(callers[i].other, 0);
		ck_assert_int_eq(callers[i].ok + callers[i].throttled, t_scaled(300));
		ok += callers[i].ok;
	}
	ck_assert_int_gt(ok, 0);
	t_settle(rt);
	ck_assert_uint_eq(faas_runtime_concurrent_executions(rt), 0);
	m = metrics_of_f(rt);
	ck_assert_int_eq(json_integer_value(json_object_get(m, "Count")), ok);
	json_decref(m);
	ck_assert_uint_eq(nevents(&r), 2 * (size_t)ok); /* an INVOKE to each, nothing shut down */
	faas_runtime_free(rt);
	ck_assert_int_eq(r.released, 2);
	xrec_free(&r);
}
END_TEST

/* ---- unregister ----------------------------------------------------------------- */

START_TEST(extext_unregister_stops_thread_after_environments)
{
	struct xrec r;
	faas_runtime_t *rt;
	faas_error_detail_t d;
	uint32_t id;

	xrec_init(&r);
	r.auto_done = true;
	rt = fixture(&r, "gone", FAAS_EXT_INVOKE | FAAS_EXT_SHUTDOWN, -1, &id);
	invoke_settled(rt);
	ck_assert_ok(faas_extension_unregister(rt, id, &d), d);
	t_settle(rt);
	ck_assert_int_eq(r.released, 0); /* the environment still uses it */
	ck_assert_int_eq(atomic_load(&rt->ext_threads), 1);
	/* the same environment still delivers to it */
	invoke_settled(rt);
	ck_assert_uint_eq(nevents(&r), 2);
	t_touch(rt, "f", "v2"); /* the environment spins down: SHUTDOWN, then the thread stops */
	t_settle(rt);
	ck_assert_uint_eq(nevents(&r), 3);
	ck_assert_str_eq(t_jstr(json_array_get(r.events, 2), "shutdownReason"), "spindown");
	ck_assert_int_eq(r.released, 1);
	ck_assert_int_eq(atomic_load(&rt->ext_threads), 0);
	/* new environments do without it */
	invoke_settled(rt);
	ck_assert_uint_eq(nevents(&r), 3);
	ck_assert_fail(faas_extension_done(rt, id, "nope", &d), d, FAAS_ENOTFOUND, "extension");
	faas_runtime_free(rt);
	ck_assert_int_eq(r.released, 1);
	xrec_free(&r);
}
END_TEST

/* ---- bad input and failures ------------------------------------------------------- */

START_TEST(extext_bad_input)
{
	faas_runtime_options_t io = t_options();
	struct xrec r;
	faas_runtime_t *rt, *inl;
	faas_error_detail_t d;
	faas_extension_t x;
	faas_ext_event_t ev;
	uint32_t id;

	xrec_init(&r);
	rt = rt_logged(&r);
	x = external(&r, "e", FAAS_EXT_INVOKE);
	x.on_event = NULL;
	ck_assert_fail(faas_extension_register(rt, &x, NULL, &d), d, FAAS_EINVAL, "needs on_event");
	x = external(&r, "e", FAAS_EXT_INVOKE | FAAS_EXT_INIT);
	ck_assert_fail(faas_extension_register(rt, &x, NULL, &d), d, FAAS_EINVAL,
	               "INVOKE and SHUTDOWN events only");
	x = external(&r, "e", FAAS_EXT_INVOKE);
	x.on_shutdown = on_event;
	ck_assert_fail(faas_extension_register(rt, &x, NULL, &d), d, FAAS_EINVAL, "not hooks");
	x = external(&r, "e", FAAS_EXT_INVOKE);
	x.kind = (faas_ext_kind_t)7;
	ck_assert_fail(faas_extension_register(rt, &x, NULL, &d), d, FAAS_EINVAL,
	               "unknown extension kind 7");
	/* a version 1 struct is an internal extension: kind and on_event are not read */
	x = external(&r, "v1", FAAS_EXT_INVOKE);
	x.version = 1;
	ck_assert_ok(faas_extension_register(rt, &x, &id, &d), d);
	ck_assert_int_eq(atomic_load(&rt->ext_threads), 0);
	ck_assert_ok(faas_extension_unregister(rt, id, &d), d);
	ck_assert_int_eq(r.released, 1);
	/* runtime options: version 1 (before extension_shutdown_ms) still works */
	io.version = 1;
	io.extension_shutdown_ms = 5; /* not read from a version 1 struct */
	inl = t_runtime_with(&io);
	ck_assert_uint_eq(inl->ext_shutdown_ms, 2000);
	faas_runtime_free(inl);
	io.version = FAAS_RUNTIME_OPTIONS_VERSION + 1;
	ck_assert_fail(faas_runtime_new(&inl, &io, &d), d, FAAS_EINVAL, "version 4");
	io.version = FAAS_RUNTIME_OPTIONS_VERSION;
	/* inline mode has no threads to give */
	io.inline_mode = 1;
	inl = t_runtime_with(&io);
	x = external(&r, "e", FAAS_EXT_INVOKE);
	ck_assert_fail(faas_extension_register(inl, &x, NULL, &d), d, FAAS_EINVAL, "inline-mode");
	faas_runtime_free(inl);
	/* done */
	ck_assert_fail(faas_extension_done(NULL, 1, "r", &d), d, FAAS_EINVAL, "runtime");
	ck_assert_fail(faas_extension_done(rt, 1, NULL, &d), d, FAAS_EINVAL, "request_id");
	ck_assert_fail(faas_extension_done(rt, 99, "no-such-request", &d), d, FAAS_ENOTFOUND,
	               "extension 99 has no post-runtime work for request no-such-request");
	ck_assert_int_eq(faas_extension_done(rt, 99, "x", NULL), FAAS_ENOTFOUND);
	/* JSON of what is not an external event */
	ck_assert_ptr_null(faas_extension_event_json(NULL));
	memset(&ev, 0, sizeof(ev));
	ck_assert_ptr_null(faas_extension_event_json(&ev));
	ck_assert_int_eq(r.released, 1); /* refused registrations never release */
	faas_runtime_free(rt);
	ck_assert_int_eq(r.released, 1);
	xrec_free(&r);
}
END_TEST

START_TEST(extext_thread_start_failure)
{
	struct xrec r;
	faas_runtime_t *rt;
	faas_error_detail_t d;
	faas_extension_t x;
	uint32_t id = 0;
	long live = faas__alloc_live();

	xrec_init(&r);
	r.auto_done = true;
	rt = rt_logged(&r);
	live = faas__alloc_live();
	x = external(&r, "nothread", FAAS_EXT_INVOKE);
	faas__thread_fail_at(1, false);
	ck_assert_fail(faas_extension_register(rt, &x, &id, &d), d, FAAS_ETHREAD,
	               "could not start the extension's thread");
	ck_assert_int_eq(faas__alloc_live(), live);
	ck_assert_int_eq(r.released, 0);
	ck_assert_int_eq(atomic_load(&rt->ext_threads), 0);
	ck_assert_ok(faas_extension_register(rt, &x, &id, &d), d); /* the name is free */
	create_f(rt, -1);
	invoke_settled(rt);
	ck_assert_uint_eq(nevents(&r), 1);
	faas_runtime_free(rt);
	ck_assert_int_eq(r.released, 1);
	xrec_free(&r);
}
END_TEST

/* Registration and an invocation with the 1st, 2nd, ... allocation failing:
 * FAAS_ENOMEM or success, nothing leaked, never a stuck token. */
START_TEST(extext_allocation_failure_sweep)
{
	struct xrec r;
	long n, base = faas__alloc_live();
	int seen = 0;

	xrec_init(&r);
	r.auto_done = true;
	for (n = 1; n < 200; n++) {
		faas_runtime_t *rt = rt_logged(&r);
		faas_result_t res = FAAS_RESULT_INIT;
		faas_error_detail_t d;
		faas_extension_t x = external(&r, "sweep", FAAS_EXT_INVOKE | FAAS_EXT_SHUTDOWN);
		long live, fails;
		int rc, rc2;

		create_f(rt, -1);
		live = faas__alloc_live();
		fails = faas__alloc_failures();
		faas__alloc_fail_at(n, false);
		rc = faas_extension_register(rt, &x, NULL, &d);
		rc2 = rc == 0 ? faas_invoke(rt, "f", NULL, NULL, &res) : 0;
		faas__alloc_fail_at(0, false);
		faas_result_clear(&res);
		t_settle(rt);
		ck_assert_msg(rc == 0 || rc == FAAS_ENOMEM, "n=%ld: %s", n, faas_err_name(rc));
		ck_assert_msg(rc2 == 0 || rc2 == FAAS_ENOMEM, "n=%ld: %s", n, faas_err_name(rc2));
		ck_assert_uint_eq(faas_runtime_concurrent_executions(rt), 0);
		if (rc != 0)
			ck_assert_int_eq(faas__alloc_live(), live);
		faas_runtime_free(rt);
		ck_assert_int_eq(faas__alloc_live(), base);
		if (faas__alloc_failures() == fails)
			break;
		seen++;
	}
	ck_assert_int_lt(n, 200);
	ck_assert_int_gt(seen, 2);
	xrec_free(&r);
}
END_TEST

Suite *extext_suite(void)
{
	Suite *s = suite_create("extext");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, extext_invoke_event_and_post_runtime_phase);
	tcase_add_test(tc, extext_busy_environment_means_cold_start);
	tcase_add_test(tc, extext_done_from_the_extension_thread);
	tcase_add_test(tc, extext_post_runtime_past_timeout_resets);
	tcase_add_test(tc, extext_shutdown_at_spindown_and_runtime_shutdown);
	tcase_add_test(tc, extext_shutdown_ends_pending_post_runtime);
	tcase_add_test(tc, extext_overrun_is_abandoned);
	tcase_add_test(tc, extext_failure_resets_without_waiting);
	tcase_add_test(tc, extext_post_runtime_timeout_real_clock);
	tcase_add_test(tc, extext_concurrent_invokes);
	tcase_add_test(tc, extext_unregister_stops_thread_after_environments);
	tcase_add_test(tc, extext_bad_input);
	tcase_add_test(tc, extext_thread_start_failure);
	tcase_add_test(tc, extext_allocation_failure_sweep);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}
