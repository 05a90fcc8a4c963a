/*
 * libfaas bench — event source mappings: records through the built-in
 * queue, a mapping and a no-op handler, at 1, 10 and 100 records per batch.
 *
 * An inline runtime on a virtual clock, so the whole pipeline runs on this
 * thread and the figure is CPU time per record from the first send to the
 * last delete: the queue (send, receive, delete), Lambda's SQS record (its
 * JSON and MD5), batching and one invocation per batch. The baseline is the
 * same handler called directly in a loop over the same batches, built
 * beforehand (not timed). Reported, not counted: the issue sets no target.
 */
#include "bench.h"

#include <stdio.h>
#include <string.h>

static long handled;

static int map_handler(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	(void)ctx;
	(void)ud;
	handled += (long)json_array_size(json_object_get(event, "Records"));
	*response = NULL;
	return 0;
}

/* Through a volatile pointer: a real call, as the runtime makes it. */
static faas_handler_fn volatile direct = map_handler;

static int one_run(int size, long n, double *cpu_ns, double *direct_ns, char *err, size_t errsize)
{
	faas_runtime_options_t ro = FAAS_RUNTIME_OPTIONS_INIT;
	faas_function_config_t fc = FAAS_FUNCTION_CONFIG_INIT;
	faas_queue_options_t qo = FAAS_QUEUE_OPTIONS_INIT;
	faas_mapping_options_t mo = FAAS_MAPPING_OPTIONS_INIT;
	faas_error_detail_t d;
	faas_runtime_t *rt;
	faas_queue_t *q;
	faas_source_t *src;
	faas_mapping_t *m;
	json_t **batches;
	uint64_t t0, t1;
	long i, nb = (n + size - 1) / size;
	char body[32];

	ro.inline_mode = 1;
	ro.clock = FAAS_CLOCK_VIRTUAL;
	qo.capacity = (uint32_t)n;
	fc.handler = map_handler;
	mo.batch_size = (uint32_t)size;
	mo.max_batching_window_ms = size > 10 ? 1000 : 0;
	if (faas_runtime_new(&rt, &ro, &d) != 0 || faas_function_create(rt, "f", &fc, &d) != 0 ||
	    faas_queue_create(rt, "q", &qo, &q, &d) != 0 || faas_queue_source_new(q, &src, &d) != 0 ||
	    faas_mapping_create(rt, src, "f", &mo, &m, &d) != 0) {
		snprintf(err, errsize, "set-up: %.200s", d.message);
		return -1;
	}
	faas_source_free(src);
	handled = 0;
	t0 = bench_now_ns(CLOCK_PROCESS_CPUTIME_ID);
	for (i = 0; i < n; i++) {
		int len = snprintf(body, sizeof(body), "{\"n\":%ld}", i);
		faas_queue_send(q, body, (size_t)len, NULL, NULL, NULL);
	}
	faas_clock_advance(rt, 1); /* every full batch goes now ... */
	faas_clock_advance(rt, 1000); /* ... the last partial one at its window's end */
	t1 = bench_now_ns(CLOCK_PROCESS_CPUTIME_ID);
	faas_runtime_free(rt);
	if (handled != n) {
		snprintf(err, errsize, "batch size %d: %ld of %ld records handled", size, handled, n);
		return -1;
	}
	*cpu_ns = (double)(t1 - t0) / (double)n;
	/* the baseline: the same batches, the handler called directly */
	batches = calloc((size_t)nb, sizeof(*batches));
	for (i = 0; i < nb; i++) {
		json_t *recs = json_array();
		long k;
		for (k = i * size; k < n && k < (i + 1) * size; k++) {
			int len = snprintf(body, sizeof(body), "{\"n\":%ld}", k);
			json_array_append_new(recs, json_pack("{s:s,s:s%,s:s}", "messageId", "id",
			                                      "body", body, (size_t)len, "eventSource",
			                                      "aws:sqs"));
		}
		batches[i] = json_pack("{s:o}", "Records", recs);
	}
	handled = 0;
	t0 = bench_now_ns(CLOCK_PROCESS_CPUTIME_ID);
	for (i = 0; i < nb; i++) {
		json_t *resp = NULL;
		direct(NULL, batches[i], &resp, NULL);
		json_decref(resp);
	}
	t1 = bench_now_ns(CLOCK_PROCESS_CPUTIME_ID);
	*direct_ns = (double)(t1 - t0) / (double)n;
	for (i = 0; i < nb; i++)
		json_decref(batches[i]);
	free(batches);
	return handled == n ? 0 : -1;
}

void bench_mapping(struct bench_map *out, int pin, int runs, long records)
{
	static const int sizes[BENCH_MAP_SIZES] = { 1, 10, 100 };
	int s, r;

	memset(out, 0, sizeof(*out));
	out->pinned = bench_pin_child(pin, out->cpus, sizeof(out->cpus), out->err, sizeof(out->err));
	out->runs = runs;
	out->records = records;
	for (s = 0; s < BENCH_MAP_SIZES; s++) {
		out->sizes[s] = sizes[s];
		for (r = 0; r < runs; r++)
			if (one_run(sizes[s], records, &out->cpu[s][r], &out->direct[s][r], out->err,
			            sizeof(out->err)) != 0)
				return;
	}
	out->ok = 1;
}
