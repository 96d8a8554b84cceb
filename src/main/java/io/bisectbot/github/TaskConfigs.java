package io.bisectbot.github;

import io.bisectbot.bots.BotConfig;
import io.bisectbot.bots.BotSecrets;
import io.bisectbot.bots.BotTask;
import io.bisectbot.executor.ImagePolicy;
import io.bisectbot.queue.Job;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.JsonNode;

/**
 * A repository's {@code .github/bisectbot.yml} as a delivery uses it: read from the base or the default branch, its
 * tasks checked against what this service allows, and each problem told once in the thread.
 */
final class TaskConfigs {

    private static final Logger log = LoggerFactory.getLogger(TaskConfigs.class);

    private final GithubApi api;
    private final GithubReports reports;
    private final GithubProperties properties;
    private final ImagePolicy images;
    private final BotSecrets secrets;
    private final Duration botTaskTimeout;

    TaskConfigs(
            GithubApi api,
            GithubReports reports,
            GithubProperties properties,
            ImagePolicy images,
            BotSecrets secrets,
            Duration botTaskTimeout) {
        this.api = api;
        this.reports = reports;
        this.properties = properties;
        this.images = images;
        this.secrets = secrets;
        this.botTaskTimeout = botTaskTimeout;
    }

    /**
     * The callbacks of the default branch's config: {@code base}'s when it was read there ({@code baseRef} null or
     * the default branch), else that config, read now. Never a pull request head's, nor another branch's, which a
     * pull request may target: callbacks send the jobs' results out of the service. A default branch config that
     * cannot be read gives none (its error is told on the default branch's own commands).
     */
    JsonNode defaultBranchCallbacks(GithubRef thread, String baseRef, RepoConfig base, JsonNode repository) {
        if (baseRef == null || baseRef.equals(repository.path("default_branch").asString(null))) {
            return base.callbacks();
        }
        try {
            return RepoConfig.parse(api.fileContent(
                            thread.installationId(), thread.owner(), thread.repo(), RepoConfig.PATH, null))
                    .callbacks();
        } catch (RepoConfig.Invalid e) {
            log.warn(
                    "Jobs of {}/{} get no repository callbacks: the default branch's {} is invalid: {}",
                    thread.owner(),
                    thread.repo(),
                    RepoConfig.PATH,
                    e.getMessage());
            return null;
        }
    }

    /**
     * The repository config at {@code ref} (the base branch; null: the default branch); null, after one error reply
     * keyed by {@code errorKey}, when it is unusable.
     */
    RepoConfig baseConfig(GithubRef thread, String ref, String errorKey) {
        try {
            return RepoConfig.parse(api.fileContent(
                    thread.installationId(),
                    thread.owner(),
                    thread.repo(),
                    RepoConfig.PATH,
                    ref == null ? null : java.net.URLEncoder.encode(ref, StandardCharsets.UTF_8)));
        } catch (RepoConfig.Invalid e) {
            reports.reply(
                    errorKey,
                    thread,
                    "**Error**: " + e.getMessage() + "\n\nNo job was started. Fix the file and comment again.");
            return null;
        }
    }

    /** The config's tasks, checked against what this service allows; null, after one error reply, when unusable. */
    Map<String, BotTask> checkedTasks(RepoConfig config, GithubRef thread, String errorKey) {
        var checked = check(config, thread);
        var problems = checked.problems();
        if (!problems.isEmpty()) {
            reports.reply(
                    errorKey,
                    thread,
                    "**Error**: `" + RepoConfig.PATH + "` has " + problems.size()
                            + (problems.size() == 1 ? " problem" : " problems") + ":\n- "
                            + String.join("\n- ", problems)
                            + "\n\nNo job was started.");
            return null;
        }
        return checked.tasks();
    }

    /** A config's tasks (empty when they do not parse), and everything that keeps the config from running here. */
    record Checked(Map<String, BotTask> tasks, List<String> problems) {}

    /** Invalid tasks, images not allowed, secrets not granted: parsed once, for the problems and the tasks alike. */
    Checked check(RepoConfig config, GithubRef thread) {
        var problems = new ArrayList<String>();
        if (config.bisect().image() != null && !images.allows(config.bisect().image())) {
            problems.add("`bisect.image`: " + images.refusal(config.bisect().image()));
        }
        Map<String, BotTask> tasks;
        try {
            tasks = BotConfig.parse(config.tasks(), properties.bisectImage(), botTaskTimeout);
        } catch (BotConfig.Invalid e) {
            problems.addAll(e.problems());
            return new Checked(Map.of(), problems);
        }
        for (var task : tasks.values()) {
            if (task.source().has("image") && !images.allows(task.image())) {
                problems.add("`tasks." + task.name() + ".image`: " + images.refusal(task.image()));
            }
            problems.addAll(secrets.problems(task, thread.owner(), thread.repo(), thread.installationId()));
        }
        return new Checked(tasks, problems);
    }

    /** A task that reports as a check run shows it queued as soon as its job exists (deadlines only when they fire). */
    void queueCheck(Job job, Map<String, BotTask> tasks, GithubRef thread) {
        var task = tasks.get(job.payload().path("task").asString());
        if (task != null
                && !task.isAction()
                && task.outputs() == BotTask.Output.CHECK
                && !"schedule".equals(job.payload().path("trigger").asString())) {
            reports.taskQueued(job.id(), thread, "bisectbot/" + task.name());
        }
    }
}
