package io.bisectbot.bisect;

import java.util.Arrays;
import java.util.List;
import org.apache.commons.statistics.inference.AlternativeHypothesis;
import org.apache.commons.statistics.inference.MannWhitneyUTest;

/**
 * The statistics of metric mode: sample summaries and the comparison of a commit's sample with the good end's.
 * A commit is bad when its median is worse by at least the threshold and a one-sided Mann-Whitney U test (exact
 * without ties for small samples, else the normal approximation with tie correction) rejects "no worse" at alpha.
 */
final class MetricStats {

    private MetricStats() {}

    /** Median, quartiles (linear interpolation between order statistics) and range of one sample. */
    record Summary(int n, double median, double q1, double q3, double min, double max) {}

    /**
     * One sample against a baseline.
     *
     * @param change  relative change of the median, positive when worse (0.3 = 30 % worse)
     * @param pValue  one-sided, in the bad direction
     * @param verdict BAD, GOOD, or null while inconclusive
     */
    record Comparison(double change, double pValue, int n, int baselineN, Verdict verdict) {}

    static Summary summary(List<Double> values) {
        double[] v = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        if (v.length == 0) return new Summary(0, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN);
        return new Summary(v.length, quantile(v, 0.5), quantile(v, 0.25), quantile(v, 0.75), v[0], v[v.length - 1]);
    }

    /** Type-7 quantile (R's default, numpy's "linear") of sorted values. */
    static double quantile(double[] sorted, double p) {
        double h = (sorted.length - 1) * p;
        int lo = (int) Math.floor(h);
        int hi = Math.min(lo + 1, sorted.length - 1);
        return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
    }

    static double median(List<Double> values) {
        return summary(values).median();
    }

    /**
     * Relative change of the median, signed so that worse is positive. A zero baseline median makes any worse
     * median an infinite change.
     */
    static double change(List<Double> sample, List<Double> baseline, MetricOptions.Direction direction) {
        double m = median(sample);
        double b = median(baseline);
        double worse = direction == MetricOptions.Direction.LOWER_IS_BETTER ? m - b : b - m;
        if (worse == 0) return 0;
        if (b == 0) return worse > 0 ? Double.POSITIVE_INFINITY : Double.NEGATIVE_INFINITY;
        return worse / Math.abs(b);
    }

    /** One-sided p-value that {@code sample} is worse than {@code baseline}. */
    static double pWorse(List<Double> sample, List<Double> baseline, MetricOptions.Direction direction) {
        var test = MannWhitneyUTest.withDefaults()
                .with(
                        direction == MetricOptions.Direction.LOWER_IS_BETTER
                                ? AlternativeHypothesis.GREATER_THAN
                                : AlternativeHypothesis.LESS_THAN);
        return test.test(array(sample), array(baseline)).getPValue();
    }

    /**
     * Bad: worse by the threshold and significant. Good: the change is under half the threshold, or under the
     * threshold and not significant. Anything else (significant but small, or large but not significant) needs more
     * runs.
     */
    static Comparison compare(List<Double> sample, List<Double> baseline, MetricOptions options) {
        double change = change(sample, baseline, options.direction());
        double p = pWorse(sample, baseline, options.direction());
        Verdict verdict;
        if (change >= options.threshold() && p < options.alpha()) {
            verdict = Verdict.BAD;
        } else if (change < options.threshold() / 2 || (change < options.threshold() && p >= options.alpha())) {
            verdict = Verdict.GOOD;
        } else {
            verdict = null;
        }
        return new Comparison(change, p, sample.size(), baseline.size(), verdict);
    }

    private static double[] array(List<Double> values) {
        return values.stream().mapToDouble(Double::doubleValue).toArray();
    }

    static String percent(double change) {
        if (Double.isInfinite(change)) return change > 0 ? "+inf %" : "-inf %";
        return String.format(java.util.Locale.ROOT, "%+.1f %%", change * 100);
    }

    static String pText(double p) {
        return p < 0.001
                ? String.format(java.util.Locale.ROOT, "%.1e", p)
                : String.format(java.util.Locale.ROOT, "%.3f", p);
    }

    static double[] sorted(List<Double> values) {
        double[] v = values.stream().mapToDouble(Double::doubleValue).toArray();
        Arrays.sort(v);
        return v;
    }
}
