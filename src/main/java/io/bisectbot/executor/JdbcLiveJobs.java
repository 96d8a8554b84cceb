package io.bisectbot.executor;

import org.springframework.jdbc.core.simple.JdbcClient;

/** {@link LiveJobs} read straight from the queue tables: the attempt counter is the job's fence. */
final class JdbcLiveJobs implements LiveJobs {

    private final JdbcClient jdbc;

    JdbcLiveJobs(JdbcClient jdbc) {
        this.jdbc = jdbc;
    }

    @Override
    public boolean isRunning(long jobId, String workerId, int attempt) {
        return jdbc.sql("""
                        SELECT EXISTS (
                            SELECT 1
                              FROM jobs j
                              JOIN workers w ON w.id = j.worker_id
                             WHERE j.id = :jobId
                               AND j.status = 'RUNNING'
                               AND j.worker_id = :workerId
                               AND j.attempt_count = :attempt
                               AND w.state <> 'STOPPED')
                        """)
                .param("jobId", jobId)
                .param("workerId", workerId)
                .param("attempt", attempt)
                .query(Boolean.class)
                .single();
    }
}
