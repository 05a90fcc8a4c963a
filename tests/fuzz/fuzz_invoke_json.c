/*
 * Fuzz target: faas_invoke_json with arbitrary bytes as the event.
 *
 * Two inline runtimes, created once: one with Lambda's payload limits, one
 * with tiny ones (256-byte requests, 64-byte responses). Their function
 * "echo" answers its event (and logs it when it is a string); "echo:live"
 * is an alias to its version 1.
 *
 * Invariants (abort on violation):
 *  - the call returns 0, FAAS_EBADJSON or FAAS_ETOOLARGE, and 0 exactly
 *    when jansson parses the same bytes with the same flags
 *    (JSON_DECODE_ANY | JSON_ALLOW_NUL; no bytes is the event null);
 *    FAAS_ETOOLARGE exactly when the text is over the request limit;
 *  - on 0 the payload equals that parse; with response_text the text is
 *    faas_json_dumps of it, NUL-free, of the stated length, and parses
 *    back to the same value (reals to 15 significant digits); with a log
 *    tail the tail and its base64 are consistent; over the response limit
 *    the payload is Lambda's Function.ResponseSizeTooLarge error;
 *  - API errors fill code, status, error type and a message; DryRun
 *    answers 204 with no payload, or the same error as a real call;
 *  - faas_result_clear leaves FAAS_RESULT_INIT (LeakSanitizer checks the
 *    rest).
 */
#include "fuzz.h"

#include <math.h>

#define FLAGS (JSON_DECODE_ANY | JSON_ALLOW_NUL)
#define TEXT_FLAGS (JSON_COMPACT | JSON_ENCODE_ANY)
#define SMALL_REQUEST 256u
#define SMALL_RESPONSE 64u
#define TAIL_MAX 4096u

static int echo(faas_context_t *ctx, json_t *event, json_t **response, void *user_data)
{
	(void)user_data;
	if (json_is_string(event))
		faas_context_log(ctx, "event: %s", json_string_value(event));
	*response = json_incref(event);
	return 0;
}

static faas_runtime_t *fixture(uint32_t max_request, uint32_t max_response)
{
	faas_runtime_options_t o = FAAS_RUNTIME_OPTIONS_INIT;
	faas_function_config_t cfg = FAAS_FUNCTION_CONFIG_INIT;
	faas_alias_config_t live = FAAS_ALIAS_CONFIG_INIT;
	faas_error_detail_t d;
	faas_runtime_t *rt;
	uint32_t v;

	o.seed = 7;
	o.inline_mode = 1;
	o.clock = FAAS_CLOCK_VIRTUAL;
	o.max_request_bytes = max_request;
	o.max_response_bytes = max_response;
	cfg.handler = echo;
	live.function_version = 1;
	if (faas_runtime_new(&rt, &o, &d) != 0 || faas_function_create(rt, "echo", &cfg, &d) != 0 ||
	    faas_function_publish(rt, "echo", NULL, &v, &d) != 0 || v != 1 ||
	    faas_alias_create(rt, "echo", "live", &live, &d) != 0) {
		fprintf(stderr, "fuzz_invoke_json: fixture: %s\n", d.message);
		abort();
	}
	return rt;
}

/* Equal, with reals compared to 15 significant digits (the text policy). */
static bool close_equal(json_t *a, json_t *b)
{
	const char *key;
	json_t *va;
	size_t i;

	if (json_is_real(a) && json_is_real(b)) {
		double x = json_real_value(a), y = json_real_value(b);
		return x == y || fabs(x - y) <= 1e-14 * fmax(fabs(x), fabs(y));
	}
	if (json_typeof(a) != json_typeof(b))
		return false;
	if (json_is_array(a)) {
		if (json_array_size(a) != json_array_size(b))
			return false;
		for (i = 0; i < json_array_size(a); i++)
			if (!close_equal(json_array_get(a, i), json_array_get(b, i)))
				return false;
		return true;
	}
	if (json_is_object(a)) {
		if (json_object_size(a) != json_object_size(b))
			return false;
		json_object_foreach(a, key, va) {
			json_t *vb = json_object_get(b, key); /* jansson keys hold no NUL */
			if (!vb || !close_equal(va, vb))
				return false;
		}
		return true;
	}
	return json_equal(a, b);
}

static void check_cleared(faas_result_t *r)
{
	faas_result_clear(r);
	FUZZ_CHECK(r->payload == NULL && r->log_tail == NULL && r->log_tail_base64 == NULL &&
	                   r->payload_text == NULL && r->code == 0 && r->message[0] == '\0',
	           "faas_result_clear left state behind");
}

static void check_api_error(int rc, const faas_result_t *r)
{
	FUZZ_CHECK(r->code == rc, "result code %d, returned %d", r->code, rc);
	FUZZ_CHECK(r->status_code == faas_error_http_status(rc), "status %d for %s", r->status_code,
	           faas_err_name(rc));
	FUZZ_CHECK(r->error_type && strcmp(r->error_type, faas_error_lambda_name(rc)) == 0,
	           "error type %s for %s", r->error_type ? r->error_type : "(null)",
	           faas_err_name(rc));
	FUZZ_CHECK(memchr(r->message, '\0', sizeof(r->message)) && r->message[0],
	           "API error %s without a message", faas_err_name(rc));
	FUZZ_CHECK(r->payload == NULL && r->payload_text == NULL, "API error with a payload");
	if (rc == FAAS_EBADJSON)
		FUZZ_CHECK(strncmp(r->message, "Could not parse request body into json: ", 40) == 0,
		           "message: %s", r->message);
}

static void check_text(const faas_result_t *r, json_t *want)
{
	char *dump = faas_json_dumps(want, TEXT_FLAGS);
	json_error_t err;
	json_t *back;

	FUZZ_CHECK(r->payload_text != NULL, "response_text without text");
	FUZZ_CHECK(strlen(r->payload_text) == r->payload_text_len, "payload_text_len %zu, text %zu",
	           r->payload_text_len, strlen(r->payload_text));
	FUZZ_CHECK(dump && strcmp(dump, r->payload_text) == 0, "payload_text %s, want %s",
	           r->payload_text, dump ? dump : "(null)");
	free(dump);
	back = json_loadb(r->payload_text, r->payload_text_len, FLAGS, &err);
	FUZZ_CHECK(back != NULL, "payload_text does not parse back: %s: %s", err.text,
	           r->payload_text);
	FUZZ_CHECK(close_equal(back, want), "payload_text parses to another value: %s",
	           r->payload_text);
	json_decref(back);
}

static void check_tail(const faas_result_t *r)
{
	FUZZ_CHECK(r->log_tail != NULL, "FAAS_LOG_TAIL without a tail");
	FUZZ_CHECK(strlen(r->log_tail) == r->log_tail_len && r->log_tail_len <= TAIL_MAX,
	           "tail length %zu, text %zu", r->log_tail_len, strlen(r->log_tail));
	FUZZ_CHECK(r->log_tail_base64 &&
	                   strlen(r->log_tail_base64) == 4 * ((r->log_tail_len + 2) / 3),
	           "base64 tail of the wrong length");
}

/* RequestResponse on the large runtime: returns the code. */
static int plain(faas_runtime_t *rt, const uint8_t *data, size_t size, json_t *want)
{
	faas_result_t r = FAAS_RESULT_INIT;
	int rc = faas_invoke_json(rt, "echo", (const char *)data, size, NULL, &r);

	FUZZ_CHECK(rc == 0 || rc == FAAS_EBADJSON, "invoke_json returned %s (%s)",
	           faas_err_name(rc), r.message);
	FUZZ_CHECK((rc == 0) == (want != NULL), "invoke_json %s but jansson %s", faas_err_name(rc),
	           want ? "parses" : "does not");
	if (rc != 0) {
		check_api_error(rc, &r);
	} else {
		FUZZ_CHECK(r.code == 0 && r.status_code == 200 &&
		                   r.function_error == FAAS_FUNCTION_ERROR_NONE,
		           "echo failed: %d %s", r.status_code, r.message);
		FUZZ_CHECK(json_equal(r.payload, want), "payload differs from the event");
		FUZZ_CHECK(strlen(r.request_id) == 36 && strcmp(r.executed_version, "$LATEST") == 0,
		           "request id %s, version %s", r.request_id, r.executed_version);
	}
	check_cleared(&r);
	return rc;
}

/* Through the alias, with the text and the log tail. */
static void with_text(faas_runtime_t *rt, const uint8_t *data, size_t size, json_t *want, int prc)
{
	faas_invoke_options_t o = FAAS_INVOKE_OPTIONS_INIT;
	faas_result_t r = FAAS_RESULT_INIT;
	int rc;

	o.response_text = 1;
	o.log_type = FAAS_LOG_TAIL;
	o.routing_key = "k";
	rc = faas_invoke_json(rt, "echo:live", (const char *)data, size, &o, &r);
	FUZZ_CHECK(rc == prc, "with text %s, plain %s", faas_err_name(rc), faas_err_name(prc));
	if (rc != 0) {
		check_api_error(rc, &r);
	} else {
		FUZZ_CHECK(r.function_error == FAAS_FUNCTION_ERROR_NONE, "echo failed: %s", r.message);
		FUZZ_CHECK(strcmp(r.executed_version, "1") == 0, "version %s", r.executed_version);
		FUZZ_CHECK(json_equal(r.payload, want), "payload differs from the event");
		check_text(&r, want);
		check_tail(&r);
	}
	check_cleared(&r);
}

static void dry_run(faas_runtime_t *rt, const uint8_t *data, size_t size, int prc)
{
	faas_invoke_options_t o = FAAS_INVOKE_OPTIONS_INIT;
	faas_result_t r = FAAS_RESULT_INIT;
	int rc;

	o.type = FAAS_INVOKE_DRY_RUN;
	rc = faas_invoke_json(rt, "echo", (const char *)data, size, &o, &r);
	FUZZ_CHECK(rc == prc, "DryRun %s, plain %s", faas_err_name(rc), faas_err_name(prc));
	if (rc != 0)
		check_api_error(rc, &r);
	else
		FUZZ_CHECK(r.status_code == 204 && r.payload == NULL, "DryRun: status %d, payload %p",
		           r.status_code, (void *)r.payload);
	check_cleared(&r);
}

/* The runtime with tiny limits. */
static void small(faas_runtime_t *rt, const uint8_t *data, size_t size, json_t *want)
{
	faas_invoke_options_t o = FAAS_INVOKE_OPTIONS_INIT;
	faas_result_t r = FAAS_RESULT_INIT;
	char *dump;
	int rc;

	o.response_text = 1;
	rc = faas_invoke_json(rt, "echo", (const char *)data, size, &o, &r);
	if (size > SMALL_REQUEST) {
		FUZZ_CHECK(rc == FAAS_ETOOLARGE, "%zu bytes over a %u limit: %s", size, SMALL_REQUEST,
		           faas_err_name(rc));
		check_api_error(rc, &r);
		check_cleared(&r);
		return;
	}
	FUZZ_CHECK((rc == 0 && want) || (rc == FAAS_EBADJSON && !want), "small runtime: %s",
	           faas_err_name(rc));
	if (rc != 0) {
		check_api_error(rc, &r);
		check_cleared(&r);
		return;
	}
	dump = faas_json_dumps(want, TEXT_FLAGS);
	FUZZ_CHECK(dump != NULL, "faas_json_dumps failed");
	if (strlen(dump) <= SMALL_RESPONSE) {
		FUZZ_CHECK(r.function_error == FAAS_FUNCTION_ERROR_NONE, "%zu-byte response failed: %s",
		           strlen(dump), r.message);
		FUZZ_CHECK(json_equal(r.payload, want), "payload differs from the event");
		check_text(&r, want);
	} else {
		json_t *type = json_object_get(r.payload, "errorType");
		FUZZ_CHECK(r.function_error == FAAS_FUNCTION_ERROR_UNHANDLED,
		           "%zu-byte response over a %u limit passed", strlen(dump), SMALL_RESPONSE);
		FUZZ_CHECK(json_is_string(type) &&
		                   strcmp(json_string_value(type), "Function.ResponseSizeTooLarge") == 0,
		           "oversize response without Function.ResponseSizeTooLarge");
	}
	free(dump);
	check_cleared(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static faas_runtime_t *big, *tiny;
	json_error_t err;
	json_t *want;
	int rc;

	if (!big) {
		big = fixture(0, 0);
		tiny = fixture(SMALL_REQUEST, SMALL_RESPONSE);
	}
	want = size ? json_loadb((const char *)data, size, FLAGS, &err) : json_null();
	rc = plain(big, data, size, want);
	with_text(big, data, size, want, rc);
	dry_run(big, data, size, rc);
	small(tiny, data, size, want);
	json_decref(want);
	return 0;
}
