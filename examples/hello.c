/*
 * libfaas example — hello: register a function, publish a version, point
 * an alias at it, invoke it through the alias.
 *
 *   build/examples/hello        (make check runs it)
 */
#include <faas.h>

#include <stdio.h>
#include <stdlib.h>

static int hello(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	const char *name = json_string_value(json_object_get(event, "name"));

	(void)ud;
	*response = json_pack("{s:s,s:s}", "message", "hello", "to", name ? name : "world");
	faas_context_log(ctx, "said hello to %s", name ? name : "world");
	return 0;
}

int main(void)
{
	faas_function_config_t fc = FAAS_FUNCTION_CONFIG_INIT;
	faas_alias_config_t ac = FAAS_ALIAS_CONFIG_INIT;
	faas_result_t r = FAAS_RESULT_INIT;
	faas_error_detail_t err;
	faas_runtime_t *rt;
	uint32_t version;
	char *text;

	if (faas_runtime_new(&rt, NULL, &err) != 0)
		return fprintf(stderr, "runtime: %s\n", err.message), 1;
	fc.handler = hello;
	fc.description = "says hello";
	if (faas_function_create(rt, "hello", &fc, &err) != 0 ||
	    faas_function_publish(rt, "hello", NULL, &version, &err) != 0)
		return fprintf(stderr, "register: %s\n", err.message), 1;
	ac.function_version = version;
	if (faas_alias_create(rt, "hello", "live", &ac, &err) != 0)
		return fprintf(stderr, "alias: %s\n", err.message), 1;
	if (faas_invoke_json(rt, "hello:live", "{\"name\":\"Ada\"}", 14, NULL, &r) != 0)
		return fprintf(stderr, "invoke: %s\n", r.message), 1;
	text = json_dumps(r.payload, JSON_COMPACT);
	printf("hello:live ran version %s and answered %s\n", r.executed_version, text);
	free(text);
	faas_result_clear(&r);
	faas_runtime_free(rt);
	return 0;
}
