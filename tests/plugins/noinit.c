/* libfaas test plug-in: the ABI symbol, but no entry point. */
#include <faas/plugin.h>

FAAS_PLUGIN_EXPORT const unsigned faas_plugin_abi = FAAS_PLUGIN_ABI;
