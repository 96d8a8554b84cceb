package io.bisectbot.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.DriverManager;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The embedded PostgreSQL as whoever runs the tests: in CI that is root, and the server then runs unprivileged. */
class EmbeddedDatabaseTest {

    @TempDir
    Path temp;

    @Test
    void the_server_runs_as_an_unprivileged_user_who_owns_every_file_even_below_a_private_directory() throws Exception {
        // Like /root: only its owner may pass through it.
        var privateDir = Files.createDirectory(
                temp.resolve("home"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        var dataDir = privateDir.resolve(".bisectbot/pg");
        int expectedUid;
        try (var db = EmbeddedDatabase.start(dataDir, 0)) {
            try (var connection = DriverManager.getConnection(db.jdbcUrl());
                    var result =
                            connection.createStatement().executeQuery("SELECT current_setting('data_directory')")) {
                result.next();
                assertThat(Path.of(result.getString(1))).isEqualTo(dataDir);
            }
            var postmasterPid = Files.readAllLines(dataDir.resolve("postmaster.pid"))
                    .getFirst()
                    .strip();
            var serverUid = Files.readAllLines(Path.of("/proc", postmasterPid, "status")).stream()
                    .filter(line -> line.startsWith("Uid:"))
                    .findFirst()
                    .orElseThrow()
                    .split("\\s+")[1];
            expectedUid = DatabaseUser.runningAsRoot()
                    ? DatabaseUser.forEmbeddedDatabase().uid()
                    : uid(temp);
            assertThat(Integer.parseInt(serverUid)).isEqualTo(expectedUid);
            if (DatabaseUser.runningAsRoot()) {
                assertThat(expectedUid).isNotZero();
            }
            assertThat(db.port()).isPositive();
            assertThat(db.logFile())
                    .isEqualTo(privateDir.resolve(".bisectbot/pg.log"))
                    .exists();
        }
        try (Stream<Path> files = Files.walk(dataDir)) {
            assertThat(files)
                    .allSatisfy(
                            file -> assertThat(uid(file)).as(file.toString()).isEqualTo(expectedUid));
        }
        // A second start reuses the cluster and the unpacked binaries.
        try (var again = EmbeddedDatabase.start(dataDir, 0);
                var connection = DriverManager.getConnection(again.jdbcUrl())) {
            assertThat(connection.isValid(5)).isTrue();
        }
    }

    private static int uid(Path file) {
        try {
            return (Integer) Files.getAttribute(file, "unix:uid", java.nio.file.LinkOption.NOFOLLOW_LINKS);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
