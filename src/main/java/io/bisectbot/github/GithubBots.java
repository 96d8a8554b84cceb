package io.bisectbot.github;

import io.bisectbot.bots.BotGithub;
import io.bisectbot.bots.BotRequest;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import tools.jackson.databind.node.JsonNodeFactory;

/**
 * Bot jobs on GitHub. Check runs and comments go through the outbox, keyed by job; proposing changes and the
 * built-in actions call the API from the job itself, each step safe to repeat: the branch is per task and commit
 * (moved, not duplicated), an open pull request from it is reused, a closed pull request stays closed.
 */
final class GithubBots implements BotGithub {

    private final GithubApi api;
    private final GithubReports reports;
    private final GithubGitCredentials credentials;

    GithubBots(GithubApi api, GithubReports reports, GithubGitCredentials credentials) {
        this.api = api;
        this.reports = reports;
        this.credentials = credentials;
    }

    private static GithubRef ref(BotRequest request) {
        return new GithubRef(
                request.installationId(),
                request.owner(),
                request.repo(),
                request.pullRequest(),
                null,
                request.headSha());
    }

    private static String repoPath(BotRequest request) {
        return "repos/" + request.owner() + "/" + request.repo();
    }

    private static String checkName(BotRequest request) {
        return "bisectbot/" + request.taskName();
    }

    @Override
    public PullRequestState pullRequest(BotRequest request) {
        var pr = GithubApi.require(
                        api.get(request.installationId(), repoPath(request) + "/pulls/" + request.pullRequest()),
                        "read pull request " + request.pullRequest())
                .body();
        var updated = pr.path("updated_at").asString(null);
        return new PullRequestState(
                "open".equals(pr.path("state").asString()),
                updated == null ? null : Instant.parse(updated),
                pr.path("head").path("sha").asString(null));
    }

    @Override
    public Optional<String> cloneToken(BotRequest request) {
        return credentials.tokenFor(request.installationId());
    }

    @Override
    public void checkStarted(long jobId, BotRequest request) {
        reports.taskStarted(jobId, ref(request), checkName(request));
    }

    @Override
    public void checkFinished(long jobId, BotRequest request, Conclusion conclusion, String summary) {
        reports.taskFinished(
                jobId,
                ref(request),
                checkName(request),
                summary,
                GithubReports.Conclusion.valueOf(conclusion == Conclusion.SKIPPED ? "NEUTRAL" : conclusion.name()));
    }

    @Override
    public void comment(long jobId, BotRequest request, String markdown) {
        if (request.pullRequest() > 0) {
            reports.jobComment(jobId, ref(request), markdown);
        }
    }

    @Override
    public String proposeChanges(
            long jobId, BotRequest request, String branch, String title, String body, List<ChangedFile> changes) {
        var installation = request.installationId();
        var repo = repoPath(request);
        var base = GithubApi.require(
                        api.get(installation, repo + "/git/commits/" + request.headSha()), "read the head commit")
                .body();
        var tree = JsonNodeFactory.instance
                .objectNode()
                .put("base_tree", base.path("tree").path("sha").asString());
        var entries = tree.putArray("tree");
        for (var change : changes) {
            var entry = entries.addObject()
                    .put("path", change.path())
                    .put("mode", change.mode())
                    .put("type", "blob");
            if (change.content() == null) {
                entry.putNull("sha");
            } else {
                var blob = JsonNodeFactory.instance
                        .objectNode()
                        .put("content", Base64.getEncoder().encodeToString(change.content()))
                        .put("encoding", "base64");
                entry.put(
                        "sha",
                        GithubApi.require(api.post(installation, repo + "/git/blobs", blob), "create a blob")
                                .body()
                                .path("sha")
                                .asString());
            }
        }
        var newTree = GithubApi.require(api.post(installation, repo + "/git/trees", tree), "create a tree")
                .body()
                .path("sha")
                .asString();
        var commit = JsonNodeFactory.instance
                .objectNode()
                .put("message", title + "\n\n" + body)
                .put("tree", newTree);
        commit.putArray("parents").add(request.headSha());
        var commitSha = GithubApi.require(api.post(installation, repo + "/git/commits", commit), "create a commit")
                .body()
                .path("sha")
                .asString();
        var existing = api.get(installation, repo + "/git/ref/heads/" + branch);
        if (existing.ok()) {
            GithubApi.require(
                    api.patch(
                            installation,
                            repo + "/git/refs/heads/" + branch,
                            JsonNodeFactory.instance
                                    .objectNode()
                                    .put("sha", commitSha)
                                    .put("force", true)),
                    "move " + branch);
        } else {
            GithubApi.require(
                    api.post(
                            installation,
                            repo + "/git/refs",
                            JsonNodeFactory.instance
                                    .objectNode()
                                    .put("ref", "refs/heads/" + branch)
                                    .put("sha", commitSha)),
                    "create " + branch);
        }
        var open = api.getAll(installation, repo + "/pulls?state=open&head=" + request.owner() + ":" + branch);
        if (!open.isEmpty()) {
            return open.getFirst().path("html_url").asString();
        }
        var target = request.baseRef() != null
                ? request.baseRef()
                : GithubApi.require(api.get(installation, repo), "read the repository")
                        .body()
                        .path("default_branch")
                        .asString("main");
        var pr = JsonNodeFactory.instance
                .objectNode()
                .put("title", title)
                .put("head", branch)
                .put("base", target)
                .put("body", body);
        return GithubApi.require(api.post(installation, repo + "/pulls", pr), "open a pull request")
                .body()
                .path("html_url")
                .asString();
    }

    @Override
    public void closePullRequest(long jobId, BotRequest request, String comment) {
        var state = pullRequest(request);
        if (!state.open()) {
            return;
        }
        if (comment != null) {
            reports.jobComment(jobId, ref(request), comment);
        }
        GithubApi.require(
                api.patch(
                        request.installationId(),
                        repoPath(request) + "/pulls/" + request.pullRequest(),
                        JsonNodeFactory.instance.objectNode().put("state", "closed")),
                "close pull request " + request.pullRequest());
    }

    @Override
    public void addLabel(BotRequest request, String label) {
        var body = JsonNodeFactory.instance.objectNode();
        body.putArray("labels").add(label);
        // Adding a label the issue has already is a no-op on GitHub's side.
        GithubApi.require(
                api.post(
                        request.installationId(),
                        repoPath(request) + "/issues/" + request.pullRequest() + "/labels",
                        body),
                "add label " + label);
    }
}
