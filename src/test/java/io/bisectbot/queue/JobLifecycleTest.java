package io.bisectbot.queue;

import static io.bisectbot.queue.QueueFixture.fastProperties;
import static io.bisectbot.queue.QueueFixture.handler;
import static io.bisectbot.queue.QueueFixture.job;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class JobLifecycleTest {

    private final QueueFixture fixture = new QueueFixture();

    @AfterEach
    void close() {
        fixture.close();
    }

    @Test
    void a_job_failing_every_time_fails_after_max_attempts_with_backoff_between_attempts() {
        var attemptsAt = new CopyOnWriteArrayList<Instant>();
        var node = fixture.node(
                fastProperties("w1").withRetryBackoff(Duration.ofMillis(300), Duration.ofSeconds(5)),
                handler("flaky", context -> {
                    attemptsAt.add(Instant.now());
                    throw new IllegalStateException("boom " + context.attempt());
                }));
        var id = node.queue().enqueue(job("flaky").withMaxAttempts(3)).job().id();
        node.start();

        await().atMost(Duration.ofSeconds(15)).until(() -> fixture.status(id) == JobStatus.FAILED);
        var job = node.queue().find(id).orElseThrow();
        assertThat(job.attemptCount()).isEqualTo(3);
        assertThat(job.lastError()).contains("boom 3").contains("attempt 3 of 3");
        assertThat(attemptsAt).hasSize(3);
        // Second attempt waits 150-300 ms, third 300-600 ms (jittered doubling).
        assertThat(Duration.between(attemptsAt.get(0), attemptsAt.get(1)))
                .isGreaterThanOrEqualTo(Duration.ofMillis(150));
        assertThat(Duration.between(attemptsAt.get(1), attemptsAt.get(2)))
                .isGreaterThanOrEqualTo(Duration.ofMillis(300));
        assertThat(fixture.eventTypes(id))
                .containsExactly("claimed", "retry_scheduled", "claimed", "retry_scheduled", "claimed", "failed");
    }

    /** Throws any Throwable, checked or not, past the compiler. */
    @SuppressWarnings("unchecked")
    private static <T extends Throwable> void sneakyThrow(Throwable t) throws T {
        throw (T) t;
    }

    @Test
    void a_handler_that_throws_any_throwable_ends_its_attempt_and_the_worker_goes_on() {
        var node = fixture.node(fastProperties("w1").withMaxConcurrentJobs(1), handler("throws", context -> {
            switch (context.payload().path("what").asString()) {
                case "error" -> throw new NoClassDefFoundError("com/acme/Missing");
                case "assertion" -> throw new AssertionError("invariant broken");
                case "throwable" -> sneakyThrow(new Throwable("a bare Throwable"));
                default -> {
                    return JobOutcome.succeeded(null);
                }
            }
            return JobOutcome.succeeded(null);
        }));
        var ids = new java.util.ArrayList<Long>();
        for (var what : java.util.List.of("error", "assertion", "throwable", "fine")) {
            ids.add(node.queue()
                    .enqueue(NewJob.of(
                                    "throws",
                                    QueueFixture.JSON.createObjectNode().put("what", what))
                            .withMaxAttempts(1))
                    .job()
                    .id());
        }
        node.start();
        await().atMost(Duration.ofSeconds(10)).until(() -> fixture.status(ids.getLast()) == JobStatus.SUCCEEDED);
        assertThat(ids.subList(0, 3))
                .allSatisfy(id -> assertThat(fixture.status(id)).isEqualTo(JobStatus.FAILED));
        assertThat(node.queue().find(ids.get(0)).orElseThrow().lastError()).contains("com/acme/Missing");
        assertThat(node.queue().find(ids.get(2)).orElseThrow().lastError()).contains("a bare Throwable");
        assertThat(node.runningJobs()).isZero();
    }

    @Test
    void a_permanent_failure_is_not_retried() {
        var node = fixture.node(
                fastProperties("w1"),
                handler("bad-input", context -> JobOutcome.failedPermanently("ref 'nope' does not exist")));
        var id = node.queue().enqueue(job("bad-input")).job().id();
        node.start();
        await().atMost(Duration.ofSeconds(10)).until(() -> fixture.status(id) == JobStatus.FAILED);
        assertThat(node.queue().find(id).orElseThrow().attemptCount()).isEqualTo(1);
        assertThat(node.queue().find(id).orElseThrow().lastError()).isEqualTo("ref 'nope' does not exist");
    }

    @Test
    void graceful_shutdown_releases_running_jobs_without_counting_the_attempt_and_another_instance_finishes_them() {
        var ranOn = new CopyOnWriteArrayList<String>();
        var sleepy = handler("long", context -> {
            ranOn.add(context.job().workerId());
            if (context.job().workerId().equals("leaving")) {
                Thread.sleep(60_000);
            }
            return JobOutcome.succeeded(null);
        });
        var leaving = fixture.node(fastProperties("leaving").withShutdownGrace(Duration.ofMillis(300)), sleepy);
        var id = leaving.queue().enqueue(job("long").withMaxAttempts(1)).job().id();
        leaving.start();
        await().atMost(Duration.ofSeconds(10)).until(() -> fixture.status(id) == JobStatus.RUNNING);

        assertThat(leaving.isDraining()).isFalse();
        leaving.shutdown();
        assertThat(leaving.isDraining())
                .as("/health says draining from here on")
                .isTrue();

        var released = leaving.queue().find(id).orElseThrow();
        assertThat(released.status()).isEqualTo(JobStatus.PENDING);
        assertThat(released.attemptCount())
                .as("a release does not use up an attempt")
                .isZero();
        assertThat(fixture.eventTypes(id)).containsExactly("claimed", "released");
        assertThat(fixture.sql
                        .sql("SELECT state FROM workers WHERE id = 'leaving'")
                        .query(String.class)
                        .single())
                .isEqualTo("STOPPED");

        var staying = fixture.node(fastProperties("staying"), sleepy);
        staying.start();
        await().atMost(Duration.ofSeconds(10)).until(() -> fixture.status(id) == JobStatus.SUCCEEDED);
        assertThat(staying.queue().find(id).orElseThrow().attemptCount()).isEqualTo(1);
        assertThat(ranOn).containsExactly("leaving", "staying");
    }

    @Test
    void graceful_shutdown_lets_a_job_finish_within_the_grace_period() {
        var node = fixture.node(
                fastProperties("w1").withShutdownGrace(Duration.ofSeconds(5)), handler("short", context -> {
                    Thread.sleep(500);
                    return JobOutcome.succeeded(null);
                }));
        var id = node.queue().enqueue(job("short")).job().id();
        node.start();
        await().atMost(Duration.ofSeconds(10)).until(() -> fixture.status(id) == JobStatus.RUNNING);
        node.shutdown();
        assertThat(fixture.status(id)).isEqualTo(JobStatus.SUCCEEDED);
    }

    @Test
    void retry_creates_a_new_linked_job_and_leaves_the_original_as_it_was() {
        var node = fixture.node(fastProperties("w1"), handler("nope", context -> JobOutcome.failedPermanently("no")));
        var id = node.queue().enqueue(job("nope")).job().id();
        node.start();
        await().atMost(Duration.ofSeconds(10)).until(() -> fixture.status(id) == JobStatus.FAILED);

        var retry = node.queue().retry(id).orElseThrow();
        assertThat(retry.created()).isTrue();
        assertThat(retry.job().id()).isNotEqualTo(id);
        assertThat(retry.job().retryOf()).isEqualTo(id);
        assertThat(node.queue().retry(id).orElseThrow().job().id())
                .as("retrying twice returns the first retry")
                .isEqualTo(retry.job().id());
        assertThat(fixture.status(id)).isEqualTo(JobStatus.FAILED);
        assertThat(fixture.eventTypes(id)).endsWith("retried");
        await().atMost(Duration.ofSeconds(10))
                .until(() -> fixture.status(retry.job().id()) == JobStatus.FAILED);
    }

    @Test
    void a_retry_belongs_to_the_same_tenant_as_the_job_it_retries() {
        var queue = fixture.queue("noop");
        var id = queue.enqueue(job("noop")
                        .withTenant("installation:42")
                        .withRunAt(Instant.now().plusSeconds(3600)))
                .job()
                .id();
        queue.cancel(id).orElseThrow();

        var retry = queue.retry(id).orElseThrow().job();
        assertThat(retry.tenant()).isEqualTo("installation:42");
        assertThat(queue.find(retry.id()).orElseThrow().tenant())
                .as("as stored")
                .isEqualTo("installation:42");

        var untenanted = queue.enqueue(job("noop").withRunAt(Instant.now().plusSeconds(3600)))
                .job()
                .id();
        queue.cancel(untenanted).orElseThrow();
        assertThat(queue.retry(untenanted).orElseThrow().job().tenant()).isNull();
    }

    @Test
    void only_failed_or_cancelled_jobs_can_be_retried() {
        var queue = fixture.queue("noop");
        var id = queue.enqueue(job("noop").withRunAt(Instant.now().plusSeconds(3600)))
                .job()
                .id();
        assertThatThrownBy(() -> queue.retry(id))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("only FAILED or CANCELLED");
        assertThat(queue.retry(999_999)).isEmpty();
    }

    @Test
    void cancelling_a_pending_job_cancels_it_at_once() {
        var queue = fixture.queue("noop");
        var id = queue.enqueue(job("noop").withRunAt(Instant.now().plusSeconds(3600)))
                .job()
                .id();
        assertThat(queue.cancel(id).orElseThrow().status()).isEqualTo(JobStatus.CANCELLED);
        assertThat(fixture.eventTypes(id)).containsExactly("cancelled");
    }

    @Test
    void cancelling_a_running_job_stops_its_handler_and_ends_it_cancelled() {
        var started = new CountDownLatch(1);
        var node = fixture.node(fastProperties("w1"), handler("forever", context -> {
            started.countDown();
            Thread.sleep(60_000);
            return JobOutcome.succeeded(null);
        }));
        var id = node.queue().enqueue(job("forever")).job().id();
        node.start();
        await().atMost(Duration.ofSeconds(10)).until(() -> started.getCount() == 0);
        var asked = System.nanoTime();

        // Asked through another instance: the notification (or the next heartbeat) reaches the running worker.
        fixture.queue("forever").cancel(id);

        await().atMost(Duration.ofSeconds(5)).until(() -> fixture.status(id) == JobStatus.CANCELLED);
        assertThat(Duration.ofNanos(System.nanoTime() - asked)).isLessThan(Duration.ofSeconds(2));
        assertThat(fixture.eventTypes(id)).containsExactly("claimed", "cancel_requested", "cancelled");
    }

    @Test
    void a_handler_that_stops_through_its_listener_is_not_interrupted_and_can_still_write() {
        // An interrupted virtual thread closes the socket it uses: a handler that reports its own cancel needs it.
        var started = new CountDownLatch(1);
        var stop = new CountDownLatch(1);
        var afterStop = new java.util.concurrent.CompletableFuture<String>();
        var node = fixture.node(fastProperties("w1"), handler("reports", context -> {
            context.onStopInsteadOfInterrupt(stop::countDown);
            started.countDown();
            stop.await();
            try (var connection = fixture.admin.getConnection();
                    var query = connection.createStatement().executeQuery("SELECT 'written'")) {
                query.next();
                afterStop.complete(
                        (Thread.currentThread().isInterrupted() ? "interrupted, " : "") + query.getString(1));
            } catch (java.sql.SQLException e) {
                afterStop.complete("failed: " + e.getMessage());
            }
            return JobOutcome.failed("cancelled");
        }));
        var id = node.queue().enqueue(job("reports")).job().id();
        node.start();
        await().atMost(Duration.ofSeconds(10)).until(() -> started.getCount() == 0);

        fixture.queue("reports").cancel(id);

        await().atMost(Duration.ofSeconds(5)).until(() -> fixture.status(id) == JobStatus.CANCELLED);
        assertThat(afterStop).isCompletedWithValue("written");
    }

    @Test
    void a_handler_whose_stop_listener_does_not_end_it_is_interrupted_after_a_grace() {
        // E.g. a container kill that hangs in a wedged engine: the slot must not be held forever.
        var started = new CountDownLatch(1);
        var node = fixture.node(fastProperties("w1"), handler("stuck", context -> {
            context.onStopInsteadOfInterrupt(() -> {});
            started.countDown();
            Thread.sleep(60_000);
            return JobOutcome.succeeded(null);
        }));
        var id = node.queue().enqueue(job("stuck")).job().id();
        node.start();
        await().atMost(Duration.ofSeconds(10)).until(() -> started.getCount() == 0);
        var asked = System.nanoTime();

        fixture.queue("stuck").cancel(id);

        await().atMost(Duration.ofSeconds(15)).until(() -> fixture.status(id) == JobStatus.CANCELLED);
        assertThat(Duration.ofNanos(System.nanoTime() - asked))
                .isGreaterThanOrEqualTo(JobContext.INTERRUPT_AFTER)
                .isLessThan(JobContext.INTERRUPT_AFTER.plusSeconds(5));
    }

    @Test
    void a_handler_that_takes_the_interrupt_back_after_a_stop_is_interrupted_again_after_the_grace() {
        var started = new CountDownLatch(1);
        var node = fixture.node(fastProperties("w1"), handler("late", context -> {
            started.countDown();
            while (!context.stopRequested()) {
                Thread.onSpinWait();
            }
            context.onStopInsteadOfInterrupt(() -> {});
            Thread.sleep(60_000); // its last write, stuck
            return JobOutcome.succeeded(null);
        }));
        var id = node.queue().enqueue(job("late")).job().id();
        node.start();
        await().atMost(Duration.ofSeconds(10)).until(() -> started.getCount() == 0);
        var asked = System.nanoTime();

        fixture.queue("late").cancel(id);

        await().atMost(Duration.ofSeconds(15)).until(() -> fixture.status(id) == JobStatus.CANCELLED);
        assertThat(Duration.ofNanos(System.nanoTime() - asked))
                .isGreaterThanOrEqualTo(JobContext.INTERRUPT_AFTER)
                .isLessThan(JobContext.INTERRUPT_AFTER.plusSeconds(5));
    }

    @Test
    void a_dedup_key_returns_the_existing_job_instead_of_a_second_one() {
        var queue = fixture.queue("noop");
        var first = queue.enqueue(
                job("noop").withDedupKey("delivery-1").withRunAt(Instant.now().plusSeconds(60)));
        var second = queue.enqueue(job("noop").withDedupKey("delivery-1"));
        assertThat(first.created()).isTrue();
        assertThat(second.created()).isFalse();
        assertThat(second.job().id()).isEqualTo(first.job().id());
        var bulk = queue.enqueueAll(
                List.of(job("noop").withDedupKey("delivery-1"), job("noop").withDedupKey("delivery-2")));
        assertThat(bulk).hasSize(1);
        assertThat(fixture.sql
                        .sql("SELECT count(*) FROM jobs")
                        .query(Long.class)
                        .single())
                .isEqualTo(2);
    }

    @Test
    void an_unknown_kind_is_refused_at_enqueue() {
        var queue = fixture.queue("noop");
        assertThatThrownBy(() -> queue.enqueue(job("nonsense")))
                .isInstanceOf(JobQueue.UnknownKindException.class)
                .hasMessageContaining("unknown job kind 'nonsense'")
                .hasMessageContaining("noop");
    }

    @Test
    void a_job_of_a_kind_this_worker_lacks_fails_with_a_clear_error() {
        var id = fixture.queue("legacy")
                .enqueue(job("legacy").withMaxAttempts(1))
                .job()
                .id();
        var node = fixture.node(fastProperties("w1"), handler("other", context -> JobOutcome.succeeded(null)));
        node.start();
        await().atMost(Duration.ofSeconds(10)).until(() -> fixture.status(id) == JobStatus.FAILED);
        assertThat(node.queue().find(id).orElseThrow().lastError()).contains("no handler for job kind 'legacy'");
    }

    @Test
    void jobs_of_a_kind_whose_handler_is_not_ready_stay_queued_until_it_is() {
        var ready = new java.util.concurrent.atomic.AtomicBoolean(false);
        var node = fixture.node(fastProperties("w1"), new JobHandler() {
            @Override
            public String kind() {
                return "needs-docker";
            }

            @Override
            public JobOutcome handle(JobContext context) {
                return JobOutcome.succeeded(null);
            }

            @Override
            public boolean ready() {
                return ready.get();
            }
        });
        var id = node.queue().enqueue(job("needs-docker")).job().id();
        node.start();
        await().during(Duration.ofMillis(800))
                .atMost(Duration.ofSeconds(2))
                .until(() -> fixture.status(id) == JobStatus.PENDING);
        ready.set(true);
        await().atMost(Duration.ofSeconds(5)).until(() -> fixture.status(id) == JobStatus.SUCCEEDED);
    }

    @Test
    void an_idle_worker_starts_a_new_job_within_milliseconds_of_the_enqueue() {
        var startedAt = new CopyOnWriteArrayList<Long>();
        // A long poll interval: only the notification can explain a fast start.
        var node = fixture.node(
                fastProperties("w1")
                        .withTimings(
                                Duration.ofSeconds(30),
                                Duration.ofMillis(200),
                                Duration.ofSeconds(1),
                                Duration.ofMillis(200)),
                handler("quick", context -> {
                    startedAt.add(System.nanoTime());
                    return JobOutcome.succeeded(null);
                }));
        node.start();
        await().pollDelay(Duration.ofMillis(300)).until(() -> true);
        var enqueuedAt = System.nanoTime();
        fixture.queue("quick").enqueue(job("quick"));
        await().atMost(Duration.ofSeconds(5)).until(() -> !startedAt.isEmpty());
        assertThat(Duration.ofNanos(startedAt.getFirst() - enqueuedAt)).isLessThan(Duration.ofMillis(500));
    }
}
