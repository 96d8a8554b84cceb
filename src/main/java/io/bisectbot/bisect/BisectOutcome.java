package io.bisectbot.bisect;

import java.util.List;

/** How a bisection ended. */
public sealed interface BisectOutcome {

    record FirstBad(CommitInfo commit) implements BisectOutcome {}

    /** Only skipped commits were left: the first bad commit is one of these (git lists them the same way). */
    record OnlySkippedLeft(List<CommitInfo> candidates) implements BisectOutcome {}

    /** The given ends do not behave as claimed, so any culprit would be wrong. */
    record EndsNotAsExpected(List<EndCheck> problems, String advice) implements BisectOutcome {}

    /** A merge base of bad and the goods is bad: the change is a fix, not a regression (git's wording). */
    record MergeBaseBad(String mergeBase, String message) implements BisectOutcome {}

    /** The runs kept failing for reasons unrelated to the commit; stored runs make a retry cheap. */
    record Aborted(String reason) implements BisectOutcome {}

    /**
     * Metric mode: the bad end is not significantly worse than the good end, so no commit is named.
     *
     * @param change relative change of the bad end's median against the good end's, positive when worse
     * @param pValue one-sided Mann-Whitney U p-value that the bad end is worse
     */
    record NoSignificantChange(double change, double pValue, int badRuns, int goodRuns, String message)
            implements BisectOutcome {}

    record EndCheck(String commit, Verdict expected, Verdict actual) {}
}
