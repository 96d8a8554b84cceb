package io.bisectbot.github;

import io.bisectbot.bisect.BisectProperties;
import io.bisectbot.executor.ExecutorProperties;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * GitHub App settings.
 *
 * @param appId              the App's id, the {@code iss} of its JWTs
 * @param appSlug            the App's slug; comments by {@code <slug>[bot]} are ignored (so are all {@code Bot} users)
 * @param privateKey         the App's private key, PEM ({@code BEGIN RSA PRIVATE KEY} or {@code BEGIN PRIVATE KEY});
 *                           {@code \n} escapes are accepted
 * @param privateKeyFile     or a file holding it
 * @param webhookSecrets     webhook secrets, comma-separated; during a rotation list both (the log says which index
 *                           matched); without a secret every delivery gets 401
 * @param apiUrl             REST API root (GitHub Enterprise Server: {@code https://HOST/api/v3})
 * @param publicUrl          this service's public root; comments and check runs link to
 *                           {@code {PUBLIC_URL}/job/{id}/report}, signed with a share token ({@code ?share=…}, see
 *                           {@code SHARE_LINK_KEYS}) for public repositories only; a private repository's report
 *                           needs a viewer token
 * @param maxQueueSize       above this many pending jobs, webhooks get 429 with {@code Retry-After}
 * @param maxPayloadBytes    largest webhook body in bytes (25 MiB by default): a larger Content-Length gets 413 before
 *                           the body is read; Caddy's {@code request_body max_size} reads the same variable
 * @param deliveryRetention  deliveries and delivered outbox rows older than this are deleted (hourly)
 * @param cleanupInterval    how often they are deleted
 * @param writeSpacing       least time between content-creating requests of one installation
 * @param apiRetries         retries of a GitHub API request after a 5xx answer or a network error
 * @param maxRateLimitWait   longest wait for a rate limit inside a request; longer waits reschedule the work
 * @param outboxPollInterval how often each instance looks for due outbox rows
 * @param outboxMaxAttempts  a write that failed transiently is dead-lettered only after this many attempts, and only
 *                          once it is older than {@code outboxRetryFor} (at once for a 4xx)
 * @param outboxBackoffBase  delay before an outbox row's second attempt; doubles per attempt
 * @param outboxBackoffMax   the largest delay between outbox attempts
 * @param outboxLease        how long a claimed outbox row is reserved for the instance delivering it
 * @param checkName          the name of check runs
 * @param bisectImage        image of a bisect when {@code .github/bisectbot.yml} names none; unset:
 *                           {@code DEFAULT_STEP_IMAGE}
 * @param bisectTimeout      step timeout of a bisect when the config names none; unset: {@code BISECT_STEP_TIMEOUT}
 * @param permissionCacheTtl how long a person's write permission on a repository, as GitHub answered, is reused
 * @param outboxRetryFor how long an outbox write is retried through GitHub 5xx, network errors and rate limits
 * @param deliveryRetryFor how long processing a delivery is retried while GitHub answers 5xx or rate limits; then it
 *                      fails, and a comment's commands get one reply saying so
 * @param catchUpInterval how often one instance asks GitHub to redeliver failed deliveries it did not store
 * @param catchUpWindow how far back it looks (GitHub keeps deliveries for three days)
 * @param catchUpMaxPerMinute most redeliveries it asks for per minute
 * @param writesPerMinute content-creating requests of one installation per minute, all instances together
 *                      (GitHub allows 80; a fixed window lets a sliding minute see twice this)
 * @param writesPerHour the same per hour (GitHub allows 500)
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
        String bisectImage,
        Duration bisectTimeout,
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
        webhookSecrets = webhookSecrets == null
                ? List.of()
                : webhookSecrets.stream()
                        .map(String::trim)
                        .filter(s -> !s.isEmpty())
                        .toList();
        appSlug = appSlug == null || appSlug.isBlank() ? null : appSlug.trim();
        bisectImage = bisectImage == null || bisectImage.isBlank() ? null : bisectImage;
        publicUrl = publicUrl.endsWith("/") ? publicUrl.substring(0, publicUrl.length() - 1) : publicUrl;
        if (maxQueueSize < 1) {
            throw new IllegalArgumentException("MAX_QUEUE_SIZE must be at least 1, got " + maxQueueSize);
        }
        if (outboxMaxAttempts < 1) {
            throw new IllegalArgumentException(
                    "GITHUB_OUTBOX_MAX_ATTEMPTS must be at least 1, got " + outboxMaxAttempts);
        }
        if (catchUpMaxPerMinute < 1) {
            throw new IllegalArgumentException(
                    "GITHUB_CATCH_UP_MAX_PER_MINUTE must be at least 1, got " + catchUpMaxPerMinute);
        }
        if (writesPerMinute < 1) {
            throw new IllegalArgumentException("GITHUB_WRITES_PER_MINUTE must be at least 1, got " + writesPerMinute);
        }
        if (writesPerHour < 1) {
            throw new IllegalArgumentException("GITHUB_WRITES_PER_HOUR must be at least 1, got " + writesPerHour);
        }
        if (maxConcurrentRequests < 1) {
            throw new IllegalArgumentException(
                    "GITHUB_MAX_CONCURRENT_REQUESTS must be at least 1, got " + maxConcurrentRequests);
        }
        if (apiRetries < 0) {
            throw new IllegalArgumentException("GITHUB_API_RETRIES must be 0 or more, got " + apiRetries);
        }
    }

    /** The defaults above, for code that builds the GitHub parts without Spring (tests, benchmarks). */
    public static GithubProperties defaults() {
        return new Binder().bindOrCreate("bisectbot.github", GithubProperties.class);
    }

    /**
     * With the service's defaults where this names none (the one place they are written): the executor's default step
     * image and the bisect settings' step timeout.
     */
    GithubProperties withBisectDefaults(ExecutorProperties executor, BisectProperties bisect) {
        return new GithubProperties(
                appId,
                appSlug,
                privateKey,
                privateKeyFile,
                webhookSecrets,
                apiUrl,
                publicUrl,
                maxQueueSize,
                maxPayloadBytes,
                deliveryRetention,
                cleanupInterval,
                writeSpacing,
                apiRetries,
                maxRateLimitWait,
                outboxPollInterval,
                outboxMaxAttempts,
                outboxBackoffBase,
                outboxBackoffMax,
                outboxLease,
                checkName,
                bisectImage != null ? bisectImage : executor.defaultImage(),
                bisectTimeout != null ? bisectTimeout : bisect.defaultTimeout(),
                permissionCacheTtl,
                outboxRetryFor,
                deliveryRetryFor,
                catchUpInterval,
                catchUpWindow,
                catchUpMaxPerMinute,
                writesPerMinute,
                writesPerHour,
                maxConcurrentRequests);
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
                throw new IllegalStateException(
                        "cannot read GITHUB_PRIVATE_KEY_FILE " + privateKeyFile + ": " + e.getMessage());
            }
        }
        return null;
    }
}
