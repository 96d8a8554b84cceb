package io.bisectbot.bisect;

import io.bisectbot.cache.CacheProperties;
import io.bisectbot.cache.CacheRegistry;
import io.bisectbot.executor.DockerExecutor;
import io.bisectbot.executor.DockerHealth;
import io.bisectbot.executor.StepLogRepository;
import io.bisectbot.executor.StepSpec;
import io.bisectbot.git.GitCredentials;
import io.bisectbot.git.GitProperties;
import io.bisectbot.queue.JobContext;
import io.bisectbot.queue.JobHandler;
import io.bisectbot.queue.JobOutcome;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * Job kind {@code bisect}: validates the request, fetches the repository into the mirror cache, and runs the
 * {@link BisectEngine} with one container per test run. Finished runs are stored under the job's fence, so a job
 * taken over after a crash resumes without running them again. Its jobs are not claimed while Docker is away.
 */
public final class BisectJobHandler implements JobHandler {

    public static final String KIND = "bisect";
    private static final Logger log = LoggerFactory.getLogger(BisectJobHandler.class);

    private final BisectProperties properties;
    private final GitProperties git;
    private final DockerExecutor executor;
    private final DockerHealth docker;
    private final StepLogRepository logs;
    private final JdbcClient jdbc;
    private final Clock clock;
    private final ObjectProvider<GitCredentials> credentials;
    private final ObjectProvider<BisectListener> listeners;
    private final CacheRegistry caches;

    public BisectJobHandler(
            BisectProperties properties,
            GitProperties git,
            DockerExecutor executor,
            DockerHealth docker,
            StepLogRepository logs,
            JdbcClient jdbc,
            Clock clock,
            ObjectProvider<GitCredentials> credentials,
            ObjectProvider<BisectListener> listeners) {
        this(
                properties,
                git,
                executor,
                docker,
                logs,
                jdbc,
                clock,
                credentials,
                listeners,
                new CacheRegistry(jdbc, executor, CacheProperties.defaults(), clock));
    }

    public BisectJobHandler(
            BisectProperties properties,
            GitProperties git,
            DockerExecutor executor,
            DockerHealth docker,
            StepLogRepository logs,
            JdbcClient jdbc,
            Clock clock,
            ObjectProvider<GitCredentials> credentials,
            ObjectProvider<BisectListener> listeners,
            CacheRegistry caches) {
        this.caches = caches;
        this.properties = properties;
        this.git = git;
        this.executor = executor;
        this.docker = docker;
        this.logs = logs;
        this.jdbc = jdbc;
        this.clock = clock;
        this.credentials = credentials;
        this.listeners = listeners;
    }

    @Override
    public String kind() {
        return KIND;
    }

    @Override
    public boolean ready() {
        return docker.isAvailable();
    }

    @Override
    public JobOutcome handle(JobContext job) {
        BisectRequest request;
        try {
            request = BisectRequest.parse(job.payload(), properties, executor.defaultImage());
        } catch (IllegalArgumentException e) {
            return JobOutcome.failedPermanently("invalid bisect request: " + e.getMessage());
        }
        listeners.orderedStream().forEach(listener -> listener.started(job, request));
        try {
            return run(job, request);
        } finally {
            if (job.stopReason() == JobContext.StopReason.CANCELLED) {
                cancelled(job, request);
            }
        }
    }

    /**
     * However the run ended once cancelled (the engine's answer, a git or database call the stop cut short), the
     * listeners hear it once. The interrupt that stopped the run's waits is taken back first: they write to the
     * database, which an interrupted thread cannot reach.
     */
    private void cancelled(JobContext job, BisectRequest request) {
        job.takeBackInterrupt();
        listeners.orderedStream().forEach(listener -> {
            try {
                listener.cancelled(job, request);
            } catch (RuntimeException e) {
                log.warn("Could not report that bisect job {} was cancelled: {}", job.jobId(), e.getMessage());
            }
        });
    }

    private JobOutcome run(JobContext job, BisectRequest request) {
        BisectResult result;
        VerdictCache.CachedRunner cached = null;
        List<StepSpec.Cache> volumes = List.of();
        try {
            var history = GitHistory.at(request.repo(), git.cacheDir(), request.isLocal() ? null : token(request));
            request = trustedOnlyOnBranches(request, history);
            volumes = request.cacheVolumes();
            caches.used(volumes, request.repo(), request.installationId(), request.registryCredentials());
            try (var containers = new DockerStepRunner(executor, logs, history.repository(), request, job)) {
                StepRunner runner = containers;
                // Measurements are not verdicts: metric mode always measures afresh.
                SameTree sameTree =
                        request.caching().reuseTreeVerdicts() && request.metric() == null ? SameTree.of(history) : null;
                if (request.verdictCache() && request.metric() == null) {
                    var key = new VerdictCache.Key(
                            request.repo(),
                            executor.resolveImage(request.image(), request.registryCredentials()),
                            VerdictCache.commandHash(request),
                            request.options().rule().name());
                    var cache = new VerdictCache(jdbc, clock);
                    cached = cache.around(containers, key, job.jobId(), history::tree);
                    runner = cached;
                    if (sameTree != null) {
                        sameTree = cache.sameTree(key, history);
                    }
                }
                result = new BisectEngine(history, runner, new JdbcStepStore(jdbc, job.fence(), clock), progress(job))
                        .run(request.bad(), request.good(), request.options(), sameTree, request.metric());
            }
        } catch (BisectSetupException e) {
            var outcome = e.problem() == BisectSetupException.Problem.GIT_FAILED
                    ? JobOutcome.failed(e.getMessage())
                    : JobOutcome.failedPermanently(e.getMessage());
            finishIfFinal(job, request, outcome, null, "**Error**: " + e.getMessage());
            return outcome;
        } catch (JdbcStepStore.FenceLostException e) {
            log.warn("Stopping bisect job {}: {}", job.jobId(), e.getMessage());
            return JobOutcome.failed(e.getMessage());
        } catch (IllegalStateException e) {
            // The image could not be resolved for the verdict cache: like any infrastructure error, retried.
            return JobOutcome.failed(e.getMessage());
        } finally {
            caches.finished(volumes);
        }
        if (job.stopRequested()) {
            return JobOutcome.failed("stopped: " + job.stopReason().name().toLowerCase());
        }
        var report = BisectReport.markdown(result, request.repo(), request.commandText())
                + BisectReport.environment(request)
                + (cached == null ? "" : VerdictCache.reusedReport(cached.hits()));
        var outcome = result.outcome() instanceof BisectOutcome.Aborted aborted
                ? JobOutcome.failed(aborted.reason())
                : JobOutcome.succeeded(BisectResultJson.of(result, report));
        finishIfFinal(job, request, outcome, result, report);
        return outcome;
    }

    /** Reports only answers that will not change: a success, or a failure that will not be retried. */
    private void finishIfFinal(
            JobContext job, BisectRequest request, JobOutcome outcome, BisectResult result, String report) {
        if (job.stopRequested()) {
            // Not final: a cancel is reported as one (above), any other stop runs the job again elsewhere.
            return;
        }
        var last = switch (outcome) {
            case JobOutcome.Succeeded ignored -> true;
            case JobOutcome.Failed failed ->
                !failed.retryable() || job.attempt() >= job.job().maxAttempts();
        };
        if (last) {
            listeners.orderedStream().forEach(listener -> listener.finished(job, request, result, report));
        }
    }

    private BisectProgress progress(JobContext job) {
        var all = java.util.stream.Stream.<BisectProgress>concat(
                        java.util.stream.Stream.of(new RoundRecorder(jdbc, job.fence(), clock)),
                        listeners.orderedStream().map(listener -> listener.progress(job)))
                .filter(progress -> progress != BisectProgress.NONE)
                .toList();
        return switch (all.size()) {
            case 0 -> BisectProgress.NONE;
            case 1 -> all.getFirst();
            default ->
                new BisectProgress() {
                    @Override
                    public void round(int round, int commitsLeft, int roundsToGo) {
                        all.forEach(p -> p.round(round, commitsLeft, roundsToGo));
                    }

                    @Override
                    public void roundEnded(Round round) {
                        all.forEach(p -> p.roundEnded(round));
                    }

                    @Override
                    public void stepStarted(StepRunner.Request step) {
                        all.forEach(p -> p.stepStarted(step));
                    }

                    @Override
                    public void stepEnded(StepRunner.Request step) {
                        all.forEach(p -> p.stepEnded(step));
                    }
                };
        };
    }

    /**
     * A GitHub-started run is trusted for its thread's pull request and the pull requests its range names, but an end
     * given by sha may be any commit of the mirror, which holds every pull request's head, forks' included: an end that
     * is on no branch or tag of the repository makes the run untrusted (no registry credentials, no network, its own
     * cache volumes). Name a pull request's head by its ref ({@code refs/pull/12/head}) to have its trust judged.
     */
    static BisectRequest trustedOnlyOnBranches(BisectRequest request, GitHistory history) {
        if (request.github() == null || !request.registryCredentials()) {
            return request;
        }
        var ends = new ArrayList<>(request.good());
        ends.add(request.bad());
        for (var end : ends) {
            if (BisectRequest.PULL_REQUEST_REF.matcher(end).find()) {
                continue; // its pull request's trust was judged when the command was given
            }
            var sha = history.resolve(end);
            if (sha.isPresent() && !history.onBranchOrTag(sha.get())) {
                return request.untrusted(
                        "its range names `" + end + "`, which is on no branch or tag of the repository");
            }
        }
        return request;
    }

    private String token(BisectRequest request) {
        var source = credentials.getIfAvailable();
        return source == null ? null : source.tokenFor(request.installationId()).orElse(null);
    }
}
