/*
 * libfaas-http — Lambda's API routes (faas/http.h): the Invoke data plane
 * and the control-plane calls, each a thin layer over the public libfaas
 * API; every error is rendered from the library's error table.
 */
#include "http_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SEGMENTS_MAX 8

/* A JSON integer cut to [lo, hi] (not wrapped): out of range stays out of
 * range for the call that checks it, with that call's own message. */
static int64_t clamped(const json_t *v, int64_t lo, int64_t hi)
{
	json_int_t n = json_integer_value(v);

	return n < lo ? lo : n > hi ? hi : (int64_t)n;
}

/* "$LATEST" or a version number (digits, 1 to 4294967295). */
static bool version_number(const char *s, uint32_t *out)
{
	unsigned long long n = 0;
	size_t i;

	if (!s || !s[0])
		return false;
	if (!strcmp(s, "$LATEST")) {
		*out = FAAS_VERSION_LATEST;
		return true;
	}
	for (i = 0; s[i]; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 10)
			return false;
		n = n * 10 + (unsigned)(s[i] - '0');
	}
	if (n == 0 || n > UINT32_MAX)
		return false;
	*out = (uint32_t)n;
	return true;
}

/* The path's segments, percent-decoded, in one block (*block: free it). */
static size_t split_path(const char *path, char **block, char *segs[SEGMENTS_MAX])
{
	char *copy = strdup(path), *p;
	size_t n = 0;

	*block = copy;
	if (!copy)
		return 0;
	for (p = copy + (*copy == '/'); n < SEGMENTS_MAX;) {
		char *end = strchr(p, '/');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		segs[n++] = p;
		http_percent_decode(p, p, len, false); /* in place: it only shrinks */
		if (!end)
			break;
		p = end + 1;
	}
	return n;
}

/* ---- Invoke ------------------------------------------------------------------------------ */

static int b64val(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' : c >= 'a' && c <= 'z' ? c - 'a' + 26
	       : c >= '0' && c <= '9' ? c - '0' + 52 : c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* X-Amz-Client-Context: base64 of a JSON object (NULL when not valid). */
static json_t *client_context(const char *b64)
{
	size_t len = strlen(b64), n = 0;
	unsigned char *raw = malloc(len / 4 * 3 + 3);
	uint32_t acc = 0;
	int bits = 0;
	json_t *j = NULL;

	if (!raw)
		return NULL;
	for (const char *p = b64; *p && *p != '='; p++) {
		int v = b64val(*p);
		if (v < 0) {
			free(raw);
			return NULL;
		}
		acc = acc << 6 | (uint32_t)v;
		if ((bits += 6) >= 8) {
			bits -= 8;
			raw[n++] = (unsigned char)(acc >> bits);
		}
	}
	j = json_loadb((const char *)raw, n, 0, NULL);
	free(raw);
	if (j && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

static void invoke(faas_runtime_t *rt, const struct http_request *r, const char *name,
                   struct http_reply *out)
{
	faas_invoke_options_t io = FAAS_INVOKE_OPTIONS_INIT;
	faas_result_t res = FAAS_RESULT_INIT;
	const char *type = http_header(r, "X-Amz-Invocation-Type");
	const char *log = http_header(r, "X-Amz-Log-Type");
	const char *cc = http_header(r, "X-Amz-Client-Context");
	char *qual = http_query_param(r, "Qualifier");
	json_t *ctx = NULL;
	int rc;

	if (!type || !strcmp(type, "RequestResponse"))
		io.type = FAAS_INVOKE_REQUEST_RESPONSE;
	else if (!strcmp(type, "Event"))
		io.type = FAAS_INVOKE_EVENT;
	else if (!strcmp(type, "DryRun"))
		io.type = FAAS_INVOKE_DRY_RUN;
	else {
		http_reply_error(out, 400, "InvalidParameterValueException",
		                 "X-Amz-Invocation-Type must be RequestResponse, Event or DryRun", NULL);
		goto done;
	}
	if (log && !strcmp(log, "Tail"))
		io.log_type = FAAS_LOG_TAIL;
	else if (log && strcmp(log, "None") != 0) {
		http_reply_error(out, 400, "InvalidParameterValueException",
		                 "X-Amz-Log-Type must be None or Tail", NULL);
		goto done;
	}
	if (cc) {
		if (strlen(cc) > FAAS_CLIENT_CONTEXT_MAX) {
			http_reply_error(out, 413, "RequestTooLargeException",
			                 "Client context must be smaller than 3583 bytes", NULL);
			goto done;
		}
		if (!(ctx = client_context(cc))) {
			http_reply_error(out, 400, "InvalidRequestContentException",
			                 "Client context must be a valid Base64-encoded JSON object.", NULL);
			goto done;
		}
		io.client_context = ctx;
	}
	io.qualifier = qual;
	io.response_text = 1;
	rc = faas_invoke_json(rt, name, r->body ? r->body : "", r->body_len, &io, &res);
	if (rc != 0) {
		http_reply_error(out, (unsigned)res.status_code,
		                 res.error_type ? res.error_type : "ServiceException", res.message,
		                 res.throttle_reason);
		goto done;
	}
	out->status = (unsigned)res.status_code;
	if (io.type == FAAS_INVOKE_REQUEST_RESPONSE) {
		/* the response as text; an error object has none: dumped here */
		out->body = res.payload_text ? strndup(res.payload_text, res.payload_text_len)
		            : res.payload    ? json_dumps(res.payload, JSON_COMPACT | JSON_ENCODE_ANY)
		                             : strdup("null");
		out->body_len = out->body ? strlen(out->body) : 0;
		http_reply_header(out, "Content-Type", "application/json");
		http_reply_header(out, "X-Amz-Executed-Version", res.executed_version);
		if (res.function_error != FAAS_FUNCTION_ERROR_NONE)
			http_reply_header(out, "X-Amz-Function-Error",
			                  res.function_error == FAAS_FUNCTION_ERROR_HANDLED ? "Handled"
			                                                                   : "Unhandled");
		if (res.log_tail_base64)
			http_reply_header(out, "X-Amz-Log-Result", res.log_tail_base64);
	}
	if (res.request_id[0])
		http_reply_header(out, "x-amzn-RequestId", res.request_id);
done:
	faas_result_clear(&res);
	json_decref(ctx);
	free(qual);
}

/* ---- control plane ------------------------------------------------------------------------ */

/* A request body as a JSON object (NULL: the error is in out). */
static json_t *body_object(const struct http_request *r, struct http_reply *out)
{
	json_error_t e;
	json_t *j = json_loadb(r->body ? r->body : "{}", r->body_len ? r->body_len : 2, 0, &e);

	if (!j || !json_is_object(j)) {
		char msg[256];
		snprintf(msg, sizeof(msg), "Could not parse request body into json: %s",
		         j ? "not an object" : e.text);
		json_decref(j);
		http_reply_error(out, 400, "InvalidRequestContentException", msg, NULL);
		return NULL;
	}
	return j;
}

/* describe's member @p key (Configuration, Versions, Aliases) for @p id. */
static void describe_part(faas_runtime_t *rt, const char *id, const char *key, const char *wrap,
                          unsigned status, struct http_reply *out)
{
	faas_error_detail_t d;
	json_t *j;
	int rc;

	if ((rc = faas_function_describe(rt, id, &j, &d)) != 0) {
		http_reply_failure(out, rc, &d);
		return;
	}
	if (!key) {
		http_reply_json(out, status, j);
		return;
	}
	json_t *part = json_incref(json_object_get(j, key));
	json_decref(j);
	http_reply_json(out, status, wrap ? json_pack("{s:o}", wrap, part) : part);
}

/* GetFunction (key NULL) or GetFunctionConfiguration, of ?Qualifier= when given. */
static void get_qualified(faas_runtime_t *rt, const struct http_request *r, const char *name,
                          const char *key, struct http_reply *out)
{
	char *q = http_query_param(r, "Qualifier"), id[512];

	snprintf(id, sizeof(id), "%s%s%s", name, q ? ":" : "", q ? q : "");
	describe_part(rt, id, key, NULL, 200, out);
	free(q);
}

static void get_configuration(faas_runtime_t *rt, const struct http_request *r, const char *name,
                              struct http_reply *out)
{
	get_qualified(rt, r, name, "Configuration", out);
}

static void publish(faas_runtime_t *rt, const struct http_request *r, const char *name,
                    struct http_reply *out)
{
	faas_publish_options_t po = FAAS_PUBLISH_OPTIONS_INIT;
	faas_error_detail_t d;
	json_t *b = body_object(r, out);
	char id[512];
	uint32_t v;
	int rc;

	if (!b)
		return;
	po.description = json_string_value(json_object_get(b, "Description"));
	if ((rc = faas_function_publish(rt, name, &po, &v, &d)) != 0)
		http_reply_failure(out, rc, &d);
	else {
		snprintf(id, sizeof(id), "%s:%u", name, v);
		describe_part(rt, id, "Configuration", NULL, 201, out);
	}
	json_decref(b);
}

/* FunctionVersion and RoutingConfig of an alias body into cfg; false: error in out. */
static bool alias_config(json_t *b, faas_alias_config_t *cfg, struct http_reply *out)
{
	const char *fv = json_string_value(json_object_get(b, "FunctionVersion"));
	json_t *w = json_object_get(json_object_get(b, "RoutingConfig"), "AdditionalVersionWeights");
	const char *k;
	json_t *v;

	if (!fv) {
		http_reply_error(out, 400, "InvalidParameterValueException",
		                 "FunctionVersion is required", NULL);
		return false;
	}
	if (!version_number(fv, &cfg->function_version)) {
		char msg[256];
		snprintf(msg, sizeof(msg),
		         "1 validation error detected: Value '%.64s' at 'functionVersion' failed to "
		         "satisfy constraint: Member must satisfy regular expression pattern: "
		         "(\\$LATEST|[0-9]+)",
		         fv);
		http_reply_error(out, 400, "ValidationException", msg, NULL);
		return false;
	}
	cfg->description = json_string_value(json_object_get(b, "Description"));
	if (json_object_size(w) > 1) {
		http_reply_error(out, 400, "InvalidParameterValueException",
		                 "RoutingConfig supports one additional version", NULL);
		return false;
	}
	json_object_foreach(w, k, v) {
		if (!version_number(k, &cfg->additional_version) ||
		    cfg->additional_version == FAAS_VERSION_LATEST || !json_is_number(v)) {
			http_reply_error(out, 400, "InvalidParameterValueException",
			                 "AdditionalVersionWeights takes a version number and a number "
			                 "from 0 to 1",
			                 NULL);
			return false;
		}
		cfg->additional_weight = json_number_value(v);
	}
	return true;
}

static void alias_reply(faas_runtime_t *rt, const char *fn, const char *alias, unsigned status,
                        struct http_reply *out)
{
	faas_error_detail_t d;
	json_t *j;
	int rc;

	if ((rc = faas_alias_describe(rt, fn, alias, &j, &d)) != 0)
		http_reply_failure(out, rc, &d);
	else
		http_reply_json(out, status, j);
}

static void alias_write(faas_runtime_t *rt, const struct http_request *r, const char *fn,
                        const char *alias, struct http_reply *out)
{
	faas_alias_config_t cfg = FAAS_ALIAS_CONFIG_INIT;
	faas_error_detail_t d;
	json_t *b = body_object(r, out);
	bool create = alias == NULL;
	int rc;

	if (!b)
		return;
	if (create && !(alias = json_string_value(json_object_get(b, "Name")))) {
		http_reply_error(out, 400, "InvalidParameterValueException", "Name is required", NULL);
		json_decref(b);
		return;
	}
	if (!create && !json_object_get(b, "FunctionVersion")) { /* UpdateAlias may omit it */
		json_t *cur;
		if ((rc = faas_alias_describe(rt, fn, alias, &cur, &d)) != 0) {
			http_reply_failure(out, rc, &d);
			json_decref(b);
			return;
		}
		json_object_set(b, "FunctionVersion", json_object_get(cur, "FunctionVersion"));
		json_decref(cur);
	}
	if (alias_config(b, &cfg, out)) {
		const char *rev = json_string_value(json_object_get(b, "RevisionId"));
		cfg.expected_revision = rev ? strtoull(rev, NULL, 10) : 0;
		if (rev && !cfg.expected_revision)
			cfg.expected_revision = UINT64_MAX; /* not one of ours: never matches */
		rc = create ? faas_alias_create(rt, fn, alias, &cfg, &d)
		            : faas_alias_update(rt, fn, alias, &cfg, &d);
		if (rc != 0)
			http_reply_failure(out, rc, &d);
		else
			alias_reply(rt, fn, alias, create ? 201 : 200, out);
	}
	json_decref(b);
}

static void concurrency(faas_runtime_t *rt, const struct http_request *r, const char *fn,
                        bool put, struct http_reply *out)
{
	faas_error_detail_t d;
	json_t *b = put ? body_object(r, out) : NULL;
	json_t *n = b ? json_object_get(b, "ReservedConcurrentExecutions") : NULL;
	int rc;

	if (put && !b)
		return;
	if (put && !json_is_integer(n)) {
		http_reply_error(out, 400, "InvalidParameterValueException",
		                 "ReservedConcurrentExecutions must be an integer", NULL);
	} else if (put && json_integer_value(n) < 0) {
		char msg[200];
		snprintf(msg, sizeof(msg),
		         "1 validation error detected: Value '%lld' at 'reservedConcurrentExecutions' "
		         "failed to satisfy constraint: Member must have value greater than or equal to 0",
		         (long long)json_integer_value(n));
		http_reply_error(out, 400, "ValidationException", msg, NULL);
	} else if ((rc = faas_function_set_reserved_concurrency(
	                    rt, fn, put ? (int32_t)clamped(n, 0, INT32_MAX) : -1, &d)) != 0) {
		http_reply_failure(out, rc, &d);
	} else if (put) {
		http_reply_json(out, 200, json_pack("{s:I}", "ReservedConcurrentExecutions",
		                                    json_integer_value(n)));
	} else {
		out->status = 204;
	}
	json_decref(b);
}

static void get_concurrency(faas_runtime_t *rt, const char *fn, struct http_reply *out)
{
	faas_error_detail_t d;
	int32_t n;
	int rc;

	if ((rc = faas_function_get_reserved_concurrency(rt, fn, &n, &d)) != 0)
		http_reply_failure(out, rc, &d);
	else
		http_reply_json(out, 200,
		                n < 0 ? json_object()
		                      : json_pack("{s:i}", "ReservedConcurrentExecutions", (int)n));
}

/* Put / Get / DeleteProvisionedConcurrencyConfig (?Qualifier= required). */
static void provisioned(faas_runtime_t *rt, const struct http_request *r, const char *fn,
                        const char *method, struct http_reply *out)
{
	static const char *const status[] = { "IN_PROGRESS", "READY", "FAILED" };
	faas_provisioned_info_t info = FAAS_PROVISIONED_INFO_INIT;
	char *q = http_query_param(r, "Qualifier"), when[40];
	faas_error_detail_t d;
	json_t *b = NULL, *j;
	int rc = 0;

	if (!q) {
		http_reply_error(out, 400, "InvalidParameterValueException",
		                 "The Qualifier (a version or an alias) is required", NULL);
		return;
	}
	if (!strcmp(method, "PUT")) {
		json_t *n;
		if (!(b = body_object(r, out)))
			goto done;
		n = json_object_get(b, "ProvisionedConcurrentExecutions");
		if (!json_is_integer(n) || json_integer_value(n) < 1) {
			http_reply_error(out, 400, "InvalidParameterValueException",
			                 "ProvisionedConcurrentExecutions must be an integer of at least 1",
			                 NULL);
			goto done;
		}
		rc = faas_function_set_provisioned_concurrency(rt, fn, q,
		                                               (uint32_t)clamped(n, 1, UINT32_MAX), &d);
	} else if (!strcmp(method, "DELETE")) {
		if ((rc = faas_function_get_provisioned_concurrency(rt, fn, q, &info, &d)) == 0)
			rc = faas_function_set_provisioned_concurrency(rt, fn, q, 0, &d);
		if (rc == 0)
			out->status = 204;
		else
			http_reply_failure(out, rc, &d);
		goto done;
	}
	if (rc == 0)
		rc = faas_function_get_provisioned_concurrency(rt, fn, q, &info, &d);
	if (rc != 0) {
		http_reply_failure(out, rc, &d);
		goto done;
	}
	{
		time_t secs = (time_t)(info.last_modified_ms / 1000);
		struct tm tm;
		gmtime_r(&secs, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S+0000", &tm);
	}
	j = json_pack("{s:i,s:i,s:i,s:s,s:s}", "RequestedProvisionedConcurrentExecutions",
	              (int)info.requested, "AvailableProvisionedConcurrentExecutions",
	              (int)info.available, "AllocatedProvisionedConcurrentExecutions",
	              (int)info.allocated, "Status", status[info.status % 3], "LastModified", when);
	if (j && info.status == FAAS_PROVISIONED_FAILED)
		json_object_set_new(j, "StatusReason", json_string(info.status_reason));
	http_reply_json(out, !strcmp(method, "PUT") ? 202 : 200, j);
done:
	json_decref(b);
	free(q);
}

/* A DestinationConfig member into dst: a function ARN, or the ARN of one of
 * the runtime's queues. false: the error is in out. */
static bool destination(faas_runtime_t *rt, json_t *obj, faas_destination_t *dst,
                        struct http_reply *out)
{
	const char *arn = json_string_value(json_object_get(obj, "Destination"));
	const char *name;
	char msg[300];

	memset(dst, 0, sizeof(*dst));
	if (!arn)
		return true; /* none */
	if (!strncmp(arn, "arn:aws:lambda:", 15)) {
		dst->kind = FAAS_DESTINATION_FUNCTION;
		dst->function = arn;
		return true;
	}
	if (!strncmp(arn, "arn:aws:sqs:", 12) && (name = strrchr(arn, ':')) &&
	    (dst->queue = faas_queue_find(rt, name + 1)) != NULL) {
		dst->kind = FAAS_DESTINATION_QUEUE;
		return true;
	}
	snprintf(msg, sizeof(msg), "The destination ARN %.200s is invalid: a function, or a queue of "
	                           "this runtime", arn);
	http_reply_error(out, 400, "InvalidParameterValueException", msg, NULL);
	return false;
}

/* Put (PUT: replace) / Update (POST: merge) / Get / DeleteFunctionEventInvokeConfig. */
static void event_invoke_config(faas_runtime_t *rt, const struct http_request *r, const char *fn,
                                const char *method, struct http_reply *out)
{
	faas_event_invoke_config_t cfg = FAAS_EVENT_INVOKE_CONFIG_INIT;
	char *q = http_query_param(r, "Qualifier");
	faas_error_detail_t d;
	json_t *b = NULL, *cur = NULL, *v, *dc;
	int rc;

	if (!strcmp(method, "GET") || !strcmp(method, "DELETE")) {
		if ((rc = faas_function_get_event_invoke_config(rt, fn, q, &cur, &d)) == 0 &&
		    !strcmp(method, "DELETE"))
			rc = faas_function_set_event_invoke_config(rt, fn, q, NULL, &d);
		if (rc != 0)
			http_reply_failure(out, rc, &d);
		else if (!strcmp(method, "GET"))
			http_reply_json(out, 200, json_incref(cur));
		else
			out->status = 204;
		goto done;
	}
	if (!(b = body_object(r, out)))
		goto done;
	if (!strcmp(method, "POST")) { /* update: what the body leaves out stays */
		if ((rc = faas_function_get_event_invoke_config(rt, fn, q, &cur, &d)) != 0) {
			http_reply_failure(out, rc, &d);
			goto done;
		}
		json_object_update_missing(b, cur);
	}
	if ((v = json_object_get(b, "MaximumRetryAttempts")) && !json_is_integer(v)) {
		http_reply_error(out, 400, "InvalidParameterValueException",
		                 "MaximumRetryAttempts must be an integer", NULL);
		goto done;
	}
	if (v && (json_integer_value(v) < 0 || json_integer_value(v) > 2)) {
		char msg[200];
		snprintf(msg, sizeof(msg),
		         "1 validation error detected: Value '%lld' at 'maximumRetryAttempts' failed to "
		         "satisfy constraint: Member must have value %s",
		         (long long)json_integer_value(v),
		         json_integer_value(v) < 0 ? "greater than or equal to 0"
		                                   : "less than or equal to 2");
		http_reply_error(out, 400, "ValidationException", msg, NULL);
		goto done;
	}
	cfg.max_retry_attempts = v ? (int32_t)json_integer_value(v) : -1;
	if ((v = json_object_get(b, "MaximumEventAgeInSeconds"))) {
		if (!json_is_integer(v) || json_integer_value(v) < 60 || json_integer_value(v) > 21600) {
			http_reply_error(out, 400, "InvalidParameterValueException",
			                 "MaximumEventAgeInSeconds must be between 60 and 21600", NULL);
			goto done;
		}
		cfg.max_event_age_ms = (int64_t)json_integer_value(v) * 1000;
	}
	dc = json_object_get(b, "DestinationConfig");
	if (!destination(rt, json_object_get(dc, "OnSuccess"), &cfg.on_success, out) ||
	    !destination(rt, json_object_get(dc, "OnFailure"), &cfg.on_failure, out))
		goto done;
	json_decref(cur);
	cur = NULL;
	if ((rc = faas_function_set_event_invoke_config(rt, fn, q, &cfg, &d)) != 0 ||
	    (rc = faas_function_get_event_invoke_config(rt, fn, q, &cur, &d)) != 0)
		http_reply_failure(out, rc, &d);
	else
		http_reply_json(out, 200, json_incref(cur));
done:
	json_decref(b);
	json_decref(cur);
	free(q);
}

static void account_settings(faas_runtime_t *rt, struct http_reply *out)
{
	faas_error_detail_t d;
	json_t *list = NULL;
	int rc = faas_function_list(rt, &list, &d);

	if (rc != 0) {
		http_reply_failure(out, rc, &d);
		return;
	}
	http_reply_json(out, 200,
	                json_pack("{s:{s:i,s:i,s:i,s:I},s:{s:I,s:i}}", "AccountLimit",
	                          "TotalCodeSize", 0, "CodeSizeUnzipped", 0, "CodeSizeZipped", 0,
	                          "ConcurrentExecutions",
	                          (json_int_t)faas_runtime_concurrency_limit(rt), "AccountUsage",
	                          "FunctionCount",
	                          (json_int_t)json_array_size(json_object_get(list, "Functions")),
	                          "TotalCodeSize", 0));
	json_decref(list);
}

/* ---- routing ------------------------------------------------------------------------------ */

static bool is(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

void http_api(faas_runtime_t *rt, const struct http_request *r, struct http_reply *out)
{
	char *s[SEGMENTS_MAX], *block, *q = http_query_param(r, "Qualifier");
	bool empty_qualifier = q && !q[0];
	size_t n;
	const char *m = r->method;
	faas_error_detail_t d;

	free(q);
	if (empty_qualifier) { /* given, but empty: not $LATEST, an error as Lambda's */
		http_reply_error(out, 400, "ValidationException",
		                 "1 validation error detected: Value '' at 'qualifier' failed to satisfy "
		                 "constraint: Member must have length greater than or equal to 1",
		                 NULL);
		return;
	}
	n = split_path(r->path, &block, s);
	if (n && !s[n - 1][0])
		n--; /* a trailing '/' */
	if (n >= 3 && is(s[0], "2015-03-31") && is(s[1], "functions")) {
		const char *fn = s[2];
		if (n == 4 && is(s[3], "invocations") && is(m, "POST"))
			invoke(rt, r, fn, out);
		else if (n == 3 && is(m, "GET"))
			get_qualified(rt, r, fn, NULL, out);
		else if (n == 4 && is(s[3], "configuration") && is(m, "GET"))
			get_configuration(rt, r, fn, out);
		else if (n == 4 && is(s[3], "versions") && is(m, "POST"))
			publish(rt, r, fn, out);
		else if (n == 4 && is(s[3], "versions") && is(m, "GET"))
			describe_part(rt, fn, "Versions", "Versions", 200, out);
		else if (n == 4 && is(s[3], "aliases") && is(m, "POST"))
			alias_write(rt, r, fn, NULL, out);
		else if (n == 4 && is(s[3], "aliases") && is(m, "GET"))
			describe_part(rt, fn, "Aliases", "Aliases", 200, out);
		else if (n == 5 && is(s[3], "aliases") && is(m, "GET"))
			alias_reply(rt, fn, s[4], 200, out);
		else if (n == 5 && is(s[3], "aliases") && is(m, "PUT"))
			alias_write(rt, r, fn, s[4], out);
		else if (n == 5 && is(s[3], "aliases") && is(m, "DELETE")) {
			int rc = faas_alias_delete(rt, fn, s[4], &d);
			if (rc)
				http_reply_failure(out, rc, &d);
			else
				out->status = 204;
		} else
			http_reply_error(out, 404, "UnknownOperationException", "Unknown operation", NULL);
	} else if (n == 2 && is(s[0], "2015-03-31") && is(s[1], "functions") && is(m, "GET")) {
		json_t *list;
		int rc;
		if ((rc = faas_function_list(rt, &list, &d)) != 0)
			http_reply_failure(out, rc, &d);
		else
			http_reply_json(out, 200, list);
	} else if (n == 2 && is(s[0], "2015-03-31") && is(s[1], "functions") && is(m, "POST")) {
		http_reply_error(out, 400, "InvalidParameterValueException",
		                 "CreateFunction is not supported: libfaas functions are C code, "
		                 "registered by the host program", NULL);
	} else if (n == 4 && is(s[0], "2017-10-31") && is(s[1], "functions") &&
	           is(s[3], "concurrency") && (is(m, "PUT") || is(m, "DELETE"))) {
		concurrency(rt, r, s[2], is(m, "PUT"), out);
	} else if (n == 4 && is(s[0], "2019-09-30") && is(s[1], "functions") &&
	           is(s[3], "concurrency") && is(m, "GET")) {
		get_concurrency(rt, s[2], out);
	} else if (n == 4 && is(s[0], "2019-09-30") && is(s[1], "functions") &&
	           is(s[3], "provisioned-concurrency") &&
	           (is(m, "PUT") || is(m, "GET") || is(m, "DELETE"))) {
		provisioned(rt, r, s[2], m, out);
	} else if (n == 4 && is(s[0], "2019-09-25") && is(s[1], "functions") &&
	           is(s[3], "event-invoke-config") &&
	           (is(m, "PUT") || is(m, "POST") || is(m, "GET") || is(m, "DELETE"))) {
		event_invoke_config(rt, r, s[2], m, out);
	} else if (n == 2 && is(s[0], "2016-08-19") && is(s[1], "account-settings") && is(m, "GET")) {
		account_settings(rt, out);
	} else {
		http_reply_error(out, 404, "UnknownOperationException", "Unknown operation", NULL);
	}
	free(block);
}
