/*
 * libfaas tests — shared helpers. Tests link the static library and may
 * include lib/ private headers to reach internal hooks.
 */
#ifndef FAAS_TESTS_H
#define FAAS_TESTS_H

#include <check.h>
#include <stdio.h>
#include <string.h>

#include "dispatch.h"

#include <sched.h>

/* Every suite. */
Suite *error_suite(void);
Suite *alloc_suite(void);
Suite *clock_suite(void);
Suite *qualifier_suite(void);
Suite *runtime_suite(void);
Suite *registry_suite(void);
Suite *alias_suite(void);
Suite *describe_suite(void);
Suite *allocfail_suite(void);
Suite *stress_suite(void);
Suite *invoke_suite(void);
Suite *throttle_suite(void);
Suite *lifecycle_suite(void);
Suite *nested_suite(void);
Suite *metrics_suite(void);
Suite *extension_suite(void);
Suite *provisioned_suite(void);
Suite *async_suite(void);
Suite *astore_suite(void);
Suite *queue_suite(void);
Suite *extext_suite(void);
Suite *telemetry_suite(void);
Suite *mapping_suite(void);
Suite *stream_suite(void);
Suite *plugin_suite(void);
Suite *testing_suite(void);
Suite *manifest_suite(void);

/* Scale factor for heavy loops: FAAS_TEST_SCALE (default 1; sanitizers set less). */
double t_scale(void);
long t_scaled(long n);

/* A runtime on a virtual clock at 2023-11-14T22:13:20Z with seed 42. */
faas_runtime_t *t_runtime(void);

/* Handlers and user data used across suites. */
int t_handler(faas_context_t *ctx, json_t *event, json_t **response, void *user_data);
int t_handler2(faas_context_t *ctx, json_t *event, json_t **response, void *user_data);
faas_function_config_t t_config(void *user_data);
/* Create a function with t_config(NULL), asserting success. */
void t_create(faas_runtime_t *rt, const char *name);
/* Publish, asserting success; returns the version number. */
uint32_t t_publish(faas_runtime_t *rt, const char *name);
/* Update $LATEST with a new description, asserting success. */
void t_touch(faas_runtime_t *rt, const char *name, const char *description);

/* Assert a call failed with code and a message containing substr. */
#define ck_assert_fail(call_rc, detail, want_code, substr)                                \
	do {                                                                              \
		int rc_ = (call_rc);                                                      \
		ck_assert_msg(rc_ == (want_code), "got %s (%s), want %s", faas_err_name(rc_), \
		              (detail).message, faas_err_name(want_code));                 \
		ck_assert_int_eq((detail).code, (want_code));                              \
		ck_assert_ptr_nonnull(strstr((detail).message, (substr)));                 \
	} while (0)

#define ck_assert_ok(call_rc, detail)                                                      \
	do {                                                                               \
		int rc_ = (call_rc);                                                       \
		ck_assert_msg(rc_ == 0, "got %s: %s", faas_err_name(rc_), (detail).message); \
		ck_assert_int_eq((detail).code, 0);                                        \
	} while (0)

/*
 * A latch for handlers: each handler that enters counts itself and blocks
 * until the test opens the latch (or its invocation is cancelled, when
 * `until_cancelled`). Tests wait for `entered` with a condition variable,
 * never by sleeping.
 */
struct latch {
	pthread_mutex_t m;
	pthread_cond_t c;
	int entered;
	int left;
	bool open;
	bool until_cancelled;
};

void latch_init(struct latch *l);
void latch_destroy(struct latch *l);
void latch_wait_entered(struct latch *l, int n);
void latch_open(struct latch *l);
/* Enter (counted in `entered`), wait until open (or, with until_cancelled
 * and a ctx, until the invocation is cancelled), leave (`left`). */
void latch_pass(struct latch *l, faas_context_t *ctx);
/* Handler: user_data is a struct latch; responds {"latched":true}. */
int t_latch_handler(faas_context_t *ctx, json_t *event, json_t **response, void *user_data);

/* Runtime options as t_runtime() uses them. */
faas_runtime_options_t t_options(void);
faas_runtime_t *t_runtime_with(const faas_runtime_options_t *o);
/* Create fn with handler and user_data, asserting success. */
void t_create_fn(faas_runtime_t *rt, const char *name, faas_handler_fn h, void *ud);

/* A sync invoke running on its own thread. */
struct bg_invoke {
	pthread_t tid;
	faas_runtime_t *rt;
	const char *ident;
	faas_result_t result;
	int rc;
};
void bg_start(struct bg_invoke *b, faas_runtime_t *rt, const char *ident);
void bg_join(struct bg_invoke *b);

/* Wait until nothing runs and housekeeping has destroyed what was dropped. */
#define t_settle(rt) ck_assert_int_eq(faas_test_quiesce((rt), 10000), 0)

/* CPU time of the whole process (all threads), in ns. */
uint64_t t_process_cpu_ns(void);

/* JSON helpers: string member or "" */
const char *t_jstr(const json_t *obj, const char *key);

#endif /* FAAS_TESTS_H */
