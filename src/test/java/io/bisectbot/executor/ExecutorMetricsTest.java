package io.bisectbot.executor;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ExecutorMetricsTest {

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);

    @AfterEach
    void noContainerLeft() {
        DockerTestSupport.assertNoManagedContainersLeft();
    }

    @Test
    void steps_containers_orphans_and_engine_health_are_exported_under_their_prometheus_names() {
        try (var executor = new DockerExecutor(
                DockerTestSupport.DOCKER, ExecutorProperties.defaultProperties(), registry, Clock.systemUTC())) {
            executor.run(
                    StepSpec.builder(1, "w", 1, "ok", DockerTestSupport.RUNNER_IMAGE)
                            .shell("exit 3")
                            .build(),
                    new DockerTestSupport.RecordingSink(),
                    CancellationSignal.create());
            executor.run(
                    StepSpec.builder(1, "w", 1, "slow", DockerTestSupport.RUNNER_IMAGE)
                            .shell("sleep 30")
                            .timeout(Duration.ofMillis(500))
                            .build(),
                    new DockerTestSupport.RecordingSink(),
                    CancellationSignal.create());
        }
        new OrphanReaper(DockerTestSupport.DOCKER, (j, w, a) -> true, Duration.ofMinutes(1), registry);
        new DockerHealth(() -> {}, Clock.systemUTC(), Duration.ofSeconds(5), registry);

        String scrape = registry.scrape();

        assertThat(scrape)
                .contains("bisectbot_steps_started_total 2.0")
                .contains("bisectbot_steps_finished_total{outcome=\"exited\"} 1.0")
                .contains("bisectbot_steps_finished_total{outcome=\"timed_out\"} 1.0")
                .contains("bisectbot_step_duration_seconds_bucket{outcome=\"exited\"")
                .contains("bisectbot_containers_running 0.0")
                .contains("bisectbot_orphans_reaped_total 0.0")
                .contains("bisectbot_docker_available 1.0");
    }
}
