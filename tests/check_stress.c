/*
 * libfaas tests — concurrent resolution against publishes, alias moves with
 * weights and function deletion (DESIGN §9.6). Readers check canaries
 * through the references they hold: the user_data magic and id, the handler
 * identity, and the alias pair against its weight. Worker threads never
 * call ck_assert: they count failures and the main thread asserts.
 */
#include "tests.h"

#include <stdlib.h>

#define MAGIC_LIVE 0x11feu
#define MAGIC_DEAD 0xdeadu

struct canary {
	_Atomic unsigned magic;
	uint32_t id; /* the version number this code was published as */
};

struct shared {
	faas_runtime_t *rt;
	_Atomic bool stop;
	_Atomic long failures;
	_Atomic long resolutions;
	_Atomic long published;
	char first_failure[200];
	pthread_mutex_t lock;
};

static void note_failure(struct shared *sh, const char *what, long a, long b)
{
	if (atomic_fetch_add(&sh->failures, 1) == 0) {
		pthread_mutex_lock(&sh->lock);
		snprintf(sh->first_failure, sizeof(sh->first_failure), "%s (%ld, %ld)", what, a, b);
		pthread_mutex_unlock(&sh->lock);
	}
}

static void canary_free(void *p)
{
	struct canary *c = p;

	atomic_store(&c->magic, MAGIC_DEAD);
	free(c);
}

static struct canary *canary_new(uint32_t id)
{
	struct canary *c = malloc(sizeof(*c));

	atomic_init(&c->magic, MAGIC_LIVE);
	c->id = id;
	return c;
}

/* The weight the writer gives an alias whose secondary is v. */
static double weight_for(uint32_t v)
{
	return (double)(v % 10) / 10.0;
}

static void check_version(struct shared *sh, const struct faas_version *v, bool published)
{
	const struct canary *c = v->code->udata->ptr;

	if (v->code->handler != t_handler)
		note_failure(sh, "handler identity", 0, 0);
	if (atomic_load(&c->magic) != MAGIC_LIVE)
		note_failure(sh, "user_data freed while referenced", (long)v->number, 0);
	if (published && c->id != v->number)
		note_failure(sh, "code of another version", (long)c->id, (long)v->number);
	if (strcmp(v->fn->name, "hot") != 0)
		note_failure(sh, "function identity", 0, 0);
}

static void check_alias_json(struct shared *sh)
{
	json_t *j = NULL, *w;
	const char *key;
	json_t *val;
	long primary;

	if (faas_alias_describe(sh->rt, "hot", "live", &j, NULL) != 0) {
		note_failure(sh, "alias describe", 0, 0);
		return;
	}
	primary = atol(t_jstr(j, "FunctionVersion"));
	w = json_object_get(json_object_get(j, "RoutingConfig"), "AdditionalVersionWeights");
	json_object_foreach(w, key, val) {
		long extra = atol(key);
		if (extra != primary + 1)
			note_failure(sh, "alias pair torn", primary, extra);
		if (json_real_value(val) != weight_for((uint32_t)extra))
			note_failure(sh, "alias weight torn", extra, (long)(json_real_value(val) * 10));
	}
	json_decref(j);
}

static void *reader(void *arg)
{
	struct shared *sh = arg;
	struct faas_ident live, latest, churn;
	struct faas_resolved r;
	char key[24];
	long i = 0;

	faas__ident_parse(sh->rt, "hot:live", NULL, FAAS_IDENT_INVOKE, &live, NULL);
	faas__ident_parse(sh->rt, "hot", NULL, FAAS_IDENT_INVOKE, &latest, NULL);
	faas__ident_parse(sh->rt, "churn:a", NULL, FAAS_IDENT_INVOKE, &churn, NULL);
	while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
		snprintf(key, sizeof(key), "k%ld", i % 64);
		if (faas__registry_resolve(sh->rt, &live, (i & 1) ? key : NULL, true, &r, NULL) != 0) {
			note_failure(sh, "alias vanished", i, 0);
		} else {
			check_version(sh, r.version, true);
			faas__resolved_release(&r);
		}
		if (faas__registry_resolve(sh->rt, &latest, NULL, true, &r, NULL) == 0) {
			check_version(sh, r.version, false);
			faas__resolved_release(&r);
		}
		if (faas__registry_resolve(sh->rt, &churn, NULL, true, &r, NULL) == 0) {
			if (r.version->code->handler != t_handler2)
				note_failure(sh, "churn handler", 0, 0);
			faas__resolved_release(&r);
		}
		if (i % 16 == 0) {
			check_alias_json(sh);
			sched_yield(); /* let the writers in, even on one CPU or under valgrind */
		}
		i++;
		atomic_fetch_add_explicit(&sh->resolutions, 1, memory_order_relaxed);
	}
	return NULL;
}

/* Publishes versions with canaries, moves the alias, prunes old versions. */
static void *publisher(void *arg)
{
	struct shared *sh = arg;
	faas_function_config_t c = t_config(NULL);
	faas_alias_config_t ac = FAAS_ALIAS_CONFIG_INIT;
	long rounds = t_scaled(1500), i;
	uint32_t next = 3, v;

	c.user_data_free = canary_free;
	for (i = 0; i < rounds; i++, next++) {
		c.user_data = canary_new(next);
		if (faas_function_update(sh->rt, "hot", &c, NULL) != 0) {
			canary_free(c.user_data);
			note_failure(sh, "update", i, 0);
			break;
		}
		if (faas_function_publish(sh->rt, "hot", NULL, &v, NULL) != 0 || v != next) {
			note_failure(sh, "publish number", (long)v, (long)next);
			break;
		}
		ac.function_version = v - 1;
		ac.additional_version = v;
		ac.additional_weight = weight_for(v);
		if (faas_alias_update(sh->rt, "hot", "live", &ac, NULL) != 0)
			note_failure(sh, "alias update", i, 0);
		if (v >= 4) {
			char q[12];
			snprintf(q, sizeof(q), "%u", v - 3);
			if (faas_function_delete(sh->rt, "hot", q, NULL) != 0)
				note_failure(sh, "prune", (long)v - 3, 0);
		}
		atomic_fetch_add(&sh->published, 1);
	}
	return NULL;
}

/* Deletes and re-creates another function with an alias, over and over. */
static void *churner(void *arg)
{
	struct shared *sh = arg;
	faas_function_config_t c = t_config(NULL);
	faas_alias_config_t ac = FAAS_ALIAS_CONFIG_INIT;
	long rounds = t_scaled(1500), i;

	c.handler = t_handler2;
	for (i = 0; i < rounds; i++) {
		if (faas_function_create(sh->rt, "churn", &c, NULL) != 0 ||
		    faas_function_publish(sh->rt, "churn", NULL, NULL, NULL) != 0 ||
		    faas_alias_create(sh->rt, "churn", "a", &ac, NULL) != 0 ||
		    faas_function_delete(sh->rt, "churn", NULL, NULL) != 0)
			note_failure(sh, "churn cycle", i, 0);
	}
	return NULL;
}

START_TEST(stress_resolve_while_mutating)
{
	struct shared sh;
	faas_function_config_t c = t_config(NULL);
	faas_alias_config_t ac = FAAS_ALIAS_CONFIG_INIT;
	pthread_t readers[3], pub, churn;
	size_t i;

	memset(&sh, 0, sizeof(sh));
	pthread_mutex_init(&sh.lock, NULL);
	sh.rt = t_runtime();
	c.user_data_free = canary_free;
	c.user_data = canary_new(1);
	ck_assert_int_eq(faas_function_create(sh.rt, "hot", &c, NULL), 0);
	ck_assert_uint_eq(t_publish(sh.rt, "hot"), 1);
	c.user_data = canary_new(2);
	ck_assert_int_eq(faas_function_update(sh.rt, "hot", &c, NULL), 0);
	ck_assert_uint_eq(t_publish(sh.rt, "hot"), 2);
	ac.function_version = 1;
	ac.additional_version = 2;
	ac.additional_weight = weight_for(2);
	ck_assert_int_eq(faas_alias_create(sh.rt, "hot", "live", &ac, NULL), 0);

	for (i = 0; i < 3; i++)
		ck_assert_int_eq(pthread_create(&readers[i], NULL, reader, &sh), 0);
	ck_assert_int_eq(pthread_create(&pub, NULL, publisher, &sh), 0);
	ck_assert_int_eq(pthread_create(&churn, NULL, churner, &sh), 0);
	pthread_join(pub, NULL);
	pthread_join(churn, NULL);
	atomic_store(&sh.stop, true);
	for (i = 0; i < 3; i++)
		pthread_join(readers[i], NULL);

	ck_assert_msg(atomic_load(&sh.failures) == 0, "%ld failures, first: %s",
	              atomic_load(&sh.failures), sh.first_failure);
	ck_assert_int_eq(atomic_load(&sh.published), t_scaled(1500));
	ck_assert_int_gt(atomic_load(&sh.resolutions), 0);
	/* end state: exactly the last three versions remain */
	{
		json_t *j = NULL;
		ck_assert_int_eq(faas_function_describe(sh.rt, "hot", &j, NULL), 0);
		ck_assert_uint_eq(json_array_size(json_object_get(j, "Versions")), 1 + 3);
		json_decref(j);
	}
	faas_runtime_free(sh.rt);
	pthread_mutex_destroy(&sh.lock);
}
END_TEST

Suite *stress_suite(void)
{
	Suite *s = suite_create("stress");
	TCase *tc = tcase_create("concurrent");

	tcase_add_test(tc, stress_resolve_while_mutating);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	return s;
}
