package io.bisectbot.executor;

import java.time.Duration;

/**
 * How one step ran in its container (the bisect engine turns it into its own {@code bisect.StepResult}).
 * {@code imageDigest} is the repo digest when the image has one, else the
 * image ID; null when the step failed before a container existed. Logs live in the {@link LogSink}
 * (for the PostgreSQL one: rows of {@code step_logs} keyed by job id and step name).
 */
public record ContainerResult(
        StepOutcome outcome, Duration duration, String imageDigest, String containerName, LogSummary logs) {}
