/*
 * libfaas example — a complete Check test of a handler with the test
 * harness (faas/testing.h): one call each, no runtime to set up, exact
 * time on a virtual clock, readable JSON diffs.
 *
 *   make check       (builds and runs it; or: build/examples/handler_test)
 */
#include <faas.h>
#include <faas/testing.h>

#include <check.h>
#include <stdlib.h>

/* The handler under test: totals an order's items, refuses an empty one. */
static int order_total(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	json_t *items = json_object_get(event, "items"), *it;
	json_int_t total = 0;
	size_t i;

	(void)ud;
	if (!json_array_size(items))
		return faas_context_fail(ctx, "EmptyOrder", "an order needs items");
	json_array_foreach(items, i, it)
		total += json_integer_value(json_object_get(it, "price")) *
		         json_integer_value(json_object_get(it, "qty"));
	faas_context_log(ctx, "order of %zu item(s): %lld", json_array_size(items), (long long)total);
	*response = json_pack("{s:I,s:s}", "total", total, "currency",
	                      faas_context_getenv(ctx, "CURRENCY") ? faas_context_getenv(ctx, "CURRENCY")
	                                                           : "USD");
	return 0;
}

START_TEST(total_of_an_order)
{
	faas_test_options_t o = FAAS_TEST_OPTIONS_INIT;
	faas_env_var_t env[] = { { "CURRENCY", "EUR" } };
	json_t *want = json_pack("{s:i,s:s}", "total", 23, "currency", "EUR");
	faas_result_t r;
	char diff[256];

	o.environment = env;
	o.environment_count = 1;
	ck_assert_int_eq(faas_test_invoke(order_total,
	                                  "{\"items\":[{\"price\":5,\"qty\":3},{\"price\":8,\"qty\":1}]}",
	                                  &o, &r),
	                 0);
	ck_assert_msg(faas_test_json_diff(want, r.payload, diff, sizeof(diff)) == 0, "%s", diff);
	ck_assert_ptr_nonnull(strstr(r.log_tail, "order of 2 item(s): 23"));
	faas_result_clear(&r);
	json_decref(want);
}
END_TEST

START_TEST(an_empty_order_is_a_function_error)
{
	faas_result_t r;

	ck_assert_int_eq(faas_test_invoke(order_total, "{\"items\":[]}", NULL, &r), 0);
	ck_assert_int_eq(r.function_error, FAAS_FUNCTION_ERROR_UNHANDLED);
	ck_assert_str_eq(json_string_value(json_object_get(r.payload, "errorType")), "EmptyOrder");
	faas_result_clear(&r);
}
END_TEST

START_TEST(a_sample_event_is_not_an_order)
{
	json_t *sqs = faas_test_sample_event("sqs");
	char *text = json_dumps(sqs, JSON_COMPACT);
	faas_result_t r;

	ck_assert_int_eq(faas_test_invoke(order_total, text, NULL, &r), 0);
	ck_assert_int_eq(r.function_error, FAAS_FUNCTION_ERROR_UNHANDLED);
	faas_result_clear(&r);
	free(text);
	json_decref(sqs);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("order_total");
	TCase *tc = tcase_create("handler");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, total_of_an_order);
	tcase_add_test(tc, an_empty_order_is_a_function_error);
	tcase_add_test(tc, a_sample_event_is_not_an_order);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
