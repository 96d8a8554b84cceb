package io.bisectbot.queue;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Takes back jobs whose worker stopped heartbeating (crashed, frozen, cut off): with attempts left they go back to
 * PENDING after a backoff, else they fail saying which worker was lost. Runs on every instance; the fence and the
 * heartbeat-age condition make concurrent runs safe (each job moves once) and spare workers that came back.
 */
final class RecoveryLoop {

    private static final Logger log = LoggerFactory.getLogger(RecoveryLoop.class);
    private static final int BATCH = 500;

    private final JobRepository repository;
    private final Clock clock;
    private final Duration staleAfter;
    private final Backoff backoff;
    private final QueueMetrics metrics;
    private volatile boolean failing;

    RecoveryLoop(JobRepository repository, Clock clock, Duration staleAfter, Backoff backoff, QueueMetrics metrics) {
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
            var stale = repository.findStale(staleBefore, BATCH);
            var transitions = new ArrayList<Transition>(stale.size());
            for (var job : stale) {
                var fence = job.fence();
                var why = "worker " + fence.workerId() + " lost: no heartbeat since " + job.heartbeatAt();
                if (job.cancelRequested()) {
                    transitions.add(Transition.cancelled(fence, "cancelled; " + why));
                } else if (fence.attempt() < job.maxAttempts()) {
                    transitions.add(Transition.retryLater(fence, why, backoff.afterAttempt(fence.attempt()), "recovered"));
                } else {
                    transitions.add(Transition.failed(fence, why + " (attempt " + fence.attempt() + " of "
                            + job.maxAttempts() + ", no attempts left)"));
                }
            }
            var moved = repository.applyTransitions(transitions, now, staleBefore);
            for (int i = 0; i < stale.size(); i++) {
                var t = transitions.get(i);
                if (moved.contains(t.fence().jobId())) {
                    log.warn("Took back job {} attempt {}: {}", t.fence().jobId(), t.fence().attempt(), t.error());
                    metrics.count("recovered", stale.get(i).kind());
                }
            }
            for (var worker : repository.markStaleWorkersStopped(staleBefore)) {
                log.warn("Worker {} stopped heartbeating; marked STOPPED", worker);
            }
            failing = false;
            return moved.size();
        } catch (RuntimeException e) {
            if (!failing) {
                log.warn("Recovery pass failed (will keep trying): {}", Failures.brief(e));
                failing = true;
            }
            return 0;
        }
    }
}
