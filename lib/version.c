/*
 * libfaas — library version.
 */
#include "faas_int.h"

const char *faas_version(void)
{
	return FAAS_VERSION_STRING;
}

unsigned faas_version_hex(void)
{
	return FAAS_VERSION_HEX;
}
