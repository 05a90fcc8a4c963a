/*
 * libfaas-http — internal: one request as the server gathered it, and the
 * API's entry point (api.c).
 */
#ifndef FAAS_HTTP_INT_H
#define FAAS_HTTP_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "faas.h"
#include "faas/http.h"

#define HTTP_INTERNAL __attribute__((visibility("hidden")))
#define HTTP_EXPORT __attribute__((visibility("default")))
#define HTTP_HEADERS_MAX 64

struct http_request {
	char *raw_uri; /* the request target as sent: path?query */
	const char *method;
	char *path, *query; /* split copies of raw_uri, still encoded */
	size_t nheaders;
	const char *hname[HTTP_HEADERS_MAX], *hvalue[HTTP_HEADERS_MAX];
	char *body;
	size_t body_len, body_cap;
	bool too_large;
	time_t started; /* the first byte of the request (monotonic seconds) */
};

/* What to send back. Headers and body are owned (freed by http_reply_clear). */
struct http_reply {
	unsigned status;
	char *body;
	size_t body_len;
	size_t nheaders;
	char *hname[8], *hvalue[8];
};

HTTP_INTERNAL const char *http_header(const struct http_request *r, const char *name);
/* %XX sequences of in[0..len) into out (room for len + 1), NUL-terminated;
 * '+' is a space with @p plus_is_space (query values). Returns the length. */
HTTP_INTERNAL size_t http_percent_decode(char *out, const char *in, size_t len, bool plus_is_space);
/* A query parameter's value, percent-decoded (malloc'd), or NULL. */
HTTP_INTERNAL char *http_query_param(const struct http_request *r, const char *name);
HTTP_INTERNAL void http_reply_header(struct http_reply *out, const char *name, const char *value);
/* A JSON body (compact; steals @p body). */
HTTP_INTERNAL void http_reply_json(struct http_reply *out, unsigned status, json_t *body);
/* Lambda's error: status, x-amzn-ErrorType, {"Type","message"[,"Reason"]}. */
HTTP_INTERNAL void http_reply_error(struct http_reply *out, unsigned status, const char *type,
                                    const char *message, const char *reason);
/* The error of a failed library call (its code and detail). */
HTTP_INTERNAL void http_reply_failure(struct http_reply *out, int code,
                                      const faas_error_detail_t *d);
HTTP_INTERNAL void http_reply_clear(struct http_reply *out);
/* Route and run an authenticated request. */
HTTP_INTERNAL void http_api(faas_runtime_t *rt, const struct http_request *r,
                            struct http_reply *out);

#endif /* FAAS_HTTP_INT_H */
