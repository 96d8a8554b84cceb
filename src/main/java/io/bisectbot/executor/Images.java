package io.bisectbot.executor;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.PullImageResultCallback;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.AuthConfig;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The images steps run in: pulled when absent (with the operator's registry credentials when allowed), and named
 * by digest, the key under which results of steps in an image may be remembered. Digests are remembered per image
 * id, which never changes its content.
 */
final class Images {

    private final DockerClient docker;
    private final ExecutorProperties properties;
    private final Map<String, String> digestsByImageId = new ConcurrentHashMap<>();

    Images(DockerClient docker, ExecutorProperties properties) {
        this.docker = docker;
        this.properties = properties;
    }

    /** Pulls {@code image}; {@code withCredentials} picks the configured credentials of its registry, if any. */
    void pull(String image, boolean withCredentials) {
        var ref = ImageRef.parse(image);
        var cmd = docker.pullImageCmd(ref.repository()).withTag(ref.tag());
        properties.registries().stream()
                .filter(c -> withCredentials)
                .filter(c -> ImageRef.sameRegistry(c.registry(), ref.registry()))
                .findFirst()
                .ifPresent(c -> cmd.withAuthConfig(new AuthConfig()
                        .withRegistryAddress(c.registry())
                        .withUsername(c.username())
                        .withPassword(c.password())));
        try {
            boolean done = cmd.exec(new PullImageResultCallback())
                    .awaitCompletion(properties.pullTimeout().toMillis(), TimeUnit.MILLISECONDS);
            if (!done) {
                throw new InfraException(
                        "image " + image + " not found: pull timed out after " + properties.pullTimeout(), null);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InfraException("image " + image + " not found: interrupted while pulling", e);
        } catch (InfraException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new InfraException("image " + image + " not found: " + DockerExecutor.describe(e), e);
        }
    }

    /**
     * The digest (or, for a local image, the id) that {@code image} names now, pulling it when absent.
     *
     * @throws IllegalStateException when the image cannot be found or pulled
     */
    String resolve(String image, boolean registryCredentials) {
        try {
            String id;
            try {
                id = docker.inspectImageCmd(image).exec().getId();
            } catch (NotFoundException absent) {
                pull(image, registryCredentials);
                id = docker.inspectImageCmd(image).exec().getId();
            }
            return digestOf(id);
        } catch (InfraException e) {
            throw new IllegalStateException(e.getMessage(), e);
        } catch (RuntimeException e) {
            throw new IllegalStateException(
                    "image " + image + " could not be inspected: " + DockerExecutor.describe(e), e);
        }
    }

    /** The digest of the image a container was created from. */
    String digestOfContainer(String containerId) {
        return digestOf(docker.inspectContainerCmd(containerId).exec().getImageId());
    }

    /** The image's first repository digest, or its id for an image that never came from a registry. */
    private String digestOf(String imageId) {
        return digestsByImageId.computeIfAbsent(imageId, id -> {
            List<String> repoDigests = docker.inspectImageCmd(id).exec().getRepoDigests();
            return repoDigests == null || repoDigests.isEmpty() ? id : repoDigests.getFirst();
        });
    }

    /**
     * The image's id when it runs its command as given (no entrypoint of its own), empty when it has an entrypoint,
     * null when it is not here (or the engine could not say).
     */
    java.util.Optional<String> idIfRunsCommandAsGiven(String image) {
        try {
            var inspected = docker.inspectImageCmd(image).exec();
            var config = inspected.getConfig();
            var entrypoint = config == null ? null : config.getEntrypoint();
            return entrypoint == null || entrypoint.length == 0
                    ? java.util.Optional.of(inspected.getId())
                    : java.util.Optional.empty();
        } catch (RuntimeException e) {
            return null;
        }
    }

    /** Registry, repository and tag of an image reference, enough to pull it and pick credentials. */
    record ImageRef(String registry, String repository, String tag) {
        static ImageRef parse(String image) {
            String name = image;
            String tag = "latest";
            int at = name.indexOf('@');
            if (at >= 0) {
                tag = name.substring(at + 1);
                name = name.substring(0, at);
            } else {
                int colon = name.lastIndexOf(':');
                if (colon > name.lastIndexOf('/')) {
                    tag = name.substring(colon + 1);
                    name = name.substring(0, colon);
                }
            }
            int slash = name.indexOf('/');
            String first = slash < 0 ? "" : name.substring(0, slash);
            boolean hasRegistry = first.contains(".") || first.contains(":") || first.equals("localhost");
            return new ImageRef(hasRegistry ? first : "docker.io", name, tag);
        }

        static boolean sameRegistry(String configured, String registry) {
            String c = configured.replaceFirst("^https?://", "").replaceFirst("/.*$", "");
            if (c.equals("index.docker.io") || c.equals("registry-1.docker.io")) {
                c = "docker.io";
            }
            return c.equalsIgnoreCase(registry);
        }
    }
}
