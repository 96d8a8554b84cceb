package io.bisectbot.queue;

import java.time.Instant;

/**
 * One entry of a job's append-only history (claimed, recovered, released, failed, ...); {@code actor} names who made
 * an operator action (role and token or session fingerprint), null for the service's own events.
 */
public record JobEvent(
        long id, Instant at, String type, String workerId, Integer attempt, String detail, String actor) {}
