/*
 * libfaas-redis — stream entries as records: the reply of XREADGROUP,
 * XCLAIM or XAUTOCLAIM ([id, [field, value, ...]] each) into the SQS-like
 * record of faas/redis.h. Field values that are not UTF-8 go base64-encoded
 * into "binaryFields" (jansson strings are UTF-8).
 */
#include "records.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *base64_of(const char *p, size_t len)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *s = (const unsigned char *)p;
	size_t i, o = 0, size = (len + 2) / 3 * 4;
	char *out = malloc(size + 1);
	json_t *j;

	if (!out)
		return NULL;
	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
		out[o++] = abc[v >> 18];
		out[o++] = abc[(v >> 12) & 63];
		out[o++] = abc[(v >> 6) & 63];
		out[o++] = abc[v & 63];
	}
	if (i < len) {
		uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < len ? (uint32_t)s[i + 1] << 8 : 0);
		out[o++] = abc[v >> 18];
		out[o++] = abc[(v >> 12) & 63];
		out[o++] = i + 1 < len ? abc[(v >> 6) & 63] : '=';
		out[o++] = '=';
	}
	j = json_stringn(out, o);
	free(out);
	return j;
}

bool rs_entry_ok(const redisReply *e)
{
	return e && e->type == REDIS_REPLY_ARRAY && e->elements == 2 &&
	       e->element[0]->type == REDIS_REPLY_STRING && e->element[0]->len < RS_ID_MAX &&
	       e->element[1]->type == REDIS_REPLY_ARRAY && e->element[1]->elements % 2 == 0;
}

/* The millisecond part of an entry ID ("1700000000000-0"). */
static const char *sent_ms(const char *id, char *buf, size_t size)
{
	size_t n = strcspn(id, "-");

	snprintf(buf, size, "%.*s", (int)n, id);
	return buf;
}

int rs_entry_record(const struct rs_names *nm, const redisReply *e, uint32_t deliveries,
                    faas_source_record_t *r)
{
	const redisReply *f = e->element[1];
	const char *id = e->element[0]->str;
	json_t *fields = json_object(), *bin = NULL, *body = json_null(), *v;
	char count[16], sent[24];
	size_t i, size = 0;

	r->record = NULL;
	if (!fields)
		return FAAS_ENOMEM;
	for (i = 0; i + 1 < f->elements; i += 2) {
		const redisReply *k = f->element[i], *val = f->element[i + 1];
		bool is_body;
		if (k->type != REDIS_REPLY_STRING || val->type != REDIS_REPLY_STRING)
			continue;
		size += k->len + val->len;
		is_body = k->len == strlen(nm->body_field) && memcmp(k->str, nm->body_field, k->len) == 0;
		if ((v = json_stringn(val->str, val->len))) {
			if (is_body) {
				json_decref(body);
				body = json_incref(v);
			}
			/* a name that is not UTF-8 cannot be a JSON key: in "fields" only if it is */
			json_object_setn_new(fields, k->str, k->len, v);
			continue;
		}
		if ((!bin && !(bin = json_object())) || !(v = base64_of(val->str, val->len)))
			goto oom;
		json_object_setn_new(bin, k->str, k->len, v);
	}
	snprintf(count, sizeof(count), "%u", deliveries);
	r->record = json_pack("{s:s,s:o,s:O,s:{s:s,s:s},s:s,s:s,s:s,s:s}", "messageId", id, "body",
	                      body, "fields", fields, "attributes", "ApproximateReceiveCount", count,
	                      "SentTimestamp", sent_ms(id, sent, sizeof(sent)), "eventSource",
	                      "redis:stream", "eventSourceARN", nm->arn, "stream", nm->stream, "group",
	                      nm->group);
	body = NULL; /* the record took it (or json_pack freed it) */
	if (!r->record || (bin && json_object_set(r->record, "binaryFields", bin) != 0))
		goto oom;
	json_decref(fields);
	json_decref(bin);
	r->size = size;
	r->lineage = 0;
	r->group = 0;
	snprintf(r->id, sizeof(r->id), "%s", id);
	snprintf(r->handle, sizeof(r->handle), "%s %u", id, deliveries);
	return 0;
oom:
	json_decref(r->record);
	r->record = NULL;
	json_decref(body);
	json_decref(fields);
	json_decref(bin);
	return FAAS_ENOMEM;
}

int rs_handle_parse(const char *handle, char id[RS_ID_MAX], uint32_t *deliveries)
{
	const char *sp = strchr(handle, ' ');
	size_t n = sp ? (size_t)(sp - handle) : 0;

	if (!sp || n == 0 || n >= RS_ID_MAX)
		return FAAS_EINVAL;
	memcpy(id, handle, n);
	id[n] = '\0';
	*deliveries = (uint32_t)strtoul(sp + 1, NULL, 10);
	return 0;
}
