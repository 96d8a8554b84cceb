package io.bisectbot.github;

import io.bisectbot.BisectbotApplication;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import javax.sql.DataSource;
import org.springframework.boot.SpringApplication;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.testcontainers.postgresql.PostgreSQLContainer;
import org.testcontainers.utility.DockerImageName;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * Webhook intake under a fixed arrival rate: signed {@code issue_comment} deliveries (octokit's example payload, each
 * with its own delivery id) posted to one running instance over loopback, then {@code GET /health} at the same rate
 * for comparison. Latency is measured from each request's scheduled send time, so a stalled server cannot hide
 * queued requests (no coordinated omission). The instance runs in this JVM with its job workers on, against
 * PostgreSQL in a container with its default (durable) settings.
 *
 * <pre>./mvnw -q test-compile org.codehaus.mojo:exec-maven-plugin:3.5.0:java -Dexec.classpathScope=test \
 *     -Dexec.mainClass=io.bisectbot.github.WebhookIntakeBenchmark [-Dexec.args="RATE SECONDS"]</pre>
 * Defaults: 1000 requests/s for 20 s per phase, after a 5 s warm-up at the same rate.
 */
public final class WebhookIntakeBenchmark {

    private static final String SECRET = "benchmark-secret";
    private static final JsonMapper json = JsonMapper.builder().build();

    record Sample(long latencyNanos, int status) {
    }

    record Result(String name, int sent, int ok, int errors, double seconds, long[] sortedLatencies, Map<Integer, Integer> statuses,
                  double jvmCpuMillisPerRequest, double dbCpuMillisPerRequest) {
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

    interface RequestFactory {
        HttpRequest create(int i);
    }

    public static void main(String[] args) throws Exception {
        int rate = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
        int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 20;
        int warmupSeconds = 5;
        var image = System.getenv().getOrDefault("LOCALCI_POSTGRES_IMAGE", "postgres:16");
        try (var pg = new PostgreSQLContainer(DockerImageName.parse(image).asCompatibleSubstituteFor("postgres"))
                .withCommand("postgres", "-c", "max_connections=100")) {
            pg.start();
            var app = new SpringApplication(BisectbotApplication.class);
            var properties = new HashMap<String, Object>();
            properties.put("server.port", "0");
            properties.put("bisectbot.database.url", pg.getJdbcUrl());
            properties.put("bisectbot.database.username", pg.getUsername());
            properties.put("bisectbot.database.password", pg.getPassword());
            properties.put("bisectbot.database.migrate-on-start", "true");
            properties.put("bisectbot.github.webhook-secrets", SECRET);
            properties.put("bisectbot.github.max-queue-size", "1000000");
            properties.put("bisectbot.queue.max-concurrent-jobs", System.getProperty("bench.jobs", "4"));
            properties.put("logging.level.root", "WARN");
            // As command-line arguments: they take precedence over application.yml.
            var arguments = properties.entrySet().stream().map(e -> "--" + e.getKey() + "=" + e.getValue()).toArray(String[]::new);
            try (var context = app.run(arguments)) {
                var port = context.getEnvironment().getProperty("local.server.port");
                var base = "http://127.0.0.1:" + port;
                var body = webhookBody();
                var http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

                RequestFactory webhook = i -> {
                    var payload = body.deepCopy();
                    ((ObjectNode) payload.get("comment")).put("id", 1_000_000L + i).put("body", "Looks good to me (" + i + ")");
                    var bytes = json.writeValueAsBytes(payload);
                    return HttpRequest.newBuilder(URI.create(base + "/webhooks/github"))
                            .POST(HttpRequest.BodyPublishers.ofByteArray(bytes))
                            .header("Content-Type", "application/json")
                            .header("X-GitHub-Event", "issue_comment")
                            .header("X-GitHub-Delivery", UUID.randomUUID().toString())
                            .header("X-Hub-Signature-256", WebhookSignatures.sign(SECRET, bytes))
                            .build();
                };
                RequestFactory health = i -> HttpRequest.newBuilder(URI.create(base + "/health")).GET().build();

                System.out.printf(Locale.ROOT, "Warm-up: %d s at %d/s%n", warmupSeconds, rate);
                var none = new CpuMeter(null);
                run("warm-up webhooks", http, webhook, rate, warmupSeconds * rate, none);
                run("warm-up health", http, health, rate, warmupSeconds * rate, none);

                var loadBefore = loadAverage();
                var cpu = new CpuMeter(pg.getContainerId());
                var hooks = run("POST /webhooks/github", http, webhook, rate, seconds * rate, cpu);
                var checks = run("GET /health", http, health, rate, seconds * rate, cpu);
                var jdbc = JdbcClient.create(context.getBean(DataSource.class));
                var pending = jdbc.sql("SELECT count(*) FROM jobs WHERE status = 'PENDING'").query(Long.class).single();
                var deliveries = jdbc.sql("SELECT count(*) FROM github_deliveries").query(Long.class).single();

                System.out.printf(Locale.ROOT, "%nOffered rate %d/s, %d requests per phase, %d cores%n", rate, seconds * rate,
                        Runtime.getRuntime().availableProcessors());
                System.out.printf(Locale.ROOT, "Load average before/after: %s / %s%n", loadBefore, loadAverage());
                System.out.println("| Endpoint | Sent | 2xx | Errors | Throughput (req/s) | p50 (ms) | p99 (ms) | p99.9 (ms) | max (ms) | CPU ms/req JVM | CPU ms/req PostgreSQL |");
                System.out.println("|---|---|---|---|---|---|---|---|---|---|---|");
                for (var r : List.of(hooks, checks)) {
                    System.out.printf(Locale.ROOT, "| `%s` | %d | %d | %d | %.0f | %.2f | %.2f | %.2f | %.2f | %.3f | %.3f |%n", r.name(), r.sent(),
                            r.ok(), r.errors(), r.throughput(), r.percentileMillis(50), r.percentileMillis(99),
                            r.percentileMillis(99.9), r.percentileMillis(100), r.jvmCpuMillisPerRequest(), r.dbCpuMillisPerRequest());
                }
                System.out.printf(Locale.ROOT, "Ratio webhook/health: p50 %.1fx, p99 %.1fx%n",
                        hooks.percentileMillis(50) / checks.percentileMillis(50), hooks.percentileMillis(99) / checks.percentileMillis(99));
                System.out.printf(Locale.ROOT, "Statuses: webhooks %s, health %s; stored deliveries %d, jobs still pending %d%n",
                        hooks.statuses(), checks.statuses(), deliveries, pending);
            }
        }
    }

    private static ObjectNode webhookBody() throws Exception {
        try (var in = WebhookIntakeBenchmark.class.getResourceAsStream("/github/payloads/issue_comment.created.with-installation.json")) {
            return (ObjectNode) json.readTree(in);
        }
    }

    /** Sends {@code count} requests at {@code rate}/s on schedule, each on its own virtual thread; waits at most 60 s for the last. */
    /** CPU time of this JVM (server and load generator) and of the database container (cgroup v1 or v2), when readable. */
    record CpuMeter(String containerId) {
        long jvmNanos() {
            return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean())
                    .getProcessCpuTime();
        }

        long dbNanos() {
            if (containerId == null) {
                return -1;
            }
            for (var path : List.of("/sys/fs/cgroup/cpuacct/docker/" + containerId + "/cpuacct.usage",
                    "/sys/fs/cgroup/system.slice/docker-" + containerId + ".scope/cpu.stat")) {
                try {
                    var text = java.nio.file.Files.readString(java.nio.file.Path.of(path)).trim();
                    if (path.endsWith("cpu.stat")) {
                        var line = text.lines().filter(l -> l.startsWith("usage_usec ")).findFirst().orElseThrow();
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

    private static String loadAverage() {
        try {
            return java.nio.file.Files.readString(java.nio.file.Path.of("/proc/loadavg")).split(" ")[0];
        } catch (Exception e) {
            return "?";
        }
    }

    private static Result run(String name, HttpClient http, RequestFactory factory, int rate, int count, CpuMeter cpu) throws Exception {
        var requests = new ArrayList<HttpRequest>(count);
        for (int i = 0; i < count; i++) {
            requests.add(factory.create(i)); // signed up front, so signing does not load the generator while it sends
        }
        var samples = new ConcurrentLinkedQueue<Sample>();
        var errors = new AtomicInteger();
        var interval = 1_000_000_000L / rate;
        var jvmBefore = cpu.jvmNanos();
        var dbBefore = cpu.dbNanos();
        var start = System.nanoTime();
        try (var executor = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < count; i++) {
                var scheduled = start + i * interval;
                long wait;
                while ((wait = scheduled - System.nanoTime()) > 0) {
                    LockSupport.parkNanos(wait);
                }
                var request = requests.get(i);
                executor.submit(() -> {
                    try {
                        var response = http.send(request, HttpResponse.BodyHandlers.discarding());
                        samples.add(new Sample(System.nanoTime() - scheduled, response.statusCode()));
                    } catch (Exception e) {
                        errors.incrementAndGet();
                    }
                });
            }
            executor.shutdown();
            if (!executor.awaitTermination(60, TimeUnit.SECONDS)) {
                executor.shutdownNow();
            }
        }
        var elapsed = (System.nanoTime() - start) / 1e9;
        var jvmCpu = (cpu.jvmNanos() - jvmBefore) / 1e6 / count;
        var dbAfter = cpu.dbNanos();
        var dbCpu = dbBefore < 0 || dbAfter < 0 ? Double.NaN : (dbAfter - dbBefore) / 1e6 / count;
        var statuses = new java.util.TreeMap<Integer, Integer>();
        samples.forEach(s -> statuses.merge(s.status(), 1, Integer::sum));
        var ok = (int) samples.stream().filter(s -> s.status() / 100 == 2).count();
        var latencies = samples.stream().mapToLong(Sample::latencyNanos).toArray();
        Arrays.sort(latencies);
        return new Result(name, count, ok, errors.get() + (samples.size() - ok), elapsed, latencies, statuses, jvmCpu, dbCpu);
    }

    private WebhookIntakeBenchmark() {
    }
}
