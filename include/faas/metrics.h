/*
 * libfaas — CloudWatch-like metrics, per function and executed version.
 *
 * Counted on the invoke path in per-thread stripes of each version (no
 * shared counter, no lock) and summed when read. A version's metrics go
 * with the version when it is deleted.
 */
#ifndef FAAS_METRICS_H
#define FAAS_METRICS_H

#include <jansson.h>

#include "faas/common.h"
#include "faas/error.h"

FAAS_BEGIN_DECLS

/**
 * All metrics as JSON:
 * `{"ConcurrentExecutions":N,"UnreservedConcurrentExecutions":N,
 *   "Functions":[{"FunctionName":..,"Versions":[{"ExecutedVersion":"1",
 *   "Invocations":N,"Errors":N,"Throttles":N,"Timeouts":N,"ColdStarts":N,
 *   "Duration":{"Count":N,"SumMs":x,"P50":x,"P90":x,"P99":x},
 *   "InitDuration":{"Count":N,"SumMs":x}[,"ProvisionedConcurrencyInvocations":N,
 *   "ProvisionedConcurrencySpilloverInvocations":N]}]}],
 *   "Async":{"AsyncEventsReceived":N,"Succeeded":N,"Failed":N,
 *   "AsyncEventsDropped":N,"Retries":N,"Throttles":N,"EventAgeExceeded":N,
 *   "Shutdown":N,"DestinationDeliveryFailures":N,"Undelivered":N,"Queued":N,
 *   "InFlight":N}}` — functions sorted by name. Every accepted event ends
 * as exactly one of Succeeded or Failed; a failed one reached its failure
 * destination, `undelivered`, or was dropped (no destination, as Lambda).
 * Both calls also work after faas_runtime_shutdown() (the final counts).
 * Percentiles are the largest value of the histogram bucket they fall in
 * (4 buckets per power of two of microseconds: at most 25 % above).
 * @param out receives a new reference
 */
FAAS_EXTERN int faas_metrics_json(faas_runtime_t *rt, json_t **out, faas_error_detail_t *detail);

/**
 * The same in Prometheus text exposition format (version 0.0.4):
 * `faas_invocations_total{function="f",version="1"} 3` and so on, with the
 * duration as a histogram (`faas_duration_milliseconds_bucket{...,le="..."}`,
 * le inclusive, only the buckets that hold something, then +Inf).
 * @param out receives a string from malloc (release with free())
 */
FAAS_EXTERN int faas_metrics_prometheus(faas_runtime_t *rt, char **out, faas_error_detail_t *detail);

FAAS_END_DECLS

#endif /* FAAS_METRICS_H */
