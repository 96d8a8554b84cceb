package io.bisectbot.bisect;

import static org.assertj.core.api.Assertions.assertThat;

import io.bisectbot.git.GitRepository;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Metric mode on real git histories with an in-process runner: each run "measures" the commit's {@code cost} file
 * with ±10 % uniform noise drawn from a generator seeded by (seed, commit, run).
 */
class MetricBisectTest {

    private static final int SEEDS = 40;

    @TempDir
    Path dir;

    /** Runs that print cost × noise, as {@code perf.sh} does, for a seed. */
    private static InProcessRunner noisy(Map<String, Double> costs, long seed, double noise) {
        return new InProcessRunner(r -> {
            var random = new SplittableRandom(seed * 1_000_003L + r.commit().hashCode() * 31L + r.runIndex());
            double value = costs.get(r.commit()) * (1 - noise + 2 * noise * random.nextDouble());
            return new StepResult.Exited(0, Duration.ofMillis(5), value);
        });
    }

    private static Map<String, Double> costs(List<String> shas, int slowFrom) {
        var costs = new HashMap<String, Double>();
        for (int i = 0; i < shas.size(); i++) costs.put(shas.get(i), slowFrom >= 0 && i >= slowFrom ? 130.0 : 100.0);
        return costs;
    }

    private BisectResult bisect(
            List<String> shas, StepRunner runner, StepStore store, BisectOptions options, MetricOptions metric) {
        var git = new GitHistory(GitRepository.open(dir.resolve(".git")));
        return new BisectEngine(git, runner, store).run(shas.getLast(), List.of(shas.getFirst()), options, metric);
    }

    @Test
    void a_thirty_percent_slowdown_under_ten_percent_noise_is_found_in_at_least_95_percent_of_seeds() throws Exception {
        var shas = TestRepos.metric(dir, 40, 23);
        var costs = costs(shas, 23);
        int found = 0;
        int runs = 0;
        for (long seed = 1; seed <= SEEDS; seed++) {
            var r = bisect(
                    shas,
                    noisy(costs, seed, 0.10),
                    StepStore.none(),
                    BisectOptions.defaults(),
                    MetricOptions.defaults());
            if (r.outcome() instanceof BisectOutcome.FirstBad f
                    && f.commit().sha().equals(shas.get(23))) found++;
            runs += r.testRuns() + r.verificationRuns();
        }
        assertThat(found)
                .as("seeds (of %d) that named commit 23; %d runs in all", SEEDS, runs)
                .isGreaterThanOrEqualTo(38);
    }

    @Test
    void the_report_gives_the_size_of_the_regression_at_the_culprit_and_every_tested_commits_sample() throws Exception {
        var shas = TestRepos.metric(dir, 40, 23);
        var r = bisect(
                shas,
                noisy(costs(shas, 23), 7, 0.10),
                StepStore.none(),
                BisectOptions.defaults(),
                MetricOptions.defaults());
        assertThat(r.outcome())
                .isInstanceOfSatisfying(
                        BisectOutcome.FirstBad.class,
                        f -> assertThat(f.commit().sha()).isEqualTo(shas.get(23)));
        var metric = r.metric();
        assertThat(metric.atCulprit().commit()).isEqualTo(shas.get(23));
        assertThat(metric.atCulprit().against()).isEqualTo(shas.get(22));
        assertThat(metric.atCulprit().change()).isBetween(0.15, 0.45);
        assertThat(metric.atCulprit().pValue()).isLessThan(0.05);
        assertThat(metric.commits().getFirst().role()).isEqualTo("good");
        assertThat(metric.commits().getLast().role()).isEqualTo("bad");
        assertThat(metric.commits()).allSatisfy(c -> assertThat(c.n()).isGreaterThanOrEqualTo(5));
        var culprit = metric.commits().stream()
                .filter(c -> c.commit().sha().equals(shas.get(23)))
                .findFirst()
                .orElseThrow();
        assertThat(culprit.verdict()).isEqualTo(Verdict.BAD);
        assertThat(culprit.median()).isBetween(117.0, 143.0);
        assertThat(culprit.q1()).isLessThanOrEqualTo(culprit.median());
        assertThat(culprit.q3()).isGreaterThanOrEqualTo(culprit.median());

        var md = BisectReport.markdown(r, dir.toString(), "sh perf.sh");
        assertThat(md)
                .contains("### Measurements")
                .contains("Regression at the culprit:")
                .contains("chart.svg")
                .contains("| Commit | Subject | Role | n | Median |");
        assertThat(BisectReport.terminal(r, "sh perf.sh", null, false)).contains("Regression at the culprit: +");
        var svg = MetricChart.svg(metric);
        assertThat(svg)
                .startsWith("<svg xmlns=\"http://www.w3.org/2000/svg\"")
                .contains("<circle")
                .endsWith("</svg>\n");
    }

    @Test
    void a_history_without_a_regression_says_no_significant_change_and_names_no_commit() throws Exception {
        var shas = TestRepos.metric(dir, 40, -1);
        var costs = costs(shas, -1);
        int none = 0;
        for (long seed = 1; seed <= SEEDS; seed++) {
            var r = bisect(
                    shas,
                    noisy(costs, seed, 0.10),
                    StepStore.none(),
                    BisectOptions.defaults(),
                    MetricOptions.defaults());
            if (r.outcome() instanceof BisectOutcome.NoSignificantChange) none++;
            assertThat(r.outcome()).isNotInstanceOf(BisectOutcome.FirstBad.class);
        }
        assertThat(none).isGreaterThanOrEqualTo(38);
        var r = bisect(
                shas, noisy(costs, 3, 0.10), StepStore.none(), BisectOptions.defaults(), MetricOptions.defaults());
        assertThat(r.outcome())
                .isInstanceOfSatisfying(
                        BisectOutcome.NoSignificantChange.class,
                        n -> assertThat(n.message())
                                .startsWith("No significant change: bad " + shas.getLast())
                                .contains("No commit is named"));
        assertThat(r.testRuns()).as("nothing is searched").isZero();
        assertThat(r.metric().atCulprit()).isNull();
        assertThat(r.metric().atBadEnd().commit()).isEqualTo(shas.getLast());
    }

    @Test
    void an_inconclusive_comparison_adds_runs_up_to_the_cap_and_then_names_no_commit() throws Exception {
        var shas = TestRepos.metric(dir, 8, -1);
        // Bad end: alternately far above and below a steady 100: a median 11 % worse that is never significant.
        var calls = new AtomicInteger();
        var runner = new InProcessRunner(r -> {
            double value = r.commit().equals(shas.getFirst())
                    ? 100 + (r.runIndex() % 3)
                    : r.runIndex() % 2 == 0 ? 130 + r.runIndex() : 95 - r.runIndex();
            calls.incrementAndGet();
            return new StepResult.Exited(0, Duration.ofMillis(5), value);
        });
        var metric = new MetricOptions(
                MetricOptions.Source.STDOUT, MetricOptions.Direction.LOWER_IS_BETTER, 4, 16, 0.10, 0.05);
        var r = bisect(shas, runner, StepStore.none(), BisectOptions.defaults(), metric);
        assertThat(r.outcome()).isInstanceOf(BisectOutcome.NoSignificantChange.class);
        var bad = r.metric().commits().stream()
                .filter(c -> c.role().equals("bad"))
                .findFirst()
                .orElseThrow();
        assertThat(bad.n()).isEqualTo(16);
        assertThat(r.metric().commits().getFirst().n())
                .as("the good end is measured as often")
                .isEqualTo(16);
        assertThat(calls.get()).isEqualTo(32);
    }

    @Test
    void a_run_that_prints_no_number_cannot_be_measured_and_an_end_without_a_number_stops_the_job() throws Exception {
        var shas = TestRepos.metric(dir, 8, 4);
        var runner = new InProcessRunner(
                r -> new StepResult.Exited(0, Duration.ofMillis(5), r.commit().equals(shas.getFirst()) ? null : 130.0));
        var r = bisect(shas, runner, StepStore.none(), BisectOptions.defaults(), MetricOptions.defaults());
        assertThat(r.outcome()).isInstanceOfSatisfying(BisectOutcome.EndsNotAsExpected.class, e -> {
            assertThat(e.problems())
                    .containsExactly(new BisectOutcome.EndCheck(shas.getFirst(), Verdict.GOOD, Verdict.SKIP));
            assertThat(e.advice()).contains("print the metric as the last number on standard output");
        });
    }

    @Test
    void wall_time_is_the_metric_when_asked_and_lower_is_worse_when_higher_is_better() throws Exception {
        var shas = TestRepos.metric(dir, 16, 9);
        var costs = costs(shas, 9);
        var wall = new InProcessRunner(r -> {
            var random = new SplittableRandom(r.commit().hashCode() * 31L + r.runIndex());
            long ms = Math.round(costs.get(r.commit()) * (0.9 + 0.2 * random.nextDouble()));
            return new StepResult.Exited(0, Duration.ofMillis(ms));
        });
        var byWall = new MetricOptions(
                MetricOptions.Source.WALL, MetricOptions.Direction.LOWER_IS_BETTER, 5, 20, 0.10, 0.05);
        var r = bisect(shas, wall, StepStore.none(), BisectOptions.defaults(), byWall);
        assertThat(r.outcome())
                .isInstanceOfSatisfying(
                        BisectOutcome.FirstBad.class,
                        f -> assertThat(f.commit().sha()).isEqualTo(shas.get(9)));
        assertThat(r.metric().commits().getFirst().median()).isBetween(0.09, 0.11);

        // Throughput drops by a quarter from commit 9 on.
        var throughput = new InProcessRunner(r2 -> new StepResult.Exited(
                0, Duration.ofMillis(5), (costs.get(r2.commit()) == 130.0 ? 75.0 : 100.0) + r2.runIndex() % 3));
        var higher = new MetricOptions(
                MetricOptions.Source.STDOUT, MetricOptions.Direction.HIGHER_IS_BETTER, 5, 20, 0.10, 0.05);
        var r2 = bisect(shas, throughput, StepStore.none(), BisectOptions.defaults(), higher);
        assertThat(r2.outcome())
                .isInstanceOfSatisfying(
                        BisectOutcome.FirstBad.class,
                        f -> assertThat(f.commit().sha()).isEqualTo(shas.get(9)));
        assertThat(r2.metric().atCulprit().change()).isBetween(0.2, 0.3);
    }

    @Test
    void a_resumed_job_reuses_every_stored_measurement_and_reaches_the_same_answer_without_running_again()
            throws Exception {
        var shas = TestRepos.metric(dir, 24, 13);
        var store = new MemoryStore();
        var first = bisect(
                shas, noisy(costs(shas, 13), 5, 0.10), store, BisectOptions.defaults(), MetricOptions.defaults());
        var rerun = new InProcessRunner(r -> {
            throw new AssertionError("ran " + r + " again");
        });
        var second = bisect(shas, rerun, store, BisectOptions.defaults(), MetricOptions.defaults());
        assertThat(second.outcome()).isEqualTo(first.outcome());
        assertThat(second.reusedRuns()).isEqualTo(first.testRuns() + first.verificationRuns());
        assertThat(second.metric().commits()).isEqualTo(first.metric().commits());
    }

    @Test
    void parallel_slots_find_the_same_commit() throws Exception {
        var shas = TestRepos.metric(dir, 40, 23);
        var r = bisect(
                shas,
                noisy(costs(shas, 23), 11, 0.10),
                StepStore.none(),
                BisectOptions.defaults().withSlots(3),
                MetricOptions.defaults());
        assertThat(r.outcome())
                .isInstanceOfSatisfying(
                        BisectOutcome.FirstBad.class,
                        f -> assertThat(f.commit().sha()).isEqualTo(shas.get(23)));
    }

    private static final class MemoryStore implements StepStore {
        private final List<Run> runs = new ArrayList<>();

        @Override
        public List<Run> load() {
            return List.copyOf(runs);
        }

        @Override
        public void record(Run run) {
            runs.add(run);
        }
    }
}
