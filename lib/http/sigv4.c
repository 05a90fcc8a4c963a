/*
 * libfaas-http — verifying AWS Signature Version 4 (sigv4.h).
 *
 * The canonical request is rebuilt the way AWS's SDKs sign a REST-JSON
 * service such as Lambda: the path as sent, percent-encoded once more
 * (unreserved characters and '/' kept); the query's key=value pairs as
 * sent, sorted; the signed headers, lower-case, their values with runs of
 * spaces folded, sorted by name; the SHA-256 of the body. HMAC-SHA256 and
 * SHA-256 are OpenSSL's (EVP); the signatures are compared in constant time.
 */
#include "sigv4.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void hex(const unsigned char *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

void sv4_sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
	hex(md, 32, out);
}

static void hmac(const unsigned char *key, size_t klen, const char *msg, unsigned char out[32])
{
	unsigned int n = 32;

	HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg, strlen(msg), out, &n);
}

void sv4_signing_key(const char *secret, const char *date, const char *region, const char *service,
                     unsigned char key[32])
{
	size_t len = strlen(secret) + 5;
	char *k = malloc(len);

	if (!k) {
		memset(key, 0, 32);
		return;
	}
	snprintf(k, len, "AWS4%s", secret);
	hmac((const unsigned char *)k, strlen(k), date, key);
	OPENSSL_cleanse(k, len);
	free(k);
	hmac(key, 32, region, key);
	hmac(key, 32, service, key);
	hmac(key, 32, "aws4_request", key);
}

void sv4_hmac_hex(const unsigned char key[32], const char *msg, char out[65])
{
	unsigned char mac[32];

	hmac(key, 32, msg, mac);
	hex(mac, 32, out);
}

/* ---- the canonical request ------------------------------------------------------------ */

struct buf {
	char *p;
	size_t len, cap;
	int oom;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

static int unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.' || c == '~';
}

/* The path encoded again, '/' kept (the SDKs' quote(path, safe='/~')). */
static void put_uri(struct buf *b, const char *path)
{
	char esc[4];

	if (!*path) {
		puts_(b, "/");
		return;
	}
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		if (unreserved(*p) || *p == '/') {
			put(b, (const char *)p, 1);
			continue;
		}
		snprintf(esc, sizeof(esc), "%%%02X", *p);
		put(b, esc, 3);
	}
}

struct kv {
	const char *k, *v;
	size_t klen, vlen;
};

static int kv_cmp(const void *a, const void *b)
{
	const struct kv *x = a, *y = b;
	size_t n = x->klen < y->klen ? x->klen : y->klen;
	int c = memcmp(x->k, y->k, n);

	if (c || x->klen != y->klen)
		return c ? c : (x->klen < y->klen ? -1 : 1);
	n = x->vlen < y->vlen ? x->vlen : y->vlen;
	c = memcmp(x->v, y->v, n);
	return c ? c : (x->vlen < y->vlen ? -1 : x->vlen > y->vlen);
}

/* key=value pairs as sent, sorted. */
static void put_query(struct buf *b, const char *q)
{
	size_t n = 1, i = 0;
	struct kv *kv;

	if (!*q)
		return;
	for (const char *p = q; *p; p++)
		n += *p == '&';
	if (!(kv = calloc(n, sizeof(*kv)))) {
		b->oom = 1;
		return;
	}
	for (const char *p = q; i < n; i++) {
		const char *end = strchr(p, '&'), *eq;
		size_t len = end ? (size_t)(end - p) : strlen(p);
		eq = memchr(p, '=', len);
		kv[i].k = p;
		kv[i].klen = eq ? (size_t)(eq - p) : len;
		kv[i].v = eq ? eq + 1 : p + len;
		kv[i].vlen = eq ? len - kv[i].klen - 1 : 0;
		p += len + (end ? 1 : 0);
	}
	qsort(kv, n, sizeof(*kv), kv_cmp);
	for (i = 0; i < n; i++) {
		if (i)
			puts_(b, "&");
		put(b, kv[i].k, kv[i].klen);
		puts_(b, "=");
		put(b, kv[i].v, kv[i].vlen);
	}
	free(kv);
}

/* A header's value, trimmed, runs of spaces folded to one; several of the
 * same name joined by ','. */
static void put_header_value(struct buf *b, const struct sv4_request *r, const char *name,
                             size_t len)
{
	int first = 1;

	for (size_t i = 0; i < r->nheaders; i++) {
		const char *v = r->hvalue[i];
		int space = 0, started = 0;
		if (strlen(r->hname[i]) != len || strncasecmp(r->hname[i], name, len) != 0)
			continue;
		if (!first)
			puts_(b, ",");
		first = 0;
		for (; *v; v++) {
			if (*v == ' ' || *v == '\t') {
				space = started;
				continue;
			}
			if (space)
				puts_(b, " ");
			space = 0;
			started = 1;
			put(b, v, 1);
		}
	}
}

char *sv4_canonical_request(const struct sv4_request *r, const char *signed_headers,
                            const char *payload_hash)
{
	struct buf b = { NULL, 0, 0, 0 };
	const char *h = signed_headers;

	puts_(&b, r->method);
	puts_(&b, "\n");
	put_uri(&b, r->raw_path);
	puts_(&b, "\n");
	put_query(&b, r->raw_query);
	puts_(&b, "\n");
	while (*h) {
		size_t len = strcspn(h, ";");
		char lower[128];
		if (len == 0 || len >= sizeof(lower))
			break;
		for (size_t i = 0; i < len; i++)
			lower[i] = (char)(h[i] >= 'A' && h[i] <= 'Z' ? h[i] + 32 : h[i]);
		put(&b, lower, len);
		puts_(&b, ":");
		put_header_value(&b, r, h, len);
		puts_(&b, "\n");
		h += len + (h[len] == ';');
	}
	puts_(&b, "\n");
	puts_(&b, signed_headers);
	puts_(&b, "\n");
	puts_(&b, payload_hash);
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

/* ---- verifying ------------------------------------------------------------------------ */

static const char *header(const struct sv4_request *r, const char *name)
{
	for (size_t i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->hname[i], name) == 0)
			return r->hvalue[i];
	return NULL;
}

static int refuse(struct sv4_refusal *why, const char *type, const char *msg)
{
	why->type = type;
	snprintf(why->message, sizeof(why->message), "%s", msg);
	return -1;
}

/* "20150830T123600Z" as seconds since the epoch; -1 when malformed. */
static time_t amz_time(const char *s)
{
	struct tm tm;
	int n = 0;

	memset(&tm, 0, sizeof(tm));
	if (strlen(s) != 16 || sscanf(s, "%4d%2d%2dT%2d%2d%2dZ%n", &tm.tm_year, &tm.tm_mon,
	                             &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 ||
	    n != 16)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return timegm(&tm);
}

static const char bad_signature[] =
        "The request signature we calculated does not match the signature you provided. Check "
        "your AWS Secret Access Key and signing method. Consult the service documentation for "
        "details.";

/* Whether @p name is one of the ';'-separated names of @p list (exactly). */
static bool signed_header(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; *p;) {
		const char *end = strchr(p, ';');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len == n && strncmp(p, name, n) == 0)
			return true;
		if (!end)
			break;
		p = end + 1;
	}
	return false;
}

int sv4_verify(const struct sv4_request *r, const char *akid, const char *secret,
               const char *region, time_t now, uint32_t skew_s, struct sv4_refusal *why)
{
	const char *auth = header(r, "authorization"), *date = header(r, "x-amz-date");
	const char *sha = header(r, "x-amz-content-sha256");
	char cred[256], signed_headers[512], sig[65], want[65], body_hash[65], canon_hash[65];
	char scope_akid[128], scope_date[16], scope_region[64], scope_service[32], term[32];
	char sts[512], *canon;
	unsigned char key[32];
	time_t t;
	int n;

	if (!auth)
		return refuse(why, "MissingAuthenticationTokenException", "Missing Authentication Token");
	if (sscanf(auth, "AWS4-HMAC-SHA256 Credential=%255[^,], SignedHeaders=%511[^,], "
	                 "Signature=%64[0-9a-f]%n",
	           cred, signed_headers, sig, &n) != 3 ||
	    strlen(sig) != 64)
		return refuse(why, "IncompleteSignatureException",
		              "Authorization header requires 'Credential', 'SignedHeaders' and "
		              "'Signature' (AWS4-HMAC-SHA256)");
	if (sscanf(cred, "%127[^/]/%15[^/]/%63[^/]/%31[^/]/%31s", scope_akid, scope_date,
	           scope_region, scope_service, term) != 5 ||
	    strcmp(term, "aws4_request") != 0)
		return refuse(why, "IncompleteSignatureException", "Credential is malformed");
	if (strcmp(scope_akid, akid) != 0)
		return refuse(why, "UnrecognizedClientException",
		              "The security token included in the request is invalid.");
	if (!date || (t = amz_time(date)) < 0 || strncmp(date, scope_date, 8) != 0 ||
	    strlen(scope_date) != 8)
		return refuse(why, "IncompleteSignatureException",
		              "X-Amz-Date is missing or does not match the credential's date");
	if (strcmp(scope_service, "lambda") != 0 || strcmp(scope_region, region) != 0) {
		snprintf(why->message, sizeof(why->message),
		         "Credential should be scoped to a valid region and service: '%s', 'lambda'",
		         region);
		why->type = "InvalidSignatureException";
		return -1;
	}
	if (t + (time_t)skew_s < now || t - (time_t)skew_s > now) {
		why->type = "InvalidSignatureException";
		snprintf(why->message, sizeof(why->message),
		         "Signature expired or not yet valid: %s is more than %u s away from the "
		         "server's time",
		         date, skew_s);
		return -1;
	}
	if (!signed_header(signed_headers, "host"))
		return refuse(why, "InvalidSignatureException", "'Host' must be a signed header");
	sv4_sha256_hex(r->body, r->body_len, body_hash);
	if (sha && strcmp(sha, "UNSIGNED-PAYLOAD") != 0 && strcmp(sha, body_hash) != 0)
		return refuse(why, "InvalidSignatureException",
		              "The provided 'x-amz-content-sha256' header does not match what was "
		              "computed.");
	if (!(canon = sv4_canonical_request(r, signed_headers, sha ? sha : body_hash)))
		return refuse(why, "ServiceException", "out of memory");
	sv4_sha256_hex(canon, strlen(canon), canon_hash);
	free(canon);
	snprintf(sts, sizeof(sts), "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s", date,
	         scope_date, scope_region, scope_service, canon_hash);
	sv4_signing_key(secret, scope_date, scope_region, scope_service, key);
	sv4_hmac_hex(key, sts, want);
	OPENSSL_cleanse(key, sizeof(key));
	if (CRYPTO_memcmp(want, sig, 64) != 0)
		return refuse(why, "InvalidSignatureException", bad_signature);
	return 0;
}
