package io.bisectbot.github;

import io.bisectbot.crypto.Encryption;
import io.bisectbot.executor.LogStream;
import io.bisectbot.executor.StepLogRepository;
import io.bisectbot.queue.JobContext;
import io.bisectbot.queue.JobHandler;
import io.bisectbot.queue.JobOutcome;
import io.bisectbot.queue.NewJob;
import io.bisectbot.queue.QueueNode;
import io.bisectbot.queue.QueueProperties;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;
import org.springframework.jdbc.core.simple.JdbcClient;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.JsonNodeFactory;

/**
 * One instance's writers of every sealed column, all with one {@link Encryption}: deliveries, outbox rows, and
 * jobs whose handler writes a step log line and a result that carry the secret.
 */
final class EncryptedStore implements AutoCloseable {

    static final String KIND = "secret-task";
    static final JsonMapper JSON = JsonMapper.builder().build();

    final Deliveries deliveries;
    final Outbox outbox;
    final StepLogRepository logs;
    final QueueNode node;

    EncryptedStore(DataSource dataSource, Encryption encryption, String workerId, String secret) {
        var clock = Clock.systemUTC();
        this.deliveries = new Deliveries(dataSource, JSON, clock, encryption);
        this.outbox = new Outbox(dataSource, JSON, clock, encryption);
        this.logs = new StepLogRepository(JdbcClient.create(dataSource), clock, encryption);
        var task = new JobHandler() {
            @Override
            public String kind() {
                return KIND;
            }

            @Override
            public JobOutcome handle(JobContext context) {
                try (var sink = logs.openSink(context.jobId(), "run", context.attempt())) {
                    sink.append(LogStream.STDOUT, "using token " + secret + "\n");
                }
                return JobOutcome.succeeded(
                        JsonNodeFactory.instance.objectNode().put("output", "pushed with " + secret));
            }
        };
        var deliveryJobs = new JobHandler() {
            @Override
            public String kind() {
                return Deliveries.JOB_KIND;
            }

            @Override
            public JobOutcome handle(JobContext context) {
                return JobOutcome.succeeded(null);
            }
        };
        var properties = QueueProperties.defaults()
                .withWorkerId(workerId)
                .withMaxConcurrentJobs(4)
                .withTimings(
                        Duration.ofMillis(100), Duration.ofMillis(200), Duration.ofSeconds(5), Duration.ofMillis(500));
        this.node = QueueNode.create(
                dataSource,
                List.of(task, deliveryJobs),
                properties,
                clock,
                new SimpleMeterRegistry(),
                JSON,
                "test",
                encryption);
    }

    EncryptedStore start() {
        node.start();
        return this;
    }

    /** A delivery, an outbox row and a job, each naming {@code secret}; returns the job id. */
    long writeAll(String id, String secret) {
        deliveries.recordAll(
                List.of(new Deliveries.Incoming(
                        id,
                        "issue_comment",
                        "created",
                        1L,
                        Map.of("X-GitHub-Event", "issue_comment"),
                        "{\"action\":\"created\",\"comment\":{\"body\":\"/bot deploy " + secret + "\"}}")),
                node.queue());
        outbox.add(
                "comment:" + id,
                1,
                Outbox.COMMENT,
                JsonNodeFactory.instance
                        .objectNode()
                        .put("owner", "acme")
                        .put("repo", "app")
                        .put("body", "token " + secret),
                null);
        return node.queue()
                .enqueue(NewJob.of(
                        KIND,
                        JsonNodeFactory.instance
                                .objectNode()
                                .put("owner", "acme")
                                .put("repo", "app")
                                .put("task", "deploy")
                                .put("command", "curl -H 'Authorization: Bearer " + secret + "' https://example.com")))
                .job()
                .id();
    }

    @Override
    public void close() {
        node.shutdown();
        logs.close();
    }
}
