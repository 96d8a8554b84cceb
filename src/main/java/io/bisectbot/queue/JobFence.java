package io.bisectbot.queue;

import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * Identifies one attempt of one job on one worker. Every write a worker makes about a job is conditional on its
 * fence still holding: once the job was taken back (heartbeat lost) or finished, the write touches 0 rows and the
 * worker knows its attempt is over. Features that store progress (bisect steps, logs) use {@link #SQL_CONDITION}.
 */
public record JobFence(long jobId, String workerId, int attempt) {

    /** A SQL predicate that holds while this fence holds; bind it with {@link #bind}. */
    public static final String SQL_CONDITION = """
            EXISTS (SELECT 1 FROM jobs fenced
                    WHERE fenced.id = :fence_job_id          -- the job
                      AND fenced.worker_id = :fence_worker_id -- still held by this worker
                      AND fenced.attempt_count = :fence_attempt -- in this attempt
                      AND fenced.status = 'RUNNING')""";

    public JdbcClient.StatementSpec bind(JdbcClient.StatementSpec statement) {
        return statement.param("fence_job_id", jobId).param("fence_worker_id", workerId).param("fence_attempt", attempt);
    }
}
