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

    /**
     * The step wrote more into its working volume than the disk limit allows (or made part of it unreadable, so it
     * cannot be measured), and was killed: {@code usedBytes} is what was measured, -1 when unmeasurable.
     */
    record DiskLimit(long usedBytes, long limitBytes) implements StepOutcome {
        public String message() {
            return usedBytes < 0
                    ? "the step made part of its working directory unreadable, so its disk use cannot be checked against "
                            + "the limit of " + mib(limitBytes) + "; it was stopped"
                    : "the step wrote " + mib(usedBytes) + " into its working directory, more than the limit of "
                            + mib(limitBytes) + " (STEP_DISK_LIMIT); it was stopped";
        }

        private static String mib(long bytes) {
            return String.format(java.util.Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
        }
    }

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
            case DiskLimit d -> "disk_limit";
            case Cancelled c -> "cancelled";
            case InfraError i -> "infra_error";
        };
    }
}
