package io.bisectbot.executor;

import com.github.dockerjava.api.DockerClient;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Parked containers kept between jobs: those a job's warm starts made and did not use are given here when the job
 * ends, and the next job whose steps have the same shape (image, command, working directory, limits, user, network,
 * cache volumes, registry access, worker) takes them for its first round instead of making its own. They have run
 * nothing but the waiting shell, so a step gets the same container it would have had (see {@link WarmStarts}); only
 * when it was made differs.
 *
 * <p>Bounded: at most {@code max} containers an instance, the oldest given way to; each is removed after {@code idle}
 * unused. They carry no job's labels, only their worker's and this executor's: the reaper of any instance removes
 * them once their worker is no longer alive, and the first container offered for a worker removes those an earlier
 * process of the same worker id left.
 */
final class Standby {

    private static final Logger log = LoggerFactory.getLogger(Standby.class);

    private record Entry(Object shape, WarmStarts.Parked parked, long sinceNanos) {}

    private final DockerClient docker;
    private final String executorId;
    private final int max;
    private final long idleNanos;
    private final LongSupplier nanos;
    private final Consumer<String> remove;
    /** Per shape, oldest first. */
    private final Map<Object, Deque<Entry>> byShape = new LinkedHashMap<>();

    private final Set<String> purgedWorkers = ConcurrentHashMap.newKeySet();
    private int size;
    private boolean closed;

    Standby(
            DockerClient docker,
            String executorId,
            int max,
            Duration idle,
            LongSupplier nanos,
            Consumer<String> remove,
            MeterRegistry registry) {
        this.docker = docker;
        this.executorId = executorId;
        this.max = Math.max(0, max);
        this.idleNanos = idle.toNanos();
        this.nanos = nanos;
        this.remove = remove;
        Gauge.builder("bisectbot.containers.standby", this, Standby::size)
                .description("Parked containers kept between jobs for the next job of the same shape")
                .register(registry);
    }

    boolean enabled() {
        return max > 0;
    }

    synchronized int size() {
        return size;
    }

    /** A container kept for steps of {@code shape}, the most recent one, or null. */
    WarmStarts.Parked take(Object shape) {
        sweep();
        synchronized (this) {
            var queue = byShape.get(shape);
            if (queue == null || queue.isEmpty()) {
                return null;
            }
            var entry = queue.pollLast();
            if (queue.isEmpty()) {
                byShape.remove(shape);
            }
            size--;
            return entry.parked();
        }
    }

    /** Keeps {@code parked} for the next job of {@code shape}; false when it is not kept (the caller removes it). */
    boolean offer(Object shape, WarmStarts.Parked parked, String workerId) {
        if (!enabled()) {
            return false;
        }
        purgeEarlierProcesses(workerId);
        Entry evicted = null;
        synchronized (this) {
            if (closed) {
                return false;
            }
            if (size >= max) {
                evicted = pollOldest();
            }
            byShape.computeIfAbsent(shape, s -> new ArrayDeque<>())
                    .addLast(new Entry(shape, parked, nanos.getAsLong()));
            size++;
        }
        if (evicted != null) {
            remove.accept(evicted.parked().id());
        }
        return true;
    }

    /** Removes the containers that waited longer than {@code idle}. */
    void sweep() {
        List<Entry> expired = new ArrayList<>();
        synchronized (this) {
            long now = nanos.getAsLong();
            for (var it = byShape.values().iterator(); it.hasNext(); ) {
                var queue = it.next();
                while (!queue.isEmpty() && now - queue.peekFirst().sinceNanos() >= idleNanos) {
                    expired.add(queue.pollFirst());
                    size--;
                }
                if (queue.isEmpty()) {
                    it.remove();
                }
            }
        }
        expired.forEach(e -> remove.accept(e.parked().id()));
    }

    /** Removes every kept container; later offers are refused. */
    void close() {
        List<Entry> all = new ArrayList<>();
        synchronized (this) {
            closed = true;
            byShape.values().forEach(all::addAll);
            byShape.clear();
            size = 0;
        }
        all.forEach(e -> remove.accept(e.parked().id()));
    }

    private Entry pollOldest() {
        Entry oldest = null;
        for (var queue : byShape.values()) {
            var first = queue.peekFirst();
            if (first != null && (oldest == null || first.sinceNanos() < oldest.sinceNanos())) {
                oldest = first;
            }
        }
        if (oldest != null) {
            var queue = byShape.get(oldest.shape());
            queue.pollFirst();
            if (queue.isEmpty()) {
                byShape.remove(oldest.shape());
            }
            size--;
        }
        return oldest;
    }

    /**
     * Containers kept by an earlier process with this worker id (a fixed {@code WORKER_ID} restarted): its worker looks
     * alive again, so no reaper would remove them. Once per worker id; on an engine error, tried again next time.
     */
    private void purgeEarlierProcesses(String workerId) {
        if (purgedWorkers.contains(workerId)) {
            return;
        }
        try {
            var left = docker.listContainersCmd()
                    .withShowAll(true)
                    .withLabelFilter(Map.of(Labels.MANAGED, "true", Labels.WORKER_ID, workerId))
                    .exec();
            for (var container : left) {
                var owner = container.getLabels().get(Labels.STANDBY);
                if (owner != null && !owner.equals(executorId)) {
                    log.info(
                            "Removing standby container {} left by an earlier process of worker {}",
                            container.getId(),
                            workerId);
                    remove.accept(container.getId());
                }
            }
            purgedWorkers.add(workerId);
        } catch (RuntimeException e) {
            log.debug("Could not list standby containers of worker {}: {}", workerId, DockerExecutor.describe(e));
        }
    }
}
