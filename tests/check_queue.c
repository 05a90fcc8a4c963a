/*
 * libfaas tests — the built-in queue: send, receive, visibility on the
 * virtual clock, delete, change visibility, redrive, capacity, errors, and
 * concurrent producers and consumers.
 */
#include "tests.h"

#include <stdio.h>
#include <stdlib.h>

static faas_queue_t *mkq(faas_runtime_t *rt, const char *name, const faas_queue_options_t *o)
{
	faas_error_detail_t d;
	faas_queue_t *q = NULL;

	ck_assert_ok(faas_queue_create(rt, name, o, &q, &d), d);
	ck_assert_ptr_nonnull(q);
	return q;
}

static void send_text(faas_queue_t *q, const char *body, char *id)
{
	faas_error_detail_t d;

	ck_assert_ok(faas_queue_send(q, body, strlen(body), NULL, id, &d), d);
}

static size_t recv(faas_queue_t *q, uint32_t max, uint32_t vis, faas_queue_message_t *m)
{
	faas_error_detail_t d;
	size_t n = 99;

	ck_assert_ok(faas_queue_receive(q, max, vis, m, &n, &d), d);
	return n;
}

static void counts_are(faas_queue_t *q, uint64_t visible, uint64_t in_flight)
{
	uint64_t v, f;

	faas_queue_counts(q, &v, &f);
	ck_assert_uint_eq(v, visible);
	ck_assert_uint_eq(f, in_flight);
}

START_TEST(queue_send_receive_delete)
{
	faas_runtime_t *rt = t_runtime();
	faas_queue_t *q = mkq(rt, "orders", NULL);
	faas_queue_message_t m[10];
	faas_error_detail_t d;
	char ids[3][40];
	json_t *attrs = json_pack("{s:{s:s,s:s}}", "k", "stringValue", "v", "dataType", "String");
	int i;

	ck_assert_str_eq(faas_queue_arn(q), "arn:aws:sqs:us-east-1:123456789012:orders");
	ck_assert_ptr_eq(faas_queue_find(rt, "orders"), q);
	ck_assert_ptr_null(faas_queue_find(rt, "nope"));
	send_text(q, "one", ids[0]);
	ck_assert_ok(faas_queue_send(q, "{\"n\":2}", 7, attrs, ids[1], &d), d);
	send_text(q, "three", ids[2]);
	ck_assert_str_ne(ids[0], ids[1]);
	counts_are(q, 3, 0);
	ck_assert_uint_eq(recv(q, 10, 0, m), 3);
	for (i = 0; i < 3; i++) { /* oldest first */
		ck_assert_str_eq(m[i].message_id, ids[i]);
		ck_assert_uint_eq(m[i].receive_count, 1);
		ck_assert_int_eq(m[i].sent_timestamp_ms, 1700000000000);
		ck_assert_int_eq(m[i].first_receive_timestamp_ms, 1700000000000);
	}
	ck_assert_str_eq(m[0].body, "one");
	ck_assert_uint_eq(m[1].body_len, 7);
	ck_assert(json_equal(m[1].attributes, attrs));
	ck_assert_ptr_null(m[0].attributes);
	counts_are(q, 0, 3);
	ck_assert_uint_eq(recv(q, 10, 0, m + 3), 0); /* all hidden */
	ck_assert_ok(faas_queue_delete_message(q, m[0].receipt_handle, &d), d);
	ck_assert_fail(faas_queue_delete_message(q, m[0].receipt_handle, &d), d, FAAS_ENOTFOUND,
	               "ReceiptHandleIsInvalid");
	/* back to visible at once; its next receive makes the old handle stale */
	ck_assert_ok(faas_queue_change_visibility(q, m[2].receipt_handle, 0, &d), d);
	counts_are(q, 1, 1);
	ck_assert_uint_eq(recv(q, 10, 0, m + 3), 1);
	ck_assert_str_eq(m[3].message_id, ids[2]);
	ck_assert_uint_eq(m[3].receive_count, 2);
	ck_assert_str_ne(m[3].receipt_handle, m[2].receipt_handle);
	ck_assert_fail(faas_queue_delete_message(q, m[2].receipt_handle, &d), d, FAAS_ENOTFOUND,
	               "not the message's latest");
	ck_assert_ok(faas_queue_delete_message(q, m[3].receipt_handle, &d), d);
	ck_assert_ok(faas_queue_delete_message(q, m[1].receipt_handle, &d), d);
	counts_are(q, 0, 0);
	for (i = 0; i < 4; i++)
		faas_queue_message_clear(&m[i]);
	faas_queue_message_clear(&m[0]); /* idempotent */
	json_decref(attrs);
	faas_runtime_free(rt);
}
END_TEST

/* Hidden for the visibility timeout on the runtime clock, then back in front. */
START_TEST(queue_visibility_timeout)
{
	faas_runtime_t *rt = t_runtime();
	faas_queue_options_t o = FAAS_QUEUE_OPTIONS_INIT;
	faas_queue_t *q;
	faas_queue_message_t m[4];
	char a[40], b[40];

	o.visibility_timeout_ms = 30000;
	q = mkq(rt, "q", &o);
	send_text(q, "a", a);
	send_text(q, "b", b);
	ck_assert_uint_eq(recv(q, 1, 0, m), 1); /* "a", hidden 30 s */
	faas_clock_advance(rt, 29999);
	ck_assert_uint_eq(recv(q, 1, 5000, m + 1), 1);
	ck_assert_str_eq(m[1].message_id, b);
	faas_clock_advance(rt, 1);
	counts_are(q, 1, 1);
	ck_assert_uint_eq(recv(q, 4, 0, m + 2), 1);
	ck_assert_str_eq(m[2].message_id, a);
	ck_assert_uint_eq(m[2].receive_count, 2);
	ck_assert_int_eq(m[2].first_receive_timestamp_ms, 1700000000000);
	/* b's own timeout was 5 s: due back after 4,999 more ms... */
	faas_clock_advance(rt, 4998);
	counts_are(q, 0, 2);
	faas_clock_advance(rt, 1);
	counts_are(q, 1, 1);
	/* ... and a changed timeout moves a message's return */
	ck_assert_int_eq(faas_queue_change_visibility(q, m[2].receipt_handle, 100000, NULL), 0);
	faas_clock_advance(rt, 99999);
	counts_are(q, 1, 1);
	faas_clock_advance(rt, 1);
	counts_are(q, 2, 0);
	{
		faas_error_detail_t d;
		ck_assert_fail(faas_queue_change_visibility(q, m[2].receipt_handle, 10, &d), d,
		               FAAS_EINVAL, "not available for visibility timeout change");
	}
	for (int i = 0; i < 3; i++)
		faas_queue_message_clear(&m[i]);
	faas_runtime_free(rt);
}
END_TEST

/* Redrive: received max_receive_count times, the next receive moves it. */
START_TEST(queue_redrive_to_dead_letter)
{
	faas_runtime_t *rt = t_runtime();
	faas_queue_options_t o = FAAS_QUEUE_OPTIONS_INIT;
	faas_queue_t *dlq = mkq(rt, "dlq", NULL), *q;
	faas_queue_message_t m[2];
	faas_error_detail_t d;
	char id[40];
	int i;

	o.visibility_timeout_ms = 1000;
	o.max_receive_count = 2;
	o.dead_letter = dlq;
	q = mkq(rt, "work", &o);
	send_text(q, "poison", id);
	for (i = 1; i <= 2; i++) {
		ck_assert_uint_eq(recv(q, 1, 0, m), 1);
		ck_assert_uint_eq(m[0].receive_count, (unsigned)i);
		faas_queue_message_clear(&m[0]);
		faas_clock_advance(rt, 1000);
	}
	ck_assert_uint_eq(recv(q, 10, 0, m), 0); /* moved, not received */
	counts_are(q, 0, 0);
	counts_are(dlq, 1, 0);
	ck_assert_uint_eq(recv(dlq, 10, 0, m), 1);
	ck_assert_str_eq(m[0].message_id, id);
	ck_assert_str_eq(m[0].body, "poison");
	ck_assert_uint_eq(m[0].receive_count, 1);
	faas_queue_message_clear(&m[0]);
	/* a queue in use as a dead-letter queue cannot go */
	ck_assert_fail(faas_queue_delete(dlq, &d), d, FAAS_ECONFLICT, "dead-letter queue of work");
	ck_assert_ok(faas_queue_delete(q, &d), d);
	ck_assert_ok(faas_queue_delete(dlq, &d), d);
	ck_assert_ptr_null(faas_queue_find(rt, "dlq"));
	faas_runtime_free(rt);
}
END_TEST

/* A full dead-letter queue: the message stays, as it was, and moves later. */
START_TEST(queue_redrive_to_a_full_dead_letter)
{
	faas_runtime_t *rt = t_runtime();
	faas_queue_options_t o = FAAS_QUEUE_OPTIONS_INIT, od = FAAS_QUEUE_OPTIONS_INIT;
	faas_queue_message_t m;
	faas_queue_t *dlq, *q;
	char id[40];
	int i;

	od.capacity = 1;
	dlq = mkq(rt, "dlq", &od);
	send_text(dlq, "filler", NULL);
	o.visibility_timeout_ms = 1000;
	o.max_receive_count = 2;
	o.dead_letter = dlq;
	q = mkq(rt, "work", &o);
	send_text(q, "poison", id);
	for (i = 1; i <= 2; i++) {
		ck_assert_uint_eq(recv(q, 1, 0, &m), 1);
		faas_queue_message_clear(&m);
		faas_clock_advance(rt, 1000);
	}
	send_text(q, "later", NULL);
	/* the poison cannot move (the DLQ is full): "later" is received instead */
	ck_assert_uint_eq(recv(q, 1, 0, &m), 1);
	ck_assert_str_eq(m.body, "later");
	ck_assert_int_eq(faas_queue_delete_message(q, m.receipt_handle, NULL), 0);
	faas_queue_message_clear(&m);
	counts_are(q, 1, 0); /* the poison, still here, never received again */
	ck_assert_uint_eq(recv(dlq, 1, 0, &m), 1); /* make room */
	ck_assert_int_eq(faas_queue_delete_message(dlq, m.receipt_handle, NULL), 0);
	faas_queue_message_clear(&m);
	ck_assert_uint_eq(recv(q, 1, 0, &m), 0); /* now it moves */
	counts_are(q, 0, 0);
	ck_assert_uint_eq(recv(dlq, 1, 0, &m), 1);
	ck_assert_str_eq(m.message_id, id);
	faas_queue_message_clear(&m);
	faas_runtime_free(rt);
}
END_TEST

START_TEST(queue_bounded)
{
	faas_runtime_t *rt = t_runtime();
	faas_queue_options_t o = FAAS_QUEUE_OPTIONS_INIT;
	faas_queue_message_t m;
	faas_error_detail_t d;
	faas_queue_t *q;

	o.capacity = 2;
	o.max_message_bytes = 8;
	q = mkq(rt, "small", &o);
	send_text(q, "1", NULL);
	send_text(q, "2", NULL);
	ck_assert_fail(faas_queue_send(q, "3", 1, NULL, NULL, &d), d, FAAS_EAGAIN, "is full (2 messages)");
	ck_assert_uint_eq(recv(q, 1, 0, &m), 1); /* in flight still counts */
	ck_assert_fail(faas_queue_send(q, "3", 1, NULL, NULL, &d), d, FAAS_EAGAIN, "is full");
	ck_assert_ok(faas_queue_delete_message(q, m.receipt_handle, &d), d);
	send_text(q, "3", NULL);
	ck_assert_fail(faas_queue_send(q, "123456789", 9, NULL, NULL, &d), d, FAAS_ETOOLARGE,
	               "Message must be shorter than 8 bytes");
	faas_queue_message_clear(&m);
	faas_runtime_free(rt);
}
END_TEST

/* A deleted queue that a source still holds: no messages, and every send,
 * receive and second delete answers that it does not exist. */
START_TEST(queue_deleted_while_a_source_holds_it)
{
	faas_runtime_t *rt = t_runtime();
	faas_queue_message_t m;
	faas_error_detail_t d;
	faas_source_t *src;
	faas_queue_t *q = mkq(rt, "held", NULL);
	uint64_t v, f;
	size_t n = 7;

	ck_assert_ok(faas_queue_send(q, "one", 3, NULL, NULL, &d), d);
	ck_assert_ok(faas_queue_source_new(q, &src, &d), d);
	ck_assert_ok(faas_queue_delete(q, &d), d);
	ck_assert_fail(faas_queue_delete(q, &d), d, FAAS_ENOTFOUND, "does not exist");
	ck_assert_fail(faas_queue_send(q, "two", 3, NULL, NULL, &d), d, FAAS_ENOTFOUND,
	               "does not exist");
	ck_assert_fail(faas_queue_receive(q, 1, 0, &m, &n, &d), d, FAAS_ENOTFOUND, "does not exist");
	ck_assert_uint_eq(n, 0);
	faas_queue_counts(q, &v, &f);
	ck_assert_uint_eq(v, 0);
	ck_assert_uint_eq(f, 0);
	faas_source_free(src); /* the last reference */
	faas_runtime_free(rt);
}
END_TEST

START_TEST(queue_bad_requests)
{
	faas_runtime_t *rt = t_runtime();
	faas_queue_options_t o = FAAS_QUEUE_OPTIONS_INIT;
	faas_queue_message_t m;
	faas_error_detail_t d;
	faas_queue_t *q = NULL, *q2 = NULL;
	char name[90];
	size_t n;
	json_t *arr = json_array();

	ck_assert_fail(faas_queue_create(rt, "", NULL, &q, &d), d, FAAS_EINVAL, "1 to 80 in length");
	ck_assert_fail(faas_queue_create(rt, "a b", NULL, &q, &d), d, FAAS_EINVAL, "alphanumeric");
	memset(name, 'x', 81);
	name[81] = '\0';
	ck_assert_fail(faas_queue_create(rt, name, NULL, &q, &d), d, FAAS_EINVAL, "1 to 80");
	ck_assert_fail(faas_queue_create(rt, NULL, NULL, &q, &d), d, FAAS_EINVAL, "must not be NULL");
	ck_assert_fail(faas_queue_create(rt, "q", NULL, NULL, &d), d, FAAS_EINVAL, "out must not be NULL");
	ck_assert_int_eq(faas_queue_create(NULL, "q", NULL, &q, NULL), FAAS_EINVAL);
	o.version = 7;
	ck_assert_fail(faas_queue_create(rt, "q", &o, &q, &d), d, FAAS_EINVAL,
	               "unsupported faas_queue_options_t version 7");
	o.version = FAAS_QUEUE_OPTIONS_VERSION;
	o.visibility_timeout_ms = 43200001;
	ck_assert_fail(faas_queue_create(rt, "q", &o, &q, &d), d, FAAS_EINVAL, "12 hours");
	o.visibility_timeout_ms = 0;
	o.max_message_bytes = 1048577;
	ck_assert_fail(faas_queue_create(rt, "q", &o, &q, &d), d, FAAS_EINVAL, "MaximumMessageSize");
	o.max_message_bytes = 0;
	o.max_receive_count = 3;
	ck_assert_fail(faas_queue_create(rt, "q", &o, &q, &d), d, FAAS_EINVAL,
	               "needs both max_receive_count and dead_letter");
	o.max_receive_count = 0;
	q = mkq(rt, "q", &o);
	ck_assert_fail(faas_queue_create(rt, "q", &o, &q2, &d), d, FAAS_EEXIST,
	               "A queue already exists with the same name: q");
	ck_assert_fail(faas_queue_send(q, "", 0, NULL, NULL, &d), d, FAAS_EINVAL, "MessageBody");
	ck_assert_fail(faas_queue_send(q, NULL, 3, NULL, NULL, &d), d, FAAS_EINVAL, "body must not be NULL");
	ck_assert_fail(faas_queue_send(q, "x", 1, arr, NULL, &d), d, FAAS_EINVAL, "JSON object");
	ck_assert_fail(faas_queue_send(NULL, "x", 1, NULL, NULL, &d), d, FAAS_EINVAL, "queue must not be NULL");
	ck_assert_fail(faas_queue_receive(q, 0, 0, &m, &n, &d), d, FAAS_EINVAL, "between 1 and 10000");
	ck_assert_fail(faas_queue_receive(q, 1, 0, NULL, &n, &d), d, FAAS_EINVAL, "must not be NULL");
	ck_assert_fail(faas_queue_delete_message(q, "bogus", &d), d, FAAS_EINVAL, "not a valid receipt handle");
	ck_assert_fail(faas_queue_delete_message(q, NULL, &d), d, FAAS_EINVAL, "not a valid receipt handle");
	ck_assert_fail(faas_queue_delete_message(q, "00000000-0000-4000-8000-000000000000.1", &d), d,
	               FAAS_ENOTFOUND, "ReceiptHandleIsInvalid");
	ck_assert_fail(faas_queue_delete(NULL, &d), d, FAAS_EINVAL, "queue must not be NULL");
	ck_assert_int_eq(faas_runtime_shutdown(rt, 0), 0);
	ck_assert_fail(faas_queue_send(q, "x", 1, NULL, NULL, &d), d, FAAS_ESHUTDOWN, "shut down");
	ck_assert_fail(faas_queue_receive(q, 1, 0, &m, &n, &d), d, FAAS_ESHUTDOWN, "shut down");
	ck_assert_fail(faas_queue_create(rt, "q3", NULL, &q2, &d), d, FAAS_ESHUTDOWN, "shut down");
	json_decref(arr);
	faas_runtime_free(rt);
}
END_TEST

/* Producers and consumers at once: every message received and deleted once. */
struct qpeer {
	faas_queue_t *q;
	long n;
	long got;
	pthread_t tid;
	_Atomic bool *stop;
	unsigned char *seen;
};

static void *producer(void *arg)
{
	struct qpeer *p = arg;
	char body[32];
	long i;

	for (i = 0; i < p->n; i++) {
		int len = snprintf(body, sizeof(body), "%ld", p->got + i); /* got: the first id */
		while (faas_queue_send(p->q, body, (size_t)len, NULL, NULL, NULL) == FAAS_EAGAIN)
			sched_yield();
	}
	return NULL;
}

static void *consumer(void *arg)
{
	struct qpeer *p = arg;
	faas_queue_message_t m[8];
	size_t n, i;

	while (!atomic_load(p->stop)) {
		if (faas_queue_receive(p->q, 8, 0, m, &n, NULL) != 0)
			break;
		for (i = 0; i < n; i++) {
			p->seen[atol(m[i].body)]++;
			p->got++;
			faas_queue_delete_message(p->q, m[i].receipt_handle, NULL);
			faas_queue_message_clear(&m[i]);
		}
		if (!n)
			sched_yield();
	}
	return NULL;
}

START_TEST(queue_concurrent)
{
	faas_runtime_t *rt = t_runtime();
	faas_queue_options_t o = FAAS_QUEUE_OPTIONS_INIT;
	struct qpeer prod[3], cons[2];
	_Atomic bool stop = false;
	long per = t_scaled(5000), total = 3 * per, got = 0, i, dup = 0, missing = 0;
	unsigned char *seen[2];
	faas_queue_t *q;
	int k;

	o.capacity = 1000;
	q = mkq(rt, "busy", &o);
	for (k = 0; k < 2; k++) {
		seen[k] = calloc((size_t)total, 1);
		cons[k] = (struct qpeer){ .q = q, .stop = &stop, .seen = seen[k] };
		pthread_create(&cons[k].tid, NULL, consumer, &cons[k]);
	}
	for (k = 0; k < 3; k++) {
		prod[k] = (struct qpeer){ .q = q, .n = per, .got = k * per };
		pthread_create(&prod[k].tid, NULL, producer, &prod[k]);
	}
	for (k = 0; k < 3; k++)
		pthread_join(prod[k].tid, NULL);
	for (;;) { /* until both consumers have taken everything */
		uint64_t v, f;
		faas_queue_counts(q, &v, &f);
		if (v == 0 && f == 0)
			break;
		sched_yield();
	}
	atomic_store(&stop, true);
	for (k = 0; k < 2; k++) {
		pthread_join(cons[k].tid, NULL);
		got += cons[k].got;
	}
	for (i = 0; i < total; i++) {
		int s = seen[0][i] + seen[1][i];
		dup += s > 1;
		missing += s == 0;
	}
	ck_assert_int_eq(missing, 0);
	ck_assert_int_eq(dup, 0); /* nothing became visible again: 30 s never passed */
	ck_assert_int_eq(got, total);
	free(seen[0]);
	free(seen[1]);
	faas_runtime_free(rt);
}
END_TEST

/* ---- FIFO queues ----------------------------------------------------------------- */

static faas_queue_t *mkfifo(faas_runtime_t *rt, const char *name, bool content_dedup)
{
	faas_queue_options_t o = FAAS_QUEUE_OPTIONS_INIT;

	o.fifo = 1;
	o.content_based_deduplication = content_dedup;
	return mkq(rt, name, &o);
}

static void send_group(faas_queue_t *q, const char *body, const char *group, char *id)
{
	faas_error_detail_t d;
	char dedup[64];

	snprintf(dedup, sizeof(dedup), "%s-%s", group, body);
	ck_assert_ok(faas_queue_send_fifo(q, body, strlen(body), NULL, group, dedup, id, &d), d);
}

static void clear_all(faas_queue_message_t *m, size_t n)
{
	while (n--)
		faas_queue_message_clear(&m[n]);
}

START_TEST(queue_fifo_group_order_and_lock)
{
	faas_runtime_t *rt = t_runtime();
	faas_queue_t *q = mkfifo(rt, "orders.fifo", false);
	faas_queue_message_t m[10];
	faas_error_detail_t d;

	ck_assert(faas_queue_is_fifo(q));
	send_group(q, "a1", "A", NULL);
	send_group(q, "b1", "B", NULL);
	send_group(q, "a2", "A", NULL);
	send_group(q, "a3", "A", NULL);
	ck_assert_uint_eq(recv(q, 1, 0, m), 1); /* a1: group A is in flight now */
	ck_assert_str_eq(m[0].body, "a1");
	ck_assert_str_eq(m[0].message_group_id, "A");
	ck_assert_str_eq(m[0].deduplication_id, "A-a1");
	ck_assert_str_eq(m[0].sequence_number, "00000000000000000001");
	ck_assert_uint_eq(recv(q, 10, 0, m + 1), 1); /* only b1: a2 waits behind a1 */
	ck_assert_str_eq(m[1].body, "b1");
	ck_assert_uint_eq(recv(q, 10, 0, m + 2), 0);
	ck_assert_ok(faas_queue_delete_message(q, m[0].receipt_handle, &d), d);
	ck_assert_uint_eq(recv(q, 10, 0, m + 2), 2); /* a2, a3 in order, in one receive */
	ck_assert_str_eq(m[2].body, "a2");
	ck_assert_str_eq(m[3].body, "a3");
	/* given back one by one, they come again in their order */
	ck_assert_ok(faas_queue_change_visibility(q, m[2].receipt_handle, 0, &d), d);
	ck_assert_uint_eq(recv(q, 10, 0, m + 4), 0); /* a3 still in flight: A stays closed */
	ck_assert_ok(faas_queue_change_visibility(q, m[3].receipt_handle, 0, &d), d);
	ck_assert_uint_eq(recv(q, 10, 0, m + 4), 2);
	ck_assert_str_eq(m[4].body, "a2");
	ck_assert_str_eq(m[5].body, "a3");
	/* a visibility timeout opens the group too */
	faas_clock_advance(rt, 30000);
	ck_assert_uint_eq(recv(q, 10, 0, m + 6), 3);
	ck_assert_str_eq(m[6].body, "b1");
	ck_assert_str_eq(m[7].body, "a2");
	clear_all(m, 9);
	faas_runtime_free(rt);
}
END_TEST

START_TEST(queue_fifo_deduplication)
{
	faas_runtime_t *rt = t_runtime();
	faas_queue_t *q = mkfifo(rt, "dedup.fifo", true);
	faas_queue_message_t m[4];
	faas_error_detail_t d;
	char id1[40], id2[40], id3[40];

	ck_assert_ok(faas_queue_send_fifo(q, "x", 1, NULL, "g", "k1", id1, &d), d);
	ck_assert_ok(faas_queue_send_fifo(q, "y", 1, NULL, "g", "k1", id2, &d), d);
	ck_assert_str_eq(id1, id2); /* a duplicate: accepted, not added */
	ck_assert_ok(faas_queue_send_fifo(q, "z", 1, NULL, "g", NULL, id3, &d), d);
	ck_assert_ok(faas_queue_send_fifo(q, "z", 1, NULL, "h", NULL, id2, &d), d);
	ck_assert_str_eq(id3, id2); /* content-based: the same body */
	counts_are(q, 2, 0);
	faas_clock_advance(rt, 299999);
	ck_assert_ok(faas_queue_send_fifo(q, "x", 1, NULL, "g", "k1", id2, &d), d);
	ck_assert_str_eq(id1, id2);
	faas_clock_advance(rt, 1); /* five minutes on: a new message */
	ck_assert_ok(faas_queue_send_fifo(q, "x", 1, NULL, "g", "k1", id2, &d), d);
	ck_assert_str_ne(id1, id2);
	counts_are(q, 3, 0);
	ck_assert_uint_eq(recv(q, 4, 0, m), 3);
	ck_assert_str_eq(m[1].deduplication_id, "fbade9e36a3f36d3d676c1b808451dd7"); /* MD5 of z */
	clear_all(m, 3);
	faas_runtime_free(rt);
}
END_TEST

START_TEST(queue_fifo_bad_requests)
{
	faas_runtime_t *rt = t_runtime();
	faas_queue_options_t o = FAAS_QUEUE_OPTIONS_INIT;
	faas_queue_t *f = mkfifo(rt, "f.fifo", false), *s = mkq(rt, "std", NULL), *q;
	faas_error_detail_t d;
	char group[200];

	ck_assert_fail(faas_queue_send(f, "x", 1, NULL, NULL, &d), d, FAAS_EINVAL, "MessageGroupId");
	ck_assert_fail(faas_queue_send_fifo(s, "x", 1, NULL, "g", "k", NULL, &d), d, FAAS_EINVAL,
	               "only for FIFO");
	ck_assert_fail(faas_queue_send_fifo(f, "x", 1, NULL, "g", NULL, NULL, &d), d, FAAS_EINVAL,
	               "ContentBasedDeduplication");
	ck_assert_fail(faas_queue_send_fifo(f, "x", 1, NULL, NULL, "k", NULL, &d), d, FAAS_EINVAL,
	               "MessageGroupId");
	ck_assert_fail(faas_queue_send_fifo(f, "x", 1, NULL, "with space", "k", NULL, &d), d,
	               FAAS_EINVAL, "MessageGroupId");
	memset(group, 'g', 129);
	group[129] = '\0';
	ck_assert_fail(faas_queue_send_fifo(f, "x", 1, NULL, group, "k", NULL, &d), d, FAAS_EINVAL,
	               "1 to 128");
	ck_assert_fail(faas_queue_send_fifo(NULL, "x", 1, NULL, "g", "k", NULL, &d), d, FAAS_EINVAL,
	               "NULL");
	o.fifo = 1;
	ck_assert_fail(faas_queue_create(rt, "nofifo", &o, &q, &d), d, FAAS_EINVAL, ".fifo");
	ck_assert_fail(faas_queue_create(rt, ".fifo", &o, &q, &d), d, FAAS_EINVAL, ".fifo");
	o.dead_letter = s;
	o.max_receive_count = 3;
	ck_assert_fail(faas_queue_create(rt, "x.fifo", &o, &q, &d), d, FAAS_EINVAL, "dead-letter");
	o.fifo = 0;
	ck_assert_fail(faas_queue_create(rt, "std.fifo", &o, &q, &d), d, FAAS_EINVAL, "1 to 80");
	o.dead_letter = f;
	ck_assert_fail(faas_queue_create(rt, "y", &o, &q, &d), d, FAAS_EINVAL, "dead-letter");
	o.version = 1; /* a version 1 struct: no fifo fields read */
	o.dead_letter = NULL;
	o.max_receive_count = 0;
	o.fifo = 77;
	ck_assert_ok(faas_queue_create(rt, "v1", &o, &q, &d), d);
	ck_assert(!faas_queue_is_fifo(q));
	ck_assert(!faas_queue_is_fifo(NULL));
	faas_runtime_free(rt);
}
END_TEST

/* Messages given back one by one keep their order (standard queues too). */
START_TEST(queue_returns_keep_send_order)
{
	faas_runtime_t *rt = t_runtime();
	faas_queue_t *q = mkq(rt, "ordered", NULL);
	faas_queue_message_t m[8];
	faas_error_detail_t d;
	int i;

	for (i = 0; i < 4; i++) {
		char body[16];
		snprintf(body, sizeof(body), "m%d", i);
		send_text(q, body, NULL);
	}
	ck_assert_uint_eq(recv(q, 4, 0, m), 4);
	for (i = 0; i < 4; i++)
		ck_assert_ok(faas_queue_change_visibility(q, m[i].receipt_handle, 0, &d), d);
	ck_assert_uint_eq(recv(q, 4, 0, m + 4), 4);
	for (i = 0; i < 4; i++)
		ck_assert_str_eq(m[4 + i].body, m[i].body);
	clear_all(m, 8);
	faas_runtime_free(rt);
}
END_TEST

Suite *queue_suite(void)
{
	Suite *s = suite_create("queue");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, queue_send_receive_delete);
	tcase_add_test(tc, queue_visibility_timeout);
	tcase_add_test(tc, queue_redrive_to_dead_letter);
	tcase_add_test(tc, queue_redrive_to_a_full_dead_letter);
	tcase_add_test(tc, queue_bounded);
	tcase_add_test(tc, queue_bad_requests);
	tcase_add_test(tc, queue_deleted_while_a_source_holds_it);
	tcase_add_test(tc, queue_concurrent);
	tcase_add_test(tc, queue_fifo_group_order_and_lock);
	tcase_add_test(tc, queue_fifo_deduplication);
	tcase_add_test(tc, queue_fifo_bad_requests);
	tcase_add_test(tc, queue_returns_keep_send_order);
	suite_add_tcase(s, tc);
	return s;
}
