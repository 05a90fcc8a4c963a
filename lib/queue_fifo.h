/*
 * libfaas — FIFO queues' groups and deduplication ids (queue_fifo.c).
 * Every call is made with the queue's lock held.
 */
#ifndef FAAS_QUEUE_FIFO_H
#define FAAS_QUEUE_FIFO_H

#include "faas_int.h"

#define FAAS_FIFO_DEDUP_WINDOW_MS 300000u /* SQS: five minutes */

struct faas_fifo;

FAAS_INTERNAL struct faas_fifo *faas__fifo_new(void);
FAAS_INTERNAL void faas__fifo_free(struct faas_fifo *f);
/* The group has messages in flight from a receive other than @p epoch. */
FAAS_INTERNAL bool faas__fifo_group_locked(struct faas_fifo *f, const char *group, uint64_t epoch);
/* One more of its messages goes in flight (receive @p epoch); FAAS_ENOMEM. */
FAAS_INTERNAL int faas__fifo_group_take(struct faas_fifo *f, const char *group, uint64_t epoch);
/* One of its messages left flight (deleted, visible again, redriven). */
FAAS_INTERNAL void faas__fifo_group_done(struct faas_fifo *f, const char *group);
/* The message id sent with @p dedup_id within the window, or NULL. */
FAAS_INTERNAL const char *faas__fifo_dedup_find(struct faas_fifo *f, const char *dedup_id,
                                                uint64_t now_ns);
FAAS_INTERNAL int faas__fifo_dedup_add(struct faas_fifo *f, const char *dedup_id,
                                       const char *message_id, uint64_t expires_ns);

#endif /* FAAS_QUEUE_FIFO_H */
