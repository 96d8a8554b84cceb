package io.bisectbot.github;

import tools.jackson.databind.JsonNode;

/** The {@code installation} and {@code installation_repositories} events: which installations and repositories exist. */
final class InstallationEvents {

    private final Installations installations;

    InstallationEvents(Installations installations) {
        this.installations = installations;
    }

    String installation(String action, JsonNode payload) {
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

    String repositories(JsonNode payload) {
        var installation = payload.path("installation");
        installations.upsert(installation);
        installations.addRepositories(installation.path("id").asLong(), payload.path("repositories_added"));
        installations.removeRepositories(installation.path("id").asLong(), payload.path("repositories_removed"));
        return "processed";
    }
}
