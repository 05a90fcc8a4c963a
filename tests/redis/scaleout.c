/*
 * The scale-out proof on real processes: a private redis-server, three
 * redis_worker processes sharing one stream, a producer adding N records
 * (every 1000th a poison record), one worker killed with SIGKILL mid-run
 * and Redis restarted once. At the end every good record was processed at
 * least once (duplicates are counted and reported, as at-least-once
 * allows), every poison record is in the dead-letter stream with its
 * delivery count, nothing is pending, nothing is lost.
 *
 * Usage: redis_scaleout WORKER [N]     (bounded: fails after 180 s)
 */
#include "redis/server.h"

#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WORKERS 3
#define POISON_EVERY 1000
#define MAX_DELIVERIES 3
#define DEADLINE_S 180

static struct test_redis srv;
static pid_t workers[WORKERS];
static char outs[WORKERS][128];

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *why)
{
	fprintf(stderr, "redis_scaleout: FAILED: %s\n", why);
	for (int i = 0; i < WORKERS; i++)
		if (workers[i] > 0)
			kill(workers[i], SIGKILL);
	test_redis_destroy(&srv);
	exit(1);
}

static redisContext *connect_redis(void)
{
	struct timeval tv = { 5, 0 };
	redisContext *c = redisConnectWithTimeout("127.0.0.1", srv.port, tv);

	if (!c || c->err)
		die("cannot connect to the test redis");
	return c;
}

static long long int_reply(redisContext *c, const char *fmt, const char *a, const char *b)
{
	redisReply *r = redisCommand(c, fmt, a, b);
	long long v = -1;

	if (r && r->type == REDIS_REPLY_INTEGER)
		v = r->integer;
	else if (r && r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
	         r->element[0]->type == REDIS_REPLY_INTEGER)
		v = r->element[0]->integer; /* XPENDING's summary */
	freeReplyObject(r);
	return v;
}

static pid_t start_worker(const char *exe, int i)
{
	char port[16];
	pid_t pid = fork();

	snprintf(port, sizeof(port), "%d", srv.port);
	if (pid == 0) {
		execl(exe, exe, "--port", port, "--stream", "jobs", "--group", "workers", "--out",
		      outs[i], "--claim-idle", "2000", "--max-deliveries", "3", "--batch", "100",
		      (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* Add records [from, to): body {"n":i}, or a poison one. */
static void produce(redisContext *c, long from, long to)
{
	long i, sent = 0;

	for (i = from; i < to; i++) {
		char body[64];
		snprintf(body, sizeof(body), i % POISON_EVERY == 0 ? "{\"n\":%ld,\"poison\":true}"
		                                                   : "{\"n\":%ld}", i);
		redisAppendCommand(c, "XADD jobs * body %s", body);
		if (++sent == 1000 || i + 1 == to) {
			for (long k = 0; k < sent; k++) {
				void *r;
				if (redisGetReply(c, &r) != REDIS_OK)
					die("XADD failed");
				freeReplyObject(r);
			}
			sent = 0;
		}
	}
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lines of every output file: total, distinct. */
static void count(long *total, long *distinct, bool exact)
{
	size_t cap = 1024, n = 0;
	char **ids = exact ? malloc(cap * sizeof(*ids)) : NULL, line[64];

	*total = *distinct = 0;
	for (int i = 0; i < WORKERS; i++) {
		FILE *f = fopen(outs[i], "r");
		while (f && fgets(line, sizeof(line), f)) {
			(*total)++;
			if (!exact)
				continue;
			if (n == cap && !(ids = realloc(ids, (cap *= 2) * sizeof(*ids))))
				die("out of memory");
			if (!(ids[n++] = strdup(line)))
				die("out of memory");
		}
		if (f)
			fclose(f);
	}
	if (!exact)
		return;
	qsort(ids, n, sizeof(*ids), cmp);
	for (size_t i = 0; i < n; i++)
		*distinct += i == 0 || strcmp(ids[i], ids[i - 1]) != 0;
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

int main(int argc, char **argv)
{
	long n = argc > 2 ? atol(argv[2]) : 100000, poison = (n + POISON_EVERY - 1) / POISON_EVERY;
	long total = 0, distinct = 0, good = n - poison;
	double t0 = now_s();
	redisContext *c;
	redisReply *r;
	bool killed = false;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2 || n < 2000)
		die("usage: redis_scaleout WORKER [N >= 2000]");
	if (test_redis_start(&srv, 0) != 0)
		die("cannot start redis-server");
	for (int i = 0; i < WORKERS; i++)
		snprintf(outs[i], sizeof(outs[i]), "%s/worker-%d.out", srv.dir, i);
	c = connect_redis();
	freeReplyObject(redisCommand(c, "XGROUP CREATE jobs workers 0 MKSTREAM"));
	for (int i = 0; i < WORKERS; i++)
		workers[i] = start_worker(argv[1], i);
	produce(c, 0, n * 6 / 10);
	/* kill one worker with SIGKILL once it is busy */
	while (!killed && now_s() - t0 < DEADLINE_S) {
		count(&total, &distinct, false);
		if (total >= n / 5) {
			kill(workers[0], SIGKILL);
			waitpid(workers[0], NULL, 0);
			workers[0] = 0;
			killed = true;
			printf("redis_scaleout: worker 0 killed (SIGKILL) after %ld records\n", total);
		}
		usleep(20000);
	}
	/* restart Redis: the workers lose their connections and come back */
	redisFree(c);
	if (test_redis_restart(&srv) != 0)
		die("cannot restart redis-server");
	printf("redis_scaleout: redis-server restarted\n");
	c = connect_redis();
	produce(c, n * 6 / 10, n);
	printf("redis_scaleout: %ld records added (%ld poison)\n", n, poison);
	/* until every good record is done, every poison one dead-lettered, nothing pending */
	for (;;) {
		long long dead = int_reply(c, "XLEN %s", "jobs:dead-letter", NULL);
		long long pend = int_reply(c, "XPENDING %s %s", "jobs", "workers");
		count(&total, &distinct, true);
		if (distinct >= good && dead >= poison && pend == 0)
			break;
		if (now_s() - t0 > DEADLINE_S) {
			fprintf(stderr, "distinct %ld of %ld, dead-lettered %lld of %ld, pending %lld\n",
			        distinct, good, dead, poison, pend);
			die("not done in time");
		}
		usleep(200000);
	}
	for (int i = 1; i < WORKERS; i++) {
		int st;
		kill(workers[i], SIGTERM);
		waitpid(workers[i], &st, 0);
		workers[i] = 0;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			die("a worker did not stop cleanly");
	}
	count(&total, &distinct, true);
	if (distinct != good)
		die("a record was processed that should not have been, or one is missing");
	/* the dead letters: exactly the poison records, each delivered MAX_DELIVERIES times
	 * (or more: a killed consumer's deliveries count too) */
	r = redisCommand(c, "XRANGE jobs:dead-letter - +");
	if (!r || r->type != REDIS_REPLY_ARRAY || (long)r->elements != poison)
		die("the dead-letter stream does not hold exactly the poison records");
	for (size_t i = 0; i < r->elements; i++) {
		redisReply *f = r->element[i]->element[1];
		bool is_poison = false, counted = false;
		for (size_t j = 0; j + 1 < f->elements; j += 2) {
			if (!strcmp(f->element[j]->str, "body"))
				is_poison = strstr(f->element[j + 1]->str, "poison") != NULL;
			if (!strcmp(f->element[j]->str, "faas-deliveries"))
				counted = atoi(f->element[j + 1]->str) >= MAX_DELIVERIES;
		}
		if (!is_poison || !counted)
			die("a dead letter is not a poison record with its delivery count");
	}
	freeReplyObject(r);
	if (int_reply(c, "XPENDING %s %s", "jobs", "workers") != 0)
		die("entries are still pending");
	printf("redis_scaleout: OK: %ld records, %ld processed by %d workers (%ld duplicates, "
	       "at least once), %ld poison dead-lettered, 0 pending, in %.1f s\n",
	       n, total, WORKERS, total - distinct, poison, now_s() - t0);
	redisFree(c);
	test_redis_destroy(&srv);
	return 0;
}
