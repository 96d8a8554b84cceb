package io.bisectbot.bench;

import io.bisectbot.BisectbotApplication;
import io.bisectbot.TestDatabase;
import java.io.StringReader;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import org.flywaydb.core.Flyway;
import org.postgresql.PGConnection;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.jdbc.core.simple.JdbcClient;
import tools.jackson.databind.json.JsonMapper;

/**
 * The dashboard's jobs list ({@code GET /jobs}) over a table of {@code --jobs} finished jobs (1,000,000 by default),
 * loaded with {@code COPY}: bisect, bot and delivery jobs of 500 repositories in 50 installations over a year, one in
 * twenty failed, one in two hundred cancelled, plus one repository with only 10 jobs, all of them old. The service runs
 * in this JVM on that database; each filter is asked {@code --repeat} times over HTTP after 3 warm-up calls, and the
 * time to the whole answer is tabled (p50, p90, max). The target is 100 ms a page.
 *
 * <pre>./mvnw -q test-compile exec:java -Dexec.classpathScope=test -Dexec.mainClass=io.bisectbot.bench.JobListBenchmark \
 *     [-Dexec.args="--jobs 1000000 --repeat 20 --explain false"]</pre>
 */
public final class JobListBenchmark {

    static final String VIEWER = "viewer-token-of-the-job-list-benchmark";
    static final int REPOS = 500;
    static final int INSTALLATIONS = 50;
    private static final JsonMapper json = JsonMapper.builder().build();

    public static void main(String[] args) throws Exception {
        var jobs = 1_000_000;
        var repeat = 20;
        var explain = true;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--jobs" -> jobs = Integer.parseInt(args[++i]);
                case "--repeat" -> repeat = Integer.parseInt(args[++i]);
                case "--explain" -> explain = Boolean.parseBoolean(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        var url = TestDatabase.createDatabase();
        try (var db = TestDatabase.pool(url, 2)) {
            Flyway.configure()
                    .dataSource(db)
                    .locations("filesystem:db/migration")
                    .load()
                    .migrate();
            var sql = JdbcClient.create(db);
            var started = System.nanoTime();
            load(db, jobs);
            System.out.printf(
                    Locale.ROOT,
                    "loaded %,d jobs with COPY in %.1f s (load %s)%n",
                    jobs,
                    (System.nanoTime() - started) / 1e9,
                    LoadAverage.now());
            started = System.nanoTime();
            // Without parallel workers: the container's small /dev/shm cannot hold their shared memory.
            sql.sql("VACUUM (ANALYZE, PARALLEL 0) jobs").update();
            System.out.printf(Locale.ROOT, "VACUUM ANALYZE in %.1f s%n", (System.nanoTime() - started) / 1e9);
            var ids = sql.sql("SELECT min(id), max(id) FROM jobs")
                    .query((rs, n) -> new long[] {rs.getLong(1), rs.getLong(2)})
                    .single();
            var middle = (ids[0] + ids[1]) / 2;
            var day = sql.sql("SELECT created_at FROM jobs WHERE id = :id")
                    .param("id", middle)
                    .query(java.sql.Timestamp.class)
                    .single()
                    .toInstant();

            var port = 18_400 + (int) (ProcessHandle.current().pid() % 500);
            var properties = new HashMap<String, Object>();
            properties.put("bisectbot.database.url", url);
            properties.put(
                    "bisectbot.database.username", TestDatabase.container().getUsername());
            properties.put(
                    "bisectbot.database.password", TestDatabase.container().getPassword());
            properties.put("bisectbot.encryption.required", "false");
            properties.put("bisectbot.web.viewer-token", VIEWER);
            properties.put("bisectbot.bisect.enabled", "false");
            // No Docker: this instance runs no step, and its orphan reaper must not judge other programs' containers.
            properties.put("bisectbot.executor.docker-host", "unix:///nonexistent/docker.sock");
            properties.put("server.port", port);
            // The jobs span a year: the retention cleaner must not delete the older ones during the run.
            properties.put("bisectbot.queue.retention", "3650d");
            properties.put("logging.level.root", "WARN");
            // As command-line arguments: they take precedence over application.yml.
            var arguments = properties.entrySet().stream()
                    .map(e -> "--" + e.getKey() + "=" + e.getValue())
                    .toArray(String[]::new);
            try (var app = new SpringApplicationBuilder(BisectbotApplication.class).run(arguments)) {
                var cases = new LinkedHashMap<String, String>();
                cases.put("newest page", "");
                cases.put("status=FAILED", "status=FAILED");
                cases.put("status=CANCELLED", "status=CANCELLED");
                cases.put("status=FAILED,CANCELLED", "status=FAILED,CANCELLED");
                cases.put("status=SUCCEEDED", "status=SUCCEEDED");
                cases.put("kind=bot", "kind=bot");
                cases.put("kind=noop (1 %)", "kind=noop");
                cases.put("kind=bot&status=FAILED", "kind=bot&status=FAILED");
                cases.put("q=repo:org-7/repo-7 (0.2 %)", "q=" + q("repo:org-7/repo-7"));
                cases.put("q=repo:… &status=FAILED", "q=" + q("repo:org-7/repo-7") + "&status=FAILED");
                cases.put("q=repo:rare/one (10 old jobs)", "q=" + q("repo:rare/one"));
                cases.put("q=pr:4242", "q=" + q("pr:4242"));
                cases.put("q=sha:c0ffee12", "q=" + q("sha:c0ffee12"));
                cases.put(
                        "q=sha:<12 digits of one job>",
                        "q=" + q("sha:" + sha((int) (middle - ids[0])).substring(0, 12)));
                cases.put("q=free text (timed out)", "q=" + q("timed"));
                cases.put("q=free text (failed, 5 %)", "q=" + q("failed"));
                cases.put("installation=8", "installation=8");
                cases.put("installation=8&status=FAILED", "installation=8&status=FAILED");
                cases.put("after=<middle id>", "after=" + middle);
                cases.put("status=FAILED&after=<middle>", "status=FAILED&after=" + middle);
                cases.put("kind=bot&after=<middle>", "kind=bot&after=" + middle);
                cases.put("q=repo:…&after=<middle>", "q=" + q("repo:org-7/repo-7") + "&after=" + middle);
                cases.put(
                        "from/to: one day in the middle",
                        "from=" + q(day.minus(Duration.ofHours(12)).toString()) + "&to="
                                + q(day.plus(Duration.ofHours(12)).toString()));
                var http = HttpClient.newHttpClient();
                System.out.printf(
                        "%-34s %8s %8s %8s %6s  %s%n", "GET /jobs?…", "p50 ms", "p90 ms", "max ms", "rows", "");
                for (var entry : cases.entrySet()) {
                    var path = "http://localhost:" + port + "/jobs?" + entry.getValue();
                    int rows = 0;
                    for (int i = 0; i < 3; i++) {
                        rows = get(http, path);
                    }
                    var times = new ArrayList<Double>();
                    for (int i = 0; i < repeat; i++) {
                        var t = System.nanoTime();
                        get(http, path);
                        times.add((System.nanoTime() - t) / 1e6);
                    }
                    times.sort(Double::compare);
                    var p50 = times.get(times.size() / 2);
                    var p90 = times.get((int) Math.ceil(times.size() * 0.9) - 1);
                    System.out.printf(
                            Locale.ROOT,
                            "%-34s %8.1f %8.1f %8.1f %6d  %s%n",
                            entry.getKey(),
                            p50,
                            p90,
                            times.getLast(),
                            rows,
                            p90 < 100 ? "" : "MISSES 100 ms");
                }
                System.out.printf(
                        Locale.ROOT,
                        "(load %s; %,d jobs in the table at the end)%n",
                        LoadAverage.now(),
                        sql.sql("SELECT count(*) FROM jobs").query(Long.class).single());
            }
            if (explain) {
                // The statements most likely to be slow, as JobReads writes them (pr:, sha:, free text found nowhere
                // and found in one error in twenty).
                for (var where : List.of(
                        "payload -> 'github' ->> 'issue_number' = '4242'",
                        "(lower(payload ->> 'head_sha') LIKE 'c0ffee12%' OR lower(payload -> 'github' ->> 'head_sha') LIKE 'c0ffee12%' "
                                + "OR lower(payload ->> 'bad') LIKE 'c0ffee12%')",
                        "last_error ILIKE '%timed%'",
                        "last_error ILIKE '%failed%'")) {
                    System.out.println("EXPLAIN (ANALYZE, BUFFERS) … WHERE " + where);
                    sql.sql("EXPLAIN (ANALYZE, BUFFERS) SELECT id FROM jobs WHERE " + where
                                    + " ORDER BY id DESC LIMIT 51")
                            .query(String.class)
                            .list()
                            .forEach(line -> System.out.println("  " + line));
                }
            }
        }
    }

    static String q(String text) {
        return URLEncoder.encode(text, StandardCharsets.UTF_8);
    }

    static int get(HttpClient http, String url) throws Exception {
        var response = http.send(
                HttpRequest.newBuilder(URI.create(url))
                        .header("Authorization", "Bearer " + VIEWER)
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
            throw new IllegalStateException(url + ": HTTP " + response.statusCode() + " " + response.body());
        }
        return json.readTree(response.body()).get("jobs").size();
    }

    /** {@code count} finished jobs, oldest first, in COPY chunks of 50,000 rows. */
    static void load(javax.sql.DataSource db, int count) throws Exception {
        var now = Instant.now();
        try (var connection = db.getConnection()) {
            var copy = connection.unwrap(PGConnection.class).getCopyAPI();
            var chunk = new StringBuilder();
            for (int i = 0; i < count; i++) {
                row(chunk, i, count, now);
                if (chunk.length() > 8_000_000 || i == count - 1) {
                    copy.copyIn("""
                            COPY jobs (kind, status, payload, attempt_count, max_attempts, run_at, claimed_at, started_at,
                                       finished_at, last_error, tenant, created_at, updated_at) FROM STDIN""", new StringReader(chunk.toString()));
                    chunk.setLength(0);
                }
            }
        }
    }

    /** The commit of job {@code i}: 40 hex digits spread like a real sha's. */
    static String sha(int i) {
        var a = i * 0x9E3779B97F4A7C15L;
        var b = Long.rotateLeft(a, 29) * 0xBF58476D1CE4E5B9L;
        return String.format("%016x%016x%08x", a, b, (int) (b >>> 17));
    }

    private static void row(StringBuilder out, int i, int count, Instant now) {
        var created = now.minusSeconds((long) (count - i) * 30);
        var mix = Integer.toUnsignedLong((int) (i * 2654435761L)) % 1000; // spread statuses and kinds over the table
        var kind = mix < 500 ? "bisect" : mix < 800 ? "bot" : mix < 990 ? "github-delivery" : "noop";
        var status = mix % 200 == 7 ? "CANCELLED" : mix % 20 == 3 ? "FAILED" : "SUCCEEDED";
        var rare = i % (count / 20) == 0 && i < count / 2; // 10 jobs, all in the older half
        var r = (int) ((i * 7919L) % REPOS);
        var owner = rare ? "rare" : "org-" + (r % INSTALLATIONS);
        var repo = rare ? "one" : "repo-" + r;
        var installation = r % INSTALLATIONS + 1;
        var sha = sha(i);
        var payload = "{\"repo\": \"https://github.com/" + owner + "/" + repo + ".git\", \"bad\": \"" + sha
                + "\", \"good\": [\"v1.0\"], "
                + "\"command\": \"make test\", \"github\": {\"installation_id\": " + installation + ", \"owner\": \""
                + owner
                + "\", \"repo\": \"" + repo + "\", \"issue_number\": " + (i % 5000 + 1) + ", \"head_sha\": \"" + sha
                + "\"}}";
        var error = status.equals("FAILED")
                ? (mix % 4 == 0
                        ? "step timed out after 600 s"
                        : "exit code 1: make test failed in module " + (mix % 13))
                : status.equals("CANCELLED") ? "cancelled before it ran" : "\\N";
        var t = created.toString();
        var end = created.plusSeconds(60 + mix % 600).toString();
        out.append(kind)
                .append('\t')
                .append(status)
                .append('\t')
                .append(payload)
                .append('\t')
                .append(1)
                .append('\t')
                .append(3)
                .append('\t')
                .append(t)
                .append('\t')
                .append(t)
                .append('\t')
                .append(t)
                .append('\t')
                .append(end)
                .append('\t')
                .append(error)
                .append('\t')
                .append("installation:")
                .append(installation)
                .append('\t')
                .append(t)
                .append('\t')
                .append(end)
                .append('\n');
    }
}
