package io.bisectbot.github;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Who may push to a repository, as GitHub's collaborator-permission API says, remembered for a few minutes per
 * installation, repository and user so a busy thread costs one call. {@code author_association} is not asked: a
 * read-only organisation member shows as MEMBER and a triage collaborator as COLLABORATOR, and neither may push.
 */
final class Permissions {

    private static final Set<String> WRITE = Set.of("admin", "maintain", "write");
    private static final int MAX_ENTRIES = 10_000;

    private record Key(long installationId, String repository, String login) {}

    private record Entry(boolean canWrite, Instant expires) {}

    private final GithubApi api;
    private final Clock clock;
    private final Duration ttl;
    private final ConcurrentHashMap<Key, Entry> cache = new ConcurrentHashMap<>();

    Permissions(GithubApi api, Clock clock, Duration ttl) {
        this.api = api;
        this.clock = clock;
        this.ttl = ttl;
    }

    /** Whether {@code login} has write, maintain or admin permission on the repository. */
    boolean canWrite(long installationId, String owner, String repo, String login) {
        if (login == null || login.isBlank()) {
            return false;
        }
        var key =
                new Key(installationId, (owner + "/" + repo).toLowerCase(Locale.ROOT), login.toLowerCase(Locale.ROOT));
        var now = clock.instant();
        var cached = cache.get(key);
        if (cached != null && cached.expires().isAfter(now)) {
            return cached.canWrite();
        }
        var response = api.get(
                installationId,
                "repos/" + owner + "/" + repo + "/collaborators/"
                        + java.net.URLEncoder.encode(login, java.nio.charset.StandardCharsets.UTF_8) + "/permission");
        boolean canWrite;
        if (response.status() == 404) {
            canWrite = false;
        } else {
            var body = GithubApi.require(response, "read " + login + "'s permission")
                    .body();
            canWrite = WRITE.contains(body.path("permission").asString(""))
                    || WRITE.contains(body.path("role_name").asString(""));
        }
        if (cache.size() >= MAX_ENTRIES) {
            cache.entrySet().removeIf(e -> !e.getValue().expires().isAfter(now));
            if (cache.size() >= MAX_ENTRIES) {
                cache.clear();
            }
        }
        cache.put(key, new Entry(canWrite, now.plus(ttl)));
        return canWrite;
    }
}
