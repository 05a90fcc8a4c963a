/*
 * libfaas tests — functions and versions: create, update, publish, delete,
 * configuration rules, revisions, user_data ownership, scale.
 */
#include "tests.h"

#include <stdlib.h>

static uint64_t latest_revision(faas_runtime_t *rt, const char *name)
{
	faas_error_detail_t d;
	json_t *j = NULL;
	uint64_t rev;

	ck_assert_ok(faas_function_describe(rt, name, &j, &d), d);
	rev = strtoull(t_jstr(json_object_get(j, "Configuration"), "RevisionId"), NULL, 10);
	json_decref(j);
	ck_assert_uint_gt(rev, 0);
	return rev;
}

static const char *config_description(faas_runtime_t *rt, const char *ident, char *buf, size_t n)
{
	faas_error_detail_t d;
	json_t *j = NULL;

	ck_assert_ok(faas_function_describe(rt, ident, &j, &d), d);
	snprintf(buf, n, "%s", t_jstr(json_object_get(j, "Configuration"), "Description"));
	json_decref(j);
	return buf;
}

START_TEST(registry_create_and_duplicate)
{
	faas_runtime_t *rt = t_runtime();
	faas_function_config_t c = t_config(NULL);
	faas_error_detail_t d;

	ck_assert_ok(faas_function_create(rt, "orders", &c, &d), d);
	ck_assert_fail(faas_function_create(rt, "orders", &c, &d), d, FAAS_EEXIST,
	               "Function already exist: orders");
	ck_assert_str_eq(d.lambda_name, "ResourceConflictException");
	ck_assert_int_eq(d.http_status, 409);
	ck_assert_ok(faas_function_create(rt, "arn:aws:lambda:us-east-1:123456789012:function:by-arn",
	                                  &c, &d),
	             d);
	ck_assert_fail(faas_function_create(rt, "123456789012:function:by-arn", &c, &d), d,
	               FAAS_EEXIST, "Function already exist: by-arn");
	ck_assert_fail(faas_function_create(rt, "orders:1", &c, &d), d, FAAS_EINVAL,
	               "Member must not include a qualifier");
	ck_assert_fail(faas_function_create(rt, "bad name!", &c, &d), d, FAAS_EINVAL,
	               "1 validation error detected: Value 'bad name!' at 'functionName'");
	ck_assert_uint_eq(faas__registry_count(rt), 2);
	faas_runtime_free(rt);
}
END_TEST

struct badcfg {
	void (*tweak)(faas_function_config_t *c);
	const char *message;
};

static faas_env_var_t env_buf[4];
static char big_value[4100];
static char long_desc[600];

static void t_timeout_low(faas_function_config_t *c) { c->timeout_ms = 999; }
static void t_timeout_high(faas_function_config_t *c) { c->timeout_ms = 900001; }
static void t_mem_low(faas_function_config_t *c) { c->memory_mb = 127; }
static void t_mem_high(faas_function_config_t *c) { c->memory_mb = 10241; }
static void t_no_handler(faas_function_config_t *c) { c->handler = NULL; }
static void t_bad_version(faas_function_config_t *c) { c->version = 7; }
static void t_desc_long(faas_function_config_t *c)
{
	memset(long_desc, 'd', 257);
	long_desc[257] = '\0';
	c->description = long_desc;
}
static void t_desc_utf8(faas_function_config_t *c) { c->description = "bad \xc3\x28 utf8"; }
static void set_env(faas_function_config_t *c, const char *k, const char *v)
{
	env_buf[0].key = k;
	env_buf[0].value = v;
	c->environment = env_buf;
	c->environment_count = 1;
}
static void t_env_digit(faas_function_config_t *c) { set_env(c, "1KEY", "v"); }
static void t_env_short(faas_function_config_t *c) { set_env(c, "K", "v"); }
static void t_env_dash(faas_function_config_t *c) { set_env(c, "MY-KEY", "v"); }
static void t_env_reserved(faas_function_config_t *c) { set_env(c, "AWS_REGION", "x"); }
static void t_env_null(faas_function_config_t *c) { set_env(c, "KEY", NULL); }
static void t_env_utf8(faas_function_config_t *c) { set_env(c, "KEY", "\xff"); }
static void t_env_missing(faas_function_config_t *c) { c->environment_count = 2; }
static void t_env_dup(faas_function_config_t *c)
{
	set_env(c, "KEY", "a");
	env_buf[1].key = "KEY";
	env_buf[1].value = "b";
	c->environment_count = 2;
}
static void t_env_big(faas_function_config_t *c)
{
	memset(big_value, 'v', 4094);
	big_value[4094] = '\0';
	set_env(c, "KEY", big_value); /* 3 + 4094 = 4097 bytes */
}

static const struct badcfg bad_configs[] = {
	{ t_timeout_low, "Value '999' at 'timeout_ms' failed to satisfy constraint: Member must have "
	                 "value greater than or equal to 1000" },
	{ t_timeout_high, "Value '900001' at 'timeout_ms' failed to satisfy constraint: Member must "
	                  "have value less than or equal to 900000" },
	{ t_mem_low, "Value '127' at 'memorySize' failed to satisfy constraint: Member must have "
	             "value greater than or equal to 128" },
	{ t_mem_high, "Value '10241' at 'memorySize' failed to satisfy constraint: Member must have "
	              "value less than or equal to 10240" },
	{ t_no_handler, "handler must not be NULL" },
	{ t_bad_version, "unsupported faas_function_config_t version 7" },
	{ t_desc_long, "at 'description' failed to satisfy constraint: Member must have length less "
	               "than or equal to 256" },
	{ t_desc_utf8, "description is not valid UTF-8" },
	{ t_env_digit, "Map keys must satisfy constraint: [Member must satisfy regular expression "
	               "pattern: [a-zA-Z]([a-zA-Z0-9_])+]" },
	{ t_env_short, "Value 'K' at 'environment.variables'" },
	{ t_env_dash, "Value 'MY-KEY' at 'environment.variables'" },
	{ t_env_reserved, "contains reserved keys that are currently not supported for modification. "
	                  "Reserved keys used in this request: AWS_REGION" },
	{ t_env_null, "environment variable key and value must not be NULL" },
	{ t_env_utf8, "value of environment variable KEY is not valid UTF-8" },
	{ t_env_missing, "environment is NULL but environment_count is 2" },
	{ t_env_dup, "duplicate environment variable key: KEY" },
	{ t_env_big, "exceeded the 4KB limit. Bytes measured: 4097" },
};

START_TEST(registry_rejects_bad_config)
{
	faas_runtime_t *rt = t_runtime();
	const struct badcfg *b = &bad_configs[_i];
	faas_function_config_t c = t_config(NULL);
	faas_error_detail_t d;

	b->tweak(&c);
	ck_assert_fail(faas_function_create(rt, "f", &c, &d), d, FAAS_EINVAL, b->message);
	ck_assert_str_eq(d.lambda_name, "InvalidParameterValueException");
	ck_assert_uint_eq(faas__registry_count(rt), 0);
	/* the same rule applies to updates, and $LATEST is left as it was */
	t_create(rt, "f");
	ck_assert_fail(faas_function_update(rt, "f", &c, &d), d, FAAS_EINVAL, b->message);
	faas_runtime_free(rt);
}
END_TEST

START_TEST(registry_accepts_limits)
{
	faas_runtime_options_t o = FAAS_RUNTIME_OPTIONS_INIT;
	faas_function_config_t c = t_config(NULL);
	faas_runtime_t *rt = t_runtime();
	faas_error_detail_t d;
	char desc[256 * 2 + 1];
	int i;

	for (i = 0; i < 256; i++)
		memcpy(desc + 2 * i, "\xc3\xa9", 2); /* 256 characters, 512 bytes */
	desc[512] = '\0';
	c.description = desc;
	c.timeout_ms = 900000;
	c.memory_mb = 10240;
	memset(big_value, 'v', 4093);
	big_value[4093] = '\0';
	env_buf[0].key = "KEY";
	env_buf[0].value = big_value; /* exactly 4096 bytes */
	c.environment = env_buf;
	c.environment_count = 1;
	ck_assert_ok(faas_function_create(rt, "max", &c, &d), d);
	c = t_config(NULL);
	c.timeout_ms = 1000;
	c.memory_mb = 128;
	ck_assert_ok(faas_function_create(rt, "min", &c, &d), d);
	faas_runtime_free(rt);

	/* embedded hosts may allow shorter timeouts */
	o.min_timeout_ms = 10;
	ck_assert_ok(faas_runtime_new(&rt, &o, &d), d);
	c.timeout_ms = 10;
	ck_assert_ok(faas_function_create(rt, "fast", &c, &d), d);
	c.timeout_ms = 9;
	ck_assert_fail(faas_function_create(rt, "faster", &c, &d), d, FAAS_EINVAL,
	               "greater than or equal to 10");
	faas_runtime_free(rt);
}
END_TEST

START_TEST(registry_publish_numbers_are_never_reused)
{
	faas_runtime_t *rt = t_runtime();
	faas_error_detail_t d;

	t_create(rt, "f");
	ck_assert_uint_eq(t_publish(rt, "f"), 1);
	ck_assert_uint_eq(t_publish(rt, "f"), 1); /* unchanged $LATEST: same version */
	t_touch(rt, "f", "second");
	ck_assert_uint_eq(t_publish(rt, "f"), 2);
	ck_assert_ok(faas_function_delete(rt, "f", "2", &d), d);
	t_touch(rt, "f", "third");
	ck_assert_uint_eq(t_publish(rt, "f"), 3);
	/* the last published version deleted, $LATEST unchanged: a new number */
	ck_assert_ok(faas_function_delete(rt, "f:3", NULL, &d), d);
	ck_assert_uint_eq(t_publish(rt, "f"), 4);
	/* an update with identical values still counts as a change */
	t_touch(rt, "f", "third");
	ck_assert_uint_eq(t_publish(rt, "f"), 5);
	ck_assert_fail(faas_function_resolve(rt, "f:2", NULL, NULL, NULL, &d), d, FAAS_ENOTFOUND,
	               "Function not found: arn:aws:lambda:us-east-1:123456789012:function:f:2");
	ck_assert_fail(faas_function_publish(rt, "nope", NULL, NULL, &d), d, FAAS_ENOTFOUND,
	               "Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope");
	/* deleting the function and creating it again starts over at 1 */
	ck_assert_ok(faas_function_delete(rt, "f", NULL, &d), d);
	t_create(rt, "f");
	ck_assert_uint_eq(t_publish(rt, "f"), 1);
	faas_runtime_free(rt);
}
END_TEST

START_TEST(registry_versions_are_snapshots)
{
	faas_runtime_t *rt = t_runtime();
	faas_publish_options_t po = FAAS_PUBLISH_OPTIONS_INIT;
	faas_error_detail_t d;
	char buf[300];
	uint32_t v = 0;

	t_create(rt, "f");
	t_touch(rt, "f", "one");
	ck_assert_uint_eq(t_publish(rt, "f"), 1);
	t_touch(rt, "f", "two");
	ck_assert_str_eq(config_description(rt, "f:1", buf, sizeof(buf)), "one");
	ck_assert_str_eq(config_description(rt, "f", buf, sizeof(buf)), "two");
	po.description = "release 2";
	ck_assert_ok(faas_function_publish(rt, "f", &po, &v, &d), d);
	ck_assert_uint_eq(v, 2);
	ck_assert_str_eq(config_description(rt, "f:2", buf, sizeof(buf)), "release 2");
	ck_assert_str_eq(config_description(rt, "f:$LATEST", buf, sizeof(buf)), "two");
	po.version = 3;
	ck_assert_fail(faas_function_publish(rt, "f", &po, &v, &d), d, FAAS_EINVAL,
	               "unsupported faas_publish_options_t version 3");
	po.version = FAAS_PUBLISH_OPTIONS_VERSION;
	po.description = "bad \xc3";
	ck_assert_fail(faas_function_publish(rt, "f", &po, &v, &d), d, FAAS_EINVAL, "UTF-8");
	faas_runtime_free(rt);
}
END_TEST

START_TEST(registry_revision_preconditions)
{
	faas_runtime_t *rt = t_runtime();
	faas_function_config_t c = t_config(NULL);
	faas_publish_options_t po = FAAS_PUBLISH_OPTIONS_INIT;
	faas_error_detail_t d;
	uint64_t rev;

	t_create(rt, "f");
	rev = latest_revision(rt, "f");
	c.expected_revision = rev + 1000;
	ck_assert_fail(faas_function_update(rt, "f", &c, &d), d, FAAS_EPRECONDITION,
	               "The Revision Id provided does not match the latest Revision Id");
	ck_assert_str_eq(d.lambda_name, "PreconditionFailedException");
	ck_assert_int_eq(d.http_status, 412);
	ck_assert_uint_eq(latest_revision(rt, "f"), rev); /* unchanged */
	c.expected_revision = rev;
	ck_assert_ok(faas_function_update(rt, "f", &c, &d), d);
	ck_assert_uint_ne(latest_revision(rt, "f"), rev);
	/* the old revision is stale now */
	ck_assert_fail(faas_function_update(rt, "f", &c, &d), d, FAAS_EPRECONDITION, "Revision Id");
	po.expected_revision = rev;
	ck_assert_fail(faas_function_publish(rt, "f", &po, NULL, &d), d, FAAS_EPRECONDITION,
	               "Revision Id");
	po.expected_revision = latest_revision(rt, "f");
	ck_assert_ok(faas_function_publish(rt, "f", &po, NULL, &d), d);
	faas_runtime_free(rt);
}
END_TEST

START_TEST(registry_delete_rules)
{
	faas_runtime_t *rt = t_runtime();
	faas_alias_config_t ac = FAAS_ALIAS_CONFIG_INIT;
	faas_error_detail_t d;
	json_t *j = NULL;

	t_create(rt, "f");
	t_publish(rt, "f");
	t_touch(rt, "f", "x");
	t_publish(rt, "f");
	ac.function_version = 1;
	ck_assert_ok(faas_alias_create(rt, "f", "live", &ac, &d), d);
	ac.additional_version = 2;
	ac.additional_weight = 0.5;
	ck_assert_ok(faas_alias_create(rt, "f", "canary", &ac, &d), d);
	ck_assert_fail(faas_function_delete(rt, "f", "1", &d), d, FAAS_ECONFLICT,
	               "Unable to delete version because the following aliases reference it: "
	               "[live, canary]");
	ck_assert_str_eq(d.lambda_name, "ResourceConflictException");
	ck_assert_fail(faas_function_delete(rt, "f", "2", &d), d, FAAS_ECONFLICT,
	               "the following aliases reference it: [canary]");
	{ /* long names: whole ones listed, the rest as "..." */
		char name[101], want[160];
		faas_alias_config_t one = FAAS_ALIAS_CONFIG_INIT;
		one.function_version = 2;
		memset(name, 'a', 100);
		name[100] = '\0';
		ck_assert_ok(faas_alias_create(rt, "f", name, &one, &d), d);
		snprintf(want, sizeof(want), "reference it: [canary, %s, ...]", name);
		name[0] = 'b';
		ck_assert_ok(faas_alias_create(rt, "f", name, &one, &d), d);
		ck_assert_fail(faas_function_delete(rt, "f", "2", &d), d, FAAS_ECONFLICT, want);
		ck_assert_ok(faas_alias_delete(rt, "f", name, &d), d);
		name[0] = 'a';
		ck_assert_ok(faas_alias_delete(rt, "f", name, &d), d);
	}
	ck_assert_fail(faas_function_delete(rt, "f", "$LATEST", &d), d, FAAS_EINVAL,
	               "$LATEST version cannot be deleted without deleting the function.");
	ck_assert_fail(faas_function_delete(rt, "f", "live", &d), d, FAAS_EINVAL,
	               "is not a version number");
	ck_assert_fail(faas_function_delete(rt, "f", "9", &d), d, FAAS_ENOTFOUND,
	               "Function not found: arn:aws:lambda:us-east-1:123456789012:function:f:9");
	ck_assert_fail(faas_function_delete(rt, "f:1", "2", &d), d, FAAS_EINVAL,
	               "does not match the specified qualifier");
	ck_assert_fail(faas_function_delete(rt, "g", NULL, &d), d, FAAS_ENOTFOUND,
	               "Function not found: arn:aws:lambda:us-east-1:123456789012:function:g");
	ck_assert_ok(faas_alias_delete(rt, "f", "canary", &d), d);
	ck_assert_ok(faas_function_delete(rt, "f", "2", &d), d);
	/* deleting the function takes its versions and aliases with it */
	ck_assert_ok(faas_function_delete(rt, "f", NULL, &d), d);
	ck_assert_fail(faas_function_resolve(rt, "f:live", NULL, NULL, NULL, &d), d, FAAS_ENOTFOUND,
	               "Function not found");
	ck_assert_fail(faas_alias_describe(rt, "f", "live", &j, &d), d, FAAS_ENOTFOUND,
	               "Function not found");
	ck_assert_ptr_null(j);
	ck_assert_uint_eq(faas__registry_count(rt), 0);
	faas_runtime_free(rt);
}
END_TEST

static int freed[4];
static int ud_values[4] = { 0, 1, 2, 3 };

static void count_free(void *p)
{
	freed[*(int *)p]++;
}

START_TEST(registry_user_data_freed_when_last_version_goes)
{
	faas_runtime_t *rt = t_runtime();
	faas_function_config_t c = t_config(&ud_values[0]);
	faas_error_detail_t d;

	memset(freed, 0, sizeof(freed));
	c.user_data_free = count_free;
	ck_assert_ok(faas_function_create(rt, "f", &c, &d), d);
	/* a failed create never takes ownership */
	c.user_data = &ud_values[3];
	ck_assert_int_eq(faas_function_create(rt, "f", &c, &d), FAAS_EEXIST);
	t_settle(rt);
	ck_assert_int_eq(freed[3], 0);
	ck_assert_uint_eq(t_publish(rt, "f"), 1); /* v1 shares user_data 0 */
	c.user_data = &ud_values[1];
	ck_assert_ok(faas_function_update(rt, "f", &c, &d), d);
	t_settle(rt);
	ck_assert_int_eq(freed[0], 0); /* v1 still uses it */
	/* the same pointer again is shared, not freed twice */
	ck_assert_ok(faas_function_update(rt, "f", &c, &d), d);
	t_settle(rt);
	ck_assert_int_eq(freed[1], 0);
	/* same pointer with another free function: refused */
	c.user_data_free = NULL;
	ck_assert_fail(faas_function_update(rt, "f", &c, &d), d, FAAS_EINVAL,
	               "user_data is already owned by this function with a different user_data_free");
	c.user_data_free = count_free;
	ck_assert_ok(faas_function_delete(rt, "f", "1", &d), d);
	t_settle(rt);
	ck_assert_int_eq(freed[0], 1);
	/* a rejected update does not take ownership either */
	c.user_data = &ud_values[2];
	c.expected_revision = 1;
	ck_assert_int_eq(faas_function_update(rt, "f", &c, &d), FAAS_EPRECONDITION);
	t_settle(rt);
	ck_assert_int_eq(freed[2], 0);
	ck_assert_ok(faas_function_delete(rt, "f", NULL, &d), d);
	t_settle(rt);
	ck_assert_int_eq(freed[1], 1);
	ck_assert_int_eq(freed[0], 1);
	faas_runtime_free(rt);
	ck_assert_int_eq(freed[2], 0);
	ck_assert_int_eq(freed[3], 0);
}
END_TEST

START_TEST(registry_runtime_free_releases_user_data)
{
	faas_runtime_t *rt = t_runtime();
	faas_function_config_t c = t_config(&ud_values[2]);
	faas_error_detail_t d;

	memset(freed, 0, sizeof(freed));
	c.user_data_free = count_free;
	ck_assert_ok(faas_function_create(rt, "f", &c, &d), d);
	t_publish(rt, "f");
	faas_runtime_free(rt);
	ck_assert_int_eq(freed[2], 1);
}
END_TEST

START_TEST(registry_resolved_version_outlives_delete)
{
	faas_runtime_t *rt = t_runtime();
	faas_function_config_t c = t_config(&ud_values[1]);
	struct faas_resolved r;
	struct faas_ident id;
	faas_error_detail_t d;
	long live;

	memset(freed, 0, sizeof(freed));
	c.user_data_free = count_free;
	ck_assert_ok(faas_function_create(rt, "f", &c, &d), d);
	t_settle(rt);
	live = faas__alloc_live();
	ck_assert_ok(faas__ident_parse(rt, "f", NULL, FAAS_IDENT_INVOKE, &id, &d), d);
	ck_assert_ok(faas__registry_resolve(rt, &id, NULL, true, &r, &d), d);
	ck_assert_ok(faas_function_delete(rt, "f", NULL, &d), d);
	t_settle(rt);
	ck_assert_int_eq(freed[1], 0); /* the resolution holds it */
	ck_assert_ptr_eq(r.version->code->handler, t_handler);
	ck_assert_ptr_eq(r.version->code->udata->ptr, &ud_values[1]);
	ck_assert_str_eq(r.version->fn->name, "f");
	faas__resolved_release(&r);
	t_settle(rt);
	ck_assert_int_eq(freed[1], 1);
	ck_assert_int_lt(faas__alloc_live(), live); /* everything of f is gone */
	faas_runtime_free(rt);
}
END_TEST

START_TEST(registry_resolve_qualifiers)
{
	faas_runtime_t *rt = t_runtime();
	faas_error_detail_t d;
	uint32_t v = 99;

	t_create(rt, "f");
	t_publish(rt, "f");
	ck_assert_ok(faas_function_resolve(rt, "f", NULL, NULL, &v, &d), d);
	ck_assert_uint_eq(v, FAAS_VERSION_LATEST);
	ck_assert_ok(faas_function_resolve(rt, "f:$LATEST", NULL, NULL, &v, &d), d);
	ck_assert_uint_eq(v, FAAS_VERSION_LATEST);
	ck_assert_ok(faas_function_resolve(rt, "f", "1", NULL, &v, &d), d);
	ck_assert_uint_eq(v, 1);
	ck_assert_ok(faas_function_resolve(rt, "123456789012:function:f:1", NULL, NULL, &v, &d), d);
	ck_assert_uint_eq(v, 1);
	ck_assert_fail(faas_function_resolve(rt, "f:01", NULL, NULL, &v, &d), d, FAAS_ENOTFOUND,
	               "Function not found: arn:aws:lambda:us-east-1:123456789012:function:f:01");
	ck_assert_fail(faas_function_resolve(rt, "f", "nope", NULL, &v, &d), d, FAAS_ENOTFOUND,
	               "function:f:nope");
	ck_assert_fail(faas_function_resolve(rt, "g", NULL, NULL, &v, &d), d, FAAS_ENOTFOUND,
	               "Function not found: arn:aws:lambda:us-east-1:123456789012:function:g");
	ck_assert_str_eq(d.lambda_name, "ResourceNotFoundException");
	ck_assert_int_eq(d.http_status, 404);
	faas_runtime_free(rt);
}
END_TEST

START_TEST(registry_scales_to_100k_functions)
{
	faas_runtime_t *rt = t_runtime();
	faas_function_config_t c = t_config(NULL);
	faas_error_detail_t d;
	long i, n = t_scaled(100000);
	char name[32];
	uint32_t v;

	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "fn-%ld", i);
		ck_assert_int_eq(faas_function_create(rt, name, &c, NULL), 0);
	}
	ck_assert_uint_eq(faas__registry_count(rt), (size_t)n);
	for (i = 0; i < n; i += 7) {
		snprintf(name, sizeof(name), "fn-%ld", i);
		ck_assert_int_eq(faas_function_resolve(rt, name, NULL, NULL, &v, NULL), 0);
	}
	ck_assert_fail(faas_function_resolve(rt, "fn-x", NULL, NULL, &v, &d), d, FAAS_ENOTFOUND,
	               "fn-x");
	for (i = 0; i < n; i += 2) {
		snprintf(name, sizeof(name), "fn-%ld", i);
		ck_assert_int_eq(faas_function_delete(rt, name, NULL, NULL), 0);
	}
	ck_assert_uint_eq(faas__registry_count(rt), (size_t)(n / 2));
	faas_runtime_free(rt);
}
END_TEST

Suite *registry_suite(void)
{
	Suite *s = suite_create("registry");
	TCase *tc = tcase_create("core");
	TCase *scale = tcase_create("scale");

	tcase_add_test(tc, registry_create_and_duplicate);
	tcase_add_loop_test(tc, registry_rejects_bad_config, 0,
	                    (int)(sizeof(bad_configs) / sizeof(bad_configs[0])));
	tcase_add_test(tc, registry_accepts_limits);
	tcase_add_test(tc, registry_publish_numbers_are_never_reused);
	tcase_add_test(tc, registry_versions_are_snapshots);
	tcase_add_test(tc, registry_revision_preconditions);
	tcase_add_test(tc, registry_delete_rules);
	tcase_add_test(tc, registry_user_data_freed_when_last_version_goes);
	tcase_add_test(tc, registry_runtime_free_releases_user_data);
	tcase_add_test(tc, registry_resolved_version_outlives_delete);
	tcase_add_test(tc, registry_resolve_qualifiers);
	suite_add_tcase(s, tc);
	tcase_add_test(scale, registry_scales_to_100k_functions);
	tcase_set_timeout(scale, 60);
	suite_add_tcase(s, scale);
	return s;
}
