package io.bisectbot.executor;

import com.github.dockerjava.api.DockerClient;
import io.bisectbot.crypto.Encryption;
import io.bisectbot.loop.Loop;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Duration;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.condition.ConditionalOnExpression;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.jdbc.core.simple.JdbcClient;

/** Wires the executor: one Docker client for steps, a second with a short timeout for health pings. */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties(ExecutorProperties.class)
// Serving and the one-shot bisect command; never the migrate, keys or callbacks commands (no worker may start there).
@ConditionalOnExpression("'${bisectbot.mode:serve}' matches 'serve|bisect'")
public class ExecutorConfiguration {

    static final Duration ONE_SHOT_FIRST_REAP = Duration.ofSeconds(10);

    @Bean(destroyMethod = "close")
    DockerClient bisectbotDockerClient(ExecutorProperties properties) {
        return DockerClients.create(properties.dockerHost(), null);
    }

    @Bean(destroyMethod = "close")
    DockerExecutor dockerExecutor(
            DockerClient bisectbotDockerClient,
            ExecutorProperties properties,
            MeterRegistry registry,
            ObjectProvider<Clock> clock) {
        return new DockerExecutor(bisectbotDockerClient, properties, registry, clock.getIfAvailable(Clock::systemUTC));
    }

    @Bean(destroyMethod = "close")
    DockerHealth dockerHealth(ExecutorProperties properties, MeterRegistry registry, ObjectProvider<Clock> clock) {
        // Its own client: a ping must fail fast even while step calls hold connections open.
        DockerClient pingClient = DockerClients.create(properties.dockerHost(), Duration.ofSeconds(3));
        return new DockerHealth(
                pingClient, clock.getIfAvailable(Clock::systemUTC), properties.healthCacheTtl(), registry);
    }

    @Bean(destroyMethod = "close")
    StepLogRepository stepLogRepository(JdbcClient jdbc, ObjectProvider<Clock> clock, Encryption encryption) {
        return new StepLogRepository(jdbc, clock.getIfAvailable(Clock::systemUTC), encryption);
    }

    @Bean
    OrphanReaper orphanReaper(
            DockerClient bisectbotDockerClient,
            LiveJobs liveJobs,
            ExecutorProperties properties,
            MeterRegistry registry,
            DockerExecutor executor,
            ObjectProvider<Clock> clock,
            @org.springframework.beans.factory.annotation.Value("${bisectbot.mode:serve}") String mode) {
        // The one-shot bisect command reaps after its first step has started rather than competing with its start
        // (listing and reading the containers costs a few hundred milliseconds of CPU).
        var firstPass = "bisect".equals(mode) ? ONE_SHOT_FIRST_REAP : Duration.ZERO;
        return new OrphanReaper(
                bisectbotDockerClient,
                liveJobs,
                properties.reaperInterval(),
                firstPass,
                registry,
                executor,
                clock.getIfAvailable(Clock::systemUTC));
    }

    @Bean
    Loop orphanReaping(OrphanReaper reaper) {
        return reaper.loop();
    }
}
