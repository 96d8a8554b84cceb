package io.bisectbot.queue;

import java.time.Instant;
import java.util.List;
import javax.sql.DataSource;
import tools.jackson.databind.json.JsonMapper;

/**
 * Test-scope entry points into the queue's package for programs outside it (the queue benchmark): a simulated
 * {@code kill -9} and one claim through the production SQL. Not part of the service's API.
 */
public final class QueueTestSupport {

    private QueueTestSupport() {}

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
