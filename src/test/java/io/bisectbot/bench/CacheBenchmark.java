package io.bisectbot.bench;

import io.bisectbot.TestDatabase;
import io.bisectbot.TestExecutor;
import io.bisectbot.queue.QueueProperties;
import io.bisectbot.queue.QueueTestSupport;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import org.springframework.beans.factory.support.DefaultListableBeanFactory;
import tools.jackson.databind.node.JsonNodeFactory;

/**
 * A 30-commit bisect whose every step first fetches its dependencies ({@code --files} files of 64 KiB, each with
 * {@code --latency-ms} of simulated download latency, unless already present) and then "builds" by hashing them all,
 * once without a cache (the files go to the fresh /tmp of each step) and once with {@code cache: [/cache/deps]}.
 * Prints wall time and per-step times.
 *
 * <pre>./mvnw -q test-compile exec:java -Dexec.classpathScope=test -Dexec.mainClass=io.bisectbot.bench.CacheBenchmark
 *     [-Dexec.args="--commits 30 --files 150 --latency-ms 30"]</pre>
 */
public final class CacheBenchmark {

    public static void main(String[] args) throws Exception {
        int commits = 30;
        int files = 150;
        int latencyMs = 30;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--commits" -> commits = Integer.parseInt(args[++i]);
                case "--files" -> files = Integer.parseInt(args[++i]);
                case "--latency-ms" -> latencyMs = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        var work = Files.createTempDirectory("cache-bench");
        var repo = work.resolve("repo");
        var culprit = commits * 2 / 3;
        var shas = BisectBenchmark.linearRepository(repo, commits, culprit, 0);
        var lines = new ArrayList<String>();
        try (var database = TestDatabase.migrated()) {
            for (var cached : List.of(false, true)) {
                var dir = cached ? "/cache/deps" : "/tmp/deps";
                var command = ("d=%s; mkdir -p $d; n=0; for i in $(seq 1 %d); do f=$d/lib$i.jar; if [ ! -s $f ]; then "
                                + "sleep %s; head -c 65536 /dev/urandom > $f; n=$((n+1)); fi; done; "
                                + "cat $d/*.jar | sha256sum > /dev/null; echo fetched $n; sh test.sh")
                        .formatted(dir, files, latencyMs / 1000.0);
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
                                .put("repo", repo.toString())
                                .put("bad", shas.getLast())
                                .put("command", command);
                        payload.putArray("good").add(shas.getFirst());
                        if (cached) {
                            payload.putArray("cache").add("/cache/deps");
                        }
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
                        lines.add("%-9s wall %6.1f s, %d steps, culprit %s, step seconds: %s"
                                .formatted(
                                        cached ? "cache" : "no cache",
                                        seconds,
                                        steps.size(),
                                        right ? "right" : "WRONG",
                                        String.join(" ", steps)));
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
        System.out.printf("%d commits, %d dependency files of 64 KiB, %d ms latency each%n", commits, files, latencyMs);
        lines.forEach(System.out::println);
    }
}
