package io.bisectbot.bisect;

import io.bisectbot.queue.JobContext;

/**
 * Told when a bisect job starts, as it runs (see {@link #progress}) and when it has a final answer, e.g. to report on GitHub. Calls must be
 * idempotent per job: a job taken over after a crash calls them again.
 */
public interface BisectListener {

    void started(JobContext job, BisectRequest request);

    /** {@code report} is the Markdown report; {@code result} is null when the job failed without one. */
    void finished(JobContext job, BisectRequest request, BisectResult result, String report);

    /** Someone cancelled the job before it had an answer (a shutdown or a lost session is not a cancel). */
    default void cancelled(JobContext job, BisectRequest request) {}

    /** Where the running job's rounds and steps are told as they happen; none by default. */
    default BisectProgress progress(JobContext job) {
        return BisectProgress.NONE;
    }
}
