package io.bisectbot.bench;

import io.bisectbot.TestDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * How soon a job runs again after the instance running it dies: the packaged jar as two OS processes with the
 * default settings on one PostgreSQL; {@code --kills} times, the instance running a long job gets SIGKILL, and the
 * time until the job is RUNNING on the other instance is measured (then the killed one is started again). Also:
 * one SIGSTOP (taken back after {@code JOB_STALE_AFTER}), and one pass over 1,000 jobs of a worker whose lock is gone.
 *
 * <pre>./mvnw -q package -DskipTests &amp;&amp; ./mvnw -q test-compile exec:java -Dexec.classpathScope=test \
 *     -Dexec.mainClass=io.bisectbot.bench.CrashRecoveryBenchmark [-Dexec.args="--kills 20 --sigstop true"]</pre>
 */
public final class CrashRecoveryBenchmark {

    public static void main(String[] args) throws Exception {
        var kills = 20;
        var sigstop = true;
        var orphans = 1000;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--kills" -> kills = Integer.parseInt(args[++i]);
                case "--sigstop" -> sigstop = Boolean.parseBoolean(args[++i]);
                case "--orphans" -> orphans = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        var database = ServiceProcess.Database.fresh();
        var logs = Files.createTempDirectory("crash-bench");
        var instances = new ArrayList<ServiceProcess>();
        var generation = new int[1];
        try (var db = TestDatabase.pool(database.url(), 2)) {
            var sql = JdbcClient.create(db);
            instances.add(start("a-0", 18391, database, logs));
            instances.add(start("b-0", 18392, database, logs));
            var seconds = new ArrayList<Double>();
            for (int k = 0; k < kills; k++) {
                var id = enqueueSleep(instances.getFirst());
                var holder = awaitRunning(sql, id, null);
                var victim = instances.stream()
                        .filter(i -> i.workerId().equals(holder))
                        .findFirst()
                        .orElseThrow();
                victim.process().destroyForcibly(); // SIGKILL
                var killedAt = System.nanoTime();
                awaitRunning(sql, id, holder);
                var took = (System.nanoTime() - killedAt) / 1e9;
                seconds.add(took);
                System.out.printf("kill %2d: %s killed, job %d running again after %.3f s%n", k + 1, holder, id, took);
                victim.process().waitFor();
                cancel(sql, id);
                instances.remove(victim);
                var name = victim.workerId().charAt(0) + "-" + (++generation[0]);
                instances.add(start(name, victim.port(), database, logs));
            }
            seconds.sort(Double::compare);
            System.out.printf(
                    "SIGKILL → running again: n=%d p50 %.3f s, p90 %.3f s, max %.3f s, min %.3f s%n",
                    seconds.size(),
                    seconds.get(seconds.size() / 2),
                    seconds.get((int) Math.ceil(seconds.size() * 0.9) - 1),
                    seconds.getLast(),
                    seconds.getFirst());

            if (sigstop) {
                var id = enqueueSleep(instances.getFirst());
                var holder = awaitRunning(sql, id, null);
                var victim = instances.stream()
                        .filter(i -> i.workerId().equals(holder))
                        .findFirst()
                        .orElseThrow();
                victim.signal("STOP");
                var stoppedAt = System.nanoTime();
                awaitRunning(sql, id, holder);
                System.out.printf(
                        "SIGSTOP → running again after %.3f s (JOB_STALE_AFTER 30 s)%n",
                        (System.nanoTime() - stoppedAt) / 1e9);
                victim.signal("CONT");
                cancel(sql, id);
            }

            if (orphans > 0) {
                // A worker that promised a lock nobody holds, with jobs RUNNING: what a crash leaves, in bulk.
                sql.sql("""
                        INSERT INTO workers (id, started_at, heartbeat_at, state, version, max_concurrent_jobs, liveness_key)
                        VALUES ('ghost', now(), now(), 'RUNNING', 'bench', 1000, 4242424242)""").update();
                sql.sql("""
                        INSERT INTO jobs (kind, status, worker_id, attempt_count, max_attempts, heartbeat_at, claimed_at)
                        SELECT 'noop', 'RUNNING', 'ghost', 1, 3, now(), now() FROM generate_series(1, :n)""").param("n", orphans).update();
                var insertedAt = System.nanoTime();
                while (sql.sql("SELECT count(*) FROM jobs WHERE status = 'RUNNING' AND worker_id = 'ghost'")
                                .query(Long.class)
                                .single()
                        > 0) {
                    Thread.sleep(5);
                }
                var seen = (System.nanoTime() - insertedAt) / 1e9;
                var pass = sql.sql("""
                        SELECT extract(epoch FROM max(at) - min(at)) FROM job_events
                         WHERE type = 'recovered' AND detail LIKE 'worker ghost lost%'""").query(Double.class).single();
                var passes = sql.sql(
                                "SELECT count(DISTINCT at) FROM job_events WHERE type = 'recovered' AND detail LIKE 'worker ghost lost%'")
                        .query(Long.class)
                        .single();
                System.out.printf(
                        "%d orphaned jobs all taken back %.3f s after they appeared; %d statement(s), "
                                + "spread over %.3f s%n",
                        orphans, seen, passes, pass);
            }
        } finally {
            instances.forEach(i -> i.process().destroyForcibly());
        }
        System.out.println("logs: " + logs);
        System.exit(0);
    }

    private static void cancel(JdbcClient sql, long id) {
        sql.sql("UPDATE jobs SET status = 'CANCELLED', finished_at = now() WHERE id = :id")
                .param("id", id)
                .update();
    }

    /** Waits until job {@code id} is RUNNING on a worker other than {@code not}; returns that worker. */
    private static String awaitRunning(JdbcClient sql, long id, String not) throws InterruptedException {
        var deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (System.nanoTime() < deadline) {
            var row = sql.sql("SELECT status, worker_id FROM jobs WHERE id = :id")
                    .param("id", id)
                    .query((rs, n) -> new String[] {rs.getString(1), rs.getString(2)})
                    .single();
            if ("RUNNING".equals(row[0]) && row[1] != null && !row[1].equals(not)) {
                return row[1];
            }
            Thread.sleep(5);
        }
        throw new IllegalStateException("job " + id + " did not run again within 120 s");
    }

    private static long enqueueSleep(ServiceProcess instance) {
        return instance.enqueue("{\"kind\":\"sleep\",\"payload\":{\"seconds\":600},\"max_attempts\":100}");
    }

    private static ServiceProcess start(String workerId, int port, ServiceProcess.Database database, Path logs)
            throws Exception {
        return ServiceProcess.start(workerId, port, database, Map.of("BISECT_ENABLED", "false"), List.of(), logs);
    }

    private CrashRecoveryBenchmark() {}
}
