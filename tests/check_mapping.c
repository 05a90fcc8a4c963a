/*
 * libfaas tests — event source mappings over the built-in queue and a host
 * source: batching by size, window and 6 MB, Lambda's SQS record shape,
 * failures and redelivery, partial batch responses, filters, concurrency,
 * throttles, disable / delete / shutdown, bad input, and a soak that
 * accounts for every message. Virtual clock throughout.
 */
#include "tests.h"

#include "mapping_int.h"

#include <stdlib.h>

/* ---- what handlers saw (workers write, the test reads after settling) ------------ */

#define SEEN_MAX 64

static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static json_t *seen[SEEN_MAX]; /* each batch event, referenced */
static int nseen;

static void seen_reset(void)
{
	int i;

	pthread_mutex_lock(&seen_lock);
	for (i = 0; i < nseen; i++)
		json_decref(seen[i]);
	nseen = 0;
	pthread_mutex_unlock(&seen_lock);
}

static size_t batch_len(int i)
{
	return json_array_size(json_object_get(seen[i], "Records"));
}

/* The response comes from user_data (a JSON text, "ERROR" to fail, NULL for null). */
static int record_h(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	const char *reply = ud;

	pthread_mutex_lock(&seen_lock);
	if (nseen < SEEN_MAX)
		seen[nseen++] = json_incref(event);
	pthread_mutex_unlock(&seen_lock);
	if (reply && !strcmp(reply, "ERROR"))
		return faas_context_fail(ctx, "Boom", "batch failed");
	*response = reply ? json_loads(reply, JSON_DECODE_ANY, NULL) : NULL;
	return 0;
}

static int host_receive(void *ud, uint32_t max, uint32_t vis, faas_source_record_t *out,
                        size_t *n);
static int lp_receive(void *ud, uint32_t max, uint32_t vis, faas_source_record_t *out, size_t *n);

/* ---- set-up ---------------------------------------------------------------------- */

static faas_runtime_t *rt_inline(void)
{
	faas_runtime_options_t o = t_options();

	o.inline_mode = 1;
	return t_runtime_with(&o);
}

static faas_queue_t *mkq(faas_runtime_t *rt, const char *name, const faas_queue_options_t *o)
{
	faas_error_detail_t d;
	faas_queue_t *q = NULL;

	ck_assert_ok(faas_queue_create(rt, name, o, &q, &d), d);
	return q;
}

static faas_mapping_t *mkmap(faas_runtime_t *rt, faas_queue_t *q, const char *fn,
                             const faas_mapping_options_t *o)
{
	faas_error_detail_t d;
	faas_source_t *src = NULL;
	faas_mapping_t *m = NULL;

	ck_assert_ok(faas_queue_source_new(q, &src, &d), d);
	ck_assert_ok(faas_mapping_create(rt, src, fn, o, &m, &d), d);
	faas_source_free(src); /* the mapping keeps its own */
	return m;
}

static void send_n(faas_queue_t *q, int n, const char *prefix)
{
	faas_error_detail_t d;
	char body[64];
	int i;

	for (i = 0; i < n; i++) {
		int len = snprintf(body, sizeof(body), "%s%d", prefix, i);
		ck_assert_ok(faas_queue_send(q, body, (size_t)len, NULL, NULL, &d), d);
	}
}

static void counts_are(faas_queue_t *q, uint64_t visible, uint64_t in_flight)
{
	uint64_t v, f;

	faas_queue_counts(q, &v, &f);
	ck_assert_uint_eq(v, visible);
	ck_assert_uint_eq(f, in_flight);
}

static json_int_t metric(faas_mapping_t *m, const char *name)
{
	faas_error_detail_t d;
	json_t *o;
	json_int_t v;

	ck_assert_ok(faas_mapping_describe(m, &o, &d), d);
	v = json_integer_value(json_object_get(json_object_get(o, "Metrics"), name));
	json_decref(o);
	return v;
}

static void advance(faas_runtime_t *rt, uint64_t ms)
{
	ck_assert_int_eq(faas_clock_advance(rt, ms), 0);
	t_settle(rt);
}

/* ---- batching ---------------------------------------------------------------------- */

START_TEST(mapping_batches_by_size)
{
	faas_runtime_t *rt = rt_inline();
	faas_queue_t *q = mkq(rt, "in", NULL);
	faas_mapping_t *m;

	t_create_fn(rt, "f", record_h, NULL);
	m = mkmap(rt, q, "f", NULL); /* batch 10, no window */
	ck_assert_str_eq(faas_mapping_state(m), "Enabled");
	send_n(q, 25, "m");
	ck_assert_int_eq(nseen, 0); /* a virtual clock steps mappings when it moves */
	advance(rt, 1);
	ck_assert_int_eq(nseen, 3);
	ck_assert_uint_eq(batch_len(0), 10);
	ck_assert_uint_eq(batch_len(1), 10);
	ck_assert_uint_eq(batch_len(2), 5);
	counts_are(q, 0, 0); /* all deleted */
	ck_assert_int_eq(metric(m, "RecordsSucceeded"), 25);
	ck_assert_int_eq(metric(m, "Batches"), 3);
	faas_runtime_free(rt);
	seen_reset();
}
END_TEST

START_TEST(mapping_batches_by_window)
{
	faas_runtime_t *rt = rt_inline();
	faas_queue_t *q = mkq(rt, "in", NULL);
	faas_mapping_options_t o = FAAS_MAPPING_OPTIONS_INIT;

	t_create_fn(rt, "f", record_h, NULL);
	o.batch_size = 100;
	o.max_batching_window_ms = 5000;
	mkmap(rt, q, "f", &o);
	send_n(q, 30, "m");
	advance(rt, 1);
	ck_assert_int_eq(nseen, 0); /* gathered, the window is open */
	counts_are(q, 0, 30);
	send_n(q, 5, "late");
	advance(rt, 4999); /* gathered into the same window */
	ck_assert_int_eq(nseen, 0);
	counts_are(q, 0, 35);
	advance(rt, 1); /* 5 s after the first record came */
	ck_assert_int_eq(nseen, 1);
	ck_assert_uint_eq(batch_len(0), 35);
	counts_are(q, 0, 0);
	faas_runtime_free(rt);
	seen_reset();
}
END_TEST

START_TEST(mapping_batches_by_bytes)
{
	faas_runtime_t *rt = rt_inline();
	faas_queue_t *q = mkq(rt, "in", NULL);
	faas_mapping_options_t o = FAAS_MAPPING_OPTIONS_INIT;
	faas_error_detail_t d;
	char *big = malloc(200000);
	size_t total = 0;
	int i;

	memset(big, 'x', 200000);
	t_create_fn(rt, "f", record_h, NULL);
	o.batch_size = 100;
	o.max_batching_window_ms = 1000;
	mkmap(rt, q, "f", &o);
	for (i = 0; i < 40; i++) /* 8 MB in all */
		ck_assert_ok(faas_queue_send(q, big, 200000, NULL, NULL, &d), d);
	advance(rt, 1);
	ck_assert_int_eq(nseen, 1); /* the first 6 MB went at once */
	ck_assert_uint_le(faas__json_text_size(seen[0]), FAAS_MAPPING_BATCH_BYTES_MAX);
	ck_assert_uint_gt(faas__json_text_size(seen[0]) + 200500, FAAS_MAPPING_BATCH_BYTES_MAX);
	advance(rt, 1000); /* the rest at its window's end */
	ck_assert_int_eq(nseen, 2);
	for (i = 0; i < nseen; i++)
		total += batch_len(i);
	ck_assert_uint_eq(total, 40);
	counts_are(q, 0, 0);
	free(big);
	faas_runtime_free(rt);
	seen_reset();
}
END_TEST

/* ---- the record ----------------------------------------------------------------------- */

START_TEST(mapping_sqs_record_shape)
{
	faas_runtime_t *rt = rt_inline();
	faas_queue_t *q = mkq(rt, "my-queue", NULL);
	json_t *attrs = json_pack("{s:{s:s,s:s},s:{s:s,s:s},s:{s:s,s:s}}", "k", "stringValue", "v",
	                          "dataType", "String", "a", "stringValue", "42", "dataType", "Number",
	                          "bin", "binaryValue", "AAH/", "dataType", "Binary");
	faas_error_detail_t d;
	char id[FAAS_REQUEST_ID_SIZE], rh[128];
	json_t *r, *want;
	char *text;

	t_create_fn(rt, "f", record_h, NULL);
	mkmap(rt, q, "f", NULL);
	ck_assert_ok(faas_queue_send(q, "Test message.", 13, attrs, id, &d), d);
	send_n(q, 1, "plain");
	advance(rt, 1);
	ck_assert_int_eq(nseen, 1);
	r = json_array_get(json_object_get(seen[0], "Records"), 0);
	snprintf(rh, sizeof(rh), "%s.1", id);
	want = json_pack(
	        "{s:s,s:s,s:s,s:{s:s,s:s,s:s,s:s},s:{s:{s:s,s:n,s:[],s:[],s:s},s:{s:s,s:n,s:[],s:[],"
	        "s:s},s:{s:n,s:s,s:[],s:[],s:s}},s:s,s:s,s:s,s:s,s:s}",
	        "messageId", id, "receiptHandle", rh, "body", "Test message.", "attributes",
	        "ApproximateReceiveCount", "1", "SentTimestamp", "1700000000000", "SenderId",
	        "123456789012", "ApproximateFirstReceiveTimestamp", "1700000000001",
	        "messageAttributes", "k", "stringValue", "v", "binaryValue", "stringListValues",
	        "binaryListValues", "dataType", "String", "a", "stringValue", "42", "binaryValue",
	        "stringListValues", "binaryListValues", "dataType", "Number", "bin", "stringValue",
	        "binaryValue", "AAH/", "stringListValues", "binaryListValues", "dataType", "Binary",
	        "md5OfMessageAttributes", "bb37979238027329ca4e6bbf78db4d26", "md5OfBody",
	        "e4e68fb7bd0e697a0ae8f1bb342846b3", "eventSource", "aws:sqs", "eventSourceARN",
	        "arn:aws:sqs:us-east-1:123456789012:my-queue", "awsRegion", "us-east-1");
	text = json_dumps(r, JSON_SORT_KEYS | JSON_COMPACT);
	ck_assert_msg(json_equal(r, want), "got %s", text);
	free(text);
	/* no attributes: an empty messageAttributes and no md5OfMessageAttributes */
	r = json_array_get(json_object_get(seen[0], "Records"), 1);
	ck_assert_uint_eq(json_object_size(json_object_get(r, "messageAttributes")), 0);
	ck_assert_ptr_null(json_object_get(r, "md5OfMessageAttributes"));
	ck_assert_str_eq(t_jstr(r, "body"), "plain0");
	json_decref(want);
	json_decref(attrs);
	faas_runtime_free(rt);
	seen_reset();
}
END_TEST

/* The size the batch limit counts is the record's compact JSON text, to the byte. */
START_TEST(mapping_sqs_record_size)
{
	static const char *const bodies[] = { "plain", "quote \" and \\ back", "tab\tnl\ncr\r",
		                              "unicode \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
		                              "{\"json\":[1,2,{\"x\":\"y\"}]}", "/slash/" };
	faas_runtime_t *rt = rt_inline();
	faas_queue_t *q = mkq(rt, "sizes", NULL);
	json_t *attrs = json_pack("{s:{s:s,s:s},s:{s:s}}", "k\"ey", "stringValue", "v\n", "dataType",
	                          "String", "untyped", "stringValue", "no dataType: String");
	faas_source_record_t recs[16];
	faas_error_detail_t d;
	faas_source_t *src;
	size_t i, n = 0;

	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
		ck_assert_ok(faas_queue_send(q, bodies[i], strlen(bodies[i]), i % 2 ? attrs : NULL, NULL,
		                             &d),
		             d);
	ck_assert_ok(faas_queue_source_new(q, &src, &d), d);
	ck_assert_int_eq(src->ops.receive(src->ud, 16, 0, recs, &n), 0);
	ck_assert_uint_eq(n, sizeof(bodies) / sizeof(bodies[0]));
	for (i = 0; i < n; i++) {
		ck_assert_uint_eq(recs[i].size, faas__json_text_size(recs[i].record));
		json_decref(recs[i].record);
	}
	/* SQS refuses what is not Unicode text */
	ck_assert_fail(faas_queue_send(q, "a\x01" "b", 3, NULL, NULL, &d), d, FAAS_EINVAL,
	               "Invalid binary character '#x1'");
	ck_assert_fail(faas_queue_send(q, "\xff\xfe", 2, NULL, NULL, &d), d, FAAS_EINVAL, "UTF-8");
	ck_assert_fail(faas_queue_send(q, "a\0b", 3, NULL, NULL, &d), d, FAAS_EINVAL, "'#x0'");
	faas_source_free(src);
	json_decref(attrs);
	faas_runtime_free(rt);
}
END_TEST

START_TEST(mapping_md5_vectors)
{
	char out[33];
	char *a = malloc(1000);

	faas__md5_hex("", 0, out);
	ck_assert_str_eq(out, "d41d8cd98f00b204e9800998ecf8427e");
	memset(a, 'a', 1000);
	faas__md5_hex(a, 1000, out); /* several blocks */
	ck_assert_str_eq(out, "cabe45dcc9ae5b66ba86600cca6b8ba8");
	free(a);
}
END_TEST

/* ---- failures -------------------------------------------------------------------------- */

START_TEST(mapping_failed_batch_comes_back_and_redrives)
{
	faas_runtime_t *rt = rt_inline();
	faas_queue_t *dlq = mkq(rt, "dlq", NULL);
	faas_queue_options_t qo = FAAS_QUEUE_OPTIONS_INIT;
	faas_queue_t *q;
	faas_mapping_t *m;

	qo.visibility_timeout_ms = 30000;
	qo.max_receive_count = 2;
	qo.dead_letter = dlq;
	q = mkq(rt, "in", &qo);
	t_create_fn(rt, "f", record_h, (void *)"ERROR");
	m = mkmap(rt, q, "f", NULL);
	send_n(q, 3, "m");
	advance(rt, 1);
	ck_assert_int_eq(nseen, 1);
	counts_are(q, 0, 3); /* hidden until the visibility timeout ends */
	advance(rt, 29999);
	ck_assert_int_eq(nseen, 1);
	advance(rt, 1);
	ck_assert_int_eq(nseen, 2);
	ck_assert_str_eq(t_jstr(json_object_get(json_array_get(json_object_get(seen[1], "Records"), 0),
	                                        "attributes"),
	                        "ApproximateReceiveCount"),
	                 "2");
	advance(rt, 30000); /* a third receive: to the dead-letter queue instead */
	ck_assert_int_eq(nseen, 2);
	counts_are(q, 0, 0);
	counts_are(dlq, 3, 0);
	ck_assert_int_eq(metric(m, "RecordsFailed"), 6);
	ck_assert_int_eq(metric(m, "RecordsSucceeded"), 0);
	faas_runtime_free(rt);
	seen_reset();
}
END_TEST

/* The handler moves the clock past its own 3 s timeout. */
static int slow_h(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	(void)event;
	(void)ud;
	faas_clock_advance(faas_context_runtime(ctx), 3001);
	*response = json_object();
	return 0;
}

START_TEST(mapping_timeout_is_a_failure)
{
	faas_runtime_options_t o = t_options();
	faas_runtime_t *rt = t_runtime_with(&o); /* threaded: housekeeping times it out */
	faas_queue_t *q = mkq(rt, "in", NULL);
	faas_mapping_t *m;

	t_create_fn(rt, "f", slow_h, NULL);
	m = mkmap(rt, q, "f", NULL);
	send_n(q, 2, "m");
	advance(rt, 1);
	t_settle(rt);
	ck_assert_int_eq(metric(m, "RecordsFailed"), 2);
	ck_assert_int_eq(metric(m, "RecordsSucceeded"), 0);
	counts_are(q, 0, 2); /* back after the visibility timeout, not deleted */
	faas_runtime_free(rt);
}
END_TEST

/* ---- partial batch responses ----------------------------------------------------------- */

struct partial_case {
	const char *reply; /* %s: the second message's id */
	int deleted;       /* of 3 */
};

START_TEST(mapping_partial_batch_responses)
{
	static const struct partial_case cases[] = {
		{ NULL, 3 },
		{ "null", 3 },
		{ "{}", 3 },
		{ "{\"batchItemFailures\":[]}", 3 },
		{ "{\"batchItemFailures\":null}", 3 },
		{ "{\"other\":1}", 3 },
		{ "{\"batchItemFailures\":[{\"itemIdentifier\":\"%s\"}]}", 2 },
		{ "{\"batchItemFailures\":[{\"itemIdentifier\":\"%s\"},{\"itemIdentifier\":\"%s\"}]}", 2 },
		{ "{\"batchItemFailures\":[{\"itemIdentifier\":\"\"}]}", 0 },
		{ "{\"batchItemFailures\":[{\"itemIdentifier\":null}]}", 0 },
		{ "{\"batchItemFailures\":[{\"itemId\":\"%s\"}]}", 0 },
		{ "{\"batchItemFailures\":[{\"itemIdentifier\":\"no-such-id\"}]}", 0 },
		{ "{\"batchItemFailures\":[\"%s\"]}", 0 },
		{ "{\"batchItemFailures\":\"%s\"}", 0 },
		{ "\"not an object\"", 0 },
		{ "[1,2]", 0 },
		{ "ERROR", 0 },
	};
	size_t i = (size_t)_i;
	faas_runtime_t *rt = rt_inline();
	faas_queue_t *q = mkq(rt, "in", NULL);
	faas_mapping_options_t o = FAAS_MAPPING_OPTIONS_INIT;
	faas_error_detail_t d;
	char ids[3][FAAS_REQUEST_ID_SIZE], reply[512];
	uint64_t v, f;
	int k;

	for (k = 0; k < 3; k++)
		ck_assert_ok(faas_queue_send(q, "x", 1, NULL, ids[k], &d), d);
	if (cases[i].reply)
		snprintf(reply, sizeof(reply), cases[i].reply, ids[1], ids[1]);
	t_create_fn(rt, "f", record_h, cases[i].reply ? reply : NULL);
	o.report_batch_item_failures = 1;
	mkmap(rt, q, "f", &o);
	advance(rt, 1);
	ck_assert_int_eq(nseen, 1);
	faas_queue_counts(q, &v, &f);
	ck_assert_msg(f == (uint64_t)(3 - cases[i].deleted), "case %zu (%s): %llu left", i,
	              cases[i].reply ? cases[i].reply : "NULL", (unsigned long long)f);
	if (cases[i].deleted == 2) { /* only the listed one comes back */
		faas_queue_message_t msg;
		size_t n;
		advance(rt, 30000);
		ck_assert_int_eq(nseen, 2);
		ck_assert_uint_eq(batch_len(1), 1);
		ck_assert_str_eq(t_jstr(json_array_get(json_object_get(seen[1], "Records"), 0),
		                        "messageId"),
		                 ids[1]);
		(void)msg;
		(void)n;
	}
	faas_runtime_free(rt);
	seen_reset();
}
END_TEST

/* Without report_batch_item_failures a response is just a response. */
START_TEST(mapping_item_failures_need_the_option)
{
	faas_runtime_t *rt = rt_inline();
	faas_queue_t *q = mkq(rt, "in", NULL);

	t_create_fn(rt, "f", record_h, (void *)"{\"batchItemFailures\":[{\"itemIdentifier\":\"x\"}]}");
	mkmap(rt, q, "f", NULL);
	send_n(q, 3, "m");
	advance(rt, 1);
	counts_are(q, 0, 0);
	faas_runtime_free(rt);
	seen_reset();
}
END_TEST

/* ---- filters ------------------------------------------------------------------------------ */

struct filter_case {
	const char *pattern;
	const char *record;
	bool match;
};

static const struct filter_case filter_cases[] = {
	{ "{\"a\":[\"x\"]}", "{\"a\":\"x\"}", true },
	{ "{\"a\":[\"x\"]}", "{\"a\":\"y\"}", false },
	{ "{\"a\":[\"x\",\"y\"]}", "{\"a\":\"y\"}", true },
	{ "{\"a\":[\"x\"]}", "{\"b\":\"x\"}", false },
	{ "{\"a\":[\"x\"]}", "{\"a\":[\"z\",\"x\"]}", true },
	{ "{\"a\":[300]}", "{\"a\":300}", true },
	{ "{\"a\":[300]}", "{\"a\":300.0}", false },
	{ "{\"a\":[300]}", "{\"a\":\"300\"}", false },
	{ "{\"a\":[null]}", "{\"a\":null}", true },
	{ "{\"a\":[null]}", "{}", false },
	{ "{\"a\":[\"\"]}", "{\"a\":\"\"}", true },
	{ "{\"a\":[true]}", "{\"a\":true}", true },
	{ "{\"a\":[{\"prefix\":\"us-\"}]}", "{\"a\":\"us-east-1\"}", true },
	{ "{\"a\":[{\"prefix\":\"us-\"}]}", "{\"a\":\"eu-west-1\"}", false },
	{ "{\"a\":[{\"prefix\":\"us-\"}]}", "{\"a\":5}", false },
	{ "{\"a\":[{\"anything-but\":[\"x\",\"y\"]}]}", "{\"a\":\"z\"}", true },
	{ "{\"a\":[{\"anything-but\":[\"x\",\"y\"]}]}", "{\"a\":\"y\"}", false },
	{ "{\"a\":[{\"anything-but\":\"x\"}]}", "{}", false },
	{ "{\"a\":[{\"anything-but\":{\"prefix\":\"in\"}}]}", "{\"a\":\"out\"}", true },
	{ "{\"a\":[{\"anything-but\":{\"prefix\":\"in\"}}]}", "{\"a\":\"inner\"}", false },
	{ "{\"a\":[{\"numeric\":[\">\",10,\"<=\",20]}]}", "{\"a\":15}", true },
	{ "{\"a\":[{\"numeric\":[\">\",10,\"<=\",20]}]}", "{\"a\":20}", true },
	{ "{\"a\":[{\"numeric\":[\">\",10,\"<=\",20]}]}", "{\"a\":10}", false },
	{ "{\"a\":[{\"numeric\":[\">\",10,\"<=\",20]}]}", "{\"a\":\"15\"}", false },
	{ "{\"a\":[{\"numeric\":[\"=\",2.5]}]}", "{\"a\":2.5}", true },
	{ "{\"a\":[{\"numeric\":[\"<\",0]}]}", "{\"a\":-1}", true },
	{ "{\"a\":[{\"exists\":true}]}", "{\"a\":1}", true },
	{ "{\"a\":[{\"exists\":true}]}", "{}", false },
	{ "{\"a\":[{\"exists\":false}]}", "{}", true },
	{ "{\"a\":[{\"exists\":false}]}", "{\"a\":\"x\"}", false },
	{ "{\"a\":{\"b\":[\"x\"]}}", "{\"a\":{\"b\":\"x\"}}", true },
	{ "{\"a\":{\"b\":[\"x\"]}}", "{\"a\":{\"b\":\"y\"}}", false },
	{ "{\"a\":{\"b\":[\"x\"]}}", "{\"a\":\"b\"}", false },
	{ "{\"a\":{\"b\":[{\"exists\":false}]}}", "{}", true },
	{ "{\"a\":[\"x\"],\"b\":[1]}", "{\"a\":\"x\",\"b\":1}", true }, /* AND */
	{ "{\"a\":[\"x\"],\"b\":[1]}", "{\"a\":\"x\",\"b\":2}", false },
	{ "{\"a\":[\"x\"]}", "{\"a\":\"x\",\"other\":\"ignored\"}", true },
	{ "{\"a\":[\"x\"],\"a\":[\"y\"]}", "{\"a\":\"y\"}", true }, /* the last key wins */
	{ "{\"a\":[\"X\"]}", "{\"a\":\"x\"}", false },               /* case-sensitive */
};

START_TEST(mapping_filter_table)
{
	const struct filter_case *c = &filter_cases[_i];
	faas_error_detail_t d;
	json_t *p, *rec = json_loads(c->record, 0, NULL);

	faas__detail_reset(&d);
	ck_assert_ok(faas__filter_compile(c->pattern, &p, &d), d);
	ck_assert_msg(faas__filter_match(p, rec) == c->match, "%s against %s: want %d", c->pattern,
	              c->record, c->match);
	json_decref(p);
	json_decref(rec);
}
END_TEST

START_TEST(mapping_filter_bad_patterns)
{
	static const char *const bad[] = {
		"", "[]", "{}", "42", "{\"a\":\"x\"}", "{\"a\":[]}", "{\"a\":[{\"suffix\":\"x\"}]}",
		"{\"a\":[{\"prefix\":1}]}", "{\"a\":[{\"numeric\":[\"!\",1]}]}",
		"{\"a\":[{\"numeric\":[\">\"]}]}", "{\"a\":[{\"numeric\":[\">\",\"1\"]}]}",
		"{\"a\":[{\"exists\":\"yes\"}]}", "{\"a\":[{\"prefix\":\"x\",\"exists\":true}]}",
		"{\"a\":[{\"anything-but\":[{\"x\":1}]}]}", "{\"a\":[[1]]}", "{\"a\":{}}", "{\"a\":",
	};
	faas_error_detail_t d;
	json_t *p;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		faas__detail_reset(&d);
		ck_assert_msg(faas__filter_compile(bad[i], &p, &d) == FAAS_EINVAL, "%s accepted", bad[i]);
		ck_assert_ptr_null(p);
		ck_assert_ptr_nonnull(strstr(d.message, "Invalid filter pattern definition"));
	}
}
END_TEST

START_TEST(mapping_filters_on_sqs_body)
{
	faas_runtime_t *rt = rt_inline();
	faas_queue_t *q = mkq(rt, "in", NULL);
	faas_mapping_options_t o = FAAS_MAPPING_OPTIONS_INIT;
	faas_error_detail_t d;
	faas_mapping_t *m;
	static const char *const bodies[] = { "{\"kind\":\"order\",\"n\":5}", "{\"kind\":\"refund\"}",
		                              "plain text", "{\"kind\":\"order\",\"n\":50}",
		                              "ping" };
	size_t i;

	t_create_fn(rt, "f", record_h, NULL);
	o.filters[0] = "{\"body\":{\"kind\":[\"order\"],\"n\":[{\"numeric\":[\"<\",10]}]}}";
	o.filters[1] = "{\"body\":[\"ping\"]}"; /* OR: a plain body matched as a string */
	m = mkmap(rt, q, "f", &o);
	for (i = 0; i < 5; i++)
		ck_assert_ok(faas_queue_send(q, bodies[i], strlen(bodies[i]), NULL, NULL, &d), d);
	advance(rt, 1);
	ck_assert_int_eq(nseen, 1);
	ck_assert_uint_eq(batch_len(0), 2);
	ck_assert_str_eq(t_jstr(json_array_get(json_object_get(seen[0], "Records"), 0), "body"),
	                 bodies[0]);
	ck_assert_str_eq(t_jstr(json_array_get(json_object_get(seen[0], "Records"), 1), "body"),
	                 "ping");
	counts_are(q, 0, 0); /* filtered-out messages are deleted, never invoked */
	ck_assert_int_eq(metric(m, "RecordsFiltered"), 3);
	ck_assert_int_eq(metric(m, "RecordsReceived"), 5);
	faas_runtime_free(rt);
	seen_reset();
}
END_TEST

/* ---- concurrency and throttles ------------------------------------------------------------ */

START_TEST(mapping_max_concurrency)
{
	faas_runtime_options_t ro = t_options();
	faas_runtime_t *rt = t_runtime_with(&ro);
	faas_queue_t *q = mkq(rt, "in", NULL);
	faas_mapping_options_t o = FAAS_MAPPING_OPTIONS_INIT;
	struct latch l;
	faas_mapping_t *m;

	latch_init(&l);
	t_create_fn(rt, "f", t_latch_handler, &l);
	o.batch_size = 1;
	o.max_concurrency = 2;
	m = mkmap(rt, q, "f", &o);
	send_n(q, 5, "m");
	ck_assert_int_eq(faas_clock_advance(rt, 1), 0);
	latch_wait_entered(&l, 2);
	ck_assert_int_eq(metric(m, "InFlight"), 2);
	ck_assert_int_eq(metric(m, "Batches"), 2);
	latch_open(&l);
	t_settle(rt);
	ck_assert_int_eq(l.entered, 5);
	ck_assert_int_eq(metric(m, "RecordsSucceeded"), 5);
	ck_assert_int_eq(metric(m, "Throttles"), 0);
	counts_are(q, 0, 0);
	faas_runtime_free(rt);
	latch_destroy(&l);
}
END_TEST

START_TEST(mapping_throttle_releases_and_backs_off)
{
	faas_runtime_t *rt = rt_inline();
	faas_queue_t *q = mkq(rt, "in", NULL);
	faas_error_detail_t d;
	faas_mapping_t *m;
	json_t *o;

	t_create_fn(rt, "f", record_h, NULL);
	ck_assert_ok(faas_function_set_reserved_concurrency(rt, "f", 0, &d), d);
	m = mkmap(rt, q, "f", NULL);
	send_n(q, 4, "m");
	advance(rt, 1);
	ck_assert_int_eq(nseen, 0);
	counts_are(q, 4, 0); /* released at once: nothing lost, nothing hidden */
	ck_assert_int_eq(metric(m, "Throttles"), 1);
	ck_assert_int_eq(metric(m, "RecordsReleased"), 4);
	ck_assert_ok(faas_mapping_describe(m, &o, &d), d);
	ck_assert_str_eq(t_jstr(o, "LastProcessingResult"), "PROBLEM: Function throttled");
	json_decref(o);
	advance(rt, 999); /* backing off for 1 s */
	ck_assert_int_eq(metric(m, "Throttles"), 1);
	advance(rt, 1);
	ck_assert_int_eq(metric(m, "Throttles"), 2);
	advance(rt, 1999); /* then 2 s */
	ck_assert_int_eq(metric(m, "Throttles"), 2);
	ck_assert_ok(faas_function_set_reserved_concurrency(rt, "f", -1, &d), d);
	advance(rt, 1);
	ck_assert_int_eq(nseen, 1);
	ck_assert_uint_eq(batch_len(0), 4);
	counts_are(q, 0, 0);
	faas_runtime_free(rt);
	seen_reset();
}
END_TEST

/* ---- FIFO queues ------------------------------------------------------------------ */

static int fifo_fails_once; /* the first batch starting with fifo_fail_body fails */
static const char *fifo_fail_body;

static int fifo_h(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	json_t *r = json_array_get(json_object_get(event, "Records"), 0);

	record_h(ctx, event, response, ud);
	if (!strcmp(t_jstr(r, "body"), fifo_fail_body) && fifo_fails_once-- > 0)
		return faas_context_fail(ctx, "Boom", "first try");
	return 0;
}

/* A FIFO queue and function "f" over fifo_h, whose first batch starting
 * with @p fail_body fails once. */
static faas_queue_t *fifo_setup(faas_runtime_t *rt, const char *queue, const char *fail_body)
{
	faas_queue_options_t qo = FAAS_QUEUE_OPTIONS_INIT;
	faas_queue_t *q;

	qo.fifo = 1;
	q = mkq(rt, queue, &qo);
	t_create_fn(rt, "f", fifo_h, NULL);
	fifo_fails_once = 1;
	fifo_fail_body = fail_body;
	return q;
}

START_TEST(mapping_fifo_group_order)
{
	faas_runtime_t *rt = rt_inline();
	faas_mapping_options_t o = FAAS_MAPPING_OPTIONS_INIT;
	static const char *const want[] = { "a1", "b1", "a1", "a2" };
	faas_error_detail_t d;
	faas_source_t *src;
	faas_mapping_t *m;
	faas_queue_t *q;
	json_t *attrs;
	int i;

	q = fifo_setup(rt, "in.fifo", "a1");
	ck_assert_ok(faas_queue_source_new(q, &src, &d), d);
	o.batch_size = 11;
	ck_assert_fail(faas_mapping_create(rt, src, "f", &o, &m, &d), d, FAAS_EINVAL, "FIFO");
	o.batch_size = 1;
	ck_assert_ok(faas_mapping_create(rt, src, "f", &o, &m, &d), d);
	faas_source_free(src);
	ck_assert_ok(faas_queue_send_fifo(q, "a1", 2, NULL, "A", "1", NULL, &d), d);
	ck_assert_ok(faas_queue_send_fifo(q, "a2", 2, NULL, "A", "2", NULL, &d), d);
	ck_assert_ok(faas_queue_send_fifo(q, "b1", 2, NULL, "B", "3", NULL, &d), d);
	advance(rt, 1); /* a1 fails: group A waits for it; b1 goes */
	advance(rt, 30000); /* a1 is back: then a2 */
	ck_assert_int_eq(nseen, 4);
	for (i = 0; i < 4; i++)
		ck_assert_str_eq(t_jstr(json_array_get(json_object_get(seen[i], "Records"), 0), "body"),
		                 want[i]);
	attrs = json_object_get(json_array_get(json_object_get(seen[3], "Records"), 0), "attributes");
	ck_assert_str_eq(t_jstr(attrs, "MessageGroupId"), "A");
	ck_assert_str_eq(t_jstr(attrs, "MessageDeduplicationId"), "2");
	ck_assert_str_eq(t_jstr(attrs, "SequenceNumber"), "00000000000000000002");
	counts_are(q, 0, 0);
	faas_runtime_free(rt);
	seen_reset();
}
END_TEST

/* A FIFO group gathered beyond one batch (here: the batch size lowered
 * while it waited for its window) goes one batch at a time, and when one
 * fails, the group's later messages go back with it: none runs before the
 * failed ones are retried. */
START_TEST(mapping_fifo_group_never_overtakes_a_failure)
{
	faas_runtime_t *rt = rt_inline();
	faas_mapping_options_t o = FAAS_MAPPING_OPTIONS_INIT;
	static const char *const want[] = { "m0", "m0", "m2", "m4" };
	faas_error_detail_t d;
	faas_mapping_t *m;
	faas_queue_t *q;
	char body[8], dedup[8];
	int i;

	q = fifo_setup(rt, "g.fifo", "m0");
	o.batch_size = 10;
	o.max_batching_window_ms = 5000;
	m = mkmap(rt, q, "f", &o);
	for (i = 0; i < 6; i++) {
		snprintf(body, sizeof(body), "m%d", i);
		snprintf(dedup, sizeof(dedup), "d%d", i);
		ck_assert_ok(faas_queue_send_fifo(q, body, 2, NULL, "A", dedup, NULL, &d), d);
	}
	advance(rt, 1); /* all six gathered, waiting for the window */
	counts_are(q, 0, 6);
	o.batch_size = 2;
	ck_assert_ok(faas_mapping_update(m, &o, &d), d);
	advance(rt, 5000); /* m0 m1 fail: m2 .. m5 go back, the group waits for m0 */
	ck_assert_int_eq(nseen, 1);
	counts_are(q, 4, 2);
	advance(rt, 30000); /* m0 m1 are visible again: the group goes on, in order */
	advance(rt, 5000);
	advance(rt, 5000);
	ck_assert_int_eq(nseen, 4);
	for (i = 0; i < 4; i++) {
		ck_assert_uint_eq(batch_len(i), 2);
		ck_assert_str_eq(t_jstr(json_array_get(json_object_get(seen[i], "Records"), 0), "body"),
		                 want[i]);
	}
	counts_are(q, 0, 0);
	faas_runtime_free(rt);
	seen_reset();
}
END_TEST

/* ---- the request chain through a queue ------------------------------------------------- */

static _Atomic int loop_hops;

/* Sends what it got back to the queue it came from: a loop. */
static int loop_h(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	json_t *r = json_array_get(json_object_get(event, "Records"), 0);
	const char *body = t_jstr(r, "body");

	(void)ctx;
	atomic_fetch_add(&loop_hops, 1);
	faas_queue_send(ud, body, strlen(body), NULL, NULL, NULL);
	*response = NULL;
	return 0;
}

START_TEST(mapping_recursion_through_a_queue_stops)
{
	faas_runtime_t *rt = rt_inline();
	faas_queue_t *q = mkq(rt, "loop", NULL);
	faas_queue_message_t msg;
	faas_mapping_t *m;
	faas_error_detail_t d;
	size_t n;
	int i;

	atomic_store(&loop_hops, 0);
	t_create_fn(rt, "f", loop_h, q);
	m = mkmap(rt, q, "f", NULL);
	send_n(q, 1, "again");
	for (i = 0; i < 20; i++)
		advance(rt, 1);
	ck_assert_int_eq(atomic_load(&loop_hops), 16); /* the 17th hop is refused */
	ck_assert_int_eq(metric(m, "RecordsDropped"), 1);
	counts_are(q, 0, 0);
	/* a message sent from outside any handler starts a chain of its own */
	send_n(q, 1, "fresh");
	ck_assert_ok(faas_mapping_enable(m, 0, &d), d);
	ck_assert_ok(faas_queue_receive(q, 1, 0, &msg, &n, &d), d);
	ck_assert_uint_eq(msg.lineage, 0);
	faas_queue_message_clear(&msg);
	faas_runtime_free(rt);
}
END_TEST

/* ---- lifecycle -------------------------------------------------------------------------------- */

START_TEST(mapping_disable_enable_delete)
{
	faas_runtime_t *rt = rt_inline();
	faas_queue_t *q = mkq(rt, "in", NULL);
	faas_mapping_options_t o = FAAS_MAPPING_OPTIONS_INIT;
	faas_error_detail_t d;
	faas_mapping_t *m;

	t_create_fn(rt, "f", record_h, NULL);
	o.start_disabled = 1;
	o.batch_size = 50;
	o.max_batching_window_ms = 10000;
	m = mkmap(rt, q, "f", &o);
	ck_assert_str_eq(faas_mapping_state(m), "Disabled");
	send_n(q, 3, "m");
	advance(rt, 20000);
	ck_assert_int_eq(nseen, 0);
	counts_are(q, 3, 0);
	ck_assert_ok(faas_mapping_enable(m, 1, &d), d);
	ck_assert_str_eq(faas_mapping_state(m), "Enabled");
	advance(rt, 1);
	counts_are(q, 0, 3); /* gathered in a window */
	ck_assert_ok(faas_mapping_enable(m, 0, &d), d); /* disabling gives them back */
	ck_assert_str_eq(faas_mapping_state(m), "Disabled");
	counts_are(q, 3, 0);
	ck_assert_int_eq(metric(m, "RecordsReleased"), 3);
	ck_assert_ok(faas_mapping_enable(m, 1, &d), d);
	advance(rt, 1);
	counts_are(q, 0, 3);
	ck_assert_ok(faas_mapping_delete(m, &d), d); /* and so does deleting */
	counts_are(q, 3, 0);
	advance(rt, 20000);
	ck_assert_int_eq(nseen, 0);
	faas_runtime_free(rt);
	seen_reset();
}
END_TEST

START_TEST(mapping_shutdown_returns_gathered_records)
{
	faas_runtime_t *rt = rt_inline();
	faas_queue_t *q = mkq(rt, "in", NULL);
	faas_mapping_options_t o = FAAS_MAPPING_OPTIONS_INIT;
	faas_error_detail_t d;
	faas_mapping_t *m;

	t_create_fn(rt, "f", record_h, NULL);
	o.batch_size = 50;
	o.max_batching_window_ms = 10000;
	m = mkmap(rt, q, "f", &o);
	send_n(q, 7, "m");
	advance(rt, 1);
	counts_are(q, 0, 7);
	ck_assert_int_eq(faas_runtime_shutdown(rt, 0), 0);
	counts_are(q, 7, 0); /* nothing acknowledged that was not processed */
	ck_assert_int_eq(nseen, 0);
	ck_assert_int_eq(metric(m, "RecordsReleased"), 7);
	ck_assert_fail(faas_mapping_enable(m, 1, &d), d, FAAS_ESHUTDOWN, "shut down");
	faas_runtime_free(rt);
	seen_reset();
}
END_TEST

START_TEST(mapping_describe_shape)
{
	faas_runtime_t *rt = rt_inline();
	faas_queue_t *q = mkq(rt, "orders", NULL);
	faas_mapping_options_t o = FAAS_MAPPING_OPTIONS_INIT;
	faas_error_detail_t d;
	faas_mapping_t *m;
	json_t *j;

	t_create_fn(rt, "f", record_h, NULL);
	o.batch_size = 100;
	o.max_batching_window_ms = 2000;
	o.max_concurrency = 5;
	o.report_batch_item_failures = 1;
	o.filters[0] = "{\"body\" : {\"a\" : [1]}}";
	m = mkmap(rt, q, "f", &o);
	ck_assert_ok(faas_mapping_describe(m, &j, &d), d);
	ck_assert_str_eq(t_jstr(j, "UUID"), faas_mapping_uuid(m));
	ck_assert_uint_eq(strlen(faas_mapping_uuid(m)), 36);
	ck_assert_str_eq(t_jstr(j, "EventSourceArn"), "arn:aws:sqs:us-east-1:123456789012:orders");
	ck_assert_str_eq(t_jstr(j, "FunctionArn"), "arn:aws:lambda:us-east-1:123456789012:function:f");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "BatchSize")), 100);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "MaximumBatchingWindowInSeconds")), 2);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(j, "FunctionResponseTypes"), 0)),
	                 "ReportBatchItemFailures");
	ck_assert_str_eq(t_jstr(json_array_get(json_object_get(json_object_get(j, "FilterCriteria"),
	                                                       "Filters"),
	                                       0),
	                        "Pattern"),
	                 "{\"body\":{\"a\":[1]}}");
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "ScalingConfig"),
	                                                    "MaximumConcurrency")),
	                 5);
	ck_assert_str_eq(t_jstr(j, "State"), "Enabled");
	ck_assert_str_eq(t_jstr(j, "LastModified"), "2023-11-14T22:13:20.000+0000");
	json_decref(j);
	/* update: new settings, checked as at create */
	o.batch_size = 5;
	o.filters[0] = NULL;
	ck_assert_ok(faas_mapping_update(m, &o, &d), d);
	ck_assert_ok(faas_mapping_describe(m, &j, &d), d);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "BatchSize")), 5);
	ck_assert_uint_eq(json_array_size(json_object_get(json_object_get(j, "FilterCriteria"),
	                                                  "Filters")),
	                  0);
	json_decref(j);
	o.batch_size = 20000;
	ck_assert_fail(faas_mapping_update(m, &o, &d), d, FAAS_EINVAL, "batchSize");
	faas_runtime_free(rt);
}
END_TEST

START_TEST(mapping_bad_input)
{
	faas_runtime_t *rt = rt_inline(), *other = rt_inline();
	faas_queue_t *q = mkq(rt, "in", NULL);
	faas_mapping_options_t o = FAAS_MAPPING_OPTIONS_INIT;
	faas_source_ops_t ops = { FAAS_SOURCE_OPS_VERSION, NULL, NULL, NULL, NULL,
		                  NULL, NULL, NULL, NULL, 0, 0, NULL, NULL, 0, NULL };
	faas_error_detail_t d;
	faas_source_t *src, *bad_src;
	faas_mapping_t *m = (faas_mapping_t *)&d;

	t_create_fn(rt, "f", record_h, NULL);
	t_create_fn(other, "f", record_h, NULL);
	ck_assert_ok(faas_queue_source_new(q, &src, &d), d);
	ck_assert_fail(faas_mapping_create(NULL, src, "f", NULL, &m, &d), d, FAAS_EINVAL, "NULL");
	ck_assert_fail(faas_mapping_create(rt, NULL, "f", NULL, &m, &d), d, FAAS_EINVAL, "source");
	ck_assert_ptr_null(m);
	ck_assert_fail(faas_mapping_create(rt, src, "f", NULL, NULL, &d), d, FAAS_EINVAL, "out");
	ck_assert_fail(faas_mapping_create(rt, src, NULL, NULL, &m, &d), d, FAAS_EINVAL, "");
	ck_assert_fail(faas_mapping_create(rt, src, "nope", NULL, &m, &d), d, FAAS_ENOTFOUND,
	               "Function not found");
	ck_assert_fail(faas_mapping_create(rt, src, "f:7", NULL, &m, &d), d, FAAS_ENOTFOUND, "");
	ck_assert_fail(faas_mapping_create(rt, src, "bad name!", NULL, &m, &d), d, FAAS_EINVAL, "");
	o.version = 99;
	ck_assert_fail(faas_mapping_create(rt, src, "f", &o, &m, &d), d, FAAS_EINVAL, "version");
	o.version = FAAS_MAPPING_OPTIONS_VERSION;
	o.batch_size = 10001;
	ck_assert_fail(faas_mapping_create(rt, src, "f", &o, &m, &d), d, FAAS_EINVAL, "batchSize");
	o.batch_size = 11;
	ck_assert_fail(faas_mapping_create(rt, src, "f", &o, &m, &d), d, FAAS_EINVAL,
	               "Maximum batch window in seconds must be greater than 0");
	o.batch_size = 10;
	o.max_batching_window_ms = 300001; /* 300.001 s: over, and not shown as 300 */
	ck_assert_fail(faas_mapping_create(rt, src, "f", &o, &m, &d), d, FAAS_EINVAL,
	               "Value '301' at 'maximumBatchingWindowInSeconds'");
	o.max_batching_window_ms = 0;
	o.max_concurrency = 1001;
	ck_assert_fail(faas_mapping_create(rt, src, "f", &o, &m, &d), d, FAAS_EINVAL,
	               "maximumConcurrency");
	o.max_concurrency = 0;
	o.filters[0] = "{\"a\":[1]}";
	o.filters[1] = "{\"a\":[{\"nope\":1}]}";
	ck_assert_fail(faas_mapping_create(rt, src, "f", &o, &m, &d), d, FAAS_EINVAL,
	               "unknown operator \"nope\"");
	ck_assert_fail(faas_mapping_create(other, src, "f", NULL, &m, &d), d, FAAS_EINVAL,
	               "another runtime");
	ck_assert_ptr_null(m);
	/* sources */
	ck_assert_fail(faas_source_new(NULL, &ops, NULL, &d), d, FAAS_EINVAL, "out");
	ck_assert_fail(faas_source_new(&bad_src, &ops, NULL, &d), d, FAAS_EINVAL, "receive");
	ck_assert_ptr_null(bad_src);
	ck_assert_fail(faas_source_new(&bad_src, NULL, NULL, &d), d, FAAS_EINVAL, "receive");
	ops.receive = host_receive;
	ops.version = FAAS_SOURCE_OPS_VERSION + 1;
	ck_assert_fail(faas_source_new(&bad_src, &ops, NULL, &d), d, FAAS_EINVAL, "version");
	ck_assert_fail(faas_queue_source_new(NULL, &bad_src, &d), d, FAAS_EINVAL, "queue");
	faas_source_free(src);
	ck_assert_fail(faas_mapping_enable(NULL, 1, &d), d, FAAS_EINVAL, "mapping");
	ck_assert_fail(faas_mapping_update(NULL, &o, &d), d, FAAS_EINVAL, "mapping");
	ck_assert_fail(faas_mapping_delete(NULL, &d), d, FAAS_EINVAL, "mapping");
	ck_assert_fail(faas_mapping_describe(NULL, NULL, &d), d, FAAS_EINVAL, "mapping");
	ck_assert_ptr_null(faas_mapping_state(NULL));
	ck_assert_ptr_null(faas_mapping_uuid(NULL));
	faas_source_free(NULL);
	faas_source_notify(NULL);
	/* after shutdown */
	ck_assert_ok(faas_queue_source_new(q, &src, &d), d);
	faas_runtime_shutdown(rt, 0);
	ck_assert_fail(faas_mapping_create(rt, src, "f", NULL, &m, &d), d, FAAS_ESHUTDOWN,
	               "shut down");
	faas_source_free(src);
	faas_runtime_free(rt);
	faas_runtime_free(other);
}
END_TEST

/* ---- a host source through the vtable -------------------------------------------------------- */

struct host_src {
	int next, total;
	int acked, nacked, released, closed;
	char state[16]; /* per record: 'w'aiting, 'o'ut, 'a'cked, 'n'acked */
};

static int host_receive(void *ud, uint32_t max, uint32_t vis, faas_source_record_t *out, size_t *n)
{
	struct host_src *h = ud;
	size_t k = 0;
	int i;

	(void)vis;
	for (i = 0; i < h->total && k < max; i++) {
		if (h->state[i] != 'w')
			continue;
		h->state[i] = 'o';
		out[k].record = json_pack("{s:i,s:s}", "n", i, "eventSource", "host");
		out[k].size = 20;
		out[k].lineage = 0;
		snprintf(out[k].id, sizeof(out[k].id), "rec-%d", i);
		snprintf(out[k].handle, sizeof(out[k].handle), "%d", i);
		k++;
	}
	*n = k;
	return 0;
}

static void host_ack(void *ud, const faas_source_record_t *r)
{
	struct host_src *h = ud;

	h->state[atoi(r->handle)] = 'a';
	h->acked++;
}

static void host_nack(void *ud, const faas_source_record_t *r)
{
	struct host_src *h = ud;

	h->state[atoi(r->handle)] = 'n';
	h->nacked++;
}

static void host_release(void *ud, const faas_source_record_t *r)
{
	struct host_src *h = ud;

	h->state[atoi(r->handle)] = 'w';
	h->released++;
}

static void host_close(void *ud)
{
	((struct host_src *)ud)->closed++;
}

START_TEST(mapping_host_source)
{
	faas_runtime_t *rt = rt_inline();
	faas_source_ops_t ops = { FAAS_SOURCE_OPS_VERSION, "host", "arn:host:1", NULL, host_receive,
		                  host_ack, host_nack, host_release, host_close, 0, 0, NULL, NULL, 0, NULL };
	faas_mapping_options_t o = FAAS_MAPPING_OPTIONS_INIT;
	struct host_src h;
	faas_error_detail_t d;
	faas_source_t *src;
	faas_mapping_t *m;
	json_t *j;

	memset(&h, 0, sizeof(h));
	h.total = 6;
	memset(h.state, 'w', 6);
	t_create_fn(rt, "f", record_h, (void *)"{\"batchItemFailures\":[{\"itemIdentifier\":\"rec-4\"}]}");
	ck_assert_ok(faas_source_new(&src, &ops, &h, &d), d);
	o.report_batch_item_failures = 1;
	o.batch_size = 5;
	o.filters[0] = "{\"n\":[{\"anything-but\":[0]}]}";
	ck_assert_ok(faas_mapping_create(rt, src, "f", &o, &m, &d), d);
	faas_source_free(src);
	ck_assert_int_eq(h.closed, 0);
	advance(rt, 1);
	ck_assert_int_eq(nseen, 2); /* 1..5 (0 filtered out), then the 6th */
	ck_assert_uint_eq(batch_len(0), 4);
	ck_assert_uint_eq(batch_len(1), 1);
	ck_assert_int_eq(h.state[0], 'a'); /* filtered: acknowledged, never invoked */
	ck_assert_int_eq(h.state[1], 'a');
	ck_assert_int_eq(h.state[4], 'n'); /* reported as failed */
	ck_assert_int_eq(h.state[5], 'n'); /* its batch named an unknown id: a full failure */
	ck_assert_int_eq(h.acked, 4);
	ck_assert_int_eq(h.nacked, 2);
	ck_assert_int_eq(h.released, 0);
	ck_assert_ok(faas_mapping_describe(m, &j, &d), d);
	ck_assert_str_eq(t_jstr(j, "EventSourceArn"), "arn:host:1");
	json_decref(j);
	ck_assert_ok(faas_mapping_delete(m, &d), d);
	ck_assert_int_eq(h.closed, 1); /* the last user is gone */
	faas_runtime_free(rt);
	seen_reset();
}
END_TEST

/* Version 2's fail op: the reason of each failed record. */
static char fail_types[8][200];
static int nfails;

static void host_fail(void *ud, const faas_source_record_t *r, const char *type, const char *msg)
{
	ck_assert_ptr_nonnull(msg);
	host_nack(ud, r);
	if (nfails < 8)
		snprintf(fail_types[nfails++], sizeof(fail_types[0]), "%s %s", r->id, type);
}

START_TEST(mapping_host_source_fail)
{
	faas_runtime_t *rt = rt_inline();
	faas_source_ops_t ops = { FAAS_SOURCE_OPS_VERSION, "host", "arn:host:2", NULL, host_receive,
		                  host_ack, host_nack, host_release, host_close, 0, 0, NULL, NULL, 0,
		                  host_fail };
	faas_mapping_options_t o = FAAS_MAPPING_OPTIONS_INIT;
	struct host_src h;
	faas_error_detail_t d;
	faas_source_t *src, *v1;
	faas_mapping_t *m;
	json_t *j;

	memset(&h, 0, sizeof(h));
	h.total = 3;
	memset(h.state, 'w', 3);
	nfails = 0;
	t_create_fn(rt, "partial", record_h,
	            (void *)"{\"batchItemFailures\":[{\"itemIdentifier\":\"rec-1\"}]}");
	t_create_fn(rt, "boom", record_h, (void *)"ERROR");
	ck_assert_ok(faas_source_new(&src, &ops, &h, &d), d);
	o.report_batch_item_failures = 1;
	o.batch_size = 2;
	ck_assert_ok(faas_mapping_create(rt, src, "partial", &o, &m, &d), d);
	advance(rt, 1); /* rec-0, rec-1: one listed; then rec-2 alone, its list unknown */
	ck_assert_int_eq(nfails, 2);
	ck_assert_str_eq(fail_types[0], "rec-1 ReportedBatchItemFailure");
	ck_assert_str_eq(fail_types[1], "rec-2 InvalidBatchItemFailures");
	ck_assert_int_eq(h.nacked, 2); /* fail stands in for nack, once per record */
	ck_assert_int_eq(h.acked, 1);
	ck_assert_ok(faas_mapping_delete(m, &d), d);

	memset(h.state, 'w', 3);
	h.acked = h.nacked = 0;
	ck_assert_ok(faas_mapping_create(rt, src, "boom", &o, &m, &d), d);
	advance(rt, 1);
	ck_assert_int_eq(nfails, 5);
	ck_assert_str_eq(fail_types[2], "rec-0 Boom"); /* the function's errorType */
	ck_assert_str_eq(fail_types[4], "rec-2 Boom");
	ck_assert_int_eq(h.nacked, 3);
	/* a problem the source reports is counted on its mappings */
	faas_source_report(src, FAAS_ETIMEDOUT, "connection lost");
	faas_source_report(NULL, FAAS_ETIMEDOUT, "ignored");
	ck_assert_ptr_eq(faas_source_user_data(src, host_receive), &h);
	ck_assert_ptr_null(faas_source_user_data(src, lp_receive)); /* not one of those */
	ck_assert_ptr_null(faas_source_user_data(NULL, host_receive));
	ck_assert_ok(faas_mapping_describe(m, &j, &d), d);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "Metrics"),
	                                                    "SourceErrors")), 1);
	json_decref(j);
	ck_assert_ok(faas_mapping_delete(m, &d), d);
	faas_source_free(src);

	/* a version 1 vtable (no fail member) still works: nack gets the failures */
	ops.version = 1;
	ops.fail = NULL;
	memset(h.state, 'w', 3);
	h.acked = h.nacked = 0;
	ck_assert_ok(faas_source_new(&v1, &ops, &h, &d), d);
	ck_assert_ok(faas_mapping_create(rt, v1, "boom", &o, &m, &d), d);
	faas_source_free(v1);
	advance(rt, 1);
	ck_assert_int_eq(h.nacked, 3);
	ck_assert_int_eq(nfails, 5);
	ck_assert_ok(faas_mapping_delete(m, &d), d);
	faas_runtime_free(rt);
	seen_reset();
}
END_TEST

/* ---- a host source whose receive blocks: a poll thread of its own ------------------------- */

struct long_poll {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int queued, acked, receives, closed;
	bool on_hk_or_worker; /* receive ran somewhere it must not */
	pthread_t poller;
	bool have_poller;
};

static int lp_receive(void *ud, uint32_t max, uint32_t vis, faas_source_record_t *out, size_t *n)
{
	struct long_poll *lp = ud;
	struct timespec ts;
	size_t k = 0;
	char name[16] = "";

	(void)vis;
	pthread_getname_np(pthread_self(), name, sizeof(name));
	pthread_mutex_lock(&lp->lock);
	if (strcmp(name, "faas-poll") != 0)
		lp->on_hk_or_worker = true;
	lp->receives++;
	pthread_cond_broadcast(&lp->cond);
	if (!lp->queued) { /* a long poll: up to 50 ms for something to come */
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 50000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&lp->cond, &lp->lock, &ts);
	}
	while (lp->queued > 0 && k < max) {
		out[k].record = json_pack("{s:i}", "n", lp->queued);
		out[k].size = 10;
		out[k].lineage = out[k].group = 0;
		snprintf(out[k].id, sizeof(out[k].id), "lp-%d", lp->queued);
		snprintf(out[k].handle, sizeof(out[k].handle), "%d", lp->queued);
		lp->queued--;
		k++;
	}
	pthread_mutex_unlock(&lp->lock);
	*n = k;
	return 0;
}

static void lp_ack(void *ud, const faas_source_record_t *r)
{
	struct long_poll *lp = ud;

	(void)r;
	pthread_mutex_lock(&lp->lock);
	lp->acked++;
	pthread_cond_broadcast(&lp->cond);
	pthread_mutex_unlock(&lp->lock);
}

static void lp_close(void *ud)
{
	((struct long_poll *)ud)->closed++;
}

static _Atomic int blk_given, blk_released;

/* Three records once, then nothing (a short wait, as a long poll). */
static int blk_receive(void *ud, uint32_t max, uint32_t vis, faas_source_record_t *out, size_t *n)
{
	(void)ud;
	(void)vis;
	*n = 0;
	if (atomic_load(&blk_given) >= 3) {
		faas__sleep_ms(5);
		return 0;
	}
	for (int i = 0; i < 3 && i < (int)max; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		out[i].record = json_pack("{s:i}", "i", i);
		out[i].size = 7;
		snprintf(out[i].id, sizeof(out[i].id), "r%d", i);
		snprintf(out[i].handle, sizeof(out[i].handle), "h%d", i);
		(*n)++;
	}
	atomic_fetch_add(&blk_given, (int)*n);
	return 0;
}

static void blk_release(void *ud, const faas_source_record_t *r)
{
	(void)ud;
	(void)r;
	atomic_fetch_add(&blk_released, 1);
}

/* A blocking source's records gathered for a window that has not ended go
 * back at shutdown (after its poll thread is joined), not at free. */
START_TEST(mapping_blocking_source_released_at_shutdown)
{
	faas_runtime_t *rt = t_runtime(); /* threaded, virtual clock: the window never ends */
	faas_source_ops_t ops = { FAAS_SOURCE_OPS_VERSION, "blocking", NULL, NULL, blk_receive,
		                  NULL, NULL, blk_release, NULL, 0, 0, NULL, NULL, 1, NULL };
	faas_mapping_options_t mo = FAAS_MAPPING_OPTIONS_INIT;
	uint64_t until = faas__real_mono_ns() + 5000000000ull;
	faas_error_detail_t d;
	faas_source_t *src;
	faas_mapping_t *m;
	int released;

	atomic_store(&blk_given, 0);
	atomic_store(&blk_released, 0);
	t_create_fn(rt, "f", record_h, NULL);
	ck_assert_ok(faas_source_new(&src, &ops, NULL, &d), d);
	mo.batch_size = 10;
	mo.max_batching_window_ms = 30000;
	mo.poll_interval_ms = 5;
	ck_assert_ok(faas_mapping_create(rt, src, "f", &mo, &m, &d), d);
	faas_source_free(src);
	while (metric(m, "RecordsReceived") < 3 && faas__real_mono_ns() < until)
		sched_yield();
	ck_assert_int_eq(metric(m, "RecordsReceived"), 3);
	ck_assert_int_eq(faas_runtime_shutdown(rt, 1000), 0);
	released = atomic_load(&blk_released);
	ck_assert_int_eq(released, 3);
	ck_assert_int_eq(nseen, 0);
	faas_runtime_free(rt);
	seen_reset();
}
END_TEST

START_TEST(mapping_blocking_source_has_a_poll_thread)
{
	faas_runtime_options_t ro = t_options();
	faas_runtime_t *rt = t_runtime_with(&ro); /* threaded */
	faas_source_ops_t ops = { FAAS_SOURCE_OPS_VERSION, "longpoll", NULL, NULL, lp_receive,
		                  lp_ack, NULL, NULL, lp_close, 0, 0, NULL, NULL, 1, NULL };
	faas_mapping_options_t mo = FAAS_MAPPING_OPTIONS_INIT;
	struct long_poll lp;
	faas_error_detail_t d;
	faas_source_t *src;
	faas_mapping_t *m;

	memset(&lp, 0, sizeof(lp));
	pthread_mutex_init(&lp.lock, NULL);
	pthread_cond_init(&lp.cond, NULL);
	t_create_fn(rt, "f", record_h, NULL);
	ck_assert_ok(faas_source_new(&src, &ops, &lp, &d), d);
	mo.poll_interval_ms = 20;
	/* a thread that cannot start: a clear error, nothing half made */
	faas__thread_fail_at(1, false);
	ck_assert_fail(faas_mapping_create(rt, src, "f", &mo, &m, &d), d, FAAS_ETHREAD, "poll thread");
	faas__thread_fail_at(0, false);
	ck_assert_ok(faas_mapping_create(rt, src, "f", &mo, &m, &d), d);
	faas_source_free(src);
	pthread_mutex_lock(&lp.lock);
	lp.queued = 5; /* the long poll in progress gets them */
	pthread_cond_broadcast(&lp.cond);
	while (lp.acked < 5) /* real time: the poll thread is the source's own */
		pthread_cond_wait(&lp.cond, &lp.lock);
	pthread_mutex_unlock(&lp.lock);
	t_settle(rt); /* a poll thread waiting in receive does not count as busy */
	ck_assert_int_eq(metric(m, "RecordsSucceeded"), 5);
	ck_assert_ok(faas_mapping_delete(m, &d), d); /* waits for the receive it is in */
	ck_assert_int_eq(lp.closed, 1);
	ck_assert(!lp.on_hk_or_worker); /* receive ran on faas-poll only */
	ck_assert_int_gt(lp.receives, 0);
	faas_runtime_free(rt);
	pthread_cond_destroy(&lp.cond);
	pthread_mutex_destroy(&lp.lock);
	seen_reset();
}
END_TEST

/* ---- allocation failures while a batch is gathered and sent ----------------------------- */

static _Atomic int processed[8];

static int count_h(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	json_t *r;
	size_t i;

	(void)ctx;
	(void)ud;
	json_array_foreach(json_object_get(event, "Records"), i, r)
		atomic_fetch_add(&processed[atoi(t_jstr(r, "body"))], 1);
	*response = NULL;
	return 0;
}

/* Fail the 1st, 2nd, ... allocation of a step: records are released or
 * come back, never lost; nothing leaks; every message is processed once. */
START_TEST(mapping_allocation_failures)
{
	long n, base = faas__alloc_live();

	for (n = 1; n < 400; n++) {
		faas_runtime_t *rt = rt_inline();
		faas_queue_t *q = mkq(rt, "in", NULL);
		faas_mapping_options_t o = FAAS_MAPPING_OPTIONS_INIT;
		faas_error_detail_t d;
		long fails;
		uint64_t v, f;
		char body[16];
		int i, rounds = 0;

		t_create_fn(rt, "f", count_h, NULL);
		o.filters[0] = "{\"body\":[{\"anything-but\":\"7\"}]}";
		mkmap(rt, q, "f", &o);
		for (i = 0; i < 5; i++) {
			atomic_store(&processed[i], 0);
			snprintf(body, sizeof(body), "%d", i);
			ck_assert_ok(faas_queue_send(q, body, 1, NULL, NULL, &d), d);
		}
		fails = faas__alloc_failures();
		faas__alloc_fail_at(n, false);
		faas_clock_advance(rt, 1);
		faas__alloc_fail_at(0, false);
		if (faas__alloc_failures() == fails) { /* the step ran untouched */
			for (i = 0; i < 5; i++)
				ck_assert_int_eq(atomic_load(&processed[i]), 1);
			faas_runtime_free(rt);
			break;
		}
		do { /* backoffs, visibility timeouts */
			advance(rt, 30000);
			faas_queue_counts(q, &v, &f);
		} while ((v || f) && ++rounds < 100);
		ck_assert_msg(!v && !f, "n=%ld: %llu/%llu left", n, (unsigned long long)v,
		              (unsigned long long)f);
		for (i = 0; i < 5; i++) /* a failed receive may hide a message for its timeout */
			ck_assert_msg(atomic_load(&processed[i]) == 1, "n=%ld: message %d processed %d times",
			              n, i, atomic_load(&processed[i]));
		faas_runtime_free(rt);
		ck_assert_msg(faas__alloc_live() == base, "n=%ld: %ld blocks leaked", n,
		              faas__alloc_live() - base);
	}
	ck_assert_int_gt(n, 3);
	ck_assert_int_lt(n, 400);
}
END_TEST

/* ---- soak: every message accounted for ------------------------------------------------------- */

static _Atomic(unsigned char) *done_ok; /* per message: successful processings */
static _Atomic long deliveries;

/* Fails about 5 % of the records it gets (by a hash of id and receive count). */
static int flaky_h(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	json_t *recs = json_object_get(event, "Records"), *r, *fails = json_array();
	size_t i;

	(void)ctx;
	(void)ud;
	json_array_foreach(recs, i, r) {
		const char *id = t_jstr(r, "messageId");
		const char *cnt = t_jstr(json_object_get(r, "attributes"), "ApproximateReceiveCount");
		long n = atol(t_jstr(r, "body"));
		char key[80];
		atomic_fetch_add(&deliveries, 1);
		snprintf(key, sizeof(key), "%s/%s", id, cnt);
		if (faas__hash64(key, strlen(key), 7) % 100 < 5)
			json_array_append_new(fails, json_pack("{s:s}", "itemIdentifier", id));
		else
			atomic_fetch_add(&done_ok[n], 1);
	}
	*response = json_pack("{s:o}", "batchItemFailures", fails);
	return 0;
}

static void soak(bool threaded, long n)
{
	faas_runtime_options_t ro = t_options();
	faas_queue_options_t qo = FAAS_QUEUE_OPTIONS_INIT;
	faas_mapping_options_t o = FAAS_MAPPING_OPTIONS_INIT;
	faas_error_detail_t d;
	faas_runtime_t *rt;
	faas_queue_t *q, *dlq;
	faas_mapping_t *m;
	faas_queue_message_t msg[100];
	long i, twice = 0, lost = 0, in_dlq = 0, rounds = 0;
	uint64_t v, f;
	char body[24];

	ro.inline_mode = !threaded;
	ro.max_concurrency = 4;
	rt = t_runtime_with(&ro);
	done_ok = calloc((size_t)n, 1);
	atomic_store(&deliveries, 0);
	dlq = mkq(rt, "dlq", &(faas_queue_options_t){ FAAS_QUEUE_OPTIONS_VERSION, 0,
	                                              (uint32_t)n, 0, 0, NULL, 0, 0 });
	qo.capacity = (uint32_t)n;
	qo.max_receive_count = 2;
	qo.dead_letter = dlq;
	q = mkq(rt, "in", &qo);
	t_create_fn(rt, "f", flaky_h, NULL);
	o.batch_size = 100;
	o.max_batching_window_ms = 1000;
	o.report_batch_item_failures = 1;
	m = mkmap(rt, q, "f", &o);
	for (i = 0; i < n; i++) {
		int len = snprintf(body, sizeof(body), "%ld", i);
		ck_assert_ok(faas_queue_send(q, body, (size_t)len, NULL, NULL, &d), d);
	}
	do { /* windows close, failed messages come back after 30 s, twice at most */
		advance(rt, 1000);
		if (++rounds % 30 == 0)
			advance(rt, 1);
		faas_queue_counts(q, &v, &f);
	} while ((v || f) && rounds < 100000);
	for (;;) { /* what the redrive policy moved */
		size_t k = 0;
		ck_assert_ok(faas_queue_receive(dlq, 100, 0, msg, &k, &d), d);
		if (!k)
			break;
		for (size_t j = 0; j < k; j++) {
			long id = atol(msg[j].body);
			ck_assert_int_eq(atomic_load(&done_ok[id]), 0); /* never also processed */
			in_dlq++;
			faas_queue_message_clear(&msg[j]);
		}
	}
	for (i = 0; i < n; i++) {
		unsigned char c = atomic_load(&done_ok[i]);
		twice += c > 1;
		lost += c == 0;
	}
	ck_assert_int_eq(twice, 0);
	ck_assert_int_eq(lost, in_dlq); /* each one not processed is in the dead-letter queue */
	ck_assert_int_eq(metric(m, "RecordsSucceeded"), n - in_dlq);
	/* every delivery is a success or a reported failure */
	ck_assert_int_eq(metric(m, "RecordsSucceeded") + metric(m, "RecordsFailed"),
	                 atomic_load(&deliveries));
	ck_assert_int_eq(metric(m, "RecordsReceived"), atomic_load(&deliveries));
	if (n >= 100000)
		ck_assert_int_gt(in_dlq, 0); /* 5 % twice: about 0.25 % */
	faas_runtime_free(rt);
	free((void *)done_ok);
}

START_TEST(mapping_soak_inline)
{
	soak(false, t_scaled(1000000));
}
END_TEST

START_TEST(mapping_soak_threaded)
{
	soak(true, t_scaled(100000));
}
END_TEST

Suite *mapping_suite(void)
{
	Suite *s = suite_create("mapping");
	TCase *tc = tcase_create("core");
	TCase *soak_tc = tcase_create("soak");

	tcase_add_test(tc, mapping_batches_by_size);
	tcase_add_test(tc, mapping_batches_by_window);
	tcase_add_test(tc, mapping_batches_by_bytes);
	tcase_add_test(tc, mapping_sqs_record_shape);
	tcase_add_test(tc, mapping_md5_vectors);
	tcase_add_test(tc, mapping_sqs_record_size);
	tcase_add_test(tc, mapping_failed_batch_comes_back_and_redrives);
	tcase_add_test(tc, mapping_timeout_is_a_failure);
	tcase_add_loop_test(tc, mapping_partial_batch_responses, 0, 17);
	tcase_add_test(tc, mapping_item_failures_need_the_option);
	tcase_add_loop_test(tc, mapping_filter_table, 0,
	                    (int)(sizeof(filter_cases) / sizeof(filter_cases[0])));
	tcase_add_test(tc, mapping_filter_bad_patterns);
	tcase_add_test(tc, mapping_filters_on_sqs_body);
	tcase_add_test(tc, mapping_max_concurrency);
	tcase_add_test(tc, mapping_throttle_releases_and_backs_off);
	tcase_add_test(tc, mapping_fifo_group_order);
	tcase_add_test(tc, mapping_fifo_group_never_overtakes_a_failure);
	tcase_add_test(tc, mapping_recursion_through_a_queue_stops);
	tcase_add_test(tc, mapping_disable_enable_delete);
	tcase_add_test(tc, mapping_shutdown_returns_gathered_records);
	tcase_add_test(tc, mapping_describe_shape);
	tcase_add_test(tc, mapping_bad_input);
	tcase_add_test(tc, mapping_host_source);
	tcase_add_test(tc, mapping_host_source_fail);
	tcase_add_test(tc, mapping_blocking_source_has_a_poll_thread);
	tcase_add_test(tc, mapping_blocking_source_released_at_shutdown);
	tcase_add_test(tc, mapping_allocation_failures);
	suite_add_tcase(s, tc);
	tcase_set_timeout(soak_tc, 300);
	tcase_add_test(soak_tc, mapping_soak_inline);
	tcase_add_test(soak_tc, mapping_soak_threaded);
	suite_add_tcase(s, soak_tc);
	return s;
}
