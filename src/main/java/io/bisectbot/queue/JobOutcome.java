package io.bisectbot.queue;

import tools.jackson.databind.JsonNode;

/** What a handler says happened to its attempt; the worker turns it into the job's next state. */
public sealed interface JobOutcome {

    /** The job is done; {@code result} is stored on the job. */
    record Succeeded(JsonNode result) implements JobOutcome {}

    /** The attempt failed; the job is retried with backoff while attempts remain, unless {@code retryable} is false. */
    record Failed(String error, boolean retryable) implements JobOutcome {}

    static JobOutcome succeeded(JsonNode result) {
        return new Succeeded(result);
    }

    static JobOutcome failed(String error) {
        return new Failed(error, true);
    }

    /** A failure that another attempt cannot fix (bad input); the job fails at once. */
    static JobOutcome failedPermanently(String error) {
        return new Failed(error, false);
    }
}
