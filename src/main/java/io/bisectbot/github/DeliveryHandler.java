package io.bisectbot.github;

import io.bisectbot.queue.JobContext;
import io.bisectbot.queue.JobHandler;
import io.bisectbot.queue.JobOutcome;
import io.bisectbot.queue.JobQueue;
import io.bisectbot.queue.NewJob;
import java.util.ArrayList;
import io.bisectbot.bots.BotConfig;
import io.bisectbot.bots.BotTask;
import io.bisectbot.bots.BotTriggers;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * Job kind {@code github-delivery}: processes one stored webhook delivery. Safe to run again: the jobs it enqueues
 * and the replies it writes are keyed by the delivery (and the command's line), so a repeat changes nothing.
 */
final class DeliveryHandler implements JobHandler {

    private static final Logger log = LoggerFactory.getLogger(DeliveryHandler.class);
    static final String BISECT_KIND = "bisect";
    private static final Set<String> TRUSTED_ASSOCIATIONS = Set.of("OWNER", "MEMBER", "COLLABORATOR");
    private static final Set<String> WRITE_PERMISSIONS = Set.of("admin", "maintain", "write");

    private final Deliveries deliveries;
    private final Installations installations;
    private final GithubReports reports;
    private final GithubApi api;
    private final Supplier<JobQueue> queue;
    private final GithubProperties properties;
    private final JdbcClient jdbc;
    private final TransactionTemplate transactions;

    DeliveryHandler(Deliveries deliveries, Installations installations, GithubReports reports, GithubApi api,
                    Supplier<JobQueue> queue, GithubProperties properties, DataSource dataSource) {
        this.deliveries = deliveries;
        this.installations = installations;
        this.reports = reports;
        this.api = api;
        this.queue = queue;
        this.properties = properties;
        this.jdbc = JdbcClient.create(dataSource);
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
            return JobOutcome.failed("GitHub rate limit until " + e.retryAt);
        } catch (GithubApi.ApiException e) {
            deliveries.markOutcome(id, "failed: " + e.getMessage());
            return e.status >= 500 || e.status == 0 ? JobOutcome.failed(e.getMessage()) : JobOutcome.failedPermanently(e.getMessage());
        }
        deliveries.markOutcome(id, outcome);
        return JobOutcome.succeeded(result(outcome));
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

    /** Starts the repository's bot tasks for a pull request event, as its config at the head commit says. */
    private String pullRequestTasks(Deliveries.Delivery delivery, String action) {
        var payload = delivery.payload();
        if (!Set.of("opened", "synchronize", "reopened", "labeled").contains(action)
                || !payload.path("installation").path("id").isNumber()
                || !"open".equals(payload.path("pull_request").path("state").asString("open"))) {
            return "processed";
        }
        var target = botTarget(payload);
        var thread = new GithubRef(target.installationId(), target.owner(), target.repo(), target.pullRequest(), null, target.headSha());
        if (installations.isSuspended(target.installationId())) {
            return "ignored: installation suspended";
        }
        Map<String, BotTask> tasks;
        try {
            var config = RepoConfig.parse(api.fileContent(target.installationId(), target.owner(), target.repo(),
                    RepoConfig.PATH, target.headSha()));
            tasks = BotConfig.parse(config.tasks(), properties.bisectImage(), Duration.ofMinutes(30));
        } catch (RepoConfig.Invalid e) {
            reports.reply("config:" + delivery.id(), thread, "**Error**: " + e.getMessage() + "\n\nNo task was started.");
            return "config error";
        } catch (BotConfig.Invalid e) {
            reports.reply("config:" + delivery.id(), thread, "**Error**: " + e.getMessage() + "\n\nNo task was started.");
            return "config error";
        }
        var triggers = new BotTriggers(queue.get());
        var jobs = transactions.execute(tx -> {
            var enqueued = action.equals("labeled")
                    ? triggers.labelAdded(target, tasks, payload.path("label").path("name").asString(""), delivery.id())
                    : triggers.pullRequestUpdated(target, tasks, Instant.parse(payload.path("pull_request").path("updated_at")
                            .asString(Instant.EPOCH.toString())));
            enqueued.forEach(job -> queueCheck(job, tasks, thread));
            return enqueued;
        });
        return jobs.isEmpty() ? "processed" : "processed: bot jobs " + jobs.stream().map(j -> j.id()).toList();
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
    static BotTriggers.Target botTarget(JsonNode payload) {
        var pr = payload.path("pull_request");
        var repository = payload.path("repository");
        var sameRepo = pr.path("head").path("repo").path("id").asLong(-1) == repository.path("id").asLong(-2);
        var url = repository.path("clone_url").asString("");
        var owner = repository.path("owner").path("login").asString();
        var name = repository.path("name").asString();
        return new BotTriggers.Target(url.isEmpty() ? "https://github.com/" + owner + "/" + name + ".git" : url, owner, name,
                payload.path("installation").path("id").asLong(), pr.path("number").asInt(), pr.path("head").path("sha").asString(),
                sameRepo ? pr.path("head").path("ref").asString() : pr.path("base").path("ref").asString());
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
        private RepoConfig config;
        private String configError;
        private boolean configRead;
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
        }

        String run() {
            var user = comment.path("user");
            var appId = properties.appId();
            if (user.path("type").asString("").equals("Bot")
                    || (appId != null && comment.path("performed_via_github_app").path("id").asLong(-1) == appId)
                    || (properties.appSlug() != null && user.path("login").asString("").equals(properties.appSlug() + "[bot]"))) {
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
            if (!authorized(user.path("login").asString(), comment.path("author_association").asString(""))) {
                reports.reply("refusal:" + delivery.id(), thread, "Sorry @" + user.path("login").asString()
                        + ", only people with write access to this repository can run bisectbot commands.");
                return "refused: " + user.path("login").asString() + " has no write access";
            }
            var done = new ArrayList<String>();
            for (var command : commands) {
                done.add(handle(command));
            }
            return "processed: " + String.join("; ", done);
        }

        private boolean authorized(String login, String association) {
            if (TRUSTED_ASSOCIATIONS.contains(association)) {
                return true;
            }
            // Members with private membership show as CONTRIBUTOR or NONE: ask GitHub.
            var response = api.get(thread.installationId(), thread.repoPath() + "/collaborators/" + login + "/permission");
            if (response.status() == 404) {
                return false;
            }
            var body = GithubApi.require(response, "read " + login + "'s permission").body();
            return WRITE_PERMISSIONS.contains(body.path("permission").asString(""))
                    || WRITE_PERMISSIONS.contains(body.path("role_name").asString(""));
        }

        private String handle(Commands.Command command) {
            var key = delivery.id() + ":" + command.line();
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
                case Commands.Bot b -> bot(b, key);
            };
        }

        private String cancel(String key) {
            var ids = jdbc.sql("""
                            SELECT id FROM jobs
                             WHERE status IN ('PENDING', 'RUNNING')
                               AND payload -> 'github' ->> 'owner' = :owner AND payload -> 'github' ->> 'repo' = :repo
                               AND payload -> 'github' ->> 'issue_number' = :number
                             ORDER BY id""")
                    .param("owner", thread.owner()).param("repo", thread.repo())
                    .param("number", Long.toString(thread.issueNumber()))
                    .query(Long.class).list();
            var q = queue.get();
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
                    .put("parallelism", first(b.k(), settings.parallelism(), 1))
                    .put("repeat", first(b.repeat(), settings.repeat(), 1));
            job.set("github", ref.toJson());
            return enqueue(NewJob.of(BISECT_KIND, job).withMaxAttempts(1).withDedupKey("github-command:" + key), ref, b.text(), key);
        }

        private String bot(Commands.Bot b, String key) {
            if (!readConfig()) {
                return "config error";
            }
            if (headSha == null) {
                reports.reply("error:" + key, thread, error("`/bot` runs on pull requests; comment on one", b.text(), "/bot <task> [args]"));
                return "not a pull request";
            }
            Map<String, BotTask> tasks;
            try {
                tasks = BotConfig.parse(config.tasks(), properties.bisectImage(), Duration.ofMinutes(30));
            } catch (BotConfig.Invalid e) {
                reports.reply("config:" + delivery.id(), thread, "**Error**: " + e.getMessage() + "\n\nNo job was started.");
                return "config error";
            }
            var pr = GithubApi.require(api.get(thread.installationId(), thread.repoPath() + "/pulls/" + thread.issueNumber()),
                    "read pull request " + thread.issueNumber()).body();
            var prPayload = JsonNodeFactory.instance.objectNode();
            prPayload.set("pull_request", pr);
            prPayload.set("repository", payload.path("repository"));
            prPayload.set("installation", payload.path("installation"));
            var target = botTarget(prPayload);
            try {
                var job = transactions.execute(tx -> {
                    var enqueued = new BotTriggers(queue.get()).command(target, tasks, b.task(), b.args(), "github-command:" + key);
                    reports.commandAccepted(thread);
                    queueCheck(enqueued, tasks, new GithubRef(thread.installationId(), thread.owner(), thread.repo(),
                            thread.issueNumber(), null, target.headSha()));
                    return enqueued;
                });
                return "bot job " + job.id();
            } catch (IllegalArgumentException e) {
                reports.reply("error:" + key, thread, error(e.getMessage(), b.text(), "/bot <task> [args]"));
                return "unknown task";
            }
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

        /** Reads {@code .github/bisectbot.yml} once per comment; false (and one error reply) when it is unusable. */
        private boolean readConfig() {
            if (!configRead) {
                configRead = true;
                headSha = pullRequestHead();
                try {
                    config = RepoConfig.parse(api.fileContent(thread.installationId(), thread.owner(), thread.repo(),
                            RepoConfig.PATH, headSha));
                } catch (RepoConfig.Invalid e) {
                    configError = e.getMessage();
                    reports.reply("config:" + delivery.id(), thread, "**Error**: " + configError
                            + "\n\nNo job was started. Fix the file and comment again.");
                }
            }
            return configError == null;
        }

        private String pullRequestHead() {
            if (payload.path("issue").path("pull_request").isMissingNode()) {
                return null;
            }
            var response = api.get(thread.installationId(), thread.repoPath() + "/pulls/" + thread.issueNumber());
            if (response.ok()) {
                return response.body().path("head").path("sha").asString();
            }
            return installations.pullRequestHead(payload.path("repository").path("id").asLong(), thread.issueNumber())
                    .orElseThrow(() -> new GithubApi.ApiException(response.status(), "cannot read pull request "
                            + thread.issueNumber() + ": GitHub answered " + response.status()));
        }

        private String cloneUrl() {
            var url = payload.path("repository").path("clone_url").asString("");
            return url.isEmpty() ? "https://github.com/" + thread.owner() + "/" + thread.repo() + ".git" : url;
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
