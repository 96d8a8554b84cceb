package io.bisectbot.bots;

import io.bisectbot.queue.Job;
import io.bisectbot.queue.JobQueue;
import io.bisectbot.queue.NewJob;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;

/**
 * Turns repository events into bot jobs. Each job has a dedup key naming its cause, so a redelivered event or two
 * instances handling the same event enqueue it once. Deadlines are jobs with a future {@code run_at}: no timer in
 * memory, so a deadline survives restarts and fires once across all instances.
 */
public final class BotTriggers {

    private static final Logger log = LoggerFactory.getLogger(BotTriggers.class);

    private final JobQueue queue;

    public BotTriggers(JobQueue queue) {
        this.queue = queue;
    }

    /** The payload field of a job's callbacks from its repository's trusted config, checked when the job is created. */
    public static final String REPO_CALLBACKS = "repo_callbacks";

    /**
     * Where an event happened: the repository, the pull request, the commit the tasks run on, whether that commit's
     * code is trusted, and the callbacks the repository's default branch asks for (null: none).
     */
    public record Target(
            String repoUrl,
            String owner,
            String repo,
            long installationId,
            int pullRequest,
            String headSha,
            String baseRef,
            Trust trust,
            JsonNode callbacks) {

        public Target(
                String repoUrl,
                String owner,
                String repo,
                long installationId,
                int pullRequest,
                String headSha,
                String baseRef,
                Trust trust) {
            this(repoUrl, owner, repo, installationId, pullRequest, headSha, baseRef, trust, null);
        }

        public Target withTrust(Trust trust) {
            return new Target(repoUrl, owner, repo, installationId, pullRequest, headSha, baseRef, trust, callbacks);
        }

        public Target withCallbacks(JsonNode callbacks) {
            return new Target(repoUrl, owner, repo, installationId, pullRequest, headSha, baseRef, trust, callbacks);
        }
    }

    /**
     * A pull request was opened, pushed to or reopened ({@code updatedAt} is its updated_at): starts its
     * {@code pull_request} tasks, cancels those tasks' jobs for older heads (unless a task says not to), and sets
     * each {@code schedule} task's deadline counted from now.
     */
    public List<Job> pullRequestUpdated(Target target, Map<String, BotTask> tasks, Instant updatedAt) {
        var jobs = new ArrayList<Job>();
        for (var task : tasks.values()) {
            if (task.runsOn(new BotTask.Trigger.PullRequest())) {
                if (task.cancelPrevious()) {
                    cancelOlderHeads(target, task.name());
                }
                jobs.add(enqueue(
                        null,
                        target,
                        task,
                        "pull_request",
                        null,
                        null,
                        "bot:" + target.owner() + "/" + target.repo() + "#" + target.pullRequest() + ":" + task.name()
                                + ":" + target.headSha()));
            }
            task.schedule()
                    .ifPresent(schedule -> jobs.add(enqueue(
                            updatedAt.plus(schedule.after()),
                            target,
                            task,
                            "schedule",
                            null,
                            updatedAt,
                            "bot-deadline:" + target.owner() + "/" + target.repo() + "#" + target.pullRequest() + ":"
                                    + task.name() + ":" + updatedAt)));
        }
        return jobs;
    }

    /**
     * A label was added: starts the tasks that run on {@code label:<name>}. {@code eventKey} names the event by what
     * GitHub signed (the pull request and its updated_at), so a replayed delivery starts nothing new.
     */
    public List<Job> labelAdded(Target target, Map<String, BotTask> tasks, String label, String eventKey) {
        var jobs = new ArrayList<Job>();
        for (var task : tasks.values()) {
            if (task.runsOn(new BotTask.Trigger.Label(label))) {
                jobs.add(
                        enqueue(null, target, task, "label", label, null, "bot-label:" + eventKey + ":" + task.name()));
            }
        }
        return jobs;
    }

    /**
     * A writer approved the head ({@code target.trust()} says by whom): its {@code pull_request} tasks run again
     * with their full config, once per approved commit.
     */
    public List<Job> headApproved(Target target, Map<String, BotTask> tasks) {
        var jobs = new ArrayList<Job>();
        for (var task : tasks.values()) {
            if (task.runsOn(new BotTask.Trigger.PullRequest())) {
                jobs.add(enqueue(
                        null,
                        target,
                        task,
                        "pull_request",
                        null,
                        null,
                        "bot-approved:" + target.owner() + "/" + target.repo() + "#" + target.pullRequest() + ":"
                                + task.name() + ":" + target.headSha()));
            }
        }
        return jobs;
    }

    /**
     * {@code /bot <task> [args]}: starts the task when it accepts commands.
     *
     * @throws IllegalArgumentException saying what exists when the task is unknown or does not take commands
     */
    public Job command(Target target, Map<String, BotTask> tasks, String taskName, String args, String dedupKey) {
        var task = tasks.get(taskName);
        if (task == null) {
            throw new IllegalArgumentException("no task `" + taskName + "` in `.github/bisectbot.yml`"
                    + (tasks.isEmpty()
                            ? ""
                            : "; tasks: "
                                    + String.join(
                                            ", ",
                                            tasks.keySet().stream()
                                                    .map(n -> "`" + n + "`")
                                                    .toList())));
        }
        if (!task.runsOn(new BotTask.Trigger.Command())) {
            throw new IllegalArgumentException(
                    "task `" + taskName + "` does not run on commands; add `command` to its `on:` list");
        }
        return enqueue(null, target, task, "command", args, null, dedupKey);
    }

    /** {@code runAt} null means now. */
    private Job enqueue(
            Instant runAt,
            Target target,
            BotTask task,
            String trigger,
            String args,
            Instant deadlineBase,
            String dedupKey) {
        var request = new BotRequest(
                task.name(),
                task.source(),
                target.repoUrl(),
                target.owner(),
                target.repo(),
                target.installationId(),
                target.pullRequest(),
                target.headSha(),
                target.baseRef(),
                trigger,
                args,
                deadlineBase,
                target.trust());
        var payload = request.toPayload();
        if (target.callbacks() != null) {
            payload.set(REPO_CALLBACKS, target.callbacks());
        }
        var job = NewJob.of(BotRequest.KIND, payload)
                .withRunAt(runAt)
                .withDedupKey(dedupKey)
                .withTenant(NewJob.installationTenant(target.installationId()));
        return queue.enqueue(job).job();
    }

    private void cancelOlderHeads(Target target, String task) {
        var match = JsonNodeFactory.instance
                .objectNode()
                .put("owner", target.owner())
                .put("repo", target.repo())
                .put("pull_request", target.pullRequest())
                .put("task", task)
                .put("trigger", "pull_request");
        for (var job : queue.findLive(BotRequest.KIND, match)) {
            if (!target.headSha().equals(job.payload().path("head_sha").asString())) {
                log.info(
                        "Cancelling job {} ({} on {}): the pull request has a new head {}",
                        job.id(),
                        task,
                        job.payload().path("head_sha").asString(),
                        target.headSha());
                queue.cancel(job.id());
            }
        }
    }
}
