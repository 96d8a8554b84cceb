package io.bisectbot.queue;

import static io.bisectbot.queue.QueueFixture.job;
import static org.assertj.core.api.Assertions.assertThat;

import io.bisectbot.SettableClock;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class RetentionCleanerTest {

    private final QueueFixture fixture = new QueueFixture();

    @AfterEach
    void close() {
        fixture.close();
    }

    private long finishedJob(String status, Instant finishedAt) {
        var id = fixture.queue("noop")
                .enqueue(job("noop").withRunAt(Instant.now().plusSeconds(3600)))
                .job()
                .id();
        fixture.sql
                .sql("UPDATE jobs SET status = :status, finished_at = :at WHERE id = :id")
                .param("status", status)
                .param("at", java.sql.Timestamp.from(finishedAt))
                .param("id", id)
                .update();
        fixture.sql
                .sql("INSERT INTO job_events (job_id, at, type) VALUES (:id, now(), 'claimed')")
                .param("id", id)
                .update();
        return id;
    }

    @Test
    void deletes_jobs_finished_before_the_retention_period_with_their_history_and_keeps_the_rest() {
        var now = Instant.parse("2026-06-01T00:00:00Z");
        var old = finishedJob("SUCCEEDED", now.minus(Duration.ofDays(40)));
        var oldFailed = finishedJob("FAILED", now.minus(Duration.ofDays(31)));
        var recent = finishedJob("SUCCEEDED", now.minus(Duration.ofDays(2)));
        var pending = fixture.queue("noop")
                .enqueue(job("noop").withRunAt(now.minus(Duration.ofDays(90))))
                .job()
                .id();
        var retry = fixture.sql
                .sql("INSERT INTO jobs (kind, retry_of) VALUES ('noop', :id) RETURNING id")
                .param("id", oldFailed)
                .query(Long.class)
                .single();

        var deleted = new RetentionCleaner(fixture.admin, new SettableClock(now), Duration.ofDays(30)).clean();

        assertThat(deleted).isEqualTo(2);
        var left = fixture.sql
                .sql("SELECT id FROM jobs ORDER BY id")
                .query(Long.class)
                .list();
        assertThat(left).contains(recent, pending, retry).doesNotContain(old, oldFailed);
        assertThat(fixture.sql
                        .sql("SELECT count(*) FROM job_events WHERE job_id IN (:a, :b)")
                        .param("a", old)
                        .param("b", oldFailed)
                        .query(Long.class)
                        .single())
                .isZero();
        assertThat(fixture.sql
                        .sql("SELECT retry_of FROM jobs WHERE id = :id")
                        .param("id", retry)
                        .query(Long.class)
                        .optional())
                .as("the retry stays, without its link")
                .isEmpty();
    }

    @Test
    void a_zero_retention_keeps_everything() {
        finishedJob("SUCCEEDED", Instant.parse("2000-01-01T00:00:00Z"));
        assertThat(new RetentionCleaner(fixture.admin, new SettableClock(Instant.now()), Duration.ZERO).clean())
                .isZero();
    }
}
