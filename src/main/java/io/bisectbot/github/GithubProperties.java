package io.bisectbot.github;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * GitHub App settings, with their defaults in one place (application.yml maps each to an environment variable).
 *
 * @param appId                 the App's id (GITHUB_APP_ID); the {@code iss} of its JWTs
 * @param appSlug               the App's slug; comments by {@code <slug>[bot]} are ignored
 * @param privateKey            the App's private key as PEM text, PKCS#1 or PKCS#8 (GITHUB_PRIVATE_KEY)
 * @param privateKeyFile        or a file holding it (GITHUB_PRIVATE_KEY_FILE)
 * @param webhookSecrets        webhook secrets, comma-separated; several during a rotation (GITHUB_WEBHOOK_SECRETS)
 * @param apiUrl                the REST API root (GITHUB_API_URL)
 * @param publicUrl             this service's public root, for links to full reports (PUBLIC_URL)
 * @param maxQueueSize          above this many pending jobs webhooks get 429 (MAX_QUEUE_SIZE)
 * @param maxPayloadBytes       larger webhook bodies get 413 (GitHub caps payloads at 25 MB)
 * @param deliveryRetention     how long deliveries and delivered outbox rows are kept
 * @param cleanupInterval       how often they are cleaned up
 * @param writeSpacing          least time between content-creating requests of one installation (secondary limits)
 * @param apiRetries            retries of a request after a 5xx or network error
 * @param maxRateLimitWait      longest wait for a rate limit inside a request; longer waits reschedule the work
 * @param outboxPollInterval    how often each instance looks for due outbox rows
 * @param outboxMaxAttempts     an outbox row that failed transiently is dead-lettered only after this many attempts,
 *                              and only once it is older than {@code outboxRetryFor}
 * @param outboxBackoffBase     delay before an outbox row's second attempt; doubles per attempt
 * @param outboxBackoffMax      the largest delay between outbox attempts
 * @param outboxLease           how long a claimed outbox row is reserved for the instance delivering it
 * @param checkName             the name of check runs
 * @param bisectImage           the container image of a bisect when the repository config names none
 * @param bisectTimeout         the timeout of one bisect step when the repository config names none
 * @param permissionCacheTtl    how long a user's write permission on a repository, as GitHub answered, is reused
 * @param outboxRetryFor        how long an outbox write is retried through GitHub 5xx, network errors and rate limits
 * @param deliveryRetryFor      how long processing a delivery is retried while GitHub answers 5xx or rate limits
 * @param catchUpInterval       how often one instance asks GitHub to redeliver failed deliveries it did not store
 * @param catchUpWindow         how far back it looks (GitHub keeps deliveries for three days)
 * @param catchUpMaxPerMinute   most redeliveries it asks for per minute
 * @param writesPerMinute       content-creating requests of one installation per minute, all instances together
 *                              (GitHub allows 80; a fixed window lets a sliding minute see twice this)
 * @param writesPerHour         the same per hour (GitHub allows 500)
 * @param maxConcurrentRequests requests of one installation in flight at once, all instances together (GitHub: 100)
 */
@ConfigurationProperties("bisectbot.github")
public record GithubProperties(
        Long appId,
        String appSlug,
        String privateKey,
        String privateKeyFile,
        List<String> webhookSecrets,
        @DefaultValue("https://api.github.com") URI apiUrl,
        @DefaultValue("http://localhost:8080") String publicUrl,
        @DefaultValue("10000") int maxQueueSize,
        @DefaultValue("26214400") long maxPayloadBytes,
        @DefaultValue("14d") Duration deliveryRetention,
        @DefaultValue("1h") Duration cleanupInterval,
        @DefaultValue("1s") Duration writeSpacing,
        @DefaultValue("3") int apiRetries,
        @DefaultValue("2m") Duration maxRateLimitWait,
        @DefaultValue("1s") Duration outboxPollInterval,
        @DefaultValue("8") int outboxMaxAttempts,
        @DefaultValue("2s") Duration outboxBackoffBase,
        @DefaultValue("10m") Duration outboxBackoffMax,
        @DefaultValue("2m") Duration outboxLease,
        @DefaultValue("bisectbot") String checkName,
        @DefaultValue("bisectbot/runner") String bisectImage,
        @DefaultValue("30m") Duration bisectTimeout,
        @DefaultValue("5m") Duration permissionCacheTtl,
        @DefaultValue("24h") Duration outboxRetryFor,
        @DefaultValue("24h") Duration deliveryRetryFor,
        @DefaultValue("10m") Duration catchUpInterval,
        @DefaultValue("3d") Duration catchUpWindow,
        @DefaultValue("60") int catchUpMaxPerMinute,
        @DefaultValue("35") int writesPerMinute,
        @DefaultValue("240") int writesPerHour,
        @DefaultValue("40") int maxConcurrentRequests) {

    public GithubProperties {
        webhookSecrets = webhookSecrets == null ? List.of()
                : webhookSecrets.stream().map(String::trim).filter(s -> !s.isEmpty()).toList();
        appSlug = appSlug == null || appSlug.isBlank() ? null : appSlug.trim();
        publicUrl = publicUrl.endsWith("/") ? publicUrl.substring(0, publicUrl.length() - 1) : publicUrl;
        if (maxQueueSize < 1) {
            throw new IllegalArgumentException("MAX_QUEUE_SIZE must be at least 1, got " + maxQueueSize);
        }
        if (outboxMaxAttempts < 1) {
            throw new IllegalArgumentException("GITHUB_OUTBOX_MAX_ATTEMPTS must be at least 1, got " + outboxMaxAttempts);
        }
        if (catchUpMaxPerMinute < 1) {
            throw new IllegalArgumentException("GITHUB_CATCH_UP_MAX_PER_MINUTE must be at least 1, got " + catchUpMaxPerMinute);
        }
        if (writesPerMinute < 1) {
            throw new IllegalArgumentException("GITHUB_WRITES_PER_MINUTE must be at least 1, got " + writesPerMinute);
        }
        if (writesPerHour < 1) {
            throw new IllegalArgumentException("GITHUB_WRITES_PER_HOUR must be at least 1, got " + writesPerHour);
        }
        if (maxConcurrentRequests < 1) {
            throw new IllegalArgumentException("GITHUB_MAX_CONCURRENT_REQUESTS must be at least 1, got " + maxConcurrentRequests);
        }
        if (apiRetries < 0) {
            throw new IllegalArgumentException("GITHUB_API_RETRIES must be 0 or more, got " + apiRetries);
        }
    }

    /** The defaults, for code that builds the GitHub parts without Spring (tests, benchmarks). */
    public static GithubProperties defaults() {
        return new GithubProperties(null, null, null, null, List.of(), URI.create("https://api.github.com"),
                "http://localhost:8080", 10000, 25L * 1024 * 1024, Duration.ofDays(14), Duration.ofHours(1),
                Duration.ofSeconds(1), 3, Duration.ofMinutes(2), Duration.ofSeconds(1), 8, Duration.ofSeconds(2),
                Duration.ofMinutes(10), Duration.ofMinutes(2), "bisectbot", "bisectbot/runner", Duration.ofMinutes(30),
                Duration.ofMinutes(5), Duration.ofHours(24), Duration.ofHours(24), Duration.ofMinutes(10),
                Duration.ofDays(3), 60, 35, 240, 40);
    }

    /** The private key's PEM text, from {@link #privateKey} or else {@link #privateKeyFile}; null when neither is set. */
    String privateKeyPem() {
        if (privateKey != null && !privateKey.isBlank()) {
            // Some deployment tools cannot pass newlines in environment variables; accept them escaped.
            return privateKey.replace("\\n", "\n");
        }
        if (privateKeyFile != null && !privateKeyFile.isBlank()) {
            try {
                return Files.readString(Path.of(privateKeyFile));
            } catch (IOException e) {
                throw new IllegalStateException("cannot read GITHUB_PRIVATE_KEY_FILE " + privateKeyFile + ": " + e.getMessage());
            }
        }
        return null;
    }
}
