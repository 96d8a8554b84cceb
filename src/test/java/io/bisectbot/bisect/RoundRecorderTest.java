package io.bisectbot.bisect;

import static org.assertj.core.api.Assertions.assertThat;

import io.bisectbot.TestDatabase;
import io.bisectbot.queue.JobFence;
import java.time.Clock;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.core.simple.JdbcClient;

/** The rounds a running bisection writes for its page: the range narrowing, the commits each round tests, the runs going on. */
class RoundRecorderTest {

    private static final com.zaxxer.hikari.HikariDataSource database = TestDatabase.migrated();
    private static final JdbcClient jdbc = JdbcClient.create(database);

    @AfterAll
    static void close() {
        database.close();
    }

    static JobFence runningJob() {
        var id = jdbc.sql("""
                        INSERT INTO jobs (kind, status, worker_id, attempt_count, heartbeat_at, claimed_at, started_at)
                        VALUES ('bisect', 'RUNNING', 'w1', 1, now(), now(), now()) RETURNING id""").query(Long.class).single();
        return new JobFence(id, "w1", 1);
    }

    @Test
    void a_bisection_records_each_round_with_the_commits_left_and_the_commits_it_tested() {
        var fence = runningJob();
        var history = InMemoryHistory.linear(64);
        var culprit = 37;
        var runner = InProcessRunner.exitCodes(sha -> InMemoryHistory.index(sha) >= culprit ? 1 : 0);
        var result = new BisectEngine(
                        history, runner, StepStore.none(), new RoundRecorder(jdbc, fence, Clock.systemUTC()))
                .run(history.tip(), List.of(InMemoryHistory.sha(0)), BisectOptions.defaults());
        assertThat(result.outcome()).isInstanceOf(BisectOutcome.FirstBad.class);

        var rounds = new BisectHistory(jdbc).rounds(fence.jobId());
        assertThat(rounds.getFirst().round()).as("the ends first").isZero();
        assertThat(rounds.getFirst().tested()).containsExactlyInAnyOrder(history.tip(), InMemoryHistory.sha(0));
        assertThat(rounds).hasSize(result.rounds() + 1);
        var left = rounds.stream().skip(1).map(BisectHistory.Round::commitsLeft).toList();
        assertThat(left.getFirst()).isEqualTo(result.candidateCount());
        assertThat(left)
                .as("the range narrows every round")
                .isSortedAccordingTo(java.util.Comparator.reverseOrder())
                .doesNotHaveDuplicates();
        assertThat(rounds.stream().skip(1))
                .allSatisfy(r -> assertThat(r.tested())
                        .as("one slot: one commit a round")
                        .hasSize(1));
        assertThat(rounds)
                .allSatisfy(r ->
                        assertThat(r.running()).as("nothing runs once it ended").isEmpty());
    }

    @Test
    void a_run_is_listed_while_it_runs_and_a_taken_back_job_writes_nothing() {
        var fence = runningJob();
        var recorder = new RoundRecorder(jdbc, fence, Clock.systemUTC());
        var verify = new StepRunner.Request("a".repeat(40), 0, Purpose.VERIFY);
        recorder.stepStarted(verify);
        recorder.round(1, 10, 4);
        var search = new StepRunner.Request("b".repeat(40), 1, Purpose.SEARCH);
        recorder.stepStarted(search);
        recorder.stepEnded(verify);

        var rounds = new BisectHistory(jdbc).rounds(fence.jobId());
        assertThat(rounds).extracting(BisectHistory.Round::round).containsExactly(0, 1);
        assertThat(rounds.get(0).running()).isEmpty();
        assertThat(rounds.get(1).commitsLeft()).isEqualTo(10);
        assertThat(rounds.get(1).roundsToGo()).isEqualTo(4);
        assertThat(rounds.get(1).running()).containsExactly(new BisectHistory.Run("b".repeat(40), 2, "search"));

        jdbc.sql("UPDATE jobs SET worker_id = 'w2', attempt_count = 2 WHERE id = :id")
                .param("id", fence.jobId())
                .update();
        recorder.stepEnded(search);
        recorder.round(2, 5, 3);
        assertThat(new BisectHistory(jdbc).rounds(fence.jobId()))
                .as("the old attempt's writes touch nothing")
                .hasSize(2)
                .last()
                .satisfies(r -> assertThat(r.running()).hasSize(1));
    }
}
