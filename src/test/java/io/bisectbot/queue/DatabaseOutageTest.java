package io.bisectbot.queue;

import static io.bisectbot.queue.QueueFixture.JSON;
import static io.bisectbot.queue.QueueFixture.fastProperties;
import static io.bisectbot.queue.QueueFixture.handler;
import static io.bisectbot.queue.QueueFixture.job;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.github.dockerjava.api.model.ExposedPort;
import com.github.dockerjava.api.model.PortBinding;
import com.github.dockerjava.api.model.Ports;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.net.ServerSocket;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.dao.DataAccessException;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.postgresql.PostgreSQLContainer;
import org.testcontainers.utility.DockerImageName;

/**
 * The database server goes away for longer than {@code JOB_STALE_AFTER} while jobs run, and comes back: its own
 * PostgreSQL, on a fixed port so that clients find it again after the restart.
 *
 * <p>{@code JOB_STALE_AFTER} here (7 s) is above what a pool may need to reconnect after an outage: HikariCP retries
 * a failed connection with a backoff of up to 5 s, so an instance may store its first heartbeat that long after the
 * server is back, while another instance's pool reconnected at once.
 */
class DatabaseOutageTest {

    private static final Duration STALE_AFTER = Duration.ofSeconds(7);
    private static PostgreSQLContainer postgres;
    private static final List<HikariDataSource> pools = new ArrayList<>();
    private final List<QueueNode> nodes = new ArrayList<>();

    @BeforeAll
    static void startDatabase() throws IOException {
        int port;
        try (var socket = new ServerSocket(0)) {
            port = socket.getLocalPort();
        }
        var image = System.getenv().getOrDefault("LOCALCI_POSTGRES_IMAGE", "postgres:16");
        postgres = new PostgreSQLContainer(DockerImageName.parse(image).asCompatibleSubstituteFor("postgres"))
                .withCommand("postgres", "-c", "fsync=off")
                .withCreateContainerCmdModifier(cmd -> cmd.getHostConfig()
                        .withPortBindings(new PortBinding(Ports.Binding.bindPort(port), new ExposedPort(5432))));
        postgres.start();
        Flyway.configure()
                .dataSource(pool())
                .locations("filesystem:db/migration")
                .load()
                .migrate();
    }

    @AfterAll
    static void stopDatabase() {
        pools.forEach(HikariDataSource::close);
        postgres.stop();
    }

    private static HikariDataSource pool() {
        var config = new HikariConfig();
        config.setJdbcUrl(postgres.getJdbcUrl());
        config.setUsername(postgres.getUsername());
        config.setPassword(postgres.getPassword());
        config.setMaximumPoolSize(6);
        config.setConnectionTimeout(1000);
        config.setInitializationFailTimeout(-1);
        var pool = new HikariDataSource(config);
        pools.add(pool);
        return pool;
    }

    private QueueNode node(String workerId, JobHandler handler) {
        var properties = fastProperties(workerId)
                .withTimings(Duration.ofMillis(200), Duration.ofMillis(300), STALE_AFTER, Duration.ofMillis(200))
                .withLiveness("auto", Duration.ofSeconds(1));
        var node = QueueNode.create(
                pool(), List.of(handler), properties, Clock.systemUTC(), new SimpleMeterRegistry(), JSON, "test");
        nodes.add(node);
        node.start();
        return node;
    }

    @org.junit.jupiter.api.AfterEach
    void stopNodes() {
        nodes.forEach(QueueNode::crash);
    }

    @Test
    void a_database_down_for_twice_stale_after_takes_back_and_fails_no_running_job() throws Exception {
        var runs = new CopyOnWriteArrayList<JobContext>();
        var finish = new CountDownLatch(1);
        JobHandler blocking = handler("block", context -> {
            runs.add(context);
            while (!context.stopRequested() && finish.getCount() > 0) {
                Thread.sleep(10);
            }
            return context.stopRequested() ? JobOutcome.failed("stopped") : JobOutcome.succeeded(null);
        });
        var running = node("running", blocking);
        var idle = node("idle", blocking);
        var id = running.queue().enqueue(job("block")).job().id();
        await().atMost(Duration.ofSeconds(10)).until(() -> runs.size() == 1);
        assertThat(running.liveness()).isEqualTo("lock");

        // The server is killed (every session ends with it) and stays down twice JOB_STALE_AFTER.
        var docker = DockerClientFactory.instance().client();
        docker.killContainerCmd(postgres.getContainerId()).exec();
        Thread.sleep(2000);
        assertThatThrownBy(() -> idle.queue().enqueue(job("block")))
                .as("intake refuses while the database is down")
                .isInstanceOf(DataAccessException.class);
        Thread.sleep(STALE_AFTER.multipliedBy(2).toMillis() - 2000);
        assertThat(runs.getFirst().stopRequested())
                .as("the job goes on while the database is down")
                .isFalse();
        docker.startContainerCmd(postgres.getContainerId()).exec();

        // Back: locks are taken again, heartbeats resume, and nobody takes the job for longer than stale-after.
        await().atMost(Duration.ofSeconds(30)).until(() -> "lock".equals(running.liveness()));
        var sql = JdbcClient.create(pools.getFirst());
        var beat = sql.sql("SELECT heartbeat_at FROM jobs WHERE id = :id")
                .param("id", id)
                .query(java.time.OffsetDateTime.class)
                .single();
        Thread.sleep(STALE_AFTER.toMillis() + 1000);
        assertThat(sql.sql("SELECT heartbeat_at FROM jobs WHERE id = :id")
                        .param("id", id)
                        .query(java.time.OffsetDateTime.class)
                        .single())
                .as("heartbeats resumed")
                .isAfter(beat);
        assertThat(runs).as("the job ran once, on its first instance").hasSize(1);
        assertThat(runs.getFirst().stopRequested()).isFalse();
        assertThat(idle.queue().enqueue(job("block")).job().id())
                .as("intake accepts again")
                .isPositive();

        finish.countDown();
        await().atMost(Duration.ofSeconds(10))
                .until(() -> "SUCCEEDED"
                        .equals(sql.sql("SELECT status FROM jobs WHERE id = :id")
                                .param("id", id)
                                .query(String.class)
                                .single()));
        assertThat(sql.sql("SELECT type FROM job_events WHERE job_id = :id ORDER BY id")
                        .param("id", id)
                        .query(String.class)
                        .list())
                .containsOnlyOnce("claimed", "succeeded")
                .doesNotContain("recovered", "released", "retry_scheduled", "failed");
    }
}
