/*
 * libfaas example — asynchronous invocation: events queued with the Event
 * invocation type, a function that fails for some of them, Lambda's retries
 * (scaled from minutes to milliseconds for the demo), and the invocation
 * records that reach the success and failure destinations.
 *
 *   make demo        (or: build/examples/async)
 */
#include <faas.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Charges an order; orders whose amount is negative fail, every time. */
static int charge(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	json_int_t amount = json_integer_value(json_object_get(event, "amount"));

	(void)ud;
	faas_context_log(ctx, "charging order %lld", (long long)json_integer_value(json_object_get(event, "order")));
	if (amount < 0)
		return faas_context_fail(ctx, "PaymentDeclined", "amount %lld is not payable",
		                         (long long)amount);
	*response = json_pack("{s:s,s:I}", "status", "charged", "amount", amount);
	return 0;
}

/* A destination: Lambda's invocation record, printed in short. */
static void destination(json_t *record, void *ud)
{
	json_t *ctx = json_object_get(record, "requestContext");

	printf("%-8s order %lld: %s after %lld attempt(s), response %s\n", (const char *)ud,
	       (long long)json_integer_value(json_object_get(json_object_get(record, "requestPayload"), "order")),
	       json_string_value(json_object_get(ctx, "condition")),
	       (long long)json_integer_value(json_object_get(ctx, "approximateInvokeCount")),
	       json_string_value(json_object_get(json_object_get(record, "responsePayload"), "errorType"))
	               ? json_string_value(json_object_get(json_object_get(record, "responsePayload"), "errorType"))
	               : "ok");
}

int main(void)
{
	faas_runtime_options_t ro = FAAS_RUNTIME_OPTIONS_INIT;
	faas_function_config_t fc = FAAS_FUNCTION_CONFIG_INIT;
	faas_event_invoke_config_t ec = FAAS_EVENT_INVOKE_CONFIG_INIT;
	faas_invoke_options_t io = FAAS_INVOKE_OPTIONS_INIT;
	faas_error_detail_t err;
	faas_runtime_t *rt;
	json_t *metrics;
	char *text;
	int i, rc;

	ro.async_delay_scale = 0.001; /* retries after 60 ms and 120 ms instead of 1 and 2 minutes */
	if (faas_runtime_new(&rt, &ro, &err) != 0) {
		fprintf(stderr, "runtime: %s\n", err.message);
		return 1;
	}
	fc.handler = charge;
	if (faas_function_create(rt, "charge", &fc, &err) != 0) {
		fprintf(stderr, "create: %s\n", err.message);
		return 1;
	}
	ec.max_retry_attempts = 2;
	ec.on_success.kind = FAAS_DESTINATION_CALLBACK;
	ec.on_success.callback = destination;
	ec.on_success.user_data = (void *)"success"; /* only read */
	ec.on_failure.kind = FAAS_DESTINATION_CALLBACK;
	ec.on_failure.callback = destination;
	ec.on_failure.user_data = (void *)"FAILURE";
	faas_function_set_event_invoke_config(rt, "charge", NULL, &ec, &err);

	io.type = FAAS_INVOKE_EVENT;
	for (i = 1; i <= 4; i++) {
		faas_result_t r = FAAS_RESULT_INIT;
		json_t *ev = json_pack("{s:i,s:i}", "order", i, "amount", i == 3 ? -5 : 10 * i);

		rc = faas_invoke(rt, "charge", ev, &io, &r);
		printf("queued   order %d: rc %d, status %d, request %s\n", i, rc, r.status_code,
		       r.request_id);
		faas_result_clear(&r);
		json_decref(ev);
	}
	/* shutdown keeps dispatching queued events (and their retries) while it drains */
	faas_runtime_shutdown(rt, 5000);
	if (faas_metrics_json(rt, &metrics, &err) == 0) {
		text = json_dumps(json_object_get(metrics, "Async"), JSON_COMPACT | JSON_SORT_KEYS);
		printf("async counts: %s\n", text);
		free(text);
		json_decref(metrics);
	}
	faas_runtime_free(rt);
	return 0;
}
