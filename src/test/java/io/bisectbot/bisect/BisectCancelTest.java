package io.bisectbot.bisect;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariDataSource;
import io.bisectbot.TestDatabase;
import io.bisectbot.TestExecutor;
import io.bisectbot.queue.JobContext;
import io.bisectbot.queue.JobStatus;
import io.bisectbot.queue.NewJob;
import io.bisectbot.queue.QueueNode;
import io.bisectbot.queue.QueueTestSupport;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.beans.factory.support.DefaultListableBeanFactory;
import org.springframework.jdbc.core.simple.JdbcClient;
import tools.jackson.databind.node.JsonNodeFactory;

/** A bisection cancelled while its steps run: its listeners hear it, and can still write what they report. */
class BisectCancelTest {

    private final HikariDataSource database = TestDatabase.migrated();
    private TestExecutor docker;
    private QueueNode node;

    @TempDir
    Path repo;

    @TempDir
    Path cache;

    @AfterEach
    void close() throws Exception {
        if (node != null) {
            node.shutdown();
        }
        if (docker != null) {
            docker.close();
        }
        database.close();
    }

    @Test
    void a_cancelled_bisection_tells_its_listeners_who_can_still_reach_the_database() throws Exception {
        var shas = TestRepos.linear(repo, 8, 5, 60);
        var heard = new CopyOnWriteArrayList<String>();
        var beans = new DefaultListableBeanFactory();
        beans.registerSingleton("recorder", new BisectListener() {
            @Override
            public void started(JobContext job, BisectRequest request) {
                heard.add("started");
            }

            @Override
            public void finished(JobContext job, BisectRequest request, BisectResult result, String report) {
                heard.add("finished");
            }

            @Override
            public void cancelled(JobContext job, BisectRequest request) {
                // What the GitHub listener does here: write its report to the outbox.
                var stored = JdbcClient.create(database)
                        .sql("SELECT 'stored'")
                        .query(String.class)
                        .single();
                heard.add("cancelled, " + stored + (Thread.currentThread().isInterrupted() ? ", interrupted" : ""));
            }
        });
        var registry = new SimpleMeterRegistry();
        docker = TestExecutor.start(database, registry);
        node = QueueTestSupport.node(
                database,
                List.of(docker.bisectHandler(TestExecutor.bisectProperties(2), cache, database, beans)),
                QueueTestSupport.quickTimings("cancel"),
                registry);
        node.start();
        var body = JsonNodeFactory.instance
                .objectNode()
                .put("repo", repo.toString())
                .put("bad", "main")
                .put("command", "sh test.sh")
                .put("parallelism", 2);
        body.putArray("good").add(shas.getFirst());
        var id = node.queue()
                .enqueue(NewJob.of(BisectJobHandler.KIND, body))
                .job()
                .id();
        await().atMost(Duration.ofSeconds(60)).until(() -> heard.contains("started"));
        try (var engine = io.bisectbot.executor.DockerClients.create(null, null)) {
            await().atMost(Duration.ofSeconds(60))
                    .until(() -> !engine.listContainersCmd()
                            .withStatusFilter(List.of("running"))
                            .withLabelFilter(java.util.Map.of("bisectbot.job-id", Long.toString(id)))
                            .exec()
                            .isEmpty());
        }

        node.queue().cancel(id);

        await().atMost(Duration.ofSeconds(30))
                .until(() -> node.queue().find(id).orElseThrow().status() == JobStatus.CANCELLED);
        assertThat(heard).containsExactly("started", "cancelled, stored");
    }
}
