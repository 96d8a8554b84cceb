package io.bisectbot.bisect;

import java.time.Duration;

/** What one run of the test command on one commit ended with. */
public sealed interface StepResult {

    Duration duration();

    /** @param metric the last number printed on standard output, in metric mode; else null */
    record Exited(int exitCode, Duration duration, Double metric) implements StepResult {
        public Exited(int exitCode, Duration duration) {
            this(exitCode, duration, null);
        }
    }

    record TimedOut(Duration duration) implements StepResult {}

    /** The run could not happen (image pull, container start, ...): says nothing about the commit. */
    record InfraError(String message, Duration duration) implements StepResult {}

    record Cancelled(Duration duration) implements StepResult {}
}
