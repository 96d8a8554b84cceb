package io.bisectbot.executor;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.Container;
import io.bisectbot.loop.Loop;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Removes step containers left behind by crashed workers, lost fences or failed removals: at start
 * and then periodically, every container labelled {@code bisectbot.managed=true} whose job is not
 * RUNNING for that worker and attempt is force-removed with its volumes; a standby container (kept for any job of
 * its worker) once its worker has stopped.
 */
public final class OrphanReaper {

    private static final Logger log = LoggerFactory.getLogger(OrphanReaper.class);

    private final DockerClient docker;
    private final LiveJobs liveJobs;
    private final Duration interval;
    private final Duration firstPass;
    private final Counter reaped;

    public OrphanReaper(DockerClient docker, LiveJobs liveJobs, Duration interval, MeterRegistry registry) {
        this(docker, liveJobs, interval, Duration.ZERO, registry);
    }

    /** {@code firstPass}: how long after start the first pass runs, the later ones every {@code interval}. */
    public OrphanReaper(
            DockerClient docker, LiveJobs liveJobs, Duration interval, Duration firstPass, MeterRegistry registry) {
        this.docker = docker;
        this.liveJobs = liveJobs;
        this.interval = interval;
        this.firstPass = firstPass;
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
                if (isOrphan(c.getLabels())) {
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

    private boolean isOrphan(Map<String, String> labels) {
        if (labels.containsKey(Labels.STANDBY)) {
            // Kept for any job of its worker (or running one's step): judged by the worker alone.
            var worker = labels.get(Labels.WORKER_ID);
            return worker == null || !liveJobs.isWorkerAlive(worker);
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

    /** {@code firstPass} after start, then every {@code interval}; an engine that is down is retried with backoff. */
    public Loop loop() {
        return new Loop("orphan-reaper", interval, () -> {
                    reapOnce();
                    return false;
                })
                .withInitialDelay(firstPass);
    }
}
