/*
 * libfaas — external extensions (DESIGN §5, §9.1, §9.12).
 *
 * DESIGN
 * - One detached thread per external extension ("faas-ext-<name>", signals
 *   blocked, holding a core reference like a worker). It takes events from
 *   its queue (a list under `qlock`, unbounded: enqueueing never waits for
 *   the extension) and calls on_event with no library lock held.
 * - INVOKE: at invoke start the worker builds one record for the
 *   environment's INVOKE subscribers, links it in the runtime's post table
 *   (post_lock) and queues a node of it on each. `remaining` = subscribers
 *   not done + 1 for the handler. When the handler returns, the worker
 *   takes its share: if nothing else remains (or the environment must be
 *   discarded anyway) it unlinks the record and goes on as usual; otherwise
 *   the record takes over the instance, the token, the version and a
 *   reference on the invocation, the caller is answered, and the
 *   environment stays busy. faas_extension_done takes a subscriber's share;
 *   whoever unlinks the record (the last done, or housekeeping at the
 *   invocation's deadline, or shutdown) finishes it, on its own thread.
 * - SHUTDOWN: a record with one node per SHUTDOWN subscriber, queued when
 *   an environment is shut down; nothing waits for it but
 *   faas_runtime_shutdown, which stops every thread and waits up to
 *   ext_shutdown_ms for them to drain their queues and exit.
 * - Lifetime: an extension is held by the sets that contain it and by its
 *   thread. The last set lets go by asking the thread to stop; the thread
 *   delivers what is queued, then lets go; the last holder runs release.
 */
#include "ext_int.h"

#include <limits.h>
#include <stdio.h>

static void msg_unref(struct faas_ext_msg *m)
{
	if (atomic_fetch_sub(&m->refs, 1) == 1)
		faas__free(m);
}

/* A record for up to n subscribers, with its own copy of ev's strings. */
static struct faas_ext_msg *msg_new(const faas_ext_event_t *ev, faas_ext_event_type_t type, size_t n)
{
	struct faas_ext_msg *m = faas__calloc(1, sizeof(*m) + n * sizeof(m->node[0]));

	if (!m)
		return NULL;
	atomic_init(&m->refs, 1);
	m->ev = *ev;
	m->ev.event_type = type;
	snprintf(m->function_name, sizeof(m->function_name), "%s", ev->function_name ? ev->function_name : "");
	snprintf(m->function_version, sizeof(m->function_version), "%s",
	         ev->function_version ? ev->function_version : "");
	m->ev.function_name = m->function_name;
	m->ev.function_version = m->function_version;
	if (type == FAAS_EXT_EVENT_INVOKE) {
		snprintf(m->request_id, sizeof(m->request_id), "%s", ev->request_id);
		snprintf(m->arn, sizeof(m->arn), "%s", ev->invoked_function_arn);
		m->ev.request_id = m->request_id;
		m->ev.invoked_function_arn = m->arn;
	}
	return m;
}

/* Node i of m for e. */
static void msg_add(struct faas_ext_msg *m, struct faas_ext *e)
{
	struct faas_ext_node *nd = &m->node[m->n++];

	nd->ext = e;
	nd->msg = m;
}

/* Queue a node on its extension; false once its thread is stopping. */
static bool enqueue(struct faas_ext_node *nd)
{
	struct faas_ext *e = nd->ext;
	bool ok;

	pthread_mutex_lock(&e->qlock);
	ok = !e->stop;
	if (ok) {
		atomic_fetch_add(&nd->msg->refs, 1);
		atomic_fetch_add(&e->rt->ext_backlog, 1);
		nd->next = NULL;
		if (e->tail)
			e->tail->next = nd;
		else
			e->head = nd;
		e->tail = nd;
	}
	pthread_mutex_unlock(&e->qlock);
	if (ok)
		pthread_cond_signal(&e->qcond);
	return ok;
}

/* ---- the extension's thread --------------------------------------------- */

static struct faas_ext_node *next_event(struct faas_ext *e)
{
	struct faas_ext_node *nd;

	pthread_mutex_lock(&e->qlock);
	while (!e->head && !e->stop)
		pthread_cond_wait(&e->qcond, &e->qlock);
	if ((nd = e->head) != NULL && !(e->head = nd->next))
		e->tail = NULL;
	e->exited = nd == NULL;
	pthread_mutex_unlock(&e->qlock);
	return nd;
}

static void thread_exit(struct faas_ext *e)
{
	faas_runtime_t *rt = e->rt;
	struct faas_ext **pp;

	pthread_mutex_lock(&rt->ext_lock);
	for (pp = &rt->ext_live; *pp; pp = &(*pp)->next_live)
		if (*pp == e) {
			*pp = e->next_live;
			break;
		}
	pthread_mutex_unlock(&rt->ext_lock);
	faas__ext_let_go(e); /* release runs here when no set holds it any more */
	atomic_fetch_sub(&rt->ext_stopping, 1);
	atomic_fetch_sub(&rt->ext_threads, 1);
	atomic_fetch_add(&rt->ext_exit, 1);
	faas__futex_wake(&rt->ext_exit, INT_MAX);
	faas__rt_core_unref(rt);
}

static void *ext_main(void *arg)
{
	struct faas_ext *e = arg;
	struct faas_ext_node *nd;
	faas_ext_event_t ev;

	faas__current_rt = e->rt; /* a runtime thread: shutdown/free from here is refused */
	while ((nd = next_event(e)) != NULL) {
		ev = nd->msg->ev;
		ev.extension_id = e->id;
		e->cfg.on_event(&ev, e->cfg.user_data);
		msg_unref(nd->msg);
		atomic_fetch_sub(&e->rt->ext_backlog, 1);
	}
	thread_exit(e);
	return NULL;
}

int faas__extext_start(faas_runtime_t *rt, struct faas_ext *e)
{
	char name[16];
	pthread_t tid;
	int rc;

	e->rt = rt;
	if (pthread_mutex_init(&e->qlock, NULL) != 0)
		return FAAS_ENOMEM;
	if (pthread_cond_init(&e->qcond, NULL) != 0) {
		pthread_mutex_destroy(&e->qlock);
		return FAAS_ENOMEM;
	}
	snprintf(name, sizeof(name), "ext-%.6s", e->name); /* "faas-ext-" + 6 = 15 */
	atomic_fetch_add(&rt->core_refs, 1);
	atomic_fetch_add(&rt->ext_threads, 1);
	if ((rc = faas__thread_create(&tid, name, 0, ext_main, e)) != 0) {
		atomic_fetch_sub(&rt->ext_threads, 1);
		atomic_fetch_sub(&rt->core_refs, 1);
		pthread_cond_destroy(&e->qcond);
		pthread_mutex_destroy(&e->qlock);
		return rc;
	}
	pthread_detach(tid);
	e->next_live = rt->ext_live;
	rt->ext_live = e;
	return 0;
}

void faas__extext_stop(struct faas_ext *e)
{
	pthread_mutex_lock(&e->qlock);
	if (!e->stop && !e->exited)
		atomic_fetch_add(&e->rt->ext_stopping, 1); /* its exit takes it back */
	e->stop = true;
	pthread_mutex_unlock(&e->qlock);
	pthread_cond_signal(&e->qcond);
}

long faas__ext_threads_stop(faas_runtime_t *rt)
{
	uint64_t deadline = faas__real_mono_ns() + (uint64_t)rt->ext_shutdown_ms * 1000000u;
	struct faas_ext *e;
	char line[160];
	uint32_t seen;
	long left;
	int n;

	pthread_mutex_lock(&rt->ext_lock);
	for (e = rt->ext_live; e; e = e->next_live)
		faas__extext_stop(e);
	pthread_mutex_unlock(&rt->ext_lock);
	for (;;) {
		seen = atomic_load(&rt->ext_exit);
		if ((left = atomic_load(&rt->ext_threads)) == 0)
			return 0;
		if (!faas__futex_wait(&rt->ext_exit, seen, deadline))
			break;
	}
	if ((left = atomic_load(&rt->ext_threads)) == 0)
		return 0;
	n = snprintf(line, sizeof(line),
	             "EXTENSION_ERROR %ld external extension thread(s) did not finish within the %u ms "
	             "shutdown deadline: abandoned",
	             left, rt->ext_shutdown_ms);
	faas__log_sinks(rt, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
	return left;
}

/* ---- SHUTDOWN ------------------------------------------------------------- */

void faas__extext_shutdown(const struct faas_ext_set *s, const faas_ext_event_t *ev)
{
	struct faas_ext_msg *m = msg_new(ev, FAAS_EXT_EVENT_SHUTDOWN, s->ext_shutdown);
	size_t i;

	if (!m)
		return; /* no memory: this SHUTDOWN is not delivered */
	for (i = 0; i < s->n; i++) {
		const faas_extension_t *x = &s->ext[i]->cfg;
		if (x->kind == FAAS_EXT_KIND_EXTERNAL && (x->events & FAAS_EXT_SHUTDOWN))
			msg_add(m, s->ext[i]);
	}
	for (i = 0; i < m->n; i++)
		enqueue(&m->node[i]);
	msg_unref(m);
}

/* ---- INVOKE and the post-runtime phase ------------------------------------ */

/* Under post_lock. */
static void post_link(faas_runtime_t *rt, struct faas_ext_msg *m)
{
	m->prev = NULL;
	m->next = rt->posts;
	if (rt->posts)
		rt->posts->prev = m;
	rt->posts = m;
}

static void post_unlink(faas_runtime_t *rt, struct faas_ext_msg *m)
{
	if (m->prev)
		m->prev->next = m->next;
	else
		rt->posts = m->next;
	if (m->next)
		m->next->prev = m->prev;
	m->next = m->prev = NULL;
}

struct faas_ext_msg *faas__ext_post_begin(faas_runtime_t *rt, const struct faas_ext_set *s,
                                          const faas_ext_event_t *ev)
{
	struct faas_ext_msg *m;
	size_t i;

	if (!s->ext_invoke || !(m = msg_new(ev, FAAS_EXT_EVENT_INVOKE, s->ext_invoke)))
		return NULL; /* no memory: nothing waits for the extensions */
	for (i = 0; i < s->n; i++) {
		const faas_extension_t *x = &s->ext[i]->cfg;
		if (x->kind == FAAS_EXT_KIND_EXTERNAL && (x->events & FAAS_EXT_INVOKE))
			msg_add(m, s->ext[i]);
	}
	m->remaining = (int)m->n + 1;
	m->deadline_ns = UINT64_MAX;
	pthread_mutex_lock(&rt->post_lock);
	if (rt->posts_closed) {
		pthread_mutex_unlock(&rt->post_lock);
		msg_unref(m);
		return NULL;
	}
	post_link(rt, m); /* the table's reference is the creator's */
	pthread_mutex_unlock(&rt->post_lock);
	for (i = 0; i < m->n; i++) {
		if (enqueue(&m->node[i]))
			continue;
		pthread_mutex_lock(&rt->post_lock); /* stopping: it will never call done */
		m->node[i].done = true;
		m->remaining--;
		pthread_mutex_unlock(&rt->post_lock);
	}
	return m;
}

bool faas__ext_post_defer(struct faas_inv *inv, struct faas_instance *in, bool discard, bool cold,
                          uint64_t now)
{
	faas_runtime_t *rt = inv->rt;
	struct faas_ext_msg *m = inv->post;
	uint64_t deadline = atomic_load(&inv->deadline_ns);
	bool wait;

	pthread_mutex_lock(&rt->post_lock);
	wait = --m->remaining > 0 && !discard && !rt->posts_closed && now < deadline;
	if (wait) {
		m->inv = inv;
		m->in = in;
		m->cold = cold;
		m->runtime_done_ns = now;
		m->deadline_ns = deadline;
		atomic_fetch_add(&inv->refs, 1);
	} else {
		post_unlink(rt, m);
	}
	pthread_mutex_unlock(&rt->post_lock);
	inv->post = NULL; /* from here on the record may be gone */
	if (!wait) {
		msg_unref(m);
		return false;
	}
	faas__reap_hint(rt, deadline); /* housekeeping looks again at the deadline */
	return true;
}

/* Unlinked by the caller: end the phase (why < 0: the environment goes back warm). */
static void post_finish(struct faas_ext_msg *m, int why)
{
	struct faas_inv *inv = m->inv;
	uint64_t end = faas__clock_mono_ns(&inv->rt->clock);

	if (end > m->deadline_ns)
		end = m->deadline_ns; /* a timed-out phase counts up to its deadline */
	faas__inv_post_complete(inv, m->in, end > m->runtime_done_ns ? end - m->runtime_done_ns : 0,
	                        m->cold, why);
	msg_unref(m);
}

int faas_extension_done(faas_runtime_t *rt, uint32_t id, const char *request_id,
                        faas_error_detail_t *d)
{
	struct faas_ext_node *nd = NULL;
	struct faas_ext_msg *m;
	bool last = false;
	size_t i;

	faas__detail_reset(d);
	if (!rt)
		return faas__fail(d, FAAS_EINVAL, "runtime must not be NULL");
	if (!request_id)
		return faas__fail(d, FAAS_EINVAL, "request_id must not be NULL");
	/* while the runtime drains, post-runtime work is what it waits for */
	if (atomic_load(&rt->state) == FAAS_RT_SHUTDOWN)
		return faas__fail(d, FAAS_ESHUTDOWN, "the runtime is shut down");
	pthread_mutex_lock(&rt->post_lock);
	for (m = rt->posts; m && !nd; m = m->next)
		for (i = 0; i < m->n && strcmp(m->request_id, request_id) == 0; i++)
			if (m->node[i].ext->id == id && !m->node[i].done)
				nd = &m->node[i];
	if (nd) {
		m = nd->msg;
		nd->done = true;
		if ((last = --m->remaining == 0))
			post_unlink(rt, m);
	}
	pthread_mutex_unlock(&rt->post_lock);
	if (!nd)
		return faas__fail(d, FAAS_ENOTFOUND,
		                  "extension %u has no post-runtime work for request %.64s", id,
		                  request_id);
	if (last)
		post_finish(m, -1);
	return 0;
}

/* Unlink the waiting records that match; returns them as a list (next). */
static struct faas_ext_msg *take_due(faas_runtime_t *rt, uint64_t now, bool close,
                                     uint64_t *first)
{
	struct faas_ext_msg *m, *next, *due = NULL;

	*first = UINT64_MAX;
	pthread_mutex_lock(&rt->post_lock);
	rt->posts_closed |= close;
	for (m = rt->posts; m; m = next) {
		next = m->next;
		if (m->deadline_ns != UINT64_MAX && (close || m->deadline_ns <= now)) {
			post_unlink(rt, m);
			m->next = due;
			due = m;
		} else if (m->deadline_ns < *first) {
			*first = m->deadline_ns;
		}
	}
	pthread_mutex_unlock(&rt->post_lock);
	return due;
}

static void finish_all(struct faas_ext_msg *due, int why)
{
	struct faas_ext_msg *m;

	while ((m = due) != NULL) {
		due = m->next;
		post_finish(m, why);
	}
}

void faas__ext_post_expire(faas_runtime_t *rt, uint64_t now)
{
	uint64_t first;
	struct faas_ext_msg *due = take_due(rt, now, false, &first);

	if (first != UINT64_MAX)
		faas__reap_hint(rt, first);
	finish_all(due, FAAS_SHUTDOWN_TIMEOUT);
}

void faas__ext_posts_close(faas_runtime_t *rt)
{
	uint64_t first;

	finish_all(take_due(rt, 0, true, &first), FAAS_SHUTDOWN_SPINDOWN);
}

/* ---- JSON ------------------------------------------------------------------ */

static const char *reason_name(faas_shutdown_reason_t why)
{
	return why == FAAS_SHUTDOWN_TIMEOUT ? "timeout" : why == FAAS_SHUTDOWN_FAILURE ? "failure"
	                                                                               : "spindown";
}

json_t *faas_extension_event_json(const faas_ext_event_t *ev)
{
	if (!ev)
		return NULL;
	if (ev->event_type == FAAS_EXT_EVENT_INVOKE)
		return json_pack("{s:s,s:I,s:s,s:s}", "eventType", "INVOKE", "deadlineMs",
		                 (json_int_t)ev->deadline_ms, "requestId",
		                 ev->request_id ? ev->request_id : "", "invokedFunctionArn",
		                 ev->invoked_function_arn ? ev->invoked_function_arn : "");
	if (ev->event_type == FAAS_EXT_EVENT_SHUTDOWN)
		return json_pack("{s:s,s:s,s:I}", "eventType", "SHUTDOWN", "shutdownReason",
		                 reason_name(ev->shutdown_reason), "deadlineMs", (json_int_t)ev->deadline_ms);
	return NULL;
}
