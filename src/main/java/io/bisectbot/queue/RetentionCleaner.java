package io.bisectbot.queue;

import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * Deletes jobs that finished longer than the retention period ago, with their history, logs and steps (cascade),
 * in small batches so it never holds many locks. Runs on every instance; batches skip rows another instance is
 * deleting. Live jobs are never touched.
 */
final class RetentionCleaner {

    private static final Logger log = LoggerFactory.getLogger(RetentionCleaner.class);
    private static final int BATCH = 1000;

    private final JdbcClient jdbc;
    private final Clock clock;
    private final Duration retention;

    RetentionCleaner(DataSource dataSource, Clock clock, Duration retention) {
        this.jdbc = JdbcClient.create(dataSource);
        this.clock = clock;
        this.retention = retention;
    }

    /** Deletes what is due; returns how many jobs went. */
    int clean() {
        if (retention.isZero() || retention.isNegative()) {
            return 0;
        }
        var before = clock.instant().minus(retention).atOffset(ZoneOffset.UTC);
        var total = 0;
        try {
            int deleted;
            do {
                deleted = jdbc.sql("""
                                DELETE FROM jobs WHERE id IN (
                                    SELECT id FROM jobs
                                     WHERE finished_at < :before            -- finished long enough ago
                                       AND status IN ('SUCCEEDED', 'FAILED', 'CANCELLED')
                                     LIMIT :batch
                                       FOR UPDATE SKIP LOCKED)""")
                        .param("before", before)
                        .param("batch", BATCH)
                        .update();
                total += deleted;
            } while (deleted == BATCH);
            if (total > 0) {
                log.info("Deleted {} jobs finished before {}", total, before);
            }
        } catch (RuntimeException e) {
            log.warn("Retention pass failed (will try again): {}", Failures.brief(e));
        }
        return total;
    }
}
