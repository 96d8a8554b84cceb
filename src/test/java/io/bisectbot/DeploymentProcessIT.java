package io.bisectbot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The deployment as shipped: {@code docker-compose.yml} (PostgreSQL, the one-shot migration, two instances built from
 * {@code docker/Dockerfile}, Caddy with {@code docker/Caddyfile}) driven with the docker CLI. Checks the static files
 * ({@code scripts/check-infrastructure.sh}), then that the stack comes up healthy and runs a job, then high
 * availability: a {@code docker kill} of one instance and a rolling restart of both while jobs run and a loop sends
 * requests through Caddy; no request may fail, no job may be lost and none may succeed twice.
 *
 * <p>Images come from the environment with official defaults ({@code LOCALCI_POSTGRES_IMAGE}, {@code LOCALCI_JRE_IMAGE},
 * {@code LOCALCI_CADDY_IMAGE}); with {@code LOCALCI_JRE_IMAGE} set, the build stage's JDK image is derived from it by
 * {@code scripts/build-jdk-image.sh}. Without a Docker engine the test fails.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DeploymentProcessIT {

    private static final String PROJECT = "bisectbot-it";
    private static final String TOKEN = "deployment-test-token";
    private static final String WEBHOOK_SECRET = "deployment-test-webhook-secret";
    private static final int PORT = Integer.parseInt(System.getenv().getOrDefault("DEPLOYMENT_IT_PORT", "18480"));
    private static final String BASE = "http://127.0.0.1:" + PORT;
    private static final Path ROOT = Path.of("").toAbsolutePath();
    private static final Path OUT = ROOT.resolve("target/deployment-it");
    private static final Map<String, String> ENV = new LinkedHashMap<>();
    private static final Pattern ID = Pattern.compile("\"id\":(\\d+)");
    private static final HttpClient HTTP =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private static boolean up;

    @BeforeAll
    static void stack() throws Exception {
        Files.createDirectories(OUT);
        var info = run(Duration.ofSeconds(60), "docker", "info", "--format", "{{.ServerVersion}}");
        assertThat(info.code).as("a Docker engine is required: %s", info.output).isZero();
        assertThat(run(Duration.ofSeconds(30), "docker", "compose", "version").code)
                .as("docker compose v2")
                .isZero();

        var env = System.getenv();
        var jre = env.get("LOCALCI_JRE_IMAGE");
        String buildImage = env.getOrDefault("BUILD_IMAGE", "eclipse-temurin:21-jdk");
        if (jre != null && !env.containsKey("BUILD_IMAGE")) {
            buildImage = "bisectbot-build/jdk:21";
            var jdk = run(Duration.ofMinutes(5), "scripts/build-jdk-image.sh", buildImage);
            assertThat(jdk.code)
                    .as("scripts/build-jdk-image.sh: %s", jdk.output)
                    .isZero();
        }
        // Hermetic: a developer's .env must not reach the test stack, neither for interpolation nor in the containers.
        Files.writeString(OUT.resolve("empty.env"), "");
        ENV.put("BISECTBOT_ENV_FILE", OUT.resolve("empty.env").toString());
        ENV.put("BUILD_IMAGE", buildImage);
        ENV.put("RUNTIME_IMAGE", jre != null ? jre : "eclipse-temurin:21-jre");
        ENV.put("POSTGRES_IMAGE", env.getOrDefault("LOCALCI_POSTGRES_IMAGE", "postgres:16"));
        ENV.put("CADDY_IMAGE", env.getOrDefault("LOCALCI_CADDY_IMAGE", "caddy:2"));
        ENV.put("BISECTBOT_IMAGE", "bisectbot:it");
        ENV.put("POSTGRES_PASSWORD", "deployment-test-password");
        ENV.put("ADMIN_TOKEN", TOKEN);
        ENV.put("ENCRYPTION_KEYS", TestDatabase.ENCRYPTION_KEYS);
        ENV.put("GITHUB_WEBHOOK_SECRETS", WEBHOOK_SECRET + ",an-older-secret");
        ENV.put("HTTP_PORT", Integer.toString(PORT));
        ENV.put("HTTP_BIND", "127.0.0.1");
        var gid = run(Duration.ofSeconds(10), "stat", "-c", "%g", "/var/run/docker.sock");
        ENV.put("DOCKER_GID", gid.code == 0 ? gid.output.strip() : "0");
        // Short timings, so that a killed instance's jobs come back within seconds and a stop drains quickly.
        ENV.put("MAX_CONCURRENT_JOBS", "3");
        ENV.put("HEARTBEAT_INTERVAL", "1s");
        ENV.put("JOB_STALE_AFTER", "5s");
        ENV.put("RECOVERY_INTERVAL", "1s");
        ENV.put("POLL_INTERVAL", "500ms");
        ENV.put("SHUTDOWN_GRACE", "4s");
        ENV.put("STOP_GRACE_PERIOD", "30s");
        ENV.put("BISECTBOT_MEMORY", "768m");

        compose(Duration.ofMinutes(1), "down", "--volumes", "--remove-orphans");
        var started = System.nanoTime();
        var upResult = compose(Duration.ofMinutes(12), "up", "--detach", "--build", "--wait");
        up = true;
        log("compose up --build --wait: exit " + upResult.code + " after " + seconds(started) + " s");
        if (upResult.code != 0) {
            Files.writeString(OUT.resolve("compose-up.log"), upResult.output);
            Files.writeString(
                    OUT.resolve("compose-logs.log"), compose(Duration.ofMinutes(1), "logs", "--no-color").output);
        }
        assertThat(upResult.code)
                .as("docker compose up (logs in %s): %s", OUT, tail(upResult.output))
                .isZero();
    }

    @AfterAll
    static void down() throws Exception {
        if (!up) {
            return;
        }
        Files.writeString(OUT.resolve("compose-logs.log"), compose(Duration.ofMinutes(1), "logs", "--no-color").output);
        if (!"keep".equals(System.getenv("DEPLOYMENT_IT_STACK"))) {
            compose(Duration.ofMinutes(2), "down", "--volumes", "--remove-orphans", "--timeout", "5");
        }
    }

    @Test
    @Order(1)
    void static_checks_of_compose_caddy_terraform_and_ansible_pass() throws Exception {
        var checks = run(Duration.ofMinutes(5), withEnv(), "scripts/check-infrastructure.sh");
        Files.writeString(OUT.resolve("check-infrastructure.log"), checks.output);
        assertThat(checks.code)
                .as("scripts/check-infrastructure.sh: %s", tail(checks.output))
                .isZero();
    }

    @Test
    @Order(2)
    void the_stack_is_healthy_and_runs_a_job_through_caddy() throws Exception {
        var ps = compose(
                Duration.ofSeconds(30), "ps", "--all", "--format", "{{.Service}} {{.State}} {{.Health}} {{.ExitCode}}");
        log("services:\n" + ps.output.strip());
        assertThat(ps.output)
                .contains(
                        "postgres running healthy",
                        "bisectbot-1 running healthy",
                        "bisectbot-2 running healthy",
                        "caddy running healthy",
                        "migrate exited  0");
        var health = get("/health");
        assertThat(health.statusCode()).isEqualTo(200);
        assertThat(health.body()).contains("\"status\":\"ok\"", "\"database\":\"up\"");
        // Prometheus scrapes the instances on the private network; the public side has no /metrics.
        var metrics = get("/metrics");
        assertThat(metrics.statusCode()).isEqualTo(404);
        assertThat(metrics.body()).contains("\"status\":404", "private network");
        var direct = compose(
                Duration.ofSeconds(30),
                "exec",
                "-T",
                "bisectbot-1",
                "curl",
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "http://127.0.0.1:8080/metrics");
        assertThat(direct.output.strip())
                .as("/metrics on the instance itself")
                .isNotEqualTo("404")
                .matches("[24][0-9][0-9]");

        var id = enqueue("{\"kind\":\"sleep\",\"payload\":{\"seconds\":1}}");
        await().atMost(Duration.ofSeconds(30))
                .pollInterval(Duration.ofMillis(250))
                .until(() -> get("/job/" + id).body().contains("\"status\":\"SUCCEEDED\""));

        var verify = run(Duration.ofMinutes(1), withEnv(), "scripts/verify-deployment.sh", BASE, WEBHOOK_SECRET);
        log("verify-deployment.sh:\n" + verify.output.strip());
        assertThat(verify.code).as("verify-deployment.sh: %s", verify.output).isZero();
        assertThat(verify.output).contains("ok    /webhooks/github ping");
    }

    @Test
    @Order(3)
    void caddy_adds_the_security_headers_to_every_response() throws Exception {
        var health = get("/health");
        var headers = health.headers();
        assertThat(headers.firstValue("X-Content-Type-Options")).hasValue("nosniff");
        assertThat(headers.firstValue("X-Frame-Options")).hasValue("DENY");
        assertThat(headers.firstValue("Referrer-Policy")).hasValue("no-referrer");
        assertThat(headers.firstValue("Content-Security-Policy"))
                .get()
                .asString()
                .startsWith("default-src 'self';")
                .contains("frame-ancestors 'none'");
        // Plain HTTP here: HSTS is sent over HTTPS only.
        assertThat(headers.firstValue("Strict-Transport-Security")).isEmpty();
        assertThat(headers.firstValue("Server")).isEmpty();
        assertThat(get("/metrics").headers().firstValue("X-Frame-Options")).hasValue("DENY");
    }

    @Test
    @Order(4)
    void killing_an_instance_and_restarting_both_loses_no_request_and_no_job() throws Exception {
        var load = new Load();
        load.start();
        var figures = new LinkedHashMap<String, Object>();
        try {
            // 1. docker kill one instance while both run jobs: its jobs are re-claimed by the other.
            var killBatch = new ArrayList<Long>();
            for (int i = 0; i < 6; i++) {
                killBatch.add(enqueue("{\"kind\":\"sleep\",\"payload\":{\"seconds\":8}}"));
            }
            await().atMost(Duration.ofSeconds(30))
                    .pollInterval(Duration.ofMillis(200))
                    .until(() ->
                            sqlLong("SELECT count(*) FROM jobs WHERE status = 'RUNNING' AND id IN " + in(killBatch))
                                    == 6);
            var victim = containerId("bisectbot-1");
            var victimWorkers = "worker_id LIKE '" + victim.substring(0, 12) + "-%'";
            var victimJobs = sqlLong("SELECT count(*) FROM jobs WHERE status = 'RUNNING' AND " + victimWorkers);
            assertThat(victimJobs).as("the victim runs jobs").isPositive();
            var beforeKill = load.snapshot();
            assertThat(run(Duration.ofSeconds(30), "docker", "kill", victim).code)
                    .isZero();
            var killedAt = System.nanoTime();
            await().atMost(Duration.ofSeconds(30))
                    .pollInterval(Duration.ofMillis(200))
                    .until(() -> sqlLong("SELECT count(*) FROM jobs WHERE id IN " + in(killBatch)
                                    + " AND status IN ('RUNNING', 'SUCCEEDED') AND NOT " + victimWorkers)
                            == 6);
            var reclaimed = seconds(killedAt);
            await().atMost(Duration.ofSeconds(60))
                    .pollInterval(Duration.ofMillis(500))
                    .until(() ->
                            sqlLong("SELECT count(*) FROM jobs WHERE status = 'SUCCEEDED' AND id IN " + in(killBatch))
                                    == 6);
            var killDone = seconds(killedAt);
            var recovered =
                    sqlLong("SELECT count(*) FROM job_events WHERE type = 'recovered' AND job_id IN " + in(killBatch));
            var afterKill = load.snapshot();
            figures.put("kill: jobs running on the killed instance", victimJobs);
            figures.put("kill: jobs recovered (job_events 'recovered')", recovered);
            figures.put("kill: seconds until all its jobs were re-claimed by the other", reclaimed);
            figures.put("kill: seconds until all 6 jobs succeeded", killDone);
            figures.put(
                    "kill: requests through Caddy / failed",
                    (afterKill[0] - beforeKill[0]) + " / " + (afterKill[1] - beforeKill[1]));
            assertThat(recovered).isEqualTo(victimJobs);

            // Bring it back (the restart policy may already have).
            compose(Duration.ofMinutes(1), "up", "--detach", "--no-deps", "--no-build", "bisectbot-1");
            waitHealthy("bisectbot-1");

            // 2. Rolling restart, one instance at a time, each healthy and back in Caddy before the next.
            var rollBatch = new ArrayList<Long>();
            for (int i = 0; i < 6; i++) {
                rollBatch.add(enqueue("{\"kind\":\"sleep\",\"payload\":{\"seconds\":6}}"));
            }
            await().atMost(Duration.ofSeconds(30))
                    .pollInterval(Duration.ofMillis(200))
                    .until(() ->
                            sqlLong("SELECT count(*) FROM jobs WHERE status = 'RUNNING' AND id IN " + in(rollBatch))
                                    >= 4);
            var beforeRoll = load.snapshot();
            var rollStarted = System.nanoTime();
            for (var service : List.of("bisectbot-1", "bisectbot-2")) {
                var restart = compose(Duration.ofMinutes(2), "restart", service);
                assertThat(restart.code)
                        .as("restart %s: %s", service, restart.output)
                        .isZero();
                waitHealthy(service);
            }
            var rollSeconds = seconds(rollStarted);
            await().atMost(Duration.ofSeconds(90))
                    .pollInterval(Duration.ofMillis(500))
                    .until(() ->
                            sqlLong("SELECT count(*) FROM jobs WHERE status = 'SUCCEEDED' AND id IN " + in(rollBatch))
                                    == 6);
            var afterRoll = load.snapshot();
            var released =
                    sqlLong("SELECT count(*) FROM job_events WHERE type = 'released' AND job_id IN " + in(rollBatch));
            figures.put("rolling restart: seconds for both instances", rollSeconds);
            figures.put("rolling restart: jobs released by a draining instance", released);
            figures.put(
                    "rolling restart: requests through Caddy / failed",
                    (afterRoll[0] - beforeRoll[0]) + " / " + (afterRoll[1] - beforeRoll[1]));

            var all = new ArrayList<Long>(killBatch);
            all.addAll(rollBatch);
            var lost = sqlLong("SELECT count(*) FROM jobs WHERE status <> 'SUCCEEDED' AND id IN " + in(all));
            var twice = sqlLong(
                    "SELECT count(*) FROM (SELECT job_id FROM job_events WHERE type = 'succeeded' AND job_id IN "
                            + in(all) + " GROUP BY job_id HAVING count(*) <> 1) x");
            var total = load.snapshot();
            figures.put("jobs: " + all.size() + " enqueued, lost (not SUCCEEDED)", lost);
            figures.put("jobs: without exactly one 'succeeded' event", twice);
            figures.put("requests through Caddy in all / failed", total[0] + " / " + total[1]);
            figures.put(
                    "slowest request through Caddy (ms; a retry on the other instance included)",
                    load.slowestMillis.get());
            report(figures, load);

            assertThat(load.failures).as("failed requests through Caddy").isEmpty();
            assertThat(lost).as("lost jobs").isZero();
            assertThat(twice).as("jobs not succeeded exactly once").isZero();
            assertThat(total[0]).as("requests sent").isGreaterThan(100);
        } finally {
            load.stop();
        }
    }

    // --- helpers ---------------------------------------------------------------------------------------------------

    /** GET /health and /stats through Caddy in a loop, counting non-200 answers and errors. */
    private static final class Load {
        final AtomicLong sent = new AtomicLong();
        final AtomicLong failed = new AtomicLong();
        final AtomicLong slowestMillis = new AtomicLong();
        final ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        final AtomicBoolean running = new AtomicBoolean(true);
        Thread thread;

        void start() {
            thread = Thread.ofPlatform().daemon().start(() -> {
                var deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(8);
                var paths = List.of("/health", "/stats");
                int i = 0;
                while (running.get() && System.nanoTime() < deadline) {
                    var path = paths.get(i++ % paths.size());
                    sent.incrementAndGet();
                    var began = System.nanoTime();
                    try {
                        var response = HTTP.send(
                                HttpRequest.newBuilder(URI.create(BASE + path))
                                        .timeout(Duration.ofSeconds(20))
                                        .header("Authorization", "Bearer " + TOKEN)
                                        .build(),
                                HttpResponse.BodyHandlers.discarding());
                        if (response.statusCode() != 200) {
                            failed.incrementAndGet();
                            failures.add(java.time.Instant.now() + " " + path + " -> " + response.statusCode());
                        }
                    } catch (Exception e) {
                        failed.incrementAndGet();
                        failures.add(java.time.Instant.now() + " " + path + " -> " + e);
                    }
                    slowestMillis.accumulateAndGet(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - began), Math::max);
                    try {
                        Thread.sleep(20);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
        }

        long[] snapshot() {
            return new long[] {sent.get(), failed.get()};
        }

        void stop() throws InterruptedException {
            running.set(false);
            thread.join(30_000);
        }
    }

    private static void report(Map<String, Object> figures, Load load) throws IOException {
        var text = new StringBuilder("Deployment high availability (docker compose, 2 instances, Caddy):\n");
        figures.forEach(
                (k, v) -> text.append("  ").append(k).append(": ").append(v).append('\n'));
        load.failures.forEach(f -> text.append("  failure: ").append(f).append('\n'));
        log(text.toString());
        Files.writeString(OUT.resolve("figures.txt"), text);
    }

    private static void waitHealthy(String service) {
        await().atMost(Duration.ofSeconds(150))
                .pollInterval(Duration.ofMillis(500))
                .until(() -> {
                    var id = containerId(service);
                    return !id.isEmpty()
                            && run(Duration.ofSeconds(10), "docker", "inspect", "-f", "{{.State.Health.Status}}", id)
                                    .output
                                    .strip()
                                    .equals("healthy");
                });
        // Caddy's active check (every 2 s) puts it back in the rotation.
        sleep(Duration.ofSeconds(3));
    }

    private static String containerId(String service) throws Exception {
        return compose(Duration.ofSeconds(20), "ps", "-q", service).output.strip();
    }

    private static long enqueue(String body) throws Exception {
        var reply = HTTP.send(
                HttpRequest.newBuilder(URI.create(BASE + "/jobs"))
                        .timeout(Duration.ofSeconds(20))
                        .header("Authorization", "Bearer " + TOKEN)
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(body))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(reply.statusCode()).as(reply.body()).isEqualTo(201);
        var m = ID.matcher(reply.body());
        assertThat(m.find()).isTrue();
        return Long.parseLong(m.group(1));
    }

    private static HttpResponse<String> get(String path) throws Exception {
        return HTTP.send(
                HttpRequest.newBuilder(URI.create(BASE + path))
                        .timeout(Duration.ofSeconds(20))
                        .header("Authorization", "Bearer " + TOKEN)
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static long sqlLong(String sql) throws Exception {
        var result = compose(
                Duration.ofSeconds(30),
                "exec",
                "-T",
                "-e",
                "PGPASSWORD=" + ENV.get("POSTGRES_PASSWORD"),
                "postgres",
                "psql",
                "-U",
                "bisectbot",
                "-d",
                "bisectbot",
                "-h",
                "127.0.0.1",
                "-tAc",
                sql);
        assertThat(result.code).as("psql %s: %s", sql, result.output).isZero();
        return Long.parseLong(result.output.strip());
    }

    private static String in(List<Long> ids) {
        return ids.stream().map(String::valueOf).collect(java.util.stream.Collectors.joining(",", "(", ")"));
    }

    private static String[] withEnv() {
        return ENV.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).toArray(String[]::new);
    }

    private record Result(int code, String output) {}

    private static Result compose(Duration timeout, String... args) throws Exception {
        var command = new ArrayList<>(List.of(
                "docker",
                "compose",
                "-p",
                PROJECT,
                "-f",
                "docker-compose.yml",
                "--env-file",
                OUT.resolve("empty.env").toString()));
        command.addAll(List.of(args));
        return run(timeout, withEnv(), command.toArray(String[]::new));
    }

    private static Result run(Duration timeout, String... command) throws Exception {
        return run(timeout, new String[0], command);
    }

    private static Result run(Duration timeout, String[] env, String... command) throws Exception {
        var builder = new ProcessBuilder(command).directory(ROOT.toFile()).redirectErrorStream(true);
        for (var pair : env) {
            var eq = pair.indexOf('=');
            builder.environment().put(pair.substring(0, eq), pair.substring(eq + 1));
        }
        var log = Files.createTempFile(OUT, "run", ".log");
        builder.redirectOutput(log.toFile());
        var process = builder.start();
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly().waitFor();
            var output = Files.readString(log, StandardCharsets.UTF_8);
            Files.delete(log);
            return new Result(124, output + "\n(timed out after " + timeout + ": " + String.join(" ", command) + ")");
        }
        var output = Files.readString(log, StandardCharsets.UTF_8);
        Files.delete(log);
        return new Result(process.exitValue(), output);
    }

    private static String tail(String output) {
        return output.length() > 4000 ? "..." + output.substring(output.length() - 4000) : output;
    }

    private static String seconds(long since) {
        return String.format("%.1f", (System.nanoTime() - since) / 1e9);
    }

    private static void sleep(Duration duration) {
        try {
            Thread.sleep(duration);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void log(String line) {
        System.out.println("[deployment] " + line);
    }
}
