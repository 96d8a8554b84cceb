package io.bisectbot.github;

import java.io.IOException;
import java.io.InputStream;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.function.LongSupplier;

/**
 * Reads one request body under the body limit, a deadline and the instance's {@link BodyBudget}. Memory is reserved
 * chunk by chunk as bytes arrive (the first chunk before anything is read), never for the declared length up front:
 * a sender that announces 24 MB and then trickles holds a few KiB, not 24 MB. {@link #close()} releases what was
 * reserved, whatever happened.
 */
final class WebhookBody implements AutoCloseable {

    /** What reading gave. */
    sealed interface Outcome {
        record Complete(byte[] bytes) implements Outcome {}

        /** More than the limit arrived (a body without Content-Length). */
        record TooLarge() implements Outcome {}

        /** The budget could not hold the next chunk. */
        record NoBudget() implements Outcome {}

        /** The deadline passed, or the connection's read timeout did, before the body was complete. */
        record TimedOut() implements Outcome {}
    }

    /** Chunks grow from this size as bytes keep arriving, so a trickling sender holds little. */
    static final int FIRST_CHUNK = 8 * 1024;

    static final int MAX_CHUNK = 1024 * 1024;

    private final BodyBudget budget;
    private final LongSupplier nanoTime;
    private long reserved;

    WebhookBody(BodyBudget budget, LongSupplier nanoTime) {
        this.budget = budget;
        this.nanoTime = nanoTime;
    }

    /**
     * @param declaredLength the Content-Length, or -1 without one (chunked)
     * @param max            the body limit; a declared length above it must have been refused before
     * @param deadline       in {@code nanoTime}'s terms
     */
    Outcome read(InputStream in, long declaredLength, long max, long deadline) throws IOException {
        // Without a declared length, one byte more than the limit tells a body that is too large.
        var limit = declaredLength >= 0 ? Math.min(declaredLength, max) : max + 1;
        var chunks = new ArrayList<byte[]>();
        long total = 0;
        var lastFill = 0;
        var ended = false;
        while (!ended && total < limit) {
            var size = (int) Math.min(limit - total, Math.max(FIRST_CHUNK, Math.min(MAX_CHUNK, total)));
            if (!reserve(size)) {
                return new Outcome.NoBudget();
            }
            var chunk = new byte[size];
            var fill = 0;
            while (fill < size) {
                if (nanoTime.getAsLong() - deadline > 0) {
                    return new Outcome.TimedOut();
                }
                int n;
                try {
                    n = in.read(chunk, fill, size - fill);
                } catch (IOException e) {
                    if (isTimeout(e)) {
                        return new Outcome.TimedOut();
                    }
                    throw e;
                }
                if (n < 0) {
                    ended = true;
                    break;
                }
                fill += n;
            }
            chunks.add(chunk);
            lastFill = fill;
            total += fill;
        }
        if (total > max) {
            return new Outcome.TooLarge();
        }
        if (chunks.size() == 1 && lastFill == chunks.getFirst().length) {
            return new Outcome.Complete(chunks.getFirst());
        }
        // The joined copy is reserved too, before the chunks are let go: both live for a moment.
        var chunksReserved = reserved;
        if (!reserve(total)) {
            return new Outcome.NoBudget();
        }
        var bytes = new byte[(int) total];
        var offset = 0;
        for (int i = 0; i < chunks.size(); i++) {
            var length = i == chunks.size() - 1 ? lastFill : chunks.get(i).length;
            System.arraycopy(chunks.get(i), 0, bytes, offset, length);
            offset += length;
        }
        chunks.clear();
        budget.release(chunksReserved);
        reserved -= chunksReserved;
        return new Outcome.Complete(bytes);
    }

    private boolean reserve(long bytes) {
        if (!budget.tryReserve(bytes)) {
            return false;
        }
        reserved += bytes;
        return true;
    }

    private static boolean isTimeout(Throwable e) {
        for (var cause = e; cause != null; cause = cause.getCause()) {
            if (cause instanceof SocketTimeoutException) {
                return true;
            }
        }
        return false;
    }

    @Override
    public void close() {
        budget.release(reserved);
        reserved = 0;
    }
}
