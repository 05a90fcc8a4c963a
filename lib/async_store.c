/*
 * libfaas — a durable store under asynchronous invocation (faas/async.h,
 * runtime option async_store).
 *
 * DESIGN
 * - Accepting an event (faas__astore_put) writes its envelope to the store
 *   and nothing else: the event is not queued here. Every runtime of the
 *   store, this one included, takes events from it on its "faas-astore"
 *   thread and pushes them into its own queue (async.c), where they run as
 *   any event does; `stored` marks them.
 * - Their ends: success, destination, dead-letter sink or drop -> `done`;
 *   a retry (function error, timeout) or a throttle's backoff -> `again`
 *   with the next state (attempts, throttles, due time) as one
 *   transaction, and the event leaves this runtime: whichever takes it
 *   holds it until it is due. If `again` fails the event stays here, as an
 *   in-memory one would, its old state still in the store.
 * - The taker reports every hold_interval_ms the tokens of the stored
 *   events this runtime holds (queued or running), so that the store does
 *   not give them to another runtime.
 * - Shutdown: the taker stops taking first; the events waiting in the
 *   queue go back to the store untouched (`leave`); attempts running finish
 *   on their workers and are settled as above, still held (the taker keeps
 *   calling hold, and take with max 0 to send what waits) until the
 *   workers are stopped; then the taker ends.
 */
#include "async_int.h"

#include <stdio.h>

#define TAKE_MAX 64

struct faas_astore {
	faas_async_store_ops_t ops;
	void *ud;
	uint32_t hold_ms;
	pthread_t tid;
	bool started;
	_Atomic bool stop;      /* the thread ends */
	_Atomic bool no_take;   /* shutdown: hold and flush only */
	_Atomic bool parked;    /* the thread saw no_take: it takes nothing more */
	_Atomic uint64_t put, put_failed, taken, done, again, again_failed, left, unknown, bad, errors,
	        conflicts;
};

int faas__astore_init(faas_runtime_t *rt, const faas_runtime_options_t *o, faas_error_detail_t *d)
{
	struct faas_astore *st = faas__calloc(1, sizeof(*st));

	if (!st)
		return faas__fail(d, FAAS_ENOMEM, NULL);
	st->ops = *o->async_store;
	st->ud = o->async_store_user_data;
	st->hold_ms = st->ops.hold_interval_ms ? st->ops.hold_interval_ms : 1000;
	rt->async->store = st;
	if (st->ops.attach)
		st->ops.attach(st->ud, rt);
	return 0;
}

void faas_async_store_report(faas_runtime_t *rt, const char *name, int code, const char *message)
{
	struct faas_astore *st = rt && rt->async ? rt->async->store : NULL;

	if (!st)
		return;
	atomic_fetch_add(&st->errors, 1);
	if (faas__tel_wants(rt, FAAS_TELEMETRY_FAAS))
		faas__tel_source(rt, name ? name : "async-store", code, message);
}

void faas__astore_free(faas_runtime_t *rt)
{
	struct faas_astore *st = rt->async ? rt->async->store : NULL;

	if (!st)
		return;
	if (st->ops.close)
		st->ops.close(st->ud);
	faas__free(st);
	rt->async->store = NULL;
}

/* ---- envelopes ---------------------------------------------------------------------- */

/* The event's state as text (jansson's allocator), due @p delay_ns from now. */
static char *envelope(faas_runtime_t *rt, const struct faas_aevent *ev, uint64_t delay_ns)
{
	int64_t now = faas__clock_wall_ms(&rt->clock);
	json_t *j = json_pack("{s:i,s:s,s:s,s:I,s:s%,s:O,s:I,s:I,s:b,s:I,s:I,s:I}", "v", 1,
	                      "requestId", ev->request_id, "function", ev->version->fn->name,
	                      "version", (json_int_t)ev->version->number, "qualifier", ev->qual,
	                      ev->qual_len, "event", ev->event, "attempts", (json_int_t)ev->attempts,
	                      "throttles", (json_int_t)ev->throttles, "throttled", ev->throttled,
	                      "acceptedMs", (json_int_t)ev->accepted_wall_ms, "dueMs",
	                      (json_int_t)(now + (int64_t)(delay_ns / 1000000u)), "lineage",
	                      (json_int_t)ev->lineage);
	char *text = j ? faas_json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

	json_decref(j);
	return text;
}

/* An event from its envelope; NULL when malformed (*bad) or when this
 * runtime has no such function or version (*bad false). */
struct faas_aevent *faas__astore_parse(faas_runtime_t *rt, const faas_async_stored_t *s, bool *bad)
{
	const char *rid = NULL, *fn = NULL, *qual = "";
	json_int_t version = -1, attempts = 0, throttles = 0, accepted = 0, due = 0, lineage = 0;
	int throttled = 0;
	json_t *event = NULL;
	char ident[FAAS_NAME_MAX + 16];
	struct faas_resolved res = { NULL, 0, NULL };
	struct faas_ident id;
	struct faas_aevent *ev;
	int64_t now_wall = faas__clock_wall_ms(&rt->clock);

	*bad = json_unpack(s->envelope, "{s:s,s:s,s:I,s?s,s:o,s?I,s?I,s?b,s:I,s:I,s?I}", "requestId",
	                   &rid, "function", &fn, "version", &version, "qualifier", &qual, "event",
	                   &event, "attempts", &attempts, "throttles", &throttles, "throttled",
	                   &throttled, "acceptedMs", &accepted, "dueMs", &due, "lineage",
	                   &lineage) != 0 ||
	       strlen(rid) >= FAAS_REQUEST_ID_SIZE || strlen(qual) > FAAS_QUALIFIER_MAX ||
	       strlen(fn) > FAAS_NAME_MAX || version < 0 || version > UINT32_MAX || attempts < 0 ||
	       attempts > 100 || throttles < 0 || lineage < 0 || lineage > UINT32_MAX;
	if (*bad)
		return NULL;
	if (version)
		snprintf(ident, sizeof(ident), "%s:%u", fn, (unsigned)version);
	else
		snprintf(ident, sizeof(ident), "%s:$LATEST", fn);
	if (faas__ident_parse(rt, ident, NULL, FAAS_IDENT_INVOKE, &id, NULL) != 0 ||
	    faas__registry_resolve(rt, &id, NULL, false, &res, NULL) != 0)
		return NULL;
	if (!(ev = faas__bcache_get(&rt->aev_cache, sizeof(*ev)))) { /* aevent_free puts it there */
		faas__resolved_release(&res);
		return NULL;
	}
	memset(ev, 0, sizeof(*ev));
	ev->rt = rt;
	ev->version = res.version; /* its reference */
	ev->conf = faas__aconf_for(rt, ev->version, qual[0] ? qual : "$LATEST",
	                           qual[0] ? strlen(qual) : 7);
	ev->event = json_incref(event);
	ev->attempts = (uint32_t)attempts;
	ev->throttles = (uint32_t)throttles;
	ev->throttled = throttled != 0;
	ev->lineage = (uint32_t)lineage;
	ev->qual_len = strlen(qual);
	memcpy(ev->qual, qual, ev->qual_len);
	memcpy(ev->request_id, rid, strlen(rid) + 1);
	ev->stored = true;
	ev->accepted_wall_ms = accepted;
	memcpy(ev->token, s->token, sizeof(ev->token));
	ev->token[sizeof(ev->token) - 1] = '\0';
	ev->enqueued_ns = faas__clock_mono_ns(&rt->clock);
	ev->due_ns = ev->enqueued_ns + (due > now_wall ? (uint64_t)(due - now_wall) * 1000000u : 0);
	return ev;
}

/* ---- the async path's calls ------------------------------------------------------------- */

int faas__astore_put(faas_runtime_t *rt, struct faas_aevent *ev, faas_error_detail_t *d)
{
	struct faas_astore *st = rt->async->store;
	faas_error_detail_t sd = FAAS_ERROR_DETAIL_INIT;
	char *text;
	int rc;

	ev->accepted_wall_ms = faas__clock_wall_ms(&rt->clock);
	text = envelope(rt, ev, 0);
	faas__aevent_free(ev);
	if (!text)
		return faas__fail(d, FAAS_ENOMEM, NULL);
	rc = st->ops.put(st->ud, text, strlen(text), &sd);
	faas__json_text_free(text);
	if (rc != 0) {
		atomic_fetch_add(&st->put_failed, 1);
		return faas__fail(d, rc < 0 ? rc : FAAS_EINTERNAL,
		                  "the async store did not take the event%s%s", sd.message[0] ? ": " : "",
		                  sd.message);
	}
	atomic_fetch_add(&st->put, 1);
	atomic_fetch_add(&rt->async->received, 1);
	return 0;
}

void faas__astore_done(faas_runtime_t *rt, const struct faas_aevent *ev)
{
	struct faas_astore *st = rt->async->store;

	if (!st)
		return;
	st->ops.done(st->ud, ev->token);
	atomic_fetch_add(&st->done, 1);
}

bool faas__astore_again(faas_runtime_t *rt, struct faas_aevent *ev, uint64_t delay_ns)
{
	struct faas_astore *st = rt->async->store;
	char *text;
	int rc;

	if (!st || !ev->stored)
		return false;
	if (!(text = envelope(rt, ev, delay_ns))) {
		atomic_fetch_add(&st->again_failed, 1);
		return false;
	}
	rc = st->ops.again(st->ud, ev->token, text, strlen(text));
	faas__json_text_free(text);
	if (rc == FAAS_ECONFLICT) { /* another runtime has it now: this copy ends here */
		atomic_fetch_add(&st->conflicts, 1);
		faas__aevent_free(ev);
		faas__async_release_slot(rt->async);
		return true;
	}
	if (rc != 0) {
		atomic_fetch_add(&st->again_failed, 1);
		return false; /* kept here: its old state is still in the store */
	}
	atomic_fetch_add(&st->again, 1);
	faas__aevent_free(ev);
	faas__async_release_slot(rt->async);
	return true;
}

void faas__astore_leave(faas_runtime_t *rt, struct faas_aevent *ev)
{
	struct faas_astore *st = rt->async->store;

	if (st) {
		atomic_fetch_add(&st->left, 1);
		if (st->ops.leave)
			st->ops.leave(st->ud, ev->token);
	}
	faas__aevent_free(ev);
}

json_t *faas__astore_metrics(faas_runtime_t *rt)
{
	struct faas_astore *st = rt->async ? rt->async->store : NULL;

	if (!st)
		return NULL;
	return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "StoreErrors",
	                 (json_int_t)st->errors, "StoreConflicts", (json_int_t)st->conflicts, "Put",
	                 (json_int_t)st->put,
	                 "PutFailed", (json_int_t)st->put_failed, "Taken", (json_int_t)st->taken,
	                 "Done", (json_int_t)st->done, "Again", (json_int_t)st->again, "AgainFailed",
	                 (json_int_t)st->again_failed, "StoreLeft", (json_int_t)st->left,
	                 "StoreUnknown", (json_int_t)st->unknown, "StoreMalformed",
	                 (json_int_t)st->bad);
}

/* ---- the taker ------------------------------------------------------------------------ */

/* Tokens of the stored events held here, for `hold`. */
static void hold(faas_runtime_t *rt, struct faas_astore *st)
{
	struct faas_async *a = rt->async;
	const char **tokens;
	char (*copy)[FAAS_ASYNC_TOKEN_MAX];
	size_t n = 0, cap, i;
	struct faas_inv *inv;

	if (!st->ops.hold)
		return;
	faas__lock(&a->lock);
	cap = a->n + a->inflight;
	tokens = cap ? faas__malloc(cap * sizeof(*tokens)) : NULL;
	copy = cap ? faas__malloc(cap * sizeof(*copy)) : NULL;
	if (tokens && copy) {
		for (i = 0; i < a->n && n < cap; i++) {
			const struct faas_aevent *ev = faas__async_queued_at(rt, i);
			if (ev->stored)
				memcpy(copy[n++], ev->token, FAAS_ASYNC_TOKEN_MAX);
		}
		for (inv = a->running; inv && n < cap; inv = inv->anext) {
			const struct faas_aevent *ev = inv->done_arg;
			if (ev->stored)
				memcpy(copy[n++], ev->token, FAAS_ASYNC_TOKEN_MAX);
		}
	}
	faas__unlock(&a->lock);
	for (i = 0; i < n; i++)
		tokens[i] = copy[i];
	if (n)
		st->ops.hold(st->ud, tokens, n);
	faas__free(tokens);
	faas__free(copy);
}

/* How many to take now: the local queue holds up to twice the attempts
 * that may run (at most async_queue_max), TAKE_MAX at a time. */
static size_t room(faas_runtime_t *rt)
{
	struct faas_async *a = rt->async;
	size_t target, have, r;

	faas__lock(&a->lock);
	target = a->max_inflight >= a->max_queued / 2 ? a->max_queued : (size_t)a->max_inflight * 2;
	have = a->n + a->inflight;
	faas__unlock(&a->lock);
	r = target > have ? target - have : 0;
	return r < TAKE_MAX ? r : TAKE_MAX;
}

/*
 * An envelope no runtime can run (not an object, a bad field): with an
 * `async_undelivered` callback it gets the envelope as the record's
 * requestPayload (condition "MalformedEnvelope", the store's token in
 * requestContext.storeToken), so it is not lost; either way the store then
 * forgets it (kept, it would come back at every take) and StoreMalformed
 * counts it. false: no memory for the record (the store keeps it).
 */
static bool hand_over_malformed(faas_runtime_t *rt, const faas_async_stored_t *got)
{
	struct faas_async *a = rt->async;
	const char *rid = json_string_value(json_object_get(got->envelope, "requestId"));
	char ts[32];
	json_t *rec;

	if (!a->undelivered)
		return true;
	faas__format_iso_ms(faas__clock_wall_ms(&rt->clock), ts, sizeof(ts));
	rec = json_pack("{s:s,s:s,s:{s:s?,s:n,s:s,s:i,s:s},s:O?}", "version", "1.0", "timestamp", ts,
	                "requestContext", "requestId", rid, "functionArn", "condition",
	                "MalformedEnvelope", "approximateInvokeCount", 0, "storeToken", got->token,
	                "requestPayload", got->envelope);
	if (!rec)
		return false;
	a->undelivered(rec, a->undelivered_ud);
	json_decref(rec);
	atomic_fetch_add_explicit(&a->undelivered_count, 1, memory_order_relaxed);
	return true;
}

static void *taker_main(void *arg)
{
	faas_runtime_t *rt = arg;
	struct faas_astore *st = rt->async->store;
	faas_async_stored_t got[TAKE_MAX];
	uint64_t last_hold = 0;
	size_t n, i, max;

	faas__current_rt = rt; /* it ends events as a worker does */
	while (!atomic_load(&st->stop)) {
		uint64_t now = faas__real_mono_ns();
		if (now - last_hold >= (uint64_t)st->hold_ms * 1000000u) {
			hold(rt, st);
			last_hold = now;
		}
		if (atomic_load(&st->no_take)) { /* draining: what runs stays held */
			atomic_store(&st->parked, true);
			n = 0;
			st->ops.take(st->ud, 0, got, &n); /* sends what waits */
			faas__sleep_ms(5);
			continue;
		}
		if ((max = room(rt)) == 0) {
			faas__sleep_ms(5);
			continue;
		}
		n = 0;
		now = faas__real_mono_ns();
		if (st->ops.take(st->ud, max, got, &n) != 0) {
			faas__sleep_ms(50); /* the store reports its own trouble */
			continue;
		}
		if (n == 0 && faas__real_mono_ns() - now < 1000000u) {
			faas__sleep_ms(5); /* a store that answers at once, empty: no spin */
			continue;
		}
		for (i = 0; i < n && i < max; i++) {
			bool bad = false;
			struct faas_aevent *ev = faas__astore_parse(rt, &got[i], &bad);
			bool handed = bad && hand_over_malformed(rt, &got[i]);
			json_decref(got[i].envelope);
			if (!ev) { /* not runnable here: malformed or another host's */
				atomic_fetch_add(bad ? &st->bad : &st->unknown, 1);
				if (handed)
					st->ops.done(st->ud, got[i].token);
				continue;
			}
			atomic_fetch_add(&st->taken, 1);
			if (!faas__async_push(rt, ev))
				faas__astore_leave(rt, ev); /* full after all: it stays in the store */
		}
		if (n)
			faas__async_start_due(rt);
	}
	return NULL;
}

int faas__astore_start(faas_runtime_t *rt)
{
	struct faas_astore *st = rt->async ? rt->async->store : NULL;
	int rc;

	if (!st)
		return 0;
	if ((rc = faas__thread_create(&st->tid, "astore", 0, taker_main, rt)) != 0)
		return rc;
	st->started = true;
	return 0;
}

void faas__astore_stop(faas_runtime_t *rt)
{
	struct faas_astore *st = rt->async ? rt->async->store : NULL;

	if (!st || !st->started)
		return;
	atomic_store(&st->no_take, true);
	while (!atomic_load(&st->parked)) /* its take in progress ends first */
		faas__sleep_ms(1);
	faas__async_leave_waiting(rt);
}

void faas__astore_join(faas_runtime_t *rt)
{
	struct faas_astore *st = rt->async ? rt->async->store : NULL;
	faas_async_stored_t none[1];
	size_t n = 0;

	if (!st || !st->started)
		return;
	atomic_store(&st->stop, true);
	pthread_join(st->tid, NULL);
	st->started = false;
	st->ops.take(st->ud, 0, none, &n); /* the last acknowledgements */
}
