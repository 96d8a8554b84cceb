package io.bisectbot.loop;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;

/**
 * The service's one way to run periodic background work: a task on a virtual thread every {@code interval}, again at
 * once while it reports work done, started and stopped with the application context. A failing task is logged once
 * when it starts failing and once when it works again, not at every try, and is retried after a {@link Backoff} that
 * starts at {@code interval} and grows to {@link #maxBackoff} (16 intervals by default), so a database or GitHub
 * that went away is not hammered.
 *
 * <p>Stopping wakes a waiting loop but lets a running task finish: interrupting a virtual thread closes the socket it
 * reads (a database connection would be logged as broken at every shutdown). A task still running after {@link
 * #STOP_GRACE} is interrupted.
 */
public final class Loop implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(Loop.class);

    /** Stops after the queue drained (its phase is higher), so reports and events of the last jobs still go out. */
    public static final int DEFAULT_PHASE = Integer.MAX_VALUE - 200;

    static final Duration STOP_GRACE = Duration.ofSeconds(10);

    public interface Task {
        /** Returns true when there may be more work right away. */
        boolean runOnce();
    }

    private final String name;
    private final Duration interval;
    private final Duration initialDelay;
    private final Backoff backoff;
    private final int phase;
    private final Task task;
    private volatile Thread thread;
    private CountDownLatch stopSignal;
    /** The thread of the last run that was told to stop; it may still be finishing its task. */
    private Thread stopping;

    private boolean failing;

    public Loop(String name, Duration interval, Task task) {
        this(name, interval, Duration.ZERO, new Backoff(interval, interval.multipliedBy(16)), DEFAULT_PHASE, task);
    }

    private Loop(String name, Duration interval, Duration initialDelay, Backoff backoff, int phase, Task task) {
        if (interval.isNegative() || interval.isZero()) {
            throw new IllegalArgumentException(name + ": the interval must be positive, not " + interval);
        }
        this.name = name;
        this.interval = interval;
        this.initialDelay = initialDelay;
        this.backoff = backoff;
        this.phase = phase;
        this.task = task;
    }

    /** A task that returns nothing: it runs every interval. */
    public static Loop every(String name, Duration interval, Runnable task) {
        return new Loop(name, interval, () -> {
            task.run();
            return false;
        });
    }

    /** The first run waits this long after start (e.g. hourly cleaners that should not add to a busy start). */
    public Loop withInitialDelay(Duration delay) {
        return new Loop(name, interval, delay, backoff, phase, task);
    }

    /** Retries after failures wait from {@code interval} up to this long. */
    public Loop maxBackoff(Duration max) {
        return new Loop(name, interval, initialDelay, new Backoff(interval, max), phase, task);
    }

    public Loop withPhase(int phase) {
        return new Loop(name, interval, initialDelay, backoff, phase, task);
    }

    public String name() {
        return name;
    }

    @Override
    public synchronized void start() {
        if (thread != null) {
            return;
        }
        var signal = new CountDownLatch(1);
        stopSignal = signal;
        var previous = stopping;
        // Started again right after an asynchronous stop: the new run waits until the old one's task has ended.
        thread = Thread.ofVirtual().name(name).start(() -> {
            if (previous != null) {
                awaitEnd(previous);
            }
            run(signal);
        });
    }

    private void run(CountDownLatch stopSignal) {
        if (!sleep(initialDelay, stopSignal)) {
            return;
        }
        var failures = 0;
        while (stopSignal.getCount() > 0 && !Thread.currentThread().isInterrupted()) {
            boolean more = false;
            try {
                more = task.runOnce();
                if (failing) {
                    log.info("{} works again", name);
                    failing = false;
                }
                failures = 0;
            } catch (RuntimeException | Error e) {
                if (e instanceof VirtualMachineError fatal) {
                    throw fatal;
                }
                failures++;
                if (!failing) {
                    log.warn(
                            "{} failed; trying again with backoff from {} (logged once until it works): {}",
                            name,
                            interval,
                            e.getMessage());
                    failing = true;
                }
            }
            if (!more && !sleep(failures > 0 ? backoff.afterAttempt(failures) : interval, stopSignal)) {
                return;
            }
        }
    }

    /** False when the loop was stopped meanwhile. */
    private static boolean sleep(Duration duration, CountDownLatch stopSignal) {
        if (duration.isZero()) {
            return stopSignal.getCount() > 0;
        }
        try {
            return !stopSignal.await(duration.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            return false;
        }
    }

    @Override
    public void stop() {
        awaitEnd(signalStop());
    }

    /** The context's stop: every loop of a phase winds down at once, not one task's end after the other's. */
    @Override
    public void stop(Runnable callback) {
        var current = signalStop();
        if (current == null) {
            callback.run();
            return;
        }
        Thread.ofVirtual().name(name + "-stopping").start(() -> {
            awaitEnd(current);
            callback.run();
        });
    }

    /** Stops without letting a running task finish, as a killed process would (simulated crashes in tests). */
    public void halt() {
        var current = signalStop();
        if (current != null) {
            current.interrupt();
            awaitEnd(current);
        }
    }

    /** Stops several loops at once: each is signalled before any is waited for, so their running tasks end together. */
    public static void stopTogether(Loop... loops) {
        var running = new ArrayList<Map.Entry<Loop, Thread>>();
        for (var loop : loops) {
            var thread = loop.signalStop();
            if (thread != null) {
                running.add(Map.entry(loop, thread));
            }
        }
        running.forEach(entry -> entry.getKey().awaitEnd(entry.getValue()));
    }

    private synchronized Thread signalStop() {
        var current = thread;
        thread = null;
        if (current != null) {
            stopSignal.countDown();
            stopping = current;
        }
        return current;
    }

    private void awaitEnd(Thread current) {
        if (current == null) {
            return;
        }
        try {
            if (!current.join(STOP_GRACE)) {
                log.warn("{} did not finish its run within {} of the stop; interrupting it", name, STOP_GRACE);
                current.interrupt();
                current.join(STOP_GRACE);
            }
        } catch (InterruptedException e) {
            current.interrupt();
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public boolean isRunning() {
        return thread != null;
    }

    @Override
    public int getPhase() {
        return phase;
    }
}
