/*
 * libfaas tests — real and virtual clocks.
 */
#include "tests.h"

START_TEST(clock_virtual_moves_only_when_advanced)
{
	faas_runtime_t *rt = t_runtime();

	ck_assert_uint_eq(faas_clock_monotonic_ms(rt), 0);
	ck_assert_int_eq(faas_clock_wall_ms(rt), 1700000000000);
	ck_assert_int_eq(faas_clock_advance(rt, 1500), 0);
	ck_assert_uint_eq(faas_clock_monotonic_ms(rt), 1500);
	ck_assert_int_eq(faas_clock_wall_ms(rt), 1700000001500);
	ck_assert_int_eq(faas_clock_set_wall(rt, 1000), 0);
	ck_assert_int_eq(faas_clock_wall_ms(rt), 1000);
	ck_assert_uint_eq(faas_clock_monotonic_ms(rt), 1500); /* monotonic unaffected */
	faas_clock_advance(rt, 250);
	ck_assert_int_eq(faas_clock_wall_ms(rt), 1250);
	ck_assert_int_eq(faas_clock_set_wall(rt, -1), FAAS_EINVAL);
	ck_assert_int_eq(faas_clock_advance(rt, UINT64_MAX), FAAS_EINVAL);
	faas_runtime_free(rt);
}
END_TEST

START_TEST(clock_real_refuses_virtual_calls)
{
	faas_runtime_t *rt = NULL;
	int64_t wall;
	uint64_t m1, m2;

	ck_assert_int_eq(faas_runtime_new(&rt, NULL, NULL), 0);
	ck_assert_int_eq(faas_clock_advance(rt, 1), FAAS_EINVAL);
	ck_assert_int_eq(faas_clock_set_wall(rt, 1), FAAS_EINVAL);
	wall = faas_clock_wall_ms(rt);
	ck_assert_int_gt(wall, 1700000000000); /* after Nov 2023 */
	m1 = faas_clock_monotonic_ms(rt);
	m2 = faas_clock_monotonic_ms(rt);
	ck_assert_uint_ge(m2, m1);
	ck_assert_int_eq(faas_clock_advance(NULL, 1), FAAS_EINVAL);
	ck_assert_int_eq(faas_clock_wall_ms(NULL), 0);
	ck_assert_uint_eq(faas_clock_monotonic_ms(NULL), 0);
	faas_runtime_free(rt);
}
END_TEST

START_TEST(clock_formats_lambda_last_modified)
{
	char buf[40];

	faas__format_last_modified(1569349235054, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2019-09-24T18:20:35.054+0000");
	faas__format_last_modified(0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1970-01-01T00:00:00.000+0000");
}
END_TEST

Suite *clock_suite(void)
{
	Suite *s = suite_create("clock");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, clock_virtual_moves_only_when_advanced);
	tcase_add_test(tc, clock_real_refuses_virtual_calls);
	tcase_add_test(tc, clock_formats_lambda_last_modified);
	suite_add_tcase(s, tc);
	return s;
}
