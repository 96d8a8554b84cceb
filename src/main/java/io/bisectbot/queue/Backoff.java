package io.bisectbot.queue;

import java.time.Duration;
import java.util.random.RandomGenerator;

/** Delay before the next attempt: doubles per attempt from {@code base}, capped at {@code max}, with 50-100% jitter. */
record Backoff(Duration base, Duration max, RandomGenerator random) {

    Duration afterAttempt(int attempt) {
        var exponent = Math.min(Math.max(attempt - 1, 0), 30);
        var capped = Math.min(max.toMillis(), base.toMillis() * (1L << exponent));
        // Jitter keeps a burst of failures from coming back as a burst.
        return Duration.ofMillis(capped / 2 + (long) (random.nextDouble() * (capped / 2.0)));
    }
}
