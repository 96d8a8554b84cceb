package io.bisectbot.executor;

/** A failure inside {@link DockerExecutor#run} that means the step never got a fair run: an infrastructure error. */
final class InfraException extends RuntimeException {

    InfraException(String message, Throwable cause) {
        super(message, cause);
    }
}
