package io.bisectbot.github;

import io.bisectbot.bots.BotTask;
import io.bisectbot.bots.BotTriggers;
import io.bisectbot.bots.Trust;
import io.bisectbot.queue.JobQueue;
import java.util.Map;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.transaction.support.TransactionTemplate;
import tools.jackson.databind.JsonNode;

/**
 * The trust boundary of a pull request's head: it is only the code a task runs on, and it is trusted only when it is
 * in the repository itself and its author (and pusher) may write to it, or when a writer approved that exact commit.
 */
final class HeadTrust {

    private static final Logger log = LoggerFactory.getLogger(HeadTrust.class);

    private final Permissions permissions;
    private final Approvals approvals;
    private final GithubReports reports;
    private final TaskConfigs configs;
    private final Supplier<JobQueue> queue;
    private final TransactionTemplate transactions;

    HeadTrust(
            Permissions permissions,
            Approvals approvals,
            GithubReports reports,
            TaskConfigs configs,
            Supplier<JobQueue> queue,
            TransactionTemplate transactions) {
        this.permissions = permissions;
        this.approvals = approvals;
        this.reports = reports;
        this.configs = configs;
        this.queue = queue;
        this.transactions = transactions;
    }

    /**
     * Whether the pull request's head may run with its tasks' full config: it is in this repository, its author is a
     * person with write access (and so is {@code pusher}, who pushed it, when known), or a writer approved it.
     */
    Trust trust(GithubRef thread, long repositoryId, JsonNode pr, String pusher) {
        var sha = pr.path("head").path("sha").asString();
        var headRepo = pr.path("head").path("repo");
        var author = pr.path("user");
        String reason;
        if (headRepo.path("id").asLong(-1) != repositoryId) {
            reason = "its head is in the fork " + headRepo.path("full_name").asString("(deleted)");
        } else if (!"User".equals(author.path("type").asString(""))) {
            reason = "it was opened by " + author.path("login").asString("an app") + ", not by a person";
        } else if (!permissions.canWrite(
                thread.installationId(),
                thread.owner(),
                thread.repo(),
                author.path("login").asString())) {
            reason = "its author @" + author.path("login").asString() + " has no write access";
        } else if (pusher != null
                && !pusher.equalsIgnoreCase(author.path("login").asString())
                && !permissions.canWrite(thread.installationId(), thread.owner(), thread.repo(), pusher)) {
            reason = "it was pushed by " + pusher + ", who has no write access";
        } else {
            return Trust.trusted("its head is in this repository and @"
                    + author.path("login").asString() + " has write access");
        }
        return approvals
                .approver(repositoryId, pr.path("number").asInt(), sha)
                .map(approver -> Trust.approved(approver, sha))
                .orElse(Trust.untrusted(reason));
    }

    /**
     * A writer approved the head: it is recorded for that exact commit, and the {@code pull_request} tasks run again
     * with their full config.
     */
    String approve(
            BotTriggers.Target untrusted,
            long repositoryId,
            JsonNode pr,
            String approver,
            Map<String, BotTask> tasks,
            GithubRef thread,
            String replyKey) {
        var current = trust(thread, repositoryId, pr, null);
        var sha = untrusted.headSha();
        if (current.trusted() && current.approvedBy() == null) {
            reports.reply(
                    "approve:" + replyKey,
                    thread,
                    "Nothing to approve: " + current.reason() + ", so its tasks already "
                            + "run with their full config.");
            return "approval not needed";
        }
        approvals.approve(repositoryId, untrusted.pullRequest(), sha, approver);
        var target = untrusted.withTrust(Trust.approved(
                approvals.approver(repositoryId, untrusted.pullRequest(), sha).orElse(approver), sha));
        var head = new GithubRef(
                thread.installationId(), thread.owner(), thread.repo(), untrusted.pullRequest(), null, sha);
        var jobs = transactions.execute(tx -> {
            var enqueued = new BotTriggers(queue.get()).headApproved(target, tasks);
            enqueued.forEach(job -> configs.queueCheck(job, tasks, head));
            reports.reply(
                    "approve:" + replyKey,
                    thread,
                    "Approved `" + sha.substring(0, 7) + "` (" + target.trust().reason()
                            + "): its tasks run with their full config"
                            + (enqueued.isEmpty()
                                    ? ""
                                    : ": "
                                            + String.join(
                                                    ", ",
                                                    enqueued.stream()
                                                            .map(j -> "`"
                                                                    + j.payload()
                                                                            .path("task")
                                                                            .asString() + "`")
                                                            .toList()))
                            + ". A new push needs a new approval.");
            return enqueued;
        });
        log.info(
                "Head {} of {}/{}#{} approved by {}",
                sha,
                thread.owner(),
                thread.repo(),
                untrusted.pullRequest(),
                approver);
        return "approved " + sha + " by " + approver + ": bot jobs "
                + jobs.stream().map(j -> j.id()).toList();
    }

    /** Where a pull request's tasks run, and where their proposed changes go (its branch, unless it is a fork's). */
    static BotTriggers.Target botTarget(JsonNode payload, Trust trust) {
        var pr = payload.path("pull_request");
        var repository = payload.path("repository");
        var sameRepo = pr.path("head").path("repo").path("id").asLong(-1)
                == repository.path("id").asLong(-2);
        var url = repository.path("clone_url").asString("");
        var owner = repository.path("owner").path("login").asString();
        var name = repository.path("name").asString();
        return new BotTriggers.Target(
                url.isEmpty() ? "https://github.com/" + owner + "/" + name + ".git" : url,
                owner,
                name,
                payload.path("installation").path("id").asLong(),
                pr.path("number").asInt(),
                pr.path("head").path("sha").asString(),
                sameRepo
                        ? pr.path("head").path("ref").asString()
                        : pr.path("base").path("ref").asString(),
                trust);
    }
}
