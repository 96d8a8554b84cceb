package io.bisectbot.github;

import io.bisectbot.bisect.BisectRequest;
import io.bisectbot.bots.BotConfig;
import io.bisectbot.bots.BotTriggers;
import io.bisectbot.bots.Trust;
import io.bisectbot.executor.ImagePolicy;
import io.bisectbot.queue.Job;
import io.bisectbot.queue.JobQueue;
import io.bisectbot.queue.NewJob;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.transaction.support.TransactionTemplate;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;

/**
 * The {@code issue_comment} event: the commands of a new comment, run for people with write access. Bisections and
 * tasks always use the base branch's {@code .github/bisectbot.yml}, never a pull request's own version.
 */
final class CommentCommands {

    private static final Logger log = LoggerFactory.getLogger(CommentCommands.class);
    static final String BISECT_KIND = "bisect";
    private final Installations installations;
    private final CommandAuthorization authorization;
    private final HeadTrust heads;
    private final TaskConfigs configs;
    private final GithubApi api;
    private final GithubReports reports;
    private final Supplier<JobQueue> queue;
    private final TransactionTemplate transactions;
    private final GithubProperties properties;
    private final ImagePolicy images;

    CommentCommands(
            Installations installations,
            CommandAuthorization authorization,
            HeadTrust heads,
            TaskConfigs configs,
            GithubApi api,
            GithubReports reports,
            Supplier<JobQueue> queue,
            TransactionTemplate transactions,
            GithubProperties properties,
            ImagePolicy images) {
        this.installations = installations;
        this.authorization = authorization;
        this.heads = heads;
        this.configs = configs;
        this.api = api;
        this.reports = reports;
        this.queue = queue;
        this.transactions = transactions;
        this.properties = properties;
        this.images = images;
    }

    /** Runs the commands of a comment that was created. */
    String created(Deliveries.Delivery delivery) {
        return new CommentRun(delivery).run();
    }

    /** The created comment's commands were given up on: tells its thread so. */
    void givenUp(Deliveries.Delivery delivery, String error) {
        new CommentRun(delivery).givenUp(error);
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
            this.thread = new GithubRef(
                    payload.path("installation").path("id").asLong(),
                    repository.path("owner").path("login").asString(),
                    repository.path("name").asString(),
                    payload.path("issue").path("number").asLong(),
                    comment.path("id").asLong(),
                    null,
                    !repository.path("private").isBoolean()
                            || repository.path("private").asBoolean());
            this.commentKey = "comment:" + thread.owner() + "/" + thread.repo() + ":"
                    + comment.path("id").asLong() + ":"
                    + sha256(comment.path("body").asString("")).substring(0, 16);
        }

        /**
         * The comment's commands could not be processed within GITHUB_DELIVERY_RETRY_FOR: one reply says so (keyed by
         * the comment, so a later give-up of the same comment adds none), through the outbox, which keeps trying.
         */
        void givenUp(String error) {
            if (authorization.byBot(comment)
                    || !payload.path("installation").path("id").isNumber()
                    || Commands.parse(comment.path("body").asString("")).isEmpty()) {
                return;
            }
            var reason = error.length() > 300 ? error.substring(0, 300) + "…" : error;
            reports.reply(
                    "given-up:" + commentKey,
                    thread,
                    "**Error**: this command could not be processed: GitHub kept " + "failing for "
                            + properties.deliveryRetryFor().toHours() + " h (" + reason + "). Post it again to retry.");
        }

        String run() {
            var user = comment.path("user");
            if (authorization.byBot(comment)) {
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
            var refusal = authorization.refusal(thread, user.path("login").asString());
            if (refusal != null) {
                return refusal;
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
            ofThread.putObject("github")
                    .put("owner", thread.owner())
                    .put("repo", thread.repo())
                    .put("issue_number", thread.issueNumber());
            var ids = q.findLive(ofThread).stream().map(Job::id).toList();
            ids.forEach(q::cancel);
            transactions.executeWithoutResult(tx -> {
                reports.commandAccepted(thread);
                reports.reply(
                        "cancel:" + key,
                        thread,
                        ids.isEmpty()
                                ? "Nothing to cancel: no job of this thread is running."
                                : "Cancelled "
                                        + String.join(
                                                ", ",
                                                ids.stream()
                                                        .map(id -> "job " + id)
                                                        .toList()) + ".");
            });
            return "cancelled " + ids;
        }

        private String bisect(Commands.Bisect b, String key) {
            if (!readConfig()) {
                return "config error";
            }
            var settings = config.bisect();
            if (settings.image() != null && !images.allows(settings.image())) {
                reports.reply(
                        "error:" + key,
                        thread,
                        error("`bisect.image`: " + images.refusal(settings.image()), b.text(), null));
                return "image not allowed";
            }
            var command = b.command() != null ? b.command() : settings.command();
            if (command == null) {
                reports.reply(
                        "error:" + key,
                        thread,
                        error(
                                "no command to run: add `-- <command>`, or set `bisect.command` in `" + RepoConfig.PATH
                                        + "`",
                                b.text(),
                                Commands.BISECT_USAGE));
                return "no command";
            }
            var timeout = settings.timeout() != null ? settings.timeout() : properties.bisectTimeout();
            var ref = new GithubRef(
                    thread.installationId(),
                    thread.owner(),
                    thread.repo(),
                    thread.issueNumber(),
                    thread.commentId(),
                    headSha,
                    thread.privateRepository());
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
            if (!settings.cache().isEmpty()) {
                var paths = job.putArray("cache");
                settings.cache().forEach(paths::add);
            }
            if (settings.bridgeNetwork()) {
                job.put("network", "bridge");
            }
            var github = ref.toJson();
            // A pull request's commits may be a stranger's code: then no registry credentials, no network, and cache
            // volumes apart from trusted runs' (the bisect job reads this flag).
            var trust = trust(b);
            if (trust != null) {
                github.put("untrusted", !trust.trusted()).put("trust_reason", trust.reason());
            }
            job.set("github", github);
            if (callbacks != null) {
                job.set(BotTriggers.REPO_CALLBACKS, callbacks);
            }
            return enqueue(
                    NewJob.of(BISECT_KIND, job)
                            .withMaxAttempts(1)
                            .withDedupKey("github-command:" + key)
                            .withTenant(NewJob.installationTenant(ref.installationId())),
                    ref,
                    b.text(),
                    key);
        }

        /**
         * The trust of the code a bisect runs, as for a bot task: the thread's pull request head, and the head of every
         * pull request a ref of the range names ({@code refs/pull/<n>/head}, which a mirror of the repository holds);
         * the first that is untrusted decides. Null when no pull request is involved: the range is refs of the
         * repository, named by a writer.
         */
        private Trust trust(Commands.Bisect b) {
            var repositoryId = payload.path("repository").path("id").asLong();
            var trust = pullRequest == null ? null : heads.trust(thread, repositoryId, pullRequest, null);
            var refs = new ArrayList<>(b.good());
            refs.add(b.bad());
            for (var ref : refs) {
                var named = BisectRequest.PULL_REQUEST_REF.matcher(ref);
                if ((trust != null && !trust.trusted()) || !named.find()) {
                    continue;
                }
                var number = named.group(1).length() > 9 ? -1 : Long.parseLong(named.group(1));
                if (pullRequest != null && number == thread.issueNumber()) {
                    continue;
                }
                var response =
                        number < 0 ? null : api.get(thread.installationId(), thread.repoPath() + "/pulls/" + number);
                var of = response == null || response.status() == 404
                        ? Trust.untrusted("its range names `" + ref + "`, and #" + named.group(1)
                                + " is no pull request of this repository")
                        : heads.trust(
                                thread,
                                repositoryId,
                                GithubApi.require(response, "read pull request " + number)
                                        .body(),
                                null);
                if (!of.trusted() && response != null && response.status() != 404) {
                    of = Trust.untrusted("its range names `" + ref + "` of #" + number + ": " + of.reason());
                }
                trust = trust == null || !of.trusted() ? of : trust;
            }
            return trust;
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
                reports.reply(
                        "error:" + key,
                        thread,
                        error("`/bot` runs on pull requests; comment on one", b.text(), "/bot <task> [args]"));
                return "not a pull request";
            }
            var tasks = configs.checkedTasks(config, thread, "config:" + commentKey);
            if (tasks == null) {
                return "config error";
            }
            var target = target();
            try {
                var job = transactions.execute(tx -> {
                    var enqueued = new BotTriggers(queue.get())
                            .command(target, tasks, b.task(), b.args(), "github-command:" + key);
                    reports.commandAccepted(thread);
                    configs.queueCheck(
                            enqueued,
                            tasks,
                            new GithubRef(
                                    thread.installationId(),
                                    thread.owner(),
                                    thread.repo(),
                                    thread.issueNumber(),
                                    null,
                                    target.headSha()));
                    return enqueued;
                });
                return "bot job " + job.id()
                        + (target.trust().trusted()
                                ? ""
                                : " (untrusted: " + target.trust().reason() + ")");
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
                reports.reply(
                        "error:" + key,
                        thread,
                        error(
                                "`/bot approve` approves a pull request's head; comment on one",
                                b.text(),
                                "/bot approve [<sha>]"));
                return "not a pull request";
            }
            var expected = b.args() == null ? "" : b.args().strip();
            if (!expected.isEmpty()
                    && (expected.length() < 7 || !headSha.startsWith(expected.toLowerCase(java.util.Locale.ROOT)))) {
                reports.reply(
                        "error:" + key,
                        thread,
                        error(
                                "the pull request's head is now `" + headSha.substring(0, 7) + "`, not `" + expected
                                        + "`: look at the new commits, then approve again",
                                b.text(),
                                "/bot approve [<sha>]"));
                return "approval of an old head";
            }
            var tasks = configs.checkedTasks(config, thread, "config:" + commentKey);
            if (tasks == null) {
                return "config error";
            }
            reports.commandAccepted(thread);
            return heads.approve(
                    target(),
                    payload.path("repository").path("id").asLong(),
                    pullRequest,
                    comment.path("user").path("login").asString(),
                    tasks,
                    thread,
                    key);
        }

        /** The pull request's head, as a bot target with its trust. */
        private BotTriggers.Target target() {
            var prPayload = JsonNodeFactory.instance.objectNode();
            prPayload.set("pull_request", pullRequest);
            prPayload.set("repository", payload.path("repository"));
            prPayload.set("installation", payload.path("installation"));
            return HeadTrust.botTarget(
                            prPayload,
                            heads.trust(
                                    thread,
                                    payload.path("repository").path("id").asLong(),
                                    pullRequest,
                                    null))
                    .withCallbacks(callbacks);
        }

        private String enqueue(NewJob job, GithubRef ref, String line, String key) {
            var q = queue.get();
            if (!q.kinds().contains(job.kind())) {
                reports.reply(
                        "error:" + key,
                        thread,
                        error("`/" + job.kind() + "` is not enabled on this bisectbot instance", line, null));
                return job.kind() + " unavailable";
            }
            // The job and the 👀 that acknowledges it are written together: both happen or neither.
            var enqueued = transactions.execute(tx -> {
                var result = q.enqueue(job);
                reports.commandAccepted(ref);
                return result;
            });
            log.info(
                    "Delivery {} enqueued {} job {}",
                    delivery.id(),
                    job.kind(),
                    enqueued.job().id());
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
                headSha = pullRequest == null
                        ? null
                        : pullRequest.path("head").path("sha").asString();
                var baseRef = pullRequest == null
                        ? null
                        : pullRequest.path("base").path("ref").asString(null);
                config = configs.baseConfig(thread, baseRef, "config:" + commentKey);
                configError = config == null ? "unusable config" : null;
                if (config != null) {
                    callbacks = configs.defaultBranchCallbacks(thread, baseRef, config, payload.path("repository"));
                }
            }
            return configError == null;
        }

        private JsonNode pullRequest() {
            if (payload.path("issue").path("pull_request").isMissingNode()) {
                return null;
            }
            return GithubApi.require(
                            api.get(thread.installationId(), thread.repoPath() + "/pulls/" + thread.issueNumber()),
                            "read pull request " + thread.issueNumber())
                    .body();
        }

        private String cloneUrl() {
            var url = payload.path("repository").path("clone_url").asString("");
            return url.isEmpty() ? "https://github.com/" + thread.owner() + "/" + thread.repo() + ".git" : url;
        }
    }

    private static String sha256(String text) {
        try {
            return HexFormat.of()
                    .formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static String error(String problem, String line, String usage) {
        var text = new StringBuilder("**Error**: ")
                .append(problem)
                .append("\n\n> ")
                .append(line.replace("\n", " "));
        if (usage != null) {
            text.append("\n\nUsage: `").append(usage).append("`");
        }
        return text.append("\n\nComment `/help` for all commands.").toString();
    }

    private static int first(Integer a, Integer b, int fallback) {
        return a != null ? a : b != null ? b : fallback;
    }
}
