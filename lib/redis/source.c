/*
 * libfaas-redis — a faas_source_t over a Redis stream and consumer group
 * (the rules are in faas/redis.h).
 *
 * Threads: receive runs on the mapping's poll thread and owns `rx`; ack,
 * fail and release come from workers: acknowledgements gather in `acks`
 * (under `lock`) and go out in one XACK, from the worker that fills a
 * batch's worth (over `tx`, under `tx_lock`) or from the next receive;
 * dead-lettering uses `tx` at once. No lock is held across a receive's
 * network round trip but `rx`'s own (it has no other user).
 */
#include "source_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- bookkeeping ------------------------------------------------------------------- */

static int ids_push(struct rs_ids *l, const char *id, uint32_t deliveries, uint64_t at_ns)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		void *a = realloc(l->id, cap * sizeof(l->id[0])), *b, *c;
		if (!a)
			return FAAS_ENOMEM;
		l->id = a;
		if (!(b = realloc(l->deliveries, cap * sizeof(l->deliveries[0]))))
			return FAAS_ENOMEM;
		l->deliveries = b;
		if (!(c = realloc(l->at_ns, cap * sizeof(l->at_ns[0]))))
			return FAAS_ENOMEM;
		l->at_ns = c;
		l->cap = cap;
	}
	snprintf(l->id[l->n], RS_ID_MAX, "%s", id);
	l->at_ns[l->n] = at_ns;
	l->deliveries[l->n++] = deliveries;
	return 0;
}

static void ids_free(struct rs_ids *l)
{
	free(l->id);
	free(l->deliveries);
	free(l->at_ns);
	memset(l, 0, sizeof(*l));
}

/* Take the whole list (the caller owns it now). */
static struct rs_ids ids_take(struct rs_src *s, struct rs_ids *l)
{
	struct rs_ids out;

	pthread_mutex_lock(&s->lock);
	out = *l;
	memset(l, 0, sizeof(*l));
	pthread_mutex_unlock(&s->lock);
	return out;
}

/* Put a taken list back in front of what came meanwhile. */
static void ids_give_back(struct rs_src *s, struct rs_ids *l, struct rs_ids *taken, size_t from)
{
	size_t i;

	pthread_mutex_lock(&s->lock);
	for (i = from; i < taken->n; i++)
		if (ids_push(l, taken->id[i], taken->deliveries[i], taken->at_ns[i]) != 0)
			break; /* no memory: those stay pending in Redis, claimed again later */
	pthread_mutex_unlock(&s->lock);
	ids_free(taken);
}

void rs_report(void *arg, int code, const char *what, const char *why)
{
	struct rs_src *s = arg;
	char msg[200];

	if (code == 0) {
		atomic_fetch_add(&s->connects, 1);
		return;
	}
	atomic_fetch_add(&s->errors, 1);
	snprintf(msg, sizeof(msg), "%s: %s", what, why ? why : faas_strerror(code));
	pthread_mutex_lock(&s->lock);
	snprintf(s->last_error, sizeof(s->last_error), "%s", msg);
	pthread_mutex_unlock(&s->lock);
	if (s->src)
		faas_source_report(s->src, code, msg);
	else if (atomic_load(&s->rt))
		faas_async_store_report(atomic_load(&s->rt), s->arn, code, msg);
}

/* A reply that is an error: reported; true. */
bool rs_reply_failed(struct rs_src *s, const redisReply *r, const char *what)
{
	if (r && r->type != REDIS_REPLY_ERROR)
		return false;
	if (r)
		rs_report(s, FAAS_EPRECONDITION, what, r->str);
	return true;
}

/* ---- commands ------------------------------------------------------------------------- */

/* An error reply that a later try may not get (Redis starting, busy, failing over). */
static bool transient(const char *err)
{
	static const char *const codes[] = { "LOADING", "BUSY", "TRYAGAIN", "MASTERDOWN",
		                             "CLUSTERDOWN", "READONLY" };

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (strncmp(err, codes[i], strlen(codes[i])) == 0)
			return true;
	return false;
}

/* XACK key group id...: the ids of l from index 0. 0, or the connection failed. */
static int send_acks(struct rs_src *s, struct rs_conn *k, const struct rs_ids *l)
{
	const char **argv = malloc((l->n + 3) * sizeof(*argv));
	size_t *lens = malloc((l->n + 3) * sizeof(*lens)), i;
	struct rs_cmd cmd = { (int)(l->n + 3), argv, lens };
	redisReply *r = NULL;
	int rc = FAAS_ENOMEM;

	if (argv && lens) {
		argv[0] = "XACK";
		argv[1] = s->stream;
		argv[2] = s->group;
		for (i = 0; i < l->n; i++)
			argv[i + 3] = l->id[i];
		for (i = 0; i < l->n + 3; i++)
			lens[i] = strlen(argv[i]);
		r = rs_command(k, &cmd, rs_report, s, &rc);
		if (r && !rs_reply_failed(s, r, "XACK") && s->delete_acked) {
			argv[0] = "XDEL"; /* XDEL key id...: the same ids, without the group */
			lens[0] = 4;
			memmove(argv + 2, argv + 3, l->n * sizeof(*argv));
			memmove(lens + 2, lens + 3, l->n * sizeof(*lens));
			cmd.argc = (int)(l->n + 2);
			freeReplyObject(rs_command(k, &cmd, rs_report, s, &rc));
			rc = 0; /* acknowledged: an entry left undeleted is only space */
		}
		if (r && r->type != REDIS_REPLY_ERROR)
			atomic_fetch_add(&s->acked, l->n);
		else if (r && transient(r->str))
			rc = FAAS_EAGAIN; /* LOADING, BUSY, ...: sent again later */
		else if (r)
			rc = 0; /* refused for good (NOGROUP, NOPERM, ...): reported, given up;
			         * the entries stay pending and are claimed again */
	}
	freeReplyObject(r);
	free(argv);
	free(lens);
	return rc;
}

/* Acknowledge what has gathered, over k (whose lock the caller holds). */
static void flush_acks(struct rs_src *s, struct rs_conn *k)
{
	struct rs_ids l = ids_take(s, &s->acks);

	if (l.n == 0 || send_acks(s, k, &l) == 0) {
		ids_free(&l);
		return;
	}
	ids_give_back(s, &s->acks, &l, 0); /* sent again later: XACK is idempotent */
}

/* Add to KEYS[1] the fields ARGV[3..], then acknowledge ARGV[2] in stream
 * KEYS[2], group ARGV[1]; if it was no longer pending (another consumer
 * settled it meanwhile), the new entry goes again. One script: a failing
 * XADD (a dead-letter key that is not a stream) changes nothing, which
 * MULTI/EXEC would not promise (it does not roll back). 1, or 0. */
static const char dead_letter_lua[] =
        "local nid = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 3)) "
        "if redis.call('XACK', KEYS[2], ARGV[1], ARGV[2]) == 0 then "
        "redis.call('XDEL', KEYS[1], nid) return 0 end return 1";

/* Into the dead-letter stream with why, and acknowledged: XRANGE for the
 * entry's fields as stored, then the script above. 0 or an error. */
static int dead_letter(struct rs_src *s, struct rs_conn *k, const char *id, uint32_t deliveries,
                       const char *type, const char *message)
{
	const char *rv[] = { "XRANGE", s->stream, id, id };
	size_t rl[] = { 6, strlen(s->stream), strlen(id), strlen(id) };
	struct rs_cmd range = { 4, rv, rl };
	char count[16], msg[RS_ERROR_MESSAGE_MAX + 1];
	const redisReply *fields = NULL;
	redisReply *r, *out = NULL;
	size_t nf, i, n = 0;
	const char **argv;
	size_t *lens;
	int rc;

	if (!(r = rs_command(k, &range, rs_report, s, &rc)))
		return rc;
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 && rs_entry_ok(r->element[0]))
		fields = r->element[0]->element[1]; /* else trimmed away: the metadata alone */
	snprintf(count, sizeof(count), "%u", deliveries);
	snprintf(msg, sizeof(msg), "%s", message ? message : "");
	nf = fields ? fields->elements : 0;
	argv = malloc((nf + 20) * sizeof(*argv));
	lens = malloc((nf + 20) * sizeof(*lens));
	if (!argv || !lens) {
		free(argv);
		free(lens);
		freeReplyObject(r);
		return FAAS_ENOMEM;
	}
#define ARG(p, l) (argv[n] = (p), lens[n++] = (l))
#define ARGS(p) ARG(p, strlen(p))
	ARGS("EVAL");
	ARGS(dead_letter_lua);
	ARGS("2");
	ARGS(s->dlq);
	ARGS(s->stream);
	ARGS(s->group);
	ARGS(id);
	ARGS("faas-source-id");
	ARGS(id);
	ARGS("faas-stream");
	ARGS(s->stream);
	ARGS("faas-group");
	ARGS(s->group);
	ARGS("faas-deliveries");
	ARGS(count);
	ARGS("faas-error-type");
	ARGS(type);
	ARGS("faas-error-message");
	ARGS(msg);
	for (i = 0; i < nf; i++)
		ARG(fields->element[i]->str, fields->element[i]->len);
#undef ARGS
#undef ARG
	{
		struct rs_cmd cmd = { (int)n, argv, lens };
		out = rs_command(k, &cmd, rs_report, s, &rc);
	}
	free(argv);
	free(lens);
	freeReplyObject(r);
	if (!out)
		return rc;
	if (out->type == REDIS_REPLY_ERROR) { /* nothing happened: it stays pending */
		rs_reply_failed(s, out, "dead-letter");
		rc = FAAS_EPRECONDITION;
	} else if (out->type == REDIS_REPLY_INTEGER && out->integer == 1) {
		atomic_fetch_add(&s->dead, 1);
	}
	freeReplyObject(out);
	return rc;
}

/* XGROUP CREATE ... MKSTREAM: 0 (made, or there already), or an error. */
static int create_group(struct rs_src *s, struct rs_conn *k)
{
	const char *argv[] = { "XGROUP", "CREATE", s->stream, s->group, s->group_start, "MKSTREAM" };
	size_t lens[6];
	struct rs_cmd cmd = { 6, argv, lens };
	redisReply *r;
	int rc;

	for (int i = 0; i < 6; i++)
		lens[i] = strlen(argv[i]);
	if (!(r = rs_command(k, &cmd, rs_report, s, &rc)))
		return rc;
	rc = 0;
	if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "BUSYGROUP", 9) != 0) {
		rs_report(s, FAAS_EPRECONDITION, "XGROUP CREATE", r->str);
		rc = FAAS_EPRECONDITION;
	}
	freeReplyObject(r);
	return rc;
}

/* ---- receive ---------------------------------------------------------------------------- */

/* Entries of a reply array into out[*k...], each delivered deliveries[i]
 * times (NULL: once). Those over max_deliveries are dead-lettered instead. */
static void take_entries(struct rs_src *s, const redisReply *arr, const uint32_t *deliveries,
                         bool claimed, uint32_t max, faas_source_record_t *out, size_t *k)
{
	for (size_t i = 0; i < arr->elements && *k < max; i++) {
		const redisReply *e = arr->element[i];
		uint32_t d = deliveries ? deliveries[i] : 1;
		if (!rs_entry_ok(e))
			continue; /* deleted meanwhile: Redis drops it from the pending list */
		if (d > s->max_deliveries) {
			char why[96];
			snprintf(why, sizeof(why), "delivered %u times, never settled", d - 1);
			dead_letter(s, &s->rx, e->element[0]->str, d - 1, "MaxDeliveriesExceeded", why);
			continue;
		}
		if (rs_entry_record(&s->nm, e, d, &out[*k]) != 0)
			continue; /* no memory: it stays pending, claimed again later */
		(*k)++;
		atomic_fetch_add(&s->received, 1);
		if (claimed)
			atomic_fetch_add(&s->claimed, 1);
	}
}

/* The delivery counts of the entries of arr (XPENDING per id, one round trip). */
static int pending_counts(struct rs_src *s, const redisReply *arr, uint32_t *counts)
{
	size_t n = arr->elements, i;
	struct rs_cmd *cmds = calloc(n, sizeof(*cmds));
	redisReply **out = calloc(n, sizeof(*out));
	const char **av = malloc(n * 6 * sizeof(*av));
	size_t *lv = malloc(n * 6 * sizeof(*lv));
	int rc = FAAS_ENOMEM;

	if (cmds && out && av && lv) {
		for (i = 0; i < n; i++) {
			const redisReply *e = arr->element[i];
			const char *id = e->type == REDIS_REPLY_ARRAY && e->elements ? e->element[0]->str : "0";
			const char **a = av + i * 6;
			size_t *l = lv + i * 6;
			a[0] = "XPENDING", a[1] = s->stream, a[2] = s->group, a[3] = id, a[4] = id, a[5] = "1";
			for (int j = 0; j < 6; j++)
				l[j] = strlen(a[j]);
			cmds[i] = (struct rs_cmd){ 6, a, l };
		}
		if ((rc = rs_pipeline(&s->rx, n, cmds, out, rs_report, s)) == 0)
			for (i = 0; i < n; i++) {
				const redisReply *p = out[i];
				counts[i] = 1;
				if (p && p->type == REDIS_REPLY_ARRAY && p->elements == 1 &&
				    p->element[0]->type == REDIS_REPLY_ARRAY && p->element[0]->elements == 4)
					counts[i] = (uint32_t)p->element[0]->element[3]->integer;
				freeReplyObject(out[i]);
			}
	}
	free(cmds);
	free(out);
	free(av);
	free(lv);
	return rc;
}

/* Entries given back (release): claimed back by this consumer first, one
 * XCLAIM each (pipelined) with RETRYCOUNT keeping the delivery count: a
 * batch that never ran does not bring an entry nearer the dead-letter stream.
 * Its min-idle-time is the time since the release (less 2 ms of rounding):
 * an entry another consumer claimed meanwhile (XAUTOCLAIM after
 * claim_idle_ms) has been idle for less than that, so it stays theirs. */
static void claim_released(struct rs_src *s, uint32_t max, faas_source_record_t *out, size_t *k)
{
	struct rs_ids l = ids_take(s, &s->released);
	size_t n = l.n < max ? l.n : max, i;
	struct rs_cmd *cmds = calloc(n ? n : 1, sizeof(*cmds));
	const char **av = malloc((n ? n : 1) * 8 * sizeof(*av));
	size_t *lv = malloc((n ? n : 1) * 8 * sizeof(*lv));
	char (*counts)[16] = malloc((n ? n : 1) * sizeof(*counts));
	char (*idle)[24] = malloc((n ? n : 1) * sizeof(*idle));
	uint64_t now = rs_now_ns();
	redisReply **replies = calloc(n ? n : 1, sizeof(*replies));
	int rc = FAAS_ENOMEM;

	if (n && cmds && av && lv && counts && idle && replies) {
		for (i = 0; i < n; i++) {
			const char **a = av + i * 8;
			size_t *len = lv + i * 8;
			uint64_t ms = now > l.at_ns[i] ? (now - l.at_ns[i]) / 1000000u : 0;
			snprintf(counts[i], sizeof(counts[i]), "%u", l.deliveries[i]);
			snprintf(idle[i], sizeof(idle[i]), "%llu", (unsigned long long)(ms > 2 ? ms - 2 : 0));
			a[0] = "XCLAIM", a[1] = s->stream, a[2] = s->group, a[3] = s->consumer, a[4] = idle[i];
			a[5] = l.id[i], a[6] = "RETRYCOUNT", a[7] = counts[i];
			for (int j = 0; j < 8; j++)
				len[j] = strlen(a[j]);
			cmds[i] = (struct rs_cmd){ 8, a, len };
		}
		rc = rs_pipeline(&s->rx, n, cmds, replies, rs_report, s);
		for (i = 0; rc == 0 && i < n; i++) {
			if (!rs_reply_failed(s, replies[i], "XCLAIM") && replies[i]->type == REDIS_REPLY_ARRAY)
				take_entries(s, replies[i], &l.deliveries[i], false, max, out, k);
			freeReplyObject(replies[i]);
		}
	}
	/* lost connection or no memory: all again later; else those beyond max */
	ids_give_back(s, &s->released, &l, rc == 0 ? n : 0);
	free(cmds);
	free(av);
	free(lv);
	free(counts);
	free(idle);
	free(replies);
}

/* XAUTOCLAIM: entries pending claim_idle_ms, of any consumer (this one too). */
static void claim_idle(struct rs_src *s, uint32_t max, uint32_t visibility_ms,
                       faas_source_record_t *out, size_t *k)
{
	uint32_t min_idle = s->claim_idle_ms > visibility_ms ? s->claim_idle_ms : visibility_ms;
	char idle[16], count[16];
	const char *argv[] = { "XAUTOCLAIM", s->stream, s->group, s->consumer, idle, s->cursor,
		               "COUNT", count };
	size_t lens[8];
	struct rs_cmd cmd = { 8, argv, lens };
	uint64_t now = rs_now_ns();
	redisReply *r;
	int rc;

	if (now < s->next_claim_ns)
		return;
	snprintf(idle, sizeof(idle), "%u", min_idle);
	snprintf(count, sizeof(count), "%u", max);
	for (int i = 0; i < 8; i++)
		lens[i] = strlen(argv[i]);
	if (!(r = rs_command(&s->rx, &cmd, rs_report, s, &rc)))
		return;
	if (!rs_reply_failed(s, r, "XAUTOCLAIM") && r->type == REDIS_REPLY_ARRAY && r->elements >= 2 &&
	    r->element[0]->type == REDIS_REPLY_STRING && r->element[1]->type == REDIS_REPLY_ARRAY) {
		const redisReply *arr = r->element[1];
		uint32_t *d = calloc(arr->elements ? arr->elements : 1, sizeof(*d));
		snprintf(s->cursor, sizeof(s->cursor), "%s", r->element[0]->str);
		if (d && arr->elements && pending_counts(s, arr, d) == 0)
			take_entries(s, arr, d, true, max, out, k);
		free(d);
		/* a whole scan done: the next after a quarter of the idle time */
		if (strcmp(s->cursor, "0-0") == 0)
			s->next_claim_ns = now + (uint64_t)min_idle * 250000u;
	}
	freeReplyObject(r);
}

/* XREADGROUP ... >: new entries, waiting up to block_ms when block. */
static void read_new(struct rs_src *s, uint32_t room, bool block, faas_source_record_t *out,
                     size_t *k, uint32_t max)
{
	char count[16], ms[16];
	const char *argv[] = { "XREADGROUP", "GROUP", s->group, s->consumer, "COUNT", count,
		               "BLOCK", ms, "STREAMS", s->stream, ">" };
	const char *nb[] = { "XREADGROUP", "GROUP", s->group, s->consumer, "COUNT", count,
		             "STREAMS", s->stream, ">" };
	size_t lens[11];
	struct rs_cmd cmd = { block ? 11 : 9, block ? argv : nb, lens };
	redisReply *r;
	int rc;

	snprintf(count, sizeof(count), "%u", room);
	snprintf(ms, sizeof(ms), "%u", s->t.block_ms);
	for (int i = 0; i < cmd.argc; i++)
		lens[i] = strlen(cmd.argv[i]);
	if (!(r = rs_command(&s->rx, &cmd, rs_report, s, &rc)))
		return;
	if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOGROUP", 7) == 0) {
		rs_report(s, FAAS_ENOTFOUND, "XREADGROUP", r->str); /* Redis lost it: made again */
		create_group(s, &s->rx);
	} else if (!rs_reply_failed(s, r, "XREADGROUP") && r->type == REDIS_REPLY_ARRAY &&
	           r->elements == 1 && r->element[0]->type == REDIS_REPLY_ARRAY &&
	           r->element[0]->elements == 2 &&
	           r->element[0]->element[1]->type == REDIS_REPLY_ARRAY) {
		take_entries(s, r->element[0]->element[1], NULL, false, max, out, k);
	}
	freeReplyObject(r);
}

/* While disconnected: wait (a blocking source may) until the next dial. */
static void wait_redial(struct rs_src *s)
{
	uint64_t now = rs_now_ns(), until = s->rx.next_try_ns;
	uint64_t cap = now + (uint64_t)s->t.block_ms * 1000000u;
	struct timespec ts;

	if (until > cap)
		until = cap;
	if (until <= now)
		return;
	ts.tv_sec = (time_t)((until - now) / 1000000000u);
	ts.tv_nsec = (long)((until - now) % 1000000000u);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int receive_locked(struct rs_src *s, uint32_t max, uint32_t visibility_ms,
                          faas_source_record_t *out, size_t *n)
{
	size_t k = 0;

	if (s->batch_max && max > s->batch_max)
		max = s->batch_max;
	if (max)
		atomic_store(&s->flush_at, max);
	if (rs_conn_ensure(&s->rx, rs_report, s) != 0) {
		if (max)
			wait_redial(s);
		return 0; /* nothing now; the mapping polls again */
	}
	flush_acks(s, &s->rx);
	if (max == 0)
		return 0; /* only what waited to be sent */
	claim_released(s, max, out, &k);
	if (k < max && s->rx.c)
		claim_idle(s, max - (uint32_t)k, visibility_ms, out, &k);
	if (k < max && s->rx.c)
		read_new(s, max - (uint32_t)k, k == 0, out, &k, max);
	*n = k;
	return 0;
}

int rs_receive(void *ud, uint32_t max, uint32_t visibility_ms, faas_source_record_t *out,
               size_t *n)
{
	struct rs_src *s = ud;
	int rc;

	*n = 0;
	pthread_mutex_lock(&s->rx_lock);
	rc = receive_locked(s, max, visibility_ms, out, n);
	pthread_mutex_unlock(&s->rx_lock);
	return rc;
}

/* ---- settling --------------------------------------------------------------------------- */

void rs_ack(void *ud, const faas_source_record_t *r)
{
	struct rs_src *s = ud;
	char id[RS_ID_MAX];
	uint32_t d;
	bool full;

	if (rs_handle_parse(r->handle, id, &d) != 0)
		return;
	pthread_mutex_lock(&s->lock);
	if (ids_push(&s->acks, id, d, 0) != 0) {
		pthread_mutex_unlock(&s->lock);
		rs_report(s, FAAS_ENOMEM, "XACK", "no memory to gather acknowledgements");
		return; /* it stays pending: claimed and run again later */
	}
	full = s->acks.n >= atomic_load(&s->flush_at);
	pthread_mutex_unlock(&s->lock);
	if (full && pthread_mutex_trylock(&s->tx_lock) == 0) { /* busy: its holder flushes soon */
		flush_acks(s, &s->tx);
		pthread_mutex_unlock(&s->tx_lock);
	}
}

static void rs_fail(void *ud, const faas_source_record_t *r, const char *type, const char *msg)
{
	struct rs_src *s = ud;
	char id[RS_ID_MAX];
	uint32_t d;

	if (rs_handle_parse(r->handle, id, &d) != 0)
		return;
	atomic_fetch_add(&s->failed, 1);
	if (d < s->max_deliveries)
		return; /* pending: back after claim_idle_ms */
	pthread_mutex_lock(&s->tx_lock);
	dead_letter(s, &s->tx, id, d, type, msg); /* failing, it stays pending: see take_entries */
	pthread_mutex_unlock(&s->tx_lock);
}

static void rs_nack(void *ud, const faas_source_record_t *r)
{
	rs_fail(ud, r, "Unknown", "the batch failed");
}

void rs_release(void *ud, const faas_source_record_t *r)
{
	struct rs_src *s = ud;
	char id[RS_ID_MAX];
	uint32_t d;

	if (rs_handle_parse(r->handle, id, &d) != 0)
		return;
	atomic_fetch_add(&s->nreleased, 1);
	pthread_mutex_lock(&s->lock);
	ids_push(&s->released, id, d, rs_now_ns()); /* no memory: pending, claimed after claim_idle_ms */
	pthread_mutex_unlock(&s->lock);
}

void rs_src_free(struct rs_src *s)
{
	if (!s)
		return;
	rs_conn_close(&s->rx);
	rs_conn_close(&s->tx);
	ids_free(&s->acks);
	ids_free(&s->released);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->tx_lock);
	pthread_mutex_destroy(&s->rx_lock);
	free(s->t.host);
	free(s->t.unix_socket);
	free(s->t.username);
	free(s->t.password);
	free(s->stream);
	free(s->group);
	free(s->group_start);
	free(s->consumer);
	free(s->dlq);
	free(s->body_field);
	free(s->arn);
	s->magic = 0;
	free(s);
}

void rs_close(void *ud)
{
	struct rs_src *s = ud;

	s->src = NULL; /* going: nothing more is reported through it */
	atomic_store(&s->rt, NULL);
	pthread_mutex_lock(&s->tx_lock);
	flush_acks(s, &s->tx); /* what is left stays pending in Redis */
	pthread_mutex_unlock(&s->tx_lock);
	rs_src_free(s);
}

/* ---- making one ------------------------------------------------------------------------- */

static char *dup_or(const char *s, const char *def)
{
	return s || def ? strdup(s ? s : def) : NULL;
}

static char *default_consumer(void)
{
	char host[128] = "host", *out;

	gethostname(host, sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	if (!(out = malloc(strlen(host) + 24)))
		return NULL;
	sprintf(out, "%s-%ld", host, (long)getpid());
	return out;
}

static int make_state(struct rs_src **out, const faas_redis_source_options_t *o)
{
	struct rs_src *s = calloc(1, sizeof(*s));
	char port[16];

	if (!s)
		return FAAS_ENOMEM;
	s->magic = RS_MAGIC;
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->tx_lock, NULL);
	pthread_mutex_init(&s->rx_lock, NULL);
	s->t.host = dup_or(o->host, "127.0.0.1");
	s->t.unix_socket = dup_or(o->unix_socket, NULL);
	s->t.username = dup_or(o->username, NULL);
	s->t.password = dup_or(o->password, NULL);
	s->t.port = o->port ? o->port : 6379;
	s->t.database = o->database;
	s->t.connect_ms = o->connect_timeout_ms ? o->connect_timeout_ms : 1000;
	s->t.command_ms = o->command_timeout_ms ? o->command_timeout_ms : 5000;
	s->t.block_ms = o->block_ms ? o->block_ms : 200;
	s->t.backoff_min_ms = o->reconnect_min_ms ? o->reconnect_min_ms : 100;
	s->t.backoff_max_ms = o->reconnect_max_ms ? o->reconnect_max_ms : 5000;
	if (s->t.backoff_max_ms < s->t.backoff_min_ms)
		s->t.backoff_max_ms = s->t.backoff_min_ms;
	s->stream = strdup(o->stream);
	s->group = strdup(o->group);
	s->group_start = dup_or(o->group_start, "0");
	s->consumer = o->consumer ? strdup(o->consumer) : default_consumer();
	s->body_field = dup_or(o->body_field, "body");
	s->claim_idle_ms = o->claim_idle_ms ? o->claim_idle_ms : 30000;
	s->batch_max = o->batch_size;
	s->max_deliveries = o->max_deliveries ? o->max_deliveries : 5;
	atomic_init(&s->flush_at, 10);
	snprintf(s->cursor, sizeof(s->cursor), "0-0");
	snprintf(port, sizeof(port), "%d", s->t.port);
	s->dlq = o->dead_letter_stream ? strdup(o->dead_letter_stream)
	                               : malloc(strlen(o->stream) + sizeof(":dead-letter"));
	if (s->dlq && !o->dead_letter_stream)
		sprintf(s->dlq, "%s:dead-letter", o->stream);
	s->arn = malloc(strlen(s->t.unix_socket ? s->t.unix_socket : s->t.host) + strlen(port) +
	                strlen(o->stream) + 48);
	if (s->arn) {
		if (s->t.unix_socket)
			sprintf(s->arn, "redis+unix://%s/%d/%s", s->t.unix_socket, s->t.database, o->stream);
		else
			sprintf(s->arn, "redis://%s:%s/%d/%s", s->t.host, port, s->t.database, o->stream);
	}
	s->rx.t = s->tx.t = &s->t;
	s->rx.backoff_ms = s->tx.backoff_ms = s->t.backoff_min_ms;
	s->nm = (struct rs_names){ s->arn, s->stream, s->group, s->body_field };
	*out = s;
	if (!s->t.host || (o->unix_socket && !s->t.unix_socket) || (o->username && !s->t.username) ||
	    (o->password && !s->t.password) || !s->stream || !s->group || !s->group_start ||
	    !s->consumer || !s->body_field || !s->dlq || !s->arn)
		return FAAS_ENOMEM;
	return 0;
}

int rs_src_open(struct rs_src **out, const faas_redis_source_options_t *o, faas_error_detail_t *d)
{
	struct rs_src *s = NULL;
	int rc;

	*out = NULL;
	faas_error_set(d, 0, NULL);
	if (!o || o->version != FAAS_REDIS_SOURCE_OPTIONS_VERSION)
		return faas_error_set(d, FAAS_EINVAL, "options missing or of an unknown version");
	if (!o->stream || !o->stream[0] || !o->group || !o->group[0])
		return faas_error_set(d, FAAS_EINVAL, "a Redis source needs a stream and a group");
	if (o->port < 0 || o->port > 65535 || o->database < 0)
		return faas_error_set(d, FAAS_EINVAL, "port or database out of range");
	if (o->consumer && !o->consumer[0])
		return faas_error_set(d, FAAS_EINVAL, "the consumer name must not be empty");
	if ((rc = make_state(&s, o)) != 0) {
		rs_src_free(s);
		return faas_error_set(d, rc, "out of memory");
	}
	if ((rc = rs_conn_ensure(&s->rx, rs_report, s)) != 0 || (rc = create_group(s, &s->rx)) != 0) {
		faas_error_set(d, rc, "Redis at %s: %s", s->arn, s->last_error);
		rs_src_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

int RS_EXPORT faas_redis_source_new(faas_source_t **out, const faas_redis_source_options_t *o,
                                    faas_error_detail_t *d)
{
	faas_source_ops_t ops = { FAAS_SOURCE_OPS_VERSION, "redis:stream", NULL, "body", rs_receive,
		                  rs_ack, rs_nack, rs_release, rs_close, 0, 0, NULL, rs_ack, 1, rs_fail };
	struct rs_src *s;
	int rc;

	if (!out)
		return faas_error_set(d, FAAS_EINVAL, "out must not be NULL");
	*out = NULL;
	if ((rc = rs_src_open(&s, o, d)) != 0)
		return rc;
	ops.arn = s->arn;
	if ((rc = faas_source_new(out, &ops, s, d)) != 0) {
		rs_src_free(s);
		return rc;
	}
	s->src = *out;
	return 0;
}

int RS_EXPORT faas_redis_source_stats(faas_source_t *src, faas_redis_stats_t *out)
{
	struct rs_src *s = faas_source_user_data(src, rs_receive);

	if (!s || s->magic != RS_MAGIC || !out || out->version != FAAS_REDIS_STATS_VERSION)
		return FAAS_EINVAL;
	out->received = atomic_load(&s->received);
	out->claimed = atomic_load(&s->claimed);
	out->acked = atomic_load(&s->acked);
	out->failed = atomic_load(&s->failed);
	out->released = atomic_load(&s->nreleased);
	out->dead_lettered = atomic_load(&s->dead);
	out->connects = atomic_load(&s->connects);
	out->errors = atomic_load(&s->errors);
	pthread_mutex_lock(&s->lock);
	out->ack_backlog = s->acks.n;
	snprintf(out->last_error, sizeof(out->last_error), "%.*s", (int)sizeof(out->last_error) - 1,
	         s->last_error);
	pthread_mutex_unlock(&s->lock);
	snprintf(out->consumer, sizeof(out->consumer), "%s", s->consumer);
	return 0;
}
