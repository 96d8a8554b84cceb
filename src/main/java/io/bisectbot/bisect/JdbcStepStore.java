package io.bisectbot.bisect;

import io.bisectbot.queue.JobFence;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.List;
import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * Bisect runs in PostgreSQL ({@code bisect_steps}). Each run is written under the job's fence: once the job was
 * taken from this worker, the write touches nothing and the search stops. A job resumes from its own runs and
 * from those of the job it retries, so neither a crash nor a retry repeats a finished run.
 */
final class JdbcStepStore implements StepStore {

    /** The job was taken back from this worker; nothing more of this attempt may be stored. */
    static final class FenceLostException extends IllegalStateException {
        FenceLostException(JobFence fence) {
            super("job " + fence.jobId() + " attempt " + fence.attempt() + " is no longer held by " + fence.workerId());
        }
    }

    private final JdbcClient jdbc;
    private final JobFence fence;
    private final Clock clock;

    JdbcStepStore(JdbcClient jdbc, JobFence fence, Clock clock) {
        this.jdbc = jdbc;
        this.fence = fence;
        this.clock = clock;
    }

    @Override
    public List<Run> load() {
        return fence.bind(jdbc.sql("WITH RECURSIVE " + JobFence.LINEAGE_CTE + """
                        SELECT s.* FROM bisect_steps s JOIN lineage l ON s.job_id = l.id
                         ORDER BY l.depth DESC, s.seq"""))
                .query((rs, row) -> {
                    var duration = Duration.ofMillis(rs.getLong("duration_ms"));
                    var exitCode = (Integer) rs.getObject("exit_code");
                    StepResult result = switch (rs.getString("outcome")) {
                        case "EXITED" -> new StepResult.Exited(exitCode, duration, (Double) rs.getObject("metric"));
                        case "TIMED_OUT" -> new StepResult.TimedOut(duration);
                        case "INFRA_ERROR" -> new StepResult.InfraError(rs.getString("message"), duration);
                        default -> new StepResult.Cancelled(duration);
                    };
                    var verdict = rs.getString("verdict");
                    return new Run(
                            rs.getString("commit_sha"),
                            rs.getInt("run_index"),
                            Purpose.valueOf(rs.getString("purpose")),
                            result,
                            verdict == null ? null : Verdict.valueOf(verdict),
                            duration);
                })
                .list();
    }

    @Override
    public synchronized void record(Run run) {
        String outcome;
        Integer exitCode = null;
        String message = null;
        Double metric = null;
        switch (run.result()) {
            case StepResult.Exited exited -> {
                outcome = "EXITED";
                exitCode = exited.exitCode();
                metric = exited.metric();
            }
            case StepResult.TimedOut ignored -> outcome = "TIMED_OUT";
            case StepResult.InfraError error -> {
                outcome = "INFRA_ERROR";
                message = error.message();
            }
            case StepResult.Cancelled ignored -> outcome = "CANCELLED";
        }
        var statement = jdbc.sql("""
                        INSERT INTO bisect_steps (job_id, seq, commit_sha, run_index, purpose, outcome, exit_code, message,
                                                  verdict, duration_ms, attempt, worker_id, recorded_at, metric)
                        SELECT :fence_job_id,
                               (SELECT coalesce(max(seq) + 1, 0) FROM bisect_steps WHERE job_id = :fence_job_id),
                               :commit, :run_index, :purpose, :outcome, :exit_code, :message,
                               :verdict, :duration_ms, :fence_attempt, :fence_worker_id, :now, :metric
                         WHERE\s""" + JobFence.SQL_CONDITION)
                .param("commit", run.commit())
                .param("run_index", run.runIndex())
                .param("purpose", run.purpose().name())
                .param("outcome", outcome)
                .param("exit_code", exitCode)
                .param("message", message)
                .param("verdict", run.verdict() == null ? null : run.verdict().name())
                .param("duration_ms", run.duration().toMillis())
                .param("now", clock.instant().atOffset(ZoneOffset.UTC))
                .param("metric", metric);
        if (fence.bind(statement).update() == 0) {
            throw new FenceLostException(fence);
        }
    }
}
