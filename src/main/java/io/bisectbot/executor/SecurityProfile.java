package io.bisectbot.executor;

import com.github.dockerjava.api.model.Capability;
import com.github.dockerjava.api.model.HostConfig;
import com.github.dockerjava.api.model.LogConfig;
import com.github.dockerjava.api.model.Mount;
import com.github.dockerjava.api.model.MountType;
import java.util.List;
import java.util.Map;

/**
 * The hardening every container of the executor gets, in one place: no capabilities (a helper gets back only the
 * few it names), no-new-privileges, read-only root, resource limits, no host mounts. A step's container also gets a
 * tmpfs {@code /tmp}, a tiny init as PID 1, the step's network mode and no engine log file.
 */
final class SecurityProfile {

    /** Memory and process limits of the short helper containers that prepare and measure cache volumes. */
    private static final long HELPER_MEMORY_BYTES = 256L * 1024 * 1024;

    private static final long HELPER_PIDS = 64L;

    private SecurityProfile() {}

    /** A step's container: {@code limits} as resolved for the step, its named cache volumes its only mounts. */
    static HostConfig step(StepSpec spec, ExecutorProperties.Effective limits, ExecutorProperties properties) {
        HostConfig host = HostConfig.newHostConfig()
                .withCapDrop(Capability.ALL)
                .withSecurityOpts(List.of("no-new-privileges"))
                .withPrivileged(false)
                .withReadonlyRootfs(true)
                .withTmpFs(Map.of(
                        "/tmp", "rw,nosuid,nodev,size=" + properties.tmpSize().toBytes()))
                .withMemory(limits.memoryBytes())
                .withMemorySwap(limits.memoryBytes()) // equal to memory: no swap, so the OOM killer acts at the limit
                .withNanoCPUs((long) (limits.cpus() * 1_000_000_000L))
                .withPidsLimit(limits.pids())
                .withNetworkMode(spec.network().dockerMode)
                .withInit(true)
                .withLogConfig(new LogConfig(LogConfig.LoggingType.NONE));
        if (!spec.caches().isEmpty()) {
            host.withMounts(spec.caches().stream()
                    .map(c -> new Mount()
                            .withType(MountType.VOLUME)
                            .withSource(c.volume())
                            .withTarget(c.path()))
                    .toList());
        }
        return host;
    }

    /** A helper container: no network, only {@code capabilities}, {@code volume} at {@code /cache}. */
    static HostConfig helper(String volume, List<Capability> capabilities) {
        return HostConfig.newHostConfig()
                .withCapDrop(Capability.ALL)
                .withCapAdd(capabilities.toArray(Capability[]::new))
                .withSecurityOpts(List.of("no-new-privileges"))
                .withReadonlyRootfs(true)
                .withNetworkMode("none")
                .withMemory(HELPER_MEMORY_BYTES)
                .withPidsLimit(HELPER_PIDS)
                .withMounts(List.of(new Mount()
                        .withType(MountType.VOLUME)
                        .withSource(volume)
                        .withTarget("/cache")));
    }
}
