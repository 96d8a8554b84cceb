package io.bisectbot.executor;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.Container;
import io.bisectbot.loop.Loop;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Removes step containers left behind by crashed workers, lost fences or failed removals: at start
 * and then periodically, every container labelled {@code bisectbot.managed=true} whose job is not
 * RUNNING for that worker and attempt is force-removed with its volumes; a standby container (kept for any job of
 * its worker) by the rules of {@code isOrphanStandby}.
 */
public final class OrphanReaper {

    private static final Logger log = LoggerFactory.getLogger(OrphanReaper.class);

    /**
     * How long a standby container may stay exited (or created and never started) before it is removed whoever owns
     * it: its executor removes it at once after its step, so one still there is a removal that failed. Generous, as
     * the engine's clock is compared with this one.
     */
    static final Duration STANDBY_LINGER = Duration.ofMinutes(10);

    private final DockerClient docker;
    private final LiveJobs liveJobs;
    private final Duration interval;
    private final Duration firstPass;
    private final Counter reaped;
    private final DockerExecutor executor;
    private final Clock clock;

    public OrphanReaper(DockerClient docker, LiveJobs liveJobs, Duration interval, MeterRegistry registry) {
        this(docker, liveJobs, interval, Duration.ZERO, registry, null, Clock.systemUTC());
    }

    /**
     * {@code firstPass}: how long after start the first pass runs, the later ones every {@code interval};
     * {@code executor}: this process's, whose standby containers are told from those an earlier process of the same
     * worker left (null: none are told apart).
     */
    public OrphanReaper(
            DockerClient docker,
            LiveJobs liveJobs,
            Duration interval,
            Duration firstPass,
            MeterRegistry registry,
            DockerExecutor executor,
            Clock clock) {
        this.docker = docker;
        this.liveJobs = liveJobs;
        this.interval = interval;
        this.firstPass = firstPass;
        this.executor = executor;
        this.clock = clock;
        this.reaped = Counter.builder("bisectbot.orphans.reaped")
                .description("Step containers removed because their job no longer runs")
                .register(registry);
    }

    /** One pass; returns how many containers were removed. Never removes on doubt (e.g. database down). */
    public int reapOnce() {
        List<Container> containers = docker.listContainersCmd()
                .withShowAll(true)
                .withLabelFilter(Map.of(Labels.MANAGED, "true"))
                .exec();
        int removed = 0;
        for (Container c : containers) {
            try {
                if (isOrphan(c)) {
                    docker.removeContainerCmd(c.getId())
                            .withForce(true)
                            .withRemoveVolumes(true)
                            .exec();
                    reaped.increment();
                    removed++;
                    log.info("Removed orphaned step container {} (labels {})", c.getId(), c.getLabels());
                }
            } catch (NotFoundException gone) {
                // Removed by its executor meanwhile.
            } catch (RuntimeException e) {
                log.warn("Could not judge or remove container {}", c.getId(), e);
            }
        }
        return removed;
    }

    private boolean isOrphan(Container container) {
        var labels = container.getLabels();
        if (labels.containsKey(Labels.STANDBY)) {
            return isOrphanStandby(container, labels);
        }
        long jobId;
        int attempt;
        String worker = labels.get(Labels.WORKER_ID);
        try {
            jobId = Long.parseLong(labels.get(Labels.JOB_ID));
            attempt = Integer.parseInt(labels.get(Labels.ATTEMPT));
        } catch (RuntimeException malformed) {
            // Managed but unattributable: no job can ever claim it.
            return true;
        }
        return worker == null || !liveJobs.isRunning(jobId, worker, attempt);
    }

    /**
     * A standby container (parked for any job of its worker, or running a step it was taken for) carries no job: it is
     * an orphan once its worker has stopped, when an earlier process of this process's worker left it, or when it has
     * been exited (or never started) for {@link #STANDBY_LINGER}: a kept one always runs its waiting shell, and a
     * step's is removed once the step is over. A step whose job stops while its worker lives (cancelled, or its fence
     * lost to another instance) is stopped by its job, not here.
     */
    private boolean isOrphanStandby(Container container, Map<String, String> labels) {
        var worker = labels.get(Labels.WORKER_ID);
        if (worker == null || !liveJobs.isWorkerAlive(worker)) {
            return true;
        }
        if (executor != null
                && !executor.standbyOwner().equals(labels.get(Labels.STANDBY))
                && worker.equals(liveJobs.localWorkerId())) {
            // Left by an earlier process of this one's worker id (restarted with a fixed WORKER_ID), whose worker
            // looks alive again. A fixed worker id is used by one process at a time (RUNBOOK), so it is not in use.
            return true;
        }
        if ("running".equals(container.getState())) {
            return false;
        }
        Instant since = Instant.ofEpochSecond(container.getCreated() == null ? 0 : container.getCreated());
        if (!"created".equals(container.getState())) {
            var finished = docker.inspectContainerCmd(container.getId())
                    .exec()
                    .getState()
                    .getFinishedAt();
            if (finished != null && !finished.startsWith("0001-")) {
                try {
                    since = Instant.parse(finished);
                } catch (java.time.format.DateTimeParseException odd) {
                    // Judged by its creation time instead.
                }
            }
        }
        return since.isBefore(clock.instant().minus(STANDBY_LINGER));
    }

    /** {@code firstPass} after start, then every {@code interval}; an engine that is down is retried with backoff. */
    public Loop loop() {
        return new Loop("orphan-reaper", interval, () -> {
                    reapOnce();
                    return false;
                })
                .withInitialDelay(firstPass);
    }
}
