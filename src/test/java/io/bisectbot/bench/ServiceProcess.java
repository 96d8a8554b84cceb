package io.bisectbot.bench;

import io.bisectbot.TestDatabase;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The packaged jar as one OS process on a given PostgreSQL, as benchmarks and process tests start it: production mode
 * with an admin token and an encryption key, its output in {@code <logs>/<workerId>.log}.
 */
public final class ServiceProcess {

    public static final String TOKEN = "bench-token";
    private static final Pattern ID = Pattern.compile("\"id\"\\s*:\\s*(\\d+)");
    private static final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    /** Where the instances' database is. */
    public record Database(String url, String user, String password) {

        /** A new database in the test JVM's PostgreSQL. */
        public static Database fresh() {
            return new Database(
                    TestDatabase.createDatabase(),
                    TestDatabase.container().getUsername(),
                    TestDatabase.container().getPassword());
        }
    }

    private final String workerId;
    private final int port;
    private final Process process;
    private final Path log;

    private ServiceProcess(String workerId, int port, Process process, Path log) {
        this.workerId = workerId;
        this.port = port;
        this.process = process;
        this.log = log;
    }

    /**
     * Starts the jar and waits until {@code /health} answers 200.
     *
     * @param extra    settings added to (or replacing) the base ones
     * @param launcher words put before {@code java}, e.g. {@code faketime -f +300s}; empty for none
     */
    public static ServiceProcess start(
            String workerId, int port, Database database, Map<String, String> extra, List<String> launcher, Path logs)
            throws IOException, InterruptedException {
        var jar = System.getProperty("bisectbot.jar", "target/bisectbot.jar");
        var java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        var command = new ArrayList<>(launcher);
        command.addAll(List.of(java, "-Xmx256m", "-jar", jar));
        var log = logs.resolve(workerId + ".log");
        var builder = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        Map<String, String> env = new HashMap<>(Map.of(
                "DATABASE_URL",
                database.url(),
                "DATABASE_USER",
                database.user(),
                "DATABASE_PASSWORD",
                database.password(),
                "MIGRATE_ON_START",
                "true",
                "ENCRYPTION_KEYS",
                TestDatabase.ENCRYPTION_KEYS,
                "PORT",
                Integer.toString(port),
                "WORKER_ID",
                workerId,
                "ADMIN_TOKEN",
                TOKEN));
        env.putAll(extra);
        builder.environment().putAll(env);
        var instance = new ServiceProcess(workerId, port, builder.start(), log);
        try {
            // Minutes, not seconds: on a loaded machine the jar takes long to start.
            instance.awaitHealthy(Duration.ofMinutes(10));
        } catch (RuntimeException | InterruptedException e) {
            instance.kill();
            throw e;
        }
        return instance;
    }

    private void awaitHealthy(Duration within) throws InterruptedException {
        var deadline = System.nanoTime() + within.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException(workerId + " exited; see " + log);
            }
            if (get("/health").statusCode() == 200) {
                return;
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException(workerId + " did not become healthy; see " + log);
    }

    public String workerId() {
        return workerId;
    }

    public int port() {
        return port;
    }

    public Process process() {
        return process;
    }

    public Path log() {
        return log;
    }

    /** SIGKILL, and waits for the process to be gone. The JVM may be a child of the launcher (faketime forks). */
    public void kill() throws InterruptedException {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        process.waitFor();
    }

    /** Sends a signal by name, e.g. {@code STOP} or {@code CONT}, to the JVM and its launcher. */
    public void signal(String name) throws IOException, InterruptedException {
        var command = new ArrayList<>(List.of("kill", "-" + name));
        process.descendants().forEach(child -> command.add(Long.toString(child.pid())));
        command.add(Long.toString(process.pid()));
        new ProcessBuilder(command).inheritIO().start().waitFor();
    }

    /** A reply, or status -1 with the error when there was none. */
    public record Reply(int statusCode, String body) {}

    public Reply get(String path) {
        return send(HttpRequest.newBuilder(uri(path))
                .timeout(Duration.ofSeconds(5))
                .GET()
                .build());
    }

    /** POST /jobs with {@code json}; the reply as it came. */
    public Reply postJob(String json, Duration timeout) {
        return send(HttpRequest.newBuilder(uri("/jobs"))
                .timeout(timeout)
                .header("Authorization", "Bearer " + TOKEN)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json))
                .build());
    }

    /** POST /jobs that must create the job; returns its id. */
    public long enqueue(String json) {
        var reply = postJob(json, Duration.ofSeconds(30));
        if (reply.statusCode() != 201) {
            throw new IllegalStateException("enqueue answered " + reply.statusCode() + ": " + reply.body());
        }
        return idOf(reply.body());
    }

    public static long idOf(String body) {
        var matcher = ID.matcher(body);
        if (!matcher.find()) {
            throw new IllegalStateException("no id in " + body);
        }
        return Long.parseLong(matcher.group(1));
    }

    private URI uri(String path) {
        return URI.create("http://localhost:" + port + path);
    }

    private static Reply send(HttpRequest request) {
        try {
            var reply = http.send(request, HttpResponse.BodyHandlers.ofString());
            return new Reply(reply.statusCode(), reply.body());
        } catch (IOException e) {
            return new Reply(-1, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Reply(-1, e.toString());
        }
    }
}
