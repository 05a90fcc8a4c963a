/*
 * libfaas-redis — a durable store for Event invocations (faas/async.h's
 * faas_async_store_ops_t) over a Redis stream and consumer group, built on
 * the source's state (source.c): the same connections, claiming,
 * grouped acknowledgements and dead-letter stream.
 *
 *   put    XADD stream * envelope <text>            (tx, at once)
 *   take   what receive hands out: released, claimed, new entries (rx)
 *   done   XACK + XDEL, grouped like a source's acks
 *   again  one script: XADD (the next state), XACK, XDEL the old (tx)
 *   hold   a script: XCLAIM ... 0 id JUSTID for each entry still pending
 *          under this consumer: they stay idle 0 here (rx)
 *   leave  XCLAIM ... IDLE claim_idle_ms RETRYCOUNT d-1 JUSTID: free for the
 *          others' next claim, this delivery not counted (tx)
 * An entry delivered more than max_deliveries times without an end (its
 * runtimes kept dying) goes to the dead-letter stream, as a record does.
 */
#include "source_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STORE_TAKE_MAX 64

static int st_put(void *ud, const char *envelope, size_t len, faas_error_detail_t *d)
{
	struct rs_src *s = ud;
	const char *argv[] = { "XADD", s->stream, "*", "envelope", envelope };
	size_t lens[] = { 4, strlen(s->stream), 1, 8, len };
	struct rs_cmd cmd = { 5, argv, lens };
	redisReply *r;
	int rc;

	pthread_mutex_lock(&s->tx_lock);
	r = rs_command(&s->tx, &cmd, rs_report, s, &rc);
	pthread_mutex_unlock(&s->tx_lock);
	if (r && r->type == REDIS_REPLY_ERROR) {
		rs_report(s, FAAS_EPRECONDITION, "XADD", r->str);
		rc = FAAS_EPRECONDITION;
	}
	freeReplyObject(r);
	if (rc != 0) {
		pthread_mutex_lock(&s->lock);
		faas_error_set(d, rc == FAAS_EAGAIN ? FAAS_ETIMEDOUT : rc, "Redis: %s", s->last_error);
		pthread_mutex_unlock(&s->lock);
		return rc == FAAS_EAGAIN ? FAAS_ETIMEDOUT : rc;
	}
	return 0;
}

static int st_take(void *ud, size_t max, faas_async_stored_t *out, size_t *n)
{
	struct rs_src *s = ud;
	faas_source_record_t recs[STORE_TAKE_MAX];
	size_t k = 0, i;
	int rc;

	*n = 0;
	if (max > STORE_TAKE_MAX)
		max = STORE_TAKE_MAX;
	if ((rc = rs_receive(s, (uint32_t)max, 0, recs, &k)) != 0)
		return rc;
	for (i = 0; i < k; i++) {
		const char *text = json_string_value(
		        json_object_get(json_object_get(recs[i].record, "fields"), "envelope"));
		json_t *env = text ? json_loads(text, 0, NULL) : NULL;
		out[*n].envelope = env ? env : json_object(); /* unreadable: the runtime drops it */
		snprintf(out[*n].token, sizeof(out[*n].token), "%s", recs[i].handle);
		json_decref(recs[i].record);
		if (out[*n].envelope)
			(*n)++;
	}
	return 0;
}

static void st_done(void *ud, const char *token)
{
	faas_source_record_t r;

	memset(&r, 0, sizeof(r));
	snprintf(r.handle, sizeof(r.handle), "%s", token);
	rs_ack(ud, &r);
}

/* The next state in, the old entry acknowledged and deleted, as one
 * script; when the old one was no longer pending (another runtime ended it
 * or moved it on), the new one goes again: 1, or 0. */
static const char again_lua[] =
        "local nid = redis.call('XADD', KEYS[1], '*', 'envelope', ARGV[3]) "
        "if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then "
        "redis.call('XDEL', KEYS[1], nid) return 0 end "
        "redis.call('XDEL', KEYS[1], ARGV[2]) return 1";

static int st_again(void *ud, const char *token, const char *envelope, size_t len)
{
	struct rs_src *s = ud;
	char id[RS_ID_MAX];
	uint32_t deliveries;
	const char *argv[] = { "EVAL", again_lua, "1", s->stream, s->group, id, envelope };
	size_t lens[7];
	struct rs_cmd cmd = { 7, argv, lens };
	redisReply *r;
	int rc;

	if (rs_handle_parse(token, id, &deliveries) != 0)
		return FAAS_EINVAL;
	for (int i = 0; i < 6; i++)
		lens[i] = strlen(argv[i]);
	lens[6] = len;
	pthread_mutex_lock(&s->tx_lock);
	r = rs_command(&s->tx, &cmd, rs_report, s, &rc);
	pthread_mutex_unlock(&s->tx_lock);
	if (!r)
		return rc;
	if (r->type == REDIS_REPLY_ERROR) {
		rs_reply_failed(s, r, "again");
		rc = FAAS_EPRECONDITION;
	} else if (r->type == REDIS_REPLY_INTEGER && r->integer == 0) {
		rc = FAAS_ECONFLICT; /* not ours any more */
	}
	freeReplyObject(r);
	return rc;
}

/* Still held here: each entry that is pending under this consumer is made
 * idle again (XCLAIM JUSTID: no delivery counted); one another consumer
 * claimed meanwhile (this runtime stalled past claim_idle_ms) is left to it. */
static const char hold_lua[] =
        "local kept = 0 "
        "for i = 3, #ARGV do "
        "local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1) "
        "if p[1] and p[1][2] == ARGV[2] then "
        "redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID') "
        "kept = kept + 1 end end return kept";

static void st_hold(void *ud, const char *const *tokens, size_t n)
{
	struct rs_src *s = ud;
	const char **argv = malloc((n + 6) * sizeof(*argv));
	size_t *lens = malloc((n + 6) * sizeof(*lens)), i, k = 6;
	char (*ids)[RS_ID_MAX] = malloc((n ? n : 1) * sizeof(*ids));
	struct rs_cmd cmd;
	int rc;

	if (argv && lens && ids) {
		argv[0] = "EVAL", argv[1] = hold_lua, argv[2] = "1", argv[3] = s->stream;
		argv[4] = s->group, argv[5] = s->consumer;
		for (i = 0; i < n; i++) {
			uint32_t d;
			if (rs_handle_parse(tokens[i], ids[i], &d) == 0)
				argv[k++] = ids[i];
		}
		for (i = 0; i < k; i++)
			lens[i] = strlen(argv[i]);
		cmd = (struct rs_cmd){ (int)k, argv, lens };
		pthread_mutex_lock(&s->rx_lock);
		if (k > 6) {
			redisReply *r = rs_command(&s->rx, &cmd, rs_report, s, &rc);
			if (r && r->type == REDIS_REPLY_ERROR)
				rs_reply_failed(s, r, "hold");
			freeReplyObject(r);
		}
		pthread_mutex_unlock(&s->rx_lock);
	}
	free(argv);
	free(lens);
	free(ids);
}

/* Given back unrun: idle as long as claim_idle_ms already, and the delivery
 * uncounted, so another runtime's next XAUTOCLAIM takes it. */
static void st_leave(void *ud, const char *token)
{
	struct rs_src *s = ud;
	char id[RS_ID_MAX], idle[16], count[16];
	uint32_t d;
	const char *argv[] = { "XCLAIM", s->stream, s->group, s->consumer, "0", id,
		               "IDLE", idle, "RETRYCOUNT", count, "JUSTID" };
	size_t lens[11];
	struct rs_cmd cmd = { 11, argv, lens };
	int rc;

	if (rs_handle_parse(token, id, &d) != 0)
		return;
	snprintf(idle, sizeof(idle), "%u", s->claim_idle_ms);
	snprintf(count, sizeof(count), "%u", d ? d - 1 : 0);
	for (int i = 0; i < 11; i++)
		lens[i] = strlen(argv[i]);
	pthread_mutex_lock(&s->tx_lock);
	freeReplyObject(rs_command(&s->tx, &cmd, rs_report, s, &rc));
	pthread_mutex_unlock(&s->tx_lock);
}

static void st_attach(void *ud, faas_runtime_t *rt)
{
	atomic_store(&((struct rs_src *)ud)->rt, rt);
}

int RS_EXPORT faas_redis_async_store(faas_runtime_options_t *ro,
                                     const faas_redis_source_options_t *o,
                                     faas_error_detail_t *d)
{
	struct rs_src *s;
	int rc;

	if (!ro || ro->version != FAAS_RUNTIME_OPTIONS_VERSION)
		return faas_error_set(d, FAAS_EINVAL, "runtime options (FAAS_RUNTIME_OPTIONS_INIT) needed");
	if ((rc = rs_src_open(&s, o, d)) != 0)
		return rc;
	s->delete_acked = true;
	/* held events are claimed again (hold) three times per claim_idle_ms: a
	 * runtime that stops doing so is dead claim_idle_ms later */
	s->store_ops = (faas_async_store_ops_t){ FAAS_ASYNC_STORE_OPS_VERSION, st_put, st_take,
		                                 st_done, st_again, st_hold, rs_close,
		                                 s->claim_idle_ms / 3 ? s->claim_idle_ms / 3 : 1,
		                                 st_attach, st_leave };
	ro->async_store = &s->store_ops;
	ro->async_store_user_data = s;
	return 0;
}
