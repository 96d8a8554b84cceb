package io.bisectbot.bisect;

import java.util.List;

/**
 * Finds the first bad commit like {@code git bisect run}: verifies both ends, tests the merge bases git
 * would test, then searches with {@code options.slots()} tests at a time.
 * A job is run on the calling thread; runs happen wherever the {@link StepRunner} puts them.
 */
public final class BisectEngine {

    private final RevisionSource source;
    private final StepRunner runner;
    private final StepStore store;
    private final BisectProgress progress;

    public BisectEngine(RevisionSource source, StepRunner runner, StepStore store) {
        this(source, runner, store, BisectProgress.NONE);
    }

    public BisectEngine(RevisionSource source, StepRunner runner, StepStore store, BisectProgress progress) {
        this.source = source;
        this.runner = runner;
        this.store = store;
        this.progress = progress;
    }

    /**
     * Every commit is tested, as {@code git bisect run} does; jobs reuse same-tree verdicts (see {@link SameTree}).
     *
     * @throws BisectSetupException when the ends cannot be bisected (unknown revision, empty range, ...)
     */
    public BisectResult run(String bad, List<String> goods, BisectOptions options) {
        return run(bad, goods, options, false);
    }

    /** @param reuseTreeVerdicts whether commits with the tree of a tested commit take its verdict instead of a run */
    public BisectResult run(String bad, List<String> goods, BisectOptions options, boolean reuseTreeVerdicts) {
        return new BisectJob(
                        source, runner, store, options, reuseTreeVerdicts ? SameTree.of(source) : null, null, progress)
                .run(bad, goods);
    }

    BisectResult run(String bad, List<String> goods, BisectOptions options, SameTree sameTree) {
        return run(bad, goods, options, sameTree, null);
    }

    /** Both: same-tree verdicts (pass/fail only) and metric mode (null for pass/fail). */
    BisectResult run(String bad, List<String> goods, BisectOptions options, SameTree sameTree, MetricOptions metric) {
        return new BisectJob(source, runner, store, options, sameTree, metric, progress).run(bad, goods);
    }

    /**
     * A performance bisection: each commit is measured {@code metric.repeat()} times (more when inconclusive) and is
     * bad when significantly worse than the good end. Null {@code metric} is the pass/fail bisection.
     */
    public BisectResult run(String bad, List<String> goods, BisectOptions options, MetricOptions metric) {
        return new BisectJob(source, runner, store, options, null, metric, progress).run(bad, goods);
    }
}
