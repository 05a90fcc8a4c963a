/*
 * libfaas-redis — Redis Streams as an event source (an add-on library:
 * link -lfaas-redis -lfaas, pkg-config libfaas-redis; needs hiredis).
 *
 * faas_redis_source_new() makes a faas_source_t (faas/source.h) over one
 * stream and one consumer group. Many processes, on many machines, each
 * map their own source over the same stream and group: Redis hands every
 * entry to one consumer of the group at a time, so the hosts share the
 * work. Delivery is at least once:
 *
 *   receive   XREADGROUP ... STREAMS key > (new entries; BLOCK block_ms);
 *             entries of any consumer (a dead one, or this one) left
 *             pending claim_idle_ms are taken over with XAUTOCLAIM (never
 *             sooner than the mapping may hold a record: its batching window
 *             plus the function's timeout, Lambda's visibility rule);
 *   ack       XACK, sent in groups: at once when a batch's worth have
 *             gathered, else with the next receive (within block_ms);
 *   fail      the entry stays pending and comes back after claim_idle_ms;
 *             once it has been delivered max_deliveries times it is added
 *             to the dead-letter stream with the error and the delivery
 *             count, and acknowledged (one Lua script, the write first: if
 *             it fails, the entry stays pending);
 *   release   (never processed: throttled, shutdown) claimed back by this
 *             consumer at its next receive (XCLAIM with RETRYCOUNT: unlike a
 *             returned SQS message, it does not count as a delivery), unless
 *             another consumer claimed it after the release (it stays
 *             theirs; one that claimed it before, the entry having been idle
 *             claim_idle_ms in this consumer's hands, may see it run twice); at
 *             shutdown, left pending for the group's other consumers.
 * An entry that comes back having been delivered more than max_deliveries
 * times (its consumers died holding it) is dead-lettered without an
 * invocation. Entries of one stream are read in order, but consumers run
 * them in parallel: there is no order across consumers or retries.
 *
 * Records reach the handler in the SQS-like shape:
 *   {"messageId":"1700000000000-0","body":<the body field, or null>,
 *    "fields":{...every field of the entry...},
 *    "attributes":{"ApproximateReceiveCount":"1","SentTimestamp":"1700000000000"},
 *    "eventSource":"redis:stream","eventSourceARN":"redis://host:port/db/key",
 *    "stream":"key","group":"group"}
 * messageId is the itemIdentifier of ReportBatchItemFailures; filters see
 * the body (parsed as JSON when it is JSON) as they see an SQS body.
 *
 * Faults: a lost connection (or a Redis restart) is retried with capped
 * exponential backoff (reconnect_min_ms doubling to reconnect_max_ms); the
 * source returns no records meanwhile, nothing in flight is lost: what was
 * not acknowledged stays pending and is acknowledged (XACK is idempotent)
 * or claimed again later. A missing group (a Redis that lost its data) is
 * created again at group_start: from "0", the entries the stream still has
 * are delivered again (at least once), from "$" only new ones. Every failure is counted (faas_redis_source_stats), and
 * reported with faas_source_report(): the SourceErrors metric of its
 * mapping and a faas.sourceError telemetry record (for the async store,
 * faas_async_store_report(): Async.Store.StoreErrors and the same record).
 *
 * The source polls from a thread of its own per mapping (a blocking
 * source): set the mapping's poll_interval_ms low (10 ms, say), since
 * BLOCK already waits for entries.
 */
#ifndef FAAS_REDIS_H
#define FAAS_REDIS_H

#include <stdint.h>

#include "faas/async.h"
#include "faas/common.h"
#include "faas/error.h"
#include "faas/runtime.h"
#include "faas/source.h"

FAAS_BEGIN_DECLS

#define FAAS_REDIS_SOURCE_OPTIONS_VERSION 1

typedef struct faas_redis_source_options {
	unsigned version;            /**< FAAS_REDIS_SOURCE_OPTIONS_VERSION */
	const char *host;            /**< NULL = "127.0.0.1" */
	int port;                    /**< 0 = 6379 */
	const char *unix_socket;     /**< a socket path instead of host and port */
	const char *username;        /**< ACL user (AUTH username password); NULL = default */
	const char *password;        /**< AUTH; NULL = none */
	int database;                /**< SELECT; 0-based */
	uint32_t connect_timeout_ms; /**< 0 = 1000 */
	uint32_t command_timeout_ms; /**< 0 = 5000; a BLOCK waits block_ms more */
	const char *stream;          /**< the stream key (required) */
	const char *group;           /**< the consumer group (required; created with MKSTREAM
	                                  when missing) */
	const char *group_start;     /**< where a new group starts: NULL = "0" (every entry);
	                                  "$" = only entries added later */
	const char *consumer;        /**< this consumer's name; NULL = "<hostname>-<pid>" */
	uint32_t batch_size;         /**< entries per read (XREADGROUP COUNT) at most; 0 = as
	                                  many as the mapping asks for (its batch size) */
	uint32_t block_ms;           /**< XREADGROUP BLOCK: 0 = 200 */
	uint32_t claim_idle_ms;      /**< take over entries pending this long: 0 = 30000; at
	                                  least the mapping's window + function timeout. Every
	                                  host of a group should use the same value */
	uint32_t max_deliveries;     /**< deliveries before dead-lettering: 0 = 5 */
	const char *dead_letter_stream; /**< NULL = "<stream>:dead-letter" */
	const char *body_field;      /**< the field that becomes "body": NULL = "body" */
	uint32_t reconnect_min_ms;   /**< 0 = 100 */
	uint32_t reconnect_max_ms;   /**< 0 = 5000 */
} faas_redis_source_options_t;

#define FAAS_REDIS_SOURCE_OPTIONS_INIT { FAAS_REDIS_SOURCE_OPTIONS_VERSION, NULL, 0, NULL, NULL, \
		NULL, 0, 0, 0, NULL, NULL, NULL, NULL, 0, 0, 0, 0, NULL, NULL, 0, 0 }

/**
 * A source over the stream and group of @p opts (strings copied). It
 * connects at once, creating the group when missing, so that a bad address,
 * password or database is an error here, not later.
 * @return 0; FAAS_EINVAL (NULL out or opts, no stream or group, a value out of
 *         range), FAAS_ENOMEM, FAAS_ETIMEDOUT (cannot connect: detail says why),
 *         FAAS_EPRECONDITION (Redis refused: AUTH, SELECT, a key that is not a stream)
 */
FAAS_EXTERN int faas_redis_source_new(faas_source_t **out, const faas_redis_source_options_t *opts,
                                      faas_error_detail_t *detail);

#define FAAS_REDIS_STATS_VERSION 1

/** What a Redis source has done (counters since it was made). */
typedef struct faas_redis_stats {
	unsigned version;          /**< set by the caller: FAAS_REDIS_STATS_VERSION */
	uint64_t received;         /**< entries handed out (new, claimed and released ones) */
	uint64_t claimed;          /**< of those, taken over after claim_idle_ms */
	uint64_t acked;            /**< acknowledged (XACK sent and answered) */
	uint64_t failed;           /**< settled as failed (left pending) */
	uint64_t released;         /**< given back unprocessed */
	uint64_t dead_lettered;    /**< moved to the dead-letter stream */
	uint64_t connects;         /**< connections made (reconnections included) */
	uint64_t errors;           /**< failures reported (connection, command, reply) */
	uint64_t ack_backlog;      /**< acknowledgements not sent yet */
	char consumer[128];        /**< the consumer name in use */
	char last_error[128];      /**< the last failure, "" when none */
} faas_redis_stats_t;

#define FAAS_REDIS_STATS_INIT { FAAS_REDIS_STATS_VERSION, 0, 0, 0, 0, 0, 0, 0, 0, 0, "", "" }

/**
 * Counters of @p src into @p out (out->version set by the caller).
 * @return 0; FAAS_EINVAL (NULL, not a Redis source, unknown version)
 */
FAAS_EXTERN int faas_redis_source_stats(faas_source_t *src, faas_redis_stats_t *out);

/* ---- the durable async store ------------------------------------------------------------ */

/**
 * Route the Event invocations of a runtime through the stream and group of
 * @p opts (faas/async.h: "a durable store"): sets @p ro's async_store and
 * async_store_user_data; pass @p ro to faas_runtime_new, which takes the
 * store over. Every runtime (process, host) made with the same stream and
 * group shares the events: an event accepted by one survives its crash and
 * is run by another, with the retry, event age, destination and dead-letter
 * rules of the in-memory queue. Entries are deleted (XDEL) once their event
 * ended; a retry is a new entry (the next state) replacing the old one in
 * one Lua script (undone, and the local copy dropped, when the old entry was
 * no longer pending: another runtime moved it on). Events a runtime holds are claimed again (XCLAIM JUSTID)
 * every claim_idle_ms / 3, so another runtime takes them over claim_idle_ms
 * after this one died; one delivered more than max_deliveries times without
 * an end goes to the dead-letter stream. block_ms is how long a take waits.
 * The same connection, backoff and fault rules as a source apply; a put
 * that Redis does not confirm fails the invoke (FAAS_ETIMEDOUT), nothing is
 * accepted silently.
 * @return 0; FAAS_EINVAL (NULL or old runtime options, bad @p opts),
 *         FAAS_ENOMEM, FAAS_ETIMEDOUT, FAAS_EPRECONDITION (as
 *         faas_redis_source_new)
 */
FAAS_EXTERN int faas_redis_async_store(faas_runtime_options_t *ro,
                                       const faas_redis_source_options_t *opts,
                                       faas_error_detail_t *detail);

FAAS_END_DECLS

#endif /* FAAS_REDIS_H */
