package io.bisectbot.bisect;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The command line's progress as a terminal shows it (redrawn in place) and as a file or pipe gets it (plain lines). */
class StatusLineTest {

    private static final String ERASE = "\u001b[K";
    private static final String SHA = "4dd92080e3adfd20c2a993d62ad8edd43838efe3";

    private final ByteArrayOutputStream written = new ByteArrayOutputStream();
    private final AtomicLong nanos = new AtomicLong(1_000_000_000L);

    private StatusLine line(boolean terminal, int columns) {
        return new StatusLine(new PrintStream(written, true, StandardCharsets.UTF_8), terminal, columns, nanos::get);
    }

    private String take() {
        var text = written.toString(StandardCharsets.UTF_8);
        written.reset();
        return text;
    }

    private void seconds(double seconds) {
        nanos.addAndGet((long) (seconds * 1e9));
    }

    @Test
    void on_a_terminal_the_status_line_is_redrawn_in_place_with_round_commits_left_and_running_steps() {
        var status = line(true, 120);
        status.round(2, 7, 3);
        status.stepStarted(new StepRunner.Request(SHA, 0, Purpose.SEARCH));
        seconds(1);
        status.refresh();
        assertThat(take())
                .isEqualTo("\rround 2 · 7 commits left · about 3 rounds to go · running: search 4dd92080e3 1s" + ERASE);

        seconds(2.5);
        status.refresh();
        assertThat(take())
                .isEqualTo("\rround 2 · 7 commits left · about 3 rounds to go · running: search 4dd92080e3 3s" + ERASE);
    }

    @Test
    void an_unchanged_line_is_not_written_again_and_redraws_come_at_most_four_times_a_second() {
        var status = line(true, 120);
        status.round(1, 16, 4);
        status.refresh();
        assertThat(take()).contains("round 1");
        seconds(1);
        status.refresh();
        assertThat(take()).as("same text").isEmpty();

        status.stepStarted(new StepRunner.Request(SHA, 0, Purpose.SEARCH));
        status.refresh();
        assertThat(take()).contains("running: search");
        status.stepEnded(new StepRunner.Request(SHA, 0, Purpose.SEARCH));
        seconds(0.1);
        status.refresh();
        assertThat(take()).as("changed, but drawn 100 ms ago").isEmpty();
        seconds(0.2);
        status.refresh();
        assertThat(take()).isEqualTo("\rround 1 · 16 commits left · about 4 rounds to go" + ERASE);
    }

    @Test
    void a_finished_step_is_printed_above_the_status_line_and_the_report_comes_after_it_is_cleared() {
        var status = line(true, 120);
        status.refresh();
        assertThat(take()).isEqualTo("\rverifying the ends" + ERASE);
        status.println("  verify   7e36912d0d run 1: bad (exit 1), 0.8 s");
        assertThat(take())
                .isEqualTo("\r  verify   7e36912d0d run 1: bad (exit 1), 0.8 s" + ERASE + "\n\rverifying the ends"
                        + ERASE);
        status.clear();
        assertThat(take()).isEqualTo("\r" + ERASE);
        status.clear();
        assertThat(take()).as("nothing left to clear").isEmpty();
        status.println("");
        status.refresh();
        assertThat(take()).as("no status line below the report").isEqualTo("\r" + ERASE + "\n");
    }

    @Test
    void the_line_never_wraps_the_terminal() {
        var status = line(true, 40);
        status.round(1, 1000, 10);
        status.stepStarted(new StepRunner.Request(SHA, 0, Purpose.SEARCH));
        status.stepStarted(new StepRunner.Request("831852d68802b4134bf84d1be23c7bdc54f9c2f7", 2, Purpose.SEARCH));
        status.refresh();
        var drawn = take();
        var text = drawn.substring(1, drawn.length() - ERASE.length());
        assertThat(text).hasSizeLessThan(40).endsWith("…").startsWith("round 1 · 1000 commits left");
    }

    @Test
    void elsewhere_only_the_plain_lines_are_written_without_control_characters() {
        var status = line(false, 80);
        status.round(1, 16, 4);
        status.stepStarted(new StepRunner.Request(SHA, 0, Purpose.SEARCH));
        status.refresh();
        status.println("  search   4dd92080e3 run 1: good (exit 0), 0.7 s");
        seconds(5);
        status.refresh();
        status.clear();
        assertThat(take()).isEqualTo("  search   4dd92080e3 run 1: good (exit 0), 0.7 s" + System.lineSeparator());
    }

    @Test
    void the_engine_tells_each_round_with_fewer_commits_left_and_every_step_that_starts_ends() {
        var history = InMemoryHistory.linear(64);
        var rounds = new ArrayList<List<Integer>>();
        var running = new ArrayList<StepRunner.Request>();
        var ended = new ArrayList<StepRunner.Request>();
        var progress = new BisectProgress() {
            @Override
            public void round(int round, int commitsLeft, int roundsToGo) {
                rounds.add(List.of(round, commitsLeft, roundsToGo));
            }

            @Override
            public void stepStarted(StepRunner.Request step) {
                running.add(step);
            }

            @Override
            public void stepEnded(StepRunner.Request step) {
                ended.add(step);
            }
        };
        var result = new BisectEngine(
                        history,
                        InProcessRunner.exitCodes(sha -> InMemoryHistory.index(sha) >= 23 ? 1 : 0),
                        StepStore.none(),
                        progress)
                .run(history.tip(), List.of(InMemoryHistory.sha(0)), BisectOptions.defaults());

        assertThat(result.outcome()).isInstanceOf(BisectOutcome.FirstBad.class);
        assertThat(rounds).hasSize(result.rounds());
        assertThat(rounds.getFirst()).containsExactly(1, 63, 6);
        for (int i = 1; i < rounds.size(); i++) {
            assertThat(rounds.get(i).get(0)).isEqualTo(i + 1);
            assertThat(rounds.get(i).get(1)).isLessThan(rounds.get(i - 1).get(1));
        }
        assertThat(ended).containsExactlyElementsOf(running);
        assertThat(running).hasSize(result.steps().size());
    }

    @Test
    void rounds_to_go_follow_the_slots() {
        assertThat(BisectProgress.roundsToGo(1, 1)).isZero();
        assertThat(BisectProgress.roundsToGo(16, 1)).isEqualTo(4);
        assertThat(BisectProgress.roundsToGo(17, 1)).isEqualTo(5);
        assertThat(BisectProgress.roundsToGo(1000, 3)).isEqualTo(5);
    }
}
