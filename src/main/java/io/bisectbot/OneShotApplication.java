package io.bisectbot;

import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;
import org.springframework.context.annotation.ImportSelector;
import org.springframework.core.type.AnnotationMetadata;

/**
 * The application of the one-shot {@code bisect} command: the configurations a local bisection uses, named here
 * instead of found by scanning the packages, so neither the scan nor the web, GitHub, bot, callback and dashboard
 * configurations (and the classes their conditions load) cost time before the first step.
 */
@Configuration(proxyBeanMethods = false)
@EnableAutoConfiguration
@ConfigurationPropertiesScan
@Import(OneShotApplication.Parts.class)
public class OneShotApplication {

    /** By name, since the configurations are package-private in their features. */
    static final class Parts implements ImportSelector {
        static final String[] CONFIGURATIONS = {
                "io.bisectbot.config.DatabaseConfig",
                "io.bisectbot.queue.ClockConfig",
                "io.bisectbot.config.OneShotConfig",
                "io.bisectbot.crypto.EncryptionConfig",
                "io.bisectbot.queue.QueueConfig",
                "io.bisectbot.executor.ExecutorConfiguration",
                "io.bisectbot.cache.CacheConfig",
                "io.bisectbot.bisect.BisectConfig",
        };

        @Override
        public String[] selectImports(AnnotationMetadata importingClassMetadata) {
            return CONFIGURATIONS;
        }
    }
}
