package io.bisectbot.queue;

import java.time.Instant;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;

/**
 * A job to enqueue.
 *
 * @param runAt    not before this time; {@code null} means now
 * @param dedupKey at most one job ever exists per key; enqueueing the key again returns the existing job
 * @param tenant   whose job this is (e.g. {@code installation:123}), for fair share and per-tenant caps; {@code null}
 *                 puts it in the one group of jobs without a tenant
 */
public record NewJob(
        String kind, JsonNode payload, int priority, Instant runAt, int maxAttempts, String dedupKey, String tenant) {

    public static final int DEFAULT_MAX_ATTEMPTS = 3;
    static final int MAX_TENANT_LENGTH = 200;

    public NewJob {
        if (kind == null || kind.isBlank()) {
            throw new IllegalArgumentException("kind is required");
        }
        if (maxAttempts < 1) {
            throw new IllegalArgumentException("max_attempts must be at least 1, got " + maxAttempts);
        }
        payload = payload == null ? JsonNodeFactory.instance.objectNode() : payload;
        if (!payload.isObject()) {
            throw new IllegalArgumentException("payload must be a JSON object");
        }
        if (tenant != null && (tenant.isBlank() || tenant.length() > MAX_TENANT_LENGTH)) {
            throw new IllegalArgumentException(
                    "tenant must be null or 1 to " + MAX_TENANT_LENGTH + " non-blank characters, got '" + tenant + "'");
        }
    }

    /** A job without a tenant. */
    public NewJob(String kind, JsonNode payload, int priority, Instant runAt, int maxAttempts, String dedupKey) {
        this(kind, payload, priority, runAt, maxAttempts, dedupKey, null);
    }

    /** The tenant of a GitHub App installation's jobs. */
    public static String installationTenant(long installationId) {
        return "installation:" + installationId;
    }

    public static NewJob of(String kind, JsonNode payload) {
        return new NewJob(kind, payload, 0, null, DEFAULT_MAX_ATTEMPTS, null, null);
    }

    public NewJob withRunAt(Instant value) {
        return new NewJob(kind, payload, priority, value, maxAttempts, dedupKey, tenant);
    }

    public NewJob withMaxAttempts(int value) {
        return new NewJob(kind, payload, priority, runAt, value, dedupKey, tenant);
    }

    public NewJob withDedupKey(String value) {
        return new NewJob(kind, payload, priority, runAt, maxAttempts, value, tenant);
    }

    public NewJob withTenant(String value) {
        return new NewJob(kind, payload, priority, runAt, maxAttempts, dedupKey, value);
    }
}
