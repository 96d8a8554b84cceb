package io.bisectbot.dashboard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.bisectbot.SettableClock;
import io.bisectbot.web.Role;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class SessionCookiesTest {

    static final String KEY = "session-key-of-the-tests-0123456789abcdef";
    static final String OLD_KEY = "an-older-session-key-0123456789abcdefghij";

    private final SettableClock clock = new SettableClock(Instant.parse("2025-01-01T00:00:00Z"));

    @Test
    void a_session_made_by_one_instance_is_accepted_by_another_with_the_same_keys() {
        var cookie = new SessionCookies(List.of(KEY), Duration.ofHours(1), clock).issue(Role.OPERATOR);
        var session = new SessionCookies(List.of(KEY), Duration.ofHours(1), clock)
                .verify(cookie)
                .orElseThrow();
        assertThat(session.role()).isEqualTo(Role.OPERATOR);
        assertThat(session.expiresAt()).isEqualTo(Instant.parse("2025-01-01T01:00:00Z"));
    }

    @Test
    void an_expired_session_is_refused() {
        var sessions = new SessionCookies(List.of(KEY), Duration.ofHours(1), clock);
        var cookie = sessions.issue(Role.VIEWER);
        clock.tick(Duration.ofMinutes(59));
        assertThat(sessions.verify(cookie)).isPresent();
        clock.tick(Duration.ofMinutes(1));
        assertThat(sessions.verify(cookie)).isEmpty();
    }

    @Test
    void a_session_whose_role_or_expiry_was_changed_is_refused() {
        var sessions = new SessionCookies(List.of(KEY), Duration.ofHours(1), clock);
        var cookie = sessions.issue(Role.VIEWER);
        assertThat(sessions.verify(cookie.replaceFirst("^viewer", "admin"))).isEmpty();
        var parts = cookie.split("\\.");
        assertThat(sessions.verify(
                        parts[0] + "." + (Long.parseLong(parts[1]) + 86_400) + "." + parts[2] + "." + parts[3]))
                .isEmpty();
        assertThat(sessions.verify("garbage")).isEmpty();
        assertThat(sessions.verify(new SessionCookies(List.of(OLD_KEY), Duration.ofHours(1), clock).issue(Role.ADMIN)))
                .isEmpty();
    }

    @Test
    void after_a_key_rotation_sessions_of_the_old_key_still_work_until_the_key_is_dropped() {
        var old = new SessionCookies(List.of(OLD_KEY), Duration.ofHours(1), clock);
        var cookie = old.issue(Role.ADMIN);
        var rotated = new SessionCookies(List.of(KEY, OLD_KEY), Duration.ofHours(1), clock);
        var session = rotated.verify(cookie).orElseThrow();
        assertThat(rotated.csrfValid(session, old.csrfToken(session))).isTrue();
        assertThat(new SessionCookies(List.of(KEY), Duration.ofHours(1), clock).verify(cookie))
                .isEmpty();
    }

    @Test
    void the_csrf_token_belongs_to_its_session_only() {
        var sessions = new SessionCookies(List.of(KEY), Duration.ofHours(1), clock);
        var one = sessions.verify(sessions.issue(Role.OPERATOR)).orElseThrow();
        var other = sessions.verify(sessions.issue(Role.OPERATOR)).orElseThrow();
        assertThat(sessions.csrfValid(one, sessions.csrfToken(one))).isTrue();
        assertThat(sessions.csrfValid(one, sessions.csrfToken(other))).isFalse();
        assertThat(sessions.csrfValid(one, null)).isFalse();
    }

    @Test
    void a_short_key_is_refused_at_start() {
        assertThatThrownBy(() -> new SessionCookies(List.of("short"), Duration.ofHours(1), clock))
                .hasMessageContaining("SESSION_KEYS")
                .hasMessageContaining("at least 32");
    }

    @Test
    void after_login_only_dashboard_paths_are_followed() {
        assertThat(DashboardController.safeNext("/dashboard/jobs?status=FAILED"))
                .isEqualTo("/dashboard/jobs?status=FAILED");
        assertThat(DashboardController.safeNext("https://evil.example/")).isEqualTo("/dashboard");
        assertThat(DashboardController.safeNext("/dashboard//evil.example")).isEqualTo("/dashboard");
        assertThat(DashboardController.safeNext(null)).isEqualTo("/dashboard");
    }
}
