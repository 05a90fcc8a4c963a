/*
 * libfaas tests — the handler test harness: one-call invocation (result,
 * log capture, environment, client context, init, exact remaining time and
 * timeouts on the virtual clock), the JSON diff and the sample events.
 */
#include "tests.h"

#include "faas/testing.h"
#include "mapping_int.h"

static int greet(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	const char *name = json_string_value(json_object_get(event, "name"));
	json_t *cc = faas_context_client_context(ctx);

	faas_context_log(ctx, "greeting %s", name ? name : "nobody");
	if (!name)
		return faas_context_fail(ctx, "MissingName", "no name in the event");
	*response = json_pack("{s:s,s:s,s:s,s:O}", "greeting", "hello", "name", name, "stage",
	                      faas_context_getenv(ctx, "STAGE") ? faas_context_getenv(ctx, "STAGE") : "",
	                      "client", cc ? cc : json_null());
	(void)ud;
	return 0;
}

START_TEST(testing_invoke_a_handler)
{
	faas_test_options_t o = FAAS_TEST_OPTIONS_INIT;
	faas_env_var_t env[] = { { "STAGE", "test" } };
	faas_result_t r;
	char diff[256];
	json_t *want;

	o.environment = env;
	o.environment_count = 1;
	o.client_context_json = "{\"custom\":{\"k\":\"v\"}}";
	ck_assert_int_eq(faas_test_invoke(greet, "{\"name\":\"Ada\"}", &o, &r), 0);
	want = json_pack("{s:s,s:s,s:s,s:{s:{s:s}}}", "greeting", "hello", "name", "Ada", "stage",
	                 "test", "client", "custom", "k", "v");
	ck_assert_msg(faas_test_json_diff(want, r.payload, diff, sizeof(diff)) == 0, "%s", diff);
	json_decref(want);
	ck_assert_int_eq(r.function_error, FAAS_FUNCTION_ERROR_NONE);
	ck_assert_ptr_nonnull(strstr(r.log_tail, "greeting Ada"));
	ck_assert_ptr_nonnull(strstr(r.log_tail, "START RequestId: "));
	ck_assert_ptr_nonnull(strstr(r.log_tail, "REPORT RequestId: "));
	faas_result_clear(&r);
	/* a function error is a result, not a failed call */
	ck_assert_int_eq(faas_test_invoke(greet, "{}", NULL, &r), 0);
	ck_assert_int_eq(r.function_error, FAAS_FUNCTION_ERROR_UNHANDLED);
	ck_assert_str_eq(t_jstr(r.payload, "errorType"), "MissingName");
	faas_result_clear(&r);
}
END_TEST

static int64_t seen_remaining[2];

/* Works 400 ms of virtual time; sleeps past its timeout when asked. */
static int slow(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	(void)ud;
	seen_remaining[0] = faas_context_remaining_ms(ctx);
	faas_clock_advance(faas_context_runtime(ctx), 400);
	seen_remaining[1] = faas_context_remaining_ms(ctx);
	if (json_is_true(json_object_get(event, "stall")))
		faas_clock_advance(faas_context_runtime(ctx), 1000);
	*response = json_true();
	return 0;
}

START_TEST(testing_exact_time)
{
	faas_test_options_t o = FAAS_TEST_OPTIONS_INIT;
	faas_result_t r;

	o.timeout_ms = 1000;
	ck_assert_int_eq(faas_test_invoke(slow, "{}", &o, &r), 0);
	ck_assert_int_eq(seen_remaining[0], 1000);
	ck_assert_int_eq(seen_remaining[1], 600);
	ck_assert_int_eq(r.function_error, FAAS_FUNCTION_ERROR_NONE);
	faas_result_clear(&r);
	ck_assert_int_eq(faas_test_invoke(slow, "{\"stall\":true}", &o, &r), 0);
	ck_assert_int_eq(r.function_error, FAAS_FUNCTION_ERROR_UNHANDLED);
	ck_assert_ptr_nonnull(strstr(r.message, "Task timed out after 1.00 seconds"));
	faas_result_clear(&r);
}
END_TEST

static int init_ran, shutdowns;

static void counting_shutdown(void *state, faas_shutdown_reason_t why, void *ud)
{
	(void)state;
	(void)ud;
	shutdowns += why == FAAS_SHUTDOWN_SPINDOWN;
}

static int counting_init(faas_context_t *ctx, void **state, void *ud)
{
	(void)ctx;
	*state = ud;
	init_ran++;
	return 0;
}

static int state_h(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	(void)event;
	(void)ud;
	*response = json_string(faas_context_instance_state(ctx));
	return 0;
}

START_TEST(testing_init_and_bad_input)
{
	faas_test_options_t o = FAAS_TEST_OPTIONS_INIT;
	faas_result_t r;

	o.init = counting_init;
	o.shutdown = counting_shutdown;
	o.user_data = (void *)"state";
	ck_assert_int_eq(faas_test_invoke(state_h, NULL, &o, &r), 0);
	ck_assert_int_eq(init_ran, 1); /* a cold start */
	ck_assert_int_eq(shutdowns, 1); /* and its end, before the call returned */
	ck_assert_str_eq(json_string_value(r.payload), "state");
	faas_result_clear(&r);
	ck_assert_int_eq(faas_test_invoke(state_h, "{oops", NULL, &r), FAAS_EBADJSON);
	ck_assert_ptr_nonnull(strstr(r.message, "Could not parse request body into json"));
	faas_result_clear(&r);
	ck_assert_int_eq(faas_test_invoke(NULL, "{}", NULL, &r), FAAS_EINVAL);
	ck_assert_ptr_nonnull(strstr(r.message, "handler"));
	faas_result_clear(&r);
	o.client_context_json = "[1]";
	ck_assert_int_eq(faas_test_invoke(state_h, "{}", &o, &r), FAAS_EINVAL);
	ck_assert_ptr_nonnull(strstr(r.message, "client_context_json"));
	faas_result_clear(&r);
	o.client_context_json = NULL;
	o.version = 9;
	ck_assert_int_eq(faas_test_invoke(state_h, "{}", &o, &r), FAAS_EINVAL);
	faas_result_clear(&r);
	o.version = FAAS_TEST_OPTIONS_VERSION;
	o.timeout_ms = 5; /* out of Lambda's range: the runtime says so */
	ck_assert_int_eq(faas_test_invoke(state_h, "{}", &o, &r), FAAS_EINVAL);
	faas_result_clear(&r);
	ck_assert_int_eq(faas_test_invoke(state_h, "{}", NULL, NULL), FAAS_EINVAL);
}
END_TEST

struct diff_case {
	const char *expected, *actual, *message; /* message NULL: equal */
};

START_TEST(testing_json_diff)
{
	static const struct diff_case cases[] = {
		{ "{\"a\":1,\"b\":[1,2]}", "{\"b\":[1,2],\"a\":1}", NULL },
		{ "1", "1.0", NULL },
		{ "{\"a\":1}", "{\"a\":2}", "$.a: expected 1, got 2" },
		{ "{\"a\":{\"b\":\"x\"}}", "{\"a\":{\"b\":\"y\"}}", "$.a.b: expected \"x\", got \"y\"" },
		{ "{\"a\":1}", "{}", "$.a: missing" },
		{ "{}", "{\"z\":true}", "$.z: unexpected" },
		{ "[1,2,3]", "[1,2]", "$: expected 3 elements, got 2" },
		{ "{\"r\":[{\"id\":1},{\"id\":2}]}", "{\"r\":[{\"id\":1},{\"id\":3}]}",
		  "$.r[1].id: expected 2, got 3" },
		{ "{\"a\":\"1\"}", "{\"a\":1}", "$.a: expected \"1\", got 1" },
		{ "true", "false", "$: expected true, got false" },
		{ "null", "{}", "$: expected null, got {}" },
		{ "9007199254740993", "9007199254740992", "$: expected 9007199254740993, got 9007199254740992" },
		{ "0.3", "0.30000000000000004", "$: expected 0.29999999999999999, got 0.30000000000000004" },
	};
	char buf[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *e = json_loads(cases[i].expected, JSON_DECODE_ANY, NULL);
		json_t *a = json_loads(cases[i].actual, JSON_DECODE_ANY, NULL);
		int rc = faas_test_json_diff(e, a, buf, sizeof(buf));
		ck_assert_msg(rc == (cases[i].message != NULL), "case %zu: %d (%s)", i, rc, buf);
		if (cases[i].message)
			ck_assert_str_eq(buf, cases[i].message);
		json_decref(e);
		json_decref(a);
	}
	ck_assert_int_eq(faas_test_json_diff(NULL, NULL, NULL, 0), 0);
	ck_assert_int_eq(faas_test_json_diff(json_null(), NULL, buf, sizeof(buf)), 1);
}
END_TEST

START_TEST(testing_sample_events)
{
	static const char *const kinds[] = { "sqs", "sns", "s3", "apigateway", "kinesis",
		                             "eventbridge" };
	json_t *e, *r;
	char md5[33];
	size_t i;

	for (i = 0; i < 6; i++) {
		e = faas_test_sample_event(kinds[i]);
		ck_assert_msg(json_is_object(e), "%s", kinds[i]);
		json_decref(e);
	}
	ck_assert_ptr_null(faas_test_sample_event("ftp"));
	ck_assert_ptr_null(faas_test_sample_event(NULL));
	e = faas_test_sample_event("sqs");
	r = json_array_get(json_object_get(e, "Records"), 0);
	ck_assert_str_eq(t_jstr(r, "eventSource"), "aws:sqs");
	faas__md5_hex(t_jstr(r, "body"), strlen(t_jstr(r, "body")), md5);
	ck_assert_str_eq(t_jstr(r, "md5OfBody"), md5); /* consistent with its body */
	json_decref(e);
	e = faas_test_sample_event("apigateway");
	ck_assert_str_eq(t_jstr(e, "httpMethod"), "GET");
	ck_assert_str_eq(t_jstr(json_object_get(e, "requestContext"), "path"), "/prod/orders/42");
	ck_assert_str_eq(t_jstr(json_object_get(e, "requestContext"), "domainName"),
	                 t_jstr(json_object_get(e, "headers"), "Host"));
	json_decref(e);
	e = faas_test_sample_event("eventbridge");
	ck_assert_str_eq(t_jstr(e, "detail-type"), "Order Placed");
	json_decref(e);
}
END_TEST

Suite *testing_suite(void)
{
	Suite *s = suite_create("testing");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, testing_invoke_a_handler);
	tcase_add_test(tc, testing_exact_time);
	tcase_add_test(tc, testing_init_and_bad_input);
	tcase_add_test(tc, testing_json_diff);
	tcase_add_test(tc, testing_sample_events);
	suite_add_tcase(s, tc);
	return s;
}
