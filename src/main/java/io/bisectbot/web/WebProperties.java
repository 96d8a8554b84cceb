package io.bisectbot.web;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * Access to the HTTP API.
 *
 * @param adminToken         bearer tokens of the admin role (empty: admin endpoints disabled); several,
 *                           comma-separated, while rotating
 * @param operatorToken      bearer tokens of the operator role (read everything, cancel and retry)
 * @param viewerToken        bearer tokens of the viewer role (read only)
 * @param publicStats        {@code true} serves {@code /stats} and {@code /metrics} without a token
 * @param shareLinkKeys      HMAC keys (32 characters or more, comma-separated) of report share links; the first signs,
 *                           all verify; empty: no share links
 * @param shareLinkTtl       how long a share link is valid
 * @param rateLimitPerMinute requests without a valid token per source address and minute; {@code 0} turns the limit
 *                           off
 * @param trustedProxies     CIDR ranges (or addresses) of reverse proxies whose {@code X-Forwarded-For} is believed
 */
@ConfigurationProperties("bisectbot.web")
record WebProperties(
        String adminToken,
        String operatorToken,
        String viewerToken,
        @DefaultValue("false") Boolean publicStats,
        String shareLinkKeys,
        @DefaultValue("30d") Duration shareLinkTtl,
        @DefaultValue("120") Integer rateLimitPerMinute,
        String trustedProxies) {

    /** Most source addresses the rate limiter remembers at once. */
    static final int RATE_LIMIT_ADDRESSES = 10_000;

    // Boxed: a variable set to an empty value binds null, and then the default.
    WebProperties {
        if (rateLimitPerMinute < 0) {
            throw new IllegalArgumentException(
                    "RATE_LIMIT_PER_MINUTE must be 0 (off) or more, got " + rateLimitPerMinute);
        }
    }

    /** Without the tokens and keys, should the record ever be logged. */
    @Override
    public String toString() {
        return "WebProperties[tokens and keys hidden, publicStats=" + publicStats + ", shareLinkTtl=" + shareLinkTtl
                + ", rateLimitPerMinute=" + rateLimitPerMinute + ", trustedProxies=" + trustedProxies + "]";
    }

    List<String> shareLinkKeyList() {
        return shareLinkKeys == null
                ? List.of()
                : Arrays.stream(shareLinkKeys.split(","))
                        .map(String::trim)
                        .filter(k -> !k.isEmpty())
                        .toList();
    }
}
