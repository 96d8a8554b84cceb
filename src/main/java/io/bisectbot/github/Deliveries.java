package io.bisectbot.github;

import io.bisectbot.crypto.Column;
import io.bisectbot.crypto.Encryption;
import io.bisectbot.queue.JobQueue;
import io.bisectbot.queue.NewJob;
import java.nio.charset.StandardCharsets;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import javax.sql.DataSource;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.jdbc.support.SqlArrayValue;
import org.springframework.transaction.support.TransactionTemplate;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.JsonNodeFactory;

/** Stored webhook deliveries: recorded once per delivery id together with the job that processes them. */
final class Deliveries {

    static final String JOB_KIND = "github-delivery";
    /** Enough for 24 h and more at the queue's largest backoff (RETRY_BACKOFF_MAX, 5 min by default). */
    static final int MAX_ATTEMPTS = 1000;

    /** A stored delivery, as the processing job reads it. */
    record Delivery(String id, String event, String action, Long installationId, JsonNode payload) {}

    private final JdbcClient jdbc;
    private final TransactionTemplate transactions;
    private final JsonMapper json;
    private final Clock clock;
    private final Encryption encryption;

    Deliveries(DataSource dataSource, JsonMapper json, Clock clock) {
        this(dataSource, json, clock, Encryption.none());
    }

    /** With keys, payloads are deflated and encrypted into {@code payload_sealed}; without, stored as they came. */
    Deliveries(DataSource dataSource, JsonMapper json, Clock clock, Encryption encryption) {
        this.encryption = encryption;
        this.jdbc = JdbcClient.create(dataSource);
        this.transactions = new TransactionTemplate(new DataSourceTransactionManager(dataSource));
        this.json = json;
        this.clock = clock;
    }

    /** A verified delivery on its way to the table. */
    record Incoming(
            String id,
            String event,
            String action,
            Long installationId,
            Map<String, String> headers,
            String rawPayload) {}

    /**
     * Stores deliveries and enqueues their processing, all in one transaction; returns the ids that were new. A
     * delivery id seen before (or earlier in the same list) is skipped. Two instances receiving the same delivery at
     * once: the second insert waits for the first transaction and then skips the row, so exactly one job exists.
     */
    Set<String> recordAll(List<Incoming> incoming, JobQueue queue) {
        var unique = new LinkedHashMap<String, Incoming>();
        incoming.forEach(d -> unique.putIfAbsent(d.id(), d));
        var list = List.copyOf(unique.values());
        int n = list.size();
        var ids = new String[n];
        var events = new String[n];
        var actions = new String[n];
        var installations = new Long[n];
        var headers = new String[n];
        // Bytes, not text: the driver encodes a bytea[] into one array of its exact size, while a text[] grows a
        // buffer from 1 KB by doubling, copying every payload of the batch several times.
        var payloads = new byte[n][];
        var sealed = new byte[n][];
        var seal = encryption.enabled();
        for (int i = 0; i < n; i++) {
            var d = list.get(i);
            ids[i] = d.id();
            events[i] = d.event();
            actions[i] = d.action();
            installations[i] = d.installationId();
            headers[i] = json.writeValueAsString(d.headers());
            // From the decoded text, so the bytes are valid UTF-8 whatever arrived (as when the text was sent).
            var bytes = d.rawPayload().getBytes(StandardCharsets.UTF_8);
            if (seal) {
                sealed[i] = encryption.sealBytes(Column.DELIVERY_PAYLOAD, bytes);
            } else {
                payloads[i] = bytes;
            }
        }
        return transactions.execute(tx -> {
            var created = new LinkedHashSet<>(jdbc.sql("""
                            INSERT INTO github_deliveries (delivery_id, event, action, installation_id, headers, payload,
                                                           payload_sealed, received_at)
                            SELECT i, e, a, inst, CAST(h AS jsonb), CAST(convert_from(p, 'UTF8') AS json), s, :now
                              FROM unnest(:ids, :events, :actions, :installations, :headers, :payloads, :sealed)
                                   AS n(i, e, a, inst, h, p, s)
                            ON CONFLICT (delivery_id) DO NOTHING
                            RETURNING delivery_id""")
                    .param("ids", new SqlArrayValue("text", (Object[]) ids))
                    .param("events", new SqlArrayValue("text", (Object[]) events))
                    .param("actions", new SqlArrayValue("text", (Object[]) actions))
                    .param("installations", new SqlArrayValue("int8", (Object[]) installations))
                    .param("headers", new SqlArrayValue("text", (Object[]) headers))
                    .param("payloads", new SqlArrayValue("bytea", (Object[]) payloads))
                    .param("sealed", new SqlArrayValue("bytea", (Object[]) sealed))
                    .param("now", Timestamp.from(clock.instant()))
                    .query(String.class)
                    .list());
            if (!created.isEmpty()) {
                var installationOf = new java.util.HashMap<String, Long>();
                list.forEach(d -> installationOf.put(d.id(), d.installationId()));
                queue.enqueueAll(created.stream()
                        .map(id -> processingJob(id, "github-delivery:" + id, installationOf.get(id)))
                        .toList());
            }
            return created;
        });
    }

    /** Enqueues the processing of a stored delivery again; empty when there is no such delivery. */
    Optional<JobQueue.Enqueued> reprocess(String deliveryId, JobQueue queue) {
        return transactions.execute(tx -> {
            var count =
                    jdbc.sql("""
                            UPDATE github_deliveries SET reprocess_count = reprocess_count + 1, outcome = NULL, processed_at = NULL
                             WHERE delivery_id = :id RETURNING reprocess_count""").param("id", deliveryId).query(Integer.class).optional();
            // Reprocessing is an operator's decision: it carries no tenant, so no installation's cap refuses it.
            return count.map(n -> queue.enqueue(
                    processingJob(deliveryId, "github-delivery:" + deliveryId + ":reprocess:" + n, null)));
        });
    }

    /** The installation's deliveries are its tenant's jobs: fair share and its caps apply to them too. */
    private static NewJob processingJob(String deliveryId, String dedupKey, Long installationId) {
        return NewJob.of(JOB_KIND, JsonNodeFactory.instance.objectNode().put("delivery_id", deliveryId))
                // Attempts are not the limit: the handler retries GitHub outages for GITHUB_DELIVERY_RETRY_FOR.
                .withMaxAttempts(MAX_ATTEMPTS)
                .withDedupKey(dedupKey)
                .withTenant(installationId == null ? null : NewJob.installationTenant(installationId));
    }

    Optional<Delivery> find(String deliveryId) {
        return jdbc.sql("""
                        SELECT delivery_id, event, action, installation_id, payload::text AS payload, payload_sealed
                          FROM github_deliveries WHERE delivery_id = :id""")
                .param("id", deliveryId)
                .query((rs, row) -> {
                    var sealed = rs.getBytes("payload_sealed");
                    var payload = sealed == null
                            ? rs.getString("payload")
                            : new String(encryption.openBytes(Column.DELIVERY_PAYLOAD, sealed), StandardCharsets.UTF_8);
                    return new Delivery(
                            rs.getString("delivery_id"),
                            rs.getString("event"),
                            rs.getString("action"),
                            (Long) rs.getObject("installation_id"),
                            json.readTree(payload));
                })
                .optional();
    }

    void markOutcome(String deliveryId, String outcome) {
        jdbc.sql("UPDATE github_deliveries SET outcome = :outcome, processed_at = :now WHERE delivery_id = :id")
                .param("id", deliveryId)
                .param("outcome", outcome)
                .param("now", Timestamp.from(clock.instant()))
                .update();
    }

    /** Deletes deliveries older than {@code retention}; returns how many. */
    int deleteOlderThan(Duration retention) {
        return jdbc.sql("DELETE FROM github_deliveries WHERE received_at < :cutoff")
                .param("cutoff", Timestamp.from(clock.instant().minus(retention)))
                .update();
    }

    /**
     * The number of pending jobs, and the installations at their cap of pending jobs, as last counted. A loop
     * recounts them every second, so webhook requests read a field and never wait for the count (on a queue of
     * 100,000 jobs it takes tens of milliseconds).
     */
    static final class PendingJobs {
        private final JobQueue queue;
        private volatile long value;
        private volatile Set<String> tenantsAtCap = Set.of();

        PendingJobs(JobQueue queue) {
            this.queue = queue;
        }

        long get() {
            return value;
        }

        /** True when the installation had its cap of pending jobs at the last count. */
        boolean atCap(Long installationId) {
            return installationId != null && tenantsAtCap.contains(NewJob.installationTenant(installationId));
        }

        /** Counts again; on a database error the last count stays (the insert that follows reports the lost database). */
        void refresh() {
            value = queue.pendingCount();
            tenantsAtCap = queue.tenantsAtPendingCap();
        }
    }
}
