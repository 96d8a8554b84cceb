package io.bisectbot.executor;

/** How a step ended. Only {@link Exited} means the step's own process decided its fate. */
public sealed interface StepOutcome {

    /** The main process exited; the code comes from the engine, never from a CLI wrapper. */
    record Exited(int code) implements StepOutcome {}

    /** Killed at its deadline. */
    record TimedOut() implements StepOutcome {}

    /**
     * The kernel OOM killer hit a process of the step (memory limit reached). Reported even when the
     * main process survived and exited 0: a build whose compiler was killed did not really succeed.
     */
    record OomKilled() implements StepOutcome {}

    /** Stopped on request: job cancelled, lost fence, or worker shutdown. */
    record Cancelled() implements StepOutcome {}

    /** The step never got a fair run: engine unreachable, image missing, create/copy failed. */
    record InfraError(String message) implements StepOutcome {}

    /** Stable, low-cardinality name used as a metric tag. */
    default String tag() {
        return switch (this) {
            case Exited e -> "exited";
            case TimedOut t -> "timed_out";
            case OomKilled o -> "oom_killed";
            case Cancelled c -> "cancelled";
            case InfraError i -> "infra_error";
        };
    }
}
