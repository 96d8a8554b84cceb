package io.bisectbot.queue;

import java.time.Instant;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;

/**
 * A job to enqueue.
 *
 * @param runAt    not before this time; {@code null} means now
 * @param dedupKey at most one job ever exists per key; enqueueing the key again returns the existing job
 */
public record NewJob(String kind, JsonNode payload, int priority, Instant runAt, int maxAttempts, String dedupKey) {

    public static final int DEFAULT_MAX_ATTEMPTS = 3;

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
    }

    public static NewJob of(String kind, JsonNode payload) {
        return new NewJob(kind, payload, 0, null, DEFAULT_MAX_ATTEMPTS, null);
    }

    public NewJob withPriority(int value) {
        return new NewJob(kind, payload, value, runAt, maxAttempts, dedupKey);
    }

    public NewJob withRunAt(Instant value) {
        return new NewJob(kind, payload, priority, value, maxAttempts, dedupKey);
    }

    public NewJob withMaxAttempts(int value) {
        return new NewJob(kind, payload, priority, runAt, value, dedupKey);
    }

    public NewJob withDedupKey(String value) {
        return new NewJob(kind, payload, priority, runAt, maxAttempts, value);
    }
}
