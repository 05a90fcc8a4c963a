/*
 * Fuzz target: an HTTP request as libfaas-http reads it, past the socket:
 * the signature check and the API's routing, parsing and replies.
 *
 * Input: "METHOD TARGET\n", header lines "Name: value\n", an empty line,
 * then the body (all bytes; a missing part is empty). The runtime has
 * function "f" (echo; version 1, alias "live") and "t" (reserved 0).
 *
 * Invariants (abort on violation):
 *  - the signature check refuses what it cannot verify, with one of its
 *    403 error names (no secret is ever right here), never crashes;
 *  - every reply has a status Lambda uses; an error reply carries
 *    x-amzn-ErrorType and a JSON body {"Type":"User"|"Service","message"};
 *    a 429 has Reason and Retry-After;
 *  - nothing leaks (ASan), nothing reads past the input.
 */
#include "fuzz.h"

#include <strings.h>

#include "http_int.h"
#include "sigv4.h"

static faas_runtime_t *rt;

static int echo(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	(void)ctx;
	(void)ud;
	*response = json_incref(event);
	return 0;
}

static void setup(void)
{
	faas_function_config_t fc = FAAS_FUNCTION_CONFIG_INIT;
	faas_alias_config_t ac = FAAS_ALIAS_CONFIG_INIT;
	faas_runtime_options_t ro = FAAS_RUNTIME_OPTIONS_INIT;
	faas_error_detail_t d;
	uint32_t v;

	ro.inline_mode = 1; /* everything on this thread */
	if (faas_runtime_new(&rt, &ro, &d) != 0)
		abort();
	fc.handler = echo;
	ac.function_version = 1;
	if (faas_function_create(rt, "f", &fc, &d) || faas_function_publish(rt, "f", NULL, &v, &d) ||
	    faas_alias_create(rt, "f", "live", &ac, &d) || faas_function_create(rt, "t", &fc, &d) ||
	    faas_function_set_reserved_concurrency(rt, "t", 0, &d))
		abort();
}

static const char *reply_header(const struct http_reply *r, const char *name)
{
	for (size_t i = 0; i < r->nheaders; i++)
		if (!strcasecmp(r->hname[i], name))
			return r->hvalue[i];
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *p, *line, *body;
	struct http_request r;
	struct http_reply rep;
	struct sv4_refusal why;
	static const unsigned ok[] = { 200, 201, 202, 204, 400, 403, 404, 409, 412, 413, 429, 500 };
	bool known = false;

	if (!rt)
		setup();
	memcpy(text, data, size);
	text[size] = '\0';
	memset(&r, 0, sizeof(r));
	memset(&rep, 0, sizeof(rep));
	body = strstr(text, "\n\n");
	if (body) {
		*body = '\0';
		body += 2;
	}
	line = strtok_r(text, "\n", &p);
	r.method = line ? strtok(line, " ") : "GET";
	r.method = r.method ? r.method : "GET";
	r.path = line ? strtok(NULL, " ") : NULL;
	r.path = r.path ? r.path : (char *)"/";
	if ((r.query = strchr(r.path, '?')))
		*r.query++ = '\0';
	else
		r.query = r.path + strlen(r.path);
	while ((line = strtok_r(NULL, "\n", &p)) && r.nheaders < HTTP_HEADERS_MAX) {
		char *colon = strchr(line, ':');
		if (!colon)
			continue;
		*colon = '\0';
		r.hname[r.nheaders] = line;
		r.hvalue[r.nheaders++] = colon[1] == ' ' ? colon + 2 : colon + 1;
	}
	r.body = body;
	r.body_len = body ? size - (size_t)(body - text) : 0;
	{
		struct sv4_request sr = { r.method, r.path, r.query, r.nheaders, r.hname, r.hvalue,
			                  r.body ? r.body : "", r.body_len };
		FUZZ_CHECK(sv4_verify(&sr, "AKIDEXAMPLE", "secret", "us-east-1", 1440938160, 300, &why) != 0,
		           "an arbitrary request verified");
		FUZZ_CHECK(strstr(why.type, "Exception") != NULL, "refusal %s", why.type);
	}
	http_api(rt, &r, &rep);
	for (size_t i = 0; i < FUZZ_COUNT(ok); i++)
		known |= rep.status == ok[i];
	FUZZ_CHECK(known, "status %u", rep.status);
	if (rep.status >= 400) {
		json_t *b = rep.body ? json_loadb(rep.body, rep.body_len, 0, NULL) : NULL;
		const char *type = json_string_value(json_object_get(b, "Type"));
		FUZZ_CHECK(reply_header(&rep, "x-amzn-ErrorType") != NULL, "error without its type");
		FUZZ_CHECK(type && (!strcmp(type, "User") || !strcmp(type, "Service")) &&
		                   json_is_string(json_object_get(b, "message")),
		           "error body %.*s", (int)rep.body_len, rep.body ? rep.body : "");
		if (rep.status == 429)
			FUZZ_CHECK(json_object_get(b, "Reason") && reply_header(&rep, "Retry-After"),
			           "a throttle without Reason / Retry-After");
		json_decref(b);
	}
	http_reply_clear(&rep);
	free(text);
	return 0;
}
