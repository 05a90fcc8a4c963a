/*
 * libfaas tests — runtime options, NULL arguments, calls after shutdown.
 */
#include "tests.h"

START_TEST(runtime_defaults)
{
	faas_runtime_t *rt = NULL;
	faas_error_detail_t d;
	json_t *j = NULL;

	ck_assert_ok(faas_runtime_new(&rt, NULL, &d), d);
	ck_assert_str_eq(faas_runtime_region(rt), "us-east-1");
	ck_assert_str_eq(faas_runtime_account_id(rt), "123456789012");
	t_create(rt, "f");
	ck_assert_ok(faas_function_describe(rt, "f", &j, &d), d);
	ck_assert_str_eq(t_jstr(json_object_get(j, "Configuration"), "FunctionArn"),
	                 "arn:aws:lambda:us-east-1:123456789012:function:f");
	json_decref(j);
	faas_runtime_free(rt);
	faas_runtime_free(NULL);
}
END_TEST

START_TEST(runtime_rejects_bad_options)
{
	faas_runtime_options_t o = FAAS_RUNTIME_OPTIONS_INIT;
	faas_runtime_t *rt = (faas_runtime_t *)&o; /* must be reset to NULL */
	faas_error_detail_t d;

	ck_assert_fail(faas_runtime_new(NULL, NULL, &d), d, FAAS_EINVAL, "out must not be NULL");
	o.version = 99;
	ck_assert_fail(faas_runtime_new(&rt, &o, &d), d, FAAS_EINVAL,
	               "unsupported faas_runtime_options_t version 99");
	ck_assert_ptr_null(rt);
	o.version = FAAS_RUNTIME_OPTIONS_VERSION;
	o.account_id = "12345";
	ck_assert_fail(faas_runtime_new(&rt, &o, &d), d, FAAS_EINVAL, "account_id must be 12 digits");
	o.account_id = "12345678901x";
	ck_assert_fail(faas_runtime_new(&rt, &o, &d), d, FAAS_EINVAL, "account_id must be 12 digits");
	o.account_id = NULL;
	o.region = "US East";
	ck_assert_fail(faas_runtime_new(&rt, &o, &d), d, FAAS_EINVAL, "is not a valid region name");
	o.region = "";
	ck_assert_fail(faas_runtime_new(&rt, &o, &d), d, FAAS_EINVAL, "region must be 1 to 32");
	o.region = NULL;
	o.clock = (faas_clock_kind_t)7;
	ck_assert_fail(faas_runtime_new(&rt, &o, &d), d, FAAS_EINVAL, "unknown clock kind 7");
	o.clock = FAAS_CLOCK_VIRTUAL;
	o.virtual_epoch_ms = -5;
	ck_assert_fail(faas_runtime_new(&rt, &o, &d), d, FAAS_EINVAL, "must not be negative");
	o.virtual_epoch_ms = 0;
	o.min_timeout_ms = 900001;
	ck_assert_fail(faas_runtime_new(&rt, &o, &d), d, FAAS_EINVAL, "min_timeout_ms");
	o.min_timeout_ms = 0;
	o.log_fd = -7;
	ck_assert_fail(faas_runtime_new(&rt, &o, &d), d, FAAS_EINVAL, "log_fd");
	ck_assert_ptr_null(rt);
}
END_TEST

START_TEST(runtime_null_arguments_are_clear_errors)
{
	faas_runtime_t *rt = t_runtime();
	faas_function_config_t c = t_config(NULL);
	faas_alias_config_t ac = FAAS_ALIAS_CONFIG_INIT;
	faas_error_detail_t d;
	json_t *j;

	ck_assert_fail(faas_function_create(NULL, "f", &c, &d), d, FAAS_EINVAL, "runtime");
	ck_assert_fail(faas_function_create(rt, NULL, &c, &d), d, FAAS_EINVAL, "NULL");
	ck_assert_fail(faas_function_create(rt, "f", NULL, &d), d, FAAS_EINVAL, "config");
	ck_assert_fail(faas_function_update(NULL, "f", &c, &d), d, FAAS_EINVAL, "runtime");
	ck_assert_fail(faas_function_update(rt, "f", NULL, &d), d, FAAS_EINVAL, "config");
	ck_assert_fail(faas_function_publish(NULL, "f", NULL, NULL, &d), d, FAAS_EINVAL, "runtime");
	ck_assert_fail(faas_function_publish(rt, NULL, NULL, NULL, &d), d, FAAS_EINVAL, "NULL");
	ck_assert_fail(faas_function_delete(NULL, "f", NULL, &d), d, FAAS_EINVAL, "runtime");
	ck_assert_fail(faas_function_delete(rt, NULL, NULL, &d), d, FAAS_EINVAL, "NULL");
	ck_assert_fail(faas_alias_create(NULL, "f", "a", &ac, &d), d, FAAS_EINVAL, "runtime");
	ck_assert_fail(faas_alias_create(rt, "f", NULL, &ac, &d), d, FAAS_EINVAL, "alias name");
	ck_assert_fail(faas_alias_create(rt, "f", "a", NULL, &d), d, FAAS_EINVAL, "alias config");
	ck_assert_fail(faas_alias_create(rt, NULL, "a", &ac, &d), d, FAAS_EINVAL, "NULL");
	ck_assert_fail(faas_alias_update(rt, "f", "a", NULL, &d), d, FAAS_EINVAL, "alias config");
	ck_assert_fail(faas_alias_delete(NULL, "f", "a", &d), d, FAAS_EINVAL, "runtime");
	ck_assert_fail(faas_alias_describe(rt, "f", "a", NULL, &d), d, FAAS_EINVAL, "out");
	ck_assert_fail(faas_function_describe(rt, "f", NULL, &d), d, FAAS_EINVAL, "out");
	ck_assert_fail(faas_function_describe(NULL, "f", &j, &d), d, FAAS_EINVAL, "runtime");
	ck_assert_fail(faas_function_list(rt, NULL, &d), d, FAAS_EINVAL, "out");
	ck_assert_fail(faas_function_resolve(NULL, "f", NULL, NULL, NULL, &d), d, FAAS_EINVAL,
	               "runtime");
	ck_assert_fail(faas_function_resolve(rt, NULL, NULL, NULL, NULL, &d), d, FAAS_EINVAL, "NULL");
	/* a NULL detail is always accepted */
	ck_assert_int_eq(faas_function_create(rt, NULL, &c, NULL), FAAS_EINVAL);
	ck_assert_int_eq(faas_runtime_shutdown(NULL, 0), FAAS_EINVAL);
	ck_assert_ptr_null(faas_runtime_region(NULL));
	ck_assert_ptr_null(faas_json_dumps(NULL, 0));
	ck_assert_uint_eq(faas__registry_count(rt), 0); /* nothing was created */
	faas_runtime_free(rt);
}
END_TEST

START_TEST(runtime_calls_after_shutdown_fail_cleanly)
{
	faas_runtime_t *rt = t_runtime();
	faas_function_config_t c = t_config(NULL);
	faas_alias_config_t ac = FAAS_ALIAS_CONFIG_INIT;
	faas_error_detail_t d;
	json_t *j = NULL;

	t_create(rt, "f");
	ck_assert_int_eq(faas_runtime_shutdown(rt, 0), 0);
	ck_assert_int_eq(faas_runtime_shutdown(rt, 0), FAAS_ESHUTDOWN);
#define SHUT(call) ck_assert_fail(call, d, FAAS_ESHUTDOWN, "the runtime is shut down")
	SHUT(faas_function_create(rt, "g", &c, &d));
	SHUT(faas_function_update(rt, "f", &c, &d));
	SHUT(faas_function_publish(rt, "f", NULL, NULL, &d));
	SHUT(faas_function_delete(rt, "f", NULL, &d));
	SHUT(faas_alias_create(rt, "f", "a", &ac, &d));
	SHUT(faas_alias_update(rt, "f", "a", &ac, &d));
	SHUT(faas_alias_delete(rt, "f", "a", &d));
	SHUT(faas_alias_describe(rt, "f", "a", &j, &d));
	SHUT(faas_function_describe(rt, "f", &j, &d));
	SHUT(faas_function_list(rt, &j, &d));
	SHUT(faas_function_resolve(rt, "f", NULL, NULL, NULL, &d));
#undef SHUT
	ck_assert_ptr_null(j);
	ck_assert_uint_eq(faas__registry_count(rt), 1); /* nothing lost, nothing added */
	ck_assert_int_eq(d.http_status, 500);
	ck_assert_str_eq(d.lambda_name, "ServiceException");
	faas_runtime_free(rt);
}
END_TEST

Suite *runtime_suite(void)
{
	Suite *s = suite_create("runtime");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, runtime_defaults);
	tcase_add_test(tc, runtime_rejects_bad_options);
	tcase_add_test(tc, runtime_null_arguments_are_clear_errors);
	tcase_add_test(tc, runtime_calls_after_shutdown_fail_cleanly);
	suite_add_tcase(s, tc);
	return s;
}
