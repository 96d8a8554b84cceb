package io.bisectbot.github;

import io.bisectbot.queue.JobContext;
import io.bisectbot.queue.JobHandler;
import io.bisectbot.queue.JobOutcome;
import java.time.Clock;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;

/**
 * Job kind {@code github-delivery}: processes one stored webhook delivery, routed by its event to the class that
 * handles it. Safe to run again, and safe against a captured body replayed under a new delivery id: the jobs it
 * enqueues and the replies it writes are keyed by what GitHub signed (the comment and its body, the pull request and
 * its head or updated_at), never by the delivery id.
 */
final class DeliveryHandler implements JobHandler {

    private final Deliveries deliveries;
    private final InstallationEvents installations;
    private final PullRequestTriggers pullRequests;
    private final CommentCommands comments;
    private final GithubProperties properties;
    private final Clock clock;

    DeliveryHandler(
            Deliveries deliveries,
            InstallationEvents installations,
            PullRequestTriggers pullRequests,
            CommentCommands comments,
            GithubProperties properties,
            Clock clock) {
        this.deliveries = deliveries;
        this.installations = installations;
        this.pullRequests = pullRequests;
        this.comments = comments;
        this.properties = properties;
        this.clock = clock;
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
            return e.status >= 500 || e.status == 0
                    ? retryWithinWindow(context, delivery.get(), e.getMessage())
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
            comments.givenUp(delivery, error);
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
            case "installation" -> installations.installation(action, payload);
            case "installation_repositories" -> installations.repositories(payload);
            case "pull_request" -> pullRequests.pullRequest(delivery, action);
            case "issue_comment" -> action.equals("created") ? comments.created(delivery) : "ignored: action " + action;
            default -> "ignored: event " + delivery.event();
        };
    }
}
