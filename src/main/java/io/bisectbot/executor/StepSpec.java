package io.bisectbot.executor;

import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What to run for one step of a job. Null limits mean "the configured default"; every limit is
 * capped by the configured maximum, so a repository cannot ask for more than the operator allows.
 *
 * @param workingDir where the step starts, a directory below {@code /work} (default {@code /work/src}); it is
 *                  created owned by the step's user, so the step can write there whatever the image
 * @param input     a tar stream unpacked into {@code workingDir} before start, or null; streamed through
 *                  the engine API so the engine never needs a host path of ours
 * @param user      "uid:gid" to run as; null means the configured non-root default
 * @param timeout   counted from container start (image pulls have their own limit)
 * @param secretValues values masked in the stored logs on top of the configured secrets
 * @param registryCredentials whether the operator's registry credentials may be used to pull the image; off for
 *                  runs of untrusted code, so a private image is never fetched on a stranger's behalf
 * @param caches    named volumes mounted at absolute paths, kept between steps (dependency caches); the working
 *                  directory stays fresh per step
 */
public record StepSpec(
        long jobId,
        String workerId,
        int attempt,
        String step,
        String image,
        Command command,
        Map<String, String> env,
        String workingDir,
        TarSupplier input,
        Duration timeout,
        Long memoryBytes,
        Double cpus,
        Long pidsLimit,
        Network network,
        String user,
        Map<String, String> labels,
        OutputReader output,
        List<String> secretValues,
        boolean registryCredentials,
        List<Cache> caches) {

    public static final String DEFAULT_WORKING_DIR = "/work/src";

    public StepSpec {
        Objects.requireNonNull(workerId, "workerId");
        Objects.requireNonNull(step, "step");
        Objects.requireNonNull(image, "image");
        Objects.requireNonNull(command, "command");
        env = env == null ? Map.of() : Map.copyOf(env);
        workingDir = workingDir == null ? DEFAULT_WORKING_DIR : workingDir;
        network = network == null ? Network.NONE : network;
        labels = labels == null ? Map.of() : Map.copyOf(labels);
        secretValues = secretValues == null ? List.of() : List.copyOf(secretValues);
        caches = caches == null ? List.of() : List.copyOf(caches);
        // A directory inside the step's volume, so it can be created owned by the step's user.
        InputTar.relativeDir(workingDir);
    }

    public static Builder builder(long jobId, String workerId, int attempt, String step, String image) {
        return new Builder(jobId, workerId, attempt, step, image);
    }

    /** The step's command: an argv list run as is, or a shell string run by {@code sh -c}. */
    public sealed interface Command {
        List<String> argv();

        record Argv(List<String> args) implements Command {
            public Argv {
                if (args == null || args.isEmpty()) {
                    throw new IllegalArgumentException("empty command");
                }
                args = List.copyOf(args);
            }

            @Override
            public List<String> argv() {
                return args;
            }
        }

        record Shell(String script) implements Command {
            public Shell {
                Objects.requireNonNull(script, "script");
            }

            @Override
            public List<String> argv() {
                return List.of("sh", "-c", script);
            }
        }
    }

    /**
     * A dependency cache: the named volume {@code volume}, created on first use and owned by the step's user, mounted
     * at {@code path}. {@code scope} (a hash naming the installation and repository it belongs to) is put on the
     * volume as a label.
     */
    public record Cache(String volume, String path, String scope) {
        public Cache {
            Objects.requireNonNull(volume, "volume");
            Objects.requireNonNull(path, "path");
            Objects.requireNonNull(scope, "scope");
        }
    }

    /** Network access of the step: none unless a step explicitly needs the default bridge. */
    public enum Network {
        NONE("none"),
        BRIDGE("bridge");

        final String dockerMode;

        Network(String dockerMode) {
            this.dockerMode = dockerMode;
        }
    }

    /**
     * Reads the working directory back after the step exited, before its container goes: a tar whose entries
     * start with the working directory's own name (e.g. {@code src/README.md}).
     */
    @FunctionalInterface
    public interface OutputReader {
        void read(InputStream tar) throws IOException;
    }

    /** Opens a fresh tar stream each call; the executor closes it. */
    @FunctionalInterface
    public interface TarSupplier {
        InputStream open() throws IOException;
    }

    public static final class Builder {
        private final long jobId;
        private final String workerId;
        private final int attempt;
        private final String step;
        private final String image;
        private Command command;
        private final Map<String, String> env = new LinkedHashMap<>();
        private String workingDir;
        private TarSupplier input;
        private Duration timeout;
        private Long memoryBytes;
        private Double cpus;
        private Long pidsLimit;
        private Network network;
        private String user;
        private final Map<String, String> labels = new LinkedHashMap<>();
        private OutputReader output;
        private final List<String> secretValues = new ArrayList<>();
        private boolean registryCredentials = true;
        private final List<Cache> caches = new ArrayList<>();

        private Builder(long jobId, String workerId, int attempt, String step, String image) {
            this.jobId = jobId;
            this.workerId = workerId;
            this.attempt = attempt;
            this.step = step;
            this.image = image;
        }

        public Builder shell(String script) {
            this.command = new Command.Shell(script);
            return this;
        }

        public Builder argv(String... args) {
            this.command = new Command.Argv(List.of(args));
            return this;
        }

        public Builder env(String name, String value) {
            env.put(name, value);
            return this;
        }

        /** An environment variable whose value is masked in the stored logs, like the configured secrets. */
        public Builder secretEnv(String name, String value) {
            env.put(name, value);
            if (value != null && !value.isEmpty()) {
                secretValues.add(value);
            }
            return this;
        }

        public Builder workingDir(String dir) {
            this.workingDir = dir;
            return this;
        }

        public Builder input(TarSupplier tar) {
            this.input = tar;
            return this;
        }

        public Builder timeout(Duration timeout) {
            this.timeout = timeout;
            return this;
        }

        public Builder memoryBytes(long bytes) {
            this.memoryBytes = bytes;
            return this;
        }

        public Builder cpus(double cpus) {
            this.cpus = cpus;
            return this;
        }

        public Builder pidsLimit(long pids) {
            this.pidsLimit = pids;
            return this;
        }

        public Builder network(Network network) {
            this.network = network;
            return this;
        }

        public Builder user(String user) {
            this.user = user;
            return this;
        }

        public Builder label(String name, String value) {
            labels.put(name, value);
            return this;
        }

        /** Reads the working directory back when the step has exited (any exit code). */
        public Builder output(OutputReader reader) {
            this.output = reader;
            return this;
        }

        /** Pulls the image without the operator's registry credentials (untrusted runs). */
        public Builder registryCredentials(boolean allowed) {
            this.registryCredentials = allowed;
            return this;
        }

        /** Mounts a dependency cache volume at an absolute path. */
        public Builder cache(Cache cache) {
            caches.add(cache);
            return this;
        }

        public StepSpec build() {
            return new StepSpec(
                    jobId,
                    workerId,
                    attempt,
                    step,
                    image,
                    command,
                    env,
                    workingDir,
                    input,
                    timeout,
                    memoryBytes,
                    cpus,
                    pidsLimit,
                    network,
                    user,
                    labels,
                    output,
                    secretValues,
                    registryCredentials,
                    caches);
        }
    }
}
