package io.bisectbot.github;

import io.bisectbot.BisectbotApplication;
import io.bisectbot.bench.LoadAverage;
import java.io.File;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import javax.sql.DataSource;
import org.springframework.boot.SpringApplication;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.testcontainers.postgresql.PostgreSQLContainer;
import org.testcontainers.utility.DockerImageName;

/**
 * Webhook intake under a fixed arrival rate: signed {@code issue_comment} deliveries (octokit's example payload, each
 * with its own delivery id) posted to one running instance over loopback, then {@code GET /health} at the same rate
 * for comparison. The load comes from {@link WebhookLoadGenerator} in a child JVM (fixed arrival rate, latency from
 * each request's scheduled send time, so a stalled server cannot hide queued requests). The instance runs in this
 * JVM against PostgreSQL in a container with its default (durable) settings.
 *
 * <pre>./mvnw -q test-compile org.codehaus.mojo:exec-maven-plugin:3.5.0:java -Dexec.classpathScope=test \
 *     -Dexec.mainClass=io.bisectbot.github.WebhookIntakeBenchmark [-Dexec.args="RATE SECONDS WARMUP_SECONDS"]</pre>
 * Defaults: 1000 requests/s for 20 s per phase, after 30 s of warm-up at the same rate (the JIT compilers are still
 * busy after 5 s, and their CPU would be measured as the service's). The webhook phase runs with encryption at rest
 * off, then on (each instance on its own database, in the same container); {@code -Dbench.encryption=off|on} runs one.
 */
public final class WebhookIntakeBenchmark {

    private static final String SECRET = "benchmark-secret";

    /** Keep-alive connections of the load generator; far more than 1,000/s at a few ms each needs. */
    private static final int CONNECTIONS = 64;

    record Result(
            String name,
            int sent,
            int ok,
            int errors,
            double seconds,
            long[] sortedLatencies,
            Map<Integer, Integer> statuses,
            double serverCpuMillisPerRequest,
            double dbCpuMillisPerRequest,
            double generatorCpuMillisPerRequest) {
        double throughput() {
            return ok / seconds;
        }

        double percentileMillis(double p) {
            if (sortedLatencies.length == 0) {
                return Double.NaN;
            }
            var index = (int) Math.ceil(p / 100.0 * sortedLatencies.length) - 1;
            return sortedLatencies[Math.max(0, Math.min(sortedLatencies.length - 1, index))] / 1e6;
        }
    }

    public static void main(String[] args) throws Exception {
        int rate = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
        int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 20;
        int warmupSeconds = args.length > 2 ? Integer.parseInt(args[2]) : 30;
        var image = System.getenv().getOrDefault("LOCALCI_POSTGRES_IMAGE", "postgres:16");
        // -Dbench.pg-settings=name=value,...: server settings beyond the defaults, e.g. for checkpoints and WAL.
        var command = new ArrayList<>(List.of("postgres", "-c", "max_connections=100"));
        for (var setting : System.getProperty("bench.pg-settings", "").split(",")) {
            if (!setting.isBlank()) {
                command.addAll(List.of("-c", setting.strip()));
            }
        }
        try (var pg = new PostgreSQLContainer(DockerImageName.parse(image).asCompatibleSubstituteFor("postgres"))
                .withCommand(command.toArray(String[]::new))) {
            pg.start();
            // Encryption off and on, each against its own database in the same container, in this one run.
            var modes = switch (System.getProperty("bench.encryption", "both")) {
                case "off" -> List.of("off");
                case "on" -> List.of("on");
                default -> List.of("off", "on");
            };
            var results = new java.util.ArrayList<Result>();
            var loadBefore = LoadAverage.now();
            var summary = new StringBuilder();
            for (var mode : modes) {
                var database = "intake_" + mode;
                try (var admin = java.sql.DriverManager.getConnection(
                                pg.getJdbcUrl(), pg.getUsername(), pg.getPassword());
                        var statement = admin.createStatement()) {
                    statement.execute("CREATE DATABASE " + database);
                }
                var app = new SpringApplication(BisectbotApplication.class);
                var properties = new HashMap<String, Object>();
                properties.put("server.port", "0");
                properties.put(
                        "bisectbot.database.url",
                        pg.getJdbcUrl().replaceFirst("/[^/?]+(\\?|$)", "/" + database + "$1"));
                properties.put("bisectbot.database.username", pg.getUsername());
                properties.put("bisectbot.database.password", pg.getPassword());
                properties.put("bisectbot.database.migrate-on-start", "true");
                properties.put("bisectbot.github.webhook-secrets", SECRET);
                properties.put("bisectbot.github.max-queue-size", "1000000");
                properties.put("bisectbot.queue.max-concurrent-jobs", System.getProperty("bench.jobs", "4"));
                // One installation sends every delivery: its pending cap would answer 429 once 1,000 are queued.
                properties.put("bisectbot.queue.max-pending-per-tenant", "0");
                properties.put("logging.level.root", "WARN");
                if (mode.equals("on")) {
                    properties.put(
                            "bisectbot.encryption.keys",
                            "bench:" + java.util.Base64.getEncoder().encodeToString(new byte[32]));
                } else {
                    properties.put("bisectbot.encryption.required", "false");
                }
                // As command-line arguments: they take precedence over application.yml.
                var arguments = properties.entrySet().stream()
                        .map(e -> "--" + e.getKey() + "=" + e.getValue())
                        .toArray(String[]::new);
                try (var context = app.run(arguments)) {
                    var port = context.getEnvironment().getProperty("local.server.port");
                    var base = "http://127.0.0.1:" + port;
                    var cpu = new CpuMeter(pg.getContainerId());
                    results.add(run(
                            "POST /webhooks/github, encryption " + mode,
                            "webhook",
                            base,
                            rate,
                            warmupSeconds * rate,
                            seconds * rate,
                            cpu));
                    if (mode.equals(modes.getLast())) {
                        results.add(
                                run("GET /health", "health", base, rate, warmupSeconds * rate, seconds * rate, cpu));
                    }
                    var jdbc = JdbcClient.create(context.getBean(DataSource.class));
                    var pending = jdbc.sql("SELECT count(*) FROM jobs WHERE status = 'PENDING'")
                            .query(Long.class)
                            .single();
                    var deliveries = jdbc.sql("SELECT count(*) FROM github_deliveries")
                            .query(Long.class)
                            .single();
                    var sealed = jdbc.sql("SELECT count(*) FROM github_deliveries WHERE payload_sealed IS NOT NULL")
                            .query(Long.class)
                            .single();
                    summary.append(String.format(
                            Locale.ROOT,
                            "Encryption %s: stored deliveries %d (%d sealed), jobs still pending %d%n",
                            mode,
                            deliveries,
                            sealed,
                            pending));
                }
            }

            System.out.printf(
                    Locale.ROOT,
                    "%nOffered rate %d/s, %d requests per phase after %d s of warm-up, %d connections, %d cores%n",
                    rate,
                    seconds * rate,
                    warmupSeconds,
                    CONNECTIONS,
                    Runtime.getRuntime().availableProcessors());
            System.out.printf(Locale.ROOT, "Load average before/after: %s / %s%n", loadBefore, LoadAverage.now());
            System.out.println(
                    "| Endpoint | Sent | 2xx | Errors | Throughput (req/s) | p50 (ms) | p99 (ms) | p99.9 (ms) | max (ms) "
                            + "| CPU ms/req server | CPU ms/req PostgreSQL | CPU ms/req load generator |");
            System.out.println("|---|---|---|---|---|---|---|---|---|---|---|---|");
            for (var r : results) {
                System.out.printf(
                        Locale.ROOT,
                        "| `%s` | %d | %d | %d | %.0f | %.2f | %.2f | %.2f | %.2f | %.3f | %.3f | %.3f |%n",
                        r.name(),
                        r.sent(),
                        r.ok(),
                        r.errors(),
                        r.throughput(),
                        r.percentileMillis(50),
                        r.percentileMillis(99),
                        r.percentileMillis(99.9),
                        r.percentileMillis(100),
                        r.serverCpuMillisPerRequest(),
                        r.dbCpuMillisPerRequest(),
                        r.generatorCpuMillisPerRequest());
            }
            for (var r : results) {
                System.out.printf(Locale.ROOT, "Statuses %s: %s%n", r.name(), r.statuses());
            }
            System.out.print(summary);
        }
    }

    /** CPU time of this JVM (the server) and of the database container (cgroup v1 or v2), when readable. */
    record CpuMeter(String containerId) {
        long jvmNanos() {
            return ((com.sun.management.OperatingSystemMXBean)
                            java.lang.management.ManagementFactory.getOperatingSystemMXBean())
                    .getProcessCpuTime();
        }

        /**
         * CPU time of this process's threads by name, digits removed, from /proc (so the JVM's own threads, GC and
         * compilers, count too; virtual threads count on their carriers). Empty where /proc is not there.
         */
        Map<String, Long> byThreadGroup() {
            var groups = new java.util.TreeMap<String, Long>();
            try (var tasks = java.nio.file.Files.list(java.nio.file.Path.of("/proc/self/task"))) {
                for (var task : tasks.toList()) {
                    try {
                        var stat = java.nio.file.Files.readString(task.resolve("stat"));
                        var name = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
                        var fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                        // utime and stime, fields 14 and 15 of stat, in clock ticks of 10 ms
                        var nanos = (Long.parseLong(fields[11]) + Long.parseLong(fields[12])) * 10_000_000L;
                        groups.merge(name.replaceAll("\\d+", "N").trim(), nanos, Long::sum);
                    } catch (java.io.IOException | RuntimeException e) {
                        // the thread ended meanwhile
                    }
                }
            } catch (java.io.IOException e) {
                return groups;
            }
            return groups;
        }

        long dbNanos() {
            if (containerId == null) {
                return -1;
            }
            for (var path : List.of(
                    "/sys/fs/cgroup/cpuacct/docker/" + containerId + "/cpuacct.usage",
                    "/sys/fs/cgroup/system.slice/docker-" + containerId + ".scope/cpu.stat")) {
                try {
                    var text = java.nio.file.Files.readString(java.nio.file.Path.of(path))
                            .trim();
                    if (path.endsWith("cpu.stat")) {
                        var line = text.lines()
                                .filter(l -> l.startsWith("usage_usec "))
                                .findFirst()
                                .orElseThrow();
                        return Long.parseLong(line.substring(11).trim()) * 1000;
                    }
                    return Long.parseLong(text);
                } catch (Exception e) {
                    // try the next layout
                }
            }
            return -1;
        }
    }

    /**
     * Runs {@link WebhookLoadGenerator} in a child JVM (warm-up, then the measured requests) and samples this JVM's and
     * the database's CPU between its {@code MEASURE START} and {@code MEASURE END} lines.
     */
    private static Result run(String name, String mode, String base, int rate, int warmup, int count, CpuMeter cpu)
            throws Exception {
        System.out.printf(Locale.ROOT, "%s: %d warm-up and %d measured requests at %d/s%n", name, warmup, count, rate);
        var command = List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp",
                classPath(),
                WebhookLoadGenerator.class.getName(),
                base,
                mode,
                String.valueOf(rate),
                String.valueOf(warmup),
                String.valueOf(count),
                String.valueOf(CONNECTIONS),
                SECRET);
        var process = new ProcessBuilder(command)
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        Map<String, Long> threadsBefore = Map.of();
        long serverBefore = 0;
        long dbBefore = 0;
        long serverCpu = 0;
        long dbCpu = 0;
        String result = null;
        try (var lines = new java.io.BufferedReader(
                new java.io.InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = lines.readLine()) != null) {
                switch (line) {
                    case "MEASURE START" -> {
                        threadsBefore = cpu.byThreadGroup();
                        serverBefore = cpu.jvmNanos();
                        dbBefore = cpu.dbNanos();
                    }
                    case "MEASURE END" -> {
                        serverCpu = cpu.jvmNanos() - serverBefore;
                        var threadsAfter = cpu.byThreadGroup();
                        var before = threadsBefore;
                        threadsAfter.replaceAll((group, nanos) -> nanos - before.getOrDefault(group, 0L));
                        threadsAfter.values().removeIf(nanos -> nanos < 200_000_000L);
                        System.out.printf(
                                Locale.ROOT,
                                "  server CPU by thread (ms/request): %s%n",
                                threadsAfter.entrySet().stream()
                                        .sorted(Map.Entry.<String, Long>comparingByValue()
                                                .reversed())
                                        .map(e -> String.format(
                                                Locale.ROOT, "%s %.3f", e.getKey(), e.getValue() / 1e6 / count))
                                        .toList());
                        var dbAfter = cpu.dbNanos();
                        dbCpu = dbBefore < 0 || dbAfter < 0 ? -1 : dbAfter - dbBefore;
                    }
                    default -> {
                        if (line.startsWith("RESULT ")) {
                            result = line;
                        }
                    }
                }
            }
        }
        if (process.waitFor() != 0 || result == null) {
            throw new IllegalStateException("the load generator failed (exit " + process.exitValue() + ")");
        }
        var fields = result.split(" ");
        var statuses = new java.util.TreeMap<Integer, Integer>();
        var inner = fields[6].substring(1, fields[6].length() - 1);
        if (!inner.isEmpty()) {
            for (var entry : inner.split(",")) {
                var kv = entry.split("=");
                statuses.put(Integer.parseInt(kv[0]), Integer.parseInt(kv[1]));
            }
        }
        var latencies = new long[fields.length - 7];
        for (int i = 0; i < latencies.length; i++) {
            latencies[i] = Long.parseLong(fields[7 + i]) * 1000;
        }
        return new Result(
                name,
                Integer.parseInt(fields[1]),
                Integer.parseInt(fields[2]),
                Integer.parseInt(fields[3]),
                Double.parseDouble(fields[4]),
                latencies,
                statuses,
                serverCpu / 1e6 / count,
                dbCpu < 0 ? Double.NaN : dbCpu / 1e6 / count,
                Double.parseDouble(fields[5]));
    }

    /** The project's classpath: under {@code exec:java} it is the class loader's, not {@code java.class.path}. */
    private static String classPath() throws Exception {
        if (WebhookIntakeBenchmark.class.getClassLoader() instanceof URLClassLoader loader) {
            var entries = new ArrayList<String>();
            for (var url : loader.getURLs()) {
                entries.add(Path.of(url.toURI()).toString());
            }
            return String.join(File.pathSeparator, entries);
        }
        return System.getProperty("java.class.path");
    }

    private WebhookIntakeBenchmark() {}
}
