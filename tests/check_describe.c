/*
 * libfaas tests — Lambda-shaped describe/list JSON and the real-number
 * printing policy.
 */
#include "tests.h"

#include <stdlib.h>

static faas_runtime_t *sample(void)
{
	faas_runtime_t *rt = t_runtime();
	faas_function_config_t c = t_config(NULL);
	faas_alias_config_t ac = FAAS_ALIAS_CONFIG_INIT;
	faas_env_var_t env[2] = { { "TABLE", "orders" }, { "MODE", "fast" } };
	faas_error_detail_t d;

	c.description = "Order intake";
	c.timeout_ms = 2500;
	c.memory_mb = 512;
	c.environment = env;
	c.environment_count = 2;
	ck_assert_ok(faas_function_create(rt, "orders", &c, &d), d);
	t_publish(rt, "orders"); /* 1 */
	faas_clock_advance(rt, 1234);
	c.description = "Order intake v2";
	ck_assert_ok(faas_function_update(rt, "orders", &c, &d), d);
	t_publish(rt, "orders"); /* 2 */
	ac.function_version = 1;
	ac.additional_version = 2;
	ac.additional_weight = 0.03;
	ac.description = "canary";
	ck_assert_ok(faas_alias_create(rt, "orders", "live", &ac, &d), d);
	return rt;
}

START_TEST(describe_unqualified_function)
{
	faas_runtime_t *rt = sample();
	faas_error_detail_t d;
	json_t *j = NULL, *cfg, *versions, *aliases, *vars;

	ck_assert_ok(faas_function_describe(rt, "orders", &j, &d), d);
	cfg = json_object_get(j, "Configuration");
	ck_assert_str_eq(t_jstr(cfg, "FunctionName"), "orders");
	ck_assert_str_eq(t_jstr(cfg, "FunctionArn"),
	                 "arn:aws:lambda:us-east-1:123456789012:function:orders");
	ck_assert_str_eq(t_jstr(cfg, "Version"), "$LATEST");
	ck_assert_str_eq(t_jstr(cfg, "Description"), "Order intake v2");
	ck_assert_int_eq(json_integer_value(json_object_get(cfg, "Timeout")), 3); /* s, rounded up */
	ck_assert_int_eq(json_integer_value(json_object_get(cfg, "TimeoutMs")), 2500);
	ck_assert_int_eq(json_integer_value(json_object_get(cfg, "MemorySize")), 512);
	/* virtual clock: 1700000000000 + 1234 ms */
	ck_assert_str_eq(t_jstr(cfg, "LastModified"), "2023-11-14T22:13:21.234+0000");
	ck_assert_str_ne(t_jstr(cfg, "RevisionId"), "");
	ck_assert_str_eq(t_jstr(cfg, "State"), "Active");
	vars = json_object_get(json_object_get(cfg, "Environment"), "Variables");
	ck_assert_str_eq(t_jstr(vars, "TABLE"), "orders");
	ck_assert_str_eq(t_jstr(vars, "MODE"), "fast");

	versions = json_object_get(j, "Versions");
	ck_assert_uint_eq(json_array_size(versions), 3);
	ck_assert_str_eq(t_jstr(json_array_get(versions, 0), "Version"), "$LATEST");
	ck_assert_str_eq(t_jstr(json_array_get(versions, 0), "FunctionArn"),
	                 "arn:aws:lambda:us-east-1:123456789012:function:orders:$LATEST");
	ck_assert_str_eq(t_jstr(json_array_get(versions, 1), "Version"), "1");
	ck_assert_str_eq(t_jstr(json_array_get(versions, 1), "Description"), "Order intake");
	ck_assert_str_eq(t_jstr(json_array_get(versions, 1), "LastModified"),
	                 "2023-11-14T22:13:20.000+0000");
	ck_assert_str_eq(t_jstr(json_array_get(versions, 2), "FunctionArn"),
	                 "arn:aws:lambda:us-east-1:123456789012:function:orders:2");

	aliases = json_object_get(j, "Aliases");
	ck_assert_uint_eq(json_array_size(aliases), 1);
	ck_assert_str_eq(t_jstr(json_array_get(aliases, 0), "AliasArn"),
	                 "arn:aws:lambda:us-east-1:123456789012:function:orders:live");
	json_decref(j);
	faas_runtime_free(rt);
}
END_TEST

START_TEST(describe_qualified)
{
	faas_runtime_t *rt = sample();
	faas_error_detail_t d;
	json_t *j = NULL, *cfg;

	ck_assert_ok(faas_function_describe(rt, "orders:live", &j, &d), d);
	cfg = json_object_get(j, "Configuration");
	ck_assert_str_eq(t_jstr(cfg, "FunctionArn"),
	                 "arn:aws:lambda:us-east-1:123456789012:function:orders:live");
	ck_assert_str_eq(t_jstr(cfg, "Version"), "1"); /* the alias's primary */
	json_decref(j);
	ck_assert_ok(faas_function_describe(rt, "orders:2", &j, &d), d);
	ck_assert_str_eq(t_jstr(json_object_get(j, "Configuration"), "Version"), "2");
	json_decref(j);
	j = NULL;
	ck_assert_fail(faas_function_describe(rt, "orders:5", &j, &d), d, FAAS_ENOTFOUND,
	               "Function not found: arn:aws:lambda:us-east-1:123456789012:function:orders:5");
	ck_assert_ptr_null(j);
	ck_assert_fail(faas_function_describe(rt, "orders:dead", &j, &d), d, FAAS_ENOTFOUND,
	               "function:orders:dead");
	ck_assert_fail(faas_function_describe(rt, "nobody", &j, &d), d, FAAS_ENOTFOUND,
	               "function:nobody");
	faas_runtime_free(rt);
}
END_TEST

START_TEST(describe_alias_and_weight_text)
{
	faas_runtime_t *rt = sample();
	faas_error_detail_t d;
	json_t *j = NULL;
	char *text;

	ck_assert_ok(faas_alias_describe(rt, "orders", "live", &j, &d), d);
	ck_assert_str_eq(t_jstr(j, "Name"), "live");
	ck_assert_str_eq(t_jstr(j, "FunctionVersion"), "1");
	ck_assert_str_eq(t_jstr(j, "Description"), "canary");
	text = faas_json_dumps(json_object_get(j, "RoutingConfig"), JSON_COMPACT | JSON_SORT_KEYS);
	ck_assert_str_eq(text, "{\"AdditionalVersionWeights\":{\"2\":0.03}}");
	free(text);
	/* a caller's own precision wins */
	text = faas_json_dumps(json_object_get(j, "RoutingConfig"), JSON_COMPACT | JSON_REAL_PRECISION(17));
	ck_assert_str_eq(text, "{\"AdditionalVersionWeights\":{\"2\":0.029999999999999999}}");
	free(text);
	json_decref(j);
	faas_runtime_free(rt);
}
END_TEST

START_TEST(describe_real_policy_round_trips)
{
	static const double values[] = { 0.1, 0.03, 0.5, 1.0 / 3.0, 0.123456789012345, 1e-7 };
	static const char *texts[] = { "0.1", "0.03", "0.5", "0.333333333333333", "0.123456789012345",
	                               "1e-7" };
	size_t i;

	{ /* DBL_MAX at 15 digits would read back as infinity: 17 for that document */
		json_t *big = json_pack("[f,f]", 1.7976931348623157e308, 0.1), *back;
		char *t = faas_json_dumps(big, JSON_COMPACT);
		back = json_loads(t, 0, NULL);
		ck_assert_ptr_nonnull(back);
		ck_assert(json_real_value(json_array_get(back, 0)) == 1.7976931348623157e308);
		json_decref(back);
		json_decref(big);
		free(t);
	}
	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		json_t *r = json_real(values[i]);
		char *t = faas_json_dumps(r, JSON_ENCODE_ANY);
		ck_assert_str_eq(t, texts[i]);
		free(t);
		json_decref(r);
	}
}
END_TEST

START_TEST(describe_list_sorted)
{
	faas_runtime_t *rt = t_runtime();
	faas_error_detail_t d;
	json_t *j = NULL, *fns;

	ck_assert_ok(faas_function_list(rt, &j, &d), d);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "Functions")), 0);
	json_decref(j);
	t_create(rt, "zeta");
	t_create(rt, "alpha");
	t_create(rt, "Mid");
	t_publish(rt, "alpha");
	ck_assert_ok(faas_function_list(rt, &j, &d), d);
	fns = json_object_get(j, "Functions");
	ck_assert_uint_eq(json_array_size(fns), 3);
	ck_assert_str_eq(t_jstr(json_array_get(fns, 0), "FunctionName"), "Mid");
	ck_assert_str_eq(t_jstr(json_array_get(fns, 1), "FunctionName"), "alpha");
	ck_assert_str_eq(t_jstr(json_array_get(fns, 2), "FunctionName"), "zeta");
	ck_assert_str_eq(t_jstr(json_array_get(fns, 1), "Version"), "$LATEST");
	ck_assert_str_eq(t_jstr(json_array_get(fns, 1), "FunctionArn"),
	                 "arn:aws:lambda:us-east-1:123456789012:function:alpha");
	json_decref(j);
	faas_runtime_free(rt);
}
END_TEST

Suite *describe_suite(void)
{
	Suite *s = suite_create("describe");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, describe_unqualified_function);
	tcase_add_test(tc, describe_qualified);
	tcase_add_test(tc, describe_alias_and_weight_text);
	tcase_add_test(tc, describe_real_policy_round_trips);
	tcase_add_test(tc, describe_list_sorted);
	suite_add_tcase(s, tc);
	return s;
}
