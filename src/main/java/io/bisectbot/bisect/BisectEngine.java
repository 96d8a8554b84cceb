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
     * @throws BisectSetupException when the ends cannot be bisected (unknown revision, empty range, ...)
     */
    public BisectResult run(String bad, List<String> goods, BisectOptions options) {
        return new BisectJob(source, runner, store, options, progress).run(bad, goods);
    }
}
