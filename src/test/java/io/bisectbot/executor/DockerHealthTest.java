package io.bisectbot.executor;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class DockerHealthTest {

    @Test
    void the_real_engine_is_reported_available() {
        var health = new DockerHealth(
                DockerClients.create(null, Duration.ofSeconds(3)),
                Clock.systemUTC(),
                Duration.ofSeconds(5),
                new SimpleMeterRegistry());

        assertThat(health.isAvailable()).isTrue();
        assertThat(health.lastError()).isEmpty();
    }

    @Test
    void an_unreachable_engine_is_reported_unavailable_with_the_reason() {
        var registry = new SimpleMeterRegistry();
        var health = new DockerHealth(
                DockerClients.create("unix:///nonexistent/docker.sock", Duration.ofSeconds(1)),
                Clock.systemUTC(),
                Duration.ofSeconds(5),
                registry);

        assertThat(health.isAvailable()).isFalse();
        assertThat(health.lastError()).isPresent();
        assertThat(registry.get("bisectbot.docker.available").gauge().value()).isZero();
    }

    @Test
    void the_answer_is_cached_and_recovers_by_itself_when_the_engine_returns() {
        var clock = new io.bisectbot.SettableClock(Instant.parse("2026-01-01T00:00:00Z"));
        var up = new AtomicBoolean(false);
        var pings = new AtomicInteger();
        var health = new DockerHealth(
                () -> {
                    pings.incrementAndGet();
                    if (!up.get()) {
                        throw new java.io.IOException("connection refused");
                    }
                },
                clock,
                Duration.ofSeconds(5),
                new SimpleMeterRegistry());

        assertThat(health.isAvailable()).isFalse();
        up.set(true);
        assertThat(health.isAvailable()).as("still cached").isFalse();
        assertThat(pings).hasValue(1);

        clock.tick(Duration.ofSeconds(5));
        assertThat(health.isAvailable()).isTrue();
        assertThat(pings).hasValue(2);
    }
}
