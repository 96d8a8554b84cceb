package io.bisectbot.queue;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.function.Supplier;

/** The queue's Prometheus series: {@code bisectbot_jobs_*_total{kind}}, claim/run histograms, depth and age gauges. */
final class QueueMetrics {

    private final MeterRegistry registry;
    private final Timer claimDuration;

    QueueMetrics(MeterRegistry registry) {
        this.registry = registry;
        this.claimDuration = Timer.builder("bisectbot.job.claim.duration")
                .description("Time of one claim round trip")
                .publishPercentileHistogram()
                .register(registry);
    }

    /** Registers gauges reading a cached {@link QueueStats}; called once per registry. */
    void registerGauges(Supplier<QueueStats> stats) {
        Gauge.builder("bisectbot.queue.depth", () -> stats.get().pending())
                .description("Jobs waiting to run")
                .register(registry);
        Gauge.builder(
                        "bisectbot.queue.oldest.pending.age.seconds",
                        () -> stats.get().oldestPendingAgeSeconds())
                .description("Age of the oldest due job not yet claimed")
                .register(registry);
        Gauge.builder("bisectbot.jobs.running", () -> stats.get().running())
                .description("Jobs running on all instances")
                .register(registry);
        Gauge.builder("bisectbot.workers.alive", () -> stats.get().workersAlive())
                .description("Instances whose heartbeat is fresh")
                .register(registry);
    }

    void count(String event, String kind) {
        counter(event, kind).increment();
    }

    void count(String event, String kind, int amount) {
        counter(event, kind).increment(amount);
    }

    private Counter counter(String event, String kind) {
        return Counter.builder("bisectbot.jobs." + event).tag("kind", kind).register(registry);
    }

    void claimTook(Duration duration) {
        claimDuration.record(duration);
    }

    void ran(String kind, Duration duration) {
        Timer.builder("bisectbot.job.run.duration")
                .description("Time a handler took for one attempt")
                .tag("kind", kind)
                .publishPercentileHistogram()
                .register(registry)
                .record(duration);
    }
}
