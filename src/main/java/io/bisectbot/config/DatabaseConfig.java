package io.bisectbot.config;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The DataSource every feature uses. It is handed out only after the schema was migrated or found current, so no
 * other component ever sees a schema older than the code.
 */
@Configuration(proxyBeanMethods = false)
public class DatabaseConfig {

    private static final Logger log = LoggerFactory.getLogger(DatabaseConfig.class);

    @Bean(destroyMethod = "close")
    EmbeddedDatabaseHolder embeddedDatabase(DatabaseProperties properties) {
        return new EmbeddedDatabaseHolder(
                properties.embedded()
                        ? EmbeddedDatabase.start(properties.embeddedDataDir(), properties.embeddedPort())
                        : null);
    }

    @Bean(destroyMethod = "close")
    HikariDataSource dataSource(DatabaseProperties properties, EmbeddedDatabaseHolder embedded) {
        var config = new HikariConfig();
        if (embedded.database() != null) {
            config.setJdbcUrl(embedded.database().jdbcUrl());
            config.setUsername("postgres");
        } else {
            DatabaseUrl url;
            try {
                url = DatabaseUrl.parse(properties.url());
            } catch (IllegalArgumentException e) {
                throw new StartupProblem(
                        e.getMessage(), "Fix DATABASE_URL, e.g. postgres://user:password@host:5432/bisectbot");
            }
            config.setJdbcUrl(url.jdbcUrl());
            config.setUsername(hasText(properties.username()) ? properties.username() : url.username());
            config.setPassword(hasText(properties.password()) ? properties.password() : url.password());
            log.info("Using PostgreSQL at {}", url.jdbcUrl());
        }
        config.setPoolName("bisectbot");
        config.setMaximumPoolSize(properties.poolSize());
        // Fail fast at start, but let the pool come back by itself after a database outage.
        config.setInitializationFailTimeout(30_000);
        config.setConnectionTimeout(5_000);
        // The client side of a dead peer; the server side is set per session by the queue's liveness lock, and
        // server-wide in postgresql.conf (RUNBOOK, "Crash detection").
        config.addDataSourceProperty("tcpKeepAlive", "true");
        var dataSource = new HikariDataSource(config);
        try {
            if (properties.shouldMigrateOnStart()) {
                SchemaMigrations.migrate(dataSource);
            } else {
                SchemaMigrations.requireUpToDate(dataSource);
            }
        } catch (RuntimeException e) {
            dataSource.close();
            throw e;
        }
        return dataSource;
    }

    private static boolean hasText(String value) {
        return value != null && !value.isBlank();
    }

    /** Keeps the embedded server's lifetime tied to the context; empty when an external database is used. */
    record EmbeddedDatabaseHolder(EmbeddedDatabase database) implements AutoCloseable {
        @Override
        public void close() throws Exception {
            if (database != null) {
                database.close();
            }
        }
    }
}
