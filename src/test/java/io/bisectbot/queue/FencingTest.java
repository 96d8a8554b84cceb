package io.bisectbot.queue;

import static io.bisectbot.queue.QueueFixture.fastProperties;
import static io.bisectbot.queue.QueueFixture.handler;
import static io.bisectbot.queue.QueueFixture.job;
import static io.bisectbot.queue.QueueFixture.recoveryOnRequest;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.bisectbot.SettableClock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.node.JsonNodeFactory;

class FencingTest {

    /** Past stale-after (1 s) in one step, instead of waiting for it. */
    private static final Duration PAST_STALE_AFTER = Duration.ofSeconds(2);
    /** Past the retry backoff of a taken-back attempt (at most 400 ms). */
    private static final Duration PAST_RETRY_BACKOFF = Duration.ofSeconds(1);

    private final QueueFixture fixture = QueueFixture.onSettableClock();
    private final SettableClock clock = fixture.settableClock();

    @AfterEach
    void close() {
        fixture.close();
    }

    @Test
    void a_frozen_instance_loses_its_job_and_its_late_result_is_rejected_by_the_fence() {
        var frozenMayFinish = new CountDownLatch(1);
        var frozenFinished = new AtomicBoolean();
        var work = handler("work", context -> {
            if (context.job().workerId().equals("frozen")) {
                // Stands for a process that stops (GC pause, SIGSTOP) and later resumes as if nothing happened.
                while (frozenMayFinish.getCount() > 0) {
                    try {
                        frozenMayFinish.await();
                    } catch (InterruptedException ignored) {
                        // A frozen process does not notice being told to stop.
                    }
                }
                frozenFinished.set(true);
                return JobOutcome.succeeded(
                        JsonNodeFactory.instance.objectNode().put("by", "frozen"));
            }
            return JobOutcome.succeeded(JsonNodeFactory.instance
                    .objectNode()
                    .put("by", context.job().workerId()));
        });
        var frozen = fixture.node(recoveryOnRequest("frozen"), work);
        var id = frozen.queue().enqueue(job("work")).job().id();
        frozen.start();
        await().atMost(Duration.ofSeconds(10)).until(() -> fixture.status(id) == JobStatus.RUNNING);

        frozen.pauseHeartbeats(true);
        clock.tick(PAST_STALE_AFTER);
        var healthy = fixture.node(recoveryOnRequest("healthy"), work);
        healthy.start();
        assertThat(healthy.recoverNow()).isEqualTo(1);
        clock.tick(PAST_RETRY_BACKOFF);

        await().atMost(Duration.ofSeconds(10)).until(() -> fixture.status(id) == JobStatus.SUCCEEDED);
        var done = healthy.queue().find(id).orElseThrow();
        assertThat(done.workerId()).isEqualTo("healthy");
        assertThat(done.attemptCount()).isEqualTo(2);
        assertThat(done.result().get("by").asString()).isEqualTo("healthy");

        // The frozen instance wakes up and reports its stale result: the fence rejects it.
        frozen.pauseHeartbeats(false);
        frozenMayFinish.countDown();
        await().atMost(Duration.ofSeconds(10))
                .until(() -> fixture.eventTypes(id).contains("result_discarded"));
        assertThat(frozenFinished).isTrue();
        var after = healthy.queue().find(id).orElseThrow();
        assertThat(after.result().get("by").asString()).isEqualTo("healthy");
        assertThat(after.status()).isEqualTo(JobStatus.SUCCEEDED);
        assertThat(fixture.eventTypes(id))
                .containsSubsequence("claimed", "recovered", "claimed", "succeeded", "result_discarded");
    }

    @Test
    void a_worker_that_resumes_heartbeating_learns_it_lost_the_job_and_stops_it() {
        var stopped = new CountDownLatch(1);
        var reasons = new java.util.concurrent.CopyOnWriteArrayList<JobContext.StopReason>();
        var slow = fixture.node(recoveryOnRequest("slow"), handler("work", context -> {
            try {
                Thread.sleep(60_000);
            } catch (InterruptedException e) {
                reasons.add(context.stopReason());
                stopped.countDown();
                throw e;
            }
            return JobOutcome.succeeded(null);
        }));
        var id = slow.queue().enqueue(job("work").withMaxAttempts(5)).job().id();
        slow.start();
        await().atMost(Duration.ofSeconds(10)).until(() -> fixture.status(id) == JobStatus.RUNNING);
        slow.pauseHeartbeats(true);
        clock.tick(PAST_STALE_AFTER);
        // Its own recovery pass (or any other instance's) takes the job back; the same worker may even claim it again.
        slow.recoverNow();
        await().atMost(Duration.ofSeconds(10))
                .until(() -> fixture.eventTypes(id).contains("recovered"));
        slow.pauseHeartbeats(false);
        await().atMost(Duration.ofSeconds(10)).until(() -> stopped.getCount() == 0);
        assertThat(reasons).contains(JobContext.StopReason.FENCE_LOST);
    }

    @Test
    void a_heartbeat_that_crosses_the_write_of_the_result_leaves_the_finished_job_alone() throws Exception {
        var contexts = new java.util.concurrent.CopyOnWriteArrayList<JobContext>();
        var mayFinish = new CountDownLatch(1);
        var node = fixture.node(fastProperties("w"), handler("work", context -> {
            contexts.add(context);
            mayFinish.await();
            return JobOutcome.succeeded(null);
        }));
        var id = node.queue().enqueue(job("work")).job().id();
        node.start();
        await().atMost(Duration.ofSeconds(10)).until(() -> !contexts.isEmpty());
        var fence = contexts.getFirst().fence();
        try (var connection = fixture.admin.getConnection()) {
            // Holding the job's row makes the result's write wait, so the heartbeat answer below crosses it.
            connection.setAutoCommit(false);
            try (var lock = connection.prepareStatement("SELECT id FROM jobs WHERE id = ? FOR UPDATE")) {
                lock.setLong(1, id);
                lock.executeQuery().close();
            }
            mayFinish.countDown();
            await().atMost(Duration.ofSeconds(10)).until(() -> node.worker().resultInFlight(fence));
            node.worker().onHeartbeat(List.of(fence), java.util.Map.of()); // as if the write had committed first
            assertThat(contexts.getFirst().stopReason()).isNull();
            connection.commit();
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> fixture.status(id) == JobStatus.SUCCEEDED);
        assertThat(fixture.eventTypes(id)).doesNotContain("result_discarded");
    }

    @Test
    void a_heartbeat_answers_per_attempt_when_one_worker_holds_two_attempts_of_a_job() {
        var repository = new JobRepository(fixture.admin, QueueFixture.JSON);
        var id = fixture.queue("work").enqueue(job("work")).job().id();
        var now = java.time.Instant.now();
        var first =
                repository.claim("w", 1, java.util.List.of(), now).getFirst().fence();
        // Taken back (as recovery does after a lost heartbeat) and claimed again by the same worker.
        repository.applyTransitions(
                java.util.List.of(Transition.retryLater(first, "lost", Duration.ZERO, "recovered")), now, null);
        var second =
                repository.claim("w", 1, java.util.List.of(), now).getFirst().fence();
        assertThat(second.jobId()).isEqualTo(id);
        assertThat(second.attempt()).isEqualTo(2);

        var alive = repository.heartbeat(
                new JobRepository.WorkerRow("w", now, "RUNNING", "test", 2), java.util.List.of(first, second), now);
        assertThat(alive).containsOnlyKeys(second); // the first attempt is over and must be stopped
    }
}
