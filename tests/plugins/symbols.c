/*
 * libfaas test plug-in for manifests: handler symbols the manifest names
 * ("plugin" + "handler"), no init of its own. jansson only.
 */
#include <faas/plugin.h>

#include <ctype.h>
#include <jansson.h>
#include <string.h>

FAAS_PLUGIN_EXPORT const unsigned faas_plugin_abi = FAAS_PLUGIN_ABI;

FAAS_PLUGIN_EXPORT int sym_upper(faas_context_t *ctx, json_t *event, json_t **response, void *ud);
FAAS_PLUGIN_EXPORT int sym_fail(faas_context_t *ctx, json_t *event, json_t **response, void *ud);
FAAS_PLUGIN_EXPORT int sym_init(faas_context_t *ctx, void **state, void *ud);

int sym_upper(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	const char *text = json_string_value(json_object_get(event, "text"));
	char buf[64] = "";
	size_t i;

	(void)ctx;
	(void)ud;
	for (i = 0; text && text[i] && i < sizeof(buf) - 1; i++)
		buf[i] = (char)toupper((unsigned char)text[i]);
	buf[i] = '\0';
	*response = json_pack("{s:s}", "up", buf);
	return 0;
}

int sym_fail(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	(void)ctx;
	(void)event;
	(void)response;
	(void)ud;
	return 1;
}

int sym_init(faas_context_t *ctx, void **state, void *ud)
{
	(void)ctx;
	*state = ud;
	return 0;
}
