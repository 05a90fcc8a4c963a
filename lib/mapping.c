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
 * - The runtime's set (`struct faas_maps`) is made with the runtime; its
 *   `count` of mappings lets a queue's send skip the wake-up when none exist.
 * - One thread steps a mapping at a time (`stepping`); another that wants
 *   to sets `again` and leaves, and the stepping thread goes round once more.
 *   So `receive` is never called concurrently for one mapping, and no
 *   library lock is held across a source call or an invocation.
 * - A batch is one invocation through the ordinary pipeline (DESIGN 9.8's
 *   continuation: faas__batch_done instead of waking a caller). Its token
 *   comes from the function's pools like any sync call, never waiting: a
 *   throttle puts the batch back in front of `pending` while the mapping's
 *   own batches are in flight (the next to end steps again), else releases
 *   the records and backs the mapping off. Batches in
 *   flight sit on the runtime's `running` list with the deadline their
 *   worker publishes; a step abandons one past it (the same CAS a sync
 *   caller uses) and settles it as a failure while the handler keeps its
 *   worker and token.
 * - Every record ends once: acked (success, filtered out), nacked (failed:
 *   the source's retry rule) or released (never sent). A mapping lives
 *   while its list entry, its handle or a batch refers to it.
 * - Shutdown (DESIGN 9.10 step 2): `closed` stops every step; gathered
 *   records are released; batches in flight settle when they end.
 * - Files: this one has the runtime's set, a blocking source's poll thread
 *   and the public calls; mapping_step.c the stepping, mapping_batch.c the
 *   batches; the shared structs are in mapping_int.h.
 */
#include "mapping_int.h"

#include <stdio.h>

#define BATCH_DEFAULT 10u
#define BATCH_MAX 10000u
#define WINDOW_MAX_MS 300000u
#define CONCURRENCY_MAX 1000u
#define POLL_DEFAULT_MS 1000u

static const char *const state_names[] = { "Enabled", "Disabling", "Disabled", "Deleting" };

/* ---- the runtime's set -------------------------------------------------------- */

int faas__mappings_init(faas_runtime_t *rt)
{
	struct faas_maps *ms = faas__calloc(1, sizeof(*ms));

	if (!ms)
		return FAAS_ENOMEM;
	pthread_mutex_init(&ms->lock, NULL);
	atomic_init(&ms->planned_ns, UINT64_MAX); /* until the first step plans */
	atomic_store(&rt->maps, ms);
	return 0;
}

void faas__mappings_kick(faas_runtime_t *rt)
{
	struct faas_maps *ms = atomic_load(&rt->maps);

	if (!ms || atomic_load_explicit(&ms->count, memory_order_relaxed) == 0)
		return; /* no mapping: a queue's send costs no wake-up */
	atomic_store(&ms->kicked, true);
	faas__hk_kick(rt);
}

void faas__mappings_deadline(faas_runtime_t *rt, uint64_t deadline)
{
	struct faas_maps *ms = atomic_load(&rt->maps);

	/* only when housekeeping would otherwise sleep past it */
	if (ms && deadline < atomic_load(&ms->planned_ns))
		faas__hk_kick(rt);
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
		faas__map_step(m); /* receive may block here: this thread is the source's */
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

void faas__map_unref(struct faas_mapping *m)
{
	if (!m || atomic_fetch_sub(&m->refs, 1) != 1)
		return;
	poller_stop(m); /* normally stopped already: by delete or shutdown */
	if (m->polled)
		pthread_cond_destroy(&m->poll_cond);
	faas__map_release_all(m, m->pending, m->npending); /* nothing gathered is lost */
	faas__free(m->pending);
	faas__free(m->groups_out);
	faas__map_conf_clear(&m->conf);
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
	all = faas__map_snapshot(ms, &n);
	for (i = 0; i < n; i++) { /* a closed step releases what it gathered */
		bool stepping = true;
		poller_stop(all[i]); /* a poll thread's last receive ends first */
		faas__map_step(all[i]);
		while (stepping) { /* another thread's step sees `closed` on its next round */
			pthread_mutex_lock(&all[i]->lock);
			stepping = all[i]->stepping;
			pthread_mutex_unlock(&all[i]->lock);
			if (stepping)
				faas__sleep_ms(1);
		}
		faas__map_unref(all[i]);
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
		faas__map_unref(m);
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
		                  (c->window_ms + 999u) / 1000u); /* 300.5 s is not '300' */
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
			faas__map_conf_clear(c);
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
	struct faas_resolved res = { NULL, 0, NULL };
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
		faas__map_conf_clear(&conf);
		return faas__fail(d, FAAS_EINVAL, "the source serves mappings of another runtime");
	}
	if (src->ops.ordered && !atomic_compare_exchange_strong(&src->mapped, &(int){ 0 }, 1)) {
		faas__map_conf_clear(&conf);
		return faas__fail(d, FAAS_EINVAL,
		                  "a stream source keeps one mapping's positions: make one per mapping");
	}
	ms = atomic_load(&rt->maps); /* made with the runtime */
	if (!(m = faas__calloc(1, sizeof(*m)))) {
		faas__free(m);
		faas__map_conf_clear(&conf);
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
		faas__map_conf_clear(&m->conf);
		pthread_mutex_destroy(&m->lock);
		faas__free(m);
		return faas__fail(d, rc, rc == FAAS_ETHREAD ? "could not start the poll thread" : NULL);
	}
	pthread_mutex_lock(&ms->lock);
	m->next = ms->list;
	ms->list = m;
	atomic_fetch_add(&ms->count, 1);
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
		faas__map_step(m); /* gathered records go back now */
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
	faas__map_conf_clear(&old);
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
	if (*pp) {
		*pp = m->next;
		atomic_fetch_sub(&ms->count, 1);
	}
	pthread_mutex_unlock(&ms->lock);
	pthread_mutex_lock(&m->lock);
	m->state = MAP_DELETING;
	pthread_mutex_unlock(&m->lock);
	poller_stop(m);
	faas__map_step(m); /* gathered records go back */
	faas__map_unref(m); /* the list's: batches in flight keep it until they end */
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
	              "s:I,s:I,s:i,s:I}}",
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
	              (int)m->inflight, "SourceErrors", (json_int_t)atomic_load(&m->src->errors));
	pthread_mutex_unlock(&m->lock);
	if (!o)
		return faas__fail(d, FAAS_ENOMEM, NULL);
	*out = o;
	return 0;
}

