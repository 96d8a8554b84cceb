package io.bisectbot.queue;

import java.time.Duration;
import javax.sql.DataSource;
import org.springframework.jdbc.core.simple.JdbcClient;
import tools.jackson.databind.node.JsonNodeFactory;

/** Job kinds that need nothing outside the queue, for tests, demos and benchmarks. */
public final class BuiltinHandlers {

    private BuiltinHandlers() {}

    /** {@code noop}: succeeds at once. */
    public static JobHandler noop() {
        return new JobHandler() {
            @Override
            public String kind() {
                return "noop";
            }

            @Override
            public JobOutcome handle(JobContext context) {
                return JobOutcome.succeeded(null);
            }
        };
    }

    /** {@code sleep}: waits {@code payload.millis} (or {@code payload.seconds}) and succeeds; stops when asked to. */
    public static JobHandler sleep() {
        return new JobHandler() {
            @Override
            public String kind() {
                return "sleep";
            }

            @Override
            public JobOutcome handle(JobContext context) throws InterruptedException {
                var payload = context.payload();
                var duration = payload.has("millis")
                        ? Duration.ofMillis(payload.get("millis").asLong())
                        : Duration.ofMillis((long) (payload.path("seconds").asDouble(1.0) * 1000));
                if (duration.isNegative() || duration.compareTo(Duration.ofHours(24)) > 0) {
                    return JobOutcome.failedPermanently("sleep duration must be between 0 and 24 h, got " + duration);
                }
                Thread.sleep(duration);
                return JobOutcome.succeeded(
                        JsonNodeFactory.instance.objectNode().put("slept_ms", duration.toMillis()));
            }
        };
    }

    /**
     * {@code fenced-effect}: waits {@code payload.millis}, then inserts one {@code effect} event for its job under the
     * job's fence, and succeeds. That row is its only effect, so an effect that happened twice is two rows: what the
     * chaos benchmark counts. Like bisect steps, a stored effect is not redone: an attempt that finds an earlier
     * attempt's row (the instance died between the effect and the job's completion) succeeds without a second one.
     */
    public static JobHandler fencedEffect(DataSource dataSource) {
        var jdbc = JdbcClient.create(dataSource);
        return new JobHandler() {
            @Override
            public String kind() {
                return "fenced-effect";
            }

            @Override
            public JobOutcome handle(JobContext context) throws InterruptedException {
                var fence = context.fence();
                var stored = jdbc.sql("SELECT count(*) FROM job_events WHERE job_id = :id AND type = 'effect'")
                        .param("id", fence.jobId())
                        .query(Long.class)
                        .single();
                if (stored > 0) {
                    return JobOutcome.succeeded(
                            JsonNodeFactory.instance.objectNode().put("effect", "stored earlier"));
                }
                var millis = context.payload().path("millis").asLong(0);
                if (millis < 0 || millis > Duration.ofHours(1).toMillis()) {
                    return JobOutcome.failedPermanently("millis must be between 0 and 3600000, got " + millis);
                }
                Thread.sleep(millis);
                // FOR SHARE: a take-over cannot commit between the fence check and this row, so a new attempt that
                // found no effect cannot race an old one still writing it.
                var written = fence.bind(jdbc.sql("""
                        INSERT INTO job_events (job_id, at, type, worker_id, attempt)
                        SELECT id, clock_timestamp(), 'effect', worker_id, attempt_count FROM jobs
                         WHERE id = :fence_job_id AND worker_id = :fence_worker_id AND attempt_count = :fence_attempt
                           AND status = 'RUNNING'
                           FOR SHARE""")).update();
                if (written == 0) {
                    return JobOutcome.failed("fence lost before the effect was stored");
                }
                return JobOutcome.succeeded(
                        JsonNodeFactory.instance.objectNode().put("effect", "stored"));
            }
        };
    }
}
