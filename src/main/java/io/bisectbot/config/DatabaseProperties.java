package io.bisectbot.config;

import java.nio.file.Path;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * Where the database is and how the schema is handled.
 *
 * @param url            {@code DATABASE_URL}: {@code postgres://user:pass@host:port/db} or {@code jdbc:postgresql://...};
 *                       empty means an embedded PostgreSQL in {@code embeddedDataDir}
 * @param username       overrides the URL's user ({@code DATABASE_USER})
 * @param password       overrides the URL's password ({@code DATABASE_PASSWORD})
 * @param poolSize       HikariCP maximum pool size
 * @param migrateOnStart {@code true}/{@code false}; unset means "yes for the embedded database, no otherwise"
 * @param embeddedDataDir data directory of the embedded PostgreSQL; kept across restarts
 * @param embeddedPort   port of the embedded PostgreSQL (0 picks a free one)
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
