package io.bisectbot.github;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import io.bisectbot.TestDatabase;
import io.bisectbot.queue.BuiltinHandlers;
import io.bisectbot.queue.JobHandler;
import io.bisectbot.queue.JobOutcome;
import io.bisectbot.queue.QueueNode;
import io.bisectbot.queue.QueueProperties;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.core.simple.JdbcClient;
import tools.jackson.databind.json.JsonMapper;

/** Two instances (own pools, own queues, own intake writers) on one database receive the same deliveries at once. */
class DeliveryDedupTest {

    private static final JsonMapper json = JsonMapper.builder().build();
    private static final HikariDataSource database = TestDatabase.migrated();
    private static final String URL = database.getJdbcUrl();

    @AfterAll
    static void close() {
        database.close();
    }

    record Instance(HikariDataSource pool, IntakeWriter intake) implements AutoCloseable {
        static Instance start() {
            var pool = TestDatabase.pool(URL, 8);
            JobHandler delivery = new JobHandler() {
                @Override
                public String kind() {
                    return Deliveries.JOB_KIND;
                }

                @Override
                public JobOutcome handle(io.bisectbot.queue.JobContext context) {
                    return JobOutcome.succeeded(null);
                }
            };
            var node = QueueNode.create(
                    pool,
                    List.of(delivery, BuiltinHandlers.noop()),
                    QueueProperties.defaults(),
                    Clock.systemUTC(),
                    new SimpleMeterRegistry(),
                    json,
                    "test");
            return new Instance(
                    pool, new IntakeWriter(new Deliveries(pool, json, Clock.systemUTC()), node.queue(), 2, 1000));
        }

        @Override
        public void close() {
            intake.close();
            pool.close();
        }
    }

    @Test
    void each_delivery_is_stored_once_with_one_job_whichever_instance_wins() throws Exception {
        var deliveries = 50;
        var perInstance = 4;
        try (var a = Instance.start();
                var b = Instance.start();
                var pool = Executors.newVirtualThreadPerTaskExecutor()) {
            var start = new CountDownLatch(1);
            var results = new ArrayList<java.util.concurrent.Future<Boolean>>();
            for (int d = 0; d < deliveries; d++) {
                var incoming = new Deliveries.Incoming(
                        "delivery-" + d,
                        "issue_comment",
                        "created",
                        1L,
                        Map.of("x-github-event", "issue_comment"),
                        "{\"n\":" + d + "}");
                for (var instance : List.of(a, b)) {
                    for (int i = 0; i < perInstance; i++) {
                        Callable<Boolean> post = () -> {
                            start.await();
                            return instance.intake().record(incoming, Duration.ofSeconds(10));
                        };
                        results.add(pool.submit(post));
                    }
                }
            }
            start.countDown();
            var created = 0;
            for (var result : results) {
                created += result.get() ? 1 : 0;
            }
            assertThat(created).isEqualTo(deliveries);
        }
        var jdbc = JdbcClient.create(database);
        assertThat(jdbc.sql("SELECT count(*) FROM github_deliveries WHERE delivery_id LIKE 'delivery-%'")
                        .query(Long.class)
                        .single())
                .isEqualTo(deliveries);
        assertThat(jdbc.sql("SELECT count(*) FROM jobs WHERE payload ->> 'delivery_id' LIKE 'delivery-%'")
                        .query(Long.class)
                        .single())
                .isEqualTo(deliveries);
        assertThat(jdbc.sql(
                                "SELECT count(DISTINCT payload ->> 'delivery_id') FROM jobs WHERE payload ->> 'delivery_id' LIKE 'delivery-%'")
                        .query(Long.class)
                        .single())
                .isEqualTo(deliveries);
    }

    @Test
    void a_payload_the_database_refuses_fails_alone() throws Exception {
        try (var a = Instance.start()) {
            var good = new Deliveries.Incoming("fine-1", "pull_request", "opened", null, Map.of(), "{}");
            var bad = new Deliveries.Incoming("broken-1", "pull_request", "opened", null, Map.of(), "{\"a\":");
            try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
                var first = pool.submit(() -> a.intake().record(good, Duration.ofSeconds(10)));
                var second = pool.submit(() -> a.intake().record(bad, Duration.ofSeconds(10)));
                assertThat(first.get()).isTrue();
                assertThat(org.junit.jupiter.api.Assertions.assertThrows(
                                java.util.concurrent.ExecutionException.class, second::get))
                        .hasCauseInstanceOf(IntakeWriter.Unavailable.class);
            }
        }
    }
}
