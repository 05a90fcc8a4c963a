/* libfaas test plug-in: an entry point but no faas_plugin_abi. */
#include <faas/plugin.h>

FAAS_PLUGIN_EXPORT int faas_plugin_init(const faas_plugin_api_t *api);

int faas_plugin_init(const faas_plugin_api_t *api)
{
	(void)api;
	return 0;
}
