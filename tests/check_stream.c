/*
 * libfaas tests — the built-in stream (shards, partition keys, sequence
 * numbers, retention) and mappings over it with Lambda's stream rules:
 * order per shard, a failing batch blocking its shard, retries, record
 * age, partial batch responses checkpointing at the lowest failure,
 * bisect, parallelization factor, starting positions, filters on data.
 */
#include "tests.h"

#include "mapping_int.h"
#include "stream_int.h"

#include <stdlib.h>

/* ---- what handlers saw ------------------------------------------------------------ */

#define SEEN_MAX 256

static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static json_t *seen[SEEN_MAX];
static int nseen;
static json_t *failures[16]; /* on-failure records */
static int nfailures;

static void reset(void)
{
	int i;

	for (i = 0; i < nseen; i++)
		json_decref(seen[i]);
	for (i = 0; i < nfailures; i++)
		json_decref(failures[i]);
	nseen = nfailures = 0;
}

static void on_failure(json_t *record, void *ud)
{
	(void)ud;
	if (nfailures < 16)
		failures[nfailures++] = json_incref(record);
}

static json_t *rec_of(int batch, size_t i)
{
	return json_array_get(json_object_get(seen[batch], "Records"), i);
}

static size_t nrec(int batch)
{
	return json_array_size(json_object_get(seen[batch], "Records"));
}

/* The payload of a record (base64 data decoded), as text. */
static char *payload(json_t *rec)
{
	const char *b64 = t_jstr(json_object_get(rec, "kinesis"), "data");
	size_t len = 0;
	unsigned char *raw = faas__base64_decode(b64, &len);
	char *s = malloc(len + 1);

	memcpy(s, raw, len);
	s[len] = '\0';
	faas__free(raw);
	return s;
}

/* Fails a batch holding a "poison" record; with user_data "report", reports
 * the first poison record instead (ReportBatchItemFailures). */
static int stream_h(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	json_t *recs = json_object_get(event, "Records"), *r;
	const char *poison = NULL;
	size_t i;

	pthread_mutex_lock(&seen_lock);
	if (nseen < SEEN_MAX)
		seen[nseen++] = json_incref(event);
	pthread_mutex_unlock(&seen_lock);
	json_array_foreach(recs, i, r) {
		char *p = payload(r);
		bool bad = strstr(p, "poison") != NULL;
		free(p);
		if (bad) {
			poison = t_jstr(json_object_get(r, "kinesis"), "sequenceNumber");
			break;
		}
	}
	if (!poison) {
		*response = NULL;
		return 0;
	}
	if (ud && !strcmp(ud, "report")) {
		*response = json_pack("{s:[{s:s}]}", "batchItemFailures", "itemIdentifier", poison);
		return 0;
	}
	return faas_context_fail(ctx, "Poison", "a poison record");
}

/* ---- set-up ------------------------------------------------------------------------ */

static faas_runtime_t *rt_inline(void)
{
	faas_runtime_options_t o = t_options();

	o.inline_mode = 1;
	return t_runtime_with(&o);
}

static faas_stream_t *mks(faas_runtime_t *rt, uint32_t shards)
{
	faas_stream_options_t o = FAAS_STREAM_OPTIONS_INIT;
	faas_error_detail_t d;
	faas_stream_t *s = NULL;

	o.shards = shards;
	ck_assert_ok(faas_stream_create(rt, "events", &o, &s, &d), d);
	return s;
}

static void put(faas_stream_t *s, const char *key, const char *data)
{
	faas_error_detail_t d;

	ck_assert_ok(faas_stream_put(s, key, data, strlen(data), NULL, NULL, &d), d);
}

static faas_mapping_t *mkmap(faas_runtime_t *rt, faas_stream_t *s,
                             const faas_stream_source_options_t *so, const faas_mapping_options_t *mo)
{
	faas_error_detail_t d;
	faas_source_t *src;
	faas_mapping_t *m;

	ck_assert_ok(faas_stream_source_new(s, so, &src, &d), d);
	ck_assert_ok(faas_mapping_create(rt, src, "f", mo, &m, &d), d);
	faas_source_free(src);
	return m;
}

static void advance(faas_runtime_t *rt, uint64_t ms)
{
	ck_assert_int_eq(faas_clock_advance(rt, ms), 0);
	t_settle(rt);
}

/* ---- the stream itself ------------------------------------------------------------ */

START_TEST(stream_put_shards_and_sequences)
{
	static const char *const keys[] = { "1", "a", "key-7", "user-42" };
	static const uint32_t want[] = { 3, 0, 1, 1 }; /* MD5 of the key, 4 even ranges */
	faas_runtime_t *rt = rt_inline();
	faas_stream_t *s = mks(rt, 4);
	faas_error_detail_t d;
	char seq[FAAS_STREAM_SEQ_MAX], prev[FAAS_STREAM_SEQ_MAX] = "";
	uint32_t shard;
	size_t i;

	ck_assert_str_eq(faas_stream_arn(s), "arn:aws:kinesis:us-east-1:123456789012:stream/events");
	ck_assert_ptr_eq(faas_stream_find(rt, "events"), s);
	ck_assert_uint_eq(faas_stream_shard_count(s), 4);
	for (i = 0; i < 4; i++) {
		ck_assert_ok(faas_stream_put(s, keys[i], "x", 1, &shard, seq, &d), d);
		ck_assert_uint_eq(shard, want[i]);
		ck_assert_uint_eq(strlen(seq), 26);
		ck_assert_int_gt(strcmp(seq, prev), 0); /* increasing, as text too */
		strcpy(prev, seq);
	}
	ck_assert_ok(faas_stream_put(s, "1", "", 0, &shard, NULL, &d), d); /* empty data is fine */
	ck_assert_uint_eq(faas_stream_shard_records(s, 3), 2);
	ck_assert_uint_eq(faas_stream_shard_records(s, 1), 2);
	ck_assert_uint_eq(faas_stream_shard_records(s, 9), 0);
	faas_runtime_free(rt);
}
END_TEST

START_TEST(stream_bad_input)
{
	faas_runtime_t *rt = rt_inline();
	faas_stream_options_t o = FAAS_STREAM_OPTIONS_INIT;
	faas_stream_source_options_t so = FAAS_STREAM_SOURCE_OPTIONS_INIT;
	faas_error_detail_t d;
	faas_stream_t *s, *bad;
	faas_source_t *src;
	char key[300];

	ck_assert_fail(faas_stream_create(rt, "bad name", NULL, &bad, &d), d, FAAS_EINVAL, "streamName");
	ck_assert_fail(faas_stream_create(rt, "", NULL, &bad, &d), d, FAAS_EINVAL, "streamName");
	ck_assert_fail(faas_stream_create(rt, NULL, NULL, &bad, &d), d, FAAS_EINVAL, "NULL");
	ck_assert_fail(faas_stream_create(rt, "s", NULL, NULL, &d), d, FAAS_EINVAL, "out");
	o.shards = 65;
	ck_assert_fail(faas_stream_create(rt, "s", &o, &bad, &d), d, FAAS_EINVAL, "shards");
	o.shards = 1;
	o.capacity = 2;
	o.max_record_bytes = 4;
	ck_assert_ok(faas_stream_create(rt, "s", &o, &s, &d), d);
	ck_assert_fail(faas_stream_create(rt, "s", NULL, &bad, &d), d, FAAS_EEXIST, "already exists");
	ck_assert_fail(faas_stream_put(s, "", "x", 1, NULL, NULL, &d), d, FAAS_EINVAL, "partitionKey");
	memset(key, 'k', 257);
	key[257] = '\0';
	ck_assert_fail(faas_stream_put(s, key, "x", 1, NULL, NULL, &d), d, FAAS_EINVAL, "partitionKey");
	ck_assert_fail(faas_stream_put(s, NULL, "x", 1, NULL, NULL, &d), d, FAAS_EINVAL, "partitionKey");
	ck_assert_fail(faas_stream_put(s, "k", NULL, 1, NULL, NULL, &d), d, FAAS_EINVAL, "data");
	ck_assert_fail(faas_stream_put(s, "k", "12345", 5, NULL, NULL, &d), d, FAAS_ETOOLARGE, "4");
	put(s, "k", "1");
	put(s, "k", "2");
	ck_assert_fail(faas_stream_put(s, "k", "3", 1, NULL, NULL, &d), d, FAAS_EAGAIN, "Rate exceeded");
	ck_assert_fail(faas_stream_put(NULL, "k", "3", 1, NULL, NULL, &d), d, FAAS_EINVAL, "stream");
	/* sources */
	so.parallelization_factor = 11;
	ck_assert_fail(faas_stream_source_new(s, &so, &src, &d), d, FAAS_EINVAL, "parallelizationFactor");
	so.parallelization_factor = 1;
	so.maximum_retry_attempts = -2;
	ck_assert_fail(faas_stream_source_new(s, &so, &src, &d), d, FAAS_EINVAL, "maximum_retry_attempts");
	so.maximum_retry_attempts = -1;
	so.maximum_record_age_ms = 604800001;
	ck_assert_fail(faas_stream_source_new(s, &so, &src, &d), d, FAAS_EINVAL, "maximum_record_age_ms");
	so.maximum_record_age_ms = -1;
	so.on_failure.kind = FAAS_DESTINATION_FUNCTION;
	so.on_failure.function = "f";
	ck_assert_fail(faas_stream_source_new(s, &so, &src, &d), d, FAAS_EINVAL, "callback or a queue");
	so.on_failure.kind = FAAS_DESTINATION_CALLBACK;
	ck_assert_fail(faas_stream_source_new(s, &so, &src, &d), d, FAAS_EINVAL, "needs a callback");
	so.on_failure.kind = FAAS_DESTINATION_NONE;
	so.starting_position = (faas_starting_position_t)7;
	ck_assert_fail(faas_stream_source_new(s, &so, &src, &d), d, FAAS_EINVAL, "starting_position");
	ck_assert_fail(faas_stream_source_new(NULL, NULL, &src, &d), d, FAAS_EINVAL, "NULL");
	/* one mapping per stream source */
	t_create_fn(rt, "f", stream_h, NULL);
	ck_assert_ok(faas_stream_source_new(s, NULL, &src, &d), d);
	ck_assert_ok(faas_mapping_create(rt, src, "f", NULL, &(faas_mapping_t *){ NULL }, &d), d);
	ck_assert_fail(faas_mapping_create(rt, src, "f", NULL, &(faas_mapping_t *){ NULL }, &d), d,
	               FAAS_EINVAL, "one mapping");
	faas_source_free(src);
	ck_assert_ok(faas_stream_delete(s, &d), d);
	ck_assert_ptr_null(faas_stream_find(rt, "s"));
	faas_runtime_free(rt);
}
END_TEST

START_TEST(stream_retention)
{
	faas_runtime_t *rt = rt_inline();
	faas_stream_options_t o = FAAS_STREAM_OPTIONS_INIT;
	faas_error_detail_t d;
	faas_stream_t *s;

	o.retention_ms = 60000;
	ck_assert_ok(faas_stream_create(rt, "s", &o, &s, &d), d);
	put(s, "k", "old");
	faas_clock_advance(rt, 30000);
	put(s, "k", "newer");
	ck_assert_uint_eq(faas_stream_shard_records(s, 0), 2);
	faas_clock_advance(rt, 30000); /* the first is 60 s old */
	ck_assert_uint_eq(faas_stream_shard_records(s, 0), 1);
	faas_clock_advance(rt, 30000);
	ck_assert_uint_eq(faas_stream_shard_records(s, 0), 0);
	faas_runtime_free(rt);
}
END_TEST

/* ---- mappings over it ------------------------------------------------------------------ */

START_TEST(stream_kinesis_record_shape)
{
	faas_runtime_t *rt = rt_inline();
	faas_stream_t *s = mks(rt, 1);
	faas_error_detail_t d;
	char seq[FAAS_STREAM_SEQ_MAX], id[64];
	json_t *r, *want;
	faas_mapping_t *m;

	t_create_fn(rt, "f", stream_h, NULL);
	m = mkmap(rt, s, NULL, NULL);
	ck_assert_ok(faas_stream_put(s, "1", "Hello, this is a test.", 22, NULL, seq, &d), d);
	advance(rt, 1);
	ck_assert_int_eq(nseen, 1);
	r = rec_of(0, 0);
	snprintf(id, sizeof(id), "shardId-000000000000:%s", seq);
	want = json_pack("{s:{s:s,s:s,s:s,s:s,s:f},s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "kinesis",
	                 "kinesisSchemaVersion", "1.0", "partitionKey", "1", "sequenceNumber", seq,
	                 "data", "SGVsbG8sIHRoaXMgaXMgYSB0ZXN0Lg==", "approximateArrivalTimestamp",
	                 1700000000.0, "eventSource", "aws:kinesis", "eventVersion", "1.0",
	                 "eventID", id, "eventName", "aws:kinesis:record", "invokeIdentityArn",
	                 "arn:aws:iam::123456789012:role/lambda-role", "awsRegion", "us-east-1",
	                 "eventSourceARN", "arn:aws:kinesis:us-east-1:123456789012:stream/events");
	ck_assert(json_equal(r, want));
	ck_assert_str_eq(t_jstr(r, "eventSource"), "aws:kinesis");
	json_decref(want);
	(void)m;
	faas_runtime_free(rt);
	reset();
}
END_TEST

/* Every batch holds one shard's records; each shard's come in order. */
START_TEST(stream_order_per_shard)
{
	faas_runtime_t *rt = rt_inline();
	faas_stream_t *s = mks(rt, 3);
	faas_mapping_options_t mo = FAAS_MAPPING_OPTIONS_INIT;
	char key[16], last[3][FAAS_STREAM_SEQ_MAX] = { "", "", "" };
	int i, b, total = 0;

	t_create_fn(rt, "f", stream_h, NULL);
	mo.batch_size = 7;
	mkmap(rt, s, NULL, &mo);
	for (i = 0; i < 60; i++) {
		snprintf(key, sizeof(key), "k%d", i % 11);
		put(s, key, "x");
	}
	advance(rt, 1);
	for (b = 0; b < nseen; b++) {
		const char *shard = NULL;
		ck_assert_uint_le(nrec(b), 7);
		for (size_t k = 0; k < nrec(b); k++) {
			json_t *r = rec_of(b, k);
			const char *eid = t_jstr(r, "eventID");
			const char *seq = t_jstr(json_object_get(r, "kinesis"), "sequenceNumber");
			int sh = eid[19] - '0';
			if (!shard)
				shard = eid;
			ck_assert_int_eq(strncmp(eid, shard, 20), 0); /* one shard per batch */
			ck_assert_int_gt(strcmp(seq, last[sh]), 0);   /* in order */
			strcpy(last[sh], seq);
			total++;
		}
	}
	ck_assert_int_eq(total, 60);
	faas_runtime_free(rt);
	reset();
}
END_TEST

START_TEST(stream_failure_blocks_shard_then_retries_run_out)
{
	faas_runtime_t *rt = rt_inline();
	faas_stream_t *s = mks(rt, 2);
	faas_stream_source_options_t so = FAAS_STREAM_SOURCE_OPTIONS_INIT;
	faas_mapping_options_t mo = FAAS_MAPPING_OPTIONS_INIT;
	json_t *info;
	int i, shard3 = 0;

	t_create_fn(rt, "f", stream_h, NULL);
	so.maximum_retry_attempts = 2;
	so.on_failure.kind = FAAS_DESTINATION_CALLBACK;
	so.on_failure.callback = on_failure;
	mo.batch_size = 10;
	mkmap(rt, s, &so, &mo);
	put(s, "1", "ok-1");     /* shard 1 of 2 ("1" hashes high) */
	put(s, "1", "poison");
	put(s, "a", "other-1");  /* shard 0 */
	advance(rt, 1);
	ck_assert_int_eq(nseen, 2);
	advance(rt, 999); /* the retry waits 1 s ... */
	ck_assert_int_eq(nseen, 2);
	advance(rt, 1);
	ck_assert_int_eq(nseen, 3);
	advance(rt, 2000); /* ... the next 2 s */
	/* shard 1: the first try and 2 retries; shard 0 went through once */
	for (i = 0; i < nseen; i++)
		shard3 += strncmp(t_jstr(rec_of(i, 0), "eventID"), "shardId-000000000001", 20) == 0;
	ck_assert_int_eq(shard3, 3);
	ck_assert_int_eq(nseen, 4);
	ck_assert_int_eq(nfailures, 1);
	ck_assert_str_eq(t_jstr(json_object_get(failures[0], "requestContext"), "condition"),
	                 "RetryAttemptsExhausted");
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(failures[0], "requestContext"),
	                                                    "approximateInvokeCount")),
	                 3);
	ck_assert_str_eq(t_jstr(json_object_get(failures[0], "requestContext"), "functionArn"),
	                 "arn:aws:lambda:us-east-1:123456789012:function:f");
	ck_assert_str_eq(t_jstr(json_object_get(failures[0], "responseContext"), "functionError"),
	                 "Unhandled");
	info = json_object_get(failures[0], "KinesisBatchInfo");
	ck_assert_str_eq(t_jstr(info, "shardId"), "shardId-000000000001");
	ck_assert_int_eq(json_integer_value(json_object_get(info, "batchSize")), 2);
	ck_assert_str_eq(t_jstr(info, "streamArn"), "arn:aws:kinesis:us-east-1:123456789012:stream/events");
	ck_assert_str_eq(t_jstr(info, "approximateArrivalOfFirstRecord"), "2023-11-14T22:13:20.000Z");
	/* the shard moved on: new records flow */
	put(s, "1", "after");
	advance(rt, 1);
	ck_assert_int_eq(nseen, 5);
	ck_assert_uint_eq(nrec(4), 1);
	faas_runtime_free(rt);
	reset();
}
END_TEST

/* ReportBatchItemFailures: checkpoint at the lowest failure, retry from there. */
START_TEST(stream_partial_failure_checkpoint)
{
	faas_runtime_t *rt = rt_inline();
	faas_stream_t *s = mks(rt, 1);
	faas_stream_source_options_t so = FAAS_STREAM_SOURCE_OPTIONS_INIT;
	faas_mapping_options_t mo = FAAS_MAPPING_OPTIONS_INIT;
	char *p;

	t_create_fn(rt, "f", stream_h, (void *)"report");
	so.maximum_retry_attempts = 0;
	so.on_failure.kind = FAAS_DESTINATION_CALLBACK;
	so.on_failure.callback = on_failure;
	mo.report_batch_item_failures = 1;
	mkmap(rt, s, &so, &mo);
	put(s, "k", "r1");
	put(s, "k", "r2");
	put(s, "k", "poison");
	put(s, "k", "r4");
	advance(rt, 1);
	/* 1: all four, the third reported; with no retries it is discarded from there */
	ck_assert_int_eq(nseen, 1);
	ck_assert_uint_eq(nrec(0), 4);
	ck_assert_int_eq(nfailures, 1);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(failures[0], "KinesisBatchInfo"),
	                                                    "batchSize")),
	                 4);
	reset();
	faas_runtime_free(rt);

	/* with retries: the retry starts at the reported record */
	rt = rt_inline();
	s = mks(rt, 1);
	t_create_fn(rt, "f", stream_h, (void *)"report");
	so.maximum_retry_attempts = 1;
	mkmap(rt, s, &so, &mo);
	put(s, "k", "r1");
	put(s, "k", "r2");
	put(s, "k", "poison");
	put(s, "k", "r4");
	advance(rt, 1);
	advance(rt, 1000);
	ck_assert_int_eq(nseen, 2);
	ck_assert_uint_eq(nrec(1), 2); /* poison and r4 again */
	p = payload(rec_of(1, 0));
	ck_assert_str_eq(p, "poison");
	free(p);
	ck_assert_int_eq(nfailures, 1);
	faas_runtime_free(rt);
	reset();
}
END_TEST

START_TEST(stream_bisect_isolates_the_bad_record)
{
	faas_runtime_t *rt = rt_inline();
	faas_stream_t *s = mks(rt, 1);
	faas_stream_source_options_t so = FAAS_STREAM_SOURCE_OPTIONS_INIT;
	static const size_t sizes[] = { 8, 4, 4, 2, 1, 1, 1, 2 };
	char data[16];
	json_t *info;
	int i;

	t_create_fn(rt, "f", stream_h, NULL);
	so.bisect_batch_on_function_error = 1;
	so.maximum_retry_attempts = 1;
	so.on_failure.kind = FAAS_DESTINATION_CALLBACK;
	so.on_failure.callback = on_failure;
	mkmap(rt, s, &so, NULL);
	for (i = 1; i <= 8; i++) {
		snprintf(data, sizeof(data), i == 6 ? "poison" : "r%d", i);
		put(s, "k", data);
	}
	advance(rt, 1);
	advance(rt, 1000); /* the retry of the isolated record */
	/* 1-8 fail; 1-4 pass; 5-8 fail; 5-6 fail; 5 passes; 6 fails, then its
	 * retry; discarded; 7-8 pass */
	ck_assert_int_eq(nseen, 8);
	for (i = 0; i < 8; i++)
		ck_assert_msg(nrec(i) == sizes[i], "batch %d: %zu records", i, nrec(i));
	ck_assert_int_eq(nfailures, 1);
	info = json_object_get(failures[0], "KinesisBatchInfo");
	ck_assert_int_eq(json_integer_value(json_object_get(info, "batchSize")), 1);
	ck_assert_str_eq(t_jstr(info, "startSequenceNumber"), t_jstr(info, "endSequenceNumber"));
	faas_runtime_free(rt);
	reset();
}
END_TEST

START_TEST(stream_record_age_unblocks)
{
	faas_runtime_t *rt = rt_inline();
	faas_stream_t *s = mks(rt, 1);
	faas_stream_source_options_t so = FAAS_STREAM_SOURCE_OPTIONS_INIT;
	faas_queue_t *dlq;
	faas_error_detail_t d;
	faas_queue_message_t msg;
	json_t *rec;
	size_t n;
	int before;

	ck_assert_ok(faas_queue_create(rt, "failed", NULL, &dlq, &d), d);
	t_create_fn(rt, "f", stream_h, NULL);
	so.maximum_record_age_ms = 60000; /* retries: forever, until the age limit */
	so.on_failure.kind = FAAS_DESTINATION_QUEUE;
	so.on_failure.queue = dlq;
	mkmap(rt, s, &so, NULL);
	put(s, "k", "poison");
	advance(rt, 1);
	advance(rt, 1000);
	advance(rt, 2000);
	before = nseen;
	ck_assert_int_eq(before, 3); /* retried, blocking the shard */
	advance(rt, 57000);  /* 60 s old at the next receive */
	advance(rt, 1);
	ck_assert_ok(faas_queue_receive(dlq, 1, 0, &msg, &n, &d), d);
	ck_assert_uint_eq(n, 1);
	rec = json_loads(msg.body, 0, NULL);
	ck_assert_str_eq(t_jstr(json_object_get(rec, "requestContext"), "condition"),
	                 "RecordAgeExceeded");
	json_decref(rec);
	faas_queue_message_clear(&msg);
	put(s, "k", "fresh");
	advance(rt, 1);
	ck_assert_uint_eq(nrec(nseen - 1), 1);
	faas_runtime_free(rt);
	reset();
}
END_TEST

START_TEST(stream_starting_positions)
{
	faas_runtime_t *rt = rt_inline();
	faas_stream_t *s = mks(rt, 1);
	faas_stream_source_options_t so = FAAS_STREAM_SOURCE_OPTIONS_INIT;
	faas_error_detail_t d;
	faas_source_t *src;
	faas_mapping_t *m;
	char *p;

	t_create_fn(rt, "f", stream_h, NULL);
	put(s, "k", "before");
	faas_clock_advance(rt, 10000);
	put(s, "k", "at-10s");
	so.starting_position = FAAS_START_LATEST;
	m = mkmap(rt, s, &so, NULL);
	put(s, "k", "after");
	advance(rt, 1);
	ck_assert_int_eq(nseen, 1);
	ck_assert_uint_eq(nrec(0), 1);
	p = payload(rec_of(0, 0));
	ck_assert_str_eq(p, "after");
	free(p);
	ck_assert_ok(faas_mapping_delete(m, &d), d);
	so.starting_position = FAAS_START_AT_TIMESTAMP;
	so.timestamp_ms = 1700000000000 + 5000;
	ck_assert_ok(faas_stream_source_new(s, &so, &src, &d), d);
	ck_assert_ok(faas_mapping_create(rt, src, "f", NULL, &m, &d), d);
	faas_source_free(src);
	advance(rt, 1);
	ck_assert_int_eq(nseen, 2);
	ck_assert_uint_eq(nrec(1), 2); /* at-10s and after */
	so.starting_position = FAAS_START_TRIM_HORIZON;
	ck_assert_ok(faas_stream_source_new(s, &so, &src, &d), d);
	ck_assert_ok(faas_mapping_create(rt, src, "f", NULL, &m, &d), d);
	faas_source_free(src);
	advance(rt, 1);
	ck_assert_int_eq(nseen, 3);
	ck_assert_uint_eq(nrec(2), 3);
	faas_runtime_free(rt);
	reset();
}
END_TEST

START_TEST(stream_filters_on_data)
{
	faas_runtime_t *rt = rt_inline();
	faas_stream_t *s = mks(rt, 1);
	faas_mapping_options_t mo = FAAS_MAPPING_OPTIONS_INIT;
	faas_mapping_t *m;
	json_t *j;
	faas_error_detail_t d;

	t_create_fn(rt, "f", stream_h, NULL);
	mo.filters[0] = "{\"data\":{\"type\":[\"order\"]}}";
	m = mkmap(rt, s, NULL, &mo);
	put(s, "k", "{\"type\":\"order\",\"n\":1}");
	put(s, "k", "{\"type\":\"ping\"}");
	put(s, "k", "not json");
	put(s, "k", "{\"type\":\"order\",\"n\":2}");
	advance(rt, 1);
	ck_assert_int_eq(nseen, 1);
	ck_assert_uint_eq(nrec(0), 2);
	ck_assert_ok(faas_mapping_describe(m, &j, &d), d);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "Metrics"),
	                                                    "RecordsFiltered")),
	                 2);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "BatchSize")), 100); /* streams' default */
	json_decref(j);
	/* the shard moved past the skipped ones too */
	put(s, "k", "{\"type\":\"order\",\"n\":3}");
	advance(rt, 1);
	ck_assert_int_eq(nseen, 2);
	ck_assert_uint_eq(nrec(1), 1);
	faas_runtime_free(rt);
	reset();
}
END_TEST

/* Parallelization factor 2: two batches of one shard at once, each key in order. */
START_TEST(stream_parallelization_factor)
{
	faas_runtime_options_t ro = t_options();
	faas_runtime_t *rt = t_runtime_with(&ro); /* threaded */
	faas_stream_t *s = mks(rt, 1);
	faas_stream_source_options_t so = FAAS_STREAM_SOURCE_OPTIONS_INIT;
	faas_mapping_options_t mo = FAAS_MAPPING_OPTIONS_INIT;
	struct latch l;

	latch_init(&l);
	t_create_fn(rt, "f", t_latch_handler, &l);
	so.parallelization_factor = 2;
	mo.batch_size = 1;
	mkmap(rt, s, &so, &mo);
	put(s, "a", "1"); /* "a" and "key-7" fall in different lanes (MD5 % 2) */
	put(s, "key-7", "2");
	put(s, "a", "3");
	ck_assert_int_eq(faas_clock_advance(rt, 1), 0);
	latch_wait_entered(&l, 2); /* one per lane, the same shard */
	latch_open(&l);
	t_settle(rt);
	ck_assert_int_eq(l.entered, 3);
	faas_runtime_free(rt);
	latch_destroy(&l);
}
END_TEST

static int hops;

/* Puts what it got back into the stream it came from: a loop. */
static int loop_h(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	(void)ctx;
	(void)event;
	hops++;
	faas_stream_put(ud, "k", "again", 5, NULL, NULL, NULL);
	*response = NULL;
	return 0;
}

START_TEST(stream_recursion_stops)
{
	faas_runtime_t *rt = rt_inline();
	faas_stream_t *s = mks(rt, 1);
	faas_mapping_t *m;
	json_t *j;
	faas_error_detail_t d;

	hops = 0;
	t_create_fn(rt, "f", loop_h, s);
	m = mkmap(rt, s, NULL, NULL);
	put(s, "k", "start");
	advance(rt, 1);
	advance(rt, 1);
	ck_assert_int_eq(hops, 16);
	ck_assert_ok(faas_mapping_describe(m, &j, &d), d);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "Metrics"),
	                                                    "RecordsDropped")),
	                 1);
	json_decref(j);
	faas_runtime_free(rt);
}
END_TEST

/* ---- regressions (from review) ------------------------------------------------- */
static int n_delivered_payload(const char *want)
{
	int b, hits = 0;
	for (b = 0; b < nseen; b++)
		for (size_t k = 0; k < nrec(b); k++) {
			char *p = payload(rec_of(b, k));
			hits += strcmp(p, want) == 0;
			free(p);
		}
	return hits;
}

/* Bisect halves still to do whose records go — past the age limit (case 0)
 * or past retention (case 1) — must not block the lane: a fresh record
 * after them is delivered, once. */
START_TEST(stream_bisect_then_records_go)
{
	faas_runtime_t *rt = rt_inline();
	faas_stream_options_t o = FAAS_STREAM_OPTIONS_INIT;
	faas_stream_source_options_t so = FAAS_STREAM_SOURCE_OPTIONS_INIT;
	faas_error_detail_t d;
	faas_stream_t *s;
	int i;

	o.retention_ms = _i == 1 ? 60000 : 0;
	ck_assert_ok(faas_stream_create(rt, "s", &o, &s, &d), d);
	t_create_fn(rt, "f", stream_h, NULL);
	so.bisect_batch_on_function_error = 1;
	if (_i == 0) {
		so.maximum_record_age_ms = 5000;
		so.on_failure.kind = FAAS_DESTINATION_CALLBACK;
		so.on_failure.callback = on_failure;
	}
	mkmap(rt, s, &so, NULL);
	for (i = 1; i <= 4; i++) {
		char poison[24];
		snprintf(poison, sizeof(poison), "poison%d", i);
		put(s, "k", poison);
	}
	for (i = 0; i < 130; i++) /* past the age limit, or retention */
		advance(rt, 1000);
	put(s, "k", "fresh");
	for (i = 0; i < 200; i++)
		advance(rt, 1000);
	ck_assert_int_eq(n_delivered_payload("fresh"), 1);
	faas_runtime_free(rt);
	reset();
}
END_TEST

/* C: attempts survive an age discard -> the next record gets fewer retries */
START_TEST(stream_attempts_start_over_after_age_discard)
{
	faas_runtime_t *rt = rt_inline();
	faas_stream_t *s = mks(rt, 1);
	faas_stream_source_options_t so = FAAS_STREAM_SOURCE_OPTIONS_INIT;

	t_create_fn(rt, "f", stream_h, NULL);
	so.maximum_retry_attempts = 1;
	so.maximum_record_age_ms = 500;
	so.on_failure.kind = FAAS_DESTINATION_CALLBACK;
	so.on_failure.callback = on_failure;
	mkmap(rt, s, &so, NULL);
	put(s, "k", "poison-a");
	advance(rt, 1);
	advance(rt, 1000); /* age discard */
	ck_assert_int_eq(nfailures, 1);
	put(s, "k", "poison-b");
	advance(rt, 1);
	ck_assert_int_eq(nfailures, 1); /* poison-b still has its one retry */
	faas_runtime_free(rt);
	reset();
}
END_TEST

/* D: one chunk over 6 MB -> two batches of one shard in flight at once */
START_TEST(stream_one_batch_per_lane_over_6mb)
{
	faas_runtime_options_t ro = t_options();
	faas_runtime_t *rt = t_runtime_with(&ro);
	faas_stream_t *s = mks(rt, 1);
	faas_error_detail_t d;
	faas_mapping_t *m;
	struct latch l;
	char *big = malloc(1048576);
	json_t *j;
	int i;

	memset(big, 'x', 1048576);
	latch_init(&l);
	t_create_fn(rt, "f", t_latch_handler, &l);
	m = mkmap(rt, s, NULL, NULL);
	for (i = 0; i < 6; i++) /* 8 MB of base64: more than one batch */
		ck_assert_ok(faas_stream_put(s, "k", big, 1048576, NULL, NULL, &d), d);
	ck_assert_int_eq(faas_clock_advance(rt, 1), 0);
	latch_wait_entered(&l, 1);
	while (!faas__hk_caught_up(rt, faas__clock_mono_ns(&rt->clock))) /* its step is over */
		sched_yield();
	ck_assert_ok(faas_mapping_describe(m, &j, &d), d);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "Metrics"), "InFlight")),
	                 1); /* the rest of the shard waits for this batch */
	json_decref(j);
	latch_open(&l);
	t_settle(rt);
	ck_assert_int_eq(l.entered, 2);
	faas_runtime_free(rt);
	latch_destroy(&l);
	free(big);
}
END_TEST

/* E: a filtered record in the chunk disables bisect */
START_TEST(stream_filtered_records_keep_bisect)
{
	faas_runtime_t *rt = rt_inline();
	faas_stream_t *s = mks(rt, 1);
	faas_stream_source_options_t so = FAAS_STREAM_SOURCE_OPTIONS_INIT;
	faas_mapping_options_t mo = FAAS_MAPPING_OPTIONS_INIT;

	t_create_fn(rt, "f", stream_h, NULL);
	so.bisect_batch_on_function_error = 1;
	so.maximum_retry_attempts = 0;
	so.on_failure.kind = FAAS_DESTINATION_CALLBACK;
	so.on_failure.callback = on_failure;
	mo.filters[0] = "{\"data\":{\"t\":[\"x\"]}}";
	mkmap(rt, s, &so, &mo);
	put(s, "k", "{\"t\":\"ping\"}");
	put(s, "k", "{\"t\":\"x\",\"p\":\"poison\"}");
	put(s, "k", "{\"t\":\"x\"}");
	put(s, "k", "{\"t\":\"x\"}");
	advance(rt, 1);
	advance(rt, 1000);
	ck_assert_int_gt(nseen, 1); /* bisected */
	faas_runtime_free(rt);
	reset();
}
END_TEST

struct race { faas_runtime_t *rt; faas_source_t *src; int ok; pthread_barrier_t *b; };
static void *race_create(void *a)
{
	struct race *r = a;
	faas_mapping_t *m;
	faas_error_detail_t d;
	pthread_barrier_wait(r->b);
	r->ok = faas_mapping_create(r->rt, r->src, "f", NULL, &m, &d) == 0;
	return NULL;
}

START_TEST(stream_source_one_mapping_under_race)
{
	faas_runtime_options_t ro = t_options();
	faas_runtime_t *rt;
	faas_stream_t *s;
	faas_error_detail_t d;
	pthread_barrier_t b;
	int i, both = 0;

	ro.inline_mode = 1;
	rt = t_runtime_with(&ro);
	s = mks(rt, 1);
	t_create_fn(rt, "f", stream_h, NULL);
	pthread_barrier_init(&b, NULL, 2);
	for (i = 0; i < 300; i++) {
		struct race r1 = { rt, NULL, 0, &b }, r2;
		pthread_t t1, t2;
		ck_assert_ok(faas_stream_source_new(s, NULL, &r1.src, &d), d);
		r2 = r1;
		pthread_create(&t1, NULL, race_create, &r1);
		pthread_create(&t2, NULL, race_create, &r2);
		pthread_join(t1, NULL);
		pthread_join(t2, NULL);
		both += r1.ok && r2.ok;
		faas_source_free(r1.src);
	}
	pthread_barrier_destroy(&b);
	ck_assert_int_eq(both, 0);
	faas_runtime_free(rt);
}
END_TEST

Suite *stream_suite(void)
{
	Suite *s = suite_create("stream");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, stream_put_shards_and_sequences);
	tcase_add_test(tc, stream_bad_input);
	tcase_add_test(tc, stream_retention);
	tcase_add_test(tc, stream_kinesis_record_shape);
	tcase_add_test(tc, stream_order_per_shard);
	tcase_add_test(tc, stream_failure_blocks_shard_then_retries_run_out);
	tcase_add_test(tc, stream_partial_failure_checkpoint);
	tcase_add_test(tc, stream_bisect_isolates_the_bad_record);
	tcase_add_test(tc, stream_record_age_unblocks);
	tcase_add_test(tc, stream_starting_positions);
	tcase_add_test(tc, stream_filters_on_data);
	tcase_add_test(tc, stream_parallelization_factor);
	tcase_add_test(tc, stream_recursion_stops);
	tcase_add_loop_test(tc, stream_bisect_then_records_go, 0, 2);
	tcase_add_test(tc, stream_attempts_start_over_after_age_discard);
	tcase_add_test(tc, stream_one_batch_per_lane_over_6mb);
	tcase_add_test(tc, stream_filtered_records_keep_bisect);
	tcase_add_test(tc, stream_source_one_mapping_under_race);
	suite_add_tcase(s, tc);
	return s;
}
