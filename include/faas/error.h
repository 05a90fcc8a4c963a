/*
 * libfaas — error model.
 *
 * Every fallible call returns 0 or a negative faas_error_t. One table,
 * FAAS_ERRNO_MAP, generates the enum, faas_strerror(), faas_err_name() and
 * the Lambda exception name and HTTP status each code stands for, so a
 * gateway renders Lambda's wire errors from this table and no other.
 *
 * Codes are never renumbered; new ones are appended.
 *
 * Control-plane calls end with a nullable `faas_error_detail_t *detail`:
 * when given, it is reset on entry and, on failure, filled with the code,
 * a one-line message (Lambda's own wording where Lambda has one), the
 * Lambda exception name and the HTTP status. The innermost failure wins:
 * outer layers never overwrite a message already written. There is no
 * thread-local error state.
 */
#ifndef FAAS_ERROR_H
#define FAAS_ERROR_H

#include "faas/common.h"

FAAS_BEGIN_DECLS

/*
 * XX(NAME, value, "strerror text", "LambdaExceptionName", http_status)
 */
#define FAAS_ERRNO_MAP(XX)                                                                         \
	XX(EINVAL, -1, "invalid argument", "InvalidParameterValueException", 400)                 \
	XX(ENOMEM, -2, "out of memory", "ServiceException", 500)                                  \
	XX(ENOTFOUND, -3, "resource not found", "ResourceNotFoundException", 404)                 \
	XX(EEXIST, -4, "resource already exists", "ResourceConflictException", 409)               \
	XX(ECONFLICT, -5, "resource conflict", "ResourceConflictException", 409)                  \
	XX(EPRECONDITION, -6, "precondition failed", "PreconditionFailedException", 412)          \
	XX(EBADJSON, -7, "request content is not valid JSON", "InvalidRequestContentException", 400) \
	XX(ETOOLARGE, -8, "request too large", "RequestTooLargeException", 413)                   \
	XX(ETHROTTLED, -9, "rate exceeded", "TooManyRequestsException", 429)                      \
	XX(ERECURSION, -10, "recursive invocation stopped", "RecursiveInvocationException", 400)  \
	XX(ESHUTDOWN, -11, "runtime is shutting down", "ServiceException", 500)                   \
	XX(ETIMEDOUT, -12, "operation timed out", "ServiceException", 500)                        \
	XX(EDEADLK, -13, "operation would deadlock", "ServiceException", 500)                     \
	XX(EAGAIN, -14, "resource temporarily unavailable", "TooManyRequestsException", 429)      \
	XX(ECANCELED, -15, "operation canceled", "ServiceException", 500)                         \
	XX(EUNSUPPORTED, -16, "operation not supported", "InvalidParameterValueException", 400)   \
	XX(EUSER, -17, "callback aborted the operation", "ServiceException", 500)                 \
	XX(ETHREAD, -18, "could not start a thread", "ServiceException", 500)                     \
	XX(EINTERNAL, -19, "internal error", "ServiceException", 500)

/** Error codes. 0 (FAAS_OK) is success; every error is negative. */
typedef enum faas_error {
	FAAS_OK = 0,
#define FAAS_ERRNO_ENUM_(name, value, text, lambda, status) FAAS_##name = (value),
	FAAS_ERRNO_MAP(FAAS_ERRNO_ENUM_)
#undef FAAS_ERRNO_ENUM_
	FAAS_ERRNO_MIN_ = -19 /* lowest code in use; internal */
} faas_error_t;

/** Size of the inline message buffer in faas_error_detail_t. */
#define FAAS_MESSAGE_MAX 512

/** Where a failed call explains itself. Caller-allocated; see the header comment. */
typedef struct faas_error_detail {
	int code;                       /**< 0 or a faas_error_t */
	int http_status;                /**< 200 on success, else the code's HTTP status */
	const char *lambda_name;        /**< static; NULL on success */
	char message[FAAS_MESSAGE_MAX]; /**< one line, NUL-terminated; "" on success */
} faas_error_detail_t;

/** Initialiser for a faas_error_detail_t (the call resets it anyway). */
#define FAAS_ERROR_DETAIL_INIT { 0, 200, NULL, { 0 } }

/**
 * Text for a code: "out of memory". Unknown codes give "unknown error".
 * @return a static string; thread-safe.
 */
FAAS_EXTERN const char *faas_strerror(int code);

/** Symbolic name of a code: "FAAS_ENOMEM"; "FAAS_OK" for 0; "FAAS_EUNKNOWN" otherwise. Static. */
FAAS_EXTERN const char *faas_err_name(int code);

/**
 * Lambda exception name a code stands for ("ResourceNotFoundException"),
 * or NULL for 0 and unknown codes. Static.
 */
FAAS_EXTERN const char *faas_error_lambda_name(int code);

/** HTTP status a code stands for (404, 429, ...); 200 for 0; 500 for unknown codes. */
FAAS_EXTERN int faas_error_http_status(int code);

/**
 * Fill @p detail (NULL is fine) as the library's own calls do: the code, its
 * HTTP status and Lambda name, and the message (printf @p fmt, cut to
 * FAAS_MESSAGE_MAX; NULL = faas_strerror). Code 0 resets it. For add-ons
 * and host sources that answer with a faas_error_detail_t.
 * @return @p code
 */
FAAS_EXTERN int faas_error_set(faas_error_detail_t *detail, int code, const char *fmt, ...)
        FAAS_PRINTF(3, 4);

FAAS_END_DECLS

#endif /* FAAS_ERROR_H */
