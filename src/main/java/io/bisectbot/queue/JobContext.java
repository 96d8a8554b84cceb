package io.bisectbot.queue;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import tools.jackson.databind.JsonNode;

/** What a running handler knows about its attempt, and how it learns that it must stop. */
public final class JobContext {

    /** Why a worker asks a handler to stop. */
    public enum StopReason {
        /** Someone cancelled the job. */
        CANCELLED,
        /** The job was taken back from this worker (heartbeat lost); nothing it does will be stored. */
        FENCE_LOST,
        /**
         * This instance's liveness session was lost, so another instance may soon run the job; it stops first, and
         * the attempt is released if the fence still holds.
         */
        LIVENESS_LOST,
        /** The instance is shutting down; the job is released to another instance without counting the attempt. */
        SHUTDOWN
    }

    private final Job job;
    private final List<Runnable> stopListeners = new CopyOnWriteArrayList<>();
    private volatile StopReason stopReason;
    private volatile Thread thread;
    private volatile boolean interruptOnStop = true;

    /**
     * How long a handler that stops through its listener may take after a stop before its thread is interrupted
     * anyway: a container's SIGTERM grace (1 s by default), its removal and the last writes fit well within it, and
     * it ends before a drain's last wait (10 s).
     */
    static final java.time.Duration INTERRUPT_AFTER = java.time.Duration.ofSeconds(5);

    JobContext(Job job) {
        this.job = job;
    }

    public Job job() {
        return job;
    }

    public long jobId() {
        return job.id();
    }

    public int attempt() {
        return job.attemptCount();
    }

    public JsonNode payload() {
        return job.payload();
    }

    public JobFence fence() {
        return job.fence();
    }

    public boolean stopRequested() {
        return stopReason != null;
    }

    public StopReason stopReason() {
        return stopReason;
    }

    /** Runs {@code listener} when the job must stop (at once if it already must), e.g. to kill a container. */
    public void onStop(Runnable listener) {
        stopListeners.add(listener);
        if (stopReason != null) {
            listener.run();
        }
    }

    /**
     * Like {@link #onStop}, and from now on a stop does not interrupt the handler's thread at once: for a handler
     * whose way to stop is the listener (killing its container) and that still writes to the database after stopping
     * (its logs, a "cancelled" report). An interrupted virtual thread closes the socket it uses, so those writes would
     * fail. A handler still running {@link #INTERRUPT_AFTER} after the stop is interrupted all the same, so a wedged
     * engine call or image pull cannot keep its slot. Called by the handler's own thread; a stop that came before and
     * interrupted it is taken back.
     */
    public synchronized void onStopInsteadOfInterrupt(Runnable listener) {
        takeBackInterrupt();
        onStop(listener);
    }

    /**
     * The handler has stopped (its waits ended) and still has something to write: no interrupt reaches its thread
     * from now on, and one that did is cleared. Either way a handler still running {@link #INTERRUPT_AFTER} after the
     * stop is interrupted. Called by the handler's own thread.
     */
    public synchronized void takeBackInterrupt() {
        if (!interruptOnStop) {
            return;
        }
        interruptOnStop = false;
        if (stopReason != null && Thread.currentThread() == thread) {
            // The stop came first and interrupted this thread: taken back, and given again later if need be.
            Thread.interrupted();
            interruptLater(thread);
        }
    }

    /** Synchronized with the stop's interrupts: once unbound (and the flag cleared), none reaches the thread. */
    synchronized void bindThread(Thread current) {
        this.thread = current;
    }

    /** The first reason wins: a job cancelled during shutdown stays cancelled. */
    synchronized boolean requestStop(StopReason reason) {
        if (stopReason != null) {
            return false;
        }
        stopReason = reason;
        for (var listener : stopListeners) {
            try {
                listener.run();
            } catch (RuntimeException ignored) {
                // A failing listener must not keep the others from stopping the job.
            }
        }
        var current = thread;
        if (current != null && interruptOnStop) {
            current.interrupt();
        } else if (current != null) {
            interruptLater(current);
        }
        return true;
    }

    /** Interrupts {@code handler} {@link #INTERRUPT_AFTER} from now, unless it has returned by then. */
    private void interruptLater(Thread handler) {
        Thread.ofVirtual().name("stop-fallback-" + job.id()).start(() -> {
            try {
                Thread.sleep(INTERRUPT_AFTER);
            } catch (InterruptedException e) {
                return;
            }
            synchronized (this) {
                // Unbound once the handler returned: nothing is left to interrupt.
                if (thread == handler) {
                    handler.interrupt();
                }
            }
        });
    }
}
