package io.bisectbot.bisect;

import io.bisectbot.bisect.BisectSetupException.Problem;
import io.bisectbot.git.GitException;
import io.bisectbot.git.GitRepository;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * The engine's history read from a {@link GitRepository}. A failing git command becomes a {@link BisectSetupException}
 * {@code GIT_FAILED} in git's words, which a bisect job retries.
 */
final class GitHistory implements RevisionSource {

    private final GitRepository git;

    GitHistory(GitRepository git) {
        this.git = git;
    }

    /** The mirror of a git URL (fetched first), or the local repository at a path. */
    static GitHistory at(String location, Path cacheDir, String token) {
        return new GitHistory(gitFailed(() -> GitRepository.at(location, cacheDir, token)));
    }

    GitRepository repository() {
        return git;
    }

    @Override
    public Optional<String> resolve(String revision) {
        return git.resolve(revision);
    }

    @Override
    public List<CommitInfo> revList(String bad, List<String> goods, boolean firstParent) {
        return gitFailed(() -> git.revList(bad, goods, firstParent)).stream()
                .map(GitHistory::info)
                .toList();
    }

    @Override
    public List<String> mergeBases(String bad, List<String> goods) {
        return git.mergeBases(bad, goods);
    }

    @Override
    public Optional<CommitInfo> describe(String sha) {
        return git.describe(sha).map(GitHistory::info);
    }

    @Override
    public Optional<String> tree(String sha) {
        return git.tree(sha);
    }

    @Override
    public boolean isAncestor(String ancestor, String descendant) {
        return gitFailed(() -> git.isAncestor(ancestor, descendant));
    }

    /** Whether {@code commit} is on a branch or tag of the repository (see {@link GitRepository#onBranchOrTag}). */
    boolean onBranchOrTag(String commit) {
        return gitFailed(() -> git.onBranchOrTag(commit));
    }

    private static CommitInfo info(GitRepository.Commit commit) {
        return new CommitInfo(commit.sha(), commit.parents(), commit.subject(), commit.author(), commit.date());
    }

    private static <T> T gitFailed(Supplier<T> call) {
        try {
            return call.get();
        } catch (GitException e) {
            throw new BisectSetupException(Problem.GIT_FAILED, e.getMessage(), e);
        }
    }
}
