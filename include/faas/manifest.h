/*
 * libfaas — the JSON manifest (faas.json): functions from plug-ins, their
 * versions, aliases, concurrency and async settings, built-in queues and
 * streams, and event source mappings, in one file. README.md ("Manifest")
 * has the reference of every field.
 *
 * Loading is all or nothing: the whole manifest is checked first (every
 * error names the JSON path of the bad field, e.g.
 * `functions[2].aliases[0].weight: must be a number from 0 to 1`), then
 * applied; if applying fails (a name that exists, no memory), everything
 * it created is deleted again, so the runtime is as it was — except that a
 * plug-in loaded with "swap" leaves the functions that existed before with
 * its new build (a swap is not undone, faas/plugin.h); they are never deleted.
 */
#ifndef FAAS_MANIFEST_H
#define FAAS_MANIFEST_H

#include <jansson.h>

#include "faas/common.h"
#include "faas/error.h"
#include "faas/runtime.h"

FAAS_BEGIN_DECLS

/**
 * Load the manifest at @p path; plug-in paths in it are relative to its
 * directory.
 * @param report  may be NULL; receives (new reference) what was created:
 *                {"functions":[names],"queues":[...],"streams":[...],
 *                "mappings":[UUIDs]}
 * @return 0; FAAS_ENOTFOUND (no such file), FAAS_EBADJSON (not JSON, with
 *         line and column), FAAS_EINVAL (a bad field: the detail names its
 *         path), FAAS_EEXIST, FAAS_ENOMEM, FAAS_ESHUTDOWN
 */
FAAS_EXTERN int faas_manifest_load(faas_runtime_t *rt, const char *path, json_t **report,
                                   faas_error_detail_t *detail);

/**
 * The manifest's "runtime" section (borrowed; absent: nothing changes) into
 * @p opts, for whoever makes the runtime the manifest goes into (the faas
 * command, faas serve): maxConcurrency (1-100000), asyncDelayScale (> 0),
 * keepAliveSeconds (1-86400). Loading checks the section the same way.
 * @return 0; FAAS_EINVAL (the detail names the field, e.g.
 *         `runtime.maxConcurency: unknown field`)
 */
FAAS_EXTERN int faas_manifest_runtime_options(const json_t *manifest, faas_runtime_options_t *opts,
                                              faas_error_detail_t *detail);

/** The same for a manifest already parsed (borrowed); @p base_dir for plug-in paths (NULL = "."). */
FAAS_EXTERN int faas_manifest_apply(faas_runtime_t *rt, const json_t *manifest,
                                    const char *base_dir, json_t **report,
                                    faas_error_detail_t *detail);

FAAS_END_DECLS

#endif /* FAAS_MANIFEST_H */
