package io.bisectbot.config;

import java.util.Arrays;
import java.util.stream.Collectors;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.MigrationInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place that decides what happens to the schema when an instance starts: migrate it, or refuse to run
 * on a schema older than the code. A newer schema is accepted, so old instances keep running during a rollout.
 */
public final class SchemaMigrations {

    private static final Logger log = LoggerFactory.getLogger(SchemaMigrations.class);

    private SchemaMigrations() {
    }

    static Flyway flyway(DataSource dataSource) {
        return Flyway.configure()
                .dataSource(dataSource)
                .locations("classpath:db/migration")
                // Older instances must start against a schema that a newer release already migrated.
                .ignoreMigrationPatterns("*:future")
                .load();
    }

    /** Applies every pending migration; returns how many were applied. */
    public static int migrate(DataSource dataSource) {
        var result = flyway(dataSource).migrate();
        log.info("Database schema is at version {} ({} migrations applied)", result.targetSchemaVersion, result.migrationsExecuted);
        return result.migrationsExecuted;
    }

    /** Throws with an operator-facing explanation when migrations this build needs are not applied. */
    public static void requireUpToDate(DataSource dataSource) {
        var info = flyway(dataSource).info();
        MigrationInfo[] pending = info.pending();
        if (pending.length > 0) {
            var current = info.current() == null ? "empty" : "version " + info.current().getVersion();
            var missing = Arrays.stream(pending).map(m -> m.getVersion() + " (" + m.getDescription() + ")")
                    .collect(Collectors.joining(", "));
            throw new SchemaBehindException("The database schema is " + current + " but this build needs migrations "
                    + missing + ".", "Run `java -jar bisectbot.jar migrate` against this database first "
                    + "(or set MIGRATE_ON_START=true), then start the instance again.");
        }
    }

    /** The schema is older than the code; the instance must not start. */
    public static final class SchemaBehindException extends StartupProblem {
        SchemaBehindException(String description, String action) {
            super(description, action);
        }

        @Override
        public String getMessage() {
            return super.getMessage() + " " + action();
        }
    }
}
