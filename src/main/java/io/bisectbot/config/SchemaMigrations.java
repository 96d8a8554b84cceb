package io.bisectbot.config;

import java.io.IOException;
import java.sql.SQLException;
import java.util.Arrays;
import java.util.HashSet;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.MigrationInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.core.io.support.PathMatchingResourcePatternResolver;

/**
 * The one place that decides what happens to the schema when an instance starts: migrate it, or refuse to run
 * on a schema older than the code. A newer schema is accepted, so old instances keep running during a rollout.
 */
public final class SchemaMigrations {

    private static final Logger log = LoggerFactory.getLogger(SchemaMigrations.class);
    private static final Pattern VERSIONED = Pattern.compile("V(\\d+(?:[._]\\d+)*)__.+\\.sql");

    private SchemaMigrations() {}

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
        if (current(dataSource)) {
            return 0;
        }
        var result = flyway(dataSource).migrate();
        log.info(
                "Database schema is at version {} ({} migrations applied)",
                result.targetSchemaVersion,
                result.migrationsExecuted);
        return result.migrationsExecuted;
    }

    /** Throws with an operator-facing explanation when migrations this build needs are not applied. */
    public static void requireUpToDate(DataSource dataSource) {
        if (current(dataSource)) {
            return;
        }
        var info = flyway(dataSource).info();
        MigrationInfo[] pending = info.pending();
        if (pending.length > 0) {
            var current = info.current() == null
                    ? "empty"
                    : "version " + info.current().getVersion();
            var missing = Arrays.stream(pending)
                    .map(m -> m.getVersion() + " (" + m.getDescription() + ")")
                    .collect(Collectors.joining(", "));
            throw new SchemaBehindException(
                    "The database schema is " + current + " but this build needs migrations " + missing + ".",
                    "Run `java -jar bisectbot.jar migrate` against this database first "
                            + "(or set MIGRATE_ON_START=true), then start the instance again.");
        }
    }

    /**
     * Whether every migration this build ships is applied and none failed, read from Flyway's history table with one
     * query: at every start after the first, Flyway (about half a second of loading and scanning) is then not needed.
     * Anything else (a fresh database, a pending or failed migration, a name this check does not know) is left to
     * Flyway, which also validates what was applied.
     */
    static boolean current(DataSource dataSource) {
        var shipped = new HashSet<String>();
        try {
            for (var resource : new PathMatchingResourcePatternResolver(SchemaMigrations.class.getClassLoader())
                    .getResources("classpath*:db/migration/*.sql")) {
                var name = VERSIONED.matcher(String.valueOf(resource.getFilename()));
                if (!name.matches()) {
                    return false;
                }
                shipped.add(name.group(1).replace('_', '.'));
            }
        } catch (IOException e) {
            return false;
        }
        try (var connection = dataSource.getConnection();
                var statement = connection.createStatement()) {
            if (!connection
                    .getMetaData()
                    .getTables(null, null, "flyway_schema_history", null)
                    .next()) {
                return false;
            }
            var applied = new HashSet<String>();
            try (var rows = statement.executeQuery(
                    "SELECT version, success FROM flyway_schema_history WHERE version IS NOT NULL")) {
                while (rows.next()) {
                    if (!rows.getBoolean(2)) {
                        return false;
                    }
                    applied.add(rows.getString(1));
                }
            }
            return !shipped.isEmpty() && applied.containsAll(shipped);
        } catch (SQLException e) {
            return false;
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
