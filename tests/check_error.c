/*
 * libfaas tests — the error table and error details.
 */
#include "tests.h"

struct expect {
	int code;
	const char *name;
	const char *lambda;
	int status;
};

static const struct expect table[] = {
	{ FAAS_EINVAL, "FAAS_EINVAL", "InvalidParameterValueException", 400 },
	{ FAAS_ENOMEM, "FAAS_ENOMEM", "ServiceException", 500 },
	{ FAAS_ENOTFOUND, "FAAS_ENOTFOUND", "ResourceNotFoundException", 404 },
	{ FAAS_EEXIST, "FAAS_EEXIST", "ResourceConflictException", 409 },
	{ FAAS_ECONFLICT, "FAAS_ECONFLICT", "ResourceConflictException", 409 },
	{ FAAS_EPRECONDITION, "FAAS_EPRECONDITION", "PreconditionFailedException", 412 },
	{ FAAS_EBADJSON, "FAAS_EBADJSON", "InvalidRequestContentException", 400 },
	{ FAAS_ETOOLARGE, "FAAS_ETOOLARGE", "RequestTooLargeException", 413 },
	{ FAAS_ETHROTTLED, "FAAS_ETHROTTLED", "TooManyRequestsException", 429 },
	{ FAAS_ERECURSION, "FAAS_ERECURSION", "RecursiveInvocationException", 400 },
	{ FAAS_ESHUTDOWN, "FAAS_ESHUTDOWN", "ServiceException", 500 },
	{ FAAS_ETIMEDOUT, "FAAS_ETIMEDOUT", "ServiceException", 500 },
	{ FAAS_EDEADLK, "FAAS_EDEADLK", "ServiceException", 500 },
	{ FAAS_EAGAIN, "FAAS_EAGAIN", "TooManyRequestsException", 429 },
	{ FAAS_ECANCELED, "FAAS_ECANCELED", "ServiceException", 500 },
	{ FAAS_EUNSUPPORTED, "FAAS_EUNSUPPORTED", "InvalidParameterValueException", 400 },
	{ FAAS_EUSER, "FAAS_EUSER", "ServiceException", 500 },
	{ FAAS_ETHREAD, "FAAS_ETHREAD", "ServiceException", 500 },
	{ FAAS_EINTERNAL, "FAAS_EINTERNAL", "ServiceException", 500 },
};

START_TEST(error_table_maps_every_code)
{
	size_t i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		const struct expect *e = &table[i];
		ck_assert_int_eq(e->code, -(int)(i + 1)); /* codes are never renumbered */
		ck_assert_str_eq(faas_err_name(e->code), e->name);
		ck_assert_str_eq(faas_error_lambda_name(e->code), e->lambda);
		ck_assert_int_eq(faas_error_http_status(e->code), e->status);
		ck_assert_str_ne(faas_strerror(e->code), "unknown error");
		ck_assert_ptr_null(strchr(faas_strerror(e->code), '\n'));
	}
	ck_assert_int_eq(FAAS_ERRNO_MIN_, table[sizeof(table) / sizeof(table[0]) - 1].code);
}
END_TEST

START_TEST(error_success_and_unknown_codes)
{
	ck_assert_str_eq(faas_err_name(0), "FAAS_OK");
	ck_assert_str_eq(faas_strerror(0), "success");
	ck_assert_ptr_null(faas_error_lambda_name(0));
	ck_assert_int_eq(faas_error_http_status(0), 200);
	ck_assert_str_eq(faas_err_name(-999), "FAAS_EUNKNOWN");
	ck_assert_str_eq(faas_strerror(-999), "unknown error");
	ck_assert_str_eq(faas_strerror(7), "unknown error");
	ck_assert_ptr_null(faas_error_lambda_name(-999));
	ck_assert_int_eq(faas_error_http_status(-999), 500);
}
END_TEST

START_TEST(error_detail_first_failure_wins)
{
	faas_error_detail_t d = FAAS_ERROR_DETAIL_INIT;

	ck_assert_int_eq(faas__fail(&d, FAAS_ENOTFOUND, "inner %d", 1), FAAS_ENOTFOUND);
	ck_assert_int_eq(faas__fail(&d, FAAS_EINVAL, "outer"), FAAS_EINVAL);
	ck_assert_int_eq(d.code, FAAS_ENOTFOUND);
	ck_assert_str_eq(d.message, "inner 1");
	ck_assert_str_eq(d.lambda_name, "ResourceNotFoundException");
	ck_assert_int_eq(d.http_status, 404);
	faas__detail_reset(&d);
	ck_assert_int_eq(d.code, 0);
	ck_assert_int_eq(d.http_status, 200);
	ck_assert_ptr_null(d.lambda_name);
	ck_assert_str_eq(d.message, "");
	/* NULL detail is allowed everywhere */
	ck_assert_int_eq(faas__fail(NULL, FAAS_EINVAL, "x"), FAAS_EINVAL);
	faas__detail_reset(NULL);
}
END_TEST

START_TEST(error_detail_message_is_bounded)
{
	faas_error_detail_t d = FAAS_ERROR_DETAIL_INIT;
	char big[1000];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	faas__fail(&d, FAAS_EINVAL, "%s", big);
	ck_assert_uint_eq(strlen(d.message), FAAS_MESSAGE_MAX - 1);
	faas__detail_reset(&d);
	faas__fail_validation(&d, big, strlen(big), "functionName", "Member must be short");
	ck_assert_ptr_nonnull(strstr(d.message, "1 validation error detected: Value 'xxx"));
	ck_assert_ptr_nonnull(strstr(d.message, "...' at 'functionName' failed to satisfy constraint: "
	                                        "Member must be short"));
}
END_TEST

/* The public setter add-ons use: code, status, name, message; 0 resets. */
START_TEST(error_set_for_add_ons)
{
	faas_error_detail_t d;
	char big[FAAS_MESSAGE_MAX * 2];

	ck_assert_int_eq(faas_error_set(&d, FAAS_ENOTFOUND, "no %s here", "stream"), FAAS_ENOTFOUND);
	ck_assert_int_eq(d.code, FAAS_ENOTFOUND);
	ck_assert_int_eq(d.http_status, 404);
	ck_assert_str_eq(d.lambda_name, "ResourceNotFoundException");
	ck_assert_str_eq(d.message, "no stream here");
	/* a second call replaces the first (unlike the library's first-failure-wins) */
	ck_assert_int_eq(faas_error_set(&d, FAAS_ETIMEDOUT, NULL), FAAS_ETIMEDOUT);
	ck_assert_str_eq(d.message, "operation timed out");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	faas_error_set(&d, FAAS_EINVAL, "%s", big);
	ck_assert_uint_eq(strlen(d.message), FAAS_MESSAGE_MAX - 1);
	ck_assert_int_eq(faas_error_set(&d, 0, "ignored"), 0);
	ck_assert_int_eq(d.code, 0);
	ck_assert_int_eq(d.http_status, 200);
	ck_assert_ptr_null(d.lambda_name);
	ck_assert_str_eq(d.message, "");
	ck_assert_int_eq(faas_error_set(NULL, FAAS_EINVAL, "x"), FAAS_EINVAL);
}
END_TEST

START_TEST(error_version_matches_headers)
{
	ck_assert_str_eq(faas_version(), FAAS_VERSION_STRING);
	ck_assert_uint_eq(faas_version_hex(), FAAS_VERSION_HEX);
	ck_assert_uint_eq(FAAS_VERSION_HEX >> 16, FAAS_VERSION_MAJOR);
}
END_TEST

Suite *error_suite(void)
{
	Suite *s = suite_create("error");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, error_table_maps_every_code);
	tcase_add_test(tc, error_success_and_unknown_codes);
	tcase_add_test(tc, error_detail_first_failure_wins);
	tcase_add_test(tc, error_detail_message_is_bounded);
	tcase_add_test(tc, error_set_for_add_ons);
	tcase_add_test(tc, error_version_matches_headers);
	suite_add_tcase(s, tc);
	return s;
}
