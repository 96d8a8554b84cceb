package io.bisectbot.bisect;

import java.util.List;

/**
 * Told what a running bisection does, as it happens, e.g. to draw the command line's status line. Called from the
 * job's thread and from the step threads, so implementations must be thread-safe; they must also be quick.
 */
public interface BisectProgress {

    BisectProgress NONE = new BisectProgress() {};

    /**
     * A search round starts.
     *
     * @param round        1 for the first search round
     * @param commitsLeft  commits that may still be the first bad one
     * @param roundsToGo   estimated rounds until the answer, this one included
     */
    default void round(int round, int commitsLeft, int roundsToGo) {}

    /**
     * A search round ended: every commit it tested that still mattered has its verdict. Called from the job's thread.
     * A job taken over after a crash replays its stored runs and tells their rounds again.
     */
    default void roundEnded(Round round) {}

    /**
     * What a search round found.
     *
     * @param round       1 for the first search round (which may have run beside the verification of the ends)
     * @param commitsLeft commits that may still be the first bad one, after this round's verdicts
     * @param roundsToGo  estimated rounds still to go; 0 when one commit is left
     * @param tested      the commits this round tested, with their verdicts, in the order they came
     */
    record Round(int round, int commitsLeft, int roundsToGo, List<BisectResult.CommitTested> tested) {
        public Round {
            tested = List.copyOf(tested);
        }
    }

    /** A run of the test started on a commit. */
    default void stepStarted(StepRunner.Request step) {}

    /** That run ended (with a result, cancelled or failed). */
    default void stepEnded(StepRunner.Request step) {}

    /** About {@code log(commits) / log(slots + 1)} rounds: each round cuts the range into {@code slots + 1} parts. */
    static int roundsToGo(int commitsLeft, int slots) {
        if (commitsLeft <= 1) {
            return 0;
        }
        return (int) Math.ceil(Math.log(commitsLeft) / Math.log(slots + 1) - 1e-9);
    }
}
