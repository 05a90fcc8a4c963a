/*
 * libfaas tests — aliases: rules, updates, weighted and sticky routing.
 */
#include "tests.h"

#include <math.h>
#include <stdlib.h>

/* f with versions 1..n published (each after an update). */
static faas_runtime_t *with_versions(int n)
{
	faas_runtime_t *rt = t_runtime();
	char desc[16];
	int i;

	t_create(rt, "f");
	for (i = 1; i <= n; i++) {
		snprintf(desc, sizeof(desc), "v%d", i);
		t_touch(rt, "f", desc);
		ck_assert_uint_eq(t_publish(rt, "f"), (uint32_t)i);
	}
	return rt;
}

static faas_alias_config_t alias_cfg(uint32_t primary, uint32_t extra, double weight)
{
	faas_alias_config_t c = FAAS_ALIAS_CONFIG_INIT;

	c.function_version = primary;
	c.additional_version = extra;
	c.additional_weight = weight;
	return c;
}

START_TEST(alias_rules)
{
	faas_runtime_t *rt = with_versions(2);
	faas_alias_config_t c = alias_cfg(1, 0, 0);
	faas_error_detail_t d;

	ck_assert_ok(faas_alias_create(rt, "f", "live", &c, &d), d);
	ck_assert_fail(faas_alias_create(rt, "f", "live", &c, &d), d, FAAS_EEXIST,
	               "Alias already exists: arn:aws:lambda:us-east-1:123456789012:function:f:live");
	ck_assert_fail(faas_alias_create(rt, "f", "123", &c, &d), d, FAAS_EINVAL,
	               "Member must satisfy regular expression pattern: (?!^[0-9]+$)");
	ck_assert_fail(faas_alias_create(rt, "g", "live", &c, &d), d, FAAS_ENOTFOUND,
	               "Function not found: arn:aws:lambda:us-east-1:123456789012:function:g");
	ck_assert_fail(faas_alias_create(rt, "f:1", "x", &c, &d), d, FAAS_EINVAL,
	               "Member must not include a qualifier");
	c = alias_cfg(7, 0, 0);
	ck_assert_fail(faas_alias_create(rt, "f", "x", &c, &d), d, FAAS_ENOTFOUND,
	               "Function not found: arn:aws:lambda:us-east-1:123456789012:function:f:7");
	c = alias_cfg(1, 9, 0.5);
	ck_assert_fail(faas_alias_create(rt, "f", "x", &c, &d), d, FAAS_ENOTFOUND, "function:f:9");
	c = alias_cfg(FAAS_VERSION_LATEST, 2, 0.5);
	ck_assert_fail(faas_alias_create(rt, "f", "x", &c, &d), d, FAAS_EINVAL,
	               "$LATEST is not supported for an alias pointing to more than 1 version");
	c = alias_cfg(2, 2, 0.5);
	ck_assert_fail(faas_alias_create(rt, "f", "x", &c, &d), d, FAAS_EINVAL,
	               "routing needs two different versions");
	c = alias_cfg(1, 2, 1.5);
	ck_assert_fail(faas_alias_create(rt, "f", "x", &c, &d), d, FAAS_EINVAL,
	               "Member must have value less than or equal to 1.0");
	c = alias_cfg(1, 2, -0.1);
	ck_assert_fail(faas_alias_create(rt, "f", "x", &c, &d), d, FAAS_EINVAL,
	               "greater than or equal to 0.0");
	c = alias_cfg(1, 2, NAN);
	ck_assert_fail(faas_alias_create(rt, "f", "x", &c, &d), d, FAAS_EINVAL, "additionalVersionWeights");
	c = alias_cfg(1, 0, 0.3);
	ck_assert_fail(faas_alias_create(rt, "f", "x", &c, &d), d, FAAS_EINVAL,
	               "additional_weight is set but additional_version is not");
	c = alias_cfg(1, 0, 0);
	c.version = 0;
	ck_assert_fail(faas_alias_create(rt, "f", "x", &c, &d), d, FAAS_EINVAL,
	               "unsupported faas_alias_config_t version 0");
	c = alias_cfg(1, 0, 0);
	c.description = "\xe2\x82";
	ck_assert_fail(faas_alias_create(rt, "f", "x", &c, &d), d, FAAS_EINVAL, "UTF-8");
	/* $LATEST without routing is fine; an alias is never a target */
	c = alias_cfg(FAAS_VERSION_LATEST, 0, 0);
	ck_assert_ok(faas_alias_create(rt, "f", "edge", &c, &d), d);
	ck_assert_fail(faas_alias_update(rt, "f", "nope", &c, &d), d, FAAS_ENOTFOUND,
	               "Alias not found: arn:aws:lambda:us-east-1:123456789012:function:f:nope");
	ck_assert_fail(faas_alias_delete(rt, "f", "nope", &d), d, FAAS_ENOTFOUND,
	               "Alias not found: arn:aws:lambda:us-east-1:123456789012:function:f:nope");
	ck_assert_fail(faas_alias_delete(rt, "g", "live", &d), d, FAAS_ENOTFOUND,
	               "Function not found");
	faas_runtime_free(rt);
}
END_TEST

START_TEST(alias_latest_target_follows_updates)
{
	faas_runtime_t *rt = with_versions(1);
	faas_alias_config_t c = alias_cfg(FAAS_VERSION_LATEST, 0, 0);
	struct faas_resolved r;
	struct faas_ident id;
	faas_error_detail_t d;

	ck_assert_ok(faas_alias_create(rt, "f", "edge", &c, &d), d);
	t_touch(rt, "f", "newest");
	ck_assert_ok(faas__ident_parse(rt, "f:edge", NULL, FAAS_IDENT_INVOKE, &id, &d), d);
	ck_assert_ok(faas__registry_resolve(rt, &id, NULL, true, &r, &d), d);
	ck_assert_uint_eq(r.executed, FAAS_VERSION_LATEST);
	ck_assert_str_eq(r.version->description, "newest");
	faas__resolved_release(&r);
	faas_runtime_free(rt);
}
END_TEST

START_TEST(alias_update_replaces_whole_with_revision)
{
	faas_runtime_t *rt = with_versions(3);
	faas_alias_config_t c = alias_cfg(1, 2, 0.25);
	faas_error_detail_t d;
	json_t *j = NULL;
	uint64_t rev;
	uint32_t v;

	c.description = "canary";
	ck_assert_ok(faas_alias_create(rt, "f", "live", &c, &d), d);
	ck_assert_ok(faas_alias_describe(rt, "f", "live", &j, &d), d);
	rev = strtoull(t_jstr(j, "RevisionId"), NULL, 10);
	json_decref(j);
	c = alias_cfg(3, 0, 0);
	c.expected_revision = rev + 5;
	ck_assert_fail(faas_alias_update(rt, "f", "live", &c, &d), d, FAAS_EPRECONDITION,
	               "The Revision Id provided does not match the latest Revision Id");
	c.expected_revision = rev;
	ck_assert_ok(faas_alias_update(rt, "f", "live", &c, &d), d);
	ck_assert_ok(faas_alias_describe(rt, "f", "live", &j, &d), d);
	ck_assert_str_eq(t_jstr(j, "FunctionVersion"), "3");
	ck_assert_str_eq(t_jstr(j, "Description"), ""); /* replaced whole */
	ck_assert_ptr_null(json_object_get(j, "RoutingConfig")); /* routing cleared */
	ck_assert_uint_ne(strtoull(t_jstr(j, "RevisionId"), NULL, 10), rev);
	json_decref(j);
	ck_assert_ok(faas_function_resolve(rt, "f:live", NULL, NULL, &v, &d), d);
	ck_assert_uint_eq(v, 3);
	/* versions no alias references any more can go */
	ck_assert_ok(faas_function_delete(rt, "f", "1", &d), d);
	ck_assert_ok(faas_function_delete(rt, "f", "2", &d), d);
	faas_runtime_free(rt);
}
END_TEST

static long count_secondary(faas_runtime_t *rt, long n, const char *key)
{
	long i, hits = 0;
	uint32_t v;

	for (i = 0; i < n; i++) {
		ck_assert_int_eq(faas_function_resolve(rt, "f:live", NULL, key, &v, NULL), 0);
		ck_assert(v == 1 || v == 2);
		hits += v == 2;
	}
	return hits;
}

START_TEST(alias_weight_distribution)
{
	faas_runtime_t *rt = with_versions(2);
	faas_alias_config_t c = alias_cfg(1, 2, 0.1);
	faas_error_detail_t d;
	long hits;

	ck_assert_ok(faas_alias_create(rt, "f", "live", &c, &d), d);
	hits = count_secondary(rt, 100000, NULL);
	ck_assert_msg(hits >= 9000 && hits <= 11000, "share %.2f%%", hits / 1000.0);
	c = alias_cfg(1, 2, 0.0);
	ck_assert_ok(faas_alias_update(rt, "f", "live", &c, &d), d);
	ck_assert_int_eq(count_secondary(rt, 2000, NULL), 0);
	c = alias_cfg(1, 2, 1.0);
	ck_assert_ok(faas_alias_update(rt, "f", "live", &c, &d), d);
	ck_assert_int_eq(count_secondary(rt, 2000, NULL), 2000);
	faas_runtime_free(rt);
}
END_TEST

/* The sequence of draws for a seed, as a bit string. */
static void draws(uint64_t seed, char *out, int n)
{
	faas_runtime_options_t o = FAAS_RUNTIME_OPTIONS_INIT;
	faas_alias_config_t c = alias_cfg(1, 2, 0.5);
	faas_runtime_t *rt = NULL;
	uint32_t v;
	int i;

	o.seed = seed;
	ck_assert_int_eq(faas_runtime_new(&rt, &o, NULL), 0);
	t_create(rt, "f");
	t_publish(rt, "f");
	t_touch(rt, "f", "2");
	t_publish(rt, "f");
	ck_assert_int_eq(faas_alias_create(rt, "f", "live", &c, NULL), 0);
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(faas_function_resolve(rt, "f:live", NULL, NULL, &v, NULL), 0);
		out[i] = (char)('0' + v);
	}
	out[n] = '\0';
	faas_runtime_free(rt);
}

START_TEST(alias_routing_is_repeatable_per_seed)
{
	char a[65], b[65], c[65];

	draws(7, a, 64);
	draws(7, b, 64);
	draws(8, c, 64);
	ck_assert_str_eq(a, b);
	ck_assert_str_ne(a, c);
	ck_assert_ptr_nonnull(strchr(a, '1'));
	ck_assert_ptr_nonnull(strchr(a, '2'));
}
END_TEST

START_TEST(alias_sticky_routing_key)
{
	faas_runtime_t *rt = with_versions(2);
	faas_alias_config_t c = alias_cfg(1, 2, 0.3);
	faas_error_detail_t d;
	long k, hits = 0;
	char key[32];
	uint32_t first, v;
	int i;

	ck_assert_ok(faas_alias_create(rt, "f", "live", &c, &d), d);
	for (k = 0; k < 2000; k++) {
		snprintf(key, sizeof(key), "user-%ld", k);
		ck_assert_int_eq(faas_function_resolve(rt, "f:live", NULL, key, &first, NULL), 0);
		for (i = 0; i < 5; i++) {
			ck_assert_int_eq(faas_function_resolve(rt, "f", "live", key, &v, NULL), 0);
			ck_assert_uint_eq(v, first);
		}
		hits += first == 2;
	}
	/* keys still spread by weight: 30% of 2000 within a wide margin */
	ck_assert_msg(hits > 480 && hits < 720, "sticky share %ld of 2000", hits);
	/* an update with unchanged weights keeps every key where it was */
	snprintf(key, sizeof(key), "user-%d", 17);
	ck_assert_int_eq(faas_function_resolve(rt, "f:live", NULL, key, &first, NULL), 0);
	c.description = "same weights";
	ck_assert_ok(faas_alias_update(rt, "f", "live", &c, &d), d);
	ck_assert_int_eq(faas_function_resolve(rt, "f:live", NULL, key, &v, NULL), 0);
	ck_assert_uint_eq(v, first);
	faas_runtime_free(rt);
}
END_TEST

Suite *alias_suite(void)
{
	Suite *s = suite_create("alias");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, alias_rules);
	tcase_add_test(tc, alias_latest_target_follows_updates);
	tcase_add_test(tc, alias_update_replaces_whole_with_revision);
	tcase_add_test(tc, alias_weight_distribution);
	tcase_add_test(tc, alias_routing_is_repeatable_per_seed);
	tcase_add_test(tc, alias_sticky_routing_key);
	suite_add_tcase(s, tc);
	return s;
}
