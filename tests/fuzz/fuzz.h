/*
 * libfaas fuzz targets — shared helpers.
 *
 * Each tests/fuzz/fuzz_<name>.c defines LLVMFuzzerTestOneInput. Built with
 * clang -fsanitize=fuzzer it is a libFuzzer binary (make fuzz); linked with
 * replay.c by the normal compiler it replays the saved corpus (make check).
 * A violated invariant prints where and why, then abort()s, which both
 * libFuzzer and the replay driver report as a crash.
 */
#ifndef FAAS_FUZZ_H
#define FAAS_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <faas.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_COUNT(a) (sizeof(a) / sizeof((a)[0]))

#define FUZZ_CHECK(cond, ...)                                                                \
	do {                                                                                 \
		if (!(cond)) {                                                               \
			fprintf(stderr, "fuzz invariant violated at %s:%d: %s\n  ", __FILE__, \
			        __LINE__, #cond);                                            \
			fprintf(stderr, __VA_ARGS__);                                        \
			fputc('\n', stderr);                                                 \
			abort();                                                             \
		}                                                                            \
	} while (0)

/* 0, or a negative code the error table knows. */
static inline int fuzz_known_rc(int rc)
{
	return rc == 0 || (rc < 0 && strcmp(faas_err_name(rc), "FAAS_EUNKNOWN") != 0);
}

/* Fill a detail with garbage so a message left unterminated shows. */
static inline void fuzz_detail_poison(faas_error_detail_t *d)
{
	memset(d, 'Z', sizeof(*d));
	d->code = 12345;
	d->http_status = -1;
	d->lambda_name = NULL;
}

/* FUZZ_TRACE=1 in the environment: each checked call is printed to stderr. */
static inline int fuzz_tracing(void)
{
	static int on = -1;

	if (on < 0)
		on = getenv("FUZZ_TRACE") != NULL;
	return on;
}

#define FUZZ_TRACE(...)                                       \
	do {                                                  \
		if (fuzz_tracing())                           \
			fprintf(stderr, __VA_ARGS__);         \
	} while (0)

/* A detail as a public call must leave it for return code @p rc. */
static inline void fuzz_check_detail(const char *call, int rc, const faas_error_detail_t *d)
{
	const char *nul = memchr(d->message, '\0', sizeof(d->message));

	FUZZ_TRACE("  %s -> %s%s%.*s\n", call, faas_err_name(rc), rc ? ": " : "",
	           nul ? (int)(nul - d->message) : 0, d->message);
	FUZZ_CHECK(fuzz_known_rc(rc), "%s returned unknown code %d", call, rc);
	FUZZ_CHECK(nul != NULL, "%s: message not NUL-terminated within %d bytes", call,
	           FAAS_MESSAGE_MAX);
	FUZZ_CHECK(d->code == rc, "%s returned %s, detail says %s (%s)", call, faas_err_name(rc),
	           faas_err_name(d->code), d->message);
	if (rc == 0) {
		FUZZ_CHECK(d->message[0] == '\0', "%s succeeded with message \"%s\"", call, d->message);
		FUZZ_CHECK(d->http_status == 200 && d->lambda_name == NULL,
		           "%s succeeded with status %d", call, d->http_status);
		return;
	}
	FUZZ_CHECK(d->message[0] != '\0', "%s failed (%s) with an empty message", call,
	           faas_err_name(rc));
	FUZZ_CHECK(d->lambda_name != NULL, "%s failed (%s) without a Lambda name", call,
	           faas_err_name(rc));
	FUZZ_CHECK(d->http_status == faas_error_http_status(rc), "%s: status %d for %s", call,
	           d->http_status, faas_err_name(rc));
}

/* Consumes the fuzzer's bytes; reads past the end give zeros. */
struct fuzz_in {
	const uint8_t *p;
	size_t n;
};

static inline int fuzz_more(const struct fuzz_in *in)
{
	return in->n > 0;
}

static inline uint8_t fuzz_u8(struct fuzz_in *in)
{
	uint8_t b = 0;

	if (in->n) {
		b = *in->p++;
		in->n--;
	}
	return b;
}

static inline uint32_t fuzz_u32(struct fuzz_in *in)
{
	uint32_t v = 0;
	int i;

	for (i = 0; i < 4; i++)
		v = v << 8 | fuzz_u8(in);
	return v;
}

static inline uint64_t fuzz_u64(struct fuzz_in *in)
{
	return (uint64_t)fuzz_u32(in) << 32 | fuzz_u32(in);
}

/* A length-prefixed string (at most @p max bytes, NUL-terminated in @p buf). */
static inline char *fuzz_str(struct fuzz_in *in, char *buf, size_t max)
{
	size_t len = fuzz_u8(in), i;

	if (len > max)
		len = max;
	for (i = 0; i < len && in->n; i++)
		buf[i] = (char)fuzz_u8(in);
	buf[i] = '\0';
	return buf;
}

#endif /* FAAS_FUZZ_H */
