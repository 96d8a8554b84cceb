package io.bisectbot.web;

import java.util.Locale;

/**
 * What a bearer token may do, from least to most. A higher role satisfies every lower requirement.
 * Each role's tokens come from its own variable ({@link #variable()}), comma-separated while rotating.
 */
public enum Role {
    /** Reads jobs, their logs and reports, and the statistics. */
    VIEWER("VIEWER_TOKEN"),
    /** Also cancels and retries jobs and outbox rows. */
    OPERATOR("OPERATOR_TOKEN"),
    /** Everything, including enqueuing jobs. */
    ADMIN("ADMIN_TOKEN");

    private final String variable;

    Role(String variable) {
        this.variable = variable;
    }

    /** The environment variable holding this role's tokens. */
    public String variable() {
        return variable;
    }

    public boolean satisfies(Role required) {
        return compareTo(required) >= 0;
    }

    /** Lower case, as errors and the README name it. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
