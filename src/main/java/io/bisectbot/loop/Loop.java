package io.bisectbot.loop;

import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;

/**
 * The service's one way to run periodic background work: a task on a virtual thread every {@code interval}, again at
 * once while it reports work done, started and stopped with the application context. A failing task is logged once
 * when it starts failing and once when it works again, not at every try, and is retried after a {@link Backoff} that
 * starts at {@code interval} and grows to {@link #maxBackoff} (16 intervals by default), so a database or GitHub
 * that went away is not hammered.
 */
public final class Loop implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(Loop.class);

    /** Stops after the queue drained (its phase is higher), so reports and events of the last jobs still go out. */
    public static final int DEFAULT_PHASE = Integer.MAX_VALUE - 200;

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
        thread = Thread.ofVirtual().name(name).start(this::run);
    }

    private void run() {
        if (!sleep(initialDelay)) {
            return;
        }
        var failures = 0;
        while (!Thread.currentThread().isInterrupted()) {
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
            if (!more && !sleep(failures > 0 ? backoff.afterAttempt(failures) : interval)) {
                return;
            }
        }
    }

    private static boolean sleep(Duration duration) {
        if (duration.isZero()) {
            return true;
        }
        try {
            Thread.sleep(duration);
            return true;
        } catch (InterruptedException e) {
            return false;
        }
    }

    @Override
    public synchronized void stop() {
        var current = thread;
        thread = null;
        if (current != null) {
            current.interrupt();
            try {
                current.join(Duration.ofSeconds(10));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
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
