/*
 * libfaas demo — dispatch: invoke functions through an alias on the worker
 * pool, watch the weighted split and the execution environments, see a
 * function error, a timeout and Lambda's throttles, then shut down.
 *
 * Every answer is checked; anything unexpected exits 1.
 */
#include <faas.h>
#include <jansson.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static atomic_int cold_starts;
static char blue[] = "blue", green[] = "green";

/* One execution environment: counts the requests it served. */
struct env {
	int served;
};

static int orders_init(faas_context_t *ctx, void **state, void *user_data)
{
	(void)ctx;
	(void)user_data;
	*state = calloc(1, sizeof(struct env));
	atomic_fetch_add(&cold_starts, 1);
	return *state ? 0 : -1;
}

static void orders_shutdown(void *state, faas_shutdown_reason_t why, void *user_data)
{
	(void)why;
	(void)user_data;
	free(state);
}

/* Version 1 and 2 differ only in the label they answer with. */
static int orders(faas_context_t *ctx, json_t *event, json_t **response, void *user_data)
{
	struct env *env = faas_context_instance_state(ctx);
	json_int_t qty = json_integer_value(json_object_get(event, "qty"));

	if (qty <= 0)
		return faas_context_fail(ctx, "InvalidOrder", "qty must be positive, got %lld",
		                         (long long)qty);
	env->served++;
	*response = json_pack("{s:s,s:I,s:s}", "handledBy", (const char *)user_data, "qty", qty,
	                      "version", faas_context_function_version(ctx));
	return 0;
}

/* Blocks until the demo opens the gate: used to fill the pool. */
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static int gate_open, gate_entered;

static int slow(faas_context_t *ctx, json_t *event, json_t **response, void *user_data)
{
	(void)event;
	(void)user_data;
	pthread_mutex_lock(&gate_lock);
	gate_entered++;
	pthread_cond_broadcast(&gate_cond);
	while (!gate_open && !faas_context_cancelled(ctx))
		pthread_cond_wait(&gate_cond, &gate_lock);
	pthread_mutex_unlock(&gate_lock);
	*response = json_string("finally");
	return 0;
}

static void die(const char *what, int rc, const char *message)
{
	fprintf(stderr, "dispatch demo: %s: %s %s\n", what, faas_err_name(rc), message ? message : "");
	exit(1);
}

static void must(const char *what, int rc, const faas_error_detail_t *d)
{
	if (rc != 0)
		die(what, rc, d ? d->message : NULL);
}

static void create(faas_runtime_t *rt, const char *name, faas_handler_fn h, void *ud,
                   uint32_t timeout_ms)
{
	faas_function_config_t c = FAAS_FUNCTION_CONFIG_INIT;
	faas_error_detail_t d;

	c.handler = h;
	c.init = h == orders ? orders_init : NULL;
	c.shutdown = h == orders ? orders_shutdown : NULL;
	c.user_data = ud;
	c.timeout_ms = timeout_ms;
	must(name, faas_function_create(rt, name, &c, &d), &d);
}

static void *fill(void *rt)
{
	faas_result_t r = FAAS_RESULT_INIT;

	if (faas_invoke(rt, "slow", NULL, NULL, &r) != 0)
		die("slow", r.code, r.message);
	faas_result_clear(&r);
	return NULL;
}

int main(void)
{
	faas_runtime_options_t opts = FAAS_RUNTIME_OPTIONS_INIT;
	faas_alias_config_t live = FAAS_ALIAS_CONFIG_INIT;
	faas_function_config_t c = FAAS_FUNCTION_CONFIG_INIT;
	faas_result_t r = FAAS_RESULT_INIT;
	faas_error_detail_t d;
	faas_runtime_t *rt;
	pthread_t fillers[3];
	int i, per_version[3] = { 0, 0, 0 };
	char *text;

	opts.seed = 7;
	opts.max_concurrency = 4;
	opts.unreserved_min = 1;
	opts.min_timeout_ms = 100; /* embedded use: allow a short timeout below */
	must("runtime", faas_runtime_new(&rt, &opts, &d), &d);

	printf("== one function, two versions, an alias splitting 80/20\n");
	create(rt, "orders", orders, blue, 3000);
	must("publish", faas_function_publish(rt, "orders", NULL, NULL, &d), &d);
	c.handler = orders;
	c.init = orders_init;
	c.shutdown = orders_shutdown;
	c.user_data = green;
	must("update", faas_function_update(rt, "orders", &c, &d), &d);
	must("publish", faas_function_publish(rt, "orders", NULL, NULL, &d), &d);
	live.function_version = 1;
	live.additional_version = 2;
	live.additional_weight = 0.2;
	must("alias", faas_alias_create(rt, "orders", "live", &live, &d), &d);

	for (i = 0; i < 1000; i++) {
		if (faas_invoke_json(rt, "orders:live", "{\"qty\":3}", 9, NULL, &r) != 0)
			die("invoke", r.code, r.message);
		per_version[atoi(r.executed_version)]++;
		if (i == 0) {
			text = faas_json_dumps(r.payload, JSON_COMPACT);
			printf("first response: %s (version %s, request %s)\n", text, r.executed_version,
			       r.request_id);
			free(text);
		}
		faas_result_clear(&r);
	}
	printf("1000 invokes of orders:live: version 1 ran %d, version 2 ran %d\n", per_version[1],
	       per_version[2]);
	printf("cold starts: %d (sequential calls reuse the warm environment of each version)\n",
	       atomic_load(&cold_starts));
	if (per_version[2] < 150 || per_version[2] > 250 || atomic_load(&cold_starts) != 2)
		die("routing", FAAS_EINTERNAL, "unexpected split or cold starts");

	printf("\n== Lambda's log lines: a cold start, then a warm one (FAAS_LOG_TAIL)\n");
	{
		faas_invoke_options_t o = FAAS_INVOKE_OPTIONS_INIT;
		create(rt, "hello", orders, blue, 3000);
		o.log_type = FAAS_LOG_TAIL;
		for (i = 0; i < 2; i++) {
			if (faas_invoke_json(rt, "hello", "{\"qty\":1}", 9, &o, &r) != 0)
				die("hello", r.code, r.message);
			fputs(r.log_tail, stdout);
			if ((strstr(r.log_tail, "Init Duration") != NULL) != (i == 0))
				die("hello", FAAS_EINTERNAL, "Init Duration belongs to the cold start only");
			faas_result_clear(&r);
		}
	}

	printf("\n== a function error is an invocation, not an API error\n");
	if (faas_invoke_json(rt, "orders:live", "{\"qty\":0}", 9, NULL, &r) != 0)
		die("invoke", r.code, r.message);
	text = faas_json_dumps(r.payload, JSON_COMPACT);
	printf("return 0, status %d, function error %s: %s\n", r.status_code,
	       r.function_error == FAAS_FUNCTION_ERROR_UNHANDLED ? "Unhandled" : "?", text);
	free(text);
	faas_result_clear(&r);

	printf("\n== the account has 4 tokens: fill 3 with a slow function\n");
	create(rt, "slow", slow, NULL, 100);
	must("reserve", faas_function_set_reserved_concurrency(rt, "orders", 1, &d), &d);
	for (i = 0; i < 3; i++)
		pthread_create(&fillers[i], NULL, fill, rt);
	pthread_mutex_lock(&gate_lock);
	while (gate_entered < 3)
		pthread_cond_wait(&gate_cond, &gate_lock);
	pthread_mutex_unlock(&gate_lock);
	printf("concurrent executions: %u\n", faas_runtime_concurrent_executions(rt));
	if (faas_invoke(rt, "slow", NULL, NULL, &r) != FAAS_ETHROTTLED)
		die("throttle", r.code, "expected a throttle");
	printf("slow again -> %s (%d) %s: %s\n", r.error_type, r.status_code, r.throttle_reason,
	       r.message);
	faas_result_clear(&r);
	if (faas_invoke_json(rt, "orders:live", "{\"qty\":1}", 9, NULL, &r) != 0)
		die("reserved", r.code, r.message);
	printf("orders still runs: its reserved token is its own (version %s)\n", r.executed_version);
	faas_result_clear(&r);
	for (i = 0; i < 3; i++)
		pthread_join(fillers[i], NULL); /* each caller got its timeout after 100 ms */
	printf("the slow callers were answered at their 0.10 s timeout; the handlers still hold "
	       "%u tokens until they return\n", faas_runtime_concurrent_executions(rt));
	pthread_mutex_lock(&gate_lock);
	gate_open = 1;
	pthread_cond_broadcast(&gate_cond);
	pthread_mutex_unlock(&gate_lock);

	printf("\n== metrics (faas_metrics_json), per executed version\n");
	{
		json_t *m = NULL, *fns;
		size_t f, v;
		must("metrics", faas_metrics_json(rt, &m, &d), &d);
		fns = json_object_get(m, "Functions");
		for (f = 0; f < json_array_size(fns); f++) {
			json_t *fn = json_array_get(fns, f), *vs = json_object_get(fn, "Versions");
			for (v = 0; v < json_array_size(vs); v++) {
				json_t *x = json_array_get(vs, v);
				printf("%-7s %-8s invocations %4lld errors %lld throttles %lld cold starts %lld\n",
				       json_string_value(json_object_get(fn, "FunctionName")),
				       json_string_value(json_object_get(x, "ExecutedVersion")),
				       (long long)json_integer_value(json_object_get(x, "Invocations")),
				       (long long)json_integer_value(json_object_get(x, "Errors")),
				       (long long)json_integer_value(json_object_get(x, "Throttles")),
				       (long long)json_integer_value(json_object_get(x, "ColdStarts")));
			}
		}
		json_decref(m);
	}

	printf("\n== shutdown\n");
	printf("faas_runtime_shutdown: %s\n", faas_err_name(faas_runtime_shutdown(rt, 2000)));
	if (faas_invoke(rt, "orders", NULL, NULL, &r) != FAAS_ESHUTDOWN)
		die("after shutdown", r.code, "expected FAAS_ESHUTDOWN");
	printf("invoke after shutdown -> %s: %s\n", faas_err_name(r.code), r.message);
	faas_result_clear(&r);
	faas_runtime_free(rt);
	return 0;
}
