/*
 * libfaas example plug-in: its init registers one function, "greeter".
 * Built as build/examples/plugin/greeter.so; examples/plugin/faas.json
 * loads it (faas invoke build/examples/plugin/faas.json greeter).
 */
#include <faas.h>

static int greet(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	const char *name = json_string_value(json_object_get(event, "name"));

	(void)ud;
	faas_context_log(ctx, "greeting %s", name ? name : "stranger");
	*response = json_pack("{s:s}", "greeting", name ? name : "stranger");
	return 0;
}

static int init(const faas_plugin_api_t *api)
{
	faas_function_config_t c = FAAS_FUNCTION_CONFIG_INIT;

	c.handler = greet;
	c.description = "a plug-in's function";
	return api->register_function(api, "greeter", &c);
}

FAAS_PLUGIN_DEFINE(init)
