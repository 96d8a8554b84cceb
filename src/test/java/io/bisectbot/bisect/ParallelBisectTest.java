package io.bisectbot.bisect;

import static org.assertj.core.api.Assertions.assertThat;

import io.bisectbot.bisect.GeneratedHistory.Shape;
import io.bisectbot.git.GitRepository;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ParallelBisectTest {

    @TempDir
    Path tmp;

    /** A run that ends only when the test says so, like a container still working. */
    static final class ManualHandle implements StepRunner.Handle {
        final StepRunner.Request request;
        final CompletableFuture<StepResult> future = new CompletableFuture<>();
        final CountDownLatch cancelled = new CountDownLatch(1);

        ManualHandle(StepRunner.Request request) {
            this.request = request;
        }

        @Override
        public CompletableFuture<StepResult> result() {
            return future;
        }

        @Override
        public void cancel() {
            cancelled.countDown();
            future.complete(new StepResult.Cancelled(Duration.ofMillis(1)));
        }

        int commit() {
            return InMemoryHistory.index(request.commit());
        }
    }

    @Test
    void cancels_running_steps_whose_commits_a_finished_result_made_irrelevant() throws Exception {
        int culprit = 100;
        BlockingQueue<ManualHandle> started = new LinkedBlockingQueue<>();
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            Future<BisectResult> job = threeSlotsOn1000Commits(pool, started);
            List<ManualHandle> round = secondSearchRound(started, culprit);
            assertThat(round).extracting(ManualHandle::commit).containsExactly(125, 250, 375);

            complete(round.get(0), culprit); // 125 is bad: 250 and 375 no longer matter
            assertThat(round.get(1).cancelled.await(10, TimeUnit.SECONDS)).isTrue();
            assertThat(round.get(2).cancelled.await(10, TimeUnit.SECONDS)).isTrue();

            BisectResult r = finish(job, started, culprit);
            assertThat(r.outcome())
                    .isInstanceOfSatisfying(
                            BisectOutcome.FirstBad.class,
                            f -> assertThat(f.commit().sha()).isEqualTo(InMemoryHistory.sha(culprit)));
            assertThat(r.cancelledRuns()).isGreaterThanOrEqualTo(2);
            assertThat(r.steps())
                    .filteredOn(s -> s.result() instanceof StepResult.Cancelled)
                    .extracting(s -> InMemoryHistory.index(s.commit().sha()))
                    .contains(250, 375);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void picks_the_next_round_only_after_every_step_of_this_round_that_still_matters() throws Exception {
        int culprit = 600;
        BlockingQueue<ManualHandle> started = new LinkedBlockingQueue<>();
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            Future<BisectResult> job = threeSlotsOn1000Commits(pool, started);
            List<ManualHandle> round = secondSearchRound(started, culprit);
            assertThat(round).extracting(ManualHandle::commit).containsExactly(625, 750, 875);

            complete(round.get(1), culprit); // 750 is bad: 875 no longer matters, 625 still does
            assertThat(round.get(2).cancelled.await(10, TimeUnit.SECONDS)).isTrue();
            assertThat(started.poll(300, TimeUnit.MILLISECONDS))
                    .as("no step starts while 625 runs")
                    .isNull();

            complete(round.get(0), culprit); // 625 is bad: the next round splits 501..625 in four
            List<ManualHandle> next = new ArrayList<>();
            for (int i = 0; i < 3; i++) next.add(take(started));
            assertThat(next)
                    .extracting(ManualHandle::commit)
                    .allSatisfy(c -> assertThat(c).isBetween(501, 624));

            for (ManualHandle n : next) complete(n, culprit);
            assertThat(finish(job, started, culprit).outcome())
                    .isInstanceOfSatisfying(
                            BisectOutcome.FirstBad.class,
                            f -> assertThat(f.commit().sha()).isEqualTo(InMemoryHistory.sha(culprit)));
        } finally {
            pool.shutdownNow();
        }
    }

    /** A k = 3 bisection of a 1,000-commit linear history whose steps end only when the test completes them. */
    private static Future<BisectResult> threeSlotsOn1000Commits(
            ExecutorService pool, BlockingQueue<ManualHandle> started) {
        InMemoryHistory h = InMemoryHistory.linear(1001);
        StepRunner runner = request -> {
            ManualHandle handle = new ManualHandle(request);
            started.add(handle);
            return handle;
        };
        return pool.submit(() -> new BisectEngine(h, runner, StepStore.none())
                .run(
                        h.tip(),
                        List.of(InMemoryHistory.sha(0)),
                        BisectOptions.defaults().withSlots(3)));
    }

    /**
     * Completes the first round (the two ends and, in the slot they leave free, the middle commit 500) and returns
     * the second by commit: a 4-section of the half that is left.
     */
    private static List<ManualHandle> secondSearchRound(BlockingQueue<ManualHandle> started, int culprit)
            throws InterruptedException {
        List<ManualHandle> first = new ArrayList<>();
        for (int i = 0; i < 3; i++) first.add(take(started));
        assertThat(first).extracting(ManualHandle::commit).containsExactlyInAnyOrder(0, 500, 1000);
        for (ManualHandle h : first) complete(h, culprit);
        List<ManualHandle> round = new ArrayList<>();
        for (int i = 0; i < 3; i++) round.add(take(started));
        round.sort(Comparator.comparingInt(ManualHandle::commit));
        return round;
    }

    /** Completes every step started from now on until the job ends. */
    private static BisectResult finish(Future<BisectResult> job, BlockingQueue<ManualHandle> started, int culprit)
            throws Exception {
        while (!job.isDone()) {
            ManualHandle next = started.poll(100, TimeUnit.MILLISECONDS);
            if (next != null) complete(next, culprit);
        }
        return job.get();
    }

    private static ManualHandle take(BlockingQueue<ManualHandle> q) throws InterruptedException {
        ManualHandle h = q.poll(10, TimeUnit.SECONDS);
        assertThat(h).as("a step was started").isNotNull();
        return h;
    }

    private static void complete(ManualHandle h, int culprit) {
        h.future.complete(new StepResult.Exited(h.commit() >= culprit ? 1 : 0, Duration.ofMillis(3)));
    }

    @Test
    void finds_the_culprit_with_three_slots_on_merge_and_criss_cross_histories() throws Exception {
        int found = 0;
        for (int seed = 0; seed < 16; seed++) {
            Shape shape = seed % 2 == 0 ? Shape.MERGES : Shape.CRISS_CROSS;
            GeneratedHistory g =
                    GeneratedHistory.create(tmp.resolve("h" + seed), 1000L + seed, shape, 40 + seed * 10, 3, 0.0);
            BisectResult r = new BisectEngine(
                            new GitHistory(GitRepository.open(g.dir.resolve(".git"))),
                            InProcessRunner.exitCodes(g::exitCode),
                            StepStore.none())
                    .run(g.badSha(), g.goodShas(), BisectOptions.defaults().withSlots(3));
            assertThat(r.outcome())
                    .as("seed %d", seed)
                    .isInstanceOfSatisfying(
                            BisectOutcome.FirstBad.class,
                            f -> assertThat(f.commit().sha()).isEqualTo(g.shas[g.culprit]));
            found++;
        }
        assertThat(found).isEqualTo(16);
    }

    @Test
    void keeps_the_true_culprit_among_the_answers_with_three_slots_and_skipped_commits() throws Exception {
        for (int seed = 0; seed < 12; seed++) {
            GeneratedHistory g =
                    GeneratedHistory.create(tmp.resolve("s" + seed), 2000L + seed, Shape.MERGES, 60, 2, 0.3);
            BisectResult r = new BisectEngine(
                            new GitHistory(GitRepository.open(g.dir.resolve(".git"))),
                            InProcessRunner.exitCodes(g::exitCode),
                            StepStore.none())
                    .run(g.badSha(), g.goodShas(), BisectOptions.defaults().withSlots(3));
            List<String> answer = switch (r.outcome()) {
                case BisectOutcome.FirstBad f -> List.of(f.commit().sha());
                case BisectOutcome.OnlySkippedLeft o ->
                    o.candidates().stream().map(CommitInfo::sha).toList();
                default -> throw new AssertionError(r.outcome());
            };
            assertThat(answer).as("seed %d", seed).contains(g.shas[g.culprit]);
        }
    }
}
