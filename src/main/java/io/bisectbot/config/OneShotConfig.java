package io.bisectbot.config;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** The one-shot bisect mode loads no metrics auto-configuration (see {@link OneShotAutoConfigurations}). */
@Configuration(proxyBeanMethods = false)
@ConditionalOnProperty(name = "bisectbot.mode", havingValue = "bisect")
public class OneShotConfig {

    /** The queue and executor count into it as usual; nothing scrapes it. */
    @Bean
    MeterRegistry meterRegistry() {
        return new SimpleMeterRegistry();
    }
}
