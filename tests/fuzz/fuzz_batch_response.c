/*
 * Fuzz target: partial batch responses (ReportBatchItemFailures) through a
 * real mapping on an inline runtime over the built-in queue.
 *
 * Input: the handler's response as JSON text. Before parsing, "$0", "$1"
 * and "$2" are replaced by the ids of the three messages of the batch.
 * Text that does not parse makes the handler fail instead.
 *
 * Invariants (abort on violation):
 *  - every message ends either deleted or still in the queue (hidden for
 *    its visibility timeout): none is lost, none is duplicated;
 *  - exactly the messages Lambda's rules say come back (a small model
 *    here: null, {}, a missing, null or empty list = full success; a list
 *    of objects whose "itemIdentifier" are ids of the batch = only those;
 *    anything else, or a failing handler = all three);
 *  - the mapping's counters agree: succeeded + failed = 3.
 */
#include "fuzz.h"

static json_t *reply;

static int handler(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	(void)event;
	(void)ud;
	if (!reply)
		return faas_context_fail(ctx, "Fuzz", "no JSON");
	*response = json_incref(reply);
	return 0;
}

static char *substitute(const uint8_t *data, size_t size, char ids[3][FAAS_REQUEST_ID_SIZE])
{
	char *out = malloc(size * FAAS_REQUEST_ID_SIZE + 1);
	size_t i, j = 0;

	for (i = 0; i < size; i++) {
		if (data[i] == '$' && i + 1 < size && data[i + 1] >= '0' && data[i + 1] <= '2') {
			size_t n = strlen(ids[data[i + 1] - '0']);
			memcpy(out + j, ids[data[i + 1] - '0'], n);
			j += n;
			i++;
			continue;
		}
		out[j++] = (char)data[i];
	}
	out[j] = '\0';
	return out;
}

/* Which of the three should come back (bit i = message i). */
static unsigned model(json_t *resp, bool parsed, char ids[3][FAAS_REQUEST_ID_SIZE])
{
	json_t *list, *item;
	unsigned back = 0;
	size_t i;
	int k;

	if (!parsed)
		return 7;
	if (json_is_null(resp))
		return 0;
	if (!json_is_object(resp))
		return 7;
	list = json_object_get(resp, "batchItemFailures");
	if (!list || json_is_null(list))
		return 0;
	if (!json_is_array(list))
		return 7;
	json_array_foreach(list, i, item) {
		const char *id = json_string_value(json_object_get(item, "itemIdentifier"));
		bool known = false;
		if (!json_is_object(item) || !id || !id[0])
			return 7;
		for (k = 0; k < 3; k++)
			if (!strcmp(id, ids[k])) {
				back |= 1u << k;
				known = true;
			}
		if (!known)
			return 7;
	}
	return back;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	faas_runtime_options_t ro = FAAS_RUNTIME_OPTIONS_INIT;
	faas_function_config_t fc = FAAS_FUNCTION_CONFIG_INIT;
	faas_mapping_options_t mo = FAAS_MAPPING_OPTIONS_INIT;
	faas_queue_message_t msgs[3];
	char ids[3][FAAS_REQUEST_ID_SIZE];
	faas_error_detail_t d;
	faas_runtime_t *rt;
	faas_queue_t *q;
	faas_source_t *src;
	faas_mapping_t *m;
	uint64_t v, f;
	unsigned want, got = 0;
	json_t *desc, *metrics;
	size_t n, i;
	char *text;
	int k;

	ro.inline_mode = 1;
	ro.clock = FAAS_CLOCK_VIRTUAL;
	FUZZ_CHECK(faas_runtime_new(&rt, &ro, &d) == 0, "runtime: %s", d.message);
	fc.handler = handler;
	FUZZ_CHECK(faas_function_create(rt, "f", &fc, &d) == 0, "create: %s", d.message);
	FUZZ_CHECK(faas_queue_create(rt, "q", NULL, &q, &d) == 0, "queue: %s", d.message);
	for (k = 0; k < 3; k++)
		FUZZ_CHECK(faas_queue_send(q, "m", 1, NULL, ids[k], &d) == 0, "send: %s", d.message);
	text = substitute(data, size, ids);
	reply = json_loads(text, JSON_DECODE_ANY, NULL);
	want = model(reply, reply != NULL, ids);
	mo.report_batch_item_failures = 1;
	FUZZ_CHECK(faas_queue_source_new(q, &src, &d) == 0, "source: %s", d.message);
	FUZZ_CHECK(faas_mapping_create(rt, src, "f", &mo, &m, &d) == 0, "mapping: %s", d.message);
	faas_source_free(src);
	faas_clock_advance(rt, 1);
	faas_queue_counts(q, &v, &f);
	FUZZ_CHECK(v == 0 && f == (uint64_t)__builtin_popcount(want), "%llu visible, %llu hidden, want %u",
	           (unsigned long long)v, (unsigned long long)f, want);
	FUZZ_CHECK(faas_mapping_describe(m, &desc, &d) == 0, "describe: %s", d.message);
	metrics = json_object_get(desc, "Metrics");
	FUZZ_CHECK(json_integer_value(json_object_get(metrics, "RecordsFailed")) ==
	                           __builtin_popcount(want) &&
	                   json_integer_value(json_object_get(metrics, "RecordsSucceeded")) ==
	                           3 - __builtin_popcount(want),
	           "counters disagree (want %u)", want);
	json_decref(desc);
	FUZZ_CHECK(faas_mapping_delete(m, &d) == 0, "delete: %s", d.message);
	faas_clock_advance(rt, 30000); /* the failed ones are visible again */
	FUZZ_CHECK(faas_queue_receive(q, 3, 0, msgs, &n, &d) == 0, "receive: %s", d.message);
	for (i = 0; i < n; i++) {
		for (k = 0; k < 3; k++)
			if (!strcmp(msgs[i].message_id, ids[k])) {
				FUZZ_CHECK(!(got & (1u << k)), "message %d twice", k);
				got |= 1u << k;
			}
		faas_queue_message_clear(&msgs[i]);
	}
	FUZZ_CHECK(got == want, "back: %u, Lambda's rules: %u", got, want);
	json_decref(reply);
	reply = NULL;
	free(text);
	faas_runtime_free(rt);
	return 0;
}
