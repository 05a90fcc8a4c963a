/*
 * libfaas-http — the server (faas/http.h): libmicrohttpd, a thread per
 * connection, bounded; each request gathered (raw target, headers, body
 * within its limit), its signature checked (sigv4.c), then routed (api.c).
 */
#include "http_int.h"
#include "sigv4.h"

#include <arpa/inet.h>
#include <stdatomic.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define STOP_WAIT_S 60 /* how long stop waits for requests in progress */

struct faas_http_server {
	faas_runtime_t *rt;
	struct MHD_Daemon *mhd;
	uint16_t port;
	bool no_auth;
	char *akid, *secret;
	uint32_t max_body, skew_s, request_s;
	void (*log)(const char *line, void *ud);
	void *log_ud;
	_Atomic int active; /* requests begun and not completed: stop waits for them */
};

static void say(const struct faas_http_server *s, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (!s->log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	s->log(line, s->log_ud);
}

/* ---- replies ---------------------------------------------------------------------------- */

const char *http_header(const struct http_request *r, const char *name)
{
	for (size_t i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->hname[i], name) == 0)
			return r->hvalue[i];
	return NULL;
}

static int hexval(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F'                              ? c - 'A' + 10
	                                                           : -1;
}

size_t http_percent_decode(char *out, const char *in, size_t len, bool plus_is_space)
{
	char *o = out;

	for (size_t i = 0; i < len; i++) {
		int hi, lo;
		/* %00 stays as it is: a NUL would cut a name short ("f%00x" is not "f") */
		if (in[i] == '%' && i + 2 < len && (hi = hexval(in[i + 1])) >= 0 &&
		    (lo = hexval(in[i + 2])) >= 0 && (hi | lo) != 0) {
			*o++ = (char)(hi * 16 + lo);
			i += 2;
		} else {
			*o++ = plus_is_space && in[i] == '+' ? ' ' : in[i];
		}
	}
	*o = '\0';
	return (size_t)(o - out);
}

char *http_query_param(const struct http_request *r, const char *name)
{
	size_t nlen = strlen(name);

	for (const char *p = r->query; p && *p;) {
		const char *end = strchr(p, '&');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
			char *out = malloc(len - nlen);
			if (out)
				http_percent_decode(out, p + nlen + 1, len - nlen - 1, true);
			return out;
		}
		p += len + (end ? 1 : 0);
	}
	return NULL;
}

void http_reply_header(struct http_reply *out, const char *name, const char *value)
{
	if (out->nheaders >= sizeof(out->hname) / sizeof(out->hname[0]))
		return;
	out->hname[out->nheaders] = strdup(name);
	out->hvalue[out->nheaders] = strdup(value);
	out->nheaders++;
}

void http_reply_json(struct http_reply *out, unsigned status, json_t *body)
{
	out->status = status;
	free(out->body);
	out->body = body ? json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	out->body_len = out->body ? strlen(out->body) : 0;
	json_decref(body);
	http_reply_header(out, "Content-Type", "application/json");
}

/* A message as a JSON string: one that quotes a name that is not UTF-8
 * has those bytes as '?'. */
static json_t *message_string(const char *message)
{
	json_t *j = json_string(message ? message : "");
	char *copy;

	if (j || !(copy = strdup(message)))
		return j;
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

void http_reply_error(struct http_reply *out, unsigned status, const char *type,
                      const char *message, const char *reason)
{
	json_t *b = json_pack("{s:s,s:o}", "Type", status >= 500 ? "Service" : "User", "message",
	                      message_string(message));

	if (b && reason)
		json_object_set_new(b, "Reason", json_string(reason));
	http_reply_header(out, "x-amzn-ErrorType", type);
	if (status == 429)
		http_reply_header(out, "Retry-After", "1");
	http_reply_json(out, status, b);
}

void http_reply_failure(struct http_reply *out, int code, const faas_error_detail_t *d)
{
	const char *type = faas_error_lambda_name(code);

	http_reply_error(out, (unsigned)faas_error_http_status(code), type ? type : "ServiceException",
	                 d && d->message[0] ? d->message : faas_strerror(code), NULL);
}

void http_reply_clear(struct http_reply *out)
{
	free(out->body);
	for (size_t i = 0; i < out->nheaders; i++) {
		free(out->hname[i]);
		free(out->hvalue[i]);
	}
	memset(out, 0, sizeof(*out));
}

static enum MHD_Result send_reply(struct MHD_Connection *c, struct http_reply *rep)
{
	struct MHD_Response *resp =
	        MHD_create_response_from_buffer(rep->body_len, rep->body ? rep->body : (char *)"",
	                                        MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ok;

	if (!resp)
		return MHD_NO;
	for (size_t i = 0; i < rep->nheaders; i++)
		MHD_add_response_header(resp, rep->hname[i], rep->hvalue[i]);
	ok = MHD_queue_response(c, rep->status ? rep->status : 500, resp);
	MHD_destroy_response(resp);
	http_reply_clear(rep);
	return ok;
}

/* ---- requests --------------------------------------------------------------------------- */

static void request_free(struct http_request *r)
{
	if (!r)
		return;
	free(r->raw_uri);
	free(r->path);
	free(r->body);
	free(r);
}

/* The raw target, before libmicrohttpd decodes anything: the start of a request. */
static time_t mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct http_request *r = calloc(1, sizeof(*r));
	struct faas_http_server *s = cls;
	const char *q;

	(void)c;
	if (!r)
		return NULL;
	atomic_fetch_add(&s->active, 1); /* on_completed takes it off */
	r->started = mono_s();
	if (!(r->raw_uri = strdup(uri ? uri : "/")) || !(r->path = strdup(r->raw_uri))) {
		request_free(r);
		return NULL;
	}
	q = strchr(r->raw_uri, '?');
	if (q) {
		r->path[q - r->raw_uri] = '\0';
		r->query = r->path + (q - r->raw_uri) + 1;
		memmove(r->query, q + 1, strlen(q + 1) + 1); /* path\0query in one block */
	} else {
		r->query = r->path + strlen(r->path); /* "" */
	}
	return r;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	struct faas_http_server *s = cls;

	(void)c;
	(void)toe;
	if (*con_cls)
		atomic_fetch_sub(&s->active, 1);
	request_free(*con_cls);
	*con_cls = NULL;
}

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
	struct http_request *r = cls;

	(void)kind;
	if (r->nheaders < HTTP_HEADERS_MAX) {
		r->hname[r->nheaders] = key;
		r->hvalue[r->nheaders] = value ? value : "";
		r->nheaders++;
	}
	return MHD_YES;
}

/* Keep the raw values: we decode what we read, and sign what was sent. */
static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	return strlen(s);
}

static bool authorised(struct faas_http_server *s, const struct http_request *r,
                       struct http_reply *out)
{
	struct sv4_request sr = { r->method, r->path, r->query, r->nheaders, r->hname, r->hvalue,
		                  r->body ? r->body : "", r->body_len };
	struct sv4_refusal why;

	if (s->no_auth)
		return true;
	if (sv4_verify(&sr, s->akid, s->secret, faas_runtime_region(s->rt), time(NULL), s->skew_s,
	               &why) == 0)
		return true;
	say(s, "faas-http: refused %s %s: %s", r->method, r->path, why.type);
	http_reply_error(out, !strcmp(why.type, "ServiceException") ? 500 : 403, why.type,
	                 why.message, NULL);
	return false;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
	struct faas_http_server *s = cls;
	struct http_request *r = *con_cls;
	struct http_reply rep;

	(void)url;
	(void)version;
	memset(&rep, 0, sizeof(rep));
	if (!r)
		return MHD_NO; /* no memory for it: the connection closes */
	if (!r->method) { /* the headers are in: look before reading a byte of body */
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
		r->method = method;
		if (cl && strtoull(cl, NULL, 10) > s->max_body) {
			char msg[128];
			snprintf(msg, sizeof(msg), "Request must be smaller than %u bytes for the operation",
			         s->max_body);
			http_reply_error(&rep, 413, "RequestEntityTooLargeException", msg, NULL);
			return send_reply(c, &rep);
		}
		return MHD_YES;
	}
	if (*upload_size) {
		if (mono_s() - r->started > (time_t)s->request_s) {
			say(s, "faas-http: a request body took over %u s: connection closed", s->request_s);
			return MHD_NO; /* a trickle: the connection goes */
		}
		if (r->body_len + *upload_size > s->max_body) {
			r->too_large = true; /* a chunked body past the limit: read, not kept */
		} else {
			if (r->body_len + *upload_size + 1 > r->body_cap) {
				size_t cap = (r->body_len + *upload_size + 1) * 2;
				char *b = realloc(r->body, cap > s->max_body + 1 ? s->max_body + 1 : cap);
				if (!b)
					return MHD_NO;
				r->body = b;
				r->body_cap = cap > s->max_body + 1 ? s->max_body + 1 : cap;
			}
			memcpy(r->body + r->body_len, upload, *upload_size);
			r->body_len += *upload_size;
			r->body[r->body_len] = '\0';
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (r->too_large) {
		http_reply_error(&rep, 413, "RequestEntityTooLargeException",
		                 "Request body is over the server's limit", NULL);
		return send_reply(c, &rep);
	}
	MHD_get_connection_values(c, MHD_HEADER_KIND, collect_header, r);
	if (authorised(s, r, &rep))
		http_api(s->rt, r, &rep);
	return send_reply(c, &rep);
}

/* ---- the server ------------------------------------------------------------------------- */

void HTTP_EXPORT faas_http_server_stop(faas_http_server_t *s)
{
	if (!s)
		return;
	if (s->mhd) {
		/* no new connections; the requests in progress get their answers
		 * (MHD_stop_daemon closes every socket first), up to a minute */
		MHD_socket fd = MHD_quiesce_daemon(s->mhd);
		time_t until = mono_s() + STOP_WAIT_S;
		while (atomic_load(&s->active) > 0 && mono_s() < until)
			nanosleep(&(struct timespec){ 0, 5000000 }, NULL);
		MHD_stop_daemon(s->mhd);
		if (fd != MHD_INVALID_SOCKET)
			close(fd);
	}
	free(s->akid);
	if (s->secret) {
		memset(s->secret, 0, strlen(s->secret));
		free(s->secret);
	}
	free(s);
}

uint16_t HTTP_EXPORT faas_http_server_port(const faas_http_server_t *s)
{
	return s ? s->port : 0;
}

int HTTP_EXPORT faas_http_server_start(faas_runtime_t *rt, const faas_http_options_t *o,
                                       faas_http_server_t **out, faas_error_detail_t *d)
{
	faas_http_options_t def = FAAS_HTTP_OPTIONS_INIT;
	struct sockaddr_in sa;
	const union MHD_DaemonInfo *info;
	faas_http_server_t *s;
	const char *akid, *secret;

	faas_error_set(d, 0, NULL);
	if (!out || !rt)
		return faas_error_set(d, FAAS_EINVAL, "runtime and out must not be NULL");
	*out = NULL;
	if (!o)
		o = &def;
	if (o->version != FAAS_HTTP_OPTIONS_VERSION)
		return faas_error_set(d, FAAS_EINVAL, "unsupported faas_http_options_t version");
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(o->port);
	if (inet_pton(AF_INET, o->listen_host ? o->listen_host : "127.0.0.1", &sa.sin_addr) != 1)
		return faas_error_set(d, FAAS_EINVAL, "listen_host must be an IPv4 address");
	akid = o->access_key_id ? o->access_key_id : getenv("AWS_ACCESS_KEY_ID");
	secret = o->secret_access_key ? o->secret_access_key : getenv("AWS_SECRET_ACCESS_KEY");
	if (!o->no_auth && (!akid || !*akid || !secret || !*secret))
		return faas_error_set(d, FAAS_EINVAL, "no access key and secret (options or "
		                                 "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY), and "
		                                 "no_auth not set");
	if (!(s = calloc(1, sizeof(*s))))
		return faas_error_set(d, FAAS_ENOMEM, "out of memory");
	s->rt = rt;
	s->no_auth = o->no_auth != 0;
	s->max_body = o->max_body_bytes ? o->max_body_bytes : FAAS_SYNC_REQUEST_MAX;
	s->skew_s = o->max_skew_s ? o->max_skew_s : 300;
	s->request_s = o->request_timeout_s ? o->request_timeout_s : 60;
	s->log = o->log;
	s->log_ud = o->log_user_data;
	if (!s->no_auth && (!(s->akid = strdup(akid)) || !(s->secret = strdup(secret)))) {
		faas_http_server_stop(s);
		return faas_error_set(d, FAAS_ENOMEM, "out of memory");
	}
	s->mhd = MHD_start_daemon(
	        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC,
	        o->port, NULL, NULL,
	        on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
	        MHD_OPTION_CONNECTION_LIMIT, (unsigned)(o->max_connections ? o->max_connections : 64),
	        MHD_OPTION_CONNECTION_TIMEOUT,
	        (unsigned)(o->connection_timeout_s ? o->connection_timeout_s : 30),
	        MHD_OPTION_URI_LOG_CALLBACK, on_uri, (void *)s, MHD_OPTION_NOTIFY_COMPLETED,
	        on_completed, (void *)s, MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, (void *)s,
	        MHD_OPTION_END);
	if (!s->mhd) {
		faas_http_server_stop(s);
		return faas_error_set(d, FAAS_EEXIST, "could not listen there (the port is taken?)");
	}
	info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info ? info->port : o->port;
	say(s, "faas-http: listening on %s:%u%s", o->listen_host ? o->listen_host : "127.0.0.1",
	    (unsigned)s->port,
	    s->no_auth ? "; SIGNATURES ARE NOT CHECKED (no_auth): for local use only" : "");
	*out = s;
	return 0;
}
