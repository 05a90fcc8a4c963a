/*
 * libfaas — asynchronous invocation (DESIGN §9.5, §9.8, §9.10; Lambda's
 * `Event` invocation type, reference §8).
 *
 * DESIGN
 * - An accepted event is a `struct faas_aevent`: the frozen event (a
 *   reference), the version chosen at enqueue time (a reference), the
 *   event invoke config as it stood then (an immutable refcounted
 *   `faas_aconf`), its request id, times and attempt counts. Queued events
 *   wait in one min-heap by due time under `lock`; the heap is bounded
 *   (async_queue_max: beyond it, FAAS_EAGAIN, never a block or a drop).
 * - Starting an attempt (start_due, DESIGN 9.7): while fewer than
 *   max_inflight run, a due event is popped, takes a token like a sync call
 *   (provisioned, reserved or unreserved pool; never waiting) and goes to a
 *   worker as an invocation whose completion runs `attempt_done` instead of
 *   waking a caller (DESIGN 9.8's continuation). This happens on the thread
 *   that queued it (a caller never ends an event itself: what would end
 *   there goes back for housekeeping) and on the worker whose attempt just
 *   ended (it posts the next one to itself, no wake). The housekeeping
 *   thread pumps only what waits: retries, backoffs, deadlines. A throttled
 *   attempt goes back to the heap at once with backoff: no thread waits.
 * - Timeouts without timers: running attempts sit on a list with the
 *   deadline their worker publishes; the pump abandons one whose deadline
 *   passed (state RUNNING -> ABANDONED, the same CAS a sync caller uses) and
 *   finishes it as a timeout while the stuck handler keeps its worker and
 *   token until it returns. Exactly one of the worker and the pump wins.
 * - Outcomes: success -> on_success; function error or timeout -> retried
 *   while attempts <= max_retry_attempts (delays 60 s then 120 s, times
 *   async_delay_scale), else on_failure with RetriesExhausted; the age limit
 *   is checked before each attempt (EventAgeExceeded). With no failure
 *   destination a failed event is dropped, as Lambda does (counted).
 * - Shutdown: the pump keeps running while faas_runtime_shutdown drains;
 *   at its deadline whatever is still queued is finished with condition
 *   Shutdown (failure destination, else `undelivered`), on the caller's
 *   thread. Attempts still running finish later on their worker.
 * - With a durable store (runtime option async_store), accepting an event
 *   writes it to the store instead of the heap; events come back through
 *   the store's taker thread and carry `stored`: async_store.c has the
 *   design, and the four places here that ask for it (done at an end,
 *   again for a retry or backoff, leave at shutdown, wall-clock age).
 */
#include "async_int.h"

#include <math.h>
#include <stdio.h>

/* ---- configs -------------------------------------------------------------- */

static void aconf_unref(struct faas_aconf *c)
{
	if (!c || atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	if (c->on_success.kind == FAAS_DESTINATION_QUEUE)
		faas__queue_unref(c->on_success.queue);
	if (c->on_failure.kind == FAAS_DESTINATION_QUEUE)
		faas__queue_unref(c->on_failure.queue);
	faas__free(c);
}

static int check_destination(const faas_destination_t *dst, const char *which,
                             faas_error_detail_t *d)
{
	switch (dst->kind) {
	case FAAS_DESTINATION_NONE:
		return 0;
	case FAAS_DESTINATION_CALLBACK:
		if (!dst->callback)
			return faas__fail(d, FAAS_EINVAL, "%s: a callback destination needs a callback",
			                  which);
		return 0;
	case FAAS_DESTINATION_QUEUE:
		if (!dst->queue)
			return faas__fail(d, FAAS_EINVAL, "%s: a queue destination needs a queue", which);
		return 0;
	case FAAS_DESTINATION_FUNCTION:
		if (!dst->function || !*dst->function)
			return faas__fail(d, FAAS_EINVAL, "%s: a function destination needs a function name",
			                  which);
		if (strlen(dst->function) > FAAS_IDENT_MAX_INVOKE)
			return faas__fail(d, FAAS_EINVAL, "%s: function name too long", which);
		return 0;
	}
	return faas__fail(d, FAAS_EINVAL, "%s: unknown destination kind %d", which, (int)dst->kind);
}

static struct faas_aconf *aconf_build(const faas_event_invoke_config_t *cfg, faas_error_detail_t *d)
{
	size_t ls = cfg->on_success.kind == FAAS_DESTINATION_FUNCTION ? strlen(cfg->on_success.function) + 1 : 0;
	size_t lf = cfg->on_failure.kind == FAAS_DESTINATION_FUNCTION ? strlen(cfg->on_failure.function) + 1 : 0;
	struct faas_aconf *c = faas__calloc(1, sizeof(*c) + ls + lf);
	char *p;

	if (!c) {
		faas__fail(d, FAAS_ENOMEM, NULL);
		return NULL;
	}
	atomic_init(&c->refs, 1);
	c->max_retry = cfg->max_retry_attempts < 0 ? 2 : cfg->max_retry_attempts;
	c->max_age_ms = cfg->max_event_age_ms ? cfg->max_event_age_ms : AGE_MAX_MS;
	c->on_success = cfg->on_success;
	c->on_failure = cfg->on_failure;
	p = (char *)(c + 1);
	if (ls) {
		memcpy(p, cfg->on_success.function, ls);
		c->on_success.function = p;
		p += ls;
	}
	if (lf) {
		memcpy(p, cfg->on_failure.function, lf);
		c->on_failure.function = p;
	}
	if (c->on_success.kind == FAAS_DESTINATION_QUEUE)
		faas__queue_ref(c->on_success.queue);
	if (c->on_failure.kind == FAAS_DESTINATION_QUEUE)
		faas__queue_ref(c->on_failure.queue);
	return c;
}

static struct faas_eicfg *eicfg_find(const struct faas_entry *e, const char *qual, size_t len)
{
	struct faas_eicfg *c;

	for (c = e->eicfgs; c; c = c->next)
		if (strlen(c->qual) == len && memcmp(c->qual, qual, len) == 0)
			return c;
	return NULL;
}

void faas__async_entry_free(struct faas_entry *e)
{
	struct faas_eicfg *c, *next;

	for (c = e->eicfgs; c; c = next) {
		next = c->next;
		aconf_unref(c->conf);
		faas__free(c);
	}
	e->eicfgs = NULL;
}

void faas__async_qualifier_gone(struct faas_entry *e, const char *qual)
{
	struct faas_eicfg **pp, *c;

	for (pp = &e->eicfgs; (c = *pp) != NULL; pp = &c->next)
		if (strcmp(c->qual, qual) == 0) {
			*pp = c->next;
			aconf_unref(c->conf);
			faas__free(c);
			return;
		}
}

int faas_function_set_event_invoke_config(faas_runtime_t *rt, const char *name,
                                          const char *qualifier,
                                          const faas_event_invoke_config_t *cfg,
                                          faas_error_detail_t *d)
{
	struct faas_aconf *conf = NULL, *old = NULL;
	struct faas_eicfg *fresh = NULL, *c;
	struct faas_version *v = NULL;
	struct faas_ident id;
	struct faas_stripe *s;
	struct faas_entry *e;
	const char *qual;
	size_t qual_len;
	int rc;

	if ((rc = faas__api_begin(rt, d)) != 0 ||
	    (rc = faas__ident_parse(rt, name, qualifier, FAAS_IDENT_CONTROL, &id, d)) != 0)
		return rc;
	if (cfg) {
		if (cfg->version != FAAS_EVENT_INVOKE_CONFIG_VERSION)
			return faas__fail(d, FAAS_EINVAL,
			                  "unsupported faas_event_invoke_config_t version %u", cfg->version);
		if (cfg->max_retry_attempts < -1 || cfg->max_retry_attempts > 2)
			return faas__fail(d, FAAS_EINVAL,
			                  "1 validation error detected: Value '%d' at 'maximumRetryAttempts' "
			                  "failed to satisfy constraint: Member must have value less than or "
			                  "equal to 2",
			                  (int)cfg->max_retry_attempts);
		if (cfg->max_event_age_ms < 0 || cfg->max_event_age_ms > AGE_MAX_MS)
			return faas__fail(d, FAAS_EINVAL,
			                  "max_event_age_ms must be between 1 and %lld (6 hours); 0 means 6 hours",
			                  AGE_MAX_MS);
		if ((rc = check_destination(&cfg->on_success, "on_success", d)) != 0 ||
		    (rc = check_destination(&cfg->on_failure, "on_failure", d)) != 0)
			return rc;
		if ((cfg->on_success.kind == FAAS_DESTINATION_QUEUE &&
		     faas__queue_runtime(cfg->on_success.queue) != rt) ||
		    (cfg->on_failure.kind == FAAS_DESTINATION_QUEUE &&
		     faas__queue_runtime(cfg->on_failure.queue) != rt))
			return faas__fail(d, FAAS_EINVAL, "a destination queue belongs to another runtime");
		if (!(conf = aconf_build(cfg, d)))
			return FAAS_ENOMEM;
		if (!(fresh = faas__calloc(1, sizeof(*fresh)))) {
			aconf_unref(conf);
			return faas__fail(d, FAAS_ENOMEM, NULL);
		}
	}
	qual = id.qual ? id.qual : "$LATEST";
	qual_len = id.qual ? id.qual_len : 7;
	e = faas__entry_lock(rt, id.name, id.name_len, &s);
	if (!e) {
		rc = faas__fail_fn_not_found(rt, d, id.name, id.name_len, NULL, 0);
	} else if (id.kind == FAAS_QUAL_VERSION && !(v = faas__entry_version(e, id.version))) {
		rc = faas__fail_fn_not_found(rt, d, id.name, id.name_len, id.qual, id.qual_len);
	} else if (id.kind == FAAS_QUAL_ALIAS && faas__entry_alias_index(e, id.qual, id.qual_len) < 0) {
		rc = faas__fail_fn_not_found(rt, d, id.name, id.name_len, id.qual, id.qual_len);
	} else if ((c = eicfg_find(e, qual, qual_len)) != NULL) {
		old = c->conf;
		if (conf) {
			c->conf = conf;
			conf = NULL;
		} else {
			faas__async_qualifier_gone(e, c->qual);
			old = NULL; /* freed with its entry */
		}
	} else if (!conf) {
		rc = faas__fail(d, FAAS_ENOTFOUND,
		                "The function %.*s doesn't have an EventInvokeConfig", (int)id.name_len,
		                id.name);
	} else {
		memcpy(fresh->qual, qual, qual_len);
		fresh->qual[qual_len] = '\0';
		fresh->conf = conf;
		fresh->next = e->eicfgs;
		e->eicfgs = fresh;
		fresh = NULL;
		conf = NULL;
	}
	faas__stripe_unlock(s);
	aconf_unref(old);
	aconf_unref(conf);
	faas__free(fresh);
	return rc;
}

/* A destination as GetFunctionEventInvokeConfig shows it. */
static json_t *destination_json(const faas_destination_t *dst)
{
	switch (dst->kind) {
	case FAAS_DESTINATION_FUNCTION:
		return json_pack("{s:s}", "Destination", dst->function);
	case FAAS_DESTINATION_QUEUE:
		return json_pack("{s:s}", "Destination", faas_queue_arn(dst->queue));
	case FAAS_DESTINATION_CALLBACK:
		return json_pack("{s:s}", "Destination", "callback");
	default:
		return json_object();
	}
}

int faas_function_get_event_invoke_config(faas_runtime_t *rt, const char *name,
                                          const char *qualifier, json_t **out,
                                          faas_error_detail_t *d)
{
	struct faas_aconf *conf = NULL;
	struct faas_eicfg *c;
	struct faas_ident id;
	struct faas_stripe *s;
	struct faas_entry *e;
	char arn[FAAS_ARN_MAX];
	int rc;

	faas__detail_reset(d);
	if (!out)
		return faas__fail(d, FAAS_EINVAL, "out must not be NULL");
	*out = NULL;
	if ((rc = faas__api_begin(rt, d)) != 0 ||
	    (rc = faas__ident_parse(rt, name, qualifier, FAAS_IDENT_CONTROL, &id, d)) != 0)
		return rc;
	e = faas__entry_lock(rt, id.name, id.name_len, &s);
	if (e && (c = eicfg_find(e, id.qual ? id.qual : "$LATEST", id.qual ? id.qual_len : 7))) {
		conf = c->conf;
		atomic_fetch_add(&conf->refs, 1);
	}
	faas__stripe_unlock(s);
	if (!e)
		return faas__fail_fn_not_found(rt, d, id.name, id.name_len, NULL, 0);
	if (!conf)
		return faas__fail(d, FAAS_ENOTFOUND,
		                  "The function %.*s doesn't have an EventInvokeConfig", (int)id.name_len,
		                  id.name);
	faas__format_arn(rt, id.name, id.name_len, id.qual ? id.qual : "$LATEST",
	                 id.qual ? id.qual_len : 7, arn, sizeof(arn));
	*out = json_pack("{s:s,s:i,s:I,s:{s:o,s:o}}", "FunctionArn", arn, "MaximumRetryAttempts",
	                 (int)conf->max_retry, "MaximumEventAgeInSeconds",
	                 (json_int_t)(conf->max_age_ms / 1000), "DestinationConfig", "OnSuccess",
	                 destination_json(&conf->on_success), "OnFailure",
	                 destination_json(&conf->on_failure));
	aconf_unref(conf);
	return *out ? 0 : faas__fail(d, FAAS_ENOMEM, NULL);
}

/* ---- the runtime's queue ---------------------------------------------------- */

int faas__async_init(faas_runtime_t *rt, const faas_runtime_options_t *o, faas_error_detail_t *d,
                     bool *store_taken)
{
	struct faas_async *a;

	if (o->async_max_inflight < -1)
		return faas__fail(d, FAAS_EINVAL, "async_max_inflight must be -1, 0 or positive");
	if (!isfinite(o->async_delay_scale) || o->async_delay_scale < 0)
		return faas__fail(d, FAAS_EINVAL, "async_delay_scale must be a finite value >= 0");
	if (!(a = faas__calloc(1, sizeof(*a))))
		return faas__fail(d, FAAS_ENOMEM, NULL);
	a->max_queued = o->async_queue_max ? o->async_queue_max : QUEUE_MAX_DEFAULT;
	a->max_inflight = o->async_max_inflight < 0    ? UINT32_MAX
	                  : o->async_max_inflight == 0 ? (rt->conc->max / 2 ? rt->conc->max / 2 : 1)
	                                               : (uint32_t)o->async_max_inflight;
	a->scale = o->async_delay_scale > 0 ? o->async_delay_scale : 1.0;
	atomic_init(&a->hk_wake, UINT64_MAX);
	a->rt = rt;
	a->undelivered = o->async_undelivered;
	a->dup_every = o->async_duplicate_every;
	a->undelivered_ud = o->async_undelivered_user_data;
	rt->max_async_request_bytes =
	        o->max_async_request_bytes ? o->max_async_request_bytes : FAAS_ASYNC_REQUEST_MAX;
	rt->async = a;
	/* events come in bursts: one malloc per chunk of them (faas_int.h) */
	faas__bcache_slab(&rt->aev_cache, sizeof(struct faas_aevent));
	if (o->async_store) {
		int rc = faas__astore_init(rt, o, d);
		*store_taken = rc == 0;
		return rc;
	}
	return 0;
}

void faas__aevent_free(struct faas_aevent *ev)
{
	json_decref(ev->event);
	faas__version_unref(ev->version);
	aconf_unref(ev->conf);
	faas__bcache_put(&ev->rt->aev_cache, ev);
}

void faas__async_free(faas_runtime_t *rt)
{
	struct faas_async *a = rt->async;
	size_t i;

	if (!a)
		return;
	for (i = 0; i < a->hn; i++) /* only after a failed start: shutdown empties it */
		faas__aevent_free(a->heap[i]);
	for (i = 0; i < a->rn; i++)
		faas__aevent_free(a->ring[(a->rhead + i) & (a->rcap - 1)]);
	faas__astore_free(rt);
	faas__free(a->heap);
	faas__free(a->ring);
	faas__free(a);
	rt->async = NULL;
}

/* Heap under lock. */
static void heap_up(struct faas_async *a, size_t i)
{
	struct faas_aevent *ev = a->heap[i];

	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (a->heap[p]->due_ns <= ev->due_ns)
			break;
		a->heap[i] = a->heap[p];
		i = p;
	}
	a->heap[i] = ev;
}

/* Under lock: what the inline invoke path reads without it. */
static void publish_n(struct faas_async *a)
{
	atomic_store_explicit(&a->rt->async_queued, a->n, memory_order_relaxed);
}

static struct faas_aevent *heap_pop(struct faas_async *a)
{
	struct faas_aevent *top = a->heap[0], *last = a->heap[--a->hn];
	size_t i = 0;

	for (;;) {
		size_t l = 2 * i + 1, m = l;
		if (l >= a->hn)
			break;
		if (l + 1 < a->hn && a->heap[l + 1]->due_ns < a->heap[l]->due_ns)
			m = l + 1;
		if (last->due_ns <= a->heap[m]->due_ns)
			break;
		a->heap[i] = a->heap[m];
		i = m;
	}
	if (a->hn)
		a->heap[i] = last;
	return top;
}

/* Under lock: room for one more in the ring (doubling it, best effort). */
static bool ring_room(struct faas_async *a)
{
	struct faas_aevent **nr;
	size_t ncap;

	if (a->rn < a->rcap)
		return true;
	ncap = a->rcap ? a->rcap * 2 : 256;
	if (!(nr = faas__reallocarray(a->ring, ncap, sizeof(*nr))))
		return false; /* the heap has room for it */
	/* full: the part that wrapped round to the front moves past the old end */
	memcpy(nr + a->rcap, nr, a->rhead * sizeof(*nr));
	a->ring = nr;
	a->rcap = ncap;
	return true;
}

/* Under lock: queue ev (the heap has room: the callers reserved it). An
 * event due by @p now that is not due before the ring's last goes to the
 * ring; anything else to the heap. */
static void q_push(struct faas_async *a, struct faas_aevent *ev, uint64_t now)
{
	if (ev->due_ns <= now &&
	    (!a->rn || ev->due_ns >= a->ring[(a->rhead + a->rn - 1) & (a->rcap - 1)]->due_ns) &&
	    ring_room(a)) {
		a->ring[(a->rhead + a->rn++) & (a->rcap - 1)] = ev;
	} else {
		a->heap[a->hn++] = ev;
		heap_up(a, a->hn - 1);
	}
	a->n++;
	publish_n(a);
}

/* Under lock: the event due first, or NULL. */
static struct faas_aevent *q_first(const struct faas_async *a)
{
	struct faas_aevent *r = a->rn ? a->ring[a->rhead] : NULL, *h = a->hn ? a->heap[0] : NULL;

	if (!r || (h && h->due_ns < r->due_ns))
		return h;
	return r;
}

/* Under lock: take q_first(a) off the queue. */
static struct faas_aevent *q_pop(struct faas_async *a)
{
	struct faas_aevent *ev = q_first(a);

	if (a->rn && ev == a->ring[a->rhead]) {
		a->rhead = (a->rhead + 1) & (a->rcap - 1);
		a->rn--;
	} else {
		heap_pop(a);
	}
	a->n--;
	publish_n(a);
	return ev;
}

/* Under lock: the i-th queued event, in no particular order (i < n). */
static struct faas_aevent *q_at(const struct faas_async *a, size_t i)
{
	return i < a->hn ? a->heap[i] : a->ring[(a->rhead + i - a->hn) & (a->rcap - 1)];
}

struct faas_aevent *faas__async_queued_at(faas_runtime_t *rt, size_t i)
{
	return q_at(rt->async, i);
}

/*
 * An event off the heap keeps its slot (counted in `inflight`) until it
 * ends, so going back never needs memory: requeue() returns the slot and
 * the event together, release_slot() once the event has ended (after its
 * destination: faas_test_quiesce counts it busy until then).
 */
static void finish_failed(faas_runtime_t *rt, struct faas_aevent *ev, const char *condition,
                          json_t *response, bool function_error);
static bool release_slot(struct faas_async *a);
static void start_due(faas_runtime_t *rt, bool producer, uint64_t now, bool release);

static void requeue(faas_runtime_t *rt, struct faas_aevent *ev, uint64_t due)
{
	struct faas_async *a = rt->async;

	ev->due_ns = due;
	faas__lock(&a->lock);
	if (a->closed) { /* shutdown emptied the queue meanwhile: this one ends too */
		faas__unlock(&a->lock);
		if (ev->stored)
			faas__astore_leave(rt, ev); /* another runtime of the store runs it */
		else
			finish_failed(rt, ev, "Shutdown", NULL, false);
		release_slot(a);
		return;
	}
	a->inflight--;
	q_push(a, ev, 0); /* later than now: the heap */
	faas__unlock(&a->lock);
	faas__hk_kick(rt); /* the pump recomputes when it must wake */
}

/* True when events wait in the queue. */
static bool release_slot(struct faas_async *a)
{
	bool waiting;

	faas__lock(&a->lock);
	a->inflight--;
	waiting = a->n != 0;
	faas__unlock(&a->lock);
	return waiting;
}

/* The store's paths free a slot where no start_due() may follow (a
 * producer's thread gives up after a throttle): the pump starts what waits. */
void faas__async_release_slot(struct faas_async *a)
{
	if (release_slot(a))
		faas__hk_kick(a->rt);
}

/* Under lock: the pump's planned wake-up lowered to @p t; true when it was
 * (the caller kicks the housekeeping thread once the lock is released). */
static bool plan_by_locked(struct faas_async *a, uint64_t t)
{
	if (t >= atomic_load_explicit(&a->hk_wake, memory_order_relaxed))
		return false;
	atomic_store(&a->hk_wake, t);
	return true;
}

static uint64_t scaled_ms(const struct faas_async *a, double ms)
{
	double ns = ms * a->scale * 1e6;

	return ns < 1.0 ? 1 : (uint64_t)ns;
}

/* ---- records and destinations ---------------------------------------------- */

static json_t *record(faas_runtime_t *rt, const struct faas_aevent *ev, const char *condition,
                      json_t *response, bool function_error)
{
	char arn[FAAS_ARN_MAX], label[12], ts[32];
	json_t *rec;

	faas__version_label(ev->version->number, label);
	faas__format_arn(rt, ev->version->fn->name, ev->version->fn->name_len, label, strlen(label),
	                 arn, sizeof(arn));
	faas__format_iso_ms(faas__clock_wall_ms(&rt->clock), ts, sizeof(ts));
	rec = json_pack("{s:s,s:s,s:{s:s,s:s,s:s,s:i},s:O}", "version", "1.0", "timestamp", ts,
	                "requestContext", "requestId", ev->request_id, "functionArn", arn, "condition",
	                condition, "approximateInvokeCount", (int)ev->attempts, "requestPayload",
	                ev->event);
	if (rec && ev->attempts > 0) { /* an event that never ran has no response */
		json_t *rc = json_pack("{s:i,s:s}", "statusCode", 200, "executedVersion", label);
		if (rc && function_error)
			json_object_set_new(rc, "functionError", json_string("Unhandled"));
		json_object_set_new(rec, "responseContext", rc);
		json_object_set_new(rec, "responsePayload", response ? json_incref(response) : json_null());
	}
	return rec;
}

static void count(faas_runtime_t *rt, _Atomic uint64_t *counter)
{
	(void)rt;
	atomic_fetch_add_explicit(counter, 1, memory_order_relaxed);
}

static int enqueue(faas_runtime_t *rt, struct faas_resolved *res, const char *qual,
                   size_t qual_len, json_t *event, uint32_t lineage, char *request_id,
                   faas_error_detail_t *d);

/* A record to its destination; false when it could not take it. */
static bool deliver(faas_runtime_t *rt, const faas_destination_t *dst, json_t *rec, uint32_t lineage)
{
	faas_error_detail_t d;
	struct faas_resolved res = { NULL, 0, NULL };
	struct faas_ident id;
	char rid[FAAS_REQUEST_ID_SIZE];
	int rc;

	if (dst->kind == FAAS_DESTINATION_CALLBACK) {
		dst->callback(rec, dst->user_data);
		return true;
	}
	if (dst->kind == FAAS_DESTINATION_QUEUE) { /* the record as the message body */
		char *text = faas_json_dumps(rec, JSON_COMPACT);
		rc = text ? faas__queue_put(dst->queue, text, strlen(text)) : FAAS_ENOMEM;
		faas__json_text_free(text);
		return rc == 0;
	}
	faas__detail_reset(&d);
	if (faas__ident_parse(rt, dst->function, NULL, FAAS_IDENT_INVOKE, &id, &d) != 0 ||
	    faas__registry_resolve_event(rt, &id, NULL, &res, &d) != 0)
		return false;
	rc = enqueue(rt, &res, id.qual, id.qual ? id.qual_len : 0, rec, lineage, rid, &d);
	faas__resolved_release(&res);
	return rc == 0;
}

/* libfaas's async telemetry records (faas.*), when someone listens. */
static void tel(faas_runtime_t *rt, faas_telemetry_type_t type, const struct faas_aevent *ev,
                const char *detail, const faas_destination_t *dst, uint64_t n, bool delivered)
{
	char label[12];

	if (FAAS_LIKELY(!faas__tel_wants(rt, FAAS_TELEMETRY_FAAS)))
		return;
	faas__version_label(ev->version->number, label);
	faas__tel_async(rt, type, ev->version->fn->name, label, ev->request_id, ev->attempts, detail,
	                dst ? (dst->kind == FAAS_DESTINATION_FUNCTION ? dst->function
	                       : dst->kind == FAAS_DESTINATION_QUEUE  ? faas_queue_arn(dst->queue)
	                                                               : "callback")
	                    : NULL,
	                n, delivered);
}

/* Lambda's DLQ: the event itself, with RequestID, ErrorCode, ErrorMessage. */
static void dead_letter(faas_runtime_t *rt, const struct faas_aevent *ev, const char *condition,
                        json_t *response)
{
	const char *msg = json_string_value(json_object_get(response, "errorMessage"));
	char text[1025];
	faas_dead_letter_info_t info;

	if (!msg)
		msg = !strcmp(condition, "EventAgeExceeded") ? "Event age exceeded"
		      : !strcmp(condition, "Shutdown")       ? "The runtime shut down"
		      : ev->throttled                         ? "Rate Exceeded."
		                                              : condition;
	snprintf(text, sizeof(text), "%s", msg); /* its first 1 KB */
	info.request_id = ev->request_id;
	info.error_code = ev->attempts > 0 ? 200 : ev->throttled ? 429 : 500;
	info.error_message = text;
	ev->version->dead_letter(ev->event, &info, ev->version->dead_letter_ud);
	tel(rt, FAAS_TEL_DEAD_LETTER, ev, condition, NULL, (uint64_t)info.error_code, true);
}

/* The end of an event that did not succeed: its dead-letter sink, its
 * failure destination; with neither, `undelivered` at shutdown, else it
 * is dropped as Lambda drops it. Counted either way. */
static void finish_failed(faas_runtime_t *rt, struct faas_aevent *ev, const char *condition,
                          json_t *response, bool function_error)
{
	struct faas_async *a = rt->async;
	const faas_destination_t *dst = ev->conf ? &ev->conf->on_failure : NULL;
	bool shutdown = strcmp(condition, "Shutdown") == 0, taken = false, failed_delivery = false;
	json_t *rec = NULL;

	if (ev->duplicate) { /* an extra delivery: its end is nobody's business */
		faas__aevent_free(ev);
		return;
	}
	count(rt, &a->failed);
	if (!strcmp(condition, "EventAgeExceeded"))
		count(rt, &a->expired);
	if (shutdown)
		count(rt, &a->shutdown);
	if (dst && dst->kind == FAAS_DESTINATION_NONE)
		dst = NULL;
	if (ev->version->dead_letter) {
		dead_letter(rt, ev, condition, response);
		count(rt, &a->dead_lettered);
		taken = true;
	}
	if (dst || (!taken && shutdown && a->undelivered)) {
		rec = record(rt, ev, condition, response, function_error);
		if (!rec) /* no memory for the record: counted, never silent */
			failed_delivery = true;
		else if (dst && deliver(rt, dst, rec, ev->lineage + 1))
			taken = true;
		else if (dst)
			failed_delivery = true;
		if (dst)
			tel(rt, FAAS_TEL_DESTINATION, ev, condition, dst, 0, taken);
	}
	if (failed_delivery)
		count(rt, &a->delivery_failures);
	if (!taken && rec && a->undelivered && (shutdown || failed_delivery)) {
		if (failed_delivery)
			json_object_set_new(json_object_get(rec, "requestContext"), "condition",
			                    json_string("DestinationDeliveryFailed"));
		a->undelivered(rec, a->undelivered_ud);
		count(rt, &a->undelivered_count);
		taken = true;
	}
	if (!taken)
		count(rt, &a->dropped);
	json_decref(rec);
	if (ev->stored)
		faas__astore_done(rt, ev);
	faas__aevent_free(ev);
}

static void finish_succeeded(faas_runtime_t *rt, struct faas_aevent *ev, json_t *response)
{
	struct faas_async *a = rt->async;
	const faas_destination_t *dst = ev->conf ? &ev->conf->on_success : NULL;
	json_t *rec;

	if (ev->duplicate) {
		faas__aevent_free(ev);
		return;
	}
	count(rt, &a->succeeded);
	if (dst && dst->kind != FAAS_DESTINATION_NONE) {
		bool ok;
		rec = record(rt, ev, "Success", response, false);
		ok = rec && deliver(rt, dst, rec, ev->lineage + 1);
		if (!ok)
			count(rt, &a->delivery_failures);
		tel(rt, FAAS_TEL_DESTINATION, ev, "Success", dst, 0, ok);
		json_decref(rec);
	}
	if (ev->stored)
		faas__astore_done(rt, ev);
	faas__aevent_free(ev);
}

/* ---- attempts ------------------------------------------------------------------ */

static void running_remove(struct faas_async *a, struct faas_inv *inv)
{
	if (inv->aprev)
		inv->aprev->anext = inv->anext;
	else
		a->running = inv->anext;
	if (inv->anext)
		inv->anext->aprev = inv->aprev;
	inv->anext = inv->aprev = NULL;
}

/* The attempt ended: on its worker (DONE), or on the pump at its deadline
 * (abandoned: the worker still runs and its fields are not ours to read). */
static void attempt_done(struct faas_inv *inv, bool abandoned)
{
	faas_runtime_t *rt = inv->rt;
	struct faas_async *a = rt->async;
	struct faas_aevent *ev = inv->done_arg;
	int32_t max_retry = ev->conf ? ev->conf->max_retry : 2;
	json_t *response = NULL;
	bool ok = false, retry;

	faas__lock(&a->lock);
	running_remove(a, inv);
	faas__unlock(&a->lock);
	ev->attempts++;
	ev->throttles = 0;
	if (abandoned) {
		response = faas__inv_timeout_payload(inv);
	} else {
		ok = inv->outcome == FAAS_OUT_SUCCESS;
		response = inv->response ? json_incref(inv->response) : NULL;
	}
	faas__inv_unref(inv); /* the running list's reference */
	retry = !ok && (int32_t)ev->attempts <= max_retry && !ev->duplicate &&
	        (atomic_load(&rt->state) != FAAS_RT_SHUTDOWN || ev->stored);
	if (retry) {
		uint64_t delay = scaled_ms(a, ev->attempts == 1 ? 60000.0 : 120000.0);
		count(rt, &a->retries);
		tel(rt, FAAS_TEL_ASYNC_RETRY, ev, "FunctionError", NULL, delay / 1000000u, false);
		if (!faas__astore_again(rt, ev, delay)) /* stored: any runtime may take it */
			requeue(rt, ev, faas__clock_mono_ns(&rt->clock) + delay);
	} else {
		if (ok)
			finish_succeeded(rt, ev, response);
		else
			finish_failed(rt, ev,
			              atomic_load(&rt->state) == FAAS_RT_SHUTDOWN &&
			                              (int32_t)ev->attempts <= max_retry
			                      ? "Shutdown"
			                      : "RetriesExhausted",
			              response, true);
	}
	json_decref(response);
	/* the next due event starts here; the slot is released there, under the
	 * same lock, after the destination: until then the event is busy */
	start_due(rt, false, 0, !retry);
}

/* The housekeeping thread wakes by @p deadline at the latest. */
static void watch(faas_runtime_t *rt, uint64_t deadline)
{
	struct faas_async *a = rt->async;
	bool kick;

	/* The common case, a deadline after the planned wake-up: no lock. The
	 * attempt is on the running list already; a pump that scanned the list
	 * without it stored its plan, under the lock, before the attempt went on
	 * the list, so this load sees that plan or a later one. A deadline moved
	 * earlier (faas__inv_set_deadline: a seq_cst store, then this load)
	 * against a pump scanning meanwhile (it stores 0, then loads the
	 * deadlines): one of the two sees the other's store. */
	if (deadline >= atomic_load(&a->hk_wake))
		return;
	faas__lock(&a->lock);
	kick = plan_by_locked(a, deadline);
	faas__unlock(&a->lock);
	if (kick)
		faas__hk_kick(rt);
}

void faas__async_deadline(faas_runtime_t *rt, uint64_t deadline)
{
	watch(rt, deadline);
}

/*
 * One attempt of a due event (its heap slot stays reserved); true when it
 * was handed to a worker. With @p here_ok false (a producer's thread) an
 * event that would end here instead goes back for the housekeeping thread
 * to end: destinations never run inside a caller's faas_invoke.
 */
static bool attempt(faas_runtime_t *rt, struct faas_aevent *ev, uint64_t now, bool here_ok)
{
	struct faas_async *a = rt->async;
	int64_t max_age = ev->conf ? ev->conf->max_age_ms : AGE_MAX_MS;
	struct faas_pool *pool = NULL;
	struct faas_pc *pc = NULL;
	const char *reason = NULL;
	struct faas_inv *inv;
	double backoff;
	int rc;

	bool too_old = ev->stored ? faas__clock_wall_ms(&rt->clock) - ev->accepted_wall_ms >= max_age
	                          : now - ev->enqueued_ns >= (uint64_t)max_age * 1000000u;
	bool looping = ev->lineage > FAAS_RECURSION_LIMIT && !ev->version->allow_recursion;

	if (!here_ok && (too_old || looping || atomic_load(&ev->version->fn->reserved) == 0)) {
		requeue(rt, ev, ev->due_ns);
		return false;
	}
	if (too_old) {
		finish_failed(rt, ev, "EventAgeExceeded", NULL, false);
		release_slot(a);
		return false;
	}
	if (looping) {
		/* DESIGN 9.13: the failure path, without retries */
		count(rt, &a->recursion_dropped);
		finish_failed(rt, ev, "RetriesExhausted", NULL, false);
		release_slot(a);
		return false;
	}
	rc = faas__admit_now(rt, ev->version, &pool, &pc, &reason);
	if (rc != 0) {
		faas__metrics_throttle(ev->version);
		if (FAAS_UNLIKELY(faas__tel_wants(rt, FAAS_TELEMETRY_FAAS))) {
			char label[12];
			faas__version_label(ev->version->number, label);
			faas__tel_throttle(rt, ev->version->fn->name, label, ev->qual, ev->qual_len, reason);
		}
		count(rt, &a->throttled);
		ev->throttled = true;
		if (atomic_load(&ev->version->fn->reserved) == 0) { /* Lambda: no retries */
			if (!here_ok) {
				requeue(rt, ev, ev->due_ns);
				return false;
			}
			finish_failed(rt, ev, "RetriesExhausted", NULL, false);
			release_slot(a);
			return false;
		}
		/* 1 s, 2 s, 4 s ... 5 min: not an attempt, retries stay */
		backoff = fmin(1000.0 * ldexp(1.0, (int)(ev->throttles < 20 ? ev->throttles : 20)),
		               300000.0);
		ev->throttles++;
		tel(rt, FAAS_TEL_ASYNC_RETRY, ev, "Throttled", NULL, scaled_ms(a, backoff) / 1000000u, false);
		if (!faas__astore_again(rt, ev, scaled_ms(a, backoff)))
			requeue(rt, ev, now + scaled_ms(a, backoff));
		return false;
	}
	inv = faas__inv_async(rt, ev->version, ev->qual, ev->qual_len, ev->event, ev->request_id,
	                      ev->lineage, now);
	if (!inv) {
		faas__conc_release(rt, pool);
		faas__pc_unref(pc);
		requeue(rt, ev, now + scaled_ms(a, 1000.0));
		return false;
	}
	inv->pool = pool;
	inv->pc = pc;
	inv->done_cb = attempt_done;
	inv->done_arg = ev;
	faas__lock(&a->lock);
	inv->anext = a->running;
	inv->aprev = NULL;
	if (a->running)
		a->running->aprev = inv;
	a->running = inv;
	faas__unlock(&a->lock);
	watch(rt, atomic_load(&inv->deadline_ns)); /* the pump times it out */
	if ((rc = faas__submit(inv)) != 0) { /* no thread: try again later */
		int expected = FAAS_INV_RUNNING;
		/* unless the pump timed it out meanwhile: then the event is its */
		bool mine = atomic_compare_exchange_strong(&inv->state, &expected, FAAS_INV_DONE);
		faas__conc_release(rt, inv->pool);
		faas__pc_unref(inv->pc);
		inv->pc = NULL;
		if (mine) {
			faas__lock(&a->lock);
			running_remove(a, inv);
			faas__unlock(&a->lock);
			faas__inv_unref(inv); /* the running list's */
		}
		faas__inv_unref(inv); /* the worker's, which never came */
		if (mine)
			requeue(rt, ev, now + scaled_ms(a, 1000.0));
		return false;
	}
	return true;
}

/*
 * Start due events on this thread while slots are free (DESIGN 9.7: no hop
 * through the housekeeping thread). A producer stops at the first event it
 * may not end itself; a worker that just finished an attempt goes on.
 */
/* Inline mode: the runtime whose events this thread is running (attempts
 * run right here, so one that ends must not start the next inside itself). */
static FAAS_TLS faas_runtime_t *inline_pumping;

/* now: the runtime clock's time, or 0 to read it (then at every round);
 * release: the caller's slot is released first, under the same lock */
static void start_due(faas_runtime_t *rt, bool producer, uint64_t now, bool release)
{
	struct faas_async *a = rt->async;
	struct faas_aevent *ev;

	if (rt->inline_mode && inline_pumping == rt) {
		if (release)
			release_slot(a);
		return; /* the loop of faas__async_run_inline goes on */
	}
	if (!now)
		now = faas__clock_mono_ns(&rt->clock);
	for (;; now = faas__clock_mono_ns(&rt->clock), release = false) {
		faas__lock(&a->lock);
		if (release)
			a->inflight--;
		if (a->closed || !a->n || q_first(a)->due_ns > now || a->inflight >= a->max_inflight) {
			/* A free slot and a first event due later (a retry, a backoff):
			 * the pump must wake for it, since the plan it made with every
			 * slot taken left the queue out. Later than now: no spin. */
			bool kick = !a->closed && a->n && a->inflight < a->max_inflight &&
			            plan_by_locked(a, q_first(a)->due_ns);
			faas__unlock(&a->lock);
			if (kick)
				faas__hk_kick(rt);
			return;
		}
		ev = q_pop(a);
		a->inflight++;
		faas__unlock(&a->lock);
		if (!attempt(rt, ev, now, !producer) && producer)
			return;
	}
}

void faas__async_start_due(faas_runtime_t *rt)
{
	start_due(rt, false, 0, false);
}

uint64_t faas__async_pump(faas_runtime_t *rt)
{
	struct faas_async *a = rt->async;
	struct faas_inv *inv, *late[16];
	struct faas_aevent *ev;
	uint64_t now = faas__clock_mono_ns(&rt->clock), next;
	size_t nlate, i;

	if (!a)
		return UINT64_MAX;
	for (;;) { /* attempts past their deadline: timeouts */
		nlate = 0;
		faas__lock(&a->lock);
		for (inv = a->running; inv && nlate < 16; inv = inv->anext)
			if (atomic_load(&inv->deadline_ns) <= now &&
			    atomic_load(&inv->state) == FAAS_INV_RUNNING) {
				atomic_fetch_add(&inv->refs, 1);
				late[nlate++] = inv;
			}
		faas__unlock(&a->lock);
		for (i = 0; i < nlate; i++) {
			int expected = FAAS_INV_RUNNING;
			if (atomic_compare_exchange_strong(&late[i]->state, &expected, FAAS_INV_ABANDONED))
				attempt_done(late[i], true);
			faas__inv_unref(late[i]);
		}
		if (nlate < 16)
			break;
	}
	for (;;) {
		faas__lock(&a->lock);
		if (a->closed || !a->n || q_first(a)->due_ns > now || a->inflight >= a->max_inflight) {
			/* Every slot taken: the attempt that frees one starts the next
			 * if it is due, or has us wake for it (start_due), so the queue
			 * is no reason to wake; waking for a due one would spin. */
			next = a->n && !a->closed && a->inflight < a->max_inflight ? q_first(a)->due_ns
			                                                              : UINT64_MAX;
			/* No plan while the deadlines are read: a deadline moved
			 * earlier meanwhile is either seen here or its watch() sees 0
			 * and waits for the lock (seq_cst store, then loads; the mover
			 * stores, then loads hk_wake). */
			atomic_store(&a->hk_wake, 0);
			for (inv = a->running; inv; inv = inv->anext)
				if (atomic_load(&inv->deadline_ns) < next)
					next = atomic_load(&inv->deadline_ns);
			atomic_store(&a->hk_wake, next);
			faas__unlock(&a->lock);
			break;
		}
		ev = q_pop(a);
		a->inflight++; /* its slot, until it ends or comes back */
		faas__unlock(&a->lock);
		attempt(rt, ev, now, true);
	}
	return next;
}

bool faas__async_busy(faas_runtime_t *rt)
{
	struct faas_async *a = rt->async;
	uint64_t now = faas__clock_mono_ns(&rt->clock);
	bool busy;

	if (!a)
		return false;
	faas__lock(&a->lock);
	busy = a->inflight > 0 || (!a->closed && a->n && q_first(a)->due_ns <= now);
	faas__unlock(&a->lock);
	return busy;
}

bool faas__async_pending(faas_runtime_t *rt)
{
	struct faas_async *a = rt->async;
	bool any;

	if (!a)
		return false;
	faas__lock(&a->lock);
	any = a->n > 0 || a->inflight > 0;
	faas__unlock(&a->lock);
	return any;
}

void faas__async_close(faas_runtime_t *rt)
{
	struct faas_async *a = rt->async;
	struct faas_aevent *ev;

	if (!a)
		return;
	for (;;) {
		faas__lock(&a->lock);
		a->closed = true;
		ev = a->n ? q_pop(a) : NULL;
		faas__unlock(&a->lock);
		if (!ev)
			break;
		if (ev->stored)
			faas__astore_leave(rt, ev); /* durable: run later, here or elsewhere */
		else
			finish_failed(rt, ev, "Shutdown", NULL, false);
	}
}

/* Shutdown with a durable store: events still waiting go back to it. */
void faas__async_leave_waiting(faas_runtime_t *rt)
{
	struct faas_async *a = rt->async;
	struct faas_aevent *ev;

	for (;;) {
		faas__lock(&a->lock);
		ev = a->n && q_first(a)->stored ? q_pop(a) : NULL;
		faas__unlock(&a->lock);
		if (!ev)
			break;
		faas__astore_leave(rt, ev);
	}
}

/* ---- accepting events ------------------------------------------------------------ */

/* Under lock: a second delivery of ev, when there is room (best effort:
 * it exists to test handlers' idempotency). */
static void inject_duplicate(struct faas_async *a, const struct faas_aevent *ev)
{
	struct faas_aevent *dup;

	if (a->n + a->inflight >= a->max_queued ||
	    !faas__array_reserve(&a->heap, a->n + a->inflight, &a->cap) ||
	    !(dup = faas__bcache_get(&a->rt->aev_cache, sizeof(*dup))))
		return;
	*dup = *ev;
	dup->duplicate = true;
	json_incref(dup->event);
	faas__version_ref(dup->version);
	if (dup->conf)
		atomic_fetch_add(&dup->conf->refs, 1);
	q_push(a, dup, dup->due_ns);
	a->duplicates++;
}

struct faas_aconf *faas__aconf_locked(const struct faas_entry *e, const char *qual, size_t qual_len)
{
	struct faas_eicfg *c = eicfg_find(e, qual, qual_len);

	if (!c)
		return NULL;
	atomic_fetch_add(&c->conf->refs, 1);
	return c->conf;
}

struct faas_aconf *faas__aconf_for(faas_runtime_t *rt, struct faas_version *v, const char *qual,
                                   size_t qual_len)
{
	struct faas_aconf *conf = NULL;
	struct faas_stripe *s;
	struct faas_entry *e = faas__entry_lock(rt, v->fn->name, v->fn->name_len, &s);

	if (e && e->fn == v->fn)
		conf = faas__aconf_locked(e, qual, qual_len);
	faas__stripe_unlock(s);
	return conf;
}

bool faas__async_push(faas_runtime_t *rt, struct faas_aevent *ev)
{
	struct faas_async *a = rt->async;
	uint64_t now = faas__clock_mono_ns(&rt->clock);

	faas__lock(&a->lock);
	if (a->closed || a->n + a->inflight >= a->max_queued ||
	    !faas__array_reserve(&a->heap, a->n + a->inflight, &a->cap)) {
		faas__unlock(&a->lock);
		return false;
	}
	q_push(a, ev, now);
	faas__unlock(&a->lock);
	faas__hk_kick(rt); /* the pump knows when it is due */
	return true;
}

/* res comes from faas__registry_resolve_event: its version and config move
 * into the event (or are dropped with it) once there is one. */
static int enqueue(faas_runtime_t *rt, struct faas_resolved *res, const char *qual,
                   size_t qual_len, json_t *event, uint32_t lineage, char *request_id,
                   faas_error_detail_t *d)
{
	struct faas_async *a = rt->async;
	uint64_t ev_due;
	bool slot_free;
	struct faas_aevent *ev = faas__bcache_get(&rt->aev_cache, sizeof(*ev));

	if (!ev) {
		aconf_unref(res->conf);
		res->conf = NULL;
		return faas__fail(d, FAAS_ENOMEM, NULL);
	}
	/* the fields before the qualifier zeroed; the rest is set below (the
	 * request id, the qualifier's text and its NUL) or belongs to stored
	 * events, which faas__astore_put leaves behind */
	memset(ev, 0, offsetof(struct faas_aevent, qual));
	ev->stored = false;
	ev->accepted_wall_ms = 0;
	ev->token[0] = '\0';
	ev->rt = rt;
	/* the config of the qualifier as invoked, as it stood at the resolution */
	ev->conf = res->conf;
	res->conf = NULL;
	ev->version = res->version; /* the resolution's reference */
	res->version = NULL;
	ev->event = event ? json_incref(event) : json_null();
	ev->lineage = lineage;
	ev->qual_len = qual ? qual_len : 0;
	if (ev->qual_len)
		memcpy(ev->qual, qual, ev->qual_len);
	ev->qual[ev->qual_len] = '\0';
	ev->enqueued_ns = ev->due_ns = ev_due = faas__clock_mono_ns(&rt->clock);
	faas__request_id(ev->request_id);
	if (a->store) { /* durable: accepted once the store has it */
		if (atomic_load(&rt->state) == FAAS_RT_SHUTDOWN) {
			faas__aevent_free(ev);
			return faas__fail(d, FAAS_ESHUTDOWN, "the runtime is shut down");
		}
		memcpy(request_id, ev->request_id, FAAS_REQUEST_ID_SIZE);
		return faas__astore_put(rt, ev, d);
	}
	faas__lock(&a->lock);
	if (a->closed || atomic_load(&rt->state) == FAAS_RT_SHUTDOWN) {
		faas__unlock(&a->lock);
		faas__aevent_free(ev);
		return faas__fail(d, FAAS_ESHUTDOWN, "the runtime is shut down");
	}
	if (a->n + a->inflight >= a->max_queued ||
	    (a->n + a->inflight >= a->cap && !faas__array_reserve(&a->heap, a->n + a->inflight, &a->cap))) {
		bool full = a->n + a->inflight >= a->max_queued;
		faas__unlock(&a->lock);
		faas__aevent_free(ev);
		return full ? faas__fail(d, FAAS_EAGAIN,
		                         "Rate Exceeded. The asynchronous event queue is full (%u events)",
		                         a->max_queued)
		            : faas__fail(d, FAAS_ENOMEM, NULL);
	}
	q_push(a, ev, ev->due_ns); /* due now: the ring */
	a->received++;
	/* with every slot taken, the attempt that frees one starts the next */
	slot_free = a->inflight < a->max_inflight;
	/* copied under the lock: once it is released another thread may run
	 * ev to its end and free it */
	memcpy(request_id, ev->request_id, FAAS_REQUEST_ID_SIZE);
	if (a->dup_every && ++a->dup_counter % a->dup_every == 0)
		inject_duplicate(a, ev);
	faas__unlock(&a->lock);
	if (rt->inline_mode) /* no threads: it runs now, unless a handler queued it */
		faas__async_run_inline(rt);
	else if (!slot_free)
		return 0;
	else if (rt->hk && faas__current_rt != rt) /* a caller's thread: start it from here */
		start_due(rt, true, ev_due, false); /* read just before the queue took it */
	else
		faas__hk_kick(rt);
	return 0;
}

int faas__async_enqueue(faas_runtime_t *rt, struct faas_resolved *res,
                        const struct faas_ident *id, json_t *event, uint32_t lineage,
                        char request_id[FAAS_REQUEST_ID_SIZE], faas_error_detail_t *d)
{
	return enqueue(rt, res, id->qual, id->qual_len, event, lineage, request_id, d);
}

void faas__async_run_inline(faas_runtime_t *rt)
{
	faas_runtime_t *prev = faas__current_rt;

	if (!rt->async || !rt->inline_mode || inline_pumping == rt || prev == rt)
		return; /* never inside a handler, nor inside this very loop */
	inline_pumping = rt;
	faas__current_rt = rt; /* destinations run as on a runtime thread */
	for (;;) {
		struct faas_async *a = rt->async;
		struct faas_aevent *ev;
		uint64_t now = faas__clock_mono_ns(&rt->clock);

		faas__lock(&a->lock);
		if (a->closed || !a->n || q_first(a)->due_ns > now || a->inflight >= a->max_inflight) {
			faas__unlock(&a->lock);
			break;
		}
		ev = q_pop(a);
		a->inflight++;
		faas__unlock(&a->lock);
		attempt(rt, ev, now, true); /* runs it to its end, right here */
	}
	faas__current_rt = prev;
	inline_pumping = NULL;
}

json_t *faas__async_metrics(faas_runtime_t *rt)
{
	struct faas_async *a = rt->async;
	json_t *o;

	if (!a)
		return json_object();
	faas__lock(&a->lock);
	o = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
	              "DeadLettered", (json_int_t)a->dead_lettered, "RecursiveInvocationsDropped",
	              (json_int_t)a->recursion_dropped, "DuplicatesInjected",
	              (json_int_t)a->duplicates, "AsyncEventsReceived",
	              (json_int_t)a->received, "Succeeded", (json_int_t)a->succeeded, "Failed",
	              (json_int_t)a->failed, "AsyncEventsDropped", (json_int_t)a->dropped, "Retries",
	              (json_int_t)a->retries, "Throttles", (json_int_t)a->throttled, "EventAgeExceeded",
	              (json_int_t)a->expired, "Shutdown", (json_int_t)a->shutdown,
	              "DestinationDeliveryFailures", (json_int_t)a->delivery_failures, "Undelivered",
	              (json_int_t)a->undelivered_count, "Queued", (json_int_t)a->n, "InFlight",
	              (json_int_t)a->inflight);
	faas__unlock(&a->lock);
	if (o && a->store)
		json_object_set_new(o, "Store", faas__astore_metrics(rt));
	return o;
}
