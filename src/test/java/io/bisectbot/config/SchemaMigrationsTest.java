package io.bisectbot.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.bisectbot.TestDatabase;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.util.Arrays;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.MigrationVersion;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.jdbc.datasource.SimpleDriverDataSource;

class SchemaMigrationsTest {

    @Test
    void migrates_an_empty_database_to_the_latest_version() {
        try (var db = TestDatabase.pool(TestDatabase.createDatabase(), 3)) {
            var applied = SchemaMigrations.migrate(db);
            assertThat(applied).isEqualTo(allVersions().length);
            var tables = JdbcClient.create(db)
                    .sql("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
                    .query(String.class)
                    .list();
            assertThat(tables).contains("jobs", "workers", "job_events");
            SchemaMigrations.requireUpToDate(db);
        }
    }

    @Test
    void migrates_a_database_at_the_previous_version_to_the_latest() {
        var versions = allVersions();
        try (var db = TestDatabase.pool(TestDatabase.createDatabase(), 3)) {
            if (versions.length > 1) {
                Flyway.configure()
                        .dataSource(db)
                        .locations("classpath:db/migration")
                        .target(versions[versions.length - 2])
                        .load()
                        .migrate();
            }
            assertThat(SchemaMigrations.migrate(db)).isEqualTo(1);
            SchemaMigrations.requireUpToDate(db);
        }
    }

    @Test
    void the_embedded_server_takes_every_migration_with_the_extensions_they_create(@TempDir Path temp)
            throws Exception {
        try (var server = EmbeddedDatabase.start(temp.resolve("pg"), 0)) {
            var db = new SimpleDriverDataSource(new org.postgresql.Driver(), server.jdbcUrl());
            assertThat(SchemaMigrations.migrate(db)).isEqualTo(allVersions().length);
            assertThat(JdbcClient.create(db)
                            .sql("SELECT extname FROM pg_extension")
                            .query(String.class)
                            .list())
                    .contains("pg_trgm");
        }
    }

    @Test
    void the_owner_of_a_database_migrates_it_without_being_a_superuser() throws Exception {
        // As on the servers, where the bisectbot role owns its database: pg_trgm (V21) is a trusted extension.
        var pg = TestDatabase.container();
        var owner = "owner_" + ProcessHandle.current().pid() + "_" + System.nanoTime() % 1_000_000;
        try (var admin = DriverManager.getConnection(pg.getJdbcUrl(), pg.getUsername(), pg.getPassword());
                var statement = admin.createStatement()) {
            statement.execute("CREATE ROLE " + owner + " LOGIN NOSUPERUSER PASSWORD 'owner-password'");
            statement.execute("CREATE DATABASE " + owner + " OWNER " + owner);
        }
        var url = pg.getJdbcUrl().replaceFirst("/[^/?]+(\\?|$)", "/" + owner + "$1");
        var db = new SimpleDriverDataSource(new org.postgresql.Driver(), url, owner, "owner-password");
        assertThat(SchemaMigrations.migrate(db)).isEqualTo(allVersions().length);
        SchemaMigrations.requireUpToDate(db);
    }

    @Test
    void refuses_a_schema_older_than_the_code_with_a_message_that_says_what_to_run() {
        var versions = allVersions();
        try (var db = TestDatabase.pool(TestDatabase.createDatabase(), 3)) {
            if (versions.length > 1) {
                Flyway.configure()
                        .dataSource(db)
                        .locations("classpath:db/migration")
                        .target(versions[versions.length - 2])
                        .load()
                        .migrate();
            }
            assertThatThrownBy(() -> SchemaMigrations.requireUpToDate(db))
                    .isInstanceOf(SchemaMigrations.SchemaBehindException.class)
                    .hasMessageContaining("java -jar bisectbot.jar migrate")
                    .hasMessageContaining(versions[versions.length - 1].getVersion());
        }
    }

    @Test
    void accepts_a_schema_newer_than_the_code_so_old_instances_survive_a_rollout() {
        try (var db = TestDatabase.pool(TestDatabase.createDatabase(), 3)) {
            SchemaMigrations.migrate(db);
            JdbcClient.create(db).sql("""
                    INSERT INTO flyway_schema_history (installed_rank, version, description, type, script, checksum,
                                                       installed_by, execution_time, success)
                    VALUES (999, '999', 'from a newer release', 'SQL', 'V999__newer.sql', 0, 'test', 0, true)""").update();
            SchemaMigrations.requireUpToDate(db);
        }
    }

    @Test
    void a_current_schema_is_recognised_from_the_history_alone_and_anything_else_goes_to_flyway() {
        var versions = allVersions();
        try (var db = TestDatabase.pool(TestDatabase.createDatabase(), 3)) {
            assertThat(SchemaMigrations.current(db)).as("no history table").isFalse();
            Flyway.configure()
                    .dataSource(db)
                    .locations("classpath:db/migration")
                    .target(versions[versions.length - 2])
                    .load()
                    .migrate();
            assertThat(SchemaMigrations.current(db)).as("one migration pending").isFalse();
            SchemaMigrations.migrate(db);
            assertThat(SchemaMigrations.current(db)).isTrue();
            assertThat(SchemaMigrations.migrate(db)).isZero();

            var sql = JdbcClient.create(db);
            sql.sql("UPDATE flyway_schema_history SET success = false WHERE version = :v")
                    .param("v", versions[versions.length - 1].getVersion())
                    .update();
            assertThat(SchemaMigrations.current(db)).as("a failed migration").isFalse();
        }
    }

    /** Every version the build ships, read from a fresh database where all of them are pending. */
    private static MigrationVersion[] allVersions() {
        try (var db = TestDatabase.pool(TestDatabase.createDatabase(), 3)) {
            return versionsOf(db);
        }
    }

    private static MigrationVersion[] versionsOf(javax.sql.DataSource db) {
        return Arrays.stream(Flyway.configure()
                        .dataSource(db)
                        .locations("classpath:db/migration")
                        .load()
                        .info()
                        .all())
                .map(info -> info.getVersion())
                .sorted()
                .toArray(MigrationVersion[]::new);
    }
}
