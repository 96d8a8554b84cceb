package io.bisectbot.bots;

import java.util.List;
import java.util.Optional;

/** Stands in while no GitHub App is configured: bot jobs fail saying so instead of running half-way. */
final class NoGithub implements BotGithub {

    private static IllegalStateException notConfigured() {
        return new IllegalStateException("bot tasks report to GitHub, and no GitHub App is configured on this instance "
                + "(set GITHUB_APP_ID and GITHUB_PRIVATE_KEY)");
    }

    @Override
    public PullRequestState pullRequest(BotRequest request) {
        throw notConfigured();
    }

    @Override
    public Optional<String> cloneToken(BotRequest request) {
        return Optional.empty();
    }

    @Override
    public void checkStarted(long jobId, BotRequest request) {
        throw notConfigured();
    }

    @Override
    public void checkFinished(long jobId, BotRequest request, Conclusion conclusion, String summary) {
        throw notConfigured();
    }

    @Override
    public void comment(long jobId, BotRequest request, String markdown) {
        throw notConfigured();
    }

    @Override
    public String proposeChanges(
            long jobId, BotRequest request, String branch, String title, String body, List<ChangedFile> changes) {
        throw notConfigured();
    }

    @Override
    public void closePullRequest(long jobId, BotRequest request, String comment) {
        throw notConfigured();
    }

    @Override
    public void addLabel(BotRequest request, String label) {
        throw notConfigured();
    }
}
