/*
 * libfaas — event sources: the host vtable wrapper and the built-in queue's
 * source, which builds Lambda's SQS records through the public queue API
 * only (receive, delete, change visibility), so the vtable is proven
 * sufficient by the library's own use of it.
 */
#include "dispatch.h"
#include "mapping_int.h"

#include <stdio.h>

/* ---- MD5 (RFC 1321), for md5OfBody and md5OfMessageAttributes ------------------- */

struct md5 {
	uint32_t h[4];
	uint64_t len;
	unsigned char buf[64];
	size_t used;
};

static const uint32_t md5_k[64] = {
	0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
	0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
	0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
	0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
	0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
	0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
	0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
	0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391
};
static const unsigned char md5_r[16] = { 7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21 };

static void md5_block(struct md5 *s, const unsigned char *p)
{
	uint32_t w[16], a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3], f, t;
	int i, g;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 | (uint32_t)p[4 * i + 2] << 16 |
		       (uint32_t)p[4 * i + 3] << 24;
	for (i = 0; i < 64; i++) {
		if (i < 16) {
			f = (b & c) | (~b & d);
			g = i;
		} else if (i < 32) {
			f = (d & b) | (~d & c);
			g = (5 * i + 1) & 15;
		} else if (i < 48) {
			f = b ^ c ^ d;
			g = (3 * i + 5) & 15;
		} else {
			f = c ^ (b | ~d);
			g = (7 * i) & 15;
		}
		t = d;
		d = c;
		c = b;
		f += a + md5_k[i] + w[g];
		b += (f << md5_r[(i / 16) * 4 + (i & 3)]) | (f >> (32 - md5_r[(i / 16) * 4 + (i & 3)]));
		a = t;
	}
	s->h[0] += a;
	s->h[1] += b;
	s->h[2] += c;
	s->h[3] += d;
}

static void md5_init(struct md5 *s)
{
	s->h[0] = 0x67452301;
	s->h[1] = 0xefcdab89;
	s->h[2] = 0x98badcfe;
	s->h[3] = 0x10325476;
	s->len = 0;
	s->used = 0;
}

static void md5_update(struct md5 *s, const void *data, size_t n)
{
	const unsigned char *p = data;

	s->len += n;
	while (n > 0) {
		size_t k = 64 - s->used < n ? 64 - s->used : n;
		memcpy(s->buf + s->used, p, k);
		s->used += k;
		p += k;
		n -= k;
		if (s->used == 64) {
			md5_block(s, s->buf);
			s->used = 0;
		}
	}
}

static void md5_hex(struct md5 *s, char out[33])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char pad[72] = { 0x80 }, len[8];
	uint64_t bits = s->len * 8;
	int i;

	for (i = 0; i < 8; i++)
		len[i] = (unsigned char)(bits >> (8 * i));
	md5_update(s, pad, s->used < 56 ? 56 - s->used : 120 - s->used);
	md5_update(s, len, 8);
	for (i = 0; i < 16; i++) {
		unsigned char byte = (unsigned char)(s->h[i / 4] >> (8 * (i % 4)));
		out[2 * i] = hex[byte >> 4];
		out[2 * i + 1] = hex[byte & 15];
	}
	out[32] = '\0';
}

void faas__md5_hex(const void *data, size_t len, char out[33])
{
	struct md5 s;

	md5_init(&s);
	md5_update(&s, data, len);
	md5_hex(&s, out);
}

/* ---- sources ------------------------------------------------------------------ */

/* src (or dflt when NULL) into dst of size bytes, cut to fit, NUL-terminated. */
static void copy_text(char *dst, size_t size, const char *src, const char *dflt)
{
	size_t len;

	src = src ? src : dflt;
	len = strnlen(src, size - 1);
	memcpy(dst, src, len);
	dst[len] = '\0';
}

int faas_source_new(faas_source_t **out, const faas_source_ops_t *ops, void *user_data,
                    faas_error_detail_t *d)
{
	faas_source_t *s;

	faas__detail_reset(d);
	if (!out)
		return faas__fail(d, FAAS_EINVAL, "out must not be NULL");
	*out = NULL;
	if (!ops || !ops->receive)
		return faas__fail(d, FAAS_EINVAL, "a source needs ops with a receive function");
	if (ops->version != 1 && ops->version != FAAS_SOURCE_OPS_VERSION)
		return faas__fail(d, FAAS_EINVAL, "unsupported faas_source_ops_t version %u",
		                  ops->version);
	if (!(s = faas__calloc(1, sizeof(*s))))
		return faas__fail(d, FAAS_ENOMEM, NULL);
	atomic_init(&s->refs, 1);
	/* a version 1 vtable ends before `fail` */
	memcpy(&s->ops, ops, ops->version == 1 ? offsetof(faas_source_ops_t, fail) : sizeof(*ops));
	s->ud = user_data;
	copy_text(s->event_source, sizeof(s->event_source), ops->event_source, "custom");
	copy_text(s->arn, sizeof(s->arn), ops->arn, "");
	copy_text(s->data_key, sizeof(s->data_key), ops->data_key, "");
	copy_text(s->filter_root, sizeof(s->filter_root), ops->filter_root, "");
	s->ops.event_source = s->ops.arn = s->ops.data_key = s->ops.filter_root = NULL; /* ours now */
	*out = s;
	return 0;
}

void *faas_source_user_data(faas_source_t *s,
                            int (*receive)(void *, uint32_t, uint32_t, faas_source_record_t *,
                                           size_t *))
{
	return s && receive && s->ops.receive == receive ? s->ud : NULL;
}

void faas_source_report(faas_source_t *s, int code, const char *message)
{
	faas_runtime_t *rt;

	if (!s)
		return;
	atomic_fetch_add(&s->errors, 1);
	rt = atomic_load(&s->rt);
	if (rt && faas__tel_wants(rt, FAAS_TELEMETRY_FAAS))
		faas__tel_source(rt, s->arn[0] ? s->arn : s->event_source, code, message);
}

void faas__source_ref(faas_source_t *s)
{
	atomic_fetch_add(&s->refs, 1);
}

void faas_source_free(faas_source_t *s)
{
	if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	if (s->ops.close)
		s->ops.close(s->ud);
	faas__free(s);
}

void faas_source_notify(faas_source_t *s)
{
	faas_runtime_t *rt = s ? atomic_load(&s->rt) : NULL;

	if (rt)
		faas__mappings_kick(rt);
}

/* ---- the built-in queue's source --------------------------------------------------- */

/* SQS's MD5 of message attributes: per name in byte order, the name, the
 * data type (each with a 4-byte big-endian length), 1 (string) or 2
 * (binary), and the value with its length. */
static void put_len_bytes(struct md5 *s, const void *p, size_t n)
{
	unsigned char len[4] = { (unsigned char)(n >> 24), (unsigned char)(n >> 16),
		                 (unsigned char)(n >> 8), (unsigned char)n };

	md5_update(s, len, 4);
	md5_update(s, p, n);
}

static int cmp_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool attrs_md5(json_t *attrs, char out[33])
{
	size_t n = json_object_size(attrs), i = 0;
	const char **keys = faas__calloc(n ? n : 1, sizeof(*keys)), *key;
	struct md5 s;
	json_t *v;

	if (!keys)
		return false;
	json_object_foreach(attrs, key, v)
		keys[i++] = key;
	qsort(keys, n, sizeof(*keys), cmp_keys);
	md5_init(&s);
	for (i = 0; i < n; i++) {
		json_t *a = json_object_get(attrs, keys[i]);
		const char *type = json_string_value(json_object_get(a, "dataType"));
		const char *sv = json_string_value(json_object_get(a, "stringValue"));
		const char *bv = json_string_value(json_object_get(a, "binaryValue"));
		unsigned char transport = sv ? 1 : 2;
		put_len_bytes(&s, keys[i], strlen(keys[i]));
		put_len_bytes(&s, type ? type : "", type ? strlen(type) : 0);
		md5_update(&s, &transport, 1);
		if (sv) {
			put_len_bytes(&s, sv, strlen(sv));
		} else { /* binaryValue travels as base64: its bytes count */
			size_t blen = 0;
			unsigned char *bytes = bv ? faas__base64_decode(bv, &blen) : NULL;
			put_len_bytes(&s, bytes ? (const void *)bytes : "", bytes ? blen : 0);
			faas__free(bytes);
		}
	}
	faas__free(keys);
	md5_hex(&s, out);
	return true;
}

/* Lambda's shape of one attribute: every field present. */
static json_t *record_attrs(json_t *attrs)
{
	json_t *out = json_object(), *v;
	const char *key;

	if (!out)
		return NULL;
	json_object_foreach(attrs, key, v) {
		json_t *sv = json_object_get(v, "stringValue"), *bv = json_object_get(v, "binaryValue");
		const char *type = json_string_value(json_object_get(v, "dataType"));
		json_object_set_new(out, key,
		                    json_pack("{s:O,s:O,s:[],s:[],s:s}", "stringValue",
		                              sv ? sv : json_null(), "binaryValue", bv ? bv : json_null(),
		                              "stringListValues", "binaryListValues", "dataType",
		                              type ? type : "String"));
	}
	return out;
}

/* A string's size as compact JSON text: quotes, and jansson's escapes
 * (\" \\ \b \f \n \r \t, \u00XX for other control characters). */
static const unsigned char json_extra[256] = {
	/* control characters: \u00XX (5 more), but \b \t \n \f \r (1 more) */
	5, 5, 5, 5, 5, 5, 5, 5, 1, 1, 1, 5, 1, 1, 5, 5,
	5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,
	['"'] = 1, ['\\'] = 1,
};

static size_t jstr_size(const char *s, size_t n)
{
	size_t size = n + 2, i;

	for (i = 0; i < n; i++)
		size += json_extra[(unsigned char)s[i]];
	return size;
}

/* "key":"value", (the comma counted for every member but the last). */
static size_t member_size(const char *key, const char *value)
{
	return jstr_size(key, strlen(key)) + 1 + jstr_size(value, strlen(value)) + 1;
}

/*
 * The record's size as compact JSON text, from its parts: the same number
 * faas__json_text_size gives (a test holds them equal), at a fraction of
 * the cost of serializing the record (the batch limit needs it per record).
 */
static size_t sqs_record_size(json_t *rec, const faas_queue_message_t *m)
{
	json_t *attrs = json_object_get(rec, "attributes"), *v;
	const char *key;
	size_t size = 2, inner = 2; /* the braces */

	size += member_size("messageId", m->message_id) + member_size("receiptHandle", m->receipt_handle);
	size += jstr_size("body", 4) + 1 + jstr_size(m->body, m->body_len) + 1;
	json_object_foreach(attrs, key, v)
		inner += member_size(key, json_string_value(v));
	size += jstr_size("attributes", 10) + 1 + inner - 1 + 1;
	size += jstr_size("messageAttributes", 17) + 1 + 1;
	v = json_object_get(rec, "messageAttributes");
	size += json_object_size(v) ? faas__json_text_size(v) : 2;
	json_object_foreach(rec, key, v) /* the plain string members after those */
		if (strcmp(key, "messageId") && strcmp(key, "receiptHandle") && strcmp(key, "body") &&
		    json_is_string(v))
			size += member_size(key, json_string_value(v));
	return size - 1; /* no comma after the last member */
}

/* o[key] = v (stolen); false when v is NULL or there is no memory. Keys
 * are ours, values checked where they were made (ids and numbers are
 * ASCII, a body was checked as UTF-8 when it was sent): no UTF-8 pass. */
static bool put(json_t *o, const char *key, json_t *v)
{
	return v && json_object_set_new_nocheck(o, key, v) == 0;
}

/* The decimal digits of v, NUL-terminated, at out (21 bytes). */
static char *u64_text(uint64_t v, char out[21])
{
	char *p = out + 20;

	*p = '\0';
	do
		*--p = (char)('0' + v % 10);
	while (v /= 10);
	return p;
}

static json_t *sqs_record(faas_queue_t *q, const faas_queue_message_t *m)
{
	faas_runtime_t *rt = faas__queue_runtime(q);
	char md5[33], count[21], sent[21], first[21];
	json_t *rec = json_object(), *attrs = json_object();

	faas__md5_hex(m->body, m->body_len, md5);
	/* the members in Lambda's order, as json_pack built them before */
	if (!rec || !attrs || !put(rec, "messageId", json_string_nocheck(m->message_id)) ||
	    !put(rec, "receiptHandle", json_string_nocheck(m->receipt_handle)) ||
	    !put(rec, "body", json_stringn_nocheck(m->body, m->body_len)) ||
	    !put(attrs, "ApproximateReceiveCount", json_string_nocheck(u64_text(m->receive_count, count))) ||
	    !put(attrs, "SentTimestamp",
	         json_string_nocheck(u64_text((uint64_t)m->sent_timestamp_ms, sent))) ||
	    !put(attrs, "SenderId", json_string_nocheck(rt->account)) ||
	    !put(attrs, "ApproximateFirstReceiveTimestamp",
	         json_string_nocheck(u64_text((uint64_t)m->first_receive_timestamp_ms, first))) ||
	    !put(rec, "attributes", json_incref(attrs)) ||
	    !put(rec, "messageAttributes", m->attributes ? record_attrs(m->attributes) : json_object())) {
		json_decref(attrs);
		json_decref(rec);
		return NULL;
	}
	json_decref(attrs);
	if (m->message_group_id[0]) { /* FIFO: attributes add these */
		json_t *a = json_object_get(rec, "attributes");
		if (json_object_set_new(a, "SequenceNumber", json_string(m->sequence_number)) != 0 ||
		    json_object_set_new(a, "MessageGroupId", json_string(m->message_group_id)) != 0 ||
		    json_object_set_new(a, "MessageDeduplicationId", json_string(m->deduplication_id)) !=
		            0) {
			json_decref(rec);
			return NULL;
		}
	}
	if (m->attributes && json_object_size(m->attributes)) {
		char amd5[33];
		if (!attrs_md5(m->attributes, amd5) ||
		    json_object_set_new(rec, "md5OfMessageAttributes", json_string(amd5)) != 0) {
			json_decref(rec);
			return NULL;
		}
	}
	if (!put(rec, "md5OfBody", json_string_nocheck(md5)) ||
	    !put(rec, "eventSource", json_string_nocheck("aws:sqs")) ||
	    !put(rec, "eventSourceARN", json_string_nocheck(faas_queue_arn(q))) ||
	    !put(rec, "awsRegion", json_string_nocheck(rt->region))) {
		json_decref(rec);
		return NULL;
	}
	return rec;
}

static int queue_receive(void *ud, uint32_t max, uint32_t visibility_ms, faas_source_record_t *out,
                         size_t *n)
{
	faas_queue_t *q = ud;
	faas_queue_message_t *msgs;
	size_t got = 0, i, k = 0;
	uint64_t visible;
	int rc;

	*n = 0;
	faas_queue_counts(q, &visible, NULL);
	if (!visible) /* nothing to receive: no allocation */
		return 0;
	if (visible < max)
		max = (uint32_t)visible;
	if (!(msgs = faas__calloc(max, sizeof(*msgs))))
		return FAAS_ENOMEM;
	/* Lambda: when window + function timeout exceed the queue's visibility
	 * timeout, the messages stay hidden for that + 30 s instead */
	visibility_ms = visibility_ms > faas_queue_visibility_timeout(q) ? visibility_ms + 30000u : 0;
	rc = faas_queue_receive(q, max, visibility_ms, msgs, &got, NULL);
	for (i = 0; i < got; i++) {
		json_t *rec = rc == 0 ? sqs_record(q, &msgs[i]) : NULL;
		if (!rec) { /* no memory: back at once, nothing lost */
			faas_queue_change_visibility(q, msgs[i].receipt_handle, 0, NULL);
			rc = rc ? rc : FAAS_ENOMEM;
		} else {
			out[k].record = rec;
			out[k].size = sqs_record_size(rec, &msgs[i]);
			out[k].lineage = msgs[i].lineage;
			/* FIFO: one batch per message group at a time (nonzero: a group) */
			out[k].group = msgs[i].message_group_id[0]
			                       ? (uint32_t)faas__hash64(msgs[i].message_group_id,
			                                                strlen(msgs[i].message_group_id), 0) |
			                                 1u
			                       : 0;
			copy_text(out[k].id, sizeof(out[k].id), msgs[i].message_id, "");
			copy_text(out[k].handle, sizeof(out[k].handle), msgs[i].receipt_handle, "");
			k++;
		}
		faas_queue_message_clear(&msgs[i]);
	}
	faas__free(msgs);
	*n = k;
	return k ? 0 : rc;
}

static void queue_ack(void *ud, const faas_source_record_t *r)
{
	faas_queue_delete_message(ud, r->handle, NULL);
}

static void queue_release(void *ud, const faas_source_record_t *r)
{
	faas_queue_change_visibility(ud, r->handle, 0, NULL);
}

static void queue_close(void *ud)
{
	faas__queue_unref(ud);
}

int faas_queue_source_new(faas_queue_t *q, faas_source_t **out, faas_error_detail_t *d)
{
	faas_source_ops_t ops = { FAAS_SOURCE_OPS_VERSION, "aws:sqs", NULL, "body", queue_receive,
		                  queue_ack, NULL, queue_release, queue_close, 0, 0, NULL, NULL, 0, NULL };
	int rc;

	faas__detail_reset(d);
	if (!q)
		return faas__fail(d, FAAS_EINVAL, "queue must not be NULL");
	ops.arn = faas_queue_arn(q);
	if ((rc = faas_source_new(out, &ops, q, d)) != 0)
		return rc;
	faas__queue_ref(q);
	(*out)->queue = q;
	(*out)->fifo_groups = faas_queue_is_fifo(q) != 0;
	atomic_store(&(*out)->rt, faas__queue_runtime(q));
	return 0;
}
