/*
 * libfaas — event sources for event source mappings (faas/mapping.h).
 *
 * A source is anything a mapping can poll for records: the built-in queue
 * (faas_queue_source_new) or a queue of the host's own, plugged in through
 * a versioned vtable (faas_source_new). The built-in queue implements the
 * same vtable through the public queue API, with no private shortcut.
 *
 * A source hands out records that are hidden from other consumers until
 * the mapping settles each one exactly once with one of:
 *   ack      processed (or filtered out): delete it;
 *   nack     its batch failed: leave it to the source's own retry rule
 *            (the built-in queue does nothing: the message comes back when
 *            its visibility timeout runs out, as an SQS message does);
 *   release  never processed (a throttled batch, a disabled or deleted
 *            mapping, shutdown): make it available again at once;
 *   skip     matched no filter: never invoked, done with (as ack when NULL).
 * Nothing the mapping did not process is ever acknowledged. A source that
 * keeps its own dead-letter rule wants the error of a failed record: it
 * sets `fail` (version 2), called instead of nack.
 *
 * Threads: `receive` is called by one thread at a time per mapping (the
 * housekeeping thread, a worker finishing a batch, or in inline mode the
 * caller of faas_clock_advance); ack / nack / release may be called from
 * any worker concurrently. No library lock is held during any of them.
 * They must not block for long, except `receive` of a source that says it
 * is `blocking`: then each mapping over it calls receive from a thread of
 * its own, never from the housekeeping thread or a worker.
 */
#ifndef FAAS_SOURCE_H
#define FAAS_SOURCE_H

#include <jansson.h>

#include "faas/common.h"
#include "faas/error.h"
#include "faas/queue.h"

FAAS_BEGIN_DECLS

typedef struct faas_source faas_source_t;

#define FAAS_SOURCE_ID_MAX 128
#define FAAS_SOURCE_HANDLE_MAX 128

/** One record a source handed out. */
typedef struct faas_source_record {
	json_t *record;  /**< the item of the event's "Records" array (new reference: the
	                      mapping takes it over) */
	size_t size;     /**< its payload size in bytes, toward the 6 MB batch limit */
	uint32_t lineage; /**< invocations already in its request chain (0: none) */
	uint32_t group;   /**< records of different groups never share a batch (a stream's
	                       shard or lane); 0 = no group */
	char id[FAAS_SOURCE_ID_MAX];         /**< itemIdentifier in "batchItemFailures" */
	char handle[FAAS_SOURCE_HANDLE_MAX]; /**< the source's own token (a receipt handle) */
} faas_source_record_t;

/** 2 adds `fail`; version 1 vtables (without it) are still accepted. */
#define FAAS_SOURCE_OPS_VERSION 2

/** The vtable of a host source. Every pointer but `receive` may be NULL. */
typedef struct faas_source_ops {
	unsigned version;         /**< FAAS_SOURCE_OPS_VERSION */
	const char *event_source; /**< "aws:sqs" style name (copied); NULL = "custom" */
	const char *arn;          /**< the eventSourceARN of its records (copied); may be NULL */
	const char *data_key;     /**< the key (in the filter root) whose value filters look
	                               into: text parsed as JSON (base64-decoded first with
	                               data_base64), or JSON as it is ("body" for SQS, "data"
	                               for Kinesis); NULL = match the record as it is */
	/**
	 * Fill up to @p max records into @p out and set *n (0 is fine). A
	 * record may be held up to @p visibility_ms (the mapping's window plus
	 * the function's timeout) before it is settled: hide it at least that
	 * long (the built-in queue applies Lambda's rule: its own visibility
	 * timeout, or @p visibility_ms + 30 s when that is longer).
	 * @return 0, or a negative faas_error_t (the mapping backs off)
	 */
	int (*receive)(void *user_data, uint32_t max, uint32_t visibility_ms,
	               faas_source_record_t *out, size_t *n);
	void (*ack)(void *user_data, const faas_source_record_t *r);
	void (*nack)(void *user_data, const faas_source_record_t *r);
	void (*release)(void *user_data, const faas_source_record_t *r);
	/** The last mapping and handle are gone: free user_data. */
	void (*close)(void *user_data);
	int data_base64; /**< the data key's text is base64 (filters decode it first) */
	int ordered;     /**< a stream: batch_size defaults to 100 and may pass 10 without a
	                      window, as Lambda allows for streams */
	const char *filter_root; /**< the record key whose object filters see (Kinesis:
	                              "kinesis"); NULL = the record itself (copied) */
	/** Filtered out, never invoked: settled like ack, told apart (NULL: ack). */
	void (*skip)(void *user_data, const faas_source_record_t *r);
	/** receive may block (a long poll): each mapping over the source gets a thread of
	 *  its own ("faas-poll") that calls it in real time; it should return within the
	 *  mapping's poll_interval_ms, since deleting the mapping and shutdown wait for it */
	int blocking;
	/* ---- version 2 ---- */
	/**
	 * Like nack, with why the record failed: the function's errorType and
	 * errorMessage ("Sandbox.Timedout" when it timed out), or
	 * "ReportedBatchItemFailure" when the response listed the record. Called
	 * instead of nack when set; both strings are borrowed for the call.
	 */
	void (*fail)(void *user_data, const faas_source_record_t *r, const char *error_type,
	             const char *error_message);
} faas_source_ops_t;

/**
 * A host source over @p ops (copied) and @p user_data (passed to every
 * op; close() runs when the source is freed and no mapping uses it).
 * @return 0; FAAS_EINVAL (NULL out or ops, no receive, unknown version),
 *         FAAS_ENOMEM (then close is not called)
 */
FAAS_EXTERN int faas_source_new(faas_source_t **out, const faas_source_ops_t *ops,
                                void *user_data, faas_error_detail_t *detail);

/**
 * A source over the built-in queue @p q: records in Lambda's SQS shape
 * (messageId, receiptHandle, body, attributes, messageAttributes,
 * md5OfBody, md5OfMessageAttributes, eventSource "aws:sqs",
 * eventSourceARN, awsRegion). The source keeps the queue alive.
 */
FAAS_EXTERN int faas_queue_source_new(faas_queue_t *q, faas_source_t **out,
                                      faas_error_detail_t *detail);

/** Drop the caller's handle (NULL is fine); mappings keep their own. Once
 * its runtime is freed, this is the only call a source handle still takes. */
FAAS_EXTERN void faas_source_free(faas_source_t *src);

/**
 * Records may be waiting: mappings over @p src poll at their next chance
 * (a real-clock runtime's housekeeping thread wakes now). Any thread.
 */
FAAS_EXTERN void faas_source_notify(faas_source_t *src);

/**
 * The user_data @p src was made with, if its receive op is @p receive; NULL
 * otherwise. An add-on finds its own state this way (faas/redis.h).
 */
FAAS_EXTERN void *faas_source_user_data(faas_source_t *src,
                                        int (*receive)(void *, uint32_t, uint32_t,
                                                       faas_source_record_t *, size_t *));

/**
 * A host source reports a problem of its own (a lost connection, an
 * acknowledgement that failed): counted in the "SourceErrors" metric of its
 * mappings' faas_mapping_describe(), and, on the runtime of its mappings, a
 * telemetry record faas.sourceError (FAAS_TELEMETRY_FAAS) with the source's
 * ARN as `name`, @p code as `error_code` and @p message (copied; NULL is
 * fine) as `reason`. Any thread, while the runtime of its mappings lives
 * (as faas_source_notify).
 */
FAAS_EXTERN void faas_source_report(faas_source_t *src, int code, const char *message);

FAAS_END_DECLS

#endif /* FAAS_SOURCE_H */
