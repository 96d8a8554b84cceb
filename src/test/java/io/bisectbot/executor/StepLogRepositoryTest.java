package io.bisectbot.executor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.jdbc.datasource.SimpleDriverDataSource;
import org.testcontainers.postgresql.PostgreSQLContainer;
import org.testcontainers.utility.DockerImageName;

class StepLogRepositoryTest {

    private static final PostgreSQLContainer POSTGRES = new PostgreSQLContainer(
            DockerImageName.parse(System.getenv().getOrDefault("LOCALCI_POSTGRES_IMAGE", "postgres:16"))
                    .asCompatibleSubstituteFor("postgres"));
    private static JdbcClient jdbc;

    private StepLogRepository repository;
    private long jobId;

    @BeforeAll
    static void startDatabase() {
        POSTGRES.start();
        Flyway.configure()
                .dataSource(POSTGRES.getJdbcUrl(), POSTGRES.getUsername(), POSTGRES.getPassword())
                .locations("filesystem:db/migration")
                .load()
                .migrate();
        jdbc = JdbcClient.create(new SimpleDriverDataSource(
                new org.postgresql.Driver(), POSTGRES.getJdbcUrl(), POSTGRES.getUsername(), POSTGRES.getPassword()));
    }

    @AfterAll
    static void stopDatabase() {
        POSTGRES.stop();
    }

    @BeforeEach
    void newJob() {
        repository = new StepLogRepository(jdbc, Clock.systemUTC());
        jobId = jdbc.sql("INSERT INTO jobs (kind) VALUES ('test') RETURNING id")
                .query(Long.class)
                .single();
    }

    @AfterEach
    void closeRepository() {
        repository.close();
        DockerTestSupport.assertNoManagedContainersLeft();
    }

    @Test
    void chunks_round_trip_in_order_with_their_streams() {
        try (LogSink sink = repository.openSink(jobId, "build", 1)) {
            sink.append(LogStream.STDOUT, "one\n");
            sink.append(LogStream.STDOUT, "two\n");
            sink.append(LogStream.STDERR, "warn\n");
            sink.append(LogStream.STDOUT, "three\n");
        }

        List<LogChunk> chunks = repository.read(jobId, "build", 0, 100);

        // Consecutive output of one stream is merged into one row.
        assertThat(chunks).extracting(LogChunk::seq).containsExactly(0, 1, 2);
        assertThat(chunks)
                .extracting(LogChunk::stream)
                .containsExactly(LogStream.STDOUT, LogStream.STDERR, LogStream.STDOUT);
        assertThat(chunks).extracting(LogChunk::content).containsExactly("one\ntwo\n", "warn\n", "three\n");
        assertThat(repository.read(jobId, "build", 2, 100))
                .extracting(LogChunk::content)
                .containsExactly("three\n");
    }

    @Test
    void appends_become_readable_within_the_flush_interval_without_closing_the_sink() {
        LogSink sink = repository.openSink(jobId, "live", 1);
        sink.append(LogStream.STDOUT, "hello\n");

        await().atMost(Duration.ofSeconds(2))
                .until(() -> repository.readAll(jobId, "live").equals("hello\n"));
        sink.close();
    }

    @Test
    void large_output_is_split_into_bounded_chunks_and_reassembles_exactly() {
        var expected = new StringBuilder();
        try (LogSink sink = repository.openSink(jobId, "big", 1)) {
            for (int i = 0; i < 20_000; i++) {
                String line = "line " + i + " " + "x".repeat(i % 50) + "\n";
                expected.append(line);
                sink.append(i % 7 == 0 ? LogStream.STDERR : LogStream.STDOUT, line);
            }
        }

        assertThat(repository.readAll(jobId, "big")).isEqualTo(expected.toString());
        assertThat(repository.read(jobId, "big", 0, 100_000))
                .allSatisfy(c -> assertThat(c.content().length()).isLessThanOrEqualTo(64 * 1024));
    }

    @Test
    void a_retried_step_appends_after_the_earlier_attempt() {
        try (LogSink first = repository.openSink(jobId, "test", 1)) {
            first.append(LogStream.STDOUT, "attempt one\n");
        }
        try (LogSink second = repository.openSink(jobId, "test", 2)) {
            second.append(LogStream.STDOUT, "attempt two\n");
        }

        assertThat(repository.read(jobId, "test", 0, 10))
                .extracting(LogChunk::attempt, LogChunk::content)
                .containsExactly(
                        org.assertj.core.groups.Tuple.tuple(1, "attempt one\n"),
                        org.assertj.core.groups.Tuple.tuple(2, "attempt two\n"));
    }

    @Test
    void logs_are_deleted_with_their_job() {
        try (LogSink sink = repository.openSink(jobId, "gone", 1)) {
            sink.append(LogStream.STDOUT, "bye\n");
        }

        jdbc.sql("DELETE FROM jobs WHERE id = ?").param(jobId).update();

        assertThat(repository.read(jobId, "gone", 0, 10)).isEmpty();
    }

    @Test
    void a_step_run_into_postgres_stores_its_output_live_and_never_the_secret() {
        var executor = new DockerExecutor(
                DockerTestSupport.DOCKER,
                ExecutorProperties.defaultProperties().withSecrets(List.of("pa55word")),
                new SimpleMeterRegistry(),
                Clock.systemUTC());
        try (executor;
                LogSink sink = repository.openSink(jobId, "e2e", 1)) {
            var spec = StepSpec.builder(jobId, "worker-test", 1, "e2e", DockerTestSupport.RUNNER_IMAGE)
                    .shell("echo start; echo \"db=$DB_PW\"; sleep 2; echo end")
                    .env("DB_PW", "pa55word")
                    .build();
            var running = CompletableFuture.supplyAsync(() -> executor.run(spec, sink, CancellationSignal.create()));

            await().atMost(Duration.ofSeconds(20))
                    .until(() -> repository.readAll(jobId, "e2e").contains("start"));
            assertThat(running).isNotDone();

            assertThat(running.join().outcome()).isEqualTo(new StepOutcome.Exited(0));
            assertThat(repository.readAll(jobId, "e2e")).isEqualTo("start\ndb=***\nend\n");
        }
    }
}
