package io.bisectbot.bench;

import com.zaxxer.hikari.HikariDataSource;
import io.bisectbot.TestDatabase;
import io.bisectbot.TestExecutor;
import io.bisectbot.bisect.BisectJobHandler;
import io.bisectbot.bisect.BisectListener;
import io.bisectbot.queue.JobStatus;
import io.bisectbot.queue.NewJob;
import io.bisectbot.queue.QueueNode;
import io.bisectbot.queue.QueueProperties;
import io.bisectbot.queue.QueueTestSupport;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;
import org.springframework.beans.factory.support.DefaultListableBeanFactory;
import tools.jackson.databind.node.JsonNodeFactory;

/**
 * {@code git bisect run} against bisectbot (k = 1 and k = 3) on one 1,000-commit linear repository whose test
 * takes {@code --test-seconds} (default 1 s), for several culprits. git runs the test on this host; bisectbot runs
 * each test in a fresh container with the commit's files streamed in, through the queue, with both ends verified.
 *
 * <pre>./mvnw -q test-compile exec:java -Dexec.classpathScope=test -Dexec.mainClass=io.bisectbot.bench.BisectBenchmark
 *     [-Dexec.args="--commits 1000 --test-seconds 1 --culprits 137,501,862 --parallelism 1,3 --standby 8"]</pre>
 *
 * <p>{@code --standby}: the executor's {@code STEP_STANDBY_MAX} (0: no containers kept between jobs).
 */
public final class BisectBenchmark {

    /**
     * @param overheadMs per search round, its wall time (from its start to the next round's, or to the answer) minus
     *                   the test's duration; empty for git
     * @param beforeFirstRoundMs from the handler's start to the first round's (fetch into the mirror, commit graph,
     *                           verdict cache); -1 for git
     */
    record Measure(
            String who,
            int culprit,
            int runs,
            int verificationRuns,
            int rounds,
            double seconds,
            boolean right,
            List<Long> overheadMs,
            long beforeFirstRoundMs) {}

    public static void main(String[] args) throws Exception {
        var commits = 1000;
        var testSeconds = 1.0;
        var culprits = List.of(137, 501, 862);
        var parallelism = List.of(1, 3);
        Integer standby = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--commits" -> commits = Integer.parseInt(args[++i]);
                case "--test-seconds" -> testSeconds = Double.parseDouble(args[++i]);
                case "--culprits" ->
                    culprits = java.util.Arrays.stream(args[++i].split(","))
                            .map(Integer::valueOf)
                            .toList();
                case "--parallelism" ->
                    parallelism = java.util.Arrays.stream(args[++i].split(","))
                            .map(Integer::valueOf)
                            .toList();
                case "--standby" -> standby = Integer.valueOf(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        var image = TestExecutor.RUNNER_IMAGE;
        var standbyMax = standby;
        var work = Files.createTempDirectory("bisect-bench");
        var results = new ArrayList<Measure>();
        // One executor for every bisectbot run, as one service instance keeps it for all its jobs.
        try (var database = TestDatabase.migrated();
                var docker = TestExecutor.start(
                        database,
                        new SimpleMeterRegistry(),
                        p -> standbyMax == null ? p : p.withStandby(standbyMax, p.standbyIdle()))) {
            for (var culprit : culprits) {
                var repo = work.resolve("repo-" + culprit);
                var shas = linearRepository(repo, commits, culprit, testSeconds);
                results.add(gitBisectRun(repo, shas, culprit));
                for (var k : parallelism) {
                    results.add(bisectbot(
                            database, docker, repo, work.resolve("cache"), image, shas, culprit, k, testSeconds));
                }
            }
        } finally {
            TestDatabase.container().stop();
        }
        print(results, commits, testSeconds, parallelism);
    }

    /** A linear history; commit {@code culprit} and later fail the test. Built with fast-import: seconds, not minutes. */
    static List<String> linearRepository(Path dir, int n, int culprit, double testSeconds)
            throws IOException, InterruptedException {
        var script = "#!/bin/sh\nsleep " + testSeconds + "\n[ \"$(cat state)\" = good ]\n";
        return linearRepository(
                dir,
                n,
                i -> Map.of("test.sh", script, "state", i < culprit ? "good\n" : "bad\n", "version", "v" + i + "\n"));
    }

    /**
     * A linear history of {@code n} commits on {@code main}, commit {@code i} holding the files {@code files(i)} (path
     * to content) besides those of earlier commits; the first is tagged {@code v0}. Returns the commits, oldest first.
     */
    static List<String> linearRepository(Path dir, int n, IntFunction<Map<String, String>> files)
            throws IOException, InterruptedException {
        Files.createDirectories(dir);
        git(dir, null, "init", "-q", "-b", "main");
        var stream = new StringBuilder();
        for (int i = 0; i < n; i++) {
            stream.append("commit refs/heads/main\n")
                    .append("committer Dev <dev@example.com> ")
                    .append(1_700_000_000L + i * 60L)
                    .append(" +0000\n")
                    .append(data("change " + i + "\n"));
            // No 'from': fast-import continues the branch from the commit it wrote last.
            for (var file : new java.util.TreeMap<>(files.apply(i)).entrySet()) {
                stream.append("M 100644 inline ")
                        .append(file.getKey())
                        .append('\n')
                        .append(data(file.getValue()));
            }
        }
        git(dir, stream.toString(), "fast-import", "--quiet");
        git(dir, null, "reset", "-q", "--hard", "main");
        var shas =
                List.of(git(dir, null, "rev-list", "--reverse", "main").trim().split("\n"));
        git(dir, null, "tag", "v0", shas.getFirst());
        return shas;
    }

    private static String data(String text) {
        return "data " + text.getBytes(StandardCharsets.UTF_8).length + "\n" + text;
    }

    static Measure gitBisectRun(Path repo, List<String> shas, int culprit) throws IOException, InterruptedException {
        var counter = repo.resolve(".git/runs");
        Files.writeString(counter, "");
        var wrapper = repo.resolve(".git/counted-test.sh");
        Files.writeString(wrapper, "#!/bin/sh\necho run >> " + counter + "\nexec sh test.sh\n");
        var started = System.nanoTime();
        git(repo, null, "bisect", "start", shas.getLast(), shas.getFirst());
        var output = git(repo, null, "bisect", "run", "sh", wrapper.toString());
        var seconds = (System.nanoTime() - started) / 1e9;
        git(repo, null, "bisect", "reset");
        var runs = (int)
                Files.readAllLines(counter).stream().filter(l -> !l.isBlank()).count();
        return new Measure(
                "git bisect run",
                culprit,
                runs,
                0,
                runs,
                seconds,
                output.contains(shas.get(culprit) + " is the first bad commit"),
                List.of(),
                -1);
    }

    /**
     * Times each search round from its start to the next one's (the last: to the job's answer) and takes away the
     * test's duration: what remains is the round's overhead (container preparation, input copy, start, exit and
     * removal, storing the runs and picking the next commits).
     */
    static final class RoundClock implements BisectListener {
        private final List<Long> startsNanos = java.util.Collections.synchronizedList(new ArrayList<>());
        private volatile long finishedNanos;
        private volatile long startedNanos;

        @Override
        public void started(io.bisectbot.queue.JobContext job, io.bisectbot.bisect.BisectRequest request) {
            startedNanos = System.nanoTime();
        }

        @Override
        public void finished(
                io.bisectbot.queue.JobContext job,
                io.bisectbot.bisect.BisectRequest request,
                io.bisectbot.bisect.BisectResult result,
                String report) {
            finishedNanos = System.nanoTime();
        }

        @Override
        public io.bisectbot.bisect.BisectProgress progress(io.bisectbot.queue.JobContext job) {
            return new io.bisectbot.bisect.BisectProgress() {
                @Override
                public void round(int round, int commitsLeft, int roundsToGo) {
                    startsNanos.add(System.nanoTime());
                }
            };
        }

        long beforeFirstRoundMs() {
            return startsNanos.isEmpty() ? -1 : Math.round((startsNanos.getFirst() - startedNanos) / 1e6);
        }

        List<Long> overheadsMs(double testSeconds) {
            var bounds = new ArrayList<>(startsNanos);
            bounds.add(finishedNanos);
            var overheads = new ArrayList<Long>();
            for (int i = 1; i < bounds.size(); i++) {
                overheads.add(Math.round((bounds.get(i) - bounds.get(i - 1)) / 1e6 - testSeconds * 1000));
            }
            return overheads;
        }
    }

    static Measure bisectbot(
            HikariDataSource database,
            TestExecutor docker,
            Path repo,
            Path cache,
            String image,
            List<String> shas,
            int culprit,
            int k,
            double testSeconds)
            throws Exception {
        var registry = new SimpleMeterRegistry();
        var properties = TestExecutor.bisectProperties(8);
        var beans = new DefaultListableBeanFactory();
        var clock = new RoundClock();
        beans.registerSingleton("rounds", clock);
        var handler = docker.bisectHandler(properties, cache, database, beans);
        var node = QueueTestSupport.node(
                // One worker id for every job, as one instance has: what a job leaves is kept for the next.
                database, List.of(handler), QueueProperties.defaults().withWorkerId("bench"), registry);
        node.start();
        try {
            var payload = JsonNodeFactory.instance
                    .objectNode()
                    .put("repo", repo.toString())
                    .put("bad", shas.getLast())
                    .put("command", "sh test.sh")
                    .put("parallelism", k);
            payload.putArray("good").add(shas.getFirst());
            var started = System.nanoTime();
            var job = runToSuccess(node, payload);
            var seconds = (System.nanoTime() - started) / 1e9;
            var result = job.result();
            var found = result.path("outcome").path("commit").path("sha").asString("");
            return new Measure(
                    "bisectbot k=" + k,
                    culprit,
                    result.get("test_runs").asInt(),
                    result.get("verification_runs").asInt(),
                    result.get("rounds").asInt(),
                    seconds,
                    found.equals(shas.get(culprit)),
                    clock.overheadsMs(testSeconds),
                    clock.beforeFirstRoundMs());
        } finally {
            node.shutdown();
        }
    }

    /** Enqueues a bisect job and waits for its end; fails unless it succeeded. */
    static io.bisectbot.queue.Job runToSuccess(QueueNode node, tools.jackson.databind.JsonNode payload)
            throws InterruptedException {
        var id = node.queue()
                .enqueue(NewJob.of(BisectJobHandler.KIND, payload))
                .job()
                .id();
        while (!node.queue().find(id).orElseThrow().status().isFinal()) {
            Thread.sleep(20);
        }
        var job = node.queue().find(id).orElseThrow();
        if (job.status() != JobStatus.SUCCEEDED) {
            throw new IllegalStateException("bisect job failed: " + job.lastError());
        }
        return job;
    }

    static void print(List<Measure> results, int commits, double testSeconds, List<Integer> parallelism) {
        System.out.printf("%nBisect: %d-commit linear history, test takes %.1f s%n%n", commits, testSeconds);
        System.out.printf(
                "| %-16s | %-7s | %-9s | %-13s | %-13s | %-8s | %-11s | %-5s | %-6s | %s |%n",
                "who",
                "culprit",
                "test runs",
                "verifications",
                "search rounds",
                "wall s",
                "wall vs git",
                "right",
                "before first round ms",
                "round overhead ms");
        System.out.println("|---|---|---|---|---|---|---|---|---|---|");
        double gitSeconds = 0;
        for (var m : results) {
            if (m.who().startsWith("git")) {
                gitSeconds = m.seconds();
            }
            System.out.printf(
                    "| %-16s | %-7d | %-9d | %-13d | %-13d | %-8.1f | %-11s | %-5s | %-6s | %s |%n",
                    m.who(),
                    m.culprit(),
                    m.runs(),
                    m.verificationRuns(),
                    m.rounds(),
                    m.seconds(),
                    m.who().startsWith("git") ? "1.00" : "%.2f".formatted(m.seconds() / gitSeconds),
                    m.right() ? "yes" : "NO",
                    m.beforeFirstRoundMs() < 0 ? "" : Long.toString(m.beforeFirstRoundMs()),
                    m.overheadMs().isEmpty() ? "" : m.overheadMs().toString());
        }
        var who = new ArrayList<>(List.of("git bisect run"));
        parallelism.forEach(k -> who.add("bisectbot k=" + k));
        for (var name : who) {
            var mine = results.stream().filter(m -> m.who().equals(name)).toList();
            var overheads = mine.stream().flatMap(m -> m.overheadMs().stream()).toList();
            System.out.printf(
                    "%-16s mean test runs %.1f (+%.1f verifications), mean search rounds %.1f, mean wall %.1f s%s%n",
                    name,
                    mine.stream().mapToInt(Measure::runs).average().orElse(0),
                    mine.stream().mapToInt(Measure::verificationRuns).average().orElse(0),
                    mine.stream().mapToInt(Measure::rounds).average().orElse(0),
                    mine.stream().mapToDouble(Measure::seconds).average().orElse(0),
                    overheads.isEmpty()
                            ? ""
                            : ", round overhead median %.0f ms, mean %.0f ms, max %d ms (%d rounds)"
                                    .formatted(
                                            median(overheads),
                                                    overheads.stream()
                                                            .mapToLong(Long::longValue)
                                                            .average()
                                                            .orElse(0),
                                            overheads.stream()
                                                            .mapToLong(Long::longValue)
                                                            .max()
                                                            .orElse(0),
                                                    overheads.size()));
        }
    }

    private static double median(List<Long> values) {
        var sorted = values.stream().sorted().toList();
        if (sorted.isEmpty()) {
            return Double.NaN;
        }
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2.0;
    }

    private static String git(Path dir, String input, String... args) throws IOException, InterruptedException {
        var command = new ArrayList<>(List.of("git", "-c", "user.name=Dev", "-c", "user.email=dev@example.com"));
        command.addAll(List.of(args));
        var process = new ProcessBuilder(command)
                .directory(dir.toFile())
                .redirectErrorStream(true)
                .start();
        if (input != null) {
            try (var in = process.getOutputStream()) {
                in.write(input.getBytes(StandardCharsets.UTF_8));
            }
        } else {
            process.getOutputStream().close();
        }
        var output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (process.waitFor() != 0) {
            throw new IllegalStateException("git " + String.join(" ", args) + " failed: " + output);
        }
        return output;
    }
}
