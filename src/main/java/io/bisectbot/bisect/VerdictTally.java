package io.bisectbot.bisect;

import io.bisectbot.bisect.BisectOptions.RepeatRule;

/**
 * Combines the runs of one commit into a verdict, stopping as soon as the remaining runs could not
 * change it (all-fail: the first pass decides good; any-fail: the first failure decides bad).
 */
final class VerdictTally implements RunTally {

    private final int repeat;
    private final RepeatRule rule;
    private int passes;
    private int failures;
    private boolean skipped;

    VerdictTally(int repeat, RepeatRule rule) {
        this.repeat = repeat;
        this.rule = rule;
    }

    @Override
    public void add(Verdict v) {
        switch (v) {
            case GOOD -> passes++;
            case BAD -> failures++;
            case SKIP -> skipped = true;
        }
    }

    /** Null while more runs are needed. */
    @Override
    public Verdict verdict() {
        // An untestable commit stays untestable; repeating would only spend time.
        if (skipped) return Verdict.SKIP;
        int runs = passes + failures;
        return switch (rule) {
            case ALL_FAIL -> passes > 0 ? Verdict.GOOD : runs >= repeat ? Verdict.BAD : null;
            case ANY_FAIL -> failures > 0 ? Verdict.BAD : runs >= repeat ? Verdict.GOOD : null;
            case MAJORITY -> failures > repeat / 2 ? Verdict.BAD : passes >= repeat - repeat / 2 ? Verdict.GOOD : null;
        };
    }

    @Override
    public int passes() {
        return passes;
    }

    @Override
    public int failures() {
        return failures;
    }
}
