/*
 * libfaas — AWS Lambda's function-invocation model inside one process.
 *
 * Umbrella header: include this one. See README.md for the threading
 * contract and the error model; each header documents ownership per call
 * (borrowed = valid for the call, new = caller releases, stolen = taken
 * over even on failure).
 */
#ifndef FAAS_H
#define FAAS_H

#include "faas/common.h"
#include "faas/version.h"
#include "faas/error.h"
#include "faas/runtime.h"
#include "faas/function.h"
#include "faas/json.h"
#include "faas/invoke.h"
#include "faas/context.h"
#include "faas/metrics.h"
#include "faas/extension.h"
#include "faas/async.h"
#include "faas/queue.h"
#include "faas/source.h"
#include "faas/mapping.h"
#include "faas/stream.h"
#include "faas/plugin.h"
#include "faas/manifest.h"
#include "faas/telemetry.h"

#endif /* FAAS_H */
