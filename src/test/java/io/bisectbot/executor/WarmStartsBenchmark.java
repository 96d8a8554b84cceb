package io.bisectbot.executor;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;

/**
 * The executor's share of a bisect round: rounds of {@code k} steps at once, each running {@code sleep 1} on a small
 * input, cold (a container created and started per step, removed before the result) against warm starts (parked
 * containers, removal after the result), alternating so engine load drifts hit both alike. A round's overhead is its
 * wall time minus the test's second. Each kind's CPU per step on the host is reported too ({@link HostCpu}): on a
 * machine with few cores it, not the engine's latency, sets how short a round of many steps can be.
 *
 * <pre>./mvnw -q test-compile exec:java -Dexec.classpathScope=test -Dexec.mainClass=io.bisectbot.executor.WarmStartsBenchmark \
 *     [-Dexec.args="ROUNDS K [phases]"]</pre>
 *
 * With {@code phases}, it also splits a container's CPU: creating and starting {@code K} parked containers at once,
 * then removing them, each phase alone on the engine.
 */
public final class WarmStartsBenchmark {

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 8;
        int k = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        byte[] input = DockerTestSupport.tar(java.util.Map.of("test.sh", "sleep 1\n", "state", "good\n"));
        var threads = Executors.newVirtualThreadPerTaskExecutor();
        try (var executor = new DockerExecutor(
                DockerTestSupport.DOCKER,
                ExecutorProperties.defaultProperties(),
                new SimpleMeterRegistry(),
                Clock.systemUTC())) {
            var warm = executor.warmStarts(k);
            List<Long> cold = new ArrayList<>();
            List<Long> warmed = new ArrayList<>();
            var coldCpu = new HostCpu(0, 0, 0);
            var warmCpu = new HostCpu(0, 0, 0);
            for (int round = 0; round <= rounds; round++) {
                for (var useWarm : List.of(false, true)) {
                    var cpu0 = HostCpu.now();
                    long t0 = System.nanoTime();
                    var steps = new ArrayList<CompletableFuture<ContainerResult>>();
                    for (int i = 0; i < k; i++) {
                        var spec = StepSpec.builder(
                                        1, "bench", 1, "round-" + round + "-" + i, DockerTestSupport.RUNNER_IMAGE)
                                .shell("sh test.sh")
                                .env("BISECT_COMMIT", "c" + round + "-" + i)
                                .input(() -> new java.io.ByteArrayInputStream(input))
                                .build();
                        steps.add(CompletableFuture.supplyAsync(
                                () -> useWarm
                                        ? warm.run(
                                                spec,
                                                new DockerTestSupport.RecordingSink(),
                                                CancellationSignal.create())
                                        : executor.run(
                                                spec,
                                                new DockerTestSupport.RecordingSink(),
                                                CancellationSignal.create()),
                                threads));
                    }
                    for (var step : steps) {
                        if (!(step.join().outcome() instanceof StepOutcome.Exited(int code) && code == 0)) {
                            throw new IllegalStateException(
                                    "step failed: " + step.join().outcome());
                        }
                    }
                    long overhead = (System.nanoTime() - t0) / 1_000_000 - 1000;
                    var cpu = HostCpu.now().minus(cpu0);
                    // The first round of each kind is left out: nothing is parked before it.
                    if (round > 0) {
                        (useWarm ? warmed : cold).add(overhead);
                        if (useWarm) {
                            warmCpu = warmCpu.plus(cpu);
                        } else {
                            coldCpu = coldCpu.plus(cpu);
                        }
                    }
                }
            }
            warm.close();
            if (args.length > 2 && args[2].equals("phases")) {
                phases(executor, rounds, k, threads);
            }
            report("cold", k, cold);
            System.out.println("             " + coldCpu.perStep(cold.size() * k));
            report("warm starts", k, warmed);
            System.out.println("             " + warmCpu.perStep(warmed.size() * k));
        }
    }

    private static void phases(
            DockerExecutor executor, int rounds, int k, java.util.concurrent.ExecutorService threads) {
        var spec = StepSpec.builder(1, "bench", 1, "phases", DockerTestSupport.RUNNER_IMAGE)
                .shell("true")
                .build();
        var limits = executor.limitsOf(spec);
        var parking = new HostCpu(0, 0, 0);
        var removing = new HostCpu(0, 0, 0);
        for (int round = 0; round < rounds; round++) {
            var cpu0 = HostCpu.now();
            var ids = new ArrayList<CompletableFuture<String>>();
            for (int i = 0; i < k; i++) {
                var name = DockerExecutor.containerName(spec, "phases-" + round + "-" + i);
                ids.add(CompletableFuture.supplyAsync(
                        () -> {
                            var id = executor.create(spec, limits, name, true);
                            executor.startParked(id);
                            return id;
                        },
                        threads));
            }
            ids.forEach(CompletableFuture::join);
            var cpu1 = HostCpu.now();
            CompletableFuture.allOf(ids.stream()
                            .map(id -> CompletableFuture.runAsync(() -> executor.remove(id.join()), threads))
                            .toArray(CompletableFuture[]::new))
                    .join();
            var cpu2 = HostCpu.now();
            parking = parking.plus(cpu1.minus(cpu0));
            removing = removing.plus(cpu2.minus(cpu1));
        }
        System.out.println("create and start parked, " + parking.perStep(rounds * k));
        System.out.println("remove,                  " + removing.perStep(rounds * k));
    }

    private static void report(String name, int k, List<Long> overheads) {
        var sorted = overheads.stream().sorted().toList();
        System.out.printf(
                Locale.ROOT,
                "%-12s k=%d rounds=%d overhead ms: median %d, min %d, max %d, all %s%n",
                name,
                k,
                sorted.size(),
                sorted.get(sorted.size() / 2),
                sorted.getFirst(),
                sorted.getLast(),
                overheads);
    }
}
