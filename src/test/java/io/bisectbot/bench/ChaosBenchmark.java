package io.bisectbot.bench;

import com.github.dockerjava.api.model.ExposedPort;
import com.github.dockerjava.api.model.PortBinding;
import com.github.dockerjava.api.model.Ports;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Supplier;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.postgresql.PostgreSQLContainer;
import org.testcontainers.utility.DockerImageName;

/**
 * Three instances of the packaged jar (separate processes) on one PostgreSQL and one Docker engine take a steady
 * stream of jobs through their HTTP API (sleep jobs, bisect jobs that run containers, and {@code fenced-effect} jobs
 * whose only effect is a row stored under their fence) while, one after another: instances get SIGKILL (and are
 * started again), one is frozen with SIGSTOP past {@code JOB_STALE_AFTER} (then SIGCONT), PostgreSQL is stopped and
 * started again on the same port, and the Docker engine goes away and comes back. The third instance's wall clock
 * runs {@code --skew} ahead for the whole run (libfaketime). Then it checks every job: none lost, none unfinished,
 * no effect stored twice, no job completed twice; and reports recovery times and the requests that failed.
 *
 * <p>The Docker engine's restart is played by a proxy in front of the engine's socket ({@link DockerProxy}): the
 * instances reach the engine only through it, and stopping it cuts their connections and refuses new ones while the
 * containers of their jobs are killed, as a restart without {@code live-restore} does. The real engine is not
 * restarted: PostgreSQL itself runs in it (and so may other work on the machine).
 *
 * <pre>./mvnw -q package -DskipTests &amp;&amp; ./mvnw -q test-compile exec:java -Dexec.classpathScope=test \
 *     -Dexec.mainClass=io.bisectbot.bench.ChaosBenchmark [-Dexec.args="--jobs 10000 --rate 40 --kills 3"]</pre>
 */
public final class ChaosBenchmark {

    /**
     * @param jobs           jobs enqueued in all
     * @param containerShare share of bisect jobs (each runs about four containers)
     * @param effectShare    share of {@code fenced-effect} jobs; the rest sleep
     * @param rate           jobs enqueued per second (round robin over the instances)
     * @param kills          SIGKILLs, each followed by a start of the instance
     * @param skew           the third instance's clock offset, as {@code faketime -f} takes it ({@code +300s})
     * @param databaseDown   how long PostgreSQL stays stopped
     * @param dockerDown     how long the Docker engine stays away
     * @param settings       settings of every instance beyond the defaults, e.g. a shorter {@code JOB_STALE_AFTER}
     */
    public record Options(
            int jobs,
            double containerShare,
            double effectShare,
            double rate,
            int kills,
            String skew,
            Duration databaseDown,
            Duration dockerDown,
            Duration staleAfter,
            Map<String, String> settings) {

        /** The benchmark: 10,000 jobs with the default timings (stale-after 30 s, heartbeat 5 s). */
        public static Options full() {
            return new Options(
                    10_000,
                    0.01,
                    0.4,
                    40,
                    3,
                    "+300s",
                    Duration.ofSeconds(40),
                    Duration.ofSeconds(15),
                    Duration.ofSeconds(30),
                    Map.of());
        }

        /** The short version run by {@code ./mvnw verify}: a few hundred jobs, one fault of each kind, fast timings. */
        public static Options quick() {
            return new Options(
                    300,
                    0.03,
                    0.4,
                    6,
                    1,
                    "+300s",
                    Duration.ofSeconds(15),
                    Duration.ofSeconds(6),
                    Duration.ofSeconds(10),
                    Map.of("HEARTBEAT_INTERVAL", "2s", "RECOVERY_INTERVAL", "1s"));
        }
    }

    /** Times in seconds from a fault (or from its end, for outages) to recovery. */
    public record Recovery(String what, List<Double> seconds) {
        double p50() {
            return seconds.isEmpty() ? Double.NaN : sorted().get(seconds.size() / 2);
        }

        double max() {
            return seconds.isEmpty() ? Double.NaN : sorted().getLast();
        }

        private List<Double> sorted() {
            var copy = new ArrayList<>(seconds);
            Collections.sort(copy);
            return copy;
        }
    }

    /** Requests sent to the instances, by what was going on when each was sent. */
    public record Requests(
            long total,
            long toFaultedInstance,
            long toFaultedInstanceFailed,
            long duringDatabaseOutage,
            long duringDatabaseOutageRefused,
            long duringDatabaseOutageFailed,
            long other,
            long failed,
            List<String> failures) {}

    public record Report(
            int jobs,
            int accepted,
            long lost,
            long unfinished,
            long failedJobs,
            long doubledEffects,
            long missingEffects,
            long doubledCompletions,
            long discardedResults,
            long takenFromLiveInstances,
            Map<String, Long> byKindAndStatus,
            List<Recovery> recoveries,
            Requests requests,
            long clockOffsetMillis,
            double seconds,
            Path logs) {

        public boolean allFinished() {
            return unfinished == 0 && failedJobs == 0 && lost == 0;
        }

        public String text() {
            var out = new StringBuilder();
            out.append(String.format(
                    Locale.ROOT,
                    "jobs: %d enqueued, %d accepted; by kind and status %s%n",
                    jobs,
                    accepted,
                    byKindAndStatus));
            out.append(String.format(
                    Locale.ROOT,
                    "lost %d, unfinished %d, failed %d, all finished: %s%n",
                    lost,
                    unfinished,
                    failedJobs,
                    allFinished()));
            out.append(String.format(
                    Locale.ROOT,
                    "effects stored twice %d, effects missing %d, jobs completed twice %d, "
                            + "stale results refused by the fence %d%n",
                    doubledEffects,
                    missingEffects,
                    doubledCompletions,
                    discardedResults));
            out.append(String.format(
                    Locale.ROOT,
                    "jobs taken back from live instances (database outage, skewed clock): %d%n",
                    takenFromLiveInstances));
            out.append(String.format(
                    Locale.ROOT,
                    "skewed instance's measured clock offset to the database: %d ms%n",
                    clockOffsetMillis));
            for (var recovery : recoveries) {
                out.append(String.format(
                        Locale.ROOT,
                        "recovery, %s: n=%d p50 %.2f s, max %.2f s%n",
                        recovery.what(),
                        recovery.seconds().size(),
                        recovery.p50(),
                        recovery.max()));
            }
            out.append(String.format(
                    Locale.ROOT,
                    "requests: %d; to a killed or frozen instance %d (%d failed); during the "
                            + "database outage %d (%d answered 503, %d failed otherwise); all others %d, of which failed %d%n",
                    requests.total(),
                    requests.toFaultedInstance(),
                    requests.toFaultedInstanceFailed(),
                    requests.duringDatabaseOutage(),
                    requests.duringDatabaseOutageRefused(),
                    requests.duringDatabaseOutageFailed(),
                    requests.other(),
                    requests.failed()));
            requests.failures().stream()
                    .limit(10)
                    .forEach(f -> out.append("  failed: ").append(f).append('\n'));
            out.append(String.format(Locale.ROOT, "wall time %.0f s; logs in %s%n", seconds, logs));
            return out.toString();
        }
    }

    private record Spec(int index, String kind, String json) {}

    /** One request to an instance: when it was sent, to which slot, and how it ended. */
    private record Sent(int slot, long at, String what, int status, String error) {
        boolean ok() {
            return status >= 200 && status < 300;
        }
    }

    /** A time span during which requests to {@code slot} (or to all, for -1) are not counted as failures. */
    private record Window(int slot, String kind, long from, long to) {
        boolean covers(Sent sent) {
            return (slot == -1 || slot == sent.slot()) && sent.at() >= from && sent.at() <= to;
        }
    }

    private static final int SLOTS = 3;
    /** Requests sent this long before a fault may still be in flight when it strikes: they count with the fault. */
    private static final long IN_FLIGHT = Duration.ofSeconds(10).toNanos();

    private static final String[] NAMES = {"a", "b", "c"};

    private final Options options;
    private final Path logs;
    private final String run = Long.toString(System.currentTimeMillis() % 1_000_000, 36);
    private final AtomicReferenceArray<ServiceProcess> slots = new AtomicReferenceArray<>(SLOTS);
    private final int[] generation = new int[SLOTS];
    private final int[] ports = new int[SLOTS];
    private final ConcurrentLinkedQueue<Sent> sent = new ConcurrentLinkedQueue<>();
    private final List<Window> windows = new CopyOnWriteArrayList<>();
    private final Map<Integer, Long> accepted = new ConcurrentHashMap<>();
    private final Map<Integer, Long> dockerBackAt = new ConcurrentHashMap<>();
    private final List<Recovery> recoveries = new ArrayList<>();
    private volatile boolean trafficOn = true;
    /** How many jobs the submitter may send for now: it waits for each fault, so that every fault meets running jobs. */
    private volatile int sendable;

    private volatile long clockOffset;
    private volatile long dockerSince = Long.MAX_VALUE;
    private long takenFromLive;
    private PostgreSQLContainer postgres;
    private ServiceProcess.Database database;
    private DockerProxy docker;
    private Path repo;
    private JdbcClient sql;

    private ChaosBenchmark(Options options, Path logs) {
        this.options = options;
        this.logs = logs;
    }

    public static void main(String[] args) throws Exception {
        var o = Options.full();
        for (int i = 0; i < args.length; i++) {
            var value = args[++i];
            o = switch (args[i - 1]) {
                case "--jobs" ->
                    new Options(
                            Integer.parseInt(value),
                            o.containerShare(),
                            o.effectShare(),
                            o.rate(),
                            o.kills(),
                            o.skew(),
                            o.databaseDown(),
                            o.dockerDown(),
                            o.staleAfter(),
                            o.settings());
                case "--rate" ->
                    new Options(
                            o.jobs(),
                            o.containerShare(),
                            o.effectShare(),
                            Double.parseDouble(value),
                            o.kills(),
                            o.skew(),
                            o.databaseDown(),
                            o.dockerDown(),
                            o.staleAfter(),
                            o.settings());
                case "--kills" ->
                    new Options(
                            o.jobs(),
                            o.containerShare(),
                            o.effectShare(),
                            o.rate(),
                            Integer.parseInt(value),
                            o.skew(),
                            o.databaseDown(),
                            o.dockerDown(),
                            o.staleAfter(),
                            o.settings());
                case "--containers" ->
                    new Options(
                            o.jobs(),
                            Double.parseDouble(value),
                            o.effectShare(),
                            o.rate(),
                            o.kills(),
                            o.skew(),
                            o.databaseDown(),
                            o.dockerDown(),
                            o.staleAfter(),
                            o.settings());
                case "--skew" ->
                    new Options(
                            o.jobs(),
                            o.containerShare(),
                            o.effectShare(),
                            o.rate(),
                            o.kills(),
                            value,
                            o.databaseDown(),
                            o.dockerDown(),
                            o.staleAfter(),
                            o.settings());
                case "--database-down" ->
                    new Options(
                            o.jobs(),
                            o.containerShare(),
                            o.effectShare(),
                            o.rate(),
                            o.kills(),
                            o.skew(),
                            Duration.ofSeconds(Long.parseLong(value)),
                            o.dockerDown(),
                            o.staleAfter(),
                            o.settings());
                case "--quick" -> Boolean.parseBoolean(value) ? Options.quick() : o;
                default -> throw new IllegalArgumentException("unknown option " + args[i - 1]);
            };
        }
        var report = run(o);
        System.out.print(report.text());
        System.exit(0);
    }

    /** Runs the whole benchmark and stops everything it started. */
    public static Report run(Options options) throws Exception {
        var benchmark = new ChaosBenchmark(options, Files.createTempDirectory("chaos"));
        try {
            return benchmark.execute();
        } finally {
            benchmark.close();
        }
    }

    private Report execute() throws Exception {
        var started = System.nanoTime();
        startDatabase();
        docker = new DockerProxy();
        docker.start();
        repo = repository(logs.resolve("repo"));
        try (var connections = poolWithShortTimeouts()) {
            sql = JdbcClient.create(connections);
            // Together: Flyway lets one of them migrate while the others wait.
            var starts = new ArrayList<java.util.concurrent.Future<ServiceProcess>>();
            try (var pool = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
                for (int slot = 0; slot < SLOTS; slot++) {
                    ports[slot] = freePort();
                    final int s = slot;
                    starts.add(pool.submit(() -> start(s)));
                }
            }
            for (int slot = 0; slot < SLOTS; slot++) {
                if (starts.get(slot).state() == java.util.concurrent.Future.State.SUCCESS) {
                    slots.set(slot, starts.get(slot).resultNow());
                }
            }
            for (var start : starts) {
                start.get(); // the first failure to start, if any
            }
            var specs = specs();
            var todo = new ConcurrentLinkedDeque<>(specs);
            sendable = options.jobs() / 5;
            var submitter = Thread.ofPlatform().name("chaos-submit").start(() -> submit(todo));
            var poller = Thread.ofPlatform().name("chaos-health").start(this::pollHealth);

            var faults = faults();
            for (int f = 0; f < faults.size(); f++) {
                var due = (int) ((f + 1) * (long) options.jobs() / (faults.size() + 1));
                sendable = (int) ((f + 2) * (long) options.jobs() / (faults.size() + 1));
                while (accepted.size() < due) {
                    Thread.sleep(100);
                }
                faults.get(f).run();
            }
            sendable = options.jobs();
            submitter.join();
            awaitAllFinished(Duration.ofMinutes(10));
            trafficOn = false;
            poller.join();
            return report(started);
        }
    }

    private interface Fault {
        void run() throws Exception;
    }

    private List<Fault> faults() {
        var faults = new ArrayList<Fault>();
        var kills = new ArrayList<Fault>();
        for (int k = 0; k < options.kills(); k++) {
            var slot = k % SLOTS == 1 ? 2 : k % SLOTS == 2 ? 1 : 0; // a, then the skewed one, then b
            var first = k == 0;
            kills.add(() -> kill(first ? holderOfAContainerJob().orElse(slot) : slot));
        }
        faults.add(kills.isEmpty() ? () -> {} : kills.removeFirst());
        faults.add(() -> freeze(busiest()));
        faults.add(this::restartDatabase);
        faults.add(this::restartDocker);
        // Further kills go between the others.
        for (int k = 0; k < kills.size(); k++) {
            faults.add(Math.min(faults.size(), 2 + 2 * k), kills.get(k));
        }
        return faults;
    }

    // --- the faults ---

    private void kill(int slot) throws Exception {
        var victim = slots.get(slot);
        var held = runningOn(victim.workerId());
        var from = System.nanoTime();
        victim.kill();
        System.out.printf("SIGKILL %s with %d jobs running%n", victim.workerId(), held.size());
        var back = awaitTakenBack(victim.workerId(), held, from, Duration.ofSeconds(120));
        recoveries.add(new Recovery("SIGKILL → job taken back", back.get(0)));
        recoveries.add(new Recovery("SIGKILL → job running again or done", back.get(1)));
        slots.set(slot, start(slot));
        windows.add(new Window(slot, "killed", from - IN_FLIGHT, System.nanoTime()));
    }

    /** The instance running the most jobs, waiting a little for one that runs any, so the freeze meets work. */
    private int busiest() throws Exception {
        var deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (true) {
            int best = 1;
            int most = -1;
            for (int slot = 0; slot < SLOTS; slot++) {
                var running = runningOn(slots.get(slot).workerId()).size();
                if (running > most) {
                    best = slot;
                    most = running;
                }
            }
            if (most > 0 || System.nanoTime() > deadline) {
                return best;
            }
            Thread.sleep(200);
        }
    }

    private void freeze(int slot) throws Exception {
        var victim = slots.get(slot);
        var held = runningOn(victim.workerId());
        var from = System.nanoTime();
        victim.signal("STOP");
        System.out.printf("SIGSTOP %s with %d jobs running%n", victim.workerId(), held.size());
        var back = awaitTakenBack(
                victim.workerId(),
                held,
                from,
                options.staleAfter().multipliedBy(3).plusSeconds(30));
        // Frozen a little past the last take-back, then woken: it must find its jobs gone and write nothing for them.
        Thread.sleep(2000);
        victim.signal("CONT");
        recoveries.add(new Recovery(
                "SIGSTOP → job taken back (stale-after " + options.staleAfter().toSeconds() + " s)", back.get(0)));
        awaitHealthy(slot, Duration.ofSeconds(60));
        windows.add(new Window(slot, "frozen", from - IN_FLIGHT, System.nanoTime()));
    }

    private void restartDatabase() throws Exception {
        var live = new ArrayList<Long>();
        for (int slot = 0; slot < SLOTS; slot++) {
            live.addAll(runningOn(slots.get(slot).workerId()));
        }
        var client = DockerClientFactory.instance().client();
        var from = System.nanoTime();
        var window = new Window(-1, "database", from - IN_FLIGHT, Long.MAX_VALUE);
        windows.add(window);
        client.stopContainerCmd(postgres.getContainerId()).withTimeout(5).exec();
        System.out.printf(
                "PostgreSQL stopped with %d jobs running; down for %d s%n",
                live.size(), options.databaseDown().toSeconds());
        Thread.sleep(options.databaseDown().toMillis());
        client.startContainerCmd(postgres.getContainerId()).exec();
        awaitDatabase();
        var back = System.nanoTime();
        // Recovery: from PostgreSQL answering again to each instance's first accepted job.
        var seconds = new ArrayList<Double>();
        for (int slot = 0; slot < SLOTS; slot++) {
            final int s = slot;
            var first = awaitFirst(
                    () -> sent.stream()
                            .filter(r -> r.slot() == s
                                    && r.at() >= back
                                    && r.ok()
                                    && (r.what().equals("POST /jobs") || accepted.size() == options.jobs()))
                            .mapToLong(Sent::at)
                            .min(),
                    Duration.ofSeconds(120));
            seconds.add((first - back) / 1e9);
        }
        windows.remove(window);
        windows.add(new Window(-1, "database", from - IN_FLIGHT, back + (long) (Collections.max(seconds) * 1e9)));
        recoveries.add(new Recovery("PostgreSQL back → instance accepts jobs again", seconds));
        // Every job that ran through the outage on a live instance must still be that instance's, or done by it.
        takenFromLive += sql.sql(
                        "SELECT count(*) FROM job_events WHERE type = 'recovered' AND job_id IN (:ids) AND at > now() - :s * interval '1 second'")
                .param("ids", live.isEmpty() ? List.of(-1L) : live)
                .param("s", (System.nanoTime() - from) / 1e9 + 5)
                .query(Long.class)
                .single();
    }

    private void restartDocker() throws Exception {
        var from = System.nanoTime();
        docker.stop();
        var client = DockerClientFactory.instance().client();
        var killed = 0;
        for (int slot = 0; slot < SLOTS; slot++) {
            for (var container : client.listContainersCmd()
                    .withLabelFilter(
                            Map.of("bisectbot.worker-id", slots.get(slot).workerId()))
                    .exec()) {
                try {
                    client.killContainerCmd(container.getId()).exec();
                    killed++;
                } catch (RuntimeException e) {
                    // Ended by itself meanwhile.
                }
            }
        }
        System.out.printf(
                "Docker engine away for %d s; %d job containers killed%n",
                options.dockerDown().toSeconds(), killed);
        Thread.sleep(options.dockerDown().toMillis());
        dockerBackAt.clear();
        var back = System.nanoTime();
        dockerSince = back;
        docker.start();
        var seconds = new ArrayList<Double>();
        for (int slot = 0; slot < SLOTS; slot++) {
            final int s = slot;
            var first = awaitFirst(
                    () -> java.util.Optional.ofNullable(dockerBackAt.get(s)).stream()
                            .mapToLong(Long::longValue)
                            .min(),
                    Duration.ofSeconds(120));
            seconds.add(Math.max(0, first - back) / 1e9);
        }
        recoveries.add(new Recovery("Docker back → instance reports it available", seconds));
        System.out.printf("Docker fault over after %.1f s%n", (System.nanoTime() - from) / 1e9);
    }

    // --- load ---

    private List<Spec> specs() {
        var random = new Random(15);
        var image = System.getenv().getOrDefault("LOCALCI_RUNNER_IMAGE", "debian:bookworm");
        var specs = new ArrayList<Spec>();
        for (int i = 0; i < options.jobs(); i++) {
            var r = random.nextDouble();
            var key = "chaos-" + run + "-" + i;
            if (r < options.containerShare()) {
                specs.add(new Spec(i, "bisect", """
                        {"kind":"bisect","dedup_key":"%s","max_attempts":25,"payload":{"repo":"%s","good":"v0","bad":"HEAD",\
                        "image":"%s","timeout_seconds":120,"command":["sh","-c","test \\"$(cat state)\\" = good"]}}""".formatted(key, repo, image)));
            } else if (r < options.containerShare() + options.effectShare()) {
                specs.add(new Spec(i, "fenced-effect", """
                        {"kind":"fenced-effect","dedup_key":"%s","max_attempts":25,"payload":{"millis":%d}}""".formatted(key, random.nextInt(300))));
            } else {
                specs.add(new Spec(i, "sleep", """
                        {"kind":"sleep","dedup_key":"%s","max_attempts":25,"payload":{"millis":%d}}""".formatted(key, 20 + random.nextInt(600))));
            }
        }
        return specs;
    }

    /** Sends the jobs at a steady rate, round robin; a job whose request failed goes back to the front of the line. */
    private void submit(ConcurrentLinkedDeque<Spec> todo) {
        var period = (long) (1e9 / options.rate());
        var next = System.nanoTime();
        var turn = 0;
        while (accepted.size() < options.jobs()) {
            var spec = accepted.size() < sendable ? todo.pollFirst() : null;
            if (spec != null) {
                var slot = turn++ % SLOTS;
                Thread.ofVirtual().start(() -> {
                    var at = System.nanoTime();
                    var reply = slots.get(slot).postJob(spec.json(), Duration.ofSeconds(10));
                    var record = new Sent(
                            slot, at, "POST /jobs", reply.statusCode(), reply.statusCode() < 0 ? reply.body() : null);
                    sent.add(record);
                    if (record.ok()) {
                        accepted.put(spec.index(), ServiceProcess.idOf(reply.body()));
                    } else {
                        todo.addFirst(spec);
                    }
                });
            }
            next += period;
            var wait = next - System.nanoTime();
            if (wait > 0) {
                sleepNanos(wait);
            }
        }
    }

    /** {@code GET /health} to each instance every 250 ms; notes when each says Docker is available again. */
    private void pollHealth() {
        while (trafficOn) {
            for (int slot = 0; slot < SLOTS; slot++) {
                final int s = slot;
                Thread.ofVirtual().start(() -> {
                    var at = System.nanoTime();
                    var instance = slots.get(s);
                    var reply = instance.get("/health");
                    sent.add(new Sent(
                            s, at, "GET /health", reply.statusCode(), reply.statusCode() == 200 ? null : reply.body()));
                    if (at >= dockerSince
                            && reply.statusCode() == 200
                            && reply.body().contains("\"docker_available\":true")) {
                        dockerBackAt.putIfAbsent(s, at);
                    }
                    if (s == 2 && reply.statusCode() == 200) {
                        var m = java.util.regex.Pattern.compile("\"clock_offset_ms\":(-?\\d+)")
                                .matcher(reply.body());
                        if (m.find()) {
                            clockOffset = Long.parseLong(m.group(1));
                        }
                    }
                });
            }
            sleepNanos(250_000_000L);
        }
    }

    // --- checks ---

    private void awaitAllFinished(Duration within) throws InterruptedException {
        var deadline = System.nanoTime() + within.toNanos();
        while (System.nanoTime() < deadline) {
            try {
                var open = sql.sql(
                                "SELECT count(*) FROM jobs WHERE dedup_key LIKE :p AND status IN ('PENDING', 'RUNNING')")
                        .param("p", "chaos-" + run + "-%")
                        .query(Long.class)
                        .single();
                if (open == 0) {
                    return;
                }
            } catch (RuntimeException e) {
                // Asked again.
            }
            Thread.sleep(500);
        }
    }

    private Report report(long started) {
        var prefix = "chaos-" + run + "-%";
        var byKindAndStatus = new LinkedHashMap<String, Long>();
        sql.sql("SELECT kind || ' ' || status, count(*) FROM jobs WHERE dedup_key LIKE :p GROUP BY 1 ORDER BY 1")
                .param("p", prefix)
                .query((rs, n) -> byKindAndStatus.put(rs.getString(1), rs.getLong(2)))
                .list();
        var stored = sql.sql("SELECT count(DISTINCT dedup_key) FROM jobs WHERE dedup_key LIKE :p")
                .param("p", prefix)
                .query(Long.class)
                .single();
        var acceptedIds = new ArrayList<>(accepted.values());
        var present = sql.sql("SELECT count(*) FROM jobs WHERE id IN (:ids)")
                .param("ids", acceptedIds)
                .query(Long.class)
                .single();
        var lost = Math.max(options.jobs() - stored, acceptedIds.size() - present);
        var unfinished =
                count("SELECT count(*) FROM jobs WHERE dedup_key LIKE :p AND status IN ('PENDING', 'RUNNING')", prefix);
        var failedJobs = count(
                "SELECT count(*) FROM jobs WHERE dedup_key LIKE :p AND status IN ('FAILED', 'CANCELLED')", prefix);
        var doubledEffects = count("""
                SELECT count(*) FROM (SELECT e.job_id FROM job_events e JOIN jobs j ON j.id = e.job_id
                 WHERE j.dedup_key LIKE :p AND e.type = 'effect' GROUP BY e.job_id HAVING count(*) > 1) twice""", prefix);
        var missingEffects = count("""
                SELECT count(*) FROM jobs j WHERE j.dedup_key LIKE :p AND j.kind = 'fenced-effect' AND j.status = 'SUCCEEDED'
                   AND NOT EXISTS (SELECT 1 FROM job_events e WHERE e.job_id = j.id AND e.type = 'effect')""", prefix);
        var doubledCompletions = count("""
                SELECT count(*) FROM (SELECT e.job_id FROM job_events e JOIN jobs j ON j.id = e.job_id
                 WHERE j.dedup_key LIKE :p AND e.type = 'succeeded' GROUP BY e.job_id HAVING count(*) > 1) twice""", prefix);
        var discarded = count("""
                SELECT count(*) FROM job_events e JOIN jobs j ON j.id = e.job_id
                 WHERE j.dedup_key LIKE :p AND e.type = 'result_discarded'""", prefix);
        return new Report(
                options.jobs(),
                accepted.size(),
                lost,
                unfinished,
                failedJobs,
                doubledEffects,
                missingEffects,
                doubledCompletions,
                discarded,
                takenFromLive,
                byKindAndStatus,
                List.copyOf(recoveries),
                requests(),
                clockOffset,
                (System.nanoTime() - started) / 1e9,
                logs);
    }

    private long count(String query, String prefix) {
        return sql.sql(query).param("p", prefix).query(Long.class).single();
    }

    private Requests requests() {
        long total = 0,
                faulted = 0,
                faultedFailed = 0,
                outage = 0,
                outageRefused = 0,
                outageFailed = 0,
                other = 0,
                failed = 0;
        var failures = new ArrayList<String>();
        for (var request : sent) {
            total++;
            var window = windows.stream().filter(w -> w.covers(request)).findFirst();
            if (window.isPresent() && !window.get().kind().equals("database")) {
                faulted++;
                faultedFailed += request.ok() ? 0 : 1;
            } else if (window.isPresent()) {
                outage++;
                outageRefused += request.status() == 503 ? 1 : 0;
                outageFailed += request.ok() || request.status() == 503 ? 0 : 1;
            } else {
                other++;
                if (!request.ok()) {
                    failed++;
                    failures.add("%s to %s: %s"
                            .formatted(
                                    request.what(),
                                    NAMES[request.slot()],
                                    request.status() < 0 ? request.error() : "status " + request.status()));
                }
            }
        }
        return new Requests(
                total, faulted, faultedFailed, outage, outageRefused, outageFailed, other, failed, failures);
    }

    // --- parts ---

    private ServiceProcess start(int slot) throws Exception {
        var name = "chaos-" + NAMES[slot] + "-" + generation[slot]++;
        var cache = logs.resolve("git-" + name);
        Files.createDirectories(cache);
        var settings = new HashMap<>(Map.of(
                "MAX_CONCURRENT_JOBS", "8",
                "RETRY_BACKOFF_MAX", "10s",
                "JOB_STALE_AFTER", options.staleAfter().toSeconds() + "s",
                "BISECT_ENABLED", "true",
                "ALLOW_LOCAL_REPOS", "true",
                "GIT_CACHE_DIR", cache.toString(),
                "DOCKER_HOST", docker.dockerHost()));
        settings.putAll(options.settings());
        // The third instance's wall clock runs ahead; its monotonic clock (timeouts, sleeps) is left alone. Without
        // FAKETIME_FORCE_MONOTONIC_FIX=0, libfaketime 0.9.10 turns the JVM's timed waits on the monotonic clock into
        // spins: an idle JVM burns two thirds of a core, which starves the other instances on a small machine.
        var launcher = slot == 2 && options.skew() != null
                ? List.of(
                        "env",
                        "FAKETIME_DONT_FAKE_MONOTONIC=1",
                        "FAKETIME_FORCE_MONOTONIC_FIX=0",
                        "faketime",
                        "-f",
                        options.skew())
                : List.<String>of();
        return ServiceProcess.start(name, ports[slot], database, settings, launcher, logs);
    }

    private void awaitHealthy(int slot, Duration within) throws InterruptedException {
        var deadline = System.nanoTime() + within.toNanos();
        while (System.nanoTime() < deadline && slots.get(slot).get("/health").statusCode() != 200) {
            Thread.sleep(200);
        }
    }

    private List<Long> runningOn(String workerId) {
        return sql.sql("SELECT id FROM jobs WHERE status = 'RUNNING' AND worker_id = :w")
                .param("w", workerId)
                .query(Long.class)
                .list();
    }

    private java.util.Optional<Integer> holderOfAContainerJob() {
        var holder = sql.sql("SELECT worker_id FROM jobs WHERE status = 'RUNNING' AND kind = 'bisect' LIMIT 1")
                .query(String.class)
                .optional();
        for (int slot = 0; slot < SLOTS; slot++) {
            if (holder.isPresent() && holder.get().equals(slots.get(slot).workerId())) {
                return java.util.Optional.of(slot);
            }
        }
        return java.util.Optional.empty();
    }

    /**
     * Polls until each of {@code held} is no longer RUNNING on {@code workerId}; returns per job the seconds since
     * {@code from} until it was taken back, and until it ran again elsewhere (or was finished).
     */
    private List<List<Double>> awaitTakenBack(String workerId, List<Long> held, long from, Duration within)
            throws InterruptedException {
        var takenBack = new HashMap<Long, Double>();
        var again = new HashMap<Long, Double>();
        var deadline = System.nanoTime() + within.toNanos();
        while ((takenBack.size() < held.size() || again.size() < held.size())
                && System.nanoTime() < deadline
                && !held.isEmpty()) {
            try {
                var rows = sql.sql("SELECT id, status, worker_id FROM jobs WHERE id IN (:ids)")
                        .param("ids", held)
                        .query((rs, n) -> new Object[] {rs.getLong(1), rs.getString(2), rs.getString(3)})
                        .list();
                var now = (System.nanoTime() - from) / 1e9;
                for (var row : rows) {
                    var id = (Long) row[0];
                    var mine = "RUNNING".equals(row[1]) && workerId.equals(row[2]);
                    if (!mine) {
                        takenBack.putIfAbsent(id, now);
                    }
                    if (!mine && !"PENDING".equals(row[1])) {
                        again.putIfAbsent(id, now);
                    }
                }
            } catch (RuntimeException e) {
                // Asked again.
            }
            Thread.sleep(20);
        }
        return List.of(new ArrayList<>(takenBack.values()), new ArrayList<>(again.values()));
    }

    private static long awaitFirst(Supplier<java.util.OptionalLong> first, Duration within)
            throws InterruptedException {
        var deadline = System.nanoTime() + within.toNanos();
        while (System.nanoTime() < deadline) {
            var at = first.get();
            if (at.isPresent()) {
                return at.getAsLong();
            }
            Thread.sleep(50);
        }
        return System.nanoTime();
    }

    private void startDatabase() throws IOException {
        var port = freePort();
        var image = System.getenv().getOrDefault("LOCALCI_POSTGRES_IMAGE", "postgres:16");
        // A fixed host port, so that the instances find it again after it was stopped and started.
        postgres = new PostgreSQLContainer(DockerImageName.parse(image).asCompatibleSubstituteFor("postgres"))
                .withCommand("postgres", "-c", "max_connections=300", "-c", "fsync=off")
                .withCreateContainerCmdModifier(cmd -> cmd.getHostConfig()
                        .withPortBindings(new PortBinding(Ports.Binding.bindPort(port), new ExposedPort(5432))));
        postgres.start();
        database = new ServiceProcess.Database(postgres.getJdbcUrl(), postgres.getUsername(), postgres.getPassword());
    }

    private com.zaxxer.hikari.HikariDataSource poolWithShortTimeouts() {
        var config = new com.zaxxer.hikari.HikariConfig();
        config.setJdbcUrl(database.url());
        config.setUsername(database.user());
        config.setPassword(database.password());
        config.setMaximumPoolSize(3);
        config.setConnectionTimeout(2000);
        return new com.zaxxer.hikari.HikariDataSource(config);
    }

    private void awaitDatabase() throws InterruptedException {
        var deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            try {
                sql.sql("SELECT 1").query(Integer.class).single();
                return;
            } catch (RuntimeException e) {
                Thread.sleep(100);
            }
        }
        throw new IllegalStateException("PostgreSQL did not come back");
    }

    /** Four commits, the third one breaks the test: a bisect job verifies both ends and tests one or two more. */
    private static Path repository(Path dir) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        git(dir, "init", "-q");
        for (int i = 0; i < 4; i++) {
            Files.writeString(dir.resolve("state"), i < 2 ? "good\n" : "bad\n");
            Files.writeString(dir.resolve("n"), i + "\n");
            git(dir, "add", "state", "n");
            git(dir, "-c", "user.name=Chaos", "-c", "user.email=chaos@example.com", "commit", "-qm", "change " + i);
            if (i == 0) {
                git(dir, "tag", "v0");
            }
        }
        return dir;
    }

    private static void git(Path dir, String... args) throws IOException, InterruptedException {
        var command = new ArrayList<String>(List.of("git"));
        command.addAll(List.of(args));
        var process = new ProcessBuilder(command)
                .directory(dir.toFile())
                .redirectErrorStream(true)
                .start();
        var output = new String(process.getInputStream().readAllBytes());
        if (process.waitFor() != 0) {
            throw new IllegalStateException("git " + String.join(" ", args) + ": " + output);
        }
    }

    private static int freePort() throws IOException {
        try (var socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    private static void sleepNanos(long nanos) {
        try {
            Thread.sleep(Duration.ofNanos(nanos));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void close() {
        trafficOn = false;
        for (int slot = 0; slot < SLOTS; slot++) {
            var instance = slots.get(slot);
            if (instance != null) {
                try {
                    instance.signal("CONT");
                    instance.kill();
                } catch (Exception ignored) {
                    // Gone already.
                }
            }
        }
        try {
            if (docker != null) {
                docker.close();
            }
        } catch (IOException ignored) {
            // Nothing listens any more.
        }
        // Containers of the instances' jobs that the instances did not live to remove.
        try {
            var client = DockerClientFactory.instance().client();
            for (var container : client.listContainersCmd()
                    .withShowAll(true)
                    .withLabelFilter(Map.of("bisectbot.managed", "true"))
                    .exec()) {
                var worker = container.getLabels().getOrDefault("bisectbot.worker-id", "");
                if (worker.startsWith("chaos-")) {
                    client.removeContainerCmd(container.getId()).withForce(true).exec();
                }
            }
        } catch (RuntimeException ignored) {
            // Best effort.
        }
        if (postgres != null) {
            postgres.stop();
        }
    }
}
