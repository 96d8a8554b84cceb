package io.bisectbot.git;

import io.bisectbot.loop.Loop;
import java.time.Clock;
import java.time.Duration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnExpression;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

@Configuration(proxyBeanMethods = false)
// Serving and the one-shot bisect command; never the migrate, keys or callbacks commands (no job fetches there).
@ConditionalOnExpression("'${bisectbot.mode:serve}' matches 'serve|bisect'")
public class GitConfig {

    /** Keeps the mirror cache within GIT_CACHE_MAX_AGE and GIT_CACHE_MAX_SIZE, checked hourly and at start. */
    @Bean
    Loop mirrorCacheCleaning(GitProperties properties, Clock clock) {
        var cleaner = new MirrorCacheCleaner(
                properties.cacheDir(),
                properties.cacheMaxAge(),
                properties.cacheMaxSize().toBytes(),
                clock);
        return Loop.every("mirror-cache-cleaner", Duration.ofHours(1), cleaner::clean)
                .withInitialDelay(Duration.ofMinutes(1));
    }
}
