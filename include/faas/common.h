/*
 * libfaas — declarations shared by every public header.
 */
#ifndef FAAS_COMMON_H
#define FAAS_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define FAAS_BEGIN_DECLS extern "C" {
#define FAAS_END_DECLS }
#else
#define FAAS_BEGIN_DECLS
#define FAAS_END_DECLS
#endif

#if defined(__GNUC__) && __GNUC__ >= 4
#define FAAS_EXTERN __attribute__((visibility("default")))
#define FAAS_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define FAAS_EXTERN
#define FAAS_PRINTF(fmt, args)
#endif

FAAS_BEGIN_DECLS

/** A runtime: one "region/account" with its registry, pool and accounting. Opaque. */
typedef struct faas_runtime faas_runtime_t;

/** What a handler sees of its invocation. Opaque; worker-owned. */
typedef struct faas_context faas_context_t;

/**
 * Version number that names `$LATEST` wherever a version number is taken
 * (alias targets, resolve results). Published versions start at 1.
 */
#define FAAS_VERSION_LATEST 0u

FAAS_END_DECLS

#endif /* FAAS_COMMON_H */
