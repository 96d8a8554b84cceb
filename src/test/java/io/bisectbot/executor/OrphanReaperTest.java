package io.bisectbot.executor;

import static io.bisectbot.executor.DockerTestSupport.DOCKER;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.Container;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class OrphanReaperTest {

    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final List<String> created = new ArrayList<>();

    private String labelledContainer(long jobId, String worker, int attempt) {
        String id = DOCKER.createContainerCmd(DockerTestSupport.RUNNER_IMAGE)
                .withCmd("sleep", "60")
                .withLabels(Map.of(
                        Labels.MANAGED,
                        "true",
                        Labels.JOB_ID,
                        Long.toString(jobId),
                        Labels.WORKER_ID,
                        worker,
                        Labels.ATTEMPT,
                        Integer.toString(attempt),
                        Labels.STEP,
                        "test"))
                .exec()
                .getId();
        created.add(id);
        return id;
    }

    private static List<String> managedIds() {
        return DockerTestSupport.managedContainers().stream()
                .map(Container::getId)
                .toList();
    }

    @AfterEach
    void cleanUp() {
        for (String id : created) {
            try {
                DOCKER.removeContainerCmd(id)
                        .withForce(true)
                        .withRemoveVolumes(true)
                        .exec();
            } catch (NotFoundException alreadyGone) {
                // Reaped, as intended.
            }
        }
        DockerTestSupport.assertNoManagedContainersLeft();
    }

    @Test
    void a_container_whose_job_is_not_running_is_removed_and_a_live_one_is_kept() {
        String orphan = labelledContainer(41, "w-crashed", 1);
        DOCKER.startContainerCmd(orphan).exec();
        String stale = labelledContainer(43, "w-live", 1);
        String live = labelledContainer(43, "w-live", 2);
        // Containers of other tests on the same engine count as live: only this test's two orphans are dead.
        var reaper = new OrphanReaper(
                DOCKER,
                (job, worker, attempt) -> job != 41 && !(job == 43 && attempt == 1),
                Duration.ofMinutes(1),
                registry);

        int removed = reaper.reapOnce();

        assertThat(removed).isEqualTo(2);
        assertThat(managedIds()).contains(live).doesNotContain(orphan, stale);
        assertThat(registry.get("bisectbot.orphans.reaped").counter().count()).isEqualTo(2);
    }

    @Test
    void a_standby_container_is_removed_once_its_worker_has_stopped_and_kept_while_it_lives() {
        String alive = standbyContainer("w-standby-alive");
        String stopped = standbyContainer("w-standby-stopped");
        var reaper = new OrphanReaper(
                DOCKER,
                new LiveJobs() {
                    @Override
                    public boolean isRunning(long jobId, String workerId, int attempt) {
                        return true;
                    }

                    @Override
                    public boolean isWorkerAlive(String workerId) {
                        return !workerId.equals("w-standby-stopped");
                    }
                },
                Duration.ofMinutes(1),
                registry);

        assertThat(reaper.reapOnce()).isEqualTo(1);
        assertThat(managedIds()).contains(alive).doesNotContain(stopped);
    }

    @Test
    void a_standby_container_that_stayed_exited_is_removed_though_its_worker_lives() throws Exception {
        String exited = standbyContainer("w-standby-alive", "an-executor");
        DOCKER.startContainerCmd(exited).exec();
        DOCKER.killContainerCmd(exited).exec();
        DOCKER.waitContainerCmd(exited).start().awaitStatusCode(30, java.util.concurrent.TimeUnit.SECONDS);
        LiveJobs alive = workersAlive();

        // Just exited: its executor is still removing it after its step.
        reaper(alive, null, Clock.systemUTC()).reapOnce();
        assertThat(managedIds()).contains(exited);
        // Still there after the linger: its removal failed.
        var later = Clock.offset(Clock.systemUTC(), OrphanReaper.STANDBY_LINGER.plusMinutes(1));
        reaper(alive, null, later).reapOnce();
        assertThat(managedIds()).doesNotContain(exited);
    }

    @Test
    void a_standby_container_an_earlier_process_of_this_worker_left_is_removed_and_this_process_s_are_kept() {
        var executor = new DockerExecutor(
                DOCKER, ExecutorProperties.defaultProperties(), new SimpleMeterRegistry(), Clock.systemUTC());
        try {
            String earlier = standbyContainer("w-restarted", "an-earlier-executor");
            String otherWorker = standbyContainer("w-standby-alive", "an-earlier-executor");
            String own = standbyContainer("w-restarted", executor.standbyOwner());
            DOCKER.startContainerCmd(earlier).exec();
            DOCKER.startContainerCmd(otherWorker).exec();
            DOCKER.startContainerCmd(own).exec();

            // This process is worker w-restarted, before any step of it ran.
            reaper(workersAlive("w-restarted"), executor, Clock.systemUTC()).reapOnce();

            assertThat(managedIds()).contains(otherWorker, own).doesNotContain(earlier);
        } finally {
            executor.close();
        }
    }

    private OrphanReaper reaper(LiveJobs liveJobs, DockerExecutor executor, Clock clock) {
        return new OrphanReaper(DOCKER, liveJobs, Duration.ofMinutes(1), Duration.ZERO, registry, executor, clock);
    }

    private static LiveJobs workersAlive() {
        return workersAlive(null);
    }

    /** Every job and worker alive; {@code localWorker}: this process's worker id. */
    private static LiveJobs workersAlive(String localWorker) {
        return new LiveJobs() {
            @Override
            public boolean isRunning(long jobId, String workerId, int attempt) {
                return true;
            }

            @Override
            public boolean isWorkerAlive(String workerId) {
                return true;
            }

            @Override
            public String localWorkerId() {
                return localWorker;
            }
        };
    }

    private String standbyContainer(String worker) {
        return standbyContainer(worker, "an-executor");
    }

    private String standbyContainer(String worker, String owner) {
        String id = DOCKER.createContainerCmd(DockerTestSupport.RUNNER_IMAGE)
                .withCmd("sleep", "60")
                .withLabels(Map.of(Labels.MANAGED, "true", Labels.WORKER_ID, worker, Labels.STANDBY, owner))
                .exec()
                .getId();
        created.add(id);
        return id;
    }

    @Test
    void when_the_job_state_cannot_be_read_nothing_is_removed() {
        String container = labelledContainer(44, "w-1", 1);
        var reaper = new OrphanReaper(
                DOCKER,
                (job, worker, attempt) -> {
                    throw new IllegalStateException("database down");
                },
                Duration.ofMinutes(1),
                registry);

        assertThat(reaper.reapOnce()).isZero();
        assertThat(managedIds()).contains(container);
    }

    @Test
    void once_started_the_reaper_runs_at_once_and_periodically() {
        var reaper = new OrphanReaper(DOCKER, (job, worker, attempt) -> false, Duration.ofMillis(200), registry).loop();
        reaper.start();
        try {
            String first = labelledContainer(45, "w-1", 1);
            await().atMost(Duration.ofSeconds(10)).until(() -> !managedIds().contains(first));
            String second = labelledContainer(46, "w-1", 1);
            await().atMost(Duration.ofSeconds(10)).until(() -> !managedIds().contains(second));
        } finally {
            reaper.stop();
        }
        assertThat(reaper.isRunning()).isFalse();
    }
}
