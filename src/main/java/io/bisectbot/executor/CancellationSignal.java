package io.bisectbot.executor;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;

/** A one-shot cancel flag that the executor listens to; fired by job cancel, a lost fence or shutdown. */
public final class CancellationSignal {

    private final AtomicReference<String> reason = new AtomicReference<>();
    private final List<Runnable> listeners = new CopyOnWriteArrayList<>();

    public static CancellationSignal create() {
        return new CancellationSignal();
    }

    public void cancel(String why) {
        if (reason.compareAndSet(null, why == null ? "cancelled" : why)) {
            listeners.forEach(Runnable::run);
        }
    }

    public boolean isCancelled() {
        return reason.get() != null;
    }

    public Optional<String> reason() {
        return Optional.ofNullable(reason.get());
    }

    /** Runs {@code action} once on cancel (at once if already cancelled); close the registration to stop listening. */
    public Registration onCancel(Runnable action) {
        // The guard makes the action run once even when cancel() races with registration.
        var fired = new java.util.concurrent.atomic.AtomicBoolean();
        Runnable once = () -> {
            if (fired.compareAndSet(false, true)) {
                action.run();
            }
        };
        listeners.add(once);
        if (isCancelled()) {
            once.run();
        }
        return () -> listeners.remove(once);
    }

    @FunctionalInterface
    public interface Registration extends AutoCloseable {
        @Override
        void close();
    }
}
