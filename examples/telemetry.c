/*
 * libfaas demo — telemetry: an extension and a Telemetry subscriber that
 * prints every record as Lambda's JSON and keeps a summary (invocations,
 * cold starts, errors, throttles, log lines, time billed), while a function
 * is invoked cold, warm, failing and throttled.
 *
 * Every answer is checked; anything unexpected exits 1.
 */
#include <faas.h>
#include <jansson.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The subscriber's state: batches arrive on the faas-telemetry thread. */
struct summary {
	pthread_mutex_t lock;
	int batches, records, reports, cold, errors, throttles, lines, extensions, dropped;
	unsigned long long billed_ms;
	int released;
};

static void on_batch(const faas_telemetry_record_t *r, size_t n, void *user_data)
{
	struct summary *s = user_data;
	char text[1024];
	size_t i;

	pthread_mutex_lock(&s->lock);
	s->batches++;
	for (i = 0; i < n; i++) {
		faas_telemetry_record_format(&r[i], text, sizeof(text)); /* cut at 1 KB: fine here */
		printf("  %s\n", text);
		s->records++;
		switch (r[i].type) {
		case FAAS_TEL_REPORT:
			s->reports++;
			s->cold += r[i].has_init_duration;
			s->errors += r[i].status != FAAS_EXT_SUCCESS;
			s->billed_ms += r[i].billed_duration_ms;
			break;
		case FAAS_TEL_THROTTLE:
			s->throttles++;
			break;
		case FAAS_TEL_FUNCTION:
			s->lines++;
			break;
		case FAAS_TEL_EXTENSION:
			s->extensions++;
			break;
		case FAAS_TEL_LOGS_DROPPED:
			s->dropped += (int)r[i].dropped_records;
			break;
		default:
			break;
		}
	}
	pthread_mutex_unlock(&s->lock);
}

static void on_release(void *user_data)
{
	((struct summary *)user_data)->released++;
}

static int greet(faas_context_t *ctx, json_t *event, json_t **response, void *user_data)
{
	const char *name = json_string_value(json_object_get(event, "name"));

	(void)user_data;
	if (!name)
		return faas_context_fail(ctx, "MissingName", "event has no name");
	faas_context_log(ctx, "greeting %s", name);
	*response = json_pack("{s:s}", "greeting", name);
	return 0;
}

static int audit_start(const faas_ext_event_t *ev, char *reason, char *message, void *user_data)
{
	(void)ev;
	(void)reason;
	(void)message;
	(void)user_data;
	return 0;
}

static int check(int ok, const char *what)
{
	if (!ok)
		fprintf(stderr, "telemetry demo: unexpected: %s\n", what);
	return ok;
}

static int invoke(faas_runtime_t *rt, const char *event, int want_rc, int want_error)
{
	faas_result_t r = FAAS_RESULT_INIT;
	int rc = faas_invoke_json(rt, "greeter", event, strlen(event), NULL, &r);
	int ok = rc == want_rc && (r.function_error != 0) == want_error;

	faas_result_clear(&r);
	return check(ok, event);
}

int main(void)
{
	faas_runtime_options_t ro = FAAS_RUNTIME_OPTIONS_INIT;
	faas_function_config_t fc = FAAS_FUNCTION_CONFIG_INIT;
	faas_telemetry_options_t to = FAAS_TELEMETRY_OPTIONS_INIT;
	faas_extension_t x = FAAS_EXTENSION_INIT;
	struct summary s;
	faas_error_detail_t err;
	faas_runtime_t *rt;
	int ok = 1;

	memset(&s, 0, sizeof(s));
	pthread_mutex_init(&s.lock, NULL);
	if (faas_runtime_new(&rt, &ro, &err) != 0) {
		fprintf(stderr, "runtime: %s\n", err.message);
		return 1;
	}
	to.types = FAAS_TELEMETRY_PLATFORM | FAAS_TELEMETRY_FUNCTION | FAAS_TELEMETRY_FAAS;
	to.on_batch = on_batch;
	to.user_data = &s;
	to.release = on_release;
	to.timeout_ms = 100; /* batches of up to 100 ms */
	ok &= check(faas_telemetry_subscribe(rt, &to, NULL, &err) == 0, err.message);

	x.name = "audit";
	x.events = FAAS_EXT_INVOKE | FAAS_EXT_SHUTDOWN;
	x.on_invoke_start = audit_start;
	ok &= check(faas_extension_register(rt, &x, NULL, &err) == 0, err.message);

	fc.handler = greet;
	ok &= check(faas_function_create(rt, "greeter", &fc, &err) == 0, err.message);
	printf("telemetry records, as a subscriber receives them:\n");
	ok &= invoke(rt, "{\"name\":\"Ada\"}", 0, 0);   /* cold */
	ok &= invoke(rt, "{\"name\":\"Grace\"}", 0, 0); /* warm */
	ok &= invoke(rt, "{}", 0, 1);                   /* a function error */
	ok &= check(faas_function_set_reserved_concurrency(rt, "greeter", 0, &err) == 0,
	            err.message);
	ok &= invoke(rt, "{\"name\":\"Linus\"}", FAAS_ETHROTTLED, 0);
	/* shutdown delivers what is still buffered, then ends the subscription */
	ok &= check(faas_runtime_shutdown(rt, 1000) == 0, "shutdown");

	printf("summary: %d records in %d batches; %d invocations (%d cold, %d failed), "
	       "%llu ms billed, %d throttle, %d log lines, %d extension, %d dropped; released %d\n",
	       s.records, s.batches, s.reports, s.cold, s.errors, s.billed_ms, s.throttles, s.lines,
	       s.extensions, s.dropped, s.released);
	ok &= check(s.reports == 3 && s.cold == 1 && s.errors == 1 && s.throttles == 1 &&
	                    s.lines == 2 && s.extensions == 1 && s.dropped == 0 && s.released == 1,
	            "summary");
	faas_runtime_free(rt);
	pthread_mutex_destroy(&s.lock);
	return ok ? 0 : 1;
}
