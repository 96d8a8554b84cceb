package io.bisectbot.executor;

import java.time.Instant;

/** One stored piece of a step's output; {@code seq} orders chunks within (job, step). */
public record LogChunk(long jobId, String step, int seq, int attempt, LogStream stream, String content, Instant at) {}
