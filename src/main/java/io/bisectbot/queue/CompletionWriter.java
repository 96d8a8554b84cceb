package io.bisectbot.queue;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes job transitions in batches: whatever finished while the previous batch was being written goes out in the
 * next single statement, so a busy worker pays one round trip for many jobs and an idle one waits for none.
 * A batch that fails (database away) is retried until it is written or the writer is closed; nothing is dropped.
 * Two writers take turns: while one batch is in flight the next one goes out on another connection, so a slow round
 * trip (a loaded machine) does not hold every finished job back. Their batches are disjoint, and each locks its
 * rows in id order like the heartbeat, so they never deadlock.
 */
final class CompletionWriter {

    private static final Logger log = LoggerFactory.getLogger(CompletionWriter.class);
    private static final int WRITERS = 2;

    private record Pending(Transition transition, CompletableFuture<Boolean> applied) {}

    private final JobRepository repository;
    private final Clock clock;
    private final int batchSize;
    private final LinkedBlockingQueue<Pending> queue = new LinkedBlockingQueue<>();
    private final List<Thread> threads = new ArrayList<>();
    private volatile boolean closed;

    CompletionWriter(JobRepository repository, Clock clock, int batchSize, String workerId) {
        this.repository = repository;
        this.clock = clock;
        this.batchSize = batchSize;
        for (int i = 0; i < WRITERS; i++) {
            threads.add(Thread.ofPlatform()
                    .name("completions-" + workerId + (i == 0 ? "" : "-" + i))
                    .daemon()
                    .unstarted(this::run));
        }
    }

    void start() {
        threads.forEach(Thread::start);
    }

    /** Completes with whether the fence still held (true: stored; false: the attempt was no longer this worker's). */
    CompletableFuture<Boolean> submit(Transition transition) {
        var pending = new Pending(transition, new CompletableFuture<>());
        if (closed) {
            pending.applied.completeExceptionally(new IllegalStateException("completion writer is closed"));
        } else {
            queue.add(pending);
        }
        return pending.applied;
    }

    /** Stops after writing what is queued, waiting at most {@code wait}; what is left fails its futures. */
    void close(Duration wait) {
        closed = true;
        var deadline = System.nanoTime() + wait.toNanos();
        while (!queue.isEmpty() && System.nanoTime() < deadline) {
            sleep(Duration.ofMillis(10));
        }
        threads.forEach(Thread::interrupt);
        for (var thread : threads) {
            try {
                thread.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())) + 1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        Pending left;
        while ((left = queue.poll()) != null) {
            left.applied.completeExceptionally(new IllegalStateException("not written before shutdown"));
        }
    }

    private void run() {
        var batch = new ArrayList<Pending>(batchSize);
        while (true) {
            try {
                batch.add(queue.take());
            } catch (InterruptedException e) {
                return;
            }
            queue.drainTo(batch, batchSize - 1);
            if (!write(batch)) {
                batch.forEach(
                        p -> p.applied.completeExceptionally(new IllegalStateException("not written before shutdown")));
                return;
            }
            batch.clear();
        }
    }

    private boolean write(List<Pending> batch) {
        var transitions = batch.stream().map(Pending::transition).toList();
        var delay = Duration.ofMillis(100);
        while (true) {
            try {
                var moved = repository.applyTransitions(transitions, clock.instant(), null);
                batch.forEach(p ->
                        p.applied.complete(moved.contains(p.transition.fence().jobId())));
                return true;
            } catch (RuntimeException e) {
                log.warn(
                        "Could not store {} job results, retrying in {} ms: {}",
                        batch.size(),
                        delay.toMillis(),
                        Failures.brief(e));
                if (!sleep(delay) || (closed && Thread.currentThread().isInterrupted())) {
                    return false;
                }
                delay = delay.multipliedBy(2).compareTo(Duration.ofSeconds(5)) > 0
                        ? Duration.ofSeconds(5)
                        : delay.multipliedBy(2);
            }
        }
    }

    private static boolean sleep(Duration duration) {
        try {
            Thread.sleep(duration);
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
