package io.bisectbot.bisect;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariDataSource;
import io.bisectbot.TestDatabase;
import io.bisectbot.TestExecutor;
import io.bisectbot.executor.DockerClients;
import io.bisectbot.executor.OrphanReaper;
import io.bisectbot.queue.JobStatus;
import io.bisectbot.queue.NewJob;
import io.bisectbot.queue.QueueNode;
import io.bisectbot.queue.QueueTestSupport;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.beans.factory.support.DefaultListableBeanFactory;
import org.springframework.jdbc.core.simple.JdbcClient;
import tools.jackson.databind.node.JsonNodeFactory;

/** Kill the instance running a bisect mid-way: the instance that takes the job over re-runs no stored step. */
class BisectResumeTest {

    private final HikariDataSource database = TestDatabase.migrated();
    private final JdbcClient sql = JdbcClient.create(database);
    private final List<AutoCloseable> resources = new ArrayList<>();
    private final List<QueueNode> nodes = new ArrayList<>();

    @TempDir
    Path repo;

    @TempDir
    Path cache;

    @AfterEach
    void close() throws Exception {
        nodes.forEach(QueueTestSupport::crash);
        // What a killed instance leaves behind is the orphan reaper's to remove; no job is running any more.
        try (var docker = DockerClients.create(null, null)) {
            new OrphanReaper(docker, (job, worker, attempt) -> false, Duration.ofMinutes(1), new SimpleMeterRegistry())
                    .reapOnce();
        }
        for (var resource : resources.reversed()) {
            resource.close();
        }
        database.close();
    }

    private QueueNode node(String workerId) {
        var registry = new SimpleMeterRegistry();
        var docker = TestExecutor.start(database, registry);
        resources.add(docker);
        var properties = TestExecutor.bisectProperties(4);
        var beans = new DefaultListableBeanFactory();
        var handler = docker.bisectHandler(properties, cache, database, beans);
        var node = QueueTestSupport.node(database, List.of(handler), QueueTestSupport.quickTimings(workerId), registry);
        nodes.add(node);
        return node;
    }

    @Test
    void a_bisect_taken_over_after_a_crash_reruns_no_stored_step_and_finds_the_same_culprit() throws Exception {
        var shas = TestRepos.linear(repo, 64, 41, 0.3);
        var payload = JsonNodeFactory.instance
                .objectNode()
                .put("repo", repo.toString())
                .put("bad", "main")
                .put("command", "sh test.sh");
        payload.putArray("good").add(shas.getFirst());
        var first = node("first");
        var id = first.queue()
                .enqueue(NewJob.of(BisectJobHandler.KIND, payload))
                .job()
                .id();
        first.start();

        // Let it store the two end verifications and a few search steps, then kill it.
        await().atMost(Duration.ofMinutes(1)).until(() -> storedSteps(id) >= 4);
        QueueTestSupport.crash(first);
        var storedBeforeCrash = storedSteps(id);

        var second = node("second");
        second.start();
        await().atMost(Duration.ofMinutes(2))
                .pollInterval(Duration.ofMillis(300))
                .until(() -> status(id).isFinal());

        assertThat(status(id)).isEqualTo(JobStatus.SUCCEEDED);
        var job = second.queue().find(id).orElseThrow();
        assertThat(job.attemptCount()).isEqualTo(2);
        assertThat(job.result().get("outcome").get("commit").get("sha").asString())
                .isEqualTo(shas.get(41));
        assertThat(job.result().get("reused_runs").asInt()).isGreaterThanOrEqualTo(storedBeforeCrash);
        // Every (commit, run) was run to a verdict once: the second attempt repeated none of the first's.
        var runsPerCommit = sql.sql("""
                        SELECT count(*) FROM bisect_steps WHERE job_id = :id AND verdict IS NOT NULL
                         GROUP BY commit_sha, run_index, purpose HAVING count(*) > 1""").param("id", id).query(Long.class).list();
        assertThat(runsPerCommit).isEmpty();
        assertThat(sql.sql("SELECT DISTINCT attempt FROM bisect_steps WHERE job_id = :id ORDER BY attempt")
                        .param("id", id)
                        .query(Integer.class)
                        .list())
                .containsExactly(1, 2);
    }

    private int storedSteps(long id) {
        return sql.sql("SELECT count(*) FROM bisect_steps WHERE job_id = :id")
                .param("id", id)
                .query(Integer.class)
                .single();
    }

    private JobStatus status(long id) {
        return JobStatus.valueOf(sql.sql("SELECT status FROM jobs WHERE id = :id")
                .param("id", id)
                .query(String.class)
                .single());
    }
}
