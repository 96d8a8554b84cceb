package io.bisectbot.bots;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

/** Records what bot jobs ask of GitHub; the GitHub side itself is tested against a fake API elsewhere. */
final class FakeBotGithub implements BotGithub {

    final List<String> calls = new CopyOnWriteArrayList<>();
    final List<List<ChangedFile>> proposals = new CopyOnWriteArrayList<>();
    final List<String> summaries = new CopyOnWriteArrayList<>();
    volatile PullRequestState state = new PullRequestState(true, Instant.parse("2026-01-01T00:00:00Z"), null);

    @Override
    public PullRequestState pullRequest(BotRequest request) {
        calls.add("pullRequest");
        return state;
    }

    @Override
    public Optional<String> cloneToken(BotRequest request) {
        return Optional.empty();
    }

    @Override
    public void checkStarted(long jobId, BotRequest request) {
        calls.add("checkStarted:" + request.taskName());
    }

    @Override
    public void checkFinished(long jobId, BotRequest request, Conclusion conclusion, String summary) {
        calls.add("checkFinished:" + request.taskName() + ":" + conclusion);
        summaries.add(summary);
    }

    @Override
    public void comment(long jobId, BotRequest request, String markdown) {
        calls.add("comment:" + request.taskName());
        summaries.add(markdown);
    }

    @Override
    public String proposeChanges(
            long jobId, BotRequest request, String branch, String title, String body, List<ChangedFile> changes) {
        calls.add("propose:" + branch);
        proposals.add(changes);
        return "https://github.example/pulls/1";
    }

    @Override
    public void closePullRequest(long jobId, BotRequest request, String comment) {
        calls.add("close:" + comment);
    }

    @Override
    public void addLabel(BotRequest request, String label) {
        calls.add("label:" + label);
    }
}
