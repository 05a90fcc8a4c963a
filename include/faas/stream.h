/*
 * libfaas — the built-in stream (Kinesis-like) and its event source.
 *
 * A stream has a fixed number of shards. A record goes to the shard whose
 * hash-key range holds the MD5 of its partition key (128-bit, split evenly
 * between shards, as Kinesis does) and gets a sequence number: 26 decimal
 * digits, increasing across the whole stream, so comparing two as strings
 * compares them as numbers. Records are kept for the retention period (on
 * the runtime's clock) and up to a capacity per shard; a full shard
 * answers FAAS_EAGAIN (Kinesis: ProvisionedThroughputExceededException).
 * Every call is thread-safe. A stream belongs to its runtime.
 *
 * faas_stream_source_new() makes an event source (faas/source.h) over a
 * stream with Lambda's stream semantics for a mapping: in order per shard
 * (per partition key with a parallelization factor > 1), one batch per
 * shard (or lane) at a time; a failing batch blocks its shard and is
 * retried until it succeeds, its records are older than the age limit, or
 * the retries run out; then the on-failure destination gets Lambda's
 * record with KinesisBatchInfo and the shard moves on. With partial batch
 * responses the shard checkpoints at the lowest failed sequence number and
 * retries from there (records after it come again: at least once).
 */
#ifndef FAAS_STREAM_H
#define FAAS_STREAM_H

#include <jansson.h>

#include "faas/async.h"
#include "faas/common.h"
#include "faas/error.h"
#include "faas/source.h"

FAAS_BEGIN_DECLS

typedef struct faas_stream faas_stream_t;

#define FAAS_STREAM_OPTIONS_VERSION 1
#define FAAS_STREAM_SEQ_MAX 32         /* a sequence number's text, NUL included */
#define FAAS_STREAM_SHARD_ID_MAX 24    /* "shardId-000000000000" */
#define FAAS_STREAM_KEY_MAX 256        /* partition keys: 1-256 characters */

typedef struct faas_stream_options {
	unsigned version;            /**< FAAS_STREAM_OPTIONS_VERSION */
	uint32_t shards;             /**< 1-64; 0 = 1 */
	uint64_t retention_ms;       /**< 0 = 86400000 (24 h); at most 31536000000 (365 days) */
	uint32_t capacity;           /**< records kept per shard; 0 = 100000 */
	uint32_t max_record_bytes;   /**< data limit; 0 = 1048576 (Kinesis's 1 MiB) */
} faas_stream_options_t;

#define FAAS_STREAM_OPTIONS_INIT { FAAS_STREAM_OPTIONS_VERSION, 0, 0, 0, 0 }

/**
 * Create a stream called @p name (1-128 of [A-Za-z0-9_.-], unique in the
 * runtime; ARN arn:aws:kinesis:REGION:ACCOUNT:stream/NAME).
 * @return 0; FAAS_EINVAL, FAAS_EEXIST, FAAS_ENOMEM, FAAS_ESHUTDOWN
 */
FAAS_EXTERN int faas_stream_create(faas_runtime_t *rt, const char *name,
                                   const faas_stream_options_t *opts, faas_stream_t **out,
                                   faas_error_detail_t *detail);

/** Delete the stream: its records go; sources over it read nothing more. */
FAAS_EXTERN int faas_stream_delete(faas_stream_t *s, faas_error_detail_t *detail);

FAAS_EXTERN faas_stream_t *faas_stream_find(faas_runtime_t *rt, const char *name);
FAAS_EXTERN const char *faas_stream_arn(const faas_stream_t *s);
FAAS_EXTERN uint32_t faas_stream_shard_count(const faas_stream_t *s);

/**
 * PutRecord: @p data (@p len bytes, any bytes) is copied.
 * @param shard        receives the shard index; may be NULL
 * @param sequence     receives the sequence number; may be NULL
 * @return 0; FAAS_EINVAL (partition key missing or too long), FAAS_ETOOLARGE,
 *         FAAS_EAGAIN (the shard is full), FAAS_ENOTFOUND (deleted), FAAS_ENOMEM
 */
FAAS_EXTERN int faas_stream_put(faas_stream_t *s, const char *partition_key, const void *data,
                                size_t len, uint32_t *shard,
                                char sequence[FAAS_STREAM_SEQ_MAX], faas_error_detail_t *detail);

/** Records held (not yet past retention) in @p shard. */
FAAS_EXTERN uint64_t faas_stream_shard_records(faas_stream_t *s, uint32_t shard);

typedef enum faas_starting_position {
	FAAS_START_TRIM_HORIZON = 0, /**< the oldest record kept */
	FAAS_START_LATEST = 1,       /**< records put after the source is made */
	FAAS_START_AT_TIMESTAMP = 2  /**< records that arrived at or after `timestamp_ms` */
} faas_starting_position_t;

#define FAAS_STREAM_SOURCE_OPTIONS_VERSION 1

typedef struct faas_stream_source_options {
	unsigned version;                     /**< FAAS_STREAM_SOURCE_OPTIONS_VERSION */
	faas_starting_position_t starting_position;
	int64_t timestamp_ms;                 /**< FAAS_START_AT_TIMESTAMP: epoch ms */
	uint32_t parallelization_factor;      /**< 1-10 batches per shard at once; 0 = 1 */
	int32_t maximum_retry_attempts;       /**< -1 (default: until the age limit) to 10000 */
	int64_t maximum_record_age_ms;        /**< -1 (default: forever) or 60000-604800000; libfaas
	                                           also takes 1 ms and up for embedded use */
	int bisect_batch_on_function_error;   /**< a failing batch is split in halves */
	faas_destination_t on_failure;        /**< CALLBACK or QUEUE (of the same runtime) */
} faas_stream_source_options_t;

#define FAAS_STREAM_SOURCE_OPTIONS_INIT                                                   \
	{ FAAS_STREAM_SOURCE_OPTIONS_VERSION, FAAS_START_TRIM_HORIZON, 0, 0, -1, -1, 0,     \
	  { FAAS_DESTINATION_NONE, NULL, NULL, NULL, NULL } }

/**
 * An event source over @p s for one mapping (a source keeps its own
 * positions: give each mapping its own). Records in Lambda's Kinesis shape
 * (kinesis{kinesisSchemaVersion, partitionKey, sequenceNumber, data (base64),
 * approximateArrivalTimestamp}, eventSource "aws:kinesis", eventVersion,
 * eventID, eventName, invokeIdentityArn, awsRegion, eventSourceARN); the
 * batchItemFailures identifier is the sequence number; filters look into
 * `data` decoded from base64 and parsed as JSON.
 * @return 0; FAAS_EINVAL (an option out of range, a FUNCTION destination),
 *         FAAS_ENOMEM
 */
FAAS_EXTERN int faas_stream_source_new(faas_stream_t *s, const faas_stream_source_options_t *opts,
                                       faas_source_t **out, faas_error_detail_t *detail);

FAAS_END_DECLS

#endif /* FAAS_STREAM_H */
