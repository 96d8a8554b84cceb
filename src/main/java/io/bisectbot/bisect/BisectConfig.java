package io.bisectbot.bisect;

import io.bisectbot.executor.DockerExecutor;
import io.bisectbot.executor.DockerHealth;
import io.bisectbot.executor.StepLogRepository;
import io.bisectbot.git.GitCredentials;
import io.bisectbot.git.GitProperties;
import java.time.Clock;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.condition.ConditionalOnExpression;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Condition;
import org.springframework.context.annotation.ConditionContext;
import org.springframework.context.annotation.Conditional;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.type.AnnotatedTypeMetadata;
import org.springframework.jdbc.core.simple.JdbcClient;

@Configuration(proxyBeanMethods = false)
// Serving and the one-shot bisect command; never the migrate, keys or callbacks commands (no worker may start there).
@ConditionalOnExpression("'${bisectbot.mode:serve}' matches 'serve|bisect'")
public class BisectConfig {

    /** Unless BISECT_ENABLED=false: an instance that only runs bots, or a test with its own bisect stand-in. */
    @Bean
    @Conditional(Enabled.class)
    BisectJobHandler bisectJobHandler(
            BisectProperties properties,
            GitProperties git,
            DockerExecutor executor,
            DockerHealth docker,
            StepLogRepository logs,
            JdbcClient jdbc,
            Clock clock,
            ObjectProvider<GitCredentials> credentials,
            ObjectProvider<BisectListener> listeners,
            io.bisectbot.cache.CacheRegistry caches) {
        return new BisectJobHandler(
                properties, git, executor, docker, logs, jdbc, clock, credentials, listeners, caches);
    }

    /** Reads {@link BisectProperties#enabled()} as bound, so its default stays in the record. */
    static final class Enabled implements Condition {
        @Override
        public boolean matches(ConditionContext context, AnnotatedTypeMetadata metadata) {
            return Binder.get(context.getEnvironment())
                    .bindOrCreate("bisectbot.bisect", BisectProperties.class)
                    .enabled();
        }
    }
}
