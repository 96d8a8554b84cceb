package io.bisectbot.queue;

import io.bisectbot.crypto.Encryption;
import io.bisectbot.executor.LiveJobs;
import io.bisectbot.loop.Loop;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.condition.ConditionalOnExpression;
import org.springframework.boot.info.BuildProperties;
import org.springframework.context.SmartLifecycle;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import tools.jackson.databind.json.JsonMapper;

@Configuration(proxyBeanMethods = false)
// Serving and the one-shot bisect command; never the migrate, keys or callbacks commands (no worker may start there).
@ConditionalOnExpression("'${bisectbot.mode:serve}' matches 'serve|bisect'")
public class QueueConfig {

    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(QueueConfig.class);

    /** HikariCP's reconnect backoff (up to 5 s) plus its connection timeout (5 s): see DatabaseConfig. */
    private static final Duration RECONNECT_ALLOWANCE = Duration.ofSeconds(10);

    @Bean
    QueueNode queueNode(
            DataSource dataSource,
            ObjectProvider<JobHandler> handlers,
            QueueProperties properties,
            Clock clock,
            MeterRegistry registry,
            JsonMapper json,
            ObjectProvider<BuildProperties> build,
            Encryption encryption) {
        var all = new ArrayList<JobHandler>(
                List.of(BuiltinHandlers.noop(), BuiltinHandlers.sleep(), BuiltinHandlers.fencedEffect(dataSource)));
        handlers.orderedStream().forEach(all::add);
        var version = build.getIfAvailable() != null ? build.getIfAvailable().getVersion() : "dev";
        var reconnect = properties.heartbeatInterval().plus(RECONNECT_ALLOWANCE);
        if (properties.staleAfter().compareTo(reconnect) < 0) {
            log.warn(
                    "JOB_STALE_AFTER ({}) is below HEARTBEAT_INTERVAL + {} s: after a database outage an instance may "
                            + "need that long for its first heartbeat (the pool retries connections with a backoff "
                            + "of up to 5 s), and its running jobs may be taken back meanwhile",
                    properties.staleAfter(),
                    RECONNECT_ALLOWANCE.toSeconds());
        }
        var node = QueueNode.create(dataSource, all, properties, clock, registry, json, version, encryption);
        var stats = new CachedStats(node.queue(), clock, Duration.ofSeconds(5));
        new QueueMetrics(registry).registerGauges(stats::get);
        return node;
    }

    /** Hourly (and a minute after start), delete jobs finished longer than JOB_RETENTION ago; 0 keeps them all. */
    @Bean
    Loop jobRetention(DataSource dataSource, Clock clock, QueueProperties properties) {
        var cleaner = new RetentionCleaner(dataSource, clock, properties.retention());
        return Loop.every("job-retention", Duration.ofHours(1), cleaner::clean).withInitialDelay(Duration.ofMinutes(1));
    }

    @Bean
    JobQueue jobQueue(QueueNode node) {
        return node.queue();
    }

    /** The dashboard's read-only queries on jobs and workers. */
    @Bean
    JobReads jobReads(DataSource dataSource) {
        return new JobReads(dataSource);
    }

    /**
     * The executor's orphan reaper asks the queue whether a step container's job attempt still runs, and for a
     * standby container whether its worker does.
     */
    @Bean
    LiveJobs liveJobs(JobQueue queue, ObjectProvider<QueueNode> node) {
        return new LiveJobs() {
            @Override
            public boolean isRunning(long jobId, String workerId, int attempt) {
                return queue.isRunning(jobId, workerId, attempt);
            }

            @Override
            public boolean isWorkerAlive(String workerId) {
                return queue.isWorkerAlive(workerId);
            }

            @Override
            public String localWorkerId() {
                var local = node.getIfAvailable();
                return local == null ? null : local.workerId();
            }
        };
    }

    /** Starts the node once the context is up, and drains it on shutdown before the database closes. */
    @Bean
    SmartLifecycle queueLifecycle(QueueNode node) {
        return new SmartLifecycle() {
            @Override
            public void start() {
                node.start();
            }

            @Override
            public void stop() {
                node.shutdown();
            }

            @Override
            public boolean isRunning() {
                return node.isRunning();
            }

            @Override
            public boolean isPauseable() {
                // A drained node does not start again (its threads and liveness session are gone), so a context
                // that is paused and resumed, as the test framework does with cached contexts, keeps it running.
                return false;
            }

            @Override
            public int getPhase() {
                // Stop before the web server's graceful shutdown, so /health answers while jobs drain.
                return Integer.MAX_VALUE - 100;
            }
        };
    }

    /** Queue counts for gauges, refreshed at most every {@code maxAge}, so scrapes do not load the database. */
    static final class CachedStats {
        private final JobQueue queue;
        private final Clock clock;
        private final Duration maxAge;
        private volatile QueueStats value = new QueueStats(0, 0, 0, 0, 0, 0, 0, 0);
        private volatile java.time.Instant readAt = java.time.Instant.EPOCH;

        CachedStats(JobQueue queue, Clock clock, Duration maxAge) {
            this.queue = queue;
            this.clock = clock;
            this.maxAge = maxAge;
        }

        synchronized QueueStats get() {
            var now = clock.instant();
            if (readAt.plus(maxAge).isBefore(now)) {
                try {
                    value = queue.stats();
                } catch (RuntimeException e) {
                    // Keep the last value; /health reports the database.
                }
                readAt = now;
            }
            return value;
        }
    }
}
