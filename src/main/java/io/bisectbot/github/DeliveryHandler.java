package io.bisectbot.github;

import io.bisectbot.queue.Job;
import io.bisectbot.queue.JobContext;
import io.bisectbot.queue.JobHandler;
import io.bisectbot.queue.JobOutcome;
import io.bisectbot.queue.JobQueue;
import io.bisectbot.queue.NewJob;
import io.bisectbot.bots.BotConfig;
import io.bisectbot.bots.BotSecrets;
import io.bisectbot.bots.BotTask;
import io.bisectbot.bots.BotTriggers;
import io.bisectbot.bots.Trust;
import io.bisectbot.executor.ImagePolicy;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;

/**
 * Job kind {@code github-delivery}: processes one stored webhook delivery. Safe to run again, and safe against a
 * captured body replayed under a new delivery id: the jobs it enqueues and the replies it writes are keyed by what
 * GitHub signed (the comment and its body, the pull request and its head or updated_at), never by the delivery id.
 *
 * <p>The trust boundary lives here. The task definitions that run are always the base branch's
 * {@code .github/bisectbot.yml}; a pull request's own version is only validated and compared in a check run. The
 * head commit is only the code a task runs on, and it is trusted only when it is in the repository itself and its
 * author (and pusher) may write to it, or when a writer approved that exact commit.
 */
final class DeliveryHandler implements JobHandler {

    private static final Logger log = LoggerFactory.getLogger(DeliveryHandler.class);
    static final String BISECT_KIND = "bisect";
    static final String CONFIG_CHECK = "bisectbot/config";

    private final Deliveries deliveries;
    private final Installations installations;
    private final GithubReports reports;
    private final GithubApi api;
    private final Supplier<JobQueue> queue;
    private final GithubProperties properties;
    private final TransactionTemplate transactions;
    private final Permissions permissions;
    private final Approvals approvals;
    private final BotSecrets secrets;
    private final ImagePolicy images;
    private final Clock clock;
    private final Duration botTaskTimeout;

    DeliveryHandler(Deliveries deliveries, Installations installations, GithubReports reports, GithubApi api,
                    Supplier<JobQueue> queue, GithubProperties properties, DataSource dataSource, Permissions permissions,
                    Approvals approvals, BotSecrets secrets, ImagePolicy images, Clock clock, Duration botTaskTimeout) {
        this.botTaskTimeout = botTaskTimeout;
        this.permissions = permissions;
        this.approvals = approvals;
        this.secrets = secrets;
        this.images = images;
        this.clock = clock;
        this.deliveries = deliveries;
        this.installations = installations;
        this.reports = reports;
        this.api = api;
        this.queue = queue;
        this.properties = properties;
        this.transactions = new TransactionTemplate(new DataSourceTransactionManager(dataSource));
    }

    @Override
    public String kind() {
        return Deliveries.JOB_KIND;
    }

    @Override
    public JobOutcome handle(JobContext context) {
        var id = context.payload().path("delivery_id").asString("");
        var delivery = deliveries.find(id);
        if (delivery.isEmpty()) {
            return JobOutcome.succeeded(result("ignored: the delivery is no longer stored"));
        }
        String outcome;
        try {
            outcome = process(delivery.get());
        } catch (GithubApi.RateLimited e) {
            return retryWithinWindow(context, delivery.get(), "GitHub rate limit until " + e.retryAt);
        } catch (GithubApi.ApiException e) {
            deliveries.markOutcome(id, "failed: " + e.getMessage());
            return e.status >= 500 || e.status == 0 ? retryWithinWindow(context, delivery.get(), e.getMessage())
                    : JobOutcome.failedPermanently(e.getMessage());
        }
        deliveries.markOutcome(id, outcome);
        return JobOutcome.succeeded(result(outcome));
    }

    /**
     * GitHub being down or rate limited is retried with the queue's backoff for GITHUB_DELIVERY_RETRY_FOR after the
     * processing job was created (an outage of hours loses no event), then the delivery is given up.
     */
    private JobOutcome retryWithinWindow(JobContext context, Deliveries.Delivery delivery, String error) {
        var created = context.job().createdAt();
        if (created != null && created.plus(properties.deliveryRetryFor()).isAfter(clock.instant())) {
            return JobOutcome.failed(error);
        }
        if (delivery.event().equals("issue_comment") && "created".equals(delivery.action())) {
            new CommentRun(delivery).givenUp(error);
        }
        return JobOutcome.failedPermanently(error + " (retried for " + properties.deliveryRetryFor() + ", giving up)");
    }

    private static JsonNode result(String outcome) {
        return JsonNodeFactory.instance.objectNode().put("outcome", outcome);
    }

    String process(Deliveries.Delivery delivery) {
        var payload = delivery.payload();
        var action = delivery.action() == null ? "" : delivery.action();
        return switch (delivery.event()) {
            case "installation" -> installation(action, payload);
            case "installation_repositories" -> {
                var installation = payload.path("installation");
                installations.upsert(installation);
                installations.addRepositories(installation.path("id").asLong(), payload.path("repositories_added"));
                installations.removeRepositories(installation.path("id").asLong(), payload.path("repositories_removed"));
                yield "processed";
            }
            case "pull_request" -> {
                var pr = payload.path("pull_request");
                installations.upsertPullRequest(payload.path("repository").path("id").asLong(), pr.path("number").asInt(),
                        pr.path("head").path("sha").asString(), pr.path("state").asString("open"));
                yield pullRequestTasks(delivery, action);
            }
            case "issue_comment" -> action.equals("created") ? new CommentRun(delivery).run() : "ignored: action " + action;
            default -> "ignored: event " + delivery.event();
        };
    }

    /** Starts the repository's bot tasks for a pull request event, as its base branch's config says. */
    private String pullRequestTasks(Deliveries.Delivery delivery, String action) {
        var payload = delivery.payload();
        if (!Set.of("opened", "synchronize", "reopened", "labeled").contains(action)
                || !payload.path("installation").path("id").isNumber()
                || !"open".equals(payload.path("pull_request").path("state").asString("open"))) {
            return "processed";
        }
        var pr = payload.path("pull_request");
        var repositoryId = payload.path("repository").path("id").asLong();
        var untrusted = botTarget(payload, Trust.untrusted("not yet decided"));
        var thread = new GithubRef(untrusted.installationId(), untrusted.owner(), untrusted.repo(), untrusted.pullRequest(),
                null, untrusted.headSha());
        if (installations.isSuspended(untrusted.installationId())) {
            return "ignored: installation suspended";
        }
        var errorKey = "config:" + untrusted.owner() + "/" + untrusted.repo() + "#" + untrusted.pullRequest() + ":" + untrusted.headSha();
        var baseRef = pr.path("base").path("ref").asString(null);
        var config = baseConfig(thread, baseRef, errorKey);
        if (config == null) {
            return "config error";
        }
        untrusted = untrusted.withCallbacks(defaultBranchCallbacks(thread, baseRef, config, payload.path("repository")));
        if (!action.equals("labeled")) {
            compareHeadConfig(thread, config);
        }
        var tasks = checkedTasks(config, thread, errorKey);
        if (tasks == null) {
            return "config error";
        }
        var sender = payload.path("sender").path("login").asString("");
        var label = payload.path("label").path("name").asString("");
        if (action.equals("labeled") && label.equals(config.approvalLabel())) {
            if (!permissions.canWrite(thread.installationId(), thread.owner(), thread.repo(), sender)) {
                return "ignored: approval label added by " + sender + ", who has no write access";
            }
            return approve(untrusted, repositoryId, pr, sender, tasks, thread, "label:" + errorKey + ":" + sender);
        }
        var target = withTrust(untrusted, trust(thread, repositoryId, pr, action.equals("synchronize") ? sender : null));
        var triggers = new BotTriggers(queue.get());
        var jobs = transactions.execute(tx -> {
            var enqueued = action.equals("labeled")
                    ? triggers.labelAdded(target, tasks, label, pr.path("id").asLong() + ":" + label + ":"
                            + pr.path("updated_at").asString(""))
                    : triggers.pullRequestUpdated(target, tasks, Instant.parse(pr.path("updated_at")
                            .asString(Instant.EPOCH.toString())));
            enqueued.forEach(job -> queueCheck(job, tasks, thread));
            return enqueued;
        });
        return jobs.isEmpty() ? "processed" : "processed: bot jobs " + jobs.stream().map(j -> j.id()).toList()
                + (target.trust().trusted() ? "" : " (untrusted: " + target.trust().reason() + ")");
    }

    /**
     * Whether the pull request's head may run with its tasks' full config: it is in this repository, its author is a
     * person with write access (and so is {@code pusher}, who pushed it, when known), or a writer approved it.
     */
    private Trust trust(GithubRef thread, long repositoryId, JsonNode pr, String pusher) {
        var sha = pr.path("head").path("sha").asString();
        var headRepo = pr.path("head").path("repo");
        var author = pr.path("user");
        String reason;
        if (headRepo.path("id").asLong(-1) != repositoryId) {
            reason = "its head is in the fork " + headRepo.path("full_name").asString("(deleted)");
        } else if (!"User".equals(author.path("type").asString(""))) {
            reason = "it was opened by " + author.path("login").asString("an app") + ", not by a person";
        } else if (!permissions.canWrite(thread.installationId(), thread.owner(), thread.repo(), author.path("login").asString())) {
            reason = "its author @" + author.path("login").asString() + " has no write access";
        } else if (pusher != null && !pusher.equalsIgnoreCase(author.path("login").asString())
                && !permissions.canWrite(thread.installationId(), thread.owner(), thread.repo(), pusher)) {
            reason = "it was pushed by " + pusher + ", who has no write access";
        } else {
            return Trust.trusted("its head is in this repository and @" + author.path("login").asString() + " has write access");
        }
        return approvals.approver(repositoryId, pr.path("number").asInt(), sha)
                .map(approver -> Trust.approved(approver, sha))
                .orElse(Trust.untrusted(reason));
    }

    /**
     * A writer approved the head: it is recorded for that exact commit, and the {@code pull_request} tasks run again
     * with their full config.
     */
    private String approve(BotTriggers.Target untrusted, long repositoryId, JsonNode pr, String approver,
                           Map<String, BotTask> tasks, GithubRef thread, String replyKey) {
        var current = trust(thread, repositoryId, pr, null);
        var sha = untrusted.headSha();
        if (current.trusted() && current.approvedBy() == null) {
            reports.reply("approve:" + replyKey, thread, "Nothing to approve: " + current.reason() + ", so its tasks already "
                    + "run with their full config.");
            return "approval not needed";
        }
        approvals.approve(repositoryId, untrusted.pullRequest(), sha, approver);
        var target = withTrust(untrusted, Trust.approved(approvals.approver(repositoryId, untrusted.pullRequest(), sha)
                .orElse(approver), sha));
        var head = new GithubRef(thread.installationId(), thread.owner(), thread.repo(), untrusted.pullRequest(), null, sha);
        var jobs = transactions.execute(tx -> {
            var enqueued = new BotTriggers(queue.get()).headApproved(target, tasks);
            enqueued.forEach(job -> queueCheck(job, tasks, head));
            reports.reply("approve:" + replyKey, thread, "Approved `" + sha.substring(0, 7) + "` (" + target.trust().reason()
                    + "): its tasks run with their full config"
                    + (enqueued.isEmpty() ? "" : ": " + String.join(", ", enqueued.stream()
                            .map(j -> "`" + j.payload().path("task").asString() + "`").toList()))
                    + ". A new push needs a new approval.");
            return enqueued;
        });
        log.info("Head {} of {}/{}#{} approved by {}", sha, thread.owner(), thread.repo(), untrusted.pullRequest(), approver);
        return "approved " + sha + " by " + approver + ": bot jobs " + jobs.stream().map(j -> j.id()).toList();
    }

    private static BotTriggers.Target withTrust(BotTriggers.Target target, Trust trust) {
        return target.withTrust(trust);
    }

    /**
     * The callbacks of the default branch's config: {@code base}'s when it was read there ({@code baseRef} null or
     * the default branch), else that config, read now. Never a pull request head's, nor another branch's, which a
     * pull request may target: callbacks send the jobs' results out of the service. A default branch config that
     * cannot be read gives none (its error is told on the default branch's own commands).
     */
    private JsonNode defaultBranchCallbacks(GithubRef thread, String baseRef, RepoConfig base, JsonNode repository) {
        if (baseRef == null || baseRef.equals(repository.path("default_branch").asString(null))) {
            return base.callbacks();
        }
        try {
            return RepoConfig.parse(api.fileContent(thread.installationId(), thread.owner(), thread.repo(), RepoConfig.PATH,
                    null)).callbacks();
        } catch (RepoConfig.Invalid e) {
            log.warn("Jobs of {}/{} get no repository callbacks: the default branch's {} is invalid: {}", thread.owner(),
                    thread.repo(), RepoConfig.PATH, e.getMessage());
            return null;
        }
    }

    /**
     * The repository config at {@code ref} (the base branch; null: the default branch); null, after one error reply
     * keyed by {@code errorKey}, when it is unusable.
     */
    private RepoConfig baseConfig(GithubRef thread, String ref, String errorKey) {
        try {
            return RepoConfig.parse(api.fileContent(thread.installationId(), thread.owner(), thread.repo(), RepoConfig.PATH,
                    ref == null ? null : java.net.URLEncoder.encode(ref, StandardCharsets.UTF_8)));
        } catch (RepoConfig.Invalid e) {
            reports.reply(errorKey, thread, "**Error**: " + e.getMessage() + "\n\nNo job was started. Fix the file and comment again.");
            return null;
        }
    }

    /** The config's tasks, checked against what this service allows; null, after one error reply, when unusable. */
    private Map<String, BotTask> checkedTasks(RepoConfig config, GithubRef thread, String errorKey) {
        var checked = check(config, thread);
        var problems = checked.problems();
        if (!problems.isEmpty()) {
            reports.reply(errorKey, thread, "**Error**: `" + RepoConfig.PATH + "` has " + problems.size()
                    + (problems.size() == 1 ? " problem" : " problems") + ":\n- " + String.join("\n- ", problems)
                    + "\n\nNo job was started.");
            return null;
        }
        return checked.tasks();
    }

    /** A config's tasks (empty when they do not parse), and everything that keeps the config from running here. */
    private record Checked(Map<String, BotTask> tasks, List<String> problems) {
    }

    /** Invalid tasks, images not allowed, secrets not granted: parsed once, for the problems and the tasks alike. */
    private Checked check(RepoConfig config, GithubRef thread) {
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

    /**
     * A pull request that changes the repository config gets a check run saying what would change once merged (and
     * what is wrong with it); the change does not apply before then.
     */
    private void compareHeadConfig(GithubRef head, RepoConfig base) {
        RepoConfig proposed;
        try {
            proposed = RepoConfig.parse(api.fileContent(head.installationId(), head.owner(), head.repo(), RepoConfig.PATH,
                    head.headSha()));
        } catch (RepoConfig.Invalid e) {
            reports.headCheck(head, CONFIG_CHECK, GithubReports.Conclusion.FAILURE, "The changed config is invalid",
                    "This pull request changes `" + RepoConfig.PATH + "`, and the new version cannot be used:\n\n"
                            + e.getMessage() + "\n\nTasks run with the base branch's config until a valid change is merged.");
            return;
        }
        var changes = base.changesTo(proposed);
        if (changes.isEmpty()) {
            return;
        }
        var problems = check(proposed, head).problems();
        var summary = "This pull request changes `" + RepoConfig.PATH + "`. Once merged:\n- " + String.join("\n- ", changes)
                + "\n\nUntil then every task runs as the base branch's config says, whoever pushed the change.";
        if (!problems.isEmpty()) {
            summary += "\n\n**Problems** of the new version:\n- " + String.join("\n- ", problems);
        }
        reports.headCheck(head, CONFIG_CHECK, problems.isEmpty() ? GithubReports.Conclusion.NEUTRAL : GithubReports.Conclusion.FAILURE,
                problems.isEmpty() ? changes.size() + (changes.size() == 1 ? " change" : " changes") + " once merged"
                        : "The changed config has " + problems.size() + (problems.size() == 1 ? " problem" : " problems"), summary);
    }

    /** A task that reports as a check run shows it queued as soon as its job exists (deadlines only when they fire). */
    private void queueCheck(io.bisectbot.queue.Job job, Map<String, BotTask> tasks, GithubRef thread) {
        var task = tasks.get(job.payload().path("task").asString());
        if (task != null && !task.isAction() && task.outputs() == BotTask.Output.CHECK
                && !"schedule".equals(job.payload().path("trigger").asString())) {
            reports.taskQueued(job.id(), thread, "bisectbot/" + task.name());
        }
    }

    /** Where a pull request's tasks run, and where their proposed changes go (its branch, unless it is a fork's). */
    static BotTriggers.Target botTarget(JsonNode payload, Trust trust) {
        var pr = payload.path("pull_request");
        var repository = payload.path("repository");
        var sameRepo = pr.path("head").path("repo").path("id").asLong(-1) == repository.path("id").asLong(-2);
        var url = repository.path("clone_url").asString("");
        var owner = repository.path("owner").path("login").asString();
        var name = repository.path("name").asString();
        return new BotTriggers.Target(url.isEmpty() ? "https://github.com/" + owner + "/" + name + ".git" : url, owner, name,
                payload.path("installation").path("id").asLong(), pr.path("number").asInt(), pr.path("head").path("sha").asString(),
                sameRepo ? pr.path("head").path("ref").asString() : pr.path("base").path("ref").asString(), trust);
    }

    private String installation(String action, JsonNode payload) {
        var installation = payload.path("installation");
        var id = installation.path("id").asLong();
        switch (action) {
            case "created" -> {
                installations.upsert(installation);
                installations.addRepositories(id, payload.path("repositories"));
            }
            case "deleted" -> installations.delete(id);
            case "suspend" -> {
                installations.upsert(installation);
                installations.setSuspended(id, true);
            }
            case "unsuspend" -> {
                installations.upsert(installation);
                installations.setSuspended(id, false);
            }
            default -> installations.upsert(installation);
        }
        return "processed";
    }

    /** The commands of one comment. */
    private final class CommentRun {
        private final Deliveries.Delivery delivery;
        private final JsonNode payload;
        private final JsonNode comment;
        private final GithubRef thread;
        /** The comment as GitHub signed it: its id and body. A replay of the same body has the same key. */
        private final String commentKey;
        private RepoConfig config;
        /** The default branch config's callbacks; null: none. */
        private JsonNode callbacks;
        private String configError;
        private boolean configRead;
        private JsonNode pullRequest;
        private String headSha;

        CommentRun(Deliveries.Delivery delivery) {
            this.delivery = delivery;
            this.payload = delivery.payload();
            this.comment = payload.path("comment");
            var repository = payload.path("repository");
            this.thread = new GithubRef(payload.path("installation").path("id").asLong(),
                    repository.path("owner").path("login").asString(), repository.path("name").asString(),
                    payload.path("issue").path("number").asLong(), comment.path("id").asLong(), null,
                    !repository.path("private").isBoolean() || repository.path("private").asBoolean());
            this.commentKey = "comment:" + thread.owner() + "/" + thread.repo() + ":" + comment.path("id").asLong() + ":"
                    + sha256(comment.path("body").asString("")).substring(0, 16);
        }

        private boolean byBot() {
            var user = comment.path("user");
            var appId = properties.appId();
            return user.path("type").asString("").equals("Bot")
                    || (appId != null && comment.path("performed_via_github_app").path("id").asLong(-1) == appId)
                    || (properties.appSlug() != null && user.path("login").asString("").equals(properties.appSlug() + "[bot]"));
        }

        /**
         * The comment's commands could not be processed within GITHUB_DELIVERY_RETRY_FOR: one reply says so (keyed by
         * the comment, so a later give-up of the same comment adds none), through the outbox, which keeps trying.
         */
        void givenUp(String error) {
            if (byBot() || !payload.path("installation").path("id").isNumber()
                    || Commands.parse(comment.path("body").asString("")).isEmpty()) {
                return;
            }
            var reason = error.length() > 300 ? error.substring(0, 300) + "…" : error;
            reports.reply("given-up:" + commentKey, thread, "**Error**: this command could not be processed: GitHub kept "
                    + "failing for " + properties.deliveryRetryFor().toHours() + " h (" + reason + "). Post it again to retry.");
        }

        String run() {
            var user = comment.path("user");
            if (byBot()) {
                return "ignored: comment by a bot";
            }
            var commands = Commands.parse(comment.path("body").asString(""));
            if (commands.isEmpty()) {
                return "ignored: no command";
            }
            if (!payload.path("installation").path("id").isNumber()) {
                return "ignored: no installation";
            }
            if (installations.isSuspended(thread.installationId())) {
                return "ignored: installation suspended";
            }
            var login = user.path("login").asString();
            if (!permissions.canWrite(thread.installationId(), thread.owner(), thread.repo(), login)) {
                // One refusal per person, thread and hour, whatever they post: no reply storms.
                var hour = clock.instant().getEpochSecond() / 3600;
                reports.reply("refusal:" + thread.owner() + "/" + thread.repo() + "#" + thread.issueNumber() + ":" + login
                        + ":" + hour, thread, "Sorry @" + login + ", only people with write access to this repository can "
                        + "run bisectbot commands.");
                return "refused: " + login + " has no write access";
            }
            var done = new ArrayList<String>();
            for (var command : commands) {
                done.add(handle(command));
            }
            return "processed: " + String.join("; ", done);
        }

        private String handle(Commands.Command command) {
            var key = commentKey + ":" + command.line();
            return switch (command) {
                case Commands.Malformed m -> {
                    reports.reply("error:" + key, thread, error(m.problem(), m.text(), m.usage()));
                    yield "malformed line " + m.line();
                }
                case Commands.Help h -> {
                    reports.reply("help:" + key, thread, "**bisectbot commands**\n\n" + Commands.USAGE);
                    yield "help";
                }
                case Commands.Cancel c -> cancel(key);
                case Commands.Bisect b -> bisect(b, key);
                case Commands.Bot b when b.task().equals(BotConfig.RESERVED) -> approve(b, key);
                case Commands.Bot b -> bot(b, key);
            };
        }

        private String cancel(String key) {
            var q = queue.get();
            var ofThread = JsonNodeFactory.instance.objectNode();
            ofThread.putObject("github").put("owner", thread.owner()).put("repo", thread.repo())
                    .put("issue_number", thread.issueNumber());
            var ids = q.findLive(ofThread).stream().map(Job::id).toList();
            ids.forEach(q::cancel);
            transactions.executeWithoutResult(tx -> {
                reports.commandAccepted(thread);
                reports.reply("cancel:" + key, thread, ids.isEmpty() ? "Nothing to cancel: no job of this thread is running."
                        : "Cancelled " + String.join(", ", ids.stream().map(id -> "job " + id).toList()) + ".");
            });
            return "cancelled " + ids;
        }

        private String bisect(Commands.Bisect b, String key) {
            if (!readConfig()) {
                return "config error";
            }
            var settings = config.bisect();
            if (settings.image() != null && !images.allows(settings.image())) {
                reports.reply("error:" + key, thread, error("`bisect.image`: " + images.refusal(settings.image()), b.text(), null));
                return "image not allowed";
            }
            var command = b.command() != null ? b.command() : settings.command();
            if (command == null) {
                reports.reply("error:" + key, thread, error("no command to run: add `-- <command>`, or set `bisect.command` in `"
                        + RepoConfig.PATH + "`", b.text(), Commands.BISECT_USAGE));
                return "no command";
            }
            var timeout = settings.timeout() != null ? settings.timeout() : properties.bisectTimeout();
            var ref = new GithubRef(thread.installationId(), thread.owner(), thread.repo(), thread.issueNumber(),
                    thread.commentId(), headSha, thread.privateRepository());
            var job = JsonNodeFactory.instance.objectNode();
            job.put("repo", cloneUrl());
            var good = job.putArray("good");
            b.good().forEach(good::add);
            job.put("bad", b.bad())
                    .put("command", command)
                    .put("image", settings.image() != null ? settings.image() : properties.bisectImage())
                    .put("timeout_seconds", timeout.toSeconds())
                    .put("parallelism", first(b.k(), settings.parallelism(), 1));
            if (settings.metric() != null) {
                metric(job, settings.metric());
                // Measurements per commit: the comment's, else the config's, else the service's default.
                var repeat = b.repeat() != null ? b.repeat() : settings.repeat();
                if (repeat != null) {
                    job.put("repeat", repeat);
                }
            } else {
                job.put("repeat", first(b.repeat(), settings.repeat(), 1));
            }
            var github = ref.toJson();
            // A pull request's commits may be a stranger's code: no registry credentials then (steps never have network).
            if (pullRequest != null) {
                var trust = trust(thread, payload.path("repository").path("id").asLong(), pullRequest, null);
                github.put("untrusted", !trust.trusted()).put("trust_reason", trust.reason());
            }
            job.set("github", github);
            if (callbacks != null) {
                job.set(BotTriggers.REPO_CALLBACKS, callbacks);
            }
            return enqueue(NewJob.of(BISECT_KIND, job).withMaxAttempts(1).withDedupKey("github-command:" + key)
                    .withTenant(NewJob.installationTenant(ref.installationId())), ref, b.text(), key);
        }

        /** The repository's metric-mode settings as request fields; the service's defaults for those it leaves out. */
        private static void metric(tools.jackson.databind.node.ObjectNode job, RepoConfig.Metric metric) {
            job.put("mode", "metric");
            if (metric.source() != null) {
                job.put("metric", metric.source());
            }
            if (metric.direction() != null) {
                job.put("direction", metric.direction());
            }
            if (metric.threshold() != null) {
                job.put("threshold", metric.threshold());
            }
            if (metric.alpha() != null) {
                job.put("alpha", metric.alpha());
            }
            if (metric.maxRepeat() != null) {
                job.put("max_repeat", metric.maxRepeat());
            }
        }

        private String bot(Commands.Bot b, String key) {
            if (!readConfig()) {
                return "config error";
            }
            if (pullRequest == null) {
                reports.reply("error:" + key, thread, error("`/bot` runs on pull requests; comment on one", b.text(), "/bot <task> [args]"));
                return "not a pull request";
            }
            var tasks = checkedTasks(config, thread, "config:" + commentKey);
            if (tasks == null) {
                return "config error";
            }
            var target = target();
            try {
                var job = transactions.execute(tx -> {
                    var enqueued = new BotTriggers(queue.get()).command(target, tasks, b.task(), b.args(), "github-command:" + key);
                    reports.commandAccepted(thread);
                    queueCheck(enqueued, tasks, new GithubRef(thread.installationId(), thread.owner(), thread.repo(),
                            thread.issueNumber(), null, target.headSha()));
                    return enqueued;
                });
                return "bot job " + job.id() + (target.trust().trusted() ? "" : " (untrusted: " + target.trust().reason() + ")");
            } catch (IllegalArgumentException e) {
                reports.reply("error:" + key, thread, error(e.getMessage(), b.text(), "/bot <task> [args]"));
                return "unknown task";
            }
        }

        /** {@code /bot approve [sha]}: the pull request's current head (which {@code sha}, if given, must be) is approved. */
        private String approve(Commands.Bot b, String key) {
            if (!readConfig()) {
                return "config error";
            }
            if (pullRequest == null) {
                reports.reply("error:" + key, thread, error("`/bot approve` approves a pull request's head; comment on one",
                        b.text(), "/bot approve [<sha>]"));
                return "not a pull request";
            }
            var expected = b.args() == null ? "" : b.args().strip();
            if (!expected.isEmpty() && (expected.length() < 7 || !headSha.startsWith(expected.toLowerCase(java.util.Locale.ROOT)))) {
                reports.reply("error:" + key, thread, error("the pull request's head is now `" + headSha.substring(0, 7)
                        + "`, not `" + expected + "`: look at the new commits, then approve again", b.text(), "/bot approve [<sha>]"));
                return "approval of an old head";
            }
            var tasks = checkedTasks(config, thread, "config:" + commentKey);
            if (tasks == null) {
                return "config error";
            }
            reports.commandAccepted(thread);
            return DeliveryHandler.this.approve(target(), payload.path("repository").path("id").asLong(), pullRequest,
                    comment.path("user").path("login").asString(), tasks, thread, key);
        }

        /** The pull request's head, as a bot target with its trust. */
        private BotTriggers.Target target() {
            var prPayload = JsonNodeFactory.instance.objectNode();
            prPayload.set("pull_request", pullRequest);
            prPayload.set("repository", payload.path("repository"));
            prPayload.set("installation", payload.path("installation"));
            return botTarget(prPayload, trust(thread, payload.path("repository").path("id").asLong(), pullRequest, null))
                    .withCallbacks(callbacks);
        }

        private String enqueue(NewJob job, GithubRef ref, String line, String key) {
            var q = queue.get();
            if (!q.kinds().contains(job.kind())) {
                reports.reply("error:" + key, thread, error("`/" + job.kind() + "` is not enabled on this bisectbot instance", line, null));
                return job.kind() + " unavailable";
            }
            // The job and the 👀 that acknowledges it are written together: both happen or neither.
            var enqueued = transactions.execute(tx -> {
                var result = q.enqueue(job);
                reports.commandAccepted(ref);
                return result;
            });
            log.info("Delivery {} enqueued {} job {}", delivery.id(), job.kind(), enqueued.job().id());
            return job.kind() + " job " + enqueued.job().id();
        }

        /**
         * Reads the pull request (when the thread is one) and the base branch's {@code .github/bisectbot.yml} once per
         * comment; false (and one error reply) when it is unusable.
         */
        private boolean readConfig() {
            if (!configRead) {
                configRead = true;
                pullRequest = pullRequest();
                headSha = pullRequest == null ? null : pullRequest.path("head").path("sha").asString();
                var baseRef = pullRequest == null ? null : pullRequest.path("base").path("ref").asString(null);
                config = baseConfig(thread, baseRef, "config:" + commentKey);
                configError = config == null ? "unusable config" : null;
                if (config != null) {
                    callbacks = defaultBranchCallbacks(thread, baseRef, config, payload.path("repository"));
                }
            }
            return configError == null;
        }

        private JsonNode pullRequest() {
            if (payload.path("issue").path("pull_request").isMissingNode()) {
                return null;
            }
            return GithubApi.require(api.get(thread.installationId(), thread.repoPath() + "/pulls/" + thread.issueNumber()),
                    "read pull request " + thread.issueNumber()).body();
        }

        private String cloneUrl() {
            var url = payload.path("repository").path("clone_url").asString("");
            return url.isEmpty() ? "https://github.com/" + thread.owner() + "/" + thread.repo() + ".git" : url;
        }
    }

    private static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static String error(String problem, String line, String usage) {
        var text = new StringBuilder("**Error**: ").append(problem).append("\n\n> ").append(line.replace("\n", " "));
        if (usage != null) {
            text.append("\n\nUsage: `").append(usage).append("`");
        }
        return text.append("\n\nComment `/help` for all commands.").toString();
    }

    private static int first(Integer a, Integer b, int fallback) {
        return a != null ? a : b != null ? b : fallback;
    }
}
