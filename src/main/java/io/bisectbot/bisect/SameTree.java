package io.bisectbot.bisect;

import java.util.Optional;

/**
 * Commits with identical trees (reverts, empty merges, rebased duplicates) run the same files, so for the same image
 * and command they get the same verdict: a commit whose tree was tested already takes that verdict instead of a run.
 * Within a job always (unless the job opts out); from earlier jobs through the verdict cache when it is on.
 */
interface SameTree {

    /** The tree of a commit, or empty when unknown. */
    Optional<String> tree(String commit);

    /** Run {@code runIndex} of an earlier job on another commit with this tree, or empty. */
    default Optional<Earlier> earlier(String tree, String commit, int runIndex) {
        return Optional.empty();
    }

    record Earlier(String commit, StepResult result) {}

    /** Trees from the repository, verdicts from this job only. */
    static SameTree of(RevisionSource source) {
        return source::tree;
    }
}
