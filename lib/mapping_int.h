/*
 * libfaas — private interface of event sources (source.c), event source
 * mappings (mapping.c) and filter patterns (filter.c).
 */
#ifndef FAAS_MAPPING_INT_H
#define FAAS_MAPPING_INT_H

#include "dispatch.h"
#include "filter.h"

#include "faas/mapping.h"

struct faas_source {
	_Atomic long refs; /* the caller's handle + each mapping over it */
	faas_source_ops_t ops;
	void *ud;
	/* the runtime of its mappings (set by the first; a source serves one) */
	_Atomic(faas_runtime_t *) rt;
	faas_queue_t *queue; /* the built-in queue behind it, or NULL */
	_Atomic int mapped;  /* mappings over it (an ordered source serves one) */
	char function_arn[FAAS_ARN_MAX]; /* of its first mapping (stream failure records) */
	char event_source[32];
	char arn[FAAS_ARN_MAX];
	char data_key[32];
	char filter_root[32];
};

FAAS_INTERNAL void faas__source_ref(faas_source_t *s);
FAAS_INTERNAL void faas__md5_hex(const void *data, size_t len, char out[33]);

#endif /* FAAS_MAPPING_INT_H */
