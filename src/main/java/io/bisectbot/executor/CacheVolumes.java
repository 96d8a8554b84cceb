package io.bisectbot.executor;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.exception.ConflictException;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.Capability;
import com.github.dockerjava.api.model.Frame;
import com.github.dockerjava.api.model.HostConfig;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The named volumes that keep a repository's dependency caches between steps: created labelled, given to the step's
 * user, measured and removed, each through a short, locked-down helper container.
 */
final class CacheVolumes {

    private final DockerClient docker;
    private final Images images;
    private final String helperImage;
    private final Consumer<String> removeContainer;
    /** Cache volumes (with the user they were given to) this instance has prepared; prepared once per instance. */
    private final Map<String, Object> preparedCaches = new ConcurrentHashMap<>();

    CacheVolumes(DockerClient docker, Images images, String helperImage, Consumer<String> removeContainer) {
        this.docker = docker;
        this.images = images;
        this.helperImage = helperImage;
        this.removeContainer = removeContainer;
    }

    /**
     * Creates the step's cache volumes that do not exist yet (labelled, so they can be found and are never taken
     * for a step's anonymous volume) and gives their top directory to the step's user, once per instance and user:
     * a fresh named volume belongs to root, and the step runs without the capabilities to change that.
     */
    void prepare(StepSpec spec, String user) {
        for (var cache : spec.caches()) {
            var key = cache.volume() + "\0" + user;
            if (preparedCaches.containsKey(key)) {
                continue;
            }
            synchronized (preparedCaches.computeIfAbsent("lock\0" + cache.volume(), k -> new Object())) {
                if (preparedCaches.containsKey(key)) {
                    continue;
                }
                try {
                    docker.createVolumeCmd()
                            .withName(cache.volume())
                            .withLabels(Map.of(
                                    Labels.CACHE,
                                    "true",
                                    Labels.CACHE_SCOPE,
                                    cache.scope(),
                                    Labels.CACHE_PATH,
                                    cache.path()))
                            .exec();
                    var owner = InputTar.numericOwner(user);
                    var helper = runHelper(
                            cache.volume(),
                            List.of(Capability.CHOWN),
                            spec.labels(),
                            "chown " + owner[0] + ":" + owner[1] + " /cache");
                    if (helper.code() != 0) {
                        throw new InfraException(
                                "preparing cache volume " + cache.volume() + " for " + cache.path() + " failed: "
                                        + helper.output().strip(),
                                null);
                    }
                } catch (InfraException e) {
                    throw e;
                } catch (RuntimeException e) {
                    throw new InfraException(
                            "preparing cache volume " + cache.volume() + " for " + cache.path() + " failed: "
                                    + DockerExecutor.describe(e),
                            e);
                }
                preparedCaches.put(key, Boolean.TRUE);
            }
        }
    }

    private record HelperRun(long code, String output) {}

    /**
     * Runs {@code script} as root in a locked-down helper container with {@code volume} at {@code /cache}: no
     * network, read-only root, only the given capabilities. Labelled as managed, so the reaper removes one left by
     * a crash.
     */
    private HelperRun runHelper(
            String volume, List<Capability> capabilities, Map<String, String> jobLabels, String script) {
        Map<String, String> labels = new LinkedHashMap<>(jobLabels);
        labels.put(Labels.MANAGED, "true");
        labels.put(Labels.STEP, "cache-helper");
        HostConfig host = SecurityProfile.helper(volume, capabilities);
        Supplier<String> create = () -> docker.createContainerCmd(helperImage)
                .withCmd("sh", "-c", script)
                .withUser("0")
                .withLabels(labels)
                .withHostConfig(host)
                .withAttachStdout(true)
                .withAttachStderr(true)
                .exec()
                .getId();
        String id;
        try {
            id = create.get();
        } catch (NotFoundException absent) {
            images.pull(helperImage, true);
            id = create.get();
        }
        var out = new StringBuilder();
        try (var attached = docker.attachContainerCmd(id)
                .withStdOut(true)
                .withStdErr(true)
                .withFollowStream(true)
                .exec(new ResultCallback.Adapter<Frame>() {
                    @Override
                    public void onNext(Frame frame) {
                        synchronized (out) {
                            if (out.length() < 8192) {
                                out.append(new String(frame.getPayload(), StandardCharsets.UTF_8));
                            }
                        }
                    }
                })) {
            attached.awaitStarted(30, TimeUnit.SECONDS);
            docker.startContainerCmd(id).exec();
            var code = docker.waitContainerCmd(id).start().awaitStatusCode(10, TimeUnit.MINUTES);
            attached.awaitCompletion(DockerExecutor.LOG_DRAIN.toMillis(), TimeUnit.MILLISECONDS);
            synchronized (out) {
                return new HelperRun(code, out.toString());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InfraException("interrupted while running a cache helper", e);
        } catch (java.io.IOException e) {
            throw new InfraException("closing a cache helper's output failed: " + DockerExecutor.describe(e), e);
        } finally {
            removeContainer.accept(id);
        }
    }

    /**
     * Bytes held by a cache volume, measured with {@code du} in a helper container (the engine's volume usage figures
     * are computed for all volumes at once and are slow); empty when the volume does not exist.
     */
    OptionalLong size(String volume) {
        try {
            docker.inspectVolumeCmd(volume).exec();
        } catch (NotFoundException absent) {
            return OptionalLong.empty();
        }
        var run = runHelper(volume, List.of(Capability.DAC_READ_SEARCH), Map.of(), "du -skx /cache");
        var first = run.output().strip().split("\\s+", 2)[0];
        try {
            return OptionalLong.of(Long.parseLong(first) * 1024);
        } catch (NumberFormatException e) {
            throw new IllegalStateException("measuring cache volume " + volume + " failed: "
                    + run.output().strip());
        }
    }

    /** Removes a cache volume; false when a container still uses it (it is removed on a later try). */
    boolean remove(String volume) {
        try {
            docker.removeVolumeCmd(volume).exec();
            preparedCaches.keySet().removeIf(k -> k.startsWith(volume + "\0"));
            return true;
        } catch (NotFoundException gone) {
            preparedCaches.keySet().removeIf(k -> k.startsWith(volume + "\0"));
            return true;
        } catch (ConflictException inUse) {
            return false;
        }
    }

    /** Names of the cache volumes on this engine. */
    List<String> names() {
        var volumes = docker.listVolumesCmd()
                .withFilter("label", List.of(Labels.CACHE + "=true"))
                .exec()
                .getVolumes();
        return volumes == null
                ? List.of()
                : volumes.stream().map(v -> v.getName()).toList();
    }
}
