package io.bisectbot.github;

import io.bisectbot.crypto.Column;
import io.bisectbot.crypto.Encryption;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import javax.sql.DataSource;
import org.springframework.jdbc.core.simple.JdbcClient;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The {@code github_outbox} table. Rows are added in the writer's transaction; a deliverer claims due rows with a
 * lease in a short transaction ({@code FOR UPDATE SKIP LOCKED}, so instances never claim the same row), delivers
 * them outside any transaction, and then marks them; every mark is conditional on the lease it claimed with.
 */
final class Outbox {

    static final String REACTION = "reaction";
    static final String COMMENT = "comment";
    static final String CHECK_RUN_CREATE = "check_run_create";
    static final String CHECK_RUN_UPDATE = "check_run_update";

    record Row(
            long id,
            String key,
            long installationId,
            String action,
            JsonNode request,
            String dependsOn,
            int attempts,
            String leaseOwner,
            Instant createdAt) {}

    record Dependency(String status, JsonNode result) {}

    /** Counts for operators. */
    record Stats(long pending, long done, long dead, long oldestPendingAgeSeconds) {}

    private final JdbcClient jdbc;
    private final JsonMapper json;
    private final Clock clock;
    private final Encryption encryption;

    Outbox(DataSource dataSource, JsonMapper json, Clock clock) {
        this(dataSource, json, clock, Encryption.none());
    }

    /** Request bodies are sealed with {@code encryption}; results (ids GitHub gave back) are not. */
    Outbox(DataSource dataSource, JsonMapper json, Clock clock, Encryption encryption) {
        this.encryption = encryption;
        this.jdbc = JdbcClient.create(dataSource);
        this.json = json;
        this.clock = clock;
    }

    /** Adds a row unless its key exists; true when added. Joins the caller's transaction. */
    boolean add(String key, long installationId, String action, JsonNode request, String dependsOn) {
        var now = Timestamp.from(clock.instant());
        return jdbc.sql("""
                        INSERT INTO github_outbox (idempotency_key, installation_id, action, request, depends_on, next_attempt_at, created_at)
                        VALUES (:key, :installation, :action, CAST(:request AS jsonb), :depends_on, :now, :now)
                        ON CONFLICT (idempotency_key) DO NOTHING""")
                        .param("key", key)
                        .param("installation", installationId)
                        .param("action", action)
                        .param("request", encryption.sealJson(Column.OUTBOX_REQUEST, request))
                        .param("depends_on", dependsOn)
                        .param("now", now)
                        .update()
                == 1;
    }

    /**
     * Extends this owner's lease of {@code row} to {@code lease} from now, just before its write; false when the
     * lease ran out and another instance holds the row (or it is done), so this one must not write it.
     */
    boolean renew(Row row, String owner, Duration lease) {
        var now = clock.instant();
        return jdbc.sql("""
                        UPDATE github_outbox SET lease_until = :until
                         WHERE id = :id AND status = 'PENDING' AND lease_owner = :owner AND attempts = :attempts""")
                        .param("until", Timestamp.from(now.plus(lease)))
                        .param("id", row.id())
                        .param("owner", owner)
                        .param("attempts", row.attempts())
                        .update()
                == 1;
    }

    /** Claims up to {@code limit} due rows for {@code owner} until {@code lease} from now; counts the attempt. */
    List<Row> claim(String owner, int limit, Duration lease) {
        var now = clock.instant();
        return jdbc
                .sql("""
                        UPDATE github_outbox o
                           SET lease_owner = :owner, lease_until = :until, attempts = o.attempts + 1
                          FROM (SELECT id FROM github_outbox
                                 WHERE status = 'PENDING' AND next_attempt_at <= :now
                                   AND (lease_until IS NULL OR lease_until < :now)
                                 ORDER BY next_attempt_at, id
                                 LIMIT :limit
                                 FOR UPDATE SKIP LOCKED) due
                         WHERE o.id = due.id
                     RETURNING o.id, o.idempotency_key, o.installation_id, o.action, o.request::text AS request,
                               o.depends_on, o.attempts, o.lease_owner, o.created_at""")
                .param("owner", owner)
                .param("until", Timestamp.from(now.plus(lease)))
                .param("now", Timestamp.from(now))
                .param("limit", limit)
                .query(this::row)
                .list()
                .stream()
                .sorted(java.util.Comparator.comparingLong(Row::id))
                .toList();
    }

    private Row row(ResultSet rs, int n) throws SQLException {
        return new Row(
                rs.getLong("id"),
                rs.getString("idempotency_key"),
                rs.getLong("installation_id"),
                rs.getString("action"),
                encryption.openJson(Column.OUTBOX_REQUEST, rs.getString("request")),
                rs.getString("depends_on"),
                rs.getInt("attempts"),
                rs.getString("lease_owner"),
                rs.getObject("created_at", java.time.OffsetDateTime.class).toInstant());
    }

    Optional<Dependency> dependency(String key) {
        return jdbc.sql("SELECT status, result::text AS result FROM github_outbox WHERE idempotency_key = :key")
                .param("key", key)
                .query((rs, n) -> new Dependency(
                        rs.getString("status"),
                        rs.getString("result") == null ? null : json.readTree(rs.getString("result"))))
                .optional();
    }

    boolean done(Row row, JsonNode result) {
        return jdbc.sql("""
                        UPDATE github_outbox SET status = 'DONE', result = CAST(:result AS jsonb), done_at = :now,
                                                 lease_owner = NULL, lease_until = NULL, last_error = NULL
                         WHERE id = :id AND lease_owner = :owner AND attempts = :attempts AND status = 'PENDING'""")
                        .param("result", result == null ? null : json.writeValueAsString(result))
                        .param("now", Timestamp.from(clock.instant()))
                        .param("id", row.id())
                        .param("owner", row.leaseOwner())
                        .param("attempts", row.attempts())
                        .update()
                == 1;
    }

    /** A failed attempt: due again at {@code retryAt}, or dead when {@code dead}. */
    void failed(Row row, String error, Instant retryAt, boolean dead) {
        jdbc.sql("""
                        UPDATE github_outbox SET status = :status, last_error = :error, next_attempt_at = :retry_at,
                                                 lease_owner = NULL, lease_until = NULL,
                                                 done_at = CASE WHEN :status = 'DEAD' THEN CAST(:now AS timestamptz) END
                         WHERE id = :id AND lease_owner = :owner AND attempts = :attempts AND status = 'PENDING'""")
                .param("status", dead ? "DEAD" : "PENDING")
                .param("error", error.length() > 2000 ? error.substring(0, 2000) : error)
                .param("retry_at", Timestamp.from(retryAt))
                .param("now", Timestamp.from(clock.instant()))
                .param("id", row.id())
                .param("owner", row.leaseOwner())
                .param("attempts", row.attempts())
                .update();
    }

    /** Not attempted after all (rate limit, dependency not delivered yet): due again at {@code at}, attempt not counted. */
    void postpone(Row row, Instant at, String reason) {
        jdbc.sql("""
                        UPDATE github_outbox SET next_attempt_at = :at, attempts = attempts - 1, last_error = :reason,
                                                 lease_owner = NULL, lease_until = NULL
                         WHERE id = :id AND lease_owner = :owner AND attempts = :attempts AND status = 'PENDING'""")
                .param("at", Timestamp.from(at))
                .param("reason", reason)
                .param("id", row.id())
                .param("owner", row.leaseOwner())
                .param("attempts", row.attempts())
                .update();
    }

    /** Puts a dead row back in line (an operator fixed the cause); false when there is no such dead row. */
    boolean revive(long id) {
        return jdbc.sql("""
                        UPDATE github_outbox SET status = 'PENDING', attempts = 0, next_attempt_at = :now, done_at = NULL
                         WHERE id = :id AND status = 'DEAD'""")
                        .param("id", id)
                        .param("now", Timestamp.from(clock.instant()))
                        .update()
                == 1;
    }

    /** A row written for one job, with its request opened. */
    record JobRow(String key, String action, String status, JsonNode request, JsonNode result) {}

    /**
     * The rows of one job's comment and check run (their keys name the job), oldest first: a few lookups of the
     * unique key, however large the table.
     */
    List<JobRow> ofJob(long jobId) {
        var keys = List.of(
                GithubReports.commentKey(jobId),
                GithubReports.checkRunKey(jobId),
                GithubReports.startedKey(jobId),
                GithubReports.completedKey(jobId));
        return jdbc.sql("""
                        SELECT idempotency_key, action, status, request::text AS request, result::text AS result
                          FROM github_outbox WHERE idempotency_key IN (:keys) ORDER BY id""")
                .param("keys", keys)
                .query((rs, n) -> new JobRow(
                        rs.getString("idempotency_key"),
                        rs.getString("action"),
                        rs.getString("status"),
                        encryption.openJson(Column.OUTBOX_REQUEST, rs.getString("request")),
                        rs.getString("result") == null ? null : json.readTree(rs.getString("result"))))
                .list();
    }

    Stats stats() {
        return jdbc.sql("""
                        SELECT count(*) FILTER (WHERE status = 'PENDING') AS pending,
                               count(*) FILTER (WHERE status = 'DONE')    AS done,
                               count(*) FILTER (WHERE status = 'DEAD')    AS dead,
                               coalesce(extract(epoch FROM (CAST(:now AS timestamptz) - min(created_at) FILTER (WHERE status = 'PENDING'))), 0)::bigint AS oldest
                          FROM github_outbox""")
                .param("now", Timestamp.from(clock.instant()))
                .query((rs, n) ->
                        new Stats(rs.getLong("pending"), rs.getLong("done"), rs.getLong("dead"), rs.getLong("oldest")))
                .single();
    }

    /** Deletes delivered rows older than {@code retention}; dead rows stay until an operator looks. */
    int deleteDoneOlderThan(Duration retention) {
        return jdbc.sql("DELETE FROM github_outbox WHERE status = 'DONE' AND done_at < :cutoff")
                .param("cutoff", Timestamp.from(clock.instant().minus(retention)))
                .update();
    }
}
