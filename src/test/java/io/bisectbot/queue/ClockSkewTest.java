package io.bisectbot.queue;

import static io.bisectbot.queue.QueueFixture.fastProperties;
import static io.bisectbot.queue.QueueFixture.handler;
import static io.bisectbot.queue.QueueFixture.job;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.bisectbot.TestDatabase;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** One instance's clock 5 minutes ahead, another's 5 minutes behind: the database's clock decides for both. */
class ClockSkewTest {

    private final QueueFixture fixture = new QueueFixture();
    private final List<QueueNode> nodes = new CopyOnWriteArrayList<>();
    private final List<com.zaxxer.hikari.HikariDataSource> pools = new CopyOnWriteArrayList<>();

    @AfterEach
    void close() {
        nodes.forEach(QueueNode::crash);
        pools.forEach(com.zaxxer.hikari.HikariDataSource::close);
        fixture.close();
    }

    private QueueNode node(String workerId, Duration skew, JobHandler... handlers) {
        var pool = TestDatabase.pool(fixture.jdbcUrl, 6);
        pools.add(pool);
        var clock = new DatabaseClock(Clock.offset(Clock.systemUTC(), skew), pool);
        var properties = fastProperties(workerId)
                .withTimings(
                        Duration.ofMillis(200), Duration.ofMillis(500), Duration.ofSeconds(3), Duration.ofMillis(300));
        var node = QueueNode.create(
                pool, List.of(handlers), properties, clock, new SimpleMeterRegistry(), QueueFixture.JSON, "test");
        nodes.add(node);
        return node;
    }

    private Instant databaseNow() {
        return fixture.sql
                .sql("SELECT clock_timestamp()")
                .query(java.time.OffsetDateTime.class)
                .single()
                .toInstant();
    }

    @Test
    void an_instance_whose_clock_runs_ahead_takes_no_job_from_a_live_one_and_fires_no_deadline_early() {
        var started = new CopyOnWriteArrayList<String>();
        var firedAt = new CopyOnWriteArrayList<Instant>();
        // Identical instances run every kind: whichever claims the deadline job, it must not be early.
        JobHandler deadlineHandler = handler("deadline", context -> {
            firedAt.add(Instant.now());
            return JobOutcome.succeeded(null);
        });
        var behind = node(
                "behind",
                Duration.ofMinutes(-5),
                handler("long", context -> {
                    started.add("behind");
                    Thread.sleep(4000); // longer than stale-after: only heartbeats keep it
                    return JobOutcome.succeeded(null);
                }),
                deadlineHandler);
        behind.start();
        var id = behind.queue().enqueue(job("long")).job().id();
        await().atMost(Duration.ofSeconds(10)).until(() -> started.size() == 1);

        var ahead = node(
                "ahead",
                Duration.ofMinutes(5),
                handler("long", context -> {
                    started.add("ahead");
                    return JobOutcome.succeeded(null);
                }),
                deadlineHandler);
        ahead.start();
        assertThat(ahead.clockOffsetMillis()).isBetween(-302_000L, -298_000L);
        assertThat(behind.clockOffsetMillis()).isBetween(298_000L, 302_000L);
        var due = databaseNow().plusSeconds(3);
        var deadline =
                ahead.queue().enqueue(job("deadline").withRunAt(due)).job().id();

        await().atMost(Duration.ofSeconds(30))
                .until(() ->
                        fixture.status(id) == JobStatus.SUCCEEDED && fixture.status(deadline) == JobStatus.SUCCEEDED);
        assertThat(fixture.eventTypes(id)).containsExactly("claimed", "succeeded");
        assertThat(started).containsExactly("behind");
        assertThat(firedAt.getFirst()).isAfterOrEqualTo(due.minusMillis(100));
    }
}
