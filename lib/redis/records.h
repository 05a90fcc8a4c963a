/*
 * libfaas-redis — internal: stream entries as source records (records.c).
 */
#ifndef FAAS_REDIS_RECORDS_H
#define FAAS_REDIS_RECORDS_H

#include "redis_int.h"

#include <jansson.h>

/* An entry ID: two 64-bit numbers and a dash. */
#define RS_ID_MAX 48

/* What every record of a source says about where it comes from. */
struct rs_names {
	const char *arn, *stream, *group, *body_field;
};

/* A well-formed entry: [id, [field, value, ...]] (a deleted one is not). */
RS_INTERNAL bool rs_entry_ok(const redisReply *e);
/* The record of entry @p e (rs_entry_ok), delivered @p deliveries times;
 * its handle is "<id> <deliveries>". 0 or FAAS_ENOMEM. */
RS_INTERNAL int rs_entry_record(const struct rs_names *nm, const redisReply *e,
                                uint32_t deliveries, faas_source_record_t *r);
/* Back from a handle. 0 or FAAS_EINVAL. */
RS_INTERNAL int rs_handle_parse(const char *handle, char id[RS_ID_MAX], uint32_t *deliveries);

#endif /* FAAS_REDIS_RECORDS_H */
