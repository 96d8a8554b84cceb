package io.bisectbot.github;

import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;

/**
 * How much memory and time webhook bodies may take (the body limit itself is {@link GithubProperties#maxPayloadBytes},
 * WEBHOOK_MAX_BODY, shared with Caddy's {@code request_body max_size}).
 *
 * @param inflightBudget webhook body bytes one instance holds in memory at once, over all requests; when used up, new
 *                       deliveries get 503 with {@code Retry-After} at once
 * @param bodyTimeout    longest time to receive one webhook body; a slower sender gets 408 and its memory is released
 */
@ConfigurationProperties("bisectbot.webhook")
public record WebhookProperties(
        @DefaultValue("64MB") DataSize inflightBudget,
        @DefaultValue("10s") Duration bodyTimeout) {

    public WebhookProperties {
        if (inflightBudget.toBytes() < 1) {
            throw new IllegalArgumentException("WEBHOOK_INFLIGHT_BUDGET must be positive, got " + inflightBudget);
        }
        if (bodyTimeout.isNegative() || bodyTimeout.isZero()) {
            throw new IllegalArgumentException("WEBHOOK_BODY_TIMEOUT must be positive, got " + bodyTimeout);
        }
    }
}
