/*
 * libfaas tests — metrics after a scripted sequence of invocations, as JSON
 * and as Prometheus text, with exact values (virtual clock, inline mode).
 */
#include "tests.h"

#include <stdlib.h>

/* Runs for event.ms of virtual time; event.fail makes it fail. */
static int timed(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	(void)ud;
	faas_clock_advance(faas_context_runtime(ctx), (uint64_t)json_integer_value(json_object_get(event, "ms")));
	if (json_is_true(json_object_get(event, "fail")))
		return faas_context_fail(ctx, "Boom", "failed");
	*response = NULL;
	return 0;
}

static void run(faas_runtime_t *rt, const char *ident, const char *event, int want)
{
	faas_result_t r = FAAS_RESULT_INIT;

	ck_assert_int_eq(faas_invoke_json(rt, ident, event, strlen(event), NULL, &r), want);
	faas_result_clear(&r);
}

static faas_runtime_t *scripted(void)
{
	faas_runtime_options_t o = t_options();
	faas_error_detail_t d;
	faas_runtime_t *rt;

	o.inline_mode = 1;
	rt = t_runtime_with(&o);
	t_create_fn(rt, "timed", timed, NULL);
	t_create(rt, "idle");
	run(rt, "timed", "{\"ms\":5}", 0);                /* cold */
	run(rt, "timed", "{\"ms\":5}", 0);
	run(rt, "timed", "{\"ms\":100}", 0);
	run(rt, "timed", "{\"ms\":0,\"fail\":true}", 0);  /* a function error */
	run(rt, "timed", "{\"ms\":4000}", 0);             /* a timeout (3 s) */
	ck_assert_ok(faas_function_set_reserved_concurrency(rt, "timed", 0, &d), d);
	run(rt, "timed", "{}", FAAS_ETHROTTLED);
	ck_assert_ok(faas_function_set_reserved_concurrency(rt, "timed", -1, &d), d);
	return rt;
}

START_TEST(metrics_json_exact)
{
	faas_runtime_t *rt = scripted();
	faas_error_detail_t d;
	json_t *m = NULL, *fns, *v, *dur;
	char *text;

	ck_assert_ok(faas_metrics_json(rt, &m, &d), d);
	ck_assert_int_eq(json_integer_value(json_object_get(m, "ConcurrentExecutions")), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(m, "UnreservedConcurrentExecutions")), 0);
	fns = json_object_get(m, "Functions");
	ck_assert_uint_eq(json_array_size(fns), 2);
	ck_assert_str_eq(t_jstr(json_array_get(fns, 0), "FunctionName"), "idle");
	v = json_array_get(json_object_get(json_array_get(fns, 0), "Versions"), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(v, "Invocations")), 0);
	v = json_array_get(json_object_get(json_array_get(fns, 1), "Versions"), 0);
	ck_assert_str_eq(t_jstr(v, "ExecutedVersion"), "$LATEST");
	ck_assert_int_eq(json_integer_value(json_object_get(v, "Invocations")), 5);
	ck_assert_int_eq(json_integer_value(json_object_get(v, "Errors")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(v, "Timeouts")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(v, "Throttles")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(v, "ColdStarts")), 1);
	dur = json_object_get(v, "Duration");
	text = faas_json_dumps(dur, JSON_COMPACT | JSON_SORT_KEYS);
	/* 0, 5, 5, 100 and 3000 ms (the timeout counts its full 3 s):
	 * p50 in the 5-ms bucket (its largest value 5.119), p90 and p99 in the 3-s one */
	ck_assert_str_eq(text, "{\"Count\":5,\"P50\":5.119,\"P90\":3145.727,\"P99\":3145.727,"
	                       "\"SumMs\":3110.0}");
	free(text);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(v, "InitDuration"), "Count")), 1);
	json_decref(m);
	memset(&d, 0x41, sizeof(d)); /* a detail left as it was: reset on entry all the same */
	ck_assert_fail(faas_metrics_json(rt, NULL, &d), d, FAAS_EINVAL, "out must not be NULL");
	memset(&d, 0x41, sizeof(d));
	ck_assert_fail(faas_metrics_prometheus(rt, NULL, &d), d, FAAS_EINVAL, "out must not be NULL");
	faas_runtime_free(rt);
}
END_TEST

START_TEST(metrics_prometheus_exact)
{
	faas_runtime_t *rt = scripted();
	faas_error_detail_t d;
	char *text = NULL;

	ck_assert_ok(faas_metrics_prometheus(rt, &text, &d), d);
#define HAS(line) ck_assert_msg(strstr(text, line "\n") != NULL, "missing: %s\n%s", line, text)
	HAS("# TYPE faas_invocations_total counter");
	HAS("faas_invocations_total{function=\"timed\",version=\"$LATEST\"} 5");
	HAS("faas_invocations_total{function=\"idle\",version=\"$LATEST\"} 0");
	HAS("faas_errors_total{function=\"timed\",version=\"$LATEST\"} 2");
	HAS("faas_throttles_total{function=\"timed\",version=\"$LATEST\"} 1");
	HAS("faas_timeouts_total{function=\"timed\",version=\"$LATEST\"} 1");
	HAS("faas_cold_starts_total{function=\"timed\",version=\"$LATEST\"} 1");
	HAS("# TYPE faas_duration_milliseconds histogram");
	HAS("faas_duration_milliseconds_bucket{function=\"timed\",version=\"$LATEST\",le=\"0.001\"} 1");
	HAS("faas_duration_milliseconds_bucket{function=\"timed\",version=\"$LATEST\",le=\"5.119\"} 3");
	HAS("faas_duration_milliseconds_bucket{function=\"timed\",version=\"$LATEST\",le=\"114.687\"} 4");
	HAS("faas_duration_milliseconds_bucket{function=\"timed\",version=\"$LATEST\",le=\"3145.727\"} 5");
	HAS("faas_duration_milliseconds_bucket{function=\"timed\",version=\"$LATEST\",le=\"+Inf\"} 5");
	HAS("faas_duration_milliseconds_sum{function=\"timed\",version=\"$LATEST\"} 3110");
	HAS("faas_duration_milliseconds_count{function=\"timed\",version=\"$LATEST\"} 5");
	HAS("faas_concurrent_executions 0");
#undef HAS
	free(text);
	faas_runtime_free(rt);
}
END_TEST

START_TEST(metrics_per_version_and_concurrent)
{
	faas_runtime_t *rt = t_runtime();
	faas_alias_config_t ac = FAAS_ALIAS_CONFIG_INIT;
	faas_error_detail_t d;
	struct bg_invoke bg;
	struct latch l;
	json_t *m = NULL, *vs;
	int i;

	latch_init(&l);
	t_create(rt, "f");
	t_publish(rt, "f");
	t_touch(rt, "f", "2");
	t_publish(rt, "f");
	ac.function_version = 1;
	ac.additional_version = 2;
	ac.additional_weight = 0.5;
	ck_assert_ok(faas_alias_create(rt, "f", "live", &ac, &d), d);
	for (i = 0; i < 200; i++)
		run(rt, "f:live", "{}", 0);
	t_create_fn(rt, "held", t_latch_handler, &l);
	bg_start(&bg, rt, "held");
	latch_wait_entered(&l, 1);
	ck_assert_ok(faas_metrics_json(rt, &m, &d), d);
	ck_assert_int_eq(json_integer_value(json_object_get(m, "ConcurrentExecutions")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(m, "UnreservedConcurrentExecutions")), 1);
	vs = json_object_get(json_array_get(json_object_get(m, "Functions"), 0), "Versions");
	ck_assert_str_eq(t_jstr(json_array_get(vs, 1), "ExecutedVersion"), "1");
	ck_assert_str_eq(t_jstr(json_array_get(vs, 2), "ExecutedVersion"), "2");
	/* every call ran exactly one of the two versions */
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(vs, 1), "Invocations")) +
	                         json_integer_value(json_object_get(json_array_get(vs, 2), "Invocations")),
	                 200);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(vs, 0), "Invocations")), 0);
	json_decref(m);
	latch_open(&l);
	bg_join(&bg);
	faas_result_clear(&bg.result);
	faas_runtime_free(rt);
	latch_destroy(&l);
}
END_TEST

/* $LATEST keeps its counts across updates. */
START_TEST(metrics_latest_survives_updates)
{
	faas_runtime_t *rt = t_runtime();
	json_t *m = NULL, *v;
	int i;

	t_create(rt, "f");
	for (i = 0; i < 3; i++)
		run(rt, "f", "{}", 0);
	t_touch(rt, "f", "new code");
	run(rt, "f", "{}", 0);
	ck_assert_int_eq(faas_metrics_json(rt, &m, NULL), 0);
	v = json_array_get(json_object_get(json_array_get(json_object_get(m, "Functions"), 0), "Versions"), 0);
	ck_assert_str_eq(t_jstr(v, "ExecutedVersion"), "$LATEST");
	ck_assert_int_eq(json_integer_value(json_object_get(v, "Invocations")), 4);
	ck_assert_int_eq(json_integer_value(json_object_get(v, "ColdStarts")), 2);
	json_decref(m);
	faas_runtime_free(rt);
}
END_TEST

Suite *metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, metrics_json_exact);
	tcase_add_test(tc, metrics_prometheus_exact);
	tcase_add_test(tc, metrics_per_version_and_concurrent);
	tcase_add_test(tc, metrics_latest_survives_updates);
	suite_add_tcase(s, tc);
	return s;
}
