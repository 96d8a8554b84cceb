package io.bisectbot.queue;

import java.util.concurrent.atomic.AtomicLong;

/**
 * How many jobs an instance claims beyond its free slots, into its local buffer: enough to keep the slots busy while
 * the next claim travels, i.e. the jobs it finishes in a few claim round trips. Long jobs finish rarely, so their
 * buffer is empty and a job is never held back from an idle instance; short jobs fill it, and each claim then
 * carries more of them. Buffered jobs are claimed (RUNNING under this worker's fence, heartbeated), not reserved.
 */
final class PrefetchSize {

    /** Round trips' worth of finished jobs to hold, so that two claims in a row can be slow without a slot waiting. */
    private static final double ROUND_TRIPS = 4;

    private static final long WINDOW_NANOS = 100_000_000;

    private final int cap;
    private final AtomicLong returned = new AtomicLong();
    private long windowStart = System.nanoTime();
    private double perSecond;
    private double claimSeconds = 0.001;
    private volatile int target;
    /** Set by tests: a fixed size instead of the measured one. */
    private volatile int fixed = -1;

    /** {@code cap}: most jobs held in the buffer. */
    PrefetchSize(int cap) {
        this.cap = cap;
    }

    void handlerReturned() {
        returned.incrementAndGet();
    }

    synchronized void claimTook(long nanos) {
        claimSeconds = 0.8 * claimSeconds + 0.2 * (nanos / 1e9);
        update(System.nanoTime());
    }

    /** The buffer size to claim for now. */
    int target() {
        if (fixed >= 0) {
            return fixed;
        }
        var now = System.nanoTime();
        if (now - windowStart >= WINDOW_NANOS) {
            synchronized (this) {
                update(now);
            }
        }
        return target;
    }

    /** Test hook: a fixed buffer size, or -1 for the measured one. */
    void fix(int size) {
        fixed = size;
    }

    private void update(long now) {
        var elapsed = now - windowStart;
        if (elapsed < WINDOW_NANOS) {
            return;
        }
        var rate = returned.getAndSet(0) / (elapsed / 1e9);
        windowStart = now;
        // Half the weight on the last window: the buffer follows a burst within a few hundred ms, and empties as fast.
        perSecond = 0.5 * perSecond + 0.5 * rate;
        target = (int) Math.min(cap, Math.floor(perSecond * claimSeconds * ROUND_TRIPS));
    }
}
