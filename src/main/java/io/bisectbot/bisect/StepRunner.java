package io.bisectbot.bisect;

import java.util.concurrent.CompletableFuture;

/** Runs the test command once on one commit, asynchronously (a container in production). */
public interface StepRunner {

    Handle start(Request request);

    record Request(String commit, int runIndex, Purpose purpose) {}

    interface Handle {
        /** Completes with the result; completes with {@link StepResult.Cancelled} after {@link #cancel()}. */
        CompletableFuture<StepResult> result();

        /** Stops the run if it is still going; harmless once it has finished. */
        void cancel();
    }
}
