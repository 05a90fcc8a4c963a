/*
 * libfaas demo plug-in: the handlers examples/demo/faas.json names. Built
 * as build/examples/demo/demo.so and loaded by `faas run` (which exports
 * libfaas's symbols, so handlers call faas_context_* directly).
 */
#include <faas.h>

#include <string.h>

#define EXPORT FAAS_PLUGIN_EXPORT

EXPORT const unsigned faas_plugin_abi = FAAS_PLUGIN_ABI;

EXPORT int greet_v1(faas_context_t *ctx, json_t *event, json_t **response, void *ud);
EXPORT int greet_v2(faas_context_t *ctx, json_t *event, json_t **response, void *ud);
EXPORT int thumbnail(faas_context_t *ctx, json_t *event, json_t **response, void *ud);
EXPORT int charge(faas_context_t *ctx, json_t *event, json_t **response, void *ud);
EXPORT int ship(faas_context_t *ctx, json_t *event, json_t **response, void *ud);

static const char *name_of(json_t *event)
{
	const char *n = json_string_value(json_object_get(event, "name"));

	return n ? n : "world";
}

int greet_v1(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	(void)ud;
	faas_context_log(ctx, "v1 greets %s", name_of(event));
	*response = json_pack("{s:s,s:s}", "greeting", "Hello", "name", name_of(event));
	return 0;
}

int greet_v2(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	(void)ud;
	faas_context_log(ctx, "v2 greets %s", name_of(event));
	*response = json_pack("{s:s,s:s}", "greeting", "Hello there", "name", name_of(event));
	return 0;
}

int thumbnail(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	(void)ctx;
	(void)event;
	(void)ud;
	*response = json_pack("{s:s}", "thumbnail", "done");
	return 0;
}

/* Declines negative amounts, every time: its events end in the failure queue. */
int charge(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	json_int_t amount = json_integer_value(json_object_get(event, "amount"));

	(void)ud;
	if (amount < 0)
		return faas_context_fail(ctx, "PaymentDeclined", "amount %lld", (long long)amount);
	*response = json_pack("{s:s}", "status", "charged");
	return 0;
}

/* A queue trigger: reports orders without an address as failed items. */
int ship(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	json_t *recs = json_object_get(event, "Records"), *r, *failed = json_array();
	size_t i;

	(void)ud;
	json_array_foreach(recs, i, r) {
		json_t *order = json_loads(json_string_value(json_object_get(r, "body")), 0, NULL);
		if (!json_object_get(order, "address"))
			json_array_append_new(failed, json_pack("{s:s}", "itemIdentifier",
			                                        json_string_value(json_object_get(r, "messageId"))));
		json_decref(order);
	}
	faas_context_log(ctx, "shipped %zu of %zu", json_array_size(recs) - json_array_size(failed),
	                 json_array_size(recs));
	*response = json_pack("{s:o}", "batchItemFailures", failed);
	return 0;
}
