/*
 * A worker host: one of many processes, on one machine or many, sharing a
 * Redis stream through a consumer group (libfaas-redis). Start it on every
 * host with the same stream and group:
 *
 *   redis_worker --host redis.internal --stream jobs --group workers
 *
 * Each record's body is "processed" (its messageId is appended to --out,
 * when given); a body containing "poison" fails, is retried by whichever
 * host claims it, and lands in the stream "jobs:dead-letter" after
 * --max-deliveries. Kill a worker (even with SIGKILL): what it held is
 * claimed by the others after --claim-idle ms. SIGINT / SIGTERM stop it
 * cleanly; --idle-exit MS stops it after MS without a record.
 */
#include <faas.h>
#include <faas/redis.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static int out_fd = -1;
static _Atomic long processed;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* The function: every record but the poison ones succeeds. */
static int process(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	json_t *records = json_object_get(event, "Records"), *rec, *failures = json_array();
	size_t i, len = 0, cap = 64 * (json_array_size(records) + 1);
	char *ids = malloc(cap);

	(void)ud;
	if (!ids || !failures) {
		free(ids);
		json_decref(failures);
		return faas_context_fail(ctx, "OutOfMemory", "no memory for the batch");
	}
	json_array_foreach(records, i, rec) {
		const char *id = json_string_value(json_object_get(rec, "messageId"));
		const char *body = json_string_value(json_object_get(rec, "body"));
		if (!id)
			continue;
		if (body && strstr(body, "poison")) {
			json_array_append_new(failures, json_pack("{s:s}", "itemIdentifier", id));
			continue;
		}
		len += (size_t)snprintf(ids + len, cap - len, "%s\n", id);
		processed++;
	}
	/* one write per batch: whole lines survive a SIGKILL */
	if (out_fd >= 0 && len && write(out_fd, ids, len) != (ssize_t)len)
		faas_context_log(ctx, "could not record the batch");
	free(ids);
	*response = json_pack("{s:o}", "batchItemFailures", failures);
	return 0;
}

static const char *arg(int argc, char **argv, const char *name, const char *def)
{
	for (int i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return argv[i + 1];
	return def;
}

int main(int argc, char **argv)
{
	faas_redis_source_options_t ro = FAAS_REDIS_SOURCE_OPTIONS_INIT;
	faas_mapping_options_t mo = FAAS_MAPPING_OPTIONS_INIT;
	faas_function_config_t fc = FAAS_FUNCTION_CONFIG_INIT;
	faas_redis_stats_t st = FAAS_REDIS_STATS_INIT;
	faas_error_detail_t d;
	faas_runtime_t *rt;
	faas_source_t *src;
	faas_mapping_t *m;
	const char *out = arg(argc, argv, "--out", NULL);
	long idle_exit = atol(arg(argc, argv, "--idle-exit", "0")), last = -1;
	struct timespec tick = { 0, 50000000 };
	int idle_ms = 0;

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (out && (out_fd = open(out, O_WRONLY | O_CREAT | O_APPEND, 0644)) < 0) {
		perror(out);
		return 2;
	}
	ro.host = arg(argc, argv, "--host", "127.0.0.1");
	ro.port = atoi(arg(argc, argv, "--port", "6379"));
	ro.stream = arg(argc, argv, "--stream", "jobs");
	ro.group = arg(argc, argv, "--group", "workers");
	ro.claim_idle_ms = (uint32_t)atol(arg(argc, argv, "--claim-idle", "5000"));
	ro.max_deliveries = (uint32_t)atol(arg(argc, argv, "--max-deliveries", "3"));
	ro.block_ms = 100;
	ro.reconnect_max_ms = 1000;
	if (faas_runtime_new(&rt, NULL, &d) != 0) {
		fprintf(stderr, "runtime: %s\n", d.message);
		return 1;
	}
	fc.handler = process;
	fc.timeout_ms = 1000;
	if (faas_function_create(rt, "process", &fc, &d) != 0 ||
	    faas_redis_source_new(&src, &ro, &d) != 0) {
		fprintf(stderr, "redis_worker: %s\n", d.message);
		faas_runtime_free(rt);
		return 1;
	}
	mo.batch_size = (uint32_t)atol(arg(argc, argv, "--batch", "100"));
	mo.max_batching_window_ms = mo.batch_size > 10 ? 1000 : 0;
	mo.report_batch_item_failures = 1;
	mo.poll_interval_ms = 5;
	if (faas_mapping_create(rt, src, "process", &mo, &m, &d) != 0) {
		fprintf(stderr, "mapping: %s\n", d.message);
		faas_source_free(src);
		faas_runtime_free(rt);
		return 1;
	}
	while (!stop) {
		nanosleep(&tick, NULL);
		if (idle_exit <= 0)
			continue;
		idle_ms = processed == last ? idle_ms + 50 : 0;
		last = processed;
		if (idle_ms >= idle_exit)
			break;
	}
	faas_redis_source_stats(src, &st);
	faas_runtime_shutdown(rt, 5000);
	printf("redis_worker %s: processed %ld; received %llu, claimed %llu, acked %llu, failed %llu,"
	       " dead-lettered %llu, connects %llu, errors %llu, acks still to send %llu%s%s\n",
	       st.consumer, (long)processed, (unsigned long long)st.received,
	       (unsigned long long)st.claimed, (unsigned long long)st.acked,
	       (unsigned long long)st.failed, (unsigned long long)st.dead_lettered,
	       (unsigned long long)st.connects, (unsigned long long)st.errors,
	       (unsigned long long)st.ack_backlog, st.last_error[0] ? "; last error: " : "", st.last_error);
	faas_source_free(src);
	faas_runtime_free(rt);
	if (out_fd >= 0)
		close(out_fd);
	return 0;
}
