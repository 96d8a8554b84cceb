package io.bisectbot.queue;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import tools.jackson.databind.json.JsonMapper;

/**
 * Claims jobs into this instance's free slots and runs each on its own (virtual) thread. Claims happen when a slot
 * frees up, when a notification says jobs arrived, and at least every poll interval, so a lost notification only
 * delays a job. Results go through the {@link CompletionWriter}; a result whose fence no longer holds is discarded.
 */
final class Worker {

    private static final Logger log = LoggerFactory.getLogger(Worker.class);
    /** How long a job that could not enqueue for a tenant over its pending cap waits before it runs again. */
    static final Duration TENANT_OVER_CAP_DELAY = Duration.ofSeconds(30);

    private final String workerId;
    private final QueueProperties properties;
    private final JobRepository repository;
    private final Map<String, JobHandler> handlers;
    private final CompletionWriter completions;
    private final Backoff backoff;
    private final Clock clock;
    private final QueueMetrics metrics;
    private final JsonMapper json;

    /** Keyed by fence: after a lost heartbeat the same job may run here twice at once, in two attempts. */
    private final Map<JobFence, JobContext> running = new ConcurrentHashMap<>();
    /**
     * Attempts whose result is being written. A heartbeat that no longer finds one crossed that write (the result
     * committed first); it was not taken back, and the write's own fence decides what is kept.
     */
    private final Set<JobFence> resultsInFlight = ConcurrentHashMap.newKeySet();
    private final ArrayBlockingQueue<Boolean> wakeups = new ArrayBlockingQueue<>(1);
    /**
     * Handlers claimed here and not yet returned: these hold the job slots. A job whose handler returned stays in
     * {@link #running} (and in heartbeats) until its result is stored, but no longer holds a slot.
     */
    private final AtomicInteger executing = new AtomicInteger();
    private final ExecutorService jobThreads;
    private final Thread dispatcher;
    private volatile boolean claiming = true;
    private volatile boolean claimsPaused;
    /** False while this instance's liveness lock is not confirmed: it must not start work another may take. */
    private volatile boolean live = true;
    private volatile boolean stopped;
    /** Set only by tests that simulate a crash: results are then never written, as if the process died. */
    private volatile boolean crashed;

    Worker(String workerId, QueueProperties properties, JobRepository repository, Map<String, JobHandler> handlers,
           CompletionWriter completions, Backoff backoff, Clock clock, QueueMetrics metrics, JsonMapper json) {
        this.workerId = workerId;
        this.properties = properties;
        this.repository = repository;
        this.handlers = handlers;
        this.completions = completions;
        this.backoff = backoff;
        this.clock = clock;
        this.metrics = metrics;
        this.json = json;
        this.jobThreads = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("job-", 0).factory());
        this.dispatcher = Thread.ofPlatform().name("dispatcher-" + workerId).daemon().unstarted(this::dispatch);
    }

    void start() {
        dispatcher.start();
    }

    /** Look for jobs now rather than at the next poll. */
    void wake() {
        wakeups.offer(Boolean.TRUE);
    }

    int runningCount() {
        return running.size();
    }

    Collection<JobFence> runningFences() {
        return new ArrayList<>(running.keySet());
    }

    /** Heartbeat answer: attempts missing from {@code alive} were taken back; those flagged there must be cancelled. */
    void onHeartbeat(Collection<JobFence> sent, Map<JobFence, Boolean> alive) {
        for (var fence : sent) {
            var context = running.get(fence);
            if (context == null || resultsInFlight.contains(fence)) {
                continue;
            }
            var cancel = alive.get(fence);
            if (cancel == null) {
                if (context.requestStop(JobContext.StopReason.FENCE_LOST)) {
                    log.warn("Job {} attempt {} was taken back from this worker (heartbeat too late); stopping it",
                            fence.jobId(), fence.attempt());
                }
            } else if (cancel) {
                requestCancel(fence.jobId());
            }
        }
    }

    /** Test hook: whether the result of this attempt is being written. */
    boolean resultInFlight(JobFence fence) {
        return resultsInFlight.contains(fence);
    }

    void requestCancel(long jobId) {
        running.forEach((fence, context) -> {
            if (fence.jobId() == jobId && context.requestStop(JobContext.StopReason.CANCELLED)) {
                log.info("Cancelling job {} on request", jobId);
            }
        });
    }

    /** Every kind this worker has a handler for. */
    Set<String> kinds() {
        return handlers.keySet();
    }

    /** Kinds whose handler cannot run right now (e.g. Docker is away); they stay queued for others or later. */
    Set<String> unavailableKinds() {
        Set<String> kinds = null;
        for (var handler : handlers.values()) {
            if (!handler.ready()) {
                kinds = kinds == null ? new java.util.HashSet<>() : kinds;
                kinds.add(handler.kind());
            }
        }
        return kinds == null ? Set.of() : kinds;
    }

    private void dispatch() {
        MDC.put("worker_id", workerId);
        var failureDelay = properties.pollInterval();
        while (!stopped) {
            // Slots are handlers running; results still being stored (at most another maxConcurrentJobs) do not
            // hold one, so claiming overlaps the completion write instead of waiting for it.
            var max = properties.maxConcurrentJobs();
            var free = Math.min(max - executing.get(), 2 * max - running.size());
            var claimedAll = false;
            if (claiming && !claimsPaused && live && free > 0) {
                try {
                    var started = System.nanoTime();
                    var jobs = repository.claim(workerId, free, unavailableKinds(), clock.instant());
                    metrics.claimTook(Duration.ofNanos(System.nanoTime() - started));
                    jobs.forEach(this::launch);
                    claimedAll = jobs.size() == free;
                    failureDelay = properties.pollInterval();
                } catch (RuntimeException e) {
                    log.warn("Could not claim jobs (will retry in {} ms): {}", failureDelay.toMillis(), Failures.brief(e));
                    pause(failureDelay);
                    failureDelay = failureDelay.multipliedBy(2).compareTo(Duration.ofSeconds(30)) > 0
                            ? Duration.ofSeconds(30) : failureDelay.multipliedBy(2);
                    continue;
                }
            }
            if (claimedAll) {
                continue; // every slot filled: the next loop waits for one to free up
            }
            try {
                wakeups.poll(properties.pollInterval().toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private void pause(Duration duration) {
        try {
            wakeups.poll(duration.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void launch(Job job) {
        var context = new JobContext(job);
        executing.incrementAndGet();
        running.put(context.fence(), context);
        metrics.count("claimed", job.kind());
        jobThreads.execute(() -> execute(context));
    }

    private void execute(JobContext context) {
        var job = context.job();
        MDC.put("worker_id", workerId);
        MDC.put("job_id", Long.toString(job.id()));
        var started = System.nanoTime();
        JobOutcome outcome;
        JobQueue.TenantOverCap overCap = null;
        context.bindThread(Thread.currentThread());
        try {
            var handler = handlers.get(job.kind());
            outcome = handler == null
                    ? JobOutcome.failed("no handler for job kind '" + job.kind() + "' on worker " + workerId
                            + " (known kinds: " + String.join(", ", handlers.keySet()) + ")")
                    : handler.handle(context);
            if (outcome == null) {
                outcome = JobOutcome.failed("handler for '" + job.kind() + "' returned no outcome");
            }
        } catch (InterruptedException e) {
            outcome = JobOutcome.failed("interrupted");
        } catch (JobQueue.TenantOverCap e) {
            // The tenant has too many jobs waiting: try again when some have run, without spending an attempt.
            log.info("Job {} deferred: {}", job.id(), e.getMessage());
            overCap = e;
            outcome = JobOutcome.failed(e.getMessage());
        } catch (Throwable e) {
            // Any Throwable, errors included (OutOfMemoryError, NoClassDefFoundError, AssertionError): the attempt
            // ends here, or the job would stay RUNNING with a live heartbeat and no thread.
            log.warn("Job {} attempt {} failed: {}", job.id(), job.attemptCount(), e.toString());
            outcome = JobOutcome.failed(e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName());
        } finally {
            context.bindThread(null);
            Thread.interrupted(); // a stop request must not leak into the completion below
            executing.decrementAndGet();
            wake(); // the slot is free; the result is stored below (the fence still guards it)
        }
        metrics.ran(job.kind(), Duration.ofNanos(System.nanoTime() - started));
        try {
            finish(context, outcome, overCap);
        } catch (Throwable e) {
            // E.g. a result that cannot be written as JSON: the attempt still ends, as a failure.
            log.warn("Job {} attempt {}: its outcome could not be stored: {}", job.id(), job.attemptCount(), e.toString());
            finish(context, JobOutcome.failedPermanently("the handler's outcome could not be stored: " + e), null);
        }
        MDC.clear();
    }

    private void finish(JobContext context, JobOutcome outcome, JobQueue.TenantOverCap overCap) {
        var job = context.job();
        if (crashed) {
            return;
        }
        if (context.stopReason() == JobContext.StopReason.FENCE_LOST) {
            discarded(context, "its heartbeat was lost and another attempt may be running");
            return;
        }
        var transition = overCap != null && context.stopReason() == null
                ? Transition.deferred(context.fence(), overCap.getMessage(), TENANT_OVER_CAP_DELAY)
                : decide(context, outcome);
        resultsInFlight.add(context.fence());
        completions.submit(transition).whenComplete((applied, error) -> {
            if (error != null) {
                log.error("Result of job {} attempt {} was not stored: {}", job.id(), job.attemptCount(), Failures.brief(error));
            } else if (!applied) {
                discarded(context, "the job was no longer this worker's when the result arrived");
            } else {
                metrics.count(transition.eventType(), job.kind());
            }
            running.remove(context.fence(), context);
            resultsInFlight.remove(context.fence()); // after leaving running, so no heartbeat sees it in neither
            wake();
        });
    }

    private void discarded(JobContext context, String why) {
        var job = context.job();
        log.warn("Discarding the outcome of job {} attempt {}: {}", job.id(), job.attemptCount(), why);
        try {
            repository.recordEvent(job.id(), clock.instant(), "result_discarded", workerId, job.attemptCount(), why);
        } catch (RuntimeException e) {
            log.warn("Could not record the discarded result of job {}: {}", job.id(), Failures.brief(e));
        }
        running.remove(context.fence(), context);
        wake();
    }

    /** The one place that turns a handler's outcome into the job's next state. */
    private Transition decide(JobContext context, JobOutcome outcome) {
        var job = context.job();
        var fence = context.fence();
        return switch (outcome) {
            case JobOutcome.Succeeded s -> Transition.succeeded(fence, s.result() == null ? null : json.writeValueAsString(s.result()));
            case JobOutcome.Failed f when context.stopReason() == JobContext.StopReason.SHUTDOWN -> Transition.released(fence);
            case JobOutcome.Failed f when context.stopReason() == JobContext.StopReason.LIVENESS_LOST ->
                    Transition.released(fence, "liveness session of worker " + workerId + " lost; attempt not counted");
            case JobOutcome.Failed f when context.stopReason() == JobContext.StopReason.CANCELLED ->
                    Transition.cancelled(fence, "cancelled while running");
            case JobOutcome.Failed f when f.retryable() && job.attemptCount() < job.maxAttempts() ->
                    Transition.retryLater(fence, f.error(), backoff.afterAttempt(job.attemptCount()), "retry_scheduled");
            case JobOutcome.Failed f -> Transition.failed(fence, attemptsNote(job, f));
        };
    }

    private static String attemptsNote(Job job, JobOutcome.Failed failed) {
        return failed.retryable()
                ? failed.error() + " (attempt " + job.attemptCount() + " of " + job.maxAttempts() + ", no attempts left)"
                : failed.error();
    }

    /** The liveness lock is unconfirmed: claim nothing until it is held again; running jobs go on for now. */
    void livenessSuspended() {
        live = false;
    }

    /** The liveness lock is lost and others may take the jobs: claim nothing and stop every running job now. */
    void livenessLost() {
        live = false;
        stopAll(JobContext.StopReason.LIVENESS_LOST);
    }

    /** The liveness lock is held again (or liveness is heartbeat-only): claim again. */
    void livenessRegained() {
        live = true;
        wake();
    }

    /** Stops claiming; running jobs go on. */
    void stopClaiming() {
        claiming = false;
    }

    /** Test hook for a frozen instance: no claim while paused. */
    void pauseClaims(boolean paused) {
        claimsPaused = paused;
        if (!paused) {
            wake();
        }
    }

    /** Waits up to {@code grace} for running jobs to finish; true when none is left. */
    boolean awaitIdle(Duration grace) {
        var deadline = System.nanoTime() + grace.toNanos();
        while (!running.isEmpty() && System.nanoTime() < deadline) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return running.isEmpty();
            }
        }
        return running.isEmpty();
    }

    /** Asks every running job to stop for {@code reason}. */
    void stopAll(JobContext.StopReason reason) {
        running.values().forEach(context -> context.requestStop(reason));
    }

    void close() {
        stopped = true;
        dispatcher.interrupt();
        jobThreads.shutdownNow();
    }

    /** Test hook: dies like a killed process; jobs stop and nothing more is written. */
    void crash() {
        crashed = true;
        claiming = false;
        stopAll(JobContext.StopReason.FENCE_LOST);
        close();
    }

    List<Long> runningJobIds() {
        return running.keySet().stream().map(JobFence::jobId).toList();
    }
}
