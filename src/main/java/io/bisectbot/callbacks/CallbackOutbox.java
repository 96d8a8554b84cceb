package io.bisectbot.callbacks;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import javax.sql.DataSource;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.jdbc.support.SqlArrayValue;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The {@code job_callbacks} subscriptions and the {@code callback_events} outbox. Events of finished jobs are written
 * by a trigger in the transaction that ends the job. A deliverer claims due events with a lease in one short
 * statement ({@code FOR UPDATE SKIP LOCKED}, so instances share the work and never claim the same event), skipping
 * an event while an earlier one for the same job and URL is pending (per-URL order), delivers outside any
 * transaction, and then marks it; every mark is conditional on the lease it claimed with.
 */
final class CallbackOutbox {

    record Event(
            long id,
            UUID eventId,
            long jobId,
            String url,
            String type,
            JsonNode detail,
            int attempts,
            String leaseOwner,
            Instant createdAt,
            Instant firstFailureAt) {}

    private final JdbcClient jdbc;
    private final JsonMapper json;
    private final Clock clock;

    CallbackOutbox(DataSource dataSource, JsonMapper json, Clock clock) {
        this.jdbc = JdbcClient.create(dataSource);
        this.json = json;
        this.clock = clock;
    }

    /** Stores a job's callbacks; joins the caller's transaction (the one that enqueues the job). */
    void subscribe(long jobId, List<Callbacks.Subscription> subscriptions) {
        for (int i = 0; i < subscriptions.size(); i++) {
            var s = subscriptions.get(i);
            jdbc.sql("""
                            INSERT INTO job_callbacks (job_id, position, url, events)
                            VALUES (:job, (SELECT count(*) FROM job_callbacks WHERE job_id = :job), :url, :events)""")
                    .param("job", jobId)
                    .param("url", s.url())
                    .param("events", new SqlArrayValue("text", s.events().toArray()))
                    .update();
        }
    }

    /** Whether one of the job's callbacks asked for {@code type} events. */
    boolean subscribed(long jobId, String type) {
        return jdbc.sql("SELECT EXISTS (SELECT 1 FROM job_callbacks WHERE job_id = :job AND :type = ANY (events))")
                .param("job", jobId)
                .param("type", type)
                .query(Boolean.class)
                .single();
    }

    /** Adds an event of {@code type} for each of the job's callbacks that asked for it; returns how many. */
    int add(long jobId, String type, JsonNode detail) {
        var now = ts(clock.instant());
        return jdbc.sql("""
                        INSERT INTO callback_events (job_id, url, type, detail, next_attempt_at, created_at)
                        SELECT job_id, url, :type, CAST(:detail AS jsonb), :now, :now
                          FROM job_callbacks WHERE job_id = :job AND :type = ANY (events)
                         ORDER BY position""")
                .param("job", jobId)
                .param("type", type)
                .param("detail", detail == null ? null : json.writeValueAsString(detail))
                .param("now", now)
                .update();
    }

    /** Claims up to {@code limit} due events for {@code owner} until {@code lease} from now; counts the attempt. */
    List<Event> claim(String owner, int limit, Duration lease) {
        var now = clock.instant();
        return jdbc
                .sql("""
                        UPDATE callback_events e
                           SET lease_owner = :owner, lease_until = :until, attempts = e.attempts + 1
                          FROM (SELECT c.id FROM callback_events c
                                 WHERE c.status = 'PENDING' AND c.next_attempt_at <= :now
                                   AND (c.lease_until IS NULL OR c.lease_until < :now)
                                   AND NOT EXISTS (SELECT 1 FROM callback_events p
                                                    WHERE p.job_id = c.job_id AND p.url = c.url AND p.id < c.id
                                                      AND p.status = 'PENDING')
                                 ORDER BY c.next_attempt_at, c.id
                                 LIMIT :limit
                                 FOR UPDATE SKIP LOCKED) due
                         WHERE e.id = due.id
                     RETURNING e.id, e.event_id, e.job_id, e.url, e.type, e.detail::text AS detail, e.attempts,
                               e.lease_owner, e.created_at, e.first_failure_at""")
                .param("owner", owner)
                .param("until", ts(now.plus(lease)))
                .param("now", ts(now))
                .param("limit", limit)
                .query(this::event)
                .list()
                .stream()
                .sorted(Comparator.comparingLong(Event::id))
                .toList();
    }

    private Event event(ResultSet rs, int n) throws SQLException {
        var detail = rs.getString("detail");
        return new Event(
                rs.getLong("id"),
                rs.getObject("event_id", UUID.class),
                rs.getLong("job_id"),
                rs.getString("url"),
                rs.getString("type"),
                detail == null ? null : json.readTree(detail),
                rs.getInt("attempts"),
                rs.getString("lease_owner"),
                instant(rs, "created_at"),
                instant(rs, "first_failure_at"));
    }

    void recordAttempt(Event event, Instant at, Integer statusCode, String error, long durationMs) {
        jdbc.sql("""
                        INSERT INTO callback_attempts (event_row, at, status_code, error, duration_ms)
                        VALUES (:event, :at, :status, :error, :duration)""")
                .param("event", event.id())
                .param("at", ts(at))
                .param("status", statusCode)
                .param("error", error == null ? null : cap(error))
                .param("duration", (int) Math.min(Integer.MAX_VALUE, durationMs))
                .update();
    }

    /** Delivered; false when the lease had run out meanwhile (another instance may deliver it again). */
    boolean done(Event event) {
        return jdbc.sql("""
                        UPDATE callback_events SET status = 'DONE', done_at = :now, lease_owner = NULL, lease_until = NULL,
                                                   last_error = NULL
                         WHERE id = :id AND lease_owner = :owner AND attempts = :attempts AND status = 'PENDING'""")
                        .param("now", ts(clock.instant()))
                        .param("id", event.id())
                        .param("owner", event.leaseOwner())
                        .param("attempts", event.attempts())
                        .update()
                == 1;
    }

    /** A failed attempt: due again at {@code retryAt}, or dead when {@code dead}. */
    void failed(Event event, String error, Instant retryAt, boolean dead) {
        var now = ts(clock.instant());
        jdbc.sql("""
                        UPDATE callback_events SET status = :status, last_error = :error, next_attempt_at = :retry_at,
                                                   first_failure_at = COALESCE(first_failure_at, :now),
                                                   lease_owner = NULL, lease_until = NULL,
                                                   done_at = CASE WHEN :status = 'DEAD' THEN CAST(:now AS timestamptz) END
                         WHERE id = :id AND lease_owner = :owner AND attempts = :attempts AND status = 'PENDING'""")
                .param("status", dead ? "DEAD" : "PENDING")
                .param("error", cap(error))
                .param("retry_at", ts(retryAt))
                .param("now", now)
                .param("id", event.id())
                .param("owner", event.leaseOwner())
                .param("attempts", event.attempts())
                .update();
    }

    /** Not attempted after all (the instance is stopping): due again at {@code at}, attempt not counted. */
    void postpone(Event event, Instant at) {
        jdbc.sql("""
                        UPDATE callback_events SET next_attempt_at = :at, attempts = attempts - 1,
                                                   lease_owner = NULL, lease_until = NULL
                         WHERE id = :id AND lease_owner = :owner AND attempts = :attempts AND status = 'PENDING'""")
                .param("at", ts(at))
                .param("id", event.id())
                .param("owner", event.leaseOwner())
                .param("attempts", event.attempts())
                .update();
    }

    /**
     * Puts dead events back in line, with their {@code event_id} (receivers that saw one drop it): those of job
     * {@code jobId}, or those dead-lettered at or after {@code since}, or both when both are given. Returns how many.
     */
    int replay(Long jobId, Instant since) {
        return jdbc.sql("""
                        UPDATE callback_events SET status = 'PENDING', attempts = 0, next_attempt_at = :now,
                                                   first_failure_at = NULL, done_at = NULL
                         WHERE status = 'DEAD'
                           AND (CAST(:job AS bigint) IS NULL OR job_id = :job)
                           AND (CAST(:since AS timestamptz) IS NULL OR done_at >= :since)""")
                .param("job", jobId)
                .param("since", since == null ? null : ts(since))
                .param("now", ts(clock.instant()))
                .update();
    }

    /** The job's events, oldest first, each with its attempts. */
    List<Callbacks.EventView> forJob(long jobId) {
        var attempts = new LinkedHashMap<Long, List<Callbacks.Attempt>>();
        jdbc.sql("""
                        SELECT a.event_row, a.at, a.status_code, a.error, a.duration_ms
                          FROM callback_attempts a JOIN callback_events e ON e.id = a.event_row
                         WHERE e.job_id = :job ORDER BY a.id""")
                .param("job", jobId)
                .query((rs, n) -> attempts.computeIfAbsent(rs.getLong("event_row"), k -> new ArrayList<>())
                        .add(new Callbacks.Attempt(
                                instant(rs, "at"),
                                (Integer) rs.getObject("status_code"),
                                rs.getString("error"),
                                rs.getLong("duration_ms"))))
                .list();
        return jdbc.sql("SELECT * FROM callback_events WHERE job_id = :job ORDER BY id")
                .param("job", jobId)
                .query((rs, n) -> new Callbacks.EventView(
                        rs.getString("event_id"),
                        CallbackDelivery.safeUrl(rs.getString("url")),
                        rs.getString("type"),
                        rs.getString("status"),
                        rs.getInt("attempts"),
                        instant(rs, "created_at"),
                        "PENDING".equals(rs.getString("status")) ? instant(rs, "next_attempt_at") : null,
                        instant(rs, "done_at"),
                        rs.getString("last_error"),
                        attempts.getOrDefault(rs.getLong("id"), List.of())))
                .list();
    }

    /** Counts per status, for operators. */
    Map<String, Long> stats() {
        var counts = new LinkedHashMap<String, Long>(Map.of("PENDING", 0L, "DONE", 0L, "DEAD", 0L));
        jdbc.sql("SELECT status, count(*) FROM callback_events GROUP BY status")
                .query((rs, n) -> counts.put(rs.getString(1), rs.getLong(2)))
                .list();
        return counts;
    }

    private static String cap(String error) {
        return error.length() > 2000 ? error.substring(0, 2000) : error;
    }

    static OffsetDateTime ts(Instant instant) {
        return instant == null ? null : instant.atOffset(ZoneOffset.UTC);
    }

    static Instant instant(ResultSet rs, String column) throws SQLException {
        var value = rs.getObject(column, OffsetDateTime.class);
        return value == null ? null : value.toInstant();
    }
}
