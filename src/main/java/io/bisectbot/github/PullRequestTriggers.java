package io.bisectbot.github;

import io.bisectbot.bots.BotTriggers;
import io.bisectbot.bots.Trust;
import io.bisectbot.queue.JobQueue;
import java.time.Instant;
import java.util.Set;
import java.util.function.Supplier;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * The {@code pull_request} event: the pull request's head is recorded, and the tasks its base branch's config sets
 * for it start (a change to the config in the pull request itself is only compared, in a check run).
 */
final class PullRequestTriggers {

    static final String CONFIG_CHECK = "bisectbot/config";

    private final Installations installations;
    private final Permissions permissions;
    private final HeadTrust heads;
    private final TaskConfigs configs;
    private final GithubApi api;
    private final GithubReports reports;
    private final Supplier<JobQueue> queue;
    private final TransactionTemplate transactions;

    PullRequestTriggers(
            Installations installations,
            Permissions permissions,
            HeadTrust heads,
            TaskConfigs configs,
            GithubApi api,
            GithubReports reports,
            Supplier<JobQueue> queue,
            TransactionTemplate transactions) {
        this.installations = installations;
        this.permissions = permissions;
        this.heads = heads;
        this.configs = configs;
        this.api = api;
        this.reports = reports;
        this.queue = queue;
        this.transactions = transactions;
    }

    String pullRequest(Deliveries.Delivery delivery, String action) {
        var payload = delivery.payload();
        var pr = payload.path("pull_request");
        installations.upsertPullRequest(
                payload.path("repository").path("id").asLong(),
                pr.path("number").asInt(),
                pr.path("head").path("sha").asString(),
                pr.path("state").asString("open"));
        return tasks(delivery, action);
    }

    /** Starts the repository's bot tasks for a pull request event, as its base branch's config says. */
    private String tasks(Deliveries.Delivery delivery, String action) {
        var payload = delivery.payload();
        if (!Set.of("opened", "synchronize", "reopened", "labeled").contains(action)
                || !payload.path("installation").path("id").isNumber()
                || !"open".equals(payload.path("pull_request").path("state").asString("open"))) {
            return "processed";
        }
        var pr = payload.path("pull_request");
        var repositoryId = payload.path("repository").path("id").asLong();
        var untrusted = HeadTrust.botTarget(payload, Trust.untrusted("not yet decided"));
        var thread = new GithubRef(
                untrusted.installationId(),
                untrusted.owner(),
                untrusted.repo(),
                untrusted.pullRequest(),
                null,
                untrusted.headSha());
        if (installations.isSuspended(untrusted.installationId())) {
            return "ignored: installation suspended";
        }
        var errorKey = "config:" + untrusted.owner() + "/" + untrusted.repo() + "#" + untrusted.pullRequest() + ":"
                + untrusted.headSha();
        var baseRef = pr.path("base").path("ref").asString(null);
        var config = configs.baseConfig(thread, baseRef, errorKey);
        if (config == null) {
            return "config error";
        }
        untrusted = untrusted.withCallbacks(
                configs.defaultBranchCallbacks(thread, baseRef, config, payload.path("repository")));
        if (!action.equals("labeled")) {
            compareHeadConfig(thread, config);
        }
        var tasks = configs.checkedTasks(config, thread, errorKey);
        if (tasks == null) {
            return "config error";
        }
        var sender = payload.path("sender").path("login").asString("");
        var label = payload.path("label").path("name").asString("");
        if (action.equals("labeled") && label.equals(config.approvalLabel())) {
            if (!permissions.canWrite(thread.installationId(), thread.owner(), thread.repo(), sender)) {
                return "ignored: approval label added by " + sender + ", who has no write access";
            }
            return heads.approve(
                    untrusted, repositoryId, pr, sender, tasks, thread, "label:" + errorKey + ":" + sender);
        }
        var target = untrusted.withTrust(
                heads.trust(thread, repositoryId, pr, action.equals("synchronize") ? sender : null));
        var triggers = new BotTriggers(queue.get());
        var jobs = transactions.execute(tx -> {
            var enqueued = action.equals("labeled")
                    ? triggers.labelAdded(
                            target,
                            tasks,
                            label,
                            pr.path("id").asLong() + ":" + label + ":"
                                    + pr.path("updated_at").asString(""))
                    : triggers.pullRequestUpdated(
                            target, tasks, Instant.parse(pr.path("updated_at").asString(Instant.EPOCH.toString())));
            enqueued.forEach(job -> configs.queueCheck(job, tasks, thread));
            return enqueued;
        });
        return jobs.isEmpty()
                ? "processed"
                : "processed: bot jobs " + jobs.stream().map(j -> j.id()).toList()
                        + (target.trust().trusted()
                                ? ""
                                : " (untrusted: " + target.trust().reason() + ")");
    }

    /**
     * A pull request that changes the repository config gets a check run saying what would change once merged (and
     * what is wrong with it); the change does not apply before then.
     */
    private void compareHeadConfig(GithubRef head, RepoConfig base) {
        RepoConfig proposed;
        try {
            proposed = RepoConfig.parse(
                    api.fileContent(head.installationId(), head.owner(), head.repo(), RepoConfig.PATH, head.headSha()));
        } catch (RepoConfig.Invalid e) {
            reports.headCheck(
                    head,
                    CONFIG_CHECK,
                    GithubReports.Conclusion.FAILURE,
                    "The changed config is invalid",
                    "This pull request changes `" + RepoConfig.PATH + "`, and the new version cannot be used:\n\n"
                            + e.getMessage()
                            + "\n\nTasks run with the base branch's config until a valid change is merged.");
            return;
        }
        var changes = base.changesTo(proposed);
        if (changes.isEmpty()) {
            return;
        }
        var problems = configs.check(proposed, head).problems();
        var summary =
                "This pull request changes `" + RepoConfig.PATH + "`. Once merged:\n- " + String.join("\n- ", changes)
                        + "\n\nUntil then every task runs as the base branch's config says, whoever pushed the change.";
        if (!problems.isEmpty()) {
            summary += "\n\n**Problems** of the new version:\n- " + String.join("\n- ", problems);
        }
        reports.headCheck(
                head,
                CONFIG_CHECK,
                problems.isEmpty() ? GithubReports.Conclusion.NEUTRAL : GithubReports.Conclusion.FAILURE,
                problems.isEmpty()
                        ? changes.size() + (changes.size() == 1 ? " change" : " changes") + " once merged"
                        : "The changed config has " + problems.size()
                                + (problems.size() == 1 ? " problem" : " problems"),
                summary);
    }
}
