package io.bisectbot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The packaged jar on its embedded PostgreSQL, started as root (as in CI and most containers) and as a normal user:
 * both serve, and the database files belong to the unprivileged user the server runs as.
 */
class EmbeddedDatabaseProcessIT {

    private static final int NOBODY = 65534;
    private final List<Process> processes = new ArrayList<>();
    private final HttpClient http = HttpClient.newHttpClient();

    @AfterEach
    void stop() throws Exception {
        for (var process : processes) {
            process.destroy(); // SIGTERM: the service stops its database
            process.waitFor();
        }
    }

    @Test
    void started_as_root_the_database_runs_as_a_system_user_who_owns_its_files() throws Exception {
        assertThat(System.getProperty("user.name"))
                .as("this test runs as root, as CI does")
                .isEqualTo("root");
        var home = Files.createTempDirectory("bisectbot-root");
        Files.setPosixFilePermissions(home, PosixFilePermissions.fromString("rwx------"));
        var log = home.resolve("service.log");
        serve(List.of(), home, 18191, log);

        var dataDir = home.resolve("data/pg");
        var owner = uid(dataDir.resolve("PG_VERSION"));
        assertThat(owner).isNotZero();
        assertThat(new String(new ProcessBuilder("getent", "passwd", "bisectbot-pg")
                        .start()
                        .getInputStream()
                        .readAllBytes()))
                .contains(":" + owner + ":");
        assertAllOwnedBy(dataDir, owner);
        assertThat(Files.readString(log))
                .contains("Embedded PostgreSQL: data directory " + dataDir)
                .contains("running as user bisectbot-pg");
    }

    @Test
    void started_as_a_normal_user_the_database_runs_as_that_user() throws Exception {
        var home = Files.createTempDirectory("bisectbot-user");
        setOwner(home, NOBODY);
        var log = home.resolve("service.log");
        serve(List.of("setpriv", "--reuid=" + NOBODY, "--regid=" + NOBODY, "--clear-groups", "--"), home, 18192, log);

        assertAllOwnedBy(home.resolve("data/pg"), NOBODY);
    }

    private void serve(List<String> asUser, Path home, int port, Path log) throws Exception {
        var jar = Path.of(System.getProperty("bisectbot.jar", "target/bisectbot.jar"))
                .toAbsolutePath()
                .toString();
        var java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        var command = new ArrayList<>(asUser);
        command.addAll(List.of(java, "-Xmx256m", "-jar", jar));
        var builder = new ProcessBuilder(command)
                .directory(home.toFile())
                .redirectErrorStream(true)
                .redirectOutput(log.toFile());
        builder.environment().remove("DATABASE_URL");
        builder.environment().put("HOME", home.toString());
        builder.environment().put("PORT", Integer.toString(port));
        var process = builder.start();
        processes.add(process);
        await().atMost(Duration.ofSeconds(120))
                .pollInterval(Duration.ofMillis(300))
                .until(() -> {
                    assertThat(process.isAlive())
                            .as("the service is alive (log: %s)", log)
                            .isTrue();
                    return health(port) == 200;
                });
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

    private static void assertAllOwnedBy(Path dir, int uid) throws Exception {
        try (Stream<Path> files = Files.walk(dir)) {
            assertThat(files)
                    .isNotEmpty()
                    .allSatisfy(
                            file -> assertThat(uid(file)).as(file.toString()).isEqualTo(uid));
        }
    }

    private static int uid(Path file) {
        try {
            return (Integer) Files.getAttribute(file, "unix:uid", LinkOption.NOFOLLOW_LINKS);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static void setOwner(Path file, int id) throws Exception {
        Files.setAttribute(file, "unix:uid", id);
        Files.setAttribute(file, "unix:gid", id);
    }
}
