package io.bisectbot.queue;

import io.bisectbot.loop.Backoff;
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
import java.util.concurrent.Semaphore;
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
 *
 * <p>When jobs are short, claims also fill a local buffer ({@link PrefetchSize}) and a second claimer overlaps the
 * first. A buffered job is claimed like any other: RUNNING under this worker's fence, in {@link #running} and so in
 * every heartbeat; if the instance dies, recovery takes it back like a running job. It waits for a slot; at a
 * graceful shutdown it is released without running and without counting the attempt.
 */
final class Worker {

    private static final Logger log = LoggerFactory.getLogger(Worker.class);
    /** How long a job that could not enqueue for a tenant over its pending cap waits before it runs again. */
    static final Duration TENANT_OVER_CAP_DELAY = Duration.ofSeconds(30);
    /** Most jobs in the local buffer, per job slot. */
    static final int BUFFER_PER_SLOT = 4;
    /** Claim statements in flight at once while the buffer is in use (one otherwise). */
    private static final int CLAIMERS = 2;

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
    /** One per claimer: a wake-up reaches each. */
    private final List<ArrayBlockingQueue<Boolean>> wakeups = new ArrayList<>();
    /**
     * Jobs claimed here whose handler has not returned: running ones (holding a slot) and buffered ones (waiting for
     * one). A job whose handler returned stays in {@link #running} (and in heartbeats) until its result is stored,
     * but no longer counts here.
     */
    private final AtomicInteger unfinished = new AtomicInteger();
    /** The local buffer: claimed jobs waiting for a slot. Taken out by their thread when it starts the handler. */
    private final Set<JobContext> buffered = ConcurrentHashMap.newKeySet();

    private final Semaphore slots;
    private final PrefetchSize prefetch;
    /** Jobs promised to claims in flight (guarded by {@code this}), so two claimers never take more than is free. */
    private int reserved;

    private final ExecutorService jobThreads;
    private final List<Thread> dispatchers = new ArrayList<>();
    private volatile boolean claiming = true;
    private volatile boolean claimsPaused;
    /** False while this instance's liveness lock is not confirmed: it must not start work another may take. */
    private volatile boolean live = true;

    private volatile boolean stopped;
    /** Set only by tests that simulate a crash: results are then never written, as if the process died. */
    private volatile boolean crashed;

    Worker(
            String workerId,
            QueueProperties properties,
            JobRepository repository,
            Map<String, JobHandler> handlers,
            CompletionWriter completions,
            Backoff backoff,
            Clock clock,
            QueueMetrics metrics,
            JsonMapper json) {
        this.workerId = workerId;
        this.properties = properties;
        this.repository = repository;
        this.handlers = handlers;
        this.completions = completions;
        this.backoff = backoff;
        this.clock = clock;
        this.metrics = metrics;
        this.json = json;
        this.jobThreads = Executors.newThreadPerTaskExecutor(
                Thread.ofVirtual().name("job-", 0).factory());
        this.slots = new Semaphore(properties.maxConcurrentJobs(), true);
        this.prefetch = new PrefetchSize(BUFFER_PER_SLOT * properties.maxConcurrentJobs());
        for (int i = 0; i < CLAIMERS; i++) {
            var claimer = i;
            wakeups.add(new ArrayBlockingQueue<>(1));
            dispatchers.add(Thread.ofPlatform()
                    .name("dispatcher-" + workerId + (i == 0 ? "" : "-" + i))
                    .daemon()
                    .unstarted(() -> dispatch(claimer)));
        }
    }

    void start() {
        dispatchers.forEach(Thread::start);
    }

    /** Look for jobs now rather than at the next poll. */
    void wake() {
        for (var queue : wakeups) {
            queue.offer(Boolean.TRUE);
        }
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
                    log.warn(
                            "Job {} attempt {} was taken back from this worker (heartbeat too late); stopping it",
                            fence.jobId(),
                            fence.attempt());
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

    private void dispatch(int claimer) {
        MDC.put("worker_id", workerId);
        var failureDelay = properties.pollInterval();
        var wakeup = wakeups.get(claimer);
        while (!stopped) {
            // The second claimer only works while the buffer is in use: for long jobs one claim at a time is plenty.
            var free = claimer == 0 || prefetch.target() > 0 ? reserve() : 0;
            var claimedAll = false;
            if (free > 0) {
                try {
                    var started = System.nanoTime();
                    var jobs = repository.claim(workerId, free, unavailableKinds(), clock.instant());
                    var took = System.nanoTime() - started;
                    metrics.claimTook(Duration.ofNanos(took));
                    prefetch.claimTook(took);
                    jobs.forEach(this::launch);
                    claimedAll = jobs.size() == free;
                    failureDelay = properties.pollInterval();
                } catch (RuntimeException e) {
                    log.warn(
                            "Could not claim jobs (will retry in {} ms): {}",
                            failureDelay.toMillis(),
                            Failures.brief(e));
                    settle(free);
                    pause(wakeup, failureDelay);
                    failureDelay = failureDelay.multipliedBy(2).compareTo(Duration.ofSeconds(30)) > 0
                            ? Duration.ofSeconds(30)
                            : failureDelay.multipliedBy(2);
                    continue;
                }
                settle(free); // after launch: the claimed jobs count in unfinished now
            }
            if (claimedAll) {
                continue; // every free place filled: the next loop waits for one to free up
            }
            try {
                wakeup.poll(properties.pollInterval().toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /**
     * Reserves what the next claim may take: free slots plus the buffer's free places. Results still being stored
     * (at most another slots-plus-buffer) hold neither, so claiming overlaps the completion write instead of
     * waiting for it. With a buffer, claims wait until a quarter of it is free, so each carries many jobs.
     */
    private synchronized int reserve() {
        if (!claiming || claimsPaused || !live) {
            return 0;
        }
        var capacity = properties.maxConcurrentJobs() + prefetch.target();
        var taken = unfinished.get() + reserved;
        var free = Math.min(capacity - taken, 2 * capacity - running.size() - reserved);
        if (free <= 0 || (capacity > properties.maxConcurrentJobs() && taken > 0 && free < capacity / 4)) {
            return 0;
        }
        reserved += free;
        return free;
    }

    private synchronized void settle(int claimed) {
        reserved -= claimed;
    }

    private void pause(ArrayBlockingQueue<Boolean> wakeup, Duration duration) {
        try {
            wakeup.poll(duration.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void launch(Job job) {
        var context = new JobContext(job);
        unfinished.incrementAndGet();
        buffered.add(context);
        running.put(context.fence(), context);
        metrics.count("claimed", job.kind());
        jobThreads.execute(() -> execute(context));
    }

    private void execute(JobContext context) {
        var job = context.job();
        MDC.put("worker_id", workerId);
        MDC.put("job_id", Long.toString(job.id()));
        JobOutcome outcome;
        JobQueue.TenantOverCap overCap = null;
        context.bindThread(Thread.currentThread()); // a stop request interrupts the wait for a slot, too
        var slot = takeSlot(context);
        var started = System.nanoTime();
        try {
            var handler = handlers.get(job.kind());
            outcome = !slot.run()
                    ? JobOutcome.failed("stopped before it started")
                    : handler == null
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
            outcome = JobOutcome.failed(
                    e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName());
        } finally {
            context.bindThread(null);
            Thread.interrupted(); // a stop request must not leak into the completion below
            if (slot.held()) {
                slots.release();
            }
            unfinished.decrementAndGet();
            prefetch.handlerReturned();
            wake(); // the slot is free; the result is stored below (the fence still guards it)
        }
        if (slot.run()) {
            metrics.ran(job.kind(), Duration.ofNanos(System.nanoTime() - started));
        }
        try {
            finish(context, outcome, overCap);
        } catch (Throwable e) {
            // E.g. a result that cannot be written as JSON: the attempt still ends, as a failure.
            log.warn(
                    "Job {} attempt {}: its outcome could not be stored: {}",
                    job.id(),
                    job.attemptCount(),
                    e.toString());
            finish(context, JobOutcome.failedPermanently("the handler's outcome could not be stored: " + e), null);
        }
        MDC.clear();
    }

    private record Slot(boolean held, boolean run) {}

    /**
     * Waits for a slot and takes the job out of the buffer. It does not run when it was stopped meanwhile (cancel,
     * lost fence or liveness: its stop reason decides the transition) or released from the buffer at shutdown.
     */
    private Slot takeSlot(JobContext context) {
        boolean held = false;
        try {
            slots.acquire();
            held = true;
        } catch (InterruptedException e) {
            // Stopped while buffered; the stop reason is set.
        }
        var mine = buffered.remove(context);
        if (!mine || context.stopReason() == null && !held) {
            context.requestStop(JobContext.StopReason.SHUTDOWN); // released from the buffer (first reason wins)
        }
        return new Slot(held, held && mine && !context.stopRequested());
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
                log.error(
                        "Result of job {} attempt {} was not stored: {}",
                        job.id(),
                        job.attemptCount(),
                        Failures.brief(error));
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
            case JobOutcome.Succeeded s ->
                Transition.succeeded(fence, s.result() == null ? null : json.writeValueAsString(s.result()));
            case JobOutcome.Failed f
            when context.stopReason() == JobContext.StopReason.SHUTDOWN -> Transition.released(fence);
            case JobOutcome.Failed f
            when context.stopReason() == JobContext.StopReason.LIVENESS_LOST ->
                Transition.released(fence, "liveness session of worker " + workerId + " lost; attempt not counted");
            case JobOutcome.Failed f
            when context.stopReason() == JobContext.StopReason.CANCELLED ->
                Transition.cancelled(fence, "cancelled while running");
            case JobOutcome.Failed f
            when f.retryable() && job.attemptCount() < job.maxAttempts() ->
                Transition.retryLater(fence, f.error(), backoff.afterAttempt(job.attemptCount()), "retry_scheduled");
            case JobOutcome.Failed f -> Transition.failed(fence, attemptsNote(job, f));
        };
    }

    private static String attemptsNote(Job job, JobOutcome.Failed failed) {
        return failed.retryable()
                ? failed.error() + " (attempt " + job.attemptCount() + " of " + job.maxAttempts()
                        + ", no attempts left)"
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

    /** Graceful shutdown: buffered jobs have not started; they go back to PENDING now, their attempt not counted. */
    void releaseBuffered() {
        for (var context : buffered) {
            if (buffered.remove(context)) {
                context.requestStop(JobContext.StopReason.SHUTDOWN);
            }
        }
    }

    /** Test hook: jobs claimed here and waiting in the local buffer. */
    List<Long> bufferedJobIds() {
        return buffered.stream().map(JobContext::jobId).sorted().toList();
    }

    /** Test hook: a fixed buffer size instead of the one measured from the completion rate. */
    void fixPrefetch(int size) {
        prefetch.fix(size);
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
        dispatchers.forEach(Thread::interrupt);
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
