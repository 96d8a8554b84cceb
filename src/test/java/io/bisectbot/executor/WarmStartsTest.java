package io.bisectbot.executor;

import static io.bisectbot.executor.DockerTestSupport.RUNNER_IMAGE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.bisectbot.executor.DockerTestSupport.RecordingSink;
import io.bisectbot.executor.StepOutcome.Cancelled;
import io.bisectbot.executor.StepOutcome.Exited;
import io.bisectbot.executor.StepOutcome.TimedOut;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.ByteArrayInputStream;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Steps from containers started ahead: the same isolation, limits and results as a cold step. */
class WarmStartsTest {

    private final DockerExecutor executor = new DockerExecutor(
            DockerTestSupport.DOCKER,
            ExecutorProperties.defaultProperties(),
            new SimpleMeterRegistry(),
            Clock.systemUTC());
    private final WarmStarts warm = executor.warmStarts(1);

    private static StepSpec.Builder step(String name) {
        return StepSpec.builder(7, "worker-test", 1, name, RUNNER_IMAGE).timeout(Duration.ofSeconds(60));
    }

    /** The first step of a shape starts cold and leaves a parked container for the next. */
    private ContainerResult runTwice(StepSpec.Builder first, StepSpec second, RecordingSink sink) {
        var cold = warm.run(first.build(), new RecordingSink(), CancellationSignal.create());
        assertThat(cold.containerName()).doesNotContain("-parked-");
        // The replacement is made once the first step's command runs; a step takes only a ready one.
        warm.awaitParked(second);
        return warm.run(second, sink, CancellationSignal.create());
    }

    @AfterEach
    void no_container_of_ours_is_left_behind() {
        executor.close();
        DockerTestSupport.assertNoManagedContainersLeft();
    }

    @Test
    void a_parked_step_gets_its_files_its_environment_and_its_working_directory() throws Exception {
        byte[] tar = DockerTestSupport.tar(Map.of("hello.txt", "hello from the tar\n"));
        var sink = new RecordingSink();
        var spec = step("env")
                .shell("pwd; cat hello.txt; printf '%s\\n' \"$GREETING|$BISECT_COMMIT\"; cat < /dev/stdin | wc -c")
                // Quotes, a dollar, a backslash and a glob stay as they are.
                .env("GREETING", "hi 'there' $x \"y\" \\n *")
                .env("BISECT_COMMIT", "abc123")
                .input(() -> new ByteArrayInputStream(tar));

        var result = runTwice(spec, spec.build(), sink);

        assertThat(result.containerName()).startsWith("bisectbot-parked-");
        assertThat(result.outcome()).isEqualTo(new Exited(0));
        assertThat(sink.text()).isEqualTo("/work/src\nhello from the tar\nhi 'there' $x \"y\" \\n *|abc123\n0\n");
        assertThat(result.imageDigest()).contains("sha256:");
    }

    @Test
    void a_parked_step_s_files_are_its_user_s_and_arrive_as_sent_whatever_its_environment_says() throws Exception {
        byte[] tar = DockerTestSupport.tar(Map.of("dir/nested.txt", "nested\n", "top.txt", "top\n"));
        var sink = new RecordingSink();
        var spec = step("files")
                .shell(
                        "stat -c '%u %n' . dir dir/nested.txt top.txt; echo more >> top.txt && cat top.txt dir/nested.txt")
                // Would move every file one level up if it reached the extraction.
                .env("TAR_OPTIONS", "--strip-components=1")
                .input(() -> new ByteArrayInputStream(tar));

        var result = runTwice(spec, spec.build(), sink);

        assertThat(result.containerName()).contains("-parked-");
        assertThat(result.outcome()).isEqualTo(new Exited(0));
        assertThat(sink.text())
                .isEqualTo("65534 .\n65534 dir\n65534 dir/nested.txt\n65534 top.txt\ntop\nmore\nnested\n");
    }

    @Test
    void once_an_image_is_known_a_step_that_finds_nothing_parked_is_made_the_parked_way() throws Exception {
        byte[] tar = DockerTestSupport.tar(Map.of("hello.txt", "hello\n"));
        var spec = step("now")
                .shell("cat hello.txt; echo \"$GREETING\"; tr '\\0' ' ' < /proc/1/cmdline")
                .env("GREETING", "hi")
                .input(() -> new ByteArrayInputStream(tar));
        runTwice(spec, spec.build(), new RecordingSink());

        // Another job of the same executor: nothing parked for it yet, but the image's files route is known.
        var sink = new RecordingSink();
        try (var other = executor.warmStarts(1)) {
            var result = other.run(spec.build(), sink, CancellationSignal.create());

            assertThat(result.containerName()).doesNotContain("-parked-");
            assertThat(result.outcome()).isEqualTo(new Exited(0));
        }
        assertThat(sink.text()).startsWith("hello\nhi\n").contains("IFS= read -r n");
    }

    @Test
    void files_too_large_to_send_through_stdin_are_copied_by_the_engine() throws Exception {
        byte[] tar = DockerTestSupport.tar(Map.of("big.txt", "x".repeat(DockerExecutor.STDIN_INPUT_MAX + 1)));
        var sink = new RecordingSink();
        var spec = step("big").shell("wc -c < big.txt; stat -c %u big.txt").input(() -> new ByteArrayInputStream(tar));

        var result = runTwice(spec, spec.build(), sink);

        assertThat(result.containerName()).contains("-parked-");
        assertThat(sink.text()).isEqualTo((DockerExecutor.STDIN_INPUT_MAX + 1) + "\n65534\n");
    }

    @Test
    void an_image_without_tar_gets_its_files_from_the_engine() throws Exception {
        var image = DockerTestSupport.imageWithout("/usr/bin/tar");
        try {
            byte[] tar = DockerTestSupport.tar(Map.of("hello.txt", "hello\n"));
            var sink = new RecordingSink();
            var spec = StepSpec.builder(7, "worker-test", 1, "no-tar", image)
                    .timeout(Duration.ofSeconds(60))
                    .shell("cat hello.txt; command -v tar || echo no-tar")
                    .input(() -> new ByteArrayInputStream(tar));

            var result = runTwice(spec, spec.build(), sink);

            assertThat(result.containerName()).contains("-parked-");
            assertThat(sink.text()).isEqualTo("hello\nno-tar\n");
        } finally {
            executor.close();
            DockerTestSupport.DOCKER.removeImageCmd(image).withForce(true).exec();
        }
    }

    @Test
    void a_parked_step_runs_as_non_root_without_capabilities_on_a_read_only_root_without_network() {
        var sink = new RecordingSink();
        var spec = step("who")
                .shell(
                        "id -u; grep -E '^(CapEff|CapPrm|NoNewPrivs)' /proc/self/status; touch /etc/x 2>&1;"
                                + " touch /tmp/ok && echo tmp-writable; bash -c 'echo > /dev/tcp/1.1.1.1/80' 2>&1 || echo no-network");

        var result = runTwice(spec, spec.build(), sink);

        assertThat(result.containerName()).contains("-parked-");
        assertThat(result.outcome()).isEqualTo(new Exited(0));
        assertThat(sink.text())
                .startsWith("65534\n")
                .contains("CapEff:\t0000000000000000")
                .contains("CapPrm:\t0000000000000000")
                .contains("NoNewPrivs:\t1")
                .contains("Read-only file system")
                .contains("tmp-writable")
                .contains("no-network");
    }

    @Test
    void nothing_a_step_leaves_in_its_work_dir_or_tmp_reaches_the_next_step() {
        var sink = new RecordingSink();
        var spec = step("leave").shell("ls -A /tmp; ls -A; echo end; touch /tmp/left-behind left-behind");

        var result = runTwice(spec, spec.build(), sink);

        assertThat(result.containerName()).contains("-parked-");
        assertThat(sink.text()).isEqualTo("end\n");
    }

    @Test
    void exit_codes_and_a_missing_executable_are_the_step_s_own() {
        var spec = step("exit").shell("exit 3");
        var sink = new RecordingSink();
        assertThat(runTwice(spec, spec.build(), sink).outcome()).isEqualTo(new Exited(3));

        var missing = warm.run(
                step("exit").argv("/no/such/binary").build(), new RecordingSink(), CancellationSignal.create());
        assertThat(missing.outcome()).isEqualTo(new Exited(127));
    }

    @Test
    void a_parked_step_s_deadline_counts_from_its_trigger_and_kills_it() {
        var first = step("slow")
                .timeout(Duration.ofSeconds(2))
                .shell("sleep \"$NAP\"")
                .env("NAP", "0");
        var slow = step("slow")
                .timeout(Duration.ofSeconds(2))
                .shell("sleep \"$NAP\"")
                .env("NAP", "30")
                .build();

        var result = runTwice(first, slow, new RecordingSink());

        assertThat(result.containerName()).contains("-parked-");
        assertThat(result.outcome()).isEqualTo(new TimedOut());
        assertThat(result.duration()).isBetween(Duration.ofSeconds(2), Duration.ofSeconds(15));
    }

    @Test
    void cancelling_a_parked_step_stops_it() {
        var sink = new RecordingSink();
        var cancel = CancellationSignal.create();
        warm.run(step("cancel").shell("true").build(), new RecordingSink(), CancellationSignal.create());
        var running = CompletableFuture.supplyAsync(
                () -> warm.run(step("cancel").shell("echo started; sleep 60").build(), sink, cancel));
        await().atMost(Duration.ofSeconds(20)).until(() -> sink.text().contains("started"));

        cancel.cancel("job cancelled");

        assertThat(running.orTimeout(15, TimeUnit.SECONDS).join().outcome()).isEqualTo(new Cancelled());
    }

    @Test
    void an_environment_that_does_not_fit_on_lines_starts_cold() {
        var sink = new RecordingSink();
        var spec = step("lines").shell("printf '%s' \"$TEXT\"").env("TEXT", "two\nlines");

        var result = runTwice(spec, spec.build(), sink);

        assertThat(result.containerName()).doesNotContain("-parked-");
        assertThat(sink.text()).isEqualTo("two\nlines");
    }

    @Test
    void without_a_standby_closing_removes_the_parked_containers() {
        var without = new DockerExecutor(
                DockerTestSupport.DOCKER,
                ExecutorProperties.defaultProperties().withStandby(0, Duration.ofMinutes(5)),
                new SimpleMeterRegistry(),
                Clock.systemUTC());
        try (var job = without.warmStarts(1)) {
            var spec = step("close").shell("true").build();
            job.run(spec, new RecordingSink(), CancellationSignal.create());
            job.awaitParked(spec);
            // Made for this job only: judged by its job, as a cold step's container is.
            assertThat(DockerTestSupport.managedContainers())
                    .singleElement()
                    .satisfies(c -> assertThat(c.getLabels())
                            .containsEntry(Labels.JOB_ID, "7")
                            .containsEntry(Labels.ATTEMPT, "1")
                            .doesNotContainKey(Labels.STANDBY));
        }

        DockerTestSupport.assertNoManagedContainersLeft();
        assertThat(without.activeContainers()).isZero();
        without.close();
    }
}
