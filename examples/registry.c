/*
 * libfaas demo — the registry at work: publish versions, route an alias
 * 90/10 between two of them, pin a caller with a routing key, show how
 * failures explain themselves, and print GetFunction's view of it all.
 *
 * Nothing is invoked: the handler is registered, dispatch comes later.
 * Every answer is checked; anything unexpected exits 1, so `make demo`
 * and tests/install.sh exercise real behaviour, not just linking.
 */
#include <faas.h>
#include <jansson.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#define DRAWS 10000
#define STICKY_DRAWS 1000
#define EPOCH_MS 1767225600000 /* 2026-01-01T00:00:00Z: keeps the output repeatable */

struct greeter_state {
	const char *greeting;
};

/* Static, so the function gets no user_data_free. */
static struct greeter_state greeter_state = { "hello" };

static const faas_env_var_t greeter_env[] = {
	{ "GREETING", "hello" },
	{ "STAGE", "demo" },
};

/* Builds {"greeting":"hello"}; not called until dispatch exists. */
static int greeter(faas_context_t *ctx, json_t *event, json_t **response, void *user_data)
{
	const struct greeter_state *st = user_data;

	(void)ctx;
	(void)event;
	*response = json_pack("{s:s}", "greeting", st->greeting);
	return *response ? 0 : -1;
}

static void fatal(const char *what)
{
	fprintf(stderr, "registry demo: %s\n", what);
	exit(1);
}

/* A call that must succeed. */
static void check(const char *what, int rc, const faas_error_detail_t *d)
{
	if (rc == 0)
		return;
	fprintf(stderr, "registry demo: %s: %s%s%s\n", what, faas_err_name(rc),
	        d && d->message[0] ? ": " : "", d ? d->message : "");
	exit(1);
}

/* A call that must fail with @p want; prints how the failure reads. */
static void expect_error(const char *what, int rc, int want, const faas_error_detail_t *d)
{
	if (rc == 0 || rc != want || d->code != want || !d->lambda_name) {
		fprintf(stderr, "registry demo: %s: expected %s, got %s\n", what, faas_err_name(want),
		        faas_err_name(rc));
		exit(1);
	}
	printf("  %s\n    %s  %s  HTTP %d\n    \"%s\"\n", what, faas_err_name(rc), d->lambda_name,
	       d->http_status, d->message);
}

static uint32_t publish(faas_runtime_t *rt, uint32_t want)
{
	faas_error_detail_t d = FAAS_ERROR_DETAIL_INIT;
	uint32_t v = 0;

	check("publish", faas_function_publish(rt, "greeter", NULL, &v, &d), &d);
	if (v != want)
		fatal("publish returned an unexpected version number");
	return v;
}

static void setup_versions(faas_runtime_t *rt)
{
	faas_function_config_t cfg = FAAS_FUNCTION_CONFIG_INIT;
	faas_error_detail_t d = FAAS_ERROR_DETAIL_INIT;

	printf("\n== versions ==\n");
	cfg.handler = greeter;
	cfg.user_data = &greeter_state;
	cfg.description = "Says hello";
	cfg.environment = greeter_env;
	cfg.environment_count = sizeof(greeter_env) / sizeof(greeter_env[0]);
	check("create greeter", faas_function_create(rt, "greeter", &cfg, &d), &d);
	printf("  created greeter ($LATEST, timeout %u ms)\n", FAAS_TIMEOUT_DEFAULT_MS);
	printf("  published version %" PRIu32 "\n", publish(rt, 1));

	/* An update replaces $LATEST whole: the rest of cfg is kept as is. */
	check("advance clock", faas_clock_advance(rt, 60000), NULL);
	cfg.description = "Says hello, more patiently";
	cfg.timeout_ms = 10000;
	check("update greeter", faas_function_update(rt, "greeter", &cfg, &d), &d);
	printf("  updated $LATEST (timeout %" PRIu32 " ms)\n", cfg.timeout_ms);
	printf("  published version %" PRIu32 "\n", publish(rt, 2));
	printf("  publish again, unchanged: version %" PRIu32 " (nothing new)\n", publish(rt, 2));
}

static void weighted_alias(faas_runtime_t *rt)
{
	faas_alias_config_t acfg = FAAS_ALIAS_CONFIG_INIT;
	faas_error_detail_t d = FAAS_ERROR_DETAIL_INIT;
	unsigned hits[3] = { 0, 0, 0 };
	uint32_t v;
	int i;

	printf("\n== alias live: version 1, 10%% to version 2 ==\n");
	acfg.function_version = 1;
	acfg.additional_version = 2;
	acfg.additional_weight = 0.10;
	acfg.description = "production traffic";
	check("create alias", faas_alias_create(rt, "greeter", "live", &acfg, &d), &d);
	for (i = 0; i < DRAWS; i++) {
		check("resolve", faas_function_resolve(rt, "greeter:live", NULL, NULL, &v, &d), &d);
		if (v != 1 && v != 2)
			fatal("resolve drew a version outside the alias");
		hits[v]++;
	}
	for (v = 1; v <= 2; v++)
		printf("  version %" PRIu32 ": %5u of %d (%.1f%%)\n", v, hits[v], DRAWS,
		       100.0 * hits[v] / DRAWS);
	/* 10% of 10,000 has a standard deviation of 30 draws: 8-12% is generous. */
	if (hits[2] < DRAWS * 8 / 100 || hits[2] > DRAWS * 12 / 100)
		fatal("version 2's share is far from 10%");
}

static void sticky_routing(faas_runtime_t *rt)
{
	faas_error_detail_t d = FAAS_ERROR_DETAIL_INIT;
	uint32_t first, v;
	int i;

	printf("\n== sticky routing ==\n");
	check("resolve", faas_function_resolve(rt, "greeter:live", NULL, "user-42", &first, &d), &d);
	for (i = 1; i < STICKY_DRAWS; i++) {
		check("resolve", faas_function_resolve(rt, "greeter:live", NULL, "user-42", &v, &d), &d);
		if (v != first)
			fatal("routing key user-42 changed version");
	}
	printf("  routing key \"user-42\" -> version %" PRIu32 " on all %d draws\n", first,
	       STICKY_DRAWS);
}

static void errors(faas_runtime_t *rt)
{
	faas_function_config_t cfg = FAAS_FUNCTION_CONFIG_INIT;
	faas_error_detail_t d = FAAS_ERROR_DETAIL_INIT;
	int rc;

	printf("\n== errors ==\n");
	cfg.handler = greeter;
	rc = faas_function_create(rt, "bad name!", &cfg, &d);
	expect_error("create \"bad name!\"", rc, FAAS_EINVAL, &d);
	rc = faas_function_resolve(rt, "nobody", NULL, NULL, NULL, &d);
	expect_error("resolve \"nobody\"", rc, FAAS_ENOTFOUND, &d);
	rc = faas_function_resolve(rt, "greeter:live", "1", NULL, NULL, &d);
	expect_error("resolve \"greeter:live\" with qualifier \"1\"", rc, FAAS_EINVAL, &d);
	rc = faas_function_delete(rt, "greeter", "1", &d);
	expect_error("delete greeter version 1 (alias live uses it)", rc, FAAS_ECONFLICT, &d);
}

static void describe(faas_runtime_t *rt)
{
	faas_error_detail_t d = FAAS_ERROR_DETAIL_INIT;
	json_t *desc = NULL;
	char *text;

	printf("\n== faas_function_describe(\"greeter\") ==\n");
	check("describe", faas_function_describe(rt, "greeter", &desc, &d), &d);
	text = faas_json_dumps(desc, JSON_INDENT(2));
	json_decref(desc);
	if (!text)
		fatal("faas_json_dumps failed");
	printf("%s\n", text);
	free(text);
}

int main(void)
{
	faas_runtime_options_t opts = FAAS_RUNTIME_OPTIONS_INIT;
	faas_error_detail_t d = FAAS_ERROR_DETAIL_INIT;
	faas_runtime_t *rt = NULL;

	/* A fixed seed and a virtual clock make every run print the same. */
	opts.seed = 42;
	opts.clock = FAAS_CLOCK_VIRTUAL;
	opts.virtual_epoch_ms = EPOCH_MS;
	check("faas_runtime_new", faas_runtime_new(&rt, &opts, &d), &d);
	printf("libfaas %s (headers %s), region %s, account %s\n", faas_version(),
	       FAAS_VERSION_STRING, faas_runtime_region(rt), faas_runtime_account_id(rt));

	setup_versions(rt);
	weighted_alias(rt);
	sticky_routing(rt);
	errors(rt);
	describe(rt);

	faas_runtime_free(rt);
	return 0;
}
