package io.bisectbot.bisect;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/**
 * A {@link StepRunner} that decides each run in-process and completes at once, so tests are
 * deterministic without waiting on anything.
 */
final class InProcessRunner implements StepRunner {

    private final Function<Request, StepResult> decide;
    final List<Request> started = Collections.synchronizedList(new ArrayList<>());
    final List<Request> cancelled = Collections.synchronizedList(new ArrayList<>());

    InProcessRunner(Function<Request, StepResult> decide) {
        this.decide = decide;
    }

    static InProcessRunner exitCodes(Function<String, Integer> exitCodeOfCommit) {
        return new InProcessRunner(
                r -> new StepResult.Exited(exitCodeOfCommit.apply(r.commit()), Duration.ofMillis(10)));
    }

    @Override
    public Handle start(Request request) {
        started.add(request);
        StepResult result = decide.apply(request);
        CompletableFuture<StepResult> future = CompletableFuture.completedFuture(result);
        return new Handle() {
            @Override
            public CompletableFuture<StepResult> result() {
                return future;
            }

            @Override
            public void cancel() {
                cancelled.add(request);
            }
        };
    }

    long startedFor(Purpose purpose) {
        synchronized (started) {
            return started.stream().filter(r -> r.purpose() == purpose).count();
        }
    }
}
