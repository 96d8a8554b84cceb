package io.bisectbot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.File;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * The packaged service as two OS processes on one database: {@code kill -9} of one while it runs jobs, and the other
 * takes them over within stale-after + recovery interval, and each completes exactly once.
 */
class ProcessKillProcessIT {

    private static final String TOKEN = "process-test-token";
    private final List<Process> processes = new ArrayList<>();
    private final HttpClient http = HttpClient.newHttpClient();

    @AfterEach
    void stop() {
        processes.forEach(Process::destroyForcibly);
    }

    private Process start(String workerId, int port, String jdbcUrl, Path log) throws Exception {
        var jar = System.getProperty("bisectbot.jar", "target/bisectbot.jar");
        var java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        var builder = new ProcessBuilder(java, "-Xmx256m", "-jar", jar)
                .redirectErrorStream(true)
                .redirectOutput(log.toFile());
        builder.environment()
                .putAll(Map.of(
                        "DATABASE_URL",
                        jdbcUrl,
                        "DATABASE_USER",
                        TestDatabase.container().getUsername(),
                        "DATABASE_PASSWORD",
                        TestDatabase.container().getPassword(),
                        "MIGRATE_ON_START",
                        "true",
                        "PORT",
                        Integer.toString(port),
                        "WORKER_ID",
                        workerId,
                        "ADMIN_TOKEN",
                        TOKEN,
                        "MAX_CONCURRENT_JOBS",
                        "3",
                        "HEARTBEAT_INTERVAL",
                        "500ms",
                        "JOB_STALE_AFTER",
                        "3s"));
        builder.environment().put("RECOVERY_INTERVAL", "1s");
        builder.environment().put("ENCRYPTION_KEYS", TestDatabase.ENCRYPTION_KEYS);
        builder.environment().put("POLL_INTERVAL", "500ms");
        var process = builder.start();
        processes.add(process);
        await().atMost(Duration.ofSeconds(90))
                .pollInterval(Duration.ofMillis(300))
                .until(() -> {
                    assertThat(process.isAlive())
                            .as("process %s is alive (log: %s)", workerId, log)
                            .isTrue();
                    return get(port, "/health") == 200;
                });
        return process;
    }

    private int get(int port, String path) {
        try {
            return http.send(
                            HttpRequest.newBuilder(URI.create("http://localhost:" + port + path))
                                    .build(),
                            HttpResponse.BodyHandlers.discarding())
                    .statusCode();
        } catch (Exception e) {
            return -1;
        }
    }

    @Test
    void migrate_mode_migrates_and_exits_and_a_server_on_an_older_schema_refuses_to_start() throws Exception {
        var jdbcUrl = TestDatabase.createDatabase();
        var java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        var jar = System.getProperty("bisectbot.jar", "target/bisectbot.jar");
        var credentials = Map.of(
                "DATABASE_URL",
                jdbcUrl,
                "DATABASE_USER",
                TestDatabase.container().getUsername(),
                "DATABASE_PASSWORD",
                TestDatabase.container().getPassword(),
                "PORT",
                "18183",
                "ENCRYPTION_KEYS",
                TestDatabase.ENCRYPTION_KEYS);

        var refused = new ProcessBuilder(java, "-jar", jar).redirectErrorStream(true);
        refused.environment().putAll(credentials);
        var refusal = refused.start();
        var refusalOutput = new String(refusal.getInputStream().readAllBytes());
        assertThat(refusal.waitFor()).isNotZero();
        assertThat(refusalOutput).contains("APPLICATION FAILED TO START").contains("bisectbot.jar migrate");

        var migrate = new ProcessBuilder(java, "-jar", jar, "migrate").redirectErrorStream(true);
        migrate.environment().putAll(credentials);
        var migration = migrate.start();
        var output = new String(migration.getInputStream().readAllBytes());
        assertThat(migration.waitFor()).as(output).isZero();
        try (var db = TestDatabase.pool(jdbcUrl, 2)) {
            assertThat(JdbcClient.create(db)
                            .sql("SELECT count(*) FROM flyway_schema_history WHERE success")
                            .query(Long.class)
                            .single())
                    .isGreaterThanOrEqualTo(6);
        }
    }

    @Test
    void jobs_of_a_killed_instance_are_taken_over_by_the_other_and_complete_once() throws Exception {
        var jdbcUrl = TestDatabase.createDatabase();
        var logs = Files.createTempDirectory("bisectbot-processes");
        var victim = start("victim", 18181, jdbcUrl, logs.resolve("victim.log"));
        var body = "{\"kind\":\"sleep\",\"payload\":{\"seconds\":20}}";
        for (int i = 0; i < 3; i++) {
            var reply = http.send(
                    HttpRequest.newBuilder(URI.create("http://localhost:18181/jobs"))
                            .header("Authorization", "Bearer " + TOKEN)
                            .header("Content-Type", "application/json")
                            .POST(HttpRequest.BodyPublishers.ofString(body))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(reply.statusCode()).isEqualTo(201);
        }
        try (var db = TestDatabase.pool(jdbcUrl, 2)) {
            var sql = JdbcClient.create(db);
            await().atMost(Duration.ofSeconds(20))
                    .until(() -> sql.sql("SELECT count(*) FROM jobs WHERE status = 'RUNNING' AND worker_id = 'victim'")
                                    .query(Long.class)
                                    .single()
                            == 3);
            start("survivor", 18182, jdbcUrl, logs.resolve("survivor.log"));

            victim.destroyForcibly(); // SIGKILL: no shutdown hook, no release
            var killedAt = System.nanoTime();
            victim.waitFor();

            await().atMost(Duration.ofSeconds(15))
                    .pollInterval(Duration.ofMillis(100))
                    .until(() -> sql.sql("SELECT count(*) FROM jobs WHERE worker_id = 'survivor'")
                                    .query(Long.class)
                                    .single()
                            == 3);
            var reclaimed = Duration.ofNanos(System.nanoTime() - killedAt);
            // stale-after 3 s + recovery every 1 s + backoff up to 1 s + poll 0.5 s
            assertThat(reclaimed).isLessThan(Duration.ofMillis(6500));

            await().atMost(Duration.ofSeconds(60))
                    .until(() -> sql.sql("SELECT count(*) FROM jobs WHERE status = 'SUCCEEDED'")
                                    .query(Long.class)
                                    .single()
                            == 3);
            var successes = sql.sql("SELECT job_id, count(*) FROM job_events WHERE type = 'succeeded' GROUP BY job_id")
                    .query((rs, row) -> rs.getLong(2))
                    .list();
            assertThat(successes).containsExactly(1L, 1L, 1L);
            assertThat(sql.sql("SELECT DISTINCT attempt_count FROM jobs")
                            .query(Integer.class)
                            .list())
                    .containsExactly(2);
            assertThat(sql.sql("SELECT state FROM workers WHERE id = 'victim'")
                            .query(String.class)
                            .single())
                    .isEqualTo("STOPPED");
            assertThat(sql.sql(
                                    "SELECT count(*) FROM job_events WHERE type = 'recovered' AND detail LIKE 'worker victim lost%'")
                            .query(Long.class)
                            .single())
                    .isEqualTo(3);
        }
        // The logs are JSON lines naming the worker and the job.
        var survivorLog = Files.readAllLines(logs.resolve("survivor.log"));
        assertThat(survivorLog)
                .anySatisfy(line -> assertThat(line).startsWith("{").contains("\"worker_id\":\"survivor\""));
        assertThat(new File(logs.toFile(), "victim.log")).exists();
    }
}
