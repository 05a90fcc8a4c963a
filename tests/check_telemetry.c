/*
 * libfaas tests — the Telemetry stream: exact record sequences and fields,
 * JSON rendering of every type, buffering by max_items and timeout_ms,
 * dropped-record accounting, unsubscribe, inline mode, shutdown, bad
 * options and allocation failure. Virtual clock and faas_test_quiesce only.
 */
#include "tests.h"

#include <stdlib.h>

#define T0 "2023-11-14T22:13:20"

/* What a subscriber saw: every record rendered, and the batches' sizes. */
struct sink {
	pthread_mutex_t m;
	pthread_cond_t c;
	char *lines[512];
	int n;
	int batches[64];
	int nbatches;
	int released;
	int wrong_thread; /* a batch arrived on an unexpected thread */
	pthread_t caller; /* inline mode: the thread that must deliver; 0 = faas-telemetry */
	bool inline_mode;
	/* blocking: the first batch waits until `open` */
	bool block;
	bool open;
	bool entered;
};

static void sink_init(struct sink *s)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->m, NULL);
	pthread_cond_init(&s->c, NULL);
}

static void sink_destroy(struct sink *s)
{
	int i;

	for (i = 0; i < s->n; i++)
		free(s->lines[i]);
	pthread_mutex_destroy(&s->m);
	pthread_cond_destroy(&s->c);
}

static bool on_expected_thread(const struct sink *s)
{
	char name[16] = "";

	if (s->inline_mode)
		return pthread_equal(pthread_self(), s->caller);
	pthread_getname_np(pthread_self(), name, sizeof(name));
	return strcmp(name, "faas-telemetry") == 0;
}

static void on_batch(const faas_telemetry_record_t *r, size_t n, void *ud)
{
	struct sink *s = ud;
	size_t i, len;

	pthread_mutex_lock(&s->m);
	if (!on_expected_thread(s))
		s->wrong_thread++;
	if (s->nbatches < 64)
		s->batches[s->nbatches++] = (int)n;
	for (i = 0; i < n && s->n < 512; i++) {
		len = faas_telemetry_record_format(&r[i], NULL, 0);
		s->lines[s->n] = malloc(len + 1);
		faas_telemetry_record_format(&r[i], s->lines[s->n], len + 1);
		s->n++;
	}
	s->entered = true;
	pthread_cond_broadcast(&s->c);
	while (s->block && !s->open)
		pthread_cond_wait(&s->c, &s->m);
	pthread_mutex_unlock(&s->m);
}

static void on_release(void *ud)
{
	struct sink *s = ud;

	pthread_mutex_lock(&s->m);
	s->released++;
	if (!on_expected_thread(s))
		s->wrong_thread++;
	pthread_mutex_unlock(&s->m);
}

static uint32_t subscribe(faas_runtime_t *rt, struct sink *s, unsigned types, uint32_t max_items,
                          uint32_t timeout_ms)
{
	faas_telemetry_options_t o = FAAS_TELEMETRY_OPTIONS_INIT;
	faas_error_detail_t d;
	uint32_t id = 0;

	o.types = types;
	o.on_batch = on_batch;
	o.user_data = s;
	o.release = on_release;
	o.max_items = max_items;
	o.timeout_ms = timeout_ms;
	ck_assert_ok(faas_telemetry_subscribe(rt, &o, &id, &d), d);
	ck_assert_uint_gt(id, 0);
	return id;
}

/* Every record so far, one per line. */
static char *sink_text(struct sink *s)
{
	size_t size = 1, i;
	char *t;

	pthread_mutex_lock(&s->m);
	for (i = 0; i < (size_t)s->n; i++)
		size += strlen(s->lines[i]) + 1;
	t = malloc(size);
	t[0] = '\0';
	for (i = 0; i < (size_t)s->n; i++) {
		strcat(t, s->lines[i]);
		strcat(t, "\n");
	}
	pthread_mutex_unlock(&s->m);
	return t;
}

#define ck_assert_sink(s, expected)                        \
	do {                                               \
		char *got_ = sink_text(s);                 \
		ck_assert_str_eq(got_, (expected));        \
		free(got_);                                \
	} while (0)

/* ---- handlers ----------------------------------------------------------- */

/* init takes 7 ms (virtual); the first `fail_inits` inits fail. */
struct fn_state {
	faas_runtime_t *rt;
	int fail_inits;
	int inits;
	int log_lines;       /* lines the handler logs */
	uint64_t run_ms;     /* virtual time the handler takes */
	const char *fail;    /* handler fails with this errorType */
};

static int timed_init(faas_context_t *ctx, void **state, void *ud)
{
	struct fn_state *f = ud;

	(void)state;
	faas_clock_advance(f->rt, 7);
	if (f->inits++ < f->fail_inits)
		return faas_context_fail(ctx, "InitBoom", "init %d failed", f->inits);
	return 0;
}

static int timed_handler(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	struct fn_state *f = ud;
	int i;

	(void)event;
	for (i = 0; i < f->log_lines; i++)
		faas_context_log(ctx, "line %d", i + 1);
	faas_clock_advance(f->rt, f->run_ms);
	if (f->fail)
		return faas_context_fail(ctx, f->fail, "failed");
	*response = json_pack("{s:b}", "ok", 1);
	return 0;
}

static void create_timed(faas_runtime_t *rt, const char *name, struct fn_state *f)
{
	faas_function_config_t c = t_config(f);
	faas_error_detail_t d;

	f->rt = rt;
	c.handler = timed_handler;
	c.init = timed_init;
	c.timeout_ms = 1000;
	ck_assert_ok(faas_function_create(rt, name, &c, &d), d);
}

static void invoke_ok(faas_runtime_t *rt, const char *ident, char *request_id)
{
	faas_result_t r = FAAS_RESULT_INIT;

	ck_assert_int_eq(faas_invoke(rt, ident, NULL, NULL, &r), 0);
	if (request_id)
		memcpy(request_id, r.request_id, FAAS_REQUEST_ID_SIZE);
	faas_result_clear(&r);
}

/* Deliver what is buffered and wait for it. */
static void flush_settle(faas_runtime_t *rt)
{
	faas_error_detail_t d;

	ck_assert_ok(faas_telemetry_flush(rt, &d), d);
	t_settle(rt);
}

/* ---- sequences ----------------------------------------------------------- */

START_TEST(telemetry_cold_then_warm)
{
	faas_runtime_t *rt = t_runtime();
	struct fn_state f = { 0 };
	char r1[FAAS_REQUEST_ID_SIZE], r2[FAAS_REQUEST_ID_SIZE], want[4096];
	struct sink s;

	sink_init(&s);
	subscribe(rt, &s, FAAS_TELEMETRY_PLATFORM | FAAS_TELEMETRY_FUNCTION, 0, 0);
	f.log_lines = 1;
	f.run_ms = 5;
	create_timed(rt, "f", &f);
	invoke_ok(rt, "f", r1);
	invoke_ok(rt, "f", r2);
	t_settle(rt);
	ck_assert_int_eq(s.n, 0); /* buffered: neither 10000 records nor 1 s yet */
	ck_assert_int_eq(faas_clock_advance(rt, 1000 - 17 - 1), 0);
	t_settle(rt);
	ck_assert_int_eq(s.n, 0);
	ck_assert_int_eq(faas_clock_advance(rt, 1), 0); /* 1 s after the first record */
	t_settle(rt);
	snprintf(want, sizeof(want),
	         "{\"time\":\"" T0 ".000Z\",\"type\":\"platform.initStart\",\"record\":"
	         "{\"initializationType\":\"on-demand\",\"phase\":\"init\"}}\n"
	         "{\"time\":\"" T0 ".007Z\",\"type\":\"platform.initRuntimeDone\",\"record\":"
	         "{\"initializationType\":\"on-demand\",\"phase\":\"init\",\"status\":\"success\"}}\n"
	         "{\"time\":\"" T0 ".007Z\",\"type\":\"platform.initReport\",\"record\":"
	         "{\"initializationType\":\"on-demand\",\"phase\":\"init\",\"status\":\"success\","
	         "\"metrics\":{\"durationMs\":7.0}}}\n"
	         "{\"time\":\"" T0 ".007Z\",\"type\":\"platform.start\",\"record\":"
	         "{\"requestId\":\"%s\",\"version\":\"$LATEST\"}}\n"
	         "{\"time\":\"" T0 ".007Z\",\"type\":\"function\",\"record\":\"line 1\"}\n"
	         "{\"time\":\"" T0 ".012Z\",\"type\":\"platform.runtimeDone\",\"record\":"
	         "{\"requestId\":\"%s\",\"status\":\"success\",\"metrics\":{\"durationMs\":5.0,"
	         "\"producedBytes\":11}}}\n"
	         "{\"time\":\"" T0 ".012Z\",\"type\":\"platform.report\",\"record\":"
	         "{\"requestId\":\"%s\",\"status\":\"success\",\"metrics\":{\"durationMs\":5.0,"
	         "\"billedDurationMs\":5,\"memorySizeMB\":128,\"maxMemoryUsedMB\":128,"
	         "\"initDurationMs\":7.0}}}\n"
	         "{\"time\":\"" T0 ".012Z\",\"type\":\"platform.start\",\"record\":"
	         "{\"requestId\":\"%s\",\"version\":\"$LATEST\"}}\n"
	         "{\"time\":\"" T0 ".012Z\",\"type\":\"function\",\"record\":\"line 1\"}\n"
	         "{\"time\":\"" T0 ".017Z\",\"type\":\"platform.runtimeDone\",\"record\":"
	         "{\"requestId\":\"%s\",\"status\":\"success\",\"metrics\":{\"durationMs\":5.0,"
	         "\"producedBytes\":11}}}\n"
	         "{\"time\":\"" T0 ".017Z\",\"type\":\"platform.report\",\"record\":"
	         "{\"requestId\":\"%s\",\"status\":\"success\",\"metrics\":{\"durationMs\":5.0,"
	         "\"billedDurationMs\":5,\"memorySizeMB\":128,\"maxMemoryUsedMB\":128}}}\n",
	         r1, r1, r1, r2, r2, r2);
	ck_assert_sink(&s, want);
	ck_assert_int_eq(s.nbatches, 1);
	ck_assert_int_eq(s.wrong_thread, 0);
	faas_runtime_free(rt);
	ck_assert_int_eq(s.released, 1);
	ck_assert_int_eq(s.wrong_thread, 0);
	sink_destroy(&s);
}
END_TEST

START_TEST(telemetry_init_failure_then_retry)
{
	faas_runtime_t *rt = t_runtime();
	struct fn_state f = { 0 };
	char r1[FAAS_REQUEST_ID_SIZE], want[4096];
	struct sink s;

	sink_init(&s);
	subscribe(rt, &s, FAAS_TELEMETRY_PLATFORM, 0, 0);
	f.fail_inits = 1;
	create_timed(rt, "f", &f);
	invoke_ok(rt, "f", r1);
	flush_settle(rt);
	snprintf(want, sizeof(want),
	         "{\"time\":\"" T0 ".000Z\",\"type\":\"platform.initStart\",\"record\":"
	         "{\"initializationType\":\"on-demand\",\"phase\":\"init\"}}\n"
	         "{\"time\":\"" T0 ".007Z\",\"type\":\"platform.initRuntimeDone\",\"record\":"
	         "{\"initializationType\":\"on-demand\",\"phase\":\"init\",\"status\":\"error\","
	         "\"errorType\":\"InitBoom\"}}\n"
	         "{\"time\":\"" T0 ".007Z\",\"type\":\"platform.initReport\",\"record\":"
	         "{\"initializationType\":\"on-demand\",\"phase\":\"init\",\"status\":\"error\","
	         "\"errorType\":\"InitBoom\",\"metrics\":{\"durationMs\":7.0}}}\n"
	         "{\"time\":\"" T0 ".007Z\",\"type\":\"platform.initStart\",\"record\":"
	         "{\"initializationType\":\"on-demand\",\"phase\":\"invoke\"}}\n"
	         "{\"time\":\"" T0 ".014Z\",\"type\":\"platform.initRuntimeDone\",\"record\":"
	         "{\"initializationType\":\"on-demand\",\"phase\":\"invoke\",\"status\":\"success\"}}\n"
	         "{\"time\":\"" T0 ".014Z\",\"type\":\"platform.initReport\",\"record\":"
	         "{\"initializationType\":\"on-demand\",\"phase\":\"invoke\",\"status\":\"success\","
	         "\"metrics\":{\"durationMs\":7.0}}}\n"
	         "{\"time\":\"" T0 ".014Z\",\"type\":\"platform.start\",\"record\":"
	         "{\"requestId\":\"%s\",\"version\":\"$LATEST\"}}\n"
	         /* the retry ran on the invocation's time: its 7 ms are in Duration */
	         "{\"time\":\"" T0 ".014Z\",\"type\":\"platform.runtimeDone\",\"record\":"
	         "{\"requestId\":\"%s\",\"status\":\"success\",\"metrics\":{\"durationMs\":7.0,"
	         "\"producedBytes\":11}}}\n"
	         "{\"time\":\"" T0 ".014Z\",\"type\":\"platform.report\",\"record\":"
	         "{\"requestId\":\"%s\",\"status\":\"success\",\"metrics\":{\"durationMs\":7.0,"
	         "\"billedDurationMs\":7,\"memorySizeMB\":128,\"maxMemoryUsedMB\":128}}}\n",
	         r1, r1, r1);
	ck_assert_sink(&s, want);
	faas_runtime_free(rt);
	sink_destroy(&s);
}
END_TEST

START_TEST(telemetry_error_and_timeout_status)
{
	faas_runtime_t *rt = t_runtime();
	struct fn_state f = { 0 };
	char r1[FAAS_REQUEST_ID_SIZE], r2[FAAS_REQUEST_ID_SIZE], want[4096];
	struct sink s;

	sink_init(&s);
	create_timed(rt, "f", &f);
	invoke_ok(rt, "f", NULL); /* warm it up first: no init records below */
	subscribe(rt, &s, FAAS_TELEMETRY_PLATFORM, 0, 0);
	f.fail = "ValueError";
	invoke_ok(rt, "f", r1);
	f.fail = NULL;
	f.run_ms = 1500; /* past its 1 s timeout */
	invoke_ok(rt, "f", r2);
	t_settle(rt); /* the handler may still be returning */
	flush_settle(rt);
	snprintf(want, sizeof(want),
	         "{\"time\":\"" T0".007Z\",\"type\":\"platform.start\",\"record\":"
	         "{\"requestId\":\"%s\",\"version\":\"$LATEST\"}}\n"
	         "{\"time\":\"" T0 ".007Z\",\"type\":\"platform.runtimeDone\",\"record\":"
	         "{\"requestId\":\"%s\",\"status\":\"error\",\"errorType\":\"ValueError\","
	         "\"metrics\":{\"durationMs\":0.0,\"producedBytes\":66}}}\n"
	         "{\"time\":\"" T0 ".007Z\",\"type\":\"platform.report\",\"record\":"
	         "{\"requestId\":\"%s\",\"status\":\"error\",\"errorType\":\"ValueError\","
	         "\"metrics\":{\"durationMs\":0.0,\"billedDurationMs\":1,\"memorySizeMB\":128,"
	         "\"maxMemoryUsedMB\":128}}}\n"
	         "{\"time\":\"" T0 ".007Z\",\"type\":\"platform.start\",\"record\":"
	         "{\"requestId\":\"%s\",\"version\":\"$LATEST\"}}\n"
	         "{\"time\":\"2023-11-14T22:13:21.507Z\",\"type\":\"platform.runtimeDone\",\"record\":"
	         "{\"requestId\":\"%s\",\"status\":\"timeout\",\"metrics\":{\"durationMs\":1000.0,"
	         "\"producedBytes\":0}}}\n"
	         "{\"time\":\"2023-11-14T22:13:21.507Z\",\"type\":\"platform.report\",\"record\":"
	         "{\"requestId\":\"%s\",\"status\":\"timeout\",\"metrics\":{\"durationMs\":1000.0,"
	         "\"billedDurationMs\":1000,\"memorySizeMB\":128,\"maxMemoryUsedMB\":128}}}\n",
	         r1, r1, r1, r2, r2, r2);
	ck_assert_sink(&s, want);
	faas_runtime_free(rt);
	sink_destroy(&s);
}
END_TEST

START_TEST(telemetry_throttle_and_extension_records)
{
	faas_runtime_t *rt = t_runtime();
	faas_extension_t x = FAAS_EXTENSION_INIT;
	faas_result_t r = FAAS_RESULT_INIT;
	faas_error_detail_t d;
	struct sink s, plat;

	sink_init(&s);
	sink_init(&plat);
	subscribe(rt, &s, FAAS_TELEMETRY_FAAS, 0, 0);
	subscribe(rt, &plat, FAAS_TELEMETRY_PLATFORM, 0, 0);
	t_create(rt, "f");
	ck_assert_ok(faas_function_set_reserved_concurrency(rt, "f", 0, &d), d);
	ck_assert_int_eq(faas_invoke(rt, "f:$LATEST", NULL, NULL, &r), FAAS_ETHROTTLED);
	faas_result_clear(&r);
	faas_clock_advance(rt, 1);
	ck_assert_int_eq(faas_invoke(rt, "f", NULL, NULL, &r), FAAS_ETHROTTLED);
	faas_result_clear(&r);
	x.name = "audit";
	x.events = FAAS_EXT_INVOKE | FAAS_EXT_SHUTDOWN;
	ck_assert_ok(faas_extension_register(rt, &x, NULL, &d), d);
	x.name = "init-only";
	x.events = FAAS_EXT_INIT;
	ck_assert_ok(faas_extension_register(rt, &x, NULL, &d), d);
	flush_settle(rt);
	ck_assert_sink(&s,
	               "{\"time\":\"" T0 ".000Z\",\"type\":\"faas.throttle\",\"record\":"
	               "{\"function\":\"f\",\"version\":\"$LATEST\",\"qualifier\":\"$LATEST\","
	               "\"reason\":\"ReservedFunctionConcurrentInvocationLimitExceeded\"}}\n"
	               "{\"time\":\"" T0 ".001Z\",\"type\":\"faas.throttle\",\"record\":"
	               "{\"function\":\"f\",\"version\":\"$LATEST\","
	               "\"reason\":\"ReservedFunctionConcurrentInvocationLimitExceeded\"}}\n");
	ck_assert_sink(&plat,
	               "{\"time\":\"" T0 ".001Z\",\"type\":\"platform.extension\",\"record\":"
	               "{\"name\":\"audit\",\"state\":\"Ready\",\"events\":[\"INVOKE\",\"SHUTDOWN\"]}}\n"
	               "{\"time\":\"" T0 ".001Z\",\"type\":\"platform.extension\",\"record\":"
	               "{\"name\":\"init-only\",\"state\":\"Ready\",\"events\":[]}}\n");
	faas_runtime_free(rt);
	sink_destroy(&s);
	sink_destroy(&plat);
}
END_TEST

/* ---- rendering ----------------------------------------------------------- */

static faas_telemetry_record_t rec(faas_telemetry_type_t type)
{
	faas_telemetry_record_t r;

	memset(&r, 0, sizeof(r));
	r.version = FAAS_TELEMETRY_RECORD_VERSION;
	r.type = type;
	r.time_ms = 1700000000123;
	r.function_name = "f";
	r.function_version = "7";
	r.request_id = "3da1f2dc-3222-475e-9205-e2e6c6318895";
	r.initialization_type = "on-demand";
	r.phase = "invoke";
	return r;
}

/* Text as expected, byte for byte; the json_t form equal to its parse. */
static void assert_renders(const faas_telemetry_record_t *r, const char *want)
{
	char buf[1024], small[8];
	json_t *j = NULL, *parsed;
	size_t n = faas_telemetry_record_format(r, buf, sizeof(buf));

	ck_assert_str_eq(buf, want);
	ck_assert_uint_eq(n, strlen(want));
	ck_assert_uint_eq(faas_telemetry_record_format(r, NULL, 0), n);
	ck_assert_uint_eq(faas_telemetry_record_format(r, small, sizeof(small)), n);
	ck_assert_str_eq(small, "{\"time\""); /* truncated like snprintf */
	ck_assert_int_eq(faas_telemetry_record_json(r, &j), 0);
	parsed = json_loads(want, JSON_ALLOW_NUL, NULL);
	ck_assert_ptr_nonnull(parsed);
	ck_assert(json_equal(j, parsed));
	json_decref(j);
	json_decref(parsed);
}

#define TT "{\"time\":\"2023-11-14T22:13:20.123Z\",\"type\":"

START_TEST(telemetry_json_every_type)
{
	faas_telemetry_record_t r;
	json_t *j = (json_t *)&j;

	r = rec(FAAS_TEL_INIT_START);
	assert_renders(&r, TT "\"platform.initStart\",\"record\":{\"initializationType\":"
	                      "\"on-demand\",\"phase\":\"invoke\"}}");
	r = rec(FAAS_TEL_INIT_RUNTIME_DONE);
	r.status = FAAS_EXT_TIMEOUT;
	r.error_type = "Runtime.Unknown"; /* only with status error */
	assert_renders(&r, TT "\"platform.initRuntimeDone\",\"record\":{\"initializationType\":"
	                      "\"on-demand\",\"phase\":\"invoke\",\"status\":\"timeout\"}}");
	r = rec(FAAS_TEL_INIT_REPORT);
	r.status = FAAS_EXT_ERROR;
	r.error_type = "Runtime.InitError";
	r.duration_ms = 0.1 + 0.2;
	assert_renders(&r, TT "\"platform.initReport\",\"record\":{\"initializationType\":"
	                      "\"on-demand\",\"phase\":\"invoke\",\"status\":\"error\",\"errorType\":"
	                      "\"Runtime.InitError\",\"metrics\":{\"durationMs\":0.3}}}");
	r = rec(FAAS_TEL_START);
	assert_renders(&r, TT "\"platform.start\",\"record\":{\"requestId\":"
	                      "\"3da1f2dc-3222-475e-9205-e2e6c6318895\",\"version\":\"7\"}}");
	r = rec(FAAS_TEL_RUNTIME_DONE);
	r.duration_ms = 1234.5;
	r.produced_bytes = 42;
	assert_renders(&r, TT "\"platform.runtimeDone\",\"record\":{\"requestId\":"
	                      "\"3da1f2dc-3222-475e-9205-e2e6c6318895\",\"status\":\"success\","
	                      "\"metrics\":{\"durationMs\":1234.5,\"producedBytes\":42}}}");
	r = rec(FAAS_TEL_REPORT);
	r.status = FAAS_EXT_ERROR;
	r.error_type = "Sandbox.\"Quoted\"";
	r.duration_ms = 1e20;
	r.billed_duration_ms = 2;
	r.memory_size_mb = 256;
	r.max_memory_used_mb = 256;
	r.has_init_duration = true;
	r.init_duration_ms = 0.000125;
	assert_renders(&r, TT "\"platform.report\",\"record\":{\"requestId\":"
	                      "\"3da1f2dc-3222-475e-9205-e2e6c6318895\",\"status\":\"error\","
	                      "\"errorType\":\"Sandbox.\\\"Quoted\\\"\",\"metrics\":{\"durationMs\":"
	                      "1e20,\"billedDurationMs\":2,\"memorySizeMB\":256,\"maxMemoryUsedMB\":"
	                      "256,\"initDurationMs\":0.000125}}}");
	r = rec(FAAS_TEL_EXTENSION);
	r.name = "audit";
	r.state = "Ready";
	r.events = FAAS_EXT_SHUTDOWN | FAAS_EXT_INIT;
	assert_renders(&r, TT "\"platform.extension\",\"record\":{\"name\":\"audit\",\"state\":"
	                      "\"Ready\",\"events\":[\"SHUTDOWN\"]}}");
	r.events = FAAS_EXT_INVOKE;
	assert_renders(&r, TT "\"platform.extension\",\"record\":{\"name\":\"audit\",\"state\":"
	                      "\"Ready\",\"events\":[\"INVOKE\"]}}");
	r = rec(FAAS_TEL_LOGS_DROPPED);
	r.dropped_records = 3;
	r.dropped_bytes = 210;
	r.reason = "slow";
	assert_renders(&r, TT "\"platform.logsDropped\",\"record\":{\"droppedBytes\":210,"
	                      "\"droppedRecords\":3,\"reason\":\"slow\"}}");
	r = rec(FAAS_TEL_FUNCTION);
	r.text = "say \"hi\"\t\\ \x01\n\xff \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 \xe2\x82 end";
	r.text_len = strlen(r.text);
	assert_renders(&r, TT "\"function\",\"record\":\"say \\\"hi\\\"\\t\\\\ \\u0001\\n? "
	                      "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 ?? end\"}");
	r.text = "a\0b";
	r.text_len = 3;
	assert_renders(&r, TT "\"function\",\"record\":\"a\\u0000b\"}");
	r = rec(FAAS_TEL_THROTTLE);
	r.qualifier = "live";
	r.reason = "ConcurrentInvocationLimitExceeded";
	assert_renders(&r, TT "\"faas.throttle\",\"record\":{\"function\":\"f\",\"version\":\"7\","
	                      "\"qualifier\":\"live\",\"reason\":\"ConcurrentInvocationLimitExceeded\"}}");
	r = rec(FAAS_TEL_ASYNC_RETRY);
	r.attempts = 2;
	r.reason = "Throttled";
	r.delay_ms = 4000;
	assert_renders(&r, TT "\"faas.asyncRetry\",\"record\":{\"function\":\"f\",\"version\":\"7\","
	                      "\"requestId\":\"3da1f2dc-3222-475e-9205-e2e6c6318895\","
	                      "\"approximateInvokeCount\":2,\"reason\":\"Throttled\",\"delayMs\":4000}}");
	r = rec(FAAS_TEL_DESTINATION);
	r.attempts = 1;
	r.condition = "Success";
	r.destination = "sink";
	assert_renders(&r, TT "\"faas.destination\",\"record\":{\"function\":\"f\",\"version\":\"7\","
	                      "\"requestId\":\"3da1f2dc-3222-475e-9205-e2e6c6318895\","
	                      "\"approximateInvokeCount\":1,\"condition\":\"Success\","
	                      "\"destination\":\"sink\",\"delivered\":false}}");
	r = rec(FAAS_TEL_SOURCE_ERROR);
	r.name = "redis://127.0.0.1:6379/0/orders";
	r.error_code = FAAS_ETIMEDOUT;
	r.reason = "Connection refused";
	assert_renders(&r, TT "\"faas.sourceError\",\"record\":{\"source\":"
	                      "\"redis://127.0.0.1:6379/0/orders\",\"errorCode\":\"FAAS_ETIMEDOUT\","
	                      "\"message\":\"Connection refused\"}}");
	/* what is not a record */
	ck_assert_uint_eq(faas_telemetry_record_format(NULL, NULL, 0), 0);
	r.version = 2;
	ck_assert_uint_eq(faas_telemetry_record_format(&r, NULL, 0), 0);
	ck_assert_int_eq(faas_telemetry_record_json(&r, &j), FAAS_EINVAL);
	ck_assert_ptr_null(j);
	r = rec((faas_telemetry_type_t)14);
	ck_assert_uint_eq(faas_telemetry_record_format(&r, NULL, 0), 0);
	ck_assert_int_eq(faas_telemetry_record_json(&r, NULL), FAAS_EINVAL);
	ck_assert_ptr_null(faas_telemetry_type_name((faas_telemetry_type_t)14));
	ck_assert_str_eq(faas_telemetry_type_name(FAAS_TEL_INIT_RUNTIME_DONE),
	                 "platform.initRuntimeDone");
}
END_TEST

/* ---- buffering ----------------------------------------------------------- */

START_TEST(telemetry_batches_by_max_items)
{
	faas_runtime_t *rt = t_runtime();
	struct fn_state f = { 0 };
	struct sink s;

	sink_init(&s);
	create_timed(rt, "f", &f);
	subscribe(rt, &s, FAAS_TELEMETRY_FUNCTION, 3, 30000);
	f.log_lines = 2;
	invoke_ok(rt, "f", NULL);
	t_settle(rt);
	ck_assert_int_eq(s.nbatches, 0);
	f.log_lines = 1;
	invoke_ok(rt, "f", NULL); /* the third record fills the buffer */
	t_settle(rt);
	ck_assert_int_eq(s.nbatches, 1);
	ck_assert_int_eq(s.batches[0], 3);
	f.log_lines = 3;
	invoke_ok(rt, "f", NULL);
	t_settle(rt);
	ck_assert_int_eq(s.nbatches, 2);
	ck_assert_int_eq(s.batches[1], 3);
	f.log_lines = 1;
	invoke_ok(rt, "f", NULL);
	ck_assert_int_eq(faas_clock_advance(rt, 29999), 0);
	t_settle(rt);
	ck_assert_int_eq(s.nbatches, 2);
	ck_assert_int_eq(faas_clock_advance(rt, 1), 0); /* 30 s after it was buffered */
	t_settle(rt);
	ck_assert_int_eq(s.nbatches, 3);
	ck_assert_int_eq(s.batches[2], 1);
	ck_assert_int_eq(s.n, 7);
	ck_assert_str_eq(s.lines[6], "{\"time\":\"" T0 ".007Z\",\"type\":\"function\",\"record\":"
	                             "\"line 1\"}");
	faas_runtime_free(rt);
	sink_destroy(&s);
}
END_TEST

START_TEST(telemetry_batches_by_timeout)
{
	faas_runtime_t *rt = t_runtime();
	struct fn_state f = { 0 };
	struct sink s;

	sink_init(&s);
	create_timed(rt, "f", &f);
	subscribe(rt, &s, FAAS_TELEMETRY_ALL, 0, 25);
	f.log_lines = 2;
	invoke_ok(rt, "f", NULL); /* cold: 6 platform records + 2 lines, the first at .000 */
	t_settle(rt);
	ck_assert_int_eq(s.nbatches, 0);
	ck_assert_int_eq(faas_clock_advance(rt, 17), 0); /* 24 ms after the first */
	t_settle(rt);
	ck_assert_int_eq(s.nbatches, 0);
	ck_assert_int_eq(faas_clock_advance(rt, 1), 0);
	t_settle(rt);
	ck_assert_int_eq(s.nbatches, 1);
	ck_assert_int_eq(s.batches[0], 8);
	invoke_ok(rt, "f", NULL); /* a new window starts with its first record */
	ck_assert_int_eq(faas_clock_advance(rt, 24), 0);
	t_settle(rt);
	ck_assert_int_eq(s.nbatches, 1);
	ck_assert_int_eq(faas_clock_advance(rt, 1), 0);
	t_settle(rt);
	ck_assert_int_eq(s.nbatches, 2);
	ck_assert_int_eq(s.batches[1], 5);
	faas_runtime_free(rt);
	sink_destroy(&s);
}
END_TEST

START_TEST(telemetry_drops_for_a_blocked_subscriber)
{
	faas_runtime_t *rt = t_runtime();
	struct fn_state f = { 0 };
	char want[1024];
	struct sink s;
	const char *line3 = "{\"time\":\"" T0 ".007Z\",\"type\":\"function\",\"record\":\"line 3\"}";

	sink_init(&s);
	s.block = true;
	create_timed(rt, "f", &f);
	invoke_ok(rt, "f", NULL); /* warm */
	subscribe(rt, &s, FAAS_TELEMETRY_FUNCTION, 2, 0);
	f.log_lines = 2;
	invoke_ok(rt, "f", NULL); /* a full buffer: delivered, and the subscriber blocks */
	pthread_mutex_lock(&s.m);
	while (!s.entered)
		pthread_cond_wait(&s.c, &s.m);
	pthread_mutex_unlock(&s.m);
	f.log_lines = 6;
	invoke_ok(rt, "f", NULL); /* never waits: 2 ready, 2 buffered, 2 dropped */
	pthread_mutex_lock(&s.m);
	s.open = true;
	pthread_cond_broadcast(&s.c);
	pthread_mutex_unlock(&s.m);
	t_settle(rt);
	ck_assert_int_eq(s.nbatches, 3);
	ck_assert_int_eq(s.batches[1], 3); /* logsDropped first, then the ready buffer */
	ck_assert_int_eq(s.batches[2], 2);
	snprintf(want, sizeof(want),
	         "{\"time\":\"" T0 ".007Z\",\"type\":\"platform.logsDropped\",\"record\":"
	         "{\"droppedBytes\":%zu,\"droppedRecords\":2,\"reason\":\"Some logs were dropped "
	         "because the downstream consumer is slower than the logs production rate\"}}",
	         2 * strlen(line3));
	ck_assert_str_eq(s.lines[2], want);
	ck_assert_str_eq(s.lines[3], "{\"time\":\"" T0 ".007Z\",\"type\":\"function\",\"record\":"
	                             "\"line 1\"}");
	ck_assert_str_eq(s.lines[6], "{\"time\":\"" T0 ".007Z\",\"type\":\"function\",\"record\":"
	                             "\"line 4\"}");
	ck_assert_int_eq(s.n, 7);
	ck_assert_int_eq(s.wrong_thread, 0);
	faas_runtime_free(rt);
	sink_destroy(&s);
}
END_TEST

START_TEST(telemetry_unsubscribe)
{
	faas_runtime_t *rt = t_runtime();
	struct fn_state f = { 0 };
	faas_error_detail_t d;
	struct sink s, other;
	uint32_t id;

	sink_init(&s);
	sink_init(&other);
	create_timed(rt, "f", &f);
	f.log_lines = 1;
	id = subscribe(rt, &s, FAAS_TELEMETRY_FUNCTION, 0, 0);
	subscribe(rt, &other, FAAS_TELEMETRY_FUNCTION, 0, 0);
	invoke_ok(rt, "f", NULL);
	ck_assert_ok(faas_telemetry_unsubscribe(rt, id, &d), d);
	t_settle(rt);
	ck_assert_int_eq(s.n, 1); /* what was buffered is still delivered */
	ck_assert_int_eq(s.released, 1);
	ck_assert_int_eq(other.n, 0);
	invoke_ok(rt, "f", NULL);
	flush_settle(rt);
	ck_assert_int_eq(s.n, 1);
	ck_assert_int_eq(other.n, 2);
	ck_assert_fail(faas_telemetry_unsubscribe(rt, id, &d), d, FAAS_ENOTFOUND,
	               "no telemetry subscription has id");
	ck_assert_int_eq(faas__tel_wants(rt, FAAS_TELEMETRY_ALL), FAAS_TELEMETRY_FUNCTION);
	faas_runtime_free(rt);
	ck_assert_int_eq(s.released, 1);
	ck_assert_int_eq(other.released, 1);
	ck_assert_int_eq(s.wrong_thread + other.wrong_thread, 0);
	sink_destroy(&s);
	sink_destroy(&other);
}
END_TEST

/* Real clock: the thread sleeps until the batch's deadline. Waits on the
 * sink's condition variable (up to 10 s), never sleeps. */
START_TEST(telemetry_real_clock_timeout)
{
	faas_runtime_options_t o = t_options();
	faas_runtime_t *rt;
	struct fn_state f = { 0 };
	struct timespec until;
	struct sink s;
	uint64_t t0;

	o.clock = FAAS_CLOCK_REAL;
	o.virtual_epoch_ms = 0;
	rt = t_runtime_with(&o);
	sink_init(&s);
	f.log_lines = 1;
	create_timed(rt, "f", &f); /* moving a real clock fails: harmless here */
	subscribe(rt, &s, FAAS_TELEMETRY_FUNCTION, 0, 25);
	t0 = faas_clock_monotonic_ms(rt);
	invoke_ok(rt, "f", NULL);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	pthread_mutex_lock(&s.m);
	while (s.nbatches == 0 && pthread_cond_timedwait(&s.c, &s.m, &until) == 0)
		;
	pthread_mutex_unlock(&s.m);
	ck_assert_int_eq(s.nbatches, 1);
	ck_assert_int_eq(s.batches[0], 1);
	ck_assert_uint_ge(faas_clock_monotonic_ms(rt) - t0, 25); /* not before its timeout */
	ck_assert_int_eq(s.wrong_thread, 0);
	faas_runtime_free(rt);
	sink_destroy(&s);
}
END_TEST

/* Callers on several threads: every invocation's three records arrive,
 * none dropped, each invocation's in order. */
struct caller {
	pthread_t tid;
	faas_runtime_t *rt;
	long n;
	int failed;
};

static void *caller_main(void *arg)
{
	struct caller *c = arg;
	long i;

	for (i = 0; i < c->n; i++) {
		faas_result_t r = FAAS_RESULT_INIT;
		c->failed += faas_invoke(c->rt, "f", NULL, NULL, &r) != 0 || r.function_error;
		faas_result_clear(&r);
	}
	return NULL;
}

static int count_type(struct sink *s, const char *type)
{
	char key[64];
	int i, n = 0;

	snprintf(key, sizeof(key), "\"type\":\"%s\"", type);
	for (i = 0; i < s->n; i++)
		n += strstr(s->lines[i], key) != NULL;
	return n;
}

START_TEST(telemetry_concurrent_invokers)
{
	faas_runtime_t *rt = t_runtime();
	struct caller c[4];
	struct sink s;
	int i, total = 0, starts = 0;

	sink_init(&s);
	t_create(rt, "f");
	subscribe(rt, &s, FAAS_TELEMETRY_PLATFORM, 0, 0);
	for (i = 0; i < 4; i++) {
		c[i].rt = rt;
		c[i].n = 20;
		c[i].failed = 0;
		ck_assert_int_eq(pthread_create(&c[i].tid, NULL, caller_main, &c[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(c[i].tid, NULL);
		ck_assert_int_eq(c[i].failed, 0);
		total += (int)c[i].n;
	}
	flush_settle(rt);
	ck_assert_int_eq(count_type(&s, "platform.start"), total);
	ck_assert_int_eq(count_type(&s, "platform.runtimeDone"), total);
	ck_assert_int_eq(count_type(&s, "platform.report"), total);
	ck_assert_int_eq(count_type(&s, "platform.logsDropped"), 0);
	starts = count_type(&s, "platform.initStart");
	ck_assert_int_ge(starts, 1);
	ck_assert_int_le(starts, 4);
	ck_assert_int_eq(count_type(&s, "platform.initReport"), starts);
	ck_assert_int_eq(s.n, 3 * total + 3 * starts);
	faas_runtime_free(rt);
	sink_destroy(&s);
}
END_TEST

/* A subscriber that unsubscribes itself from its first batch, and tries to
 * shut the runtime down from there (refused). */
struct self_unsub {
	struct sink s;
	faas_runtime_t *rt;
	uint32_t id;
	int unsub_rc, shutdown_rc, flush_rc;
};

static void unsub_batch(const faas_telemetry_record_t *r, size_t n, void *ud)
{
	struct self_unsub *u = ud;

	on_batch(r, n, &u->s);
	if (u->s.nbatches == 1) {
		u->unsub_rc = faas_telemetry_unsubscribe(u->rt, u->id, NULL);
		u->flush_rc = faas_telemetry_flush(u->rt, NULL);
		u->shutdown_rc = faas_runtime_shutdown(u->rt, 0);
	}
}

static void unsub_release(void *ud)
{
	on_release(&((struct self_unsub *)ud)->s);
}

static void self_unsubscribe(bool inline_mode)
{
	faas_runtime_options_t ro = t_options();
	faas_telemetry_options_t o = FAAS_TELEMETRY_OPTIONS_INIT;
	struct fn_state f = { 0 };
	faas_error_detail_t d;
	struct self_unsub u;

	ro.inline_mode = inline_mode;
	memset(&u, 0, sizeof(u));
	u.rt = t_runtime_with(&ro);
	sink_init(&u.s);
	u.s.inline_mode = inline_mode;
	u.s.caller = pthread_self();
	create_timed(u.rt, "f", &f);
	f.log_lines = 2;
	o.types = FAAS_TELEMETRY_FUNCTION;
	o.on_batch = unsub_batch;
	o.release = unsub_release;
	o.user_data = &u;
	o.max_items = 1;
	o.timeout_ms = 25;
	ck_assert_ok(faas_telemetry_subscribe(u.rt, &o, &u.id, &d), d);
	invoke_ok(u.rt, "f", NULL); /* line 1 fills the buffer, line 2 the next one */
	t_settle(u.rt);
	ck_assert_int_eq(u.unsub_rc, 0);
	ck_assert_int_eq(u.flush_rc, 0);
	ck_assert_int_eq(u.shutdown_rc, FAAS_EDEADLK);
	ck_assert_int_eq(u.s.released, 1);
	ck_assert_int_le(u.s.n, 2); /* what was buffered may still come; then nothing */
	ck_assert_int_ge(u.s.n, 1);
	invoke_ok(u.rt, "f", NULL);
	ck_assert_ok(faas_telemetry_flush(u.rt, &d), d);
	t_settle(u.rt);
	ck_assert_int_le(u.s.n, 2);
	ck_assert_int_eq(u.s.released, 1);
	ck_assert_int_eq(u.s.wrong_thread, 0);
	faas_runtime_free(u.rt);
	ck_assert_int_eq(u.s.released, 1);
	sink_destroy(&u.s);
}

START_TEST(telemetry_subscriber_unsubscribes_itself)
{
	self_unsubscribe(false);
	self_unsubscribe(true);
}
END_TEST

/* ---- modes and lifecycle ------------------------------------------------- */

START_TEST(telemetry_inline_mode)
{
	faas_runtime_options_t o = t_options();
	faas_runtime_t *rt;
	struct fn_state f = { 0 };
	faas_error_detail_t d;
	struct sink s;
	uint32_t id;

	o.inline_mode = 1;
	rt = t_runtime_with(&o);
	sink_init(&s);
	s.inline_mode = true;
	s.caller = pthread_self();
	create_timed(rt, "f", &f);
	id = subscribe(rt, &s, FAAS_TELEMETRY_FUNCTION, 3, 25);
	f.log_lines = 2;
	invoke_ok(rt, "f", NULL); /* init moves the clock: never delivered from the handler */
	ck_assert_int_eq(s.nbatches, 0); /* not due */
	ck_assert_int_eq(faas_clock_advance(rt, 25), 0); /* delivered by the clock's mover */
	ck_assert_int_eq(s.nbatches, 1);
	ck_assert_int_eq(s.batches[0], 2);
	f.log_lines = 3;
	invoke_ok(rt, "f", NULL); /* a full buffer: delivered at the end of the call */
	ck_assert_int_eq(s.nbatches, 2);
	ck_assert_int_eq(s.batches[1], 3);
	f.log_lines = 1;
	invoke_ok(rt, "f", NULL);
	ck_assert_int_eq(s.nbatches, 2);
	ck_assert_ok(faas_telemetry_flush(rt, &d), d);
	ck_assert_int_eq(s.nbatches, 3);
	invoke_ok(rt, "f", NULL);
	ck_assert_int_eq(s.nbatches, 3);
	ck_assert_ok(faas_telemetry_unsubscribe(rt, id, &d), d); /* the last line, then release */
	ck_assert_int_eq(s.nbatches, 4);
	ck_assert_int_eq(s.n, 7);
	ck_assert_int_eq(s.released, 1);
	ck_assert_int_eq(s.wrong_thread, 0);
	faas_runtime_free(rt);
	sink_destroy(&s);
}
END_TEST

START_TEST(telemetry_shutdown_flushes)
{
	faas_runtime_t *rt = t_runtime();
	struct fn_state f = { 0 };
	faas_telemetry_options_t o = FAAS_TELEMETRY_OPTIONS_INIT;
	faas_error_detail_t d;
	struct sink s;
	uint32_t id;

	sink_init(&s);
	create_timed(rt, "f", &f);
	id = subscribe(rt, &s, FAAS_TELEMETRY_PLATFORM, 0, 30000);
	invoke_ok(rt, "f", NULL);
	ck_assert_int_eq(faas_runtime_shutdown(rt, 1000), 0);
	ck_assert_int_eq(s.n, 6); /* delivered before shutdown returned */
	ck_assert_int_eq(s.released, 1);
	ck_assert_int_eq(s.wrong_thread, 0);
	o.types = FAAS_TELEMETRY_PLATFORM;
	o.on_batch = on_batch;
	ck_assert_fail(faas_telemetry_subscribe(rt, &o, NULL, &d), d, FAAS_ESHUTDOWN, "shut down");
	ck_assert_fail(faas_telemetry_unsubscribe(rt, id, &d), d, FAAS_ESHUTDOWN, "shut down");
	ck_assert_fail(faas_telemetry_flush(rt, &d), d, FAAS_ESHUTDOWN, "shut down");
	ck_assert_int_eq(faas_test_quiesce(rt, 1000), 0);
	faas_runtime_free(rt);
	ck_assert_int_eq(s.released, 1);
	sink_destroy(&s);
}
END_TEST

static void nop_batch(const faas_telemetry_record_t *r, size_t n, void *ud)
{
	(void)r;
	(void)n;
	(void)ud;
}

START_TEST(telemetry_bad_options)
{
	faas_runtime_t *rt = t_runtime();
	faas_telemetry_options_t o = FAAS_TELEMETRY_OPTIONS_INIT;
	faas_error_detail_t d;
	uint32_t id = 0;

	o.types = FAAS_TELEMETRY_PLATFORM;
	o.on_batch = nop_batch;
	ck_assert_fail(faas_telemetry_subscribe(NULL, &o, &id, &d), d, FAAS_EINVAL,
	               "runtime must not be NULL");
	ck_assert_fail(faas_telemetry_subscribe(rt, NULL, &id, &d), d, FAAS_EINVAL,
	               "telemetry options must not be NULL");
	o.version = 2;
	ck_assert_fail(faas_telemetry_subscribe(rt, &o, &id, &d), d, FAAS_EINVAL,
	               "unsupported faas_telemetry_options_t version 2");
	o.version = FAAS_TELEMETRY_OPTIONS_VERSION;
	o.on_batch = NULL;
	ck_assert_fail(faas_telemetry_subscribe(rt, &o, &id, &d), d, FAAS_EINVAL,
	               "on_batch must not be NULL");
	o.on_batch = nop_batch;
	o.types = 0;
	ck_assert_fail(faas_telemetry_subscribe(rt, &o, &id, &d), d, FAAS_EINVAL,
	               "types must be a non-empty mask");
	o.types = 0x10;
	ck_assert_fail(faas_telemetry_subscribe(rt, &o, &id, &d), d, FAAS_EINVAL, "(got 0x10)");
	o.types = FAAS_TELEMETRY_ALL;
	o.max_items = 10001;
	ck_assert_fail(faas_telemetry_subscribe(rt, &o, &id, &d), d, FAAS_EINVAL,
	               "max_items must be 1 to 10000 (0 = 10000); got 10001");
	o.max_items = 0;
	o.timeout_ms = 24;
	ck_assert_fail(faas_telemetry_subscribe(rt, &o, &id, &d), d, FAAS_EINVAL,
	               "timeout_ms must be 25 to 30000 (0 = 1000); got 24");
	o.timeout_ms = 30001;
	ck_assert_fail(faas_telemetry_subscribe(rt, &o, &id, &d), d, FAAS_EINVAL, "got 30001");
	ck_assert_int_eq(id, 0);
	ck_assert_int_eq(faas__tel_wants(rt, FAAS_TELEMETRY_ALL), 0);
	/* the limits themselves are fine */
	o.max_items = 1;
	o.timeout_ms = 25;
	ck_assert_ok(faas_telemetry_subscribe(rt, &o, &id, &d), d);
	o.max_items = 10000;
	o.timeout_ms = 30000;
	ck_assert_ok(faas_telemetry_subscribe(rt, &o, NULL, &d), d);
	ck_assert_fail(faas_telemetry_unsubscribe(NULL, id, &d), d, FAAS_EINVAL,
	               "runtime must not be NULL");
	ck_assert_fail(faas_telemetry_unsubscribe(rt, 99, &d), d, FAAS_ENOTFOUND,
	               "no telemetry subscription has id 99");
	ck_assert_fail(faas_telemetry_flush(NULL, &d), d, FAAS_EINVAL, "runtime must not be NULL");
	ck_assert_ok(faas_telemetry_unsubscribe(rt, id, &d), d);
	faas_runtime_free(rt);
}
END_TEST

/* ---- failures ------------------------------------------------------------ */

START_TEST(telemetry_subscribe_alloc_and_thread_failure)
{
	faas_telemetry_options_t o = FAAS_TELEMETRY_OPTIONS_INIT;
	faas_error_detail_t d;
	long n, base = faas__alloc_live();
	int failures = 0, rc;
	struct sink s;

	sink_init(&s);
	o.types = FAAS_TELEMETRY_ALL;
	o.on_batch = on_batch;
	o.user_data = &s;
	o.release = on_release;
	o.max_items = 1000;
	for (n = 1; n < 50; n++) {
		faas_runtime_t *rt = t_runtime();
		long live = faas__alloc_live(), fails = faas__alloc_failures();

		faas__alloc_fail_at(n, false);
		rc = faas_telemetry_subscribe(rt, &o, NULL, &d);
		faas__alloc_fail_at(0, false);
		if (faas__alloc_failures() == fails) {
			ck_assert_int_eq(rc, 0);
			faas_runtime_free(rt);
			break;
		}
		ck_assert_int_eq(rc, FAAS_ENOMEM);
		ck_assert_str_eq(d.message, "out of memory");
		ck_assert_int_eq(faas__alloc_live(), live);
		ck_assert_int_eq(faas__tel_wants(rt, FAAS_TELEMETRY_ALL), 0);
		failures++;
		faas_runtime_free(rt);
	}
	ck_assert_int_ge(failures, 5); /* the subscription and its four arrays */
	ck_assert_int_eq(s.released, 1); /* only the one that succeeded */
	{
		faas_runtime_t *rt = t_runtime();
		faas__thread_fail_at(1, false);
		rc = faas_telemetry_subscribe(rt, &o, NULL, &d);
		faas__thread_fail_at(0, false);
		ck_assert_fail(rc, d, FAAS_ETHREAD, "could not start the telemetry thread");
		ck_assert_int_eq(faas__tel_wants(rt, FAAS_TELEMETRY_ALL), 0);
		ck_assert_ok(faas_telemetry_subscribe(rt, &o, NULL, &d), d); /* and later it can */
		faas_runtime_free(rt);
	}
	ck_assert_int_eq(s.released, 2);
	ck_assert_int_eq(faas__alloc_live(), base);
	sink_destroy(&s);
}
END_TEST

/* An invocation whose allocations fail: every record is delivered or counted
 * in logsDropped; nothing leaks. */
START_TEST(telemetry_invoke_alloc_failure)
{
	long n, base = faas__alloc_live();
	int counted = 0;

	for (n = 1; n < 200; n++) {
		faas_runtime_t *rt = t_runtime();
		faas_result_t r = FAAS_RESULT_INIT;
		struct fn_state f = { 0 };
		long fails;
		int rc, i, seen = 0, dropped = 0;
		struct sink s;

		sink_init(&s);
		create_timed(rt, "f", &f);
		f.log_lines = 1;
		subscribe(rt, &s, FAAS_TELEMETRY_ALL, 0, 0);
		fails = faas__alloc_failures();
		faas__alloc_fail_at(n, false);
		rc = faas_invoke(rt, "f", NULL, NULL, &r);
		faas__alloc_fail_at(0, false);
		flush_settle(rt);
		pthread_mutex_lock(&s.m);
		for (i = 0; i < s.n; i++) {
			const char *p = strstr(s.lines[i], "\"droppedRecords\":");
			if (p)
				dropped += atoi(p + strlen("\"droppedRecords\":"));
			else
				seen++;
		}
		pthread_mutex_unlock(&s.m);
		ck_assert_msg(rc == 0 || rc == FAAS_ENOMEM, "n=%ld: %s", n, faas_err_name(rc));
		if (rc == 0 && !r.function_error) {
			ck_assert_msg(seen + dropped == 7, "n=%ld: %d seen, %d dropped", n, seen, dropped);
			counted += dropped > 0;
		}
		faas_result_clear(&r);
		faas_runtime_free(rt);
		sink_destroy(&s);
		ck_assert_msg(faas__alloc_live() == base, "n=%ld: %ld blocks left", n,
		              faas__alloc_live() - base);
		if (faas__alloc_failures() == fails)
			break; /* the invocation ran untouched */
	}
	ck_assert_int_lt(n, 200);
	ck_assert_int_gt(counted, 0); /* some records were lost to memory, and counted */
}
END_TEST

/* ---- async records (faas.asyncRetry, faas.destination, faas.deadLetter) ---- */

static int async_fails(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	(void)event;
	(void)response;
	(void)ud;
	return faas_context_fail(ctx, "Boom", "no");
}

static void async_dest(json_t *record, void *ud)
{
	(void)record;
	(void)ud;
}

static void async_dlq(json_t *event, const faas_dead_letter_info_t *info, void *ud)
{
	(void)event;
	(void)info;
	(void)ud;
}

START_TEST(telemetry_async_records)
{
	faas_runtime_t *rt = t_runtime();
	faas_function_config_t c = t_config(NULL);
	faas_event_invoke_config_t ec = FAAS_EVENT_INVOKE_CONFIG_INIT;
	faas_invoke_options_t io = FAAS_INVOKE_OPTIONS_INIT;
	faas_result_t r = FAAS_RESULT_INIT;
	faas_error_detail_t d;
	struct sink s;
	char want[2048];

	sink_init(&s);
	c.handler = async_fails;
	c.dead_letter = async_dlq;
	ck_assert_ok(faas_function_create(rt, "a", &c, &d), d);
	ec.max_retry_attempts = 1;
	ec.on_failure.kind = FAAS_DESTINATION_CALLBACK;
	ec.on_failure.callback = async_dest;
	ck_assert_ok(faas_function_set_event_invoke_config(rt, "a", NULL, &ec, &d), d);
	subscribe(rt, &s, FAAS_TELEMETRY_FAAS, 0, 0);
	io.type = FAAS_INVOKE_EVENT;
	ck_assert_int_eq(faas_invoke(rt, "a", NULL, &io, &r), 0);
	t_settle(rt);
	ck_assert_int_eq(faas_clock_advance(rt, 60000), 0);
	t_settle(rt);
	flush_settle(rt);
	snprintf(want, sizeof(want),
	         "{\"time\":\"2023-11-14T22:13:20.000Z\",\"type\":\"faas.asyncRetry\",\"record\":"
	         "{\"function\":\"a\",\"version\":\"$LATEST\",\"requestId\":\"%s\","
	         "\"approximateInvokeCount\":1,\"reason\":\"FunctionError\",\"delayMs\":60000}}\n"
	         "{\"time\":\"2023-11-14T22:14:20.000Z\",\"type\":\"faas.deadLetter\",\"record\":"
	         "{\"function\":\"a\",\"version\":\"$LATEST\",\"requestId\":\"%s\","
	         "\"approximateInvokeCount\":2,\"condition\":\"RetriesExhausted\",\"errorCode\":200}}\n"
	         "{\"time\":\"2023-11-14T22:14:20.000Z\",\"type\":\"faas.destination\",\"record\":"
	         "{\"function\":\"a\",\"version\":\"$LATEST\",\"requestId\":\"%s\","
	         "\"approximateInvokeCount\":2,\"condition\":\"RetriesExhausted\","
	         "\"destination\":\"callback\",\"delivered\":true}}\n",
	         r.request_id, r.request_id, r.request_id);
	ck_assert_sink(&s, want);
	faas_result_clear(&r);
	faas_runtime_free(rt);
	sink_destroy(&s);
}
END_TEST

Suite *telemetry_suite(void)
{
	Suite *s = suite_create("telemetry");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, telemetry_cold_then_warm);
	tcase_add_test(tc, telemetry_init_failure_then_retry);
	tcase_add_test(tc, telemetry_error_and_timeout_status);
	tcase_add_test(tc, telemetry_throttle_and_extension_records);
	tcase_add_test(tc, telemetry_json_every_type);
	tcase_add_test(tc, telemetry_batches_by_max_items);
	tcase_add_test(tc, telemetry_batches_by_timeout);
	tcase_add_test(tc, telemetry_drops_for_a_blocked_subscriber);
	tcase_add_test(tc, telemetry_unsubscribe);
	tcase_add_test(tc, telemetry_real_clock_timeout);
	tcase_add_test(tc, telemetry_concurrent_invokers);
	tcase_add_test(tc, telemetry_subscriber_unsubscribes_itself);
	tcase_add_test(tc, telemetry_inline_mode);
	tcase_add_test(tc, telemetry_shutdown_flushes);
	tcase_add_test(tc, telemetry_bad_options);
	tcase_add_test(tc, telemetry_subscribe_alloc_and_thread_failure);
	tcase_add_test(tc, telemetry_invoke_alloc_failure);
	tcase_add_test(tc, telemetry_async_records);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}
