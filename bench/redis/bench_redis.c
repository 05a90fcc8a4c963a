/*
 * libfaas bench — records/s through a Redis Streams mapping (libfaas-redis)
 * against a raw hiredis loop (XREADGROUP COUNT B, the same no-op handler
 * over the entries, XACK them) in the same run, on the same private
 * redis-server, at 1, 10 and 100 records per batch. Wall-clock time from
 * the first read to the last acknowledgement (the entries are added
 * beforehand, not timed). Target (issue "Scale-out"): >= 0.8 x the raw loop.
 *
 * Usage: bench_redis [records]   (default 20000)
 */
#include <faas.h>
#include <faas/redis.h>
#include <hiredis/hiredis.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "redis/server.h"

static struct test_redis srv;
static _Atomic long handled;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static redisContext *cli(void)
{
	struct timeval tv = { 5, 0 };
	redisContext *c = redisConnectWithTimeout("127.0.0.1", srv.port, tv);

	if (!c || c->err) {
		fprintf(stderr, "bench_redis: cannot connect\n");
		exit(1);
	}
	return c;
}

static void fill(redisContext *c, const char *key, long n)
{
	for (long i = 0; i < n; i++)
		redisAppendCommand(c, "XADD %s * body {\"n\":%ld}", key, i);
	for (long i = 0; i < n; i++) {
		void *r;
		if (redisGetReply(c, &r) != REDIS_OK)
			exit(1);
		freeReplyObject(r);
	}
	freeReplyObject(redisCommand(c, "XGROUP CREATE %s g 0", key));
}

/* The handler both loops run: counts the records. */
static void consume(long n)
{
	handled += n;
}

static double raw_loop(redisContext *c, const char *key, int batch, long n)
{
	double t0 = now_s();
	long done = 0;
	char count[16];

	snprintf(count, sizeof(count), "%d", batch);
	while (done < n) {
		redisReply *r = redisCommand(c, "XREADGROUP GROUP g raw COUNT %s STREAMS %s >", count, key);
		redisReply *entries;
		const char **argv;
		size_t k;
		if (!r || r->type != REDIS_REPLY_ARRAY) {
			freeReplyObject(r);
			break;
		}
		entries = r->element[0]->element[1];
		argv = malloc((entries->elements + 3) * sizeof(*argv));
		argv[0] = "XACK", argv[1] = key, argv[2] = "g";
		for (k = 0; k < entries->elements; k++)
			argv[k + 3] = entries->element[k]->element[0]->str;
		consume((long)entries->elements);
		freeReplyObject(redisCommandArgv(c, (int)k + 3, argv, NULL));
		done += (long)k;
		free(argv);
		freeReplyObject(r);
	}
	return (double)n / (now_s() - t0);
}

static int handler(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	(void)ctx;
	(void)ud;
	consume((long)json_array_size(json_object_get(event, "Records")));
	*response = NULL;
	return 0;
}

static double mapping_run(redisContext *c, const char *key, int batch, long n)
{
	faas_redis_source_options_t ro = FAAS_REDIS_SOURCE_OPTIONS_INIT;
	faas_mapping_options_t mo = FAAS_MAPPING_OPTIONS_INIT;
	faas_function_config_t fc = FAAS_FUNCTION_CONFIG_INIT;
	faas_error_detail_t d;
	faas_runtime_t *rt;
	faas_source_t *src;
	faas_mapping_t *m;
	double t0, rate;
	redisReply *p;
	long long pend = 1;

	ro.port = srv.port;
	ro.stream = key;
	ro.group = "g";
	ro.consumer = "faas";
	ro.block_ms = 20;
	fc.handler = handler;
	mo.batch_size = (uint32_t)batch;
	mo.max_batching_window_ms = batch > 10 ? 1000 : 0;
	mo.poll_interval_ms = 1;
	if (faas_runtime_new(&rt, NULL, &d) != 0 || faas_function_create(rt, "f", &fc, &d) != 0 ||
	    faas_redis_source_new(&src, &ro, &d) != 0) {
		fprintf(stderr, "bench_redis: %s\n", d.message);
		exit(1);
	}
	handled = 0;
	t0 = now_s();
	if (faas_mapping_create(rt, src, "f", &mo, &m, &d) != 0) {
		fprintf(stderr, "bench_redis: %s\n", d.message);
		exit(1);
	}
	while (handled < n || pend != 0) { /* done: handled and acknowledged */
		usleep(200);
		if (handled < n)
			continue;
		p = redisCommand(c, "XPENDING %s g", key);
		pend = p && p->type == REDIS_REPLY_ARRAY ? p->element[0]->integer : -1;
		freeReplyObject(p);
	}
	rate = (double)n / (now_s() - t0);
	faas_source_free(src);
	faas_runtime_free(rt);
	return rate;
}

/* Events/s: n Event invocations of the no-op function, from the first
 * accept to the last end, through the durable store or the in-memory queue. */
static _Atomic long ended;

static void on_end(json_t *record, void *ud)
{
	(void)record;
	(void)ud;
	ended++;
}

static double async_run(bool durable, long n)
{
	faas_runtime_options_t ro = FAAS_RUNTIME_OPTIONS_INIT;
	faas_redis_source_options_t so = FAAS_REDIS_SOURCE_OPTIONS_INIT;
	faas_function_config_t fc = FAAS_FUNCTION_CONFIG_INIT;
	faas_event_invoke_config_t ec = FAAS_EVENT_INVOKE_CONFIG_INIT;
	faas_invoke_options_t io = FAAS_INVOKE_OPTIONS_INIT;
	faas_error_detail_t d;
	faas_runtime_t *rt;
	json_t *ev = json_pack("{s:s}", "order", "42");
	double t0;

	so.port = srv.port;
	so.stream = "async";
	so.group = "hosts";
	so.block_ms = 20;
	if ((durable && faas_redis_async_store(&ro, &so, &d) != 0) ||
	    faas_runtime_new(&rt, &ro, &d) != 0) {
		fprintf(stderr, "bench_redis: %s\n", d.message);
		exit(1);
	}
	fc.handler = handler;
	ec.on_success.kind = FAAS_DESTINATION_CALLBACK;
	ec.on_success.callback = on_end;
	if (faas_function_create(rt, "f", &fc, &d) != 0 ||
	    faas_function_set_event_invoke_config(rt, "f", NULL, &ec, &d) != 0)
		exit(1);
	io.type = FAAS_INVOKE_EVENT;
	ended = 0;
	t0 = now_s();
	for (long i = 0; i < n; i++) {
		faas_result_t res = FAAS_RESULT_INIT;
		while (faas_invoke(rt, "f", ev, &io, &res) == FAAS_EAGAIN) { /* queue full: wait */
			faas_result_clear(&res);
			usleep(100);
		}
		faas_result_clear(&res);
	}
	while (ended < n)
		usleep(200);
	t0 = (double)n / (now_s() - t0);
	json_decref(ev);
	faas_runtime_free(rt);
	return t0;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 20000;
	static const int batches[] = { 1, 10, 100 };
	redisContext *c;

	if (test_redis_start(&srv, 0) != 0)
		return 1;
	c = cli();
	printf("== Redis Streams mapping (libfaas-redis) vs a raw hiredis XREADGROUP + XACK loop\n");
	printf("   %ld records per run, private redis-server on 127.0.0.1:%d; target >= 0.80 x\n", n,
	       srv.port);
	for (size_t i = 0; i < sizeof(batches) / sizeof(batches[0]); i++) {
		char kraw[32], kmap[32];
		long runs = batches[i] == 1 ? n / 4 : n;
		double raw, map;
		snprintf(kraw, sizeof(kraw), "raw-%d", batches[i]);
		snprintf(kmap, sizeof(kmap), "map-%d", batches[i]);
		fill(c, kraw, runs);
		fill(c, kmap, runs);
		raw = raw_loop(c, kraw, batches[i], runs);
		map = mapping_run(c, kmap, batches[i], runs);
		printf("   batch %3d: mapping %9.0f records/s, raw loop %9.0f records/s: %.2f x %s\n",
		       batches[i], map, raw, map / raw, map / raw >= 0.8 ? "(met)" : "(MISSED)");
	}
	{
		long na = n / 2;
		double mem = async_run(false, na), dur = async_run(true, na);
		printf("== Event invocations, %ld per run, accept to end (success destination)\n", na);
		printf("   durable (Redis store) %9.0f events/s, in-memory queue %9.0f events/s: %.2f x"
		       " (reported)\n", dur, mem, dur / mem);
	}
	redisFree(c);
	test_redis_destroy(&srv);
	return 0;
}
