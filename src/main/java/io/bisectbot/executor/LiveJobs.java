package io.bisectbot.executor;

/** Tells the reaper whether a container's job still legitimately runs; implemented by the job queue. */
@FunctionalInterface
public interface LiveJobs {

    /** True when the job is RUNNING under this worker and attempt, and the worker is alive. */
    boolean isRunning(long jobId, String workerId, int attempt);

    /** True while the worker has not stopped; judges parked containers kept for any job of their worker. */
    default boolean isWorkerAlive(String workerId) {
        return false;
    }

    /** This process's worker id, or null when it runs none. */
    default String localWorkerId() {
        return null;
    }
}
