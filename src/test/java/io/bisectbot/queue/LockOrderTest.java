package io.bisectbot.queue;

import static io.bisectbot.queue.QueueFixture.job;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CyclicBarrier;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * A worker's heartbeat and its completion batches update the same running rows from two connections at once.
 * They must lock those rows in one order, or PostgreSQL detects a deadlock (after deadlock_timeout, 1 s by
 * default) and aborts one of them: a stalled batch and a spurious error, or a lost heartbeat.
 */
class LockOrderTest {

    @Test
    void a_heartbeat_and_a_completion_batch_on_the_same_jobs_do_not_deadlock() throws Exception {
        try (var fixture = new QueueFixture()) {
            var repository = new JobRepository(fixture.admin, QueueFixture.JSON);
            fixture.queue("work")
                    .enqueueAll(
                            IntStream.range(0, 300).mapToObj(i -> job("work")).toList());
            var worker = new JobRepository.WorkerRow("w", Instant.now(), "RUNNING", "test", 300);
            var errors = new ArrayList<Throwable>();
            for (int round = 0; round < 15; round++) {
                var now = Instant.now();
                var fences = repository.claim("w", 300, List.of(), now).stream()
                        .map(Job::fence)
                        .toList();
                assertThat(fences).hasSize(300);
                // Opposite orders, as the worker's running-set order and the finishing order can be.
                var descending = fences.stream()
                        .sorted(Comparator.comparingLong(JobFence::jobId).reversed())
                        .toList();
                var released = fences.stream().map(Transition::released).toList();
                var start = new CyclicBarrier(2);
                var heartbeat = CompletableFuture.runAsync(() -> {
                    await(start);
                    repository.heartbeat(worker, descending, now);
                });
                var completion = CompletableFuture.runAsync(() -> {
                    await(start);
                    repository.applyTransitions(released, now, null);
                });
                for (var future : List.of(heartbeat, completion)) {
                    try {
                        future.join();
                    } catch (RuntimeException e) {
                        errors.add(e.getCause() != null ? e.getCause() : e);
                    }
                }
                assertThat(errors).as("round %d", round).isEmpty();
                assertThat(fixture.sql
                                .sql("SELECT count(*) FROM jobs WHERE status = 'PENDING'")
                                .query(Long.class)
                                .single())
                        .isEqualTo(300);
            }
        }
    }

    private static void await(CyclicBarrier barrier) {
        try {
            barrier.await();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
