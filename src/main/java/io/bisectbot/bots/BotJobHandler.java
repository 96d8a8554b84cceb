package io.bisectbot.bots;

import io.bisectbot.executor.CancellationSignal;
import io.bisectbot.executor.DockerExecutor;
import io.bisectbot.executor.DockerHealth;
import io.bisectbot.executor.ImagePolicy;
import io.bisectbot.executor.StepLogRepository;
import io.bisectbot.executor.StepOutcome;
import io.bisectbot.executor.StepSpec;
import io.bisectbot.git.GitProperties;
import io.bisectbot.git.GitRepository;
import io.bisectbot.queue.JobContext;
import io.bisectbot.queue.JobHandler;
import io.bisectbot.queue.JobOutcome;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * Job kind {@code bot}: runs one repository task. A built-in action (close a pull request, add a label, comment)
 * calls GitHub; a container task runs its command on the exact head commit and reports as a check run, a comment,
 * or a pull request with the files it changed. A scheduled task first checks that its deadline still stands.
 */
public final class BotJobHandler implements JobHandler {

    private static final int LOG_TAIL_LINES = 60;
    static final String APPROVE_HINT =
            "Someone with write access can comment `/bot approve` to run this commit's tasks "
                    + "with their full config.";

    private final BotProperties properties;
    private final BotSecrets secrets;
    private final ImagePolicy images;
    private final GitProperties git;
    private final DockerExecutor executor;
    private final DockerHealth docker;
    private final StepLogRepository logs;
    private final BotGithub github;
    private final io.bisectbot.cache.CacheRegistry caches;

    public BotJobHandler(
            BotProperties properties,
            BotSecrets secrets,
            ImagePolicy images,
            GitProperties git,
            DockerExecutor executor,
            DockerHealth docker,
            StepLogRepository logs,
            BotGithub github) {
        this(properties, secrets, images, git, executor, docker, logs, github, null);
    }

    /** @param caches the table of dependency cache volumes; null keeps no sizes and evicts nothing */
    public BotJobHandler(
            BotProperties properties,
            BotSecrets secrets,
            ImagePolicy images,
            GitProperties git,
            DockerExecutor executor,
            DockerHealth docker,
            StepLogRepository logs,
            BotGithub github,
            io.bisectbot.cache.CacheRegistry caches) {
        this.caches = caches;
        this.properties = properties;
        this.secrets = secrets;
        this.images = images;
        this.git = git;
        this.executor = executor;
        this.docker = docker;
        this.logs = logs;
        this.github = github;
    }

    @Override
    public String kind() {
        return BotRequest.KIND;
    }

    @Override
    public boolean ready() {
        return docker.isAvailable();
    }

    @Override
    public JobOutcome handle(JobContext job) throws Exception {
        BotRequest request;
        BotTask task;
        try {
            request = BotRequest.parse(job.payload());
            task = request.task(executor.defaultImage(), properties.defaultTimeout());
        } catch (IllegalArgumentException | BotConfig.Invalid e) {
            return JobOutcome.failedPermanently("invalid bot job: " + e.getMessage());
        }
        var result =
                JsonNodeFactory.instance.objectNode().put("task", task.name()).put("head_sha", request.headSha());
        if (request.deadlineBase() != null) {
            var pr = github.pullRequest(request);
            var stale = !pr.open()
                    ? "the pull request is closed already"
                    : pr.updatedAt() != null && pr.updatedAt().isAfter(request.deadlineBase())
                            ? "the pull request was updated at " + pr.updatedAt() + ", after this deadline was set"
                            : null;
            if (stale != null) {
                return JobOutcome.succeeded(result.put("conclusion", "skipped").put("reason", stale));
            }
        }
        if (task.isAction()) {
            switch (task.action()) {
                case CLOSE_PULL_REQUEST -> github.closePullRequest(job.jobId(), request, task.comment());
                case ADD_LABEL -> github.addLabel(request, task.label());
                case COMMENT -> github.comment(job.jobId(), request, task.comment());
            }
            return JobOutcome.succeeded(result.put("conclusion", "success")
                    .put("action", task.action().name().toLowerCase()));
        }
        return runContainer(job, request, task, result);
    }

    private JobOutcome runContainer(JobContext job, BotRequest request, BotTask task, ObjectNode result)
            throws Exception {
        var trusted = request.trust().trusted();
        result.put("trusted", trusted).put("trust_reason", request.trust().reason());
        if (!trusted && task.outputs() == BotTask.Output.PULL_REQUEST) {
            var why = "task `" + task.name() + "` proposes changes as a pull request, which untrusted code may not do ("
                    + request.trust().reason() + ")";
            report(
                    job.jobId(),
                    request,
                    task,
                    BotGithub.Conclusion.SKIPPED,
                    "**Not run**: " + why + ". " + APPROVE_HINT);
            return JobOutcome.succeeded(result.put("conclusion", "skipped").put("reason", why));
        }
        if (task.outputs() == BotTask.Output.CHECK) {
            github.checkStarted(job.jobId(), request);
        }
        if (task.source().has("image") && !images.allows(task.image())) {
            var why = "task `" + task.name() + "`: " + images.refusal(task.image());
            report(job.jobId(), request, task, BotGithub.Conclusion.FAILURE, "**Error**: " + why);
            return JobOutcome.failedPermanently(why);
        }
        var problems = trusted
                ? secrets.problems(task, request.owner(), request.repo(), request.installationId())
                : List.<String>of();
        if (!problems.isEmpty()) {
            var why = String.join("; ", problems);
            report(job.jobId(), request, task, BotGithub.Conclusion.FAILURE, "**Error**: " + why);
            return JobOutcome.failedPermanently(why);
        }
        var repository = GitRepository.at(
                request.repoUrl(),
                git.cacheDir(),
                GitRepository.isRemote(request.repoUrl())
                        ? github.cloneToken(request).orElse(null)
                        : null);
        var step = "task-" + task.name();
        var spec = StepSpec.builder(job.jobId(), job.fence().workerId(), job.attempt(), step, task.image())
                .shell(task.run())
                .input(() -> repository.archive(request.headSha()))
                .timeout(task.timeout())
                .network(
                        trusted && task.network() == BotTask.Network.BRIDGE
                                ? StepSpec.Network.BRIDGE
                                : StepSpec.Network.NONE)
                .registryCredentials(trusted)
                .env("BISECTBOT_TASK", task.name())
                .env("BISECTBOT_SHA", request.headSha())
                .env("BISECTBOT_ARGS", request.args() == null ? "" : request.args());
        if (trusted) {
            secrets.values(task, request.owner(), request.repo(), request.installationId())
                    .forEach(spec::secretEnv);
        }
        var changes = new AtomicReference<List<ChangedFiles.Change>>(List.of());
        var tooLarge = new AtomicReference<String>();
        if (task.outputs() == BotTask.Output.PULL_REQUEST) {
            var limits = new ChangedFiles.Limits(
                    properties.changedFileMaxSize().toBytes(),
                    properties.changedFilesMaxTotal().toBytes());
            spec.output(tar -> {
                try {
                    changes.set(ChangedFiles.between(repository.gitDirectory(), request.headSha(), tar, limits));
                } catch (ChangedFiles.TooLarge e) {
                    tooLarge.set(e.getMessage());
                }
            });
        }
        // Untrusted code gets volumes of its own: nothing it writes is read by a trusted run.
        var volumes = io.bisectbot.cache.CachePaths.volumes(
                io.bisectbot.cache.CachePaths.scope(request.installationId(), request.repoUrl(), trusted),
                task.cache());
        volumes.forEach(spec::cache);
        if (caches != null) {
            caches.used(volumes, request.repoUrl(), request.installationId(), trusted);
        }
        var cancel = CancellationSignal.create();
        // Its log and the "cancelled" report are still written after a stop.
        job.onStopInsteadOfInterrupt(
                () -> cancel.cancel("job " + job.stopReason().name().toLowerCase()));
        var sink = logs.openSink(job.jobId(), step, job.attempt());
        io.bisectbot.executor.ContainerResult run;
        try {
            run = executor.run(spec.build(), sink, cancel);
        } finally {
            sink.close();
            if (caches != null) {
                caches.finished(volumes);
            }
        }
        var stop = job.stopReason();
        if (stop == JobContext.StopReason.CANCELLED) {
            // Whatever the container did meanwhile (exited, or could not be killed): someone cancelled the task.
            report(job.jobId(), request, task, BotGithub.Conclusion.CANCELLED, "Cancelled.");
            return JobOutcome.failed("cancelled");
        }
        if (stop != null) {
            // Stopped for the instance's sake (shutdown, lost liveness or fence): the task runs again elsewhere and
            // reports then. Nothing is reported or proposed from here, and a "cancelled" check would tell the pull
            // request something nobody asked for.
            return JobOutcome.failed("stopped: " + stop.name().toLowerCase());
        }
        // Untrusted runs report their conclusion only: their output stays behind the service's access control.
        var tail = trusted ? tail(logs.readAll(job.jobId(), step)) : null;
        return switch (run.outcome()) {
            case StepOutcome.InfraError error -> JobOutcome.failed(error.message());
            // Only a stop of the job cancels the step, and stops are answered above.
            case StepOutcome.Cancelled ignored -> JobOutcome.failed("cancelled");
            case StepOutcome.Exited exited
            when exited.code() == 0 -> {
                result.put("conclusion", "success").put("exit_code", 0);
                if (tooLarge.get() != null) {
                    var why = "task `" + task.name() + "`: " + tooLarge.get() + "; nothing was pushed";
                    report(job.jobId(), request, task, BotGithub.Conclusion.FAILURE, "**Error**: " + why);
                    yield JobOutcome.failedPermanently(why);
                }
                if (task.outputs() == BotTask.Output.PULL_REQUEST) {
                    propose(job.jobId(), request, task, changes.get(), result);
                } else {
                    report(
                            job.jobId(),
                            request,
                            task,
                            BotGithub.Conclusion.SUCCESS,
                            summary(task, "succeeded", tail, request.trust()));
                }
                yield JobOutcome.succeeded(result);
            }
            default -> {
                var what = switch (run.outcome()) {
                    case StepOutcome.Exited exited -> "failed with exit code " + exited.code();
                    case StepOutcome.TimedOut ignored ->
                        "timed out after " + task.timeout().toSeconds() + " s";
                    case StepOutcome.OomKilled ignored -> "ran out of memory";
                    case StepOutcome.DiskLimit disk ->
                        "was stopped: " + disk.message().replaceFirst("^the step ", "it ");
                    default -> "failed";
                };
                result.put("conclusion", "failure").put("reason", what);
                if (run.outcome() instanceof StepOutcome.Exited exited) {
                    result.put("exit_code", exited.code());
                }
                report(
                        job.jobId(),
                        request,
                        task,
                        BotGithub.Conclusion.FAILURE,
                        summary(task, what, tail, request.trust()));
                yield JobOutcome.succeeded(result);
            }
        };
    }

    private void propose(
            long jobId, BotRequest request, BotTask task, List<ChangedFiles.Change> changes, ObjectNode result) {
        var files = result.putArray("changed_files");
        changes.forEach(change -> files.add(change.path()));
        if (changes.isEmpty()) {
            result.put("pull_request_url", (String) null).put("reason", "the task changed no file; nothing was pushed");
            return;
        }
        var branch = "bisectbot/" + task.name() + "/" + request.shortSha();
        var title = "bisectbot: " + task.name() + " on " + request.shortSha();
        var body = "Changes made by the `" + task.name() + "` task (`" + task.run() + "`) on " + request.headSha()
                + (request.pullRequest() > 0 ? " of #" + request.pullRequest() : "") + ".\n\n"
                + changes.size() + (changes.size() == 1 ? " file" : " files") + " changed:\n"
                + String.join(
                        "\n",
                        changes.stream()
                                .map(c -> "- `" + c.path() + "`" + (c.deleted() ? " (deleted)" : ""))
                                .toList());
        var changed = new ArrayList<BotGithub.ChangedFile>();
        changes.forEach(c -> changed.add(new BotGithub.ChangedFile(c.path(), c.mode(), c.content())));
        result.put("pull_request_url", github.proposeChanges(jobId, request, branch, title, body, changed));
        result.put("branch", branch);
    }

    private void report(
            long jobId, BotRequest request, BotTask task, BotGithub.Conclusion conclusion, String markdown) {
        switch (task.outputs()) {
            case CHECK -> github.checkFinished(jobId, request, conclusion, markdown);
            case COMMENT, PULL_REQUEST -> github.comment(jobId, request, markdown);
        }
    }

    private static String summary(BotTask task, String what, String tail, Trust trust) {
        var text = "Task `" + task.name() + "` " + what + ".";
        if (trust.approvedBy() != null) {
            text += "\n\nRan with its full config: " + trust.reason() + ".";
        }
        if (tail == null) {
            return text + "\n\nRan as untrusted code (" + trust.reason()
                    + "): no secrets, no network, and its output is " + "not posted here. " + APPROVE_HINT;
        }
        return text + "\n\n<details><summary>Last lines of its output</summary>\n\n```\n" + tail + "\n```\n</details>";
    }

    private static String tail(String log) {
        var lines = log.lines().toList();
        var from = Math.max(0, lines.size() - LOG_TAIL_LINES);
        return String.join("\n", lines.subList(from, lines.size())).replace("```", "'''");
    }
}
