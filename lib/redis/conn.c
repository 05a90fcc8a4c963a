/*
 * libfaas-redis — connections: dial (TCP or unix socket, AUTH, SELECT),
 * commands and pipelines, and redialling with capped exponential backoff.
 * A connection is used by one thread at a time (its owner's lock).
 */
#include "redis_int.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

uint64_t rs_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static struct timeval tv_of(uint32_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000u), (suseconds_t)(ms % 1000u) * 1000 };

	return tv;
}

void rs_conn_drop(struct rs_conn *k)
{
	if (k->c)
		redisFree(k->c);
	k->c = NULL;
}

void rs_conn_close(struct rs_conn *k)
{
	rs_conn_drop(k);
}

/* The next dial waits the backoff, which doubles up to its cap. */
static void back_off(struct rs_conn *k)
{
	const struct rs_target *t = k->t;

	rs_conn_drop(k);
	if (k->backoff_ms < t->backoff_min_ms)
		k->backoff_ms = t->backoff_min_ms;
	k->next_try_ns = rs_now_ns() + (uint64_t)k->backoff_ms * 1000000u;
	k->backoff_ms = k->backoff_ms >= t->backoff_max_ms / 2 ? t->backoff_max_ms : k->backoff_ms * 2;
}

/* AUTH and SELECT on a new connection: 0, or the refusal's text in why. */
static int hello(struct rs_conn *k, char *why, size_t size)
{
	const struct rs_target *t = k->t;
	char db[16];
	redisReply *r;

	if (t->password) {
		if (t->username)
			r = redisCommand(k->c, "AUTH %s %s", t->username, t->password);
		else
			r = redisCommand(k->c, "AUTH %s", t->password);
		if (!r || r->type == REDIS_REPLY_ERROR) {
			snprintf(why, size, "AUTH: %s", r ? r->str : k->c->errstr);
			freeReplyObject(r);
			return r ? FAAS_EPRECONDITION : FAAS_ETIMEDOUT;
		}
		freeReplyObject(r);
	}
	if (t->database) {
		snprintf(db, sizeof(db), "%d", t->database);
		r = redisCommand(k->c, "SELECT %s", db);
		if (!r || r->type == REDIS_REPLY_ERROR) {
			snprintf(why, size, "SELECT %d: %s", t->database, r ? r->str : k->c->errstr);
			freeReplyObject(r);
			return r ? FAAS_EPRECONDITION : FAAS_ETIMEDOUT;
		}
		freeReplyObject(r);
	}
	return 0;
}

int rs_conn_ensure(struct rs_conn *k, rs_report_fn report, void *arg)
{
	const struct rs_target *t = k->t;
	char why[256];
	int rc;

	if (k->c)
		return 0;
	if (k->next_try_ns && rs_now_ns() < k->next_try_ns)
		return FAAS_EAGAIN;
	k->c = t->unix_socket ? redisConnectUnixWithTimeout(t->unix_socket, tv_of(t->connect_ms))
	                      : redisConnectWithTimeout(t->host, t->port, tv_of(t->connect_ms));
	if (!k->c || k->c->err) {
		snprintf(why, sizeof(why), "%s", k->c ? k->c->errstr : "out of memory");
		back_off(k);
		report(arg, FAAS_ETIMEDOUT, "connect", why);
		return FAAS_ETIMEDOUT;
	}
	/* a BLOCK read waits block_ms on top of the command timeout */
	redisSetTimeout(k->c, tv_of(t->command_ms + t->block_ms));
	redisEnableKeepAlive(k->c);
	if ((rc = hello(k, why, sizeof(why))) != 0) {
		back_off(k);
		report(arg, rc, "connect", why);
		return rc;
	}
	k->backoff_ms = t->backoff_min_ms;
	k->next_try_ns = 0;
	report(arg, 0, "connect", NULL); /* counted, not an error */
	return 0;
}

int rs_pipeline(struct rs_conn *k, size_t n, const struct rs_cmd *cmds, redisReply **out,
                rs_report_fn report, void *arg)
{
	char why[256];
	size_t i;
	int rc;

	for (i = 0; i < n; i++)
		out[i] = NULL;
	if ((rc = rs_conn_ensure(k, report, arg)) != 0)
		return rc;
	for (i = 0; i < n; i++)
		if (redisAppendCommandArgv(k->c, cmds[i].argc, cmds[i].argv, cmds[i].lens) != REDIS_OK)
			goto lost;
	for (i = 0; i < n; i++) {
		void *r = NULL;
		if (redisGetReply(k->c, &r) != REDIS_OK)
			goto lost;
		out[i] = r;
	}
	return 0;
lost:
	snprintf(why, sizeof(why), "%s", k->c->errstr[0] ? k->c->errstr : "connection lost");
	for (i = 0; i < n; i++) {
		freeReplyObject(out[i]);
		out[i] = NULL;
	}
	back_off(k);
	report(arg, FAAS_ETIMEDOUT, cmds[0].argv[0], why);
	return FAAS_ETIMEDOUT;
}

redisReply *rs_command(struct rs_conn *k, const struct rs_cmd *cmd, rs_report_fn report, void *arg,
                       int *rc)
{
	redisReply *r;

	*rc = rs_pipeline(k, 1, cmd, &r, report, arg);
	return r;
}
