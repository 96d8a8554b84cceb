package io.bisectbot.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;

class ShareLinksTest {

    static final String KEY = "share-link-key-0123456789abcdefghijklmnop";
    static final String OLD_KEY = "an-older-share-link-key-0123456789abcdef";

    /** A clock the test moves. */
    static final class MovableClock extends Clock {
        Instant now = Instant.parse("2026-03-01T12:00:00Z");

        @Override
        public ZoneOffset getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    private final MovableClock clock = new MovableClock();
    private final ShareLinks links = new ShareLinks(List.of(KEY), Duration.ofDays(30), clock);

    @Test
    void a_link_is_valid_for_its_own_job_until_it_expires() {
        var token = links.token(42).orElseThrow();
        assertThat(token).matches("\\d+\\.[A-Za-z0-9_-]+");
        assertThat(links.verify(42, token)).isTrue();
        assertThat(links.verify(43, token)).isFalse();
        clock.now = clock.now.plus(Duration.ofDays(30)).minusSeconds(1);
        assertThat(links.verify(42, token)).isTrue();
        clock.now = clock.now.plusSeconds(1);
        assertThat(links.verify(42, token)).isFalse();
    }

    @Test
    void a_tampered_link_is_refused() {
        var token = links.token(42).orElseThrow();
        var dot = token.indexOf('.');
        var laterExpiry = (Long.parseLong(token.substring(0, dot)) + 86_400) + token.substring(dot);
        assertThat(links.verify(42, laterExpiry)).isFalse();
        var flipped =
                token.substring(0, dot + 1) + (token.charAt(dot + 1) == 'A' ? 'B' : 'A') + token.substring(dot + 2);
        assertThat(links.verify(42, flipped)).isFalse();
        // The last character carries unused bits: another spelling of the same MAC is still not the link.
        var respelled = token.substring(0, token.length() - 1) + (token.endsWith("A") ? "B" : "A");
        assertThat(links.verify(42, respelled)).isFalse();
        assertThat(links.verify(42, "not-a-token")).isFalse();
        assertThat(links.verify(42, "123.!!!")).isFalse();
        assertThat(links.verify(42, "")).isFalse();
    }

    @Test
    void the_first_key_signs_and_every_key_verifies_during_a_rotation() {
        var signedWithOld = new ShareLinks(List.of(OLD_KEY), Duration.ofDays(30), clock)
                .token(7)
                .orElseThrow();
        var rotated = new ShareLinks(List.of(KEY, OLD_KEY), Duration.ofDays(30), clock);
        assertThat(rotated.verify(7, signedWithOld)).isTrue();
        assertThat(links.verify(7, rotated.token(7).orElseThrow())).isTrue();
        assertThat(links.verify(7, signedWithOld))
                .as("the old key, once dropped")
                .isFalse();
    }

    @Test
    void without_keys_no_link_is_made_and_none_verifies() {
        var disabled = new ShareLinks(List.of(), Duration.ofDays(30), clock);
        assertThat(disabled.enabled()).isFalse();
        assertThat(disabled.token(1)).isEmpty();
        assertThat(disabled.verify(1, links.token(1).orElseThrow())).isFalse();
    }

    @Test
    void a_short_key_is_refused_at_start_without_showing_it() {
        assertThatThrownBy(() -> new ShareLinks(List.of("short-secret"), Duration.ofDays(1), clock))
                .hasMessageContaining("at least 32")
                .hasMessageNotContaining("short-secret");
    }
}
