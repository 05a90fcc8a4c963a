/*
 * libfaas — event source mappings: records and batches (see mapping.c's
 * DESIGN): settling records, sending a batch through admission and the
 * pipeline, and its continuation with Lambda's partial batch response rules.
 */
#include "mapping_int.h"

#include <math.h>
#include <stdio.h>

/* ---- records ---------------------------------------------------------------------- */

void faas__map_settle(struct faas_mapping *m, faas_source_record_t *r,
                   void (*op)(void *, const faas_source_record_t *))
{
	if (op)
		op(m->src->ud, r);
	json_decref(r->record);
	r->record = NULL;
}

void faas__map_release_all(struct faas_mapping *m, faas_source_record_t *recs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		faas__map_settle(m, &recs[i], m->src->ops.release);
}


/* ---- batches ------------------------------------------------------------------------ */


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

void faas__map_conf_clear(struct map_conf *c)
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
void faas__map_back_off(struct faas_mapping *m, uint64_t now, const char *why)
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


/* A failed record to a source that wants the reason (ops.fail): the
 * function's error, a timeout, or its listing in batchItemFailures (ok). */
static void fail_record(struct faas_mapping *m, const struct faas_inv *inv, bool abandoned,
                        bool ok, faas_source_record_t *r)
{
	const char *type = "ReportedBatchItemFailure", *msg = "the response listed the record";
	json_t *resp = abandoned ? NULL : inv->response;

	if (abandoned || (!ok && inv->outcome == FAAS_OUT_TIMEOUT)) {
		type = "Sandbox.Timedout";
		msg = "the function timed out";
	} else if (!ok && inv->outcome != FAAS_OUT_SUCCESS) {
		type = json_string_value(json_object_get(resp, "errorType"));
		msg = json_string_value(json_object_get(resp, "errorMessage"));
		type = type ? type : "Unhandled";
		msg = msg ? msg : "";
	} else if (!ok) {
		type = "InvalidBatchItemFailures";
		msg = "the response's batchItemFailures could not be read";
	}
	m->src->ops.fail(m->src->ud, r, type, msg);
	json_decref(r->record);
	r->record = NULL;
}

/* Off the runtime's list of batches in flight. */
static void running_remove(struct faas_maps *ms, struct batch *b)
{
	pthread_mutex_lock(&ms->lock);
	if (b->prev)
		b->prev->next = b->next;
	else
		ms->running = b->next;
	if (b->next)
		b->next->prev = b->prev;
	pthread_mutex_unlock(&ms->lock);
}

/* Under m->lock: the pending records of @p group out, in order, into a new
 * array (*out; or, with no memory, into @p spare, the ended batch's own
 * settled array of @p room, and any more stay); their count. */
static size_t take_group(struct faas_mapping *m, uint32_t group, faas_source_record_t **out,
                         faas_source_record_t *spare, size_t room)
{
	size_t i, k = 0, n = 0, want = 0;

	for (i = 0; i < m->npending; i++)
		want += m->pending[i].group == group;
	if (!want)
		return 0;
	*out = want > room ? faas__malloc(want * sizeof(**out)) : NULL;
	if (*out)
		room = want;
	else
		*out = spare;
	for (i = 0; i < m->npending; i++) {
		if (m->pending[i].group == group && n < room) {
			(*out)[n++] = m->pending[i];
			m->pending_bytes -= m->pending[i].size + 1;
		} else {
			m->pending[k++] = m->pending[i];
		}
	}
	m->npending = k;
	m->released += n;
	return n;
}

void faas__batch_done(struct faas_inv *inv, bool abandoned)
{
	struct batch *b = inv->done_arg;
	struct faas_mapping *m = b->m;
	struct faas_maps *ms = atomic_load(&m->rt->maps);
	bool ok = !abandoned && inv->outcome == FAAS_OUT_SUCCESS, all_failed = false;
	json_t *failures = NULL;
	faas_source_record_t *back = NULL;
	uint64_t nok = 0, nfail = 0;
	size_t i, behind = 0;

	running_remove(ms, b);
	if (ok && b->rbif)
		failures = parse_failures(inv->response, b, &all_failed);
	if (all_failed)
		ok = false;
	for (i = 0; i < b->n; i++) {
		bool good = ok && !(failures && item_listed(failures, b->recs[i].id));
		if (good) {
			faas__map_settle(m, &b->recs[i], m->src->ops.ack);
			nok++;
			continue;
		}
		if (m->src->ops.fail)
			fail_record(m, inv, abandoned, ok, &b->recs[i]);
		else
			faas__map_settle(m, &b->recs[i], m->src->ops.nack);
		nfail++;
	}
	faas__inv_unref(inv); /* the running list's reference */
	pthread_mutex_lock(&m->lock);
	batch_gone(m, b);
	m->succeeded += nok;
	m->failed += nfail;
	m->last_result = nfail ? "PROBLEM: Function call failed" : "OK";
	/* FIFO: what failed is visible again; the same group's later messages
	 * gathered meanwhile go back too, so none runs before the retry */
	if (nfail && b->group && m->src->fifo_groups)
		behind = take_group(m, b->group, &back, b->recs, b->n);
	pthread_mutex_unlock(&m->lock);
	if (behind)
		faas__map_release_all(m, back, behind);
	if (back != b->recs)
		faas__free(back);
	faas__free(b);
	faas__map_step(m); /* a slot is free: the next batch goes from here */
	faas__map_wake_housekeeping(m);
	faas__map_unref(m);
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
bool faas__map_send_batch(struct faas_mapping *m, struct batch *b, uint64_t now)
{
	faas_runtime_t *rt = m->rt;
	struct faas_maps *ms = atomic_load(&rt->maps);
	struct faas_resolved res = { NULL, 0, NULL };
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
			faas__map_settle(m, &b->recs[i], m->src->ops.ack);
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
	                               lineage, 0))) {
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
			running_remove(ms, b);
			faas__inv_unref(inv);
			faas__inv_unref(inv);
			faas__map_unref(m); /* never the last: the caller holds one */
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
	faas__map_back_off(m, now, why);
	pthread_mutex_unlock(&m->lock);
	faas__map_release_all(m, b->recs, b->n);
	faas__free(b);
	return false;
}

