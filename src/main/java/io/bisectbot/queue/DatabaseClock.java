package io.bisectbot.queue;

import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.time.ZoneOffset;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The database's clock, read without a round trip: this instance's clock plus the offset to PostgreSQL's
 * {@code clock_timestamp()}, measured at start and with every heartbeat (the midpoint of the round trip). Every
 * time compared across instances (heartbeats, staleness, due times, deadlines, leases, retention) is taken from it,
 * so an instance whose own clock is minutes off neither takes live jobs from others nor fires deadlines early.
 * A measured offset above {@link #WARN_ABOVE} is logged and shown in {@code /health}.
 */
public final class DatabaseClock extends Clock {

    private static final Logger log = LoggerFactory.getLogger(DatabaseClock.class);
    /** Larger offsets are worth an operator's look (NTP stopped, a VM resumed), though they are corrected. */
    public static final Duration WARN_ABOVE = Duration.ofSeconds(2);

    private final Clock local;
    private final DataSource dataSource;
    private volatile long offsetMillis;
    private volatile boolean warned;

    public DatabaseClock(Clock local, DataSource dataSource) {
        this.local = local;
        this.dataSource = dataSource;
    }

    /** Measures the offset again; on failure the last one is kept (the database is away: nothing is compared). */
    public void synchronize() {
        try (var conn = dataSource.getConnection();
                var statement = conn.createStatement()) {
            var before = local.instant();
            var startedNanos = System.nanoTime();
            try (var rs = statement.executeQuery("SELECT clock_timestamp()")) {
                rs.next();
                var database = rs.getObject(1, OffsetDateTime.class).toInstant();
                var midpoint = before.plusNanos((System.nanoTime() - startedNanos) / 2);
                offsetMillis = Duration.between(midpoint, database).toMillis();
            }
        } catch (SQLException | RuntimeException e) {
            return;
        }
        var skew = Math.abs(offsetMillis);
        if (skew > WARN_ABOVE.toMillis() && !warned) {
            warned = true;
            log.warn(
                    "This instance's clock differs from the database's by {} ms ({}); times are taken from the "
                            + "database's clock, but check NTP on this host",
                    offsetMillis,
                    offsetMillis > 0 ? "behind" : "ahead");
        } else if (skew <= WARN_ABOVE.toMillis() && warned) {
            warned = false;
            log.info("This instance's clock agrees with the database's again (offset {} ms)", offsetMillis);
        }
    }

    /** The database's clock minus this instance's: positive when this instance is behind. */
    public Duration offset() {
        return Duration.ofMillis(offsetMillis);
    }

    @Override
    public Instant instant() {
        return local.instant().plusMillis(offsetMillis);
    }

    @Override
    public ZoneId getZone() {
        return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
        if (!ZoneOffset.UTC.equals(zone)) {
            throw new UnsupportedOperationException("the database clock is UTC only");
        }
        return this;
    }
}
