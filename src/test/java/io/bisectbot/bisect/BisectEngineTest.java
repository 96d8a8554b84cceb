package io.bisectbot.bisect;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.bisectbot.bisect.BisectOptions.RepeatRule;
import io.bisectbot.bisect.BisectOptions.TimeoutVerdict;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class BisectEngineTest {

    private static final Duration D = Duration.ofMillis(5);

    private static int exitFor(int commit, int culprit) {
        return commit >= culprit ? 1 : 0;
    }

    private static BisectResult bisect(
            InMemoryHistory h, StepRunner runner, StepStore store, BisectOptions options, int good) {
        return new BisectEngine(h, runner, store).run(h.tip(), List.of(InMemoryHistory.sha(good)), options);
    }

    private static int culpritOf(BisectResult r) {
        return switch (r.outcome()) {
            case BisectOutcome.FirstBad f -> InMemoryHistory.index(f.commit().sha());
            default -> -1;
        };
    }

    // ---------------------------------------------------------------- ends

    @Test
    void stops_with_advice_instead_of_a_culprit_when_the_good_end_fails() {
        InMemoryHistory h = InMemoryHistory.linear(50);
        InProcessRunner runner = InProcessRunner.exitCodes(sha -> 1);
        BisectResult r = bisect(h, runner, StepStore.none(), BisectOptions.defaults(), 0);
        assertThat(r.outcome()).isInstanceOfSatisfying(BisectOutcome.EndsNotAsExpected.class, e -> {
            assertThat(e.problems())
                    .containsExactly(new BisectOutcome.EndCheck(InMemoryHistory.sha(0), Verdict.GOOD, Verdict.BAD));
            assertThat(e.advice())
                    .contains("good " + InMemoryHistory.sha(0) + " fails")
                    .contains("exit 0");
        });
        assertThat(r.testRuns()).isZero();
        assertThat(r.verificationRuns()).isEqualTo(2);
    }

    @Test
    void with_free_slots_starts_searching_beside_the_ends_but_still_stops_when_an_end_is_wrong() {
        InMemoryHistory h = InMemoryHistory.linear(50);
        InProcessRunner runner = InProcessRunner.exitCodes(sha -> 1);
        BisectResult r =
                bisect(h, runner, StepStore.none(), BisectOptions.defaults().withSlots(3), 0);
        assertThat(runner.started)
                .filteredOn(s -> s.purpose() == Purpose.SEARCH)
                .hasSize(1);
        assertThat(r.outcome())
                .isInstanceOfSatisfying(
                        BisectOutcome.EndsNotAsExpected.class,
                        e -> assertThat(e.problems())
                                .containsExactly(
                                        new BisectOutcome.EndCheck(InMemoryHistory.sha(0), Verdict.GOOD, Verdict.BAD)));
        assertThat(r.verificationRuns()).isEqualTo(2);
    }

    @Test
    void stops_with_advice_instead_of_a_culprit_when_the_bad_end_passes() {
        InMemoryHistory h = InMemoryHistory.linear(50);
        BisectResult r = bisect(h, InProcessRunner.exitCodes(sha -> 0), StepStore.none(), BisectOptions.defaults(), 0);
        assertThat(r.outcome())
                .isInstanceOfSatisfying(
                        BisectOutcome.EndsNotAsExpected.class,
                        e -> assertThat(e.problems())
                                .containsExactly(new BisectOutcome.EndCheck(h.tip(), Verdict.BAD, Verdict.GOOD)));
    }

    @Test
    void rejects_unknown_revisions_and_a_bad_end_older_than_the_good_one() {
        InMemoryHistory h = InMemoryHistory.linear(10);
        BisectEngine engine = new BisectEngine(h, InProcessRunner.exitCodes(sha -> 1), StepStore.none());
        assertThatThrownBy(() -> engine.run("nope", List.of(InMemoryHistory.sha(0)), BisectOptions.defaults()))
                .isInstanceOfSatisfying(
                        BisectSetupException.class,
                        e -> assertThat(e.problem()).isEqualTo(BisectSetupException.Problem.UNKNOWN_REVISION));
        assertThatThrownBy(() ->
                        engine.run(InMemoryHistory.sha(2), List.of(InMemoryHistory.sha(7)), BisectOptions.defaults()))
                .isInstanceOfSatisfying(BisectSetupException.class, e -> {
                    assertThat(e.problem()).isEqualTo(BisectSetupException.Problem.BAD_NOT_AFTER_GOOD);
                    assertThat(e.getMessage()).contains("The merge base " + InMemoryHistory.sha(2) + " is bad");
                });
    }

    @Test
    void reports_a_bad_merge_base_as_git_does_when_the_good_end_is_on_a_fixed_branch() {
        // 0 good, 1 breaks, 2 fixes it on a side branch, 3 continues the broken line.
        InMemoryHistory h = new InMemoryHistory(List.of(new int[0], new int[] {0}, new int[] {1}, new int[] {1}));
        InProcessRunner runner = InProcessRunner.exitCodes(sha -> switch (InMemoryHistory.index(sha)) {
            case 0, 2 -> 0;
            default -> 1;
        });
        BisectResult r = new BisectEngine(h, runner, StepStore.none())
                .run(InMemoryHistory.sha(3), List.of(InMemoryHistory.sha(2)), BisectOptions.defaults());
        assertThat(r.outcome()).isInstanceOfSatisfying(BisectOutcome.MergeBaseBad.class, m -> {
            assertThat(m.mergeBase()).isEqualTo(InMemoryHistory.sha(1));
            assertThat(m.message()).contains("This means the bug has been fixed between");
        });
    }

    // ---------------------------------------------------------------- exit codes

    @Test
    void treats_exit_125_as_skip_and_names_every_possible_culprit_when_only_skips_remain() {
        InMemoryHistory h = InMemoryHistory.linear(40);
        int culprit = 20;
        InProcessRunner runner = InProcessRunner.exitCodes(sha -> {
            int i = InMemoryHistory.index(sha);
            return i == 19 || i == 20 ? 125 : exitFor(i, culprit);
        });
        BisectResult r = bisect(h, runner, StepStore.none(), BisectOptions.defaults(), 0);
        assertThat(r.outcome())
                .isInstanceOfSatisfying(
                        BisectOutcome.OnlySkippedLeft.class,
                        o -> assertThat(o.candidates())
                                .extracting(CommitInfo::sha)
                                .containsExactlyInAnyOrder(
                                        InMemoryHistory.sha(19), InMemoryHistory.sha(20), InMemoryHistory.sha(21)));
    }

    @Test
    void retries_runs_that_exit_128_or_fail_for_infrastructure_reasons_without_counting_them_as_verdicts() {
        InMemoryHistory h = InMemoryHistory.linear(64);
        int culprit = 37;
        Set<String> brokenOnce = ConcurrentHashMap.newKeySet();
        AtomicInteger n = new AtomicInteger();
        InProcessRunner runner = new InProcessRunner(req -> {
            if (req.purpose() == Purpose.SEARCH && brokenOnce.add(req.commit())) {
                return n.incrementAndGet() % 2 == 0
                        ? new StepResult.Exited(129, D)
                        : new StepResult.InfraError("image pull failed", D);
            }
            return new StepResult.Exited(exitFor(InMemoryHistory.index(req.commit()), culprit), D);
        });
        BisectResult r = bisect(h, runner, StepStore.none(), BisectOptions.defaults(), 0);
        assertThat(culpritOf(r)).isEqualTo(culprit);
        long infra = r.steps().stream().filter(s -> s.verdict() == null).count();
        assertThat(infra).isEqualTo(brokenOnce.size()).isPositive();
        assertThat(r.steps())
                .filteredOn(s -> s.result() instanceof StepResult.Exited e && e.exitCode() == 129)
                .allSatisfy(s -> assertThat(s.verdict()).isNull());
    }

    @Test
    void aborts_the_job_when_a_commit_keeps_failing_for_infrastructure_reasons() {
        InMemoryHistory h = InMemoryHistory.linear(16);
        InProcessRunner runner = new InProcessRunner(req -> req.purpose() == Purpose.SEARCH
                ? new StepResult.InfraError("no space left on device", D)
                : new StepResult.Exited(exitFor(InMemoryHistory.index(req.commit()), 9), D));
        BisectResult r = bisect(h, runner, StepStore.none(), BisectOptions.defaults(), 0);
        assertThat(r.outcome())
                .isInstanceOfSatisfying(
                        BisectOutcome.Aborted.class, a -> assertThat(a.reason()).contains("no space left on device"));
        assertThat(runner.startedFor(Purpose.SEARCH)).isEqualTo(3); // one try and two retries
    }

    @Test
    void counts_a_timed_out_run_as_skip_by_default_and_as_bad_when_asked() {
        InMemoryHistory h = InMemoryHistory.linear(30);
        int culprit = 12;
        // The culprit hangs instead of failing: skip leaves it and its parent undecided, bad finds it.
        InProcessRunner skipRunner = new InProcessRunner(req -> InMemoryHistory.index(req.commit()) == culprit
                ? new StepResult.TimedOut(Duration.ofMinutes(10))
                : new StepResult.Exited(exitFor(InMemoryHistory.index(req.commit()), culprit), D));
        BisectResult skipped = bisect(h, skipRunner, StepStore.none(), BisectOptions.defaults(), 0);
        assertThat(skipped.outcome())
                .isInstanceOfSatisfying(
                        BisectOutcome.OnlySkippedLeft.class,
                        o -> assertThat(o.candidates())
                                .extracting(CommitInfo::sha)
                                .containsExactlyInAnyOrder(InMemoryHistory.sha(12), InMemoryHistory.sha(13)));

        InProcessRunner badRunner = new InProcessRunner(req -> InMemoryHistory.index(req.commit()) == culprit
                ? new StepResult.TimedOut(Duration.ofMinutes(10))
                : new StepResult.Exited(exitFor(InMemoryHistory.index(req.commit()), culprit), D));
        BisectResult bad = bisect(
                h, badRunner, StepStore.none(), BisectOptions.defaults().withTimeoutVerdict(TimeoutVerdict.BAD), 0);
        assertThat(culpritOf(bad)).isEqualTo(culprit);
    }

    // ---------------------------------------------------------------- resume

    /** Keeps runs like a database would; a test can make the job die after some of them. */
    static final class MemoryStore implements StepStore {
        final List<Run> runs = Collections.synchronizedList(new ArrayList<>());

        @Override
        public List<Run> load() {
            return List.copyOf(runs);
        }

        @Override
        public void record(Run run) {
            runs.add(run);
        }
    }

    /** Stands for the process dying: not an exception the engine may catch. */
    static final class Crash extends Error {}

    @Test
    void resumes_from_stored_runs_without_running_any_of_them_again() {
        for (int k : new int[] {1, 3}) {
            InMemoryHistory h = InMemoryHistory.linear(300);
            int culprit = 211;
            BisectOptions options = BisectOptions.defaults().withSlots(k).withRepeat(2, RepeatRule.ANY_FAIL);
            BisectResult straight = bisect(
                    h,
                    InProcessRunner.exitCodes(sha -> exitFor(InMemoryHistory.index(sha), culprit)),
                    StepStore.none(),
                    options,
                    0);

            MemoryStore store = new MemoryStore();
            AtomicInteger budget = new AtomicInteger(9);
            InProcessRunner dying = new InProcessRunner(req -> {
                if (budget.decrementAndGet() < 0) throw new Crash();
                return new StepResult.Exited(exitFor(InMemoryHistory.index(req.commit()), culprit), D);
            });
            assertThatThrownBy(() -> bisect(h, dying, store, options, 0)).isInstanceOf(Crash.class);
            // A run that finished but was not recorded before the crash may run again; recorded ones may not.
            int recorded = store.runs.size();
            assertThat(recorded).isBetween(5, 9);

            InProcessRunner resumed = InProcessRunner.exitCodes(sha -> exitFor(InMemoryHistory.index(sha), culprit));
            BisectResult r = bisect(h, resumed, store, options, 0);
            Set<String> storedKeys = new HashSet<>();
            for (StepStore.Run run : store.runs.subList(0, recorded))
                storedKeys.add(run.commit() + "#" + run.runIndex());
            for (StepRunner.Request req : resumed.started) {
                assertThat(storedKeys).as("k=%d rerun", k).doesNotContain(req.commit() + "#" + req.runIndex());
            }
            assertThat(r.reusedRuns()).isEqualTo(recorded);
            assertThat(culpritOf(r)).isEqualTo(culpritOf(straight)).isEqualTo(culprit);
            if (k == 1) {
                assertThat(r.testRuns()).isEqualTo(straight.testRuns());
                assertThat(resumed.started).hasSize(straight.steps().size() - recorded);
            }
        }
    }

    // ---------------------------------------------------------------- parallel

    @Test
    void three_slots_on_a_linear_history_of_1000_commits_stay_within_log4_rounds_and_cancel_irrelevant_steps() {
        InMemoryHistory h = InMemoryHistory.linear(1001);
        int limit = (int) Math.ceil(Math.log(1000) / Math.log(4)) + 2;
        Random rnd = new Random(42);
        int cancelled = 0;
        int maxRounds = 0;
        long totalRuns = 0;
        for (int trial = 0; trial < 60; trial++) {
            int culprit = 1 + rnd.nextInt(1000);
            InProcessRunner runner = InProcessRunner.exitCodes(sha -> exitFor(InMemoryHistory.index(sha), culprit));
            BisectResult r =
                    bisect(h, runner, StepStore.none(), BisectOptions.defaults().withSlots(3), 0);
            assertThat(culpritOf(r)).as("culprit %d", culprit).isEqualTo(culprit);
            assertThat(r.candidateCount()).isEqualTo(1000);
            assertThat(r.rounds()).as("rounds for culprit %d", culprit).isLessThanOrEqualTo(limit);
            // A cancelled step's commit had left the range: below a bad one or at/under a good one.
            for (StepRunner.Request c : runner.cancelled) {
                assertThat(r.steps())
                        .anySatisfy(s -> assertThat(s.commit().sha()).isEqualTo(c.commit()));
            }
            cancelled += r.cancelledRuns();
            maxRounds = Math.max(maxRounds, r.rounds());
            totalRuns += r.testRuns();
        }
        System.out.printf(
                "[k=3, 1000 commits] maxRounds=%d limit=%d cancelled=%d meanRuns=%.1f%n",
                maxRounds, limit, cancelled, totalRuns / 60.0);
        assertThat(cancelled).isPositive();
    }

    @Test
    void picks_the_exact_k_section_points_on_a_linear_history_starting_beside_the_end_verifications() {
        InMemoryHistory h = InMemoryHistory.linear(1001);
        InProcessRunner runner = InProcessRunner.exitCodes(sha -> exitFor(InMemoryHistory.index(sha), 1000));
        bisect(h, runner, StepStore.none(), BisectOptions.defaults().withSlots(3), 0);
        List<Integer> search = runner.started.stream()
                .filter(s -> s.purpose() == Purpose.SEARCH)
                .map(s -> InMemoryHistory.index(s.commit()))
                .toList();
        // The slot the two end verifications leave free halves the range; then 500 is good and 501..1000 is cut in
        // four.
        assertThat(search.getFirst()).isEqualTo(500);
        assertThat(search.subList(1, 4)).containsExactlyInAnyOrder(625, 750, 875);
    }

    // ---------------------------------------------------------------- flaky

    @Test
    void finds_the_culprit_despite_a_test_failing_30_percent_of_the_time_on_good_commits_with_repeat_5_all_fail() {
        int right = flakyTrials(300, RepeatRule.ALL_FAIL, 5, 0.30, 1.0);
        assertThat(right).isGreaterThanOrEqualTo(297);
    }

    @Test
    void finds_a_bug_showing_in_half_the_runs_with_repeat_8_any_fail() {
        int right = flakyTrials(300, RepeatRule.ANY_FAIL, 8, 0.0, 0.5);
        assertThat(right).isGreaterThanOrEqualTo(297);
    }

    @Test
    void finds_flaky_culprits_as_well_with_three_slots_and_the_search_beside_the_ends() {
        assertThat(flakyTrials(100, RepeatRule.ALL_FAIL, 5, 0.30, 1.0, 3)).isGreaterThanOrEqualTo(99);
        assertThat(flakyTrials(100, RepeatRule.ANY_FAIL, 8, 0.0, 0.5, 3)).isGreaterThanOrEqualTo(99);
    }

    private int flakyTrials(int trials, RepeatRule rule, int repeat, double failOnGood, double failOnBad) {
        return flakyTrials(trials, rule, repeat, failOnGood, failOnBad, 1);
    }

    private int flakyTrials(int trials, RepeatRule rule, int repeat, double failOnGood, double failOnBad, int slots) {
        InMemoryHistory h = InMemoryHistory.linear(129);
        int right = 0;
        long runs = 0;
        for (int seed = 0; seed < trials; seed++) {
            Random rnd = new Random(seed * 0x9E3779B97F4A7C15L);
            int culprit = 1 + rnd.nextInt(128);
            InProcessRunner runner = new InProcessRunner(req -> {
                boolean bad = InMemoryHistory.index(req.commit()) >= culprit;
                boolean fails = rnd.nextDouble() < (bad ? failOnBad : failOnGood);
                return new StepResult.Exited(fails ? 1 : 0, D);
            });
            BisectResult r = bisect(
                    h,
                    runner,
                    StepStore.none(),
                    BisectOptions.defaults().withRepeat(repeat, rule).withSlots(slots),
                    0);
            if (culpritOf(r) == culprit) right++;
            else System.out.printf("[flaky %s x%d] seed %d culprit %d: %s%n", rule, repeat, seed, culprit, r.outcome());
            runs += r.testRuns();
        }
        System.out.printf(
                "[flaky %s x%d] right=%d/%d meanRuns=%.1f%n", rule, repeat, right, trials, runs / (double) trials);
        return right;
    }

    @Test
    void keeps_per_commit_disagreements_for_the_report() {
        InMemoryHistory h = InMemoryHistory.linear(17);
        Map<String, AtomicInteger> calls = new ConcurrentHashMap<>();
        InProcessRunner runner = new InProcessRunner(req -> {
            int i = InMemoryHistory.index(req.commit());
            int call = calls.computeIfAbsent(req.commit(), c -> new AtomicInteger())
                    .getAndIncrement();
            // Commit 8 is good but fails its first two runs.
            boolean fails = i >= 10 || (i == 8 && call < 2);
            return new StepResult.Exited(fails ? 1 : 0, D);
        });
        BisectResult r =
                bisect(h, runner, StepStore.none(), BisectOptions.defaults().withRepeat(3, RepeatRule.MAJORITY), 0);
        assertThat(culpritOf(r)).isEqualTo(10);
        assertThat(r.commits())
                .filteredOn(c -> c.commit().sha().equals(InMemoryHistory.sha(8)))
                .first()
                .satisfies(c -> {
                    assertThat(c.verdict()).isEqualTo(Verdict.BAD);
                    assertThat(c.disagreements()).isZero();
                });
    }
}
