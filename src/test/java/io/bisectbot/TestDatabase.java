package io.bisectbot;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.concurrent.atomic.AtomicInteger;
import org.flywaydb.core.Flyway;
import org.testcontainers.postgresql.PostgreSQLContainer;
import org.testcontainers.utility.DockerImageName;

/**
 * One real PostgreSQL per test JVM (image from {@code LOCALCI_POSTGRES_IMAGE}, default {@code postgres:16}), and a
 * fresh database in it for each caller, so test classes never see each other's rows. Without a Docker engine this
 * fails, as it must: no test silently skips the database.
 */
public final class TestDatabase {

    private static final AtomicInteger counter = new AtomicInteger();
    private static PostgreSQLContainer container;

    private TestDatabase() {}

    public static synchronized PostgreSQLContainer container() {
        if (container == null) {
            var image = System.getenv().getOrDefault("LOCALCI_POSTGRES_IMAGE", "postgres:16");
            container = new PostgreSQLContainer(DockerImageName.parse(image).asCompatibleSubstituteFor("postgres"))
                    .withCommand("postgres", "-c", "max_connections=300", "-c", "fsync=off");
            container.start();
            // Ryuk is off where no registry is reachable, so the container is stopped by us: when the test run ends
            // (after the Spring contexts, see TestContexts), or at JVM exit if the run is cut short.
            Runtime.getRuntime().addShutdownHook(new Thread(TestDatabase::stop));
        }
        return container;
    }

    /** Stops the container if one was started; the next caller of {@link #container()} would start a new one. */
    static synchronized void stop() {
        if (container != null) {
            container.stop();
            container = null;
        }
    }

    /** A new, empty database; returns its JDBC URL. */
    public static String createDatabase() {
        var pg = container();
        var name = "test_" + ProcessHandle.current().pid() + "_" + counter.incrementAndGet();
        try (var conn = DriverManager.getConnection(pg.getJdbcUrl(), pg.getUsername(), pg.getPassword());
                var statement = conn.createStatement()) {
            statement.execute("CREATE DATABASE " + name);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
        return pg.getJdbcUrl().replaceFirst("/[^/?]+(\\?|$)", "/" + name + "$1");
    }

    /** A pool on a new database with every migration applied. */
    public static HikariDataSource migrated() {
        var dataSource = pool(createDatabase(), 20);
        Flyway.configure()
                .dataSource(dataSource)
                .locations("filesystem:db/migration")
                .load()
                .migrate();
        return dataSource;
    }

    /** Points a Spring Boot test's instance at a new database, migrated on start. */
    public static void register(org.springframework.test.context.DynamicPropertyRegistry registry) {
        var url = createDatabase();
        registry.add("bisectbot.database.url", () -> url);
        registry.add("bisectbot.database.username", () -> container().getUsername());
        registry.add("bisectbot.database.password", () -> container().getPassword());
        registry.add("bisectbot.database.migrate-on-start", () -> "true");
        registry.add("bisectbot.queue.poll-interval", () -> "200ms");
        // Tests that start the service read stored rows with SQL; encryption has its own tests.
        registry.add("bisectbot.encryption.required", () -> "false");
        // Contexts close at JVM exit, racing the database container's own stop: do not wait long for jobs to drain.
        registry.add("bisectbot.queue.shutdown-grace", () -> "1s");
    }

    /** A key line for instances that tests start as processes (production mode needs one). */
    public static final String ENCRYPTION_KEYS = "test:QmlzZWN0Ym90IHRlc3Qga2V5LCBub3QgYSBzZWNyZXQ=";

    public static HikariDataSource pool(String jdbcUrl, int size) {
        var config = new HikariConfig();
        config.setJdbcUrl(jdbcUrl);
        config.setUsername(container().getUsername());
        config.setPassword(container().getPassword());
        config.setMaximumPoolSize(size);
        return new HikariDataSource(config);
    }
}
