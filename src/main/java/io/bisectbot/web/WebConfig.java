package io.bisectbot.web;

import java.time.Clock;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.Ordered;
import org.springframework.web.servlet.config.annotation.InterceptorRegistry;
import org.springframework.web.servlet.config.annotation.WebMvcConfigurer;
import tools.jackson.databind.json.JsonMapper;

@Configuration(proxyBeanMethods = false)
class WebConfig implements WebMvcConfigurer {

    private static final Logger log = LoggerFactory.getLogger(WebConfig.class);

    private final WebProperties properties;
    private final AccessTokens tokens;
    private final Clock clock;
    private final ShareLinks shareLinks;

    WebConfig(WebProperties properties, Clock clock) {
        this.properties = properties;
        this.clock = clock;
        this.tokens = new AccessTokens(properties.adminToken(), properties.operatorToken(), properties.viewerToken());
        this.shareLinks = new ShareLinks(properties.shareLinkKeyList(), properties.shareLinkTtl(), clock);
        if (!shareLinks.enabled()) {
            log.info(
                    "SHARE_LINK_KEYS is not set: report links on GitHub carry no share token, so reading a report needs a token");
        }
    }

    @Bean
    ShareLinks shareLinks() {
        return shareLinks;
    }

    @Bean
    TokenCheck tokenCheck() {
        return token -> {
            var caller = tokens.caller(token == null ? null : "Bearer " + token);
            return caller.authenticated() ? Optional.of(caller.role()) : Optional.empty();
        };
    }

    @Bean
    FilterRegistrationBean<AccessFilter> accessFilter(JsonMapper json, ObjectProvider<BrowserSessions> sessions) {
        var filter = new AccessFilter(
                tokens,
                new RateLimiter(properties.rateLimitPerMinute(), WebProperties.RATE_LIMIT_ADDRESSES, clock),
                new TrustedProxies(properties.trustedProxies()),
                properties.publicStats(),
                json,
                sessions);
        var registration = new FilterRegistrationBean<>(filter);
        registration.setOrder(Ordered.HIGHEST_PRECEDENCE + 10);
        return registration;
    }

    @Override
    public void addInterceptors(InterceptorRegistry registry) {
        registry.addInterceptor(new AccessInterceptor(tokens, shareLinks, properties.publicStats()));
    }
}
