package io.bisectbot.web;

import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A token bucket per source address: {@code perMinute} requests at once, refilled evenly over a minute. In memory and
 * per instance; the map keeps the most recently seen {@code maxAddresses} addresses, so a flood of new addresses costs
 * bounded memory (an evicted address starts again with a full bucket).
 */
final class RateLimiter {

    private final int perMinute;
    private final Clock clock;
    private final Map<String, Bucket> buckets;

    private static final class Bucket {
        double tokens;
        long lastMillis;

        Bucket(double tokens, long lastMillis) {
            this.tokens = tokens;
            this.lastMillis = lastMillis;
        }
    }

    RateLimiter(int perMinute, int maxAddresses, Clock clock) {
        this.perMinute = perMinute;
        this.clock = clock;
        this.buckets = new LinkedHashMap<>(1024, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Bucket> eldest) {
                return size() > maxAddresses;
            }
        };
    }

    boolean enabled() {
        return perMinute > 0;
    }

    /** Takes one request from {@code address}'s bucket: 0 when allowed, else the seconds until one would be. */
    synchronized long acquire(String address) {
        var now = clock.millis();
        var bucket = buckets.computeIfAbsent(address, a -> new Bucket(perMinute, now));
        var perMilli = perMinute / 60_000.0;
        bucket.tokens = Math.min(perMinute, bucket.tokens + Math.max(0, now - bucket.lastMillis) * perMilli);
        bucket.lastMillis = now;
        if (bucket.tokens >= 1) {
            bucket.tokens -= 1;
            return 0;
        }
        return Math.max(1, (long) Math.ceil((1 - bucket.tokens) / perMilli / 1000));
    }

    synchronized int size() {
        return buckets.size();
    }
}
