package io.bisectbot.bench;

import ch.qos.logback.classic.Level;
import com.github.kagkarlsson.scheduler.Scheduler;
import com.github.kagkarlsson.scheduler.SchedulerName;
import com.github.kagkarlsson.scheduler.task.TaskInstance;
import com.github.kagkarlsson.scheduler.task.helper.OneTimeTask;
import com.github.kagkarlsson.scheduler.task.helper.Tasks;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.bisectbot.queue.BuiltinHandlers;
import io.bisectbot.queue.JobContext;
import io.bisectbot.queue.JobHandler;
import io.bisectbot.queue.JobOutcome;
import io.bisectbot.queue.NewJob;
import io.bisectbot.queue.QueueNode;
import io.bisectbot.queue.QueueProperties;
import io.bisectbot.queue.QueueTestSupport;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.flywaydb.core.Flyway;
import org.jobrunr.jobs.mappers.JobMapper;
import org.jobrunr.scheduling.JobScheduler;
import org.jobrunr.server.BackgroundJobServer;
import org.jobrunr.server.BackgroundJobServerConfiguration;
import org.jobrunr.server.JobActivator;
import org.jobrunr.storage.StorageProviderUtils;
import org.jobrunr.storage.sql.postgres.PostgresStorageProvider;
import org.jobrunr.utils.mapper.jackson3.Jackson3JsonMapper;
import org.slf4j.LoggerFactory;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.jdbc.datasource.SingleConnectionDataSource;
import org.testcontainers.postgresql.PostgreSQLContainer;
import org.testcontainers.utility.DockerImageName;
import tools.jackson.databind.json.JsonMapper;

/**
 * Queue benchmark (a program, not a test): the same no-op workload through bisectbot's queue, db-scheduler and
 * JobRunr on one PostgreSQL container, each run on a fresh database; then the time a crashed instance's job takes
 * to be re-claimed with the default settings, and the plan of the claim query on a large table.
 * See docs/BENCHMARKS.md for the command and how to read the output.
 *
 * <p>Options (all optional): {@code --jobs 10000,100000 --instances 1,2,4 --systems bisectbot,db-scheduler,jobrunr
 * --threads 32 --pool 16 --chunk 10000 --timeout 300 --crash true --plan true --plan-rows 1000000
 * --plan-pending 5000 --plan-tenants 0 --fsync off --repeat 1 --drain true --bulk-rows 1000000 --idle 200}: with
 * {@code --drain true} every configuration runs a second time with all jobs enqueued before the instances start;
 * {@code --bulk-rows} sizes the table of the bulk-enqueue measurement (0: skip it); {@code --idle} is the number of
 * one-at-a-time jobs of the idle-latency measurement (0: skip it). For profiling, {@code --pg-setting name=value,...} adds server
 * settings (e.g. auto_explain) and {@code --pg-log file} saves the server log at the end. With {@code --repeat n} each configuration runs n times (systems
 * interleaved) and the run with the median throughput goes into the table.
 */
public final class QueueBenchmark {

    // ---------------------------------------------------------------------------------------------------------
    // Options
    // ---------------------------------------------------------------------------------------------------------

    record Options(
            List<Integer> jobs,
            List<Integer> instances,
            List<String> systems,
            int threads,
            int pool,
            int chunk,
            Duration timeout,
            boolean crash,
            boolean plan,
            int planRows,
            int planPending,
            int planTenants,
            boolean fsync,
            int repeat,
            List<String> pgSettings,
            String pgLog,
            boolean drain,
            int bulkRows,
            int idleSamples) {

        static Options parse(String[] args) {
            var values = new LinkedHashMap<String, String>();
            // exec:java passes -Dexec.args as one string when quoted oddly; split on whitespace either way.
            var tokens = Arrays.stream(args)
                    .flatMap(a -> Arrays.stream(a.trim().split("\\s+")))
                    .filter(s -> !s.isEmpty())
                    .toList();
            for (int i = 0; i < tokens.size(); i++) {
                var key = tokens.get(i);
                if (!key.startsWith("--")) {
                    throw new IllegalArgumentException("expected --option, got " + key);
                }
                var eq = key.indexOf('=');
                if (eq > 0) {
                    values.put(key.substring(2, eq), key.substring(eq + 1));
                } else {
                    if (i + 1 >= tokens.size()) {
                        throw new IllegalArgumentException("missing value for " + key);
                    }
                    values.put(key.substring(2), tokens.get(++i));
                }
            }
            var known = List.of(
                    "jobs",
                    "instances",
                    "systems",
                    "threads",
                    "pool",
                    "chunk",
                    "timeout",
                    "crash",
                    "plan",
                    "plan-rows",
                    "plan-pending",
                    "plan-tenants",
                    "fsync",
                    "repeat",
                    "pg-setting",
                    "pg-log",
                    "drain",
                    "bulk-rows",
                    "idle");
            for (var key : values.keySet()) {
                if (!known.contains(key)) {
                    throw new IllegalArgumentException("unknown option --" + key + "; known: " + known);
                }
            }
            return new Options(
                    ints(values.getOrDefault("jobs", "10000,100000")),
                    ints(values.getOrDefault("instances", "1,2,4")),
                    List.of(values.getOrDefault("systems", "bisectbot,db-scheduler,jobrunr")
                            .split(",")),
                    Integer.parseInt(values.getOrDefault("threads", "32")),
                    Integer.parseInt(values.getOrDefault("pool", "16")),
                    Integer.parseInt(values.getOrDefault("chunk", "10000")),
                    Duration.ofSeconds(Long.parseLong(values.getOrDefault("timeout", "300"))),
                    Boolean.parseBoolean(values.getOrDefault("crash", "true")),
                    Boolean.parseBoolean(values.getOrDefault("plan", "true")),
                    Integer.parseInt(values.getOrDefault("plan-rows", "1000000")),
                    Integer.parseInt(values.getOrDefault("plan-pending", "5000")),
                    Integer.parseInt(values.getOrDefault("plan-tenants", "0")),
                    "on".equalsIgnoreCase(values.getOrDefault("fsync", "off")),
                    Integer.parseInt(values.getOrDefault("repeat", "1")),
                    values.containsKey("pg-setting")
                            ? List.of(values.get("pg-setting").split(","))
                            : List.of(),
                    values.get("pg-log"),
                    Boolean.parseBoolean(values.getOrDefault("drain", "true")),
                    Integer.parseInt(values.getOrDefault("bulk-rows", "1000000")),
                    Integer.parseInt(values.getOrDefault("idle", "200")));
        }

        private static List<Integer> ints(String csv) {
            return Arrays.stream(csv.split(","))
                    .map(String::trim)
                    .filter(s -> !s.isEmpty())
                    .map(Integer::parseInt)
                    .toList();
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // What every system's handler records: enqueue-to-start latency, measured on this JVM's clock
    // ---------------------------------------------------------------------------------------------------------

    static long micros(Instant instant) {
        return instant.getEpochSecond() * 1_000_000L + instant.getNano() / 1_000;
    }

    static long nowMicros() {
        return micros(Clock.systemUTC().instant());
    }

    static final class Recorder {
        final int jobs;
        final long[] latencyMicros;
        final AtomicInteger executions = new AtomicInteger();
        final CountDownLatch allStarted;

        Recorder(int jobs) {
            this.jobs = jobs;
            this.latencyMicros = new long[jobs];
            this.allStarted = new CountDownLatch(jobs);
        }

        /** Called first thing in each handler with the time the job was enqueued (same JVM clock). */
        void started(long enqueuedMicros) {
            var startedMicros = nowMicros();
            var i = executions.getAndIncrement();
            if (i < jobs) {
                latencyMicros[i] = startedMicros - enqueuedMicros;
                allStarted.countDown();
            }
        }

        double percentileMillis(double p) {
            var n = Math.min(executions.get(), jobs);
            if (n == 0) {
                return Double.NaN;
            }
            var sorted = Arrays.copyOf(latencyMicros, n);
            Arrays.sort(sorted);
            return sorted[Math.max(0, (int) Math.ceil(p * n) - 1)] / 1000.0;
        }
    }

    /** JobRunr runs jobs by calling a static method it found in the enqueue lambda; it reports here. */
    static volatile Recorder current;

    /** The JobRunr job: a public static method, as JobRunr requires. */
    public static final class JobRunrNoop {
        private JobRunrNoop() {}

        public static void run(Long enqueuedMicros) {
            current.started(enqueuedMicros);
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // The container and its databases
    // ---------------------------------------------------------------------------------------------------------

    private final Options options;
    private final PostgreSQLContainer container;
    private final AtomicInteger databases = new AtomicInteger();

    QueueBenchmark(Options options, PostgreSQLContainer container) {
        this.options = options;
        this.container = container;
    }

    private String createDatabase() {
        var name = "bench_" + databases.incrementAndGet();
        adminExecute("CREATE DATABASE " + name);
        return container.getJdbcUrl().replaceFirst("/[^/?]+(\\?|$)", "/" + name + "$1");
    }

    private void dropDatabase(String jdbcUrl) {
        var name = jdbcUrl.replaceFirst("^.*/([^/?]+)(\\?.*)?$", "$1");
        adminExecute("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
    }

    private void adminExecute(String sql) {
        try (var conn = DriverManager.getConnection(
                        container.getJdbcUrl(), container.getUsername(), container.getPassword());
                var statement = conn.createStatement()) {
            statement.execute(sql);
        } catch (SQLException e) {
            throw new IllegalStateException(sql + ": " + e.getMessage(), e);
        }
    }

    private HikariDataSource pool(String jdbcUrl, int size, String name) {
        var config = new HikariConfig();
        config.setJdbcUrl(jdbcUrl);
        config.setUsername(container.getUsername());
        config.setPassword(container.getPassword());
        config.setMaximumPoolSize(size);
        config.setPoolName(name);
        return new HikariDataSource(config);
    }

    // ---------------------------------------------------------------------------------------------------------
    // One system with its instances, started on a fresh database
    // ---------------------------------------------------------------------------------------------------------

    interface Cluster extends AutoCloseable {
        /** Starts the instances (after the enqueue in a drain-only run). */
        void start();

        /** Enqueues {@code count} jobs in bulk (one call to the system's bulk API). */
        void enqueue(int count);

        /** True when every job's completion is stored (nothing pending or running is left). */
        boolean allCompleted();

        /** How many jobs ended as succeeded, read from the system's tables (checked after the run). */
        long succeeded();

        /** Where the time went, when the system can tell (bisectbot: claim and completion statements). */
        default String profile() {
            return "";
        }

        /** p50 and p99 of claim-to-completion in ms, when the system's tables record both (bisectbot); else null. */
        default double[] claimToCompletionMillis() {
            return null;
        }

        /** The system's table, for its update statistics (pg_stat_user_tables). */
        String table();

        @Override
        void close();
    }

    private Cluster cluster(String system, String jdbcUrl, int instances, Recorder recorder) {
        return switch (system) {
            case "bisectbot" -> new Bisectbot(jdbcUrl, instances, recorder);
            case "db-scheduler" -> new DbScheduler(jdbcUrl, instances, recorder);
            case "jobrunr" -> new JobRunr(jdbcUrl, instances);
            default -> throw new IllegalArgumentException("unknown system " + system);
        };
    }

    /** bisectbot: one QueueNode per instance, each with its own pool and worker id. */
    final class Bisectbot implements Cluster {
        private final HikariDataSource admin;
        private final List<HikariDataSource> pools = new ArrayList<>();
        private final List<QueueNode> nodes = new ArrayList<>();
        private final List<SimpleMeterRegistry> registries = new ArrayList<>();
        private final JdbcClient sql;

        Bisectbot(String jdbcUrl, int instances, Recorder recorder) {
            admin = pool(jdbcUrl, 2, "bisectbot-admin");
            Flyway.configure()
                    .dataSource(admin)
                    .locations("filesystem:db/migration")
                    .load()
                    .migrate();
            sql = JdbcClient.create(admin);
            var noop = BuiltinHandlers.noop();
            JobHandler handler = new JobHandler() {
                @Override
                public String kind() {
                    return noop.kind();
                }

                @Override
                public JobOutcome handle(JobContext context) throws Exception {
                    recorder.started(micros(context.job().createdAt()));
                    return noop.handle(context);
                }
            };
            var json = JsonMapper.builder().build();
            for (int i = 0; i < instances; i++) {
                var pool = pool(jdbcUrl, options.pool(), "bisectbot-" + i);
                pools.add(pool);
                var properties =
                        QueueProperties.defaults().withWorkerId("bench-" + i).withMaxConcurrentJobs(options.threads());
                var registry = new SimpleMeterRegistry();
                registries.add(registry);
                nodes.add(QueueNode.create(
                        pool, List.of(handler), properties, Clock.systemUTC(), registry, json, "bench"));
            }
        }

        @Override
        public void start() {
            nodes.forEach(QueueNode::start);
        }

        @Override
        public String table() {
            return "jobs";
        }

        @Override
        public double[] claimToCompletionMillis() {
            var row = sql.sql("""
                    SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY finished_at - claimed_at) AS p50,
                           percentile_cont(0.99) WITHIN GROUP (ORDER BY finished_at - claimed_at) AS p99
                      FROM (SELECT extract(epoch FROM finished_at) * 1000 AS finished_at,
                                   extract(epoch FROM claimed_at) * 1000 AS claimed_at
                              FROM jobs WHERE status = 'SUCCEEDED') s""").query().singleRow();
            return new double[] {((Number) row.get("p50")).doubleValue(), ((Number) row.get("p99")).doubleValue()};
        }

        @Override
        public void enqueue(int count) {
            var jobs = new ArrayList<NewJob>(count);
            for (int i = 0; i < count; i++) {
                jobs.add(NewJob.of("noop", null));
            }
            nodes.getFirst().queue().enqueueAll(jobs);
        }

        @Override
        public boolean allCompleted() {
            return !sql.sql("SELECT EXISTS (SELECT 1 FROM jobs WHERE status IN ('PENDING', 'RUNNING'))")
                    .query(Boolean.class)
                    .single();
        }

        @Override
        public long succeeded() {
            return sql.sql("SELECT count(*) FROM jobs WHERE status = 'SUCCEEDED'")
                    .query(Long.class)
                    .single();
        }

        /** Claims and completion batches, read back from job_events (one statement writes one timestamp). */
        @Override
        public String profile() {
            var row = sql.sql("""
                    SELECT count(DISTINCT (worker_id, at)) FILTER (WHERE type = 'claimed')   AS claims,
                           count(*)                        FILTER (WHERE type = 'claimed')   AS claimed,
                           count(DISTINCT (worker_id, at)) FILTER (WHERE type = 'succeeded') AS writes,
                           count(*)                        FILTER (WHERE type = 'succeeded') AS written
                      FROM job_events""").query().singleRow();
            long claims = ((Number) row.get("claims")).longValue();
            long writes = ((Number) row.get("writes")).longValue();
            var claimTimers = registries.stream()
                    .map(r -> r.find("bisectbot.job.claim.duration").timer())
                    .filter(java.util.Objects::nonNull)
                    .toList();
            var claimCount = claimTimers.stream().mapToLong(t -> t.count()).sum();
            var claimMillis = claimTimers.stream()
                    .mapToDouble(t -> t.totalTime(TimeUnit.MILLISECONDS))
                    .sum();
            return String.format(
                    Locale.ROOT,
                    "[%d claim statements (%d empty), %.1f jobs each, %.2f ms each; "
                            + "%d completion statements, %.1f jobs each]",
                    claimCount,
                    claimCount - claims,
                    ((Number) row.get("claimed")).doubleValue() / Math.max(1, claims),
                    claimMillis / Math.max(1, claimCount),
                    writes,
                    ((Number) row.get("written")).doubleValue() / Math.max(1, writes));
        }

        @Override
        public void close() {
            nodes.forEach(QueueNode::shutdown);
            pools.forEach(HikariDataSource::close);
            admin.close();
        }
    }

    /** db-scheduler: one Scheduler per instance (lock-and-fetch polling), one-time tasks, each its own pool. */
    final class DbScheduler implements Cluster {
        private final HikariDataSource admin;
        private final List<HikariDataSource> pools = new ArrayList<>();
        private final List<Scheduler> schedulers = new ArrayList<>();
        private final OneTimeTask<Long> task;
        private final JdbcClient sql;
        private final AtomicLong ids = new AtomicLong();

        DbScheduler(String jdbcUrl, int instances, Recorder recorder) {
            admin = pool(jdbcUrl, 2, "db-scheduler-admin");
            sql = JdbcClient.create(admin);
            // The table as db-scheduler documents it for PostgreSQL (its jar ships no DDL).
            sql.sql("""
                    CREATE TABLE scheduled_tasks (
                        task_name            text                     NOT NULL,
                        task_instance        text                     NOT NULL,
                        task_data            bytea,
                        execution_time       timestamp with time zone NOT NULL,
                        picked               boolean                  NOT NULL,
                        picked_by            text,
                        last_success         timestamp with time zone,
                        last_failure         timestamp with time zone,
                        consecutive_failures int,
                        last_heartbeat       timestamp with time zone,
                        version              bigint                   NOT NULL,
                        priority             smallint,
                        PRIMARY KEY (task_name, task_instance)
                    )""").update();
            sql.sql("CREATE INDEX execution_time_idx ON scheduled_tasks (execution_time)")
                    .update();
            sql.sql("CREATE INDEX last_heartbeat_idx ON scheduled_tasks (last_heartbeat)")
                    .update();
            sql.sql("CREATE INDEX priority_execution_time_idx ON scheduled_tasks (priority DESC, execution_time ASC)")
                    .update();
            task = Tasks.oneTime("noop", Long.class)
                    .execute((instance, context) -> recorder.started(instance.getData()));
            for (int i = 0; i < instances; i++) {
                var pool = pool(jdbcUrl, options.pool(), "db-scheduler-" + i);
                pools.add(pool);
                schedulers.add(Scheduler.create(pool, task)
                        .schedulerName(new SchedulerName.Fixed("bench-" + i))
                        .threads(options.threads())
                        .pollUsingLockAndFetch(0.5, 1.0)
                        .pollingInterval(Duration.ofSeconds(1))
                        .enableImmediateExecution()
                        .build());
            }
        }

        @Override
        public void start() {
            schedulers.forEach(Scheduler::start);
        }

        @Override
        public String table() {
            return "scheduled_tasks";
        }

        @Override
        public void enqueue(int count) {
            var enqueued = nowMicros();
            var instances = new ArrayList<TaskInstance<?>>(count);
            for (int i = 0; i < count; i++) {
                instances.add(task.instance(Long.toString(ids.incrementAndGet()), enqueued));
            }
            schedulers.getFirst().scheduleBatch(instances, Instant.now());
        }

        @Override
        public boolean allCompleted() {
            // A finished one-time task is deleted.
            return !sql.sql("SELECT EXISTS (SELECT 1 FROM scheduled_tasks)")
                    .query(Boolean.class)
                    .single();
        }

        @Override
        public long succeeded() {
            return allCompleted() ? ids.get() : 0;
        }

        @Override
        public void close() {
            schedulers.forEach(Scheduler::stop);
            pools.forEach(HikariDataSource::close);
            admin.close();
        }
    }

    /** JobRunr: one BackgroundJobServer per instance, each with its own storage provider and pool. */
    final class JobRunr implements Cluster {
        private final HikariDataSource admin;
        private final List<HikariDataSource> pools = new ArrayList<>();
        private final List<PostgresStorageProvider> storages = new ArrayList<>();
        private final List<BackgroundJobServer> servers = new ArrayList<>();
        private final JobScheduler scheduler;
        private final JdbcClient sql;

        JobRunr(String jdbcUrl, int instances) {
            admin = pool(jdbcUrl, 2, "jobrunr-admin");
            sql = JdbcClient.create(admin);
            var mapper = new Jackson3JsonMapper();
            var activator = new JobActivator() {
                @Override
                public <T> T activateJob(Class<T> type) {
                    return null; // static job methods only
                }
            };
            for (int i = 0; i < instances; i++) {
                var pool = pool(jdbcUrl, options.pool(), "jobrunr-" + i);
                pools.add(pool);
                // The first instance creates JobRunr's tables; the others find them.
                var storage = new PostgresStorageProvider(
                        pool,
                        i == 0
                                ? StorageProviderUtils.DatabaseOptions.CREATE
                                : StorageProviderUtils.DatabaseOptions.SKIP_CREATE);
                storage.setJobMapper(new JobMapper(mapper));
                storages.add(storage);
                var configuration = BackgroundJobServerConfiguration.usingStandardBackgroundJobServerConfiguration()
                        .andName("bench-" + i)
                        .andWorkerCount(options.threads())
                        .andPollInterval(Duration.ofSeconds(5)); // the smallest JobRunr accepts
                servers.add(new BackgroundJobServer(storage, mapper, activator, configuration));
            }
            scheduler = new JobScheduler(storages.getFirst());
        }

        @Override
        public void start() {
            servers.forEach(BackgroundJobServer::start);
            var deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (servers.stream().anyMatch(s -> !s.isRunning()) && System.nanoTime() < deadline) {
                sleep(Duration.ofMillis(20));
            }
        }

        @Override
        public String table() {
            return "jobrunr_jobs";
        }

        @Override
        public void enqueue(int count) {
            var enqueued = nowMicros();
            scheduler.enqueue(Stream.generate(() -> enqueued).limit(count), micros -> JobRunrNoop.run(micros));
        }

        @Override
        public boolean allCompleted() {
            return !sql.sql("SELECT EXISTS (SELECT 1 FROM jobrunr_jobs WHERE state <> 'SUCCEEDED')")
                    .query(Boolean.class)
                    .single();
        }

        @Override
        public long succeeded() {
            return sql.sql("SELECT count(*) FROM jobrunr_jobs WHERE state = 'SUCCEEDED'")
                    .query(Long.class)
                    .single();
        }

        @Override
        public void close() {
            servers.forEach(BackgroundJobServer::stop);
            storages.forEach(PostgresStorageProvider::close);
            pools.forEach(HikariDataSource::close);
            admin.close();
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Throughput and latency
    // ---------------------------------------------------------------------------------------------------------

    /**
     * One run. {@code drain}: the jobs were all enqueued before the instances started, and the time counts from the
     * start. CPU is per job, in ms: this JVM (instances, enqueue and the benchmark's polling) and PostgreSQL (every
     * server process, from /proc), over the timed part; WAL in bytes per job over the same part; HOT: the share of
     * the table's row updates that were heap-only (pg_stat_user_tables).
     */
    record Result(
            String system,
            int jobs,
            int instances,
            boolean drain,
            double enqueueSeconds,
            double seconds,
            long completed,
            int executions,
            double p50Millis,
            double p99Millis,
            double[] claimToCompletion,
            double jvmCpuMsPerJob,
            double pgCpuMsPerJob,
            double walBytesPerJob,
            String hot,
            String note,
            String profile) {

        double jobsPerSecond() {
            return completed / seconds;
        }
    }

    Result run(String system, int jobs, int instances, boolean drain) {
        var jdbcUrl = createDatabase();
        var recorder = new Recorder(jobs);
        current = recorder;
        String note = "";
        Result result;
        String table;
        try {
            try (var cluster = cluster(system, jdbcUrl, instances, recorder)) {
                var enqueueStarted = System.nanoTime();
                if (drain) {
                    enqueue(cluster, jobs);
                }
                var enqueueSeconds = (System.nanoTime() - enqueueStarted) / 1e9;
                var cpu = Cpu.sample(container);
                var wal = walLsn();
                var started = System.nanoTime();
                cluster.start();
                if (!drain) {
                    enqueue(cluster, jobs);
                    enqueueSeconds = (System.nanoTime() - started) / 1e9;
                }
                var deadline = started + options.timeout().toNanos();
                try {
                    recorder.allStarted.await(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                // Every handler ran; now wait for the last completion to be stored.
                var complete = false;
                while (System.nanoTime() < deadline && !(complete = cluster.allCompleted())) {
                    sleep(Duration.ofMillis(5));
                }
                var finished = System.nanoTime();
                var cpuAfter = Cpu.sample(container);
                var walBytes = walBytesSince(wal);
                sleep(Duration.ofMillis(200)); // any duplicate execution would show up now
                var succeeded = cluster.succeeded();
                if (!complete) {
                    note = "timed out after " + options.timeout().toSeconds() + " s";
                }
                if (recorder.executions.get() != jobs) {
                    note = (note.isEmpty() ? "" : note + "; ") + recorder.executions.get() + " executions for " + jobs
                            + " jobs";
                }
                result = new Result(
                        system,
                        jobs,
                        instances,
                        drain,
                        enqueueSeconds,
                        (finished - started) / 1e9,
                        complete ? jobs : succeeded,
                        recorder.executions.get(),
                        recorder.percentileMillis(0.50),
                        recorder.percentileMillis(0.99),
                        cluster.claimToCompletionMillis(),
                        (cpuAfter.jvmMillis() - cpu.jvmMillis()) / jobs,
                        (cpuAfter.postgresMillis() - cpu.postgresMillis()) / jobs,
                        walBytes / jobs,
                        "",
                        note,
                        cluster.profile());
                table = cluster.table();
            }
            // The instances' sessions have ended, so their statistics are flushed.
            sleep(Duration.ofMillis(700));
            return withHot(result, hotUpdates(jdbcUrl, table));
        } finally {
            current = null;
            dropDatabase(jdbcUrl);
        }
    }

    private static Result withHot(Result r, String hot) {
        return new Result(
                r.system(),
                r.jobs(),
                r.instances(),
                r.drain(),
                r.enqueueSeconds(),
                r.seconds(),
                r.completed(),
                r.executions(),
                r.p50Millis(),
                r.p99Millis(),
                r.claimToCompletion(),
                r.jvmCpuMsPerJob(),
                r.pgCpuMsPerJob(),
                r.walBytesPerJob(),
                hot,
                r.note(),
                r.profile());
    }

    private void enqueue(Cluster cluster, int jobs) {
        for (int done = 0; done < jobs; done += options.chunk()) {
            cluster.enqueue(Math.min(options.chunk(), jobs - done));
        }
    }

    private JdbcClient adminSql() {
        return JdbcClient.create(new org.springframework.jdbc.datasource.DriverManagerDataSource(
                container.getJdbcUrl(), container.getUsername(), container.getPassword()));
    }

    private String walLsn() {
        return adminSql()
                .sql("SELECT pg_current_wal_lsn()::text")
                .query(String.class)
                .single();
    }

    private double walBytesSince(String lsn) {
        return adminSql()
                .sql("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), CAST(:lsn AS pg_lsn))")
                .param("lsn", lsn)
                .query(Double.class)
                .single();
    }

    private String hotUpdates(String jdbcUrl, String table) {
        var sql = JdbcClient.create(new org.springframework.jdbc.datasource.DriverManagerDataSource(
                jdbcUrl, container.getUsername(), container.getPassword()));
        var row = sql.sql("SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = :table")
                .param("table", table)
                .query()
                .listOfRows();
        if (row.isEmpty()) {
            return "?";
        }
        var updates = ((Number) row.getFirst().get("n_tup_upd")).longValue();
        var hot = ((Number) row.getFirst().get("n_tup_hot_upd")).longValue();
        return updates == 0
                ? "0 upd"
                : String.format(Locale.ROOT, "%d%% of %d", Math.round(100.0 * hot / updates), updates);
    }

    /**
     * CPU time from /proc: this JVM's, and PostgreSQL's: every live process of the container's tree, each with its
     * reaped children (ended backends, autovacuum workers). Needs the container's processes in this PID namespace;
     * NaN if not.
     */
    record Cpu(double jvmMillis, double postgresMillis) {
        private static final double MS_PER_TICK = 10; // USER_HZ is 100 on Linux

        static Cpu sample(PostgreSQLContainer container) {
            return new Cpu(ticks(ProcessHandle.current().pid(), true) * MS_PER_TICK, postgres(container) * MS_PER_TICK);
        }

        private static double postgres(PostgreSQLContainer container) {
            var root = container.getContainerInfo().getState().getPidLong();
            if (root == null || readStat(root).isEmpty()) {
                return Double.NaN;
            }
            var children = new java.util.HashMap<Long, List<Long>>();
            try (var dirs = java.nio.file.Files.list(java.nio.file.Path.of("/proc"))) {
                for (var dir : dirs.toList()) {
                    var name = dir.getFileName().toString();
                    if (!name.chars().allMatch(Character::isDigit)) {
                        continue;
                    }
                    var fields = fields(readStat(Long.parseLong(name)));
                    if (fields.length > 14) {
                        children.computeIfAbsent(Long.parseLong(fields[1]), k -> new ArrayList<>())
                                .add(Long.parseLong(name));
                    }
                }
            } catch (java.io.IOException e) {
                return Double.NaN;
            }
            double total = 0;
            var todo = new java.util.ArrayDeque<Long>(List.of(root));
            while (!todo.isEmpty()) {
                var pid = todo.poll();
                var ticks = ticks(pid, true);
                total += Double.isNaN(ticks) ? 0 : ticks;
                todo.addAll(children.getOrDefault(pid, List.of()));
            }
            return total;
        }

        /** utime + stime (+ cutime + cstime of waited-for children), in clock ticks. */
        private static double ticks(long pid, boolean withChildren) {
            var fields = fields(readStat(pid));
            if (fields.length < 15) {
                return Double.NaN;
            }
            double ticks = Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
            return withChildren ? ticks + Long.parseLong(fields[13]) + Long.parseLong(fields[14]) : ticks;
        }

        /** The fields after "(comm)": [0] state, [1] ppid, ... [11] utime, [12] stime, [13] cutime, [14] cstime. */
        private static String[] fields(String stat) {
            var close = stat.lastIndexOf(')');
            return close < 0 ? new String[0] : stat.substring(close + 2).split(" ");
        }

        private static String readStat(long pid) {
            try {
                return java.nio.file.Files.readString(java.nio.file.Path.of("/proc/" + pid + "/stat"));
            } catch (java.io.IOException | RuntimeException e) {
                return "";
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Crash: a job's instance dies (kill -9 equivalent); how long until another instance runs it again
    // ---------------------------------------------------------------------------------------------------------

    record CrashResult(double toRecoveredSeconds, double toReclaimedSeconds, double sinceLastHeartbeatSeconds) {}

    CrashResult crash() throws InterruptedException {
        var jdbcUrl = createDatabase();
        var json = JsonMapper.builder().build();
        var firstStarted = new CountDownLatch(1);
        var secondStarted = new CountDownLatch(1);
        var secondStartedAt = new AtomicLong();
        JobHandler hold = new JobHandler() {
            @Override
            public String kind() {
                return "hold";
            }

            @Override
            public JobOutcome handle(JobContext context) throws Exception {
                if (context.attempt() == 1) {
                    firstStarted.countDown();
                    Thread.sleep(Duration.ofMinutes(10)); // interrupted by the crash
                } else {
                    secondStartedAt.set(System.nanoTime());
                    secondStarted.countDown();
                }
                return JobOutcome.succeeded(null);
            }
        };
        try (var admin = pool(jdbcUrl, 2, "crash-admin");
                var poolA = pool(jdbcUrl, options.pool(), "crash-a");
                var poolB = pool(jdbcUrl, options.pool(), "crash-b")) {
            Flyway.configure()
                    .dataSource(admin)
                    .locations("filesystem:db/migration")
                    .load()
                    .migrate();
            // DEFAULT settings: heartbeat 5 s, stale after 30 s, recovery every 5 s, poll 1 s.
            var a = QueueNode.create(
                    poolA,
                    List.of(hold),
                    QueueProperties.defaults().withWorkerId("crash-a"),
                    Clock.systemUTC(),
                    new SimpleMeterRegistry(),
                    json,
                    "bench");
            var b = QueueNode.create(
                    poolB,
                    List.of(hold),
                    QueueProperties.defaults().withWorkerId("crash-b"),
                    Clock.systemUTC(),
                    new SimpleMeterRegistry(),
                    json,
                    "bench");
            a.start();
            var id = a.queue().enqueueAll(List.of(NewJob.of("hold", null))).getFirst();
            await(firstStarted, Duration.ofSeconds(30), "first attempt did not start");
            b.start(); // started only now, so the first attempt is surely a's
            // Crash at a random point of a's heartbeat cycle, as a real crash would.
            sleep(Duration.ofMillis((long) (Math.random() * 5000)));
            var sql = JdbcClient.create(admin);
            var lastBeat = sql.sql("SELECT heartbeat_at FROM jobs WHERE id = :id")
                    .param("id", id)
                    .query(java.time.OffsetDateTime.class)
                    .single()
                    .toInstant();
            var crashedAt = System.nanoTime();
            var crashedAtInstant = Instant.now();
            QueueTestSupport.crash(a);
            await(secondStarted, Duration.ofSeconds(120), "job was not re-claimed within 120 s");
            var recoveredAt = sql.sql("SELECT at FROM job_events WHERE job_id = :id AND type = 'recovered'")
                    .param("id", id)
                    .query(java.time.OffsetDateTime.class)
                    .single()
                    .toInstant();
            b.shutdown();
            return new CrashResult(
                    Duration.between(crashedAtInstant, recoveredAt).toNanos() / 1e9,
                    (secondStartedAt.get() - crashedAt) / 1e9,
                    Duration.between(lastBeat, crashedAtInstant).toNanos() / 1e9);
        } finally {
            dropDatabase(jdbcUrl);
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Bulk enqueue with dedup keys into an empty and into a large table; the single-job path beside it
    // ---------------------------------------------------------------------------------------------------------

    String bulk() {
        var jdbcUrl = createDatabase();
        var out = new StringBuilder("Bulk enqueue (JobQueue.enqueueAll, chunks of " + options.chunk()
                + ", every job with a dedup key; no instance running):\n");
        try (var admin = pool(jdbcUrl, 2, "bulk-admin");
                var pool = pool(jdbcUrl, options.pool(), "bulk")) {
            Flyway.configure()
                    .dataSource(admin)
                    .locations("filesystem:db/migration")
                    .load()
                    .migrate();
            var sql = JdbcClient.create(admin);
            var node = QueueNode.create(
                    pool,
                    List.of(BuiltinHandlers.noop()),
                    QueueProperties.defaults().withWorkerId("bulk"),
                    Clock.systemUTC(),
                    new SimpleMeterRegistry(),
                    JsonMapper.builder().build(),
                    "bench");
            var queue = node.queue();
            var count = 100_000;
            var empty = timedBulk(queue, count, i -> "new-" + i);
            out.append(String.format(
                    Locale.ROOT,
                    "  into an empty table: %,d jobs in %.2f s = %,.0f jobs/s (%d created)%n",
                    count,
                    empty[0],
                    count / empty[0],
                    (long) empty[1]));
            // Fill up to bulkRows finished jobs with dedup keys, as a long-running installation would have.
            sql.sql("""
                    INSERT INTO jobs (kind, status, attempt_count, worker_id, run_at, claimed_at, started_at, finished_at,
                                      dedup_key, created_at, updated_at)
                    SELECT 'noop', 'SUCCEEDED', 1, 'old-worker', t, t, t, t, 'old-' || g, t, t
                      FROM (SELECT g, now() - (g * interval '1 second') AS t FROM generate_series(1, :rows) g) s""").param("rows", Math.max(0, options.bulkRows() - count)).update();
            sql.sql("VACUUM ANALYZE jobs").update();
            var rows = sql.sql("SELECT count(*) FROM jobs").query(Long.class).single();
            // One job in ten reuses an existing key: it must be skipped, not inserted twice.
            var full = timedBulk(queue, count, i -> i % 10 == 0 ? "old-" + (i + 1) : "more-" + i);
            var duplicates = sql.sql("SELECT count(*) - count(DISTINCT dedup_key) FROM jobs")
                    .query(Long.class)
                    .single();
            out.append(String.format(
                    Locale.ROOT,
                    "  into a table of %,d rows: %,d jobs (one in ten with an existing key) in %.2f s "
                            + "= %,.0f jobs/s (%d created, %d expected; duplicate keys in the table: %d)%n",
                    rows,
                    count,
                    full[0],
                    count / full[0],
                    (long) full[1],
                    count - count / 10,
                    duplicates));
            // The single-job path (POST /jobs, webhook intake): one INSERT ... RETURNING per call.
            var singles = 2_000;
            var took = new long[singles];
            for (int i = 0; i < singles; i++) {
                var started = System.nanoTime();
                queue.enqueue(NewJob.of("noop", null).withDedupKey("single-" + i));
                took[i] = System.nanoTime() - started;
            }
            Arrays.sort(took);
            out.append(String.format(
                    Locale.ROOT,
                    "  single-job enqueue into that table: %,d calls, mean %.3f ms, p50 %.3f ms, p99 %.3f ms%n",
                    singles,
                    Arrays.stream(took).average().orElse(0) / 1e6,
                    took[singles / 2] / 1e6,
                    took[(int) (singles * 0.99)] / 1e6));
            out.append("  (load ").append(LoadAverage.now()).append(")");
        } finally {
            dropDatabase(jdbcUrl);
        }
        return out.toString();
    }

    /** Seconds taken and jobs created. */
    private double[] timedBulk(
            io.bisectbot.queue.JobQueue queue, int count, java.util.function.IntFunction<String> key) {
        var started = System.nanoTime();
        long created = 0;
        for (int done = 0; done < count; done += options.chunk()) {
            var jobs = new ArrayList<NewJob>(options.chunk());
            for (int i = done; i < Math.min(count, done + options.chunk()); i++) {
                jobs.add(NewJob.of("noop", null).withDedupKey(key.apply(i)));
            }
            created += queue.enqueueAll(jobs).size();
        }
        return new double[] {(System.nanoTime() - started) / 1e9, created};
    }

    // ---------------------------------------------------------------------------------------------------------
    // Idle latency: one job at a time on an idle instance, woken by NOTIFY
    // ---------------------------------------------------------------------------------------------------------

    String idle() throws InterruptedException {
        var jdbcUrl = createDatabase();
        var startedAt = new AtomicLong();
        var started = new java.util.concurrent.Semaphore(0);
        JobHandler probe = new JobHandler() {
            @Override
            public String kind() {
                return "probe";
            }

            @Override
            public JobOutcome handle(JobContext context) {
                startedAt.set(System.nanoTime());
                started.release();
                return JobOutcome.succeeded(null);
            }
        };
        try (var admin = pool(jdbcUrl, 2, "idle-admin");
                var pool = pool(jdbcUrl, options.pool(), "idle")) {
            Flyway.configure()
                    .dataSource(admin)
                    .locations("filesystem:db/migration")
                    .load()
                    .migrate();
            var node = QueueNode.create(
                    pool,
                    List.of(probe),
                    QueueProperties.defaults().withWorkerId("idle").withMaxConcurrentJobs(options.threads()),
                    Clock.systemUTC(),
                    new SimpleMeterRegistry(),
                    JsonMapper.builder().build(),
                    "bench");
            node.start();
            var samples = options.idleSamples();
            var latencies = new double[samples];
            var random = new java.util.Random(1);
            for (int i = 0; i < samples; i++) {
                sleep(Duration.ofMillis(30 + random.nextInt(70))); // idle between jobs, off the poll's rhythm
                var enqueued = System.nanoTime();
                node.queue().enqueue(NewJob.of("probe", null));
                if (!started.tryAcquire(5, TimeUnit.SECONDS)) {
                    throw new IllegalStateException("probe job " + i + " did not start within 5 s");
                }
                latencies[i] = (startedAt.get() - enqueued) / 1e6;
            }
            node.shutdown();
            Arrays.sort(latencies);
            return String.format(
                    Locale.ROOT,
                    "Idle instance, %d jobs one at a time (enqueue call to handler start): p50 %.1f ms, "
                            + "p99 %.1f ms, max %.1f ms (load %s)",
                    samples,
                    latencies[samples / 2],
                    latencies[(int) Math.ceil(samples * 0.99) - 1],
                    latencies[samples - 1],
                    LoadAverage.now());
        } finally {
            dropDatabase(jdbcUrl);
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Plan of the production claim statement on a big table (auto_explain, so the SQL is exactly the queue's)
    // ---------------------------------------------------------------------------------------------------------

    String plan() throws SQLException {
        var jdbcUrl = createDatabase();
        try (var admin = pool(jdbcUrl, 2, "plan-admin")) {
            Flyway.configure()
                    .dataSource(admin)
                    .locations("filesystem:db/migration")
                    .load()
                    .migrate();
            var sql = JdbcClient.create(admin);
            sql.sql("""
                    INSERT INTO jobs (kind, status, attempt_count, worker_id, run_at, claimed_at, started_at,
                                      finished_at, created_at, updated_at)
                    SELECT 'noop', 'SUCCEEDED', 1, 'old-worker', t, t, t, t + interval '1 second', t, t
                      FROM (SELECT now() - (g * interval '1 second') AS t FROM generate_series(1, :rows) g) s""").param("rows", options.planRows()).update();
            sql.sql("""
                    INSERT INTO jobs (kind, created_at, updated_at, run_at, tenant)
                    SELECT 'noop', now(), now(), now() - interval '1 minute',
                           CASE WHEN :tenants > 0 THEN 'installation:' || (g % :tenants) END
                      FROM generate_series(1, :pending) g""")
                    .param("pending", options.planPending())
                    .param("tenants", options.planTenants())
                    .update();
            sql.sql("VACUUM ANALYZE jobs").update();
            try (var conn = DriverManager.getConnection(jdbcUrl, container.getUsername(), container.getPassword())) {
                try (var statement = conn.createStatement()) {
                    statement.execute("LOAD 'auto_explain'");
                    statement.execute("SET auto_explain.log_min_duration = 0");
                    statement.execute("SET auto_explain.log_analyze = on");
                    statement.execute("SET auto_explain.log_buffers = on");
                    statement.execute("SET auto_explain.log_format = 'text'");
                    // Warm the cache once, as a running worker would have it, then explain the next claim.
                    statement.execute("SELECT count(*) FROM jobs WHERE status = 'PENDING'");
                }
                var single = new SingleConnectionDataSource(conn, true);
                QueueTestSupport.claimOnce(single, "plan-worker", options.threads());
                QueueTestSupport.claimOnce(single, "plan-worker", options.threads());
            }
            sleep(Duration.ofMillis(500)); // let the server log reach the container's output
            var logs = container.getLogs();
            var start = logs.lastIndexOf("Query Text: WITH RECURSIVE tenants AS");
            if (start < 0) {
                return "(auto_explain output not found in the server log)";
            }
            var lineStart = logs.lastIndexOf('\n', start) + 1;
            var header = logs.lastIndexOf("LOG:", start);
            var from = header >= 0 && header > logs.lastIndexOf('\n', lineStart - 2)
                    ? logs.lastIndexOf('\n', header) + 1
                    : lineStart;
            var end = logs.length();
            var next =
                    java.util.regex.Pattern.compile("\\n\\d{4}-\\d\\d-\\d\\d ").matcher(logs);
            if (next.find(start)) {
                end = next.start();
            }
            return logs.substring(from, end).stripTrailing();
        } finally {
            dropDatabase(jdbcUrl);
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Main
    // ---------------------------------------------------------------------------------------------------------

    public static void main(String[] args) throws Exception {
        ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME))
                .setLevel(Level.WARN);
        // JobRunr warns about its own job filters being slow on this small machine; that is measured, not needed as
        // text.
        ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger("org.jobrunr")).setLevel(Level.ERROR);
        var options = Options.parse(args);
        var image = System.getenv().getOrDefault("LOCALCI_POSTGRES_IMAGE", "postgres:16");
        var command = new ArrayList<>(
                List.of("postgres", "-c", "max_connections=300", "-c", "fsync=" + (options.fsync() ? "on" : "off")));
        options.pgSettings().forEach(setting -> command.addAll(List.of("-c", setting)));
        var container = new PostgreSQLContainer(DockerImageName.parse(image).asCompatibleSubstituteFor("postgres"))
                .withCommand(command.toArray(String[]::new));
        var exit = 0;
        try {
            container.start();
            var bench = new QueueBenchmark(options, container);
            System.out.println(bench.machine());
            System.out.printf(
                    Locale.ROOT,
                    "Settings: %d job threads and a pool of %d connections per instance; enqueue in "
                            + "chunks of %d jobs; every run on a fresh database; fsync=%s%n",
                    options.threads(),
                    options.pool(),
                    options.chunk(),
                    options.fsync() ? "on" : "off");
            var modes = options.drain() ? List.of(false, true) : List.of(false);
            var tables = new ArrayList<String>();
            for (var drain : modes) {
                var results = new ArrayList<Result>();
                for (var jobs : options.jobs()) {
                    for (var instances : options.instances()) {
                        var runs = new LinkedHashMap<String, List<Result>>();
                        for (int repeat = 0; repeat < options.repeat(); repeat++) {
                            for (var system : options.systems()) {
                                var result = bench.run(system, jobs, instances, drain);
                                runs.computeIfAbsent(system, k -> new ArrayList<>())
                                        .add(result);
                                System.out.println(progress(result));
                            }
                        }
                        // With repeats, the run with the median throughput stands for the configuration.
                        runs.values()
                                .forEach(list -> results.add(list.stream()
                                        .sorted(Comparator.comparingDouble(Result::jobsPerSecond))
                                        .toList()
                                        .get(list.size() / 2)));
                    }
                }
                tables.add((drain
                                ? "Drain only (every job enqueued before the instances start):"
                                : "Enqueue while the instances run:")
                        + System.lineSeparator()
                        + table(results));
            }
            System.out.println();
            tables.forEach(System.out::println);
            if (options.systems().contains("bisectbot") && options.bulkRows() > 0) {
                System.out.println();
                System.out.println(bench.bulk());
            }
            if (options.systems().contains("bisectbot") && options.idleSamples() > 0) {
                System.out.println();
                System.out.println(bench.idle());
            }
            if (options.crash()) {
                System.out.println();
                System.out.println(
                        "Crash recovery with default settings (heartbeat 5 s, stale after 30 s, recovery every 5 s, poll 1 s):");
                var crash = bench.crash();
                System.out.printf(
                        Locale.ROOT,
                        "  last heartbeat %.1f s before the crash; taken back %.1f s after it; "
                                + "running again on the other instance %.1f s after it%n",
                        crash.sinceLastHeartbeatSeconds(),
                        crash.toRecoveredSeconds(),
                        crash.toReclaimedSeconds());
            }
            if (options.plan()) {
                System.out.println();
                System.out.printf(
                        Locale.ROOT,
                        "Claim statement (LIMIT %d) with %,d finished and %,d pending jobs (%s):%n",
                        options.threads(),
                        options.planRows(),
                        options.planPending(),
                        options.planTenants() > 0 ? "spread over " + options.planTenants() + " tenants" : "no tenant");
                System.out.println(bench.plan());
            }
        } catch (Exception e) {
            e.printStackTrace();
            exit = 1;
        } finally {
            if (options.pgLog() != null && container.isRunning()) {
                java.nio.file.Files.writeString(java.nio.file.Path.of(options.pgLog()), container.getLogs());
            }
            container.stop(); // Ryuk is off where no registry is reachable: stop it ourselves
        }
        System.exit(exit);
    }

    String machine() {
        var pg = JdbcClient.create(new org.springframework.jdbc.datasource.DriverManagerDataSource(
                container.getJdbcUrl(), container.getUsername(), container.getPassword()));
        var version = pg.sql("SHOW server_version").query(String.class).single();
        var os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        long ramGiB = os instanceof com.sun.management.OperatingSystemMXBean sun
                ? Math.round(sun.getTotalMemorySize() / (1024.0 * 1024 * 1024))
                : -1;
        return String.format(
                Locale.ROOT,
                "Machine: %d cores, %d GiB RAM, %s %s; JDK %s (%s); PostgreSQL %s in a container (%s)",
                Runtime.getRuntime().availableProcessors(),
                ramGiB,
                System.getProperty("os.name"),
                System.getProperty("os.arch"),
                Runtime.version(),
                System.getProperty("java.vm.vendor"),
                version,
                container.getDockerImageName());
    }

    static String progress(Result r) {
        return String.format(
                        Locale.ROOT,
                        "  %-12s %7d jobs  %d inst  %s %8.0f jobs/s  p50 %8.1f ms  p99 %8.1f ms  %s"
                                + "CPU/job JVM %.3f ms PG %.3f ms  WAL %.0f B/job  HOT %s  (enqueue %.2f s, total %.2f s, load %s) %s %s",
                        r.system(),
                        r.jobs(),
                        r.instances(),
                        r.drain() ? "drain" : "live ",
                        r.jobsPerSecond(),
                        r.p50Millis(),
                        r.p99Millis(),
                        r.claimToCompletion() == null
                                ? ""
                                : String.format(
                                        Locale.ROOT,
                                        "claim-to-completion p50 %.1f ms p99 %.1f ms  ",
                                        r.claimToCompletion()[0],
                                        r.claimToCompletion()[1]),
                        r.jvmCpuMsPerJob(),
                        r.pgCpuMsPerJob(),
                        r.walBytesPerJob(),
                        r.hot(),
                        r.enqueueSeconds(),
                        r.seconds(),
                        LoadAverage.now(),
                        r.note(),
                        r.profile())
                .stripTrailing();
    }

    /**
     * Markdown table; ratios are bisectbot's over the peer's in the same configuration. In a drain-only run the
     * latency columns are claim-to-completion (bisectbot's table records both; the peers' do not), else enqueue-to-start.
     */
    static String table(List<Result> results) {
        var out = new StringBuilder();
        out.append(String.format(
                Locale.ROOT,
                "| %-12s | %7s | %9s | %8s | %9s | %9s | %-22s | %8s | %8s | %7s | %-14s |%n",
                "system",
                "jobs",
                "instances",
                "jobs/s",
                "p50 ms",
                "p99 ms",
                "bisectbot/peer: jobs/s",
                "JVM ms/job",
                "PG ms/job",
                "WAL B/job",
                "HOT updates"));
        out.append("|--------------|--------:|----------:|---------:|----------:|----------:|------------------------|"
                + "-----------:|----------:|----------:|----------------|\n");
        Map<String, Result> bisectbot = results.stream()
                .filter(r -> r.system().equals("bisectbot"))
                .collect(Collectors.toMap(r -> r.jobs() + "/" + r.instances(), r -> r));
        for (var r : results) {
            var ours = bisectbot.get(r.jobs() + "/" + r.instances());
            var ratio = r.system().equals("bisectbot") || ours == null
                    ? ""
                    : String.format(Locale.ROOT, "%.2f", ours.jobsPerSecond() / r.jobsPerSecond());
            double p50 = r.p50Millis();
            double p99 = r.p99Millis();
            if (r.drain()) {
                p50 = r.claimToCompletion() == null ? Double.NaN : r.claimToCompletion()[0];
                p99 = r.claimToCompletion() == null ? Double.NaN : r.claimToCompletion()[1];
            }
            out.append(String.format(
                    Locale.ROOT,
                    "| %-12s | %7d | %9d | %8.0f | %9.1f | %9.1f | %-22s | %10.3f | %9.3f | %9.0f | %-14s |%s%n",
                    r.system(),
                    r.jobs(),
                    r.instances(),
                    r.jobsPerSecond(),
                    p50,
                    p99,
                    ratio,
                    r.jvmCpuMsPerJob(),
                    r.pgCpuMsPerJob(),
                    r.walBytesPerJob(),
                    r.hot(),
                    r.note().isEmpty() ? "" : " " + r.note()));
        }
        return out.toString();
    }

    private static void await(CountDownLatch latch, Duration timeout, String message) throws InterruptedException {
        if (!latch.await(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new IllegalStateException(message);
        }
    }

    private static void sleep(Duration duration) {
        try {
            Thread.sleep(duration);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
