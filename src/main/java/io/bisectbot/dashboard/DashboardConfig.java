package io.bisectbot.dashboard;

import io.bisectbot.loop.Loop;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.Ordered;
import org.springframework.web.filter.OncePerRequestFilter;

@Configuration(proxyBeanMethods = false)
@ConditionalOnWebApplication // not in migrate mode
class DashboardConfig {

    private static final Logger log = LoggerFactory.getLogger(DashboardConfig.class);

    /**
     * Everything the pages load comes from this instance; no inline script or style, no frames, no plugins. Applied to
     * every response: JSON answers lose nothing by it.
     */
    static final String CONTENT_SECURITY_POLICY =
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                    + "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

    @Bean
    SessionCookies sessionCookies(DashboardProperties properties, Clock clock) {
        var keys = properties.sessionKeyList();
        if (keys.isEmpty()) {
            log.warn(
                    "SESSION_KEYS is not set: dashboard sessions are signed with a random key of this instance, so other "
                            + "instances refuse them and a restart logs everyone out; set the same SESSION_KEYS on every instance");
            keys = List.of(SessionCookies.randomKey());
        }
        return new SessionCookies(keys, properties.sessionTtl(), clock);
    }

    @Bean
    JobMinutes jobMinutes(javax.sql.DataSource dataSource, io.bisectbot.queue.JobReads jobs) {
        return new JobMinutes(dataSource, jobs);
    }

    /**
     * Every instance offers to roll the per-minute counts every 30 s (from a random start, so instances spread out);
     * the one that gets the lock does it, the others find it done.
     */
    @Bean
    Loop jobMinutesRollup(JobMinutes minutes) {
        var every = Duration.ofSeconds(30);
        return Loop.every("job-minutes", every, () -> minutes.roll(Duration.ofSeconds(25)))
                .withInitialDelay(Duration.ofMillis(ThreadLocalRandom.current().nextLong(1_000, every.toMillis())));
    }

    @Bean
    FilterRegistrationBean<OncePerRequestFilter> securityHeaders() {
        var registration = new FilterRegistrationBean<OncePerRequestFilter>(new OncePerRequestFilter() {
            @Override
            protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
                    throws ServletException, IOException {
                response.setHeader("Content-Security-Policy", CONTENT_SECURITY_POLICY);
                response.setHeader("X-Content-Type-Options", "nosniff");
                response.setHeader("Referrer-Policy", "no-referrer");
                response.setHeader("X-Frame-Options", "DENY");
                chain.doFilter(request, response);
            }
        });
        // Before the access filter, so its refusals carry the headers too.
        registration.setOrder(Ordered.HIGHEST_PRECEDENCE);
        return registration;
    }
}
