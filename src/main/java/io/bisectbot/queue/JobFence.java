package io.bisectbot.queue;

import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * Identifies one attempt of one job on one worker. Every write a worker makes about a job is conditional on its
 * fence still holding: once the job was taken back (heartbeat lost) or finished, the write touches 0 rows and the
 * worker knows its attempt is over. Features that store progress (bisect steps, logs) use {@link #SQL_CONDITION}.
 * These two fragments are the only SQL about {@code jobs} outside this package: they keep a feature's read or write
 * and the check of the job in one statement.
 */
public record JobFence(long jobId, String workerId, int attempt) {

    /** A SQL predicate that holds while this fence holds; bind it with {@link #bind}. */
    public static final String SQL_CONDITION = """
            EXISTS (SELECT 1 FROM jobs fenced
                    WHERE fenced.id = :fence_job_id          -- the job
                      AND fenced.worker_id = :fence_worker_id -- still held by this worker
                      AND fenced.attempt_count = :fence_attempt -- in this attempt
                      AND fenced.status = 'RUNNING')""";

    /**
     * A common table expression {@code lineage(id, depth)}: the fenced job (depth 0) and the jobs it retries through
     * {@code retry_of}, the original deepest. Start a statement with {@code WITH RECURSIVE} and this, and bind it.
     */
    public static final String LINEAGE_CTE = """
            lineage AS (
                SELECT id, retry_of, 0 AS depth FROM jobs WHERE id = :fence_job_id
                UNION ALL
                SELECT j.id, j.retry_of, l.depth + 1 FROM jobs j JOIN lineage l ON j.id = l.retry_of
            )""";

    public JdbcClient.StatementSpec bind(JdbcClient.StatementSpec statement) {
        return statement
                .param("fence_job_id", jobId)
                .param("fence_worker_id", workerId)
                .param("fence_attempt", attempt);
    }
}
