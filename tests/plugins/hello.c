/*
 * libfaas test plug-in: "hello" answers {"build":TAG,"n":<event.n>}, with
 * user_data freed through user_data_free; "echo" returns its event. Built
 * twice (TAG "v1" and "v2") for hot swap tests. Uses jansson only: no
 * libfaas symbol is needed from the host.
 */
#include <faas/plugin.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#ifndef TAG
#define TAG "v0"
#endif

/* The host's tests count live user_data through this symbol. */
FAAS_PLUGIN_EXPORT int hello_live_user_data;

static int hello(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	(void)ctx;
	*response = json_pack("{s:s,s:I,s:s}", "build", TAG, "n",
	                      json_integer_value(json_object_get(event, "n")), "ud", (const char *)ud);
	return 0;
}

static int echo(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	(void)ctx;
	(void)ud;
	*response = json_incref(event);
	return 0;
}

static void ud_free(void *ud)
{
	free(ud);
	hello_live_user_data--;
}

static int init(const faas_plugin_api_t *api)
{
	faas_function_config_t c = FAAS_FUNCTION_CONFIG_INIT;
	faas_env_var_t env[1] = { { "BUILD", TAG } };
	char *ud = malloc(8);
	int rc;

	if (api->abi != FAAS_PLUGIN_ABI || !ud)
		return -1;
	strcpy(ud, "ud-" TAG);
	hello_live_user_data++;
	c.handler = hello;
	c.user_data = ud;
	c.user_data_free = ud_free;
	c.description = "hello from " TAG;
	c.environment = env;
	c.environment_count = 1;
	if ((rc = api->register_function(api, "hello", &c)) != 0) {
		ud_free(ud);
		return rc;
	}
	c = (faas_function_config_t)FAAS_FUNCTION_CONFIG_INIT;
	c.handler = echo;
	return api->register_function(api, "echo", &c);
}

FAAS_PLUGIN_DEFINE(init)
