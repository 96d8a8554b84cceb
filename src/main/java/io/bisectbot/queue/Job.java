package io.bisectbot.queue;

import java.time.Instant;
import tools.jackson.databind.JsonNode;

/** A row of the {@code jobs} table as read at one moment. */
public record Job(
        long id,
        String kind,
        JsonNode payload,
        JobStatus status,
        int priority,
        Instant runAt,
        int attemptCount,
        int maxAttempts,
        String workerId,
        Instant heartbeatAt,
        Instant claimedAt,
        Instant startedAt,
        Instant finishedAt,
        String lastError,
        JsonNode result,
        Long retryOf,
        String dedupKey,
        boolean cancelRequested,
        Instant createdAt,
        Instant updatedAt,
        String tenant) {

    /** The fence of the attempt this row describes; only meaningful while RUNNING. */
    public JobFence fence() {
        return new JobFence(id, workerId, attemptCount);
    }
}
