/*
 * libfaas — event source mappings: stepping (see mapping.c's DESIGN):
 * filters, gathering records into `pending`, taking batches, one stepping
 * thread at a time, timeouts of batches in flight, and when to step next.
 */
#include "mapping_int.h"

#include <stdio.h>

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

/* ---- stepping ---------------------------------------------------------------------- */

/* Under m->lock: whether a batch of @p group is in flight. */
static bool group_out(const struct faas_mapping *m, uint32_t group)
{
	size_t i;

	for (i = 0; group && i < m->ngroups_out; i++)
		if (m->groups_out[i] == group)
			return true;
	return false;
}

/* Under m->lock: take the first records that fit one invocation, all of
 * one group (a stream's lane: in order, never mixed) that has no batch in
 * flight. NULL: none may go now (*none), or no memory. */
static struct batch *take_batch(struct faas_mapping *m, uint64_t now, bool *none)
{
	size_t n = 0, bytes = FAAS_MAP_EVENT_OVERHEAD, i, k = 0, start;
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
	m->pending_bytes -= bytes - FAAS_MAP_EVENT_OVERHEAD;
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
	       m->pending_bytes + FAAS_MAP_EVENT_OVERHEAD >= FAAS_MAPPING_BATCH_BYTES_MAX ||
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
	struct faas_resolved res = { NULL, 0, NULL };
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
			faas__map_settle(m, &got[i],
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
	faas__map_conf_clear(&c);
	pthread_mutex_lock(&m->lock);
	m->received += n;
	m->progress |= n > 0;
	if (rc != 0 && n == 0)
		faas__map_back_off(m, now, "PROBLEM: The source could not be read");
	if (kept && !pending_reserve(m, m->npending + kept)) {
		m->released += kept;
		faas__map_back_off(m, now, "PROBLEM: Out of memory");
		pthread_mutex_unlock(&m->lock);
		faas__map_release_all(m, got, kept);
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
		faas__map_release_all(m, drop, ndrop);
		faas__free(drop);
		return false;
	}
	if (now < m->not_before_ns) {
		pthread_mutex_unlock(&m->lock);
		return false;
	}
	if (m->npending < m->conf.batch_size &&
	    m->pending_bytes + FAAS_MAP_EVENT_OVERHEAD < FAAS_MAPPING_BATCH_BYTES_MAX)
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
		faas__map_back_off(m, now, "PROBLEM: Out of memory");
	}
	pthread_mutex_unlock(&m->lock);
	if (drop) {
		faas__map_release_all(m, drop, ndrop);
		faas__free(drop);
	}
	(void)got;
	return b && faas__map_send_batch(m, b, now); /* refused: no more tries in this step */
}

/* Steps from elsewhere only wake a blocking source's poll thread (receive
 * would block the housekeeping thread or a worker). */
static bool hand_to_poller(struct faas_mapping *m)
{
	if (!m->polled || pthread_equal(pthread_self(), m->poll_tid))
		return false;
	pthread_mutex_lock(&m->lock);
	if (m->poll_stop) { /* no poll thread any more: shutdown or delete steps here */
		pthread_mutex_unlock(&m->lock);
		return false;
	}
	m->again = true;
	pthread_cond_signal(&m->poll_cond);
	pthread_mutex_unlock(&m->lock);
	return true;
}

void faas__map_step(struct faas_mapping *m)
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
struct faas_mapping **faas__map_snapshot(struct faas_maps *ms, size_t *n)
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
	all = moved ? faas__map_snapshot(ms, &n) : NULL;
	if (!all)
		n = 0;
	for (i = 0; i < n; i++) {
		uint64_t w;
		faas__map_step(all[i]);
		pthread_mutex_lock(&all[i]->lock);
		w = wake_of(all[i], now, real);
		pthread_mutex_unlock(&all[i]->lock);
		if (w < next)
			next = w;
		faas__map_unref(all[i]);
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
void faas__map_wake_housekeeping(struct faas_mapping *m)
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
	all = busy ? NULL : faas__map_snapshot(ms, &n); /* one lock at a time */
	for (i = 0; all && i < n; i++) {
		pthread_mutex_lock(&all[i]->lock);
		busy |= (all[i]->stepping && !all[i]->polled) || all[i]->inflight > 0;
		pthread_mutex_unlock(&all[i]->lock);
		faas__map_unref(all[i]);
	}
	faas__free(all);
	return busy || atomic_load(&ms->kicked);
}

