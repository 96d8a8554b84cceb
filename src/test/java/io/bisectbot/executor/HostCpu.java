package io.bisectbot.executor;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * CPU time used on this Linux host, for benchmarks that need to know where a step's cost goes: every core's busy
 * time (user, nice, system, irq, softirq), the container engine's daemons ({@code dockerd}, {@code containerd}) and
 * this JVM. What is left of the busy time is mostly the engine's short-lived helpers (runtime, shims) and the kernel.
 */
record HostCpu(long busyMillis, long daemonMillis, long jvmMillis) {

    private static final long TICK_MILLIS = 10; // USER_HZ is 100 on every Linux the project runs on

    static HostCpu now() {
        try {
            var fields =
                    Files.readAllLines(Path.of("/proc/stat")).getFirst().trim().split("\\s+");
            long busy = 0;
            for (int i : List.of(1, 2, 3, 6, 7)) {
                busy += Long.parseLong(fields[i]);
            }
            long daemons = 0;
            try (Stream<Path> processes = Files.list(Path.of("/proc"))) {
                for (var process : processes
                        .filter(p -> p.getFileName().toString().matches("\\d+"))
                        .toList()) {
                    daemons += daemonTicks(process);
                }
            }
            long jvm = ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                    .getProcessCpuTime();
            return new HostCpu(busy * TICK_MILLIS, daemons * TICK_MILLIS, jvm / 1_000_000);
        } catch (IOException | RuntimeException e) {
            throw new IllegalStateException("cannot read CPU times from /proc (Linux only): " + e.getMessage(), e);
        }
    }

    private static long daemonTicks(Path process) {
        try {
            var stat = Files.readString(process.resolve("stat"));
            // The name is in parentheses and may hold spaces; the fields after it are plain.
            var name = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
            if (!name.equals("dockerd") && !name.equals("containerd")) {
                return 0;
            }
            var rest = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Long.parseLong(rest[11]) + Long.parseLong(rest[12]); // utime, stime
        } catch (IOException | RuntimeException e) {
            return 0; // the process ended meanwhile
        }
    }

    HostCpu minus(HostCpu earlier) {
        return new HostCpu(
                busyMillis - earlier.busyMillis, daemonMillis - earlier.daemonMillis, jvmMillis - earlier.jvmMillis);
    }

    HostCpu plus(HostCpu other) {
        return new HostCpu(
                busyMillis + other.busyMillis, daemonMillis + other.daemonMillis, jvmMillis + other.jvmMillis);
    }

    String perStep(int steps) {
        return String.format(
                java.util.Locale.ROOT,
                "CPU per step %d ms (engine daemons %d, this JVM %d, the rest: runtime, shims, kernel %d)",
                busyMillis / steps,
                daemonMillis / steps,
                jvmMillis / steps,
                (busyMillis - daemonMillis - jvmMillis) / steps);
    }
}
