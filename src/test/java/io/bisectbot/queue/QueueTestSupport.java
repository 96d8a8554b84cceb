package io.bisectbot.queue;

import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import javax.sql.DataSource;
import tools.jackson.databind.json.JsonMapper;

/**
 * Test-scope entry points into the queue's package for programs outside it (the queue benchmark, other packages'
 * tests): a node with short timings, a simulated {@code kill -9} and one claim through the production SQL. Not part
 * of the service's API.
 */
public final class QueueTestSupport {

    private QueueTestSupport() {}

    /** Settings for a test node that claims, beats and recovers within a second or two. */
    public static QueueProperties quickTimings(String workerId) {
        return QueueProperties.defaults()
                .withWorkerId(workerId)
                .withTimings(
                        Duration.ofMillis(200), Duration.ofMillis(300), Duration.ofSeconds(2), Duration.ofMillis(300));
    }

    /** A node on {@code database} running {@code handlers}, on the system clock (not started). */
    public static QueueNode node(
            DataSource database, List<JobHandler> handlers, QueueProperties properties, MeterRegistry registry) {
        return QueueNode.create(
                database,
                handlers,
                properties,
                Clock.systemUTC(),
                registry,
                JsonMapper.builder().build(),
                "test");
    }

    /** Stops {@code node} like {@code kill -9}: nothing more is written, its running jobs are not released. */
    public static void crash(QueueNode node) {
        node.crash();
    }

    /** Runs the production claim statement once for {@code workerId}; returns the ids it claimed. */
    public static List<Long> claimOnce(DataSource dataSource, String workerId, int limit) {
        return new JobRepository(dataSource, JsonMapper.builder().build())
                .claim(workerId, limit, List.of(), Instant.now()).stream()
                        .map(Job::id)
                        .toList();
    }
}
