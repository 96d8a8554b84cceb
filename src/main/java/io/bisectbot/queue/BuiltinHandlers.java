package io.bisectbot.queue;

import java.time.Duration;
import tools.jackson.databind.node.JsonNodeFactory;

/** Job kinds that need nothing outside the queue, for tests, demos and benchmarks. */
public final class BuiltinHandlers {

    private BuiltinHandlers() {
    }

    /** {@code noop}: succeeds at once. */
    public static JobHandler noop() {
        return new JobHandler() {
            @Override
            public String kind() {
                return "noop";
            }

            @Override
            public JobOutcome handle(JobContext context) {
                return JobOutcome.succeeded(null);
            }
        };
    }

    /** {@code sleep}: waits {@code payload.millis} (or {@code payload.seconds}) and succeeds; stops when asked to. */
    public static JobHandler sleep() {
        return new JobHandler() {
            @Override
            public String kind() {
                return "sleep";
            }

            @Override
            public JobOutcome handle(JobContext context) throws InterruptedException {
                var payload = context.payload();
                var duration = payload.has("millis")
                        ? Duration.ofMillis(payload.get("millis").asLong())
                        : Duration.ofMillis((long) (payload.path("seconds").asDouble(1.0) * 1000));
                if (duration.isNegative() || duration.compareTo(Duration.ofHours(24)) > 0) {
                    return JobOutcome.failedPermanently("sleep duration must be between 0 and 24 h, got " + duration);
                }
                Thread.sleep(duration);
                return JobOutcome.succeeded(JsonNodeFactory.instance.objectNode().put("slept_ms", duration.toMillis()));
            }
        };
    }
}
