package io.bisectbot.executor;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import java.util.function.Predicate;

/**
 * Parked containers kept between jobs: those a job's warm starts made and did not use are given here when the job
 * ends, and the next job whose steps have the same shape (image id, command, working directory, limits, user,
 * network, cache volumes, registry access, installation, worker) takes them for its first round instead of making its
 * own. They have run nothing but the waiting shell, so a step gets the same container it would have had (see
 * {@link WarmStarts}); only when it was made differs.
 *
 * <p>Bounded: at most {@code max} containers an instance, the oldest given way to; each is removed once it is
 * {@code idle} old (counted from its creation). They carry no job's labels, only their worker's and their executor's;
 * the reaper judges them (see {@link OrphanReaper}).
 */
final class Standby {

    private record Entry(Object shape, WarmStarts.Parked parked, long sinceNanos) {}

    private final int max;
    private final long idleNanos;
    private final LongSupplier nanos;
    private final Consumer<String> remove;
    /** Per shape, oldest first. */
    private final Map<Object, Deque<Entry>> byShape = new LinkedHashMap<>();

    private int size;
    private boolean closed;

    Standby(int max, Duration idle, LongSupplier nanos, Consumer<String> remove, MeterRegistry registry) {
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

    /**
     * Keeps {@code parked} (made at {@code madeNanos}) for the next job of {@code shape}; false when it is not kept
     * (the caller removes it).
     */
    boolean offer(Object shape, WarmStarts.Parked parked, long madeNanos) {
        if (!enabled()) {
            return false;
        }
        Entry evicted = null;
        synchronized (this) {
            if (closed || nanos.getAsLong() - madeNanos >= idleNanos) {
                return false;
            }
            if (size >= max) {
                evicted = pollOldest();
            }
            byShape.computeIfAbsent(shape, s -> new ArrayDeque<>()).addLast(new Entry(shape, parked, madeNanos));
            size++;
        }
        if (evicted != null) {
            remove.accept(evicted.parked().id());
        }
        return true;
    }

    /** Removes the containers older than {@code idle}. */
    void sweep() {
        long now = nanos.getAsLong();
        removeWhere(entry -> now - entry.sinceNanos() >= idleNanos);
    }

    /**
     * Gives up the containers kept for shapes that {@code test} accepts (e.g. those mounting a cache volume about to
     * be removed) and returns their ids, for the caller to remove.
     */
    List<String> release(Predicate<Object> test) {
        return withdraw(entry -> test.test(entry.shape())).stream()
                .map(e -> e.parked().id())
                .toList();
    }

    private void removeWhere(Predicate<Entry> test) {
        withdraw(test).forEach(e -> remove.accept(e.parked().id()));
    }

    private List<Entry> withdraw(Predicate<Entry> test) {
        List<Entry> removed = new ArrayList<>();
        synchronized (this) {
            for (var it = byShape.values().iterator(); it.hasNext(); ) {
                var queue = it.next();
                for (var entries = queue.iterator(); entries.hasNext(); ) {
                    var entry = entries.next();
                    if (test.test(entry)) {
                        entries.remove();
                        removed.add(entry);
                        size--;
                    }
                }
                if (queue.isEmpty()) {
                    it.remove();
                }
            }
        }
        return removed;
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
}
