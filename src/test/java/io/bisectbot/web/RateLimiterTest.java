package io.bisectbot.web;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class RateLimiterTest {

    private final ShareLinksTest.MovableClock clock = new ShareLinksTest.MovableClock();

    @Test
    void an_address_gets_its_allowance_at_once_then_waits_for_the_refill() {
        var limiter = new RateLimiter(60, 100, clock);
        for (int i = 0; i < 60; i++) {
            assertThat(limiter.acquire("198.51.100.1")).isZero();
        }
        assertThat(limiter.acquire("198.51.100.1")).isEqualTo(1);
        assertThat(limiter.acquire("198.51.100.2")).as("another address").isZero();
        clock.now = clock.now.plus(Duration.ofSeconds(1));
        assertThat(limiter.acquire("198.51.100.1")).isZero();
        assertThat(limiter.acquire("198.51.100.1")).isEqualTo(1);
    }

    @Test
    void the_wait_says_when_the_next_request_would_pass() {
        var limiter = new RateLimiter(2, 100, clock);
        limiter.acquire("a");
        limiter.acquire("a");
        assertThat(limiter.acquire("a")).isEqualTo(30);
    }

    @Test
    void the_map_of_addresses_stays_bounded() {
        var limiter = new RateLimiter(10, 1_000, clock);
        for (int i = 0; i < 5_000; i++) {
            limiter.acquire("addr-" + i);
        }
        assertThat(limiter.size()).isEqualTo(1_000);
    }
}
