package io.bisectbot.bisect;

/** The request cannot be bisected as given; the message says why in git's words where git has some. */
public final class BisectSetupException extends RuntimeException {

    public enum Problem {
        UNKNOWN_REVISION,
        BAD_NOT_AFTER_GOOD,
        EMPTY_RANGE,
        GIT_FAILED
    }

    private final Problem problem;

    public BisectSetupException(Problem problem, String message) {
        super(message);
        this.problem = problem;
    }

    public BisectSetupException(Problem problem, String message, Throwable cause) {
        super(message, cause);
        this.problem = problem;
    }

    public Problem problem() {
        return problem;
    }
}
