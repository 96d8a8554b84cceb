package io.bisectbot.bisect;

/**
 * How a job bisects.
 *
 * @param slots        commits tested at once (k); 1 reproduces git's choices exactly
 * @param repeat       runs per commit, for flaky tests
 * @param rule         how the runs of one commit combine into a verdict
 * @param timeoutVerdict what a timed-out run counts as
 * @param terms        words used in the report
 * @param firstParent  follow only first parents, like {@code git bisect start --first-parent}
 * @param confirmBoundary when repeat > 1, test the commits next to the answer once more, because a
 *                     single wrong flaky verdict there is what would make the answer wrong
 * @param maxInfraRetries runs of one commit that may end in infrastructure errors before the job aborts
 */
public record BisectOptions(
        int slots,
        int repeat,
        RepeatRule rule,
        TimeoutVerdict timeoutVerdict,
        Terms terms,
        boolean firstParent,
        boolean confirmBoundary,
        int maxInfraRetries) {

    public enum RepeatRule {
        ALL_FAIL,
        ANY_FAIL,
        MAJORITY
    }

    public enum TimeoutVerdict {
        SKIP,
        BAD
    }

    public enum Terms {
        GOOD_BAD("good", "bad"),
        OLD_NEW("old", "new");

        private final String good;
        private final String bad;

        Terms(String good, String bad) {
            this.good = good;
            this.bad = bad;
        }

        public String good() {
            return good;
        }

        public String bad() {
            return bad;
        }
    }

    public BisectOptions {
        if (slots < 1) throw new IllegalArgumentException("slots must be >= 1");
        if (repeat < 1) throw new IllegalArgumentException("repeat must be >= 1");
        if (maxInfraRetries < 0) throw new IllegalArgumentException("maxInfraRetries must be >= 0");
    }

    public static BisectOptions defaults() {
        return new BisectOptions(1, 1, RepeatRule.ALL_FAIL, TimeoutVerdict.SKIP, Terms.GOOD_BAD, false, true, 2);
    }

    public BisectOptions withSlots(int k) {
        return new BisectOptions(k, repeat, rule, timeoutVerdict, terms, firstParent, confirmBoundary, maxInfraRetries);
    }

    public BisectOptions withRepeat(int n, RepeatRule r) {
        return new BisectOptions(slots, n, r, timeoutVerdict, terms, firstParent, confirmBoundary, maxInfraRetries);
    }

    public BisectOptions withTimeoutVerdict(TimeoutVerdict v) {
        return new BisectOptions(slots, repeat, rule, v, terms, firstParent, confirmBoundary, maxInfraRetries);
    }

    public BisectOptions withTerms(Terms t) {
        return new BisectOptions(slots, repeat, rule, timeoutVerdict, t, firstParent, confirmBoundary, maxInfraRetries);
    }

    public BisectOptions withFirstParent(boolean fp) {
        return new BisectOptions(slots, repeat, rule, timeoutVerdict, terms, fp, confirmBoundary, maxInfraRetries);
    }
}
