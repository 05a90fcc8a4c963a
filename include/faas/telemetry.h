/*
 * libfaas — the Telemetry stream (Lambda's Telemetry API, in-process).
 *
 * A subscriber receives batches of records with Lambda's types and fields:
 * platform.initStart / initRuntimeDone / initReport, platform.start /
 * runtimeDone / report, platform.extension, platform.logsDropped,
 * `function` (each faas_context_log line), and libfaas's own faas.throttle.
 * Each record is a C struct (below) and renders to Lambda's JSON shape
 * `{"time":"2023-11-14T22:13:20.000Z","type":"platform.start","record":{...}}`.
 * Times come from the runtime's clock (virtual in tests).
 *
 * Buffering, as Lambda's: records wait in a bounded buffer per subscriber;
 * a batch goes out when `max_items` records are buffered or `timeout_ms`
 * (runtime clock) after the first of them. A full buffer is handed to the
 * deliverer whole and a second one starts filling, so bursts do not wait
 * for the delivering thread to wake up; records that come while the
 * subscriber still has one batch in hand and another waiting are dropped
 * and counted, and the next batch starts with one platform.logsDropped
 * record saying how many (so a batch holds at most max_items + 1 records).
 * A slow subscriber never blocks an invocation.
 *
 * Threading: subscribe, unsubscribe and flush are thread-safe. Batches are
 * delivered on the runtime's `faas-telemetry` thread (started by the first
 * subscription), one subscriber after the other, with no library lock held;
 * never on a worker. In inline mode there is no thread: due batches are
 * delivered by the calling thread at the end of faas_invoke(), and in
 * faas_clock_advance(), faas_telemetry_flush(), faas_telemetry_unsubscribe(),
 * faas_test_quiesce() and shutdown. A subscriber must not block (it delays
 * the others) and must not invoke. At shutdown every buffer is flushed and
 * each subscription ends (its `release` runs) before the runtime's threads
 * are joined; records of handlers still running after that are not kept.
 *
 * Cost: with no subscriber, each place that could emit a record costs one
 * relaxed atomic load and a branch: no allocation, no formatting.
 */
#ifndef FAAS_TELEMETRY_H
#define FAAS_TELEMETRY_H

#include <stdbool.h>

#include <jansson.h>

#include "faas/common.h"
#include "faas/error.h"
#include "faas/extension.h"

FAAS_BEGIN_DECLS

/** Record types. Values are never renumbered; new ones are appended. */
typedef enum faas_telemetry_type {
	FAAS_TEL_INIT_START = 0,        /**< platform.initStart */
	FAAS_TEL_INIT_RUNTIME_DONE = 1, /**< platform.initRuntimeDone */
	FAAS_TEL_INIT_REPORT = 2,       /**< platform.initReport */
	FAAS_TEL_START = 3,             /**< platform.start */
	FAAS_TEL_RUNTIME_DONE = 4,      /**< platform.runtimeDone */
	FAAS_TEL_REPORT = 5,            /**< platform.report */
	FAAS_TEL_EXTENSION = 6,         /**< platform.extension (at faas_extension_register) */
	FAAS_TEL_LOGS_DROPPED = 7,      /**< platform.logsDropped */
	FAAS_TEL_FUNCTION = 8,          /**< function: one faas_context_log line */
	FAAS_TEL_THROTTLE = 9,          /**< faas.throttle: admission refused (libfaas) */
	FAAS_TEL_ASYNC_RETRY = 10,      /**< faas.asyncRetry: an async event goes back to the queue */
	FAAS_TEL_DESTINATION = 11,      /**< faas.destination: an invocation record delivered (or not) */
	FAAS_TEL_DEAD_LETTER = 12,      /**< faas.deadLetter: an event handed to the dead-letter sink */
	FAAS_TEL_SOURCE_ERROR = 13      /**< faas.sourceError: an event source reported a problem */
} faas_telemetry_type_t;

/** Streams a subscriber asks for (Lambda's `types`), a bit mask. */
#define FAAS_TELEMETRY_PLATFORM 0x1u  /**< every platform.* record */
#define FAAS_TELEMETRY_FUNCTION 0x2u  /**< `function` records */
#define FAAS_TELEMETRY_EXTENSION 0x4u /**< `extension` log records: none yet (accepted for Lambda's
                                           sake; internal extensions write no log) */
#define FAAS_TELEMETRY_FAAS 0x8u      /**< libfaas's own records (faas.*) */
#define FAAS_TELEMETRY_ALL 0xfu

#define FAAS_TELEMETRY_RECORD_VERSION 1

/**
 * One record. Fields that do not apply to its type are 0 or NULL; strings
 * are NUL-terminated UTF-8, borrowed for the duration of the callback.
 *
 * | type | fields |
 * |---|---|
 * | initStart | function_name, function_version, initialization_type, phase |
 * | initRuntimeDone | the same + status, error_type |
 * | initReport | the same + duration_ms |
 * | start | function_name, function_version, request_id |
 * | runtimeDone | the same + status, error_type, duration_ms, produced_bytes |
 * | report | the same as start + status, error_type, duration_ms, billed_duration_ms, memory_size_mb, max_memory_used_mb, has_init_duration, init_duration_ms |
 * | extension | name, state ("Ready"), events (FAAS_EXT_* mask) |
 * | logsDropped | dropped_records, dropped_bytes, reason |
 * | function | function_name, function_version, request_id, text, text_len |
 * | faas.throttle | function_name, function_version, qualifier (or NULL), reason |
 * | faas.asyncRetry | function_name, function_version, request_id, attempts (made so far), delay_ms, reason ("FunctionError" or "Throttled") |
 * | faas.destination | function_name, function_version, request_id, attempts, condition, destination ("callback" or the function), delivered |
 * | faas.deadLetter | function_name, function_version, request_id, attempts, condition, error_code |
 * | faas.sourceError | name (the source's ARN), error_code, reason (its message) |
 *
 * error_type is set only when status is FAAS_EXT_ERROR. phase is "init",
 * or "invoke" for an init retried inside the invocation that needed it
 * (Lambda's suppressed init). Durations are in ms, rounded to the
 * microsecond; with a timeout, the function's timeout.
 */
typedef struct faas_telemetry_record {
	unsigned version;               /**< FAAS_TELEMETRY_RECORD_VERSION */
	faas_telemetry_type_t type;
	int64_t time_ms;                /**< Unix ms, runtime clock */
	const char *function_name;
	const char *function_version;   /**< "$LATEST" or "N" */
	const char *request_id;
	const char *initialization_type;/**< "on-demand" */
	const char *phase;              /**< "init" or "invoke" */
	faas_ext_status_t status;
	const char *error_type;
	double duration_ms;
	uint64_t billed_duration_ms;    /**< duration, plus external extensions' post-runtime
	                                     work (report), rounded up to 1 ms, at least 1 */
	uint32_t memory_size_mb;
	uint32_t max_memory_used_mb;    /**< = memory size (not measured in-process) */
	bool has_init_duration;         /**< report of a cold start by a first-attempt init */
	double init_duration_ms;
	uint64_t produced_bytes;        /**< size of the response (or error object) as JSON text;
	                                     0 on timeout */
	const char *name;               /**< extension */
	const char *state;              /**< extension */
	unsigned events;                /**< extension: FAAS_EXT_INVOKE | FAAS_EXT_SHUTDOWN */
	const char *text;               /**< function: the line, without newline */
	size_t text_len;
	const char *qualifier;          /**< faas.throttle: as called, NULL when none */
	const char *reason;             /**< faas.throttle, logsDropped */
	uint64_t dropped_records;       /**< logsDropped */
	uint64_t dropped_bytes;         /**< logsDropped: their JSON text, as rendered below */
	uint32_t attempts;              /**< faas.asyncRetry, faas.destination, faas.deadLetter */
	uint64_t delay_ms;              /**< faas.asyncRetry: until the next try (runtime clock) */
	const char *condition;          /**< faas.destination, faas.deadLetter: Success, ... */
	const char *destination;        /**< faas.destination */
	bool delivered;                 /**< faas.destination: the destination took it */
	int error_code;                 /**< faas.deadLetter: ErrorCode; faas.sourceError: the code */
} faas_telemetry_record_t;

/**
 * Receives a batch (n >= 1) of records, oldest first. The array and every
 * string in it are borrowed for the call. Runs on the telemetry thread
 * (see the header comment) with no library lock held.
 */
typedef void (*faas_telemetry_fn)(const faas_telemetry_record_t *records, size_t n,
                                  void *user_data);

#define FAAS_TELEMETRY_OPTIONS_VERSION 1

/** Lambda's buffering defaults and limits. */
#define FAAS_TELEMETRY_MAX_ITEMS_DEFAULT 10000u
#define FAAS_TELEMETRY_MAX_ITEMS_MAX 10000u
#define FAAS_TELEMETRY_TIMEOUT_DEFAULT_MS 1000u
#define FAAS_TELEMETRY_TIMEOUT_MIN_MS 25u
#define FAAS_TELEMETRY_TIMEOUT_MAX_MS 30000u

/**
 * A subscription. Initialise with FAAS_TELEMETRY_OPTIONS_INIT; copied at
 * subscription.
 *
 * max_items: Lambda's range is 1,000-10,000; libfaas also takes 1-999 so an
 * embedded host can bound memory tightly (the buffers cost about 220 bytes
 * per item, allocated at subscription: 2.2 MB for 10,000).
 */
typedef struct faas_telemetry_options {
	unsigned version;           /**< FAAS_TELEMETRY_OPTIONS_VERSION */
	unsigned types;             /**< FAAS_TELEMETRY_* mask, at least one */
	faas_telemetry_fn on_batch; /**< required */
	void *user_data;            /**< passed to on_batch and release */
	/** Optional: runs once, after the last batch, when the subscription
	 *  ends (unsubscribe or shutdown), on the thread delivering batches. */
	void (*release)(void *user_data);
	uint32_t max_items;         /**< 0 = 10,000; 1-10,000 */
	uint32_t timeout_ms;        /**< 0 = 1,000; 25-30,000 */
} faas_telemetry_options_t;

#define FAAS_TELEMETRY_OPTIONS_INIT { FAAS_TELEMETRY_OPTIONS_VERSION, 0, NULL, NULL, NULL, 0, 0 }

/**
 * Subscribe to the runtime's telemetry.
 * @param opts   borrowed
 * @param id_out receives the subscription's id (for unsubscribing); may be NULL
 * @return 0; FAAS_EINVAL (NULL or bad options, see detail), FAAS_ENOMEM,
 *         FAAS_ETHREAD (the telemetry thread could not start), FAAS_ESHUTDOWN.
 *         On failure nothing is called, release included.
 */
FAAS_EXTERN int faas_telemetry_subscribe(faas_runtime_t *rt, const faas_telemetry_options_t *opts,
                                         uint32_t *id_out, faas_error_detail_t *detail);

/**
 * End a subscription: no record is added from now on; what is buffered is
 * still delivered, then `release` runs. Does not wait for that (it may be
 * called from the subscriber itself), except in inline mode, where it
 * happens on the calling thread before the call returns (unless another
 * thread is delivering at that moment: then on that one).
 * @return 0; FAAS_ENOTFOUND, FAAS_EINVAL, FAAS_ESHUTDOWN
 */
FAAS_EXTERN int faas_telemetry_unsubscribe(faas_runtime_t *rt, uint32_t id,
                                           faas_error_detail_t *detail);

/**
 * Deliver every buffered record now, without waiting for max_items or
 * timeout_ms: on the telemetry thread (the call does not wait), or in
 * inline mode on the calling thread. @return 0; FAAS_EINVAL, FAAS_ESHUTDOWN
 */
FAAS_EXTERN int faas_telemetry_flush(faas_runtime_t *rt, faas_error_detail_t *detail);

/** Lambda's name of a type: "platform.start", "function", "faas.throttle"; NULL if unknown. Static. */
FAAS_EXTERN const char *faas_telemetry_type_name(faas_telemetry_type_t type);

/**
 * Render a record as compact JSON text, Lambda's shape:
 * `{"time":"<ISO 8601, ms, Z>","type":"<type>","record":<object or string>}`,
 * keys in the order of Lambda's documentation, reals with 15 significant
 * digits (README, "JSON text"). Bytes that are not valid UTF-8 become '?'.
 * Works like snprintf: writes at most @p size bytes, NUL included, and
 * allocates nothing.
 * @param buf may be NULL when size is 0 (to measure)
 * @return the length of the whole text (without the NUL); 0 for a NULL
 *         record, an unknown version or type.
 */
FAAS_EXTERN size_t faas_telemetry_record_format(const faas_telemetry_record_t *rec, char *buf,
                                                size_t size);

/**
 * The same as a JSON value.
 * @param out receives a new reference
 * @return 0; FAAS_EINVAL (NULL, unknown version or type), FAAS_ENOMEM
 */
FAAS_EXTERN int faas_telemetry_record_json(const faas_telemetry_record_t *rec, json_t **out);

FAAS_END_DECLS

#endif /* FAAS_TELEMETRY_H */
