/*
 * libfaas — event source mappings (Lambda's poll-based triggers over
 * queues; reference §9).
 *
 * A mapping polls a source (faas/source.h), gathers records into batches
 * and invokes its function synchronously (RequestResponse, through the same
 * token pools as any call) with {"Records":[...]}. A batch is sent when it
 * holds batch_size records, when the next record would take it past 6 MB,
 * or when max_batching_window_ms has passed since its first record (at
 * once with no window). Then:
 *   - success: every record is acknowledged (deleted);
 *   - function error or timeout: every record is nacked (the built-in queue
 *     shows it again when its visibility timeout ends; redrive applies);
 *   - with report_batch_item_failures, the response decides, by Lambda's
 *     rules: null, {} or an empty/null "batchItemFailures" = full success;
 *     {"batchItemFailures":[{"itemIdentifier":ID},...]} = only those are
 *     nacked; a response that is not an object, a list that is not an
 *     array, an item that is not an object or lacks a non-empty string
 *     "itemIdentifier", or an unknown identifier = full failure;
 *   - throttled (the function's reservation or the account is full): while
 *     batches of this mapping are in flight the batch waits for one of them
 *     to end; with none, its records are released at once and polling backs
 *     off (1 s doubling to 5 min, scaled like async retries). Nothing is
 *     lost, but as with SQS each return counts as a receive for the redrive
 *     policy. The mapping's own max_concurrency is no throttle: a batch
 *     simply waits for a slot.
 * Records that match none of the filters are acknowledged without an
 * invocation, as Lambda deletes them.
 *
 * Polling has no thread of its own (except for a blocking host source: one
 * thread per mapping, faas/source.h): the housekeeping thread steps each
 * mapping (and a worker that finishes a batch sends the next one at once).
 * On a virtual clock, mappings step only when the clock moves
 * (faas_clock_advance); in inline mode, on that caller's thread.
 *
 * Shutdown stops polling; batches in flight finish (their records are
 * settled as above); records gathered but not sent are released.
 */
#ifndef FAAS_MAPPING_H
#define FAAS_MAPPING_H

#include <jansson.h>

#include "faas/common.h"
#include "faas/error.h"
#include "faas/source.h"

FAAS_BEGIN_DECLS

typedef struct faas_mapping faas_mapping_t;

#define FAAS_MAPPING_OPTIONS_VERSION 1
#define FAAS_MAPPING_FILTERS_MAX 5
#define FAAS_MAPPING_BATCH_BYTES_MAX 6291456u

typedef struct faas_mapping_options {
	unsigned version;               /**< FAAS_MAPPING_OPTIONS_VERSION */
	uint32_t batch_size;            /**< 1-10000; 0 = 10 (100 for a stream). Over 10 needs a
	                                     window of 1 s or more (not for a stream); at most 10
	                                     over a FIFO queue */
	uint32_t max_batching_window_ms; /**< 0-300000 (0: send what one poll found) */
	uint32_t max_concurrency;       /**< batches in flight at once: 0 = no cap of its own
	                                     (Lambda: 2-1000; libfaas also allows 1) */
	int report_batch_item_failures; /**< FunctionResponseTypes ["ReportBatchItemFailures"] */
	int start_disabled;             /**< created in state Disabled */
	const char *filters[FAAS_MAPPING_FILTERS_MAX]; /**< FilterCriteria patterns (JSON text,
	                                     EventBridge syntax), NULL-terminated; copied */
	uint32_t poll_interval_ms;      /**< real clock: how often an idle host source is polled
	                                     when it does not notify; 0 = 1000 */
} faas_mapping_options_t;

#define FAAS_MAPPING_OPTIONS_INIT { FAAS_MAPPING_OPTIONS_VERSION, 0, 0, 0, 0, 0, { NULL }, 0 }

/**
 * Map @p source to @p function (a name or ARN, optionally qualified; it
 * must exist now; an alias is drawn per batch). The mapping takes its own
 * reference on the source and a UUID. The handle stays valid until
 * faas_mapping_delete() or the runtime is freed.
 * @return 0; FAAS_EINVAL (options out of Lambda's ranges, a bad filter,
 *         NULL arguments, a source already used by another runtime),
 *         FAAS_ENOTFOUND (no such function or qualifier), FAAS_ENOMEM,
 *         FAAS_ESHUTDOWN
 */
FAAS_EXTERN int faas_mapping_create(faas_runtime_t *rt, faas_source_t *source,
                                    const char *function, const faas_mapping_options_t *opts,
                                    faas_mapping_t **out, faas_error_detail_t *detail);

/** Enabled (0 = disable): a disabled mapping stops polling; batches in flight finish. */
FAAS_EXTERN int faas_mapping_enable(faas_mapping_t *m, int enabled, faas_error_detail_t *detail);

/**
 * New batch_size, window, max_concurrency, report_batch_item_failures and
 * filters (start_disabled is ignored); checked as at create. Records
 * already gathered go out under the old settings.
 */
FAAS_EXTERN int faas_mapping_update(faas_mapping_t *m, const faas_mapping_options_t *opts,
                                    faas_error_detail_t *detail);

/**
 * Delete the mapping: polling stops, gathered records are released, batches
 * in flight finish on their own; the handle is invalid on return.
 */
FAAS_EXTERN int faas_mapping_delete(faas_mapping_t *m, faas_error_detail_t *detail);

/** "Enabled", "Disabling", "Disabled" (Lambda's names; the rest are not reachable in-process). */
FAAS_EXTERN const char *faas_mapping_state(const faas_mapping_t *m);
FAAS_EXTERN const char *faas_mapping_uuid(const faas_mapping_t *m);

/**
 * GetEventSourceMapping's shape: UUID, EventSourceArn, FunctionArn,
 * BatchSize, MaximumBatchingWindowInSeconds, FunctionResponseTypes,
 * FilterCriteria, ScalingConfig, State, StateTransitionReason,
 * LastModified, LastProcessingResult; plus libfaas's "Metrics" (records
 * received, filtered, succeeded, failed, released; batches, throttles;
 * SourceErrors, the problems its source reported, faas_source_report).
 * @param out new reference
 */
FAAS_EXTERN int faas_mapping_describe(faas_mapping_t *m, json_t **out, faas_error_detail_t *detail);

FAAS_END_DECLS

#endif /* FAAS_MAPPING_H */
