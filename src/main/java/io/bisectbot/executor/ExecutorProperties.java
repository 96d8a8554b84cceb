package io.bisectbot.executor;

import java.time.Duration;
import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;

/**
 * Settings of the Docker executor ({@code bisectbot.executor.*}); an empty configuration is a safe one. The limits
 * ({@code defaults}, {@code max}) are nested groups whose built-in values differ per group, so they are filled field
 * by field in the compact constructor; every other default is its {@code @DefaultValue}.
 *
 * @param dockerHost        engine address; unset: what the docker CLI would use ({@code DOCKER_HOST},
 *                          {@code DOCKER_TLS_VERIFY}, {@code DOCKER_CERT_PATH}, else the local socket)
 * @param defaults          limits a step gets when it asks for nothing
 * @param max               hard ceilings; a step's own limits are capped by these
 * @param logCap            output kept per step (head and tail)
 * @param secrets           comma-separated values masked in stored step logs
 * @param registries        credentials used when pulling from a registry
 * @param reaperInterval    how often containers left by dead instances are removed
 * @param cancelGrace       time between SIGTERM and SIGKILL on cancel (timeouts kill at once)
 * @param defaultUser       uid:gid steps run as unless a job says otherwise (never root by default)
 * @param tmpSize           size of the tmpfs at /tmp (counts against the step's memory)
 * @param pullTimeout       longest time an image pull may take
 * @param healthCacheTtl    how long an answer to the Docker engine's ping is reused
 * @param allowedImages     comma-separated image patterns a repository's config may name ({@code *} wildcards;
 *                          {@code ghcr.io/acme/} allows a namespace); unset: the default images only
 * @param diskLimit         most a step may write into its working directory, measured every
 *                          {@code STEP_DISK_CHECK_INTERVAL}; over it (or with an unreadable directory) it ends
 *                          {@code DISK_LIMIT}
 * @param diskCheckInterval how often a running step's working directory is measured; the limit is exceeded by at
 *                          most what the step writes in that time
 * @param defaultImage      image of bisect steps and bot tasks that name none
 * @param standbyMax        parked step containers an instance keeps after a bisect job for the next job of the
 *                          same shape (image, command, limits, network, cache volumes, installation); they have run
 *                          nothing but a waiting shell. {@code 0}: none kept
 * @param standbyIdle       age (from its creation) at which a kept container is removed, within a minute
 */
@ConfigurationProperties("bisectbot.executor")
public record ExecutorProperties(
        String dockerHost,
        Limits defaults,
        Limits max,
        @DefaultValue("1MB") DataSize logCap,
        @DefaultValue List<String> secrets,
        @DefaultValue List<RegistryCredential> registries,
        @DefaultValue("1m") Duration reaperInterval,
        @DefaultValue("1s") Duration cancelGrace,
        @DefaultValue("65534:65534") String defaultUser,
        @DefaultValue("256MB") DataSize tmpSize,
        @DefaultValue("10m") Duration pullTimeout,
        @DefaultValue("5s") Duration healthCacheTtl,
        @DefaultValue List<String> allowedImages,
        @DefaultValue("10GB") DataSize diskLimit,
        @DefaultValue("5s") Duration diskCheckInterval,
        @DefaultValue("debian:bookworm") String defaultImage,
        @DefaultValue("8") int standbyMax,
        @DefaultValue("5m") Duration standbyIdle) {

    public ExecutorProperties {
        // Field by field, so setting only max.memory keeps the other maximums.
        defaults = Limits.orElse(defaults, new Limits(Duration.ofMinutes(30), DataSize.ofGigabytes(2), 1.0, 512L));
        max = Limits.orElse(max, new Limits(Duration.ofHours(2), DataSize.ofGigabytes(8), 4.0, 4096L));
        secrets = secrets.stream().filter(s -> s != null && !s.isEmpty()).toList();
        registries = List.copyOf(registries);
        allowedImages = allowedImages.stream()
                .map(String::strip)
                .filter(p -> !p.isEmpty())
                .toList();
    }

    /** The defaults above. */
    public static ExecutorProperties defaultProperties() {
        return new Binder().bindOrCreate("bisectbot.executor", ExecutorProperties.class);
    }

    public ExecutorProperties withSecrets(List<String> values) {
        return new ExecutorProperties(
                dockerHost,
                defaults,
                max,
                logCap,
                values,
                registries,
                reaperInterval,
                cancelGrace,
                defaultUser,
                tmpSize,
                pullTimeout,
                healthCacheTtl,
                allowedImages,
                diskLimit,
                diskCheckInterval,
                defaultImage,
                standbyMax,
                standbyIdle);
    }

    public ExecutorProperties withDiskLimit(DataSize limit, Duration checkInterval) {
        return new ExecutorProperties(
                dockerHost,
                defaults,
                max,
                logCap,
                secrets,
                registries,
                reaperInterval,
                cancelGrace,
                defaultUser,
                tmpSize,
                pullTimeout,
                healthCacheTtl,
                allowedImages,
                limit,
                checkInterval,
                defaultImage,
                standbyMax,
                standbyIdle);
    }

    public ExecutorProperties withLogCap(DataSize cap) {
        return new ExecutorProperties(
                dockerHost,
                defaults,
                max,
                cap,
                secrets,
                registries,
                reaperInterval,
                cancelGrace,
                defaultUser,
                tmpSize,
                pullTimeout,
                healthCacheTtl,
                allowedImages,
                diskLimit,
                diskCheckInterval,
                defaultImage,
                standbyMax,
                standbyIdle);
    }

    public ExecutorProperties withLimits(Limits defaultLimits, Limits maxLimits) {
        return new ExecutorProperties(
                dockerHost,
                defaultLimits,
                maxLimits,
                logCap,
                secrets,
                registries,
                reaperInterval,
                cancelGrace,
                defaultUser,
                tmpSize,
                pullTimeout,
                healthCacheTtl,
                allowedImages,
                diskLimit,
                diskCheckInterval,
                defaultImage,
                standbyMax,
                standbyIdle);
    }

    public ExecutorProperties withStandby(int maxContainers, Duration idle) {
        return new ExecutorProperties(
                dockerHost,
                defaults,
                max,
                logCap,
                secrets,
                registries,
                reaperInterval,
                cancelGrace,
                defaultUser,
                tmpSize,
                pullTimeout,
                healthCacheTtl,
                allowedImages,
                diskLimit,
                diskCheckInterval,
                defaultImage,
                maxContainers,
                idle);
    }

    public ExecutorProperties withDefaultImage(String image) {
        return new ExecutorProperties(
                dockerHost,
                defaults,
                max,
                logCap,
                secrets,
                registries,
                reaperInterval,
                cancelGrace,
                defaultUser,
                tmpSize,
                pullTimeout,
                healthCacheTtl,
                allowedImages,
                diskLimit,
                diskCheckInterval,
                image,
                standbyMax,
                standbyIdle);
    }

    /** Resource limits; a null field takes the built-in value of its group (defaults or max). */
    public record Limits(Duration timeout, DataSize memory, Double cpus, Long pids) {
        static Limits orElse(Limits given, Limits fallback) {
            if (given == null) {
                return fallback;
            }
            return new Limits(
                    given.timeout() == null ? fallback.timeout() : given.timeout(),
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
        long memory = Math.min(
                spec.memoryBytes() == null ? defaults.memory().toBytes() : spec.memoryBytes(),
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
