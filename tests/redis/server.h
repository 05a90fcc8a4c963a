/*
 * A private redis-server for tests: on a free loopback port, with its data
 * (an append-only file, fsync always) in a temporary directory, so that a
 * restart keeps every acknowledged write. Used by check_redis and the
 * scale-out test.
 */
#ifndef FAAS_TEST_REDIS_SERVER_H
#define FAAS_TEST_REDIS_SERVER_H

#include <sys/types.h>

struct test_redis {
	pid_t pid;
	int port;
	char dir[64];
};

/* Start one (port 0: pick a free one). 0, or -1 with a message on stderr. */
int test_redis_start(struct test_redis *r, int port);
/* SIGTERM (Redis writes its files and exits) and wait. */
void test_redis_stop(struct test_redis *r);
/* Stop, then start again on the same port and directory. */
int test_redis_restart(struct test_redis *r);
/* Stop and remove the directory. */
void test_redis_destroy(struct test_redis *r);

#endif
