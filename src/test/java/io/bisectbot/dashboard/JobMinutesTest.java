package io.bisectbot.dashboard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariDataSource;
import io.bisectbot.TestDatabase;
import io.bisectbot.queue.JobReads;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.core.simple.JdbcClient;

/** The per-minute rollup: what it counts, that one roll at a time does the work, and how long it keeps rows. */
class JobMinutesTest {

    private final HikariDataSource database = TestDatabase.migrated();
    private final JdbcClient jdbc = JdbcClient.create(database);
    private final JobMinutes minutes = new JobMinutes(database, new JobReads(database));

    @AfterEach
    void close() {
        database.close();
    }

    void jobs(int count, String status, String createdAgo, String finishedAgo) {
        jdbc.sql("""
                        INSERT INTO jobs (kind, status, created_at, finished_at)
                        SELECT 'noop', :status, now() - CAST(:created AS interval),
                               now() - CAST(:finished AS interval) FROM generate_series(1, :count)""")
                .param("status", status)
                .param("created", createdAgo)
                .param("finished", finishedAgo)
                .param("count", count)
                .update();
    }

    long sum(String column, String since) {
        return jdbc.sql(
                        "SELECT coalesce(sum(" + column
                                + "), 0) FROM job_minutes WHERE minute >= date_trunc('minute', now() - CAST(:since AS interval))")
                .param("since", since)
                .query(Long.class)
                .single();
    }

    @Test
    void a_roll_counts_new_jobs_by_their_minute_ended_jobs_by_status_and_samples_the_depth() {
        jobs(5, "SUCCEEDED", "10 minutes", "9 minutes"); // before the first roll: not counted as enqueued
        assertThat(minutes.roll(Duration.ZERO)).isTrue();
        assertThat(sum("enqueued", "1 hour")).isZero();

        jobs(3, "SUCCEEDED", "1 minute", "30 seconds");
        jobs(2, "FAILED", "1 minute", "30 seconds");
        jobs(4, "PENDING", "0 seconds", null);
        assertThat(minutes.roll(Duration.ZERO)).isTrue();
        assertThat(sum("enqueued", "5 minutes")).isEqualTo(9);
        assertThat(sum("succeeded", "2 minutes")).isEqualTo(3);
        assertThat(sum("failed", "2 minutes")).isEqualTo(2);
        assertThat(jdbc.sql("SELECT pending FROM job_minutes WHERE minute = date_trunc('minute', now())")
                        .query(Integer.class)
                        .single())
                .isEqualTo(4);

        // Counted once however often it rolls.
        assertThat(minutes.roll(Duration.ZERO)).isTrue();
        assertThat(sum("enqueued", "5 minutes")).isEqualTo(9);
        assertThat(sum("succeeded", "2 minutes")).isEqualTo(3);
    }

    @Test
    void an_instance_that_finds_the_rollup_just_done_does_nothing() {
        assertThat(minutes.roll(Duration.ZERO)).isTrue();
        jobs(2, "PENDING", "0 seconds", null);
        assertThat(minutes.roll(Duration.ofSeconds(25)))
                .as("another instance rolled moments ago")
                .isFalse();
        assertThat(sum("enqueued", "5 minutes")).isZero();
        assertThat(minutes.roll(Duration.ZERO)).isTrue();
        assertThat(sum("enqueued", "5 minutes")).isEqualTo(2);
    }

    @Test
    void rows_older_than_seven_days_are_deleted() {
        jdbc.sql(
                        "INSERT INTO job_minutes (minute, enqueued) VALUES (date_trunc('minute', now() - interval '8 days'), 7), "
                                + "(date_trunc('minute', now() - interval '6 days'), 5)")
                .update();
        minutes.roll(Duration.ZERO);
        assertThat(jdbc.sql("SELECT enqueued FROM job_minutes WHERE enqueued > 0 ORDER BY minute")
                        .query(Integer.class)
                        .list())
                .containsExactly(5);
    }

    @Test
    void a_series_has_every_bucket_of_its_range_oldest_first() {
        jdbc.sql("INSERT INTO job_minutes (minute, enqueued, failed, pending) VALUES "
                        + "(date_trunc('minute', now() - interval '3 minutes'), 4, 1, 10), "
                        + "(date_trunc('minute', now() - interval '2 hours'), 6, 0, 30)")
                .update();
        var hour = minutes.series(JobMinutes.Range.HOUR);
        assertThat(hour.bucketSeconds()).isEqualTo(60);
        assertThat(hour.points()).hasSizeBetween(60, 62);
        assertThat(hour.points().stream().mapToLong(JobMinutes.Point::enqueued).sum())
                .isEqualTo(4);
        assertThat(hour.points().getFirst().at())
                .isBefore(hour.points().getLast().at());
        var day = minutes.series(JobMinutes.Range.DAY);
        assertThat(day.points()).hasSizeBetween(144, 146);
        assertThat(day.points().stream().mapToLong(JobMinutes.Point::enqueued).sum())
                .isEqualTo(10);
        assertThat(day.points().stream()
                        .filter(p -> p.pending() != null)
                        .mapToLong(JobMinutes.Point::pending)
                        .max())
                .hasValue(30);
        assertThat(minutes.series(JobMinutes.Range.WEEK).points()).hasSizeBetween(168, 170);
        assertThatThrownBy(() -> JobMinutes.Range.parse("2w")).hasMessageContaining("1h, 24h or 7d");
    }
}
