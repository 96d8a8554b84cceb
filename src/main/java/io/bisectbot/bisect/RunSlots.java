package io.bisectbot.bisect;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * The tests of one bisection that hold a run slot, and their runs: each commit's next run index, the runs a previous
 * attempt of the job stored (replayed on resume instead of run again), and the ends of runs as the runner reports
 * them. Used by one {@link BisectJob}, on its thread; runs end on the runner's threads.
 */
final class RunSlots {

    /** What the job makes of runs: their verdicts, and their place in its steps and tallies. */
    interface Runs {
        /** The run's verdict; null: it said nothing about the commit, which is run again. */
        Verdict verdictOf(StepResult result);

        /** A run ended, or was replayed ({@code reused}): it is one of the job's steps. */
        void ended(ActiveTest t, int runIndex, StepResult result, Verdict v, boolean reused);

        /** A run with a verdict counts towards its commit's. */
        void count(ActiveTest t, StepResult result, Verdict v);
    }

    static final class ActiveTest {
        final String sha;
        final Purpose purpose;
        final RunTally tally;
        StepRunner.Handle handle;
        boolean cancelled;
        int infraFailures;

        ActiveTest(String sha, Purpose purpose, RunTally tally) {
            this.sha = sha;
            this.purpose = purpose;
            this.tally = tally;
        }
    }

    /** Ends the job early when runs keep failing for reasons unrelated to the commits. */
    static final class AbortJob extends RuntimeException {
        AbortJob(String message) {
            super(message, null, false, false);
        }
    }

    private record Completion(ActiveTest test, int runIndex, StepResult result) {}

    private final StepRunner runner;
    private final BisectProgress progress;
    private final int maxInfraRetries;
    private final Runs runs;
    private final Map<String, List<StepStore.Run>> stored = new HashMap<>();
    private final Map<String, Integer> nextRunIndex = new HashMap<>();
    private final BlockingQueue<Completion> completions = new LinkedBlockingQueue<>();
    private final List<ActiveTest> active = new ArrayList<>();
    private final ArrayDeque<ActiveTest> decidedWithoutRunning = new ArrayDeque<>();
    private int reusedRuns;
    private int cancelledRuns;

    RunSlots(StepRunner runner, BisectProgress progress, int maxInfraRetries, Runs runs) {
        this.runner = runner;
        this.progress = progress;
        this.maxInfraRetries = maxInfraRetries;
        this.runs = runs;
    }

    /** The runs a previous attempt of this job stored; their run indexes are not used again. */
    void resumeFrom(List<StepStore.Run> previous) {
        for (StepStore.Run r : previous) {
            stored.computeIfAbsent(r.commit(), c -> new ArrayList<>()).add(r);
            nextRunIndex.merge(r.commit(), r.runIndex() + 1, Math::max);
        }
    }

    /** Replays the stored runs of {@code t}'s commit and purpose, until they give it a verdict. */
    void replay(ActiveTest t) {
        List<StepStore.Run> previous = stored.getOrDefault(t.sha, List.of());
        for (Iterator<StepStore.Run> it = previous.iterator(); it.hasNext() && t.tally.verdict() == null; ) {
            StepStore.Run r = it.next();
            if (r.purpose() != t.purpose) continue;
            it.remove();
            reusedRuns++;
            runs.ended(t, r.runIndex(), r.result(), r.verdict(), true);
            if (r.verdict() != null) runs.count(t, r.result(), r.verdict());
        }
    }

    /** The index the next run of {@code sha} gets. */
    int nextRunIndex(String sha) {
        return nextRunIndex.getOrDefault(sha, 0);
    }

    /** Takes the next run index of {@code sha}. */
    int takeRunIndex(String sha) {
        return nextRunIndex.merge(sha, 1, Integer::sum) - 1;
    }

    /** A test with a verdict already waits for {@link #await}; any other takes a slot and starts its first run. */
    void add(ActiveTest t) {
        if (t.tally.verdict() != null) {
            decidedWithoutRunning.add(t);
        } else {
            active.add(t);
            startRun(t);
        }
    }

    /** The tests holding a slot, in the order they took it. */
    List<ActiveTest> active() {
        return Collections.unmodifiableList(active);
    }

    /** Whether a test holds a slot or has a verdict {@link #await} has not returned yet. */
    boolean busy() {
        return !active.isEmpty() || !decidedWithoutRunning.isEmpty();
    }

    private void startRun(ActiveTest t) {
        int runIndex = takeRunIndex(t.sha);
        StepRunner.Handle handle;
        var request = new StepRunner.Request(t.sha, runIndex, t.purpose);
        try {
            handle = runner.start(request);
        } catch (RuntimeException e) {
            completions.add(new Completion(
                    t, runIndex, new StepResult.InfraError(String.valueOf(e.getMessage()), Duration.ZERO)));
            return;
        }
        progress.stepStarted(request);
        t.handle = handle;
        handle.result().whenComplete((result, error) -> {
            progress.stepEnded(request);
            completions.add(new Completion(
                    t,
                    runIndex,
                    result != null ? result : new StepResult.InfraError(String.valueOf(error), Duration.ZERO)));
        });
    }

    /** Next commit with a verdict; null when {@code block} is false and none is ready. */
    ActiveTest await(boolean block) {
        while (true) {
            if (!decidedWithoutRunning.isEmpty()) return decidedWithoutRunning.poll();
            Completion c;
            if (block) {
                try {
                    c = completions.take();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new AbortJob("interrupted");
                }
            } else {
                c = completions.poll();
                if (c == null) return null;
            }
            ActiveTest t = c.test();
            Verdict v = runs.verdictOf(c.result());
            runs.ended(t, c.runIndex(), c.result(), v, false);
            if (t.cancelled) continue;
            if (v == null) {
                if (++t.infraFailures > maxInfraRetries) {
                    throw new AbortJob(BisectMessages.noVerdict(t.sha, t.infraFailures, c.result()));
                }
                startRun(t);
                continue;
            }
            runs.count(t, c.result(), v);
            if (t.tally.verdict() != null) {
                active.remove(t);
                return t;
            }
            startRun(t);
        }
    }

    void cancelAll() {
        for (ActiveTest t : List.copyOf(active)) cancel(t);
        decidedWithoutRunning.clear();
    }

    void cancel(ActiveTest t) {
        t.cancelled = true;
        active.remove(t);
        cancelledRuns++;
        if (t.handle != null) t.handle.cancel();
    }

    int reusedRuns() {
        return reusedRuns;
    }

    int cancelledRuns() {
        return cancelledRuns;
    }
}
