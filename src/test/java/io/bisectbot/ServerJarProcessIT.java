package io.bisectbot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

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
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The {@code -server} jar, the one the container image runs: it carries no embedded PostgreSQL, serves on the
 * database {@code DATABASE_URL} names, and without one stops at once with the plain-text problem and what to do.
 */
class ServerJarProcessIT {

    private final List<Process> processes = new ArrayList<>();
    private final HttpClient http = HttpClient.newHttpClient();

    @AfterEach
    void stop() throws Exception {
        for (var process : processes) {
            process.destroy();
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        }
    }

    private static ProcessBuilder serverJar(Path home) {
        var jar = Path.of(System.getProperty("bisectbot.server.jar", "target/bisectbot-server.jar"))
                .toAbsolutePath();
        assertThat(jar).as("the -server jar is built by ./mvnw package").exists();
        var java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        var builder = new ProcessBuilder(java, "-Xmx256m", "-jar", jar.toString()).directory(home.toFile());
        builder.environment().remove("DATABASE_URL");
        builder.environment().remove("LOG_FORMAT");
        return builder;
    }

    @Test
    void with_database_url_it_serves_health() throws Exception {
        var home = Files.createTempDirectory("bisectbot-server");
        var log = home.resolve("service.log");
        var builder = serverJar(home).redirectErrorStream(true).redirectOutput(log.toFile());
        builder.environment()
                .putAll(Map.of(
                        "DATABASE_URL",
                        TestDatabase.createDatabase(),
                        "DATABASE_USER",
                        TestDatabase.container().getUsername(),
                        "DATABASE_PASSWORD",
                        TestDatabase.container().getPassword(),
                        "MIGRATE_ON_START",
                        "true",
                        "ENCRYPTION_KEYS",
                        TestDatabase.ENCRYPTION_KEYS,
                        "PORT",
                        "18187"));
        var process = builder.start();
        processes.add(process);
        await().atMost(Duration.ofSeconds(90))
                .pollInterval(Duration.ofMillis(300))
                .until(() -> {
                    assertThat(process.isAlive())
                            .as("the service is alive (log: %s)", log)
                            .isTrue();
                    return health(18187) == 200;
                });
        // Nothing was unpacked: this jar has no database of its own to start.
        assertThat(home.resolve("data/pg-bin")).doesNotExist();
    }

    @Test
    void without_database_url_it_exits_non_zero_with_the_problem_in_plain_text_and_no_stack_trace() throws Exception {
        var home = Files.createTempDirectory("bisectbot-server");
        var stdout = home.resolve("stdout.log");
        var builder = serverJar(home).redirectOutput(stdout.toFile());
        builder.environment().put("PORT", "18188");
        var process = builder.start();
        processes.add(process);
        var stderr = new String(process.getErrorStream().readAllBytes());
        assertThat(process.waitFor(90, TimeUnit.SECONDS))
                .as("it stops by itself")
                .isTrue();

        assertThat(process.exitValue()).isNotZero();
        assertThat(stderr)
                .contains("bisectbot could not start.")
                .contains("Problem: DATABASE_URL is not set and this jar has no embedded PostgreSQL")
                .contains("What to do: Set DATABASE_URL to a PostgreSQL server")
                .doesNotContain("\tat ")
                .doesNotContain("Exception")
                .doesNotContain("{\"");
        assertThat(home.resolve("data/pg-bin")).doesNotExist();
    }

    private int health(int port) {
        try {
            return http.send(
                            HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/health"))
                                    .build(),
                            HttpResponse.BodyHandlers.discarding())
                    .statusCode();
        } catch (Exception e) {
            return -1;
        }
    }
}
