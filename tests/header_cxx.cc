/*
 * Compiled by tests/headers.sh only (never linked): <faas.h> must build as
 * C++11 -pedantic with every warning an error, declare everything with C
 * linkage, and its _INIT macros must work as C++ aggregate initialisers.
 */
#include <faas.h>

#include <cstring>

/* Redeclaring with C linkage is an error if a header forgot FAAS_BEGIN_DECLS. */
extern "C" {
const char *faas_strerror(int code);
const char *faas_version(void);
int faas_runtime_new(faas_runtime_t **out, const faas_runtime_options_t *opts,
                     faas_error_detail_t *detail);
int faas_function_create(faas_runtime_t *rt, const char *name, const faas_function_config_t *cfg,
                         faas_error_detail_t *detail);
char *faas_json_dumps(const json_t *json, size_t flags);
int faas_telemetry_subscribe(faas_runtime_t *rt, const faas_telemetry_options_t *opts,
                             uint32_t *id_out, faas_error_detail_t *detail);
}

/* A C++ plug-in: FAAS_PLUGIN_DEFINE must give both exports C linkage and
 * external visibility (redeclaring them extern "C" below checks the first). */
static int cxx_plugin_init(const faas_plugin_api_t *api)
{
	return api ? 0 : -1;
}
FAAS_PLUGIN_DEFINE(cxx_plugin_init)
extern "C" int faas_plugin_init(const faas_plugin_api_t *api);
extern "C" const unsigned faas_plugin_abi;

namespace {

#define CODE_(name, value, text, lambda, status) FAAS_##name,
const int codes[] = { FAAS_ERRNO_MAP(CODE_) FAAS_OK };
#undef CODE_

extern "C" int handler(faas_context_t *, json_t *, json_t **response, void *)
{
	*response = nullptr;
	return 0;
}

} // namespace

int header_cxx_check();

int header_cxx_check()
{
	faas_runtime_options_t ro = FAAS_RUNTIME_OPTIONS_INIT;
	faas_function_config_t fc = FAAS_FUNCTION_CONFIG_INIT;
	faas_error_detail_t ed = FAAS_ERROR_DETAIL_INIT;
	faas_alias_config_t ac = FAAS_ALIAS_CONFIG_INIT;
	faas_publish_options_t po = FAAS_PUBLISH_OPTIONS_INIT;
	faas_telemetry_options_t to = FAAS_TELEMETRY_OPTIONS_INIT;
	faas_env_var_t env = { "KEY", "value" };
	auto subscribe = &faas_telemetry_subscribe;
	auto rt_new = &faas_runtime_new;
	auto rt_free = &faas_runtime_free;
	auto create = &faas_function_create;
	auto update = &faas_function_update;
	auto publish = &faas_function_publish;
	auto del = &faas_function_delete;
	auto alias = &faas_alias_create;
	auto resolve = &faas_function_resolve;
	auto describe = &faas_function_describe;
	auto dumps = &faas_json_dumps;
	const char *(*err_name)(int) = faas_err_name;

	static_assert(FAAS_OK == 0 && FAAS_EINVAL < 0, "error codes are negative");
	static_assert(sizeof(ed.message) == FAAS_MESSAGE_MAX, "inline message buffer");
	fc.handler = handler;
	fc.environment = &env;
	fc.environment_count = 1;
	ro.clock = FAAS_CLOCK_VIRTUAL;
	ac.function_version = FAAS_VERSION_LATEST;
	unsigned long sum = ro.version + fc.version + ac.version + po.version + to.version +
	                    static_cast<unsigned long>(ed.http_status) + FAAS_VERSION_HEX +
	                    sizeof(codes) / sizeof(codes[0]) + static_cast<unsigned long>(-codes[0]) +
	                    std::strlen(FAAS_VERSION_STRING);
	return static_cast<int>(sum & 1) + (rt_new != nullptr) + (rt_free != nullptr) +
	       (create != nullptr) + (update != nullptr) + (publish != nullptr) + (del != nullptr) +
	       (alias != nullptr) + (resolve != nullptr) + (describe != nullptr) +
	       (dumps != nullptr) + (err_name != nullptr) + (subscribe != nullptr);
}
