/*
 * libfaas stress — a bounded soak of the dispatch core (make stress).
 *
 * Caller threads invoke (json_t, JSON text, DryRun, nested chains) while a
 * control thread publishes versions, moves a weighted alias, changes a
 * reservation and deletes and re-creates a function. At the end every call
 * must be accounted for exactly, no cap may ever have been exceeded, nothing
 * may be left in flight, and each handler must have run the code of the
 * version it was reported to run (canaries). A Telemetry subscriber counts
 * every invocation's report (or its loss in logsDropped) while the control
 * thread subscribes and unsubscribes a second one each round (each must be
 * released exactly once). Callers also queue async events (to a function
 * whose reservation changes, and to a version whose provisioned concurrency
 * the control thread grows, shrinks and deletes): every accepted event must
 * end exactly once, in a destination or `undelivered`. A producer sends
 * messages to a queue that a mapping (batches, partial failures, a redrive
 * policy) feeds to a function under the same account: every message is
 * processed successfully once, sits in the dead-letter queue, or is still
 * in the queue at the end. A watchdog aborts the run when progress stops.
 *
 * Usage: stress [seconds [callers]]  (defaults 10 and 4). Bounded in time
 * and in count (at most 5,000,000 calls per caller).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <faas.h>
#include <faas/testing.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONC 12
#define MAX_CALLERS 16
#define MAX_CALLS 5000000L
#define CANARY 0x5eed5eedu

struct canary {
	unsigned magic;
	uint32_t version; /* the version this code was published as; 0 = $LATEST */
};

static faas_runtime_t *rt;
static _Atomic bool stop;
static _Atomic long progress;
static _Atomic long violations;
static _Atomic long handler_runs;    /* outermost handler runs, counted by callers' successes */
static _Atomic long nested_runs;     /* handler runs made by nested calls */
static _Atomic long async_runs;      /* handler runs of async attempts */
static _Atomic long async_ok, async_failed, async_undelivered; /* where events ended */
static _Atomic int in_flight, max_in_flight;
static _Atomic long mapping_runs;   /* handler runs of mapping batches */
#define MAX_MESSAGES (1L << 20)
static _Atomic unsigned char *msg_ok; /* per message: successful processings */
static _Atomic long msgs_sent;
static char first_violation[256];

/* What a Telemetry subscriber saw. */
struct tel_counts {
	_Atomic long batches, starts, reports, throttles, dropped, released;
	uint32_t max_items; /* set before any subscription */
};
static struct tel_counts tel_all, tel_churn;
static _Atomic long churn_subscriptions;
static pthread_mutex_t violation_lock = PTHREAD_MUTEX_INITIALIZER;

static void violation(const char *what, long a, long b)
{
	if (atomic_fetch_add(&violations, 1) == 0) {
		pthread_mutex_lock(&violation_lock);
		snprintf(first_violation, sizeof(first_violation), "%s (%ld, %ld)", what, a, b);
		pthread_mutex_unlock(&violation_lock);
	}
}

static void enter(void)
{
	int n = atomic_fetch_add(&in_flight, 1) + 1, m = atomic_load(&max_in_flight);

	while (n > m && !atomic_compare_exchange_weak(&max_in_flight, &m, n))
		;
	if (n > MAX_CONC)
		violation("more handlers at once than max_concurrency", n, MAX_CONC);
}

static void tel_batch(const faas_telemetry_record_t *r, size_t n, void *ud)
{
	struct tel_counts *t = ud;
	char name[16] = "";
	size_t i;

	pthread_getname_np(pthread_self(), name, sizeof(name));
	if (strcmp(name, "faas-telemetry") != 0)
		violation("telemetry delivered off its thread", 0, 0);
	if (n == 0 || n > t->max_items + 1)
		violation("telemetry batch size", (long)n, (long)t->max_items);
	atomic_fetch_add(&t->batches, 1);
	for (i = 0; i < n; i++) {
		if (r[i].type == FAAS_TEL_START)
			atomic_fetch_add(&t->starts, 1);
		else if (r[i].type == FAAS_TEL_REPORT)
			atomic_fetch_add(&t->reports, 1);
		else if (r[i].type == FAAS_TEL_THROTTLE)
			atomic_fetch_add(&t->throttles, 1);
		else if (r[i].type == FAAS_TEL_LOGS_DROPPED)
			atomic_fetch_add(&t->dropped, (long)r[i].dropped_records);
	}
}

static void tel_release(void *ud)
{
	atomic_fetch_add(&((struct tel_counts *)ud)->released, 1);
}

static int tel_subscribe(struct tel_counts *t, uint32_t *id)
{
	faas_telemetry_options_t o = FAAS_TELEMETRY_OPTIONS_INIT;

	o.types = FAAS_TELEMETRY_PLATFORM | FAAS_TELEMETRY_FAAS;
	o.on_batch = tel_batch;
	o.user_data = t;
	o.release = tel_release;
	o.max_items = t->max_items;
	o.timeout_ms = 25;
	return faas_telemetry_subscribe(rt, &o, id, NULL);
}

/* "hot": checks that it runs the code of the version it was told it runs. */
static int hot(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	const struct canary *c = ud;
	const char *v = faas_context_function_version(ctx);

	enter();
	if (c->magic != CANARY)
		violation("user_data freed while in use", (long)c->magic, 0);
	else if (strcmp(v, "$LATEST") != 0 && (uint32_t)atol(v) != c->version)
		violation("ran the code of another version", atol(v), (long)c->version);
	*response = json_incref(event);
	atomic_fetch_sub(&in_flight, 1);
	return 0;
}

static void canary_free(void *p)
{
	((struct canary *)p)->magic = 0xdead;
	free(p);
}

/* "chain": invokes "hot" from inside, as part of its request chain. */
static int chain(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	faas_result_t r = FAAS_RESULT_INIT;
	int rc;

	(void)ud;
	enter();
	rc = faas_context_invoke(ctx, "hot", event, NULL, &r);
	if (rc == 0) {
		atomic_fetch_add(&nested_runs, 1);
		if (r.lineage != 2)
			violation("nested lineage", (long)r.lineage, 2);
	} else if (rc != FAAS_ETHROTTLED) {
		violation("nested invoke failed", rc, 0);
	}
	faas_result_clear(&r);
	*response = json_integer(rc);
	atomic_fetch_sub(&in_flight, 1);
	return 0;
}

static int quick(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	(void)event;
	(void)ud;
	enter();
	if (json_is_true(json_object_get(event, "async")))
		atomic_fetch_add(&async_runs, 1);
	if (json_is_true(json_object_get(event, "fail")))
		faas_context_fail(ctx, "Planned", "planned failure");
	*response = NULL;
	atomic_fetch_sub(&in_flight, 1);
	return json_is_true(json_object_get(event, "fail")) ? -1 : 0;
}

struct caller {
	pthread_t tid;
	unsigned seed;
	long calls, ok, function_errors, throttled, not_found, other;
	long queued; /* async events accepted */
};

static void async_end(json_t *record, void *ud)
{
	const char *cond = json_string_value(json_object_get(json_object_get(record, "requestContext"),
	                                                     "condition"));

	if ((ud == &async_ok) != (cond && strcmp(cond, "Success") == 0))
		violation("async record in the wrong destination", 0, 0);
	atomic_fetch_add((_Atomic long *)ud, 1);
}

static void async_lost(json_t *record, void *ud)
{
	(void)record;
	(void)ud;
	atomic_fetch_add(&async_undelivered, 1);
}

/* One async event, now and then: to "quick" (its reservation changes, 0
 * included) or to provisioned "prov:1"; some of them fail and are retried. */
static void queue_event(struct caller *c, json_t *ok_ev, json_t *fail_ev)
{
	faas_invoke_options_t o = FAAS_INVOKE_OPTIONS_INIT;
	faas_result_t r = FAAS_RESULT_INIT;
	unsigned pick = (unsigned)rand_r(&c->seed);
	int rc;

	o.type = FAAS_INVOKE_EVENT;
	rc = faas_invoke(rt, pick % 2 ? "quick" : "prov:1", pick % 5 == 0 ? fail_ev : ok_ev, &o, &r);
	if (rc == 0)
		c->queued++;
	else
		violation("async invoke refused", rc, 0);
	faas_result_clear(&r);
}

static const char *targets[] = { "hot:live", "hot", "chain", "quick", "churn" };

static void *caller_main(void *arg)
{
	struct caller *c = arg;
	faas_invoke_options_t o = FAAS_INVOKE_OPTIONS_INIT;
	json_t *ev = json_pack("{s:i}", "n", 1), *fail = json_pack("{s:b}", "fail", 1);
	json_t *aok = json_pack("{s:b}", "async", 1), *afail = json_pack("{s:b,s:b}", "async", 1, "fail", 1);

	while (!atomic_load_explicit(&stop, memory_order_relaxed) && c->calls < MAX_CALLS) {
		faas_result_t r = FAAS_RESULT_INIT;
		unsigned pick = (unsigned)rand_r(&c->seed) % 10;

		if (rand_r(&c->seed) % 8 == 0) {
			queue_event(c, aok, afail);
			atomic_fetch_add_explicit(&progress, 1, memory_order_relaxed);
			continue;
		}
		const char *t = targets[pick % 5];
		bool dry = pick == 9, text = pick == 8, failing = pick == 3;
		int rc;

		o.type = dry ? FAAS_INVOKE_DRY_RUN : FAAS_INVOKE_REQUEST_RESPONSE;
		if (text)
			rc = faas_invoke_json(rt, t, "{\"n\":2}", 7, &o, &r);
		else
			rc = faas_invoke(rt, t, failing ? fail : ev, &o, &r);
		c->calls++;
		if (rc == 0 && dry)
			c->ok++;
		else if (rc == 0 && r.function_error)
			c->function_errors++;
		else if (rc == 0)
			c->ok++;
		else if (rc == FAAS_ETHROTTLED)
			c->throttled++;
		else if (rc == FAAS_ENOTFOUND)
			c->not_found++;
		else
			c->other++;
		if (rc == 0 && !dry)
			atomic_fetch_add(&handler_runs, 1);
		if (rc != 0 && rc != FAAS_ETHROTTLED && rc != FAAS_ENOTFOUND)
			violation("unexpected invoke result", rc, (long)pick);
		if (rc == 0 && failing && strcmp(t, "quick") == 0 && !r.function_error)
			violation("a planned failure succeeded", 0, 0);
		faas_result_clear(&r);
		atomic_fetch_add_explicit(&progress, 1, memory_order_relaxed);
	}
	json_decref(ev);
	json_decref(fail);
	json_decref(aok);
	json_decref(afail);
	return NULL;
}

static void must(const char *what, int rc, const faas_error_detail_t *d)
{
	if (rc != 0) {
		fprintf(stderr, "stress: %s: %s %s\n", what, faas_err_name(rc), d->message);
		exit(2);
	}
}

static void create(const char *name, faas_handler_fn h, void *ud, faas_user_data_free_fn f)
{
	faas_function_config_t c = FAAS_FUNCTION_CONFIG_INIT;
	faas_error_detail_t d;

	c.handler = h;
	c.user_data = ud;
	c.user_data_free = f;
	must(name, faas_function_create(rt, name, &c, &d), &d);
}

static struct canary *canary(uint32_t version)
{
	struct canary *c = malloc(sizeof(*c));

	c->magic = CANARY;
	c->version = version;
	return c;
}

/* Publishes "hot" versions with canaries and moves its alias. */
static long control_rounds;

static void *control_main(void *arg)
{
	faas_function_config_t c = FAAS_FUNCTION_CONFIG_INIT;
	faas_alias_config_t ac = FAAS_ALIAS_CONFIG_INIT;
	faas_error_detail_t d;
	uint32_t next = 2, v;
	int32_t reservations[] = { -1, 0, 2, 4, -1 };
	uint32_t churn_id = 0;
	char q[12];

	(void)arg;
	c.handler = hot;
	c.user_data_free = canary_free;
	while (!atomic_load(&stop)) {
		c.user_data = canary(next);
		if (faas_function_update(rt, "hot", &c, &d) != 0)
			violation("update", 0, 0);
		if (faas_function_publish(rt, "hot", NULL, &v, &d) != 0 || v != next)
			violation("publish number", (long)v, (long)next);
		ac.function_version = v - 1;
		ac.additional_version = v;
		ac.additional_weight = (double)(v % 10) / 10.0;
		if (faas_alias_update(rt, "hot", "live", &ac, &d) != 0)
			violation("alias move", 0, 0);
		if (v >= 4) {
			snprintf(q, sizeof(q), "%u", v - 3);
			if (faas_function_delete(rt, "hot", q, &d) != 0)
				violation("prune", (long)v - 3, 0);
		}
		if (faas_function_set_reserved_concurrency(rt, "quick",
		                                           reservations[control_rounds % 5], &d) != 0)
			violation("reserve", control_rounds, 0);
		if (control_rounds % 3 == 0) {
			faas_function_delete(rt, "churn", NULL, NULL);
		} else if (control_rounds % 3 == 1) {
			faas_function_config_t q2 = FAAS_FUNCTION_CONFIG_INIT;
			q2.handler = quick;
			faas_function_create(rt, "churn", &q2, NULL);
		}
		{ /* provisioned concurrency on prov:1 grows, shrinks and goes */
			static const uint32_t pcs[] = { 1, 2, 0, 2, 1, 0 };
			uint32_t want = pcs[control_rounds % 6];
			int rc = faas_function_set_provisioned_concurrency(rt, "prov", "1", want, &d);
			if (rc != 0 && !(want == 0 && rc == FAAS_ENOTFOUND))
				violation("provisioned concurrency", rc, (long)want);
		}
		if (churn_id) { /* a subscription that lived one round */
			if (faas_telemetry_unsubscribe(rt, churn_id, &d) != 0)
				violation("unsubscribe", (long)churn_id, 0);
			churn_id = 0;
		} else if (tel_subscribe(&tel_churn, &churn_id) == 0) {
			atomic_fetch_add(&churn_subscriptions, 1);
		} else {
			violation("subscribe", 0, 0);
		}
		next++;
		control_rounds++;
		atomic_fetch_add(&progress, 1);
		usleep(200);
	}
	return NULL;
}

/* A mapping's handler: reports every tenth message (by its number) as failed. */
static int trigger(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	json_t *recs = json_object_get(event, "Records"), *r, *failed = json_array();
	size_t i;

	(void)ctx;
	(void)ud;
	atomic_fetch_add(&mapping_runs, 1);
	atomic_fetch_add(&progress, 1);
	json_array_foreach(recs, i, r) {
		long n = atol(json_string_value(json_object_get(r, "body")));
		const char *count = json_string_value(
		        json_object_get(json_object_get(r, "attributes"), "ApproximateReceiveCount"));
		if (n % 10 == 3 && count && atoi(count) < 2) /* fails once, then passes */
			json_array_append_new(failed, json_pack("{s:s}", "itemIdentifier",
			                                        json_string_value(json_object_get(r, "messageId"))));
		else if (n >= 0 && n < MAX_MESSAGES && atomic_fetch_add(&msg_ok[n], 1) != 0)
			violation("a message processed twice", n, 0);
	}
	*response = json_pack("{s:o}", "batchItemFailures", failed);
	return 0;
}

static void *producer_main(void *arg)
{
	faas_queue_t *q = arg;
	char body[24];
	long n;

	while (!atomic_load(&stop) && (n = atomic_load(&msgs_sent)) < MAX_MESSAGES) {
		int len = snprintf(body, sizeof(body), "%ld", n);
		if (faas_queue_send(q, body, (size_t)len, NULL, NULL, NULL) == 0)
			atomic_fetch_add(&msgs_sent, 1);
		else
			sched_yield(); /* full: the mapping catches up */
		if (n % 64 == 0)
			sched_yield();
	}
	return NULL;
}

static void *watchdog_main(void *arg)
{
	long last = -1, now;
	int stalls = 0;

	(void)arg;
	while (!atomic_load(&stop)) {
		sleep(1);
		now = atomic_load(&progress);
		stalls = now == last ? stalls + 1 : 0;
		last = now;
		if (stalls >= 10) {
			fprintf(stderr, "stress: no progress for 10 s: deadlock? in flight %u\n",
			        faas_runtime_concurrent_executions(rt));
			abort();
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	faas_runtime_options_t o = FAAS_RUNTIME_OPTIONS_INIT;
	faas_alias_config_t ac = FAAS_ALIAS_CONFIG_INIT;
	struct caller callers[MAX_CALLERS];
	pthread_t control, watchdog, producer;
	faas_queue_options_t qo = FAAS_QUEUE_OPTIONS_INIT;
	faas_mapping_options_t mo = FAAS_MAPPING_OPTIONS_INIT;
	faas_queue_t *mq, *mdlq;
	faas_source_t *msrc;
	faas_mapping_t *mapping;
	long in_dlq = 0, left = 0;
	faas_error_detail_t d;
	int seconds = argc > 1 ? atoi(argv[1]) : 10, n = argc > 2 ? atoi(argv[2]) : 4, i;
	long calls = 0, ok = 0, ferr = 0, thr = 0, nf = 0, other = 0, queued = 0;
	json_t *m = NULL, *a;

	if (seconds < 1 || n < 1 || n > MAX_CALLERS) {
		fprintf(stderr, "usage: stress [seconds [callers (1-%d)]]\n", MAX_CALLERS);
		return 2;
	}
	o.max_concurrency = MAX_CONC;
	o.unreserved_min = 2;
	o.seed = 7;
	o.async_delay_scale = 0.001; /* retries after 60 and 120 ms */
	o.async_undelivered = async_lost;
	must("runtime", faas_runtime_new(&rt, &o, &d), &d);
	create("hot", hot, canary(1), canary_free);
	must("publish", faas_function_publish(rt, "hot", NULL, NULL, &d), &d);
	ac.function_version = 1;
	must("alias", faas_alias_create(rt, "hot", "live", &ac, &d), &d);
	create("chain", chain, NULL, NULL);
	create("quick", quick, NULL, NULL);
	create("churn", quick, NULL, NULL);
	create("prov", quick, NULL, NULL);
	must("publish prov", faas_function_publish(rt, "prov", NULL, NULL, &d), &d);
	{
		faas_event_invoke_config_t ec = FAAS_EVENT_INVOKE_CONFIG_INIT;
		ec.on_success.kind = ec.on_failure.kind = FAAS_DESTINATION_CALLBACK;
		ec.on_success.callback = ec.on_failure.callback = async_end;
		ec.on_success.user_data = &async_ok;
		ec.on_failure.user_data = &async_failed;
		must("async config", faas_function_set_event_invoke_config(rt, "quick", NULL, &ec, &d), &d);
		must("async config", faas_function_set_event_invoke_config(rt, "prov", "1", &ec, &d), &d);
	}
	/* a queue trigger under the same account */
	msg_ok = calloc((size_t)MAX_MESSAGES, 1);
	must("dlq", faas_queue_create(rt, "stress-dlq", NULL, &mdlq, &d), &d);
	qo.capacity = 20000;
	qo.visibility_timeout_ms = 600000; /* no redelivery but the reported failures' */
	qo.max_receive_count = 5;
	qo.dead_letter = mdlq;
	must("queue", faas_queue_create(rt, "stress-q", &qo, &mq, &d), &d);
	create("trigger", trigger, NULL, NULL);
	must("source", faas_queue_source_new(mq, &msrc, &d), &d);
	mo.batch_size = 10;
	mo.max_batching_window_ms = 0;
	mo.max_concurrency = 2;
	mo.report_batch_item_failures = 1;
	mo.poll_interval_ms = 5;
	must("mapping", faas_mapping_create(rt, msrc, "trigger", &mo, &mapping, &d), &d);
	faas_source_free(msrc);
	tel_all.max_items = 10000;
	tel_churn.max_items = 1000;
	if (tel_subscribe(&tel_all, NULL) != 0)
		violation("subscribe", 0, 0);

	pthread_create(&watchdog, NULL, watchdog_main, NULL);
	pthread_create(&control, NULL, control_main, NULL);
	pthread_create(&producer, NULL, producer_main, mq);
	for (i = 0; i < n; i++) {
		memset(&callers[i], 0, sizeof(callers[i]));
		callers[i].seed = (unsigned)i * 7919u + 1;
		pthread_create(&callers[i].tid, NULL, caller_main, &callers[i]);
	}
	sleep((unsigned)seconds);
	atomic_store(&stop, true);
	for (i = 0; i < n; i++) {
		pthread_join(callers[i].tid, NULL);
		calls += callers[i].calls;
		ok += callers[i].ok;
		ferr += callers[i].function_errors;
		thr += callers[i].throttled;
		nf += callers[i].not_found;
		other += callers[i].other;
		queued += callers[i].queued;
	}
	pthread_join(control, NULL);
	pthread_join(producer, NULL);
	pthread_join(watchdog, NULL);

	if (faas_test_quiesce(rt, 10000) != 0)
		violation("still in flight after the callers stopped", (long)faas_runtime_concurrent_executions(rt), 0);
	if (ok + ferr + thr + nf + other != calls)
		violation("calls not accounted for", calls, ok + ferr + thr + nf + other);
	if (other)
		violation("unexpected results", other, 0);
	if (atomic_load(&max_in_flight) > MAX_CONC)
		violation("max in flight", atomic_load(&max_in_flight), MAX_CONC);
	if (faas_runtime_shutdown(rt, 5000) != 0) /* delivers every batch, ends subscriptions */
		violation("shutdown", 0, 0);
	{ /* every message: processed once, in the dead-letter queue, or still queued */
		uint64_t v, f, dv, df;
		long ok_msgs = 0;
		for (i = 0; i < (int)atomic_load(&msgs_sent); i++)
			ok_msgs += atomic_load(&msg_ok[i]) != 0;
		faas_queue_counts(mq, &v, &f);
		faas_queue_counts(mdlq, &dv, &df);
		in_dlq = (long)(dv + df);
		left = (long)(v + f);
		if (ok_msgs + in_dlq + left != atomic_load(&msgs_sent))
			violation("queued messages not accounted for", atomic_load(&msgs_sent),
			          ok_msgs + in_dlq + left);
	}
	/* every accepted event ended exactly once */
	if (faas_metrics_json(rt, &m, &d) != 0)
		violation("metrics", 0, 0);
	a = json_object_get(m, "Async");
	if (json_integer_value(json_object_get(a, "AsyncEventsReceived")) != queued ||
	    json_integer_value(json_object_get(a, "Succeeded")) != atomic_load(&async_ok) ||
	    json_integer_value(json_object_get(a, "Failed")) !=
	            atomic_load(&async_failed) + atomic_load(&async_undelivered) ||
	    atomic_load(&async_ok) + atomic_load(&async_failed) + atomic_load(&async_undelivered) !=
	            queued ||
	    json_integer_value(json_object_get(a, "AsyncEventsDropped")) != 0)
		violation("async events not accounted for", queued,
		          atomic_load(&async_ok) + atomic_load(&async_failed) +
		                  atomic_load(&async_undelivered));
	json_decref(m);
	faas_runtime_free(rt);
	/* every invocation that ran (callers' and nested) has its report, or was
	 * counted among the dropped records */
	{
		long runs = atomic_load(&handler_runs) + atomic_load(&nested_runs) +
		            atomic_load(&async_runs) + atomic_load(&mapping_runs);
		if (atomic_load(&tel_all.reports) > runs ||
		    atomic_load(&tel_all.reports) + atomic_load(&tel_all.dropped) < runs)
			violation("telemetry reports", atomic_load(&tel_all.reports), runs);
	}
	if (atomic_load(&tel_all.dropped) == 0 && atomic_load(&tel_all.starts) != atomic_load(&tel_all.reports))
		violation("telemetry starts and reports", atomic_load(&tel_all.starts),
		          atomic_load(&tel_all.reports));
	if (atomic_load(&tel_all.dropped) == 0 && atomic_load(&tel_all.throttles) < thr)
		violation("telemetry throttles", atomic_load(&tel_all.throttles), thr);
	if (atomic_load(&tel_all.released) != 1 ||
	    atomic_load(&tel_churn.released) != atomic_load(&churn_subscriptions))
		violation("telemetry releases", atomic_load(&tel_churn.released),
		          atomic_load(&churn_subscriptions));

	printf("stress: %d s, %d callers: %ld calls (%ld ok, %ld function errors, %ld throttled, "
	       "%ld not found), %ld nested, %ld control rounds, max %d in flight of %d\n",
	       seconds, n, calls, ok, ferr, thr, nf, atomic_load(&nested_runs), control_rounds,
	       atomic_load(&max_in_flight), MAX_CONC);
	printf("stress: async: %ld events queued, %ld ran (retries included), %ld succeeded, %ld "
	       "failed, %ld undelivered at shutdown\n",
	       queued, atomic_load(&async_runs), atomic_load(&async_ok), atomic_load(&async_failed),
	       atomic_load(&async_undelivered));
	printf("stress: mapping: %ld messages sent, %ld batches, %ld in the dead-letter queue, %ld "
	       "left in the queue\n",
	       atomic_load(&msgs_sent), atomic_load(&mapping_runs), in_dlq, left);
	free((void *)msg_ok);
	printf("stress: telemetry: %ld reports, %ld throttles, %ld dropped in %ld batches; "
	       "%ld subscriptions churned\n",
	       atomic_load(&tel_all.reports), atomic_load(&tel_all.throttles),
	       atomic_load(&tel_all.dropped), atomic_load(&tel_all.batches),
	       atomic_load(&churn_subscriptions));
	if (atomic_load(&violations)) {
		printf("stress: %ld violations, first: %s\n", atomic_load(&violations), first_violation);
		return 1;
	}
	printf("stress: 0 violations\n");
	return 0;
}
