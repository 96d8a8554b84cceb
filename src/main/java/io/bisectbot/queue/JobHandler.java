package io.bisectbot.queue;

/**
 * Runs the jobs of one {@link #kind()}. A handler runs on its own thread; it must return (or throw) promptly when
 * the thread is interrupted or {@link JobContext#stopRequested()} turns true (cancel, lost fence, shutdown); one
 * that stops through a listener and writes afterwards registers it with
 * {@link JobContext#onStopInsteadOfInterrupt} and is interrupted only if it still runs a few seconds later.
 * A thrown exception fails the attempt with its message; the job is retried with backoff while attempts remain.
 * An attempt may run more than once (at-least-once): a handler's side effects must be safe to repeat.
 */
public interface JobHandler {

    String kind();

    JobOutcome handle(JobContext context) throws Exception;

    /** False while something the handler needs is missing (e.g. the Docker engine); its jobs are then not claimed. */
    default boolean ready() {
        return true;
    }
}
