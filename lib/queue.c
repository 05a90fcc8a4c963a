/*
 * libfaas — the built-in queue (SQS-like standard queue).
 *
 * DESIGN
 * - One mutex per queue guards everything below. Visible messages wait in a
 *   doubly linked list, oldest first; received ones sit in a min-heap by the
 *   time they become visible again. Each receive first returns the expired
 *   ones to the front of the list, so nothing needs a timer: visibility is
 *   checked lazily, on the runtime's clock.
 * - Every message is also in a hash table by id (delete and change
 *   visibility name it through a receipt handle "<id>.<receive number>";
 *   a handle of an older receive is refused).
 * - Redrive: at a receive, a message already received max_receive_count
 *   times moves to the dead-letter queue (same id, attributes and body; its
 *   count starts over). Moves happen after the source's lock is released,
 *   so two queues redriving to each other cannot deadlock.
 * - Queues belong to the runtime (a list under rt->queue_lock) and are
 *   freed with it; a queue holds a reference on its dead-letter queue.
 */
#include "dispatch.h"
#include "mapping_int.h"
#include "queue_fifo.h"

#include <stdio.h>

#define VISIBILITY_DEFAULT_MS 30000u
#define VISIBILITY_MAX_MS 43200000u
#define CAPACITY_DEFAULT 100000u
#define MESSAGE_MAX_DEFAULT 262144u
#define MESSAGE_MAX_LIMIT 1048576u /* SQS's largest MaximumMessageSize */
#define NAME_MAX_LEN 80
#define RECEIVE_MAX 10000u

struct qmsg {
	struct qmsg *prev, *next; /* the visible list */
	struct qmsg *hnext;       /* hash chain */
	size_t slot;              /* in the heap, while in flight */
	bool in_flight;
	uint64_t visible_at_ns;
	uint32_t receive_count;
	int64_t sent_ms, first_receive_ms;
	json_t *attrs;
	size_t len;
	uint64_t order;    /* send order in this queue: the visible list is kept in it */
	uint32_t lineage;  /* the request chain it was sent from (a handler's), else 0 */
	const char *group; /* FIFO: MessageGroupId and MessageDeduplicationId, in this */
	const char *dedup; /* block after the body; NULL otherwise */
	char id[FAAS_REQUEST_ID_SIZE];
	char body[]; /* NUL-terminated */
};

struct faas_queue {
	_Atomic long refs; /* the runtime's list + queues using it as their dead-letter queue */
	faas_runtime_t *rt;
	pthread_mutex_t lock;
	struct qmsg *head, *tail;  /* visible */
	struct qmsg **heap;        /* in flight, by visible_at_ns */
	size_t nheap, cap_heap;
	struct qmsg **buckets;     /* every message, by id */
	size_t nbuckets, count;
	size_t nvisible;
	uint32_t visibility_ms, capacity, max_bytes, max_receive;
	faas_queue_t *dlq;         /* referenced */
	struct faas_fifo *ff;      /* FIFO queues: groups in flight, deduplication ids */
	bool content_dedup;
	uint64_t next_order;
	uint64_t epoch;            /* receives so far (FIFO: a group taken in this one is open) */
	bool deleted;
	faas_queue_t *next;        /* rt->queues */
	char name[NAME_MAX_LEN + 1];
	char arn[FAAS_ARN_MAX];
};

/* ---- the table and the heap (lock held) ---------------------------------- */

static size_t bucket_of(const faas_queue_t *q, const char *id)
{
	return (size_t)faas__hash64(id, strlen(id), 0) & (q->nbuckets - 1);
}

static bool table_grow(faas_queue_t *q)
{
	size_t n = q->nbuckets ? q->nbuckets * 2 : 64, i;
	struct qmsg **b = faas__calloc(n, sizeof(*b)), *m, *next;

	if (!b)
		return false;
	for (i = 0; i < q->nbuckets; i++)
		for (m = q->buckets[i]; m; m = next) {
			size_t k = (size_t)faas__hash64(m->id, strlen(m->id), 0) & (n - 1);
			next = m->hnext;
			m->hnext = b[k];
			b[k] = m;
		}
	faas__free(q->buckets);
	q->buckets = b;
	q->nbuckets = n;
	return true;
}

static struct qmsg *table_find(const faas_queue_t *q, const char *id)
{
	struct qmsg *m;

	if (!q->nbuckets)
		return NULL;
	for (m = q->buckets[bucket_of(q, id)]; m; m = m->hnext)
		if (strcmp(m->id, id) == 0)
			return m;
	return NULL;
}

static void table_add(faas_queue_t *q, struct qmsg *m)
{
	size_t k = bucket_of(q, m->id);

	m->hnext = q->buckets[k];
	q->buckets[k] = m;
	q->count++;
}

static void table_remove(faas_queue_t *q, struct qmsg *m)
{
	struct qmsg **pp;

	for (pp = &q->buckets[bucket_of(q, m->id)]; *pp; pp = &(*pp)->hnext)
		if (*pp == m) {
			*pp = m->hnext;
			q->count--;
			return;
		}
}

static void heap_set(faas_queue_t *q, size_t i, struct qmsg *m)
{
	q->heap[i] = m;
	m->slot = i;
}

static void heap_up(faas_queue_t *q, size_t i)
{
	struct qmsg *m = q->heap[i];

	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (q->heap[p]->visible_at_ns <= m->visible_at_ns)
			break;
		heap_set(q, i, q->heap[p]);
		i = p;
	}
	heap_set(q, i, m);
}

static void heap_down(faas_queue_t *q, size_t i)
{
	struct qmsg *m = q->heap[i];

	for (;;) {
		size_t l = 2 * i + 1, c = l;
		if (l >= q->nheap)
			break;
		if (l + 1 < q->nheap && q->heap[l + 1]->visible_at_ns < q->heap[l]->visible_at_ns)
			c = l + 1;
		if (m->visible_at_ns <= q->heap[c]->visible_at_ns)
			break;
		heap_set(q, i, q->heap[c]);
		i = c;
	}
	heap_set(q, i, m);
}

static void heap_remove(faas_queue_t *q, struct qmsg *m)
{
	size_t i = m->slot;
	struct qmsg *last = q->heap[--q->nheap];

	m->in_flight = false;
	if (q->ff) /* out of flight: its group may open */
		faas__fifo_group_done(q->ff, m->group);
	if (last == m)
		return;
	heap_set(q, i, last);
	heap_down(q, i);
	heap_up(q, last->slot);
}

/* ---- the visible list (lock held) ---------------------------------------- */

static void list_push_back(faas_queue_t *q, struct qmsg *m)
{
	m->next = NULL;
	m->prev = q->tail;
	if (q->tail)
		q->tail->next = m;
	else
		q->head = m;
	q->tail = m;
	q->nvisible++;
}

static void list_push_front(faas_queue_t *q, struct qmsg *m)
{
	m->prev = NULL;
	m->next = q->head;
	if (q->head)
		q->head->prev = m;
	else
		q->tail = m;
	q->head = m;
	q->nvisible++;
}

/* Into the visible list by send order (messages coming back are mostly the
 * oldest: the walk from the front is short). */
static void list_insert_ordered(faas_queue_t *q, struct qmsg *m)
{
	struct qmsg *at;

	if (!q->tail || q->tail->order < m->order) {
		list_push_back(q, m);
		return;
	}
	for (at = q->head; at && at->order < m->order; at = at->next)
		;
	if (!at || at == q->head) {
		list_push_front(q, m);
		return;
	}
	m->prev = at->prev;
	m->next = at;
	at->prev->next = m;
	at->prev = m;
	q->nvisible++;
}

static void list_remove(faas_queue_t *q, struct qmsg *m)
{
	if (m->prev)
		m->prev->next = m->next;
	else
		q->head = m->next;
	if (m->next)
		m->next->prev = m->prev;
	else
		q->tail = m->prev;
	m->prev = m->next = NULL;
	q->nvisible--;
}

/* Messages whose visibility expired go back, in their send order. */
static void expire(faas_queue_t *q, uint64_t now)
{
	struct qmsg *m;

	while (q->nheap && q->heap[0]->visible_at_ns <= now) {
		m = q->heap[0];
		heap_remove(q, m);
		list_insert_ordered(q, m);
	}
}

static void msg_free(struct qmsg *m)
{
	json_decref(m->attrs);
	faas__free(m);
}

/* ---- lifecycle -------------------------------------------------------------- */

void faas__queue_ref(faas_queue_t *q)
{
	atomic_fetch_add(&q->refs, 1);
}

faas_runtime_t *faas__queue_runtime(const faas_queue_t *q)
{
	return q->rt;
}

static void queue_unref(faas_queue_t *q);

void faas__queue_unref(faas_queue_t *q)
{
	queue_unref(q);
}

static void queue_unref(faas_queue_t *q)
{
	struct qmsg *m, *next;
	size_t i;

	if (!q || atomic_fetch_sub(&q->refs, 1) != 1)
		return;
	for (i = 0; i < q->nbuckets; i++)
		for (m = q->buckets[i]; m; m = next) {
			next = m->hnext;
			msg_free(m);
		}
	faas__free(q->buckets);
	faas__free(q->heap);
	faas__fifo_free(q->ff);
	pthread_mutex_destroy(&q->lock);
	queue_unref(q->dlq);
	faas__free(q);
}

/* SQS: [A-Za-z0-9_-], 1-80 characters; a FIFO queue's name ends in ".fifo"
 * (counted in the 80). */
static int check_name(const char *name, bool fifo, faas_error_detail_t *d)
{
	size_t i, len;

	if (!name)
		return faas__fail(d, FAAS_EINVAL, "queue name must not be NULL");
	len = strlen(name);
	if (fifo != (len > 5 && !strcmp(name + len - 5, ".fifo")))
		return faas__fail(d, FAAS_EINVAL,
		                  fifo ? "The name of a FIFO queue can only include alphanumeric "
		                         "characters, hyphens, or underscores, must end with .fifo "
		                         "suffix and be 1 to 80 in length"
		                       : "Can only include alphanumeric characters, hyphens, or "
		                         "underscores. 1 to 80 in length");
	if (len > NAME_MAX_LEN)
		return faas__fail(d, FAAS_EINVAL,
		                  "Can only include alphanumeric characters, hyphens, or underscores. 1 to "
		                  "80 in length");
	if (fifo)
		len -= 5;
	if (len == 0 || len > NAME_MAX_LEN)
		return faas__fail(d, FAAS_EINVAL,
		                  "Can only include alphanumeric characters, hyphens, or underscores. 1 to "
		                  "80 in length");
	for (i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return faas__fail(d, FAAS_EINVAL,
			                  "Can only include alphanumeric characters, hyphens, or "
			                  "underscores. 1 to 80 in length");
	}
	return 0;
}

int faas_queue_create(faas_runtime_t *rt, const char *name, const faas_queue_options_t *o,
                      faas_queue_t **out, faas_error_detail_t *d)
{
	faas_queue_options_t def = FAAS_QUEUE_OPTIONS_INIT;
	faas_queue_t *q, *it;
	int rc;

	if ((rc = faas__api_begin(rt, d)) != 0)
		return rc;
	if (!out)
		return faas__fail(d, FAAS_EINVAL, "out must not be NULL");
	*out = NULL;
	if (o && o->version == 1) { /* a version 1 struct ends before fifo */
		memcpy(&def, o, offsetof(faas_queue_options_t, fifo));
		def.version = FAAS_QUEUE_OPTIONS_VERSION;
		o = &def;
	}
	o = o ? o : &def;
	if (o->version != FAAS_QUEUE_OPTIONS_VERSION)
		return faas__fail(d, FAAS_EINVAL, "unsupported faas_queue_options_t version %u",
		                  o->version);
	if ((rc = check_name(name, o->fifo != 0, d)) != 0)
		return rc;
	if (o->dead_letter && (o->dead_letter->ff != NULL) != (o->fifo != 0))
		return faas__fail(d, FAAS_EINVAL,
		                  "The dead-letter queue of a FIFO queue must also be a FIFO queue, "
		                  "and of a standard queue a standard queue");
	if (o->visibility_timeout_ms > VISIBILITY_MAX_MS)
		return faas__fail(d, FAAS_EINVAL, "visibility_timeout_ms must be at most %u (12 hours)",
		                  VISIBILITY_MAX_MS);
	if (o->max_message_bytes > MESSAGE_MAX_LIMIT)
		return faas__fail(d, FAAS_EINVAL,
		                  "max_message_bytes must be at most %u (SQS's MaximumMessageSize)",
		                  MESSAGE_MAX_LIMIT);
	if ((o->max_receive_count != 0) != (o->dead_letter != NULL))
		return faas__fail(d, FAAS_EINVAL,
		                  "a redrive policy needs both max_receive_count and dead_letter");
	if (o->dead_letter && o->dead_letter->rt != rt)
		return faas__fail(d, FAAS_EINVAL, "the dead-letter queue belongs to another runtime");
	if (!(q = faas__calloc(1, sizeof(*q))))
		return faas__fail(d, FAAS_ENOMEM, NULL);
	if (pthread_mutex_init(&q->lock, NULL) != 0 || !table_grow(q) ||
	    (o->fifo && !(q->ff = faas__fifo_new()))) {
		faas__free(q->buckets);
		faas__free(q);
		return faas__fail(d, FAAS_ENOMEM, NULL);
	}
	atomic_init(&q->refs, 1);
	q->rt = rt;
	q->visibility_ms = o->visibility_timeout_ms ? o->visibility_timeout_ms : VISIBILITY_DEFAULT_MS;
	q->capacity = o->capacity ? o->capacity : CAPACITY_DEFAULT;
	q->max_bytes = o->max_message_bytes ? o->max_message_bytes : MESSAGE_MAX_DEFAULT;
	q->max_receive = o->max_receive_count;
	q->content_dedup = o->content_based_deduplication != 0;
	snprintf(q->name, sizeof(q->name), "%s", name);
	snprintf(q->arn, sizeof(q->arn), "arn:aws:sqs:%s:%s:%s", rt->region, rt->account, name);
	pthread_mutex_lock(&rt->queue_lock);
	for (it = rt->queues; it; it = it->next)
		if (strcmp(it->name, name) == 0)
			break;
	if (it) {
		pthread_mutex_unlock(&rt->queue_lock);
		queue_unref(q);
		return faas__fail(d, FAAS_EEXIST, "A queue already exists with the same name: %s", name);
	}
	if (o->dead_letter) {
		if (o->dead_letter->deleted) {
			pthread_mutex_unlock(&rt->queue_lock);
			queue_unref(q);
			return faas__fail(d, FAAS_EINVAL, "the dead-letter queue was deleted");
		}
		atomic_fetch_add(&o->dead_letter->refs, 1);
		q->dlq = o->dead_letter;
	}
	q->next = rt->queues;
	rt->queues = q;
	pthread_mutex_unlock(&rt->queue_lock);
	*out = q;
	return 0;
}

faas_queue_t *faas_queue_find(faas_runtime_t *rt, const char *name)
{
	faas_queue_t *q;

	if (!rt || !name)
		return NULL;
	pthread_mutex_lock(&rt->queue_lock);
	for (q = rt->queues; q; q = q->next)
		if (strcmp(q->name, name) == 0)
			break;
	pthread_mutex_unlock(&rt->queue_lock);
	return q;
}

const char *faas_queue_arn(const faas_queue_t *q)
{
	return q ? q->arn : NULL;
}

/* SQS's answer for a queue that was deleted. */
static int gone(faas_error_detail_t *d)
{
	return faas__fail(d, FAAS_ENOTFOUND, "The specified queue does not exist.");
}

int faas_queue_delete(faas_queue_t *q, faas_error_detail_t *d)
{
	faas_runtime_t *rt;
	faas_queue_t **pp, *it;
	int rc;

	faas__detail_reset(d);
	if (!q)
		return faas__fail(d, FAAS_EINVAL, "queue must not be NULL");
	rt = q->rt;
	if ((rc = faas__api_begin(rt, d)) != 0)
		return rc;
	pthread_mutex_lock(&rt->queue_lock);
	for (it = rt->queues; it; it = it->next)
		if (it->dlq == q)
			break;
	if (it) {
		pthread_mutex_unlock(&rt->queue_lock);
		return faas__fail(d, FAAS_ECONFLICT,
		                  "Queue %s is the dead-letter queue of %s: delete or change that one first",
		                  q->name, it->name);
	}
	for (pp = &rt->queues; *pp && *pp != q; pp = &(*pp)->next)
		;
	if (!*pp) { /* deleted already: the list's reference went then */
		pthread_mutex_unlock(&rt->queue_lock);
		return gone(d);
	}
	*pp = q->next;
	pthread_mutex_lock(&q->lock); /* senders read it under this one */
	q->deleted = true;
	pthread_mutex_unlock(&q->lock);
	pthread_mutex_unlock(&rt->queue_lock);
	queue_unref(q); /* the list's reference */
	return 0;
}

void faas__queues_free(faas_runtime_t *rt)
{
	faas_queue_t *q, *next, *all = rt->queues;

	rt->queues = NULL;
	for (q = all; q; q = next) { /* dead-letter queues go when their users do */
		next = q->next;
		queue_unref(q);
	}
}

/* ---- messages ------------------------------------------------------------------ */

static struct qmsg *msg_new(const char *body, size_t len, json_t *attrs, const char *group,
                            const char *dedup)
{
	size_t glen = group ? strlen(group) + 1 : 0, dlen = dedup ? strlen(dedup) + 1 : 0;
	struct qmsg *m = faas__malloc(sizeof(*m) + len + 1 + glen + dlen);

	if (!m)
		return NULL;
	memset(m, 0, sizeof(*m));
	memcpy(m->body, body, len);
	m->body[len] = '\0';
	m->len = len;
	m->attrs = attrs ? json_incref(attrs) : NULL;
	if (group) {
		m->group = memcpy(m->body + len + 1, group, glen);
		m->dedup = memcpy(m->body + len + 1 + glen, dedup, dlen);
	}
	return m;
}

/* Under q's lock: take m in (a new message, or one redriven here); @p force
 * takes back a message that was just here (its room may have been taken). */
static int admit_msg(faas_queue_t *q, struct qmsg *m, bool force, faas_error_detail_t *d)
{
	if (q->count >= q->capacity && !force)
		return faas__fail(d, FAAS_EAGAIN, "The queue %s is full (%u messages)", q->name,
		                  q->capacity);
	if (q->count + 1 > q->nbuckets && !table_grow(q))
		return faas__fail(d, FAAS_ENOMEM, NULL);
	if (!faas__array_reserve(&q->heap, q->count, &q->cap_heap)) /* room to go in flight */
		return faas__fail(d, FAAS_ENOMEM, NULL);
	if (!force) /* one taken back keeps its place */
		m->order = q->next_order++;
	table_add(q, m);
	list_insert_ordered(q, m);
	return 0;
}

static int send_msg(faas_queue_t *q, const char *body, size_t len, json_t *attributes,
                    const char *group, const char *dedup, char message_id[FAAS_REQUEST_ID_SIZE],
                    faas_error_detail_t *d);

int faas_queue_send(faas_queue_t *q, const char *body, size_t len, json_t *attributes,
                    char message_id[FAAS_REQUEST_ID_SIZE], faas_error_detail_t *d)
{
	int rc;

	faas__detail_reset(d);
	if (!q)
		return faas__fail(d, FAAS_EINVAL, "queue must not be NULL");
	if ((rc = faas__rt_check_running(q->rt, d)) != 0)
		return rc;
	if (q->ff)
		return faas__fail(d, FAAS_EINVAL,
		                  "The request must contain the parameter MessageGroupId.");
	return send_msg(q, body, len, attributes, NULL, NULL, message_id, d);
}

/* SQS: 1-128 characters of [!-~]. */
static int check_tag(const char *v, const char *what, faas_error_detail_t *d)
{
	size_t i, len = v ? strlen(v) : 0;

	for (i = 0; i < len && v[i] >= '!' && v[i] <= '~'; i++)
		;
	if (len == 0 || len > FAAS_QUEUE_GROUP_MAX || i < len)
		return faas__fail(d, FAAS_EINVAL,
		                  "Value %.140s for parameter %s is invalid. Reason: 1 to 128 characters "
		                  "of alphanumerics and punctuation.",
		                  v ? v : "(null)", what);
	return 0;
}

int faas_queue_send_fifo(faas_queue_t *q, const char *body, size_t len, json_t *attributes,
                         const char *group, const char *dedup,
                         char message_id[FAAS_REQUEST_ID_SIZE], faas_error_detail_t *d)
{
	char digest[33];
	int rc;

	faas__detail_reset(d);
	if (!q)
		return faas__fail(d, FAAS_EINVAL, "queue must not be NULL");
	if ((rc = faas__rt_check_running(q->rt, d)) != 0)
		return rc;
	if (!q->ff)
		return faas__fail(d, FAAS_EINVAL,
		                  "The request include parameter that is not valid for this queue type: "
		                  "MessageGroupId is only for FIFO queues");
	if (!dedup && q->content_dedup && body) { /* the body's digest stands for it */
		faas__md5_hex(body, len, digest);
		dedup = digest;
	}
	if (!dedup)
		return faas__fail(d, FAAS_EINVAL,
		                  "The queue should either have ContentBasedDeduplication enabled or "
		                  "MessageDeduplicationId provided explicitly");
	if ((rc = check_tag(group, "MessageGroupId", d)) != 0 ||
	    (rc = check_tag(dedup, "MessageDeduplicationId", d)) != 0)
		return rc;
	return send_msg(q, body, len, attributes, group, dedup, message_id, d);
}

int faas_queue_is_fifo(const faas_queue_t *q)
{
	return q && q->ff;
}

/* The library's own sends (async and stream failure records): also while it
 * shuts down; to a FIFO queue in group "libfaas", each one new. */
int faas__queue_put(faas_queue_t *q, const char *body, size_t len)
{
	char dedup[FAAS_REQUEST_ID_SIZE];

	if (!q->ff)
		return send_msg(q, body, len, NULL, NULL, NULL, NULL, NULL);
	faas__request_id(dedup);
	return send_msg(q, body, len, NULL, "libfaas", dedup, NULL, NULL);
}

/* SQS's rule: Unicode text of #x9, #xA, #xD and #x20 upwards (valid UTF-8). */
static int check_body(const char *body, size_t len, faas_error_detail_t *d)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)body[i];
		if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
			return faas__fail(d, FAAS_EINVAL,
			                  "Invalid binary character '#x%X' was found in the message body, "
			                  "the set of allowed characters is #x9 | #xA | #xD | #x20 to "
			                  "#xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF",
			                  c);
	}
	if (faas__utf8_chars(body, len) < 0)
		return faas__fail(d, FAAS_EINVAL, "The message body is not valid UTF-8 text");
	return 0;
}

/* Under q's lock: a FIFO message is a duplicate (its first's id into
 * message_id), or is recorded as sent; FAAS_ENOMEM takes it out again. */
static int fifo_admit(faas_queue_t *q, struct qmsg *m, char *message_id, bool *dup,
                      faas_error_detail_t *d)
{
	uint64_t now = faas__clock_mono_ns(&q->rt->clock);
	const char *first = faas__fifo_dedup_find(q->ff, m->dedup, now);
	int rc;

	if ((*dup = first != NULL)) {
		if (message_id)
			memcpy(message_id, first, FAAS_REQUEST_ID_SIZE);
		return 0;
	}
	if ((rc = admit_msg(q, m, false, d)) != 0)
		return rc;
	if (faas__fifo_dedup_add(q->ff, m->dedup, m->id,
	                         now + (uint64_t)FAAS_FIFO_DEDUP_WINDOW_MS * 1000000u) != 0) {
		list_remove(q, m);
		table_remove(q, m);
		return faas__fail(d, FAAS_ENOMEM, NULL);
	}
	return 0;
}

static int send_msg(faas_queue_t *q, const char *body, size_t len, json_t *attributes,
                    const char *group, const char *dedup, char message_id[FAAS_REQUEST_ID_SIZE],
                    faas_error_detail_t *d)
{
	struct qmsg *m;
	bool dup = false;
	int rc;

	if (!body && len)
		return faas__fail(d, FAAS_EINVAL, "body must not be NULL");
	if (len == 0)
		return faas__fail(d, FAAS_EINVAL,
		                  "The request must contain the parameter MessageBody.");
	if (len > q->max_bytes)
		return faas__fail(d, FAAS_ETOOLARGE,
		                  "One or more parameters are invalid. Reason: Message must be shorter "
		                  "than %u bytes.",
		                  q->max_bytes);
	if (attributes && !json_is_object(attributes))
		return faas__fail(d, FAAS_EINVAL, "message attributes must be a JSON object");
	if ((rc = check_body(body, len, d)) != 0)
		return rc;
	if (!(m = msg_new(body, len, attributes, group, dedup)))
		return faas__fail(d, FAAS_ENOMEM, NULL);
	faas__request_id(m->id);
	m->sent_ms = faas__clock_wall_ms(&q->rt->clock);
	m->lineage = faas__current_lineage(q->rt);
	pthread_mutex_lock(&q->lock);
	rc = q->deleted ? gone(d)
	     : q->ff    ? fifo_admit(q, m, message_id, &dup, d)
	                : admit_msg(q, m, false, d);
	pthread_mutex_unlock(&q->lock);
	if (rc != 0 || dup) {
		msg_free(m);
		return rc;
	}
	if (message_id)
		memcpy(message_id, m->id, FAAS_REQUEST_ID_SIZE);
	/* mappings on a real clock poll now (a virtual one steps them when it moves) */
	if (q->rt->clock.kind != FAAS_CLOCK_VIRTUAL)
		faas__mappings_kick(q->rt);
	return 0;
}

void faas_queue_message_clear(faas_queue_message_t *m)
{
	if (!m)
		return;
	faas__free(m->body);
	json_decref(m->attributes);
	memset(m, 0, sizeof(*m));
}

/* Under q's lock: fill out from m (a copy of the body). */
static bool copy_out(const struct qmsg *m, faas_queue_message_t *out)
{
	memset(out, 0, sizeof(*out));
	if (!(out->body = faas__malloc(m->len + 1)))
		return false;
	memcpy(out->body, m->body, m->len + 1);
	out->body_len = m->len;
	memcpy(out->message_id, m->id, sizeof(out->message_id));
	snprintf(out->receipt_handle, sizeof(out->receipt_handle), "%s.%u", m->id, m->receive_count);
	out->attributes = m->attrs ? json_incref(m->attrs) : NULL;
	out->receive_count = m->receive_count;
	out->sent_timestamp_ms = m->sent_ms;
	out->first_receive_timestamp_ms = m->first_receive_ms;
	out->lineage = m->lineage;
	if (m->group) {
		snprintf(out->message_group_id, sizeof(out->message_group_id), "%s", m->group);
		snprintf(out->deduplication_id, sizeof(out->deduplication_id), "%s", m->dedup);
		snprintf(out->sequence_number, sizeof(out->sequence_number), "%020llu",
		         (unsigned long long)m->order + 1);
	}
	return true;
}

/* Move redriven messages into the dead-letter queue (no lock held). */
static void redrive(faas_queue_t *q, struct qmsg *moved)
{
	faas_queue_t *dlq = q->dlq;
	struct qmsg *m;

	while ((m = moved) != NULL) {
		uint32_t count = m->receive_count;
		int64_t first = m->first_receive_ms;
		int rc;
		moved = m->next;
		m->receive_count = 0; /* it starts over there */
		m->first_receive_ms = 0;
		pthread_mutex_lock(&dlq->lock);
		rc = dlq->deleted ? FAAS_ENOTFOUND : admit_msg(dlq, m, false, NULL);
		pthread_mutex_unlock(&dlq->lock);
		if (rc == 0)
			continue;
		/* the dead-letter queue cannot take it: it stays here, as it was,
		 * at the front (the next receive tries to move it again) */
		m->receive_count = count;
		m->first_receive_ms = first;
		pthread_mutex_lock(&q->lock);
		if (admit_msg(q, m, true, NULL) != 0) /* only without memory for the table */
			msg_free(m);
		pthread_mutex_unlock(&q->lock);
	}
}

int faas_queue_receive(faas_queue_t *q, uint32_t max, uint32_t visibility_ms,
                       faas_queue_message_t *out, size_t *n, faas_error_detail_t *d)
{
	struct qmsg *m, *next, *moved = NULL, **tail = &moved;
	uint64_t now, epoch;
	int64_t wall;
	size_t got = 0;
	int rc = 0;

	faas__detail_reset(d);
	if (n)
		*n = 0;
	if (!q || !out || !n)
		return faas__fail(d, FAAS_EINVAL, "queue, out and n must not be NULL");
	if ((rc = faas__rt_check_running(q->rt, d)) != 0)
		return rc;
	if (max == 0 || max > RECEIVE_MAX)
		return faas__fail(d, FAAS_EINVAL, "max must be between 1 and %u", RECEIVE_MAX);
	if (visibility_ms > VISIBILITY_MAX_MS)
		return faas__fail(d, FAAS_EINVAL, "visibility_ms must be at most %u (12 hours)",
		                  VISIBILITY_MAX_MS);
	now = faas__clock_mono_ns(&q->rt->clock);
	wall = faas__clock_wall_ms(&q->rt->clock);
	pthread_mutex_lock(&q->lock);
	if (q->deleted) { /* its messages went with it (a source may still hold it) */
		pthread_mutex_unlock(&q->lock);
		return gone(d);
	}
	expire(q, now);
	epoch = ++q->epoch;
	for (m = q->head; got < max && m != NULL; m = next) {
		next = m->next;
		/* FIFO: a group with messages in flight from another receive waits */
		if (q->ff && faas__fifo_group_locked(q->ff, m->group, epoch))
			continue;
		if (q->dlq && m->receive_count >= q->max_receive) {
			list_remove(q, m);
			table_remove(q, m);
			m->next = NULL;
			*tail = m;
			tail = &m->next;
			continue;
		}
		m->receive_count++;
		if (!m->first_receive_ms)
			m->first_receive_ms = wall;
		if (!copy_out(m, &out[got]) ||
		    (q->ff && faas__fifo_group_take(q->ff, m->group, epoch) != 0)) {
			if (out[got].body)
				faas_queue_message_clear(&out[got]);
			m->receive_count--;
			rc = faas__fail(d, FAAS_ENOMEM, NULL);
			break;
		}
		list_remove(q, m);
		m->visible_at_ns = now + (uint64_t)(visibility_ms ? visibility_ms : q->visibility_ms) * 1000000u;
		m->in_flight = true;
		q->heap[q->nheap++] = m; /* room kept since it was admitted */
		heap_up(q, q->nheap - 1);
		got++;
	}
	pthread_mutex_unlock(&q->lock);
	if (moved)
		redrive(q, moved);
	if (rc != 0) { /* nothing half done: what was taken goes back */
		while (got) {
			got--;
			faas_queue_change_visibility(q, out[got].receipt_handle, 0, NULL);
			faas_queue_message_clear(&out[got]);
		}
		return rc;
	}
	*n = got;
	return 0;
}

/* Under q's lock: the message a receipt handle names, if that is its latest receive. */
static int by_handle(faas_queue_t *q, const char *handle, struct qmsg **out, faas_error_detail_t *d)
{
	char id[FAAS_REQUEST_ID_SIZE];
	const char *dot = handle ? strrchr(handle, '.') : NULL;
	struct qmsg *m;
	char *end;
	unsigned long nr;

	if (!dot || dot - handle != FAAS_REQUEST_ID_SIZE - 1)
		return faas__fail(d, FAAS_EINVAL, "The input receipt handle \"%s\" is not a valid receipt handle.",
		                  handle ? handle : "(null)");
	nr = strtoul(dot + 1, &end, 10);
	if (*end || end == dot + 1)
		return faas__fail(d, FAAS_EINVAL, "The input receipt handle \"%s\" is not a valid receipt handle.",
		                  handle);
	memcpy(id, handle, FAAS_REQUEST_ID_SIZE - 1);
	id[FAAS_REQUEST_ID_SIZE - 1] = '\0';
	m = table_find(q, id);
	if (!m || m->receive_count != nr || nr == 0)
		return faas__fail(d, FAAS_ENOTFOUND, "ReceiptHandleIsInvalid: the receipt handle \"%s\" is not "
		                  "the message's latest, or the message is gone", handle);
	*out = m;
	return 0;
}

int faas_queue_delete_message(faas_queue_t *q, const char *receipt_handle, faas_error_detail_t *d)
{
	struct qmsg *m;
	int rc;

	faas__detail_reset(d);
	if (!q)
		return faas__fail(d, FAAS_EINVAL, "queue must not be NULL");
	pthread_mutex_lock(&q->lock);
	if ((rc = by_handle(q, receipt_handle, &m, d)) == 0) {
		if (m->in_flight)
			heap_remove(q, m);
		else
			list_remove(q, m);
		table_remove(q, m);
	}
	pthread_mutex_unlock(&q->lock);
	if (rc == 0)
		msg_free(m);
	return rc;
}

int faas_queue_change_visibility(faas_queue_t *q, const char *receipt_handle, uint32_t visibility_ms,
                                 faas_error_detail_t *d)
{
	uint64_t now;
	struct qmsg *m;
	int rc;

	faas__detail_reset(d);
	if (!q)
		return faas__fail(d, FAAS_EINVAL, "queue must not be NULL");
	if (visibility_ms > VISIBILITY_MAX_MS)
		return faas__fail(d, FAAS_EINVAL, "visibility_ms must be at most %u (12 hours)",
		                  VISIBILITY_MAX_MS);
	now = faas__clock_mono_ns(&q->rt->clock);
	pthread_mutex_lock(&q->lock);
	expire(q, now);
	if ((rc = by_handle(q, receipt_handle, &m, d)) == 0) {
		if (!m->in_flight)
			rc = faas__fail(d, FAAS_EINVAL, "Value %s for parameter ReceiptHandle is invalid. "
			                "Reason: Message does not exist or is not available for visibility "
			                "timeout change.", receipt_handle);
		else if (visibility_ms == 0) {
			heap_remove(q, m);
			list_insert_ordered(q, m);
		} else {
			m->visible_at_ns = now + (uint64_t)visibility_ms * 1000000u;
			heap_down(q, m->slot);
			heap_up(q, m->slot);
		}
	}
	pthread_mutex_unlock(&q->lock);
	return rc;
}

void faas_queue_counts(faas_queue_t *q, uint64_t *visible, uint64_t *in_flight)
{
	uint64_t v = 0, f = 0;

	if (q) {
		pthread_mutex_lock(&q->lock);
		if (!q->deleted) { /* a deleted queue holds nothing */
			expire(q, faas__clock_mono_ns(&q->rt->clock));
			v = q->nvisible;
			f = q->nheap;
		}
		pthread_mutex_unlock(&q->lock);
	}
	if (visible)
		*visible = v;
	if (in_flight)
		*in_flight = f;
}

uint32_t faas_queue_visibility_timeout(const faas_queue_t *q)
{
	return q ? q->visibility_ms : 0; /* fixed at create */
}
