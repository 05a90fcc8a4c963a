/*
 * libfaas — library version.
 *
 * The Makefile reads FAAS_VERSION_MAJOR/MINOR/PATCH from this file; keep
 * each on its own line in the form below.
 */
#ifndef FAAS_VERSION_H
#define FAAS_VERSION_H

#include "faas/common.h"

#define FAAS_VERSION_MAJOR 0
#define FAAS_VERSION_MINOR 1
#define FAAS_VERSION_PATCH 0

/** 0xMMmmpp: one byte each for major, minor and patch. */
#define FAAS_VERSION_HEX \
	((FAAS_VERSION_MAJOR << 16) | (FAAS_VERSION_MINOR << 8) | FAAS_VERSION_PATCH)

#define FAAS_VERSION_STR_(x) #x
#define FAAS_VERSION_STR(x) FAAS_VERSION_STR_(x)
/** "MAJOR.MINOR.PATCH" of the headers being compiled against. */
#define FAAS_VERSION_STRING                                                     \
	FAAS_VERSION_STR(FAAS_VERSION_MAJOR) "." FAAS_VERSION_STR(FAAS_VERSION_MINOR) \
	"." FAAS_VERSION_STR(FAAS_VERSION_PATCH)

FAAS_BEGIN_DECLS

/**
 * Version of the library actually linked, as "MAJOR.MINOR.PATCH".
 * Compare with FAAS_VERSION_STRING to detect header/library skew.
 * @return a static string; thread-safe.
 */
FAAS_EXTERN const char *faas_version(void);

/** Same as faas_version() in FAAS_VERSION_HEX form. */
FAAS_EXTERN unsigned faas_version_hex(void);

FAAS_END_DECLS

#endif /* FAAS_VERSION_H */
