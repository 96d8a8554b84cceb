package io.bisectbot.executor;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the steps of one job from containers started ahead of them. Starting a container is most of a step's cost
 * beyond its command (a quarter of a second and more on a busy engine); the next round's commits are not known
 * before this round's results, but its containers' shape is. So once the steps of a round run their commands,
 * replacements are created and started, which park: their shell waits on stdin. The step that takes one writes its
 * environment and its files (a tar) to stdin; the shell extracts the files as the step's user into the work volume,
 * enters the working directory and {@code exec}s the command. The engine's archive call, a helper process of the
 * engine's own per copy (tens of milliseconds, more when a round's steps copy at once), is then left off the round's
 * path; it still copies files too large to hold in memory ({@link DockerExecutor#STDIN_INPUT_MAX}, and then the rest
 * of that job's), those of images without {@code tar} and {@code head}, and those of a user the engine resolves by
 * name. How an image takes its files is asked in its first parked container and kept by the executor; from then on a
 * step that finds nothing parked (a job's first round) gets a container made for it the parked way too, sparing the
 * archive call.
 *
 * <p>Isolation is that of a cold step: every step still gets a container of its own, created for it and never used
 * again, with a fresh work volume and /tmp, the same limits and mounts; before its step the container has
 * only run that waiting shell (and, for an image's first, an empty archive through {@code head} and {@code tar} and
 * a look at whether the work volume is writable, run as the step's user). The deadline counts from the trigger.
 * Containers are removed in the background once the result is returned. Those still parked when the job ends are
 * kept by the executor's {@link Standby} for the next job of the same shape (which is why they carry their worker's
 * labels and no job's), and a job's first round takes them before it makes its own. A step starts cold when none is
 * parked for its shape and its image's way is not known yet, when its image has an entrypoint of its own or no
 * {@code sh}, or when its environment cannot be sent as lines.
 */
public final class WarmStarts implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(WarmStarts.class);
    static final String STEP_LABEL = "parked";
    private static final Pattern NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

    /**
     * Reads the size of a tar, {@code NAME=value} lines ended by an empty one, then the tar itself, which it extracts
     * into the work volume (the step's user owns the working directory, made when the container was); then exports
     * the names (after the extraction, so the step's environment cannot change it), enters the working directory and
     * {@code exec}s the command with stdin from /dev/null. Exits (255) without running anything when stdin ends first,
     * so a parked container that is discarded never runs the command. {@code $0} is the working directory. A size of 0:
     * the files were copied by the engine.
     */
    private static final String WAIT_THEN_RUN = """
            IFS= read -r n || exit 255
            case $n in ''|*[!0-9]*) exit 255;; esac
            e=
            while :; do IFS= read -r kv || exit 255; [ -z "$kv" ] && break; e="$e$kv
            "; done
            if [ "$n" -gt 0 ]; then head -c "$n" | tar -xof - -C /work || exit 255; fi
            set -f; IFS='
            '; for kv in $e; do export "$kv" || exit 255; done; unset IFS; set +f
            cd -- "$0" || exit 255
            exec "$@" </dev/null""";

    private final DockerExecutor executor;
    private final int ahead;
    private final Map<Shape, Deque<CompletableFuture<Parked>>> parked = new HashMap<>();
    /** Image reference → its id, or "" when its steps start cold (an entrypoint of its own, no sh, not here). */
    private final Map<String, String> imageIds = new HashMap<>();

    private boolean closed;
    private int startingSteps;
    private boolean largeTrees;
    /** Shapes of steps that started since the last top-up, with one of their starts. */
    private final Map<Shape, Starting> toTopUp = new java.util.LinkedHashMap<>();

    WarmStarts(DockerExecutor executor, int ahead) {
        this.executor = executor;
        this.ahead = Math.max(1, ahead);
    }

    /**
     * A container started for no step yet; {@code extractsStdin}: its step's files may be sent through stdin;
     * {@code standby}: it carries no job's labels, so it may serve a later job (see {@link Standby}).
     */
    record Parked(String id, String name, boolean extractsStdin, boolean standby, String imageId, long madeNanos) {}

    /** What a kept container serves: steps of its shape whose image reference still names the image it runs. */
    private record Kept(Shape shape, String imageId) {}

    /** Whether containers kept for {@code kept} mount the cache volume {@code volume}. */
    static boolean mounts(Object kept, String volume) {
        return kept instanceof Kept k
                && k.shape().caches().stream().anyMatch(c -> c.volume().equals(volume));
    }

    /**
     * What a container is made of before its step is known: everything but the step's job, name, files and
     * environment. Two jobs' steps of one shape get the same container.
     */
    private record Shape(
            String workerId,
            String image,
            StepSpec.Command command,
            String workingDir,
            ExecutorProperties.Effective limits,
            StepSpec.Network network,
            Map<String, String> labels,
            boolean registryCredentials,
            List<StepSpec.Cache> caches) {
        static Shape of(StepSpec spec, ExecutorProperties.Effective limits) {
            // The timeout is the executor's own deadline, not part of the container.
            var shapeLimits = new ExecutorProperties.Effective(
                    java.time.Duration.ZERO, limits.memoryBytes(), limits.cpus(), limits.pids(), limits.user());
            return new Shape(
                    spec.workerId(),
                    spec.image(),
                    spec.command(),
                    spec.workingDir(),
                    shapeLimits,
                    spec.network(),
                    spec.labels(),
                    spec.registryCredentials(),
                    spec.caches());
        }
    }

    /** Runs the step like {@link DockerExecutor#run}, from a parked container when one fits; never throws for step failures. */
    public ContainerResult run(StepSpec spec, LogSink sink, CancellationSignal cancel) {
        return executor.run(spec, sink, cancel, this);
    }

    /**
     * A parked container for {@code spec}, or null to start one cold. Only ready ones are taken: the steps of a round
     * start together, and one still starting is no faster than a cold start; it stays for the next round.
     */
    Parked claim(StepSpec spec, ExecutorProperties.Effective limits) {
        if (!sendable(spec.env())) {
            return null;
        }
        var shape = Shape.of(spec, limits);
        synchronized (this) {
            if (closed) {
                return null;
            }
            var queue = parked.computeIfAbsent(shape, s -> new ArrayDeque<>());
            for (var it = queue.iterator(); it.hasNext(); ) {
                var future = it.next();
                if (future.isDone()) {
                    // A container that could not be parked is dropped; its slot is refilled by the next top-up.
                    it.remove();
                    var taken = future.join();
                    if (taken != null) {
                        return taken;
                    }
                }
            }
        }
        if (!executor.standby().enabled()) {
            return null;
        }
        // Then one an earlier job of this shape left, of the image the reference names now (a tag pulled again since
        // gets new containers); one that stopped meanwhile is removed and the next one tried.
        var imageId = imageId(spec.image());
        if (imageId.isEmpty()) {
            return null;
        }
        var key = new Kept(shape, imageId);
        for (var kept = executor.standby().take(key);
                kept != null;
                kept = executor.standby().take(key)) {
            if (executor.isRunning(kept.id())) {
                return kept;
            }
            executor.removeLater(kept.id());
        }
        return null;
    }

    /**
     * A step of this job is starting: until it runs its command (or fails before), no replacement is made, so that
     * the steps of a round, a first round's cold starts above all, go first on the engine. Once no step is starting,
     * the shapes of the steps that started are topped up to {@code ahead} (the steps that run at once); those
     * containers are started while the round's tests run.
     */
    Starting starting(StepSpec spec, ExecutorProperties.Effective limits) {
        synchronized (this) {
            startingSteps++;
        }
        return new Starting(spec, limits);
    }

    /** One step's start, until its command runs or it ends before. */
    final class Starting {
        private final StepSpec spec;
        private final ExecutorProperties.Effective limits;
        private boolean done;

        private Starting(StepSpec spec, ExecutorProperties.Effective limits) {
            this.spec = spec;
            this.limits = limits;
        }

        /** The step's command runs. */
        void commandRuns() {
            done(true);
        }

        /** The step ended; a no-op once its command ran. */
        void ended() {
            done(false);
        }

        private void done(boolean ran) {
            synchronized (WarmStarts.this) {
                if (done) {
                    return;
                }
                done = true;
                if (ran && sendable(spec.env())) {
                    toTopUp.putIfAbsent(Shape.of(spec, limits), this);
                }
                if (--startingSteps > 0 || closed) {
                    return;
                }
                for (var entry : toTopUp.entrySet()) {
                    var queue = parked.computeIfAbsent(entry.getKey(), s -> new ArrayDeque<>());
                    while (queue.size() < ahead) {
                        queue.add(prepare(entry.getValue().spec, entry.getValue().limits));
                    }
                }
                toTopUp.clear();
            }
        }
    }

    private CompletableFuture<Parked> prepare(StepSpec spec, ExecutorProperties.Effective limits) {
        var future = new CompletableFuture<Parked>();
        Thread.ofVirtual().name("park-j" + spec.jobId()).start(() -> {
            try {
                // Made to be kept for a later job when this one leaves it unused (and the executor keeps any).
                var standby = executor.standby().enabled();
                future.complete(park(
                        spec,
                        limits,
                        standby ? DockerExecutor.standbyName() : DockerExecutor.containerName(spec, STEP_LABEL),
                        standby));
            } catch (RuntimeException e) {
                log.debug("Could not park a container for job {}: {}", spec.jobId(), DockerExecutor.describe(e));
                future.complete(null);
            }
        });
        return future;
    }

    /**
     * For a step that found nothing parked: a container made and started for it now, the parked way, when its image
     * is known to take files through stdin (so the engine's archive call is spared); else null, to start it cold.
     */
    Parked parkNow(StepSpec spec, ExecutorProperties.Effective limits, String name) {
        if (!sendable(spec.env())) {
            return null;
        }
        synchronized (this) {
            if (closed || largeTrees) {
                return null;
            }
        }
        var imageId = imageId(spec.image());
        var route = imageId.isEmpty() ? null : executor.filesRoute(imageId, limits.user());
        if (route == null || route == DockerExecutor.FilesRoute.ENGINE) {
            return null;
        }
        return park(spec, limits, name, false);
    }

    private Parked park(StepSpec spec, ExecutorProperties.Effective limits, String name, boolean standby) {
        var imageId = imageId(spec.image());
        if (imageId.isEmpty()) {
            return null;
        }
        executor.prepareCachesFor(spec, limits.user());
        long made = System.nanoTime();
        var id = executor.create(spec, limits, name, true, standby);
        executor.containerCreated();
        var route = executor.filesRoute(imageId, limits.user());
        try {
            if (route == DockerExecutor.FilesRoute.STDIN_AFTER_DIR) {
                executor.makeWorkingDir(spec, id, limits.user());
            }
            if (!executor.startParked(id)) {
                executor.removeLater(id);
                synchronized (this) {
                    // E.g. no sh in the image: its steps start cold from now on.
                    imageIds.put(spec.image(), "");
                }
                return null;
            }
            if (route == null) {
                // The image's first container: asked once, then known for every job of this executor.
                route = executor.askFilesRoute(imageId, limits.user(), id);
                if (route == DockerExecutor.FilesRoute.STDIN_AFTER_DIR) {
                    executor.makeWorkingDir(spec, id, limits.user());
                }
            }
        } catch (RuntimeException e) {
            executor.removeLater(id);
            throw e;
        }
        return new Parked(id, name, route != DockerExecutor.FilesRoute.ENGINE, standby, imageId, made);
    }

    /**
     * The image's id, or "" when its steps start cold (an entrypoint of its own, no sh, not here yet); asked once a
     * job, outside the lock, and not remembered while the image is not here (the first cold step pulls it).
     */
    private String imageId(String image) {
        synchronized (this) {
            var known = imageIds.get(image);
            if (known != null) {
                return known;
            }
        }
        var id = executor.idIfRunsCommandAsGiven(image);
        if (id == null) {
            return "";
        }
        synchronized (this) {
            imageIds.putIfAbsent(image, id.orElse(""));
            return imageIds.get(image);
        }
    }

    /** A step's files were too large for stdin: this job's trees are copied by the engine from now on. */
    synchronized void largeTree() {
        largeTrees = true;
    }

    /** Whether this job's files still go through stdin (none of its trees was too large). */
    synchronized boolean smallTrees() {
        return !largeTrees;
    }

    /** Waits until a container parked for steps shaped like {@code spec} is ready or none is being made (tests). */
    void awaitParked(StepSpec spec) {
        List<CompletableFuture<Parked>> making;
        synchronized (this) {
            making = List.copyOf(parked.getOrDefault(Shape.of(spec, executor.limitsOf(spec)), new ArrayDeque<>()));
        }
        making.forEach(CompletableFuture::join);
    }

    /** Only names a shell can export and values that fit on a line can be sent to a parked container. */
    private static boolean sendable(Map<String, String> env) {
        for (var entry : env.entrySet()) {
            var value = entry.getValue() == null ? "" : entry.getValue();
            if (!NAME.matcher(entry.getKey()).matches()
                    || value.indexOf('\n') >= 0
                    || value.indexOf('\r') >= 0
                    || value.indexOf('\0') >= 0) {
                return false;
            }
        }
        return true;
    }

    /** The parked container's command: the waiting shell, then the step's own argv. */
    static List<String> parkedCommand(StepSpec spec) {
        var argv = new ArrayList<>(List.of("sh", "-c", WAIT_THEN_RUN, spec.workingDir()));
        argv.addAll(spec.command().argv());
        return argv;
    }

    /**
     * The bytes that start the step in a parked container: the size of {@code files}, its environment and an empty
     * line, then {@code files} (a tar, or nothing when the engine copied them).
     */
    static byte[] trigger(StepSpec spec, byte[] files) {
        var lines = new StringBuilder().append(files.length).append('\n');
        spec.env()
                .forEach((k, v) ->
                        lines.append(k).append('=').append(v == null ? "" : v).append('\n'));
        var head = lines.append('\n').toString().getBytes(StandardCharsets.UTF_8);
        var bytes = java.util.Arrays.copyOf(head, head.length + files.length);
        System.arraycopy(files, 0, bytes, head.length, files.length);
        return bytes;
    }

    /**
     * The stdin of a parked container's attach: the trigger, then nothing until the step is over, so the attach
     * connection is not half-closed while the step's output still flows through it.
     */
    static final class Trigger extends InputStream {
        private byte[] bytes;
        private int next;
        private final CountDownLatch over = new CountDownLatch(1);

        Trigger(byte[] bytes) {
            this.bytes = bytes;
        }

        @Override
        public int read() {
            var one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] buffer, int offset, int length) {
            if (length == 0) {
                return 0;
            }
            synchronized (this) {
                if (bytes != null && next < bytes.length) {
                    int n = Math.min(length, bytes.length - next);
                    System.arraycopy(bytes, next, buffer, offset, n);
                    next += n;
                    if (next == bytes.length) {
                        bytes = null; // the step's files need not stay in memory while it runs
                    }
                    return n;
                }
            }
            try {
                over.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return -1;
        }

        @Override
        public void close() {
            over.countDown();
        }
    }

    /**
     * Containers still parked are given to the executor's standby for a later job of their shape, or removed in the
     * background when it keeps no more; the executor's close waits for the removals.
     */
    @Override
    public void close() {
        Map<Shape, List<CompletableFuture<Parked>>> left = new HashMap<>();
        synchronized (this) {
            closed = true;
            parked.forEach((shape, queue) -> left.put(shape, List.copyOf(queue)));
            parked.clear();
        }
        left.forEach((shape, futures) -> {
            for (var future : futures) {
                executor.removeWhenKnown(future.thenApply(p -> p == null
                                || (p.standby()
                                        && executor.standby().offer(new Kept(shape, p.imageId()), p, p.madeNanos()))
                        ? null
                        : p.id()));
            }
        });
        executor.closed(this);
    }
}
