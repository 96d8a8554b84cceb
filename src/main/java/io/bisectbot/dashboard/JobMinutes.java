package io.bisectbot.dashboard;

import io.bisectbot.queue.JobReads;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.jdbc.support.SqlArrayValue;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * The per-minute rollup behind the overview's charts ({@code job_minutes}): enqueued, succeeded, failed and cancelled
 * jobs per minute and the queue depth. Every instance calls {@link #roll} now and then; one at a time does the work
 * (a transaction-level advisory lock, and nothing when another rolled moments ago). Each roll reads only what is new:
 * jobs above the last counted id (by primary key) and jobs finished in the last minutes (by {@code jobs_finished_at}),
 * so the charts never scan {@code jobs}. The reads of jobs go through {@link JobReads}. Rows older than {@link #RETENTION} are deleted.
 */
final class JobMinutes {

    private static final Logger log = LoggerFactory.getLogger(JobMinutes.class);
    static final Duration RETENTION = Duration.ofDays(7);
    /** Finished counts of this many recent minutes are recomputed each roll, so a late commit still counts. */
    private static final Duration RECOUNT = Duration.ofMinutes(3);
    /** Advisory lock key: 'bisb' (the project's namespace) and 19. */
    private static final int LOCK_NAMESPACE = 1651077986;

    private static final int LOCK_KEY = 19;

    /** The ranges the overview offers, and the bucket each is drawn with. */
    enum Range {
        HOUR("1h", Duration.ofHours(1), Duration.ofMinutes(1)),
        DAY("24h", Duration.ofHours(24), Duration.ofMinutes(10)),
        WEEK("7d", Duration.ofDays(7), Duration.ofHours(1));

        final String label;
        final Duration span;
        final Duration bucket;

        Range(String label, Duration span, Duration bucket) {
            this.label = label;
            this.span = span;
            this.bucket = bucket;
        }

        static Range parse(String value) {
            for (var range : values()) {
                if (range.label.equalsIgnoreCase(String.valueOf(value).trim())) {
                    return range;
                }
            }
            throw new IllegalArgumentException("'range' must be 1h, 24h or 7d, got '" + value + "'");
        }
    }

    /** One bucket: its start, the jobs enqueued and ended in it, and the largest queue depth sampled in it (null: none). */
    record Point(Instant at, long enqueued, long succeeded, long failed, long cancelled, Long pending, Long running) {}

    record Series(String range, long bucketSeconds, List<Point> points) {}

    private final JdbcClient jdbc;
    private final JobReads jobs;
    private final TransactionTemplate transactions;

    /** {@code jobs} must read through {@code dataSource}, so its reads run in the roll's transaction. */
    JobMinutes(DataSource dataSource, JobReads jobs) {
        this.jdbc = JdbcClient.create(dataSource);
        this.jobs = jobs;
        this.transactions = new TransactionTemplate(new DataSourceTransactionManager(dataSource));
    }

    /**
     * Brings the rollup up to date unless another instance did within {@code minGap}; returns whether this call did.
     * Never throws: a failed roll is retried at the next call.
     */
    boolean roll(Duration minGap) {
        try {
            return Boolean.TRUE.equals(transactions.execute(tx -> rollLocked(minGap)));
        } catch (RuntimeException e) {
            log.warn("Could not update the per-minute job counts (will try again): {}", e.toString());
            return false;
        }
    }

    private boolean rollLocked(Duration minGap) {
        var locked = jdbc.sql("SELECT pg_try_advisory_xact_lock(:ns, :key)")
                .param("ns", LOCK_NAMESPACE)
                .param("key", LOCK_KEY)
                .query(Boolean.class)
                .single();
        if (!locked) {
            return false; // another instance is rolling now
        }
        var watermark = jdbc.sql(
                        "SELECT last_job_id, now() - rolled_at < CAST(:gap AS interval) AS recent FROM job_minutes_watermark")
                .param("gap", minGap.toMillis() + " milliseconds")
                .query((rs, n) -> new Object[] {rs.getLong(1), rs.getBoolean(2)})
                .optional();
        if (watermark.isPresent() && (Boolean) watermark.get()[1]) {
            return false;
        }
        if (watermark.isEmpty()) {
            // First roll: counting starts here; jobs enqueued before are not counted as enqueued.
            jdbc.sql("INSERT INTO job_minutes_watermark (last_job_id, rolled_at) VALUES (:last, now())")
                    .param("last", jobs.lastId())
                    .update();
        } else {
            var last = (Long) watermark.get()[0];
            // Jobs above the watermark, by their minute of creation, read once: the counts and the new watermark.
            var fresh = jobs.createdPerMinuteAfter(last);
            jdbc.sql("""
                            INSERT INTO job_minutes (minute, enqueued)
                            SELECT to_timestamp(f.minute), f.enqueued FROM unnest(:minutes, :counts) AS f(minute, enqueued)
                            ON CONFLICT (minute) DO UPDATE SET enqueued = job_minutes.enqueued + EXCLUDED.enqueued""")
                    .param("minutes", epochs(fresh.stream().map(JobReads.CreatedMinute::minute)))
                    .param("counts", longs(fresh.stream().mapToLong(JobReads.CreatedMinute::count)))
                    .update();
            jdbc.sql("UPDATE job_minutes_watermark SET last_job_id = :last, rolled_at = now()")
                    .param(
                            "last",
                            fresh.stream()
                                    .mapToLong(JobReads.CreatedMinute::lastId)
                                    .max()
                                    .orElse(last))
                    .update();
        }
        // Ended jobs of the last minutes, recounted whole, so a job whose end committed after the last roll counts.
        var ended = jobs.finishedPerMinute(RECOUNT);
        jdbc.sql("""
                        INSERT INTO job_minutes (minute, succeeded, failed, cancelled)
                        SELECT m.minute, coalesce(c.succeeded, 0), coalesce(c.failed, 0), coalesce(c.cancelled, 0)
                          FROM generate_series(date_trunc('minute', now()) - CAST(:recount AS interval),
                                               date_trunc('minute', now()), interval '1 minute') AS m(minute)
                          LEFT JOIN unnest(:minutes, :succeeded, :failed, :cancelled)
                                    AS c(epoch, succeeded, failed, cancelled) ON to_timestamp(c.epoch) = m.minute
                        ON CONFLICT (minute) DO UPDATE
                           SET succeeded = EXCLUDED.succeeded, failed = EXCLUDED.failed, cancelled = EXCLUDED.cancelled""")
                .param("recount", RECOUNT.toSeconds() + " seconds")
                .param("minutes", epochs(ended.stream().map(JobReads.FinishedMinute::minute)))
                .param("succeeded", longs(ended.stream().mapToLong(JobReads.FinishedMinute::succeeded)))
                .param("failed", longs(ended.stream().mapToLong(JobReads.FinishedMinute::failed)))
                .param("cancelled", longs(ended.stream().mapToLong(JobReads.FinishedMinute::cancelled)))
                .update();
        // The queue depth now, kept as the largest of the minute's samples.
        var depth = jobs.depth();
        jdbc.sql("""
                        INSERT INTO job_minutes (minute, pending, running)
                        VALUES (date_trunc('minute', now()), :pending, :running)
                        ON CONFLICT (minute) DO UPDATE
                           SET pending = greatest(job_minutes.pending, EXCLUDED.pending),
                               running = greatest(job_minutes.running, EXCLUDED.running)""")
                .param("pending", depth.pending())
                .param("running", depth.running())
                .update();
        jdbc.sql("DELETE FROM job_minutes WHERE minute < now() - CAST(:retention AS interval)")
                .param("retention", RETENTION.toHours() + " hours")
                .update();
        jdbc.sql("UPDATE job_minutes_watermark SET rolled_at = now()").update();
        return true;
    }

    private static SqlArrayValue epochs(java.util.stream.Stream<Instant> minutes) {
        return new SqlArrayValue(
                "float8", minutes.map(m -> (double) m.getEpochSecond()).toArray());
    }

    private static SqlArrayValue longs(java.util.stream.LongStream values) {
        return new SqlArrayValue("int8", values.boxed().toArray());
    }

    /** The range in buckets, oldest first, every bucket present (empty ones as zeros). */
    Series series(Range range) {
        var bucketSeconds = range.bucket.toSeconds();
        var points = jdbc.sql("""
                        WITH buckets AS (
                            SELECT to_timestamp(floor(extract(epoch FROM b) / :bucket) * :bucket) AS at
                              FROM generate_series(now() - CAST(:span AS interval), now(), CAST(:step AS interval)) AS b
                        )
                        SELECT b.at, coalesce(sum(m.enqueued), 0) AS enqueued, coalesce(sum(m.succeeded), 0) AS succeeded,
                               coalesce(sum(m.failed), 0) AS failed, coalesce(sum(m.cancelled), 0) AS cancelled,
                               max(m.pending)::bigint AS pending, max(m.running)::bigint AS running
                          FROM (SELECT DISTINCT at FROM buckets) b
                          LEFT JOIN job_minutes m
                            ON m.minute >= b.at AND m.minute < b.at + CAST(:step AS interval)
                         GROUP BY b.at
                         ORDER BY b.at""")
                .param("bucket", bucketSeconds)
                .param("span", range.span.toSeconds() + " seconds")
                .param("step", bucketSeconds + " seconds")
                .query((rs, n) -> new Point(
                        rs.getTimestamp("at").toInstant(),
                        rs.getLong("enqueued"),
                        rs.getLong("succeeded"),
                        rs.getLong("failed"),
                        rs.getLong("cancelled"),
                        (Long) rs.getObject("pending"),
                        (Long) rs.getObject("running")))
                .list();
        return new Series(range.label, bucketSeconds, points);
    }
}
