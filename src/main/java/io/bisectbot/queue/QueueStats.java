package io.bisectbot.queue;

/** Counts for {@code /stats} and the queue gauges; {@code completed} counts SUCCEEDED jobs. */
public record QueueStats(
        long pending,
        long running,
        long completed,
        long failed,
        long cancelled,
        long runningOnThisInstance,
        long workersAlive,
        long oldestPendingAgeSeconds) {}
