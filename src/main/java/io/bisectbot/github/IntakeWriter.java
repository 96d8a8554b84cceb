package io.bisectbot.github;

import io.bisectbot.queue.JobQueue;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Group commit for webhook intake: requests hand their delivery to a few writers, each of which stores everything
 * waiting in one transaction (one commit, one job insert, one notification for the lot) and then answers the
 * requests. Under load batches grow by themselves; idle, a delivery is written at once. The answer is only given
 * after the commit, so a 2xx still means the delivery is stored and its job enqueued.
 */
final class IntakeWriter implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(IntakeWriter.class);
    static final int MAX_BATCH = 200;

    /** The writers could not store the delivery in time (database slow or down). */
    static final class Unavailable extends Exception {
        Unavailable(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** The delivery's installation has its cap of pending jobs; nothing was stored. */
    static final class InstallationOverCap extends Exception {
        InstallationOverCap(String message) {
            super(message);
        }
    }

    private record Pending(Deliveries.Incoming delivery, CompletableFuture<Boolean> created) {}

    private final Deliveries deliveries;
    private final JobQueue queue;
    private final Deliveries.PendingJobs pending;
    private final BlockingQueue<Pending> waiting;
    private final List<Thread> writers = new ArrayList<>();
    private volatile boolean closed;

    IntakeWriter(Deliveries deliveries, JobQueue queue, int writers, int capacity) {
        this(deliveries, queue, null, writers, capacity);
    }

    /** With {@code pending}, deliveries of an installation at its cap of pending jobs are refused before the batch. */
    IntakeWriter(Deliveries deliveries, JobQueue queue, Deliveries.PendingJobs pending, int writers, int capacity) {
        this.deliveries = deliveries;
        this.queue = queue;
        this.pending = pending;
        this.waiting = new ArrayBlockingQueue<>(capacity);
        for (int i = 0; i < writers; i++) {
            this.writers.add(
                    Thread.ofPlatform().name("github-intake-" + i).daemon().start(this::run));
        }
    }

    /**
     * Stores the delivery and enqueues its job; true when new, false when the delivery id was seen before.
     *
     * @throws InstallationOverCap when the delivery's installation has its cap of pending jobs: only that
     *                             installation waits, others are stored as usual
     */
    boolean record(Deliveries.Incoming delivery, Duration timeout)
            throws Unavailable, InstallationOverCap, InterruptedException {
        if (closed) {
            throw new Unavailable("the instance is shutting down", null);
        }
        // The count is at most a second old (the loop that counts pending jobs); the enqueue checks the cap again.
        if (pending != null && pending.atCap(delivery.installationId())) {
            throw new InstallationOverCap("installation " + delivery.installationId() + " has its cap of pending jobs "
                    + "(MAX_PENDING_PER_INSTALLATION); try again later");
        }
        var pending = new Pending(delivery, new CompletableFuture<>());
        // A full line is answered at once: waiting for room would only add seconds to every later request.
        if (!waiting.offer(pending)) {
            throw new Unavailable("too many deliveries are waiting to be stored", null);
        }
        try {
            return pending.created().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof JobQueue.TenantOverCap overCap) {
                throw new InstallationOverCap(overCap.getMessage());
            }
            throw new Unavailable(
                    "the delivery could not be stored: " + e.getCause().getMessage(), e.getCause());
        } catch (TimeoutException e) {
            // The batch may still commit; GitHub's redelivery is then recognised as a duplicate.
            throw new Unavailable("storing the delivery took longer than " + timeout, e);
        }
    }

    private void run() {
        var batch = new ArrayList<Pending>(MAX_BATCH);
        while (!closed) {
            try {
                var first = waiting.poll(200, TimeUnit.MILLISECONDS);
                if (first == null) {
                    continue;
                }
                batch.add(first);
                waiting.drainTo(batch, MAX_BATCH - 1);
                write(batch);
            } catch (InterruptedException e) {
                break;
            } finally {
                batch.clear();
            }
        }
        // Whatever is still waiting is answered with an error rather than left hanging.
        var rest = new ArrayList<Pending>();
        waiting.drainTo(rest);
        rest.forEach(
                p -> p.created().completeExceptionally(new IllegalStateException("the instance is shutting down")));
    }

    private void write(List<Pending> batch) {
        try {
            var created =
                    deliveries.recordAll(batch.stream().map(Pending::delivery).toList(), queue);
            for (var pending : batch) {
                // Only the first of several identical ids in one batch is new.
                pending.created().complete(created.remove(pending.delivery().id()));
            }
        } catch (RuntimeException e) {
            if (batch.size() > 1) {
                // One delivery the database refuses must not fail the others: write them one by one.
                for (var pending : batch) {
                    write(List.of(pending));
                }
                return;
            }
            if (!(e instanceof JobQueue.TenantOverCap)) {
                log.warn(
                        "Could not store webhook delivery {}: {}",
                        batch.getFirst().delivery().id(),
                        e.getMessage());
            }
            batch.forEach(p -> p.created().completeExceptionally(e));
        }
    }

    @Override
    public void close() {
        closed = true;
        for (var writer : writers) {
            try {
                writer.join(Duration.ofSeconds(10));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
