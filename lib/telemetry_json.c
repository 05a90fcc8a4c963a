/*
 * libfaas — telemetry records as JSON text, Lambda's shape
 * {"time","type","record"}. Written by hand, snprintf-style, so measuring a
 * record (droppedBytes) allocates nothing; the json_t form parses that text.
 * Reals follow the library's policy (15 significant digits, printed as
 * jansson prints them); keys come in the order of Lambda's documentation.
 */
#include "dispatch.h"

#include <inttypes.h>
#include <stdio.h>

static const char *const type_names[] = {
	"platform.initStart", "platform.initRuntimeDone", "platform.initReport",
	"platform.start",     "platform.runtimeDone",     "platform.report",
	"platform.extension", "platform.logsDropped",     "function",
	"faas.throttle",      "faas.asyncRetry",          "faas.destination",
	"faas.deadLetter",    "faas.sourceError",
};

const char *faas_telemetry_type_name(faas_telemetry_type_t type)
{
	return (unsigned)type < FAAS_ARRAY_SIZE(type_names) ? type_names[type] : NULL;
}

/* Output that counts everything and writes what fits. */
struct out {
	char *buf;
	size_t size;
	size_t len;
	bool comma; /* the next key needs a ',' before it */
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->len < o->size)
		memcpy(o->buf + o->len, s, n < o->size - o->len ? n : o->size - o->len);
	o->len += n;
}

static void put_lit(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

/* A JSON string; bytes that are not UTF-8 become '?'. */
static void put_string(struct out *o, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i = 0, k;

	put(o, "\"", 1);
	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };

		if (c >= 0x80) {
			for (k = 2; k <= 4 && i + k <= len; k++)
				if (faas__utf8_chars(s + i, k) == 1)
					break;
			if (k <= 4 && i + k <= len) {
				put(o, s + i, k);
				i += k;
			} else {
				put(o, "?", 1);
				i++;
			}
			continue;
		}
		if (c == '"' || c == '\\') {
			esc[1] = (char)c;
			put(o, esc, 2);
		} else if (c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f') {
			esc[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : c == '\t' ? 't' : c == '\b' ? 'b' : 'f';
			put(o, esc, 2);
		} else if (c < 0x20) {
			put(o, esc, 6);
		} else {
			put(o, s + i, 1);
		}
		i++;
	}
	put(o, "\"", 1);
}

static void put_cstr(struct out *o, const char *s)
{
	if (s)
		put_string(o, s, strlen(s));
	else
		put_lit(o, "null");
}

static void put_uint(struct out *o, uint64_t v)
{
	char b[24];
	int n = snprintf(b, sizeof(b), "%" PRIu64, v);

	put(o, b, (size_t)n);
}

/* As jansson writes reals: %.15g, then ".0" if it reads as an integer, and
 * the exponent without '+' or leading zeros. */
static void put_real(struct out *o, double v)
{
	char b[40], *e, *p, *q;
	int n = snprintf(b, sizeof(b), "%.15g", v);

	if (!strchr(b, '.') && !strchr(b, 'e')) {
		memcpy(b + n, ".0", 3);
	} else if ((e = strchr(b, 'e')) != NULL) {
		p = e + 1;
		if (*p == '-')
			p++;
		q = *p == '+' ? p + 1 : p;
		while (*q == '0' && q[1])
			q++;
		memmove(p, q, strlen(q) + 1);
	}
	put_lit(o, b);
}

static void open_obj(struct out *o)
{
	put(o, "{", 1);
	o->comma = false;
}

static void close_obj(struct out *o)
{
	put(o, "}", 1);
	o->comma = true;
}

static void key(struct out *o, const char *k)
{
	if (o->comma)
		put(o, ",", 1);
	put(o, "\"", 1);
	put_lit(o, k);
	put(o, "\":", 2);
	o->comma = true;
}

static const char *status_name(faas_ext_status_t s)
{
	return s == FAAS_EXT_SUCCESS ? "success" : s == FAAS_EXT_TIMEOUT ? "timeout" : "error";
}

static void put_status(struct out *o, const faas_telemetry_record_t *r)
{
	key(o, "status");
	put_lit(o, "\"");
	put_lit(o, status_name(r->status));
	put_lit(o, "\"");
	if (r->status == FAAS_EXT_ERROR && r->error_type) {
		key(o, "errorType");
		put_cstr(o, r->error_type);
	}
}

static void put_init(struct out *o, const faas_telemetry_record_t *r)
{
	key(o, "initializationType");
	put_cstr(o, r->initialization_type);
	key(o, "phase");
	put_cstr(o, r->phase);
	if (r->type == FAAS_TEL_INIT_START)
		return;
	put_status(o, r);
	if (r->type == FAAS_TEL_INIT_REPORT) {
		key(o, "metrics");
		open_obj(o);
		key(o, "durationMs");
		put_real(o, r->duration_ms);
		close_obj(o);
	}
}

static void put_invoke(struct out *o, const faas_telemetry_record_t *r)
{
	key(o, "requestId");
	put_cstr(o, r->request_id);
	if (r->type == FAAS_TEL_START) {
		key(o, "version");
		put_cstr(o, r->function_version);
		return;
	}
	put_status(o, r);
	key(o, "metrics");
	open_obj(o);
	key(o, "durationMs");
	put_real(o, r->duration_ms);
	if (r->type == FAAS_TEL_RUNTIME_DONE) {
		key(o, "producedBytes");
		put_uint(o, r->produced_bytes);
	} else {
		key(o, "billedDurationMs");
		put_uint(o, r->billed_duration_ms);
		key(o, "memorySizeMB");
		put_uint(o, r->memory_size_mb);
		key(o, "maxMemoryUsedMB");
		put_uint(o, r->max_memory_used_mb);
		if (r->has_init_duration) {
			key(o, "initDurationMs");
			put_real(o, r->init_duration_ms);
		}
	}
	close_obj(o);
}

static void put_record(struct out *o, const faas_telemetry_record_t *r)
{
	if (r->type == FAAS_TEL_FUNCTION) {
		if (r->text)
			put_string(o, r->text, r->text_len);
		else
			put_lit(o, "\"\"");
		return;
	}
	open_obj(o);
	switch (r->type) {
	case FAAS_TEL_INIT_START:
	case FAAS_TEL_INIT_RUNTIME_DONE:
	case FAAS_TEL_INIT_REPORT:
		put_init(o, r);
		break;
	case FAAS_TEL_START:
	case FAAS_TEL_RUNTIME_DONE:
	case FAAS_TEL_REPORT:
		put_invoke(o, r);
		break;
	case FAAS_TEL_EXTENSION:
		key(o, "name");
		put_cstr(o, r->name);
		key(o, "state");
		put_cstr(o, r->state);
		key(o, "events");
		put_lit(o, (r->events & FAAS_EXT_INVOKE) && (r->events & FAAS_EXT_SHUTDOWN)
		                   ? "[\"INVOKE\",\"SHUTDOWN\"]"
		           : r->events & FAAS_EXT_INVOKE   ? "[\"INVOKE\"]"
		           : r->events & FAAS_EXT_SHUTDOWN ? "[\"SHUTDOWN\"]"
		                                           : "[]");
		break;
	case FAAS_TEL_LOGS_DROPPED:
		key(o, "droppedBytes");
		put_uint(o, r->dropped_bytes);
		key(o, "droppedRecords");
		put_uint(o, r->dropped_records);
		key(o, "reason");
		put_cstr(o, r->reason);
		break;
	case FAAS_TEL_SOURCE_ERROR:
		key(o, "source");
		put_cstr(o, r->name);
		key(o, "errorCode");
		put_cstr(o, faas_err_name(r->error_code));
		key(o, "message");
		put_cstr(o, r->reason);
		break;
	case FAAS_TEL_ASYNC_RETRY:
	case FAAS_TEL_DESTINATION:
	case FAAS_TEL_DEAD_LETTER:
		key(o, "function");
		put_cstr(o, r->function_name);
		key(o, "version");
		put_cstr(o, r->function_version);
		key(o, "requestId");
		put_cstr(o, r->request_id);
		key(o, "approximateInvokeCount");
		put_uint(o, r->attempts);
		if (r->type == FAAS_TEL_ASYNC_RETRY) {
			key(o, "reason");
			put_cstr(o, r->reason);
			key(o, "delayMs");
			put_uint(o, r->delay_ms);
			break;
		}
		key(o, "condition");
		put_cstr(o, r->condition);
		if (r->type == FAAS_TEL_DESTINATION) {
			key(o, "destination");
			put_cstr(o, r->destination);
			key(o, "delivered");
			put_lit(o, r->delivered ? "true" : "false");
		} else {
			key(o, "errorCode");
			put_uint(o, (uint64_t)r->error_code);
		}
		break;
	default: /* FAAS_TEL_THROTTLE */
		key(o, "function");
		put_cstr(o, r->function_name);
		key(o, "version");
		put_cstr(o, r->function_version);
		if (r->qualifier) {
			key(o, "qualifier");
			put_cstr(o, r->qualifier);
		}
		key(o, "reason");
		put_cstr(o, r->reason);
		break;
	}
	close_obj(o);
}

size_t faas_telemetry_record_format(const faas_telemetry_record_t *r, char *buf, size_t size)
{
	struct out o = { buf, buf ? size : 0, 0, false };
	const char *type = r ? faas_telemetry_type_name(r->type) : NULL;
	char time[32];

	if (buf && size)
		buf[0] = '\0';
	if (!type || r->version != FAAS_TELEMETRY_RECORD_VERSION)
		return 0;
	faas__format_iso_ms(r->time_ms, time, sizeof(time));
	put_lit(&o, "{\"time\":\"");
	put_lit(&o, time);
	put_lit(&o, "\",\"type\":\"");
	put_lit(&o, type);
	put_lit(&o, "\",\"record\":");
	put_record(&o, r);
	put(&o, "}", 1);
	if (o.size)
		o.buf[o.len < o.size ? o.len : o.size - 1] = '\0';
	return o.len;
}

int faas_telemetry_record_json(const faas_telemetry_record_t *r, json_t **out)
{
	char stack[1024], *text = stack;
	json_error_t err;
	size_t n;

	if (!out)
		return FAAS_EINVAL;
	*out = NULL;
	if ((n = faas_telemetry_record_format(r, NULL, 0)) == 0)
		return FAAS_EINVAL;
	if (n >= sizeof(stack) && !(text = faas__malloc(n + 1)))
		return FAAS_ENOMEM;
	faas_telemetry_record_format(r, text, n + 1);
	/* the text is valid JSON by construction: only memory can fail */
	*out = json_loadb(text, n, JSON_ALLOW_NUL, &err);
	if (text != stack)
		faas__free(text);
	return *out ? 0 : FAAS_ENOMEM;
}
