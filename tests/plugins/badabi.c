/* libfaas test plug-in: built for an ABI this libfaas does not have. */
#include <faas/plugin.h>

FAAS_PLUGIN_EXPORT const unsigned faas_plugin_abi = 999;
FAAS_PLUGIN_EXPORT int faas_plugin_init(const faas_plugin_api_t *api);

int faas_plugin_init(const faas_plugin_api_t *api)
{
	(void)api;
	return 0;
}
