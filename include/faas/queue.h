/*
 * libfaas — the built-in queue (SQS-like, standard queues): send, receive
 * with a visibility timeout, delete, change visibility, receive counts and
 * a redrive policy to a dead-letter queue. Bounded: a full queue answers
 * FAAS_EAGAIN, it never blocks and never drops.
 *
 * Timestamps and visibility use the runtime's clock (virtual in tests).
 * Every call is thread-safe. A queue belongs to its runtime and is freed
 * with it (or by faas_queue_delete). Order is best effort, as in SQS
 * standard queues: oldest first; a message whose visibility expired (or
 * was set to 0) goes back to its place in send order.
 *
 * FIFO queues (option `fifo`, a name ending in ".fifo"): every message has a
 * message group; within a group messages are received in the order they
 * were sent, and while some of a group's messages are in flight (received,
 * neither deleted nor visible again) no other receive gets any of that
 * group. A deduplication id (given, or with content_based_deduplication
 * derived from the body) seen in the last five minutes makes a send succeed
 * without a second copy, as SQS does.
 */
#ifndef FAAS_QUEUE_H
#define FAAS_QUEUE_H

#include <jansson.h>

#include "faas/common.h"
#include "faas/error.h"
#include "faas/invoke.h"

FAAS_BEGIN_DECLS

typedef struct faas_queue faas_queue_t;

#define FAAS_QUEUE_OPTIONS_VERSION 2 /* 1: without fifo and content_based_deduplication */
#define FAAS_QUEUE_RECEIPT_MAX 64

typedef struct faas_queue_options {
	unsigned version;               /**< FAAS_QUEUE_OPTIONS_VERSION */
	uint32_t visibility_timeout_ms; /**< 0 = 30000 (SQS's default); at most 43200000 (12 h) */
	uint32_t capacity;              /**< messages held at most, visible or not; 0 = 100000 */
	uint32_t max_message_bytes;     /**< body limit; 0 = 262144 (SQS's 256 KiB), at most 1048576 */
	uint32_t max_receive_count;     /**< redrive: a message received this many times moves to
	                                     dead_letter at its next receive; 0 = no redrive */
	faas_queue_t *dead_letter;      /**< required with max_receive_count (same runtime; a FIFO
	                                     queue's dead-letter queue is FIFO too) */
	int fifo;                       /**< a FIFO queue (version 2) */
	int content_based_deduplication; /**< FIFO: the body's digest is the deduplication id
	                                      when none is given (version 2) */
} faas_queue_options_t;

#define FAAS_QUEUE_OPTIONS_INIT { FAAS_QUEUE_OPTIONS_VERSION, 0, 0, 0, 0, NULL, 0, 0 }
#define FAAS_QUEUE_GROUP_MAX 128 /* MessageGroupId and MessageDeduplicationId: 1-128 */

/** A received message. Release with faas_queue_message_clear(). */
typedef struct faas_queue_message {
	char message_id[FAAS_REQUEST_ID_SIZE];
	char receipt_handle[FAAS_QUEUE_RECEIPT_MAX]; /**< this receive's: delete or change with it */
	char *body;                  /**< NUL-terminated copy (owned) */
	size_t body_len;
	json_t *attributes;          /**< messageAttributes as sent (new reference), or NULL */
	uint32_t receive_count;      /**< ApproximateReceiveCount, this receive included */
	int64_t sent_timestamp_ms;   /**< SentTimestamp */
	int64_t first_receive_timestamp_ms; /**< ApproximateFirstReceiveTimestamp */
	char message_group_id[FAAS_QUEUE_GROUP_MAX + 1];  /**< FIFO: MessageGroupId, else "" */
	char deduplication_id[FAAS_QUEUE_GROUP_MAX + 1];  /**< FIFO: MessageDeduplicationId */
	char sequence_number[24];                         /**< FIFO: SequenceNumber, else "" */
	uint32_t lineage; /**< sent from a handler: the length of its request chain, else 0
	                       (a mapping's invocation continues that chain: DESIGN 9.13) */
} faas_queue_message_t;

/**
 * Create a queue called @p name (1-80 of [A-Za-z0-9_-], unique in the
 * runtime; its ARN is arn:aws:sqs:REGION:ACCOUNT:NAME).
 * @return 0; FAAS_EINVAL, FAAS_EEXIST, FAAS_ENOMEM, FAAS_ESHUTDOWN
 */
FAAS_EXTERN int faas_queue_create(faas_runtime_t *rt, const char *name,
                                  const faas_queue_options_t *opts, faas_queue_t **out,
                                  faas_error_detail_t *detail);

/**
 * Delete a queue and its messages. Refused (FAAS_ECONFLICT) while another
 * queue uses it as its dead-letter queue. The handle stays valid only while
 * a mapping's source still holds the queue: then send, receive and a second
 * delete answer FAAS_ENOTFOUND ("The specified queue does not exist.") and
 * its counts are 0; otherwise the queue is freed here.
 */
FAAS_EXTERN int faas_queue_delete(faas_queue_t *q, faas_error_detail_t *detail);

/** The queue of that name, or NULL. */
FAAS_EXTERN faas_queue_t *faas_queue_find(faas_runtime_t *rt, const char *name);
FAAS_EXTERN const char *faas_queue_arn(const faas_queue_t *q);

/**
 * Send a message: @p body (@p len bytes, any text; JSON is not required)
 * is copied; @p attributes (a JSON object in SQS's messageAttributes shape,
 * or NULL) is referenced and must not change afterwards.
 * @param message_id receives the new message's id; may be NULL
 * @return 0; FAAS_EINVAL, FAAS_ETOOLARGE (over max_message_bytes),
 *         FAAS_EAGAIN (the queue is full), FAAS_ENOMEM
 */
FAAS_EXTERN int faas_queue_send(faas_queue_t *q, const char *body, size_t len, json_t *attributes,
                                char message_id[FAAS_REQUEST_ID_SIZE], faas_error_detail_t *detail);

/**
 * Send to a FIFO queue: as faas_queue_send, in message group @p group_id
 * (1-128 characters of [!-~], required) with deduplication id @p dedup_id
 * (the same rule; NULL only with content_based_deduplication). A duplicate
 * within five minutes succeeds with the first message's id and adds nothing.
 * @return 0; as faas_queue_send, and FAAS_EINVAL for a standard queue
 */
FAAS_EXTERN int faas_queue_send_fifo(faas_queue_t *q, const char *body, size_t len,
                                     json_t *attributes, const char *group_id, const char *dedup_id,
                                     char message_id[FAAS_REQUEST_ID_SIZE],
                                     faas_error_detail_t *detail);

/** Whether @p q is a FIFO queue. */
FAAS_EXTERN int faas_queue_is_fifo(const faas_queue_t *q);

/**
 * Receive up to @p max (1-10000) visible messages, oldest first; they stay
 * hidden for @p visibility_ms (0 = the queue's timeout) unless deleted.
 * A message already received max_receive_count times goes to the
 * dead-letter queue instead (if that one is full, it stays here).
 * @param out  at least @p max messages; *n receives how many were filled
 * @return 0 (even with none); FAAS_EINVAL, FAAS_ENOMEM
 */
FAAS_EXTERN int faas_queue_receive(faas_queue_t *q, uint32_t max, uint32_t visibility_ms,
                                   faas_queue_message_t *out, size_t *n,
                                   faas_error_detail_t *detail);

FAAS_EXTERN void faas_queue_message_clear(faas_queue_message_t *m);

/**
 * Delete the message received with @p receipt_handle (its latest receive).
 * @return 0; FAAS_EINVAL (malformed), FAAS_ENOTFOUND (no such message, or
 *         the handle of an older receive: "ReceiptHandleIsInvalid")
 */
FAAS_EXTERN int faas_queue_delete_message(faas_queue_t *q, const char *receipt_handle,
                                          faas_error_detail_t *detail);

/** Hide the message for @p visibility_ms from now (0 = visible at once). */
FAAS_EXTERN int faas_queue_change_visibility(faas_queue_t *q, const char *receipt_handle,
                                             uint32_t visibility_ms, faas_error_detail_t *detail);

/** ApproximateNumberOfMessages (visible) and ...NotVisible (in flight). */
FAAS_EXTERN void faas_queue_counts(faas_queue_t *q, uint64_t *visible, uint64_t *in_flight);

/** The queue's VisibilityTimeout in ms (0 for NULL). */
FAAS_EXTERN uint32_t faas_queue_visibility_timeout(const faas_queue_t *q);

FAAS_END_DECLS

#endif /* FAAS_QUEUE_H */
