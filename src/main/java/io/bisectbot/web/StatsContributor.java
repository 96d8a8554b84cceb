package io.bisectbot.web;

/** Adds a section to {@code /stats}, e.g. the GitHub outbox's pending and dead-lettered writes. */
public interface StatsContributor {

    /** The section's key in the {@code /stats} object. */
    String name();

    /** A value Jackson can write. */
    Object stats();
}
