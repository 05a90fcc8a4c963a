/*
 * libfaas example — a canary: version 2 gets 10 %, then 50 %, then all of
 * the alias's traffic, and the per-version metrics show the shift.
 *
 *   build/examples/canary       (make check runs it)
 */
#include <faas.h>

#include <stdio.h>

static int v1(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	(void)ctx;
	(void)event;
	(void)ud;
	*response = json_string("v1");
	return 0;
}

static int v2(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	(void)ctx;
	(void)event;
	(void)ud;
	*response = json_string("v2");
	return 0;
}

/* Invocations per executed version, from the metrics. */
static void print_share(faas_runtime_t *rt, const char *stage)
{
	json_t *m, *f, *v;
	size_t i, k;

	if (faas_metrics_json(rt, &m, NULL) != 0)
		return;
	printf("%-24s", stage);
	json_array_foreach(json_object_get(m, "Functions"), i, f)
		json_array_foreach(json_object_get(f, "Versions"), k, v)
			if (json_integer_value(json_object_get(v, "Invocations")))
				printf("  version %s: %4lld", json_string_value(json_object_get(v, "ExecutedVersion")),
				       (long long)json_integer_value(json_object_get(v, "Invocations")));
	printf("\n");
	json_decref(m);
}

int main(void)
{
	static const double weights[] = { 0.1, 0.5 };
	faas_runtime_options_t ro = FAAS_RUNTIME_OPTIONS_INIT;
	faas_function_config_t fc = FAAS_FUNCTION_CONFIG_INIT;
	faas_alias_config_t ac = FAAS_ALIAS_CONFIG_INIT;
	faas_error_detail_t err;
	faas_runtime_t *rt;
	char stage[64];
	int s, i;

	ro.seed = 42; /* routing draws are repeatable */
	if (faas_runtime_new(&rt, &ro, &err) != 0)
		return fprintf(stderr, "runtime: %s\n", err.message), 1;
	fc.handler = v1;
	faas_function_create(rt, "api", &fc, &err);
	faas_function_publish(rt, "api", NULL, NULL, &err); /* version 1 */
	fc.handler = v2;
	faas_function_update(rt, "api", &fc, &err);
	faas_function_publish(rt, "api", NULL, NULL, &err); /* version 2 */
	ac.function_version = 1;
	if (faas_alias_create(rt, "api", "live", &ac, &err) != 0)
		return fprintf(stderr, "alias: %s\n", err.message), 1;
	for (s = 0; s < 3; s++) {
		ac.function_version = s < 2 ? 1 : 2;
		ac.additional_version = s < 2 ? 2 : 0;
		ac.additional_weight = s < 2 ? weights[s] : 0;
		if (faas_alias_update(rt, "api", "live", &ac, &err) != 0)
			return fprintf(stderr, "shift: %s\n", err.message), 1;
		for (i = 0; i < 1000; i++) {
			faas_result_t r = FAAS_RESULT_INIT;
			faas_invoke_json(rt, "api:live", "{}", 2, NULL, &r);
			faas_result_clear(&r);
		}
		snprintf(stage, sizeof(stage), s < 2 ? "after %d%% to v2:" : "after all to v2:",
		         (int)(weights[s < 2 ? s : 0] * 100));
		print_share(rt, stage);
	}
	faas_runtime_free(rt);
	return 0;
}
