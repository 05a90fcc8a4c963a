/*
 * libfaas tests — provisioned concurrency: environments initialised ahead
 * of traffic, never reaped, used first, spillover, limits, status, alias
 * moves (make before break), resets, inline mode.
 */
#include "tests.h"

#include <stdio.h>
#include <stdlib.h>

/* What environments did, in order: "init 1 provisioned-concurrency", "shutdown 1 spindown". */
static struct {
	pthread_mutex_t m;
	char lines[64][48];
	int n;
	_Atomic int next_id;
	_Atomic int fail_init;
	_Atomic bool block;
	struct latch *latch;
} ev = { .m = PTHREAD_MUTEX_INITIALIZER };

static const char *why_name[] = { "spindown", "timeout", "failure" };

static void note(const char *fmt, const char *a, const char *b)
{
	pthread_mutex_lock(&ev.m);
	if (ev.n < 64)
		snprintf(ev.lines[ev.n++], sizeof(ev.lines[0]), fmt, a, b);
	pthread_mutex_unlock(&ev.m);
}

static int count(const char *prefix)
{
	int i, k = 0;

	pthread_mutex_lock(&ev.m);
	for (i = 0; i < ev.n; i++)
		k += strncmp(ev.lines[i], prefix, strlen(prefix)) == 0;
	pthread_mutex_unlock(&ev.m);
	return k;
}

/* Index of the first line starting with prefix, or -1. */
static int first(const char *prefix)
{
	int i;

	pthread_mutex_lock(&ev.m);
	for (i = 0; i < ev.n; i++)
		if (strncmp(ev.lines[i], prefix, strlen(prefix)) == 0)
			break;
	pthread_mutex_unlock(&ev.m);
	return i < ev.n ? i : -1;
}

static int last(const char *prefix)
{
	int i, at = -1;

	pthread_mutex_lock(&ev.m);
	for (i = 0; i < ev.n; i++)
		if (strncmp(ev.lines[i], prefix, strlen(prefix)) == 0)
			at = i;
	pthread_mutex_unlock(&ev.m);
	return at;
}

struct env {
	int id;
	char version[12];
};

static int pinit(faas_context_t *ctx, void **state, void *ud)
{
	struct env *e;

	(void)ud;
	note("init %s %s", faas_context_function_version(ctx), faas_context_initialization_type(ctx));
	if (atomic_load(&ev.fail_init))
		return faas_context_fail(ctx, "InitBoom", "cannot init");
	e = malloc(sizeof(*e));
	e->id = atomic_fetch_add(&ev.next_id, 1);
	snprintf(e->version, sizeof(e->version), "%s", faas_context_function_version(ctx));
	*state = e;
	return 0;
}

static void pshutdown(void *state, faas_shutdown_reason_t why, void *ud)
{
	struct env *e = state;

	(void)ud;
	note("shutdown %s %s", e->version, why_name[why]);
	free(e);
}

/* {"id":N,"type":"..."}; {"fatal":true} resets the environment. */
static int phandler(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	struct env *e = faas_context_instance_state(ctx);

	(void)ud;
	if (json_is_true(json_object_get(event, "fatal")))
		return faas_context_fail_fatal(ctx, "Crash", "environment is broken");
	if (atomic_load(&ev.block) && ev.latch) { /* hold it until the test opens the latch */
		t_latch_handler(ctx, event, response, ev.latch);
		json_decref(*response);
	}
	*response = json_pack("{s:i,s:s}", "id", e->id, "type", faas_context_initialization_type(ctx));
	return 0;
}

static void reset_events(void)
{
	pthread_mutex_lock(&ev.m);
	ev.n = 0;
	pthread_mutex_unlock(&ev.m);
	atomic_store(&ev.next_id, 0);
	atomic_store(&ev.fail_init, 0);
	atomic_store(&ev.block, false);
	ev.latch = NULL;
}

/* "f" with two published versions and alias "live" -> 1. */
static faas_runtime_t *setup(faas_runtime_options_t *o)
{
	faas_function_config_t c = t_config(NULL);
	faas_alias_config_t ac = FAAS_ALIAS_CONFIG_INIT;
	faas_runtime_options_t def = t_options();
	faas_error_detail_t d;
	faas_runtime_t *rt;

	reset_events();
	if (!o) {
		def.max_concurrency = 20;
		def.unreserved_min = 5;
		o = &def;
	}
	o->keep_alive_ms = 60000;
	rt = t_runtime_with(o);
	c.handler = phandler;
	c.init = pinit;
	c.shutdown = pshutdown;
	ck_assert_ok(faas_function_create(rt, "f", &c, &d), d);
	ck_assert_int_eq(t_publish(rt, "f"), 1);
	c.description = "second";
	ck_assert_ok(faas_function_update(rt, "f", &c, &d), d);
	ck_assert_int_eq(t_publish(rt, "f"), 2);
	ac.function_version = 1;
	ck_assert_ok(faas_alias_create(rt, "f", "live", &ac, &d), d);
	return rt;
}

static faas_provisioned_info_t info_of(faas_runtime_t *rt, const char *qual)
{
	faas_provisioned_info_t info = FAAS_PROVISIONED_INFO_INIT;
	faas_error_detail_t d;

	ck_assert_ok(faas_function_get_provisioned_concurrency(rt, "f", qual, &info, &d), d);
	return info;
}

static json_t *call(faas_runtime_t *rt, const char *ident, faas_result_t *r)
{
	ck_assert_int_eq(faas_invoke(rt, ident, NULL, NULL, r), 0);
	ck_assert_int_eq(r->function_error, FAAS_FUNCTION_ERROR_NONE);
	return r->payload;
}

static long metric(faas_runtime_t *rt, const char *version, const char *name)
{
	faas_error_detail_t d;
	json_t *m, *fns, *vers, *fn, *v;
	size_t i, j;
	long out = -1;

	ck_assert_ok(faas_metrics_json(rt, &m, &d), d);
	fns = json_object_get(m, "Functions");
	json_array_foreach(fns, i, fn)
	{
		vers = json_object_get(fn, "Versions");
		json_array_foreach(vers, j, v)
		{
			json_t *x = json_object_get(v, name);
			if (strcmp(t_jstr(v, "ExecutedVersion"), version) == 0)
				out = x ? (long)json_integer_value(x) : -2; /* -2: absent */
		}
	}
	json_decref(m);
	return out;
}

START_TEST(provisioned_ahead_of_traffic_and_never_reaped)
{
	faas_runtime_t *rt = setup(NULL);
	faas_result_t r = FAAS_RESULT_INIT;
	faas_provisioned_info_t info;
	faas_error_detail_t d;
	json_t *p;

	ck_assert_ok(faas_function_set_provisioned_concurrency(rt, "f", "1", 2, &d), d);
	t_settle(rt);
	ck_assert_int_eq(count("init 1 provisioned-concurrency"), 2);
	ck_assert_int_eq(count("init"), 2);
	info = info_of(rt, "1");
	ck_assert_uint_eq(info.requested, 2);
	ck_assert_uint_eq(info.available, 2);
	ck_assert_uint_eq(info.allocated, 2);
	ck_assert_int_eq(info.status, FAAS_PROVISIONED_READY);
	ck_assert_uint_eq(info.function_version, 1);
	ck_assert_int_eq(info.last_modified_ms, 1700000000000);
	ck_assert_str_eq(info.status_reason, "");
	/* the version and every alias to it use them: no cold start */
	p = call(rt, "f:1", &r);
	ck_assert_str_eq(t_jstr(p, "type"), "provisioned-concurrency");
	ck_assert_int_eq(json_integer_value(json_object_get(p, "id")), 1); /* the warmest (LIFO) */
	faas_result_clear(&r);
	p = call(rt, "f:live", &r);
	ck_assert_str_eq(t_jstr(p, "type"), "provisioned-concurrency");
	faas_result_clear(&r);
	ck_assert_int_eq(count("init"), 2);
	/* another version is on demand */
	p = call(rt, "f:2", &r);
	ck_assert_str_eq(t_jstr(p, "type"), "on-demand");
	faas_result_clear(&r);
	/* keep-alive passes: the on-demand one is reaped, the provisioned ones stay */
	faas_clock_advance(rt, 3600 * 1000);
	t_settle(rt);
	ck_assert_int_eq(count("shutdown 2 spindown"), 1);
	ck_assert_int_eq(count("shutdown 1"), 0);
	p = call(rt, "f:1", &r);
	ck_assert_str_eq(t_jstr(p, "type"), "provisioned-concurrency");
	faas_result_clear(&r);
	ck_assert_int_eq(metric(rt, "1", "ProvisionedConcurrencyInvocations"), 3);
	ck_assert_int_eq(metric(rt, "1", "ProvisionedConcurrencySpilloverInvocations"), 0);
	ck_assert_int_eq(metric(rt, "1", "ColdStarts"), 0);
	ck_assert_int_eq(metric(rt, "2", "ProvisionedConcurrencyInvocations"), -2);
	ck_assert_uint_eq(faas_runtime_concurrent_executions(rt), 0);
	faas_runtime_free(rt);
	/* freeing the runtime shuts them down */
	ck_assert_int_eq(count("shutdown 1 spindown"), 2);
}
END_TEST

START_TEST(provisioned_busy_spills_over)
{
	faas_runtime_t *rt = setup(NULL);
	struct bg_invoke bg[3];
	faas_error_detail_t d;
	struct latch l;
	int i, prov = 0, demand = 0;

	ck_assert_ok(faas_function_set_provisioned_concurrency(rt, "f", "live", 2, &d), d);
	t_settle(rt);
	latch_init(&l);
	ev.latch = &l;
	atomic_store(&ev.block, true);
	for (i = 0; i < 3; i++)
		bg_start(&bg[i], rt, "f:live");
	latch_wait_entered(&l, 3);
	ck_assert_uint_eq(faas_runtime_concurrent_executions(rt), 3);
	latch_open(&l);
	for (i = 0; i < 3; i++) {
		bg_join(&bg[i]);
		ck_assert_int_eq(bg[i].rc, 0);
		if (strcmp(t_jstr(bg[i].result.payload, "type"), "provisioned-concurrency") == 0)
			prov++;
		else
			demand++;
		faas_result_clear(&bg[i].result);
	}
	ck_assert_int_eq(prov, 2);
	ck_assert_int_eq(demand, 1);
	ck_assert_int_eq(count("init 1 on-demand"), 1);
	ck_assert_int_eq(metric(rt, "1", "ProvisionedConcurrencyInvocations"), 2);
	ck_assert_int_eq(metric(rt, "1", "ProvisionedConcurrencySpilloverInvocations"), 1);
	ck_assert_int_eq(metric(rt, "1", "ColdStarts"), 1);
	t_settle(rt);
	faas_runtime_free(rt);
	latch_destroy(&l);
}
END_TEST

START_TEST(provisioned_counts_against_reserved)
{
	faas_runtime_t *rt = setup(NULL);
	faas_result_t r = FAAS_RESULT_INIT;
	struct bg_invoke bg[3];
	faas_error_detail_t d;
	struct latch l;
	int i;

	ck_assert_ok(faas_function_set_reserved_concurrency(rt, "f", 3, &d), d);
	ck_assert_fail(faas_function_set_provisioned_concurrency(rt, "f", "1", 4, &d), d, FAAS_EINVAL,
	               "exceeds the function's reserved concurrency");
	ck_assert_ok(faas_function_set_provisioned_concurrency(rt, "f", "1", 2, &d), d);
	ck_assert_fail(faas_function_set_provisioned_concurrency(rt, "f", "2", 2, &d), d, FAAS_EINVAL,
	               "4 provisioned of 3 reserved");
	ck_assert_fail(faas_function_set_reserved_concurrency(rt, "f", 1, &d), d, FAAS_EINVAL,
	               "less than the function's provisioned concurrency (2)");
	t_settle(rt);
	latch_init(&l);
	ev.latch = &l;
	atomic_store(&ev.block, true);
	for (i = 0; i < 3; i++)
		bg_start(&bg[i], rt, i < 2 ? "f:1" : "f:2");
	latch_wait_entered(&l, 3);
	/* 2 provisioned + 1 of the reservation: the function is at its cap */
	ck_assert_int_eq(faas_invoke(rt, "f:2", NULL, NULL, &r), FAAS_ETHROTTLED);
	ck_assert_str_eq(r.throttle_reason, "ReservedFunctionConcurrentInvocationLimitExceeded");
	faas_result_clear(&r);
	ck_assert_int_eq(faas_invoke(rt, "f:1", NULL, NULL, &r), FAAS_ETHROTTLED);
	faas_result_clear(&r);
	latch_open(&l);
	for (i = 0; i < 3; i++) {
		bg_join(&bg[i]);
		ck_assert_int_eq(bg[i].rc, 0);
		faas_result_clear(&bg[i].result);
	}
	t_settle(rt);
	/* dropping the reservation keeps the provisioned tokens carved out */
	ck_assert_ok(faas_function_set_reserved_concurrency(rt, "f", -1, &d), d);
	ck_assert_ok(faas_function_set_provisioned_concurrency(rt, "f", "1", 0, &d), d);
	t_settle(rt);
	ck_assert_uint_eq(faas_runtime_concurrent_executions(rt), 0);
	faas_runtime_free(rt);
	latch_destroy(&l);
}
END_TEST

START_TEST(provisioned_account_carve_out)
{
	faas_runtime_t *rt = setup(NULL); /* max 20, unreserved_min 5 */
	faas_error_detail_t d;

	ck_assert_ok(faas_function_set_reserved_concurrency(rt, "f", -1, &d), d);
	ck_assert_fail(faas_function_set_provisioned_concurrency(rt, "f", "1", 16, &d), d, FAAS_EINVAL,
	               "below its minimum value of [5]");
	ck_assert_ok(faas_function_set_provisioned_concurrency(rt, "f", "1", 15, &d), d);
	t_settle(rt);
	ck_assert_int_eq(count("init 1 provisioned-concurrency"), 15);
	/* a reservation now has to make room for what is provisioned */
	t_create(rt, "g");
	ck_assert_fail(faas_function_set_reserved_concurrency(rt, "g", 1, &d), d, FAAS_EINVAL,
	               "below its minimum value of [5]");
	ck_assert_ok(faas_function_set_provisioned_concurrency(rt, "f", "1", 10, &d), d);
	ck_assert_ok(faas_function_set_reserved_concurrency(rt, "g", 5, &d), d);
	/* f reserving takes its provisioned tokens into account */
	ck_assert_ok(faas_function_set_reserved_concurrency(rt, "f", 10, &d), d);
	ck_assert_fail(faas_function_set_reserved_concurrency(rt, "f", 11, &d), d, FAAS_EINVAL,
	               "below its minimum value of [5]");
	t_settle(rt);
	ck_assert_int_eq(count("shutdown 1 spindown"), 5); /* 15 -> 10 */
	ck_assert_uint_eq(info_of(rt, "1").available, 10);
	faas_runtime_free(rt);
}
END_TEST

START_TEST(provisioned_bad_requests)
{
	faas_runtime_t *rt = setup(NULL);
	faas_provisioned_info_t info = FAAS_PROVISIONED_INFO_INIT;
	faas_alias_config_t ac = FAAS_ALIAS_CONFIG_INIT;
	faas_error_detail_t d;

	ck_assert_fail(faas_function_set_provisioned_concurrency(rt, "f", NULL, 1, &d), d, FAAS_EINVAL,
	               "cannot be applied to unpublished function versions");
	ck_assert_fail(faas_function_set_provisioned_concurrency(rt, "f", "$LATEST", 1, &d), d,
	               FAAS_EINVAL, "unpublished");
	ck_assert_fail(faas_function_set_provisioned_concurrency(rt, "f:$LATEST", NULL, 1, &d), d,
	               FAAS_EINVAL, "unpublished");
	ck_assert_fail(faas_function_set_provisioned_concurrency(rt, "f", "9", 1, &d), d,
	               FAAS_ENOTFOUND, "Function not found");
	ck_assert_fail(faas_function_set_provisioned_concurrency(rt, "f", "nope", 1, &d), d,
	               FAAS_ENOTFOUND, "Function not found");
	ck_assert_fail(faas_function_set_provisioned_concurrency(rt, "g", "1", 1, &d), d,
	               FAAS_ENOTFOUND, "Function not found");
	ck_assert_fail(faas_function_set_provisioned_concurrency(rt, NULL, "1", 1, &d), d,
	               FAAS_EINVAL, "");
	ck_assert_int_eq(faas_function_set_provisioned_concurrency(NULL, "f", "1", 1, NULL), FAAS_EINVAL);
	ck_assert_fail(faas_function_set_provisioned_concurrency(rt, "f", "1", 0x80000000u, &d), d,
	               FAAS_EINVAL, "less than or equal to 2147483647");
	ck_assert_fail(faas_function_set_provisioned_concurrency(rt, "f", "1", 0, &d), d,
	               FAAS_ENOTFOUND, "No Provisioned Concurrency Config found for this function");
	ck_assert_fail(faas_function_get_provisioned_concurrency(rt, "f", "1", &info, &d), d,
	               FAAS_ENOTFOUND, "No Provisioned Concurrency Config found");
	ck_assert_fail(faas_function_get_provisioned_concurrency(rt, "f", "1", NULL, &d), d,
	               FAAS_EINVAL, "out must not be NULL");
	info.version = 99;
	ck_assert_fail(faas_function_get_provisioned_concurrency(rt, "f", "1", &info, &d), d,
	               FAAS_EINVAL, "unsupported faas_provisioned_info_t version 99");
	/* an alias with weights */
	ac.function_version = 1;
	ac.additional_version = 2;
	ac.additional_weight = 0.5;
	ck_assert_ok(faas_alias_create(rt, "f", "canary", &ac, &d), d);
	ck_assert_fail(faas_function_set_provisioned_concurrency(rt, "f", "canary", 1, &d), d,
	               FAAS_EINVAL, "Alias with weights can not be used with Provisioned Concurrency");
	/* one config per version */
	ck_assert_ok(faas_function_set_provisioned_concurrency(rt, "f", "live", 1, &d), d);
	ck_assert_fail(faas_function_set_provisioned_concurrency(rt, "f", "1", 1, &d), d,
	               FAAS_ECONFLICT, "Cannot configure provisioned concurrency on both alias and version");
	ac.additional_version = 0;
	ac.additional_weight = 0;
	ck_assert_ok(faas_alias_create(rt, "f", "other", &ac, &d), d);
	ck_assert_fail(faas_function_set_provisioned_concurrency(rt, "f", "other", 1, &d), d,
	               FAAS_ECONFLICT, "already Provisioned version");
	/* an alias with a config cannot move to $LATEST nor onto a provisioned version */
	ck_assert_ok(faas_function_set_provisioned_concurrency(rt, "f", "2", 1, &d), d);
	ac.function_version = FAAS_VERSION_LATEST;
	ck_assert_fail(faas_alias_update(rt, "f", "live", &ac, &d), d, FAAS_EINVAL, "unpublished");
	ac.function_version = 2;
	ck_assert_fail(faas_alias_update(rt, "f", "live", &ac, &d), d, FAAS_ECONFLICT,
	               "already Provisioned version");
	/* weights added after the config are allowed: environments stay on the primary */
	ac.function_version = 1;
	ac.additional_version = 2;
	ac.additional_weight = 0.1;
	ck_assert_ok(faas_alias_update(rt, "f", "live", &ac, &d), d);
	ck_assert_uint_eq(info_of(rt, "live").function_version, 1);
	ck_assert_int_eq(faas_runtime_shutdown(rt, 1000), 0);
	ck_assert_fail(faas_function_set_provisioned_concurrency(rt, "f", "2", 1, &d), d,
	               FAAS_ESHUTDOWN, "shut down");
	ck_assert_fail(faas_function_get_provisioned_concurrency(rt, "f", "2", &info, &d), d,
	               FAAS_ESHUTDOWN, "shut down");
	faas_runtime_free(rt);
}
END_TEST

START_TEST(provisioned_init_failure)
{
	faas_runtime_t *rt = setup(NULL);
	faas_result_t r = FAAS_RESULT_INIT;
	faas_provisioned_info_t info;
	faas_error_detail_t d;

	atomic_store(&ev.fail_init, 1);
	ck_assert_ok(faas_function_set_provisioned_concurrency(rt, "f", "1", 3, &d), d);
	t_settle(rt);
	info = info_of(rt, "1");
	ck_assert_int_eq(info.status, FAAS_PROVISIONED_FAILED);
	ck_assert_str_eq(info.status_reason, "InitBoom: cannot init");
	ck_assert_uint_eq(info.available, 0);
	ck_assert_int_eq(count("init"), 1); /* no retry loop */
	/* invocations still run: their environment initialises inside them */
	atomic_store(&ev.fail_init, 0);
	ck_assert_int_eq(faas_invoke(rt, "f:1", NULL, NULL, &r), 0);
	ck_assert_str_eq(t_jstr(r.payload, "type"), "on-demand");
	faas_result_clear(&r);
	/* a new put starts over */
	ck_assert_ok(faas_function_set_provisioned_concurrency(rt, "f", "1", 3, &d), d);
	t_settle(rt);
	info = info_of(rt, "1");
	ck_assert_int_eq(info.status, FAAS_PROVISIONED_READY);
	ck_assert_uint_eq(info.available, 3);
	ck_assert_int_eq(count("init 1 provisioned-concurrency"), 3); /* 1 failed + 2 more */
	faas_runtime_free(rt);
}
END_TEST

START_TEST(provisioned_resize_and_delete)
{
	faas_runtime_t *rt = setup(NULL);
	faas_result_t r = FAAS_RESULT_INIT;
	faas_error_detail_t d;

	ck_assert_ok(faas_function_set_provisioned_concurrency(rt, "f", "live", 3, &d), d);
	t_settle(rt);
	ck_assert_int_eq(count("init 1 provisioned-concurrency"), 3);
	ck_assert_ok(faas_function_set_provisioned_concurrency(rt, "f", "live", 1, &d), d);
	t_settle(rt);
	ck_assert_int_eq(count("shutdown 1 spindown"), 2);
	ck_assert_int_eq(info_of(rt, "live").status, FAAS_PROVISIONED_READY);
	ck_assert_uint_eq(info_of(rt, "live").available, 1);
	ck_assert_ok(faas_function_set_provisioned_concurrency(rt, "f", "live", 2, &d), d);
	t_settle(rt);
	ck_assert_int_eq(count("init 1 provisioned-concurrency"), 4);
	/* a fatal error resets one: a replacement is provisioned */
	ck_assert_int_eq(faas_invoke_json(rt, "f:live", "{\"fatal\":true}", 14, NULL, &r), 0);
	ck_assert_str_eq(t_jstr(r.payload, "errorType"), "Crash");
	faas_result_clear(&r);
	t_settle(rt);
	ck_assert_int_eq(count("shutdown 1 failure"), 1);
	ck_assert_int_eq(count("init 1 provisioned-concurrency"), 5);
	ck_assert_uint_eq(info_of(rt, "live").available, 2);
	/* deleting the alias deletes its config and the environments go */
	ck_assert_ok(faas_alias_delete(rt, "f", "live", &d), d);
	t_settle(rt);
	ck_assert_int_eq(count("shutdown 1 spindown"), 4);
	ck_assert_fail(faas_function_get_provisioned_concurrency(rt, "f", "live", NULL, &d), d,
	               FAAS_EINVAL, "out must not be NULL");
	/* a version config goes with its version */
	ck_assert_ok(faas_function_set_provisioned_concurrency(rt, "f", "2", 1, &d), d);
	t_settle(rt);
	ck_assert_ok(faas_function_delete(rt, "f", "2", &d), d);
	t_settle(rt);
	ck_assert_int_eq(count("shutdown 2 spindown"), 1);
	/* both carve-outs went back: the whole account is free */
	ck_assert_ok(faas_function_set_reserved_concurrency(rt, "f", 15, &d), d);
	ck_assert_uint_eq(faas_runtime_concurrent_executions(rt), 0);
	faas_runtime_free(rt);
}
END_TEST

/* Moving an alias initialises the new version's environments before the
 * old version's idle ones are shut down. */
START_TEST(provisioned_alias_move_make_before_break)
{
	faas_runtime_t *rt = setup(NULL);
	faas_alias_config_t ac = FAAS_ALIAS_CONFIG_INIT;
	faas_result_t r = FAAS_RESULT_INIT;
	faas_provisioned_info_t info;
	faas_error_detail_t d;

	ck_assert_ok(faas_function_set_provisioned_concurrency(rt, "f", "live", 2, &d), d);
	t_settle(rt);
	ac.function_version = 2;
	ck_assert_ok(faas_alias_update(rt, "f", "live", &ac, &d), d);
	t_settle(rt);
	ck_assert_int_eq(count("init 2 provisioned-concurrency"), 2);
	ck_assert_int_eq(count("shutdown 1 spindown"), 2);
	ck_assert_int_lt(last("init 2"), first("shutdown 1"));
	info = info_of(rt, "live");
	ck_assert_uint_eq(info.function_version, 2);
	ck_assert_int_eq(info.status, FAAS_PROVISIONED_READY);
	ck_assert_uint_eq(info.available, 2);
	ck_assert_str_eq(t_jstr(call(rt, "f:live", &r), "type"), "provisioned-concurrency");
	faas_result_clear(&r);
	/* version 1 lost its config: on demand again, and no spillover counted */
	ck_assert_str_eq(t_jstr(call(rt, "f:1", &r), "type"), "on-demand");
	faas_result_clear(&r);
	ck_assert_int_eq(metric(rt, "1", "ProvisionedConcurrencySpilloverInvocations"), 0);
	/* and it may be provisioned directly now */
	ck_assert_ok(faas_function_set_provisioned_concurrency(rt, "f", "1", 1, &d), d);
	t_settle(rt);
	ck_assert_int_eq(count("init 1 provisioned-concurrency"), 3);
	faas_runtime_free(rt);
}
END_TEST

START_TEST(provisioned_alias_moved_back_and_forth)
{
	faas_runtime_t *rt = setup(NULL);
	faas_alias_config_t ac = FAAS_ALIAS_CONFIG_INIT;
	faas_error_detail_t d;
	int i;

	ck_assert_ok(faas_function_set_provisioned_concurrency(rt, "f", "live", 2, &d), d);
	for (i = 0; i < 5; i++) { /* no time to settle in between */
		ac.function_version = i % 2 ? 1 : 2;
		ck_assert_ok(faas_alias_update(rt, "f", "live", &ac, &d), d);
	}
	t_settle(rt);
	ck_assert_uint_eq(info_of(rt, "live").function_version, 2);
	ck_assert_int_eq(info_of(rt, "live").status, FAAS_PROVISIONED_READY);
	/* what lives: two environments of version 2, none of version 1 */
	ck_assert_int_eq(count("init 2 provisioned") - count("shutdown 2"), 2);
	ck_assert_int_eq(count("init 1 provisioned") - count("shutdown 1"), 0);
	faas_runtime_free(rt);
}
END_TEST

START_TEST(provisioned_inline_mode)
{
	faas_runtime_options_t o = t_options();
	faas_result_t r = FAAS_RESULT_INIT;
	faas_error_detail_t d;
	faas_runtime_t *rt;

	o.inline_mode = true;
	o.max_concurrency = 20;
	o.unreserved_min = 5;
	rt = setup(&o);
	ck_assert_ok(faas_function_set_provisioned_concurrency(rt, "f", "1", 2, &d), d);
	/* no housekeeping thread: the call itself initialised them */
	ck_assert_int_eq(count("init 1 provisioned-concurrency"), 2);
	ck_assert_int_eq(info_of(rt, "1").status, FAAS_PROVISIONED_READY);
	ck_assert_str_eq(t_jstr(call(rt, "f:1", &r), "type"), "provisioned-concurrency");
	faas_result_clear(&r);
	ck_assert_int_eq(faas_invoke_json(rt, "f:1", "{\"fatal\":true}", 14, NULL, &r), 0);
	faas_result_clear(&r);
	/* the replacement comes before the next inline invocation */
	ck_assert_str_eq(t_jstr(call(rt, "f:1", &r), "type"), "provisioned-concurrency");
	faas_result_clear(&r);
	ck_assert_int_eq(count("init 1 provisioned-concurrency"), 3);
	t_settle(rt);
	faas_runtime_free(rt);
	ck_assert_int_eq(count("shutdown 1 spindown"), 2);
}
END_TEST

/* Deleting the function while its environments are busy: they finish,
 * then everything is shut down and the tokens come back. */
START_TEST(provisioned_function_deleted_while_busy)
{
	faas_runtime_t *rt = setup(NULL);
	struct bg_invoke bg;
	faas_error_detail_t d;
	struct latch l;

	ck_assert_ok(faas_function_set_provisioned_concurrency(rt, "f", "1", 2, &d), d);
	t_settle(rt);
	latch_init(&l);
	ev.latch = &l;
	atomic_store(&ev.block, true);
	bg_start(&bg, rt, "f:1");
	latch_wait_entered(&l, 1);
	ck_assert_ok(faas_function_delete(rt, "f", NULL, &d), d);
	ck_assert_uint_eq(faas_runtime_concurrent_executions(rt), 1);
	latch_open(&l);
	bg_join(&bg);
	ck_assert_int_eq(bg.rc, 0);
	ck_assert_str_eq(t_jstr(bg.result.payload, "type"), "provisioned-concurrency");
	faas_result_clear(&bg.result);
	t_settle(rt);
	ck_assert_int_eq(count("shutdown 1 spindown"), 2);
	ck_assert_uint_eq(faas_runtime_concurrent_executions(rt), 0);
	/* the account got its tokens back */
	t_create(rt, "g");
	ck_assert_ok(faas_function_set_reserved_concurrency(rt, "g", 15, &d), d);
	faas_runtime_free(rt);
	latch_destroy(&l);
}
END_TEST

/* Provisioned while the account is full (its tokens are owed), then the
 * alias moves and the old version goes: what was owed follows the config,
 * nothing is owed to a destroyed version (ASan checks), no token is lost. */
START_TEST(provisioned_owed_tokens_follow_the_config)
{
	faas_runtime_options_t o = t_options();
	faas_alias_config_t ac = FAAS_ALIAS_CONFIG_INIT;
	faas_error_detail_t d;
	struct bg_invoke bg[8];
	struct latch l;
	faas_runtime_t *rt;
	int i;

	o.max_concurrency = 8;
	o.unreserved_min = 1;
	rt = setup(&o);
	latch_init(&l);
	t_create_fn(rt, "hog", t_latch_handler, &l);
	for (i = 0; i < 8; i++) /* the whole account */
		bg_start(&bg[i], rt, "hog");
	latch_wait_entered(&l, 8);
	ck_assert_ok(faas_function_set_provisioned_concurrency(rt, "f", "live", 2, &d), d);
	ac.function_version = 2;
	ck_assert_ok(faas_alias_update(rt, "f", "live", &ac, &d), d);
	ck_assert_ok(faas_function_delete(rt, "f", "1", &d), d);
	latch_open(&l);
	for (i = 0; i < 8; i++) {
		bg_join(&bg[i]);
		faas_result_clear(&bg[i].result);
	}
	t_settle(rt);
	ck_assert_uint_eq(faas_runtime_concurrent_executions(rt), 0);
	ck_assert_uint_eq(info_of(rt, "live").function_version, 2);
	ck_assert_int_eq(info_of(rt, "live").status, FAAS_PROVISIONED_READY);
	/* the account is whole: 8 - 2 provisioned - 1 unreserved minimum */
	ck_assert_ok(faas_function_set_reserved_concurrency(rt, "hog", 5, &d), d);
	ck_assert_fail(faas_function_set_reserved_concurrency(rt, "hog", 6, &d), d, FAAS_EINVAL,
	               "minimum value of [1]");
	faas_runtime_free(rt);
	latch_destroy(&l);
}
END_TEST

Suite *provisioned_suite(void)
{
	Suite *s = suite_create("provisioned");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, provisioned_ahead_of_traffic_and_never_reaped);
	tcase_add_test(tc, provisioned_busy_spills_over);
	tcase_add_test(tc, provisioned_counts_against_reserved);
	tcase_add_test(tc, provisioned_account_carve_out);
	tcase_add_test(tc, provisioned_bad_requests);
	tcase_add_test(tc, provisioned_init_failure);
	tcase_add_test(tc, provisioned_resize_and_delete);
	tcase_add_test(tc, provisioned_alias_move_make_before_break);
	tcase_add_test(tc, provisioned_alias_moved_back_and_forth);
	tcase_add_test(tc, provisioned_inline_mode);
	tcase_add_test(tc, provisioned_function_deleted_while_busy);
	tcase_add_test(tc, provisioned_owed_tokens_follow_the_config);
	suite_add_tcase(s, tc);
	return s;
}
