/*
 * libfaas-redis — internal: connections and the source's state.
 * Only the public libfaas API is used from here (the add-on links -lfaas).
 */
#ifndef FAAS_REDIS_INT_H
#define FAAS_REDIS_INT_H

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "faas/redis.h"

#define RS_EXPORT __attribute__((visibility("default")))
#define RS_INTERNAL __attribute__((visibility("hidden")))

/* Where and how to connect; the strings are the source's copies. */
struct rs_target {
	char *host, *unix_socket, *username, *password;
	int port, database;
	uint32_t connect_ms, command_ms, block_ms;
	uint32_t backoff_min_ms, backoff_max_ms;
};

/* One connection, redialled with capped exponential backoff. */
struct rs_conn {
	redisContext *c;
	const struct rs_target *t;
	uint64_t next_try_ns; /* no dial before (monotonic) */
	uint32_t backoff_ms;  /* the next wait after a failure */
};

/* Something went wrong: counted, remembered and reported (source.c). */
typedef void (*rs_report_fn)(void *arg, int code, const char *what, const char *why);

RS_INTERNAL uint64_t rs_now_ns(void);
/* Connected (dialling when due)? 0, or FAAS_EAGAIN while backing off, or the
 * dial's error (FAAS_ETIMEDOUT: unreachable; FAAS_EPRECONDITION: refused). */
RS_INTERNAL int rs_conn_ensure(struct rs_conn *k, rs_report_fn report, void *arg);
/* Drop a broken connection (the next ensure dials after the backoff). */
RS_INTERNAL void rs_conn_drop(struct rs_conn *k);
RS_INTERNAL void rs_conn_close(struct rs_conn *k);
/* A command: argv with explicit lengths (binary safe). */
struct rs_cmd {
	int argc;
	const char **argv;
	const size_t *lens;
};

/* Send n commands at once and read n replies into out (free each). On a
 * lost connection every reply is freed, out[] NULLed, the connection
 * dropped and reported: FAAS_ETIMEDOUT; FAAS_EAGAIN while backing off. */
RS_INTERNAL int rs_pipeline(struct rs_conn *k, size_t n, const struct rs_cmd *cmds,
                            redisReply **out, rs_report_fn report, void *arg);
/* One command: its reply (free it), or NULL with the reason in *rc. */
RS_INTERNAL redisReply *rs_command(struct rs_conn *k, const struct rs_cmd *cmd, rs_report_fn report,
                                   void *arg, int *rc);

#endif /* FAAS_REDIS_INT_H */
