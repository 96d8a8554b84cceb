package io.bisectbot.loop;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import java.util.random.RandomGenerator;

/**
 * Delay before the next attempt: doubles per attempt from {@code base}, capped at {@code max}, with 50-100% jitter.
 * The one backoff of the service: job retries, outbox and callback attempts, GitHub API retries, reconnects and
 * failing loops all use it.
 */
public record Backoff(Duration base, Duration max, RandomGenerator random) {

    public Backoff(Duration base, Duration max) {
        this(base, max, ThreadLocalRandom.current());
    }

    /** The delay after failed attempt {@code attempt} (1 for the first): base, 2·base, 4·base … up to max, jittered. */
    public Duration afterAttempt(int attempt) {
        var exponent = Math.min(Math.max(attempt - 1, 0), 30);
        var capped = Math.min(max.toMillis(), saturatedShift(base.toMillis(), exponent));
        // Jitter keeps a burst of failures from coming back as a burst.
        return Duration.ofMillis(capped / 2 + (long) (generator().nextDouble() * (capped / 2.0)));
    }

    private RandomGenerator generator() {
        // ThreadLocalRandom.current() must be asked on the thread that uses it.
        return random instanceof ThreadLocalRandom ? ThreadLocalRandom.current() : random;
    }

    private static long saturatedShift(long value, int exponent) {
        return value > (Long.MAX_VALUE >> exponent) ? Long.MAX_VALUE : value << exponent;
    }
}
