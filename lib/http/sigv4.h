/*
 * libfaas-http — internal: AWS Signature Version 4, the server's side
 * (verifying a request's Authorization header). The hashes come from
 * OpenSSL's libcrypto; nothing here is cryptography of its own.
 */
#ifndef FAAS_HTTP_SIGV4_H
#define FAAS_HTTP_SIGV4_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define SV4_INTERNAL __attribute__((visibility("hidden")))

/* A request as it came: the raw (still percent-encoded) path and query. */
struct sv4_request {
	const char *method;
	const char *raw_path;
	const char *raw_query; /* after '?', "" when none */
	size_t nheaders;
	const char *const *hname; /* as sent (any case) */
	const char *const *hvalue;
	const void *body;
	size_t body_len;
};

/* Why a request was refused: Lambda's error name (403) and message. */
struct sv4_refusal {
	const char *type;
	char message[256];
};

SV4_INTERNAL void sv4_sha256_hex(const void *data, size_t len, char out[65]);
SV4_INTERNAL void sv4_signing_key(const char *secret, const char *date, const char *region,
                                  const char *service, unsigned char key[32]);
SV4_INTERNAL void sv4_hmac_hex(const unsigned char key[32], const char *msg, char out[65]);
/* The canonical request for the headers named in @p signed_headers
 * ("host;x-amz-date"), and @p payload_hash: malloc'd, NULL on ENOMEM. */
SV4_INTERNAL char *sv4_canonical_request(const struct sv4_request *r, const char *signed_headers,
                                         const char *payload_hash);
/* 0: signed by @p akid with @p secret for @p region and "lambda", dated
 * within @p skew_s of @p now; else -1 with *why filled. */
SV4_INTERNAL int sv4_verify(const struct sv4_request *r, const char *akid, const char *secret,
                            const char *region, time_t now, uint32_t skew_s,
                            struct sv4_refusal *why);

#endif /* FAAS_HTTP_SIGV4_H */
