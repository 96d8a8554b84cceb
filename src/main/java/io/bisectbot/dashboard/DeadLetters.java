package io.bisectbot.dashboard;

import io.bisectbot.queue.JobReads;
import java.net.URI;
import java.time.Instant;
import java.util.List;
import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * What failed for good and waits for an operator: GitHub writes the outbox gave up on, webhook deliveries whose
 * processing failed its last attempt, and callback events that were dead-lettered. The newest {@link #LIMIT} of each,
 * with the total, each read along an index of its own.
 */
final class DeadLetters {

    static final int LIMIT = 100;

    /** A GitHub write given up on ({@code POST /admin/outbox/{id}/retry} puts it back in line). */
    record OutboxWrite(
            long id,
            String action,
            long installationId,
            String idempotencyKey,
            int attempts,
            String lastError,
            Instant createdAt,
            Instant deadAt) {}

    /** A callback event given up on ({@code POST /admin/callbacks/replay {"job": N}} sends it again). */
    record Callback(long id, long jobId, String type, String target, int attempts, String lastError, Instant deadAt) {}

    record Section<T>(long total, List<T> items) {}

    record View(
            Section<OutboxWrite> outbox,
            Section<JobReads.FailedDelivery> deliveries,
            Section<Callback> callbacks,
            int limit) {}

    private final JdbcClient jdbc;
    private final JobReads reads;

    DeadLetters(JdbcClient jdbc, JobReads reads) {
        this.jdbc = jdbc;
        this.reads = reads;
    }

    View read() {
        return new View(outbox(), deliveries(), callbacks(), LIMIT);
    }

    private Section<OutboxWrite> outbox() {
        var items = jdbc.sql("""
                        SELECT id, action, installation_id, idempotency_key, attempts, left(last_error, 500) AS last_error,
                               created_at, done_at
                          FROM github_outbox WHERE status = 'DEAD'
                         ORDER BY done_at DESC, id DESC LIMIT :limit""")
                .param("limit", LIMIT)
                .query((rs, n) -> new OutboxWrite(
                        rs.getLong("id"),
                        rs.getString("action"),
                        rs.getLong("installation_id"),
                        rs.getString("idempotency_key"),
                        rs.getInt("attempts"),
                        rs.getString("last_error"),
                        JobSearch.instant(rs, "created_at"),
                        JobSearch.instant(rs, "done_at")))
                .list();
        var total = jdbc.sql("SELECT count(*) FROM github_outbox WHERE status = 'DEAD'")
                .query(Long.class)
                .single();
        return new Section<>(total, items);
    }

    /** Webhook deliveries whose processing job failed ({@code POST /admin/deliveries/{id}/reprocess} runs one again). */
    private Section<JobReads.FailedDelivery> deliveries() {
        var failed = reads.failedDeliveries(LIMIT);
        return new Section<>(failed.total(), failed.items());
    }

    private Section<Callback> callbacks() {
        var items = jdbc.sql("""
                        SELECT id, job_id, type, url, attempts, left(last_error, 500) AS last_error, done_at
                          FROM callback_events WHERE status = 'DEAD'
                         ORDER BY done_at DESC, id DESC LIMIT :limit""")
                .param("limit", LIMIT)
                .query((rs, n) -> new Callback(
                        rs.getLong("id"),
                        rs.getLong("job_id"),
                        rs.getString("type"),
                        target(rs.getString("url")),
                        rs.getInt("attempts"),
                        rs.getString("last_error"),
                        JobSearch.instant(rs, "done_at")))
                .list();
        var total = jdbc.sql("SELECT count(*) FROM callback_events WHERE status = 'DEAD'")
                .query(Long.class)
                .single();
        return new Section<>(total, items);
    }

    /** Scheme, host and path only: a receiver's URL may carry a credential in its user part or query. */
    static String target(String url) {
        try {
            var uri = URI.create(url);
            return uri.getScheme() + "://" + uri.getHost() + (uri.getPort() > 0 ? ":" + uri.getPort() : "")
                    + (uri.getRawPath() == null ? "" : uri.getRawPath());
        } catch (IllegalArgumentException e) {
            return "(not a URL)";
        }
    }
}
