/*
 * libfaas tests — internal extensions: every phase in order with exact
 * fields, veto, binding to environments, registration rules, release.
 */
#include "tests.h"

struct rec {
	pthread_mutex_t m;
	char log[4096];
	int released;
	int veto; /* veto the next invocations */
	faas_runtime_t *rt;
};

static void note(struct rec *r, const char *fmt, ...) FAAS_PRINTF(2, 3);
static void note(struct rec *r, const char *fmt, ...)
{
	size_t len;
	va_list ap;

	pthread_mutex_lock(&r->m);
	len = strlen(r->log);
	va_start(ap, fmt);
	vsnprintf(r->log + len, sizeof(r->log) - len, fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&r->m);
}

static const char *status_name(faas_ext_status_t s)
{
	return s == FAAS_EXT_SUCCESS ? "success" : s == FAAS_EXT_TIMEOUT ? "timeout" : "error";
}

static void init_start(const faas_ext_event_t *ev, void *ud)
{
	note(ud, "init-start %s %s %s %s;", ev->function_name, ev->function_version,
	     ev->initialization_type, ev->phase);
}

static void init_done(const faas_ext_event_t *ev, void *ud)
{
	note(ud, "init-done %s %s;", status_name(ev->status), ev->error_type ? ev->error_type : "-");
}

static int invoke_start(const faas_ext_event_t *ev, char *reason, char *message, void *ud)
{
	struct rec *r = ud;

	note(r, "invoke-start %s %s %s;", ev->function_name, ev->function_version,
	     ev->invoked_function_arn);
	if (r->veto) {
		snprintf(reason, 64, "Policy");
		snprintf(message, 256, "request %s denied", ev->request_id);
		return 1;
	}
	return 0;
}

static void invoke_end(const faas_ext_event_t *ev, void *ud)
{
	note(ud, "invoke-end %s %s;", status_name(ev->status), ev->error_type ? ev->error_type : "-");
}

static void on_shutdown(const faas_ext_event_t *ev, void *ud)
{
	note(ud, "shutdown %s %d;", ev->function_version, (int)ev->shutdown_reason);
}

static void release(void *ud)
{
	((struct rec *)ud)->released++;
}

static faas_extension_t ext_of(struct rec *r, const char *name)
{
	faas_extension_t x = FAAS_EXTENSION_INIT;

	x.name = name;
	x.events = FAAS_EXT_INIT | FAAS_EXT_INVOKE | FAAS_EXT_SHUTDOWN;
	x.on_init_start = init_start;
	x.on_init_done = init_done;
	x.on_invoke_start = invoke_start;
	x.on_invoke_end = invoke_end;
	x.on_shutdown = on_shutdown;
	x.user_data = r;
	x.release = release;
	return x;
}

static void rec_init(struct rec *r)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->m, NULL);
}

START_TEST(extension_phases_in_order)
{
	faas_runtime_t *rt = t_runtime();
	faas_result_t res = FAAS_RESULT_INIT;
	faas_error_detail_t d;
	faas_extension_t x;
	struct rec r;
	uint32_t id = 0;

	rec_init(&r);
	x = ext_of(&r, "recorder");
	ck_assert_ok(faas_extension_register(rt, &x, &id, &d), d);
	ck_assert_uint_gt(id, 0);
	t_create(rt, "f");
	ck_assert_int_eq(faas_invoke(rt, "f", NULL, NULL, &res), 0); /* cold */
	faas_result_clear(&res);
	ck_assert_int_eq(faas_invoke(rt, "f", NULL, NULL, &res), 0); /* warm */
	faas_result_clear(&res);
	t_touch(rt, "f", "v2"); /* the old $LATEST's environment spins down */
	t_settle(rt);
	ck_assert_str_eq(r.log,
	                 "init-start f $LATEST on-demand init;init-done success -;"
	                 "invoke-start f $LATEST arn:aws:lambda:us-east-1:123456789012:function:f;"
	                 "invoke-end success -;"
	                 "invoke-start f $LATEST arn:aws:lambda:us-east-1:123456789012:function:f;"
	                 "invoke-end success -;"
	                 "shutdown $LATEST 0;");
	ck_assert_int_eq(r.released, 0);
	ck_assert_ok(faas_extension_unregister(rt, id, &d), d);
	ck_assert_int_eq(r.released, 1); /* no environment holds it */
	ck_assert_fail(faas_extension_unregister(rt, id, &d), d, FAAS_ENOTFOUND, "no extension has id");
	faas_runtime_free(rt);
	ck_assert_int_eq(r.released, 1);
}
END_TEST

START_TEST(extension_veto_and_errors)
{
	faas_runtime_t *rt = t_runtime();
	faas_result_t res = FAAS_RESULT_INIT;
	faas_error_detail_t d;
	faas_extension_t x;
	struct rec r;
	char expect[128];

	rec_init(&r);
	x = ext_of(&r, "gate");
	ck_assert_ok(faas_extension_register(rt, &x, NULL, &d), d);
	t_create(rt, "f");
	r.veto = 1;
	ck_assert_int_eq(faas_invoke(rt, "f:$LATEST", NULL, NULL, &res), 0);
	ck_assert_int_eq(res.function_error, FAAS_FUNCTION_ERROR_UNHANDLED);
	ck_assert_str_eq(t_jstr(res.payload, "errorType"), "Extension.Policy");
	snprintf(expect, sizeof(expect), "request %s denied", res.request_id);
	ck_assert_str_eq(t_jstr(res.payload, "errorMessage"), expect);
	faas_result_clear(&res);
	ck_assert_ptr_nonnull(strstr(r.log, "invoke-end error Extension.Policy;"));
	ck_assert_ptr_nonnull(strstr(r.log, ":function:f:$LATEST;"));
	r.veto = 0;
	ck_assert_int_eq(faas_invoke(rt, "f", NULL, NULL, &res), 0); /* the environment is fine */
	ck_assert_int_eq(res.function_error, FAAS_FUNCTION_ERROR_NONE);
	faas_result_clear(&res);
	faas_runtime_free(rt);
	ck_assert_int_eq(r.released, 1);
}
END_TEST

/* An environment keeps the set it started with. */
START_TEST(extension_binds_at_init)
{
	faas_runtime_t *rt = t_runtime();
	faas_result_t res = FAAS_RESULT_INIT;
	faas_error_detail_t d;
	faas_extension_t x;
	struct rec r;
	uint32_t id;

	rec_init(&r);
	t_create(rt, "f");
	ck_assert_int_eq(faas_invoke(rt, "f", NULL, NULL, &res), 0); /* an environment, no extension */
	faas_result_clear(&res);
	x = ext_of(&r, "late");
	ck_assert_ok(faas_extension_register(rt, &x, &id, &d), d);
	ck_assert_int_eq(faas_invoke(rt, "f", NULL, NULL, &res), 0); /* same environment: not seen */
	faas_result_clear(&res);
	ck_assert_str_eq(r.log, "");
	t_touch(rt, "f", "new");
	ck_assert_int_eq(faas_invoke(rt, "f", NULL, NULL, &res), 0); /* a new one: seen */
	faas_result_clear(&res);
	ck_assert_ptr_nonnull(strstr(r.log, "init-start f $LATEST"));
	ck_assert_ok(faas_extension_unregister(rt, id, &d), d);
	t_settle(rt);
	ck_assert_int_eq(r.released, 0); /* the environment still has it */
	t_touch(rt, "f", "newer");
	t_settle(rt);
	ck_assert_int_eq(r.released, 1);
	faas_runtime_free(rt);
}
END_TEST

START_TEST(extension_registration_rules)
{
	faas_runtime_options_t o = t_options();
	faas_error_detail_t d;
	faas_extension_t x;
	faas_runtime_t *rt;
	struct rec r;
	char name[80];
	int i;

	rec_init(&r);
	o.max_extensions = 3;
	rt = t_runtime_with(&o);
	x = ext_of(&r, "a");
	ck_assert_ok(faas_extension_register(rt, &x, NULL, &d), d);
	ck_assert_fail(faas_extension_register(rt, &x, NULL, &d), d, FAAS_EEXIST,
	               "extension a is already registered");
	for (i = 0; i < 2; i++) {
		snprintf(name, sizeof(name), "more-%d", i);
		x.name = name;
		ck_assert_ok(faas_extension_register(rt, &x, NULL, &d), d);
	}
	x.name = "one-too-many";
	ck_assert_fail(faas_extension_register(rt, &x, NULL, &d), d, FAAS_EINVAL,
	               "a runtime takes at most 3 extensions");
	x.name = "with space";
	ck_assert_fail(faas_extension_register(rt, &x, NULL, &d), d, FAAS_EINVAL, "printable");
	x.name = "";
	ck_assert_fail(faas_extension_register(rt, &x, NULL, &d), d, FAAS_EINVAL, "1 to 64");
	x.name = "ok";
	x.events = 0x40;
	ck_assert_fail(faas_extension_register(rt, &x, NULL, &d), d, FAAS_EINVAL, "unknown extension events");
	x.events = FAAS_EXT_INIT;
	x.version = 9;
	ck_assert_fail(faas_extension_register(rt, &x, NULL, &d), d, FAAS_EINVAL, "version 9");
	ck_assert_fail(faas_extension_register(rt, NULL, NULL, &d), d, FAAS_EINVAL, "NULL");
	ck_assert_fail(faas_extension_register(NULL, &x, NULL, &d), d, FAAS_EINVAL, "runtime");
	ck_assert_int_eq(r.released, 0); /* refused registrations never release */
	faas_runtime_free(rt);
	ck_assert_int_eq(r.released, 3);
}
END_TEST

/* A handler (or a hook) may register and unregister extensions: no library
 * lock is held while user code runs, so nothing deadlocks. */
static struct rec reentrant_rec;
static _Atomic uint32_t reentrant_id;

static int registering(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	faas_extension_t x = ext_of(&reentrant_rec, "from-handler");
	uint32_t id = 0;
	int rc;

	(void)event;
	(void)ud;
	if (atomic_load(&reentrant_id) == 0) {
		rc = faas_extension_register(faas_context_runtime(ctx), &x, &id, NULL);
		atomic_store(&reentrant_id, id);
	} else {
		rc = faas_extension_unregister(faas_context_runtime(ctx), atomic_load(&reentrant_id), NULL);
	}
	*response = json_integer(rc);
	return 0;
}

static void invoke_from_hook(const faas_ext_event_t *ev, void *ud)
{
	faas_result_t r = FAAS_RESULT_INIT;
	struct rec *rec = ud;

	(void)ev;
	/* a nested invocation from inside an invoke hook, on the worker */
	note(rec, "nested=%d;", faas_invoke(rec->rt, "plain", NULL, NULL, &r));
	faas_result_clear(&r);
}

START_TEST(extension_reentrant_calls)
{
	faas_runtime_t *rt = t_runtime();
	faas_result_t r = FAAS_RESULT_INIT;
	faas_error_detail_t d;
	faas_extension_t x;
	struct rec hook;

	rec_init(&reentrant_rec);
	atomic_store(&reentrant_id, 0);
	t_create_fn(rt, "reg", registering, NULL);
	ck_assert_int_eq(faas_invoke(rt, "reg", NULL, NULL, &r), 0);
	ck_assert_int_eq(json_integer_value(r.payload), 0);
	faas_result_clear(&r);
	ck_assert_uint_gt(atomic_load(&reentrant_id), 0);
	ck_assert_int_eq(faas_invoke(rt, "reg", NULL, NULL, &r), 0); /* unregisters it */
	ck_assert_int_eq(json_integer_value(r.payload), 0);
	faas_result_clear(&r);
	ck_assert_int_eq(reentrant_rec.released, 1); /* no environment ever held it */

	rec_init(&hook);
	hook.rt = rt;
	x = ext_of(&hook, "nester");
	x.on_invoke_end = invoke_from_hook;
	ck_assert_ok(faas_extension_register(rt, &x, NULL, &d), d);
	t_create(rt, "plain");
	t_create(rt, "outer");
	ck_assert_int_eq(faas_invoke(rt, "outer", NULL, NULL, &r), 0);
	faas_result_clear(&r);
	ck_assert_ptr_nonnull(strstr(hook.log, "nested=0;"));
	faas_runtime_free(rt);
}
END_TEST

Suite *extension_suite(void)
{
	Suite *s = suite_create("extension");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, extension_phases_in_order);
	tcase_add_test(tc, extension_veto_and_errors);
	tcase_add_test(tc, extension_binds_at_init);
	tcase_add_test(tc, extension_registration_rules);
	tcase_add_test(tc, extension_reentrant_calls);
	suite_add_tcase(s, tc);
	return s;
}
