/*
 * libfaas — event source mappings (DESIGN §9.8; reference §9).
 *
 * DESIGN
 * - A mapping gathers records from its source into `pending` (received,
 *   hidden from other consumers) and sends them as batches. It has no
 *   thread: step() runs on the housekeeping thread (each pass, woken by the
 *   clock moving, a source's notify, a window's end or a backoff's end), on
 *   the worker that just finished one of its batches (the next one goes at
 *   once), or in inline mode on the caller moving the clock.
 * - One thread steps a mapping at a time (`stepping`); another that wants
 *   to sets `again` and leaves, and the stepping thread goes round once more.
 *   So `receive` is never called concurrently for one mapping, and no
 *   library lock is held across a source call or an invocation.
 * - A batch is one invocation through the ordinary pipeline (DESIGN 9.8's
 *   continuation: faas__batch_done instead of waking a caller). Its token
 *   comes from the function's pools like any sync call, never waiting: a
 *   throttle releases the records and backs the mapping off. Batches in
 *   flight sit on the runtime's `running` list with the deadline their
 *   worker publishes; a step abandons one past it (the same CAS a sync
 *   caller uses) and settles it as a failure while the handler keeps its
 *   worker and token.
 * - Every record ends once: acked (success, filtered out), nacked (failed:
 *   the source's retry rule) or released (never sent). A mapping lives
 *   while its list entry, its handle or a batch refers to it.
 * - Shutdown (DESIGN 9.10 step 2): `closed` stops every step; gathered
 *   records are released; batches in flight settle when they end.
 */
#include "mapping_int.h"

#include <math.h>
#include <stdio.h>

#define BATCH_DEFAULT 10u
#define BATCH_MAX 10000u
#define WINDOW_MAX_MS 300000u
#define CONCURRENCY_MAX 1000u
#define POLL_DEFAULT_MS 1000u
#define EVENT_OVERHEAD 14 /* {"Records":[]} */

enum map_state { MAP_ENABLED, MAP_DISABLING, MAP_DISABLED, MAP_DELETING };

static const char *const state_names[] = { "Enabled", "Disabling", "Disabled", "Deleting" };

struct map_conf {
	uint32_t batch_size, window_ms, max_conc, poll_ms;
	bool rbif;
	size_t nfilters;
	json_t *filters[FAAS_MAPPING_FILTERS_MAX]; /* compiled (referenced) */
};

struct faas_mapping {
	_Atomic long refs; /* the runtime's list + each batch in flight */
	faas_runtime_t *rt;
	faas_source_t *src; /* referenced */
	pthread_mutex_t lock; /* everything below */
	struct map_conf conf;
	enum map_state state;
	faas_source_record_t *pending;
	size_t npending, cap_pending, pending_bytes;
	uint64_t window_start_ns;
	uint64_t not_before_ns; /* backoff after a throttle or a failed receive */
	uint64_t next_poll_ns;  /* real clock: the next poll of a quiet source */
	uint32_t inflight, backoffs;
	uint32_t *groups_out; /* groups with a batch in flight (a stream's lanes: one each) */
	size_t ngroups_out, cap_groups_out;
	bool stepping, again;
	bool progress; /* records came in since the poll thread last looked */
	/* a blocking source's own poll thread (faas-poll): it alone steps the
	 * mapping; others wake it through poll_cond */
	bool polled, poll_stop;
	pthread_t poll_tid;
	pthread_cond_t poll_cond;
	int64_t last_modified_ms;
	const char *last_result;
	/* counters */
	uint64_t received, filtered, succeeded, failed, released, batches, throttles, dropped;
	struct faas_mapping *next; /* the runtime's list */
	char function[FAAS_IDENT_MAX_INVOKE + 1];
	char function_arn[FAAS_ARN_MAX];
	char uuid[FAAS_REQUEST_ID_SIZE];
};

struct batch {
	struct faas_mapping *m; /* referenced */
	struct faas_inv *inv;
	uint32_t group; /* its records' group (0: none) */
	bool rbif; /* report_batch_item_failures when it was sent */
	struct batch *next, *prev; /* the runtime's running list */
	size_t n;
	faas_source_record_t recs[];
};

struct faas_maps {
	pthread_mutex_t lock; /* the list, the running batches, `closed` */
	struct faas_mapping *list;
	struct batch *running;
	bool closed;
	uint64_t stepped_ns; /* the clock at the last step of every mapping */
	_Atomic uint64_t planned_ns; /* when the housekeeping thread means to step them next */
	_Atomic bool kicked;
};

/* ---- the runtime's set -------------------------------------------------------- */

static struct faas_maps *maps_of(faas_runtime_t *rt, bool create)
{
	struct faas_maps *ms = atomic_load(&rt->maps), *fresh;

	if (ms || !create)
		return ms;
	if (!(fresh = faas__calloc(1, sizeof(*fresh))))
		return NULL;
	pthread_mutex_init(&fresh->lock, NULL);
	if (!atomic_compare_exchange_strong(&rt->maps, &ms, fresh)) {
		pthread_mutex_destroy(&fresh->lock);
		faas__free(fresh);
		return ms;
	}
	return fresh;
}

void faas__mappings_kick(faas_runtime_t *rt)
{
	struct faas_maps *ms = atomic_load(&rt->maps);

	if (!ms)
		return;
	atomic_store(&ms->kicked, true);
	faas__hk_kick(rt);
}

void faas__mappings_deadline(faas_runtime_t *rt, uint64_t deadline)
{
	(void)deadline; /* the step recomputes its wake-up from the running list */
	faas__hk_kick(rt);
}

/* ---- records ---------------------------------------------------------------------- */

static void settle(struct faas_mapping *m, faas_source_record_t *r,
                   void (*op)(void *, const faas_source_record_t *))
{
	if (op)
		op(m->src->ud, r);
	json_decref(r->record);
	r->record = NULL;
}

static void release_all(struct faas_mapping *m, faas_source_record_t *recs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		settle(m, &recs[i], m->src->ops.release);
}

enum verdict { PASS, FILTERED, NO_MEMORY };

/* The record as filters see it: its filter root (the "kinesis" object of
 * a Kinesis record), the data key's text parsed as JSON when a pattern looks
 * inside it (base64-decoded first for a stream; text that is not JSON
 * matches no such pattern). A record is never filtered out for want of
 * memory: it goes back instead. */
static enum verdict passes(struct faas_mapping *m, const struct map_conf *c, json_t *rec)
{
	const char *key = m->src->data_key;
	json_t *base = rec, *view, *value, *data = NULL;
	bool ok = false, inside = false, usable = true;
	json_error_t e;
	size_t i;

	if (!c->nfilters)
		return PASS;
	if (m->src->filter_root[0] && json_is_object(json_object_get(rec, m->src->filter_root)))
		base = json_object_get(rec, m->src->filter_root);
	view = base;
	for (i = 0; key[0] && i < c->nfilters; i++)
		inside |= json_is_object(json_object_get(c->filters[i], key));
	value = key[0] ? json_object_get(base, key) : NULL;
	if (inside && json_is_string(value)) {
		const char *text = json_string_value(value);
		unsigned char *raw = NULL;
		size_t len = strlen(text);
		if (m->src->ops.data_base64) { /* a stream's data: base64 of the payload */
			bool valid = strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			                          "0123456789+/=") == len;
			raw = faas__base64_decode(text, &len);
			if (!raw && valid)
				return NO_MEMORY;
			text = (const char *)raw;
		}
		memset(&e, 0, sizeof(e));
		data = text ? json_loadb(text, len, JSON_DECODE_ANY, &e) : NULL;
		faas__free(raw);
		if (!data && text && faas__json_oom(&e))
			return NO_MEMORY;
		usable = data != NULL; /* a data pattern against plain text: no match */
		if (data) {
			view = json_copy(base); /* shallow: only the data key changes */
			if (!view || json_object_set_new(view, key, data) != 0) {
				if (!view)
					json_decref(data);
				json_decref(view);
				return NO_MEMORY;
			}
		}
	}
	for (i = 0; i < c->nfilters && !ok; i++) {
		json_t *p = c->filters[i];
		if (!key[0] || !json_is_object(json_object_get(p, key)))
			ok = faas__filter_match(p, base); /* the data key, if named, as it is */
		else if (usable)
			ok = faas__filter_match(p, view);
	}
	if (view != base)
		json_decref(view);
	return ok ? PASS : FILTERED;
}

/* ---- batches ------------------------------------------------------------------------ */

static void mapping_unref(struct faas_mapping *m);
static void wake_housekeeping(struct faas_mapping *m);

/* Under m->lock: whether a batch of @p group is in flight. */
static bool group_out(const struct faas_mapping *m, uint32_t group)
{
	size_t i;

	for (i = 0; group && i < m->ngroups_out; i++)
		if (m->groups_out[i] == group)
			return true;
	return false;
}

/* Under m->lock: a batch ended (or never went): its slot and its group. */
static void batch_gone(struct faas_mapping *m, const struct batch *b)
{
	size_t i;

	m->inflight--;
	for (i = 0; b->group && i < m->ngroups_out; i++)
		if (m->groups_out[i] == b->group) {
			m->groups_out[i] = m->groups_out[--m->ngroups_out];
			break;
		}
}

static void conf_clear(struct map_conf *c)
{
	size_t i;

	for (i = 0; i < c->nfilters; i++)
		json_decref(c->filters[i]);
	c->nfilters = 0;
}

static uint64_t ms_ns(const faas_runtime_t *rt, double ms)
{
	double ns = ms * rt->delay_scale * 1e6;

	return ns < 1.0 ? 1 : (uint64_t)ns;
}

/* Under m->lock: the next throttle or error backs off 1 s, 2 s ... 5 min. */
static void back_off(struct faas_mapping *m, uint64_t now, const char *why)
{
	double ms = fmin(1000.0 * ldexp(1.0, (int)(m->backoffs < 20 ? m->backoffs : 20)), 300000.0);

	m->backoffs++;
	m->not_before_ns = now + ms_ns(m->rt, ms);
	m->last_result = why;
}

static bool item_listed(json_t *failures, const char *id)
{
	size_t i;

	for (i = 0; i < json_array_size(failures); i++)
		if (!strcmp(json_string_value(json_object_get(json_array_get(failures, i),
		                                              "itemIdentifier")),
		            id))
			return true;
	return false;
}

/*
 * Lambda's partial batch response: NULL = full success, the response
 * itself (as failures) = full failure is signalled through *all_failed.
 */
static json_t *parse_failures(json_t *resp, const struct batch *b, bool *all_failed)
{
	json_t *list, *item;
	size_t i, j;

	*all_failed = false;
	if (!resp || json_is_null(resp))
		return NULL;
	if (!json_is_object(resp)) {
		*all_failed = true;
		return NULL;
	}
	list = json_object_get(resp, "batchItemFailures");
	if (!list || json_is_null(list) || (json_is_array(list) && json_array_size(list) == 0))
		return NULL;
	if (!json_is_array(list)) {
		*all_failed = true;
		return NULL;
	}
	json_array_foreach(list, i, item) {
		const char *id = json_string_value(json_object_get(item, "itemIdentifier"));
		bool known = false;
		if (!json_is_object(item) || !id || !id[0]) {
			*all_failed = true;
			return NULL;
		}
		for (j = 0; j < b->n && !known; j++)
			known = strcmp(b->recs[j].id, id) == 0;
		if (!known) {
			*all_failed = true;
			return NULL;
		}
	}
	return list;
}

static void step(struct faas_mapping *m);

void faas__batch_done(struct faas_inv *inv, bool abandoned)
{
	struct batch *b = inv->done_arg;
	struct faas_mapping *m = b->m;
	struct faas_maps *ms = atomic_load(&m->rt->maps);
	bool ok = !abandoned && inv->outcome == FAAS_OUT_SUCCESS, all_failed = false;
	json_t *failures = NULL;
	uint64_t nok = 0, nfail = 0;
	size_t i;

	pthread_mutex_lock(&ms->lock);
	if (b->prev)
		b->prev->next = b->next;
	else
		ms->running = b->next;
	if (b->next)
		b->next->prev = b->prev;
	pthread_mutex_unlock(&ms->lock);
	if (ok && b->rbif)
		failures = parse_failures(inv->response, b, &all_failed);
	if (all_failed)
		ok = false;
	for (i = 0; i < b->n; i++) {
		bool good = ok && !(failures && item_listed(failures, b->recs[i].id));
		settle(m, &b->recs[i], good ? m->src->ops.ack : m->src->ops.nack);
		if (good)
			nok++;
		else
			nfail++;
	}
	faas__inv_unref(inv); /* the running list's reference */
	pthread_mutex_lock(&m->lock);
	batch_gone(m, b);
	m->succeeded += nok;
	m->failed += nfail;
	m->last_result = nfail ? "PROBLEM: Function call failed" : "OK";
	pthread_mutex_unlock(&m->lock);
	faas__free(b);
	step(m); /* a slot is free: the next batch goes from here */
	wake_housekeeping(m);
	mapping_unref(m);
}

/* The highest lineage among the records, as the batch's request chain. */
static uint32_t batch_lineage(const struct batch *b)
{
	uint32_t l = 0;
	size_t i;

	for (i = 0; i < b->n; i++)
		if (b->recs[i].lineage > l)
			l = b->recs[i].lineage;
	return l + 1;
}

static json_t *batch_event(struct batch *b)
{
	json_t *arr = json_array(), *ev;
	size_t i;

	if (!arr)
		return NULL;
	for (i = 0; i < b->n; i++)
		if (json_array_append(arr, b->recs[i].record) != 0) {
			json_decref(arr);
			return NULL;
		}
	ev = json_pack("{s:o}", "Records", arr);
	return ev;
}

/* Resolve, admit and submit one batch; false: its records were released
 * (throttled, gone, no memory) and the mapping backs off. */
static bool send_batch(struct faas_mapping *m, struct batch *b, uint64_t now)
{
	faas_runtime_t *rt = m->rt;
	struct faas_maps *ms = atomic_load(&rt->maps);
	struct faas_resolved res = { NULL, 0 };
	struct faas_pool *pool = NULL;
	struct faas_pc *pc = NULL;
	const char *reason = NULL, *why = "PROBLEM: Function not found";
	char rid[FAAS_REQUEST_ID_SIZE];
	struct faas_ident id;
	uint32_t lineage = batch_lineage(b);
	struct faas_inv *inv;
	json_t *event = NULL;
	bool closed;
	int rc;

	pthread_mutex_lock(&ms->lock);
	closed = ms->closed; /* shutdown began while this step ran */
	pthread_mutex_unlock(&ms->lock);
	if (closed) {
		why = "PROBLEM: The runtime shut down";
		goto refused;
	}

	if (faas__ident_parse(rt, m->function, NULL, FAAS_IDENT_INVOKE, &id, NULL) != 0 ||
	    faas__registry_resolve(rt, &id, NULL, true, &res, NULL) != 0)
		goto refused;
	if (lineage > FAAS_RECURSION_LIMIT && !res.version->allow_recursion) {
		/* DESIGN 9.13: the loop stops here; the records are dropped, counted */
		faas__resolved_release(&res);
		for (size_t i = 0; i < b->n; i++)
			settle(m, &b->recs[i], m->src->ops.ack);
		pthread_mutex_lock(&m->lock);
		m->dropped += b->n;
		batch_gone(m, b);
		m->last_result = "PROBLEM: Recursive invocation stopped";
		pthread_mutex_unlock(&m->lock);
		faas__free(b);
		return false;
	}
	why = "PROBLEM: Function throttled";
	if ((rc = faas__admit_now(rt, res.version, &pool, &pc, &reason)) != 0) {
		faas__metrics_throttle(res.version);
		if (FAAS_UNLIKELY(faas__tel_wants(rt, FAAS_TELEMETRY_FAAS))) {
			char label[12];
			faas__version_label(res.executed, label);
			faas__tel_throttle(rt, res.version->fn->name, label, id.qual, id.qual_len, reason);
		}
		faas__resolved_release(&res);
		goto refused;
	}
	why = "PROBLEM: Out of memory";
	faas__request_id(rid);
	if (!(event = batch_event(b)) ||
	    !(b->inv = faas__inv_async(rt, res.version, id.qual, id.qual ? id.qual_len : 0, event, rid,
	                               lineage))) {
		json_decref(event);
		faas__conc_release(rt, pool);
		faas__pc_unref(pc);
		faas__resolved_release(&res);
		goto refused;
	}
	json_decref(event); /* the invocation holds it */
	faas__resolved_release(&res);
	inv = b->inv; /* once b is on the running list, a step may end it and free it */
	inv->pool = pool;
	inv->pc = pc;
	inv->done_cb = faas__batch_done;
	inv->done_arg = b;
	pthread_mutex_lock(&m->lock);
	b->rbif = m->conf.rbif; /* the response is read as the batch was sent */
	pthread_mutex_unlock(&m->lock);
	atomic_fetch_add(&m->refs, 1); /* the batch's */
	pthread_mutex_lock(&ms->lock);
	b->prev = NULL;
	b->next = ms->running;
	if (ms->running)
		ms->running->prev = b;
	ms->running = b;
	pthread_mutex_unlock(&ms->lock);
	faas__hk_kick(rt); /* the next step watches its deadline */
	pthread_mutex_lock(&m->lock);
	m->batches++; /* before it runs: a handler may look at the count */
	m->backoffs = 0;
	pthread_mutex_unlock(&m->lock);
	if ((rc = faas__submit(inv)) != 0) { /* no thread: as a throttle */
		int expected = FAAS_INV_RUNNING;
		faas__conc_release(rt, inv->pool);
		faas__pc_unref(inv->pc);
		inv->pc = NULL;
		if (atomic_compare_exchange_strong(&inv->state, &expected, FAAS_INV_DONE)) {
			pthread_mutex_lock(&ms->lock);
			if (b->prev)
				b->prev->next = b->next;
			else
				ms->running = b->next;
			if (b->next)
				b->next->prev = b->prev;
			pthread_mutex_unlock(&ms->lock);
			faas__inv_unref(inv);
			faas__inv_unref(inv);
			mapping_unref(m); /* never the last: the caller holds one */
			pthread_mutex_lock(&m->lock);
			m->batches--;
			pthread_mutex_unlock(&m->lock);
			why = "PROBLEM: Could not start a worker";
			goto refused;
		}
		faas__inv_unref(inv); /* a step timed it out meanwhile: the batch is its */
		return false;
	}
	return true;

refused:
	pthread_mutex_lock(&m->lock);
	batch_gone(m, b);
	if (reason && m->inflight > 0) {
		/* its own batches fill the function: the records wait for the
		 * next one to end (which steps again), in front, still hidden.
		 * Only the stepping thread changes `pending`: it has the room. */
		memmove(m->pending + b->n, m->pending, m->npending * sizeof(m->pending[0]));
		memcpy(m->pending, b->recs, b->n * sizeof(b->recs[0]));
		m->npending += b->n;
		for (size_t i = 0; i < b->n; i++)
			m->pending_bytes += b->recs[i].size + 1;
		m->throttles++;
		m->last_result = why;
		pthread_mutex_unlock(&m->lock);
		faas__free(b);
		return false;
	}
	m->released += b->n;
	if (reason)
		m->throttles++;
	back_off(m, now, why);
	pthread_mutex_unlock(&m->lock);
	release_all(m, b->recs, b->n);
	faas__free(b);
	return false;
}

/* ---- stepping ---------------------------------------------------------------------- */

/* Under m->lock: take the first records that fit one invocation, all of
 * one group (a stream's lane: in order, never mixed) that has no batch in
 * flight. NULL: none may go now (*none), or no memory. */
static struct batch *take_batch(struct faas_mapping *m, uint64_t now, bool *none)
{
	size_t n = 0, bytes = EVENT_OVERHEAD, i, k = 0, start;
	uint32_t group;
	struct batch *b;

	for (start = 0; start < m->npending && group_out(m, m->pending[start].group); start++)
		;
	if ((*none = start == m->npending))
		return NULL;
	group = m->pending[start].group;
	if (group && m->ngroups_out == m->cap_groups_out) {
		size_t cap = m->cap_groups_out ? m->cap_groups_out * 2 : 8;
		uint32_t *g = faas__reallocarray(m->groups_out, cap, sizeof(*g));
		if (!g)
			return NULL;
		m->groups_out = g;
		m->cap_groups_out = cap;
	}
	for (i = start; i < m->npending && n < m->conf.batch_size; i++) {
		if (m->pending[i].group != group)
			continue;
		if (n > 0 && bytes + m->pending[i].size + 1 > FAAS_MAPPING_BATCH_BYTES_MAX)
			break;
		bytes += m->pending[i].size + 1;
		n++;
	}
	if (!(b = faas__malloc(sizeof(*b) + n * sizeof(b->recs[0]))))
		return NULL;
	memset(b, 0, sizeof(*b));
	b->m = m;
	b->n = n;
	b->group = group;
	if (group)
		m->groups_out[m->ngroups_out++] = group;
	for (i = 0; i < m->npending; i++) { /* the batch's out, the rest closes up in order */
		if (m->pending[i].group == group && k < n)
			b->recs[k++] = m->pending[i];
		else
			m->pending[i - k] = m->pending[i];
	}
	m->npending -= n;
	m->pending_bytes -= bytes - EVENT_OVERHEAD;
	(void)now; /* what is left keeps its window: it came as early, and goes next */
	m->inflight++;
	return b;
}

/* Under m->lock: whether the gathered records should go now. */
static bool batch_ready(const struct faas_mapping *m, uint64_t now)
{
	if (!m->npending)
		return false;
	return m->npending >= m->conf.batch_size ||
	       m->pending_bytes + EVENT_OVERHEAD >= FAAS_MAPPING_BATCH_BYTES_MAX ||
	       m->conf.window_ms == 0 ||
	       now >= m->window_start_ns + (uint64_t)m->conf.window_ms * 1000000u;
}

/* Under m->lock: room for @p need records in pending. */
static bool pending_reserve(struct faas_mapping *m, size_t need)
{
	size_t cap = m->cap_pending ? m->cap_pending : 16;
	faas_source_record_t *p;

	if (need <= m->cap_pending)
		return true;
	while (cap < need)
		cap *= 2;
	if (!(p = faas__reallocarray(m->pending, cap, sizeof(*p))))
		return false;
	m->pending = p;
	m->cap_pending = cap;
	return true;
}

/* The filters in force, referenced (update may swap them meanwhile). */
static size_t filters_get(struct faas_mapping *m, struct map_conf *c)
{
	size_t i;

	pthread_mutex_lock(&m->lock);
	c->nfilters = m->conf.nfilters;
	for (i = 0; i < c->nfilters; i++)
		c->filters[i] = json_incref(m->conf.filters[i]);
	pthread_mutex_unlock(&m->lock);
	return c->nfilters;
}

/* How long a record may be held before it is settled: its window, a wait
 * for one of the mapping's own batches to end (a throttle while they fill
 * the function), and its own batch: window + 2 x the function's timeout.
 * The source hides it at least that long. */
static uint32_t hold_ms(struct faas_mapping *m)
{
	struct faas_resolved res = { NULL, 0 };
	struct faas_ident id;
	uint32_t window, timeout = 0;

	pthread_mutex_lock(&m->lock);
	window = m->conf.window_ms;
	pthread_mutex_unlock(&m->lock);
	if (faas__ident_parse(m->rt, m->function, NULL, FAAS_IDENT_INVOKE, &id, NULL) == 0 &&
	    faas__registry_resolve(m->rt, &id, NULL, false, &res, NULL) == 0) {
		timeout = res.version->timeout_ms;
		faas__resolved_release(&res);
	}
	return window + 2 * timeout;
}

/* Receive up to @p room records into pending; false when none came. */
static bool gather(struct faas_mapping *m, uint32_t room, uint64_t now)
{
	faas_source_record_t *got = faas__calloc(room, sizeof(*got));
	struct map_conf c;
	size_t n = 0, i, kept = 0;
	int rc;

	if (!got)
		return false;
	rc = m->src->ops.receive(m->src->ud, room, hold_ms(m), got, &n);
	if (n > room)
		n = room;
	filters_get(m, &c);
	for (i = 0; i < n; i++) {
		enum verdict v = passes(m, &c, got[i].record);
		if (v != PASS) {
			settle(m, &got[i],
			       v == FILTERED ? (m->src->ops.skip ? m->src->ops.skip : m->src->ops.ack)
			                     : m->src->ops.release);
			pthread_mutex_lock(&m->lock);
			if (v == FILTERED)
				m->filtered++;
			else
				m->released++;
			pthread_mutex_unlock(&m->lock);
			continue;
		}
		got[kept++] = got[i];
	}
	conf_clear(&c);
	pthread_mutex_lock(&m->lock);
	m->received += n;
	m->progress |= n > 0;
	if (rc != 0 && n == 0)
		back_off(m, now, "PROBLEM: The source could not be read");
	if (kept && !pending_reserve(m, m->npending + kept)) {
		m->released += kept;
		back_off(m, now, "PROBLEM: Out of memory");
		pthread_mutex_unlock(&m->lock);
		release_all(m, got, kept);
		faas__free(got);
		return false;
	}
	if (kept && !m->npending)
		m->window_start_ns = now;
	for (i = 0; i < kept; i++) {
		m->pending[m->npending++] = got[i];
		m->pending_bytes += got[i].size + 1;
	}
	pthread_mutex_unlock(&m->lock);
	faas__free(got);
	return n > 0;
}

/* One round; false when there is nothing more to do now. */
static bool step_once(struct faas_mapping *m, struct faas_maps *ms, uint64_t now)
{
	faas_source_record_t *drop = NULL;
	struct batch *b = NULL;
	size_t ndrop = 0;
	uint32_t room = 0;
	bool closed, got = false, none = false;

	pthread_mutex_lock(&ms->lock);
	closed = ms->closed;
	pthread_mutex_unlock(&ms->lock);
	pthread_mutex_lock(&m->lock);
	if (closed || m->state != MAP_ENABLED) { /* gathered records go back */
		drop = m->pending;
		ndrop = m->npending;
		m->released += ndrop;
		m->pending = NULL;
		m->npending = m->cap_pending = m->pending_bytes = 0;
		if (m->state == MAP_DISABLING && !m->inflight)
			m->state = MAP_DISABLED;
		pthread_mutex_unlock(&m->lock);
		release_all(m, drop, ndrop);
		faas__free(drop);
		return false;
	}
	if (now < m->not_before_ns) {
		pthread_mutex_unlock(&m->lock);
		return false;
	}
	if (m->npending < m->conf.batch_size &&
	    m->pending_bytes + EVENT_OVERHEAD < FAAS_MAPPING_BATCH_BYTES_MAX)
		room = m->conf.batch_size - (uint32_t)m->npending;
	pthread_mutex_unlock(&m->lock);
	if (room)
		got = gather(m, room, now);
	pthread_mutex_lock(&m->lock);
	if (batch_ready(m, now) && (!m->conf.max_conc || m->inflight < m->conf.max_conc) &&
	    !(b = take_batch(m, now, &none)) && !none) {
		/* no memory for the batch: records must not wait in pending past
		 * their visibility (they would come twice); back to the source */
		drop = m->pending;
		ndrop = m->npending;
		m->released += ndrop;
		m->pending = NULL;
		m->npending = m->cap_pending = m->pending_bytes = 0;
		back_off(m, now, "PROBLEM: Out of memory");
	}
	pthread_mutex_unlock(&m->lock);
	if (drop) {
		release_all(m, drop, ndrop);
		faas__free(drop);
	}
	(void)got;
	return b && send_batch(m, b, now); /* refused: no more tries in this step */
}

/* Steps from elsewhere only wake a blocking source's poll thread (receive
 * would block the housekeeping thread or a worker). */
static bool hand_to_poller(struct faas_mapping *m)
{
	if (!m->polled || pthread_equal(pthread_self(), m->poll_tid))
		return false;
	pthread_mutex_lock(&m->lock);
	m->again = true;
	pthread_cond_signal(&m->poll_cond);
	pthread_mutex_unlock(&m->lock);
	return true;
}

static void step(struct faas_mapping *m)
{
	struct faas_maps *ms = atomic_load(&m->rt->maps);
	bool more;

	if (hand_to_poller(m))
		return;
	pthread_mutex_lock(&m->lock);
	if (m->stepping) {
		m->again = true;
		pthread_mutex_unlock(&m->lock);
		return;
	}
	m->stepping = true;
	do {
		m->again = false;
		pthread_mutex_unlock(&m->lock);
		do
			more = step_once(m, ms, faas__clock_mono_ns(&m->rt->clock));
		while (more);
		pthread_mutex_lock(&m->lock);
	} while (m->again);
	m->stepping = false;
	pthread_mutex_unlock(&m->lock);
}

/* Batches past their deadline end as failures (timeouts). */
static void expire_batches(struct faas_maps *ms, uint64_t now)
{
	struct faas_inv *late[16];
	struct batch *b;
	size_t n, i;

	do {
		n = 0;
		pthread_mutex_lock(&ms->lock);
		for (b = ms->running; b && n < 16; b = b->next)
			if (atomic_load(&b->inv->deadline_ns) <= now &&
			    atomic_load(&b->inv->state) == FAAS_INV_RUNNING) {
				atomic_fetch_add(&b->inv->refs, 1);
				late[n++] = b->inv;
			}
		pthread_mutex_unlock(&ms->lock);
		for (i = 0; i < n; i++) {
			int expected = FAAS_INV_RUNNING;
			if (atomic_compare_exchange_strong(&late[i]->state, &expected, FAAS_INV_ABANDONED))
				faas__batch_done(late[i], true);
			faas__inv_unref(late[i]);
		}
	} while (n == 16);
}

/* A reference on every mapping of the list, for stepping them unlocked. */
static struct faas_mapping **snapshot(struct faas_maps *ms, size_t *n)
{
	struct faas_mapping *m, **all;
	size_t k = 0, i = 0;

	pthread_mutex_lock(&ms->lock);
	for (m = ms->list; m; m = m->next)
		k++;
	all = k ? faas__calloc(k, sizeof(*all)) : NULL;
	for (m = ms->list; all && m; m = m->next) {
		atomic_fetch_add(&m->refs, 1);
		all[i++] = m;
	}
	pthread_mutex_unlock(&ms->lock);
	*n = i;
	return all;
}

/* Under m->lock: when this mapping must be stepped again. */
static uint64_t wake_of(const struct faas_mapping *m, uint64_t now, bool real)
{
	uint64_t next = UINT64_MAX;

	if (m->state != MAP_ENABLED)
		return next;
	if (m->not_before_ns > now)
		return m->not_before_ns;
	if (m->npending && m->conf.window_ms)
		next = m->window_start_ns + (uint64_t)m->conf.window_ms * 1000000u;
	if (next <= now) /* ready, held back by batches in flight: their ends step it */
		next = UINT64_MAX;
	if (real) { /* a quiet source is polled now and then */
		uint64_t poll = now + (uint64_t)m->conf.poll_ms * 1000000u;
		if (poll < next)
			next = poll;
	}
	return next;
}

uint64_t faas__mappings_step(faas_runtime_t *rt)
{
	struct faas_maps *ms = atomic_load(&rt->maps);
	struct faas_mapping **all;
	uint64_t now, next = UINT64_MAX;
	bool real = rt->clock.kind != FAAS_CLOCK_VIRTUAL, moved;
	struct batch *b;
	size_t n, i;

	if (!ms)
		return UINT64_MAX;
	atomic_store(&ms->kicked, false);
	now = faas__clock_mono_ns(&rt->clock);
	expire_batches(ms, now);
	pthread_mutex_lock(&ms->lock);
	/* a virtual clock steps mappings only when it moves (deterministic tests) */
	moved = real || now != ms->stepped_ns;
	ms->stepped_ns = now;
	pthread_mutex_unlock(&ms->lock);
	all = moved ? snapshot(ms, &n) : NULL;
	if (!all)
		n = 0;
	for (i = 0; i < n; i++) {
		uint64_t w;
		step(all[i]);
		pthread_mutex_lock(&all[i]->lock);
		w = wake_of(all[i], now, real);
		pthread_mutex_unlock(&all[i]->lock);
		if (w < next)
			next = w;
		mapping_unref(all[i]);
	}
	faas__free(all);
	pthread_mutex_lock(&ms->lock);
	for (b = ms->running; b; b = b->next)
		if (atomic_load(&b->inv->deadline_ns) < next)
			next = atomic_load(&b->inv->deadline_ns);
	pthread_mutex_unlock(&ms->lock);
	atomic_store(&ms->planned_ns, next);
	return next;
}

/* A step off the housekeeping thread may need it earlier than it planned
 * (a window opened, a backoff began): wake it then. */
static void wake_housekeeping(struct faas_mapping *m)
{
	struct faas_maps *ms = atomic_load(&m->rt->maps);
	uint64_t now = faas__clock_mono_ns(&m->rt->clock), w;

	pthread_mutex_lock(&m->lock);
	w = wake_of(m, now, m->rt->clock.kind != FAAS_CLOCK_VIRTUAL);
	pthread_mutex_unlock(&m->lock);
	if (w < atomic_load(&ms->planned_ns))
		faas__hk_kick(m->rt);
}

bool faas__mappings_busy(faas_runtime_t *rt)
{
	struct faas_maps *ms = atomic_load(&rt->maps);
	struct faas_mapping **all;
	bool busy;
	size_t n, i;

	if (!ms)
		return false;
	pthread_mutex_lock(&ms->lock);
	busy = ms->running != NULL;
	pthread_mutex_unlock(&ms->lock);
	all = busy ? NULL : snapshot(ms, &n); /* one lock at a time */
	for (i = 0; all && i < n; i++) {
		pthread_mutex_lock(&all[i]->lock);
		busy |= (all[i]->stepping && !all[i]->polled) || all[i]->inflight > 0;
		pthread_mutex_unlock(&all[i]->lock);
		mapping_unref(all[i]);
	}
	faas__free(all);
	return busy || atomic_load(&ms->kicked);
}

/* ---- a blocking source's poll thread ---------------------------------------------------- */

static void *poll_main(void *arg)
{
	struct faas_mapping *m = arg;
	struct timespec ts;
	uint64_t until;

	faas__current_rt = m->rt; /* it settles records like a runtime thread */
	for (;;) {
		pthread_mutex_lock(&m->lock);
		if (m->poll_stop)
			break;
		m->progress = false;
		pthread_mutex_unlock(&m->lock);
		step(m); /* receive may block here: this thread is the source's */
		pthread_mutex_lock(&m->lock);
		if (m->poll_stop)
			break;
		if (!m->progress && !m->again) { /* nothing came: wait a poll interval (real time) */
			until = faas__real_mono_ns() + (uint64_t)m->conf.poll_ms * 1000000u;
			ts.tv_sec = (time_t)(until / 1000000000u);
			ts.tv_nsec = (long)(until % 1000000000u);
			pthread_cond_timedwait(&m->poll_cond, &m->lock, &ts);
		}
		m->again = false;
		pthread_mutex_unlock(&m->lock);
	}
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

static int poller_start(struct faas_mapping *m)
{
	pthread_condattr_t a;
	int rc;

	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&m->poll_cond, &a);
	pthread_condattr_destroy(&a);
	m->polled = true;
	if ((rc = faas__thread_create(&m->poll_tid, "poll", 0, poll_main, m)) != 0) {
		m->polled = false;
		pthread_cond_destroy(&m->poll_cond);
	}
	return rc;
}

/* Stop and join it (it finishes the receive it is in). */
static void poller_stop(struct faas_mapping *m)
{
	if (!m->polled)
		return;
	pthread_mutex_lock(&m->lock);
	if (m->poll_stop) {
		pthread_mutex_unlock(&m->lock);
		return;
	}
	m->poll_stop = true;
	pthread_cond_signal(&m->poll_cond);
	pthread_mutex_unlock(&m->lock);
	pthread_join(m->poll_tid, NULL);
}

/* ---- lifecycle ------------------------------------------------------------------------ */

static void mapping_unref(struct faas_mapping *m)
{
	if (!m || atomic_fetch_sub(&m->refs, 1) != 1)
		return;
	poller_stop(m); /* normally stopped already: by delete or shutdown */
	if (m->polled)
		pthread_cond_destroy(&m->poll_cond);
	release_all(m, m->pending, m->npending); /* nothing gathered is lost */
	faas__free(m->pending);
	faas__free(m->groups_out);
	conf_clear(&m->conf);
	atomic_fetch_sub(&m->src->mapped, 1);
	faas_source_free(m->src);
	pthread_mutex_destroy(&m->lock);
	faas__free(m);
}

void faas__mappings_stop(faas_runtime_t *rt)
{
	struct faas_maps *ms = atomic_load(&rt->maps);
	struct faas_mapping **all;
	size_t n, i;

	if (!ms)
		return;
	pthread_mutex_lock(&ms->lock);
	ms->closed = true;
	pthread_mutex_unlock(&ms->lock);
	all = snapshot(ms, &n);
	for (i = 0; i < n; i++) { /* a closed step releases what it gathered */
		bool stepping = true;
		poller_stop(all[i]); /* a poll thread's last receive ends first */
		step(all[i]);
		while (stepping) { /* another thread's step sees `closed` on its next round */
			pthread_mutex_lock(&all[i]->lock);
			stepping = all[i]->stepping;
			pthread_mutex_unlock(&all[i]->lock);
			if (stepping)
				faas__sleep_ms(1);
		}
		mapping_unref(all[i]);
	}
	faas__free(all);
}

void faas__mappings_free(faas_runtime_t *rt)
{
	struct faas_maps *ms = atomic_exchange(&rt->maps, NULL);
	struct faas_mapping *m, *next;

	if (!ms)
		return;
	for (m = ms->list; m; m = next) {
		next = m->next;
		mapping_unref(m);
	}
	pthread_mutex_destroy(&ms->lock);
	faas__free(ms);
}

static int conf_build(const faas_source_t *src, const faas_mapping_options_t *o,
                      struct map_conf *c, faas_error_detail_t *d)
{
	size_t i;

	memset(c, 0, sizeof(*c));
	if (o->version != FAAS_MAPPING_OPTIONS_VERSION)
		return faas__fail(d, FAAS_EINVAL, "unsupported faas_mapping_options_t version %u",
		                  o->version);
	c->batch_size = o->batch_size ? o->batch_size : src->ops.ordered ? 100 : BATCH_DEFAULT;
	c->window_ms = o->max_batching_window_ms;
	c->max_conc = o->max_concurrency;
	c->poll_ms = o->poll_interval_ms ? o->poll_interval_ms : POLL_DEFAULT_MS;
	c->rbif = o->report_batch_item_failures != 0;
	if (c->batch_size > BATCH_MAX)
		return faas__fail(d, FAAS_EINVAL,
		                  "1 validation error detected: Value '%u' at 'batchSize' failed to "
		                  "satisfy constraint: Member must have value less than or equal to %u",
		                  c->batch_size, BATCH_MAX);
	if (c->window_ms > WINDOW_MAX_MS)
		return faas__fail(d, FAAS_EINVAL,
		                  "1 validation error detected: Value '%u' at "
		                  "'maximumBatchingWindowInSeconds' failed to satisfy constraint: Member "
		                  "must have value less than or equal to 300",
		                  c->window_ms / 1000u);
	if (c->batch_size > 10 && src->queue && faas_queue_is_fifo(src->queue))
		return faas__fail(d, FAAS_EINVAL,
		                  "Batch size must be between 1 and 10 for mappings over a FIFO queue");
	if (c->batch_size > 10 && c->window_ms < 1000 && !src->ops.ordered)
		return faas__fail(d, FAAS_EINVAL,
		                  "Maximum batch window in seconds must be greater than 0 if maximum "
		                  "batch size is greater than 10");
	if (c->max_conc > CONCURRENCY_MAX)
		return faas__fail(d, FAAS_EINVAL,
		                  "1 validation error detected: Value '%u' at "
		                  "'scalingConfig.maximumConcurrency' failed to satisfy constraint: "
		                  "Member must have value less than or equal to %u",
		                  c->max_conc, CONCURRENCY_MAX);
	for (i = 0; i < FAAS_MAPPING_FILTERS_MAX && o->filters[i]; i++) {
		int rc = faas__filter_compile(o->filters[i], &c->filters[i], d);
		if (rc != 0) {
			conf_clear(c);
			return rc;
		}
		c->nfilters++;
	}
	return 0;
}

int faas_mapping_create(faas_runtime_t *rt, faas_source_t *src, const char *function,
                        const faas_mapping_options_t *o, faas_mapping_t **out,
                        faas_error_detail_t *d)
{
	faas_mapping_options_t def = FAAS_MAPPING_OPTIONS_INIT;
	struct faas_resolved res = { NULL, 0 };
	faas_runtime_t *expected = NULL;
	struct faas_mapping *m;
	struct faas_maps *ms;
	struct faas_ident id;
	struct map_conf conf;
	int rc;

	if ((rc = faas__api_begin(rt, d)) != 0)
		return rc;
	if (!out)
		return faas__fail(d, FAAS_EINVAL, "out must not be NULL");
	*out = NULL;
	if (!src)
		return faas__fail(d, FAAS_EINVAL, "source must not be NULL");
	if ((rc = faas__ident_parse(rt, function, NULL, FAAS_IDENT_INVOKE, &id, d)) != 0 ||
	    (rc = faas__registry_resolve(rt, &id, NULL, false, &res, d)) != 0)
		return rc;
	faas__resolved_release(&res);
	if ((rc = conf_build(src, o ? o : &def, &conf, d)) != 0)
		return rc;
	if (!atomic_compare_exchange_strong(&src->rt, &expected, rt) && expected != rt) {
		conf_clear(&conf);
		return faas__fail(d, FAAS_EINVAL, "the source serves mappings of another runtime");
	}
	if (src->ops.ordered && !atomic_compare_exchange_strong(&src->mapped, &(int){ 0 }, 1)) {
		conf_clear(&conf);
		return faas__fail(d, FAAS_EINVAL,
		                  "a stream source keeps one mapping's positions: make one per mapping");
	}
	if (!(m = faas__calloc(1, sizeof(*m))) || !(ms = maps_of(rt, true))) {
		faas__free(m);
		conf_clear(&conf);
		if (src->ops.ordered)
			atomic_store(&src->mapped, 0);
		return faas__fail(d, FAAS_ENOMEM, NULL);
	}
	atomic_init(&m->refs, 1);
	pthread_mutex_init(&m->lock, NULL);
	m->rt = rt;
	m->conf = conf;
	m->state = o && o->start_disabled ? MAP_DISABLED : MAP_ENABLED;
	m->last_result = "No records processed";
	m->last_modified_ms = faas__clock_wall_ms(&rt->clock);
	snprintf(m->function, sizeof(m->function), "%s", function);
	faas__format_arn(rt, id.name, id.name_len, id.qual, id.qual ? id.qual_len : 0,
	                 m->function_arn, sizeof(m->function_arn));
	faas__request_id(m->uuid);
	if ((src->ops.ordered ? 0 : atomic_fetch_add(&src->mapped, 1)) == 0)
		snprintf(src->function_arn, sizeof(src->function_arn), "%s", m->function_arn);
	faas__source_ref(src);
	m->src = src;
	if (src->ops.blocking && (rc = poller_start(m)) != 0) {
		m->src = NULL;
		atomic_fetch_sub(&src->mapped, 1);
		faas_source_free(src);
		conf_clear(&m->conf);
		pthread_mutex_destroy(&m->lock);
		faas__free(m);
		return faas__fail(d, rc, rc == FAAS_ETHREAD ? "could not start the poll thread" : NULL);
	}
	pthread_mutex_lock(&ms->lock);
	m->next = ms->list;
	ms->list = m;
	pthread_mutex_unlock(&ms->lock);
	faas__mappings_kick(rt);
	*out = m;
	return 0;
}

static int mapping_begin(faas_mapping_t *m, faas_error_detail_t *d)
{
	faas__detail_reset(d);
	if (!m)
		return faas__fail(d, FAAS_EINVAL, "mapping must not be NULL");
	return faas__api_begin(m->rt, d);
}

int faas_mapping_enable(faas_mapping_t *m, int enabled, faas_error_detail_t *d)
{
	int rc;

	if ((rc = mapping_begin(m, d)) != 0)
		return rc;
	pthread_mutex_lock(&m->lock);
	if (enabled)
		m->state = MAP_ENABLED;
	else if (m->state == MAP_ENABLED)
		m->state = m->inflight || m->stepping ? MAP_DISABLING : MAP_DISABLED;
	m->not_before_ns = 0;
	m->backoffs = 0;
	m->last_modified_ms = faas__clock_wall_ms(&m->rt->clock);
	pthread_mutex_unlock(&m->lock);
	if (!enabled)
		step(m); /* gathered records go back now */
	faas__mappings_kick(m->rt);
	return 0;
}

int faas_mapping_update(faas_mapping_t *m, const faas_mapping_options_t *o, faas_error_detail_t *d)
{
	struct map_conf conf, old;
	int rc;

	if ((rc = mapping_begin(m, d)) != 0)
		return rc;
	if (!o)
		return faas__fail(d, FAAS_EINVAL, "options must not be NULL");
	if ((rc = conf_build(m->src, o, &conf, d)) != 0)
		return rc;
	pthread_mutex_lock(&m->lock);
	old = m->conf;
	m->conf = conf;
	m->last_modified_ms = faas__clock_wall_ms(&m->rt->clock);
	pthread_mutex_unlock(&m->lock);
	conf_clear(&old);
	faas__mappings_kick(m->rt);
	return 0;
}

int faas_mapping_delete(faas_mapping_t *m, faas_error_detail_t *d)
{
	struct faas_maps *ms;
	struct faas_mapping **pp;
	int rc;

	if ((rc = mapping_begin(m, d)) != 0)
		return rc;
	ms = atomic_load(&m->rt->maps);
	pthread_mutex_lock(&ms->lock);
	for (pp = &ms->list; *pp && *pp != m; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = m->next;
	pthread_mutex_unlock(&ms->lock);
	pthread_mutex_lock(&m->lock);
	m->state = MAP_DELETING;
	pthread_mutex_unlock(&m->lock);
	poller_stop(m);
	step(m); /* gathered records go back */
	mapping_unref(m); /* the list's: batches in flight keep it until they end */
	return 0;
}

const char *faas_mapping_state(const faas_mapping_t *m)
{
	const char *s;

	if (!m)
		return NULL;
	pthread_mutex_lock((pthread_mutex_t *)&m->lock);
	s = state_names[m->state];
	pthread_mutex_unlock((pthread_mutex_t *)&m->lock);
	return s;
}

const char *faas_mapping_uuid(const faas_mapping_t *m)
{
	return m ? m->uuid : NULL;
}

static json_t *filters_json(const struct map_conf *c)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; arr && i < c->nfilters; i++) {
		char *text = json_dumps(c->filters[i], JSON_COMPACT);
		json_array_append_new(arr, json_pack("{s:s}", "Pattern", text ? text : ""));
		faas__json_text_free(text);
	}
	return json_pack("{s:o}", "Filters", arr);
}

int faas_mapping_describe(faas_mapping_t *m, json_t **out, faas_error_detail_t *d)
{
	char modified[40];
	json_t *o;
	int rc;

	faas__detail_reset(d);
	if (!m || !out)
		return faas__fail(d, FAAS_EINVAL, "mapping and out must not be NULL");
	*out = NULL;
	(void)rc;
	pthread_mutex_lock(&m->lock);
	faas__format_last_modified(m->last_modified_ms, modified, sizeof(modified));
	o = json_pack("{s:s,s:s,s:s,s:i,s:i,s:o,s:o,s:o,s:s,s:s,s:s,s:s,s:{s:I,s:I,s:I,s:I,s:I,s:I,"
	              "s:I,s:I,s:i}}",
	              "UUID", m->uuid, "EventSourceArn", m->src->arn, "FunctionArn", m->function_arn,
	              "BatchSize", (int)m->conf.batch_size, "MaximumBatchingWindowInSeconds",
	              (int)(m->conf.window_ms / 1000u), "FunctionResponseTypes",
	              m->conf.rbif ? json_pack("[s]", "ReportBatchItemFailures") : json_array(),
	              "FilterCriteria", filters_json(&m->conf), "ScalingConfig",
	              m->conf.max_conc ? json_pack("{s:i}", "MaximumConcurrency", (int)m->conf.max_conc)
	                               : json_object(),
	              "State", state_names[m->state], "StateTransitionReason", "USER_INITIATED",
	              "LastModified", modified, "LastProcessingResult", m->last_result, "Metrics",
	              "RecordsReceived", (json_int_t)m->received, "RecordsFiltered",
	              (json_int_t)m->filtered, "RecordsSucceeded", (json_int_t)m->succeeded,
	              "RecordsFailed", (json_int_t)m->failed, "RecordsReleased",
	              (json_int_t)m->released, "RecordsDropped", (json_int_t)m->dropped, "Batches",
	              (json_int_t)m->batches, "Throttles", (json_int_t)m->throttles, "InFlight",
	              (int)m->inflight);
	pthread_mutex_unlock(&m->lock);
	if (!o)
		return faas__fail(d, FAAS_ENOMEM, NULL);
	*out = o;
	return 0;
}
