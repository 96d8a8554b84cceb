package io.bisectbot.executor;

import static io.bisectbot.executor.DockerTestSupport.DOCKER;
import static io.bisectbot.executor.DockerTestSupport.RUNNER_IMAGE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.bisectbot.executor.DockerTestSupport.RecordingSink;
import io.bisectbot.executor.StepOutcome.Exited;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.ByteArrayInputStream;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Parked containers a job did not use serve the next job of the same shape, within bounds. */
class StandbyTest {

    private final List<DockerExecutor> executors = new ArrayList<>();

    private DockerExecutor executor(int max, Duration idle) {
        var executor = new DockerExecutor(
                DOCKER,
                ExecutorProperties.defaultProperties()
                        .withDefaultImage(RUNNER_IMAGE)
                        .withStandby(max, idle),
                new SimpleMeterRegistry(),
                Clock.systemUTC());
        executors.add(executor);
        return executor;
    }

    private static StepSpec.Builder step(long job, String name) {
        return StepSpec.builder(job, "worker-standby", 1, name, RUNNER_IMAGE).timeout(Duration.ofSeconds(60));
    }

    /** Runs one step of {@code job} with {@code ahead} warm starts, waits for its replacements, ends the job. */
    private static void jobLeavingParked(DockerExecutor executor, StepSpec spec, int ahead) {
        try (var warm = executor.warmStarts(ahead)) {
            assertThat(warm.run(spec, new RecordingSink(), CancellationSignal.create())
                            .outcome())
                    .isEqualTo(new Exited(0));
            warm.awaitParked(spec);
        }
    }

    private static List<Map<String, String>> standbyLabels() {
        return DockerTestSupport.managedContainers().stream()
                .map(c -> c.getLabels())
                .filter(labels -> labels.containsKey(Labels.STANDBY))
                .toList();
    }

    @AfterEach
    void no_container_of_ours_is_left_behind() {
        executors.forEach(DockerExecutor::close);
        DockerTestSupport.assertNoManagedContainersLeft();
    }

    @Test
    void a_job_s_unused_parked_container_serves_the_next_job_of_the_same_shape_with_only_that_job_s_files()
            throws Exception {
        var executor = executor(8, Duration.ofMinutes(5));
        var command = "pwd; ls -A; cat mine.txt; echo \"$WHO\"; ls -A /tmp; touch /tmp/left left";
        byte[] first = DockerTestSupport.tar(Map.of("mine.txt", "job 7's file\n"));
        jobLeavingParked(
                executor,
                step(7, "one")
                        .shell(command)
                        .env("WHO", "seven")
                        .input(() -> new ByteArrayInputStream(first))
                        .build(),
                1);

        assertThat(executor.standby().size()).isEqualTo(1);
        assertThat(standbyLabels())
                .singleElement()
                .satisfies(labels -> assertThat(labels)
                        .containsEntry(Labels.WORKER_ID, "worker-standby")
                        .doesNotContainKeys(Labels.JOB_ID, Labels.ATTEMPT));

        byte[] second = DockerTestSupport.tar(Map.of("mine.txt", "job 8's file\n"));
        var sink = new RecordingSink();
        try (var next = executor.warmStarts(1)) {
            var result = next.run(
                    step(8, "one")
                            .shell(command)
                            .env("WHO", "eight")
                            .input(() -> new ByteArrayInputStream(second))
                            .build(),
                    sink,
                    CancellationSignal.create());

            assertThat(result.containerName()).startsWith("bisectbot-parked-");
            assertThat(result.outcome()).isEqualTo(new Exited(0));
        }
        assertThat(sink.text()).isEqualTo("/work/src\nmine.txt\njob 8's file\neight\n");
    }

    @Test
    void a_kept_container_serves_no_step_of_another_shape() {
        var executor = executor(8, Duration.ofMinutes(5));
        jobLeavingParked(executor, step(7, "one").shell("true").build(), 1);

        try (var next = executor.warmStarts(1)) {
            var other = next.run(
                    step(8, "one").shell("echo other").build(), new RecordingSink(), CancellationSignal.create());

            assertThat(other.containerName()).doesNotContain("-parked-");
        }
        assertThat(executor.standby().size()).isGreaterThanOrEqualTo(1);
    }

    @Test
    void a_kept_container_serves_no_step_of_another_installation() {
        var executor = executor(8, Duration.ofMinutes(5));
        jobLeavingParked(
                executor,
                step(7, "one")
                        .label("bisectbot.installation", "1")
                        .shell("true")
                        .build(),
                1);

        try (var next = executor.warmStarts(1)) {
            var other = next.run(
                    step(8, "one")
                            .label("bisectbot.installation", "2")
                            .shell("true")
                            .build(),
                    new RecordingSink(),
                    CancellationSignal.create());

            assertThat(other.containerName()).doesNotContain("-parked-");
        }
    }

    @Test
    void a_kept_container_s_age_counts_from_its_creation_not_from_when_it_was_given() {
        var now = new java.util.concurrent.atomic.AtomicLong(Duration.ofHours(1).toNanos());
        var removed = new ArrayList<String>();
        var standby = new Standby(8, Duration.ofMinutes(5), now::get, removed::add, new SimpleMeterRegistry());
        var made = now.get();
        var parked = new WarmStarts.Parked("c1", "bisectbot-parked-1", true, true, "sha256:i", made);

        now.addAndGet(Duration.ofMinutes(4).toNanos());
        assertThat(standby.offer("shape", parked, made)).isTrue();
        now.addAndGet(Duration.ofMinutes(1).toNanos());
        standby.sweep();

        assertThat(removed).containsExactly("c1");
        assertThat(standby.take("shape")).isNull();
        assertThat(standby.offer("shape", parked, made))
                .as("already too old when given")
                .isFalse();
    }

    @Test
    void the_standby_keeps_at_most_its_maximum_and_removes_what_waited_too_long() {
        var executor = executor(1, Duration.ofSeconds(1));
        jobLeavingParked(executor, step(7, "one").shell("true").build(), 3);

        assertThat(executor.standby().size()).isEqualTo(1);
        await().atMost(Duration.ofSeconds(15)).until(() -> standbyLabels().size() <= 1);

        await().atMost(Duration.ofSeconds(15)).until(() -> executor.standby().size() == 0);
        DockerTestSupport.assertNoManagedContainersLeft();
        assertThat(executor.activeContainers()).isZero();
    }

    @Test
    void a_kept_container_that_stopped_meanwhile_is_removed_and_the_step_runs_in_another() {
        var executor = executor(8, Duration.ofMinutes(5));
        var spec = step(7, "one").shell("echo ran").build();
        jobLeavingParked(executor, spec, 1);
        var kept = DockerTestSupport.managedContainers().getFirst().getId();
        DOCKER.killContainerCmd(kept).exec();

        var sink = new RecordingSink();
        try (var next = executor.warmStarts(1)) {
            var result = next.run(step(8, "one").shell("echo ran").build(), sink, CancellationSignal.create());

            assertThat(result.outcome()).isEqualTo(new Exited(0));
        }
        assertThat(sink.text()).isEqualTo("ran\n");
        await().atMost(Duration.ofSeconds(15))
                .until(() -> DockerTestSupport.managedContainers().stream()
                        .noneMatch(c -> c.getId().equals(kept)));
    }

    @Test
    void a_kept_container_is_not_given_once_its_image_reference_names_another_image() {
        var tag = "bisectbot-test/standby:" + System.nanoTime();
        var other = DockerTestSupport.imageWithout("/usr/bin/yes");
        try {
            retag(RUNNER_IMAGE, tag);
            var executor = executor(8, Duration.ofMinutes(5));
            jobLeavingParked(
                    executor,
                    StepSpec.builder(7, "worker-standby", 1, "one", tag)
                            .timeout(Duration.ofSeconds(60))
                            .shell("true")
                            .build(),
                    1);
            assertThat(executor.standby().size()).isEqualTo(1);

            // The tag is pulled again (here: moved) between the two jobs.
            retag(other, tag);
            try (var next = executor.warmStarts(1)) {
                var result = next.run(
                        StepSpec.builder(8, "worker-standby", 1, "one", tag)
                                .timeout(Duration.ofSeconds(60))
                                .shell("true")
                                .build(),
                        new RecordingSink(),
                        CancellationSignal.create());

                assertThat(result.containerName()).doesNotStartWith("bisectbot-parked-");
                assertThat(result.imageDigest())
                        .isEqualTo(DOCKER.inspectImageCmd(other).exec().getId());
            }
        } finally {
            executors.forEach(DockerExecutor::close);
            executors.clear();
            DOCKER.removeImageCmd(tag).withForce(true).exec();
            DOCKER.removeImageCmd(other).withForce(true).exec();
        }
    }

    @Test
    void removing_a_cache_volume_first_removes_the_containers_kept_with_it_mounted() {
        var executor = executor(8, Duration.ofMinutes(5));
        var volume = "bisectbot-test-standby-cache-" + System.nanoTime();
        jobLeavingParked(
                executor,
                step(7, "one")
                        .shell("true")
                        .cache(new StepSpec.Cache(volume, "/cache/deps", "test"))
                        .build(),
                1);
        assertThat(executor.standby().size()).isEqualTo(1);

        assertThat(executor.removeCache(volume)).isTrue();

        assertThat(executor.standby().size()).isZero();
        assertThat(executor.cacheVolumes()).doesNotContain(volume);
    }

    private static void retag(String image, String tag) {
        var colon = tag.lastIndexOf(':');
        DOCKER.tagImageCmd(image, tag.substring(0, colon), tag.substring(colon + 1))
                .withForce()
                .exec();
    }
}
