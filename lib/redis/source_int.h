/*
 * libfaas-redis — internal: a source's state (source.c), shared with the
 * durable async store built on it (store.c).
 */
#ifndef FAAS_REDIS_SOURCE_INT_H
#define FAAS_REDIS_SOURCE_INT_H

#include "records.h"

#define RS_MAGIC 0x72656473u /* "reds" */
#define RS_ERROR_MESSAGE_MAX 1024

/* IDs waiting for a round trip: acknowledgements, or entries given back. */
struct rs_ids {
	char (*id)[RS_ID_MAX];
	uint32_t *deliveries;
	uint64_t *at_ns; /* when it was put on the list (rs_now_ns) */
	size_t n, cap;
};

struct rs_src {
	unsigned magic;
	faas_source_t *src; /* the handle over this state (not a reference); NULL when closing */
	struct rs_target t;
	struct rs_names nm;
	char *stream, *group, *group_start, *consumer, *dlq, *body_field, *arn;
	uint32_t claim_idle_ms, max_deliveries, batch_max;
	bool delete_acked; /* the async store: XDEL what is acknowledged */
	faas_async_store_ops_t store_ops; /* the async store's (store.c) */
	faas_runtime_t *_Atomic rt;       /* the store's runtime: where problems are reported */
	_Atomic uint32_t flush_at; /* acknowledgements sent together: the last receive's max */
	pthread_mutex_t rx_lock; /* one receive at a time (mappings over one source) */
	struct rs_conn rx;       /* receive's */
	pthread_mutex_t tx_lock;
	struct rs_conn tx; /* the workers' */
	pthread_mutex_t lock;
	struct rs_ids acks, released;
	char last_error[256];
	uint64_t next_claim_ns; /* receive's */
	char cursor[RS_ID_MAX];
	_Atomic uint64_t received, claimed, acked, failed, nreleased, dead, connects, errors;
};

RS_INTERNAL void rs_report(void *arg, int code, const char *what, const char *why);
RS_INTERNAL bool rs_reply_failed(struct rs_src *s, const redisReply *r, const char *what);
RS_INTERNAL int rs_receive(void *ud, uint32_t max, uint32_t visibility_ms,
                           faas_source_record_t *out, size_t *n);
RS_INTERNAL void rs_ack(void *ud, const faas_source_record_t *r);
RS_INTERNAL void rs_release(void *ud, const faas_source_record_t *r);
RS_INTERNAL void rs_close(void *ud);
RS_INTERNAL void rs_src_free(struct rs_src *s);
/* State for @p o, connected, its group made: 0 or an error in d (nothing left). */
RS_INTERNAL int rs_src_open(struct rs_src **out, const faas_redis_source_options_t *o,
                            faas_error_detail_t *d);

#endif /* FAAS_REDIS_SOURCE_INT_H */
