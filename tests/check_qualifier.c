/*
 * libfaas tests — identifiers, ARNs, qualifiers and alias names, as Lambda
 * accepts and rejects them.
 */
#include "tests.h"

#include "registry.h"

struct case_ {
	const char *ident;
	const char *explicit_q;
	enum faas_ident_mode mode;
	int rc;
	const char *name;   /* expected name, or message substring on failure */
	const char *qual;   /* expected qualifier or NULL */
	enum faas_qual_kind kind;
	uint32_t version;
};

#define OK(i, q, m, n, qual, k, v) { i, q, m, 0, n, qual, k, v }
#define BAD(i, q, m, rc, msg) { i, q, m, rc, msg, NULL, FAAS_QUAL_NONE, 0 }
#define INV FAAS_IDENT_INVOKE
#define CTL FAAS_IDENT_CONTROL
#define UNQ FAAS_IDENT_UNQUALIFIED
#define ARN "arn:aws:lambda:us-east-1:123456789012:function:"
#define PAT "failed to satisfy constraint: Member must satisfy regular expression pattern"

static const struct case_ cases[] = {
	OK("my-function", NULL, INV, "my-function", NULL, FAAS_QUAL_NONE, 0),
	OK("My_Func-01", NULL, CTL, "My_Func-01", NULL, FAAS_QUAL_NONE, 0),
	OK("fn:live", NULL, INV, "fn", "live", FAAS_QUAL_ALIAS, 0),
	OK("fn:$LATEST", NULL, INV, "fn", "$LATEST", FAAS_QUAL_LATEST, 0),
	OK("fn:7", NULL, INV, "fn", "7", FAAS_QUAL_VERSION, 7),
	OK("fn:4294967295", NULL, INV, "fn", "4294967295", FAAS_QUAL_VERSION, 4294967295u),
	OK("fn:4294967296", NULL, INV, "fn", "4294967296", FAAS_QUAL_VERSION, 0),
	OK("fn:007", NULL, INV, "fn", "007", FAAS_QUAL_VERSION, 0),
	OK("fn:0", NULL, INV, "fn", "0", FAAS_QUAL_VERSION, 0),
	OK("123456789012:function:fn", NULL, INV, "fn", NULL, FAAS_QUAL_NONE, 0),
	OK("123456789012:function:fn:2", NULL, INV, "fn", "2", FAAS_QUAL_VERSION, 2),
	OK(ARN "fn", NULL, INV, "fn", NULL, FAAS_QUAL_NONE, 0),
	OK(ARN "fn:live", NULL, CTL, "fn", "live", FAAS_QUAL_ALIAS, 0),
	OK("arn:aws-cn:lambda:us-east-1:123456789012:function:fn", NULL, CTL, "fn", NULL,
	   FAAS_QUAL_NONE, 0),
	OK("fn", "live", INV, "fn", "live", FAAS_QUAL_ALIAS, 0),
	OK("fn", "$LATEST", INV, "fn", "$LATEST", FAAS_QUAL_LATEST, 0),
	OK("fn:3", "3", INV, "fn", "3", FAAS_QUAL_VERSION, 3),
	OK("fn", "", INV, "fn", NULL, FAAS_QUAL_NONE, 0), /* empty Qualifier = none */
	OK("fn.with.dots", NULL, INV, "fn.with.dots", NULL, FAAS_QUAL_NONE, 0),
	OK("fn", "$weird", INV, "fn", "$weird", FAAS_QUAL_ALIAS, 0), /* allowed, never found */
	BAD("fn.with.dots", NULL, CTL, FAAS_EINVAL, PAT),
	BAD("", NULL, INV, FAAS_EINVAL, "Member must have length greater than or equal to 1"),
	BAD("bad name", NULL, INV, FAAS_EINVAL, PAT),
	BAD("fn:", NULL, INV, FAAS_EINVAL, PAT),
	BAD(":live", NULL, INV, FAAS_EINVAL, PAT),
	BAD("fn:a:b", NULL, INV, FAAS_EINVAL, PAT),
	BAD("fn:$NOTLATEST", NULL, INV, FAAS_EINVAL, PAT),
	BAD("fn:li ve", NULL, INV, FAAS_EINVAL, PAT),
	BAD("12345678901:function:fn", NULL, INV, FAAS_EINVAL, PAT),
	BAD("arn:aws:lambda:us-east-1:123456789012:func:fn", NULL, INV, FAAS_EINVAL, PAT),
	BAD("arn:aws:s3:us-east-1:123456789012:function:fn", NULL, INV, FAAS_EINVAL, PAT),
	BAD("arn:aws:lambda:useast1:123456789012:function:fn", NULL, INV, FAAS_EINVAL, PAT),
	BAD("arn:gcp:lambda:us-east-1:123456789012:function:fn", NULL, INV, FAAS_EINVAL, PAT),
	BAD(ARN "fn:1:2", NULL, INV, FAAS_EINVAL, PAT),
	BAD("fn:live", "1", INV, FAAS_EINVAL,
	    "The derived qualifier from the function name does not match the specified qualifier."),
	BAD("fn:1", "$LATEST", CTL, FAAS_EINVAL, "does not match the specified qualifier"),
	BAD("fn", "a b", INV, FAAS_EINVAL, "at 'qualifier' failed to satisfy constraint"),
	BAD("fn:live", NULL, UNQ, FAAS_EINVAL, "Member must not include a qualifier"),
	BAD("fn", "live", UNQ, FAAS_EINVAL, "Member must not include a qualifier"),
	BAD("arn:aws:lambda:eu-west-1:123456789012:function:fn", NULL, INV, FAAS_ENOTFOUND,
	    "Function not found: arn:aws:lambda:eu-west-1:123456789012:function:fn"),
	BAD("999999999999:function:fn:1", NULL, INV, FAAS_ENOTFOUND,
	    "Function not found: 999999999999:function:fn:1"),
	BAD("arn:aws:lambda:us-gov-west-1:123456789012:function:fn", NULL, INV, FAAS_ENOTFOUND,
	    "Function not found"),
};

/* Internal calls do not reset the detail as public calls do: reset here. */
static int parse(faas_runtime_t *rt, const char *s, const char *q, enum faas_ident_mode m,
                 struct faas_ident *id, faas_error_detail_t *d)
{
	faas__detail_reset(d);
	return faas__ident_parse(rt, s, q, m, id, d);
}

static int alias_check(const char *name, faas_error_detail_t *d)
{
	faas__detail_reset(d);
	return faas__alias_name_check(name, d);
}

START_TEST(qualifier_table)
{
	faas_runtime_t *rt = t_runtime();
	const struct case_ *c = &cases[_i];
	faas_error_detail_t d = FAAS_ERROR_DETAIL_INIT;
	struct faas_ident id;
	int rc = faas__ident_parse(rt, c->ident, c->explicit_q, c->mode, &id, &d);

	ck_assert_msg(rc == c->rc, "case %d '%s': got %s (%s)", _i, c->ident, faas_err_name(rc),
	              d.message);
	if (rc) {
		ck_assert_msg(strstr(d.message, c->name) != NULL, "case %d: message '%s'", _i, d.message);
	} else {
		ck_assert_uint_eq(id.name_len, strlen(c->name));
		ck_assert_int_eq(memcmp(id.name, c->name, id.name_len), 0);
		if (c->qual) {
			ck_assert_ptr_nonnull(id.qual);
			ck_assert_uint_eq(id.qual_len, strlen(c->qual));
			ck_assert_int_eq(memcmp(id.qual, c->qual, id.qual_len), 0);
		} else {
			ck_assert_ptr_null(id.qual);
		}
		ck_assert_int_eq(id.kind, c->kind);
		ck_assert_uint_eq(id.version, c->version);
	}
	faas_runtime_free(rt);
}
END_TEST

START_TEST(qualifier_lengths)
{
	faas_runtime_t *rt = t_runtime();
	faas_error_detail_t d;
	struct faas_ident id;
	char name[80], ident[200];

	memset(name, 'a', 64);
	name[64] = '\0';
	ck_assert_ok(parse(rt, name, NULL, CTL, &id, &d), d);
	name[64] = 'a';
	name[65] = '\0';
	ck_assert_fail(parse(rt, name, NULL, INV, &id, &d), d, FAAS_EINVAL,
	               "Member must have length less than or equal to 64");
	/* qualifier of 128 is fine, 129 is not */
	memset(ident, 'q', sizeof(ident));
	memcpy(ident, "fn:", 3);
	ident[3 + 128] = '\0';
	ck_assert_ok(parse(rt, ident, NULL, INV, &id, &d), d);
	ident[3 + 128] = 'q';
	ident[3 + 129] = '\0';
	ck_assert_fail(parse(rt, ident, NULL, INV, &id, &d), d, FAAS_EINVAL,
	               "Member must have length less than or equal to 128");
	/* control identifiers stop at 140, invoke at 170 */
	memset(ident, 'q', sizeof(ident));
	memcpy(ident, "fn:", 3);
	ident[141] = '\0';
	ck_assert_fail(parse(rt, ident, NULL, CTL, &id, &d), d, FAAS_EINVAL,
	               "less than or equal to 140");
	ident[141] = 'q';
	ident[171] = '\0';
	ck_assert_fail(parse(rt, ident, NULL, INV, &id, &d), d, FAAS_EINVAL,
	               "less than or equal to 170");
	ck_assert_fail(parse(rt, NULL, NULL, INV, &id, &d), d, FAAS_EINVAL, "NULL");
	/* a message is one line, whatever the input */
	ck_assert_fail(parse(rt, "fn", "li\nve", INV, &id, &d), d, FAAS_EINVAL, "Value 'li?ve'");
	ck_assert_ptr_null(strchr(d.message, '\n'));
	/* Lambda's long pattern message arrives whole */
	ck_assert_fail(parse(rt, "bad name", NULL, INV, &id, &d), d, FAAS_EINVAL,
	               "1 validation error detected: Value 'bad name' at 'functionName' failed to "
	               "satisfy constraint: Member must satisfy regular expression pattern: "
	               "(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?"
	               "(function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?");
	faas_runtime_free(rt);
}
END_TEST

START_TEST(qualifier_alias_names)
{
	static const char *good[] = { "live", "a", "v1", "1a", "Prod_Blue-2", "0x" };
	static const char *bad[] = { "123", "0", "with space", "a:b", "$LATEST", "é" };
	faas_error_detail_t d;
	char long_name[140];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_ok(alias_check(good[i], &d), d);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_fail(alias_check(bad[i], &d), d, FAAS_EINVAL,
		               "at 'name' failed to satisfy constraint: Member must satisfy regular "
		               "expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)");
	ck_assert_fail(alias_check("", &d), d, FAAS_EINVAL, "greater than or equal to 1");
	memset(long_name, 'a', 129);
	long_name[129] = '\0';
	ck_assert_fail(alias_check(long_name, &d), d, FAAS_EINVAL,
	               "less than or equal to 128");
	long_name[128] = '\0';
	ck_assert_ok(alias_check(long_name, &d), d);
	ck_assert_fail(alias_check(NULL, &d), d, FAAS_EINVAL, "NULL");
}
END_TEST

START_TEST(qualifier_arn_uses_runtime_region_and_account)
{
	faas_runtime_options_t o = FAAS_RUNTIME_OPTIONS_INIT;
	faas_runtime_t *rt = NULL;
	faas_error_detail_t d;
	struct faas_ident id;
	char arn[FAAS_ARN_MAX];

	o.region = "eu-central-1";
	o.account_id = "000000000042";
	ck_assert_ok(faas_runtime_new(&rt, &o, &d), d);
	ck_assert_ok(parse(rt, "arn:aws:lambda:eu-central-1:000000000042:function:f:v",
	                               NULL, INV, &id, &d),
	             d);
	ck_assert_fail(parse(rt, ARN "f", NULL, INV, &id, &d), d, FAAS_ENOTFOUND,
	               "Function not found");
	faas__format_arn(rt, "f", 1, "v", 1, arn, sizeof(arn));
	ck_assert_str_eq(arn, "arn:aws:lambda:eu-central-1:000000000042:function:f:v");
	faas__format_arn(rt, "f", 1, NULL, 0, arn, sizeof(arn));
	ck_assert_str_eq(arn, "arn:aws:lambda:eu-central-1:000000000042:function:f");
	ck_assert_str_eq(faas_runtime_region(rt), "eu-central-1");
	ck_assert_str_eq(faas_runtime_account_id(rt), "000000000042");
	faas_runtime_free(rt);
}
END_TEST

/* A region the runtime was given in another form than AWS's (a local
 * name): the ARNs it prints are its own and parse back; another region of
 * that form is still refused. */
START_TEST(qualifier_own_region_of_any_form_round_trips)
{
	faas_runtime_options_t o = FAAS_RUNTIME_OPTIONS_INIT;
	faas_runtime_t *rt = NULL;
	faas_error_detail_t d;
	struct faas_ident id;
	char arn[FAAS_ARN_MAX];

	o.region = "local";
	ck_assert_ok(faas_runtime_new(&rt, &o, &d), d);
	faas__format_arn(rt, "f", 1, "v", 1, arn, sizeof(arn));
	ck_assert_str_eq(arn, "arn:aws:lambda:local:123456789012:function:f:v");
	ck_assert_ok(parse(rt, arn, NULL, INV, &id, &d), d);
	ck_assert_uint_eq(id.name_len, 1);
	ck_assert_fail(parse(rt, "arn:aws:lambda:other:123456789012:function:f", NULL, INV, &id, &d),
	               d, FAAS_EINVAL, "regular expression pattern");
	faas_runtime_free(rt);
}
END_TEST

Suite *qualifier_suite(void)
{
	Suite *s = suite_create("qualifier");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, qualifier_table, 0, (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, qualifier_lengths);
	tcase_add_test(tc, qualifier_alias_names);
	tcase_add_test(tc, qualifier_arn_uses_runtime_region_and_account);
	tcase_add_test(tc, qualifier_own_region_of_any_form_round_trips);
	suite_add_tcase(s, tc);
	return s;
}
