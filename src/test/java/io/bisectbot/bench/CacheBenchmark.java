package io.bisectbot.bench;

import io.bisectbot.TestDatabase;
import io.bisectbot.TestExecutor;
import io.bisectbot.queue.QueueProperties;
import io.bisectbot.queue.QueueTestSupport;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.springframework.beans.factory.support.DefaultListableBeanFactory;
import tools.jackson.databind.node.JsonNodeFactory;

/**
 * A 30-commit bisect through the queue and the job handler, one slot, once without a cache and once with one, wall
 * time and per-step times printed. Two projects:
 *
 * <ul>
 *   <li>{@code maven} (the default): a small real Maven project ({@link MavenProject}) compiled and tested at every
 *       step, its dependencies and plugins downloaded from a Maven repository this benchmark serves over HTTP (each
 *       request delayed by {@code --latency-ms}, default 0: a registry next door), with its local repository in the
 *       step's fresh /tmp or in {@code cache: [/cache/m2]}. Steps use the bridge network.
 *   <li>{@code files}: every step "downloads" {@code --files} files of 64 KiB, each after {@code --latency-ms} of
 *       sleep, unless present, then hashes them all; into /tmp or {@code cache: [/cache/deps]}.
 * </ul>
 *
 * <pre>./mvnw -q test-compile exec:java -Dexec.classpathScope=test -Dexec.mainClass=io.bisectbot.bench.CacheBenchmark
 *     [-Dexec.args="--project maven --commits 30 --latency-ms 0"]
 *     [-Dexec.args="--project files --commits 30 --files 150 --latency-ms 30"]</pre>
 */
public final class CacheBenchmark {

    /** What each step does, and where its dependencies go. */
    private interface Workload extends AutoCloseable {
        List<String> repository(Path dir, int commits, int culprit) throws Exception;

        String command(String dependencies);

        String cachePath();

        /** The steps' image; null: the executor's default. */
        String image();

        boolean network();

        /** What the step's dependencies cost the registry since the last call; "" when there is none. */
        String served();

        @Override
        default void close() {}
    }

    public static void main(String[] args) throws Exception {
        var project = "maven";
        int commits = 30;
        int files = 150;
        Integer latencyMs = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--project" -> project = args[++i];
                case "--commits" -> commits = Integer.parseInt(args[++i]);
                case "--files" -> files = Integer.parseInt(args[++i]);
                case "--latency-ms" -> latencyMs = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        var work = Files.createTempDirectory("cache-bench");
        var culprit = commits * 2 / 3;
        var lines = new ArrayList<String>();
        try (var workload = switch (project) {
                    case "maven" -> maven(work, latencyMs == null ? 0 : latencyMs);
                    case "files" -> files(files, latencyMs == null ? 30 : latencyMs);
                    default -> throw new IllegalArgumentException("--project must be maven or files");
                };
                var database = TestDatabase.migrated()) {
            var shas = workload.repository(work.resolve("repo"), commits, culprit);
            for (var cached : List.of(false, true)) {
                var command = workload.command(cached ? workload.cachePath() : "/tmp/deps");
                var registry = new SimpleMeterRegistry();
                try (var docker = TestExecutor.start(database, registry)) {
                    var beans = new DefaultListableBeanFactory();
                    var handler = docker.bisectHandler(
                            TestExecutor.bisectProperties(4), work.resolve("git"), database, beans);
                    var node = QueueTestSupport.node(
                            database,
                            List.of(handler),
                            QueueProperties.defaults().withWorkerId("cache-bench"),
                            registry);
                    node.start();
                    try {
                        var payload = JsonNodeFactory.instance
                                .objectNode()
                                .put("repo", work.resolve("repo").toString())
                                .put("bad", shas.getLast())
                                .put("command", command);
                        payload.putArray("good").add(shas.getFirst());
                        if (workload.image() != null) {
                            payload.put("image", workload.image());
                        }
                        if (workload.network()) {
                            payload.put("network", "bridge");
                        }
                        if (cached) {
                            payload.putArray("cache").add(workload.cachePath());
                        }
                        workload.served();
                        var started = System.nanoTime();
                        var job = BisectBenchmark.runToSuccess(node, payload);
                        var seconds = (System.nanoTime() - started) / 1e9;
                        var steps = new ArrayList<String>();
                        job.result()
                                .get("steps")
                                .forEach(s -> steps.add(
                                        "%.2f".formatted(s.get("duration_ms").asLong() / 1000.0)));
                        var right = job.result()
                                .path("first_bad_commit")
                                .asString("")
                                .equals(shas.get(culprit));
                        lines.add("%-9s wall %6.1f s, %d steps, culprit %s, step seconds: %s%s"
                                .formatted(
                                        cached ? "cache" : "no cache",
                                        seconds,
                                        steps.size(),
                                        right ? "right" : "WRONG",
                                        String.join(" ", steps),
                                        workload.served()));
                        if (cached) {
                            for (var volume : docker.executor().cacheVolumes()) {
                                docker.executor().removeCache(volume);
                            }
                        }
                    } finally {
                        node.shutdown();
                    }
                }
            }
        } finally {
            TestDatabase.container().stop();
        }
        System.out.printf("%d commits, culprit at %d%n", commits, culprit);
        lines.forEach(System.out::println);
    }

    private static Workload maven(Path work, int latencyMs) throws Exception {
        var mirror = Path.of("target", "cache-bench-maven-mirror");
        MavenProject.fillMirror(mirror, Files.createDirectories(work.resolve("fill")));
        var image = MavenProject.image(TestExecutor.RUNNER_IMAGE, Files.createDirectories(work.resolve("image")));
        var gateway = MavenProject.run(
                work,
                List.of("docker", "network", "inspect", "bridge", "-f", "{{range .IPAM.Config}}{{.Gateway}}{{end}}"));
        var server = MavenProject.serve(mirror, gateway, latencyMs);
        System.out.printf(
                "Maven project: compile and test, dependencies from %s (%d ms a request), image %s%n",
                gateway, latencyMs, image);
        return new Workload() {
            private long[] last = server.served();

            @Override
            public List<String> repository(Path dir, int commits, int culprit) throws Exception {
                return BisectBenchmark.linearRepository(dir, commits, i -> server.commit(i, culprit));
            }

            @Override
            public String command(String dependencies) {
                return MavenProject.command(dependencies);
            }

            @Override
            public String cachePath() {
                return "/cache/m2";
            }

            @Override
            public String image() {
                return image;
            }

            @Override
            public boolean network() {
                return true;
            }

            @Override
            public String served() {
                var now = server.served();
                var text = ", registry: %d requests, %d files, %.1f MB"
                        .formatted(now[0] - last[0], now[1] - last[1], (now[2] - last[2]) / 1e6);
                last = now;
                return text;
            }

            @Override
            public void close() {
                server.close();
            }
        };
    }

    private static Workload files(int files, int latencyMs) {
        System.out.printf("Simulated dependencies: %d files of 64 KiB, %d ms latency each%n", files, latencyMs);
        return new Workload() {
            @Override
            public List<String> repository(Path dir, int commits, int culprit) throws Exception {
                return BisectBenchmark.linearRepository(dir, commits, culprit, 0);
            }

            @Override
            public String command(String dependencies) {
                return ("d=%s; mkdir -p $d; n=0; for i in $(seq 1 %d); do f=$d/lib$i.jar; if [ ! -s $f ]; then "
                                + "sleep %s; head -c 65536 /dev/urandom > $f; n=$((n+1)); fi; done; "
                                + "cat $d/*.jar | sha256sum > /dev/null; echo fetched $n; sh test.sh")
                        .formatted(dependencies, files, latencyMs / 1000.0);
            }

            @Override
            public String cachePath() {
                return "/cache/deps";
            }

            @Override
            public String image() {
                return null;
            }

            @Override
            public boolean network() {
                return false;
            }

            @Override
            public String served() {
                return "";
            }
        };
    }
}
