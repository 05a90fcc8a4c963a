/*
 * libfaas tests — a durable store under Event invocations (runtime option
 * async_store), through a fake store kept in memory: what the runtime puts,
 * takes, ends, retries and leaves, and who owns the store. Real clock (the
 * store needs threads); waits are for conditions, with deadlines.
 */
#include "tests.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define FAKE_MAX 64

struct fake {
	pthread_mutex_t lock;
	struct {
		char token[FAAS_ASYNC_TOKEN_MAX];
		char *text;
		bool taken;
	} item[FAKE_MAX];
	int n, next_id;
	int puts, dones, agains, holds, closed, leaves;
	bool fail_put, fail_again, conflict;
	bool instant; /* an empty take answers at once */
	int takes;
	char last_again[1024];
};

static void fake_init(struct fake *f)
{
	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->lock, NULL);
}

/* Under lock. */
static void fake_add(struct fake *f, const char *text, size_t len)
{
	ck_assert_int_lt(f->n, FAKE_MAX);
	snprintf(f->item[f->n].token, FAAS_ASYNC_TOKEN_MAX, "t%d", f->next_id++);
	f->item[f->n].text = strndup(text, len);
	f->item[f->n].taken = false;
	f->n++;
}

static bool fake_remove(struct fake *f, const char *token)
{
	for (int i = 0; i < f->n; i++)
		if (!strcmp(f->item[i].token, token)) {
			free(f->item[i].text);
			f->item[i] = f->item[--f->n];
			return true;
		}
	return false;
}

static int fake_put(void *ud, const char *text, size_t len, faas_error_detail_t *d)
{
	struct fake *f = ud;

	pthread_mutex_lock(&f->lock);
	if (f->fail_put) {
		pthread_mutex_unlock(&f->lock);
		snprintf(d->message, sizeof(d->message), "disk on fire");
		return FAAS_ETIMEDOUT;
	}
	fake_add(f, text, len);
	f->puts++;
	pthread_mutex_unlock(&f->lock);
	return 0;
}

static int fake_take(void *ud, size_t max, faas_async_stored_t *out, size_t *n)
{
	struct fake *f = ud;

	*n = 0;
	pthread_mutex_lock(&f->lock);
	f->takes++;
	for (int i = 0; i < f->n && *n < max; i++) {
		if (f->item[i].taken)
			continue;
		f->item[i].taken = true;
		out[*n].envelope = json_loads(f->item[i].text, 0, NULL);
		if (!out[*n].envelope)
			out[*n].envelope = json_string("not an envelope");
		memcpy(out[*n].token, f->item[i].token, FAAS_ASYNC_TOKEN_MAX);
		(*n)++;
	}
	pthread_mutex_unlock(&f->lock);
	if (!*n && !f->instant)
		usleep(1000); /* a short long poll */
	return 0;
}

static void fake_done(void *ud, const char *token)
{
	struct fake *f = ud;

	pthread_mutex_lock(&f->lock);
	ck_assert_msg(fake_remove(f, token), "done for an unknown token %s", token);
	f->dones++;
	pthread_mutex_unlock(&f->lock);
}

static int fake_again(void *ud, const char *token, const char *text, size_t len)
{
	struct fake *f = ud;

	pthread_mutex_lock(&f->lock);
	if (f->fail_again || f->conflict) {
		bool conflict = f->conflict;
		if (conflict) /* another runtime moved it on meanwhile */
			ck_assert(fake_remove(f, token));
		pthread_mutex_unlock(&f->lock);
		return conflict ? FAAS_ECONFLICT : FAAS_ETIMEDOUT;
	}
	ck_assert(fake_remove(f, token));
	fake_add(f, text, len);
	snprintf(f->last_again, sizeof(f->last_again), "%.*s", (int)len, text);
	f->agains++;
	pthread_mutex_unlock(&f->lock);
	return 0;
}

static void fake_hold(void *ud, const char *const *tokens, size_t n)
{
	struct fake *f = ud;

	(void)tokens;
	pthread_mutex_lock(&f->lock);
	if (n)
		f->holds++;
	pthread_mutex_unlock(&f->lock);
}

static void fake_close(void *ud)
{
	struct fake *f = ud;

	pthread_mutex_lock(&f->lock);
	f->closed++;
	pthread_mutex_unlock(&f->lock);
}

static void fake_free(struct fake *f)
{
	for (int i = 0; i < f->n; i++)
		free(f->item[i].text);
	pthread_mutex_destroy(&f->lock);
}

static void fake_leave(void *ud, const char *token)
{
	struct fake *f = ud;

	pthread_mutex_lock(&f->lock);
	for (int i = 0; i < f->n; i++)
		if (!strcmp(f->item[i].token, token))
			f->item[i].taken = false; /* free for the next taker */
	f->leaves++;
	pthread_mutex_unlock(&f->lock);
}

static faas_runtime_t *_Atomic attached;

static void fake_attach(void *ud, faas_runtime_t *rt)
{
	(void)ud;
	atomic_store(&attached, rt);
}

static const faas_async_store_ops_t fake_ops = { FAAS_ASYNC_STORE_OPS_VERSION, fake_put, fake_take,
	                                         fake_done, fake_again, fake_hold, fake_close, 5,
	                                         fake_attach, fake_leave };

static int fake_get(struct fake *f, const int *field)
{
	int v;

	pthread_mutex_lock(&f->lock);
	v = *field;
	pthread_mutex_unlock(&f->lock);
	return v;
}

/* Until *field reaches want (10 s at most). */
static int fake_wait(struct fake *f, const int *field, int want)
{
	for (int i = 0; i < 2000 && fake_get(f, field) < want; i++)
		usleep(5000);
	return fake_get(f, field);
}

/* ---- the function ------------------------------------------------------------------ */

static _Atomic int runs, fail_first;

static int flaky(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	(void)event;
	(void)ud;
	if (atomic_fetch_add(&runs, 1) < atomic_load(&fail_first))
		return faas_context_fail(ctx, "Flaky", "not yet");
	*response = json_string("ok");
	return 0;
}

static faas_runtime_t *store_rt(struct fake *f, double scale)
{
	faas_runtime_options_t ro = FAAS_RUNTIME_OPTIONS_INIT;
	faas_error_detail_t d;
	faas_runtime_t *rt;

	ro.async_store = &fake_ops;
	ro.async_store_user_data = f;
	ro.async_delay_scale = scale;
	ck_assert_ok(faas_runtime_new(&rt, &ro, &d), d);
	t_create_fn(rt, "f", flaky, NULL);
	atomic_store(&runs, 0);
	return rt;
}

static int event(faas_runtime_t *rt, const char *fn, faas_result_t *res)
{
	faas_invoke_options_t io = FAAS_INVOKE_OPTIONS_INIT;
	json_t *ev = json_pack("{s:s}", "hello", "store");
	int rc;

	io.type = FAAS_INVOKE_EVENT;
	rc = faas_invoke(rt, fn, ev, &io, res);
	json_decref(ev);
	return rc;
}

static long store_metric(faas_runtime_t *rt, const char *key)
{
	faas_error_detail_t d;
	json_t *m;
	long v;

	ck_assert_ok(faas_metrics_json(rt, &m, &d), d);
	v = (long)json_integer_value(
	        json_object_get(json_object_get(json_object_get(m, "Async"), "Store"), key));
	json_decref(m);
	return v;
}

/* ---- tests ------------------------------------------------------------------------- */

START_TEST(astore_options_and_ownership)
{
	faas_runtime_options_t ro = FAAS_RUNTIME_OPTIONS_INIT;
	faas_async_store_ops_t bad = fake_ops;
	faas_error_detail_t d;
	faas_runtime_t *rt;
	struct fake f;

	fake_init(&f);
	ro.async_store = &bad;
	ro.async_store_user_data = &f;
	bad.version = 2;
	ck_assert_fail(faas_runtime_new(&rt, &ro, &d), d, FAAS_EINVAL, "async_store");
	ck_assert_int_eq(f.closed, 1); /* refused: closed all the same */
	bad = fake_ops;
	bad.again = NULL;
	ck_assert_fail(faas_runtime_new(&rt, &ro, &d), d, FAAS_EINVAL, "again");
	ck_assert_int_eq(f.closed, 2);
	ro.async_store = &fake_ops;
	ro.inline_mode = 1;
	ck_assert_fail(faas_runtime_new(&rt, &ro, &d), d, FAAS_EINVAL, "inline");
	ck_assert_int_eq(f.closed, 3);
	/* a version 2 struct has no store fields: they are not read */
	ro.inline_mode = 0;
	ro.version = 2;
	ro.async_store = (const faas_async_store_ops_t *)&d; /* garbage, never looked at */
	rt = t_runtime_with(&ro);
	faas_runtime_free(rt);
	ck_assert_int_eq(f.closed, 3);
	/* taken over: closed once, when the runtime is freed */
	ro.version = FAAS_RUNTIME_OPTIONS_VERSION;
	ro.async_store = &fake_ops;
	rt = t_runtime_with(&ro);
	ck_assert_int_eq(f.closed, 3);
	faas_runtime_free(rt);
	ck_assert_int_eq(f.closed, 4);
	fake_free(&f);
}
END_TEST

/* The store's taker thread cannot start: the runtime is not made, the store
 * is closed once (it was handed over), and the next runtime works. */
START_TEST(astore_thread_start_failure)
{
	faas_runtime_options_t ro = FAAS_RUNTIME_OPTIONS_INIT;
	faas_result_t res = FAAS_RESULT_INIT;
	faas_error_detail_t d;
	faas_runtime_t *rt = NULL;
	struct fake f;

	fake_init(&f);
	ro.async_store = &fake_ops;
	ro.async_store_user_data = &f;
	faas__thread_fail_at(2, false); /* 1 is the housekeeping thread */
	ck_assert_fail(faas_runtime_new(&rt, &ro, &d), d, FAAS_ETHREAD,
	               "could not start the async store thread");
	ck_assert_ptr_null(rt);
	ck_assert_int_eq(f.closed, 1);
	rt = store_rt(&f, 0.0001);
	ck_assert_int_eq(event(rt, "f", &res), 0);
	ck_assert_int_eq(fake_wait(&f, &f.dones, 1), 1);
	faas_result_clear(&res);
	faas_runtime_free(rt);
	ck_assert_int_eq(f.closed, 2);
	fake_free(&f);
}
END_TEST

/* A store whose take answers at once when it has nothing (it need not
 * wait: faas/async.h) is asked again after a pause, not in a spin. */
START_TEST(astore_instant_empty_take_no_spin)
{
	faas_result_t res = FAAS_RESULT_INIT;
	faas_runtime_t *rt;
	struct fake f;
	int takes;

	fake_init(&f);
	f.instant = true;
	rt = store_rt(&f, 0.0001);
	pthread_mutex_lock(&f.lock);
	takes = f.takes;
	pthread_mutex_unlock(&f.lock);
	faas__sleep_ms(200);
	pthread_mutex_lock(&f.lock);
	takes = f.takes - takes;
	pthread_mutex_unlock(&f.lock);
	ck_assert_msg(takes <= 60, "%d takes in 200 ms", takes); /* one per 5 ms: 40 */
	ck_assert_int_eq(event(rt, "f", &res), 0); /* and events still run */
	ck_assert_int_eq(fake_wait(&f, &f.dones, 1), 1);
	faas_result_clear(&res);
	faas_runtime_free(rt);
	fake_free(&f);
}
END_TEST

/* Accepted = stored; a failure is retried through the store (again, the
 * next state), the end forgets it (done). */
START_TEST(astore_put_again_done)
{
	faas_result_t res = FAAS_RESULT_INIT;
	struct fake f;
	faas_runtime_t *rt;
	json_t *env;

	fake_init(&f);
	rt = store_rt(&f, 0.0001);
	atomic_store(&fail_first, 1);
	ck_assert_int_eq(event(rt, "f", &res), 0);
	ck_assert_int_eq(res.status_code, 202);
	ck_assert_int_eq(strlen(res.request_id), 36);
	ck_assert_int_eq(fake_get(&f, &f.puts), 1);
	ck_assert_int_eq(fake_wait(&f, &f.dones, 1), 1);
	ck_assert_int_eq(atomic_load(&runs), 2);
	ck_assert_int_eq(fake_get(&f, &f.agains), 1);
	ck_assert_int_eq(fake_get(&f, &f.n), 0); /* nothing left in the store */
	/* the retry's state: its attempt counted, due later than accepted */
	pthread_mutex_lock(&f.lock);
	env = json_loads(f.last_again, 0, NULL);
	pthread_mutex_unlock(&f.lock);
	ck_assert_ptr_nonnull(env);
	ck_assert_int_eq(json_integer_value(json_object_get(env, "attempts")), 1);
	ck_assert_str_eq(json_string_value(json_object_get(env, "function")), "f");
	ck_assert_str_eq(json_string_value(json_object_get(env, "requestId")), res.request_id);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(env, "event"), "hello")),
	                 "store");
	ck_assert_int_ge(json_integer_value(json_object_get(env, "dueMs")),
	                 json_integer_value(json_object_get(env, "acceptedMs")));
	json_decref(env);
	ck_assert_int_eq(store_metric(rt, "Taken"), 2);
	/* the store's own problems, through the runtime it was attached to */
	ck_assert_ptr_eq(atomic_load(&attached), rt);
	faas_async_store_report(rt, "fake://store", FAAS_ETIMEDOUT, "connection lost");
	faas_async_store_report(NULL, NULL, FAAS_ETIMEDOUT, NULL);
	ck_assert_int_eq(store_metric(rt, "StoreErrors"), 1);
	faas_result_clear(&res);
	faas_runtime_free(rt);
	fake_free(&f);
}
END_TEST

/* The store refuses: the invoke fails, with the store's reason; nothing runs. */
START_TEST(astore_put_fails)
{
	faas_result_t res = FAAS_RESULT_INIT;
	struct fake f;
	faas_runtime_t *rt;

	fake_init(&f);
	f.fail_put = true;
	rt = store_rt(&f, 0.0001);
	ck_assert_int_eq(event(rt, "f", &res), FAAS_ETIMEDOUT);
	ck_assert_msg(strstr(res.message, "async store did not take the event: disk on fire") != NULL,
	              "%s", res.message);
	ck_assert_int_eq(store_metric(rt, "PutFailed"), 1);
	faas_result_clear(&res);
	/* unknown functions are refused before the store is asked */
	ck_assert_int_eq(event(rt, "nope", &res), FAAS_ENOTFOUND);
	faas_result_clear(&res);
	usleep(20000);
	ck_assert_int_eq(atomic_load(&runs), 0);
	faas_runtime_free(rt);
	fake_free(&f);
}
END_TEST

/* async_undelivered: the records it got, as text, in order */
static pthread_mutex_t undelivered_lock = PTHREAD_MUTEX_INITIALIZER;
static char *undelivered_text[4];
static int undelivered_n;

static void on_undelivered(json_t *rec, void *ud)
{
	(void)ud;
	pthread_mutex_lock(&undelivered_lock);
	if (undelivered_n < 4) {
		json_t *c = json_deep_copy(rec);
		json_object_del(c, "timestamp");
		undelivered_text[undelivered_n++] = json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS);
		json_decref(c);
	}
	pthread_mutex_unlock(&undelivered_lock);
}

/* A malformed envelope with an undelivered callback: handed over (the
 * envelope as requestPayload), then forgotten by the store. */
START_TEST(astore_malformed_handed_to_undelivered)
{
	faas_runtime_options_t ro = FAAS_RUNTIME_OPTIONS_INIT;
	faas_error_detail_t d;
	struct fake f;
	faas_runtime_t *rt;
	char want[256];

	fake_init(&f);
	pthread_mutex_lock(&f.lock);
	fake_add(&f, "{\"v\":1,\"requestId\":\"r9\"}", 25);
	fake_add(&f, "[not json", 9);
	pthread_mutex_unlock(&f.lock);
	ro.async_store = &fake_ops;
	ro.async_store_user_data = &f;
	ro.async_undelivered = on_undelivered;
	ck_assert_ok(faas_runtime_new(&rt, &ro, &d), d);
	ck_assert_int_eq(fake_wait(&f, &f.dones, 2), 2);
	ck_assert_int_eq(fake_get(&f, &f.n), 0);
	ck_assert_int_eq(store_metric(rt, "StoreMalformed"), 2);
	faas_runtime_free(rt);
	ck_assert_int_eq(undelivered_n, 2);
	snprintf(want, sizeof(want),
	         "{\"requestContext\":{\"approximateInvokeCount\":0,\"condition\":\"MalformedEnvelope\","
	         "\"functionArn\":null,\"requestId\":\"r9\",\"storeToken\":\"%s\"},"
	         "\"requestPayload\":{\"requestId\":\"r9\",\"v\":1},\"version\":\"1.0\"}",
	         "t0"); /* the fake's first token */
	ck_assert_str_eq(undelivered_text[0], want);
	ck_assert_ptr_nonnull(strstr(undelivered_text[1], "\"requestId\":null"));
	ck_assert_ptr_nonnull(strstr(undelivered_text[1], "\"requestPayload\":\"not an envelope\""));
	for (int i = 0; i < undelivered_n; i++)
		free(undelivered_text[i]);
	undelivered_n = 0;
	fake_free(&f);
}
END_TEST

/* What this runtime cannot run: another host's function stays in the
 * store; a malformed envelope is dropped (done), counted. */
START_TEST(astore_unknown_and_malformed)
{
	const char *other = "{\"v\":1,\"requestId\":\"r1\",\"function\":\"elsewhere\",\"version\":0,"
	                    "\"event\":{},\"acceptedMs\":1,\"dueMs\":1}";
	struct fake f;
	faas_runtime_t *rt;

	fake_init(&f);
	pthread_mutex_lock(&f.lock);
	fake_add(&f, other, strlen(other));
	fake_add(&f, "{\"v\":1}", 7);
	fake_add(&f, "[not json", 9);
	pthread_mutex_unlock(&f.lock);
	rt = store_rt(&f, 0.0001);
	ck_assert_int_eq(fake_wait(&f, &f.dones, 2), 2);
	for (int i = 0; i < 400 && store_metric(rt, "StoreUnknown") < 1; i++)
		usleep(5000);
	ck_assert_int_eq(store_metric(rt, "StoreUnknown"), 1);
	ck_assert_int_eq(store_metric(rt, "StoreMalformed"), 2);
	ck_assert_int_eq(fake_get(&f, &f.n), 1); /* the other host's event is still there */
	ck_assert_int_eq(atomic_load(&runs), 0);
	faas_runtime_free(rt);
	fake_free(&f);
}
END_TEST

/* Shutdown: an event waiting for its retry goes back to the store, untouched. */
START_TEST(astore_shutdown_leaves_waiting)
{
	faas_result_t res = FAAS_RESULT_INIT;
	struct fake f;
	faas_runtime_t *rt;

	fake_init(&f);
	rt = store_rt(&f, 1.0); /* the retry is a minute away */
	atomic_store(&fail_first, 1);
	ck_assert_int_eq(event(rt, "f", &res), 0);
	faas_result_clear(&res);
	ck_assert_int_eq(fake_wait(&f, &f.agains, 1), 1);
	for (int i = 0; i < 400 && store_metric(rt, "Taken") < 2; i++)
		usleep(5000);
	ck_assert_int_eq(store_metric(rt, "Taken"), 2); /* the retry is held here */
	ck_assert_int_ge(fake_wait(&f, &f.holds, 1), 1); /* and said so */
	ck_assert_int_eq(faas_runtime_shutdown(rt, 0), 0);
	ck_assert_int_eq(store_metric(rt, "StoreLeft"), 1);
	ck_assert_int_eq(fake_get(&f, &f.leaves), 1); /* given back, free for others */
	ck_assert_int_eq(fake_get(&f, &f.dones), 0);
	ck_assert_int_eq(fake_get(&f, &f.n), 1); /* still in the store, for whoever comes next */
	faas_runtime_free(rt);
	ck_assert_int_eq(f.closed, 1);
	fake_free(&f);
}
END_TEST

/* again refused: the event is kept and retried here instead. */
START_TEST(astore_again_fails_kept_here)
{
	faas_result_t res = FAAS_RESULT_INIT;
	struct fake f;
	faas_runtime_t *rt;

	fake_init(&f);
	f.fail_again = true;
	rt = store_rt(&f, 0.0001);
	atomic_store(&fail_first, 2);
	ck_assert_int_eq(event(rt, "f", &res), 0);
	faas_result_clear(&res);
	ck_assert_int_eq(fake_wait(&f, &f.dones, 1), 1);
	ck_assert_int_eq(atomic_load(&runs), 3);
	ck_assert_int_eq(store_metric(rt, "AgainFailed"), 2);
	ck_assert_int_eq(fake_get(&f, &f.n), 0);
	faas_runtime_free(rt);
	fake_free(&f);
}
END_TEST

/* again answers that the event is not this runtime's any more: its copy
 * here ends, without done and without a retry here. */
START_TEST(astore_again_conflict)
{
	faas_result_t res = FAAS_RESULT_INIT;
	struct fake f;
	faas_runtime_t *rt;

	fake_init(&f);
	f.conflict = true;
	rt = store_rt(&f, 0.0001);
	atomic_store(&fail_first, 5);
	ck_assert_int_eq(event(rt, "f", &res), 0);
	faas_result_clear(&res);
	for (int i = 0; i < 400 && store_metric(rt, "StoreConflicts") < 1; i++)
		usleep(5000);
	ck_assert_int_eq(store_metric(rt, "StoreConflicts"), 1);
	usleep(20000);
	ck_assert_int_eq(atomic_load(&runs), 1); /* not retried here */
	ck_assert_int_eq(fake_get(&f, &f.dones), 0);
	faas_runtime_free(rt);
	fake_free(&f);
}
END_TEST

Suite *astore_suite(void)
{
	Suite *s = suite_create("astore");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, astore_options_and_ownership);
	tcase_add_test(tc, astore_thread_start_failure);
	tcase_add_test(tc, astore_instant_empty_take_no_spin);
	tcase_add_test(tc, astore_put_again_done);
	tcase_add_test(tc, astore_put_fails);
	tcase_add_test(tc, astore_unknown_and_malformed);
	tcase_add_test(tc, astore_malformed_handed_to_undelivered);
	tcase_add_test(tc, astore_shutdown_leaves_waiting);
	tcase_add_test(tc, astore_again_fails_kept_here);
	tcase_add_test(tc, astore_again_conflict);
	suite_add_tcase(s, tc);
	return s;
}
