package io.bisectbot.queue;

import java.time.Instant;

/** One entry of a job's append-only history (claimed, recovered, released, failed, ...). */
public record JobEvent(long id, Instant at, String type, String workerId, Integer attempt, String detail) {
}
