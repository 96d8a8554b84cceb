package io.bisectbot.bots;

import java.time.Instant;
import java.util.List;

/**
 * What bot jobs do on GitHub. Every method is idempotent for a given job (a job taken over after a crash calls it
 * again): reports are keyed by job, the pull request branch is per task and commit, built-in actions check first.
 */
public interface BotGithub {

    enum Conclusion {
        SUCCESS,
        FAILURE,
        CANCELLED,
        SKIPPED
    }

    /** The pull request as GitHub has it now. */
    record PullRequestState(boolean open, Instant updatedAt, String headSha) {}

    PullRequestState pullRequest(BotRequest request);

    /** A token to fetch the repository (e.g. the installation's); empty for public repositories. */
    java.util.Optional<String> cloneToken(BotRequest request);

    /** A check run for the task on the head commit, in progress. */
    void checkStarted(long jobId, BotRequest request);

    /** Completes the task's check run with its conclusion and a Markdown summary. */
    void checkFinished(long jobId, BotRequest request, Conclusion conclusion, String summary);

    /** Posts (or edits) the job's one comment on the pull request. */
    void comment(long jobId, BotRequest request, String markdown);

    /**
     * Commits {@code changes} on top of the head commit to {@code branch} (created, or moved when it exists) through
     * the Git Data API, and opens a pull request from it unless one is open already. Returns the pull request URL.
     */
    String proposeChanges(
            long jobId, BotRequest request, String branch, String title, String body, List<ChangedFile> changes);

    /** Closes the pull request, first posting {@code comment} if given; nothing when it is closed already. */
    void closePullRequest(long jobId, BotRequest request, String comment);

    /** Adds the label; nothing when it is there already. */
    void addLabel(BotRequest request, String label);

    /** A changed path for {@link #proposeChanges}; {@code content} null means deleted. */
    record ChangedFile(String path, String mode, byte[] content) {}
}
