/*
 * libfaas tests — allocation-failure sweep over every registry call: fail
 * the 1st, 2nd, ... allocation of the call until it succeeds untouched.
 * Each failing run must return FAAS_ENOMEM, leave the registry exactly as
 * it was, leak nothing (live block count), and leave the runtime usable.
 */
#include "tests.h"

#include <stdlib.h>

typedef int (*op_fn)(faas_runtime_t *rt, faas_error_detail_t *d);

static faas_env_var_t env[2] = { { "TABLE", "orders" }, { "MODE", "fast" } };

static faas_function_config_t full_config(void)
{
	faas_function_config_t c = t_config(NULL);

	c.description = "described";
	c.environment = env;
	c.environment_count = 2;
	return c;
}

/* f with versions 1 and 2 and alias live -> 1 (+2 at 20%). */
static void setup_full(faas_runtime_t *rt)
{
	faas_function_config_t c = full_config();
	faas_alias_config_t ac = FAAS_ALIAS_CONFIG_INIT;

	ck_assert_int_eq(faas_function_create(rt, "f", &c, NULL), 0);
	t_publish(rt, "f");
	t_touch(rt, "f", "two");
	t_publish(rt, "f");
	ac.function_version = 1;
	ac.additional_version = 2;
	ac.additional_weight = 0.2;
	ck_assert_int_eq(faas_alias_create(rt, "f", "live", &ac, NULL), 0);
}

static void setup_none(faas_runtime_t *rt)
{
	(void)rt;
}

static int op_create(faas_runtime_t *rt, faas_error_detail_t *d)
{
	faas_function_config_t c = full_config();

	return faas_function_create(rt, "g", &c, d);
}

static int op_update(faas_runtime_t *rt, faas_error_detail_t *d)
{
	faas_function_config_t c = full_config();

	c.description = "updated";
	return faas_function_update(rt, "f", &c, d);
}

static int op_publish(faas_runtime_t *rt, faas_error_detail_t *d)
{
	faas_publish_options_t o = FAAS_PUBLISH_OPTIONS_INIT;

	t_touch(rt, "f", "three"); /* outside the armed window: see sweep() */
	o.description = "published";
	return faas_function_publish(rt, "f", &o, NULL, d);
}

static int op_alias_create(faas_runtime_t *rt, faas_error_detail_t *d)
{
	faas_alias_config_t ac = FAAS_ALIAS_CONFIG_INIT;

	ac.function_version = 2;
	ac.additional_version = 1;
	ac.additional_weight = 0.5;
	ac.description = "blue";
	return faas_alias_create(rt, "f", "blue", &ac, d);
}

static int op_alias_update(faas_runtime_t *rt, faas_error_detail_t *d)
{
	faas_alias_config_t ac = FAAS_ALIAS_CONFIG_INIT;

	ac.function_version = 2;
	ac.description = "moved";
	return faas_alias_update(rt, "f", "live", &ac, d);
}

static int op_alias_delete(faas_runtime_t *rt, faas_error_detail_t *d)
{
	return faas_alias_delete(rt, "f", "live", d);
}

static int op_delete_version(faas_runtime_t *rt, faas_error_detail_t *d)
{
	faas_alias_delete(rt, "f", "live", NULL);
	return faas_function_delete(rt, "f", "2", d);
}

static int op_delete_function(faas_runtime_t *rt, faas_error_detail_t *d)
{
	return faas_function_delete(rt, "f", NULL, d);
}

static int op_describe(faas_runtime_t *rt, faas_error_detail_t *d)
{
	json_t *j = (json_t *)&j;
	int rc = faas_function_describe(rt, "f:live", &j, d);

	ck_assert(rc == 0 ? j != NULL : j == NULL);
	json_decref(j);
	return rc;
}

static int op_alias_describe(faas_runtime_t *rt, faas_error_detail_t *d)
{
	json_t *j = (json_t *)&j;
	int rc = faas_alias_describe(rt, "f", "live", &j, d);

	ck_assert(rc == 0 ? j != NULL : j == NULL);
	json_decref(j);
	return rc;
}

static int op_list(faas_runtime_t *rt, faas_error_detail_t *d)
{
	json_t *j = (json_t *)&j;
	int rc = faas_function_list(rt, &j, d);

	ck_assert(rc == 0 ? j != NULL : j == NULL);
	json_decref(j);
	return rc;
}

static int op_resolve(faas_runtime_t *rt, faas_error_detail_t *d)
{
	return faas_function_resolve(rt, "f:live", NULL, "k", NULL, d);
}

/* Invocations: an allocation that fails inside the worker is the
 * invocation's failure (Runtime.OutOfMemory), not the API call's. */
static int check_invoke_rc(int rc, const faas_result_t *r)
{
	if (rc == 0 && r->function_error &&
	    strcmp(json_string_value(json_object_get(r->payload, "errorType")), "Runtime.OutOfMemory") != 0)
		return FAAS_EINTERNAL; /* any other function error is wrong here */
	return rc;
}

static int op_invoke(faas_runtime_t *rt, faas_error_detail_t *d)
{
	faas_result_t r = FAAS_RESULT_INIT;
	json_t *ev = json_pack("{s:i}", "n", 1);
	int rc = check_invoke_rc(faas_invoke(rt, "f:live", ev, NULL, &r), &r);

	snprintf(d->message, sizeof(d->message), "%s", r.message);
	d->code = r.code;
	faas_result_clear(&r);
	json_decref(ev);
	return rc;
}

static int op_invoke_json_tail(faas_runtime_t *rt, faas_error_detail_t *d)
{
	faas_invoke_options_t o = FAAS_INVOKE_OPTIONS_INIT;
	faas_result_t r = FAAS_RESULT_INIT;
	int rc;

	o.log_type = FAAS_LOG_TAIL;
	o.response_text = 1;
	rc = check_invoke_rc(faas_invoke_json(rt, "f", "{\"a\":[1,2]}", 11, &o, &r), &r);
	snprintf(d->message, sizeof(d->message), "%s", r.message);
	d->code = r.code;
	faas_result_clear(&r);
	return rc;
}

static int op_reserve(faas_runtime_t *rt, faas_error_detail_t *d)
{
	return faas_function_set_reserved_concurrency(rt, "f", 2, d);
}

static int op_provision(faas_runtime_t *rt, faas_error_detail_t *d)
{
	return faas_function_set_provisioned_concurrency(rt, "f", "1", 2, d);
}

/* An alias with a provisioned config moves: the config follows it. */
static void setup_provisioned(faas_runtime_t *rt)
{
	faas_alias_config_t ac = FAAS_ALIAS_CONFIG_INIT;

	setup_full(rt);
	ac.function_version = 1;
	ck_assert_int_eq(faas_alias_create(rt, "f", "prov", &ac, NULL), 0);
	ck_assert_int_eq(faas_function_set_provisioned_concurrency(rt, "f", "prov", 1, NULL), 0);
}

static int op_provisioned_alias_move(faas_runtime_t *rt, faas_error_detail_t *d)
{
	faas_alias_config_t ac = FAAS_ALIAS_CONFIG_INIT;

	ac.function_version = 2;
	return faas_alias_update(rt, "f", "prov", &ac, d);
}

static int op_event_config(faas_runtime_t *rt, faas_error_detail_t *d)
{
	faas_event_invoke_config_t c = FAAS_EVENT_INVOKE_CONFIG_INIT;

	c.max_retry_attempts = 1;
	c.on_failure.kind = FAAS_DESTINATION_FUNCTION;
	c.on_failure.function = "f:live";
	return faas_function_set_event_invoke_config(rt, "f", "live", &c, d);
}

/* Accepting an event allocates; running it later is the pump's business
 * (its allocation failures retry the attempt: nothing is lost). */
static int op_invoke_event(faas_runtime_t *rt, faas_error_detail_t *d)
{
	faas_invoke_options_t o = FAAS_INVOKE_OPTIONS_INIT;
	faas_result_t r = FAAS_RESULT_INIT;
	int rc;

	o.type = FAAS_INVOKE_EVENT;
	rc = faas_invoke(rt, "f:live", NULL, &o, &r); /* a null event: no JSON to build here */
	snprintf(d->message, sizeof(d->message), "%s", r.message);
	d->code = r.code;
	faas_result_clear(&r);
	/* let the attempt finish: the sweep counts live blocks after the runtime
	 * is freed, and a worker still running it would hold the runtime's core */
	faas_test_quiesce(rt, 10000);
	return rc;
}

static void setup_queue(faas_runtime_t *rt)
{
	faas_queue_t *q;

	setup_full(rt);
	ck_assert_int_eq(faas_queue_create(rt, "q", NULL, &q, NULL), 0);
}

/* A source over the queue and a mapping with filters. */
static int op_mapping_create(faas_runtime_t *rt, faas_error_detail_t *d)
{
	faas_mapping_options_t o = FAAS_MAPPING_OPTIONS_INIT;
	faas_source_t *src;
	faas_mapping_t *m;
	int rc;

	o.filters[0] = "{\"body\":{\"a\":[1]}}";
	o.filters[1] = "{\"body\":[{\"prefix\":\"x\"}]}";
	if ((rc = faas_queue_source_new(faas_queue_find(rt, "q"), &src, d)) != 0)
		return rc;
	rc = faas_mapping_create(rt, src, "f:live", &o, &m, d);
	faas_source_free(src);
	return rc;
}

/* A manifest of queues (one redriving to another), a stream and a mapping
 * from the queue to the existing function: all or nothing. */
static json_t *manifest_json; /* parsed before the sweep arms its failures */

static void setup_manifest(faas_runtime_t *rt)
{
	setup_full(rt);
	if (!manifest_json)
		manifest_json = json_loads(
		        "{\"queues\":[{\"name\":\"mdlq\"},{\"name\":\"mq\",\"deadLetter\":"
		        "{\"queue\":\"mdlq\"}}],\"streams\":[{\"name\":\"ms\",\"shards\":2}],"
		        "\"mappings\":[{\"function\":\"f:live\",\"queue\":\"mq\",\"filters\":"
		        "[{\"body\":{\"a\":[1]}}]},{\"function\":\"f\",\"stream\":\"ms\"}]}",
		        0, NULL);
}

static int op_manifest(faas_runtime_t *rt, faas_error_detail_t *d)
{
	int rc = faas_manifest_apply(rt, manifest_json, NULL, NULL, d);

	if (rc == 0) /* the sweep calls it twice on one runtime */
		faas_queue_delete(faas_queue_find(rt, "mq"), NULL), faas_queue_delete(faas_queue_find(rt, "mdlq"), NULL),
		        faas_stream_delete(faas_stream_find(rt, "ms"), NULL);
	return rc;
}

static void setup_event_config(faas_runtime_t *rt)
{
	faas_error_detail_t d;

	setup_full(rt);
	ck_assert_ok(op_event_config(rt, &d), d);
}

static int op_event_config_get(faas_runtime_t *rt, faas_error_detail_t *d)
{
	json_t *j = (json_t *)&j;
	int rc = faas_function_get_event_invoke_config(rt, "f", "live", &j, d);

	ck_assert(rc == 0 ? j != NULL : j == NULL);
	json_decref(j);
	return rc;
}

/* Queues: a failed call leaves the queue as it was (no message half sent,
 * none made invisible by a receive that could not hand it over). */
static void queue_counts(faas_runtime_t *rt, uint64_t *visible, uint64_t *in_flight)
{
	faas_queue_counts(faas_queue_find(rt, "q"), visible, in_flight);
}

static int op_queue_send(faas_runtime_t *rt, faas_error_detail_t *d)
{
	json_t *attrs = json_pack("{s:{s:s,s:s}}", "k", "DataType", "String", "StringValue", "v");
	uint64_t v0, f0, v1, f1;
	char id[FAAS_REQUEST_ID_SIZE];
	int rc;

	queue_counts(rt, &v0, &f0);
	rc = faas_queue_send(faas_queue_find(rt, "q"), "hello", 5, attrs, id, d);
	queue_counts(rt, &v1, &f1);
	ck_assert_uint_eq(v1, rc == 0 ? v0 + 1 : v0);
	ck_assert_uint_eq(f1, f0);
	json_decref(attrs);
	return rc;
}

static void setup_queue_message(faas_runtime_t *rt)
{
	faas_error_detail_t d;
	int i;

	setup_queue(rt);
	for (i = 0; i < 3; i++) /* one per receive the sweep may make on this runtime */
		ck_assert_ok(op_queue_send(rt, &d), d);
}

static int op_queue_receive(faas_runtime_t *rt, faas_error_detail_t *d)
{
	faas_queue_message_t m[1];
	uint64_t v0, f0, v1, f1;
	size_t n = 0;
	int rc;

	queue_counts(rt, &v0, &f0);
	rc = faas_queue_receive(faas_queue_find(rt, "q"), 1, 30000, m, &n, d);
	queue_counts(rt, &v1, &f1);
	if (rc != 0) {
		ck_assert_uint_eq(n, 0);
		ck_assert_uint_eq(v1, v0);
		ck_assert_uint_eq(f1, f0);
		return rc;
	}
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(m[0].body, "hello");
	ck_assert_uint_eq(v1, v0 - 1);
	faas_queue_message_clear(&m[0]);
	return 0;
}

static void setup_stream(faas_runtime_t *rt)
{
	faas_stream_t *st;

	setup_full(rt);
	ck_assert_int_eq(faas_stream_create(rt, "s", NULL, &st, NULL), 0);
}

static int op_stream_put(faas_runtime_t *rt, faas_error_detail_t *d)
{
	faas_stream_t *st = faas_stream_find(rt, "s");
	char seq[FAAS_STREAM_SEQ_MAX];
	uint64_t before = faas_stream_shard_records(st, 0);
	uint32_t shard = 0;
	int rc = faas_stream_put(st, "pk", "data", 4, &shard, seq, d);

	ck_assert_uint_eq(faas_stream_shard_records(st, shard), rc == 0 ? before + 1 : before);
	return rc;
}

static int op_metrics_json(faas_runtime_t *rt, faas_error_detail_t *d)
{
	json_t *j = (json_t *)&j;
	int rc;

	t_settle(rt);
	rc = faas_metrics_json(rt, &j, d);
	ck_assert(rc == 0 ? j != NULL : j == NULL);
	json_decref(j);
	return rc;
}

static int op_metrics_prometheus(faas_runtime_t *rt, faas_error_detail_t *d)
{
	char *text = (char *)&text;
	int rc = faas_metrics_prometheus(rt, &text, d);

	ck_assert(rc == 0 ? text != NULL : text == NULL);
	free(text);
	return rc;
}

/* Metrics exist once something ran. */
static void setup_invoked(faas_runtime_t *rt)
{
	faas_result_t r = FAAS_RESULT_INIT;

	setup_full(rt);
	ck_assert_int_eq(faas_invoke(rt, "f:live", NULL, NULL, &r), 0);
	faas_result_clear(&r);
	t_settle(rt);
}

static void ext_noop(const faas_ext_event_t *ev, void *ud)
{
	(void)ev;
	(void)ud;
}

/* rt->exts stays an (empty) set once an extension has come and gone: start
 * from there, so that the op's register + unregister leave the count as it was. */
static void setup_ext(faas_runtime_t *rt)
{
	faas_extension_t x = FAAS_EXTENSION_INIT;
	uint32_t id;

	setup_full(rt);
	x.name = "before";
	x.events = FAAS_EXT_INVOKE;
	x.on_invoke_end = ext_noop;
	ck_assert_int_eq(faas_extension_register(rt, &x, &id, NULL), 0);
	ck_assert_int_eq(faas_extension_unregister(rt, id, NULL), 0);
}

/* An in-process extension, then an invocation that calls it. */
static int op_extension_register(faas_runtime_t *rt, faas_error_detail_t *d)
{
	faas_extension_t x = FAAS_EXTENSION_INIT;
	faas_result_t r = FAAS_RESULT_INIT;
	uint32_t id = 0;
	int rc;

	x.name = "sweep";
	x.events = FAAS_EXT_INIT | FAAS_EXT_INVOKE | FAAS_EXT_SHUTDOWN;
	x.on_init_done = ext_noop;
	x.on_invoke_end = ext_noop;
	x.on_shutdown = ext_noop;
	if ((rc = faas_extension_register(rt, &x, &id, d)) != 0)
		return rc;
	rc = check_invoke_rc(faas_invoke(rt, "f", NULL, NULL, &r), &r);
	if (rc != 0) {
		snprintf(d->message, sizeof(d->message), "%s", r.message);
		d->code = r.code;
	}
	faas_result_clear(&r);
	t_settle(rt);
	faas_extension_unregister(rt, id, NULL); /* so that the sweep may register it again */
	return rc;
}

struct sweep_case {
	const char *name;
	void (*setup)(faas_runtime_t *rt);
	op_fn op;
	bool touches_first; /* op_publish: its update runs unarmed */
	bool allocates;     /* the sweep must see at least one FAAS_ENOMEM */
	bool inline_mode;
};

static const struct sweep_case cases[] = {
	{ "create", setup_full, op_create, false, true, false },
	{ "create-empty", setup_none, op_create, false, true, false },
	{ "update", setup_full, op_update, false, true, false },
	{ "publish", setup_full, op_publish, true, true, false },
	{ "alias-create", setup_full, op_alias_create, false, true, false },
	{ "alias-update", setup_full, op_alias_update, false, true, false },
	{ "alias-delete", setup_full, op_alias_delete, false, false, false },
	{ "delete-version", setup_full, op_delete_version, false, false, false },
	{ "delete-function", setup_full, op_delete_function, false, false, false },
	{ "describe", setup_full, op_describe, false, true, false },
	{ "alias-describe", setup_full, op_alias_describe, false, false, false },
	{ "list", setup_full, op_list, false, true, false },
	{ "resolve", setup_full, op_resolve, false, false, false },
	{ "reserve", setup_full, op_reserve, false, true, false },
	{ "provision", setup_full, op_provision, false, true, false },
	{ "event-config", setup_full, op_event_config, false, true, false },
	{ "invoke-event", setup_full, op_invoke_event, false, true, false },
	{ "mapping-create", setup_queue, op_mapping_create, false, true, false },
	{ "manifest", setup_manifest, op_manifest, false, true, false },
	{ "provision-inline", setup_full, op_provision, false, true, true },
	{ "provisioned-alias-move", setup_provisioned, op_provisioned_alias_move, false, true, false },
	{ "invoke", setup_full, op_invoke, false, true, false },
	{ "invoke-inline", setup_full, op_invoke, false, true, true },
	{ "invoke-json-tail", setup_full, op_invoke_json_tail, false, true, false },
	{ "invoke-json-tail-inline", setup_full, op_invoke_json_tail, false, true, true },
	{ "event-config-get", setup_event_config, op_event_config_get, false, false, false }, /* jansson only */
	{ "queue-send", setup_queue, op_queue_send, false, true, false },
	{ "queue-receive", setup_queue_message, op_queue_receive, false, true, false },
	{ "stream-put", setup_stream, op_stream_put, false, true, false },
	{ "metrics-json", setup_invoked, op_metrics_json, false, true, false },
	{ "metrics-prometheus", setup_invoked, op_metrics_prometheus, false, true, false },
	{ "extension-register", setup_ext, op_extension_register, false, true, false },
};

/* Everything observable about the registry, as text. */
static char *state_text(faas_runtime_t *rt)
{
	json_t *all = json_object(), *list = NULL, *f = NULL;
	char *s;

	faas_function_list(rt, &list, NULL);
	faas_function_describe(rt, "f", &f, NULL);
	json_object_set_new(all, "list", list ? list : json_null());
	json_object_set_new(all, "f", f ? f : json_null());
	s = json_dumps(all, JSON_SORT_KEYS | JSON_COMPACT);
	json_decref(all);
	return s;
}

/* The publish case updates $LATEST first; arm only around the publish itself. */
static int run_armed(const struct sweep_case *c, faas_runtime_t *rt, long n, faas_error_detail_t *d)
{
	int rc;

	if (c->touches_first) {
		faas_publish_options_t o = FAAS_PUBLISH_OPTIONS_INIT;
		o.description = "published";
		faas__alloc_fail_at(n, false);
		rc = faas_function_publish(rt, "f", &o, NULL, d);
	} else {
		faas__alloc_fail_at(n, false);
		rc = c->op(rt, d);
	}
	faas__alloc_fail_at(0, false);
	return rc;
}

START_TEST(allocfail_sweep)
{
	const struct sweep_case *c = &cases[_i];
	long n, base = faas__alloc_live();
	int failures_seen = 0;

	for (n = 1; n < 200; n++) {
		faas_runtime_options_t ro = t_options();
		faas_runtime_t *rt;

		ro.inline_mode = c->inline_mode;
		rt = t_runtime_with(&ro);
		faas_error_detail_t d;
		long live, fails;
		char *before, *after;
		int rc;

		c->setup(rt);
		if (c->touches_first)
			t_touch(rt, "f", "three");
		before = state_text(rt);
		t_settle(rt);
		live = faas__alloc_live();
		fails = faas__alloc_failures();
		rc = run_armed(c, rt, n, &d);
		if (faas__alloc_failures() == fails) {
			/* the call made fewer than n allocations: it ran untouched */
			ck_assert_msg(rc == 0, "%s: %s", c->name, d.message);
			free(before);
			faas_runtime_free(rt);
			break;
		}
		if (rc != 0) {
			ck_assert_msg(rc == FAAS_ENOMEM, "%s n=%ld: %s", c->name, n, faas_err_name(rc));
			ck_assert_str_eq(d.message, "out of memory");
			t_settle(rt);
			ck_assert_msg(faas__alloc_live() == live, "%s n=%ld leaked %ld blocks", c->name, n,
			              faas__alloc_live() - live);
			after = state_text(rt);
			ck_assert_msg(strcmp(before, after) == 0, "%s n=%ld changed the registry", c->name, n);
			free(after);
			/* still usable: the same call now succeeds */
			ck_assert_msg(c->op(rt, &d) == 0, "%s n=%ld then: %s", c->name, n, d.message);
			failures_seen++;
		}
		free(before);
		faas_runtime_free(rt);
		ck_assert_msg(faas__alloc_live() == base, "%s n=%ld: %ld blocks left after free", c->name,
		              n, faas__alloc_live() - base);
	}
	ck_assert_msg(n < 200, "%s never completed", c->name);
	ck_assert_msg(!c->allocates || failures_seen > 0, "%s: no allocation failure was seen", c->name);
	ck_assert_msg(c->allocates || failures_seen == 0, "%s: allocates after all", c->name);
}
END_TEST

/*
 * The same calls with jansson's allocations failing (the test binary routes
 * them through a failpoint; the library never touches jansson's allocator).
 * Each call succeeds or answers FAAS_ENOMEM, and the runtime stays usable;
 * leaks are LeakSanitizer's to find (make asan).
 */
static struct faas_failpoint json_fail;
static _Atomic long json_failures;

static void *failing_json_malloc(size_t n)
{
	if (faas__failpoint_hit(&json_fail)) {
		atomic_fetch_add(&json_failures, 1);
		return NULL;
	}
	return malloc(n);
}

START_TEST(allocfail_jansson_sweep)
{
	const struct sweep_case *c = &cases[_i];
	json_malloc_t old_m;
	json_free_t old_f;
	int failures_seen = 0;
	long n;

	json_get_alloc_funcs(&old_m, &old_f);
	json_set_alloc_funcs(failing_json_malloc, free); /* test binaries only */
	for (n = 1; n < 400; n++) {
		faas_runtime_options_t ro = t_options();
		faas_runtime_t *rt;
		faas_error_detail_t d;
		long fails;
		int rc;

		ro.inline_mode = c->inline_mode;
		rt = t_runtime_with(&ro);
		c->setup(rt);
		if (c->touches_first)
			t_touch(rt, "f", "three");
		fails = atomic_load(&json_failures);
		faas__failpoint_arm(&json_fail, n, false);
		if (c->touches_first) {
			faas_publish_options_t o = FAAS_PUBLISH_OPTIONS_INIT;
			o.description = "published";
			rc = faas_function_publish(rt, "f", &o, NULL, &d);
		} else {
			rc = c->op(rt, &d);
		}
		faas__failpoint_arm(&json_fail, 0, false);
		t_settle(rt);
		if (atomic_load(&json_failures) == fails) {
			ck_assert_msg(rc == 0, "%s: %s", c->name, d.message);
			faas_runtime_free(rt);
			break;
		}
		/* jansson reports some failed allocations while parsing as syntax
		 * errors: for JSON text, FAAS_EBADJSON is what the caller sees then
		 * (for a mapping's filter patterns, FAAS_EINVAL) */
		ck_assert_msg(rc == 0 || rc == FAAS_ENOMEM ||
		                      (rc == FAAS_EBADJSON && c->op == op_invoke_json_tail) ||
		                      (rc == FAAS_EINVAL && (c->op == op_mapping_create || c->op == op_manifest)),
		              "%s n=%ld: %s (%s)", c->name, n, faas_err_name(rc), d.message);
		failures_seen += rc == FAAS_ENOMEM;
		/* still usable: the same call now succeeds */
		ck_assert_msg(c->op(rt, &d) == 0, "%s n=%ld then: %s", c->name, n, d.message);
		faas_runtime_free(rt);
	}
	json_set_alloc_funcs(old_m, old_f);
	ck_assert_msg(n < 400, "%s never completed", c->name);
	(void)failures_seen;
}
END_TEST

START_TEST(allocfail_runtime_new)
{
	long n, base = faas__alloc_live();

	for (n = 1; n < 100; n++) {
		faas_runtime_t *rt = (faas_runtime_t *)&n;
		faas_error_detail_t d;
		long fails = faas__alloc_failures();
		int rc;

		faas__alloc_fail_at(n, false);
		rc = faas_runtime_new(&rt, NULL, &d);
		faas__alloc_fail_at(0, false);
		if (faas__alloc_failures() == fails) {
			ck_assert_int_eq(rc, 0);
			faas_runtime_free(rt);
			break;
		}
		ck_assert_int_eq(rc, FAAS_ENOMEM);
		ck_assert_ptr_null(rt);
		ck_assert_int_eq(faas__alloc_live(), base);
	}
	ck_assert_int_gt(n, 1); /* the sweep really failed something */
	ck_assert_int_eq(faas__alloc_live(), base);
}
END_TEST

Suite *allocfail_suite(void)
{
	Suite *s = suite_create("allocfail");
	TCase *tc = tcase_create("sweep");

	tcase_add_loop_test(tc, allocfail_sweep, 0, (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_loop_test(tc, allocfail_jansson_sweep, 0, (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, allocfail_runtime_new);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}
