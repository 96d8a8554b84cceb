package io.bisectbot;

import io.bisectbot.bisect.BisectConfig;
import io.bisectbot.cache.CacheConfig;
import io.bisectbot.config.DatabaseConfig;
import io.bisectbot.config.OneShotConfig;
import io.bisectbot.crypto.EncryptionConfig;
import io.bisectbot.executor.ExecutorConfiguration;
import io.bisectbot.git.GitConfig;
import io.bisectbot.queue.ClockConfig;
import io.bisectbot.queue.QueueConfig;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;

/**
 * The application of the one-shot {@code bisect} command: the configurations a local bisection uses, named here
 * instead of found by scanning the packages, so neither the scan nor the web, GitHub, bot, callback and dashboard
 * configurations (and the classes their conditions load) cost time before the first step. The configurations are
 * public for this list only; their beans stay package-private in their features.
 */
@Configuration(proxyBeanMethods = false)
@EnableAutoConfiguration
@ConfigurationPropertiesScan
@Import({
    DatabaseConfig.class,
    ClockConfig.class,
    OneShotConfig.class,
    EncryptionConfig.class,
    QueueConfig.class,
    ExecutorConfiguration.class,
    CacheConfig.class,
    GitConfig.class,
    BisectConfig.class,
})
public class OneShotApplication {}
