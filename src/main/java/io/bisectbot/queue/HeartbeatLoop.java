package io.bisectbot.queue;

import java.time.Clock;
import java.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every heartbeat interval, proves in one statement that this worker and each of its running jobs are alive, and
 * hands the answer to the {@link Worker}: jobs taken back meanwhile are stopped, cancel requests are honoured.
 */
final class HeartbeatLoop {

    private static final Logger log = LoggerFactory.getLogger(HeartbeatLoop.class);

    private final JobRepository repository;
    private final Worker worker;
    private final Clock clock;
    private final String workerId;
    private final Instant startedAt;
    private final String version;
    private final int maxConcurrentJobs;
    private final LivenessLock liveness;
    private volatile String state = "RUNNING";
    private volatile boolean paused;
    private volatile boolean failing;
    /** When (this instance's clock) a heartbeat last failed to be stored; null if none ever failed. */
    private volatile Instant lastFailedAt;

    HeartbeatLoop(
            JobRepository repository,
            Worker worker,
            Clock clock,
            String workerId,
            Instant startedAt,
            String version,
            int maxConcurrentJobs,
            LivenessLock liveness) {
        this.liveness = liveness;
        this.repository = repository;
        this.worker = worker;
        this.clock = clock;
        this.workerId = workerId;
        this.startedAt = startedAt;
        this.version = version;
        this.maxConcurrentJobs = maxConcurrentJobs;
    }

    synchronized void beat() {
        if (paused) {
            return;
        }
        try {
            if (clock instanceof DatabaseClock database) {
                database.synchronize(); // before the heartbeat's own time is read
            }
            var sent = worker.runningFences();
            var row = new JobRepository.WorkerRow(
                    workerId,
                    startedAt,
                    state,
                    version,
                    maxConcurrentJobs,
                    liveness.key(),
                    liveness.pid(),
                    liveness.since(),
                    worker.kinds(),
                    worker.unavailableKinds());
            var alive = repository.heartbeat(row, sent, clock.instant());
            worker.onHeartbeat(sent, alive);
            if (failing) {
                log.info("Heartbeats are stored again");
                failing = false;
            }
        } catch (RuntimeException e) {
            if (Thread.currentThread().isInterrupted()) {
                return; // the node is stopping its loop: the statement was cut, nothing failed
            }
            lastFailedAt = clock.instant();
            if (!failing) {
                log.warn("Could not store the heartbeat (will keep trying): {}", Failures.brief(e));
                failing = true;
            }
        }
    }

    /**
     * When this instance last failed to store a heartbeat. The others may not have reached the database either, so
     * recovery waits {@code JOB_STALE_AFTER} from then before it takes jobs of stale workers.
     */
    Instant lastFailedAt() {
        return lastFailedAt;
    }

    void state(String value) {
        this.state = value;
    }

    /**
     * Test hook for a frozen instance: no heartbeat is written while paused. Waits for a heartbeat in flight, so
     * none carries a time read after the call.
     */
    synchronized void pause(boolean value) {
        this.paused = value;
    }
}
