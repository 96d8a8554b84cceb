package io.bisectbot.callbacks;

import java.time.Duration;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;

/** Delivers due events on a virtual thread: again at once while a batch was full of work, else after the poll interval. */
final class CallbackLoop implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(CallbackLoop.class);

    private final Duration interval;
    private final BooleanSupplier task;
    private volatile Thread thread;

    CallbackLoop(Duration interval, BooleanSupplier task) {
        this.interval = interval;
        this.task = task;
    }

    @Override
    public synchronized void start() {
        if (thread == null) {
            thread = Thread.ofVirtual().name("callbacks").start(this::run);
        }
    }

    private void run() {
        while (!Thread.currentThread().isInterrupted()) {
            var more = false;
            try {
                more = task.getAsBoolean();
            } catch (RuntimeException e) {
                log.warn("Callback delivery failed; trying again in {}: {}", interval, e.getMessage());
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
        // Stops after the queue drained (its phase is higher), so the last jobs' events still go out.
        return Integer.MAX_VALUE - 200;
    }
}
