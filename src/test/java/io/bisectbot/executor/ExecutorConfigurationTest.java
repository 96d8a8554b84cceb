package io.bisectbot.executor;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.jdbc.datasource.SimpleDriverDataSource;
import org.springframework.util.unit.DataSize;

class ExecutorConfigurationTest {

    private final ApplicationContextRunner context = new ApplicationContextRunner()
            .withUserConfiguration(ExecutorConfiguration.class)
            .withBean(MeterRegistry.class, SimpleMeterRegistry::new)
            .withBean(
                    JdbcClient.class,
                    () -> JdbcClient.create(new SimpleDriverDataSource(
                            new org.postgresql.Driver(), "jdbc:postgresql://127.0.0.1:1/none")))
            .withBean(LiveJobs.class, () -> (job, worker, attempt) -> true)
            .withBean(io.bisectbot.crypto.Encryption.class, io.bisectbot.crypto.Encryption::none);

    @Test
    void an_empty_configuration_gets_safe_defaults_and_all_beans() {
        context.run(ctx -> {
            assertThat(ctx)
                    .hasNotFailed()
                    .hasSingleBean(DockerExecutor.class)
                    .hasSingleBean(DockerHealth.class)
                    .hasSingleBean(OrphanReaper.class)
                    .hasSingleBean(StepLogRepository.class);
            var props = ctx.getBean(ExecutorProperties.class);
            assertThat(props.logCap()).isEqualTo(DataSize.ofMegabytes(1));
            assertThat(props.defaultUser()).isEqualTo("65534:65534");
            assertThat(props.defaults().pids()).isEqualTo(512);
            assertThat(props.max().memory()).isEqualTo(DataSize.ofGigabytes(8));
            assertThat(ctx.getBean(DockerHealth.class).isAvailable()).isTrue();
        });
    }

    @Test
    void properties_bind_from_the_bisectbot_executor_prefix() {
        context.withPropertyValues(
                        "bisectbot.executor.log-cap=2KB",
                        "bisectbot.executor.secrets[0]=tok3n",
                        "bisectbot.executor.max.memory=512MB",
                        "bisectbot.executor.max.cpus=0.5",
                        "bisectbot.executor.defaults.timeout=10s",
                        "bisectbot.executor.registries[0].registry=ghcr.io",
                        "bisectbot.executor.registries[0].username=bot",
                        "bisectbot.executor.registries[0].password=pw",
                        "bisectbot.executor.reaper-interval=30s")
                .run(ctx -> {
                    var props = ctx.getBean(ExecutorProperties.class);
                    assertThat(props.logCap()).isEqualTo(DataSize.ofKilobytes(2));
                    assertThat(props.secrets()).containsExactly("tok3n");
                    assertThat(props.max().memory()).isEqualTo(DataSize.ofMegabytes(512));
                    assertThat(props.max().cpus()).isEqualTo(0.5);
                    assertThat(props.max().pids())
                            .as("unset maximums keep their own default")
                            .isEqualTo(4096);
                    assertThat(props.defaults().pids()).isEqualTo(512);
                    assertThat(props.defaults().timeout()).isEqualTo(Duration.ofSeconds(10));
                    assertThat(props.registries())
                            .containsExactly(new ExecutorProperties.RegistryCredential("ghcr.io", "bot", "pw"));
                    assertThat(props.registries().toString())
                            .doesNotContain("pw,")
                            .contains("password=***");
                    assertThat(props.reaperInterval()).isEqualTo(Duration.ofSeconds(30));
                    assertThat(List.of(props.cancelGrace())).containsExactly(Duration.ofSeconds(1));
                });
    }
}
