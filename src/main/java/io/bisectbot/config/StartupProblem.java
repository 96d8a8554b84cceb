package io.bisectbot.config;

/** A reason the instance cannot start that an operator can fix; printed without a stack trace. */
public class StartupProblem extends IllegalStateException {

    private final String action;

    public StartupProblem(String description, String action) {
        super(description);
        this.action = action;
    }

    public String action() {
        return action;
    }
}
