/* ladder-notify -- deliver revocation notices to webhooks, at least once.
 *
 * DESIGN: the main thread consumes the decisions topic in a consumer group
 * (group.id, default ladder-notify), decodes each DesignationDecision with
 * ladder's codec and, when any subscriber selects its type, turns it into
 * one CloudEvents structured JSON body (ldr_cloudevents_from_decision). The
 * body is shared, read-only, by every subscriber that selected it.
 *
 * Each subscriber has a thread of its own and a FIFO queue. The thread
 * takes the oldest notice, POSTs it with libcurl (one easy handle per
 * thread, so connections are kept alive), and on a connection error, a
 * timeout or a non-2xx answer waits with exponential backoff
 * (notify.backoff.initial.ms doubling up to notify.backoff.max.ms; each
 * wait is drawn uniformly from the upper half of the step, so retries of
 * many notifiers do not march in step) and tries again. After
 * notify.max.attempts failures it appends the notice to
 * notify.deadletter.file and goes on. Only then does it take the next
 * notice: a subscriber never receives a notice before the previous one was
 * acknowledged or dead-lettered, which keeps each enterprise's notices in
 * order (an enterprise's decisions share one partition). A thread per
 * subscriber was chosen over one curl multi loop because a subscriber is
 * by nature sequential (one request in flight, then a wait), blocking code
 * says that directly, and a slow or dead subscriber then holds up only its
 * own thread; subscribers are few (a handful of agencies), so threads cost
 * nothing worth saving.
 *
 * Offsets are committed explicitly (enable.auto.commit=false), per
 * partition, and only up to the first message that some subscriber has not
 * yet acknowledged or dead-lettered: every consumed message, selected or
 * not, has an entry in its partition's ordered list, with a count of the
 * deliveries still outstanding, and the main thread pops finished entries
 * from the front and commits the offset after the last one popped. A crash
 * or a rebalance therefore re-sends at most the uncommitted tail, each
 * notice with the same CloudEvent id (= decision_id), and never skips one.
 * Entries are reference-counted because a revoked partition's list is
 * dropped while its notices may still sit in subscriber queues: they are
 * marked abandoned (the new owner re-sends them from the committed offset)
 * and freed by whoever lets go last. When more than NT_INFLIGHT_MAX entries
 * are outstanding (a subscriber is down and retrying), consumption pauses
 * until half of them are done, so memory stays bounded while the consumer
 * keeps serving the group. Likewise, once a commit is refused because the
 * group is rebalancing, reading pauses until the new assignment: nothing
 * read in between could be committed before the partitions move.
 *
 * On SIGTERM or SIGINT the subscriber threads abandon the request in hand
 * (the transfer is aborted from curl's progress callback) and their backoff
 * waits; the main thread commits what was acknowledged, nothing more, and
 * leaves the group. What was abandoned is sent again after a restart.
 *
 * Observability as in ladder-worker: /livez, /readyz and /metrics on
 * http.listen, served by the service skeleton (ladder/svc.h) on its own
 * thread.
 *
 * The code: this file starts, configures (the subscribers included) and
 * stops; consume.c is the Kafka side, subscribers.c the queues and
 * threads, deliver.c the HTTP delivery and the dead-letter file. */
#include "notify_int.h"

#include "ladder/alloc.h"
#include "ladder/clock.h"
#include "ladder/log.h"
#include "ladder/redact.h"
#include "ladder/webhook.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The --help text after the "Usage:" line. */
static const char nt_summary[] =
    "Consume ladder's decisions topic and POST the selected decisions "
    "(by default\nREVOKED, CANCELLED and EXPIRED) to each subscriber's "
    "webhook as CloudEvents\nJSON, signed with HMAC-SHA256, at least "
    "once (docs/NOTIFY.md).\n\n"
    "  --config FILE   key = value configuration (docs/CONFIG.md); "
    "LADDER_*\n                  variables override it\n"
    "  --help          show this help\n\n"
    "Keys used: kafka.*, group.id, decisions.topic, schemas.dir,\n"
    "notify.subscriber.NAME.url, notify.subscriber.NAME.secret,\n"
    "notify.subscriber.NAME.decisions, notify.max.attempts,\n"
    "notify.signature.v1, notify.backoff.initial.ms, "
    "notify.backoff.max.ms,\nnotify.timeout.ms, notify.deadletter.file, "
    "http.listen, "
    "log.level, log.timestamps.\n\n"
    "Serves /livez, /readyz and /metrics (Prometheus) on http.listen.\n\n"
    "Stops on SIGTERM or SIGINT: requests in flight are abandoned, "
    "offsets are\ncommitted only up to what every subscriber "
    "acknowledged. Exit status: 0\nafter a clean stop, 2 for a "
    "configuration error or a dependency that is\nnot there at "
    "start-up.\n";

static void nt_metrics_register(nt_t *nt) {
    static const double latency_bounds[] = {
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};
    ldr_metrics_t *m = nt->metrics = ldr_svc_metrics(nt->svc);
    nt->m.decisions = ldr_metrics_counter(
        m, "ladder_notify_decisions_total",
        "Decisions read from the decisions topic, by type.", "type");
    nt->m.undecodable = ldr_metrics_counter(
        m, "ladder_notify_undecodable_total",
        "Messages of the decisions topic that are not a decodable "
        "DesignationDecision (logged and skipped).",
        NULL);
    nt->m.transient = ldr_metrics_counter(
        m, "ladder_notify_schema_waits_total",
        "Times a decision's schema could not be resolved (the schema "
        "registry unreachable) and reading waited to try it again.",
        NULL);
    nt->m.lost = ldr_metrics_counter(
        m, "ladder_notify_lost_messages_total",
        "Decisions the log no longer held when ladder-notify reached them "
        "(evicted before they were read).",
        NULL);
    nt->m.delivered = ldr_metrics_counter(
        m, "ladder_notify_delivered_total",
        "Notices a subscriber acknowledged with a 2xx status.", "subscriber");
    nt->m.failed = ldr_metrics_counter(
        m, "ladder_notify_failed_attempts_total",
        "Delivery attempts that failed, by reason (connection, timeout, "
        "status).",
        "subscriber,reason");
    nt->m.dead_letters =
        ldr_metrics_counter(m, "ladder_notify_dead_letters_total",
                            "Notices written to notify.deadletter.file after "
                            "notify.max.attempts failed attempts.",
                            "subscriber");
    nt->m.latency = ldr_metrics_histogram(
        m, "ladder_notify_delivery_latency_seconds",
        "From the decision message's Kafka timestamp to the subscriber's "
        "acknowledgement.",
        "subscriber", latency_bounds, LDR_ARRAY_SIZE(latency_bounds));
    nt->m.queue = ldr_metrics_gauge(
        m, "ladder_notify_queue_depth",
        "Notices waiting for a subscriber, the one in delivery included.",
        "subscriber");
    nt->m.lag = ldr_metrics_gauge(
        m, "ladder_notify_consumer_lag",
        "Decisions of an owned partition not yet acknowledged by every "
        "subscriber: high watermark minus the first outstanding offset.",
        "partition");
    nt->m.committed = ldr_metrics_gauge(
        m, "ladder_notify_committed_offset",
        "The offset last committed for an owned partition.", "partition");
    nt->m.commit_failures = ldr_metrics_counter(
        m, "ladder_notify_commit_failures_total",
        "Offset commits the group refused (usually during a rebalance); "
        "what they would have committed may be sent again.",
        NULL);
    nt->m.assigned =
        ldr_metrics_gauge(m, "ladder_notify_partitions_assigned",
                          "Partitions of the decisions topic this process "
                          "owns.",
                          NULL);
}

/* ---- the subscribers configuration ------------------------------------- */

typedef struct nt_names {
    char names[NT_MAX_SUBSCRIBERS][128];
    int count;
    bool too_many, too_long;
} nt_names_t;

/* Collects the subscriber names of the keys matching a pattern. */
static void nt_collect(void *opaque, const char *key, const char *value) {
    (void)value;
    nt_names_t *names = opaque;
    const char *start = key + strlen("notify.subscriber.");
    const char *end = strrchr(key, '.');
    size_t len = end > start ? (size_t)(end - start) : 0;
    if (len >= sizeof(names->names[0])) {
        names->too_long = true;
        return;
    }
    for (int i = 0; i < names->count; i++)
        if (strlen(names->names[i]) == len &&
            memcmp(names->names[i], start, len) == 0)
            return;
    if (names->count == NT_MAX_SUBSCRIBERS) {
        names->too_many = true;
        return;
    }
    memcpy(names->names[names->count], start, len);
    names->names[names->count][len] = '\0';
    names->count++;
}

/* Parses "REVOKED, CANCELLED" into a bit set of decision types. */
static ldr_err_t nt_parse_types(const char *key, const char *value,
                                uint32_t *out, char *err, size_t n) {
    uint32_t types = 0;
    const char *p = value;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (!*p) break;
        const char *end = p;
        while (*end && *end != ',')
            end++;
        const char *last = end;
        while (last > p && (last[-1] == ' ' || last[-1] == '\t'))
            last--;
        int t = ldr_decision_type_parse(p, (size_t)(last - p));
        if (t < 0)
            return ldr_err_set(
                err, n, LDR_ERR_CONFIG,
                "%s: unknown decision type \"%.*s\" (expected a "
                "comma-separated list of DecisionType symbols, such as "
                "REVOKED,CANCELLED,EXPIRED)",
                key, (int)(last - p), p);
        types |= 1u << (unsigned)t;
        p = end;
    }
    if (!types)
        return ldr_err_set(err, n, LDR_ERR_CONFIG, "%s: no decision type given",
                           key);
    *out = types;
    return LDR_OK;
}

/* Checks a webhook URL; @p cleartext is set when it is plain http to a host
 * other than this machine (worth a warning, not an error: a receiver behind
 * a TLS-terminating proxy on the same network may be meant). */
static ldr_err_t nt_check_url(const char *key, const char *url, bool *cleartext,
                              char *err, size_t n) {
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL;
    ldr_err_t rc = LDR_OK;
    char shown[512];
    const char *raw = url;
    /* What errors quote: a webhook's path is often its secret. */
    url = ldr_redact_url_path(raw, shown, sizeof(shown));
    if (curl_url_set(u, CURLUPART_URL, raw, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
        rc = ldr_err_set(err, n, LDR_ERR_CONFIG,
                         "%s: \"%s\" is not a URL (expected http://host/... "
                         "or https://host/...)",
                         key, url);
    else if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)
        rc = ldr_err_set(err, n, LDR_ERR_CONFIG,
                         "%s: \"%s\": only http and https URLs are allowed",
                         key, url);
    else
        *cleartext =
            strcmp(scheme, "http") == 0 && !ldr_webhook_host_is_loopback(host);
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return rc;
}

/* Reads and checks subscriber @p name into @p s. */
static ldr_err_t nt_subscriber(nt_t *nt, const char *name, nt_sub_t *s,
                               char *err, size_t n) {
    char key[192];
    snprintf(key, sizeof(key), "notify.subscriber.%s.url", name);
    const char *url = ldr_config_get(nt->cfg, key);
    if (!url || !*url)
        return ldr_err_set(err, n, LDR_ERR_CONFIG,
                           "%s is not set: subscriber %s has no webhook "
                           "URL",
                           key, name);
    bool cleartext = false;
    if (nt_check_url(key, url, &cleartext, err, n)) return LDR_ERR_CONFIG;
    snprintf(key, sizeof(key), "notify.subscriber.%s.secret", name);
    const char *secret = ldr_config_get(nt->cfg, key);
    if (!secret || !*secret)
        return ldr_err_set(err, n, LDR_ERR_CONFIG,
                           "%s is not set: every subscriber needs a "
                           "secret to sign its notices with",
                           key);
    /* The length only: the secret itself never reaches a message. */
    if (strlen(secret) < LDR_WEBHOOK_SECRET_MIN)
        return ldr_err_set(err, n, LDR_ERR_CONFIG,
                           "%s is %zu bytes long; it must have at least %d "
                           "(e.g. openssl rand -hex 32)",
                           key, strlen(secret), LDR_WEBHOOK_SECRET_MIN);
    snprintf(key, sizeof(key), "notify.subscriber.%s.decisions", name);
    const char *types = ldr_config_get(nt->cfg, key);
    if (nt_parse_types(key, types ? types : "REVOKED,CANCELLED,EXPIRED",
                       &s->types, err, n))
        return LDR_ERR_CONFIG;
    if (cleartext) {
        char shown[512];
        LDR_LOG_WARN("subscriber %s: %s is plain http to a host that is not "
                     "this machine: notices travel unencrypted and can be "
                     "read or replayed on the way; use https",
                     name, ldr_redact_url_path(url, shown, sizeof(shown)));
    }
    s->n = nt;
    s->name = ldr_strdup(name);
    s->url = ldr_strdup(url);
    s->secret = ldr_strdup(secret);
    return LDR_OK;
}

/* Reads and checks every subscriber. */
static ldr_err_t nt_subscribers(nt_t *nt, char *err, size_t n) {
    nt_names_t names = {0};
    static const char *const patterns[] = {"notify.subscriber.*.url",
                                           "notify.subscriber.*.secret",
                                           "notify.subscriber.*.decisions"};
    for (size_t i = 0; i < LDR_ARRAY_SIZE(patterns); i++)
        ldr_config_each(nt->cfg, patterns[i], nt_collect, &names);
    if (names.too_long)
        return ldr_err_set(err, n, LDR_ERR_CONFIG,
                           "notify.subscriber.*: a subscriber name is longer "
                           "than 127 bytes");
    if (names.too_many)
        return ldr_err_set(err, n, LDR_ERR_CONFIG,
                           "notify.subscriber.*: more than %d subscribers",
                           NT_MAX_SUBSCRIBERS);
    if (!names.count)
        return ldr_err_set(
            err, n, LDR_ERR_CONFIG,
            "no subscriber configured: set notify.subscriber.NAME.url and "
            "notify.subscriber.NAME.secret for at least one NAME");
    for (int i = 0; i < names.count; i++) {
        if (nt_subscriber(nt, names.names[i], &nt->sub[i], err, n))
            return LDR_ERR_CONFIG;
        nt->nsubs++;
    }
    return LDR_OK;
}

/* ---- start-up and stop -------------------------------------------------- */

static void nt_free(nt_t *nt) {
    for (int pn = 0; pn < NT_MAX_PARTITIONS; pn++) {
        nt_part_drop(nt, pn);
        free(nt->part[pn].v);
    }
    nt_subs_free(nt);
    ldr_codec_destroy(nt->codec);
    ldr_schemas_destroy(nt->schemas);
    ldr_registry_destroy(nt->registry);
    pthread_mutex_destroy(&nt->deadletter_lock);
    /* Last: the partitions' gauges above live in its registry. */
    ldr_svc_destroy(nt->svc);
}

/* Reads and checks the configuration: LDR_OK, or one line in @p err. */
static ldr_err_t nt_configure(nt_t *nt, char *err, size_t n) {
    ldr_config_t *cfg = nt->cfg;
    nt->max_attempts = ldr_config_get_int(cfg, "notify.max.attempts");
    nt->backoff_initial_ms =
        ldr_config_get_int(cfg, "notify.backoff.initial.ms");
    nt->backoff_max_ms = ldr_config_get_int(cfg, "notify.backoff.max.ms");
    nt->timeout_ms = ldr_config_get_int(cfg, "notify.timeout.ms");
    nt->signature_v1 = ldr_config_get_bool(cfg, "notify.signature.v1") != 0;
    nt->deadletter_path = ldr_config_get(cfg, "notify.deadletter.file");
    nt->topic = ldr_config_get(cfg, "decisions.topic");
    if (nt_subscribers(nt, err, n)) return LDR_ERR_CONFIG;
    if (nt->backoff_initial_ms > nt->backoff_max_ms)
        return ldr_err_set(err, n, LDR_ERR_CONFIG,
                           "notify.backoff.initial.ms (%lld) is larger than "
                           "notify.backoff.max.ms (%lld)",
                           nt->backoff_initial_ms, nt->backoff_max_ms);
    if (!ldr_config_get(cfg, "kafka.bootstrap.servers"))
        return ldr_err_set(err, n, LDR_ERR_CONFIG,
                           "kafka.bootstrap.servers is not set: start the "
                           "embedded cluster with build/bin/ladder-kafka and "
                           "set LADDER_KAFKA_BOOTSTRAP_SERVERS to the list it "
                           "prints");
    /* The dead-letter file must be writable before anything is consumed
     * (it is created with the first dead letter). */
    if (!nt_deadletter_writable(nt->deadletter_path, err, n))
        return LDR_ERR_CONFIG;
    return LDR_OK;
}

/* Serves health and metrics, then loads the codec and creates the
 * consumer: LDR_OK, or one line in @p err. */
static ldr_err_t nt_start(nt_t *nt, char *err, size_t n) {
    /* Metrics and health first: a second notifier given the same address
     * stops here, before it joins the group. */
    nt_metrics_register(nt);
    for (int i = 0; i < nt->nsubs; i++) {
        const char *const label[] = {nt->sub[i].name};
        ldr_metrics_add(nt->m.delivered, label, 0);
        ldr_metrics_add(nt->m.dead_letters, label, 0);
        ldr_metrics_set(nt->m.queue, label, 0);
    }
    ldr_svc_health_routes(nt->svc);
    if (ldr_svc_serve(nt->svc, "/livez, /readyz and /metrics", err, n))
        return LDR_ERR_CONFIG;
    nt->schemas = ldr_svc_schemas_load(nt->cfg, false, &nt->registry, err, n);
    if (nt->schemas) nt->codec = ldr_codec_new(nt->schemas, err, n);
    if (!nt->codec || !(nt->consumer = nt_consumer(nt, err, n)))
        return LDR_ERR_CONFIG;
    return LDR_OK;
}

/* Stop: abandon what is in flight, commit only what was finished. */
static void nt_stop(nt_t *nt) {
    LDR_LOG_INFO("stopping: committing what every subscriber acknowledged");
    ldr_svc_stopped(nt->svc);
    nt_subs_stop(nt);
    nt_advance(nt);
    nt_commit(nt, NULL, true);
    size_t left = nt->inflight;
    rd_kafka_consumer_close(nt->consumer);
    rd_kafka_destroy(nt->consumer);
    nt->consumer = NULL;
    LDR_LOG_INFO("stopped: %llu decisions read, %llu selected for a "
                 "subscriber, %llu undecodable, %zu left for the next run",
                 (unsigned long long)nt->read, (unsigned long long)nt->selected,
                 (unsigned long long)nt->undecodable, left);
}

int main(int argc, char **argv) {
    static const ldr_svc_spec_t spec = {.program = "ladder-notify",
                                        .summary = nt_summary,
                                        .live_stall_ms = NT_LIVE_STALL_MS};
    static nt_t nt; /* large: partition table */
    int rc = 2;
    nt.svc = ldr_svc_new(&spec, argc, argv, &rc);
    if (!nt.svc) return rc;
    nt.cfg = ldr_svc_config(nt.svc);
    pthread_mutex_init(&nt.deadletter_lock, NULL);
    nt_subs_init(&nt);
    for (int pn = 0; pn < NT_MAX_PARTITIONS; pn++)
        snprintf(nt.part[pn].label, sizeof(nt.part[pn].label), "%d", pn);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    char err[1024];
    if (nt_configure(&nt, err, sizeof(err)) ||
        nt_start(&nt, err, sizeof(err))) {
        rc = ldr_svc_fail(nt.svc, err);
        goto out;
    }
    nt_subs_start(&nt);
    rc = 0;
    if (nt_subscribe(&nt)) {
        ldr_svc_stop();
        rc = 2;
    }
    nt_run(&nt);
    nt_stop(&nt);
out:
    nt_free(&nt);
    curl_global_cleanup();
    return rc;
}
