package io.bisectbot.bisect;

/** What a run (or all runs of a commit) says about the commit. */
public enum Verdict {
    GOOD,
    BAD,
    SKIP
}
