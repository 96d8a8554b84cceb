package io.bisectbot.queue;

/** Lets tests in other packages stop a node the way {@code kill -9} stops a process. */
public final class QueueTestSupport {

    private QueueTestSupport() {
    }

    public static void crash(QueueNode node) {
        node.crash();
    }
}
