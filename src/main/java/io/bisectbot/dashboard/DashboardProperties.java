package io.bisectbot.dashboard;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * The dashboard's browser sessions, with the defaults in one place.
 *
 * @param sessionKeys {@code SESSION_KEYS}, comma-separated: the first signs session cookies, all verify; empty makes a
 *                    random key at start, which other instances do not know
 * @param sessionTtl  {@code SESSION_TTL}: how long a login lasts (default 12 hours)
 */
@ConfigurationProperties("bisectbot.dashboard")
record DashboardProperties(String sessionKeys, Duration sessionTtl) {

    DashboardProperties {
        sessionTtl = sessionTtl != null ? sessionTtl : Duration.ofHours(12);
        if (sessionTtl.isNegative() || sessionTtl.isZero()) {
            throw new IllegalArgumentException("SESSION_TTL must be positive, got " + sessionTtl);
        }
    }

    List<String> sessionKeyList() {
        return sessionKeys == null ? List.of()
                : Arrays.stream(sessionKeys.split(",")).map(String::trim).filter(k -> !k.isEmpty()).toList();
    }

    @Override
    public String toString() {
        return "DashboardProperties[keys hidden, sessionTtl=" + sessionTtl + "]";
    }
}
