package io.bisectbot;

import io.bisectbot.executor.DockerClients;
import io.bisectbot.executor.DockerExecutor;
import io.bisectbot.executor.DockerHealth;
import io.bisectbot.executor.ExecutorProperties;
import io.bisectbot.executor.StepLogRepository;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Duration;
import javax.sql.DataSource;
import org.springframework.jdbc.core.simple.JdbcClient;

/** The executor's parts on the local Docker engine and a test database, for tests that build handlers by hand. */
public record TestExecutor(DockerExecutor executor, DockerHealth health, StepLogRepository logs, AutoCloseable client)
        implements AutoCloseable {

    public static final String RUNNER_IMAGE = System.getenv().getOrDefault("LOCALCI_RUNNER_IMAGE", "debian:bookworm");

    public static TestExecutor start(DataSource database, MeterRegistry registry) {
        return start(database, registry, p -> p);
    }

    /** With the default settings changed by {@code settings}. */
    public static TestExecutor start(
            DataSource database,
            MeterRegistry registry,
            java.util.function.UnaryOperator<ExecutorProperties> settings) {
        var docker = DockerClients.create(null, null);
        return new TestExecutor(
                new DockerExecutor(
                        docker,
                        settings.apply(ExecutorProperties.defaultProperties().withDefaultImage(RUNNER_IMAGE)),
                        registry,
                        Clock.systemUTC()),
                new DockerHealth(
                        DockerClients.create(null, Duration.ofSeconds(3)),
                        Clock.systemUTC(),
                        Duration.ofSeconds(5),
                        registry),
                new StepLogRepository(JdbcClient.create(database), Clock.systemUTC()),
                docker);
    }

    /** Bisect settings for tests: local repositories allowed (the image is the executor's, the runner image). */
    public static io.bisectbot.bisect.BisectProperties bisectProperties(int maxParallelism) {
        return new io.bisectbot.bisect.BisectProperties(
                Duration.ofMinutes(5), Duration.ofMinutes(10), maxParallelism, 10, true, true);
    }

    /** Mirrors under {@code cache}. */
    public static io.bisectbot.git.GitProperties gitProperties(java.nio.file.Path cache) {
        return io.bisectbot.git.GitProperties.defaults().withCacheDir(cache);
    }

    /**
     * A bisect handler on these parts, with mirrors under {@code cache}; credentials and listeners are the beans of
     * {@code beans} (none unless registered).
     */
    public io.bisectbot.bisect.BisectJobHandler bisectHandler(
            io.bisectbot.bisect.BisectProperties properties,
            java.nio.file.Path cache,
            DataSource database,
            org.springframework.beans.factory.support.DefaultListableBeanFactory beans) {
        return new io.bisectbot.bisect.BisectJobHandler(
                properties,
                gitProperties(cache),
                executor,
                health,
                logs,
                JdbcClient.create(database),
                Clock.systemUTC(),
                beans.getBeanProvider(io.bisectbot.git.GitCredentials.class),
                beans.getBeanProvider(io.bisectbot.bisect.BisectListener.class));
    }

    @Override
    public void close() throws Exception {
        logs.close();
        health.close();
        executor.close();
        client.close();
    }
}
