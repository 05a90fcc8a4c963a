/* A private redis-server for tests (server.h). */
#include "server.h"

#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int free_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static int ping(int port)
{
	struct timeval tv = { 0, 200000 };
	redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
	redisReply *r = c && !c->err ? redisCommand(c, "PING") : NULL;
	int ok = r && r->type == REDIS_REPLY_STATUS;

	freeReplyObject(r);
	if (c)
		redisFree(c);
	return ok;
}

static int spawn(struct test_redis *r)
{
	char port[16], log[96];
	int i;

	snprintf(port, sizeof(port), "%d", r->port);
	snprintf(log, sizeof(log), "%s/redis.log", r->dir);
	if ((r->pid = fork()) < 0)
		return -1;
	if (r->pid == 0) {
		execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1", "--dir",
		       r->dir, "--save", "", "--appendonly", "yes", "--appendfsync", "always",
		       "--logfile", log, "--daemonize", "no", (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 500; i++) { /* up to 5 s */
		int st;
		if (ping(r->port))
			return 0;
		if (waitpid(r->pid, &st, WNOHANG) == r->pid) {
			fprintf(stderr, "redis-server exited (see %s)\n", log);
			r->pid = 0;
			return -1;
		}
		usleep(10000);
	}
	fprintf(stderr, "redis-server did not answer on port %d\n", r->port);
	return -1;
}

int test_redis_start(struct test_redis *r, int port)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->dir, sizeof(r->dir), "/tmp/faas-redis-XXXXXX");
	if (!mkdtemp(r->dir)) {
		perror("mkdtemp");
		return -1;
	}
	for (int tries = 0; tries < 5; tries++) {
		r->port = port ? port : free_port();
		if (r->port > 0 && spawn(r) == 0)
			return 0;
		if (port)
			break;
	}
	return -1;
}

void test_redis_stop(struct test_redis *r)
{
	if (r->pid > 0) {
		kill(r->pid, SIGTERM);
		waitpid(r->pid, NULL, 0);
	}
	r->pid = 0;
}

int test_redis_restart(struct test_redis *r)
{
	test_redis_stop(r);
	return spawn(r);
}

void test_redis_destroy(struct test_redis *r)
{
	char cmd[128];

	test_redis_stop(r);
	if (r->dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", r->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", r->dir);
	}
	r->dir[0] = '\0';
}
