package io.bisectbot.github;

import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import javax.sql.DataSource;
import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * The {@code github_rate_budget} table: GitHub's secondary rate limits as a budget every instance shares. Per
 * installation (GitHub counts per installation token), content-creating requests per minute and per hour, requests
 * in flight at once, and a pause any instance stores when GitHub answers with a rate limit. One statement before a
 * request ({@link #take}) and one after ({@link #release}); windows and leases run on the database's clock.
 *
 * <p>Windows are fixed: a minute starts with the first request after the previous one ended, so a sliding minute can
 * see up to twice {@code perMinute} writes; the defaults are set with that in mind.
 */
final class RateBudget {

    /** The answer of {@link #take}: granted with a lease to release, or not yet, with why and how long to wait. */
    record Grant(boolean granted, String reason, Duration retryIn, OffsetDateTime lease) {}

    /** GitHub's word to wait: until {@code at} (its clock, e.g. X-RateLimit-Reset), or {@code seconds} from now. */
    record Pause(Instant at, Double seconds, String reason) {}

    private final JdbcClient jdbc;
    private final int perMinute;
    private final int perHour;
    private final int maxConcurrent;
    private final Duration lease;

    /** {@code lease}: how long a request's slot counts as in flight when its instance never releases it. */
    RateBudget(DataSource dataSource, int perMinute, int perHour, int maxConcurrent, Duration lease) {
        this.jdbc = JdbcClient.create(dataSource);
        this.perMinute = perMinute;
        this.perHour = perHour;
        this.maxConcurrent = maxConcurrent;
        this.lease = lease;
    }

    /** Throws Spring's DataAccessException when the database does not answer. */
    Grant take(long installationId, boolean write) {
        return jdbc.sql("""
                        SELECT granted, reason, wait_ms, lease
                          FROM github_budget_take(:installation, :write, :per_minute, :per_hour, :max_concurrent, :lease)""")
                .param("installation", installationId)
                .param("write", write)
                .param("per_minute", perMinute)
                .param("per_hour", perHour)
                .param("max_concurrent", maxConcurrent)
                .param("lease", lease.toMillis() / 1000.0)
                .query((rs, n) -> new Grant(
                        rs.getBoolean("granted"),
                        rs.getString("reason"),
                        Duration.ofMillis(rs.getLong("wait_ms")),
                        rs.getObject("lease", OffsetDateTime.class)))
                .single();
    }

    /**
     * Frees the slot of {@code lease} (null: none) and stores {@code pause} (null: none) for every instance; returns
     * how long the installation is paused from now. Throws Spring's DataAccessException when the database does not
     * answer (the slot then ends with its lease).
     */
    Duration release(long installationId, OffsetDateTime lease, Pause pause) {
        var millis = jdbc.sql("""
                        SELECT github_budget_release(:installation, CAST(:lease AS timestamptz),
                                                     CAST(:pause_at AS timestamptz), CAST(:pause_seconds AS double precision),
                                                     :reason)""")
                .param("installation", installationId)
                .param("lease", lease)
                .param(
                        "pause_at",
                        pause == null || pause.at() == null ? null : pause.at().atOffset(java.time.ZoneOffset.UTC))
                .param("pause_seconds", pause == null ? null : pause.seconds())
                .param("reason", pause == null ? null : pause.reason())
                .query(Long.class)
                .single();
        return Duration.ofMillis(millis);
    }
}
