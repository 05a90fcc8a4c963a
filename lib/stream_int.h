/*
 * libfaas — private interface of the built-in stream (stream.c) for its
 * event source (stream_source.c).
 */
#ifndef FAAS_STREAM_INT_H
#define FAAS_STREAM_INT_H

#include "dispatch.h"

#include "faas/stream.h"

/* One record, immutable once in its shard: key (NUL-terminated) then data. */
struct srec {
	uint64_t seq;
	uint64_t hash; /* top 64 bits of the key's MD5 */
	uint64_t arrival_ns; /* runtime clock */
	int64_t arrival_ms;  /* wall time */
	uint32_t lineage;    /* put from a handler: its request chain, else 0 */
	size_t key_len, len;
	char bytes[];
};

static inline const char *faas__srec_key(const struct srec *r)
{
	return r->bytes;
}

static inline const unsigned char *faas__srec_data(const struct srec *r)
{
	return (const unsigned char *)r->bytes + r->key_len + 1;
}

FAAS_INTERNAL void faas__stream_ref(faas_stream_t *s);
FAAS_INTERNAL void faas__stream_unref(faas_stream_t *s);
FAAS_INTERNAL faas_runtime_t *faas__stream_runtime(const faas_stream_t *s);
FAAS_INTERNAL const char *faas__stream_name(const faas_stream_t *s);
FAAS_INTERNAL void faas__stream_seq_text(uint64_t seq, char out[FAAS_STREAM_SEQ_MAX]);
FAAS_INTERNAL bool faas__stream_seq_parse(const char *text, uint64_t *seq);
FAAS_INTERNAL void faas__shard_id(uint32_t shard, char out[FAAS_STREAM_SHARD_ID_MAX]);

/* Called under the stream's lock for each record read: 1 taken, 0 passed
 * over (not counted), -1 stop. */
typedef int (*faas__stream_visit_fn)(const struct srec *r, void *arg);
/* Visit live records of @p shard from sequence @p from on, only those of
 * @p lane (key hash % lanes) when lanes > 1, until @p max are taken;
 * returns how many were. */
FAAS_INTERNAL size_t faas__stream_read(faas_stream_t *s, uint32_t shard, uint64_t from,
                                       uint32_t lanes, uint32_t lane, size_t max,
                                       faas__stream_visit_fn visit, void *arg);
/* The sequence the next put gets (LATEST). */
FAAS_INTERNAL uint64_t faas__stream_next_seq(faas_stream_t *s);
/* The first sequence of @p shard that arrived at or after @p wall_ms. */
FAAS_INTERNAL uint64_t faas__stream_seq_at(faas_stream_t *s, uint32_t shard, int64_t wall_ms);

#endif /* FAAS_STREAM_INT_H */
