package io.bisectbot.bisect;

import io.bisectbot.queue.JobFence;
import java.time.Clock;
import java.time.ZoneOffset;
import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * Keeps {@code bisect_rounds} as the job runs: each round with the commits left, the commits it tests and the runs
 * going on, for the job's page. Every write is one short statement under the job's fence; a write that fails is only
 * a page that lags, so it never stops the search.
 */
final class RoundRecorder implements BisectProgress {

    private final JdbcClient jdbc;
    private final JobFence fence;
    private final Clock clock;
    private volatile int round;
    private volatile boolean started;

    RoundRecorder(JdbcClient jdbc, JobFence fence, Clock clock) {
        this.jdbc = jdbc;
        this.fence = fence;
        this.clock = clock;
    }

    /** How a running step is named in {@code running}. */
    static String runKey(StepRunner.Request step) {
        return step.purpose().name().toLowerCase() + ":" + step.commit() + ":" + step.runIndex();
    }

    @Override
    public synchronized void round(int round, int commitsLeft, int roundsToGo) {
        this.round = round;
        started = true;
        upsert(round, commitsLeft, roundsToGo);
    }

    @Override
    public synchronized void stepStarted(StepRunner.Request step) {
        if (!started) {
            // The runs before the first round (the ends, the merge bases) go into round 0.
            started = true;
            upsert(0, null, null);
        }
        write(jdbc.sql("""
                        UPDATE bisect_rounds
                           SET tested = CASE WHEN CAST(:commit AS text) = ANY(tested) THEN tested
                                             ELSE array_append(tested, CAST(:commit AS text)) END,
                               running = array_append(running, CAST(:run AS text))
                         WHERE job_id = :fence_job_id AND round = :round AND\s""" + JobFence.SQL_CONDITION)
                .param("commit", step.commit())
                .param("run", runKey(step))
                .param("round", round));
    }

    @Override
    public void stepEnded(StepRunner.Request step) {
        write(jdbc.sql("""
                        UPDATE bisect_rounds SET running = array_remove(running, CAST(:run AS text))
                         WHERE job_id = :fence_job_id AND CAST(:run AS text) = ANY(running) AND\s""" + JobFence.SQL_CONDITION).param("run", runKey(step)));
    }

    private void upsert(int round, Integer commitsLeft, Integer roundsToGo) {
        // A later attempt replaying the round starts it afresh: what an earlier attempt left running is not running.
        write(jdbc.sql("""
                        INSERT INTO bisect_rounds (job_id, round, commits_left, rounds_to_go, attempt, started_at)
                        SELECT :fence_job_id, CAST(:round AS integer), CAST(:commits_left AS integer), CAST(:rounds_to_go AS integer),
                               :fence_attempt, :now
                         WHERE\s""" + JobFence.SQL_CONDITION + """

                        ON CONFLICT (job_id, round) DO UPDATE
                           SET commits_left = excluded.commits_left, rounds_to_go = excluded.rounds_to_go,
                               attempt = excluded.attempt, started_at = excluded.started_at,
                               running = CASE WHEN bisect_rounds.attempt = excluded.attempt THEN bisect_rounds.running ELSE '{}' END""")
                .param("round", round)
                .param("commits_left", commitsLeft)
                .param("rounds_to_go", roundsToGo)
                .param("now", clock.instant().atOffset(ZoneOffset.UTC)));
    }

    private void write(JdbcClient.StatementSpec statement) {
        try {
            fence.bind(statement).update();
        } catch (RuntimeException e) {
            // The page lags behind; the search itself and its stored runs are unaffected.
            org.slf4j.LoggerFactory.getLogger(RoundRecorder.class)
                    .debug("bisect round of job {} not recorded: {}", fence.jobId(), e.getMessage());
        }
    }
}
