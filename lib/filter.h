/*
 * libfaas — filter patterns (filter.c) and the event source mappings'
 * private interface (mapping.c, source.c).
 */
#ifndef FAAS_FILTER_H
#define FAAS_FILTER_H

#include "faas_int.h"

/* Parse and check one pattern: 0 and *out (new reference), or FAAS_EINVAL. */
FAAS_INTERNAL int faas__filter_compile(const char *text, json_t **out, faas_error_detail_t *d);
/* Whether @p event (any JSON, or NULL for absent) matches @p pattern. */
FAAS_INTERNAL bool faas__filter_match(const json_t *pattern, const json_t *event);

#endif /* FAAS_FILTER_H */
