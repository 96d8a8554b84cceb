package io.bisectbot.web;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * Access to the HTTP API, with the defaults in one place.
 *
 * @param adminToken         {@code ADMIN_TOKEN}, comma-separated for rotation
 * @param operatorToken      {@code OPERATOR_TOKEN}: read everything, cancel and retry
 * @param viewerToken        {@code VIEWER_TOKEN}: read only
 * @param publicStats        {@code PUBLIC_STATS}: {@code /stats} and {@code /metrics} without a token
 * @param shareLinkKeys      {@code SHARE_LINK_KEYS}, comma-separated: the first signs report share links, all verify;
 *                           empty makes no share links
 * @param shareLinkTtl       {@code SHARE_LINK_TTL}: how long a share link is valid (default 30 days)
 * @param rateLimitPerMinute {@code RATE_LIMIT_PER_MINUTE}: requests without a valid token per source address and
 *                           minute (default 120); 0 turns the limit off
 * @param trustedProxies     {@code TRUSTED_PROXIES}: CIDR ranges whose {@code X-Forwarded-For} is believed
 */
@ConfigurationProperties("bisectbot.web")
record WebProperties(String adminToken, String operatorToken, String viewerToken, Boolean publicStats,
                     String shareLinkKeys, Duration shareLinkTtl, Integer rateLimitPerMinute, String trustedProxies) {

    /** Most source addresses the rate limiter remembers at once. */
    static final int RATE_LIMIT_ADDRESSES = 10_000;

    WebProperties {
        // An unset variable arrives as an empty value, so the defaults are applied here rather than by the binder.
        publicStats = publicStats != null && publicStats;
        shareLinkTtl = shareLinkTtl != null ? shareLinkTtl : Duration.ofDays(30);
        rateLimitPerMinute = rateLimitPerMinute != null ? rateLimitPerMinute : 120;
        if (rateLimitPerMinute < 0) {
            throw new IllegalArgumentException("RATE_LIMIT_PER_MINUTE must be 0 (off) or more, got " + rateLimitPerMinute);
        }
    }

    /** Without the tokens and keys, should the record ever be logged. */
    @Override
    public String toString() {
        return "WebProperties[tokens and keys hidden, publicStats=" + publicStats + ", shareLinkTtl=" + shareLinkTtl
                + ", rateLimitPerMinute=" + rateLimitPerMinute + ", trustedProxies=" + trustedProxies + "]";
    }

    List<String> shareLinkKeyList() {
        return shareLinkKeys == null ? List.of()
                : Arrays.stream(shareLinkKeys.split(",")).map(String::trim).filter(k -> !k.isEmpty()).toList();
    }
}
