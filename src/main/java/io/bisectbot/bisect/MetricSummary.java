package io.bisectbot.bisect;

import java.util.List;

/**
 * What a metric-mode job measured: each tested commit's sample, oldest first, and the size of the change at the
 * bad end and at the culprit.
 *
 * @param atCulprit the culprit against its last good parent (or the good end); null without a culprit
 */
public record MetricSummary(MetricOptions options, List<CommitSample> commits, Change atBadEnd, Change atCulprit) {

    public MetricSummary {
        commits = List.copyOf(commits);
    }

    /**
     * @param role     {@code good} or {@code bad} for the given ends, else {@code tested}
     * @param verdict  the commit's verdict (the ends: null)
     * @param change   against the good end, positive when worse; null for the good end
     * @param pValue   one-sided Mann-Whitney U p-value of that change; null for the good end
     */
    public record CommitSample(
            CommitInfo commit,
            String role,
            List<Double> values,
            double median,
            double q1,
            double q3,
            double min,
            double max,
            Verdict verdict,
            Double change,
            Double pValue) {
        public CommitSample {
            values = List.copyOf(values);
        }

        public int n() {
            return values.size();
        }
    }

    /** {@code commit}'s sample against {@code against}'s: relative median change (worse positive) and p-value. */
    public record Change(String commit, String against, double change, double pValue, int n, int againstN) {

        /** One minus the p-value: how sure the test is that the change is not chance. */
        public double confidence() {
            return 1 - pValue;
        }
    }
}
