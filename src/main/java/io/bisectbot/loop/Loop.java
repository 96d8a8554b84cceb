package io.bisectbot.loop;

import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;

/**
 * Runs a task on a virtual thread every {@code interval}, again at once while it reports work done. A failing task
 * is logged once when it starts failing and once when it works again, not at every try.
 */
public final class Loop implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(Loop.class);

    public interface Task {
        /** Returns true when there may be more work right away. */
        boolean runOnce();
    }

    private final String name;
    private final Duration interval;
    private final Task task;
    private volatile Thread thread;
    private boolean failing;

    public Loop(String name, Duration interval, Task task) {
        this.name = name;
        this.interval = interval;
        this.task = task;
    }

    @Override
    public synchronized void start() {
        if (thread != null) {
            return;
        }
        thread = Thread.ofVirtual().name(name).start(this::run);
    }

    private void run() {
        while (!Thread.currentThread().isInterrupted()) {
            boolean more = false;
            try {
                more = task.runOnce();
                if (failing) {
                    log.info("{} works again", name);
                    failing = false;
                }
            } catch (RuntimeException e) {
                if (!failing) {
                    log.warn("{} failed; trying again every {} (logged once until it works): {}", name, interval,
                            e.getMessage());
                    failing = true;
                }
            }
            if (!more) {
                try {
                    Thread.sleep(interval);
                } catch (InterruptedException e) {
                    return;
                }
            }
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
        // Stops after the queue drained (its phase is higher), so reports and events of the last jobs still go out.
        return Integer.MAX_VALUE - 200;
    }
}
