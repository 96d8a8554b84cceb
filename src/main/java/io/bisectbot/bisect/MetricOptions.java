package io.bisectbot.bisect;

import java.util.Locale;

/**
 * How a performance bisection ({@code mode: metric}) measures and judges a commit.
 *
 * @param source     where each run's number comes from
 * @param direction  which way is worse
 * @param repeat     runs per commit to start with
 * @param maxRepeat  most runs per commit; a commit still inconclusive then counts as skipped
 * @param threshold  smallest relative change of the median that counts as a regression (0.10 = 10 %)
 * @param alpha      significance level of the Mann-Whitney U test
 */
public record MetricOptions(
        Source source, Direction direction, int repeat, int maxRepeat, double threshold, double alpha) {

    public enum Source {
        /** The last number the command prints on standard output. */
        STDOUT,
        /** The run's wall time in seconds. */
        WALL;

        public String word() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public enum Direction {
        LOWER_IS_BETTER,
        HIGHER_IS_BETTER;

        public String word() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }
    }

    public static final int DEFAULT_REPEAT = 5;
    public static final int DEFAULT_MAX_REPEAT = 20;
    public static final double DEFAULT_THRESHOLD = 0.10;
    public static final double DEFAULT_ALPHA = 0.05;

    public MetricOptions {
        if (repeat < 2) throw new IllegalArgumentException("repeat must be at least 2 in metric mode, got " + repeat);
        if (maxRepeat < repeat) {
            throw new IllegalArgumentException("max_repeat must be at least repeat (" + repeat + "), got " + maxRepeat);
        }
        if (!(threshold > 0) || threshold > 10) {
            throw new IllegalArgumentException(
                    "threshold must be a percentage above 0 and at most 1000, got " + threshold * 100);
        }
        if (!(alpha > 0 && alpha < 1))
            throw new IllegalArgumentException("alpha must be between 0 and 1 (e.g. 0.05), got " + alpha);
    }

    public static MetricOptions defaults() {
        return new MetricOptions(
                Source.STDOUT,
                Direction.LOWER_IS_BETTER,
                DEFAULT_REPEAT,
                DEFAULT_MAX_REPEAT,
                DEFAULT_THRESHOLD,
                DEFAULT_ALPHA);
    }
}
