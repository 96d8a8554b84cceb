package io.bisectbot.github;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Bytes of request bodies this instance holds in memory, over all requests at once. Reservations never wait: a caller
 * that finds the budget used up is refused at once, so a flood of slow or large bodies costs a bounded amount of heap
 * and never queues the requests behind it.
 */
final class BodyBudget {

    private final long capacity;
    private final AtomicLong used = new AtomicLong();

    BodyBudget(long capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("the body budget must be positive, got " + capacity);
        }
        this.capacity = capacity;
    }

    /** Reserves {@code bytes} if they fit; false (and nothing reserved) when they do not. */
    boolean tryReserve(long bytes) {
        while (true) {
            var current = used.get();
            if (current + bytes > capacity) {
                return false;
            }
            if (used.compareAndSet(current, current + bytes)) {
                return true;
            }
        }
    }

    void release(long bytes) {
        used.addAndGet(-bytes);
    }

    long used() {
        return used.get();
    }

    long capacity() {
        return capacity;
    }
}
