package io.bisectbot.bisect;

import java.util.List;
import java.util.Optional;

/**
 * The few history queries the engine needs. {@link GitHistory} answers them from a git repository;
 * tests may answer them from memory.
 */
public interface RevisionSource {

    /** Full commit id of {@code revision}, or empty when it names no commit. */
    Optional<String> resolve(String revision);

    /** {@code rev-list --parents bad ^good...} in rev-list order (newest first), with report data. */
    List<CommitInfo> revList(String bad, List<String> goods, boolean firstParent);

    /** {@code merge-base --all bad good...} in git's order. */
    List<String> mergeBases(String bad, List<String> goods);

    /** Report data of a commit outside the range (a good end, a merge base); empty when unknown. */
    default Optional<CommitInfo> describe(String sha) {
        return Optional.empty();
    }

    /** The tree a commit records (the same for a revert of a revert, an empty merge, a rebased duplicate). */
    default Optional<String> tree(String sha) {
        return Optional.empty();
    }

    /** Whether {@code ancestor} is reachable from {@code descendant} (a commit is its own ancestor). */
    boolean isAncestor(String ancestor, String descendant);
}
