/*
 * libfaas — helpers for tests of handlers and hosts. Opt-in: include it
 * explicitly; faas.h does not.
 */
#ifndef FAAS_TESTING_H
#define FAAS_TESTING_H

#include "faas/common.h"

FAAS_BEGIN_DECLS

/**
 * Wait until nothing is running or runnable in @p rt — no invocation holds
 * a concurrency token (post-runtime extension work holds one too), no
 * external extension has an event queued or in hand or is stopping, no
 * async event is running or due, no provisioned environment is being
 * initialised, the housekeeping thread has destroyed what was dropped and,
 * on a virtual clock, has caught up with the clock (reaping, post-runtime
 * deadlines, async retries), and no telemetry batch is due or being
 * delivered (in inline mode the call delivers them) — or until @p real_ms
 * of real time has passed.
 * Tests use it instead of sleeping.
 * @return 0 when quiet, FAAS_ETIMEDOUT otherwise, FAAS_EINVAL for NULL.
 */
FAAS_EXTERN int faas_test_quiesce(faas_runtime_t *rt, uint32_t real_ms);

FAAS_END_DECLS

#endif /* FAAS_TESTING_H */
