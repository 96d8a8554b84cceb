package io.bisectbot.bisect;

import java.util.List;

/**
 * The runs of one commit in metric mode. Without a baseline (the ends, while they are verified) it only collects
 * {@code target} measurements. With one, it compares the commit's measurements with the good end's once it has
 * {@code target} of them; an inconclusive comparison doubles the target, up to {@code maxRepeat}, after which the
 * commit counts as skipped (ambiguous). A run that could not be measured skips the commit; a timeout counted as bad
 * makes it bad.
 */
final class MetricTally implements RunTally {

    private final List<Double> samples;
    private final List<Double> baseline;
    private final MetricOptions options;
    private int target;
    private int measured;
    private boolean skipped;
    private boolean failed;
    private int evaluatedAt = -1;
    private Verdict evaluated;

    /**
     * @param samples  the commit's measurements so far, shared by every test of the commit in this job
     * @param baseline the good end's measurements, or null to only collect
     */
    MetricTally(List<Double> samples, List<Double> baseline, int target, MetricOptions options) {
        this.samples = samples;
        this.baseline = baseline;
        this.target = Math.min(target, options.maxRepeat());
        this.options = options;
    }

    @Override
    public void add(Verdict v) {
        switch (v) {
            case GOOD -> measured++;
            case BAD -> failed = true;
            case SKIP -> skipped = true;
        }
    }

    @Override
    public Verdict verdict() {
        if (skipped) return Verdict.SKIP;
        if (failed) return Verdict.BAD;
        if (samples.size() < target) return null;
        if (baseline == null) return Verdict.GOOD;
        // Asked again without a new measurement: the same answer, and the target is doubled only once.
        if (samples.size() == evaluatedAt) return evaluated;
        evaluatedAt = samples.size();
        var comparison = MetricStats.compare(samples, baseline, options);
        if (comparison.verdict() != null) {
            evaluated = comparison.verdict();
        } else if (target >= options.maxRepeat()) {
            evaluated = Verdict.SKIP;
        } else {
            target = Math.min(target * 2, options.maxRepeat());
            evaluated = null;
        }
        return evaluated;
    }

    @Override
    public int passes() {
        return measured;
    }

    @Override
    public int failures() {
        return failed ? 1 : 0;
    }

    /**
     * The number a run measured: the wall time in seconds, or the number printed on standard output; null when the
     * run measured nothing (it did not exit 0, or printed no number).
     */
    static Double measurement(StepResult result, MetricOptions options) {
        if (!(result instanceof StepResult.Exited exited) || exited.exitCode() != 0) return null;
        if (options.source() == MetricOptions.Source.WALL)
            return exited.duration().toNanos() / 1e9;
        return exited.metric();
    }
}
