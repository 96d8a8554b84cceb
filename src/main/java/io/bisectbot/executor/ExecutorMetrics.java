package io.bisectbot.executor;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

/** The executor's meters; Prometheus names are the dotted names with _total/_seconds suffixes. */
final class ExecutorMetrics {

    private final MeterRegistry registry;
    private final Counter started;
    private final AtomicInteger containers = new AtomicInteger();

    ExecutorMetrics(MeterRegistry registry) {
        this.registry = registry;
        this.started = Counter.builder("bisectbot.steps.started")
                .description("Steps the executor began")
                .register(registry);
        Gauge.builder("bisectbot.containers.running", containers, AtomicInteger::get)
                .description("Step containers that exist right now (created and not yet removed)")
                .register(registry);
    }

    void stepStarted() {
        started.increment();
    }

    void stepFinished(StepOutcome outcome, Duration duration) {
        Counter.builder("bisectbot.steps.finished")
                .tag("outcome", outcome.tag())
                .description("Steps that ended, by outcome")
                .register(registry)
                .increment();
        Timer.builder("bisectbot.step.duration")
                .tag("outcome", outcome.tag())
                .publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofMillis(100))
                .maximumExpectedValue(Duration.ofHours(2))
                .register(registry)
                .record(duration);
    }

    void containerCreated() {
        containers.incrementAndGet();
    }

    void containerRemoved() {
        containers.decrementAndGet();
    }

    int containersRunning() {
        return containers.get();
    }
}
