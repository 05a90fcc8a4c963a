/*
 * libfaas-redis against a real redis-server (a private one per test on a
 * free loopback port, tests/redis/server.h). Waits are for conditions with
 * a deadline: Redis runs in real time, these tests assert outcomes only.
 */
#include <check.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "faas.h"
#include "faas/redis.h"
#include "redis/server.h"
#include "redis/source_int.h" /* the source's ops, called directly */

static struct test_redis srv;
static redisContext *cli;

/* ---- helpers ------------------------------------------------------------------------ */

static redisReply *cmd(const char *fmt, ...)
{
	va_list ap;
	redisReply *r;

	va_start(ap, fmt);
	r = redisvCommand(cli, fmt, ap);
	va_end(ap);
	ck_assert_msg(r != NULL, "redis: %s", cli->errstr);
	return r;
}

static long long cmd_int(const char *fmt, ...)
{
	va_list ap;
	redisReply *r;
	long long v;

	va_start(ap, fmt);
	r = redisvCommand(cli, fmt, ap);
	va_end(ap);
	ck_assert_msg(r && r->type == REDIS_REPLY_INTEGER, "redis: %s", r ? r->str : cli->errstr);
	v = r->integer;
	freeReplyObject(r);
	return v;
}

static void connect_cli(void)
{
	struct timeval tv = { 2, 0 };

	if (cli)
		redisFree(cli);
	cli = redisConnectWithTimeout("127.0.0.1", srv.port, tv);
	ck_assert_msg(cli && !cli->err, "connect to the test redis");
}

static void setup(void)
{
	ck_assert_int_eq(test_redis_start(&srv, 0), 0);
	connect_cli();
}

static void teardown(void)
{
	if (cli)
		redisFree(cli);
	cli = NULL;
	test_redis_destroy(&srv);
}

/* Pending entries of the group (XPENDING's summary count). */
static long long pending(const char *stream, const char *group)
{
	redisReply *r = cmd("XPENDING %s %s", stream, group);
	long long n = r->type == REDIS_REPLY_ARRAY && r->elements >= 1 ? r->element[0]->integer : -1;

	freeReplyObject(r);
	return n;
}

static bool wait_for(bool (*cond)(void *), void *arg, int seconds)
{
	struct timespec t = { 0, 5000000 };

	for (int i = 0; i < seconds * 200; i++) {
		if (cond(arg))
			return true;
		nanosleep(&t, NULL);
	}
	return cond(arg);
}

/* What the handler saw. */
static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static int nseen, nbatches, max_batch;
static json_t *last_record;

static int handler(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	json_t *recs = json_object_get(event, "Records"), *rec, *fails = json_array();
	size_t i;

	(void)ctx;
	(void)ud;
	pthread_mutex_lock(&seen_lock);
	nbatches++;
	if ((int)json_array_size(recs) > max_batch)
		max_batch = (int)json_array_size(recs);
	json_array_foreach(recs, i, rec) {
		const char *body = json_string_value(json_object_get(rec, "body"));
		if (body && strstr(body, "poison")) {
			json_array_append_new(fails, json_pack("{s:O}", "itemIdentifier",
			                                       json_object_get(rec, "messageId")));
			continue;
		}
		nseen++;
		json_decref(last_record);
		last_record = json_incref(rec);
	}
	pthread_mutex_unlock(&seen_lock);
	*response = json_pack("{s:o}", "batchItemFailures", fails);
	return 0;
}

static int seen(void)
{
	int n;

	pthread_mutex_lock(&seen_lock);
	n = nseen;
	pthread_mutex_unlock(&seen_lock);
	return n;
}

static void seen_reset(void)
{
	pthread_mutex_lock(&seen_lock);
	nseen = nbatches = max_batch = 0;
	json_decref(last_record);
	last_record = NULL;
	pthread_mutex_unlock(&seen_lock);
}

static faas_runtime_t *runtime(void)
{
	faas_runtime_options_t ro = FAAS_RUNTIME_OPTIONS_INIT;
	faas_function_config_t fc = FAAS_FUNCTION_CONFIG_INIT;
	faas_error_detail_t d;
	faas_runtime_t *rt;

	ro.async_delay_scale = 0.001; /* a throttled mapping backs off ms, not s */
	ck_assert_int_eq(faas_runtime_new(&rt, &ro, &d), 0);
	fc.handler = handler;
	fc.timeout_ms = 1000; /* entries are claimed again after window + timeout */
	ck_assert_int_eq(faas_function_create(rt, "worker", &fc, &d), 0);
	seen_reset();
	return rt;
}

static faas_redis_source_options_t options(void)
{
	faas_redis_source_options_t o = FAAS_REDIS_SOURCE_OPTIONS_INIT;

	o.port = srv.port;
	o.stream = "jobs";
	o.group = "workers";
	o.block_ms = 50;
	o.claim_idle_ms = 100;
	o.max_deliveries = 3;
	return o;
}

static faas_mapping_t *map(faas_runtime_t *rt, faas_source_t *src, uint32_t batch)
{
	faas_mapping_options_t mo = FAAS_MAPPING_OPTIONS_INIT;
	faas_error_detail_t d;
	faas_mapping_t *m;

	mo.batch_size = batch;
	mo.max_batching_window_ms = batch > 10 ? 1000 : 0;
	mo.report_batch_item_failures = 1;
	mo.poll_interval_ms = 5;
	ck_assert_msg(faas_mapping_create(rt, src, "worker", &mo, &m, &d) == 0, "%s", d.message);
	return m;
}

static void add(int n, const char *kind)
{
	for (int i = 0; i < n; i++)
		freeReplyObject(cmd("XADD jobs * body {\"kind\":\"%s\",\"n\":%d} n %d", kind, i, i));
}

struct want {
	int n;
	long long xlen;
};

static bool seen_n(void *arg)
{
	return seen() >= ((struct want *)arg)->n;
}

static bool settled(void *arg)
{
	(void)arg;
	return pending("jobs", "workers") == 0;
}

static bool dlq_len(void *arg)
{
	return cmd_int("XLEN jobs:dead-letter") >= ((struct want *)arg)->xlen;
}

/* ---- tests -------------------------------------------------------------------------- */

START_TEST(redis_bad_input)
{
	faas_redis_source_options_t o = options();
	faas_redis_stats_t st = FAAS_REDIS_STATS_INIT;
	faas_error_detail_t d;
	faas_source_t *src = (faas_source_t *)&d, *q;
	faas_runtime_t *rt = runtime();
	faas_queue_t *queue;

	ck_assert_int_eq(faas_redis_source_new(NULL, &o, &d), FAAS_EINVAL);
	ck_assert_int_eq(faas_redis_source_new(&src, NULL, &d), FAAS_EINVAL);
	ck_assert_ptr_null(src);
	o.version = 99;
	ck_assert_int_eq(faas_redis_source_new(&src, &o, &d), FAAS_EINVAL);
	o = options();
	o.stream = "";
	ck_assert_int_eq(faas_redis_source_new(&src, &o, &d), FAAS_EINVAL);
	ck_assert_ptr_nonnull(strstr(d.message, "stream and a group"));
	o = options();
	o.group = NULL;
	ck_assert_int_eq(faas_redis_source_new(&src, &o, &d), FAAS_EINVAL);
	o = options();
	o.port = 70000;
	ck_assert_int_eq(faas_redis_source_new(&src, &o, &d), FAAS_EINVAL);
	o = options();
	o.consumer = "";
	ck_assert_int_eq(faas_redis_source_new(&src, &o, &d), FAAS_EINVAL);
	/* nobody listens there: a clear error now, not later */
	o = options();
	o.port = 1;
	ck_assert_int_eq(faas_redis_source_new(&src, &o, &d), FAAS_ETIMEDOUT);
	ck_assert_msg(strstr(d.message, "redis://127.0.0.1:1/0/jobs") != NULL, "%s", d.message);
	ck_assert_ptr_null(src);
	/* Redis refuses: a password it does not have, a key that is not a stream */
	o = options();
	o.password = "secret";
	ck_assert_int_eq(faas_redis_source_new(&src, &o, &d), FAAS_EPRECONDITION);
	ck_assert_msg(strstr(d.message, "AUTH") != NULL, "%s", d.message);
	freeReplyObject(cmd("SET plain text"));
	o = options();
	o.stream = "plain";
	ck_assert_int_eq(faas_redis_source_new(&src, &o, &d), FAAS_EPRECONDITION);
	ck_assert_msg(strstr(d.message, "WRONGTYPE") != NULL, "%s", d.message);
	o = options();
	o.database = 99;
	ck_assert_int_eq(faas_redis_source_new(&src, &o, &d), FAAS_EPRECONDITION);
	ck_assert_msg(strstr(d.message, "SELECT") != NULL, "%s", d.message);
	/* stats: only of a Redis source */
	ck_assert_int_eq(faas_queue_create(rt, "q", NULL, &queue, &d), 0);
	ck_assert_int_eq(faas_queue_source_new(queue, &q, &d), 0);
	ck_assert_int_eq(faas_redis_source_stats(q, &st), FAAS_EINVAL);
	ck_assert_int_eq(faas_redis_source_stats(NULL, &st), FAAS_EINVAL);
	faas_source_free(q);
	o = options();
	ck_assert_int_eq(faas_redis_source_new(&src, &o, &d), 0);
	ck_assert_int_eq(faas_redis_source_stats(src, NULL), FAAS_EINVAL);
	st.version = 0;
	ck_assert_int_eq(faas_redis_source_stats(src, &st), FAAS_EINVAL);
	st.version = FAAS_REDIS_STATS_VERSION;
	ck_assert_int_eq(faas_redis_source_stats(src, &st), 0);
	ck_assert_uint_eq(st.connects, 1);
	ck_assert_msg(st.consumer[0] != '\0', "a default consumer name");
	faas_source_free(src);
	faas_runtime_free(rt);
}
END_TEST

START_TEST(redis_records_acked)
{
	faas_redis_source_options_t o = options();
	faas_redis_stats_t st = FAAS_REDIS_STATS_INIT;
	struct want w = { 250, 0 };
	faas_error_detail_t d;
	faas_runtime_t *rt = runtime();
	faas_source_t *src;
	faas_mapping_t *m;
	json_t *rec;

	add(200, "a");
	o.consumer = "c1";
	ck_assert_int_eq(faas_redis_source_new(&src, &o, &d), 0); /* the group is made: from 0 */
	m = map(rt, src, 100);
	add(50, "a");
	ck_assert_msg(wait_for(seen_n, &w, 20), "processed %d of 250", seen());
	ck_assert_msg(wait_for(settled, NULL, 10), "%lld still pending", pending("jobs", "workers"));
	ck_assert_int_eq(seen(), 250); /* each once: nothing failed, nothing claimed */
	pthread_mutex_lock(&seen_lock);
	rec = last_record;
	ck_assert_str_eq(json_string_value(json_object_get(rec, "eventSource")), "redis:stream");
	{
		char arn[64];
		snprintf(arn, sizeof(arn), "redis://127.0.0.1:%d/0/jobs", srv.port);
		ck_assert_str_eq(json_string_value(json_object_get(rec, "eventSourceARN")), arn);
	}
	ck_assert_str_eq(json_string_value(json_object_get(rec, "stream")), "jobs");
	ck_assert_str_eq(json_string_value(json_object_get(rec, "group")), "workers");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(rec, "attributes"),
	                                                   "ApproximateReceiveCount")), "1");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(rec, "fields"), "n")),
	                 "49");
	ck_assert_ptr_nonnull(strchr(json_string_value(json_object_get(rec, "messageId")), '-'));
	pthread_mutex_unlock(&seen_lock);
	/* counted just after Redis answered the XACK: maybe just after pending hit 0 */
	for (int i = 0; i < 200 && (faas_redis_source_stats(src, &st), st.acked < 250); i++)
		usleep(5000);
	ck_assert_int_eq(faas_redis_source_stats(src, &st), 0);
	ck_assert_uint_eq(st.received, 250);
	ck_assert_uint_eq(st.acked, 250);
	ck_assert_uint_eq(st.failed, 0);
	ck_assert_uint_eq(st.claimed, 0);
	ck_assert_str_eq(st.consumer, "c1");
	faas_source_free(src);
	ck_assert_int_eq(faas_mapping_delete(m, &d), 0);
	faas_runtime_free(rt);
}
END_TEST

START_TEST(redis_poison_dead_lettered)
{
	faas_redis_source_options_t o = options();
	faas_redis_stats_t st = FAAS_REDIS_STATS_INIT;
	struct want w = { 20, 3 };
	faas_error_detail_t d;
	faas_runtime_t *rt = runtime();
	faas_source_t *src;
	faas_mapping_t *m;
	redisReply *r;
	bool found = false;

	add(10, "a");
	add(3, "poison");
	add(10, "b");
	ck_assert_int_eq(faas_redis_source_new(&src, &o, &d), 0);
	m = map(rt, src, 10);
	ck_assert_msg(wait_for(dlq_len, &w, 20), "dead letters: %lld",
	              cmd_int("XLEN jobs:dead-letter"));
	ck_assert_msg(wait_for(settled, NULL, 10), "%lld still pending", pending("jobs", "workers"));
	ck_assert_int_eq(seen(), 20); /* the good ones once each */
	ck_assert_int_eq(cmd_int("XLEN jobs:dead-letter"), 3);
	r = cmd("XRANGE jobs:dead-letter - +");
	ck_assert_int_eq(r->type, REDIS_REPLY_ARRAY);
	for (size_t i = 0; i < r->elements; i++) {
		redisReply *f = r->element[i]->element[1];
		for (size_t j = 0; j + 1 < f->elements; j += 2) {
			if (!strcmp(f->element[j]->str, "faas-deliveries"))
				ck_assert_str_eq(f->element[j + 1]->str, "3");
			if (!strcmp(f->element[j]->str, "faas-error-type"))
				ck_assert_str_eq(f->element[j + 1]->str, "ReportedBatchItemFailure");
			if (!strcmp(f->element[j]->str, "body")) {
				ck_assert_ptr_nonnull(strstr(f->element[j + 1]->str, "poison"));
				found = true;
			}
		}
	}
	freeReplyObject(r);
	ck_assert_msg(found, "the original fields are kept");
	for (int i = 0; i < 200 && (faas_redis_source_stats(src, &st), st.dead_lettered < 3); i++)
		usleep(5000); /* counted once EXEC answered */
	ck_assert_int_eq(faas_redis_source_stats(src, &st), 0);
	ck_assert_uint_eq(st.dead_lettered, 3);
	ck_assert_uint_eq(st.failed, 9); /* delivered 3 times each */
	ck_assert_uint_eq(st.claimed, 6);
	faas_source_free(src);
	ck_assert_int_eq(faas_mapping_delete(m, &d), 0);
	faas_runtime_free(rt);
}
END_TEST

/* The dead-letter key is not a stream: the write fails, and the poison
 * entries stay pending (never acknowledged unwritten); once the key is
 * fixed they are dead-lettered. */
START_TEST(redis_dead_letter_refused)
{
	faas_redis_source_options_t o = options();
	faas_redis_stats_t st = FAAS_REDIS_STATS_INIT;
	struct want w = { 0, 2 };
	faas_error_detail_t d;
	faas_runtime_t *rt = runtime();
	faas_source_t *src;
	faas_mapping_t *m;

	freeReplyObject(cmd("SET jobs:dead-letter not-a-stream"));
	add(2, "poison");
	o.max_deliveries = 1;
	ck_assert_int_eq(faas_redis_source_new(&src, &o, &d), 0);
	m = map(rt, src, 10);
	for (int i = 0; i < 400 && (faas_redis_source_stats(src, &st), st.errors < 2); i++)
		usleep(5000);
	ck_assert_uint_ge(st.errors, 2);
	ck_assert_ptr_nonnull(strstr(st.last_error, "WRONGTYPE"));
	ck_assert_int_eq(pending("jobs", "workers"), 2); /* not lost */
	ck_assert_uint_eq(st.dead_lettered, 0);
	freeReplyObject(cmd("DEL jobs:dead-letter"));
	ck_assert_msg(wait_for(dlq_len, &w, 20), "dead letters: %lld", cmd_int("XLEN jobs:dead-letter"));
	ck_assert_msg(wait_for(settled, NULL, 10), "%lld still pending", pending("jobs", "workers"));
	faas_source_free(src);
	ck_assert_int_eq(faas_mapping_delete(m, &d), 0);
	faas_runtime_free(rt);
}
END_TEST

/* Two mappings over one source: their polls take turns on its connection. */
START_TEST(redis_two_mappings_one_source)
{
	faas_redis_source_options_t o = options();
	struct want w = { 300, 0 };
	faas_error_detail_t d;
	faas_runtime_t *rt = runtime();
	faas_source_t *src;
	faas_mapping_t *m1, *m2;

	add(300, "a");
	ck_assert_int_eq(faas_redis_source_new(&src, &o, &d), 0);
	m1 = map(rt, src, 10);
	m2 = map(rt, src, 10);
	ck_assert_msg(wait_for(seen_n, &w, 20), "processed %d of 300", seen());
	ck_assert_msg(wait_for(settled, NULL, 10), "%lld still pending", pending("jobs", "workers"));
	ck_assert_int_eq(seen(), 300);
	faas_source_free(src);
	ck_assert_int_eq(faas_mapping_delete(m1, &d), 0);
	ck_assert_int_eq(faas_mapping_delete(m2, &d), 0);
	faas_runtime_free(rt);
}
END_TEST

/* A consumer that read entries and died: after claim_idle_ms they move. */
START_TEST(redis_dead_consumer_reclaimed)
{
	faas_redis_source_options_t o = options();
	faas_redis_stats_t st = FAAS_REDIS_STATS_INIT;
	struct want w = { 8, 0 };
	faas_error_detail_t d;
	faas_runtime_t *rt = runtime();
	faas_source_t *src;
	faas_mapping_t *m;

	freeReplyObject(cmd("XGROUP CREATE jobs workers 0 MKSTREAM"));
	add(5, "a");
	freeReplyObject(cmd("XREADGROUP GROUP workers ghost COUNT 5 STREAMS jobs >"));
	add(3, "b");
	ck_assert_int_eq(pending("jobs", "workers"), 5);
	ck_assert_int_eq(faas_redis_source_new(&src, &o, &d), 0);
	m = map(rt, src, 10);
	ck_assert_msg(wait_for(seen_n, &w, 20), "processed %d of 8", seen());
	ck_assert_msg(wait_for(settled, NULL, 10), "%lld still pending", pending("jobs", "workers"));
	ck_assert_int_eq(faas_redis_source_stats(src, &st), 0);
	ck_assert_uint_eq(st.claimed, 5);
	ck_assert_int_eq(seen(), 8);
	faas_source_free(src);
	ck_assert_int_eq(faas_mapping_delete(m, &d), 0);
	faas_runtime_free(rt);
}
END_TEST

/* Redis goes away and comes back (its data kept): the source reconnects,
 * reports what failed meanwhile, and loses nothing. */
START_TEST(redis_restart_reconnects)
{
	faas_redis_source_options_t o = options();
	faas_redis_stats_t st = FAAS_REDIS_STATS_INIT;
	struct want w = { 10, 0 };
	faas_error_detail_t d;
	faas_runtime_t *rt = runtime();
	faas_source_t *src;
	faas_mapping_t *m;
	json_t *j;

	o.reconnect_min_ms = 20;
	o.reconnect_max_ms = 200;
	add(10, "a");
	ck_assert_int_eq(faas_redis_source_new(&src, &o, &d), 0);
	m = map(rt, src, 10);
	ck_assert_msg(wait_for(seen_n, &w, 20), "processed %d of 10", seen());
	test_redis_stop(&srv);
	usleep(300000); /* polls fail meanwhile (not asserted on time: counted below) */
	ck_assert_int_eq(test_redis_restart(&srv), 0);
	connect_cli();
	add(15, "b");
	w.n = 25;
	ck_assert_msg(wait_for(seen_n, &w, 20), "processed %d of 25", seen());
	ck_assert_msg(wait_for(settled, NULL, 10), "%lld still pending", pending("jobs", "workers"));
	ck_assert_int_eq(faas_redis_source_stats(src, &st), 0);
	ck_assert_uint_ge(st.connects, 2);
	ck_assert_uint_ge(st.errors, 1);
	ck_assert_msg(st.last_error[0] != '\0', "the failure is kept");
	ck_assert_int_eq(faas_mapping_describe(m, &j, &d), 0);
	ck_assert_int_ge(json_integer_value(json_object_get(json_object_get(j, "Metrics"),
	                                                    "SourceErrors")), 1);
	json_decref(j);
	ck_assert_int_ge(seen(), 25); /* at least once: duplicates are allowed, loss is not */
	faas_source_free(src);
	ck_assert_int_eq(faas_mapping_delete(m, &d), 0);
	faas_runtime_free(rt);
}
END_TEST

/* The group is destroyed under the source (a Redis that lost its data):
 * made again. batch_size caps each read. */
START_TEST(redis_group_recreated)
{
	faas_redis_source_options_t o = options();
	struct want w = { 5, 0 };
	faas_error_detail_t d;
	faas_runtime_t *rt = runtime();
	faas_source_t *src;
	faas_mapping_t *m;

	o.batch_size = 2;
	ck_assert_int_eq(faas_redis_source_new(&src, &o, &d), 0);
	ck_assert_int_eq(cmd_int("XGROUP DESTROY jobs workers"), 1);
	add(5, "a");
	m = map(rt, src, 10);
	ck_assert_msg(wait_for(seen_n, &w, 20), "processed %d of 5", seen());
	pthread_mutex_lock(&seen_lock);
	ck_assert_int_le(max_batch, 2); /* no window: a batch is what one read found */
	ck_assert_int_ge(nbatches, 3);
	pthread_mutex_unlock(&seen_lock);
	faas_source_free(src);
	ck_assert_int_eq(faas_mapping_delete(m, &d), 0);
	faas_runtime_free(rt);
}
END_TEST

/* Throttled batches are released and claimed back; filters see the body. */
START_TEST(redis_released_and_filtered)
{
	faas_redis_source_options_t o = options();
	faas_redis_stats_t st = FAAS_REDIS_STATS_INIT;
	faas_mapping_options_t mo = FAAS_MAPPING_OPTIONS_INIT;
	struct want w = { 6, 0 };
	faas_error_detail_t d;
	faas_runtime_t *rt = runtime();
	faas_source_t *src;
	faas_mapping_t *m;

	ck_assert_int_eq(faas_function_set_reserved_concurrency(rt, "worker", 0, &d), 0);
	add(6, "a");
	add(4, "skip");
	ck_assert_int_eq(faas_redis_source_new(&src, &o, &d), 0);
	mo.poll_interval_ms = 5;
	mo.filters[0] = "{\"body\":{\"kind\":[\"a\"]}}";
	ck_assert_int_eq(faas_mapping_create(rt, src, "worker", &mo, &m, &d), 0);
	for (int i = 0; i < 400 && (faas_redis_source_stats(src, &st), st.released < 6); i++)
		usleep(5000);
	ck_assert_uint_ge(st.released, 6);
	ck_assert_int_eq(seen(), 0);
	ck_assert_int_eq(faas_function_set_reserved_concurrency(rt, "worker", -1, &d), 0);
	ck_assert_msg(wait_for(seen_n, &w, 20), "processed %d of 6", seen());
	ck_assert_msg(wait_for(settled, NULL, 10), "%lld still pending", pending("jobs", "workers"));
	ck_assert_int_eq(seen(), 6); /* the 4 others matched no filter: acknowledged unseen */
	ck_assert_int_eq(cmd_int("XLEN jobs:dead-letter"), 0);
	pthread_mutex_lock(&seen_lock);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(last_record, "attributes"),
	                                                   "ApproximateReceiveCount")),
	                 "1"); /* released many times, delivered once */
	pthread_mutex_unlock(&seen_lock);
	faas_source_free(src);
	ck_assert_int_eq(faas_mapping_delete(m, &d), 0);
	faas_runtime_free(rt);
}
END_TEST


/* A released entry another consumer claimed meanwhile stays theirs: the
 * claim back asks for at least the time since the release as idle time,
 * and their claim made it idle for less. Without a thief it comes back. */
START_TEST(redis_released_not_taken_from_another)
{
	faas_redis_source_options_t o = options();
	faas_source_record_t r[4];
	faas_error_detail_t d;
	struct rs_src *s;
	redisReply *p;
	size_t n = 0;
	char id[64];

	o.claim_idle_ms = 60000; /* no XAUTOCLAIM in this test */
	ck_assert_int_eq(rs_src_open(&s, &o, &d), 0);
	add(2, "a");
	ck_assert_int_eq(rs_receive(s, 4, 30000, r, &n), 0);
	ck_assert_uint_eq(n, 2);
	/* record 0: released, then claimed by a thief 100 ms later */
	p = cmd("XPENDING jobs workers - + 10");
	ck_assert_int_eq((int)p->elements, 2);
	snprintf(id, sizeof(id), "%s", p->element[0]->element[0]->str);
	freeReplyObject(p);
	rs_release(s, &r[0]);
	rs_release(s, &r[1]); /* record 1: released, nobody takes it */
	json_decref(r[0].record);
	json_decref(r[1].record);
	usleep(100 * 1000);
	freeReplyObject(cmd("XCLAIM jobs workers thief 0 %s", id));
	n = 0;
	ck_assert_int_eq(rs_receive(s, 4, 30000, r, &n), 0);
	ck_assert_uint_eq(n, 1); /* its own one back, not the thief's */
	ck_assert_str_ne(r[0].id, id);
	json_decref(r[0].record);
	p = cmd("XPENDING jobs workers - + 10 thief");
	ck_assert_int_eq((int)p->elements, 1);
	ck_assert_str_eq(p->element[0]->element[0]->str, id);
	freeReplyObject(p);
	rs_close(s); /* frees it */
}
END_TEST

/* ---- the durable async store ------------------------------------------------------------ */

static pthread_mutex_t ev_lock = PTHREAD_MUTEX_INITIALIZER;
static int ev_runs, ev_fail_first, ev_seen_n[64];
static bool hang_allowed; /* only in the process that is killed */
static json_t *ev_records; /* destination records */

/* Fails its first ev_fail_first attempts (each event), then succeeds. */
static int ev_handler(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	int n = (int)json_integer_value(json_object_get(event, "n"));
	bool fail;

	(void)ud;
	pthread_mutex_lock(&ev_lock);
	ev_runs++;
	fail = n >= 0 && n < 64 && ev_seen_n[n]++ < ev_fail_first;
	pthread_mutex_unlock(&ev_lock);
	if (hang_allowed && json_is_true(json_object_get(event, "hang"))) {
		sleep(30); /* killed before it returns */
		return 0;
	}
	if (fail)
		return faas_context_fail(ctx, "Flaky", "attempt failed");
	*response = json_pack("{s:i}", "done", n);
	return 0;
}

static void on_record(json_t *record, void *ud)
{
	(void)ud;
	pthread_mutex_lock(&ev_lock);
	json_array_append(ev_records, record);
	pthread_mutex_unlock(&ev_lock);
}

static void ev_reset(int fail_first)
{
	pthread_mutex_lock(&ev_lock);
	ev_runs = 0;
	ev_fail_first = fail_first;
	memset(ev_seen_n, 0, sizeof(ev_seen_n));
	json_decref(ev_records);
	ev_records = json_array();
	pthread_mutex_unlock(&ev_lock);
}

static size_t nrecords(void)
{
	size_t n;

	pthread_mutex_lock(&ev_lock);
	n = json_array_size(ev_records);
	pthread_mutex_unlock(&ev_lock);
	return n;
}

static faas_redis_source_options_t store_options(const char *consumer)
{
	faas_redis_source_options_t o = options();

	o.stream = "events";
	o.group = "hosts";
	o.consumer = consumer;
	o.claim_idle_ms = 300;
	o.block_ms = 20;
	return o;
}

/* A runtime over the store, with function "ev" and its destinations. */
static faas_runtime_t *store_runtime(const char *consumer, int32_t retries, double scale)
{
	faas_runtime_options_t ro = FAAS_RUNTIME_OPTIONS_INIT;
	faas_redis_source_options_t o = store_options(consumer);
	faas_function_config_t fc = FAAS_FUNCTION_CONFIG_INIT;
	faas_event_invoke_config_t ec = FAAS_EVENT_INVOKE_CONFIG_INIT;
	faas_error_detail_t d;
	faas_runtime_t *rt;

	ro.async_delay_scale = scale;
	ck_assert_msg(faas_redis_async_store(&ro, &o, &d) == 0, "%s", d.message);
	ck_assert_msg(faas_runtime_new(&rt, &ro, &d) == 0, "%s", d.message);
	fc.handler = ev_handler;
	fc.timeout_ms = 1000;
	ck_assert_int_eq(faas_function_create(rt, "ev", &fc, &d), 0);
	ec.max_retry_attempts = retries;
	ec.on_success.kind = ec.on_failure.kind = FAAS_DESTINATION_CALLBACK;
	ec.on_success.callback = ec.on_failure.callback = on_record;
	ck_assert_int_eq(faas_function_set_event_invoke_config(rt, "ev", NULL, &ec, &d), 0);
	return rt;
}

static void send_event(faas_runtime_t *rt, int n, bool hang, int want)
{
	faas_invoke_options_t io = FAAS_INVOKE_OPTIONS_INIT;
	faas_result_t res = FAAS_RESULT_INIT;
	json_t *ev = json_pack("{s:i,s:b}", "n", n, "hang", hang);

	io.type = FAAS_INVOKE_EVENT;
	ck_assert_int_eq(faas_invoke(rt, "ev", ev, &io, &res), want);
	if (want == 0)
		ck_assert_int_eq(res.status_code, 202);
	faas_result_clear(&res);
	json_decref(ev);
}

static int runs(void)
{
	int n;

	pthread_mutex_lock(&ev_lock);
	n = ev_runs;
	pthread_mutex_unlock(&ev_lock);
	return n;
}

static int seen_count(int i)
{
	int n;

	pthread_mutex_lock(&ev_lock);
	n = ev_seen_n[i];
	pthread_mutex_unlock(&ev_lock);
	return n;
}

static bool records_n(void *arg)
{
	return nrecords() >= (size_t)((struct want *)arg)->n;
}

static bool store_empty(void *arg)
{
	(void)arg;
	return cmd_int("XLEN events") == 0 && pending("events", "hosts") == 0;
}

static const char *record_str(size_t i, const char *obj, const char *key)
{
	const char *v;

	pthread_mutex_lock(&ev_lock);
	v = json_string_value(json_object_get(json_object_get(json_array_get(ev_records, i), obj), key));
	pthread_mutex_unlock(&ev_lock);
	return v;
}

static int record_int(size_t i, const char *obj, const char *key)
{
	int v;

	pthread_mutex_lock(&ev_lock);
	v = (int)json_integer_value(
	        json_object_get(json_object_get(json_array_get(ev_records, i), obj), key));
	pthread_mutex_unlock(&ev_lock);
	return v;
}

/* Accepted means stored; retries go through the store; the entry goes at the end. */
START_TEST(redis_store_retries)
{
	struct want w = { 10, 0 };
	faas_runtime_t *rt;
	json_t *m;
	faas_error_detail_t d;

	ev_reset(2); /* two failures each, then success: 3 attempts */
	rt = store_runtime("a", 2, 0.0001);
	for (int i = 0; i < 10; i++)
		send_event(rt, i, false, 0);
	ck_assert_msg(wait_for(records_n, &w, 20), "%zu of 10 ended", nrecords());
	ck_assert_msg(wait_for(store_empty, NULL, 10), "left: %lld entries, %lld pending",
	              cmd_int("XLEN events"), pending("events", "hosts"));
	ck_assert_int_eq(runs(), 30);
	for (size_t i = 0; i < 10; i++) {
		ck_assert_str_eq(record_str(i, "requestContext", "condition"), "Success");
		ck_assert_int_eq(record_int(i, "requestContext", "approximateInvokeCount"), 3);
	}
	ck_assert_int_eq(faas_metrics_json(rt, &m, &d), 0);
	{
		json_t *st = json_object_get(json_object_get(m, "Async"), "Store");
		ck_assert_int_eq(json_integer_value(json_object_get(st, "Put")), 10);
		ck_assert_int_eq(json_integer_value(json_object_get(st, "Again")), 20);
		ck_assert_int_eq(json_integer_value(json_object_get(st, "Done")), 10);
		ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(m, "Async"),
		                                                    "AsyncEventsReceived")), 10);
	}
	json_decref(m);
	faas_runtime_free(rt);
}
END_TEST

/* Retries exhausted: the failure destination, and the entry goes. */
START_TEST(redis_store_failure_destination)
{
	struct want w = { 3, 0 };
	faas_runtime_t *rt;

	ev_reset(100);
	rt = store_runtime("a", 1, 0.0001);
	for (int i = 0; i < 3; i++)
		send_event(rt, i, false, 0);
	ck_assert_msg(wait_for(records_n, &w, 20), "%zu of 3 ended", nrecords());
	ck_assert_msg(wait_for(store_empty, NULL, 10), "entries left");
	for (size_t i = 0; i < 3; i++) {
		ck_assert_str_eq(record_str(i, "requestContext", "condition"), "RetriesExhausted");
		ck_assert_int_eq(record_int(i, "requestContext", "approximateInvokeCount"), 2);
		ck_assert_str_eq(record_str(i, "responseContext", "functionError"), "Unhandled");
	}
	faas_runtime_free(rt);
}
END_TEST

/* A process accepts events and is killed before they end: another runtime
 * of the store runs every one of them. */
START_TEST(redis_store_survives_a_crash)
{
	struct want w = { 20, 0 };
	faas_runtime_t *rt;
	int p[2];
	pid_t pid;
	char c;

	ev_reset(0);
	ck_assert_int_eq(pipe(p), 0);
	if ((pid = fork()) == 0) { /* the host that dies */
		faas_runtime_t *crt;
		hang_allowed = true;
		connect_cli();
		crt = store_runtime("doomed", 2, 0.0001);
		for (int i = 0; i < 20; i++)
			send_event(crt, i, true, 0); /* each hangs in its handler */
		if (write(p[1], "x", 1) != 1)
			_exit(2);
		pause();
		_exit(0);
	}
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	usleep(100000); /* some are running, the rest queued there */
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	ck_assert_int_eq(cmd_int("XLEN events"), 20); /* all 20 accepted, none ended */
	/* the survivor: the same program, where the handler does not hang */
	ev_reset(0);
	rt = store_runtime("survivor", 2, 0.0001);
	ck_assert_msg(wait_for(records_n, &w, 30), "%zu of 20 ended", nrecords());
	ck_assert_msg(wait_for(store_empty, NULL, 10), "entries left");
	for (int i = 0; i < 20; i++)
		ck_assert_int_ge(seen_count(i), 1);
	faas_runtime_free(rt);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* Redis down: the invoke fails, nothing is accepted silently. */
START_TEST(redis_store_put_fails)
{
	faas_invoke_options_t io = FAAS_INVOKE_OPTIONS_INIT;
	faas_result_t res = FAAS_RESULT_INIT;
	faas_runtime_t *rt;
	json_t *ev = json_pack("{s:i}", "n", 1);

	ev_reset(0);
	rt = store_runtime("a", 2, 0.0001);
	test_redis_stop(&srv);
	io.type = FAAS_INVOKE_EVENT;
	ck_assert_int_eq(faas_invoke(rt, "ev", ev, &io, &res), FAAS_ETIMEDOUT);
	ck_assert_msg(strstr(res.message, "async store did not take the event") != NULL, "%s",
	              res.message);
	faas_result_clear(&res);
	json_decref(ev);
	usleep(100000);
	ck_assert_int_eq(runs(), 0);
	faas_runtime_free(rt);
}
END_TEST

/* At shutdown an event waiting for its retry goes back to the store; a
 * later runtime takes it with its attempts counted. */
START_TEST(redis_store_shutdown_leaves)
{
	struct want w = { 1, 0 };
	faas_runtime_t *rt;
	json_t *m;
	faas_error_detail_t d;

	ev_reset(1);
	rt = store_runtime("first", 2, 0.03); /* retry after 1.8 s */
	send_event(rt, 7, false, 0);
	for (int i = 0; i < 400 && runs() < 1; i++)
		usleep(5000);
	ck_assert_int_eq(runs(), 1);
	for (int i = 0; i < 400; i++) { /* the retry's state: in the store, taken back, waiting */
		json_int_t taken;
		ck_assert_int_eq(faas_metrics_json(rt, &m, &d), 0);
		taken = json_integer_value(json_object_get(
		        json_object_get(json_object_get(m, "Async"), "Store"), "Taken"));
		json_decref(m);
		if (taken == 2)
			break;
		usleep(5000);
	}
	/* held: past claim_idle_ms (300) the entry is still fresh, never re-claimed */
	usleep(700000);
	{
		redisReply *p = cmd("XPENDING events hosts - + 10");
		ck_assert_int_eq(p->type, REDIS_REPLY_ARRAY);
		ck_assert_uint_eq(p->elements, 1);
		ck_assert_str_eq(p->element[0]->element[1]->str, "first");
		ck_assert_int_lt(p->element[0]->element[2]->integer, 300); /* idle ms */
		ck_assert_int_eq(p->element[0]->element[3]->integer, 1);   /* deliveries */
		freeReplyObject(p);
	}
	ck_assert_int_eq(faas_runtime_shutdown(rt, 0), 0);
	ck_assert_int_eq(faas_metrics_json(rt, &m, &d), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(
	                         json_object_get(json_object_get(m, "Async"), "Store"), "StoreLeft")),
	                 1);
	json_decref(m);
	faas_runtime_free(rt);
	ck_assert_int_eq(nrecords(), 0); /* not ended with "Shutdown" */
	ck_assert_int_eq(cmd_int("XLEN events"), 1);
	rt = store_runtime("second", 2, 0.03);
	ck_assert_msg(wait_for(records_n, &w, 20), "not run after the restart");
	ck_assert_str_eq(record_str(0, "requestContext", "condition"), "Success");
	ck_assert_int_eq(record_int(0, "requestContext", "approximateInvokeCount"), 2);
	ck_assert_msg(wait_for(store_empty, NULL, 10), "entries left");
	faas_runtime_free(rt);
}
END_TEST

/* Redis restarts while events are stored and retried: every one still ends
 * in success (at least once: an event may end twice). */
START_TEST(redis_store_restart)
{
	struct want w = { 20, 0 };
	faas_runtime_t *rt;

	ev_reset(1);
	rt = store_runtime("a", 2, 0.002); /* retries after 120 ms */
	for (int i = 0; i < 20; i++)
		send_event(rt, i, false, 0);
	test_redis_stop(&srv);
	usleep(200000);
	ck_assert_int_eq(test_redis_restart(&srv), 0);
	connect_cli();
	ck_assert_msg(wait_for(records_n, &w, 30), "%zu of 20 ended", nrecords());
	ck_assert_msg(wait_for(store_empty, NULL, 20), "left: %lld entries, %lld pending",
	              cmd_int("XLEN events"), pending("events", "hosts"));
	for (int i = 0; i < 20; i++)
		ck_assert_int_ge(seen_count(i), 2);
	{ /* what failed meanwhile is in the runtime's metrics */
		faas_error_detail_t d;
		json_t *m;
		ck_assert_int_eq(faas_metrics_json(rt, &m, &d), 0);
		ck_assert_int_ge(json_integer_value(json_object_get(
		                         json_object_get(json_object_get(m, "Async"), "Store"),
		                         "StoreErrors")),
		                 1);
		json_decref(m);
	}
	faas_runtime_free(rt);
	pthread_mutex_lock(&ev_lock);
	for (size_t i = 0; i < json_array_size(ev_records); i++)
		ck_assert_str_eq(json_string_value(json_object_get(json_object_get(
		                         json_array_get(ev_records, i), "requestContext"), "condition")),
		                 "Success");
	pthread_mutex_unlock(&ev_lock);
}
END_TEST

START_TEST(redis_store_bad_input)
{
	faas_runtime_options_t ro = FAAS_RUNTIME_OPTIONS_INIT;
	faas_redis_source_options_t o = store_options("x");
	faas_error_detail_t d;
	faas_runtime_t *rt = (faas_runtime_t *)&d;

	ck_assert_int_eq(faas_redis_async_store(NULL, &o, &d), FAAS_EINVAL);
	ro.version = 2;
	ck_assert_int_eq(faas_redis_async_store(&ro, &o, &d), FAAS_EINVAL);
	ro.version = FAAS_RUNTIME_OPTIONS_VERSION;
	o.group = NULL;
	ck_assert_int_eq(faas_redis_async_store(&ro, &o, &d), FAAS_EINVAL);
	ck_assert_ptr_null(ro.async_store);
	o = store_options("x");
	o.port = 1;
	ck_assert_int_eq(faas_redis_async_store(&ro, &o, &d), FAAS_ETIMEDOUT);
	/* inline mode cannot take one: the store is closed all the same (ASan: no leak) */
	o = store_options("x");
	ck_assert_int_eq(faas_redis_async_store(&ro, &o, &d), 0);
	ro.inline_mode = 1;
	ck_assert_int_eq(faas_runtime_new(&rt, &ro, &d), FAAS_EINVAL);
	ck_assert_ptr_null(rt);
	ck_assert_msg(strstr(d.message, "inline") != NULL, "%s", d.message);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("redis");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, redis_bad_input);
	tcase_add_test(tc, redis_records_acked);
	tcase_add_test(tc, redis_poison_dead_lettered);
	tcase_add_test(tc, redis_dead_consumer_reclaimed);
	tcase_add_test(tc, redis_dead_letter_refused);
	tcase_add_test(tc, redis_two_mappings_one_source);
	tcase_add_test(tc, redis_restart_reconnects);
	tcase_add_test(tc, redis_group_recreated);
	tcase_add_test(tc, redis_released_and_filtered);
	tcase_add_test(tc, redis_released_not_taken_from_another);
	tcase_add_test(tc, redis_store_bad_input);
	tcase_add_test(tc, redis_store_retries);
	tcase_add_test(tc, redis_store_failure_destination);
	tcase_add_test(tc, redis_store_put_fails);
	tcase_add_test(tc, redis_store_shutdown_leaves);
	tcase_add_test(tc, redis_store_survives_a_crash);
	tcase_add_test(tc, redis_store_restart);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
