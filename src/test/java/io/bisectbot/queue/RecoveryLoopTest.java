package io.bisectbot.queue;

import static io.bisectbot.queue.QueueFixture.handler;
import static io.bisectbot.queue.QueueFixture.job;
import static io.bisectbot.queue.QueueFixture.recoveryOnRequest;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.bisectbot.SettableClock;
import io.bisectbot.loop.Backoff;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Taking back the jobs of lost workers, on a clock the tests move: nothing waits for stale-after to pass. */
class RecoveryLoopTest {

    private static final Duration STALE_AFTER = Duration.ofSeconds(1);
    private static final Duration PAST_STALE_AFTER = Duration.ofSeconds(2);

    private final QueueFixture fixture = QueueFixture.onSettableClock();
    private final SettableClock clock = fixture.settableClock();
    private final JobRepository repository = new JobRepository(fixture.admin, QueueFixture.JSON);
    private final JobQueue queue = fixture.queue("work");
    /** When this instance last failed to store its own heartbeat; null: never. */
    private final AtomicReference<Instant> ownHeartbeatFailedAt = new AtomicReference<>();

    private final RecoveryLoop recovery = new RecoveryLoop(
            repository,
            clock,
            STALE_AFTER,
            new Backoff(Duration.ofMillis(100), Duration.ofMillis(400), new Random(1)),
            new QueueMetrics(new SimpleMeterRegistry()),
            Duration.ofSeconds(1),
            ownHeartbeatFailedAt::get);

    @AfterEach
    void close() {
        fixture.close();
    }

    /** A job claimed by {@code workerId} now, as a worker that then stops heartbeating leaves it. */
    private long runningJob(String workerId, int maxAttempts) {
        var id = queue.enqueue(job("work").withMaxAttempts(maxAttempts)).job().id();
        var claimed = repository.claim(workerId, 1, List.of(), clock.instant());
        assertThat(claimed).extracting(Job::id).containsExactly(id);
        return id;
    }

    @Test
    void a_job_without_a_heartbeat_for_stale_after_goes_back_to_pending_after_a_backoff() {
        var id = runningJob("gone", 3);
        clock.tick(PAST_STALE_AFTER);

        assertThat(recovery.recover()).isEqualTo(1);
        var job = repository.find(id).orElseThrow();
        assertThat(job.status()).isEqualTo(JobStatus.PENDING);
        assertThat(job.runAt()).isAfter(clock.instant());
        assertThat(job.lastError()).contains("worker gone lost: no heartbeat since");
        assertThat(fixture.eventTypes(id)).containsExactly("claimed", "recovered");
    }

    @Test
    void a_job_whose_heartbeat_is_younger_than_stale_after_is_left_alone() {
        var id = runningJob("alive", 3);
        clock.tick(STALE_AFTER.dividedBy(2));

        assertThat(recovery.recover()).isZero();
        assertThat(fixture.status(id)).isEqualTo(JobStatus.RUNNING);
    }

    @Test
    void a_lost_job_whose_cancel_was_requested_ends_cancelled() {
        var id = runningJob("gone", 3);
        queue.cancel(id, "test");
        clock.tick(PAST_STALE_AFTER);

        assertThat(recovery.recover()).isEqualTo(1);
        assertThat(fixture.status(id)).isEqualTo(JobStatus.CANCELLED);
    }

    @Test
    void an_instance_just_back_from_an_outage_takes_nothing_until_stale_after_passed_since() {
        var id = runningJob("elsewhere", 3);
        clock.tick(PAST_STALE_AFTER);
        // Its own heartbeat failed moments ago: the other workers may not have reached the database either.
        ownHeartbeatFailedAt.set(clock.instant().minusMillis(100));

        assertThat(recovery.recover()).isZero();
        assertThat(fixture.status(id)).isEqualTo(JobStatus.RUNNING);

        clock.tick(PAST_STALE_AFTER);
        assertThat(recovery.recover()).isEqualTo(1);
    }

    @Test
    void at_start_the_jobs_left_running_under_its_own_worker_id_are_taken_back_at_once() {
        var id = runningJob("w1", 3);

        assertThat(recovery.recoverLeftovers("w1")).isEqualTo(1);
        var job = repository.find(id).orElseThrow();
        assertThat(job.status()).isEqualTo(JobStatus.PENDING);
        assertThat(job.lastError()).contains("worker w1 restarted");
        assertThat(recovery.recoverLeftovers("someone-else")).isZero();
    }

    @Test
    void a_job_whose_worker_died_fails_when_no_attempt_is_left_saying_which_worker_was_lost() {
        // Heartbeats only: its jobs are found by their stale heartbeat, not by a lost liveness lock.
        var dying = fixture.node(
                recoveryOnRequest("dying").withLiveness("off", Duration.ofSeconds(1)), handler("work", context -> {
                    Thread.sleep(60_000);
                    return JobOutcome.succeeded(null);
                }));
        var id = dying.queue().enqueue(job("work").withMaxAttempts(1)).job().id();
        dying.start();
        await().atMost(Duration.ofSeconds(10)).until(() -> fixture.status(id) == JobStatus.RUNNING);
        dying.crash();
        clock.tick(PAST_STALE_AFTER);

        var survivor =
                fixture.node(recoveryOnRequest("survivor"), handler("work", context -> JobOutcome.succeeded(null)));
        survivor.start();
        assertThat(survivor.recoverNow()).isEqualTo(1);
        await().atMost(Duration.ofSeconds(10)).until(() -> fixture.status(id) == JobStatus.FAILED);
        assertThat(survivor.queue().find(id).orElseThrow().lastError())
                .contains("worker dying lost")
                .contains("no attempts left");
        await().atMost(Duration.ofSeconds(5))
                .until(() -> "STOPPED"
                        .equals(fixture.sql
                                .sql("SELECT state FROM workers WHERE id = 'dying'")
                                .query(String.class)
                                .single()));
    }

    @Test
    void recovery_by_several_instances_at_once_moves_each_job_once() throws Exception {
        var dying = fixture.node(recoveryOnRequest("dying").withMaxConcurrentJobs(20), handler("work", context -> {
            Thread.sleep(60_000);
            return JobOutcome.succeeded(null);
        }));
        var ids = dying.queue()
                .enqueueAll(java.util.stream.IntStream.range(0, 20)
                        .mapToObj(i -> job("work"))
                        .toList());
        dying.start();
        await().atMost(Duration.ofSeconds(10)).until(() -> dying.queue().stats().running() == 20);
        dying.crash();
        clock.tick(PAST_STALE_AFTER); // every job is now stale

        var recoverers = java.util.stream.IntStream.range(0, 4)
                .mapToObj(i ->
                        fixture.node(recoveryOnRequest("r" + i), handler("unused", c -> JobOutcome.succeeded(null))))
                .toList();
        var pool = java.util.concurrent.Executors.newFixedThreadPool(4);
        var total = 0;
        for (var f : pool.invokeAll(recoverers.stream()
                .map(r -> (java.util.concurrent.Callable<Integer>) r::recoverNow)
                .toList())) {
            total += f.get();
        }
        pool.shutdown();
        assertThat(total).isEqualTo(20);
        for (var id : ids) {
            assertThat(fixture.eventTypes(id)).containsOnlyOnce("recovered");
        }
    }
}
