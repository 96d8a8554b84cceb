package io.bisectbot.github;

import io.bisectbot.loop.Backoff;
import java.time.Clock;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * Delivers outbox rows to GitHub. Each write is made safe to repeat, since an instance may die after GitHub took it
 * and before the row was marked: comments carry a hidden marker and are edited if found, check runs carry an
 * external id and are looked up before being created, and reactions are idempotent on GitHub's side. A comment is
 * edited only when this App wrote it: a marker copied into someone else's comment is ignored.
 */
final class OutboxDelivery {

    private static final Logger log = LoggerFactory.getLogger(OutboxDelivery.class);
    private static final int BATCH = 20;

    private final Outbox outbox;
    private final GithubApi api;
    private final GithubProperties properties;
    private final Clock clock;
    private final String owner;

    OutboxDelivery(Outbox outbox, GithubApi api, GithubProperties properties, Clock clock, String owner) {
        this.outbox = outbox;
        this.api = api;
        this.properties = properties;
        this.clock = clock;
        this.owner = owner;
    }

    /** Claims and delivers one batch; returns how many rows it claimed. */
    int deliverDue() {
        var rows = outbox.claim(owner, BATCH, properties.outboxLease());
        for (var row : rows) {
            if (Thread.currentThread().isInterrupted()) {
                outbox.postpone(row, clock.instant(), "instance stopping");
                continue;
            }
            // Rows late in a batch may have waited out their lease: renew it right before the write, and leave a
            // row another instance took over meanwhile to that instance, so no write is made twice at once.
            if (!outbox.renew(row, owner, properties.outboxLease())) {
                log.info("Outbox row {} was taken over by another instance while it waited in this batch", row.id());
                continue;
            }
            deliver(row);
        }
        return rows.size();
    }

    private void deliver(Outbox.Row row) {
        try {
            var result = switch (row.action()) {
                case Outbox.REACTION -> reaction(row.installationId(), row.request());
                case Outbox.COMMENT -> upsertComment(row.installationId(), row.request());
                case Outbox.CHECK_RUN_CREATE -> createCheckRun(row.installationId(), row.request());
                case Outbox.CHECK_RUN_UPDATE -> {
                    var dependency = outbox.dependency(row.dependsOn());
                    if (dependency.isPresent() && dependency.get().status().equals("PENDING")) {
                        outbox.postpone(row, clock.instant().plusSeconds(1), "waiting for " + row.dependsOn());
                        yield null;
                    }
                    var checkRunId = dependency
                            .filter(d -> d.status().equals("DONE") && d.result() != null)
                            .map(d -> d.result().path("check_run_id").asLong(0))
                            .orElse(0L);
                    // Without a created check run (its creation was dead-lettered), create it completed.
                    yield checkRunId > 0
                            ? updateCheckRun(row.installationId(), row.request(), checkRunId)
                            : createCheckRun(row.installationId(), row.request());
                }
                default -> throw new GithubApi.ApiException(400, "unknown outbox action " + row.action());
            };
            if (result != null && !outbox.done(row, result)) {
                log.info(
                        "Outbox row {} was delivered after its lease ran out; another instance may repeat it harmlessly",
                        row.id());
            }
        } catch (GithubApi.RateLimited e) {
            outbox.postpone(row, e.retryAt, "rate limited");
        } catch (GithubApi.ApiException e) {
            // 4xx other than rate limits will not change by retrying (deleted comment, no permission, invalid).
            var permanent = e.status >= 400 && e.status < 500;
            var dead = permanent || givenUp(row);
            if (dead) {
                log.warn(
                        "Outbox row {} ({} {}) is dead after {} attempts: {}",
                        row.id(),
                        row.action(),
                        row.key(),
                        row.attempts(),
                        e.getMessage());
            }
            outbox.failed(row, e.getMessage(), clock.instant().plus(backoff(row.attempts())), dead);
        } catch (RuntimeException e) {
            var dead = givenUp(row);
            outbox.failed(row, String.valueOf(e.getMessage()), clock.instant().plus(backoff(row.attempts())), dead);
        }
    }

    /** A transient failure (5xx, network) ends a row only after enough attempts and GITHUB_OUTBOX_RETRY_FOR. */
    private boolean givenUp(Outbox.Row row) {
        return row.attempts() >= properties.outboxMaxAttempts()
                && !row.createdAt().plus(properties.outboxRetryFor()).isAfter(clock.instant());
    }

    private Duration backoff(int attempts) {
        return new Backoff(properties.outboxBackoffBase(), properties.outboxBackoffMax()).afterAttempt(attempts);
    }

    private JsonNode reaction(long installation, JsonNode request) {
        var path =
                repo(request) + "/issues/comments/" + request.path("comment_id").asLong() + "/reactions";
        var response = GithubApi.require(
                api.post(
                        installation,
                        path,
                        JsonNodeFactory.instance
                                .objectNode()
                                .put("content", request.path("content").asString())),
                "add a reaction");
        return JsonNodeFactory.instance
                .objectNode()
                .put("reaction_id", response.body().path("id").asLong());
    }

    private JsonNode upsertComment(long installation, JsonNode request) {
        var marker = request.path("marker").asString();
        var body = JsonNodeFactory.instance
                .objectNode()
                .put("body", request.path("body").asString());
        var comments = api.getAll(
                installation,
                repo(request) + "/issues/" + request.path("issue_number").asLong() + "/comments");
        for (var comment : comments) {
            // Anyone can paste the marker into a comment of their own: only ours are edited.
            if (comment.path("body").asString("").contains(marker) && writtenByThisApp(comment)) {
                var id = comment.path("id").asLong();
                GithubApi.require(
                        api.patch(installation, repo(request) + "/issues/comments/" + id, body), "edit a comment");
                return withUrl(
                        JsonNodeFactory.instance
                                .objectNode()
                                .put("comment_id", id)
                                .put("edited", true),
                        comment);
            }
        }
        var created = GithubApi.require(
                api.post(
                        installation,
                        repo(request) + "/issues/"
                                + request.path("issue_number").asLong() + "/comments",
                        body),
                "create a comment");
        return withUrl(
                JsonNodeFactory.instance
                        .objectNode()
                        .put("comment_id", created.body().path("id").asLong()),
                created.body());
    }

    /** The comment was written by this App: its bot user, or GitHub says the App made it. */
    private boolean writtenByThisApp(JsonNode comment) {
        var user = comment.path("user");
        if (!"Bot".equals(user.path("type").asString(""))) {
            return false;
        }
        var viaApp = comment.path("performed_via_github_app").path("id");
        if (viaApp.isNumber() && properties.appId() != null) {
            return viaApp.asLong() == properties.appId();
        }
        return properties.appSlug() != null && user.path("login").asString("").equals(properties.appSlug() + "[bot]");
    }

    private JsonNode createCheckRun(long installation, JsonNode request) {
        var externalId = request.path("external_id").asString();
        var existing = api.getAll(
                installation,
                repo(request) + "/commits/" + request.path("head_sha").asString()
                        + "/check-runs?check_name="
                        + java.net.URLEncoder.encode(
                                request.path("name").asString(), java.nio.charset.StandardCharsets.UTF_8)
                        + "&filter=all");
        for (var run : existing) {
            if (externalId.equals(run.path("external_id").asString(""))) {
                if (request.path("status").asString().equals("completed")) {
                    return updateCheckRun(installation, request, run.path("id").asLong());
                }
                return withUrl(
                        JsonNodeFactory.instance
                                .objectNode()
                                .put("check_run_id", run.path("id").asLong()),
                        run);
            }
        }
        var body = ((ObjectNode) request.deepCopy());
        body.remove("owner");
        body.remove("repo");
        var created =
                GithubApi.require(api.post(installation, repo(request) + "/check-runs", body), "create a check run");
        return withUrl(
                JsonNodeFactory.instance
                        .objectNode()
                        .put("check_run_id", created.body().path("id").asLong()),
                created.body());
    }

    private JsonNode updateCheckRun(long installation, JsonNode request, long checkRunId) {
        var body = ((ObjectNode) request.deepCopy());
        for (var field : new String[] {"owner", "repo", "head_sha", "external_id", "started_at"}) {
            body.remove(field);
        }
        var updated = GithubApi.require(
                api.patch(installation, repo(request) + "/check-runs/" + checkRunId, body), "update a check run");
        return withUrl(JsonNodeFactory.instance.objectNode().put("check_run_id", checkRunId), updated.body());
    }

    /** Keeps the page address GitHub gave the written thing, for the job's page (rows from before have none). */
    private static ObjectNode withUrl(ObjectNode result, JsonNode response) {
        var url = response == null ? null : response.path("html_url").asString(null);
        if (url != null && (url.startsWith("https://") || url.startsWith("http://"))) {
            result.put("html_url", url);
        }
        return result;
    }

    private static String repo(JsonNode request) {
        return "repos/" + request.path("owner").asString() + "/"
                + request.path("repo").asString();
    }
}
