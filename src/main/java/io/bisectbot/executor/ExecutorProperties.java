package io.bisectbot.executor;

import java.time.Duration;
import java.util.List;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.util.unit.DataSize;

/**
 * Settings of the Docker executor ({@code bisectbot.executor.*}). Every default lives in the
 * compact constructors below, so an empty configuration is a safe one.
 *
 * @param dockerHost     engine address; null means what the docker CLI would use (DOCKER_HOST,
 *                       DOCKER_TLS_VERIFY, DOCKER_CERT_PATH, else the local unix socket)
 * @param defaults       limits a step gets when it asks for nothing
 * @param max            hard ceilings; a step's own limits are capped by these
 * @param logCap         output kept per step, as head + tail around an omission marker
 * @param secrets        values masked in stored logs
 * @param registries     credentials used when pulling from a registry
 * @param cancelGrace    time between SIGTERM and SIGKILL on cancel (timeouts kill at once)
 * @param defaultUser    "uid:gid" of steps that do not say; never root
 * @param tmpSize        size of the tmpfs at /tmp (counts against the step's memory)
 * @param allowedImages  images a repository's config may name ({@link ImagePolicy}); empty: the default images only
 * @param diskLimit      most a step may write into its working volume before it is stopped ({@code DiskLimit})
 * @param diskCheckInterval how often a running step's working volume is measured; the limit is exceeded by at
 *                       most what the step writes in that time
 */
@ConfigurationProperties("bisectbot.executor")
public record ExecutorProperties(
        String dockerHost,
        Limits defaults,
        Limits max,
        DataSize logCap,
        List<String> secrets,
        List<RegistryCredential> registries,
        Duration reaperInterval,
        Duration cancelGrace,
        String defaultUser,
        DataSize tmpSize,
        Duration pullTimeout,
        Duration healthCacheTtl,
        List<String> allowedImages,
        DataSize diskLimit,
        Duration diskCheckInterval) {

    public ExecutorProperties {
        // Field by field, so setting only max.memory keeps the other maximums.
        defaults = Limits.orElse(defaults, new Limits(Duration.ofMinutes(30), DataSize.ofGigabytes(2), 1.0, 512L));
        max = Limits.orElse(max, new Limits(Duration.ofHours(2), DataSize.ofGigabytes(8), 4.0, 4096L));
        logCap = logCap == null ? DataSize.ofMegabytes(1) : logCap;
        secrets = secrets == null ? List.of() : secrets.stream().filter(s -> s != null && !s.isEmpty()).toList();
        registries = registries == null ? List.of() : List.copyOf(registries);
        reaperInterval = reaperInterval == null ? Duration.ofMinutes(1) : reaperInterval;
        cancelGrace = cancelGrace == null ? Duration.ofSeconds(1) : cancelGrace;
        defaultUser = defaultUser == null ? "65534:65534" : defaultUser;
        tmpSize = tmpSize == null ? DataSize.ofMegabytes(256) : tmpSize;
        pullTimeout = pullTimeout == null ? Duration.ofMinutes(10) : pullTimeout;
        healthCacheTtl = healthCacheTtl == null ? Duration.ofSeconds(5) : healthCacheTtl;
        allowedImages = allowedImages == null ? List.of() : allowedImages.stream().map(String::strip).filter(p -> !p.isEmpty()).toList();
        diskLimit = diskLimit == null ? DataSize.ofGigabytes(10) : diskLimit;
        diskCheckInterval = diskCheckInterval == null ? Duration.ofSeconds(5) : diskCheckInterval;
    }

    /** All defaults. */
    public static ExecutorProperties defaultProperties() {
        return new ExecutorProperties(null, null, null, null, null, null, null, null, null, null, null, null, null, null, null);
    }

    public ExecutorProperties withSecrets(List<String> values) {
        return new ExecutorProperties(dockerHost, defaults, max, logCap, values, registries, reaperInterval,
                cancelGrace, defaultUser, tmpSize, pullTimeout, healthCacheTtl, allowedImages, diskLimit, diskCheckInterval);
    }

    public ExecutorProperties withDiskLimit(DataSize limit, Duration checkInterval) {
        return new ExecutorProperties(dockerHost, defaults, max, logCap, secrets, registries, reaperInterval,
                cancelGrace, defaultUser, tmpSize, pullTimeout, healthCacheTtl, allowedImages, limit, checkInterval);
    }

    public ExecutorProperties withLogCap(DataSize cap) {
        return new ExecutorProperties(dockerHost, defaults, max, cap, secrets, registries, reaperInterval,
                cancelGrace, defaultUser, tmpSize, pullTimeout, healthCacheTtl, allowedImages, diskLimit, diskCheckInterval);
    }

    public ExecutorProperties withLimits(Limits defaultLimits, Limits maxLimits) {
        return new ExecutorProperties(dockerHost, defaultLimits, maxLimits, logCap, secrets, registries, reaperInterval,
                cancelGrace, defaultUser, tmpSize, pullTimeout, healthCacheTtl, allowedImages, diskLimit, diskCheckInterval);
    }

    /** Resource limits; a null field takes the built-in value of its group (defaults or max). */
    public record Limits(Duration timeout, DataSize memory, Double cpus, Long pids) {
        static Limits orElse(Limits given, Limits fallback) {
            if (given == null) {
                return fallback;
            }
            return new Limits(given.timeout() == null ? fallback.timeout() : given.timeout(),
                    given.memory() == null ? fallback.memory() : given.memory(),
                    given.cpus() == null ? fallback.cpus() : given.cpus(),
                    given.pids() == null ? fallback.pids() : given.pids());
        }
    }

    /** Credentials for one registry host, e.g. "ghcr.io" or "docker.io". */
    public record RegistryCredential(String registry, String username, String password) {
        @Override
        public String toString() {
            return "RegistryCredential[registry=" + registry + ", username=" + username + ", password=***]";
        }
    }

    /** The limits a step actually gets: its own request or the default, never above the maximum. */
    Effective effective(StepSpec spec) {
        Duration timeout = min(spec.timeout() == null ? defaults.timeout() : spec.timeout(), max.timeout());
        long memory = Math.min(spec.memoryBytes() == null ? defaults.memory().toBytes() : spec.memoryBytes(),
                max.memory().toBytes());
        double cpus = Math.min(spec.cpus() == null ? defaults.cpus() : spec.cpus(), max.cpus());
        long pids = Math.min(spec.pidsLimit() == null ? defaults.pids() : spec.pidsLimit(), max.pids());
        return new Effective(timeout, memory, cpus, pids, spec.user() == null ? defaultUser : spec.user());
    }

    record Effective(Duration timeout, long memoryBytes, double cpus, long pids, String user) {}

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }
}
