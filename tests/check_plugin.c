/*
 * libfaas tests — plug-ins: load, invoke, unload (the shared object closes
 * once no version uses its code), every way a load fails with nothing
 * half-registered, and a hot swap with a weighted alias under load.
 */
#include "tests.h"

#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>

#define PLUGIN(name) FAAS_TEST_PLUGIN_DIR "/" name ".so"

/* Whether the shared object is still mapped (RTLD_NOLOAD does not load it). */
static bool mapped(const char *path)
{
	void *h = dlopen(path, RTLD_NOW | RTLD_NOLOAD);

	if (h)
		dlclose(h);
	return h != NULL;
}

static bool exists(faas_runtime_t *rt, const char *fn)
{
	json_t *j = NULL;
	bool yes = faas_function_describe(rt, fn, &j, NULL) == 0;

	json_decref(j);
	return yes;
}

static json_t *call(faas_runtime_t *rt, const char *ident, int n)
{
	faas_result_t r = FAAS_RESULT_INIT;
	json_t *ev = json_pack("{s:i}", "n", n), *out;

	ck_assert_int_eq(faas_invoke(rt, ident, ev, NULL, &r), 0);
	ck_assert_int_eq(r.function_error, FAAS_FUNCTION_ERROR_NONE);
	out = json_incref(r.payload);
	faas_result_clear(&r);
	json_decref(ev);
	return out;
}

START_TEST(plugin_load_invoke_unload)
{
	faas_runtime_t *rt = t_runtime();
	faas_error_detail_t d;
	faas_plugin_t *p;
	json_t *out, *desc;

	ck_assert(!mapped(PLUGIN("hello_v1")));
	ck_assert_ok(faas_plugin_load(rt, PLUGIN("hello_v1"), NULL, &p, &d), d);
	ck_assert(mapped(PLUGIN("hello_v1")));
	ck_assert_str_eq(faas_plugin_path(p), PLUGIN("hello_v1"));
	ck_assert_uint_eq(faas_plugin_function_count(p), 2);
	ck_assert_str_eq(faas_plugin_function_name(p, 0), "hello");
	ck_assert_str_eq(faas_plugin_function_name(p, 1), "echo");
	ck_assert_ptr_null(faas_plugin_function_name(p, 2));
	out = call(rt, "hello", 3);
	ck_assert_str_eq(t_jstr(out, "build"), "v1");
	ck_assert_str_eq(t_jstr(out, "ud"), "ud-v1");
	ck_assert_int_eq(json_integer_value(json_object_get(out, "n")), 3);
	json_decref(out);
	/* the config was copied: description and environment */
	ck_assert_ok(faas_function_describe(rt, "hello", &desc, &d), d);
	ck_assert_str_eq(t_jstr(json_object_get(desc, "Configuration"), "Description"),
	                 "hello from v1");
	ck_assert_str_eq(t_jstr(json_object_get(json_object_get(json_object_get(desc, "Configuration"),
	                                                        "Environment"),
	                                        "Variables"),
	                        "BUILD"),
	                 "v1");
	json_decref(desc);
	out = call(rt, "echo", 9);
	ck_assert_int_eq(json_integer_value(json_object_get(out, "n")), 9);
	json_decref(out);
	t_settle(rt);
	ck_assert_ok(faas_plugin_unload(p, 10000, &d), d);
	ck_assert(!exists(rt, "hello"));
	ck_assert(!exists(rt, "echo"));
	ck_assert(!mapped(PLUGIN("hello_v1"))); /* closed: nothing uses its code */
	faas_runtime_free(rt);
}
END_TEST

START_TEST(plugin_load_errors)
{
	faas_runtime_t *rt = t_runtime();
	faas_plugin_options_t o = FAAS_PLUGIN_OPTIONS_INIT;
	faas_error_detail_t d;
	faas_plugin_t *p = (faas_plugin_t *)&d;

	ck_assert_fail(faas_plugin_load(rt, PLUGIN("nope"), NULL, &p, &d), d, FAAS_ENOTFOUND,
	               "no such file");
	ck_assert_ptr_null(p);
	ck_assert_fail(faas_plugin_load(rt, "README.md", NULL, &p, &d), d, FAAS_EINVAL, "README.md");
	ck_assert_fail(faas_plugin_load(rt, PLUGIN("noabi"), NULL, &p, &d), d, FAAS_EINVAL,
	               "no faas_plugin_abi symbol");
	ck_assert_fail(faas_plugin_load(rt, PLUGIN("badabi"), NULL, &p, &d), d, FAAS_EINVAL,
	               "built for plug-in ABI 999, this libfaas has ABI 1");
	ck_assert_fail(faas_plugin_load(rt, PLUGIN("noinit"), NULL, &p, &d), d, FAAS_EINVAL,
	               "no faas_plugin_init symbol");
	ck_assert_fail(faas_plugin_load(rt, PLUGIN("failinit"), NULL, &p, &d), d, FAAS_EUSER,
	               "faas_plugin_init failed (7)");
	ck_assert(!exists(rt, "half")); /* nothing half-registered */
	ck_assert(!mapped(PLUGIN("failinit")));
	/* a name clash without swap: neither function is created */
	t_create(rt, "echo");
	ck_assert_fail(faas_plugin_load(rt, PLUGIN("hello_v1"), NULL, &p, &d), d, FAAS_EEXIST,
	               "function echo exists already");
	ck_assert(!exists(rt, "hello"));
	ck_assert(!mapped(PLUGIN("hello_v1")));
	ck_assert_fail(faas_plugin_load(rt, NULL, NULL, &p, &d), d, FAAS_EINVAL, "NULL");
	ck_assert_fail(faas_plugin_load(rt, PLUGIN("hello_v1"), NULL, NULL, &d), d, FAAS_EINVAL,
	               "NULL");
	ck_assert_fail(faas_plugin_load(NULL, PLUGIN("hello_v1"), NULL, &p, &d), d, FAAS_EINVAL,
	               "NULL");
	o.version = 5;
	ck_assert_fail(faas_plugin_load(rt, PLUGIN("hello_v1"), &o, &p, &d), d, FAAS_EINVAL,
	               "version");
	o.version = FAAS_PLUGIN_OPTIONS_VERSION;
	o.weight = -0.5;
	ck_assert_fail(faas_plugin_load(rt, PLUGIN("hello_v1"), &o, &p, &d), d, FAAS_EINVAL, "weight");
	o.weight = NAN;
	ck_assert_fail(faas_plugin_load(rt, PLUGIN("hello_v1"), &o, &p, &d), d, FAAS_EINVAL, "weight");
	ck_assert_fail(faas_plugin_unload(NULL, 0, &d), d, FAAS_EINVAL, "NULL");
	ck_assert_uint_eq(faas_plugin_function_count(NULL), 0);
	ck_assert_ptr_null(faas_plugin_path(NULL));
	faas_runtime_shutdown(rt, 0);
	ck_assert_fail(faas_plugin_load(rt, PLUGIN("hello_v1"), NULL, &p, &d), d, FAAS_ESHUTDOWN,
	               "shut down");
	faas_runtime_free(rt);
}
END_TEST

/* ---- hot swap under load ------------------------------------------------------------- */

struct caller {
	faas_runtime_t *rt;
	pthread_t tid;
	_Atomic bool *stop;
	long calls, v1, v2, bad;
};

static void *caller_main(void *arg)
{
	struct caller *c = arg;
	json_t *ev = json_pack("{s:i}", "n", 1);

	while (!atomic_load(c->stop)) {
		faas_result_t r = FAAS_RESULT_INIT;
		const char *b;
		if (faas_invoke(c->rt, "hello:live", ev, NULL, &r) != 0 ||
		    r.function_error != FAAS_FUNCTION_ERROR_NONE) {
			c->bad++;
		} else {
			b = t_jstr(r.payload, "build");
			c->v1 += !strcmp(b, "v1");
			c->v2 += !strcmp(b, "v2");
			c->bad += strcmp(b, "v1") && strcmp(b, "v2");
		}
		c->calls++;
		faas_result_clear(&r);
	}
	json_decref(ev);
	return NULL;
}

START_TEST(plugin_hot_swap_under_load)
{
	faas_runtime_options_t ro = t_options();
	faas_plugin_options_t o = FAAS_PLUGIN_OPTIONS_INIT;
	faas_alias_config_t ac = FAAS_ALIAS_CONFIG_INIT;
	struct caller c[2];
	_Atomic bool stop = false;
	faas_error_detail_t d;
	faas_runtime_t *rt;
	faas_plugin_t *p1, *p2;
	uint32_t v1;
	json_t *out;
	int i, twos = 0;

	ro.clock = FAAS_CLOCK_REAL; /* callers on their threads, real deadlines */
	rt = t_runtime_with(&ro);
	ck_assert_ok(faas_plugin_load(rt, PLUGIN("hello_v1"), NULL, &p1, &d), d);
	ck_assert_ok(faas_function_publish(rt, "hello", NULL, &v1, &d), d);
	ac.function_version = v1;
	ck_assert_ok(faas_alias_create(rt, "hello", "live", &ac, &d), d);
	for (i = 0; i < 2; i++) {
		c[i] = (struct caller){ rt, 0, &stop, 0, 0, 0, 0 };
		pthread_create(&c[i].tid, NULL, caller_main, &c[i]);
	}
	/* v2 as a canary: half of live's traffic, while the callers call */
	o.swap = 1;
	o.alias = "live";
	o.weight = 0.5;
	ck_assert_ok(faas_plugin_load(rt, PLUGIN("hello_v2"), &o, &p2, &d), d);
	for (i = 0; i < 400; i++) { /* routing is drawn per call: both builds answer */
		out = call(rt, "hello:live", i);
		twos += !strcmp(t_jstr(out, "build"), "v2");
		json_decref(out);
	}
	ck_assert_int_gt(twos, 120);
	ck_assert_int_lt(twos, 280);
	/* all of it to v2; v1's code stays mapped while version 1 exists */
	ac.function_version = v1 + 1;
	ck_assert_ok(faas_alias_update(rt, "hello", "live", &ac, &d), d);
	atomic_store(&stop, true);
	for (i = 0; i < 2; i++)
		pthread_join(c[i].tid, NULL);
	for (i = 0; i < 2; i++) {
		ck_assert_int_eq(c[i].bad, 0); /* no call failed across the swaps */
		ck_assert_int_eq(c[i].v1 + c[i].v2, c[i].calls);
	}
	out = call(rt, "hello:live", 1);
	ck_assert_str_eq(t_jstr(out, "build"), "v2");
	json_decref(out);
	t_settle(rt);
	ck_assert_fail(faas_plugin_unload(p1, 0, &d), d, FAAS_ETIMEDOUT, "still in use");
	ck_assert(exists(rt, "hello")); /* $LATEST is v2's: it stays */
	ck_assert(mapped(PLUGIN("hello_v1")));
	ck_assert_ok(faas_function_delete(rt, "hello", "1", &d), d); /* the last v1 version */
	t_settle(rt);
	ck_assert(!mapped(PLUGIN("hello_v1")));
	out = call(rt, "hello", 2);
	ck_assert_str_eq(t_jstr(out, "build"), "v2");
	json_decref(out);
	t_settle(rt);
	ck_assert_ok(faas_plugin_unload(p2, 10000, &d), d);
	ck_assert(!exists(rt, "hello"));
	ck_assert(!mapped(PLUGIN("hello_v2")));
	faas_runtime_free(rt);
}
END_TEST

/* A swap moves an alias that points at $LATEST too (it exists: update, not create). */
START_TEST(plugin_swap_moves_a_latest_alias)
{
	faas_runtime_t *rt = t_runtime();
	faas_plugin_options_t o = FAAS_PLUGIN_OPTIONS_INIT;
	faas_alias_config_t ac = FAAS_ALIAS_CONFIG_INIT;
	faas_error_detail_t d;
	faas_plugin_t *p1, *p2;
	json_t *out;

	ck_assert_ok(faas_plugin_load(rt, PLUGIN("hello_v1"), NULL, &p1, &d), d);
	ac.function_version = FAAS_VERSION_LATEST;
	ac.description = "the current build";
	ck_assert_ok(faas_alias_create(rt, "hello", "cur", &ac, &d), d);
	o.swap = 1;
	o.alias = "cur";
	ck_assert_ok(faas_plugin_load(rt, PLUGIN("hello_v2"), &o, &p2, &d), d);
	out = call(rt, "hello:cur", 1);
	ck_assert_str_eq(t_jstr(out, "build"), "v2");
	json_decref(out);
	ck_assert_ok(faas_alias_describe(rt, "hello", "cur", &out, &d), d);
	ck_assert_str_eq(t_jstr(out, "Description"), "the current build"); /* kept across the swap */
	json_decref(out);
	t_settle(rt);
	faas_plugin_unload(p1, 10000, &d);
	ck_assert_ok(faas_plugin_unload(p2, 10000, &d), d);
	ck_assert(!mapped(PLUGIN("hello_v1")));
	ck_assert(!mapped(PLUGIN("hello_v2")));
	faas_runtime_free(rt);
}
END_TEST

Suite *plugin_suite(void)
{
	Suite *s = suite_create("plugin");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, plugin_load_invoke_unload);
	tcase_add_test(tc, plugin_load_errors);
	tcase_add_test(tc, plugin_hot_swap_under_load);
	tcase_add_test(tc, plugin_swap_moves_a_latest_alias);
	suite_add_tcase(s, tc);
	return s;
}
