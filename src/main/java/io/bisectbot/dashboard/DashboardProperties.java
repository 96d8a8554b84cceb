package io.bisectbot.dashboard;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * The dashboard's browser sessions.
 *
 * @param sessionKeys comma-separated HMAC keys (32 characters or more): the first signs session cookies, all verify; empty makes a
 *                    random key at start, which other instances do not know (set the same keys on every instance)
 * @param sessionTtl  how long a dashboard login lasts
 */
@ConfigurationProperties("bisectbot.dashboard")
record DashboardProperties(
        String sessionKeys, @DefaultValue("12h") Duration sessionTtl) {

    DashboardProperties {
        if (sessionTtl.isNegative() || sessionTtl.isZero()) {
            throw new IllegalArgumentException("SESSION_TTL must be positive, got " + sessionTtl);
        }
    }

    List<String> sessionKeyList() {
        return sessionKeys == null
                ? List.of()
                : Arrays.stream(sessionKeys.split(","))
                        .map(String::trim)
                        .filter(k -> !k.isEmpty())
                        .toList();
    }

    @Override
    public String toString() {
        return "DashboardProperties[keys hidden, sessionTtl=" + sessionTtl + "]";
    }
}
