package io.bisectbot.bench;

import java.util.Locale;

/** The machine's 1-minute load average, printed with benchmark figures: on a shared machine a high load disturbs a run. */
public final class LoadAverage {

    public static String now() {
        try {
            return java.nio.file.Files.readString(java.nio.file.Path.of("/proc/loadavg"))
                    .split(" ")[0];
        } catch (java.io.IOException | RuntimeException e) {
            var load = java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                    .getSystemLoadAverage();
            return load < 0 ? "?" : String.format(Locale.ROOT, "%.2f", load);
        }
    }

    private LoadAverage() {}
}
