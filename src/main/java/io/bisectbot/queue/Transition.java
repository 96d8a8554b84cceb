package io.bisectbot.queue;

import java.time.Duration;

/**
 * A move of a RUNNING job to its next state, applied only while the fence still holds. Every way out of RUNNING
 * (done, failed, retry later, cancelled, released at shutdown, taken back after a lost heartbeat) is one of these,
 * written by {@link JobRepository#applyTransitions}.
 *
 * @param attemptDelta -1 when the attempt must not count (released at shutdown, deferred), else 0
 * @param retryDelay   for a move back to PENDING: how long until it may run again
 */
record Transition(
        JobFence fence,
        JobStatus status,
        int attemptDelta,
        Duration retryDelay,
        String resultJson,
        String error,
        String eventType,
        String eventDetail) {

    static Transition succeeded(JobFence fence, String resultJson) {
        return new Transition(fence, JobStatus.SUCCEEDED, 0, Duration.ZERO, resultJson, null, "succeeded", null);
    }

    static Transition failed(JobFence fence, String error) {
        return new Transition(fence, JobStatus.FAILED, 0, Duration.ZERO, null, error, "failed", error);
    }

    static Transition retryLater(JobFence fence, String error, Duration delay, String eventType) {
        return new Transition(
                fence,
                JobStatus.PENDING,
                0,
                delay,
                null,
                error,
                eventType,
                error + " (retry in " + delay.toMillis() + " ms)");
    }

    /** Back to PENDING after {@code delay} without counting the attempt: the job could not go on for now. */
    static Transition deferred(JobFence fence, String reason, Duration delay) {
        return new Transition(
                fence,
                JobStatus.PENDING,
                -1,
                delay,
                null,
                reason,
                "deferred",
                reason + " (runs again in " + delay.toSeconds() + " s; attempt not counted)");
    }

    static Transition cancelled(JobFence fence, String detail) {
        return new Transition(fence, JobStatus.CANCELLED, 0, Duration.ZERO, null, detail, "cancelled", detail);
    }

    static Transition released(JobFence fence) {
        return released(fence, "worker shutting down; attempt not counted");
    }

    static Transition released(JobFence fence, String detail) {
        return new Transition(fence, JobStatus.PENDING, -1, Duration.ZERO, null, null, "released", detail);
    }
}
