package io.bisectbot.github;

import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.apache.hc.client5.http.classic.methods.HttpGet;
import org.apache.hc.client5.http.classic.methods.HttpPost;
import org.apache.hc.client5.http.classic.methods.HttpUriRequestBase;
import org.apache.hc.client5.http.impl.classic.CloseableHttpClient;
import org.apache.hc.client5.http.impl.classic.HttpClients;
import org.apache.hc.client5.http.impl.io.PoolingHttpClientConnectionManagerBuilder;
import org.apache.hc.core5.http.ContentType;
import org.apache.hc.core5.http.io.entity.ByteArrayEntity;
import org.apache.hc.core5.http.io.entity.EntityUtils;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * The load side of {@link WebhookIntakeBenchmark}, run in its own JVM so that its CPU and garbage do not land on the
 * server it measures. Open model at a fixed arrival rate, the way wrk2 does it: a fixed set of keep-alive connections,
 * each request has a scheduled send time, and its latency is counted from that time, so a stalled server cannot hide
 * the requests queued behind it.
 *
 * <p>Arguments: {@code BASE_URL webhook|health RATE WARMUP_COUNT COUNT CONNECTIONS SECRET}. Prints {@code MEASURE
 * START} and {@code MEASURE END} around the measured requests (the parent samples CPU there) and then one line
 * {@code RESULT sent ok errors seconds cpuMillisPerRequest statuses latenciesMicros...}.
 */
public final class WebhookLoadGenerator {

    /** Distinct signed bodies cycled through; every request still carries its own delivery id. */
    private static final int BODIES = 64;

    public static void main(String[] args) throws Exception {
        var base = args[0];
        var webhooks = args[1].equals("webhook");
        int rate = Integer.parseInt(args[2]);
        int warmup = Integer.parseInt(args[3]);
        int count = Integer.parseInt(args[4]);
        int connections = Integer.parseInt(args[5]);
        var secret = args[6];

        var bodies = webhooks ? signedBodies(secret) : null;
        var pool = PoolingHttpClientConnectionManagerBuilder.create()
                .setMaxConnTotal(connections)
                .setMaxConnPerRoute(connections)
                .build();
        try (var http = HttpClients.custom()
                .setConnectionManager(pool)
                .disableAutomaticRetries()
                .build()) {
            RequestFactory factory = i -> {
                if (!webhooks) {
                    return new HttpGet(base + "/health");
                }
                var body = bodies[i % BODIES];
                var post = new HttpPost(base + "/webhooks/github");
                post.setEntity(new ByteArrayEntity(body.bytes(), ContentType.APPLICATION_JSON));
                post.setHeader("X-GitHub-Event", "issue_comment");
                post.setHeader("X-GitHub-Delivery", UUID.randomUUID().toString());
                post.setHeader("X-Hub-Signature-256", body.signature());
                return post;
            };
            run(http, factory, rate, warmup, connections);
            var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
            System.out.println("MEASURE START");
            System.out.flush();
            var cpuBefore = os.getProcessCpuTime();
            var started = System.nanoTime();
            var run = run(http, factory, rate, count, connections);
            var seconds = (System.nanoTime() - started) / 1e9;
            var cpu = (os.getProcessCpuTime() - cpuBefore) / 1e6 / count;
            System.out.println("MEASURE END");
            var ok = 0;
            var statuses = new java.util.TreeMap<Integer, Integer>();
            for (var status : run.statuses()) {
                statuses.merge(status, 1, Integer::sum);
                ok += status / 100 == 2 ? 1 : 0;
            }
            var line = new StringBuilder(String.format(
                    Locale.ROOT,
                    "RESULT %d %d %d %.3f %.4f %s",
                    count,
                    ok,
                    count - ok,
                    seconds,
                    cpu,
                    statuses.toString().replace(" ", "")));
            for (var latency : run.latencies()) {
                line.append(' ').append(latency / 1000);
            }
            System.out.println(line);
        }
    }

    interface RequestFactory {
        HttpUriRequestBase create(int i);
    }

    record Body(byte[] bytes, String signature) {}

    record Run(long[] latencies, int[] statuses) {}

    private static Body[] signedBodies(String secret) throws Exception {
        var json = JsonMapper.builder().build();
        ObjectNode payload;
        try (var in = WebhookLoadGenerator.class.getResourceAsStream(
                "/github/payloads/issue_comment.created.with-installation.json")) {
            payload = (ObjectNode) json.readTree(in);
        }
        var bodies = new Body[BODIES];
        for (int i = 0; i < BODIES; i++) {
            ((ObjectNode) payload.get("comment")).put("id", 1_000_000L + i).put("body", "Looks good to me (" + i + ")");
            var bytes = json.writeValueAsBytes(payload);
            bodies[i] = new Body(bytes, WebhookSignatures.sign(secret, bytes));
        }
        return bodies;
    }

    /** Sends {@code count} requests on schedule over {@code connections} connections; a status of -1 is a failed request. */
    private static Run run(CloseableHttpClient http, RequestFactory factory, int rate, int count, int connections)
            throws InterruptedException {
        var latencies = new long[count];
        var statuses = new int[count];
        var next = new AtomicInteger();
        var interval = 1_000_000_000L / rate;
        var start = System.nanoTime() + 10_000_000L;
        var done = new CountDownLatch(connections);
        for (int c = 0; c < connections; c++) {
            Thread.ofPlatform().daemon().name("load-" + c).start(() -> {
                try {
                    int i;
                    while ((i = next.getAndIncrement()) < count) {
                        var scheduled = start + i * interval;
                        long wait;
                        while ((wait = scheduled - System.nanoTime()) > 0) {
                            LockSupport.parkNanos(wait);
                        }
                        int status;
                        try {
                            status = http.execute(factory.create(i), response -> {
                                EntityUtils.consume(response.getEntity());
                                return response.getCode();
                            });
                        } catch (Exception e) {
                            status = -1;
                        }
                        latencies[i] = System.nanoTime() - scheduled;
                        statuses[i] = status;
                    }
                } finally {
                    done.countDown();
                }
            });
        }
        done.await();
        Arrays.sort(latencies);
        return new Run(latencies, statuses);
    }

    private WebhookLoadGenerator() {}
}
