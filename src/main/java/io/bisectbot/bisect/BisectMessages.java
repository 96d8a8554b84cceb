package io.bisectbot.bisect;

import io.bisectbot.bisect.BisectOutcome.EndCheck;
import java.util.List;
import java.util.Locale;

/** What a bisection tells its user: why it cannot start, why it stopped, and what to try next. */
final class BisectMessages {

    private BisectMessages() {}

    static String needsGood(BisectOptions.Terms terms) {
        return "at least one " + terms.good() + " revision is needed";
    }

    static String unknownRevision(String rev) {
        return "'" + rev + "' does not appear to be a valid revision";
    }

    static String badNotAfterGood(BisectOptions.Terms terms, String bad, String good, List<String> goods) {
        return String.format(
                "%s %s is %s %s %s, so there is nothing to search. git would say: %s "
                        + "Swap the revisions if the behaviour was fixed rather than broken.",
                terms.bad(),
                bad,
                bad.equals(good) ? "the same commit as" : "an ancestor of",
                terms.good(),
                good,
                mergeBaseBad(terms, bad, goods));
    }

    static String emptyRange(String bad, List<String> goods) {
        return "no commit is reachable from " + bad + " and from none of " + goods;
    }

    /** git's words when a merge base (or bad itself) turns out bad. */
    static String mergeBaseBad(BisectOptions.Terms terms, String mb, List<String> goods) {
        String goodList = String.join(" ", goods);
        if (terms == BisectOptions.Terms.GOOD_BAD) {
            return "The merge base " + mb + " is bad. This means the bug has been fixed between " + mb + " and ["
                    + goodList + "].";
        }
        return "The merge base " + mb + " is " + terms.bad() + ". This means the first '" + terms.good()
                + "' commit is between " + mb + " and [" + goodList + "].";
    }

    /** The ends did not pass and fail as they should: what each did, and how to get a usable command. */
    static String endsAdvice(BisectOptions.Terms terms, List<EndCheck> problems) {
        String goodWord = terms.good();
        String badWord = terms.bad();
        StringBuilder sb = new StringBuilder();
        for (EndCheck p : problems) {
            String actual = p.actual() == Verdict.SKIP
                    ? "could not be tested (exit 125 or timeout)"
                    : p.actual() == Verdict.GOOD ? "passes (exit 0)" : "fails";
            sb.append(p.expected() == Verdict.BAD ? badWord : goodWord)
                    .append(' ')
                    .append(p.commit())
                    .append(' ')
                    .append(actual)
                    .append(". ");
        }
        sb.append("The command must exit 0 on the ")
                .append(goodWord)
                .append(" revision and 1-127 (not 125) on the ")
                .append(badWord)
                .append(" one. Run it on both from a clean checkout; check that it does not depend on "
                        + "files outside the repository or on the network; if the failure is intermittent use repeat "
                        + "with rule any-fail; if the ")
                .append(goodWord)
                .append(" revision is too old to build, pick a newer one.");
        return sb.toString();
    }

    static String metricAdvice(BisectOptions.Terms terms, MetricOptions metric) {
        String what = metric.source() == MetricOptions.Source.STDOUT
                ? "exit 0 and print the metric as the last number on standard output"
                : "exit 0";
        return "In metric mode the command must " + what + " on both ends, every run. Run it on both from a clean "
                + "checkout; check that it does not depend on files outside the repository or on the network; if the "
                + terms.good() + " revision is too old to build, pick a newer one.";
    }

    static String noSignificantChange(
            BisectOptions.Terms terms, String bad, MetricStats.Comparison c, MetricOptions metric) {
        String why = c.verdict() == Verdict.GOOD ? "is not worse than" : "could not be told apart from";
        return String.format(
                Locale.ROOT,
                "No significant change: %s %s %s %s (median %s, p = %s, %d against %d "
                        + "runs; a regression needs at least %s and p < %s). No commit is named.",
                terms.bad(),
                bad,
                why,
                terms.good(),
                MetricStats.percent(c.change()),
                MetricStats.pText(c.pValue()),
                c.n(),
                c.baselineN(),
                MetricStats.percent(metric.threshold()),
                metric.alpha());
    }

    /** Why the job stopped: a commit's runs kept ending without a verdict. */
    static String noVerdict(String sha, int failures, StepResult last) {
        return "testing " + sha + " failed " + failures + " times without a verdict; last: " + describe(last);
    }

    private static String describe(StepResult r) {
        return switch (r) {
            case StepResult.Exited e -> "exit code " + e.exitCode() + " (< 0 or >= 128 aborts, as in git bisect run)";
            case StepResult.TimedOut t -> "timed out";
            case StepResult.InfraError e -> e.message();
            case StepResult.Cancelled c -> "cancelled";
        };
    }
}
