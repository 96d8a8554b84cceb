package io.bisectbot.executor;

import static io.bisectbot.executor.DockerTestSupport.RUNNER_IMAGE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.bisectbot.executor.DockerTestSupport.RecordingSink;
import io.bisectbot.executor.StepOutcome.Cancelled;
import io.bisectbot.executor.StepOutcome.Exited;
import io.bisectbot.executor.StepOutcome.InfraError;
import io.bisectbot.executor.StepOutcome.OomKilled;
import io.bisectbot.executor.StepOutcome.TimedOut;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.ByteArrayInputStream;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.springframework.util.unit.DataSize;

class DockerExecutorTest {

    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final List<DockerExecutor> executors = new ArrayList<>();
    private final RecordingSink sink = new RecordingSink();

    private DockerExecutor executor(ExecutorProperties properties) {
        var executor = new DockerExecutor(DockerTestSupport.DOCKER, properties, registry, Clock.systemUTC());
        executors.add(executor);
        return executor;
    }

    private DockerExecutor executor() {
        return executor(ExecutorProperties.defaultProperties());
    }

    private static StepSpec.Builder step(String name) {
        return StepSpec.builder(7, "worker-test", 1, name, RUNNER_IMAGE).timeout(Duration.ofSeconds(60));
    }

    @AfterEach
    void no_container_of_ours_is_left_behind() {
        executors.forEach(DockerExecutor::close);
        DockerTestSupport.assertNoManagedContainersLeft();
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 125, 126, 127, 137})
    void a_shell_command_exit_code_is_reported_as_exited_with_that_code(int code) {
        ContainerResult result =
                executor().run(step("exit").shell("exit " + code).build(), sink, CancellationSignal.create());

        assertThat(result.outcome()).isEqualTo(new Exited(code));
    }

    @Test
    void an_argv_command_runs_without_a_shell_and_reports_its_exit_code() {
        ContainerResult result =
                executor().run(step("argv").argv("ls", "/no/such/dir").build(), sink, CancellationSignal.create());

        assertThat(result.outcome()).isEqualTo(new Exited(2));
        assertThat(sink.text(LogStream.STDERR)).contains("No such file or directory");
    }

    @Test
    void a_missing_executable_is_the_step_s_own_exit_127_not_an_infra_error() {
        ContainerResult result =
                executor().run(step("missing").argv("no-such-binary").build(), sink, CancellationSignal.create());

        assertThat(result.outcome()).isEqualTo(new Exited(127));
    }

    @Test
    void a_process_killed_by_sigkill_is_exited_137_and_not_oom() {
        ContainerResult result =
                executor().run(step("kill").shell("kill -9 $$").build(), sink, CancellationSignal.create());

        assertThat(result.outcome()).isEqualTo(new Exited(137));
    }

    @Test
    void a_step_past_its_deadline_is_killed_and_timed_out() {
        long start = System.nanoTime();
        ContainerResult result = executor()
                .run(
                        step("slow")
                                .shell("sleep 60")
                                .timeout(Duration.ofSeconds(1))
                                .build(),
                        sink,
                        CancellationSignal.create());

        Duration took = Duration.ofNanos(System.nanoTime() - start);
        System.out.println("1 s timeout step took: " + took.toMillis() + " ms");
        assertThat(result.outcome()).isEqualTo(new TimedOut());
        assertThat(took).isLessThan(Duration.ofSeconds(10));
    }

    @Test
    void a_step_over_its_memory_limit_is_oom_killed() {
        ContainerResult result = executor()
                .run(
                        step("hog")
                                .shell("head -c 300m /dev/zero | tail")
                                .memoryBytes(DataSize.ofMegabytes(64).toBytes())
                                .build(),
                        sink,
                        CancellationSignal.create());

        assertThat(result.outcome()).isEqualTo(new OomKilled());
    }

    @Test
    void a_step_writing_past_its_disk_limit_is_stopped_with_disk_limit() {
        var limited = executor(
                ExecutorProperties.defaultProperties().withDiskLimit(DataSize.ofMegabytes(20), Duration.ofMillis(300)));
        long start = System.nanoTime();
        ContainerResult result = limited.run(
                step("fill")
                        .shell("head -c 100m /dev/zero > big && echo written; sleep 60")
                        .build(),
                sink,
                CancellationSignal.create());

        assertThat(result.outcome()).isInstanceOf(StepOutcome.DiskLimit.class);
        var disk = (StepOutcome.DiskLimit) result.outcome();
        assertThat(disk.usedBytes()).isGreaterThan(DataSize.ofMegabytes(20).toBytes());
        assertThat(disk.message()).contains("more than the limit of 20.0 MiB", "STEP_DISK_LIMIT");
        assertThat(Duration.ofNanos(System.nanoTime() - start))
                .as("stopped long before its sleep ends")
                .isLessThan(Duration.ofSeconds(30));
    }

    @Test
    void a_step_hiding_its_files_in_an_unreadable_directory_is_stopped_too() {
        var limited = executor(
                ExecutorProperties.defaultProperties().withDiskLimit(DataSize.ofMegabytes(20), Duration.ofMillis(300)));
        ContainerResult result = limited.run(
                step("hide")
                        .shell("mkdir d && head -c 1m /dev/zero > d/x && chmod 000 d; sleep 60")
                        .build(),
                sink,
                CancellationSignal.create());

        assertThat(result.outcome())
                .isEqualTo(
                        new StepOutcome.DiskLimit(-1, DataSize.ofMegabytes(20).toBytes()));
        assertThat(((StepOutcome.DiskLimit) result.outcome()).message()).contains("unreadable");
    }

    @Test
    void a_step_within_its_disk_limit_runs_to_its_end() {
        var limited = executor(
                ExecutorProperties.defaultProperties().withDiskLimit(DataSize.ofMegabytes(20), Duration.ofMillis(200)));
        ContainerResult result = limited.run(
                step("small")
                        .shell("head -c 1m /dev/zero > f; sleep 1; echo done")
                        .build(),
                sink,
                CancellationSignal.create());
        assertThat(result.outcome()).isEqualTo(new Exited(0));
    }

    @Test
    void measuring_the_disk_of_a_step_that_has_just_exited_ends_the_watch_without_an_error_in_the_log()
            throws Exception {
        var callbacks = (ch.qos.logback.classic.Logger)
                org.slf4j.LoggerFactory.getLogger(com.github.dockerjava.api.async.ResultCallbackTemplate.class);
        var logged = new ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent>();
        logged.start();
        callbacks.addAppender(logged);
        var docker = DockerTestSupport.DOCKER;
        var id = docker.createContainerCmd(RUNNER_IMAGE)
                .withCmd("sleep", "60")
                .withLabels(Map.of("bisectbot.managed", "true"))
                .exec()
                .getId();
        try {
            docker.startContainerCmd(id).exec();
            // The check's exec is made while the step runs; the step ends before the exec starts.
            var exec = docker.execCreateCmd(id)
                    .withCmd("du", "-skx", "/work")
                    .withAttachStdout(true)
                    .exec()
                    .getId();
            docker.killContainerCmd(id).exec();
            docker.waitContainerCmd(id).start().awaitStatusCode(30, TimeUnit.SECONDS);

            assertThat(executor().measureWorkVolume(id, exec)).isEmpty();
            assertThat(logged.list).isEmpty();
        } finally {
            callbacks.detachAppender(logged);
            docker.removeContainerCmd(id)
                    .withForce(true)
                    .withRemoveVolumes(true)
                    .exec();
        }
    }

    @Test
    void a_fork_bomb_is_held_by_the_pids_limit_and_the_step_still_ends() {
        // The bomb fills the pids limit; builtins then count processes and kill them all.
        String script = """
                sleep 3 & s=$!
                bomb() { bomb | bomb & }
                bomb
                wait $s
                set -- /proc/[0-9]*
                echo procs=$#
                kill -9 -1
                echo survived
                """;
        ContainerResult result = executor()
                .run(
                        step("bomb")
                                .shell(script)
                                .pidsLimit(64)
                                .timeout(Duration.ofSeconds(30))
                                .build(),
                        sink,
                        CancellationSignal.create());

        // The step ends by itself (no timeout): the bomb never took the machine or the step's init down.
        assertThat(result.outcome()).isInstanceOf(Exited.class);
        Matcher procs = Pattern.compile("procs=(\\d+)").matcher(sink.text());
        // Under heavy load the shell itself may be the process that cannot fork; when it could count, the count holds.
        if (procs.find()) {
            assertThat(Integer.parseInt(procs.group(1))).isLessThanOrEqualTo(64);
        } else {
            assertThat(sink.text()).contains("Cannot fork");
        }
    }

    @Test
    void with_network_none_a_connection_attempt_fails() {
        ContainerResult result = executor()
                .run(
                        step("net")
                                .argv("bash", "-c", "echo > /dev/tcp/1.1.1.1/80 && echo connected")
                                .build(),
                        sink,
                        CancellationSignal.create());

        assertThat(result.outcome()).isNotEqualTo(new Exited(0));
        assertThat(sink.text()).doesNotContain("connected").contains("unreachable");
    }

    @Test
    void the_step_runs_as_non_root_without_capabilities_on_a_read_only_root() {
        ContainerResult result = executor()
                .run(
                        step("who")
                                .shell(
                                        "id -u; grep -E '^(CapEff|CapPrm|NoNewPrivs)' /proc/self/status; touch /etc/x 2>&1; touch /tmp/ok && echo tmp-writable")
                                .build(),
                        sink,
                        CancellationSignal.create());

        assertThat(result.outcome()).isEqualTo(new Exited(0));
        assertThat(sink.text())
                .startsWith("65534\n")
                .contains("CapEff:\t0000000000000000")
                .contains("CapPrm:\t0000000000000000")
                .contains("NoNewPrivs:\t1")
                .contains("Read-only file system")
                .contains("tmp-writable");
    }

    @Test
    void input_files_are_visible_in_the_work_dir() throws Exception {
        byte[] tar = DockerTestSupport.tar(Map.of("hello.txt", "hello from the tar\n", "src/nested.txt", "nested\n"));
        ContainerResult result = executor()
                .run(
                        step("input")
                                .shell("pwd; cat hello.txt src/nested.txt")
                                .input(() -> new ByteArrayInputStream(tar))
                                .build(),
                        sink,
                        CancellationSignal.create());

        assertThat(result.outcome()).isEqualTo(new Exited(0));
        assertThat(sink.text()).isEqualTo("/work/src\nhello from the tar\nnested\n");
    }

    @Test
    void a_non_root_step_can_write_everywhere_in_its_work_dir_on_an_image_without_one() throws Exception {
        byte[] tar = DockerTestSupport.tar(Map.of("in.txt", "input\n", "src/deep/file.txt", "deep\n"));
        ContainerResult result = executor()
                .run(
                        step("write")
                                .shell(
                                        "id -u; cat in.txt; echo output > out.txt && cat out.txt; echo more >> src/deep/file.txt "
                                                + "&& mkdir -p build/x && touch src/deep/new build/x/y && cat src/deep/file.txt")
                                .input(() -> new ByteArrayInputStream(tar))
                                .build(),
                        sink,
                        CancellationSignal.create());

        assertThat(result.outcome()).isEqualTo(new Exited(0));
        assertThat(sink.text()).isEqualTo("65534\ninput\noutput\ndeep\nmore\n");
    }

    @Test
    void the_work_dir_can_be_read_back_after_the_step_exited() throws Exception {
        byte[] tar = DockerTestSupport.tar(Map.of("README.md", "old\n", "gone.txt", "x\n"));
        var files = new java.util.TreeMap<String, String>();
        ContainerResult result = executor()
                .run(
                        step("output")
                                .shell("echo new > README.md; rm gone.txt; mkdir -p docs && echo made > docs/new.md")
                                .input(() -> new ByteArrayInputStream(tar))
                                .output(stream -> {
                                    var in =
                                            new org.apache.commons.compress.archivers.tar.TarArchiveInputStream(stream);
                                    org.apache.commons.compress.archivers.tar.TarArchiveEntry entry;
                                    while ((entry = in.getNextEntry()) != null) {
                                        if (entry.isFile()) {
                                            files.put(
                                                    entry.getName(),
                                                    new String(
                                                            in.readAllBytes(),
                                                            java.nio.charset.StandardCharsets.UTF_8));
                                        }
                                    }
                                })
                                .build(),
                        sink,
                        CancellationSignal.create());

        assertThat(result.outcome()).isEqualTo(new Exited(0));
        assertThat(files)
                .containsExactlyEntriesOf(
                        new java.util.TreeMap<>(Map.of("src/README.md", "new\n", "src/docs/new.md", "made\n")));
    }

    @Test
    void env_variables_reach_the_step_and_the_result_names_the_image() {
        ContainerResult result = executor()
                .run(
                        step("env")
                                .shell("echo \"$GREETING\"")
                                .env("GREETING", "hi there")
                                .build(),
                        sink,
                        CancellationSignal.create());

        assertThat(sink.text()).isEqualTo("hi there\n");
        assertThat(result.imageDigest()).contains("sha256:");
        assertThat(result.containerName()).startsWith("bisectbot-j7-a1-env-");
    }

    @Test
    void logs_arrive_while_the_step_runs() {
        var running = CompletableFuture.supplyAsync(() -> executor()
                .run(
                        step("live").shell("echo first; sleep 3; echo second").build(),
                        sink,
                        CancellationSignal.create()));

        await().atMost(Duration.ofSeconds(20)).until(() -> sink.text().contains("first"));
        assertThat(running).isNotDone();
        assertThat(sink.text()).doesNotContain("second");

        assertThat(running.join().outcome()).isEqualTo(new Exited(0));
        assertThat(sink.text()).isEqualTo("first\nsecond\n");
    }

    @Test
    void output_over_the_cap_is_stored_as_head_and_tail_with_a_marker() {
        var executor = executor(ExecutorProperties.defaultProperties().withLogCap(DataSize.ofBytes(1000)));
        ContainerResult result =
                executor.run(step("chatty").shell("seq 1 10000").build(), sink, CancellationSignal.create());

        String stored = sink.text();
        assertThat(result.outcome()).isEqualTo(new Exited(0));
        assertThat(stored).startsWith("1\n2\n3\n").endsWith("9999\n10000\n").containsPattern("… \\d+ bytes omitted …");
        assertThat(result.logs().storedBytes()).isEqualTo(1000);
        assertThat(result.logs().totalBytes()).isEqualTo(48894);
        assertThat(result.logs().omittedBytes()).isEqualTo(48894 - 1000);
    }

    @Test
    void a_configured_secret_never_reaches_the_sink_even_when_printed_in_pieces() {
        var executor = executor(ExecutorProperties.defaultProperties().withSecrets(List.of("hunter2-s3cret")));
        ContainerResult result = executor.run(
                step("secret")
                        .shell("printf 'token=hunter2-'; sleep 0.5; printf 's3cret done\\n'; echo \"$PW\" >&2")
                        .env("PW", "hunter2-s3cret")
                        .build(),
                sink,
                CancellationSignal.create());

        assertThat(result.outcome()).isEqualTo(new Exited(0));
        assertThat(sink.text()).doesNotContain("hunter2-s3cret").doesNotContain("s3cret");
        assertThat(sink.text(LogStream.STDOUT)).isEqualTo("token=*** done\n");
        assertThat(sink.text(LogStream.STDERR)).isEqualTo("***\n");
    }

    @Test
    void cancelling_a_running_step_stops_it_within_two_seconds() {
        var cancel = CancellationSignal.create();
        // Ignores SIGTERM, so the grace period runs out and SIGKILL has to do it.
        var running = CompletableFuture.supplyAsync(() -> executor()
                .run(
                        step("cancel")
                                .shell("trap '' TERM; echo started; sleep 60 & wait")
                                .build(),
                        sink,
                        cancel));
        await().atMost(Duration.ofSeconds(20)).until(() -> sink.text().contains("started"));

        long start = System.nanoTime();
        cancel.cancel("job cancelled");
        ContainerResult result = running.orTimeout(10, TimeUnit.SECONDS).join();

        Duration took = Duration.ofNanos(System.nanoTime() - start);
        System.out.println("cancel to result: " + took.toMillis() + " ms");
        assertThat(took).isLessThan(Duration.ofSeconds(2));
        assertThat(result.outcome()).isEqualTo(new Cancelled());
    }

    @Test
    void closing_the_executor_at_shutdown_cancels_running_steps_and_removes_their_containers() {
        var executor = executor();
        var running = CompletableFuture.supplyAsync(() -> executor.run(
                step("shutdown").shell("echo started; sleep 60").build(), sink, CancellationSignal.create()));
        await().atMost(Duration.ofSeconds(20)).until(() -> sink.text().contains("started"));

        executor.close();

        assertThat(running.orTimeout(5, TimeUnit.SECONDS).join().outcome()).isEqualTo(new Cancelled());
        assertThat(executor.activeContainers()).isZero();
    }

    @Test
    void image_references_name_their_registry_repository_and_tag() {
        assertThat(Images.ImageRef.parse("debian:bookworm"))
                .isEqualTo(new Images.ImageRef("docker.io", "debian", "bookworm"));
        assertThat(Images.ImageRef.parse("ghcr.io/org/runner"))
                .isEqualTo(new Images.ImageRef("ghcr.io", "ghcr.io/org/runner", "latest"));
        assertThat(Images.ImageRef.parse("localhost:5000/x:1.2"))
                .isEqualTo(new Images.ImageRef("localhost:5000", "localhost:5000/x", "1.2"));
        assertThat(Images.ImageRef.parse("org/x@sha256:abc"))
                .isEqualTo(new Images.ImageRef("docker.io", "org/x", "sha256:abc"));
        assertThat(Images.ImageRef.sameRegistry("https://index.docker.io/v1/", "docker.io"))
                .isTrue();
        assertThat(Images.ImageRef.sameRegistry("GHCR.io", "ghcr.io")).isTrue();
        assertThat(Images.ImageRef.sameRegistry("ghcr.io", "docker.io")).isFalse();
    }

    @Test
    void a_step_cancelled_before_it_starts_creates_no_container() {
        var cancel = CancellationSignal.create();
        cancel.cancel("shutdown");

        ContainerResult result =
                executor().run(step("early").shell("echo never").build(), sink, cancel);

        assertThat(result.outcome()).isEqualTo(new Cancelled());
        assertThat(sink.text()).isEmpty();
    }

    @Test
    void an_image_that_cannot_be_pulled_is_an_infra_error_naming_the_image() {
        ContainerResult result = executor()
                .run(
                        StepSpec.builder(7, "worker-test", 1, "pull", "localhost:1/nope:latest")
                                .shell("true")
                                .build(),
                        sink,
                        CancellationSignal.create());

        assertThat(result.outcome())
                .isInstanceOfSatisfying(
                        InfraError.class,
                        e -> assertThat(e.message()).startsWith("image localhost:1/nope:latest not found: "));
        assertThat(sink.text(LogStream.SYSTEM)).contains("not found");
    }

    @Test
    void an_unreachable_engine_is_an_infra_error() {
        var offline = DockerClients.create("unix:///nonexistent/docker.sock", Duration.ofSeconds(2));
        var executor = new DockerExecutor(offline, ExecutorProperties.defaultProperties(), registry, Clock.systemUTC());
        executors.add(executor);

        ContainerResult result = executor.run(step("offline").shell("true").build(), sink, CancellationSignal.create());

        assertThat(result.outcome()).isInstanceOf(InfraError.class);
    }

    @Test
    void per_step_limits_are_capped_by_the_configured_maximum() {
        var props = ExecutorProperties.defaultProperties()
                .withLimits(
                        new ExecutorProperties.Limits(Duration.ofMinutes(1), DataSize.ofMegabytes(128), 0.5, 100L),
                        new ExecutorProperties.Limits(Duration.ofMinutes(5), DataSize.ofMegabytes(256), 1.0, 200L));

        var asked = props.effective(step("big")
                .shell("true")
                .timeout(Duration.ofHours(9))
                .memoryBytes(DataSize.ofGigabytes(64).toBytes())
                .cpus(16)
                .pidsLimit(100_000)
                .build());
        var defaulted = props.effective(
                StepSpec.builder(1, "w", 1, "s", "i").shell("true").build());

        assertThat(asked)
                .isEqualTo(new ExecutorProperties.Effective(
                        Duration.ofMinutes(5), DataSize.ofMegabytes(256).toBytes(), 1.0, 200, "65534:65534"));
        assertThat(defaulted)
                .isEqualTo(new ExecutorProperties.Effective(
                        Duration.ofMinutes(1), DataSize.ofMegabytes(128).toBytes(), 0.5, 100, "65534:65534"));
    }

    @Test
    void eight_steps_in_parallel_all_complete_and_are_cleaned_up() {
        var executor = executor();
        List<RecordingSink> sinks = new ArrayList<>();
        List<CompletableFuture<ContainerResult>> runs = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            var own = new RecordingSink();
            sinks.add(own);
            var spec =
                    step("parallel-" + i).shell("echo step-" + i + "; sleep 1").build();
            runs.add(CompletableFuture.supplyAsync(
                    () -> executor.run(spec, own, CancellationSignal.create()),
                    java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()));
        }

        for (int i = 0; i < 8; i++) {
            assertThat(runs.get(i).orTimeout(120, TimeUnit.SECONDS).join().outcome())
                    .isEqualTo(new Exited(0));
            assertThat(sinks.get(i).text()).isEqualTo("step-" + i + "\n");
        }
        assertThat(executor.activeContainers()).isZero();
        assertThat(registry.get("bisectbot.steps.finished")
                        .tag("outcome", "exited")
                        .counter()
                        .count())
                .isEqualTo(8);
    }
}
