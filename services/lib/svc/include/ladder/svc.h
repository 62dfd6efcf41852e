/* svc.h -- the service skeleton every ladder program stands on.
 *
 * DESIGN: ladder-worker, ladder-notify and ladder-api start, configure,
 * report health and stop the same way, so that is written once, here:
 *
 *   - the command line: --config FILE, --help and --version
 *     (ldr_svc_new(); the tools call ldr_svc_version() themselves);
 *   - what the program is: ldr_svc_version() prints the version, the
 *     commit and the library versions, and every /metrics page carries
 *     ladder_build_info{version,commit,program} 1 and the process_*
 *     figures of Prometheus's clients (read from /proc at each scrape);
 *   - the configuration: the file, then the LADDER_* variables, then
 *     log.level, log.format and log.timestamps, with one line on stderr and
 * exit status 2 for any error (ldr_svc_config_load(), also for the command-line
 * tools);
 *   - one signal model: SIGTERM and SIGINT ask for a graceful stop, which
 *     the loop sees through ldr_svc_stopping() and a waiting main thread
 *     through ldr_svc_wait(); SIGPIPE is ignored, so a write to a peer that
 *     went away (Redis, a webhook) is an error to recover from;
 *   - health: /livez answers 200 {"live":true} while the loop comes round
 *     (ldr_svc_heartbeat()) and 503 {"live":false,"reason":...} when it is
 *     stuck or stopping; /readyz answers what the service last said with
 *     ldr_svc_set_ready(); /metrics renders the service's registry;
 *   - the HTTP server on http.listen, started before anything connects, so
 *     a second instance given the same address stops at once (exit 2).
 *
 * The health state is written by the service's loop and read by the HTTP
 * threads: the heartbeat is atomic, the readiness under a lock.
 *
 * @locality: ldr_svc_new(), ldr_svc_serve() and ldr_svc_destroy() on the
 * main thread; the rest on any thread. */
#ifndef LADDER_SVC_H
#define LADDER_SVC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ladder/config.h"
#include "ladder/registry.h"
#include "ladder/err.h"
#include "ladder/http.h"
#include "ladder/metrics.h"

typedef struct ldr_svc ldr_svc_t;

/** What a service tells the skeleton about itself. */
typedef struct ldr_svc_spec {
    const char *program; /* "ladder-worker": messages, defaults, client.id */
    const char *summary; /* --help text after the "Usage:" line */
    /* /livez fails when the loop has not come round for this long; 0: the
     * service has no loop to watch (ladder-api) */
    int64_t live_stall_ms;
} ldr_svc_spec_t;

/** Parses the command line and loads the configuration (see the DESIGN
 *  note), installs the signal model and creates the metrics registry and
 *  the HTTP server (not started). Returns NULL when the program is to exit
 *  now, with *@p exit_code 0 (after --help or --version) or 2 (a usage or
 * configuration error, said in one line on stderr). The caller destroys the
 * result with ldr_svc_destroy(). */
ldr_svc_t *ldr_svc_new(const ldr_svc_spec_t *spec, int argc, char **argv,
                       int *exit_code);

/** Destroys @p svc: stops the HTTP server (joining its threads), then frees
 *  the registry and the configuration. NULL is fine. */
void ldr_svc_destroy(ldr_svc_t *svc);

/** Writes @p program's version lines (version.h: the version, the commit,
 *  and the librdkafka, hiredis and Avro-C versions) to @p out. */
void ldr_svc_version_print(const char *program, FILE *out);

/** When the command line asks for --version (ldr_version_requested()),
 *  prints the version lines on stdout and returns 1: the caller exits 0.
 *  Returns 0 otherwise. The tools call it first thing in main(). */
int ldr_svc_version(const char *program, int argc, char **argv);

/** A new configuration of @p program: the file @p path (NULL: none), then
 *  the LADDER_* variables of the environment, then log.level, log.format
 *  and log.timestamps applied. NULL with one line in @p errstr on error. For
 *  the command-line tools, whose options differ from a service's; the
 *  caller destroys the result. */
ldr_config_t *ldr_svc_config_load(const char *program, const char *path,
                                  char *errstr, size_t errstr_size);

/** Loads the schemas of schemas.dir and, when schema.registry.url is set,
 *  puts them on the registry's ids (ldr_registry_attach(): a @p producer
 *  registers the current schemas and writes the registry's ids; every
 *  program resolves unknown ids through it). *@p registry is the client
 *  (NULL without one), to be destroyed after the schemas. NULL with one
 *  line in @p errstr on error (a registry down or refusing at start is
 *  one). */
ldr_schemas_t *ldr_svc_schemas_load(const ldr_config_t *cfg, bool producer,
                                    ldr_registry_t **registry, char *errstr,
                                    size_t errstr_size);

ldr_config_t *ldr_svc_config(const ldr_svc_t *svc);
ldr_metrics_t *ldr_svc_metrics(const ldr_svc_t *svc);
ldr_http_t *ldr_svc_http(const ldr_svc_t *svc);

/** Registers /livez, /readyz and /metrics on the service's HTTP server
 *  (ladder-api routes them itself, through its authorization). */
void ldr_svc_health_routes(ldr_svc_t *svc);

/** Starts the HTTP server on http.listen and logs "serving @p what on
 *  ADDRESS (port N)" (no line when @p what is NULL: the caller says it).
 *  LDR_ERR_CONFIG with one line in @p errstr when it cannot bind. */
ldr_err_t ldr_svc_serve(ldr_svc_t *svc, const char *what, char *errstr,
                        size_t errstr_size);

/** The loop came round: /livez stays 200. */
void ldr_svc_heartbeat(ldr_svc_t *svc);

/** What /readyz says from now on, and the gauge ladder_ready (1 or 0)
 *  that every program's /metrics carries; @p why (when not ready) is
 *  copied. */
void ldr_svc_set_ready(ldr_svc_t *svc, bool ready, const char *why);

/** The answers of the three routes, for a service that routes them itself. */
void ldr_svc_livez(ldr_svc_t *svc, ldr_http_response_t *res);
void ldr_svc_metrics_page(ldr_svc_t *svc, ldr_http_response_t *res);

/** Installs the signal model alone (ldr_svc_new() does it for a
 *  service), for a program with options of its own that then waits with
 *  ldr_svc_wait(NULL). */
void ldr_svc_signals(void);

/** True once SIGTERM or SIGINT has arrived (or ldr_svc_stop() was called).
 *  Async-signal-safe to read; polled by the services' loops. */
bool ldr_svc_stopping(void);

/** Asks for a stop, as a signal does. */
void ldr_svc_stop(void);

/** Blocks until a stop is asked for, and returns the signal that asked
 *  (SIGTERM or SIGINT; 0 for ldr_svc_stop()). /livez answers "stopping"
 *  from then on. @p svc may be NULL (after ldr_svc_signals()). */
int ldr_svc_wait(ldr_svc_t *svc);

/** Marks the service as stopping (/livez 503 "stopping"), for a service
 *  whose loop noticed ldr_svc_stopping() itself. */
void ldr_svc_stopped(ldr_svc_t *svc);

/** Exit status 2 after a start-up failure: prints "PROGRAM: @p why" on
 *  stderr, or with log.format = json one ERROR line whose event is
 *  @p why. */
int ldr_svc_fail(const ldr_svc_t *svc, const char *why);

#endif
