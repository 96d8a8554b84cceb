package io.bisectbot.bots;

import io.bisectbot.bisect.BisectProperties;
import io.bisectbot.executor.DockerExecutor;
import io.bisectbot.executor.DockerHealth;
import io.bisectbot.executor.StepLogRepository;
import io.bisectbot.queue.JobQueue;
import java.util.HashMap;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

@Configuration(proxyBeanMethods = false)
@ConditionalOnProperty(name = "bisectbot.mode", havingValue = "serve", matchIfMissing = true)
class BotsConfig {

    @Bean
    BotJobHandler botJobHandler(BotProperties properties, BisectProperties git, DockerExecutor executor, DockerHealth docker,
                                StepLogRepository logs, ObjectProvider<BotGithub> github) {
        var secrets = new HashMap<>(properties.secrets());
        secrets.putAll(BotProperties.secretsFrom(System.getenv()));
        return new BotJobHandler(new BotProperties(properties.defaultTimeout(), secrets), git, executor, docker, logs,
                github.getIfAvailable(NoGithub::new));
    }

    @Bean
    BotTriggers botTriggers(JobQueue queue) {
        return new BotTriggers(queue);
    }
}
