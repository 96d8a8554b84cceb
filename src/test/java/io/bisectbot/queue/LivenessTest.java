package io.bisectbot.queue;

import static io.bisectbot.queue.QueueFixture.fastProperties;
import static io.bisectbot.queue.QueueFixture.handler;
import static io.bisectbot.queue.QueueFixture.job;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Crash detection through each instance's liveness lock, and the fallback to heartbeats. */
class LivenessTest {

    private final QueueFixture fixture = new QueueFixture();

    @AfterEach
    void close() {
        fixture.close();
    }

    /** Heartbeats would take 30 s here: anything faster is the liveness lock's doing. */
    private static QueueProperties slowHeartbeats(String workerId) {
        return fastProperties(workerId)
                .withTimings(
                        Duration.ofMillis(200), Duration.ofSeconds(1), Duration.ofSeconds(30), Duration.ofSeconds(1));
    }

    private record Run(String worker, long startedAt, JobContext context) {}

    /** A handler that runs until stopped, or until {@code finish} opens. */
    private static JobHandler blocking(String worker, CopyOnWriteArrayList<Run> runs, CountDownLatch finish) {
        return handler("block", context -> {
            runs.add(new Run(worker, System.nanoTime(), context));
            while (!context.stopRequested()) {
                if (finish.getCount() == 0) {
                    return JobOutcome.succeeded(null);
                }
                try {
                    Thread.sleep(10);
                } catch (InterruptedException e) {
                    // A stop request interrupts; the loop condition decides.
                }
            }
            return JobOutcome.failed("stopped");
        });
    }

    @Test
    void a_crashed_instances_job_runs_again_on_another_instance_within_about_a_second() {
        var runs = new CopyOnWriteArrayList<Run>();
        var finish = new CountDownLatch(1);
        var victim = fixture.node(slowHeartbeats("victim"), blocking("victim", runs, finish));
        victim.start();
        assertThat(victim.liveness()).isEqualTo("lock");
        var id = victim.queue().enqueue(job("block")).job().id();
        await().atMost(Duration.ofSeconds(10)).until(() -> runs.size() == 1);
        var survivor = fixture.node(slowHeartbeats("survivor"), blocking("survivor", runs, finish));
        survivor.start();

        var crashedAt = System.nanoTime();
        victim.crash();
        await().atMost(Duration.ofSeconds(5))
                .pollInterval(Duration.ofMillis(10))
                .until(() -> runs.size() == 2);
        var rerunAfter = Duration.ofNanos(runs.get(1).startedAt() - crashedAt);
        assertThat(runs.get(1).worker()).isEqualTo("survivor");
        // At least the rerun delay (the lost instance's time to stop), and far below the 30 s of stale-after.
        assertThat(rerunAfter).isBetween(Duration.ofMillis(950), Duration.ofSeconds(3));

        finish.countDown();
        await().atMost(Duration.ofSeconds(10)).until(() -> fixture.status(id) == JobStatus.SUCCEEDED);
        assertThat(fixture.sql
                        .sql("SELECT detail FROM job_events WHERE job_id = :id AND type = 'recovered'")
                        .param("id", id)
                        .query(String.class)
                        .single())
                .startsWith("worker victim lost: its database session ended");
        assertThat(fixture.sql
                        .sql("SELECT state FROM workers WHERE id = 'victim'")
                        .query(String.class)
                        .single())
                .isEqualTo("STOPPED");
    }

    @Test
    void an_instance_whose_session_ends_stops_its_job_before_another_instance_starts_it() {
        var runs = new CopyOnWriteArrayList<Run>();
        var stoppedAt = new AtomicLong();
        var finish = new CountDownLatch(1);
        var cut = fixture.node(slowHeartbeats("cut"), handler("block", context -> {
            runs.add(new Run("cut", System.nanoTime(), context));
            context.onStop(() -> stoppedAt.compareAndSet(0, System.nanoTime()));
            while (!context.stopRequested() && finish.getCount() > 0) {
                Thread.sleep(5);
            }
            return context.stopRequested() ? JobOutcome.failed("stopped") : JobOutcome.succeeded(null);
        }));
        cut.start();
        var id = cut.queue().enqueue(job("block")).job().id();
        await().atMost(Duration.ofSeconds(10)).until(() -> runs.size() == 1);
        var other = fixture.node(slowHeartbeats("other"), blocking("other", runs, finish));
        other.start();

        // The server ends the session holding the lock (as after a network cut caught by keepalives): the lock
        // is gone at once, the instance learns it only from its next probe.
        var pid = cut.livenessLock().backendPid();
        fixture.sql
                .sql("SELECT pg_terminate_backend(:pid)")
                .param("pid", pid)
                .query()
                .singleRow();

        await().atMost(Duration.ofSeconds(5))
                .pollInterval(Duration.ofMillis(10))
                .until(() -> runs.size() == 2);
        assertThat(runs.getFirst().context().stopReason()).isEqualTo(JobContext.StopReason.LIVENESS_LOST);
        assertThat(stoppedAt.get())
                .as("the cut instance stopped first")
                .isPositive()
                .isLessThan(runs.get(1).startedAt());
        // Either instance may run it again (the cut one takes a new lock within moments): what matters is the order.
        assertThat(runs.get(1).worker()).isIn("other", "cut");

        finish.countDown();
        await().atMost(Duration.ofSeconds(10)).until(() -> fixture.status(id) == JobStatus.SUCCEEDED);
        assertThat(fixture.sql
                        .sql("SELECT count(*) FROM job_events WHERE job_id = :id AND type = 'succeeded'")
                        .param("id", id)
                        .query(Long.class)
                        .single())
                .isEqualTo(1);
        // The cut instance takes a new lock on a new session and works again.
        await().atMost(Duration.ofSeconds(5)).until(() -> "lock".equals(cut.liveness()));
        assertThat(cut.livenessLock().backendPid()).isNotEqualTo(pid);
    }

    @Test
    void a_frozen_instance_keeps_its_lock_and_loses_its_job_only_after_stale_after() throws Exception {
        var runs = new CopyOnWriteArrayList<Run>();
        var finish = new CountDownLatch(1);
        var frozen = fixture.node(
                fastProperties("frozen")
                        .withTimings(
                                Duration.ofMillis(200),
                                Duration.ofMillis(500),
                                Duration.ofSeconds(3),
                                Duration.ofMillis(300)),
                blocking("frozen", runs, finish));
        frozen.start();
        var id = frozen.queue().enqueue(job("block")).job().id();
        await().atMost(Duration.ofSeconds(10)).until(() -> runs.size() == 1);
        var other = fixture.node(
                fastProperties("other")
                        .withTimings(
                                Duration.ofMillis(200),
                                Duration.ofMillis(500),
                                Duration.ofSeconds(3),
                                Duration.ofMillis(300)),
                blocking("other", runs, finish));
        other.start();

        var frozenAt = System.nanoTime();
        frozen.pauseHeartbeats(true);
        Thread.sleep(1500);
        assertThat(runs).hasSize(1);
        await().atMost(Duration.ofSeconds(8))
                .pollInterval(Duration.ofMillis(20))
                .until(() -> runs.size() == 2);
        assertThat(Duration.ofNanos(runs.get(1).startedAt() - frozenAt)).isGreaterThan(Duration.ofMillis(2500));
        finish.countDown();
        await().atMost(Duration.ofSeconds(10)).until(() -> fixture.status(id) == JobStatus.SUCCEEDED);
    }

    @Test
    void with_liveness_locks_off_a_crashed_instances_job_waits_for_stale_after() throws Exception {
        var runs = new CopyOnWriteArrayList<Run>();
        var finish = new CountDownLatch(1);
        var timings = fastProperties("off")
                .withTimings(
                        Duration.ofMillis(200), Duration.ofMillis(500), Duration.ofSeconds(3), Duration.ofMillis(300))
                .withLiveness("off", Duration.ofSeconds(1));
        var victim = fixture.node(timings, blocking("off", runs, finish));
        victim.start();
        assertThat(victim.liveness()).isEqualTo("heartbeat-only (LIVENESS_LOCKS=off)");
        var id = victim.queue().enqueue(job("block")).job().id();
        await().atMost(Duration.ofSeconds(10)).until(() -> runs.size() == 1);
        assertThat(fixture.sql
                        .sql("SELECT liveness_key FROM workers WHERE id = 'off'")
                        .query(Long.class)
                        .optional())
                .isEmpty();
        var other = fixture.node(
                timings.withWorkerId("other").withLiveness("auto", Duration.ofSeconds(1)),
                blocking("other", runs, finish));
        other.start();

        var crashedAt = System.nanoTime();
        victim.crash();
        Thread.sleep(1500);
        assertThat(runs).hasSize(1);
        await().atMost(Duration.ofSeconds(8))
                .pollInterval(Duration.ofMillis(20))
                .until(() -> runs.size() == 2);
        assertThat(Duration.ofNanos(runs.get(1).startedAt() - crashedAt)).isGreaterThan(Duration.ofMillis(2000));
        finish.countDown();
        await().atMost(Duration.ofSeconds(10)).until(() -> fixture.status(id) == JobStatus.SUCCEEDED);
    }

    @Test
    void an_instance_restarted_with_the_same_worker_id_takes_back_its_predecessors_jobs_at_once() {
        var runs = new CopyOnWriteArrayList<Run>();
        var finish = new CountDownLatch(1);
        var first = fixture.node(slowHeartbeats("fixed-id"), blocking("first", runs, finish));
        first.start();
        var id = first.queue().enqueue(job("block")).job().id();
        await().atMost(Duration.ofSeconds(10)).until(() -> runs.size() == 1);
        first.crash();

        var second = fixture.node(slowHeartbeats("fixed-id"), blocking("second", runs, finish));
        finish.countDown();
        second.start();
        await().atMost(Duration.ofSeconds(5)).until(() -> fixture.status(id) == JobStatus.SUCCEEDED);
        assertThat(runs.getLast().worker()).isEqualTo("second");
        assertThat(fixture.eventTypes(id)).containsSubsequence("claimed", "recovered", "claimed", "succeeded");
    }
}
