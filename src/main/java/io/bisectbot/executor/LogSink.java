package io.bisectbot.executor;

/**
 * Receives a step's output while it runs. Text arrives already capped and with secrets masked.
 * Called from a single docker-java stream thread per step, so implementations must not block for long.
 */
public interface LogSink extends AutoCloseable {

    void append(LogStream stream, String text);

    /** Called by the executor once the step ended, so stored logs are complete when the result returns. */
    default void flush() {}

    @Override
    default void close() {
        flush();
    }
}
