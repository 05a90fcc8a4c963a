/* libfaas test plug-in: registers a function, then refuses the load. */
#include <faas/plugin.h>

static int noop(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	(void)ctx;
	(void)event;
	(void)response;
	(void)ud;
	return 0;
}

static int init(const faas_plugin_api_t *api)
{
	faas_function_config_t c = FAAS_FUNCTION_CONFIG_INIT;

	c.handler = noop;
	if (api->register_function(api, "half", &c) != 0)
		return -2;
	/* offering a name twice, or a bad one, is refused */
	if (api->register_function(api, "half", &c) != FAAS_EINVAL ||
	    api->register_function(api, "bad name", &c) != FAAS_EINVAL)
		return -3;
	c.timeout_ms = 5; /* a config create would refuse is refused at once */
	if (api->register_function(api, "short", &c) != FAAS_EINVAL)
		return -4;
	return 7;
}

FAAS_PLUGIN_DEFINE(init)
