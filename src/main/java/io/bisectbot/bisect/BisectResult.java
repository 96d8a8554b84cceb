package io.bisectbot.bisect;

import java.time.Duration;
import java.util.List;

/**
 * Everything a job reports.
 *
 * @param candidateCount commits in the searched range ({@code rev-list bad ^good...})
 * @param testRuns       runs that gave a verdict while searching (merge bases, search, confirmation); verifications,
 *                       cancelled runs and infrastructure errors excluded
 * @param verificationRuns runs that gave a verdict on the given ends
 * @param reusedRuns     runs taken from the step store instead of being run again
 * @param cancelledRuns  runs stopped because their commit stopped mattering
 * @param rounds         times new commits were started during the search
 * @param sameTrees      commits that took the verdict of a commit with the same tree instead of running; their runs
 *                       count neither as test runs nor as verification runs
 * @param metric         the measurements of a metric-mode job; null for pass/fail
 */
public record BisectResult(
        String bad,
        List<String> goods,
        BisectOptions options,
        BisectOutcome outcome,
        int candidateCount,
        List<Step> steps,
        List<CommitTested> commits,
        int testRuns,
        int verificationRuns,
        int reusedRuns,
        int cancelledRuns,
        int rounds,
        List<SameTreeVerdict> sameTrees,
        MetricSummary metric) {

    public BisectResult {
        goods = List.copyOf(goods);
        steps = List.copyOf(steps);
        commits = List.copyOf(commits);
        sameTrees = sameTrees == null ? List.of() : List.copyOf(sameTrees);
    }

    public BisectResult(
            String bad,
            List<String> goods,
            BisectOptions options,
            BisectOutcome outcome,
            int candidateCount,
            List<Step> steps,
            List<CommitTested> commits,
            int testRuns,
            int verificationRuns,
            int reusedRuns,
            int cancelledRuns,
            int rounds) {
        this(
                bad,
                goods,
                options,
                outcome,
                candidateCount,
                steps,
                commits,
                testRuns,
                verificationRuns,
                reusedRuns,
                cancelledRuns,
                rounds,
                List.of(),
                null);
    }

    /**
     * A commit whose verdict came from {@code sameTreeAs}, a commit with the same tree, instead of {@code runs} runs.
     *
     * @param earlierJob the verdict came from an earlier job (the verdict cache), not from this one
     */
    public record SameTreeVerdict(CommitInfo commit, String sameTreeAs, String tree, int runs, boolean earlierJob) {}

    /** Runs a same-tree verdict saved. */
    public int sameTreeRuns() {
        return sameTrees.stream().mapToInt(SameTreeVerdict::runs).sum();
    }

    /** One run. {@code verdict} is null when the run said nothing about the commit. */
    public record Step(
            int seq,
            CommitInfo commit,
            int runIndex,
            Purpose purpose,
            StepResult result,
            Verdict verdict,
            Duration duration,
            boolean reused) {}

    /** One commit's combined verdict; passes and failures disagreeing show a flaky test. */
    public record CommitTested(CommitInfo commit, Purpose purpose, Verdict verdict, int passes, int failures) {
        public int disagreements() {
            return Math.min(passes, failures);
        }
    }
}
