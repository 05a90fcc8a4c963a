/*
 * libfaas — the Telemetry stream: subscriptions, buffering, delivery
 * (DESIGN §5; Lambda's Telemetry API).
 *
 * Emitting: every emit point first tests rt->tel_types (one relaxed load;
 * 0 without subscribers). A record is then copied once, strings included,
 * into a refcounted item shared by every subscriber that wants it, and
 * appended to each one's buffer under `lock`. A buffer that fills is handed
 * over whole (`ready`) and a free one takes its place, so a burst of records
 * never waits for the deliverer to wake up; only when the subscriber has
 * one batch in hand and another ready (it is slower than the records come)
 * is a record dropped and counted (records, and bytes of its JSON text);
 * so is an item that could not be allocated. Nothing on the emitting side
 * waits for a subscriber.
 *
 * Delivering: one deliverer at a time (`servicing`): the faas-telemetry
 * thread, or in inline mode whichever caller reached a delivery point. It
 * takes the ready buffer, or a due filling one, drops the lock, builds the
 * batch — platform.logsDropped first when records were dropped — in the
 * array allocated at subscription, calls on_batch, releases the items and
 * gives the buffer back. A filling buffer is due timeout_ms (runtime clock)
 * after its first record, on flush, and when its subscription is closing.
 * The thread sleeps on `wake` until the earliest deadline (or, on a virtual
 * clock, until the clock moves); the first record of a buffer and a buffer
 * handed over kick it.
 *
 * Ending: unsubscribe and shutdown mark subscriptions closing; the
 * deliverer delivers what is left, runs `release` and frees them; it alone
 * unlinks subscriptions, so a subscription it is delivering to stays valid.
 * At shutdown (DESIGN §9.10 step 6) every subscription closes, the thread
 * delivers and exits, and is joined.
 *
 * Lock order: `lock` before the runtime's vwait_lock (starting the thread).
 */
#include "dispatch.h"

#include <math.h>
#include <sched.h>
#include <stdio.h>

#define DROP_REASON "Some logs were dropped because the downstream consumer is slower than the " \
	"logs production rate"

struct tel_item {
	_Atomic long refs;
	faas_telemetry_record_t rec;
	char strings[];
};

struct tel_sub {
	struct tel_sub *next;
	uint32_t id;
	faas_telemetry_options_t o; /* max_items and timeout_ms resolved */
	uint64_t timeout_ns;
	/* Three arrays of max_items: filling (buf), full and waiting (ready),
	 * being delivered; those not in use wait in spare[]. */
	struct tel_item **buf;
	struct tel_item **ready; /* NULL or max_items records */
	struct tel_item **spare[2];
	int nspare;
	faas_telemetry_record_t *batch; /* max_items + 1 (the deliverer's) */
	size_t n;               /* records in buf */
	uint64_t first_ns;      /* runtime clock: when buf got its first record (or drop) */
	uint64_t dropped_records, dropped_bytes;
	bool flush;             /* deliver what is buffered, due or not */
	bool closing;           /* no more records; deliver the rest, then release */
};

struct faas_tel {
	pthread_mutex_t lock; /* the list and every buffer */
	struct tel_sub *subs; /* in subscription order */
	uint32_t next_id;
	bool stopped;   /* shutdown: no new subscription */
	bool servicing; /* a deliverer is at work */
	bool thread;    /* faas-telemetry started */
	pthread_t tid;
	_Atomic bool stop;
	_Atomic bool sleeping;
	_Atomic uint32_t wake;
	struct faas_vwaiter vw;
};

struct faas_tel *faas__tel_new(void)
{
	struct faas_tel *tel = faas__calloc(1, sizeof(*tel));

	if (tel)
		pthread_mutex_init(&tel->lock, NULL);
	return tel;
}

/* ---- items ------------------------------------------------------------- */

static void item_unref(struct tel_item *it)
{
	if (it && atomic_fetch_sub(&it->refs, 1) == 1)
		faas__free(it);
}

#define STR_FIELDS(X) X(function_name) X(function_version) X(request_id) \
	X(initialization_type) X(phase) X(error_type) X(name) X(state) X(qualifier) X(reason) \
	X(condition) X(destination)

/* One block: the record, then copies of its strings. */
static struct tel_item *item_new(const faas_telemetry_record_t *r)
{
	size_t size = sizeof(struct tel_item) + (r->text ? r->text_len + 1 : 0);
	struct tel_item *it;
	char *p;

#define SIZE_(f) size += r->f ? strlen(r->f) + 1 : 0;
	STR_FIELDS(SIZE_)
#undef SIZE_
	if (!(it = faas__malloc(size)))
		return NULL;
	atomic_init(&it->refs, 1);
	it->rec = *r;
	p = it->strings;
#define COPY_(f)                                  \
	if (r->f) {                               \
		size_t len_ = strlen(r->f) + 1;   \
		it->rec.f = memcpy(p, r->f, len_); \
		p += len_;                        \
	}
	STR_FIELDS(COPY_)
#undef COPY_
	if (r->text) {
		it->rec.text = memcpy(p, r->text, r->text_len);
		p[r->text_len] = '\0';
	}
	return it;
}

static unsigned stream_of(faas_telemetry_type_t t)
{
	return t == FAAS_TEL_FUNCTION ? FAAS_TELEMETRY_FUNCTION
	       : t >= FAAS_TEL_THROTTLE ? FAAS_TELEMETRY_FAAS
	                                : FAAS_TELEMETRY_PLATFORM;
}

/* ---- emitting ---------------------------------------------------------- */

static void kick(struct faas_tel *tel)
{
	atomic_fetch_add(&tel->wake, 1);
	if (atomic_load(&tel->sleeping))
		faas__futex_wake(&tel->wake, 1);
}

void faas__tel_emit(faas_runtime_t *rt, const faas_telemetry_record_t *r)
{
	struct faas_tel *tel = rt->tel;
	unsigned stream = stream_of(r->type);
	struct tel_item *it = item_new(r); /* NULL: dropped (and counted) below */
	uint64_t now = faas__clock_mono_ns(&rt->clock);
	size_t bytes = 0;
	bool wake = false;
	struct tel_sub *s;

	pthread_mutex_lock(&tel->lock);
	for (s = tel->subs; s; s = s->next) {
		if (s->closing || !(s->o.types & stream))
			continue;
		if (s->n == 0 && s->dropped_records == 0) {
			s->first_ns = now; /* its timeout starts: the deliverer's deadline moves */
			wake = true;
		}
		if (it && s->n == s->o.max_items && !s->ready && s->nspare > 0) {
			s->ready = s->buf; /* full: hand it over, fill another */
			s->buf = s->spare[--s->nspare];
			s->n = 0;
			s->first_ns = now;
			wake = true;
		}
		if (it && s->n < s->o.max_items) {
			atomic_fetch_add(&it->refs, 1);
			s->buf[s->n++] = it;
			wake |= s->n == s->o.max_items;
			continue;
		}
		if (!bytes)
			bytes = faas_telemetry_record_format(r, NULL, 0);
		s->dropped_records++;
		s->dropped_bytes += bytes;
	}
	pthread_mutex_unlock(&tel->lock);
	item_unref(it);
	if (wake && !rt->inline_mode)
		kick(tel);
}

/* ---- delivering -------------------------------------------------------- */

static bool due(const struct tel_sub *s, uint64_t now)
{
	bool pending = s->n > 0 || s->dropped_records > 0;

	return s->ready || s->closing ||
	       (pending && (s->flush || s->n >= s->o.max_items || now - s->first_ns >= s->timeout_ns));
}

/* Deliver s's ready buffer, else its filling one (with what was dropped):
 * called and returns with the lock held; drops it around the callback. */
static void deliver(faas_runtime_t *rt, struct tel_sub *s)
{
	struct faas_tel *tel = rt->tel;
	struct tel_item **items;
	faas_runtime_t *prev = faas__current_rt;
	size_t n, k = 0, i;
	uint64_t dropped = s->dropped_records, dropped_bytes = s->dropped_bytes;

	if (s->ready) {
		items = s->ready;
		n = s->o.max_items;
		s->ready = NULL;
	} else { /* no batch in hand and none ready: a spare is free */
		items = s->buf;
		n = s->n;
		s->buf = s->spare[--s->nspare];
		s->n = 0;
		s->flush = false;
	}
	s->dropped_records = s->dropped_bytes = 0;
	pthread_mutex_unlock(&tel->lock);
	if (dropped) {
		faas_telemetry_record_t d = { 0 };
		d.version = FAAS_TELEMETRY_RECORD_VERSION;
		d.type = FAAS_TEL_LOGS_DROPPED;
		d.time_ms = faas__clock_wall_ms(&rt->clock);
		d.dropped_records = dropped;
		d.dropped_bytes = dropped_bytes;
		d.reason = DROP_REASON;
		s->batch[k++] = d;
	}
	for (i = 0; i < n; i++)
		s->batch[k++] = items[i]->rec;
	if (k) {
		faas__current_rt = rt; /* a runtime thread's: no shutdown/free from here */
		s->o.on_batch(s->batch, k, s->o.user_data);
		faas__current_rt = prev;
	}
	for (i = 0; i < n; i++)
		item_unref(items[i]);
	pthread_mutex_lock(&tel->lock);
	s->spare[s->nspare++] = items;
}

static void sub_free(struct tel_sub *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->n; i++)
		item_unref(s->buf[i]);
	for (i = 0; s->ready && i < s->o.max_items; i++)
		item_unref(s->ready[i]);
	faas__free(s->buf);
	faas__free(s->ready);
	faas__free(s->spare[0]);
	faas__free(s->spare[1]);
	faas__free(s->batch);
	faas__free(s);
}

/* Unlink a closing subscription whose buffer is empty, and end it. Called
 * and returns with the lock held. */
static void finish(faas_runtime_t *rt, struct tel_sub *s)
{
	struct faas_tel *tel = rt->tel;
	faas_runtime_t *prev = faas__current_rt;
	struct tel_sub **pp;

	for (pp = &tel->subs; *pp != s; pp = &(*pp)->next)
		;
	*pp = s->next;
	pthread_mutex_unlock(&tel->lock);
	if (s->o.release) {
		faas__current_rt = rt;
		s->o.release(s->o.user_data);
		faas__current_rt = prev;
	}
	sub_free(s);
	pthread_mutex_lock(&tel->lock);
}

/* The first due subscription from `from` on, then from the head (lock held). */
static struct tel_sub *next_due(const struct faas_tel *tel, struct tel_sub *from, uint64_t now)
{
	struct tel_sub *s;

	for (s = from; s && !due(s, now); s = s->next)
		;
	for (s = s ? s : tel->subs; s && s != from && !due(s, now); s = s->next)
		;
	return s && due(s, now) ? s : NULL;
}

/*
 * Deliver every due buffer, until none is due, taking the subscriptions in
 * turn (a busy one does not starve the next); finish closing ones.
 * Returns false at once if another thread is delivering.
 */
static bool service(faas_runtime_t *rt)
{
	struct faas_tel *tel = rt->tel;
	struct tel_sub *s, *from = NULL;

	pthread_mutex_lock(&tel->lock);
	if (tel->servicing) {
		pthread_mutex_unlock(&tel->lock);
		return false;
	}
	tel->servicing = true;
	while ((s = next_due(tel, from ? from : tel->subs, faas__clock_mono_ns(&rt->clock)))) {
		from = s->next; /* only the deliverer unlinks: it stays valid */
		if (s->ready || s->n > 0 || s->dropped_records > 0)
			deliver(rt, s);
		else
			finish(rt, s); /* closing, and nothing left */
	}
	tel->servicing = false;
	pthread_mutex_unlock(&tel->lock);
	return true;
}

/* Runtime-clock time of the earliest deadline (UINT64_MAX: none, 0: now);
 * lock held. */
static uint64_t next_deadline(const struct faas_tel *tel)
{
	uint64_t next = UINT64_MAX;
	const struct tel_sub *s;

	for (s = tel->subs; s; s = s->next) {
		if (s->ready)
			return 0; /* handed over since the last pass */
		if ((s->n > 0 || s->dropped_records > 0) && s->first_ns + s->timeout_ns < next)
			next = s->first_ns + s->timeout_ns;
	}
	return next;
}

static void *tel_main(void *arg)
{
	faas_runtime_t *rt = arg;
	struct faas_tel *tel = rt->tel;
	bool virt = rt->clock.kind == FAAS_CLOCK_VIRTUAL, done;
	uint64_t next;
	uint32_t seen;

	faas__current_rt = rt;
	for (;;) {
		seen = atomic_load(&tel->wake);
		service(rt);
		pthread_mutex_lock(&tel->lock);
		next = next_deadline(tel);
		done = atomic_load(&tel->stop) && !tel->subs;
		pthread_mutex_unlock(&tel->lock);
		if (done)
			break;
		if (next == 0)
			continue;
		atomic_store(&tel->sleeping, true);
		faas__futex_wait(&tel->wake, seen, virt || next == UINT64_MAX ? 0 : next);
		atomic_store(&tel->sleeping, false);
	}
	return NULL;
}

void faas__tel_poll(faas_runtime_t *rt)
{
	if (rt->inline_mode)
		service(rt);
	else
		kick(rt->tel);
}

bool faas__tel_settle(faas_runtime_t *rt)
{
	struct faas_tel *tel = rt->tel;
	uint64_t now = faas__clock_mono_ns(&rt->clock);
	const struct tel_sub *s;
	bool settled;

	if (rt->inline_mode)
		service(rt);
	pthread_mutex_lock(&tel->lock);
	settled = !tel->servicing;
	for (s = tel->subs; settled && s; s = s->next)
		settled = !due(s, now);
	pthread_mutex_unlock(&tel->lock);
	return settled;
}

/* Recompute the streams wanted (lock held). */
static void update_types(faas_runtime_t *rt)
{
	const struct tel_sub *s;
	unsigned types = 0;

	for (s = rt->tel->subs; s; s = s->next)
		if (!s->closing)
			types |= s->o.types;
	atomic_store_explicit(&rt->tel_types, types, memory_order_release);
}

/* Shutdown: every subscription ends after its last batch; then the thread
 * is joined. */
void faas__tel_stop(faas_runtime_t *rt)
{
	struct faas_tel *tel = rt->tel;
	struct tel_sub *s;
	bool thread, left;

	pthread_mutex_lock(&tel->lock);
	tel->stopped = true;
	for (s = tel->subs; s; s = s->next)
		s->closing = true;
	update_types(rt);
	thread = tel->thread;
	pthread_mutex_unlock(&tel->lock);
	if (thread) {
		atomic_store(&tel->stop, true);
		kick(tel);
		pthread_join(tel->tid, NULL);
		if (rt->clock.kind == FAAS_CLOCK_VIRTUAL)
			faas__vwait_remove(rt, &tel->vw);
		return;
	}
	for (;;) { /* inline: here, unless another caller is delivering */
		service(rt);
		pthread_mutex_lock(&tel->lock);
		left = tel->subs != NULL;
		pthread_mutex_unlock(&tel->lock);
		if (!left)
			return;
		sched_yield();
	}
}

void faas__tel_free(faas_runtime_t *rt)
{
	struct faas_tel *tel = rt->tel;
	struct tel_sub *s;

	if (!tel)
		return;
	while ((s = tel->subs) != NULL) { /* a runtime that never started */
		tel->subs = s->next;
		sub_free(s);
	}
	pthread_mutex_destroy(&tel->lock);
	faas__free(tel);
	rt->tel = NULL;
}

/* ---- the API ----------------------------------------------------------- */

static int check_options(const faas_telemetry_options_t *o, faas_error_detail_t *d)
{
	if (!o)
		return faas__fail(d, FAAS_EINVAL, "telemetry options must not be NULL");
	if (o->version != FAAS_TELEMETRY_OPTIONS_VERSION)
		return faas__fail(d, FAAS_EINVAL, "unsupported faas_telemetry_options_t version %u",
		                  o->version);
	if (!o->on_batch)
		return faas__fail(d, FAAS_EINVAL, "on_batch must not be NULL");
	if (!o->types || (o->types & ~FAAS_TELEMETRY_ALL))
		return faas__fail(d, FAAS_EINVAL,
		                  "types must be a non-empty mask of FAAS_TELEMETRY_PLATFORM, FUNCTION, "
		                  "EXTENSION and FAAS (got 0x%x)",
		                  o->types);
	if (o->max_items > FAAS_TELEMETRY_MAX_ITEMS_MAX)
		return faas__fail(d, FAAS_EINVAL, "max_items must be 1 to %u (0 = %u); got %u",
		                  FAAS_TELEMETRY_MAX_ITEMS_MAX, FAAS_TELEMETRY_MAX_ITEMS_DEFAULT,
		                  o->max_items);
	if (o->timeout_ms &&
	    (o->timeout_ms < FAAS_TELEMETRY_TIMEOUT_MIN_MS || o->timeout_ms > FAAS_TELEMETRY_TIMEOUT_MAX_MS))
		return faas__fail(d, FAAS_EINVAL, "timeout_ms must be %u to %u (0 = %u); got %u",
		                  FAAS_TELEMETRY_TIMEOUT_MIN_MS, FAAS_TELEMETRY_TIMEOUT_MAX_MS,
		                  FAAS_TELEMETRY_TIMEOUT_DEFAULT_MS, o->timeout_ms);
	return 0;
}

static struct tel_sub *sub_new(const faas_telemetry_options_t *o)
{
	struct tel_sub *s = faas__calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->o = *o;
	if (!s->o.max_items)
		s->o.max_items = FAAS_TELEMETRY_MAX_ITEMS_DEFAULT;
	if (!s->o.timeout_ms)
		s->o.timeout_ms = FAAS_TELEMETRY_TIMEOUT_DEFAULT_MS;
	s->timeout_ns = (uint64_t)s->o.timeout_ms * 1000000u;
	s->buf = faas__calloc(s->o.max_items, sizeof(*s->buf));
	s->spare[0] = faas__calloc(s->o.max_items, sizeof(*s->spare[0]));
	s->spare[1] = faas__calloc(s->o.max_items, sizeof(*s->spare[1]));
	s->nspare = 2;
	s->batch = faas__calloc(s->o.max_items + 1, sizeof(*s->batch));
	if (!s->buf || !s->spare[0] || !s->spare[1] || !s->batch) {
		sub_free(s);
		return NULL;
	}
	return s;
}

/* The first subscription starts the thread (lock held). */
static int start_thread(faas_runtime_t *rt)
{
	struct faas_tel *tel = rt->tel;
	int rc;

	if (rt->inline_mode || tel->thread)
		return 0;
	if (rt->clock.kind == FAAS_CLOCK_VIRTUAL) { /* the clock moving wakes it */
		tel->vw.wake = &tel->wake;
		faas__vwait_add(rt, &tel->vw);
	}
	rc = faas__thread_create(&tel->tid, "telemetry", 0, tel_main, rt);
	if (rc != 0) {
		if (rt->clock.kind == FAAS_CLOCK_VIRTUAL)
			faas__vwait_remove(rt, &tel->vw);
		return rc;
	}
	tel->thread = true;
	return 0;
}

int faas_telemetry_subscribe(faas_runtime_t *rt, const faas_telemetry_options_t *o,
                             uint32_t *id_out, faas_error_detail_t *d)
{
	struct tel_sub *s, **pp;
	struct faas_tel *tel;
	uint32_t id = 0;
	int rc;

	if ((rc = faas__api_begin(rt, d)) != 0 || (rc = check_options(o, d)) != 0)
		return rc;
	if (!(s = sub_new(o)))
		return faas__fail(d, FAAS_ENOMEM, NULL);
	tel = rt->tel;
	pthread_mutex_lock(&tel->lock);
	if (tel->stopped)
		rc = faas__fail(d, FAAS_ESHUTDOWN, "the runtime is shut down");
	else if ((rc = start_thread(rt)) != 0)
		faas__fail(d, rc, rc == FAAS_ETHREAD ? "could not start the telemetry thread" : NULL);
	if (rc == 0) {
		s->id = id = ++tel->next_id;
		for (pp = &tel->subs; *pp; pp = &(*pp)->next)
			;
		*pp = s;
		update_types(rt);
	}
	pthread_mutex_unlock(&tel->lock);
	if (rc != 0) {
		sub_free(s);
		return rc;
	}
	if (id_out)
		*id_out = id; /* s itself may be gone already */
	return 0;
}

int faas_telemetry_unsubscribe(faas_runtime_t *rt, uint32_t id, faas_error_detail_t *d)
{
	struct faas_tel *tel;
	struct tel_sub *s;
	int rc;

	if ((rc = faas__api_begin(rt, d)) != 0)
		return rc;
	tel = rt->tel;
	pthread_mutex_lock(&tel->lock);
	for (s = tel->subs; s && (s->id != id || s->closing); s = s->next)
		;
	if (s) {
		s->closing = true;
		update_types(rt);
	}
	pthread_mutex_unlock(&tel->lock);
	if (!s)
		return faas__fail(d, FAAS_ENOTFOUND, "no telemetry subscription has id %u", id);
	faas__tel_poll(rt);
	return 0;
}

int faas_telemetry_flush(faas_runtime_t *rt, faas_error_detail_t *d)
{
	struct tel_sub *s;
	int rc;

	if ((rc = faas__api_begin(rt, d)) != 0)
		return rc;
	pthread_mutex_lock(&rt->tel->lock);
	for (s = rt->tel->subs; s; s = s->next)
		s->flush = true;
	pthread_mutex_unlock(&rt->tel->lock);
	faas__tel_poll(rt);
	return 0;
}

/* ---- the records ------------------------------------------------------- */

static faas_telemetry_record_t record_of(faas_telemetry_type_t type, int64_t time_ms)
{
	faas_telemetry_record_t r;

	memset(&r, 0, sizeof(r));
	r.version = FAAS_TELEMETRY_RECORD_VERSION;
	r.type = type;
	r.time_ms = time_ms;
	return r;
}

/* Wall time of a runtime-clock instant of the invocation, without a clock read. */
static int64_t inv_wall_ms(const struct faas_inv *inv, uint64_t ns)
{
	return faas__inv_start_wall(inv) + (int64_t)((ns - inv->start_ns) / 1000000u);
}

static double round_us(double ms)
{
	return round(ms * 1000.0) / 1000.0;
}

void faas__tel_init(struct faas_inv *inv, faas_telemetry_type_t type, const faas_ext_event_t *ev,
                    uint64_t at_ns)
{
	faas_telemetry_record_t r = record_of(type, inv_wall_ms(inv, at_ns));

	r.function_name = ev->function_name;
	r.function_version = ev->function_version;
	r.initialization_type = ev->initialization_type;
	r.phase = ev->phase;
	if (type != FAAS_TEL_INIT_START) {
		r.status = ev->status;
		r.error_type = ev->status == FAAS_EXT_ERROR ? ev->error_type : NULL;
		r.duration_ms = round_us(ev->duration_ms);
	}
	faas__tel_emit(inv->rt, &r);
}

void faas__tel_invoke(struct faas_inv *inv, faas_telemetry_type_t type, uint64_t at_ns, bool created)
{
	faas_telemetry_record_t r = record_of(type, inv_wall_ms(inv, at_ns));
	const struct faas_version *v = inv->version;

	r.function_name = v->fn->name;
	r.function_version = inv->version_label;
	r.request_id = inv->request_id;
	if (type != FAAS_TEL_START) {
		r.status = faas__outcome_status(inv->outcome);
		if (r.status == FAAS_EXT_ERROR)
			r.error_type = json_string_value(json_object_get(inv->response, "errorType"));
		r.duration_ms = round_us(inv->duration_ms);
	}
	if (type == FAAS_TEL_RUNTIME_DONE && r.status != FAAS_EXT_TIMEOUT)
		r.produced_bytes = inv->text ? strlen(inv->text) : faas__json_text_size(inv->response);
	if (type == FAAS_TEL_REPORT) {
		/* as the REPORT line bills it: with external extensions' post-runtime work */
		double billed = inv->duration_ms + inv->post_ms;
		r.billed_duration_ms = billed < 1 ? 1 : (uint64_t)ceil(billed);
		if (inv->post_timeout)
			r.status = FAAS_EXT_TIMEOUT;
		r.memory_size_mb = r.max_memory_used_mb = v->memory_mb;
		r.has_init_duration = created && !inv->init_retried;
		r.init_duration_ms = r.has_init_duration ? round_us(inv->init_ms) : 0;
	}
	faas__tel_emit(inv->rt, &r);
}

void faas__tel_function(struct faas_inv *inv, const char *line, size_t len)
{
	faas_telemetry_record_t r =
		record_of(FAAS_TEL_FUNCTION, inv_wall_ms(inv, faas__clock_mono_ns(&inv->rt->clock)));

	r.function_name = inv->version->fn->name;
	r.function_version = inv->version_label;
	r.request_id = inv->request_id;
	r.text = line;
	r.text_len = len;
	faas__tel_emit(inv->rt, &r);
}

void faas__tel_throttle(faas_runtime_t *rt, const char *fn, const char *version,
                        const char *qual, size_t qual_len, const char *reason)
{
	faas_telemetry_record_t r = record_of(FAAS_TEL_THROTTLE, faas__clock_wall_ms(&rt->clock));
	char q[FAAS_QUALIFIER_MAX + 1];

	r.function_name = fn;
	r.function_version = version;
	if (qual) {
		snprintf(q, sizeof(q), "%.*s", (int)qual_len, qual);
		r.qualifier = q;
	}
	r.reason = reason;
	faas__tel_emit(rt, &r);
}

void faas__tel_source(faas_runtime_t *rt, const char *source, int code, const char *message)
{
	faas_telemetry_record_t r = record_of(FAAS_TEL_SOURCE_ERROR, faas__clock_wall_ms(&rt->clock));

	r.name = source;
	r.error_code = code;
	r.reason = message;
	faas__tel_emit(rt, &r);
}

void faas__tel_extension(faas_runtime_t *rt, const char *name, unsigned events)
{
	faas_telemetry_record_t r = record_of(FAAS_TEL_EXTENSION, faas__clock_wall_ms(&rt->clock));

	r.name = name;
	r.state = "Ready";
	r.events = events & (FAAS_EXT_INVOKE | FAAS_EXT_SHUTDOWN);
	faas__tel_emit(rt, &r);
}

void faas__tel_async(faas_runtime_t *rt, faas_telemetry_type_t type, const char *fn,
                     const char *version, const char *request_id, uint32_t attempts,
                     const char *detail, const char *destination, uint64_t n, bool delivered)
{
	faas_telemetry_record_t r = record_of(type, faas__clock_wall_ms(&rt->clock));

	r.function_name = fn;
	r.function_version = version;
	r.request_id = request_id;
	r.attempts = attempts;
	switch (type) {
	case FAAS_TEL_ASYNC_RETRY:
		r.reason = detail;
		r.delay_ms = n;
		break;
	case FAAS_TEL_DESTINATION:
		r.condition = detail;
		r.destination = destination;
		r.delivered = delivered;
		break;
	default: /* FAAS_TEL_DEAD_LETTER */
		r.condition = detail;
		r.error_code = (int)n;
		break;
	}
	faas__tel_emit(rt, &r);
}
