/*
 * libfaas tests — the invoke API: results, payloads, function errors, the
 * context, JSON text, API errors, DryRun, logs.
 */
#include "tests.h"

#include <stdlib.h>
#include <unistd.h>

static bool is_uuid4(const char *s)
{
	size_t i;

	if (strlen(s) != 36 || s[14] != '4' || !strchr("89ab", s[19]))
		return false;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!strchr("0123456789abcdef", s[i])) {
			return false;
		}
	}
	return true;
}

static char *dump(const json_t *j)
{
	return faas_json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

START_TEST(invoke_sync_returns_response)
{
	faas_runtime_t *rt = t_runtime();
	faas_result_t r = FAAS_RESULT_INIT;
	json_t *ev = json_pack("{s:i,s:s}", "n", 7, "s", "x");
	char *text;

	t_create(rt, "echo");
	ck_assert_int_eq(faas_invoke(rt, "echo", ev, NULL, &r), 0);
	ck_assert_int_eq(r.code, 0);
	ck_assert_int_eq(r.status_code, 200);
	ck_assert_int_eq(r.function_error, FAAS_FUNCTION_ERROR_NONE);
	ck_assert(json_equal(r.payload, ev));
	ck_assert_str_eq(r.executed_version, "$LATEST");
	ck_assert_msg(is_uuid4(r.request_id), "request id %s", r.request_id);
	ck_assert_ptr_null(r.error_type);
	ck_assert_str_eq(r.message, "");
	ck_assert_ptr_null(r.log_tail);
	faas_result_clear(&r);
	faas_result_clear(&r); /* idempotent */
	ck_assert_ptr_null(r.payload);
	ck_assert_int_eq(r.version, FAAS_RESULT_VERSION);
	/* a NULL response is `null`; a NULL event arrives as `null` */
	t_create_fn(rt, "nothing", t_handler2, NULL);
	ck_assert_int_eq(faas_invoke(rt, "nothing", NULL, NULL, &r), 0);
	text = dump(r.payload);
	ck_assert_str_eq(text, "null");
	free(text);
	faas_result_clear(&r);
	faas_result_clear(NULL);
	json_decref(ev);
	faas_runtime_free(rt);
}
END_TEST

struct seen {
	char request_id[40], name[70], version[12], arn[400], env[32], cc[64];
	uint32_t memory;
	int64_t deadline, remaining;
	bool cancelled, missing_env_null;
	faas_runtime_t *rt;
};

static int observe(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	struct seen *s = ud;
	const char *env = faas_context_getenv(ctx, "STAGE");
	json_t *cc = faas_context_client_context(ctx);

	(void)event;
	snprintf(s->request_id, sizeof(s->request_id), "%s", faas_context_request_id(ctx));
	snprintf(s->name, sizeof(s->name), "%s", faas_context_function_name(ctx));
	snprintf(s->version, sizeof(s->version), "%s", faas_context_function_version(ctx));
	snprintf(s->arn, sizeof(s->arn), "%s", faas_context_invoked_function_arn(ctx));
	snprintf(s->env, sizeof(s->env), "%s", env ? env : "(none)");
	snprintf(s->cc, sizeof(s->cc), "%s",
	         cc ? json_string_value(json_object_get(cc, "app")) : "(none)");
	s->memory = faas_context_memory_limit_mb(ctx);
	s->deadline = faas_context_deadline_ms(ctx);
	s->remaining = faas_context_remaining_ms(ctx);
	s->cancelled = faas_context_cancelled(ctx);
	s->rt = faas_context_runtime(ctx);
	s->missing_env_null = faas_context_getenv(ctx, "MISSING") == NULL; /* no ck_assert on workers */
	*response = NULL;
	return 0;
}

/* Asks for its deadline only after 200 ms of work. */
static int late_deadline(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	(void)event;
	(void)response;
	faas__sleep_ms(200);
	*(int64_t *)ud = faas_context_deadline_ms(ctx);
	return 0;
}

/* On a real clock the start's wall time is derived when first asked for
 * (now, less the time since the start): the deadline still reads as the
 * wall time of the start plus the timeout, even when asked late. */
START_TEST(invoke_context_deadline_real_clock)
{
	faas_runtime_options_t o = FAAS_RUNTIME_OPTIONS_INIT;
	faas_function_config_t c = t_config(NULL);
	faas_result_t r = FAAS_RESULT_INIT;
	faas_error_detail_t d;
	faas_runtime_t *rt;
	struct seen s;
	int64_t before, after, late = 0;

	memset(&s, 0, sizeof(s));
	rt = t_runtime_with(&o);
	c.handler = observe;
	c.user_data = &s;
	c.timeout_ms = 5000;
	ck_assert_ok(faas_function_create(rt, "obs", &c, &d), d);
	before = faas_clock_wall_ms(rt);
	ck_assert_int_eq(faas_invoke(rt, "obs", NULL, NULL, &r), 0);
	after = faas_clock_wall_ms(rt);
	ck_assert_int_ge(s.deadline, before + 5000 - 1); /* -1: ms rounding of the derivation */
	ck_assert_int_le(s.deadline, after + 5000);
	ck_assert_int_le(s.remaining, 5000);
	ck_assert_int_gt(s.remaining, 4000);
	faas_result_clear(&r);
	c.handler = late_deadline;
	c.user_data = &late;
	ck_assert_ok(faas_function_create(rt, "late", &c, &d), d);
	before = faas_clock_wall_ms(rt);
	ck_assert_int_eq(faas_invoke(rt, "late", NULL, NULL, &r), 0);
	ck_assert_int_ge(late, before + 5000 - 1);
	ck_assert_int_lt(late, before + 5000 + 100); /* not the time it asked, 200 ms on */
	faas_result_clear(&r);
	faas_runtime_free(rt);
}
END_TEST

START_TEST(invoke_context_describes_the_call)
{
	faas_runtime_t *rt = t_runtime();
	faas_function_config_t c = t_config(NULL);
	faas_alias_config_t ac = FAAS_ALIAS_CONFIG_INIT;
	faas_invoke_options_t o = FAAS_INVOKE_OPTIONS_INIT;
	faas_env_var_t env[1] = { { "STAGE", "prod" } };
	faas_result_t r = FAAS_RESULT_INIT;
	faas_error_detail_t d;
	struct seen s;

	memset(&s, 0, sizeof(s));
	c.handler = observe;
	c.user_data = &s;
	c.memory_mb = 256;
	c.timeout_ms = 5000;
	c.environment = env;
	c.environment_count = 1;
	ck_assert_ok(faas_function_create(rt, "obs", &c, &d), d);
	t_publish(rt, "obs");
	ac.function_version = 1;
	ck_assert_ok(faas_alias_create(rt, "obs", "live", &ac, &d), d);
	faas_clock_advance(rt, 250);
	o.client_context = json_pack("{s:s}", "app", "tests");
	ck_assert_int_eq(faas_invoke(rt, "obs:live", NULL, &o, &r), 0);
	ck_assert_str_eq(s.request_id, r.request_id);
	ck_assert_str_eq(s.name, "obs");
	ck_assert_str_eq(s.version, "1");
	ck_assert_str_eq(r.executed_version, "1");
	ck_assert_str_eq(s.arn, "arn:aws:lambda:us-east-1:123456789012:function:obs:live");
	ck_assert_str_eq(s.env, "prod");
	ck_assert_str_eq(s.cc, "tests");
	ck_assert_uint_eq(s.memory, 256);
	ck_assert_int_eq(s.deadline, 1700000000000 + 250 + 5000); /* virtual clock: exact */
	ck_assert_int_eq(s.remaining, 5000);
	ck_assert(!s.cancelled);
	ck_assert(s.missing_env_null);
	ck_assert_ptr_eq(s.rt, rt);
	ck_assert(json_is_null(r.payload));
	faas_result_clear(&r);
	/* unqualified ARN as called */
	ck_assert_int_eq(faas_invoke(rt, "123456789012:function:obs", NULL, NULL, &r), 0);
	ck_assert_str_eq(s.arn, "arn:aws:lambda:us-east-1:123456789012:function:obs");
	ck_assert_str_eq(s.version, "$LATEST");
	faas_result_clear(&r);
	json_decref(o.client_context);
	/* accessors are NULL-safe */
	ck_assert_ptr_null(faas_context_request_id(NULL));
	ck_assert_int_eq(faas_context_remaining_ms(NULL), 0);
	ck_assert(!faas_context_cancelled(NULL));
	ck_assert_int_eq(faas_context_fail(NULL, "x", "y"), -1);
	faas_runtime_free(rt);
}
END_TEST

static int failing(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	(void)event;
	(void)ud;
	*response = json_string("discarded");
	return faas_context_fail(ctx, "ValueError", "bad id %d", 7);
}

static int bare_failure(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	(void)ctx;
	(void)event;
	(void)response;
	(void)ud;
	return 42;
}

/* The message buffer cannot be had: the first failure still counts. */
static int failing_without_memory(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	(void)event;
	(void)response;
	(void)ud;
	faas__alloc_fail_at(1, false); /* the message buffer's allocation */
	faas_context_fail(ctx, "ValueError", "bad id %d", 7);
	faas_context_fail(ctx, "Other", "a second failure: not the one reported");
	return -1;
}

/* A failure with an empty message needs no buffer at all. */
static int failing_quietly(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	(void)event;
	(void)response;
	(void)ud;
	faas__alloc_fail_at(1, true); /* any allocation from here fails... */
	faas_context_fail(ctx, "Quiet", NULL);
	faas__alloc_fail_at(0, false); /* ...until the handler returns */
	return -1;
}

START_TEST(invoke_failure_message_without_memory)
{
	faas_runtime_options_t o = t_options();
	faas_result_t r = FAAS_RESULT_INIT;
	faas_runtime_t *rt;

	o.inline_mode = 1; /* the handler's thread is this one: nothing else allocates meanwhile */
	rt = t_runtime_with(&o);
	t_create_fn(rt, "oom", failing_without_memory, NULL);
	t_create_fn(rt, "quiet", failing_quietly, NULL);
	ck_assert_int_eq(faas_invoke(rt, "oom", NULL, NULL, &r), 0);
	ck_assert_int_eq(r.function_error, FAAS_FUNCTION_ERROR_UNHANDLED);
	ck_assert_str_eq(t_jstr(r.payload, "errorType"), "ValueError");
	ck_assert_str_eq(t_jstr(r.payload, "errorMessage"),
	                 "(the error message was lost: out of memory)");
	faas_result_clear(&r);
	ck_assert_int_eq(faas_invoke(rt, "quiet", NULL, NULL, &r), 0);
	ck_assert_str_eq(t_jstr(r.payload, "errorType"), "Quiet");
	ck_assert_str_eq(t_jstr(r.payload, "errorMessage"), "");
	faas_result_clear(&r);
	faas_runtime_free(rt);
}
END_TEST

START_TEST(invoke_function_errors)
{
	faas_runtime_options_t o = t_options();
	faas_runtime_t *rt = t_runtime();
	faas_result_t r = FAAS_RESULT_INIT;
	char *text;

	t_create_fn(rt, "bad", failing, NULL);
	t_create_fn(rt, "bare", bare_failure, NULL);
	ck_assert_int_eq(faas_invoke(rt, "bad", NULL, NULL, &r), 0); /* invoked: API success */
	ck_assert_int_eq(r.status_code, 200);
	ck_assert_int_eq(r.function_error, FAAS_FUNCTION_ERROR_UNHANDLED);
	text = dump(r.payload);
	ck_assert_str_eq(text, "{\"errorMessage\":\"bad id 7\",\"errorType\":\"ValueError\","
	                       "\"stackTrace\":[]}");
	free(text);
	ck_assert_str_eq(r.message, "bad id 7");
	faas_result_clear(&r);
	ck_assert_int_eq(faas_invoke(rt, "bare", NULL, NULL, &r), 0);
	ck_assert_str_eq(t_jstr(r.payload, "errorType"), "Runtime.HandlerError");
	ck_assert_ptr_nonnull(strstr(t_jstr(r.payload, "errorMessage"), "Error: handler returned 42"));
	ck_assert_ptr_nonnull(strstr(t_jstr(r.payload, "errorMessage"), r.request_id));
	faas_result_clear(&r);
	faas_runtime_free(rt);

	o.legacy_handled_errors = 1;
	rt = t_runtime_with(&o);
	t_create_fn(rt, "bad", failing, NULL);
	ck_assert_int_eq(faas_invoke(rt, "bad", NULL, NULL, &r), 0);
	ck_assert_int_eq(r.function_error, FAAS_FUNCTION_ERROR_HANDLED);
	faas_result_clear(&r);
	faas_runtime_free(rt);
}
END_TEST

static _Atomic int calls;

static int counting(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	(void)ctx;
	(void)ud;
	atomic_fetch_add(&calls, 1);
	*response = json_incref(event);
	return 0;
}

START_TEST(invoke_json_text)
{
	faas_runtime_t *rt = t_runtime();
	faas_invoke_options_t o = FAAS_INVOKE_OPTIONS_INIT;
	faas_result_t r = FAAS_RESULT_INIT;
	char *text;

	atomic_store(&calls, 0);
	t_create_fn(rt, "f", counting, NULL);
	ck_assert_int_eq(faas_invoke_json(rt, "f", "{\"a\":[1,2]}", 11, NULL, &r), 0);
	text = dump(r.payload);
	ck_assert_str_eq(text, "{\"a\":[1,2]}");
	free(text);
	faas_result_clear(&r);
	ck_assert_int_eq(faas_invoke_json(rt, "f", "", 0, NULL, &r), 0);
	ck_assert(json_is_null(r.payload));
	faas_result_clear(&r);
	ck_assert_int_eq(faas_invoke_json(rt, "f", "\"just a string\"", 15, NULL, &r), 0);
	ck_assert_str_eq(json_string_value(r.payload), "just a string");
	faas_result_clear(&r);
	ck_assert_int_eq(atomic_load(&calls), 3);
	/* invalid JSON: reported at once, with line and column; nothing runs */
	ck_assert_int_eq(faas_invoke_json(rt, "f", "{\"a\":\n  nope}", 13, NULL, &r), FAAS_EBADJSON);
	ck_assert_int_eq(r.code, FAAS_EBADJSON);
	ck_assert_int_eq(r.status_code, 400);
	ck_assert_str_eq(r.error_type, "InvalidRequestContentException");
	ck_assert_ptr_nonnull(strstr(r.message, "Could not parse request body into json: "));
	ck_assert_ptr_nonnull(strstr(r.message, "(line 2, column"));
	ck_assert_ptr_null(r.payload);
	faas_result_clear(&r);
	/* for every invocation type, even to an unknown function */
	o.type = FAAS_INVOKE_DRY_RUN;
	ck_assert_int_eq(faas_invoke_json(rt, "nobody", "[1,", 3, &o, &r), FAAS_EBADJSON);
	faas_result_clear(&r);
	ck_assert_int_eq(faas_invoke_json(rt, "f", NULL, 5, NULL, &r), FAAS_EINVAL);
	faas_result_clear(&r);
	ck_assert_int_eq(atomic_load(&calls), 3);
	faas_runtime_free(rt);
}
END_TEST

START_TEST(invoke_api_errors)
{
	faas_runtime_t *rt = t_runtime();
	faas_invoke_options_t o = FAAS_INVOKE_OPTIONS_INIT;
	faas_result_t r = FAAS_RESULT_INIT;
	json_t *arr = json_array();

	atomic_store(&calls, 0);
	t_create_fn(rt, "f", counting, NULL);
	ck_assert_int_eq(faas_invoke(rt, "f", NULL, NULL, NULL), FAAS_EINVAL);
#define API_ERR(call, want, status, name, text)                                  \
	do {                                                                     \
		ck_assert_int_eq((call), (want));                                \
		ck_assert_int_eq(r.code, (want));                                \
		ck_assert_int_eq(r.status_code, (status));                       \
		ck_assert_str_eq(r.error_type, (name));                          \
		ck_assert_msg(strstr(r.message, (text)) != NULL, "%s", r.message); \
		ck_assert_ptr_null(r.payload);                                   \
		faas_result_clear(&r);                                           \
	} while (0)
	API_ERR(faas_invoke(NULL, "f", NULL, NULL, &r), FAAS_EINVAL, 400,
	        "InvalidParameterValueException", "runtime must not be NULL");
	API_ERR(faas_invoke(rt, "nobody", NULL, NULL, &r), FAAS_ENOTFOUND, 404,
	        "ResourceNotFoundException",
	        "Function not found: arn:aws:lambda:us-east-1:123456789012:function:nobody");
	API_ERR(faas_invoke(rt, "f:9", NULL, NULL, &r), FAAS_ENOTFOUND, 404,
	        "ResourceNotFoundException", "function:f:9");
	API_ERR(faas_invoke(rt, "bad name", NULL, NULL, &r), FAAS_EINVAL, 400,
	        "InvalidParameterValueException", "failed to satisfy constraint");
	o.qualifier = "1";
	API_ERR(faas_invoke(rt, "f:live", NULL, &o, &r), FAAS_EINVAL, 400,
	        "InvalidParameterValueException",
	        "The derived qualifier from the function name does not match the specified qualifier.");
	o.qualifier = NULL;
	o.type = FAAS_INVOKE_EVENT;
	ck_assert_int_eq(faas_invoke(rt, "f", NULL, &o, &r), 0); /* queued (check_async.c) */
	ck_assert_int_eq(r.status_code, 202);
	faas_result_clear(&r);
	t_settle(rt);
	ck_assert_int_eq(atomic_exchange(&calls, 0), 1); /* it ran; the errors below run nothing */
	API_ERR(faas_invoke(rt, "nobody", NULL, &o, &r), FAAS_ENOTFOUND, 404,
	        "ResourceNotFoundException", "Function not found");
	o.type = (faas_invocation_type_t)9;
	API_ERR(faas_invoke(rt, "f", NULL, &o, &r), FAAS_EINVAL, 400,
	        "InvalidParameterValueException", "unknown invocation type 9");
	o.type = FAAS_INVOKE_REQUEST_RESPONSE;
	o.client_context = arr;
	API_ERR(faas_invoke(rt, "f", NULL, &o, &r), FAAS_EINVAL, 400,
	        "InvalidParameterValueException", "Client context must be a JSON object");
	o.client_context = NULL;
	o.version = 5;
	API_ERR(faas_invoke(rt, "f", NULL, &o, &r), FAAS_EINVAL, 400,
	        "InvalidParameterValueException", "unsupported faas_invoke_options_t version 5");
	r.version = 0;
	ck_assert_int_eq(faas_invoke(rt, "f", NULL, NULL, &r), FAAS_EINVAL);
	ck_assert_ptr_nonnull(strstr(r.message, "unsupported faas_result_t version 0"));
	r.version = FAAS_RESULT_VERSION;
	faas_result_clear(&r);
	ck_assert_int_eq(atomic_load(&calls), 0);
	ck_assert_uint_eq(faas_runtime_concurrent_executions(rt), 0);
	json_decref(arr);
	faas_runtime_free(rt);
}
END_TEST

START_TEST(invoke_dry_run_validates_only)
{
	faas_runtime_t *rt = t_runtime();
	faas_invoke_options_t o = FAAS_INVOKE_OPTIONS_INIT;
	faas_alias_config_t ac = FAAS_ALIAS_CONFIG_INIT;
	faas_result_t r = FAAS_RESULT_INIT;
	faas_error_detail_t d;
	uint32_t before[32], after[32];
	int i;

	atomic_store(&calls, 0);
	t_create_fn(rt, "f", counting, NULL);
	t_publish(rt, "f");
	t_touch(rt, "f", "2");
	t_publish(rt, "f");
	ac.function_version = 1;
	ac.additional_version = 2;
	ac.additional_weight = 0.5;
	ck_assert_ok(faas_alias_create(rt, "f", "live", &ac, &d), d);
	ck_assert_ok(faas_function_set_reserved_concurrency(rt, "f", 0, &d), d); /* never throttles */
	o.type = FAAS_INVOKE_DRY_RUN;
	ck_assert_int_eq(faas_invoke(rt, "f:live", NULL, &o, &r), 0);
	ck_assert_int_eq(r.status_code, 204);
	ck_assert_ptr_null(r.payload);
	ck_assert_str_eq(r.request_id, "");
	faas_result_clear(&r);
	ck_assert_int_eq(faas_invoke(rt, "f:nope", NULL, &o, &r), FAAS_ENOTFOUND);
	faas_result_clear(&r);
	ck_assert_int_eq(atomic_load(&calls), 0);
	faas_runtime_free(rt);

	/* dry runs do not consume routing draws: the sequence is unchanged */
	for (int pass = 0; pass < 2; pass++) {
		rt = t_runtime();
		t_create_fn(rt, "f", counting, NULL);
		t_publish(rt, "f");
		t_touch(rt, "f", "2");
		t_publish(rt, "f");
		ck_assert_ok(faas_alias_create(rt, "f", "live", &ac, &d), d);
		for (i = 0; i < 32; i++) {
			if (pass == 1) {
				ck_assert_int_eq(faas_invoke(rt, "f:live", NULL, &o, &r), 0);
				faas_result_clear(&r);
			}
			ck_assert_int_eq(faas_function_resolve(rt, "f:live", NULL, NULL,
			                                       pass ? &after[i] : &before[i], NULL),
			                 0);
		}
		faas_runtime_free(rt);
	}
	ck_assert_int_eq(memcmp(before, after, sizeof(before)), 0);
}
END_TEST

static int chatty(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	(void)event;
	(void)ud;
	faas_context_log(ctx, "processing %s", "order-1");
	faas_context_log(ctx, "done\n");
	*response = json_true();
	return 0;
}

struct sink {
	pthread_mutex_t m;
	int lines;
	char last[256];
};

static void sink_fn(const char *line, size_t len, void *ud)
{
	struct sink *s = ud;

	pthread_mutex_lock(&s->m);
	s->lines++;
	snprintf(s->last, sizeof(s->last), "%.*s", (int)len, line);
	pthread_mutex_unlock(&s->m);
}

START_TEST(invoke_log_tail_and_sink)
{
	faas_runtime_options_t ro = t_options();
	faas_invoke_options_t o = FAAS_INVOKE_OPTIONS_INIT;
	faas_result_t r = FAAS_RESULT_INIT;
	struct sink s;
	faas_runtime_t *rt;
	char expect[512];

	memset(&s, 0, sizeof(s));
	pthread_mutex_init(&s.m, NULL);
	ro.log_fn = sink_fn;
	ro.log_user_data = &s;
	rt = t_runtime_with(&ro);
	t_create_fn(rt, "chatty", chatty, NULL);
	o.log_type = FAAS_LOG_TAIL;
	ck_assert_int_eq(faas_invoke(rt, "chatty", NULL, &o, &r), 0);
	ck_assert_ptr_nonnull(r.log_tail);
	ck_assert_uint_eq(strlen(r.log_tail), r.log_tail_len);
	snprintf(expect, sizeof(expect), "INIT_START Runtime Version: libfaas:" FAAS_VERSION_STRING
	         "\tRuntime Version ARN: arn:aws:lambda:us-east-1::runtime:libfaas-" FAAS_VERSION_STRING
	         "\nSTART RequestId: %s Version: $LATEST\nprocessing order-1\ndone\nEND RequestId: "
	         "%s\nREPORT RequestId: %s\tDuration: ",
	         r.request_id, r.request_id, r.request_id);
	ck_assert_msg(strncmp(r.log_tail, expect, strlen(expect)) == 0, "%s", r.log_tail);
	ck_assert_ptr_nonnull(strstr(r.log_tail, "\tMemory Size: 128 MB\tMax Memory Used: 128 MB\tInit Duration: "));
	ck_assert_int_eq(s.lines, 6);
	ck_assert_ptr_nonnull(strstr(s.last, "REPORT RequestId: "));
	faas_result_clear(&r);
	/* warm: no Init Duration; without Tail, no tail */
	ck_assert_int_eq(faas_invoke(rt, "chatty", NULL, NULL, &r), 0);
	ck_assert_ptr_null(r.log_tail);
	ck_assert_ptr_null(strstr(s.last, "Init Duration"));
	ck_assert_int_eq(s.lines, 11); /* warm: no INIT_START */
	faas_result_clear(&r);
	faas_runtime_free(rt);
	pthread_mutex_destroy(&s.m);
}
END_TEST

static int spammy(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	int i;

	(void)event;
	(void)ud;
	for (i = 0; i < 400; i++)
		faas_context_log(ctx, "line %03d %s", i, "................................");
	*response = NULL;
	return 0;
}

START_TEST(invoke_log_tail_keeps_last_4k)
{
	faas_runtime_t *rt = t_runtime();
	faas_invoke_options_t o = FAAS_INVOKE_OPTIONS_INIT;
	faas_result_t r = FAAS_RESULT_INIT;
	const char *last;

	t_create_fn(rt, "spam", spammy, NULL);
	o.log_type = FAAS_LOG_TAIL;
	ck_assert_int_eq(faas_invoke(rt, "spam", NULL, &o, &r), 0);
	ck_assert_uint_le(r.log_tail_len, 4096);
	ck_assert_uint_ge(r.log_tail_len, 4000);
	ck_assert_ptr_null(strstr(r.log_tail, "line 000 "));
	last = strstr(r.log_tail, "line 399 ");
	ck_assert_ptr_nonnull(last);
	ck_assert_ptr_nonnull(strstr(last, "REPORT RequestId: "));
	faas_result_clear(&r);
	faas_runtime_free(rt);
}
END_TEST

START_TEST(invoke_log_fd_and_base64_tail)
{
	faas_runtime_options_t ro = t_options();
	faas_invoke_options_t o = FAAS_INVOKE_OPTIONS_INIT;
	faas_result_t r = FAAS_RESULT_INIT;
	faas_runtime_t *rt;
	char buf[2048], *b;
	int fds[2];
	ssize_t n;

	b = faas__base64("Man", 3);
	ck_assert_str_eq(b, "TWFu");
	faas__free(b);
	b = faas__base64("Ma", 2);
	ck_assert_str_eq(b, "TWE=");
	faas__free(b);
	b = faas__base64("M", 1);
	ck_assert_str_eq(b, "TQ==");
	faas__free(b);
	b = faas__base64("", 0);
	ck_assert_str_eq(b, "");
	faas__free(b);

	ck_assert_int_eq(pipe(fds), 0);
	ro.log_fd = fds[1];
	rt = t_runtime_with(&ro);
	t_create_fn(rt, "chatty", chatty, NULL);
	o.log_type = FAAS_LOG_TAIL;
	ck_assert_int_eq(faas_invoke(rt, "chatty", NULL, &o, &r), 0);
	n = read(fds[0], buf, sizeof(buf) - 1);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_str_eq(buf, r.log_tail); /* the same lines, each ending in a newline */
	ck_assert_uint_eq(strlen(r.log_tail_base64), 4 * ((r.log_tail_len + 2) / 3));
	b = faas__base64(r.log_tail, r.log_tail_len);
	ck_assert_str_eq(r.log_tail_base64, b);
	faas__free(b);
	faas_result_clear(&r);
	ck_assert_ptr_null(r.log_tail_base64);
	faas_runtime_free(rt);
	close(fds[0]);
	close(fds[1]);
}
END_TEST

START_TEST(invoke_request_ids_unique)
{
	faas_runtime_t *rt = t_runtime();
	faas_result_t r = FAAS_RESULT_INIT;
	char ids[200][FAAS_REQUEST_ID_SIZE];
	int i, j;

	t_create(rt, "f");
	for (i = 0; i < 200; i++) {
		ck_assert_int_eq(faas_invoke(rt, "f", NULL, NULL, &r), 0);
		ck_assert(is_uuid4(r.request_id));
		memcpy(ids[i], r.request_id, sizeof(ids[i]));
		faas_result_clear(&r);
		for (j = 0; j < i; j++)
			ck_assert_str_ne(ids[i], ids[j]);
	}
	faas_runtime_free(rt);
}
END_TEST

/* Every random position takes every digit (the variant all four of its
 * values): no digit is stuck or drawn from too few bits. 3,000 ids leave a
 * chance below 1e-80 of missing a digit by luck. */
START_TEST(request_id_digits_cover)
{
	char id[FAAS_REQUEST_ID_SIZE];
	unsigned seen[36] = { 0 };
	int i, p;

	for (i = 0; i < 3000; i++) {
		faas__request_id(id);
		ck_assert_msg(is_uuid4(id), "request id %s", id);
		for (p = 0; p < 36; p++)
			if (id[p] != '-')
				seen[p] |= 1u << (id[p] <= '9' ? id[p] - '0' : id[p] - 'a' + 10);
	}
	for (p = 0; p < 36; p++) {
		unsigned want = p == 8 || p == 13 || p == 18 || p == 23 ? 0
		                : p == 14                               ? 1u << 4
		                : p == 19                               ? 0xf00u
		                                                        : 0xffffu;
		ck_assert_msg(seen[p] == want, "position %d saw digits %#x", p, seen[p]);
	}
}
END_TEST

Suite *invoke_suite(void)
{
	Suite *s = suite_create("invoke");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, invoke_sync_returns_response);
	tcase_add_test(tc, invoke_context_describes_the_call);
	tcase_add_test(tc, invoke_context_deadline_real_clock);
	tcase_add_test(tc, invoke_function_errors);
	tcase_add_test(tc, invoke_failure_message_without_memory);
	tcase_add_test(tc, invoke_json_text);
	tcase_add_test(tc, invoke_api_errors);
	tcase_add_test(tc, invoke_dry_run_validates_only);
	tcase_add_test(tc, invoke_log_tail_and_sink);
	tcase_add_test(tc, invoke_log_tail_keeps_last_4k);
	tcase_add_test(tc, invoke_request_ids_unique);
	tcase_add_test(tc, request_id_digits_cover);
	tcase_add_test(tc, invoke_log_fd_and_base64_tail);
	suite_add_tcase(s, tc);
	return s;
}
