package io.bisectbot.github;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * Where a job reports on GitHub: the thread (issue or pull request) and comment that started it, and the commit its
 * check run is attached to. Carried as {@code payload.github} of the jobs a command enqueues.
 *
 * @param commentId the comment holding the command; null when the job was not started by a comment
 * @param headSha   the pull request head the job runs at; null when not on a pull request (no check run then)
 * @param privateRepository the webhook's {@code repository.private}; true when unknown, so links to the job's
 *                  report are only ever shared for repositories known to be public
 */
public record GithubRef(
        long installationId,
        String owner,
        String repo,
        long issueNumber,
        Long commentId,
        String headSha,
        boolean privateRepository) {

    /** A ref whose repository's visibility is not known: treated as private. */
    public GithubRef(long installationId, String owner, String repo, long issueNumber, Long commentId, String headSha) {
        this(installationId, owner, repo, issueNumber, commentId, headSha, true);
    }

    public GithubRef {
        if (owner == null || owner.isBlank() || repo == null || repo.isBlank()) {
            throw new IllegalArgumentException("owner and repo are required");
        }
    }

    /** Reads {@code payload.github} (or the {@code github} object itself) of a job. */
    public static GithubRef fromJson(JsonNode node) {
        var github = node.has("github") ? node.get("github") : node;
        if (!github.path("installation_id").isNumber()
                || !github.path("issue_number").isNumber()) {
            throw new IllegalArgumentException("payload.github needs installation_id, owner, repo and issue_number");
        }
        var comment = github.path("comment_id");
        var sha = github.path("head_sha");
        var isPrivate = github.path("private");
        return new GithubRef(
                github.get("installation_id").asLong(),
                github.path("owner").asString(null),
                github.path("repo").asString(null),
                github.get("issue_number").asLong(),
                comment.isNumber() ? comment.asLong() : null,
                sha.isString() ? sha.asString() : null,
                !isPrivate.isBoolean() || isPrivate.asBoolean());
    }

    public ObjectNode toJson() {
        var node = JsonNodeFactory.instance
                .objectNode()
                .put("installation_id", installationId)
                .put("owner", owner)
                .put("repo", repo)
                .put("issue_number", issueNumber);
        if (commentId != null) {
            node.put("comment_id", commentId);
        } else {
            node.putNull("comment_id");
        }
        if (headSha != null) {
            node.put("head_sha", headSha);
        } else {
            node.putNull("head_sha");
        }
        return node.put("private", privateRepository);
    }

    String repoPath() {
        return "repos/" + owner + "/" + repo;
    }
}
