package io.bisectbot.config;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
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
            throw new IllegalStateException("The embedded PostgreSQL cannot run as root (PostgreSQL refuses to). "
                    + "Run bisectbot as a normal user, or set DATABASE_URL to a PostgreSQL server.");
        }
        var absolute = dataDir.toAbsolutePath().normalize();
        try {
            Files.createDirectories(absolute);
            var builder = EmbeddedPostgres.builder()
                    .setDataDirectory(absolute)
                    .setCleanDataDirectory(false)
                    .setServerConfig("max_connections", "100");
            if (port > 0) {
                builder.setPort(port);
            }
            var postgres = builder.start();
            log.info("Embedded PostgreSQL running on port {} with data in {}", postgres.getPort(), absolute);
            return new EmbeddedDatabase(postgres, absolute);
        } catch (IOException e) {
            throw new UncheckedIOException("Could not start the embedded PostgreSQL with data in " + absolute
                    + " (is another bisectbot using it?): " + e.getMessage(), e);
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
