package io.bisectbot.executor;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.exception.ConflictException;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.exception.NotModifiedException;
import com.github.dockerjava.api.model.Frame;
import com.github.dockerjava.api.model.HostConfig;
import com.github.dockerjava.api.model.Volume;
import com.github.dockerjava.api.model.WaitResponse;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.InputStream;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one step in a throw-away, locked-down container and reports how it ended.
 *
 * <p>Container shape (checked against Docker Engine 20.10): read-only root filesystem; the work dir
 * is an anonymous volume, because the engine only accepts an archive copy into a read-only-rootfs
 * container when the destination is a volume, and a tmpfs is only mounted at start (files copied
 * before start would be hidden). The volume takes the owner and mode of the image's own work dir,
 * so images meant for steps give that dir to the step user (the runner image makes it 1777); on
 * other images the step can read its inputs but can only write to /tmp and to directories its tar
 * brings with a writable owner/mode. /tmp is a tmpfs. No capabilities, no-new-privileges, pids,
 * memory (swap = memory) and CPU limits, non-root user, no host mounts (only the step's named cache volumes, if it
 * declares any, each given to the step's user by a short helper container), a tiny init as PID 1 to reap
 * zombies and forward SIGTERM ({@link SecurityProfile}). The engine keeps no log file: output is read through an
 * attach made before start, so nothing is lost and nothing is duplicated on the engine's disk. Images are pulled and
 * named by digest by {@link Images}.
 */
public final class DockerExecutor implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(DockerExecutor.class);
    private static final Duration EXIT_AFTER_KILL = Duration.ofSeconds(10);
    static final Duration LOG_DRAIN = Duration.ofSeconds(5);
    /**
     * Largest tar of a step's files sent through a parked container's stdin (held in memory meanwhile); larger ones
     * are copied by the engine, whose archive call costs tens of milliseconds more but streams.
     */
    static final int STDIN_INPUT_MAX = 4 * 1024 * 1024;

    private final DockerClient docker;
    private final ExecutorProperties properties;
    private final Clock clock;
    private final ExecutorMetrics metrics;
    private final ScheduledExecutorService timers;
    private final Images images;
    private final Set<CompletableFuture<Ending>> active = ConcurrentHashMap.newKeySet();
    private final Set<CompletableFuture<Void>> pendingRemovals = ConcurrentHashMap.newKeySet();
    private final Set<WarmStarts> warmStarts = ConcurrentHashMap.newKeySet();
    private final CacheVolumes caches;
    private final Map<String, FilesRoute> filesRoutes = new ConcurrentHashMap<>();
    private final String executorId = java.util.UUID.randomUUID().toString();
    private final Standby standby;

    public DockerExecutor(DockerClient docker, ExecutorProperties properties, MeterRegistry registry, Clock clock) {
        this.docker = docker;
        this.properties = properties;
        this.clock = clock;
        this.metrics = new ExecutorMetrics(registry);
        this.images = new Images(docker, properties);
        // The short helper containers that give a new cache volume to the step's user and measure cache volumes need
        // chown and du: the default step image has them.
        this.caches = new CacheVolumes(docker, images, properties.defaultImage(), this::remove);
        this.timers = Executors.newSingleThreadScheduledExecutor(
                Thread.ofPlatform().daemon().name("step-deadlines").factory());
        this.standby = new Standby(
                properties.standbyMax(), properties.standbyIdle(), System::nanoTime, this::removeLater, registry);
        if (standby.enabled()) {
            long every = Math.clamp(properties.standbyIdle().toMillis() / 4, 100, 60_000);
            timers.scheduleWithFixedDelay(standby::sweep, every, every, TimeUnit.MILLISECONDS);
        }
    }

    /** What ended the wait for a step, before it is turned into an outcome. */
    private sealed interface Ending {
        record Exit(long code) implements Ending {}

        record Deadline() implements Ending {}

        record Cancel() implements Ending {}

        record WaitFailed(Throwable error) implements Ending {}

        record DiskFull(long usedBytes) implements Ending {}
    }

    /** The image of steps whose job names none ({@code DEFAULT_STEP_IMAGE}). */
    public String defaultImage() {
        return properties.defaultImage();
    }

    /**
     * Runs the step to its end and returns its outcome. Blocks the calling thread; the container is
     * removed on every path. Never throws for engine or step failures: those are outcomes.
     */
    public ContainerResult run(StepSpec spec, LogSink sink, CancellationSignal cancel) {
        return run(spec, sink, cancel, null);
    }

    /**
     * Steps run through the returned object take containers started ahead of them, parked until given their step,
     * and their containers are removed after the result is returned; see {@link WarmStarts}.
     *
     * @param ahead containers kept started ahead per kind of step (the steps that may run at once)
     */
    public WarmStarts warmStarts(int ahead) {
        var warm = new WarmStarts(this, ahead);
        warmStarts.add(warm);
        return warm;
    }

    Standby standby() {
        return standby;
    }

    /** The {@code bisectbot.standby} label of the containers this executor makes ahead of steps. */
    String standbyOwner() {
        return executorId;
    }

    /** Whether the container still runs (a kept one may have been stopped meanwhile, e.g. by an engine restart). */
    boolean isRunning(String containerId) {
        try {
            return Boolean.TRUE.equals(
                    docker.inspectContainerCmd(containerId).exec().getState().getRunning());
        } catch (RuntimeException e) {
            return false;
        }
    }

    ExecutorProperties.Effective limitsOf(StepSpec spec) {
        return properties.effective(spec);
    }

    void closed(WarmStarts warm) {
        warmStarts.remove(warm);
    }

    /** As {@link #run(StepSpec, LogSink, CancellationSignal)}; with {@code warm}, from a parked container when one fits. */
    ContainerResult run(StepSpec spec, LogSink sink, CancellationSignal cancel, WarmStarts warm) {
        Instant startedAt = clock.instant();
        metrics.stepStarted();
        var limits = properties.effective(spec);
        var secrets = new ArrayList<>(properties.secrets());
        secrets.addAll(spec.secretValues());
        var logs = new LogPipeline(sink, properties.logCap().toBytes(), secrets);
        String name = containerName(spec);
        String containerId = null;
        String imageDigest = null;
        StepOutcome outcome;
        var starting = warm == null ? null : warm.starting(spec, limits);
        boolean interrupted = false;
        try {
            if (cancel.isCancelled()) {
                outcome = new StepOutcome.Cancelled();
            } else {
                var parked = warm == null ? null : warm.claim(spec, limits);
                if (parked == null && warm != null) {
                    // Nothing parked: a container made now the parked way still spares the engine's archive call.
                    parked = warm.parkNow(spec, limits, name);
                }
                if (parked != null) {
                    containerId = parked.id();
                    name = parked.name();
                    // A user the engine resolves by name could not own the files it extracts: those are copied by the
                    // engine.
                    var files = parked.extractsStdin()
                                    && InputTar.numericOwner(limits.user())[0] != null
                                    && warm.smallTrees()
                            ? inputForStdin(spec, limits.user())
                            : null;
                    if (files == null && parked.extractsStdin()) {
                        // Read twice for nothing otherwise: the trees of one job are alike in size.
                        warm.largeTree();
                    }
                    if (files == null) {
                        copyInput(spec, containerId, limits.user());
                    }
                    outcome = cancel.isCancelled()
                            ? new StepOutcome.Cancelled()
                            : startAndAwait(
                                    containerId,
                                    limits.timeout(),
                                    logs,
                                    cancel,
                                    WarmStarts.trigger(spec, files == null ? new byte[0] : files),
                                    starting::commandRuns);
                } else {
                    caches.prepare(spec, limits.user());
                    containerId = create(spec, limits, name, false);
                    metrics.containerCreated();
                    copyInput(spec, containerId, limits.user());
                    outcome = startAndAwait(
                            containerId,
                            limits.timeout(),
                            logs,
                            cancel,
                            null,
                            starting == null ? () -> {} : starting::commandRuns);
                }
                imageDigest = imageDigest(containerId);
                if (outcome instanceof StepOutcome.Exited && spec.output() != null) {
                    readOutput(spec, containerId);
                }
            }
        } catch (InfraException e) {
            outcome = new StepOutcome.InfraError(e.getMessage());
        } catch (RuntimeException e) {
            outcome = new StepOutcome.InfraError("docker engine error: " + describe(e));
        } finally {
            // Put off to the end: on an interrupted virtual thread the removal and the log writes below would fail
            // at once (its sockets close), leaving the container to the reaper and the step's last lines unstored.
            interrupted = Thread.interrupted();
            if (starting != null) {
                starting.ended();
            }
            if (containerId != null && warm != null) {
                removeLater(containerId);
            } else if (containerId != null) {
                remove(containerId);
                metrics.containerRemoved();
            }
        }
        if (outcome instanceof StepOutcome.InfraError(String message)) {
            logs.accept(
                    LogStream.SYSTEM,
                    ("bisectbot: " + message + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        LogSummary summary = logs.finish();
        try {
            sink.flush();
        } catch (RuntimeException e) {
            log.warn("Could not flush logs of job {} step {}", spec.jobId(), spec.step(), e);
        }
        Duration duration = Duration.between(startedAt, clock.instant());
        metrics.stepFinished(outcome, duration);
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        return new ContainerResult(outcome, duration, imageDigest, name, summary);
    }

    /**
     * Creates the step's container. {@code parked}: for a container started before its step is known (see
     * {@link WarmStarts}): same limits, mounts and labels, but its command first waits on stdin for the step's
     * environment, then enters the working directory and runs the step's command.
     */
    String create(StepSpec spec, ExecutorProperties.Effective limits, String name, boolean parked) {
        return create(spec, limits, name, parked, false);
    }

    /**
     * {@code standby}: a parked container that may serve a later job of the same shape (see {@link Standby}): it
     * carries its worker's labels and this executor's, no job's.
     */
    String create(StepSpec spec, ExecutorProperties.Effective limits, String name, boolean parked, boolean standby) {
        Map<String, String> labels = new LinkedHashMap<>(spec.labels());
        // Ours last, so a step cannot forge the labels the reaper relies on.
        labels.remove(Labels.STANDBY);
        labels.put(Labels.MANAGED, "true");
        if (standby) {
            labels.remove(Labels.JOB_ID);
            labels.remove(Labels.ATTEMPT);
            labels.put(Labels.STANDBY, executorId);
        } else {
            labels.put(Labels.JOB_ID, Long.toString(spec.jobId()));
            labels.put(Labels.ATTEMPT, Integer.toString(spec.attempt()));
        }
        labels.put(Labels.WORKER_ID, spec.workerId());
        labels.put(Labels.STEP, parked ? WarmStarts.STEP_LABEL : spec.step());

        HostConfig host = SecurityProfile.step(spec, limits, properties);

        List<String> env = new ArrayList<>();
        if (!parked) {
            spec.env().forEach((k, v) -> env.add(k + "=" + v));
        }
        try {
            return createContainer(spec, name, labels, host, env, limits.user(), parked);
        } catch (NotFoundException absent) {
            images.pull(spec.image(), spec.registryCredentials());
            try {
                return createContainer(spec, name, labels, host, env, limits.user(), parked);
            } catch (RuntimeException e) {
                throw new InfraException("create failed for image " + spec.image() + ": " + describe(e), e);
            }
        } catch (RuntimeException e) {
            throw new InfraException("create failed for image " + spec.image() + ": " + describe(e), e);
        }
    }

    private String createContainer(
            StepSpec spec,
            String name,
            Map<String, String> labels,
            HostConfig host,
            List<String> env,
            String user,
            boolean parked) {
        var cmd = docker.createContainerCmd(spec.image())
                .withName(name)
                .withCmd(
                        parked ? WarmStarts.parkedCommand(spec) : spec.command().argv())
                .withEnv(env)
                // A parked container enters the working directory once its files are there, so none is made at start.
                .withWorkingDir(parked ? "/" : spec.workingDir())
                .withUser(user)
                .withLabels(labels)
                .withVolumes(new Volume(InputTar.VOLUME))
                .withAttachStdout(true)
                .withAttachStderr(true)
                .withTty(false)
                .withHostConfig(host);
        if (parked) {
            cmd.withStdinOpen(true).withStdInOnce(true).withAttachStdin(true);
        }
        return cmd.exec().getId();
    }

    private void copyInput(StepSpec spec, String containerId, String user) {
        copyInput(spec, containerId, user, true);
    }

    /**
     * Gives a container made before its step (see {@link WarmStarts}) its working directory, owned by the step's
     * user and still empty, so that the step's files can be extracted into it by that user.
     */
    void makeWorkingDir(StepSpec spec, String containerId, String user) {
        copyInput(spec, containerId, user, false);
    }

    private void copyInput(StepSpec spec, String containerId, String user, boolean files) {
        var owner = InputTar.numericOwner(user);
        // Always copied, even without input: it creates the working directory, owned by the step's user.
        try (InputStream tar =
                InputTar.rebase(openInput(spec, files), InputTar.relativeDir(spec.workingDir()), owner[0], owner[1])) {
            docker.copyArchiveToContainerCmd(containerId)
                    .withRemotePath(InputTar.VOLUME)
                    .withTarInputStream(tar)
                    .exec();
        } catch (InfraException e) {
            throw e;
        } catch (Exception e) {
            throw new InfraException("copying input files failed: " + describe(e), e);
        }
    }

    /**
     * The step's files as the tar a parked container extracts from its stdin (see {@link WarmStarts}), or null when
     * they take more than {@link #STDIN_INPUT_MAX} bytes: those are copied by the engine.
     */
    private byte[] inputForStdin(StepSpec spec, String user) {
        var owner = InputTar.numericOwner(user);
        try {
            return InputTar.rebasedBytes(
                    openInput(spec, true),
                    InputTar.relativeDir(spec.workingDir()),
                    owner[0],
                    owner[1],
                    STDIN_INPUT_MAX);
        } catch (InfraException e) {
            throw e;
        } catch (Exception e) {
            throw new InfraException("reading input files failed: " + describe(e), e);
        }
    }

    private static InputStream openInput(StepSpec spec, boolean files) {
        try {
            return !files || spec.input() == null
                    ? InputStream.nullInputStream()
                    : spec.input().open();
        } catch (Exception e) {
            throw new InfraException("reading input files failed: " + describe(e), e);
        }
    }

    private void readOutput(StepSpec spec, String containerId) {
        try (InputStream tar = docker.copyArchiveFromContainerCmd(containerId, spec.workingDir())
                .exec()) {
            spec.output().read(tar);
        } catch (Exception e) {
            throw new InfraException("reading the step's files back failed: " + describe(e), e);
        }
    }

    /**
     * Starts the container (or, for a parked one, sends {@code trigger} to its stdin, which starts the step's command),
     * runs {@code started}, and waits for its end; the deadline counts from the start.
     */
    private StepOutcome startAndAwait(
            String id,
            Duration timeout,
            LogPipeline logs,
            CancellationSignal cancel,
            byte[] trigger,
            Runnable started) {
        var output = new ResultCallback.Adapter<Frame>() {
            @Override
            public void onNext(Frame frame) {
                var stream = switch (frame.getStreamType()) {
                    case STDERR -> LogStream.STDERR;
                    default -> LogStream.STDOUT;
                };
                try {
                    logs.accept(stream, frame.getPayload());
                } catch (RuntimeException e) {
                    // A failing sink (e.g. database down) must not end the attach stream or the step.
                    log.warn("Dropping output of container {}: {}", id, describe(e));
                }
            }
        };
        var ending = new CompletableFuture<Ending>();
        active.add(ending);
        ScheduledFuture<?> deadline = null;
        Thread diskWatch = null;
        ResultCallback.Adapter<WaitResponse> waiting = null;
        var attach =
                docker.attachContainerCmd(id).withStdOut(true).withStdErr(true).withFollowStream(true);
        var stdin = trigger == null ? null : new WarmStarts.Trigger(trigger);
        if (stdin != null) {
            // The engine attaches the output streams before it copies stdin in, so the first bytes are not lost.
            attach.withStdIn(stdin);
        }
        try (var attached = attach.exec(output);
                var onCancel = cancel.onCancel(() -> ending.complete(new Ending.Cancel()))) {
            // Attach before start, so the first bytes of output are not lost.
            if (!attached.awaitStarted(30, TimeUnit.SECONDS)) {
                throw new InfraException("attaching to the container timed out", null);
            }
            if (ending.isDone()) {
                return outcomeOf(id, ending.join());
            }
            if (stdin == null) {
                docker.startContainerCmd(id).exec();
            }
            deadline = timers.schedule(
                    () -> ending.complete(new Ending.Deadline()), timeout.toMillis(), TimeUnit.MILLISECONDS);
            // Only now are the next round's containers made: this round's copies and starts go first on the engine.
            started.run();
            var exited = new CompletableFuture<Long>();
            waiting = docker.waitContainerCmd(id).exec(new ResultCallback.Adapter<WaitResponse>() {
                @Override
                public void onNext(WaitResponse response) {
                    exited.complete(response.getStatusCode().longValue());
                }

                @Override
                public void onError(Throwable error) {
                    exited.completeExceptionally(error);
                }

                @Override
                public void onComplete() {
                    exited.completeExceptionally(new IllegalStateException("wait ended without a status"));
                }
            });
            exited.whenComplete((code, error) ->
                    ending.complete(error == null ? new Ending.Exit(code) : new Ending.WaitFailed(error)));
            diskWatch = Thread.ofVirtual()
                    .name("step-disk-" + id.substring(0, Math.min(12, id.length())))
                    .start(() -> watchDisk(id, ending));

            Ending end = ending.join();
            if (end instanceof Ending.Deadline || end instanceof Ending.Cancel || end instanceof Ending.DiskFull) {
                stop(id, end instanceof Ending.Cancel, exited);
                awaitQuietly(exited, EXIT_AFTER_KILL);
            }
            // The attach stream ends when the container's output closes; wait briefly for the last bytes.
            awaitQuietly(output, LOG_DRAIN);
            return outcomeOf(id, end);
        } catch (java.io.IOException e) {
            throw new InfraException("closing the attach stream failed: " + describe(e), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InfraException("interrupted while attaching", e);
        } finally {
            if (stdin != null) {
                stdin.close();
            }
            active.remove(ending);
            if (deadline != null) {
                deadline.cancel(false);
            }
            if (diskWatch != null) {
                diskWatch.interrupt();
            }
            closeQuietly(waiting);
        }
    }

    private StepOutcome outcomeOf(String id, Ending end) {
        return switch (end) {
            case Ending.Deadline d -> new StepOutcome.TimedOut();
            case Ending.Cancel c -> new StepOutcome.Cancelled();
            case Ending.WaitFailed(Throwable error) ->
                exitFromInspect(id)
                        .orElseThrow(() ->
                                new InfraException("waiting for the container failed: " + describe(error), error));
            case Ending.Exit(long code) ->
                oomKilled(id) ? new StepOutcome.OomKilled() : new StepOutcome.Exited((int) code);
            case Ending.DiskFull(long used) ->
                new StepOutcome.DiskLimit(used, properties.diskLimit().toBytes());
        };
    }

    /**
     * Measures the step's working volume every {@code diskCheckInterval} while it runs, as a node agent measures
     * ephemeral storage, and ends the step when it holds more than the limit. {@code du} runs inside the container as
     * root from the image's read-only root file system; a directory the step made unreadable counts as over the
     * limit, so hiding files does not help. An image without {@code du} is not measured (said once in the log).
     */
    private void watchDisk(String id, CompletableFuture<Ending> ending) {
        long limit = properties.diskLimit().toBytes();
        try {
            while (!ending.isDone()) {
                Thread.sleep(properties.diskCheckInterval().toMillis());
                if (ending.isDone()) {
                    return;
                }
                var used = measureWorkVolume(id);
                if (used.isEmpty()) {
                    return;
                }
                if (used.getAsLong() < 0 || used.getAsLong() > limit) {
                    ending.complete(new Ending.DiskFull(used.getAsLong()));
                    return;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (com.github.dockerjava.api.exception.ConflictException | NotFoundException e) {
            // The container ended between two checks: nothing left to measure.
        } catch (RuntimeException e) {
            if (!ending.isDone()) {
                log.warn(
                        "Measuring the working volume of container {} failed; its disk use is no longer checked: {}",
                        id,
                        describe(e));
            }
        }
    }

    /** Bytes under {@link InputTar#VOLUME}; -1 when part of it is unreadable; empty when the image has no du. */
    private java.util.OptionalLong measureWorkVolume(String id) throws InterruptedException {
        var exec = docker.execCreateCmd(id)
                .withCmd("du", "-skx", InputTar.VOLUME)
                .withUser("0")
                .withAttachStdout(true)
                .withAttachStderr(true)
                .exec();
        return measureWorkVolume(id, exec.getId());
    }

    /** The measure's second half: runs the created {@code du} exec and reads its answer. */
    java.util.OptionalLong measureWorkVolume(String id, String execId) throws InterruptedException {
        var out = new StringBuilder();
        var err = new StringBuilder();
        var failed = new java.util.concurrent.atomic.AtomicReference<Throwable>();
        docker.execStartCmd(execId)
                .exec(new ResultCallback.Adapter<Frame>() {
                    @Override
                    public void onError(Throwable error) {
                        // Kept, not logged: the library logs a callback's error as ERROR with its stack trace, and the
                        // usual one is the step having just exited.
                        failed.compareAndSet(null, error);
                        closeQuietly(this);
                    }

                    @Override
                    public void onNext(Frame frame) {
                        var text = new String(frame.getPayload(), java.nio.charset.StandardCharsets.UTF_8);
                        if (frame.getStreamType() == com.github.dockerjava.api.model.StreamType.STDERR) {
                            if (err.length() < 4096) {
                                err.append(text);
                            }
                        } else if (out.length() < 4096) {
                            out.append(text);
                        }
                    }
                })
                .awaitCompletion(60, TimeUnit.SECONDS);
        var error = failed.get();
        if (error != null) {
            if (error instanceof NotFoundException
                    || (error.getMessage() != null && error.getMessage().contains("is not running"))) {
                return java.util.OptionalLong.empty(); // the step ended between two checks, its exec with it
            }
            throw error instanceof RuntimeException e ? e : new IllegalStateException(error);
        }
        var code = docker.inspectExecCmd(execId).exec().getExitCodeLong();
        if (code != null && (code == 126 || code == 127)) {
            log.warn("Container {} has no usable du, so its disk use is not checked against STEP_DISK_LIMIT", id);
            return java.util.OptionalLong.empty();
        }
        if (err.indexOf("Permission denied") >= 0) {
            return java.util.OptionalLong.of(-1);
        }
        var first = out.toString().strip().split("\\s+", 2)[0];
        try {
            return java.util.OptionalLong.of(Long.parseLong(first) * 1024);
        } catch (NumberFormatException e) {
            // Still starting (the exec raced the container's end) or an odd du: try again next time.
            return java.util.OptionalLong.of(0);
        }
    }

    private boolean oomKilled(String id) {
        InspectContainerResponse.ContainerState state =
                docker.inspectContainerCmd(id).exec().getState();
        return Boolean.TRUE.equals(state.getOOMKilled());
    }

    /** When the wait stream broke but the engine still knows the container ended, trust its state. */
    private java.util.Optional<StepOutcome> exitFromInspect(String id) {
        try {
            var state = docker.inspectContainerCmd(id).exec().getState();
            if (Boolean.TRUE.equals(state.getRunning()) || state.getExitCodeLong() == null) {
                return java.util.Optional.empty();
            }
            if (Boolean.TRUE.equals(state.getOOMKilled())) {
                return java.util.Optional.of(new StepOutcome.OomKilled());
            }
            return java.util.Optional.of(
                    new StepOutcome.Exited(state.getExitCodeLong().intValue()));
        } catch (RuntimeException e) {
            return java.util.Optional.empty();
        }
    }

    /** Timeouts kill at once; a cancel first asks nicely (SIGTERM, forwarded by the init) for the grace period. */
    private void stop(String id, boolean graceful, CompletableFuture<Long> exited) {
        try {
            if (graceful && !properties.cancelGrace().isZero()) {
                docker.killContainerCmd(id).withSignal("TERM").exec();
                try {
                    exited.get(properties.cancelGrace().toMillis(), TimeUnit.MILLISECONDS);
                    return;
                } catch (TimeoutException stillRunning) {
                    // Fall through to SIGKILL.
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } catch (java.util.concurrent.ExecutionException waitBroke) {
                    // Unknown state: make sure it dies.
                }
            }
            docker.killContainerCmd(id).withSignal("KILL").exec();
        } catch (NotFoundException | ConflictException | NotModifiedException alreadyGone) {
            // Exited by itself in the meantime.
        }
    }

    private static void awaitQuietly(CompletableFuture<?> future, Duration max) {
        try {
            future.get(max.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception ignored) {
            // Best effort: the outcome is already known.
        }
    }

    private static void awaitQuietly(ResultCallback.Adapter<?> callback, Duration max) {
        try {
            callback.awaitCompletion(max.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException ignored) {
            // The stream failed; what arrived is what we have.
        }
    }

    private static void closeQuietly(ResultCallback.Adapter<?> callback) {
        if (callback != null) {
            try {
                callback.close();
            } catch (Exception ignored) {
                // Only releases the connection.
            }
        }
    }

    /**
     * Bytes held by a cache volume, measured in a helper container; empty when the volume does not exist.
     */
    public java.util.OptionalLong cacheSize(String volume) {
        return caches.size(volume);
    }

    /**
     * Removes a cache volume, and first the containers kept for later jobs that mount it; false when a step's
     * container still uses it (it is removed on a later try).
     */
    public boolean removeCache(String volume) {
        for (var id : standby.release(kept -> WarmStarts.mounts(kept, volume))) {
            remove(id);
            metrics.containerRemoved();
        }
        return caches.remove(volume);
    }

    /** Names of the cache volumes on this engine. */
    public List<String> cacheVolumes() {
        return caches.names();
    }

    /**
     * The digest (or, for a local image, the id) that {@code image} names now, pulling it when absent; the key
     * under which results of steps in this image may be remembered.
     *
     * @throws IllegalStateException when the image cannot be found or pulled
     */
    public String resolveImage(String image) {
        return resolveImage(image, true);
    }

    /** As {@link #resolveImage(String)}; {@code registryCredentials} false pulls without the operator's credentials. */
    public String resolveImage(String image, boolean registryCredentials) {
        return images.resolve(image, registryCredentials);
    }

    private String imageDigest(String containerId) {
        try {
            return images.digestOfContainer(containerId);
        } catch (RuntimeException e) {
            log.debug("Could not read the image digest of {}", containerId, e);
            return null;
        }
    }

    /** Starts a parked container (it waits for its trigger); false when the engine refused, e.g. no shell in the image. */
    boolean startParked(String containerId) {
        try {
            docker.startContainerCmd(containerId).exec();
            return true;
        } catch (RuntimeException e) {
            log.debug("Could not start parked container {}: {}", containerId, describe(e));
            return false;
        }
    }

    /** How a parked container of an image gets its step's files. */
    enum FilesRoute {
        /** The engine's archive call: the image has no {@code tar} or {@code head}. */
        ENGINE,
        /** Extracted from stdin by the step's user, who may create the working directory in the work volume. */
        STDIN,
        /** Extracted from stdin, into a working directory the engine makes first (the work volume is not the user's). */
        STDIN_AFTER_DIR
    }

    /** The route of an image id for a user, once a container was asked ({@link #askFilesRoute}); null before. */
    FilesRoute filesRoute(String imageId, String user) {
        return filesRoutes.get(imageId + " " + user);
    }

    /**
     * Asks a started container how its step's files can reach it: {@code tar} and {@code head} in its image, and
     * whether the step's user may write the work volume, checked by that user in the container (one short exec).
     * Remembered for the image id: the answer is the image's.
     */
    FilesRoute askFilesRoute(String imageId, String user, String containerId) {
        FilesRoute route;
        try {
            var exec = docker.execCreateCmd(containerId)
                    .withCmd(
                            "sh",
                            "-c",
                            // An empty archive (two zero blocks) through the very pipeline a step's files take.
                            "head -c 1024 /dev/zero | tar -xof - -C /tmp || exit 2; [ -w " + InputTar.VOLUME
                                    + " ] || exit 3")
                    .withAttachStdout(true)
                    .withAttachStderr(true)
                    .exec();
            docker.execStartCmd(exec.getId())
                    .exec(new ResultCallback.Adapter<Frame>())
                    .awaitCompletion(30, TimeUnit.SECONDS);
            var code = docker.inspectExecCmd(exec.getId()).exec().getExitCodeLong();
            route = code == null ? null : code == 0 ? FilesRoute.STDIN : code == 3 ? FilesRoute.STDIN_AFTER_DIR : null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return FilesRoute.ENGINE;
        } catch (RuntimeException e) {
            log.debug("Could not ask container {} how its files can reach it: {}", containerId, describe(e));
            return FilesRoute.ENGINE;
        }
        route = route == null ? FilesRoute.ENGINE : route;
        filesRoutes.put(imageId + " " + user, route);
        return route;
    }

    void containerCreated() {
        metrics.containerCreated();
    }

    /** See {@link Images#idIfRunsCommandAsGiven}. */
    java.util.Optional<String> idIfRunsCommandAsGiven(String image) {
        return images.idIfRunsCommandAsGiven(image);
    }

    void prepareCachesFor(StepSpec spec, String user) {
        caches.prepare(spec, user);
    }

    /** Removes the container in the background; {@link #close()} waits for what is still being removed. */
    void removeLater(String containerId) {
        removeWhenKnown(CompletableFuture.completedFuture(containerId));
    }

    /** Removes the container {@code containerId} names once it is known (null: none), in the background. */
    void removeWhenKnown(CompletableFuture<String> containerId) {
        var removal = new CompletableFuture<Void>();
        pendingRemovals.add(removal);
        containerId.whenComplete((id, error) -> Thread.ofVirtual()
                .name("remove-container")
                .start(() -> {
                    try {
                        if (id != null) {
                            remove(id);
                            metrics.containerRemoved();
                        }
                    } finally {
                        removal.complete(null);
                        pendingRemovals.remove(removal);
                    }
                }));
    }

    void remove(String containerId) {
        try {
            // Volumes too: the work dir is an anonymous volume that would otherwise outlive the step.
            docker.removeContainerCmd(containerId)
                    .withForce(true)
                    .withRemoveVolumes(true)
                    .exec();
        } catch (NotFoundException gone) {
            // Already removed (e.g. by the reaper).
        } catch (com.github.dockerjava.api.exception.ConflictException removing) {
            // The engine is removing it already (a kill on cancel and this removal crossed): it goes either way.
            log.debug("Container {} is being removed already", containerId);
        } catch (RuntimeException e) {
            // The reaper removes it later: its job will not be running any more.
            log.warn("Could not remove container {}: {}", containerId, describe(e));
        }
    }

    static String containerName(StepSpec spec) {
        return containerName(spec, spec.step());
    }

    static String containerName(StepSpec spec, String stepName) {
        String step = stepName.replaceAll("[^a-zA-Z0-9_.-]", "-");
        if (step.length() > 40) {
            step = step.substring(0, 40);
        }
        return "bisectbot-j%d-a%d-%s-%06x"
                .formatted(
                        spec.jobId(),
                        spec.attempt(),
                        step,
                        ThreadLocalRandom.current().nextInt(1 << 24));
    }

    /** A standby container's name: it belongs to no job until a step takes it. */
    static String standbyName() {
        return "bisectbot-parked-%06x".formatted(ThreadLocalRandom.current().nextInt(1 << 24));
    }

    static String describe(Throwable e) {
        String message = e.getMessage();
        Throwable cause = e;
        while ((message == null || message.isBlank()) && cause.getCause() != null) {
            cause = cause.getCause();
            message = cause.getMessage();
        }
        return (message == null ? e.getClass().getSimpleName() : message.strip());
    }

    /** Number of containers this executor has created and not yet removed. */
    public int activeContainers() {
        return metrics.containersRunning();
    }

    /** Cancels running steps (their containers get killed and removed), then stops the deadline timer. */
    @Override
    public void close() {
        List.copyOf(warmStarts).forEach(WarmStarts::close);
        standby.close();
        active.forEach(f -> f.complete(new Ending.Cancel()));
        long until = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        for (var removal : List.copyOf(pendingRemovals)) {
            awaitQuietly(removal, Duration.ofNanos(Math.max(0, until - System.nanoTime())));
        }
        while (metrics.containersRunning() > 0 && System.nanoTime() < until) {
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        timers.shutdownNow();
    }
}
