/*
 * Compiled by tests/headers.sh only (never linked): <faas.h> alone must
 * build as C99 -pedantic with every warning an error. Typed function
 * pointers make the compiler hold each declaration to the signature the
 * ABI promises; the _INIT macros must fill their structs exactly.
 */
#include <faas.h>

/* Every row of the error table must expand in client code. */
#define CODE_(name, value, text, lambda, status) FAAS_##name,
static const int codes[] = { FAAS_ERRNO_MAP(CODE_) FAAS_OK };
#undef CODE_

int header_c99_check(void);

static int handler(faas_context_t *ctx, json_t *event, json_t **response, void *user_data)
{
	(void)ctx;
	(void)event;
	(void)user_data;
	*response = NULL;
	return 0;
}

int header_c99_check(void)
{
	faas_runtime_options_t ro = FAAS_RUNTIME_OPTIONS_INIT;
	faas_function_config_t fc = FAAS_FUNCTION_CONFIG_INIT;
	faas_error_detail_t ed = FAAS_ERROR_DETAIL_INIT;
	faas_alias_config_t ac = FAAS_ALIAS_CONFIG_INIT;
	faas_publish_options_t po = FAAS_PUBLISH_OPTIONS_INIT;
	faas_telemetry_options_t to = FAAS_TELEMETRY_OPTIONS_INIT;
	faas_env_var_t env = { "KEY", "value" };
	faas_handler_fn h = handler;
	int (*subscribe)(faas_runtime_t *, const faas_telemetry_options_t *, uint32_t *,
	                 faas_error_detail_t *) = faas_telemetry_subscribe;
	size_t (*format)(const faas_telemetry_record_t *, char *, size_t) =
		faas_telemetry_record_format;
	int (*rt_new)(faas_runtime_t **, const faas_runtime_options_t *, faas_error_detail_t *) =
		faas_runtime_new;
	void (*rt_free)(faas_runtime_t *) = faas_runtime_free;
	int (*create)(faas_runtime_t *, const char *, const faas_function_config_t *,
	              faas_error_detail_t *) = faas_function_create;
	int (*publish)(faas_runtime_t *, const char *, const faas_publish_options_t *, uint32_t *,
	               faas_error_detail_t *) = faas_function_publish;
	int (*alias)(faas_runtime_t *, const char *, const char *, const faas_alias_config_t *,
	             faas_error_detail_t *) = faas_alias_create;
	int (*resolve)(faas_runtime_t *, const char *, const char *, const char *, uint32_t *,
	               faas_error_detail_t *) = faas_function_resolve;
	int (*describe)(faas_runtime_t *, const char *, json_t **, faas_error_detail_t *) =
		faas_function_describe;
	char *(*dumps)(const json_t *, size_t) = faas_json_dumps;
	const char *(*err_name)(int) = faas_err_name;
	const char *(*version)(void) = faas_version;
	unsigned long sum;

	ro.clock = FAAS_CLOCK_VIRTUAL;
	fc.handler = h;
	fc.environment = &env;
	fc.environment_count = 1;
	ac.function_version = FAAS_VERSION_LATEST;
	sum = ro.version + fc.version + ac.version + po.version + to.version + to.types +
	      (unsigned long)ed.http_status +
	      FAAS_VERSION_HEX + FAAS_TIMEOUT_DEFAULT_MS + FAAS_MESSAGE_MAX +
	      sizeof(codes) / sizeof(codes[0]) + (unsigned long)-codes[0] +
	      sizeof(FAAS_VERSION_STRING);
	return (int)(sum & 1) + (rt_new != NULL) + (rt_free != NULL) + (create != NULL) +
	       (publish != NULL) + (alias != NULL) + (resolve != NULL) + (describe != NULL) +
	       (dumps != NULL) + (err_name != NULL) + (version != NULL) + (subscribe != NULL) +
	       (format != NULL);
}
