/*
 * libfaas — JSON text helpers.
 *
 * Policy for reals in JSON text the library writes: 15 significant digits
 * (DBL_DIG), the most that survive decimal -> double -> decimal, so a weight
 * given as 0.03 prints as `0.03`, never `0.029999999999999999`. Exception:
 * a document holding a real within 15 digits of DBL_MAX is written with 17,
 * since 15 would round it past the largest double (and read back as inf).
 */
#ifndef FAAS_JSON_H
#define FAAS_JSON_H

#include <jansson.h>

#include "faas/common.h"

FAAS_BEGIN_DECLS

/**
 * json_dumps() with the library's real-number policy: when @p flags sets no
 * JSON_REAL_PRECISION, 15 significant digits are used.
 * @return a string allocated by jansson's allocator (release it as you
 *         release json_dumps() output: free() unless you changed jansson's
 *         allocator), or NULL on error.
 */
FAAS_EXTERN char *faas_json_dumps(const json_t *json, size_t flags);

FAAS_END_DECLS

#endif /* FAAS_JSON_H */
