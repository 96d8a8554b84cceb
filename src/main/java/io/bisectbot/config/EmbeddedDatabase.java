package io.bisectbot.config;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** A PostgreSQL server started in-process for newcomers; its data directory survives restarts. */
final class EmbeddedDatabase implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(EmbeddedDatabase.class);

    private final EmbeddedPostgres postgres;
    private final Path dataDir;

    private EmbeddedDatabase(EmbeddedPostgres postgres, Path dataDir) {
        this.postgres = postgres;
        this.dataDir = dataDir;
    }

    static EmbeddedDatabase start(Path dataDir, int port) {
        if ("root".equals(System.getProperty("user.name"))) {
            throw new StartupProblem("The embedded PostgreSQL cannot run as root (PostgreSQL refuses to).",
                    "Run bisectbot as a normal user, or set DATABASE_URL to a PostgreSQL server.");
        }
        var absolute = dataDir.toAbsolutePath().normalize();
        try {
            Files.createDirectories(absolute);
            var builder = EmbeddedPostgres.builder()
                    .setDataDirectory(absolute)
                    .setCleanDataDirectory(false)
                    // Stopped by the application context, after the queue has drained, not by a racing JVM hook.
                    .setRegisterShutdownHook(false)
                    .setServerConfig("max_connections", "100");
            if (port > 0) {
                builder.setPort(port);
            }
            var postgres = builder.start();
            log.info("Embedded PostgreSQL running on port {} with data in {}", postgres.getPort(), absolute);
            return new EmbeddedDatabase(postgres, absolute);
        } catch (IOException e) {
            throw new StartupProblem("Could not start the embedded PostgreSQL with data in " + absolute + ": " + e.getMessage(),
                    "Check that no other bisectbot uses that directory (EMBEDDED_PG_DIR) and that it is writable, "
                    + "or set DATABASE_URL to a PostgreSQL server.");
        }
    }

    String jdbcUrl() {
        return postgres.getJdbcUrl("postgres", "postgres");
    }

    @Override
    public void close() throws IOException {
        log.info("Stopping embedded PostgreSQL ({})", dataDir);
        postgres.close();
    }
}
