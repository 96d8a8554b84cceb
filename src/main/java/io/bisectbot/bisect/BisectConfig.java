package io.bisectbot.bisect;

import io.bisectbot.executor.DockerExecutor;
import io.bisectbot.executor.DockerHealth;
import io.bisectbot.executor.StepLogRepository;
import java.time.Clock;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.jdbc.core.simple.JdbcClient;

@Configuration(proxyBeanMethods = false)
@ConditionalOnProperty(name = "bisectbot.mode", havingValue = "serve", matchIfMissing = true)
class BisectConfig {

    /** Unless BISECT_ENABLED=false: an instance that only runs bots, or a test with its own bisect stand-in. */
    @Bean
    @ConditionalOnProperty(name = "bisectbot.bisect.enabled", havingValue = "true", matchIfMissing = true)
    BisectJobHandler bisectJobHandler(BisectProperties properties, DockerExecutor executor, DockerHealth docker,
                                      StepLogRepository logs, JdbcClient jdbc, Clock clock,
                                      ObjectProvider<GitCredentials> credentials, ObjectProvider<BisectListener> listeners) {
        return new BisectJobHandler(properties, executor, docker, logs, jdbc, clock, credentials, listeners);
    }
}
