package io.bisectbot.queue;

import io.bisectbot.loop.Backoff;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Takes back jobs whose worker stopped heartbeating (crashed, frozen, cut off): with attempts left they go back to
 * PENDING after a backoff, else they fail saying which worker was lost. Runs on every instance; the fence and the
 * heartbeat-age condition make concurrent runs safe (each job moves once) and spare workers that came back.
 *
 * <p>A second, frequent pass ({@link #recoverOrphans}) takes back at once the jobs of workers whose liveness lock
 * is gone (see {@link LivenessLock}): their session ended, so they crashed or were cut off. Those jobs run again no
 * sooner than {@code rerunDelay} after, which leaves the worker that lost its session the time to stop them.
 */
final class RecoveryLoop {

    private static final Logger log = LoggerFactory.getLogger(RecoveryLoop.class);
    private static final int BATCH = 500;
    private static final int ORPHAN_BATCH = 1000;

    private final JobRepository repository;
    private final Clock clock;
    private final Duration staleAfter;
    private final Backoff backoff;
    private final QueueMetrics metrics;
    private volatile boolean failing;

    private final Duration rerunDelay;
    private volatile boolean orphansFailing;
    private final java.util.function.Supplier<Instant> ownHeartbeatFailedAt;

    RecoveryLoop(
            JobRepository repository,
            Clock clock,
            Duration staleAfter,
            Backoff backoff,
            QueueMetrics metrics,
            Duration rerunDelay,
            java.util.function.Supplier<Instant> ownHeartbeatFailedAt) {
        this.rerunDelay = rerunDelay;
        this.ownHeartbeatFailedAt = ownHeartbeatFailedAt;
        this.repository = repository;
        this.clock = clock;
        this.staleAfter = staleAfter;
        this.backoff = backoff;
        this.metrics = metrics;
    }

    /** One pass; returns how many jobs were taken back. */
    int recover() {
        try {
            var now = clock.instant();
            var staleBefore = now.minus(staleAfter);
            if (justBackFromOutage(staleBefore)) {
                return 0;
            }
            var stale = repository.findStale(staleBefore, BATCH);
            if (justBackFromOutage(staleBefore)) {
                return 0; // the query itself may have waited out the end of an outage
            }
            var transitions = new ArrayList<Transition>(stale.size());
            for (var job : stale) {
                var fence = job.fence();
                var why = "worker " + fence.workerId() + " lost: no heartbeat since " + job.heartbeatAt();
                if (job.cancelRequested()) {
                    transitions.add(Transition.cancelled(fence, "cancelled; " + why));
                } else if (fence.attempt() < job.maxAttempts()) {
                    transitions.add(
                            Transition.retryLater(fence, why, backoff.afterAttempt(fence.attempt()), "recovered"));
                } else {
                    transitions.add(Transition.failed(
                            fence,
                            why + " (attempt " + fence.attempt() + " of " + job.maxAttempts() + ", no attempts left)"));
                }
            }
            var moved = repository.applyTransitions(transitions, now, staleBefore);
            for (int i = 0; i < stale.size(); i++) {
                var t = transitions.get(i);
                if (moved.contains(t.fence().jobId())) {
                    log.warn(
                            "Took back job {} attempt {}: {}",
                            t.fence().jobId(),
                            t.fence().attempt(),
                            t.error());
                    metrics.count("recovered", stale.get(i).kind());
                }
            }
            for (var worker : repository.markStaleWorkersStopped(staleBefore)) {
                log.warn("Worker {} stopped heartbeating; marked STOPPED", worker);
            }
            failing = false;
            return moved.size();
        } catch (RuntimeException e) {
            if (Thread.currentThread().isInterrupted()) {
                return 0; // the node is stopping its loop: the statement was cut, nothing failed
            }
            if (!failing) {
                log.warn("Recovery pass failed (will keep trying): {}", Failures.brief(e));
                failing = true;
            }
            return 0;
        }
    }

    /** This instance could not store a heartbeat within stale-after: the others may not have been able to either. */
    private boolean justBackFromOutage(Instant staleBefore) {
        var failed = ownHeartbeatFailedAt.get();
        return failed != null && failed.isAfter(staleBefore);
    }

    /**
     * One pass over the jobs of workers whose liveness lock no session holds; returns the longest delay before one
     * of them may run again (zero when none moved), so the caller can wake the claimers then.
     */
    Duration recoverOrphans() {
        try {
            var longest = Duration.ZERO;
            while (true) {
                var orphans = repository.findOrphaned(ORPHAN_BATCH);
                if (orphans.isEmpty()) {
                    break;
                }
                var transitions = new ArrayList<Transition>(orphans.size());
                for (var job : orphans) {
                    var fence = job.fence();
                    var why = "worker " + fence.workerId() + " lost: its database session ended";
                    if (job.cancelRequested()) {
                        transitions.add(Transition.cancelled(fence, "cancelled; " + why));
                    } else if (fence.attempt() < job.maxAttempts()) {
                        var backoffDelay = backoff.afterAttempt(fence.attempt());
                        var delay = backoffDelay.compareTo(rerunDelay) > 0 ? backoffDelay : rerunDelay;
                        transitions.add(Transition.retryLater(fence, why, delay, "recovered"));
                    } else {
                        transitions.add(Transition.failed(
                                fence,
                                why + " (attempt " + fence.attempt() + " of " + job.maxAttempts()
                                        + ", no attempts left)"));
                    }
                }
                var moved = repository.applyTransitions(transitions, clock.instant(), null, true);
                for (int i = 0; i < orphans.size(); i++) {
                    var t = transitions.get(i);
                    if (moved.contains(t.fence().jobId())) {
                        log.warn(
                                "Took back job {} attempt {}: {}",
                                t.fence().jobId(),
                                t.fence().attempt(),
                                t.error());
                        metrics.count("recovered", orphans.get(i).kind());
                        if (t.retryDelay().compareTo(longest) > 0) {
                            longest = t.retryDelay();
                        }
                    }
                }
                if (orphans.size() < ORPHAN_BATCH || moved.isEmpty()) {
                    break;
                }
            }
            for (var worker : repository.markOrphanedWorkersStopped()) {
                log.warn("Worker {} lost its database session; marked STOPPED", worker);
            }
            orphansFailing = false;
            return longest;
        } catch (RuntimeException e) {
            if (Thread.currentThread().isInterrupted()) {
                return Duration.ZERO; // the node is stopping its loop
            }
            if (!orphansFailing) {
                log.warn("Orphan recovery pass failed (will keep trying): {}", Failures.brief(e));
                orphansFailing = true;
            }
            return Duration.ZERO;
        }
    }

    /**
     * At start, while this instance holds its liveness lock: jobs still RUNNING under its own worker id belong to
     * an earlier process with the same {@code WORKER_ID}, whose session has ended (it would hold the lock
     * otherwise), so they are taken back at once instead of after {@code JOB_STALE_AFTER}.
     */
    int recoverLeftovers(String workerId) {
        try {
            var left = repository.findRunningOf(workerId);
            var transitions = new ArrayList<Transition>(left.size());
            for (var job : left) {
                var fence = job.fence();
                var why = "worker " + workerId + " restarted: the process running this attempt is gone";
                transitions.add(
                        job.cancelRequested()
                                ? Transition.cancelled(fence, "cancelled; " + why)
                                : fence.attempt() < job.maxAttempts()
                                        ? Transition.retryLater(fence, why, Duration.ZERO, "recovered")
                                        : Transition.failed(
                                                fence,
                                                why + " (attempt " + fence.attempt() + " of " + job.maxAttempts()
                                                        + ", no attempts left)"));
            }
            var moved = repository.applyTransitions(transitions, clock.instant(), null);
            if (!moved.isEmpty()) {
                log.warn("Took back {} jobs left running by an earlier process of worker {}", moved.size(), workerId);
            }
            return moved.size();
        } catch (RuntimeException e) {
            log.warn(
                    "Could not take back the jobs of an earlier process of worker {}: {}", workerId, Failures.brief(e));
            return 0;
        }
    }
}
