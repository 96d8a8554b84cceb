package io.bisectbot.queue;

import static io.bisectbot.queue.QueueFixture.fastProperties;
import static io.bisectbot.queue.QueueFixture.handler;
import static io.bisectbot.queue.QueueFixture.job;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Jobs claimed into an instance's local buffer are claimed jobs: RUNNING under its fence and heartbeated while they
 * wait for a slot, taken back if the instance dies, released if it shuts down. The buffer size is fixed here; in
 * production it follows the completion rate (long jobs get none, see QueueClusterTest).
 */
class PrefetchBufferTest {

    private static final int SLOTS = 2;
    private static final int BUFFER = 8;

    private final QueueFixture fixture = new QueueFixture();

    @AfterEach
    void close() {
        fixture.close();
    }

    /** Runs until stopped or until {@code finish} opens; counts each start. */
    private static JobHandler blocking(QueueFixture.Executions starts, CountDownLatch finish) {
        return handler("work", context -> {
            starts.record(context.jobId());
            while (!context.stopRequested() && finish.getCount() > 0) {
                try {
                    Thread.sleep(5);
                } catch (InterruptedException e) {
                    // A stop request interrupts; the loop condition decides.
                }
            }
            return context.stopRequested() ? JobOutcome.failed("stopped") : JobOutcome.succeeded(null);
        });
    }

    private QueueNode nodeWithFullBuffer(String workerId, QueueFixture.Executions starts, CountDownLatch finish) {
        // A long grace: the running jobs finish when the test says, not when a loaded machine lets the grace run out.
        var properties =
                fastProperties(workerId).withMaxConcurrentJobs(SLOTS).withShutdownGrace(Duration.ofSeconds(30));
        var node = fixture.node(properties, blocking(starts, finish));
        node.fixPrefetch(BUFFER);
        node.queue()
                .enqueueAll(IntStream.range(0, 20).mapToObj(i -> job("work")).toList());
        node.start();
        await().atMost(Duration.ofSeconds(10))
                .until(() -> node.bufferedJobs().size() == BUFFER && starts.byJob.size() == SLOTS);
        return node;
    }

    private long count(String sql, long id) {
        return fixture.sql.sql(sql).param("id", id).query(Long.class).single();
    }

    @Test
    void buffered_jobs_are_running_under_the_instances_fence_and_heartbeated_while_they_wait() {
        var starts = new QueueFixture.Executions();
        var node = nodeWithFullBuffer("holder", starts, new CountDownLatch(1));
        var buffered = node.bufferedJobs();

        assertThat(fixture.sql
                        .sql("SELECT count(*) FROM jobs WHERE status = 'RUNNING' AND worker_id = 'holder'")
                        .query(Long.class)
                        .single())
                .isEqualTo(SLOTS + BUFFER);
        assertThat(buffered).allSatisfy(id -> assertThat(starts.of(id)).isZero());
        // Heartbeats every 200 ms: each buffered job's heartbeat moves past its claim.
        await().atMost(Duration.ofSeconds(5))
                .untilAsserted(() -> assertThat(buffered)
                        .allSatisfy(id -> assertThat(count(
                                        "SELECT count(*) FROM jobs WHERE id = :id AND heartbeat_at > claimed_at + interval '100 ms'",
                                        id))
                                .as("heartbeat of buffered job %d", id)
                                .isEqualTo(1)));
    }

    @Test
    void an_instance_killed_with_a_full_buffer_loses_no_job_and_each_buffered_job_runs_once_elsewhere() {
        var victimStarts = new QueueFixture.Executions();
        var victim = nodeWithFullBuffer("victim", victimStarts, new CountDownLatch(1));
        var buffered = victim.bufferedJobs();

        victim.crash(); // like kill -9: its session ends, nothing is released or written

        var survivorStarts = new QueueFixture.Executions();
        var survivor = fixture.node(fastProperties("survivor").withMaxConcurrentJobs(4), handler("work", context -> {
            survivorStarts.record(context.jobId());
            return JobOutcome.succeeded(null);
        }));
        survivor.start();
        await().atMost(Duration.ofSeconds(30))
                .until(() -> survivor.queue().stats().completed() == 20);

        List<Long> ids = fixture.sql
                .sql("SELECT id FROM jobs ORDER BY id")
                .query(Long.class)
                .list();
        assertThat(ids).hasSize(20).allSatisfy(id -> {
            assertThat(fixture.status(id)).isEqualTo(JobStatus.SUCCEEDED);
            assertThat(count("SELECT count(*) FROM job_events WHERE job_id = :id AND type = 'succeeded'", id))
                    .as("completion records of job %d", id)
                    .isEqualTo(1);
            assertThat(survivorStarts.of(id))
                    .as("runs of job %d on the survivor", id)
                    .isEqualTo(1);
        });
        assertThat(buffered).hasSize(BUFFER).allSatisfy(id -> {
            assertThat(victimStarts.of(id))
                    .as("buffered job %d never started on the victim", id)
                    .isZero();
            assertThat(fixture.eventTypes(id)).containsSubsequence("claimed", "recovered", "claimed", "succeeded");
        });
    }

    @Test
    void a_graceful_shutdown_releases_buffered_jobs_at_once_without_counting_the_attempt() throws Exception {
        var starts = new QueueFixture.Executions();
        var finish = new CountDownLatch(1);
        var node = nodeWithFullBuffer("drainer", starts, finish);
        var buffered = node.bufferedJobs();

        var shutdown = new Thread(node::shutdown);
        shutdown.start();
        // Released while the running jobs are still draining.
        await().atMost(Duration.ofSeconds(5))
                .until(() -> buffered.stream().allMatch(id -> fixture.status(id) == JobStatus.PENDING));
        assertThat(starts.byJob).hasSize(SLOTS);
        finish.countDown();
        shutdown.join(10_000);

        assertThat(buffered).allSatisfy(id -> {
            assertThat(count("SELECT attempt_count FROM jobs WHERE id = :id", id))
                    .isZero();
            assertThat(fixture.eventTypes(id)).containsExactly("claimed", "released");
        });
        assertThat(fixture.sql
                        .sql("SELECT count(*) FROM jobs WHERE status = 'SUCCEEDED'")
                        .query(Long.class)
                        .single())
                .as("the running jobs finished within the grace period")
                .isEqualTo(SLOTS);
    }
}
