/*
 * libfaas example — a queue trigger: an event source mapping reads the
 * built-in queue in batches and invokes a function with Lambda's SQS
 * event. The function reports the messages it could not handle
 * (ReportBatchItemFailures): only those come back, and after two tries
 * the queue's redrive policy moves them to a dead-letter queue. A filter
 * drops "ping" messages before any invocation.
 *
 *   make demo        (or: build/examples/queue_trigger)
 */
#include <faas.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Ships orders; an order without an address cannot be shipped. */
static int ship(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	json_t *records = json_object_get(event, "Records"), *rec, *failures = json_array();
	size_t i;

	(void)ud;
	json_array_foreach(records, i, rec) {
		json_t *order = json_loads(json_string_value(json_object_get(rec, "body")), 0, NULL);
		const char *id = json_string_value(json_object_get(rec, "messageId"));

		if (!json_string_value(json_object_get(order, "address")))
			json_array_append_new(failures, json_pack("{s:s}", "itemIdentifier", id));
		else
			faas_context_log(ctx, "shipped order %lld",
			                 (long long)json_integer_value(json_object_get(order, "order")));
		json_decref(order);
	}
	printf("batch of %zu record(s), %zu failed\n", json_array_size(records),
	       json_array_size(failures));
	*response = json_pack("{s:o}", "batchItemFailures", failures);
	return 0;
}

static void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int fail(const char *what, const faas_error_detail_t *err)
{
	fprintf(stderr, "%s: %s\n", what, err->message);
	return 1;
}

int main(void)
{
	faas_runtime_options_t ro = FAAS_RUNTIME_OPTIONS_INIT;
	faas_function_config_t fc = FAAS_FUNCTION_CONFIG_INIT;
	faas_queue_options_t qo = FAAS_QUEUE_OPTIONS_INIT;
	faas_mapping_options_t mo = FAAS_MAPPING_OPTIONS_INIT;
	faas_error_detail_t err;
	faas_runtime_t *rt;
	faas_queue_t *orders, *dlq;
	faas_source_t *src;
	faas_mapping_t *m;
	uint64_t visible, in_flight, dead, dead_in_flight;
	json_t *desc;
	char body[96], *text;
	int i, len, waited;

	ro.min_timeout_ms = 100; /* a demo-sized function timeout (Lambda's minimum is 1 s) */
	if (faas_runtime_new(&rt, &ro, &err) != 0)
		return fail("runtime", &err);
	fc.handler = ship;
	fc.timeout_ms = 100;
	if (faas_function_create(rt, "ship", &fc, &err) != 0)
		return fail("create", &err);
	if (faas_queue_create(rt, "orders-dlq", NULL, &dlq, &err) != 0)
		return fail("dead-letter queue", &err);
	/* a failed message is back after 400 ms: the queue's timeout applies as it
	 * is longer than what a batch may hold a message (window + 2 x timeout) */
	qo.visibility_timeout_ms = 400;
	qo.max_receive_count = 2;
	qo.dead_letter = dlq;
	if (faas_queue_create(rt, "orders", &qo, &orders, &err) != 0)
		return fail("queue", &err);

	mo.batch_size = 10;
	mo.max_batching_window_ms = 100;
	mo.report_batch_item_failures = 1;
	mo.filters[0] = "{\"body\":{\"order\":[{\"exists\":true}]}}"; /* pings have no order */
	mo.poll_interval_ms = 50;
	if (faas_queue_source_new(orders, &src, &err) != 0 ||
	    faas_mapping_create(rt, src, "ship", &mo, &m, &err) != 0)
		return fail("mapping", &err);
	faas_source_free(src); /* the mapping keeps its own reference */

	for (i = 1; i <= 25; i++) {
		len = i % 10 == 0 ? snprintf(body, sizeof(body), "{\"ping\":%d}", i)
		      : i % 7 == 0 ? snprintf(body, sizeof(body), "{\"order\":%d}", i)
		                   : snprintf(body, sizeof(body), "{\"order\":%d,\"address\":\"%d Main St\"}", i, i);
		if (faas_queue_send(orders, body, (size_t)len, NULL, NULL, &err) != 0)
			return fail("send", &err);
	}
	for (waited = 0; waited < 5000; waited += 20) { /* until the queue is empty */
		faas_queue_counts(orders, &visible, &in_flight);
		if (!visible && !in_flight)
			break;
		nap_ms(20);
	}
	faas_queue_counts(dlq, &dead, &dead_in_flight);
	if (visible || in_flight)
		printf("orders queue still holds %llu message(s) after %d ms\n",
		       (unsigned long long)(visible + in_flight), waited);
	else
		printf("orders queue empty after about %d ms; %llu message(s) in orders-dlq\n", waited,
		       (unsigned long long)dead);
	if (faas_mapping_describe(m, &desc, &err) == 0) {
		text = json_dumps(json_object_get(desc, "Metrics"), JSON_COMPACT);
		printf("mapping %s: %s\n", json_string_value(json_object_get(desc, "State")), text);
		free(text);
		json_decref(desc);
	}
	faas_runtime_shutdown(rt, 1000);
	faas_runtime_free(rt);
	return 0;
}
