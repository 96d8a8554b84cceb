package io.bisectbot.queue;

import io.bisectbot.crypto.Encryption;
import io.bisectbot.loop.Backoff;
import io.bisectbot.loop.Loop;
import io.micrometer.core.instrument.MeterRegistry;
import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Random;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import tools.jackson.databind.json.JsonMapper;

/**
 * One instance's share of the queue: its {@link Worker}, {@link HeartbeatLoop}, {@link RecoveryLoop} and
 * notification listener, started and stopped in the right order. Several nodes may share one database (and, in
 * tests, one JVM); each has its own worker id.
 */
public final class QueueNode {

    private static final Logger log = LoggerFactory.getLogger(QueueNode.class);
    /** Claimers are woken this long after orphaned jobs become due, so the due time has surely passed. */
    private static final Duration WAKE_SLACK = Duration.ofMillis(20);

    private final String workerId;
    private final QueueProperties properties;
    private final JobRepository repository;
    private final Worker worker;
    private final CompletionWriter completions;
    private final HeartbeatLoop heartbeats;
    private final RecoveryLoop recovery;
    private final JobNotifications notifications;
    private final JobQueue queue;
    private final Clock clock;
    private final Loop heartbeatLoop;
    private final Loop recoveryLoop;
    private final Loop orphanLoop;
    private final LivenessLock liveness;
    private volatile boolean running;
    private volatile boolean draining;

    private QueueNode(
            DataSource dataSource,
            List<JobHandler> handlers,
            QueueProperties properties,
            Clock clock,
            MeterRegistry registry,
            JsonMapper json,
            String version,
            Encryption encryption) {
        this.workerId = properties.workerId() == null || properties.workerId().isBlank()
                ? defaultWorkerId(clock)
                : properties.workerId();
        this.properties = properties;
        this.clock = clock;
        this.repository = new JobRepository(
                dataSource, json, properties.maxPendingPerTenant(), properties.maxRunningPerTenant(), encryption);
        var metrics = new QueueMetrics(registry);
        var backoff = new Backoff(properties.retryBackoffBase(), properties.retryBackoffMax(), new Random());
        var byKind = new LinkedHashMap<String, JobHandler>();
        for (var handler : handlers) {
            if (byKind.putIfAbsent(handler.kind(), handler) != null) {
                throw new IllegalArgumentException("two handlers for job kind '" + handler.kind() + "'");
            }
        }
        this.completions = new CompletionWriter(repository, clock, properties.completionBatchSize(), workerId);
        this.worker = new Worker(workerId, properties, repository, byKind, completions, backoff, clock, metrics, json);
        this.liveness = new LivenessLock(
                dataSource,
                workerId,
                properties.livenessMode(),
                properties.livenessTimeout(),
                new LivenessLock.Listener() {
                    @Override
                    public void suspended(String why) {
                        worker.livenessSuspended();
                    }

                    @Override
                    public void lost(String why) {
                        worker.livenessLost();
                    }

                    @Override
                    public void regained() {
                        worker.livenessRegained();
                    }
                });
        this.heartbeats = new HeartbeatLoop(
                repository,
                worker,
                clock,
                workerId,
                clock.instant(),
                version,
                properties.maxConcurrentJobs(),
                liveness);
        this.recovery = new RecoveryLoop(
                repository,
                clock,
                properties.staleAfter(),
                backoff,
                metrics,
                liveness.rerunDelay(),
                heartbeats::lastFailedAt);
        this.notifications = new JobNotifications(dataSource, worker, workerId);
        this.queue = new JobQueue(repository, byKind.keySet(), clock, properties, workerId, metrics);
        // Started and stopped by this node (not the context), in the order start() and shutdown() need.
        var beat = properties.heartbeatInterval();
        this.heartbeatLoop =
                Loop.every("heartbeat-" + workerId, beat, heartbeats::beat).withInitialDelay(beat);
        var pass = properties.recoveryInterval();
        this.recoveryLoop =
                Loop.every("recovery-" + workerId, pass, recovery::recover).withInitialDelay(pass);
        var orphanCheck =
                Duration.ofMillis(Math.max(20, properties.livenessTimeout().toMillis() / 4));
        this.orphanLoop = Loop.every("orphans-" + workerId, orphanCheck, this::recoverOrphans)
                .withInitialDelay(orphanCheck);
    }

    public static QueueNode create(
            DataSource dataSource,
            List<JobHandler> handlers,
            QueueProperties properties,
            Clock clock,
            MeterRegistry registry,
            JsonMapper json,
            String version) {
        return create(dataSource, handlers, properties, clock, registry, json, version, Encryption.none());
    }

    /** Job payloads and results sealed with {@code encryption}. */
    public static QueueNode create(
            DataSource dataSource,
            List<JobHandler> handlers,
            QueueProperties properties,
            Clock clock,
            MeterRegistry registry,
            JsonMapper json,
            String version,
            Encryption encryption) {
        return new QueueNode(dataSource, handlers, properties, clock, registry, json, version, encryption);
    }

    private static String defaultWorkerId(Clock clock) {
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (Exception e) {
            host = "unknown-host";
        }
        return host + "-" + ProcessHandle.current().pid() + "-"
                + clock.instant().getEpochSecond();
    }

    public String workerId() {
        return workerId;
    }

    public JobQueue queue() {
        return queue;
    }

    public int runningJobs() {
        return worker.runningCount();
    }

    public boolean isRunning() {
        return running;
    }

    /** The database's clock minus this instance's, in ms, as last measured (0 without a {@link DatabaseClock}). */
    public long clockOffsetMillis() {
        return clock instanceof DatabaseClock database ? database.offset().toMillis() : 0;
    }

    /**
     * How this instance proves itself alive: {@code lock} (a crash is seen at once), {@code heartbeat-only (why)},
     * or {@code lost (why)} while the liveness session is being re-established.
     */
    public String liveness() {
        return liveness.describe();
    }

    /** True from the start of a graceful shutdown: the instance should leave the load balancer's rotation. */
    public boolean isDraining() {
        return draining;
    }

    /** Registers the worker, then starts claiming, heartbeating, recovering and listening. */
    public synchronized void start() {
        if (running) {
            return;
        }
        MDC.put("worker_id", workerId);
        if (clock instanceof DatabaseClock database) {
            database.synchronize(); // before the first claim compares a due time
        }
        liveness.start();
        if (liveness.state() == LivenessLock.State.HELD) {
            recovery.recoverLeftovers(workerId);
        }
        heartbeats.beat();
        completions.start();
        worker.start();
        notifications.start();
        heartbeatLoop.start();
        recoveryLoop.start();
        orphanLoop.start();
        running = true;
        log.info(
                "Worker {} started: {} job slots, kinds {}, liveness {}",
                workerId,
                properties.maxConcurrentJobs(),
                queue.kinds(),
                liveness.describe());
        MDC.remove("worker_id");
    }

    /**
     * Graceful stop (SIGTERM): stop claiming, mark the worker DRAINING, let running jobs finish within the grace
     * period, then stop the rest and release them to PENDING without counting the attempt; mark the worker STOPPED.
     */
    public synchronized void shutdown() {
        if (!running) {
            return;
        }
        running = false;
        draining = true;
        worker.stopClaiming();
        worker.releaseBuffered(); // claimed but not started: another instance runs them now, not after this drain
        heartbeats.state("DRAINING");
        heartbeats.beat();
        var grace = properties.shutdownGrace();
        log.info(
                "Worker {} draining: {} running jobs, up to {} s to finish",
                workerId,
                worker.runningCount(),
                grace.toSeconds());
        if (!worker.awaitIdle(grace)) {
            log.warn(
                    "Releasing {} jobs still running after the grace period: {}",
                    worker.runningCount(),
                    worker.runningJobIds());
            worker.stopAll(JobContext.StopReason.SHUTDOWN);
            worker.awaitIdle(Duration.ofSeconds(10));
        }
        Loop.stopTogether(recoveryLoop, orphanLoop, heartbeatLoop);
        notifications.stop();
        worker.close();
        completions.close(Duration.ofSeconds(5));
        try {
            repository.setWorkerState(workerId, "STOPPED", clock.instant());
            repository.notifyJobsAvailable();
        } catch (RuntimeException e) {
            log.warn("Could not mark worker {} STOPPED: {}", workerId, Failures.brief(e));
        }
        // Last: with the lock gone, anything still RUNNING here would be taken back at once.
        liveness.stop();
        log.info("Worker {} stopped", workerId);
    }

    /** Test hook: stops like {@code kill -9}; nothing more is written, no job is released. */
    void crash() {
        running = false;
        liveness.stop(); // the kernel closes a killed process's sockets, and the server ends its sessions
        orphanLoop.halt();
        recoveryLoop.halt();
        heartbeatLoop.halt();
        notifications.stop();
        worker.crash();
        completions.close(Duration.ZERO);
    }

    /** Test hook: jobs claimed by this instance and waiting in its local buffer. */
    List<Long> bufferedJobs() {
        return worker.bufferedJobIds();
    }

    /** Test hook: a fixed local buffer size instead of the measured one. */
    void fixPrefetch(int size) {
        worker.fixPrefetch(size);
    }

    /** Test hook. */
    Worker worker() {
        return worker;
    }

    /** Test hook: a frozen instance writes no heartbeat while paused. */
    void pauseHeartbeats(boolean paused) {
        heartbeats.pause(paused);
        // A frozen process claims nothing either.
        worker.pauseClaims(paused);
    }

    /** Test hook: run one recovery pass now. */
    int recoverNow() {
        return recovery.recover();
    }

    /**
     * Takes back the jobs of instances whose session ended, and wakes every claimer when they become due (the
     * rerun delay leaves the instance that lost its session the time to stop them first).
     */
    private void recoverOrphans() {
        var due = recovery.recoverOrphans();
        if (!due.isZero()) {
            // One sleeper per pass that took jobs back, so the claimers hear of them when they are due, to the
            // millisecond, without holding up the next pass.
            Thread.ofVirtual().name("orphans-due-" + workerId).start(() -> {
                try {
                    Thread.sleep(due.plus(WAKE_SLACK));
                    repository.notifyJobsAvailable();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } catch (RuntimeException e) {
                    // Claimers poll anyway.
                }
            });
        }
    }

    /** Test hook: the liveness lock. */
    LivenessLock livenessLock() {
        return liveness;
    }
}
