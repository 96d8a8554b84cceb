package io.bisectbot.executor;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

/**
 * Per-step overhead of {@link DockerExecutor} (create + copy + attach + start + wait + inspect +
 * remove) for a trivial {@code true}, next to {@code docker run --rm IMAGE true} on the same engine.
 * Runs alternate between the two so engine load drifts hit both alike.
 *
 * <pre>./mvnw -q test-compile org.codehaus.mojo:exec-maven-plugin:3.5.0:java -Dexec.classpathScope=test \
 *     -Dexec.mainClass=io.bisectbot.executor.ExecutorOverheadBenchmark [-Dexec.args=30]</pre>
 */
public final class ExecutorOverheadBenchmark {

    public static void main(String[] args) throws Exception {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 30;
        int warmup = 5;
        String image = DockerTestSupport.RUNNER_IMAGE;
        byte[] input = DockerTestSupport.tar(java.util.Map.of("hello.txt", "hello\n"));
        try (var executor = new DockerExecutor(
                DockerTestSupport.DOCKER,
                ExecutorProperties.defaultProperties(),
                new SimpleMeterRegistry(),
                Clock.systemUTC())) {
            List<Long> ours = new ArrayList<>();
            List<Long> cli = new ArrayList<>();
            for (int i = 0; i < warmup + runs; i++) {
                var spec = StepSpec.builder(1, "bench", 1, "bench", image)
                        .argv("true")
                        .input(() -> new java.io.ByteArrayInputStream(input))
                        .build();
                long t0 = System.nanoTime();
                var result = executor.run(spec, new DockerTestSupport.RecordingSink(), CancellationSignal.create());
                long t1 = System.nanoTime();
                if (!(result.outcome() instanceof StepOutcome.Exited(int code) && code == 0)) {
                    throw new IllegalStateException("step failed: " + result.outcome());
                }
                dockerRun(image);
                long t2 = System.nanoTime();
                if (i >= warmup) {
                    ours.add(t1 - t0);
                    cli.add(t2 - t1);
                }
            }
            report("executor", ours);
            report("docker run --rm", cli);
            System.out.printf(
                    Locale.ROOT,
                    "ratio p50 %.2fx, mean %.2fx (executor / docker run)%n",
                    (double) p50(ours) / p50(cli),
                    mean(ours) / mean(cli));
        }
    }

    private static void dockerRun(String image) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("docker", "run", "--rm", image, "true")
                .inheritIO()
                .start();
        if (p.waitFor() != 0) {
            throw new IllegalStateException("docker run failed");
        }
    }

    private static void report(String name, List<Long> nanos) {
        System.out.printf(
                Locale.ROOT,
                "%-16s n=%d p50=%.1f ms mean=%.1f ms min=%.1f ms max=%.1f ms%n",
                name,
                nanos.size(),
                p50(nanos) / 1e6,
                mean(nanos) / 1e6,
                Collections.min(nanos) / 1e6,
                Collections.max(nanos) / 1e6);
    }

    private static long p50(List<Long> nanos) {
        var sorted = new ArrayList<>(nanos);
        Collections.sort(sorted);
        return sorted.get(sorted.size() / 2);
    }

    private static double mean(List<Long> nanos) {
        return nanos.stream().mapToLong(Long::longValue).average().orElseThrow();
    }
}
