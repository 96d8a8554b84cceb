package io.bisectbot.queue;

import com.zaxxer.hikari.HikariDataSource;
import io.bisectbot.SettableClock;
import io.bisectbot.TestDatabase;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.springframework.jdbc.core.simple.JdbcClient;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.JsonNodeFactory;

/** A migrated database and queue nodes on it, each with its own pool and worker id, closed together. */
final class QueueFixture implements AutoCloseable {

    static final JsonMapper JSON = JsonMapper.builder().build();

    final String jdbcUrl;
    final HikariDataSource admin;
    final JdbcClient sql;
    private final List<QueueNode> nodes = new ArrayList<>();
    private final List<HikariDataSource> pools = new ArrayList<>();
    private final Clock clock;

    QueueFixture() {
        this(false);
    }

    private QueueFixture(boolean settable) {
        this.admin = TestDatabase.migrated();
        this.jdbcUrl = admin.getJdbcUrl();
        this.sql = JdbcClient.create(admin);
        // Started after the database server: recovery counts no heartbeat as older than the server's start.
        this.clock = settable ? new SettableClock(Instant.now()) : Clock.systemUTC();
    }

    /** Nodes on a clock the test moves by hand ({@link #settableClock()}), so the test decides when a heartbeat is stale. */
    static QueueFixture onSettableClock() {
        return new QueueFixture(true);
    }

    SettableClock settableClock() {
        return (SettableClock) clock;
    }

    /** Fast timings so recovery happens within seconds in tests. */
    static QueueProperties fastProperties(String workerId) {
        return QueueProperties.defaults()
                .withWorkerId(workerId)
                .withMaxConcurrentJobs(4)
                .withTimings(
                        Duration.ofMillis(200), Duration.ofMillis(200), Duration.ofSeconds(1), Duration.ofMillis(200))
                .withRetryBackoff(Duration.ofMillis(100), Duration.ofMillis(400))
                .withShutdownGrace(Duration.ofSeconds(2));
    }

    /**
     * {@link #fastProperties} whose periodic recovery pass never comes during a test: stale jobs are taken back
     * when the test calls {@code recoverNow()}.
     */
    static QueueProperties recoveryOnRequest(String workerId) {
        return fastProperties(workerId)
                .withTimings(
                        Duration.ofMillis(200), Duration.ofMillis(200), Duration.ofSeconds(1), Duration.ofHours(1));
    }

    QueueNode node(QueueProperties properties, JobHandler... handlers) {
        var pool = TestDatabase.pool(jdbcUrl, 6);
        pools.add(pool);
        var node =
                QueueNode.create(pool, List.of(handlers), properties, clock, new SimpleMeterRegistry(), JSON, "test");
        nodes.add(node);
        return node;
    }

    /** The queue API without a running worker (enqueue only). */
    JobQueue queue(String... kinds) {
        var handlers = new ArrayList<JobHandler>();
        for (var kind : kinds) {
            handlers.add(handler(kind, context -> JobOutcome.succeeded(null)));
        }
        return node(fastProperties("enqueuer"), handlers.toArray(JobHandler[]::new))
                .queue();
    }

    JobStatus status(long id) {
        return JobStatus.valueOf(sql.sql("SELECT status FROM jobs WHERE id = :id")
                .param("id", id)
                .query(String.class)
                .single());
    }

    List<String> eventTypes(long id) {
        return sql.sql("SELECT type FROM job_events WHERE job_id = :id ORDER BY id")
                .param("id", id)
                .query(String.class)
                .list();
    }

    static NewJob job(String kind) {
        return NewJob.of(kind, JsonNodeFactory.instance.objectNode());
    }

    interface Body {
        JobOutcome run(JobContext context) throws Exception;
    }

    static JobHandler handler(String kind, Body body) {
        return new JobHandler() {
            @Override
            public String kind() {
                return kind;
            }

            @Override
            public JobOutcome handle(JobContext context) throws Exception {
                return body.run(context);
            }
        };
    }

    /** Counts executions per job id, to assert exactly-once. */
    static final class Executions {
        final ConcurrentHashMap<Long, AtomicInteger> byJob = new ConcurrentHashMap<>();

        void record(long jobId) {
            byJob.computeIfAbsent(jobId, id -> new AtomicInteger()).incrementAndGet();
        }

        int of(long jobId) {
            var count = byJob.get(jobId);
            return count == null ? 0 : count.get();
        }
    }

    @Override
    public void close() {
        nodes.forEach(node -> {
            try {
                node.crash();
            } catch (RuntimeException ignored) {
                // Already stopped.
            }
        });
        pools.forEach(HikariDataSource::close);
        admin.close();
    }
}
