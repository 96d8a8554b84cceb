package io.bisectbot.bisect;

import io.bisectbot.executor.CancellationSignal;
import io.bisectbot.executor.DockerExecutor;
import io.bisectbot.executor.StepLogRepository;
import io.bisectbot.executor.StepOutcome;
import io.bisectbot.executor.StepSpec;
import io.bisectbot.executor.WarmStarts;
import io.bisectbot.git.GitRepository;
import io.bisectbot.queue.JobContext;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Runs each test of a bisect job in its own container: the commit's source is streamed in as a tar
 * ({@code git archive}), the command runs in it with network off (unless a trusted job asks for the bridge) and
 * the job's cache volumes mounted, and its output goes to the job's step logs.
 * When the job must stop (cancel, lost fence, shutdown) every running container is stopped. Containers are started
 * ahead of their steps and removed after their results are returned, so a round costs little beyond its test.
 */
final class DockerStepRunner implements StepRunner, AutoCloseable {

    /** The GitHub App installation (0: the command line and the API) a step container runs for. */
    static final String INSTALLATION_LABEL = "bisectbot.installation";

    /** Each step takes a container started while the steps before it ran (see {@link WarmStarts}). */
    private final WarmStarts executor;

    private final StepLogRepository logs;
    private final GitRepository git;
    private final BisectRequest request;
    private final JobContext job;
    private final ExecutorService threads = Executors.newThreadPerTaskExecutor(
            Thread.ofVirtual().name("bisect-step-", 0).factory());
    private final Set<CancellationSignal> running = ConcurrentHashMap.newKeySet();

    DockerStepRunner(
            DockerExecutor executor, StepLogRepository logs, GitRepository git, BisectRequest request, JobContext job) {
        this.executor = executor.warmStarts(request.options().slots());
        this.logs = logs;
        this.git = git;
        this.request = request;
        this.job = job;
        job.onStop(() -> running.forEach(
                signal -> signal.cancel("job " + job.stopReason().name().toLowerCase())));
    }

    static String stepName(Request request) {
        return request.purpose().name().toLowerCase() + "-"
                + request.commit().substring(0, Math.min(12, request.commit().length())) + "-run"
                + (request.runIndex() + 1);
    }

    @Override
    public Handle start(Request request) {
        var signal = CancellationSignal.create();
        running.add(signal);
        var result = CompletableFuture.supplyAsync(
                () -> {
                    try {
                        return run(request, signal);
                    } finally {
                        running.remove(signal);
                    }
                },
                threads);
        return new Handle() {
            @Override
            public CompletableFuture<StepResult> result() {
                return result;
            }

            @Override
            public void cancel() {
                signal.cancel("no longer needed: a finished test decided this commit's side");
            }
        };
    }

    private StepResult run(Request step, CancellationSignal signal) {
        var builder = StepSpec.builder(
                        job.jobId(), job.fence().workerId(), job.attempt(), stepName(step), request.image())
                .input(() -> git.archive(step.commit()))
                .timeout(request.timeout())
                .registryCredentials(request.registryCredentials())
                .network(request.network())
                // Also part of a container's shape: one kept for a later job serves only this installation's.
                .label(INSTALLATION_LABEL, Long.toString(request.installationId()))
                .env("BISECT_COMMIT", step.commit())
                .env("BISECT_RUN", Integer.toString(step.runIndex() + 1));
        request.cacheVolumes().forEach(builder::cache);
        if (request.argv() != null) {
            builder.argv(request.argv().toArray(String[]::new));
        } else {
            builder.shell(request.command());
        }
        var logSink = logs.openSink(job.jobId(), stepName(step), job.attempt());
        var number = request.metric() != null && request.metric().source() == MetricOptions.Source.STDOUT
                ? new LastNumber(logSink)
                : null;
        var sink = number != null ? number : logSink;
        io.bisectbot.executor.ContainerResult result;
        try {
            result = executor.run(builder.build(), sink, signal);
        } finally {
            sink.close();
        }
        var took = result.duration();
        return switch (result.outcome()) {
            case StepOutcome.Exited exited ->
                new StepResult.Exited(exited.code(), took, number == null ? null : number.value());
            case StepOutcome.TimedOut ignored -> new StepResult.TimedOut(took);
            // Memory is a limit of the service, not a property of the commit: retried, then reported, never a verdict.
            case StepOutcome.OomKilled ignored ->
                new StepResult.InfraError(
                        "the test ran out of memory (the step's memory limit); raise the limit or lighten the test",
                        took);
            // Like memory, disk is a limit of the service, not a property of the commit.
            case StepOutcome.DiskLimit disk -> new StepResult.InfraError(disk.message(), took);
            case StepOutcome.Cancelled ignored -> new StepResult.Cancelled(took);
            case StepOutcome.InfraError error -> new StepResult.InfraError(error.message(), took);
        };
    }

    /**
     * Stops what still runs and waits for the step threads: they remove their containers themselves, and an
     * interrupt would cut that removal short and leave a container behind.
     */
    @Override
    public void close() {
        running.forEach(signal -> signal.cancel("job finished"));
        executor.close();
        threads.shutdown();
        try {
            if (!threads.awaitTermination(30, java.util.concurrent.TimeUnit.SECONDS)) {
                threads.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
