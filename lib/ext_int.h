/*
 * libfaas — private types of extensions (extension.c: registration and
 * internal hooks; extext.c: external extensions' threads, queues and the
 * post-runtime phase).
 *
 * Lock order: ext_lock before an extension's qlock; post_lock alone.
 */
#ifndef FAAS_EXT_INT_H
#define FAAS_EXT_INT_H

#include "dispatch.h"

struct faas_ext_node;

struct faas_ext {
	_Atomic long refs;    /* sets holding it; the last one lets go (and stops its thread) */
	_Atomic int holders;  /* the sets' side, plus its thread when external: the last frees */
	uint32_t id;
	faas_extension_t cfg;
	char name[FAAS_NAME_MAX + 1];
	/* external only */
	faas_runtime_t *rt;
	pthread_mutex_t qlock; /* the queue and `stop` */
	pthread_cond_t qcond;
	struct faas_ext_node *head, *tail;
	bool stop;             /* deliver what is queued, accept nothing more, exit */
	bool exited;           /* its thread has left the loop */
	struct faas_ext *next_live; /* rt->ext_live, under ext_lock */
};

struct faas_ext_set {
	_Atomic long refs;
	size_t n;
	unsigned ext_invoke;   /* external extensions subscribed to INVOKE */
	unsigned ext_shutdown; /* external extensions subscribed to SHUTDOWN */
	struct faas_ext *ext[];
};

/* One external extension's copy of an event in its queue. */
struct faas_ext_node {
	struct faas_ext_node *next;
	struct faas_ext *ext;
	struct faas_ext_msg *msg;
	bool done; /* INVOKE: the extension called faas_extension_done (post_lock) */
};

/*
 * One event for the external subscribers of an environment: node i sits on
 * extension i's queue. Refcounted by each queued node and, for INVOKE, by
 * the post-runtime table while it is linked there. An INVOKE record is the
 * invocation's post-runtime state: `remaining` counts the subscribers that
 * have not called done plus one for the runtime (the handler); whoever
 * unlinks it from the table (under post_lock) finishes the invocation.
 */
struct faas_ext_msg {
	_Atomic long refs;
	faas_ext_event_t ev; /* points into the strings below */
	char request_id[FAAS_REQUEST_ID_SIZE];
	char function_name[FAAS_NAME_MAX + 1];
	char function_version[12];
	char arn[FAAS_ARN_MAX];
	/* INVOKE, under post_lock while linked */
	struct faas_ext_msg *next, *prev;
	int remaining;
	uint64_t deadline_ns;     /* UINT64_MAX until the handler has returned */
	uint64_t runtime_done_ns; /* when it returned */
	struct faas_inv *inv;     /* referenced once deferred: token, version, fn go with it */
	struct faas_instance *in;
	bool cold;
	size_t n;
	struct faas_ext_node node[];
};

/* A holder lets go; the last one runs release and frees the extension. */
FAAS_INTERNAL void faas__ext_let_go(struct faas_ext *e);
/* Under ext_lock: start an external extension's thread and list it in
 * rt->ext_live. 0, FAAS_ETHREAD or FAAS_ENOMEM. */
FAAS_INTERNAL int faas__extext_start(faas_runtime_t *rt, struct faas_ext *e);
/* Ask its thread to deliver what is queued and exit. */
FAAS_INTERNAL void faas__extext_stop(struct faas_ext *e);
/* SHUTDOWN (ev filled, deadline set) to the set's external subscribers. */
FAAS_INTERNAL void faas__extext_shutdown(const struct faas_ext_set *s, const faas_ext_event_t *ev);

#endif /* FAAS_EXT_INT_H */
