package io.bisectbot.bisect;

import io.bisectbot.queue.JobContext;

/**
 * Told when a bisect job starts and when it has a final answer, e.g. to report on GitHub. Calls must be
 * idempotent per job: a job taken over after a crash calls them again.
 */
public interface BisectListener {

    void started(JobContext job, BisectRequest request);

    /** {@code report} is the Markdown report; {@code result} is null when the job failed without one. */
    void finished(JobContext job, BisectRequest request, BisectResult result, String report);
}
