package io.bisectbot.cache;

import io.bisectbot.executor.DockerExecutor;
import io.bisectbot.web.StatsContributor;
import java.time.Clock;
import org.springframework.boot.autoconfigure.condition.ConditionalOnExpression;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.jdbc.core.simple.JdbcClient;

@Configuration(proxyBeanMethods = false)
@ConditionalOnExpression("'${bisectbot.mode:serve}' matches 'serve|bisect'")
public class CacheConfig {

    @Bean
    CacheRegistry cacheRegistry(JdbcClient jdbc, DockerExecutor executor, CacheProperties properties, Clock clock) {
        return new CacheRegistry(jdbc, executor, properties, clock);
    }

    /** {@code caches} in {@code /stats}: volumes, repositories and bytes held. */
    @Bean
    StatsContributor cacheStats(CacheRegistry registry) {
        return new StatsContributor() {
            @Override
            public String name() {
                return "caches";
            }

            @Override
            public Object stats() {
                return registry.stats();
            }
        };
    }
}
