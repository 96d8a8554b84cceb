package io.bisectbot.executor;

import com.github.dockerjava.api.DockerClient;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Whether the Docker engine answers, from a ping cached for a short time so /health and the claim
 * loop can ask often. Every check after the cache expires pings again, so it recovers by itself.
 */
public final class DockerHealth implements AutoCloseable {

    /** A ping that throws when the engine does not answer. */
    @FunctionalInterface
    interface Ping {
        void ping() throws Exception;
    }

    private record Status(boolean available, Instant checkedAt, String error) {}

    private final Ping ping;
    private final Clock clock;
    private final Duration ttl;
    private final ReentrantLock checking = new ReentrantLock();
    private volatile Status status;
    private final AutoCloseable resources;

    /** {@code pingClient} should have a short response timeout, so a hung engine reads as down. */
    public DockerHealth(DockerClient pingClient, Clock clock, Duration ttl, MeterRegistry registry) {
        this(() -> pingClient.pingCmd().exec(), clock, ttl, registry, pingClient);
    }

    DockerHealth(Ping ping, Clock clock, Duration ttl, MeterRegistry registry) {
        this(ping, clock, ttl, registry, () -> {});
    }

    private DockerHealth(Ping ping, Clock clock, Duration ttl, MeterRegistry registry, AutoCloseable resources) {
        this.resources = resources;
        this.ping = ping;
        this.clock = clock;
        this.ttl = ttl;
        Gauge.builder("bisectbot.docker.available", this, h -> h.isAvailable() ? 1 : 0)
                .description("1 when the Docker engine answers a ping")
                .register(registry);
    }

    public boolean isAvailable() {
        Status s = status;
        if (s == null || !clock.instant().isBefore(s.checkedAt().plus(ttl))) {
            // One caller pings; concurrent callers keep the last answer instead of piling up.
            if (checking.tryLock()) {
                try {
                    s = check();
                    status = s;
                } finally {
                    checking.unlock();
                }
            } else if (s == null) {
                checking.lock();
                try {
                    s = status;
                } finally {
                    checking.unlock();
                }
            }
        }
        return s != null && s.available();
    }

    /** Why the last check failed, if it did. */
    public Optional<String> lastError() {
        Status s = status;
        return s == null ? Optional.empty() : Optional.ofNullable(s.error());
    }

    /** Closes the ping client. */
    @Override
    public void close() throws Exception {
        resources.close();
    }

    private Status check() {
        try {
            ping.ping();
            return new Status(true, clock.instant(), null);
        } catch (Exception e) {
            return new Status(false, clock.instant(), DockerExecutor.describe(e));
        }
    }
}
