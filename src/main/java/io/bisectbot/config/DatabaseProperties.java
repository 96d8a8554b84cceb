package io.bisectbot.config;

import java.nio.file.Path;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * Where the database is and how the schema is handled.
 *
 * @param url             {@code postgres://user:pass@host:port/db} or {@code jdbc:postgresql://…}; empty starts the
 *                        embedded PostgreSQL
 * @param username        overrides the URL's user (unset: the URL's)
 * @param password        overrides the URL's password (unset: the URL's)
 * @param poolSize        HikariCP pool size
 * @param migrateOnStart  apply migrations at start instead of refusing an old schema; unset: yes for the embedded
 *                        database, no otherwise
 * @param embeddedDataDir data directory of the embedded PostgreSQL
 * @param embeddedPort    port of the embedded PostgreSQL; {@code 0} picks any free port
 */
@ConfigurationProperties("bisectbot.database")
public record DatabaseProperties(
        String url,
        String username,
        String password,
        @DefaultValue("10") int poolSize,
        Boolean migrateOnStart,
        @DefaultValue("data/pg") Path embeddedDataDir,
        @DefaultValue("0") int embeddedPort) {

    boolean embedded() {
        return url == null || url.isBlank();
    }

    boolean shouldMigrateOnStart() {
        return migrateOnStart != null ? migrateOnStart : embedded();
    }
}
