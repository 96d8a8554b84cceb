package io.bisectbot.bots;

import java.time.Duration;
import java.time.Instant;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * A bot job's input: which task of which repository runs on which commit, why, and the task as configured at that
 * commit (a snapshot, so a later config change does not alter a queued job).
 *
 * @param repoUrl      git URL of the repository (a local path in tests)
 * @param owner        repository owner on GitHub
 * @param repo         repository name on GitHub
 * @param installationId GitHub App installation, for tokens
 * @param pullRequest  the pull request concerned, or 0
 * @param headSha      the commit the task runs on
 * @param baseRef      the pull request's base branch, for pull requests the task opens
 * @param trigger      pull_request, command, label, schedule or manual
 * @param deadlineBase for schedule triggers: the pull request's updated_at the deadline counts from
 * @param trust        whether the head's code is trusted; a payload that does not say is untrusted
 */
public record BotRequest(
        String taskName,
        JsonNode taskConfig,
        String repoUrl,
        String owner,
        String repo,
        long installationId,
        int pullRequest,
        String headSha,
        String baseRef,
        String trigger,
        String args,
        Instant deadlineBase,
        Trust trust) {

    public static final String KIND = "bot";

    public BotRequest {
        trust = trust == null ? Trust.untrusted("no trust given") : trust;
    }

    public static BotRequest parse(JsonNode payload) {
        var task = text(payload, "task");
        var sha = text(payload, "head_sha");
        var url = text(payload, "repo_url");
        if (task == null
                || sha == null
                || url == null
                || !payload.path("task_config").isObject()) {
            throw new IllegalArgumentException("a bot job needs 'task', 'task_config', 'repo_url' and 'head_sha'");
        }
        if (!sha.matches("[0-9a-f]{40}")) {
            throw new IllegalArgumentException("'head_sha' must be a full commit sha, got '" + sha + "'");
        }
        var base = text(payload, "deadline_base");
        return new BotRequest(
                task,
                payload.get("task_config"),
                url,
                text(payload, "owner"),
                text(payload, "repo"),
                payload.path("installation_id").asLong(0),
                payload.path("pull_request").asInt(0),
                sha,
                text(payload, "base_ref"),
                text(payload, "trigger") == null ? "manual" : text(payload, "trigger"),
                text(payload, "args"),
                base == null ? null : Instant.parse(base),
                new Trust(
                        payload.path("trusted").asBoolean(false),
                        text(payload, "trust_reason") == null
                                ? "the job does not say its code is trusted"
                                : text(payload, "trust_reason"),
                        text(payload, "approved_by")));
    }

    public ObjectNode toPayload() {
        var node = JsonNodeFactory.instance.objectNode();
        node.put("task", taskName);
        node.set("task_config", taskConfig);
        node.put("repo_url", repoUrl);
        node.put("owner", owner);
        node.put("repo", repo);
        node.put("installation_id", installationId);
        node.put("pull_request", pullRequest);
        node.put("head_sha", headSha);
        node.put("base_ref", baseRef);
        node.put("trigger", trigger);
        node.put("args", args);
        node.put("deadline_base", deadlineBase == null ? null : deadlineBase.toString());
        node.put("trusted", trust.trusted());
        node.put("trust_reason", trust.reason());
        node.put("approved_by", trust.approvedBy());
        return node;
    }

    /** The task as configured, read with the same rules as the repository's config. */
    public BotTask task(String defaultImage, Duration defaultTimeout) throws BotConfig.Invalid {
        var wrapper = JsonNodeFactory.instance.objectNode();
        wrapper.set(taskName, taskConfig);
        return BotConfig.parse(wrapper, defaultImage, defaultTimeout).get(taskName);
    }

    public String shortSha() {
        return headSha.substring(0, 7);
    }

    private static String text(JsonNode payload, String field) {
        var node = payload.get(field);
        return node == null || node.isNull() || node.asString().isBlank() ? null : node.asString();
    }
}
