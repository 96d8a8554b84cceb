package io.bisectbot.bots;

import io.bisectbot.executor.DockerExecutor;
import io.bisectbot.executor.DockerHealth;
import io.bisectbot.executor.ExecutorProperties;
import io.bisectbot.executor.ImagePolicy;
import io.bisectbot.executor.StepLogRepository;
import io.bisectbot.git.GitProperties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

@Configuration(proxyBeanMethods = false)
@ConditionalOnProperty(name = "bisectbot.mode", havingValue = "serve", matchIfMissing = true)
class BotsConfig {

    private static final Logger log = LoggerFactory.getLogger(BotsConfig.class);

    @Bean
    BotSecrets botSecrets(BotProperties properties) {
        var environment = System.getenv();
        var secrets = BotSecrets.load(properties.secretsFile(), environment);
        var unused = secrets.unusedEnvironment(environment);
        if (!unused.isEmpty()) {
            log.warn(
                    "{} set but granted to no repository, so no task receives it: grant it with a scope in BOT_SECRETS_FILE",
                    String.join(", ", unused));
        }
        return secrets;
    }

    @Bean
    BotJobHandler botJobHandler(
            BotProperties properties,
            BotSecrets secrets,
            ObjectProvider<ImagePolicy> images,
            ExecutorProperties executorProperties,
            GitProperties git,
            DockerExecutor executor,
            DockerHealth docker,
            StepLogRepository logs,
            ObjectProvider<BotGithub> github,
            ObjectProvider<io.bisectbot.cache.CacheRegistry> caches) {
        var fallback = ImagePolicy.of(executorProperties.allowedImages(), executorProperties.defaultImage());
        return new BotJobHandler(
                properties,
                secrets,
                images.getIfAvailable(() -> fallback),
                git,
                executor,
                docker,
                logs,
                github.getIfAvailable(NoGithub::new),
                caches.getIfAvailable());
    }
}
