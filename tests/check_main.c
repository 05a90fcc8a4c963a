/*
 * libfaas tests — the runner: every suite in fork mode with a per-test
 * timeout (CK_DEFAULT_TIMEOUT and CK_TIMEOUT_MULTIPLIER apply).
 */
#include "tests.h"

#include <stdlib.h>
#include <time.h>

double t_scale(void)
{
	const char *s = getenv("FAAS_TEST_SCALE");
	double v = s ? atof(s) : 1.0;

	return v > 0 ? v : 1.0;
}

long t_scaled(long n)
{
	long v = (long)((double)n * t_scale());

	return v > 0 ? v : 1;
}

uint64_t t_process_cpu_ns(void)
{
	struct timespec ts;

	ck_assert_int_eq(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts), 0);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

faas_runtime_options_t t_options(void)
{
	faas_runtime_options_t o = FAAS_RUNTIME_OPTIONS_INIT;

	o.seed = 42;
	o.clock = FAAS_CLOCK_VIRTUAL;
	o.virtual_epoch_ms = 1700000000000;
	return o;
}

faas_runtime_t *t_runtime_with(const faas_runtime_options_t *o)
{
	faas_error_detail_t d;
	faas_runtime_t *rt = NULL;

	ck_assert_ok(faas_runtime_new(&rt, o, &d), d);
	return rt;
}

faas_runtime_t *t_runtime(void)
{
	faas_runtime_options_t o = t_options();

	return t_runtime_with(&o);
}

void t_create_fn(faas_runtime_t *rt, const char *name, faas_handler_fn h, void *ud)
{
	faas_function_config_t c = t_config(ud);
	faas_error_detail_t d;

	c.handler = h;
	ck_assert_ok(faas_function_create(rt, name, &c, &d), d);
}

void latch_init(struct latch *l)
{
	memset(l, 0, sizeof(*l));
	pthread_mutex_init(&l->m, NULL);
	pthread_cond_init(&l->c, NULL);
}

void latch_destroy(struct latch *l)
{
	pthread_mutex_destroy(&l->m);
	pthread_cond_destroy(&l->c);
}

void latch_wait_entered(struct latch *l, int n)
{
	pthread_mutex_lock(&l->m);
	while (l->entered < n)
		pthread_cond_wait(&l->c, &l->m);
	pthread_mutex_unlock(&l->m);
}

void latch_open(struct latch *l)
{
	pthread_mutex_lock(&l->m);
	l->open = true;
	pthread_cond_broadcast(&l->c);
	pthread_mutex_unlock(&l->m);
}

void latch_pass(struct latch *l, faas_context_t *ctx)
{
	struct timespec ts;

	pthread_mutex_lock(&l->m);
	l->entered++;
	pthread_cond_broadcast(&l->c);
	while (!l->open && !(l->until_cancelled && ctx && faas_context_cancelled(ctx))) {
		/* cancellation is a flag, not a signal: look again every millisecond */
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&l->c, &l->m, &ts);
	}
	l->left++;
	pthread_cond_broadcast(&l->c);
	pthread_mutex_unlock(&l->m);
}

int t_latch_handler(faas_context_t *ctx, json_t *event, json_t **response, void *user_data)
{
	(void)event;
	latch_pass(user_data, ctx);
	*response = json_pack("{s:b}", "latched", 1);
	return 0;
}

static void *bg_main(void *arg)
{
	struct bg_invoke *b = arg;

	b->rc = faas_invoke(b->rt, b->ident, NULL, NULL, &b->result);
	return NULL;
}

void bg_start(struct bg_invoke *b, faas_runtime_t *rt, const char *ident)
{
	faas_result_t init = FAAS_RESULT_INIT;

	b->rt = rt;
	b->ident = ident;
	b->result = init;
	b->rc = 1;
	ck_assert_int_eq(pthread_create(&b->tid, NULL, bg_main, b), 0);
}

void bg_join(struct bg_invoke *b)
{
	pthread_join(b->tid, NULL);
}

int t_handler(faas_context_t *ctx, json_t *event, json_t **response, void *user_data)
{
	(void)ctx;
	(void)user_data;
	*response = json_incref(event);
	return 0;
}

int t_handler2(faas_context_t *ctx, json_t *event, json_t **response, void *user_data)
{
	(void)ctx;
	(void)event;
	(void)user_data;
	*response = json_null();
	return 0;
}

faas_function_config_t t_config(void *user_data)
{
	faas_function_config_t c = FAAS_FUNCTION_CONFIG_INIT;

	c.handler = t_handler;
	c.user_data = user_data;
	return c;
}

void t_create(faas_runtime_t *rt, const char *name)
{
	faas_function_config_t c = t_config(NULL);
	faas_error_detail_t d;

	ck_assert_ok(faas_function_create(rt, name, &c, &d), d);
}

uint32_t t_publish(faas_runtime_t *rt, const char *name)
{
	faas_error_detail_t d;
	uint32_t v = 0;

	ck_assert_ok(faas_function_publish(rt, name, NULL, &v, &d), d);
	return v;
}

void t_touch(faas_runtime_t *rt, const char *name, const char *description)
{
	faas_function_config_t c = t_config(NULL);
	faas_error_detail_t d;

	c.description = description;
	ck_assert_ok(faas_function_update(rt, name, &c, &d), d);
}

const char *t_jstr(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s ? s : "";
}

int main(void)
{
	SRunner *sr = srunner_create(error_suite());
	int failed;

	srunner_add_suite(sr, alloc_suite());
	srunner_add_suite(sr, clock_suite());
	srunner_add_suite(sr, qualifier_suite());
	srunner_add_suite(sr, runtime_suite());
	srunner_add_suite(sr, registry_suite());
	srunner_add_suite(sr, alias_suite());
	srunner_add_suite(sr, describe_suite());
	srunner_add_suite(sr, allocfail_suite());
	srunner_add_suite(sr, stress_suite());
	srunner_add_suite(sr, invoke_suite());
	srunner_add_suite(sr, throttle_suite());
	srunner_add_suite(sr, lifecycle_suite());
	srunner_add_suite(sr, nested_suite());
	srunner_add_suite(sr, metrics_suite());
	srunner_add_suite(sr, extension_suite());
	srunner_add_suite(sr, provisioned_suite());
	srunner_add_suite(sr, async_suite());
	srunner_add_suite(sr, astore_suite());
	srunner_add_suite(sr, queue_suite());
	srunner_add_suite(sr, extext_suite());
	srunner_add_suite(sr, telemetry_suite());
	srunner_add_suite(sr, mapping_suite());
	srunner_add_suite(sr, stream_suite());
	srunner_add_suite(sr, plugin_suite());
	srunner_add_suite(sr, testing_suite());
	srunner_add_suite(sr, manifest_suite());
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
