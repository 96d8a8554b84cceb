package io.bisectbot.github;

import java.time.Clock;
import tools.jackson.databind.JsonNode;

/** Who may run commands from a comment: people with write access, never a bot (this app's own replies included). */
final class CommandAuthorization {

    private final GithubProperties properties;
    private final Permissions permissions;
    private final GithubReports reports;
    private final Clock clock;

    CommandAuthorization(GithubProperties properties, Permissions permissions, GithubReports reports, Clock clock) {
        this.properties = properties;
        this.permissions = permissions;
        this.reports = reports;
        this.clock = clock;
    }

    boolean byBot(JsonNode comment) {
        var user = comment.path("user");
        var appId = properties.appId();
        return user.path("type").asString("").equals("Bot")
                || (appId != null
                        && comment.path("performed_via_github_app").path("id").asLong(-1) == appId)
                || (properties.appSlug() != null
                        && user.path("login").asString("").equals(properties.appSlug() + "[bot]"));
    }

    /** Null when {@code login} may run commands in {@code thread}; else the outcome, after the refusal reply. */
    String refusal(GithubRef thread, String login) {
        if (permissions.canWrite(thread.installationId(), thread.owner(), thread.repo(), login)) {
            return null;
        }
        // One refusal per person, thread and hour, whatever they post: no reply storms.
        var hour = clock.instant().getEpochSecond() / 3600;
        reports.reply(
                "refusal:" + thread.owner() + "/" + thread.repo() + "#" + thread.issueNumber() + ":" + login + ":"
                        + hour,
                thread,
                "Sorry @" + login + ", only people with write access to this repository can "
                        + "run bisectbot commands.");
        return "refused: " + login + " has no write access";
    }
}
