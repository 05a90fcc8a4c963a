/*
 * libfaas-http — Lambda's HTTP API in front of a runtime (an add-on
 * library: link -lfaas-http -lfaas, pkg-config libfaas-http; needs
 * libmicrohttpd and OpenSSL's libcrypto).
 *
 * The server speaks Lambda's wire protocol, so AWS SDKs and the `aws`
 * command line drive the runtime's functions with --endpoint-url:
 *
 *   POST /2015-03-31/functions/{FunctionName}/invocations?Qualifier=Q
 *        X-Amz-Invocation-Type RequestResponse (200) | Event (202) | DryRun (204)
 *        X-Amz-Log-Type Tail -> X-Amz-Log-Result (base64 of the last 4 KB)
 *        X-Amz-Client-Context (base64 JSON)
 *        -> X-Amz-Executed-Version, X-Amz-Function-Error
 *   GET  /2015-03-31/functions/                       ListFunctions
 *   GET  /2015-03-31/functions/{name}                 GetFunction
 *   GET  /2015-03-31/functions/{name}/configuration   GetFunctionConfiguration
 *   POST /2015-03-31/functions/{name}/versions        PublishVersion (201)
 *   GET  /2015-03-31/functions/{name}/versions        ListVersionsByFunction
 *   POST /2015-03-31/functions/{name}/aliases         CreateAlias (201)
 *   GET  /2015-03-31/functions/{name}/aliases         ListAliases
 *   GET|PUT|DELETE /2015-03-31/functions/{name}/aliases/{alias}
 *   PUT|DELETE /2017-10-31/functions/{name}/concurrency, GET /2019-09-30/… (reserved)
 *   PUT (202)|GET|DELETE /2019-09-30/functions/{name}/provisioned-concurrency?Qualifier=
 *   PUT|POST (update)|GET|DELETE /2019-09-25/functions/{name}/event-invoke-config
 *        (destinations: function ARNs, or the ARNs of the runtime's queues)
 *   GET  /2016-08-19/account-settings/                GetAccountSettings
 *   POST /2015-03-31/functions                        CreateFunction: refused (the
 *        functions are C code: register them in the host)
 * Errors as Lambda sends them: the status, the x-amzn-ErrorType header
 * and {"Type":"User"|"Service","message":…} (+ "Reason" and a
 * Retry-After header on 429), from the library's error table.
 *
 * Security: requests must carry a valid AWS Signature Version 4
 * (Authorization header) for the configured access key and secret, dated
 * within 5 minutes; otherwise 403 (MissingAuthenticationTokenException,
 * UnrecognizedClientException, InvalidSignatureException). no_auth turns
 * the check off, for local use, and the server logs that it did. Bodies
 * over max_body_bytes are refused (413) before they are read; connections,
 * idle time and the time a body may take to arrive are bounded.
 *
 * Threads: a thread per connection (libmicrohttpd's), at most
 * max_connections; a sync invoke waits on its connection's thread.
 */
#ifndef FAAS_HTTP_H
#define FAAS_HTTP_H

#include <stdint.h>

#include "faas/common.h"
#include "faas/error.h"
#include "faas/runtime.h"

FAAS_BEGIN_DECLS

typedef struct faas_http_server faas_http_server_t;

#define FAAS_HTTP_OPTIONS_VERSION 1

typedef struct faas_http_options {
	unsigned version;              /**< FAAS_HTTP_OPTIONS_VERSION */
	const char *listen_host;       /**< an IPv4 address; NULL = "127.0.0.1" (loopback only) */
	uint16_t port;                 /**< 0 = a free port (faas_http_server_port) */
	const char *access_key_id;     /**< NULL = $AWS_ACCESS_KEY_ID */
	const char *secret_access_key; /**< NULL = $AWS_SECRET_ACCESS_KEY */
	int no_auth;                   /**< non-zero: signatures are not checked (local use) */
	uint32_t max_body_bytes;       /**< 0 = 6291456 (Lambda's sync request limit) */
	uint32_t max_connections;      /**< 0 = 64 */
	uint32_t connection_timeout_s; /**< idle connections close after; 0 = 30 */
	uint32_t max_skew_s;           /**< allowed clock skew of a signature; 0 = 300 */
	uint32_t request_timeout_s;    /**< a request whose body is still coming after this long
	                                    is cut off (its connection closed); 0 = 60. Headers
	                                    are bounded by size (libmicrohttpd's memory limit)
	                                    and the idle timeout */
	/** Optional: one line per event worth telling (start, auth off, refusals). */
	void (*log)(const char *line, void *user_data);
	void *log_user_data;
} faas_http_options_t;

#define FAAS_HTTP_OPTIONS_INIT { FAAS_HTTP_OPTIONS_VERSION, NULL, 0, NULL, NULL, 0, 0, 0, 0, 0, 0, \
		NULL, NULL }

/**
 * Serve @p rt (which must outlive the server) as @p opts say.
 * @return 0; FAAS_EINVAL (NULL arguments, a bad address, no credentials and
 *         no no_auth), FAAS_ENOMEM, FAAS_EEXIST (the port is taken: detail says),
 *         FAAS_ETHREAD
 */
FAAS_EXTERN int faas_http_server_start(faas_runtime_t *rt, const faas_http_options_t *opts,
                                       faas_http_server_t **out, faas_error_detail_t *detail);

/** The port it listens on. */
FAAS_EXTERN uint16_t faas_http_server_port(const faas_http_server_t *srv);

/** Stop listening, let the requests in progress finish and get their answers
 *  (waiting up to 60 s for them), free it (NULL is fine). */
FAAS_EXTERN void faas_http_server_stop(faas_http_server_t *srv);

FAAS_END_DECLS

#endif /* FAAS_HTTP_H */
