package io.bisectbot.github;

import io.bisectbot.BisectbotApplication;
import io.bisectbot.bench.LoadAverage;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.URLClassLoader;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.testcontainers.postgresql.PostgreSQLContainer;
import org.testcontainers.utility.DockerImageName;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * Slow senders against one instance with a 512 MiB heap: SLOW connections (default 200) each send the headers of a
 * 24 MB delivery and then one body byte every 500 ms, reconnecting whenever the server closes them, for the whole
 * phase; meanwhile {@code GET /health} at 20/s (latency from each request's scheduled send time) and signed
 * deliveries at 5/s. The same without slow connections first, after a warm-up, for comparison. The instance is its own JVM ({@code -Xmx512m -XX:+ExitOnOutOfMemoryError}), against PostgreSQL in a
 * container; its heap is sampled with {@code jstat} every second. Everything is on loopback and the run stops by
 * itself.
 *
 * <pre>./mvnw -q test-compile org.codehaus.mojo:exec-maven-plugin:3.5.0:java -Dexec.classpathScope=test \
 *     -Dexec.mainClass=io.bisectbot.github.SlowBodyBenchmark [-Dexec.args="SECONDS SLOW virtual|platform"]</pre>
 * Defaults: 60 s per phase, 200 slow connections, virtual threads (as shipped); {@code platform} runs Tomcat's 200-thread pool.
 */
public final class SlowBodyBenchmark {

    private static final String SECRET = "benchmark-secret";
    private static final long ANNOUNCED = 24_000_000;
    private static final int HEALTH_RATE = 20;
    private static final int DELIVERY_RATE = 5;

    public static void main(String[] args) throws Exception {
        int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 60;
        int slow = args.length > 1 ? Integer.parseInt(args[1]) : 200;
        var threads = args.length > 2 ? args[2] : "virtual";
        var image = System.getenv().getOrDefault("LOCALCI_POSTGRES_IMAGE", "postgres:16");
        try (var pg = new PostgreSQLContainer(DockerImageName.parse(image).asCompatibleSubstituteFor("postgres"))) {
            pg.start();
            int port;
            try (var socket = new ServerSocket(0)) {
                port = socket.getLocalPort();
            }
            var log = Files.createTempFile("slow-body-server", ".log");
            var java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            var server = new ProcessBuilder(
                            java,
                            "-Xmx512m",
                            "-XX:+ExitOnOutOfMemoryError",
                            "-cp",
                            classPath(),
                            BisectbotApplication.class.getName(),
                            "--server.port=" + port,
                            "--bisectbot.database.url=" + pg.getJdbcUrl(),
                            "--bisectbot.database.username=" + pg.getUsername(),
                            "--bisectbot.database.password=" + pg.getPassword(),
                            "--bisectbot.database.migrate-on-start=true",
                            "--bisectbot.encryption.keys=" + io.bisectbot.TestDatabase.ENCRYPTION_KEYS,
                            "--bisectbot.github.webhook-secrets=" + SECRET,
                            "--bisectbot.queue.max-concurrent-jobs=0",
                            "--bisectbot.queue.max-pending-per-tenant=0",
                            "--spring.threads.virtual.enabled=" + threads.equals("virtual"),
                            "--logging.level.root=WARN",
                            "--logging.structured.format.console=")
                    .redirectErrorStream(true)
                    .redirectOutput(log.toFile())
                    .start();
            try {
                run(server, port, seconds, slow, threads, log);
            } finally {
                server.destroy();
                server.waitFor();
            }
        }
    }

    private static void run(Process server, int port, int seconds, int slow, String threads, Path log)
            throws Exception {
        var base = "http://127.0.0.1:" + port;
        var http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        waitForHealth(http, base, server);
        var bodies = signedBodies();
        System.out.println("warm-up: 20 s of /health and deliveries at 5 times the measured rates");
        measure(http, base, bodies, 20, 5);
        System.out.println("baseline: no slow connections");
        var baseline = measure(http, base, bodies, seconds, 1);

        var heap = new HeapSampler(server.pid());
        heap.start();
        var loadBefore = LoadAverage.now();
        var end = System.nanoTime() + (seconds + 2) * 1_000_000_000L;
        var slowResponses = new ConcurrentHashMap<String, AtomicInteger>();
        var connections = new AtomicLong();
        var slowThreads = new ArrayList<Thread>();
        for (int i = 0; i < slow; i++) {
            slowThreads.add(Thread.ofVirtual().start(() -> trickle(port, end, connections, slowResponses)));
        }
        // Let the slow connections take hold before measuring what others get.
        Thread.sleep(2_000);
        System.out.println("with " + slow + " slow connections");
        var underSlow = measure(http, base, bodies, seconds, 1);
        for (var thread : slowThreads) {
            thread.join(Duration.ofSeconds(30));
        }
        heap.stop();
        var alive = server.isAlive();
        var oom = Files.readString(log).contains("OutOfMemoryError");

        System.out.printf(
                Locale.ROOT,
                "%n%d s per phase, %d slow connections (headers of %d-byte bodies, then 1 byte / 500 ms), %s threads, "
                        + "%d cores, load average before/after %s / %s%n",
                seconds,
                slow,
                ANNOUNCED,
                threads,
                Runtime.getRuntime().availableProcessors(),
                loadBefore,
                LoadAverage.now());
        System.out.printf(
                Locale.ROOT,
                "slow connections opened: %d; their answers: %s%n",
                connections.get(),
                new TreeMap<>(slowResponses));
        System.out.println(
                "| Phase | /health requests | /health statuses | p50 (ms) | p99 (ms) | max (ms) | deliveries sent | accepted (202) | delivery statuses |");
        System.out.println("|---|---|---|---|---|---|---|---|---|");
        for (var phase :
                List.of(Map.entry("no slow connections", baseline), Map.entry(slow + " slow connections", underSlow))) {
            var r = phase.getValue();
            System.out.printf(
                    Locale.ROOT,
                    "| %s | %d | %s | %.2f | %.2f | %.2f | %d | %d | %s |%n",
                    phase.getKey(),
                    r.health().length,
                    r.healthStatuses(),
                    percentile(r.health(), 50),
                    percentile(r.health(), 99),
                    percentile(r.health(), 100),
                    r.deliveriesSent(),
                    r.accepted(),
                    r.deliveryStatuses());
        }
        System.out.printf(
                Locale.ROOT,
                "server heap used during the slow phase (jstat, every second): max %.0f MiB, last %.0f MiB; "
                        + "alive at the end %s, OutOfMemoryError in its log %s%n",
                heap.max / 1024.0,
                heap.last / 1024.0,
                alive,
                oom);
    }

    record Phase(
            long[] health,
            Map<Integer, Integer> healthStatuses,
            int deliveriesSent,
            int accepted,
            Map<Integer, Integer> deliveryStatuses) {}

    /** /health at 20/s and deliveries at 5/s, times {@code factor}, for {@code seconds}; latency from the scheduled time. */
    private static Phase measure(HttpClient http, String base, List<Body> bodies, int seconds, int factor) {
        var healthLatencies = new ConcurrentLinkedQueue<Long>();
        var healthStatuses = new ConcurrentHashMap<Integer, AtomicInteger>();
        var deliveryStatuses = new ConcurrentHashMap<Integer, AtomicInteger>();
        var healthCount = seconds * HEALTH_RATE * factor;
        var deliveryCount = seconds * DELIVERY_RATE * factor;
        try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
            var start = System.nanoTime() + 10_000_000L;
            for (int i = 0; i < healthCount; i++) {
                var scheduled = start + i * (1_000_000_000L / (HEALTH_RATE * factor));
                pool.submit(() -> {
                    sleepUntil(scheduled);
                    var status = send(
                            http,
                            HttpRequest.newBuilder(URI.create(base + "/health"))
                                    .timeout(Duration.ofSeconds(30))
                                    .build());
                    healthLatencies.add(System.nanoTime() - scheduled);
                    healthStatuses
                            .computeIfAbsent(status, s -> new AtomicInteger())
                            .incrementAndGet();
                });
            }
            for (int i = 0; i < deliveryCount; i++) {
                var scheduled = start + i * (1_000_000_000L / (DELIVERY_RATE * factor));
                var body = bodies.get(i % bodies.size());
                pool.submit(() -> {
                    sleepUntil(scheduled);
                    var status = send(
                            http,
                            HttpRequest.newBuilder(URI.create(base + "/webhooks/github"))
                                    .timeout(Duration.ofSeconds(30))
                                    .POST(HttpRequest.BodyPublishers.ofByteArray(body.bytes()))
                                    .header("Content-Type", "application/json")
                                    .header("X-GitHub-Event", "issue_comment")
                                    .header(
                                            "X-GitHub-Delivery",
                                            UUID.randomUUID().toString())
                                    .header("X-Hub-Signature-256", body.signature())
                                    .build());
                    deliveryStatuses
                            .computeIfAbsent(status, s -> new AtomicInteger())
                            .incrementAndGet();
                });
            }
        }
        var accepted = deliveryStatuses.getOrDefault(202, new AtomicInteger()).get();
        return new Phase(
                healthLatencies.stream().mapToLong(Long::longValue).sorted().toArray(),
                counts(healthStatuses),
                deliveryCount,
                accepted,
                counts(deliveryStatuses));
    }

    private static Map<Integer, Integer> counts(Map<Integer, AtomicInteger> counters) {
        var counts = new TreeMap<Integer, Integer>();
        counters.forEach((status, count) -> counts.put(status, count.get()));
        return counts;
    }

    /** One slow sender: announce a large body, trickle, and start again when the server answers or closes. */
    private static void trickle(int port, long end, AtomicLong connections, Map<String, AtomicInteger> responses) {
        var head = ("POST /webhooks/github HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                        + "X-GitHub-Event: issue_comment\r\nX-Hub-Signature-256: sha256=00\r\nContent-Length: "
                        + ANNOUNCED + "\r\n")
                .getBytes(StandardCharsets.US_ASCII);
        while (System.nanoTime() < end) {
            String outcome;
            try (var socket = new Socket("127.0.0.1", port)) {
                connections.incrementAndGet();
                socket.setSoTimeout(100);
                OutputStream out = socket.getOutputStream();
                out.write(head);
                out.write(("X-GitHub-Delivery: " + UUID.randomUUID() + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                out.flush();
                outcome = "closed";
                var in = socket.getInputStream();
                var status = new byte[12];
                while (System.nanoTime() < end) {
                    out.write('{');
                    out.flush();
                    try {
                        var n = in.readNBytes(status, 0, 12);
                        outcome = n == 12 ? new String(status, 9, 3, StandardCharsets.US_ASCII) : "closed";
                        break;
                    } catch (java.net.SocketTimeoutException e) {
                        Thread.sleep(400);
                    }
                }
                if (System.nanoTime() >= end) {
                    outcome = "still open at the end";
                }
            } catch (IOException e) {
                outcome = "closed";
            } catch (InterruptedException e) {
                return;
            }
            responses.computeIfAbsent(outcome, s -> new AtomicInteger()).incrementAndGet();
        }
    }

    private static int send(HttpClient http, HttpRequest request) {
        try {
            return http.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    private static void waitForHealth(HttpClient http, String base, Process server) throws Exception {
        var deadline = System.nanoTime() + 180_000_000_000L;
        while (System.nanoTime() < deadline && server.isAlive()) {
            if (send(
                            http,
                            HttpRequest.newBuilder(URI.create(base + "/health"))
                                    .timeout(Duration.ofSeconds(2))
                                    .build())
                    == 200) {
                return;
            }
            Thread.sleep(500);
        }
        throw new IllegalStateException("the server did not answer /health with 200");
    }

    private static void sleepUntil(long nanoTime) {
        long wait;
        while ((wait = nanoTime - System.nanoTime()) > 0) {
            java.util.concurrent.locks.LockSupport.parkNanos(wait);
        }
    }

    private static double percentile(long[] sorted, double p) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        var index = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, index))] / 1e6;
    }

    record Body(byte[] bytes, String signature) {}

    private static List<Body> signedBodies() throws IOException {
        var json = JsonMapper.builder().build();
        ObjectNode payload;
        try (var in = SlowBodyBenchmark.class.getResourceAsStream(
                "/github/payloads/issue_comment.created.with-installation.json")) {
            payload = (ObjectNode) json.readTree(in);
        }
        var bodies = new ArrayList<Body>();
        for (int i = 0; i < 16; i++) {
            ((ObjectNode) payload.get("comment")).put("id", 2_000_000L + i).put("body", "Slow-body run (" + i + ")");
            var bytes = json.writeValueAsBytes(payload);
            bodies.add(new Body(bytes, WebhookSignatures.sign(SECRET, bytes)));
        }
        return bodies;
    }

    /** The server's heap in use (survivor, eden and old generation), in KiB, from {@code jstat -gc PID 1000}. */
    static final class HeapSampler {
        private final long pid;
        private Process jstat;
        private Thread reader;
        volatile double max;
        volatile double last;

        HeapSampler(long pid) {
            this.pid = pid;
        }

        void start() throws IOException {
            var jstatPath =
                    Path.of(System.getProperty("java.home"), "bin", "jstat").toString();
            jstat = new ProcessBuilder(jstatPath, "-gc", String.valueOf(pid), "1000")
                    .redirectErrorStream(true)
                    .start();
            reader = Thread.ofPlatform().daemon().start(() -> {
                try (var lines = new java.io.BufferedReader(
                        new java.io.InputStreamReader(jstat.getInputStream(), StandardCharsets.UTF_8))) {
                    String line;
                    List<String> header = null;
                    while ((line = lines.readLine()) != null) {
                        var fields = List.of(line.trim().split("\\s+"));
                        if (fields.contains("EU")) {
                            header = fields;
                            continue;
                        }
                        if (header == null || fields.size() != header.size()) {
                            continue;
                        }
                        double used = 0;
                        for (var column : List.of("S0U", "S1U", "EU", "OU")) {
                            used += Double.parseDouble(fields.get(header.indexOf(column)));
                        }
                        last = used;
                        max = Math.max(max, used);
                    }
                } catch (IOException | RuntimeException e) {
                    // jstat ended
                }
            });
        }

        void stop() throws InterruptedException {
            jstat.destroy();
            reader.join(2_000);
        }
    }

    private static String classPath() throws Exception {
        if (SlowBodyBenchmark.class.getClassLoader() instanceof URLClassLoader loader) {
            var entries = new ArrayList<String>();
            for (var url : loader.getURLs()) {
                entries.add(Path.of(url.toURI()).toString());
            }
            return String.join(File.pathSeparator, entries);
        }
        return System.getProperty("java.class.path");
    }

    private SlowBodyBenchmark() {}
}
