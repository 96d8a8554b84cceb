package io.bisectbot.bots;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariDataSource;
import io.bisectbot.TestDatabase;
import io.bisectbot.TestExecutor;
import io.bisectbot.queue.Job;
import io.bisectbot.queue.JobStatus;
import io.bisectbot.queue.QueueNode;
import io.bisectbot.queue.QueueProperties;
import io.bisectbot.queue.QueueTestSupport;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.jdbc.core.simple.JdbcClient;
import tools.jackson.dataformat.yaml.YAMLMapper;

/** Bot jobs through the queue with real containers on a real repository; GitHub is a recording fake here. */
class BotJobTest {

    private static final String IMAGE = TestExecutor.RUNNER_IMAGE;
    private static final String SECRET = "s3cr3t-t0ken-value";

    private final HikariDataSource database = TestDatabase.migrated();
    private final JdbcClient sql = JdbcClient.create(database);
    private final FakeBotGithub github = new FakeBotGithub();
    private final List<AutoCloseable> resources = new ArrayList<>();
    private QueueNode node;
    private BotTriggers triggers;

    @TempDir
    Path repo;

    @TempDir
    Path cache;

    private final List<QueueNode> nodes = new ArrayList<>();

    @BeforeEach
    void start() {
        node = node("bots");
        triggers = new BotTriggers(node.queue());
        node.start();
    }

    private QueueNode node(String workerId) {
        return node(workerId, QueueProperties.defaults().shutdownGrace());
    }

    private QueueNode node(String workerId, Duration shutdownGrace) {
        var registry = new SimpleMeterRegistry();
        var docker = TestExecutor.start(database, registry);
        resources.add(docker);
        var secrets =
                BotSecrets.of(List.of(new BotSecrets.Secret("NPM_TOKEN", SECRET, List.of("octo/app"), List.of())));
        var handler = new BotJobHandler(
                BotProperties.withTimeout(Duration.ofMinutes(5)),
                secrets,
                io.bisectbot.executor.ImagePolicy.of(List.of(), IMAGE),
                TestExecutor.gitProperties(cache),
                docker.executor(),
                docker.health(),
                docker.logs(),
                github);
        var created = QueueTestSupport.node(
                database,
                List.of(handler),
                QueueTestSupport.quickTimings(workerId).withShutdownGrace(shutdownGrace),
                registry);
        nodes.add(created);
        return created;
    }

    @AfterEach
    void stop() throws Exception {
        nodes.forEach(QueueTestSupport::crash);
        for (var resource : resources.reversed()) {
            resource.close();
        }
        database.close();
    }

    private String git(String... args) throws Exception {
        return io.bisectbot.TestGit.run(repo, args);
    }

    private String commit(Map<String, String> files) throws Exception {
        if (!Files.exists(repo.resolve(".git"))) {
            git("init", "-q", "-b", "main");
        }
        for (var file : files.entrySet()) {
            Files.createDirectories(repo.resolve(file.getKey()).getParent());
            Files.writeString(repo.resolve(file.getKey()), file.getValue());
        }
        git("add", "-A");
        git("commit", "-q", "-m", "change");
        return git("rev-parse", "HEAD");
    }

    private static Map<String, BotTask> tasks(String yaml) throws Exception {
        return BotConfig.parse(YAMLMapper.builder().build().readTree(yaml).get("tasks"), IMAGE, Duration.ofMinutes(5));
    }

    private BotTriggers.Target target(String sha) {
        return new BotTriggers.Target(
                repo.toString(), "octo", "app", 1, 7, sha, "main", Trust.trusted("a test of trusted code"));
    }

    private Job finished(Job job) {
        await().atMost(Duration.ofSeconds(60))
                .pollInterval(Duration.ofMillis(200))
                .until(() -> node.queue().find(job.id()).orElseThrow().status().isFinal());
        var done = node.queue().find(job.id()).orElseThrow();
        assertThat(done.status())
                .as("job %d: %s", done.id(), done.lastError())
                .isIn(JobStatus.SUCCEEDED, JobStatus.CANCELLED);
        return done;
    }

    @Test
    void a_pull_request_runs_its_check_task_once_and_reports_the_conclusion() throws Exception {
        var sha = commit(
                Map.of("lint.sh", "echo linting; grep -q TODO src.txt && exit 1 || exit 0\n", "src.txt", "fine\n"));
        var tasks = tasks("""
                tasks:
                  lint:
                    run: sh lint.sh
                    on: [pull_request]
                """);
        var jobs = triggers.pullRequestUpdated(target(sha), tasks, Instant.now());
        var again = triggers.pullRequestUpdated(target(sha), tasks, Instant.now());
        assertThat(again.getFirst().id())
                .as("a redelivered event enqueues nothing new")
                .isEqualTo(jobs.getFirst().id());

        var job = finished(jobs.getFirst());
        assertThat(job.status()).isEqualTo(JobStatus.SUCCEEDED);
        assertThat(job.result().get("conclusion").asString()).isEqualTo("success");
        assertThat(github.calls).containsExactly("checkStarted:lint", "checkFinished:lint:SUCCESS");
        assertThat(github.summaries.getFirst()).contains("linting");

        var failing = commit(Map.of("src.txt", "TODO\n"));
        var failed = finished(triggers.pullRequestUpdated(target(failing), tasks, Instant.now())
                .getFirst());
        assertThat(failed.result().get("conclusion").asString()).isEqualTo("failure");
        assertThat(failed.result().get("exit_code").asInt()).isEqualTo(1);
        assertThat(github.calls).endsWith("checkFinished:lint:FAILURE");
    }

    @Test
    void a_task_that_changes_files_proposes_them_and_one_that_changes_nothing_pushes_nothing() throws Exception {
        var sha = commit(Map.of("README.md", "hello   world\n", "keep.txt", "same\n"));
        var tasks = tasks("""
                tasks:
                  fix-format:
                    run: sed -i 's/   / /' README.md && mkdir -p build && echo junk > build/out
                    on: [command]
                    outputs: pull_request
                  noop:
                    run: "true"
                    on: [command]
                    outputs: pull_request
                """);
        Files.writeString(repo.resolve(".gitignore"), "build/\n");
        sha = commit(Map.of(".gitignore", "build/\n"));

        var fixed = finished(triggers.command(target(sha), tasks, "fix-format", "", "delivery-1:0"));
        assertThat(fixed.result().get("conclusion").asString()).isEqualTo("success");
        assertThat(github.calls).contains("propose:bisectbot/fix-format/" + sha.substring(0, 7));
        assertThat(github.proposals).hasSize(1);
        var change = github.proposals.getFirst();
        assertThat(change).extracting(BotGithub.ChangedFile::path).containsExactly("README.md");
        assertThat(new String(change.getFirst().content(), StandardCharsets.UTF_8))
                .isEqualTo("hello world\n");

        var nothing = finished(triggers.command(target(sha), tasks, "noop", "", "delivery-2:0"));
        assertThat(nothing.result().get("reason").asString()).contains("changed no file");
        assertThat(github.proposals).hasSize(1);
    }

    @Test
    void a_deadline_closes_a_stale_pull_request_and_skips_one_updated_since() throws Exception {
        var sha = commit(Map.of("a.txt", "a\n"));
        var tasks = tasks("""
                tasks:
                  stale-close:
                    on: [schedule:PT0.5S]
                    action: close_pull_request
                    comment: "Closing: no update."
                """);
        var base = Instant.now();
        github.state = new BotGithub.PullRequestState(true, base, sha);
        var deadline = triggers.pullRequestUpdated(target(sha), tasks, base).getFirst();
        assertThat(deadline.runAt()).isAfter(base);
        assertThat(finished(deadline).result().get("conclusion").asString()).isEqualTo("success");
        assertThat(github.calls).contains("close:Closing: no update.");

        var later = base.plusSeconds(1);
        var skipped = triggers.pullRequestUpdated(target(sha), tasks, later).getFirst();
        github.state = new BotGithub.PullRequestState(true, later.plusSeconds(5), sha);
        var result = finished(skipped).result();
        assertThat(result.get("conclusion").asString()).isEqualTo("skipped");
        assertThat(result.get("reason").asString()).contains("updated");
        assertThat(github.calls.stream().filter(c -> c.startsWith("close:"))).hasSize(1);
    }

    @Test
    void a_deadline_fires_once_with_two_instances_and_a_restart_in_between() throws Exception {
        var sha = commit(Map.of("a.txt", "a\n"));
        var tasks = tasks("""
                tasks:
                  stale-close:
                    on: [schedule:PT3S]
                    action: close_pull_request
                """);
        var base = Instant.now();
        github.state = new BotGithub.PullRequestState(true, base, sha);
        var second = node("bots-2");
        second.start();
        var deadline = triggers.pullRequestUpdated(target(sha), tasks, base).getFirst();
        // The same event handled by the other instance (a redelivery) sets no second deadline.
        assertThat(new BotTriggers(second.queue())
                        .pullRequestUpdated(target(sha), tasks, base)
                        .getFirst()
                        .id())
                .isEqualTo(deadline.id());
        // One instance goes away and comes back (a restart) before the deadline.
        QueueTestSupport.crash(node);
        var restarted = node("bots-restarted");
        restarted.start();

        var done = finished(deadline);
        assertThat(done.attemptCount()).isEqualTo(1);
        assertThat(github.calls.stream().filter(c -> c.startsWith("close:"))).hasSize(1);
        assertThat(done.workerId()).isIn("bots-2", "bots-restarted");
    }

    @Test
    void a_secret_reaches_only_the_task_that_lists_it_and_is_masked_in_its_logs() throws Exception {
        var sha = commit(Map.of("a.txt", "a\n"));
        var tasks = tasks("""
                tasks:
                  publish:
                    run: echo "token=$NPM_TOKEN"; printf %s "$NPM_TOKEN" | base64; echo "$NPM_TOKEN" | rev
                    on: [command]
                    secrets: [NPM_TOKEN]
                  other:
                    run: echo "token=${NPM_TOKEN:-none}"
                    on: [command]
                """);
        var publish = finished(triggers.command(target(sha), tasks, "publish", "", "d-1:0"));
        var other = finished(triggers.command(target(sha), tasks, "other", "", "d-2:0"));
        var publishLog = log(publish);
        var otherLog = log(other);
        assertThat(publishLog)
                .contains("token=")
                .doesNotContain("s3cr3t-t0ken-value")
                .doesNotContain(java.util.Base64.getEncoder()
                        .encodeToString(SECRET.getBytes(StandardCharsets.UTF_8))
                        .substring(0, 20))
                .doesNotContain(new StringBuilder(SECRET).reverse().toString());
        assertThat(otherLog).contains("token=none");
        assertThat(github.summaries).noneMatch(s -> s.contains("s3cr3t-t0ken-value"));
    }

    @Test
    void a_second_push_cancels_the_first_pushes_running_task() throws Exception {
        var first = commit(Map.of("slow.sh", "echo start; sleep 60\n"));
        var tasks = tasks("""
                tasks:
                  slow:
                    run: sh slow.sh
                    on: [pull_request]
                """);
        var old =
                triggers.pullRequestUpdated(target(first), tasks, Instant.now()).getFirst();
        await().atMost(Duration.ofSeconds(30))
                .until(() -> node.queue().find(old.id()).orElseThrow().status() == JobStatus.RUNNING);
        var second = commit(Map.of("slow.sh", "echo quick\n"));
        var fresh = triggers.pullRequestUpdated(target(second), tasks, Instant.now())
                .getFirst();

        assertThat(finished(old).status()).isEqualTo(JobStatus.CANCELLED);
        assertThat(finished(fresh).result().get("conclusion").asString()).isEqualTo("success");
        // The cancelled task's check is closed, not left running on the pull request.
        assertThat(github.calls).contains("checkFinished:slow:CANCELLED", "checkFinished:slow:SUCCESS");
        try (var docker = io.bisectbot.executor.DockerClients.create(null, null)) {
            assertThat(docker.listContainersCmd()
                            .withShowAll(true)
                            .withLabelFilter(Map.of("bisectbot.job-id", Long.toString(old.id())))
                            .exec())
                    .isEmpty();
        }
    }

    @Test
    void a_task_stopped_by_a_shutdown_is_released_without_a_cancelled_check() throws Exception {
        var sha = commit(Map.of("slow.sh", "echo start; sleep 60\n"));
        var tasks = tasks("""
                tasks:
                  slow:
                    run: sh slow.sh
                    on: [pull_request]
                """);
        var draining = node("draining", Duration.ofMillis(500));
        node.shutdown();
        draining.start();
        var job = triggers.pullRequestUpdated(target(sha), tasks, Instant.now()).getFirst();
        await().atMost(Duration.ofSeconds(30))
                .until(() -> draining.queue().find(job.id()).orElseThrow().status() == JobStatus.RUNNING);

        draining.shutdown();

        var released = draining.queue().find(job.id()).orElseThrow();
        assertThat(released.status()).isEqualTo(JobStatus.PENDING);
        assertThat(github.calls).containsExactly("checkStarted:slow");
    }

    @Test
    void an_unknown_task_or_one_without_commands_is_refused_with_what_exists() throws Exception {
        var sha = commit(Map.of("a.txt", "a\n"));
        var tasks = tasks("""
                tasks:
                  lint:
                    run: "true"
                    on: [pull_request]
                """);
        org.assertj.core.api.Assertions.assertThatThrownBy(
                        () -> triggers.command(target(sha), tasks, "deploy", "", "x"))
                .hasMessageContaining("no task `deploy`")
                .hasMessageContaining("`lint`");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> triggers.command(target(sha), tasks, "lint", "", "x"))
                .hasMessageContaining("does not run on commands");
    }

    @Test
    void untrusted_code_runs_without_its_secrets_or_network_and_may_not_propose_changes() throws Exception {
        var sha = commit(Map.of("a.txt", "a\n"));
        var tasks = tasks("""
                tasks:
                  publish:
                    run: echo "token=${NPM_TOKEN:-none}"; echo "net=$(ls /sys/class/net | tr '\\n' ,)"
                    on: [command]
                    network: bridge
                    secrets: [NPM_TOKEN]
                  fix:
                    run: echo changed > a.txt
                    on: [command]
                    outputs: pull_request
                """);
        var fork = new BotTriggers.Target(
                repo.toString(), "octo", "app", 1, 7, sha, "main", Trust.untrusted("its head is in a fork"));
        var publish = finished(triggers.command(fork, tasks, "publish", "", "u-1:0"));
        assertThat(log(publish)).contains("token=none", "net=lo,");
        assertThat(github.summaries.getLast())
                .contains("untrusted code", "its head is in a fork")
                .doesNotContain("token=");

        var fix = finished(triggers.command(fork, tasks, "fix", "", "u-2:0"));
        assertThat(fix.result().get("conclusion").asString()).isEqualTo("skipped");
        assertThat(github.proposals).isEmpty();
        assertThat(sql.sql("SELECT count(*) FROM step_logs WHERE job_id = :id")
                        .param("id", fix.id())
                        .query(Long.class)
                        .single())
                .isZero();
    }

    @Test
    void changed_files_over_their_limits_end_the_task_with_a_clear_error_and_the_instance_keeps_running()
            throws Exception {
        var sha = commit(Map.of("a.txt", "a\n"));
        var tasks = tasks("""
                tasks:
                  big-file:
                    run: head -c 20971520 /dev/zero > big.bin
                    on: [command]
                    outputs: pull_request
                  huge-file:
                    run: head -c 629145600 /dev/zero > huge.bin
                    on: [command]
                    outputs: pull_request
                """);
        var big = failed(triggers.command(target(sha), tasks, "big-file", "", "b-1:0"));
        assertThat(big.lastError()).contains("`big.bin` has 20.0 MiB, more than the 10.0 MiB", "nothing was pushed");
        var huge = failed(triggers.command(target(sha), tasks, "huge-file", "", "b-2:0"));
        assertThat(huge.lastError()).contains("larger than 512.0 MiB");
        assertThat(huge.attemptCount()).as("a permanent failure, not retried").isEqualTo(1);
        assertThat(github.proposals).isEmpty();
        assertThat(github.summaries).anyMatch(s -> s.contains("big.bin"));
        // The instance still runs jobs.
        var after = tasks("""
                tasks:
                  ok:
                    run: "true"
                    on: [command]
                """);
        assertThat(finished(triggers.command(target(sha), after, "ok", "", "b-3:0"))
                        .result()
                        .get("conclusion")
                        .asString())
                .isEqualTo("success");
    }

    private String log(Job job) {
        return String.join(
                "",
                sql.sql("SELECT content FROM step_logs WHERE job_id = :id ORDER BY seq")
                        .param("id", job.id())
                        .query(String.class)
                        .list());
    }

    private Job failed(Job job) {
        await().atMost(Duration.ofSeconds(120))
                .pollInterval(Duration.ofMillis(200))
                .until(() -> node.queue().find(job.id()).orElseThrow().status().isFinal());
        var done = node.queue().find(job.id()).orElseThrow();
        assertThat(done.status()).as("job %d", done.id()).isEqualTo(JobStatus.FAILED);
        return done;
    }
}
